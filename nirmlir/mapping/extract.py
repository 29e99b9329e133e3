"""Extraction of the neuron-level connectivity (`network.Network`) from an fxp graph."""

from __future__ import annotations

import math

import numpy as np
from xdsl.ir import Operation, SSAValue

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects import fxp
from nirmlir.mapping.network import Group, Network, Path, Stage

ELEMENTWISE = (fxp.RescaleOp, fxp.ThresholdOp, fxp.DelayOp, fxp.StepDelayOp, fxp.FlattenOp)
"""Ops that keep every neuron's flat index: a neuron's spikes pass through them to the same index."""


def extract_network(graph: Operation) -> Network:
    """Return the neuron groups of an fxp, loihi2, spinnaker2, speck or xylo graph (inputs, then
    neuron ops in schedule order) and the paths of synapses between them."""
    if isinstance(graph, fxp.GraphOp):
        return _Extractor(graph).run()
    from nirmlir.mapping.extract_chips import CHIP_EXTRACTORS

    return CHIP_EXTRACTORS[graph.name](graph).run()


def node_name(op: Operation) -> str:
    return op.node_name.data if "node_name" in op.properties else op.name


def _shape(value: SSAValue) -> tuple[int, ...]:
    return fxp.tensor_shape(value.type)


class _Extractor:
    """Extraction from an fxp graph; subclasses in `extract_chips` read the chip dialects."""

    def __init__(self, graph: Operation):
        self.graph = graph
        self.graph_name = graph.sym_name.data
        self.group_of_op: dict[Operation, int] = {}
        self.network = Network([], [], self.graph_name)

    INPUT: tuple[type, ...] = (fxp.InputOp,)
    NEURON: tuple[type, ...] = (fxp.NeuronOp,)
    OUTPUT: tuple[type, ...] = (fxp.OutputOp,)
    RESHAPE: tuple[type, ...] = ELEMENTWISE

    def run(self) -> Network:
        ops = list(self.graph.body.block.ops)
        for op in ops:
            if isinstance(op, self.INPUT):
                self._add_group(Group(node_name(op), _shape(op.results[0]), placed=False, op=op), op)
        for op in ops:
            if isinstance(op, self.NEURON):
                self._add_group(Group(node_name(op), _shape(op.results[0]), placed=True, op=op), op)
        for op in ops:
            if isinstance(op, self.NEURON):
                self._add_paths(op)
            elif isinstance(op, self.OUTPUT):
                for operand in op.operands:
                    self._mark_readout(operand, set())
        return self.network

    def own_stages(self, neuron: Operation) -> list[Stage]:
        """Return the synapse stages that a neuron op contains itself (a chip layer's weights); fxp has none."""
        return []

    def self_stages(self, neuron: Operation) -> list[Stage] | None:
        """Return the stages of recurrent synapses that a neuron op contains from its own neurons, if any."""
        return None

    def _add_group(self, group: Group, op: Operation) -> None:
        self.group_of_op[op] = len(self.network.groups)
        self.network.groups.append(group)

    def _error(self, op: Operation, message: str) -> DiagnosticError:
        name = node_name(op)
        return DiagnosticError(
            f"map-to-cores: '{op.name}' op node '{name}': {message}",
            Location(node_path=(self.graph_name, name)),
            op=op,
        )

    def _add_paths(self, neuron: fxp.NeuronOp) -> None:
        target = self.group_of_op[neuron]
        group = self.network.groups[target]
        synapses = np.zeros(group.size, dtype=np.int64)
        recurrent = self.self_stages(neuron)
        if recurrent is not None:
            self.network.paths.append(Path(target, target, recurrent))
            synapses += self._synapses_per_neuron(recurrent, group.size)
        for operand in neuron.operands:
            for source, stages in self._trace(operand, self.own_stages(neuron), set()):
                self.network.paths.append(Path(source, target, stages))
                synapses += self._synapses_per_neuron(stages, group.size)
                if group.layer is None:
                    group.layer = _layer_of(stages, group.shape)
        group.synapses = synapses

    def _trace(self, value: SSAValue, stages: list[Stage], visiting: set[Operation]) -> list[tuple[int, list[Stage]]]:
        """Return (source group, stages from the target side) for every source that reaches `value`."""
        op = value.owner
        if not isinstance(op, Operation):
            raise DiagnosticError(f"map-to-cores: graph @{self.graph_name} uses a block argument; expected fxp.input ops")
        if op in self.group_of_op:
            return [(self.group_of_op[op], stages)]
        if op in visiting:
            raise self._error(op, "is on a cycle that passes through no neuron group")
        visiting = visiting | {op}
        traces = []
        for operand in op.operands:
            traces.extend(self._trace(operand, stages + self.stages_of(op), visiting))
        return traces

    def stages_of(self, op: Operation) -> list[Stage]:
        """Return the stages of an op between neuron groups, from its result back to its operand."""
        out_shape = _shape(op.results[0])
        if isinstance(op, self.RESHAPE):
            in_shape = _shape(op.operands[0])
            stage = Stage("reshape", in_shape, out_shape)
        elif isinstance(op, fxp.AffineOp):
            stage = self._dense_stage(op, out_shape)
        elif isinstance(op, fxp.Conv1dOp | fxp.Conv2dOp):
            weight = numpy_from_dense(op.weight)
            stage = Stage(
                "window",
                _shape(op.operands[0]),
                out_shape,
                kernel=weight.shape[2:],
                stride=ints_from_array(op.stride),
                padding=ints_from_array(op.padding),
                dilation=ints_from_array(op.dilation),
                groups=op.groups.value.data,
                kernel_nonzero=np.count_nonzero(weight, axis=1),
            )
        elif isinstance(op, fxp.SumPool2dOp):
            kernel = ints_from_array(op.kernel_size)
            stage = Stage(
                "window",
                _shape(op.operands[0]),
                out_shape,
                kernel=kernel,
                stride=ints_from_array(op.stride),
                padding=ints_from_array(op.padding),
                dilation=(1,) * len(kernel),
                groups=out_shape[0],
            )
        else:
            raise self._error(op, "has no neuron-level connectivity that map-to-cores knows")
        return [stage]

    def _dense_stage(self, op: Operation, out_shape: tuple[int, ...], weight_attribute=None) -> Stage:
        weight = numpy_from_dense(op.weight if weight_attribute is None else weight_attribute)
        if weight.ndim != 2:
            raise self._error(op, f"has a weight of shape {list(weight.shape)}; map-to-cores takes (out, in) weights only")
        nonzero = weight != 0
        indptr = np.zeros(weight.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.count_nonzero(nonzero, axis=1), out=indptr[1:])
        indices = np.nonzero(nonzero)[1].astype(np.int64)
        return Stage("dense", (weight.shape[1],), out_shape, indptr=indptr, indices=indices)

    def _synapses_per_neuron(self, stages: list[Stage], size: int) -> np.ndarray:
        """Return the synapse entries that one path adds to each target neuron: nonzero weights, or one per edge."""
        # NOTE: only the weight stage nearest the neuron counts. The Loihi 2 lowering folds a pooling
        # op before an affine op into its weights, so the loihi2 graph of such a path counts more.
        for stage in stages:
            if stage.kind == "dense":
                return np.diff(stage.indptr)
            if stage.kind == "window":
                return stage.window_synapses()
        return np.ones(size, dtype=np.int64)

    def _mark_readout(self, value: SSAValue, visiting: set[Operation]) -> None:
        op = value.owner
        if op in self.group_of_op:
            self.network.groups[self.group_of_op[op]].readout = True
        elif isinstance(op, self.RESHAPE) and op not in visiting:
            for operand in op.operands:
                self._mark_readout(operand, visiting | {op})


def _layer_of(stages: list[Stage], shape: tuple[int, ...]) -> tuple[int, int, int, tuple[int, ...]] | None:
    """Return Speck's (c, f, kernel entries, output map) of the weight op nearest the target."""
    for position, stage in enumerate(stages):
        if stage.kind == "window":
            return stage.in_shape[0], stage.out_shape[0], math.prod(stage.kernel), tuple(stage.out_shape[1:])
        if stage.kind == "dense":
            # An affine op becomes a convolution whose kernel covers its whole input map (sinabs).
            before = stages[position + 1] if position + 1 < len(stages) else None
            if before is not None and before.kind == "reshape" and len(before.in_shape) == 3:
                channels, height, width = before.in_shape
                return channels, stage.out_shape[0], height * width, (1, 1)
            return stage.in_shape[0], stage.out_shape[0], 1, (1, 1)
    return None


MAPPABLE_GRAPHS = ("fxp.graph", "loihi2.graph", "spinnaker2.graph", "speck.graph", "xylo.graph")
"""Graph ops whose neurons map-to-cores places."""


def extract_module(module) -> list[Network]:
    """Return one network per mappable graph of `module`."""
    return [extract_network(op) for op in module.ops if op.name in MAPPABLE_GRAPHS]
