"""Extraction of the neuron-level connectivity from the loihi2, spinnaker2, speck and xylo chip dialects.

A loihi2 layer op (`dense`, `dense_rec`, `conv`) is a synapse and a neuron group in one op, so
its weights are the first stage of every path into it. SpiNNaker2 keeps populations and
projections apart, like fxp keeps neuron and weight ops.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.dialects import loihi2, speck, spinnaker2, xylo
from nirmlir.mapping.extract import _Extractor, _shape, node_name
from nirmlir.mapping.network import Group, Network, Path, Stage


class Loihi2Extractor(_Extractor):
    INPUT = (loihi2.InputOp,)
    NEURON = (loihi2.LayerOp,)
    OUTPUT = (loihi2.OutputOp,)
    RESHAPE = (loihi2.FlattenOp,)

    def own_stages(self, neuron: Operation) -> list[Stage]:
        out_shape = _shape(neuron.output)
        if isinstance(neuron, loihi2.ConvOp):
            weight = numpy_from_dense(neuron.weight)
            return [Stage("window", _shape(neuron.operands[0]), out_shape, kernel=weight.shape[2:],
                          stride=ints_from_array(neuron.stride), padding=ints_from_array(neuron.padding),
                          dilation=ints_from_array(neuron.dilation), groups=neuron.groups.value.data,
                          kernel_nonzero=np.count_nonzero(weight, axis=1))]
        return [self._dense_stage(neuron, out_shape)]

    def self_stages(self, neuron: Operation) -> list[Stage] | None:
        if isinstance(neuron, loihi2.DenseRecOp):
            return [self._dense_stage(neuron, _shape(neuron.output), neuron.weight_rec)]
        return None

    def stages_of(self, op: Operation) -> list[Stage]:
        if isinstance(op, self.RESHAPE):
            return [Stage("reshape", _shape(op.operands[0]), _shape(op.results[0]))]
        raise self._error(op, "has no neuron-level connectivity that map-to-cores knows")


class SpiNNaker2Extractor(_Extractor):
    INPUT = (spinnaker2.InputOp,)
    NEURON = (spinnaker2.NeuronPopulationOp,)
    OUTPUT = (spinnaker2.OutputOp,)
    RESHAPE = ()

    def stages_of(self, op: Operation) -> list[Stage]:
        if isinstance(op, spinnaker2.ProjectionOp):
            return [self._dense_stage(op, _shape(op.output))]
        if isinstance(op, spinnaker2.Conv2dProjectionOp):
            return self._conv_stages(op)
        raise self._error(op, "has no neuron-level connectivity that map-to-cores knows")

    def _conv_stages(self, op: spinnaker2.Conv2dProjectionOp) -> list[Stage]:
        """Return the convolution, then the sum pooling before it: py-spinnaker2 pools first."""
        channels, height, width = ints_from_array(op.in_shape)
        weight = numpy_from_dense(op.weight)
        in_channels, out_channels, kernel_y, kernel_x = weight.shape
        pool = ints_from_array(op.pool)
        top, _, left, _ = ints_from_array(op.padding)
        pooled = (channels, height // pool[0], width // pool[1])
        out_positions = _shape(op.output)[0] // out_channels
        stride = ints_from_array(op.stride)
        out_height = (pooled[1] + sum(ints_from_array(op.padding)[:2]) - kernel_y) // stride[0] + 1
        stages = [Stage("window", pooled, (out_channels, out_height, out_positions // out_height), kernel=(kernel_y, kernel_x),
                        stride=stride, padding=(top, left), dilation=(1, 1), groups=1,
                        kernel_nonzero=np.count_nonzero(weight, axis=0))]
        if pool != (1, 1):
            stages.append(Stage("window", (channels, height, width), pooled, kernel=pool, stride=pool,
                                padding=(0, 0), dilation=(1, 1), groups=channels))
        return stages


CHIP_EXTRACTORS = {"loihi2.graph": Loihi2Extractor, "spinnaker2.graph": SpiNNaker2Extractor}


class SpeckExtractor(_Extractor):
    """A speck core is one layer: its convolution, its neurons, and the pooling on its way out.

    The group of a core contains its neuron map before pooling, and its `layer` gives the memory
    formulas their numbers. A path into a core is its own convolution, after the source core's
    pooling when that pools.
    """

    INPUT = (speck.InputOp,)
    NEURON = (speck.CoreOp,)
    OUTPUT = (speck.OutputOp,)
    RESHAPE = ()

    def run(self) -> Network:
        ops = list(self.graph.body.block.ops)
        for op in ops:
            if isinstance(op, speck.InputOp):
                self._add_group(Group(node_name(op), _shape(op.output), placed=False, op=op), op)
        for op in ops:
            if isinstance(op, speck.CoreOp):
                out_channels, in_channels, kernel, _ = tuple(op.weight.get_shape())
                shape = op.neuron_shape()
                group = Group(node_name(op), shape, placed=True, op=op,
                              layer=(in_channels, out_channels, kernel * kernel, shape[1:]))
                group.synapses = np.full(group.size, in_channels * kernel * kernel, dtype=np.int64)
                self._add_group(group, op)
        for op in ops:
            if isinstance(op, speck.CoreOp):
                kernel = tuple(op.weight.get_shape())[2:]
                convolution = Stage("window", _shape(op.inputs[0]), op.neuron_shape(), kernel=kernel,
                                    stride=ints_from_array(op.stride), padding=ints_from_array(op.padding),
                                    dilation=(1, 1), groups=1)
                for operand in op.inputs:
                    source = operand.owner
                    stages = [convolution]
                    if isinstance(source, speck.CoreOp) and source.output_pooling() > 1:
                        pool = source.output_pooling()
                        stages.append(Stage("window", source.neuron_shape(), _shape(source.output), kernel=(pool, pool),
                                            stride=(pool, pool), padding=(0, 0), dilation=(1, 1),
                                            groups=source.neuron_shape()[0]))
                    self.network.paths.append(Path(self.group_of_op[source], self.group_of_op[op], stages))
            elif isinstance(op, speck.OutputOp):
                for operand in op.inputs:
                    if operand.owner in self.group_of_op:
                        self.network.groups[self.group_of_op[operand.owner]].readout = True
        return self.network


class XyloExtractor(_Extractor):
    """A xylo graph is one core: inputs, hidden neurons with recurrent weights, and readout neurons."""

    INPUT = (xylo.InputOp,)
    NEURON = (xylo.HiddenOp, xylo.ReadoutOp)
    OUTPUT = (xylo.OutputOp,)
    RESHAPE = ()

    def run(self) -> Network:
        ops = list(self.graph.body.block.ops)
        for op in ops:
            if isinstance(op, xylo.InputOp):
                self._add_group(Group(node_name(op), _shape(op.output), placed=False, op=op), op)
        for op in ops:
            if isinstance(op, self.NEURON):
                self._add_group(Group(node_name(op), (op.size,), placed=True, op=op,
                                      readout=isinstance(op, xylo.ReadoutOp)), op)
        for op in ops:
            if isinstance(op, self.NEURON):
                target = self.group_of_op[op]
                synapses = np.zeros(op.size, dtype=np.int64)
                for operand in op.operands:
                    weights = operand.owner
                    matrix = weights.matrix()
                    nonzero = (matrix != 0).any(axis=2) if matrix.ndim == 3 else matrix != 0
                    stage = _csr_stage(nonzero.T)
                    synapses += np.diff(stage.indptr)
                    self.network.paths.append(Path(self.group_of_op[weights.operands[0].owner], target, [stage]))
                self.network.groups[target].synapses = synapses
        return self.network


def _csr_stage(nonzero: np.ndarray) -> Stage:
    """Return the dense stage of a boolean (target, source) matrix."""
    indptr = np.zeros(nonzero.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(nonzero, axis=1), out=indptr[1:])
    return Stage("dense", (nonzero.shape[1],), (nonzero.shape[0],), indptr=indptr,
                 indices=np.nonzero(nonzero)[1].astype(np.int64))


CHIP_EXTRACTORS["speck.graph"] = SpeckExtractor
CHIP_EXTRACTORS["xylo.graph"] = XyloExtractor
