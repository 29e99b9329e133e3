"""`discretize`: lower each `nir.graph` to an `snn.graph` stepped every `dt` seconds.

The per-step conventions come from a preset (`nirmlir.presets`), each overridable by an option
of the same name. The pass inlines `nir.subgraph` ops first. It then breaks every cycle: a
depth-first search from the graph inputs finds the back edges, each back edge gets an
`snn.step_delay`, and the remaining acyclic graph is scheduled topologically, which becomes the
block order of the `snn.graph`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    f64,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from nirmlir.dense import dense_from_numpy, i64_array, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, Location, emit_warning
from nirmlir.dialects import nir, snn
from nirmlir.option_hints import option_hint
from nirmlir.passes.inline_subgraphs import inline_subgraphs, nested_graphs
from nirmlir.passes.levels import check_input_level
from nirmlir.presets import OVERRIDABLE_FIELDS, Preset, get_preset
from nirmlir.text_format import AttributeFormatter

MISSING_DT_MESSAGE = "discretize needs dt in seconds; e.g. -p 'discretize{dt=1e-4}'"

SYNAPSE_OPS = (nir.AffineOp, nir.LinearOp, nir.Conv1dOp, nir.Conv2dOp)
"""Nodes whose edge into a neuron carries a preset's synaptic latency."""

NEURON_OPS = (nir.IOp, nir.IFOp, nir.LIOp, nir.LIFOp, nir.CubaLIOp, nir.CubaLIFOp)


def _hint(assignment: str) -> str:
    """Spell a hint naming a discretize option for the pass that runs discretize."""
    return option_hint(assignment, "discretize", "lower-to-fixedpoint")


# --------------------------------------------------------------------------------------
# dt
# --------------------------------------------------------------------------------------


def parse_dt(value: float | int | str | None, option: str = "dt") -> float | None:
    """Return a duration option (``dt`` unless ``option`` names another) as seconds, or None when
    absent; raise DiagnosticError if it is not a positive number.

    The pass-option lexer of xDSL 0.74 reads `1e-4` as a word, so strings are accepted too.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise DiagnosticError(f"invalid {option} '{value}'; expected a number of seconds, e.g. {option}=1e-4")
    try:
        seconds = float(value)
    except ValueError:
        raise DiagnosticError(f"invalid {option} '{value}'; expected a number of seconds, e.g. {option}=1e-4") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise DiagnosticError(f"invalid {option} {value}; {option} must be a positive number of seconds")
    return seconds


def metadata_dt(graph: nir.GraphOp) -> float | None:
    """Return the `dt` entry of the graph's `metadata` dictionary in seconds, or None without one.

    The entry may be a number, a one-element dense tensor or a string containing a number.
    Raises DiagnosticError naming the graph for any other value, because ignoring it would
    silently use another step.
    """
    metadata = graph.attributes.get("metadata")
    if not isinstance(metadata, DictionaryAttr) or "dt" not in metadata.data:
        return None
    value = metadata.data["dt"]
    if isinstance(value, FloatAttr):
        return float(value.value.data)
    if isinstance(value, IntegerAttr) and value.type != i1:
        return float(value.value.data)
    if isinstance(value, DenseIntOrFPElementsAttr) and value.get_element_type() != i1:
        array = numpy_from_dense(value)
        if array.size == 1:
            return float(array.reshape(-1)[0])
    if isinstance(value, StringAttr):
        try:
            return float(value.data)
        except ValueError:
            pass
    name = graph.sym_name.data
    raise DiagnosticError(
        f"graph @{name} has metadata dt {AttributeFormatter().format(value)}, which is not a"
        " number of seconds; set it to a number such as 1e-4, or give dt as a pass option",
        Location(node_path=(name,)),
        op=graph,
    )


# --------------------------------------------------------------------------------------
# Cycles and schedule
# --------------------------------------------------------------------------------------

Edge = tuple[Operation, int]
"""An edge, identified by the destination op and the index of its operand."""


def _successors(op: Operation, position: dict[Operation, int]) -> list[Edge]:
    edges = [(use.operation, use.index) for result in op.results for use in result.uses]
    return sorted(edges, key=lambda edge: (position[edge[0]], edge[1]))


def find_back_edges(ops: list[Operation]) -> set[Edge]:
    """Return the edges that close a cycle in a depth-first search from the inputs, in block order.

    Removing them leaves an acyclic graph. Each cycle is cut at the edge that re-enters the first
    node the search reached on it, which is the node fed from upstream.
    """
    position = {op: index for index, op in enumerate(ops)}
    roots = [op for op in ops if isinstance(op, nir.InputOp)] + ops
    active: set[Operation] = set()
    finished: set[Operation] = set()
    back_edges: set[Edge] = set()
    for root in roots:
        if root in finished:
            continue
        active.add(root)
        stack = [(root, iter(_successors(root, position)))]
        while stack:
            node, pending = stack[-1]
            edge = next(pending, None)
            if edge is None:
                stack.pop()
                active.discard(node)
                finished.add(node)
                continue
            destination = edge[0]
            if destination in active:
                back_edges.add(edge)
            elif destination not in finished:
                active.add(destination)
                stack.append((destination, iter(_successors(destination, position))))
    return back_edges


def schedule(ops: list[Operation], back_edges: set[Edge]) -> list[Operation]:
    """Return the ops in a topological order of the edges that are not back edges.

    Among ops that are ready at the same time, the one earlier in the block comes first.
    """
    position = {op: index for index, op in enumerate(ops)}
    waiting = {op: 0 for op in ops}
    for op in ops:
        for index, operand in enumerate(op.operands):
            if operand.owner in waiting and (op, index) not in back_edges:
                waiting[op] += 1
    ready = [(position[op], op) for op in ops if waiting[op] == 0]
    heapq.heapify(ready)
    order: list[Operation] = []
    while ready:
        _, op = heapq.heappop(ready)
        order.append(op)
        for destination, index in _successors(op, position):
            if (destination, index) in back_edges:
                continue
            waiting[destination] -= 1
            if waiting[destination] == 0:
                heapq.heappush(ready, (position[destination], destination))
    # Every cycle lost one edge, so every op became ready.
    assert len(order) == len(ops), "the back edges did not break every cycle"
    return order


# --------------------------------------------------------------------------------------
# Neuron coefficients
# --------------------------------------------------------------------------------------


class _NodeContext:
    """Inputs of one node lowering: the node, dt, the preset and the diagnostic location."""

    def __init__(self, graph_name: str, op: nir.NIRNodeOp, dt: float, preset: Preset):
        self.op = op
        self.dt = dt
        self.preset = preset
        self.name = op.node_name.data
        self.location = Location(node_path=(graph_name, self.name))

    def error(self, message: str) -> DiagnosticError:
        return DiagnosticError(f"node '{self.name}': {message}", self.location, op=self.op)

    def neuron_param(self, field: str) -> np.ndarray:
        """Return a NIR parameter as float64, broadcast to the neuron shape (0-d values are repeated)."""
        shape = snn.tensor_shape(self.op.results[0].type)
        value = np.asarray(self.op.param(field), dtype=np.float64)
        try:
            return np.broadcast_to(value, shape)
        except ValueError:
            raise self.error(
                f"'{field}' has shape {list(value.shape)} but the neurons have shape {list(shape)}"
            ) from None

    def membrane(self, tau_field: str) -> tuple[np.ndarray, np.ndarray]:
        """Return (decay, input gain factor) of one state with time constant `tau_field`.

        The gain factor multiplies r or w_in: a = dt/tau under forward Euler and exp_euler, and
        1 - e^(-a) under zero_order_hold and event_exact. The rockpool gain rule replaces it by
        e^(-a) for the current (`tau_syn`) and a·e^a for the voltage.
        """
        decay, factor = self._integrator_membrane(tau_field)
        if self.preset.gain_rule == "rockpool":
            a = self.dt / self.neuron_param(tau_field)
            with np.errstate(over="ignore"):
                factor = np.exp(-a) if tau_field == "tau_syn" else a * np.exp(a)
            if not np.isfinite(factor).all():
                raise self.error(
                    f"'{tau_field}' is so much shorter than dt {self.dt:g} s that the rockpool voltage gain "
                    "dt/tau·e^(dt/tau) overflows; use a smaller dt"
                )
        return decay, factor

    def _integrator_membrane(self, tau_field: str) -> tuple[np.ndarray, np.ndarray]:
        tau = self.neuron_param(tau_field)
        if not np.isfinite(tau).all() or (tau <= 0).any():
            raise self.error(f"'{tau_field}' has a value {tau.min()} that is not a positive number of seconds")
        # A tau far below dt makes `a` overflow to inf, which the exact integrators handle
        # (decay 0, gain 1) and the others report below.
        with np.errstate(over="ignore"):
            a = self.dt / tau
        integrator = self.preset.integrator
        if integrator == "forward_euler":
            if (a > 1).any():
                raise self.error(
                    f"'{tau_field}' {tau.min():g} s is shorter than dt {self.dt:g} s, so forward Euler gives a "
                    f"negative decay {1 - a.max():g}; use a smaller {_hint('dt')} or {_hint('integrator=exp_euler')}"
                )
            return 1.0 - a, a
        if integrator == "exp_euler":
            if not np.isfinite(a).all():
                raise self.error(
                    f"'{tau_field}' {tau.min():g} s is so much shorter than dt {self.dt:g} s that the "
                    f"exp_euler input gain dt/tau overflows; use a smaller {_hint('dt')} or "
                    f"{_hint('integrator=zero_order_hold')}"
                )
            return np.exp(-a), a
        return np.exp(-a), -np.expm1(-a)

    def integrator_gain(self) -> np.ndarray:
        """Return the per-step input gain of IF and integrator neurons, which have no time constant."""
        r = self.neuron_param("r")
        return r if self.preset.if_gain == "r" else r * self.dt


def _dense(values: np.ndarray) -> DenseIntOrFPElementsAttr:
    return dense_from_numpy(np.asarray(values, dtype=np.float64))


def _spiking_properties(node: _NodeContext) -> dict[str, Attribute]:
    preset = node.preset
    return {
        "v_threshold": _dense(node.neuron_param("v_threshold")),
        "v_reset": _dense(node.neuron_param("v_reset")),
        "spike_test": StringAttr(preset.spike_test),
        "spike_timing": StringAttr(preset.spike_timing),
        "reset": StringAttr(preset.reset),
        "max_spikes_per_step": IntegerAttr(preset.max_spikes_per_step, i64),
    }


def _voltage_properties(node: _NodeContext, input_gain: np.ndarray) -> dict[str, Attribute]:
    """Return decay, gain and leak of the voltage `τ_mem dv/dt = (v_leak - v) + input_gain·input`."""
    tau_field = "tau_mem" if "tau_mem" in node.op.PARAMS else "tau"
    decay, factor = node.membrane(tau_field)
    v_leak = node.neuron_param("v_leak")
    return {
        "voltage_decay": _dense(decay),
        "voltage_gain": _dense(factor * input_gain),
        "leak": _dense((1.0 - decay) * v_leak),
    }


def _current_properties(node: _NodeContext) -> dict[str, Attribute]:
    """Return decay and gain of the current `τ_syn di/dt = -i + w_in·x`, and the current timing."""
    decay, factor = node.membrane("tau_syn")
    return {
        "current_decay": _dense(decay),
        "current_gain": _dense(factor * node.neuron_param("w_in")),
        "current_timing": StringAttr(node.preset.current_timing),
    }


# --------------------------------------------------------------------------------------
# Node lowerings: each returns the snn op class and its properties without node_name
# --------------------------------------------------------------------------------------

Lowering = tuple[type[snn.SNNNodeOp], dict[str, Attribute]]


def _lower_input(node: _NodeContext) -> Lowering:
    return snn.InputOp, {}


def _lower_output(node: _NodeContext) -> Lowering:
    return snn.OutputOp, {}


def _lower_affine(node: _NodeContext) -> Lowering:
    op = node.op
    assert isinstance(op, nir.AffineOp)
    return snn.AffineOp, {"weight": op.weight, "bias": op.bias}


def _lower_linear(node: _NodeContext) -> Lowering:
    op = node.op
    assert isinstance(op, nir.LinearOp)
    return snn.AffineOp, {"weight": op.weight}


def _lower_scale(node: _NodeContext) -> Lowering:
    op = node.op
    assert isinstance(op, nir.ScaleOp)
    return snn.ScaleOp, {"scale": op.scale}


def _explicit_padding(node: _NodeContext) -> tuple[int, ...]:
    """Return per-axis symmetric padding, resolving NIR's "valid" and "same"."""
    op = node.op
    padding = op.param("padding")
    kernel = tuple(op.weight.get_shape())[2:]
    if padding == "valid":
        return (0,) * len(kernel)
    if padding != "same":
        return tuple(padding)
    stride, dilation = op.param("stride"), op.param("dilation")
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if any(s != 1 for s in stride) or any(total % 2 for total in totals):
        raise node.error(
            f"padding 'same' with stride {list(stride)} and kernel {list(kernel)} has no symmetric "
            "padding that keeps the size; NIR leaves this case undefined, so give explicit padding"
        )
    return tuple(total // 2 for total in totals)


def _lower_conv(node: _NodeContext) -> Lowering:
    op = node.op
    assert isinstance(op, nir.Conv1dOp | nir.Conv2dOp)
    op_class = snn.Conv1dOp if isinstance(op, nir.Conv1dOp) else snn.Conv2dOp
    return op_class, {
        "weight": op.weight,
        "bias": op.bias,
        "stride": op.stride,
        "padding": i64_array(_explicit_padding(node)),
        "dilation": op.dilation,
        "groups": IntegerAttr(op.param("groups"), i64),
    }


def _lower_pool(node: _NodeContext) -> Lowering:
    op = node.op
    assert isinstance(op, nir.SumPool2dOp | nir.AvgPool2dOp)
    op_class = snn.SumPool2dOp if isinstance(op, nir.SumPool2dOp) else snn.AvgPool2dOp
    return op_class, {"kernel_size": op.kernel_size, "stride": op.stride, "padding": op.padding}


def _lower_flatten(node: _NodeContext) -> Lowering:
    op = node.op
    assert isinstance(op, nir.FlattenOp)
    return snn.FlattenOp, {
        "start_dim": IntegerAttr(op.param("start_dim"), i64),
        "end_dim": IntegerAttr(op.param("end_dim"), i64),
    }


def _lower_delay(node: _NodeContext) -> Lowering:
    delay = np.asarray(node.op.param("delay"), dtype=np.float64)
    if not np.isfinite(delay).all() or (delay < 0).any():
        raise node.error("'delay' must hold non-negative numbers of seconds")
    # NIR does not say how to round a delay to steps; the nearest step count is used.
    exact_steps = delay / node.dt
    steps = np.rint(exact_steps).astype(np.int64)
    vanished = (delay > 0) & (steps == 0)
    if vanished.any():
        # A Delay node exists to delay its input, so dropping a delay silently would change
        # the model's timing. The user has to choose a finer dt or a zero delay.
        index = _first_index(vanished)
        raise node.error(
            f"'delay' {delay[index]:g} s at index {index} is {exact_steps[index]:.3g} steps at dt "
            f"{node.dt:g} s, which rounds to 0 steps and would remove the delay; use a dt of at most "
            f"{2 * delay[vanished].min():g} s, or set that delay to 0"
        )
    # Step counts within float32 rounding of a whole number (a float32 1e-3 s at dt 1e-4 s is
    # 10.0000005 steps) count as whole.
    fractional = ~np.isclose(exact_steps, steps, rtol=1e-6, atol=1e-6)
    if fractional.any():
        index = _first_index(fractional)
        error_steps = np.abs(exact_steps - steps).max()
        emit_warning(
            f"node '{node.name}': 'delay' is not a whole number of steps at dt {node.dt:g} s "
            f"({delay[index]:g} s at index {index} is {exact_steps[index]:.6g} steps); rounded to the "
            f"nearest step, with an error of up to {error_steps:.3g} steps ({error_steps * node.dt:.3g} s)",
            node.location,
            op=node.op,
        )
    return snn.DelayOp, {"steps": dense_from_numpy(steps)}


def _first_index(mask: np.ndarray) -> tuple[int, ...] | int:
    """Return the index of the first true element, as an int for a 1-d mask."""
    index = tuple(int(axis[0]) for axis in np.nonzero(mask))
    return index[0] if len(index) == 1 else index


def _lower_threshold(node: _NodeContext) -> Lowering:
    op = node.op
    assert isinstance(op, nir.ThresholdOp)
    return snn.ThresholdOp, {"threshold": op.threshold, "spike_test": StringAttr(node.preset.spike_test)}


def _lower_i(node: _NodeContext) -> Lowering:
    return snn.IntegratorOp, {"voltage_gain": _dense(node.integrator_gain())}


def _lower_if(node: _NodeContext) -> Lowering:
    gain = node.integrator_gain()
    properties: dict[str, Attribute] = {
        "voltage_decay": _dense(np.ones_like(gain)),
        "voltage_gain": _dense(gain),
        "leak": _dense(np.zeros_like(gain)),
    }
    properties.update(_spiking_properties(node))
    return snn.LIFOp, properties


def _lower_li(node: _NodeContext) -> Lowering:
    return snn.LIOp, _voltage_properties(node, node.neuron_param("r"))


def _lower_lif(node: _NodeContext) -> Lowering:
    properties = _voltage_properties(node, node.neuron_param("r"))
    properties.update(_spiking_properties(node))
    return snn.LIFOp, properties


def _check_cuba_integrator(node: _NodeContext) -> None:
    if node.preset.integrator == "event_exact":
        raise node.error(
            "integrator 'event_exact' is defined only for one-state neurons (LIF, IF, LI, I); "
            f"use {_hint('integrator=zero_order_hold')} for current-based neurons"
        )


def _lower_cuba_li(node: _NodeContext) -> Lowering:
    _check_cuba_integrator(node)
    properties = _current_properties(node)
    properties.update(_voltage_properties(node, node.neuron_param("r")))
    return snn.CubaLIOp, properties


def _lower_cuba_lif(node: _NodeContext) -> Lowering:
    _check_cuba_integrator(node)
    properties = _current_properties(node)
    properties.update(_voltage_properties(node, node.neuron_param("r")))
    properties.update(_spiking_properties(node))
    return snn.CubaLIFOp, properties


NODE_LOWERINGS: dict[type[nir.NIRNodeOp], Callable[[_NodeContext], Lowering]] = {
    nir.InputOp: _lower_input,
    nir.OutputOp: _lower_output,
    nir.AffineOp: _lower_affine,
    nir.LinearOp: _lower_linear,
    nir.ScaleOp: _lower_scale,
    nir.Conv1dOp: _lower_conv,
    nir.Conv2dOp: _lower_conv,
    nir.SumPool2dOp: _lower_pool,
    nir.AvgPool2dOp: _lower_pool,
    nir.FlattenOp: _lower_flatten,
    nir.DelayOp: _lower_delay,
    nir.ThresholdOp: _lower_threshold,
    nir.IOp: _lower_i,
    nir.IFOp: _lower_if,
    nir.LIOp: _lower_li,
    nir.LIFOp: _lower_lif,
    nir.CubaLIOp: _lower_cuba_li,
    nir.CubaLIFOp: _lower_cuba_lif,
}


# --------------------------------------------------------------------------------------
# Graphs
# --------------------------------------------------------------------------------------


def _is_delayed_nir(op: Operation, dt: float) -> bool:
    """Return whether a NIR node already delays every element by at least one step."""
    if not isinstance(op, nir.DelayOp):
        return False
    delay = np.asarray(op.param("delay"), dtype=np.float64)
    return delay.size > 0 and bool((np.rint(delay / dt) >= 1).all())


def _edge_delay_steps(destination: Operation, index: int, is_back_edge: bool, dt: float, preset: Preset) -> int:
    """Return the steps of `snn.step_delay` to put on an edge, or 0 for none."""
    source = destination.operands[index].owner
    steps = 0
    if isinstance(source, SYNAPSE_OPS) and isinstance(destination, NEURON_OPS):
        steps = preset.synapse_delay
    if is_back_edge and not _is_delayed_nir(source, dt):
        steps = max(steps, preset.back_edge_delay)
    return steps


def _lower_node(node: _NodeContext) -> Lowering:
    """Run the node's lowering; a float64 overflow or invalid operation becomes a diagnostic.

    numpy would otherwise print a RuntimeWarning and go on with inf or NaN coefficients.
    Underflow to zero is allowed, because a decay that small is zero.
    """
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            return NODE_LOWERINGS[type(node.op)](node)
    except FloatingPointError as error:
        raise node.error(
            f"its per-step coefficients fail in float64 ({error}) at dt {node.dt:g} s; its "
            "parameters are too large or too small"
        ) from None


def discretize_graph(graph: nir.GraphOp, dt: float, preset: Preset) -> snn.GraphOp:
    """Return the snn graph of one flat nir graph (no `nir.subgraph` left)."""
    graph_name = graph.sym_name.data
    ops = list(graph.body.block.ops)
    back_edges = find_back_edges(ops)

    # Create the snn ops in schedule order, without operands yet.
    lowered: dict[Operation, Operation] = {}
    for op in schedule(ops, back_edges):
        if isinstance(op, nir.SubgraphOp):
            raise DiagnosticError(
                f"node '{op.node_name.data}' is a nir.subgraph; run nir-inline-subgraphs before discretize",
                Location(node_path=(graph_name, op.node_name.data)),
                op=op,
            )
        node = _NodeContext(graph_name, op, dt, preset)
        op_class, properties = _lower_node(node)
        properties["node_name"] = StringAttr(node.name)
        if issubclass(op_class, snn.NeuronOp):
            properties["integrator"] = StringAttr(preset.integrator)
        attributes = {"metadata": op.attributes["metadata"]} if "metadata" in op.attributes else {}
        lowered[op] = op_class.create(
            result_types=[result.type for result in op.results],
            properties=properties,
            attributes=attributes,
        )
        for result, new_result in zip(op.results, lowered[op].results):
            new_result.name_hint = result.name_hint

    # Connect the edges. A delayed edge reads an snn.step_delay placed right after its source,
    # so a back edge is read before its source is computed, which only a delay op allows.
    delays_after: dict[Operation, list[Operation]] = {op: [] for op in lowered.values()}
    for op, new_op in lowered.items():
        operands = []
        for index, operand in enumerate(op.operands):
            source = lowered[operand.owner]
            value = source.results[0]
            steps = _edge_delay_steps(op, index, (op, index) in back_edges, dt, preset)
            if steps:
                name = f"{operand.owner.node_name.data}->{op.node_name.data}"
                delay = snn.StepDelayOp.create(
                    operands=[value],
                    result_types=[value.type],
                    properties={"node_name": StringAttr(name), "steps": IntegerAttr(steps, i64)},
                )
                delays_after[source].append(delay)
                value = delay.results[0]
            operands.append(value)
        new_op.operands = operands

    block = Block()
    for new_op in lowered.values():
        block.add_op(new_op)
        block.add_ops(delays_after[new_op])
    return snn.GraphOp.create(
        properties={"sym_name": graph.sym_name, "dt": FloatAttr(dt, f64)},
        regions=[Region(block)],
    )


def discretize_module(module: ModuleOp, preset: Preset, dt: float | None, fallback_dt: float | None = None) -> None:
    """Replace every nir.graph of the module by its snn.graph.

    The step is `dt` if given, else the graph's metadata `dt`, else `fallback_dt` with a
    warning. Without any of them, or when all graphs are at another level, it raises a
    DiagnosticError naming what is missing.
    """
    check_input_level(module, "discretize", "nir", "snn")
    nested_steps = _nested_metadata_steps(module)
    inline_subgraphs(module)
    for graph in [op for op in module.ops if isinstance(op, nir.GraphOp)]:
        name = graph.sym_name.data
        location = Location(node_path=(name,))
        step = dt if dt is not None else metadata_dt(graph)
        if step is None and fallback_dt is not None:
            step = fallback_dt
            emit_warning(
                f"no dt given for graph @{name}; using dt={fallback_dt:g} s. Give dt as a pass"
                " option or as the graph's metadata dt",
                location,
                op=graph,
            )
        if step is None:
            raise DiagnosticError(MISSING_DT_MESSAGE, location, op=graph)
        if not math.isfinite(step) or step <= 0:
            raise DiagnosticError(
                f"graph @{name} has metadata dt {step}; dt must be a positive number of seconds",
                location,
                op=graph,
            )
        for nested, nested_step in nested_steps.get(name, ()):
            if not math.isclose(nested_step, step, rel_tol=1e-9):
                emit_warning(
                    f"graph @{nested} has metadata dt {nested_step:g} s, but its nodes are inlined "
                    f"into @{name}, which runs with dt={step:g} s; a nested graph runs with the step "
                    "of the graph that contains it",
                    Location(node_path=(nested,)),
                    op=graph,
                )
        Rewriter.insert_op(discretize_graph(graph, step, preset), InsertPoint.before(graph))
        Rewriter.erase_op(graph)


def _nested_metadata_steps(module: ModuleOp) -> dict[str, list[tuple[str, float]]]:
    """Return, by top-level graph name, the graphs it instantiates that have a valid metadata
    dt, each with that dt. Inlining drops their metadata."""
    steps: dict[str, list[tuple[str, float]]] = {}
    for top, graphs in nested_graphs(module).items():
        steps[top] = []
        for graph in graphs:
            try:
                step = metadata_dt(graph)
            except DiagnosticError:
                step = None  # A nested graph's dt is not used, so an invalid one is no error.
            if step is not None:
                steps[top].append((graph.sym_name.data, step))
    return steps


def resolve_preset(name: str, pass_name: str = "discretize", **overrides: object) -> Preset:
    """Return the preset `name` with the non-None overrides; raise DiagnosticError for invalid values.

    ``pass_name`` is the pass whose options the user wrote, which the message names.
    """
    try:
        return get_preset(name).with_overrides(**overrides)
    except ValueError as error:
        raise DiagnosticError(f"{pass_name}: {error}") from None


@dataclass(frozen=True)
class DiscretizingPass(ModulePass):
    """Base of the passes that discretize: dt, the preset and one override per preset field."""

    dt: float | int | str | None = None
    """Step length in seconds; defaults to the graph's metadata dt (lower-to-fixedpoint then uses 1e-4 and warns)."""
    preset: str = "norse"
    """Simulator whose conventions to follow: norse, snntorch, sinabs, rockpool, spyx, lava, nengo, spinnaker2, exact."""
    integrator: str | None = None
    """Preset override: forward_euler, exp_euler, zero_order_hold or event_exact."""
    spike_test: str | None = None
    """Preset override: gt (v > v_threshold) or ge (v >= v_threshold)."""
    spike_timing: str | None = None
    """Preset override: after_update or before_update: which voltage the spike test reads."""
    reset: str | None = None
    """Preset override: to_reset_value, subtract or none."""
    max_spikes_per_step: int | None = None
    """Preset override: maximum spikes a neuron emits per step (at least 1)."""
    current_timing: str | None = None
    """Preset override: same_step or previous_step: which step's current the voltage of a current-based neuron reads."""
    if_gain: str | None = None
    """Preset override: r (v += r*x per step) or r_dt (v += r*dt*x) for IF and integrator neurons."""
    synapse_delay: int | None = None
    """Preset override: steps of delay on each edge from an affine, linear or conv node into a neuron."""
    back_edge_delay: int | None = None
    """Preset override: steps of delay on each back edge of a cycle (at least 1)."""
    gain_rule: str | None = None
    """Preset override: integrator (gain dt/tau·r) or rockpool (r and w_in as Rockpool's exporter writes them)."""

    def preset_overrides(self) -> dict[str, object]:
        """Return the preset fields this pass's options override (None where not given)."""
        return {field: getattr(self, field) for field in OVERRIDABLE_FIELDS}


@dataclass(frozen=True)
class DiscretizePass(DiscretizingPass):
    """Lower nir graphs to discrete-time snn graphs; every preset field can be overridden by an option."""

    name = "discretize"

    def resolved_preset(self) -> Preset:
        """Return the preset with this pass's overrides applied."""
        return resolve_preset(self.preset, **self.preset_overrides())

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        discretize_module(op, self.resolved_preset(), parse_dt(self.dt))
