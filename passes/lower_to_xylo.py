"""`lower-to-xylo`: map an fxp graph (or a nir graph, through lower-to-fixedpoint) onto a Xylo chip.

The fxp graph must have the shape of a Xylo network. One input feeds an affine into one
current-based LIF group, the first hidden layer. Further hidden groups of current-based LIF
neurons may follow, each fed by affines from hidden groups, and any hidden group may feed itself
through a one-step delay. Affines from hidden groups feed one more current-based LIF group, the
readout, and one output reads the readout spikes. The chip has one hidden population, so the
hidden groups share it, with the first layer first and the groups the readout reads last. Every
affine between hidden groups becomes a block of the recurrent weights, which deliver spikes one
step later. On Xylo IMU and Audio 3, readout sources outside the last 128 hidden neurons get
relay neurons (`add_readout_relays`). Weights are transposed to the chip's [source, target]
layout and keep their per-target-neuron scales, which the thresholds and biases share. Decays become bit shifts: a kept fraction k per step stands for
a time constant of τ = -1/ln(k) steps, and `dash = round(log2(τ))`. The report records, per
neuron group, how far the kept fraction 1 - 2^-dash is from k.

Differences between the fxp semantics and the chip that the lowering cannot remove are warnings,
not errors. The chip adds input to the synaptic current before decaying it and delays the
readout, and every hidden-to-hidden affine, by one step. Its hidden neurons spike up to 31 times
per step and reset by subtraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    FloatAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from nirmlir.dense import dense_from_numpy, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, emit_warning
from nirmlir.dialects import fxp, xylo
from nirmlir.passes.levels import check_input_level
from nirmlir.passes.quantize_options import QuantizeOptions

PASS_NAME = "lower-to-xylo"

XYLO_QUANTIZATION = QuantizeOptions(
    weight_bits=xylo.WEIGHT_BITS,
    state_bits=xylo.STATE_BITS,
    spike_bits=8,
    weight_granularity="per-target-neuron",
    decay_min_step=1,
    rounding="floor",
)
"""The fxp number formats of a nir graph lowered for Xylo: int8 weights scaled per target neuron,
16-bit states, and decays that floor and always move a nonzero state, as the chip's do."""


@dataclass
class DecayRecord:
    """The bit-shift approximation of one decay of one neuron group."""

    node: str
    state: str
    """``voltage`` or ``current``."""
    dash: np.ndarray
    kept: np.ndarray
    """The fxp kept fraction per step."""

    @property
    def max_error(self) -> float:
        """The largest |(1 - 2^-dash) - kept| over the neurons."""
        return float(np.abs((1.0 - 2.0 ** -self.dash.astype(np.float64)) - self.kept).max(initial=0.0))


@dataclass
class XyloReport:
    """The changes `lower_to_xylo` made: the decay approximations and where each hidden group went."""

    variant: str
    decays: list[DecayRecord] = field(default_factory=list)
    hidden_groups: dict[str, range] = field(default_factory=dict)
    """The indices in the chip's hidden population of each fxp hidden group, by node name."""
    weight_shifts: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """The input, recurrent and output weight shifts of each graph, by graph name."""
    readout_relays: dict[str, int] = field(default_factory=dict)
    """The relay neurons appended to each graph's hidden population (see `add_readout_relays`), by graph name."""


# --------------------------------------------------------------------------------------
# Reading the fxp graph
# --------------------------------------------------------------------------------------


def _fail(message: str, op: Operation) -> DiagnosticError:
    node = op.properties.get("node_name")
    prefix = f"node '{node.data}': " if isinstance(node, StringAttr) else ""
    return DiagnosticError(f"{PASS_NAME}: {prefix}{message}", op=op)


def _through_delays(value: SSAValue) -> tuple[Operation, int]:
    """Return the op that produces `value` behind any fxp.step_delay ops, and the steps of delay passed."""
    owner, steps = value.owner, 0
    while isinstance(owner, fxp.StepDelayOp):
        steps += owner.steps.value.data
        owner = owner.inputs[0].owner
    return owner, steps


@dataclass
class Connection:
    """An affine into a neuron group: its source op, the weights as [source, target] and the delay on the way."""

    affine: fxp.AffineOp
    source: Operation
    target: Operation
    weights: np.ndarray
    delay: int


def _connection(value: SSAValue, target: Operation) -> Connection:
    affine, delay_after = _through_delays(value)
    if not isinstance(affine, fxp.AffineOp):
        raise _fail(
            f"'{affine.name}' feeds neuron group '{target.node_name.data}'; on Xylo every input of a neuron group "
            "is a weight matrix (fxp.affine)",
            affine,
        )
    if len(affine.inputs) != 1:
        raise _fail(f"the affine has {len(affine.inputs)} inputs; a Xylo weight matrix reads one layer", affine)
    if affine.bias is not None:
        raise _fail("the affine has a bias; Xylo weight matrices have none: move it into the neurons' leak", affine)
    weight = numpy_from_dense(affine.weight).astype(np.int64)
    if weight.ndim != 2:
        raise _fail(f"the affine has weight shape {list(weight.shape)}; Xylo weight matrices are 2-D", affine)
    low, high = int(weight.min(initial=0)), int(weight.max(initial=0))
    if low < -128 or high > 127:
        raise _fail(
            f"weights in [{low}, {high}] need {affine.weight_bits.value.data} bits; Xylo weights are int8: quantize "
            "with weight-bits=8",
            affine,
        )
    source, delay_before = _through_delays(affine.inputs[0])
    return Connection(affine, source, target, weight.T.copy(), delay_after + delay_before)


NEURON_KINDS = (fxp.LIFOp, fxp.CubaLIFOp, fxp.LIOp, fxp.CubaLIOp, fxp.IntegratorOp)


@dataclass
class XyloNetwork:
    """The parts of an fxp graph that become one Xylo configuration.

    `hidden` lists the hidden groups in the order the chip's hidden population packs them: the
    group that receives the input weights first, the groups the readout reads last.
    """

    graph: fxp.GraphOp
    input: fxp.InputOp
    output: fxp.OutputOp
    hidden: list[fxp.CubaLIFOp]
    readout: fxp.CubaLIFOp
    input_weights: Connection
    hidden_weights: list[Connection]
    """Every affine from a hidden group into a hidden group: the chip's recurrent weights."""
    output_weights: list[Connection]


def _single(graph: fxp.GraphOp, kind: type, what: str) -> Operation:
    found = [op for op in graph.body.block.ops if isinstance(op, kind)]
    if len(found) != 1:
        raise _fail(f"the graph has {len(found)} {what}; a Xylo network has exactly one", found[1] if found else graph)
    return found[0]


def _check_neuron_kind(op: Operation, role: str) -> fxp.CubaLIFOp:
    if not isinstance(op, fxp.CubaLIFOp):
        raise _fail(
            f"'{op.name}' cannot be the {role} neurons; Xylo neurons are current-based LIF neurons with a "
            "synaptic current (a NIR CubaLIF)",
            op,
        )
    if len(op.output.type.get_shape()) != 1:
        raise _fail(f"the neurons have shape {list(op.output.type.get_shape())}; Xylo neuron groups are 1-D", op)
    return op


def _names(ops) -> str:
    return ", ".join(f"'{op.node_name.data}'" for op in ops)


def _hidden_inputs(groups: list[fxp.CubaLIFOp], input_op: fxp.InputOp) -> tuple[list[Connection], list[Connection]]:
    """Return the affines from the graph input and those between hidden groups; raise for any other source."""
    from_input, between = [], []
    for group in groups:
        seen: set[int] = set()
        for value in group.inputs:
            connection = _connection(value, group)
            if connection.source is not input_op and connection.source not in groups:
                raise _fail(
                    f"'{connection.source.name}' feeds hidden group '{group.node_name.data}'; Xylo hidden neurons "
                    "read the input weights and the spikes of hidden neurons only",
                    connection.affine,
                )
            if id(connection.source) in seen:
                raise _fail(
                    f"a second affine from the same source feeds hidden group '{group.node_name.data}'; Xylo has one "
                    "weight per pair of neurons: add the two weight matrices",
                    connection.affine,
                )
            seen.add(id(connection.source))
            (from_input if connection.source is input_op else between).append(connection)
    return from_input, between


def read_network(graph: fxp.GraphOp) -> XyloNetwork:
    """Match the graph against the Xylo network shape; raise DiagnosticError naming what does not fit."""
    for op in graph.body.block.ops:
        if isinstance(op, fxp.RescaleOp | fxp.Conv1dOp | fxp.Conv2dOp | fxp.SumPool2dOp | fxp.ThresholdOp | fxp.DelayOp):
            raise _fail(f"'{op.name}' has no Xylo equivalent; Xylo runs dense layers of LIF neurons only", op)
    input_op = _single(graph, fxp.InputOp, "inputs")
    output_op = _single(graph, fxp.OutputOp, "outputs")
    neurons = [op for op in graph.body.block.ops if isinstance(op, NEURON_KINDS)]
    if len(output_op.inputs) != 1:
        raise _fail("the output reads several values; on Xylo it reads the readout neurons only", output_op)
    readout, readout_delay = _through_delays(output_op.inputs[0])
    if readout not in neurons or readout_delay:
        raise _fail("the output must read a neuron group directly; Xylo outputs are the readout spikes", output_op)
    groups = [_check_neuron_kind(op, "hidden") for op in neurons if op is not readout]
    if not groups:
        raise _fail("the graph has no hidden neuron group besides the readout; a Xylo network has at least one", readout)
    readout = _check_neuron_kind(readout, "readout")

    from_input, hidden_weights = _hidden_inputs(groups, input_op)
    if not from_input:
        raise _fail("no affine from the graph input feeds a hidden group; Xylo inputs go through weights", groups[0])
    if len(from_input) > 1:
        raise _fail(
            f"the graph input feeds {len(from_input)} hidden groups ({_names(c.target for c in from_input)}); on Xylo "
            "the input weights reach one hidden group, the first layer: feed the other groups from it",
            from_input[1].affine,
        )
    input_weights = from_input[0]
    if input_weights.delay:
        raise _fail("the input weights arrive with a delay; Xylo input reaches the neurons in the same step", input_weights.affine)
    for connection in hidden_weights:
        if connection.delay > 1 or (connection.source is connection.target and connection.delay != 1):
            raise _fail(
                f"the weights from '{connection.source.node_name.data}' to '{connection.target.node_name.data}' arrive "
                f"after {connection.delay} steps; Xylo delivers the spikes of hidden neurons to hidden neurons after "
                "exactly one step",
                connection.affine,
            )

    output_weights = [_connection(value, readout) for value in readout.inputs]
    for connection in output_weights:
        if connection.source not in groups:
            raise _fail("the readout weights must read hidden neurons; on Xylo they do", connection.affine)
        if connection.delay > 1:
            raise _fail(
                f"the readout weights arrive after {connection.delay} steps; Xylo delays the readout by one step",
                connection.affine,
            )
    if len({id(connection.source) for connection in output_weights}) != len(output_weights):
        raise _fail(
            "two affines from the same hidden group feed the readout; Xylo has one weight per pair of neurons: add "
            "the two weight matrices",
            readout,
        )

    first = input_weights.target
    read = [group for group in groups if any(c.source is group for c in output_weights) and group is not first]
    middle = [group for group in groups if group is not first and group not in read]
    ordered = [first, *middle, *read]
    return XyloNetwork(graph, input_op, output_op, ordered, readout, input_weights, hidden_weights, output_weights)


# --------------------------------------------------------------------------------------
# Neuron registers
# --------------------------------------------------------------------------------------


def kept_fraction(op: fxp.CubaLIFOp, field_name: str) -> np.ndarray:
    """Return the fraction of the state that the fxp decay keeps per step, per neuron."""
    values = numpy_from_dense(op.properties[field_name]).astype(np.float64)
    kind = op.decay_kind.data
    if kind == "shift":
        return 1.0 - 2.0**-values
    if kind == "lost_fraction_q12":
        return 1.0 - values / fxp.Q12_ONE
    return values / fxp.Q12_ONE


def dash_for(op: fxp.CubaLIFOp, field_name: str, state: str, report: XyloReport) -> np.ndarray:
    """Return the bit-shift decays of one state and record their error; raise DiagnosticError if one has no shift."""
    if op.decay_kind.data == "shift":
        dash = numpy_from_dense(op.properties[field_name]).astype(np.int64)
    else:
        kept = kept_fraction(op, field_name)
        if (kept <= 0).any() or (kept >= 1).any():
            raise _fail(
                f"the {state} keeps a fraction {kept.min():g} to {kept.max():g} of itself per step; a Xylo bit-shift "
                "decay keeps between 1/2 and 1 - 2^-15: use a time constant between dt and 2^15 dt",
                op,
            )
        tau_steps = -1.0 / np.log(kept)
        # A time constant under 1.41 steps rounds to dash 0, which clears the state every step.
        dash = np.maximum(np.rint(np.log2(tau_steps)), 0).astype(np.int64)
    if dash.max(initial=0) > xylo.MAX_DASH:
        raise _fail(
            f"the {state} decay needs dash {int(dash.max())}, above the chip's {xylo.MAX_DASH}: the time constant is "
            f"more than 2^{xylo.MAX_DASH} steps; use a larger dt",
            op,
        )
    report.decays.append(DecayRecord(op.node_name.data, state, dash, kept_fraction(op, field_name)))
    return dash


def check_register(op: Operation, what: str, values: np.ndarray, fix: str) -> None:
    low, high = int(values.min(initial=0)), int(values.max(initial=0))
    if low < xylo.STATE_MIN or high > xylo.STATE_MAX:
        raise _fail(
            f"{what} reach [{low}, {high}]; Xylo's 16-bit registers hold {xylo.STATE_MIN} to {xylo.STATE_MAX}: {fix}",
            op,
        )


def neuron_registers(op: fxp.CubaLIFOp, report: XyloReport) -> dict[str, np.ndarray]:
    """Return dash_mem, dash_syn, threshold and bias of one group; warn where the chip's rule differs."""
    name = op.node_name.data
    threshold = numpy_from_dense(op.v_threshold).astype(np.int64)
    if op.spike_test.data == "gt":
        threshold = threshold + 1  # v > θ is v ≥ θ + 1 for integers, and Xylo tests v ≥ θ.
    check_register(op, "thresholds", threshold, "quantize with state-bits=16")
    bias = numpy_from_dense(op.leak).astype(np.int64)
    check_register(op, "leaks (the chip's biases)", bias, "quantize with state-bits=16")
    differences = []
    if op.reset.data != "subtract":
        differences.append(f"resets '{op.reset.data}' but Xylo subtracts the threshold")
    if op.spike_timing.data != "after_update":
        differences.append("tests the voltage before the update but Xylo tests it after")
    if op.current_timing.data != "same_step":
        differences.append("reads the previous step's current but Xylo reads this step's")
    if differences:
        emit_warning(f"{PASS_NAME}: node '{name}' " + ", and ".join(differences), op=op)
    return {
        "dash_mem": dash_for(op, "voltage_decay", "voltage", report),
        "dash_syn": dash_for(op, "current_decay", "current", report),
        "threshold": threshold,
        "bias": bias,
    }


# --------------------------------------------------------------------------------------
# Building the xylo graph
# --------------------------------------------------------------------------------------


def _int_tensor(values: np.ndarray, bits: int):
    dtype = {8: np.int8, 16: np.int16}[bits]
    return dense_from_numpy(np.ascontiguousarray(values, dtype=dtype))


def _scale(values: np.ndarray):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim and (values == values.flat[0]).all():
        values = np.asarray(values.flat[0])
    return dense_from_numpy(values)


def _tensor(shape: tuple[int, ...], bits: int) -> TensorType:
    return TensorType(IntegerType(bits), shape)


def _neuron_properties(registers: dict[str, np.ndarray], scales: tuple[np.ndarray, np.ndarray]) -> dict:
    return {
        "dash_mem": _int_tensor(registers["dash_mem"], 8),
        "dash_syn": _int_tensor(registers["dash_syn"], 8),
        "threshold": _int_tensor(registers["threshold"], 16),
        "bias": _int_tensor(registers["bias"], 16),
        "voltage_scale": _scale(scales[0]),
        "current_scale": _scale(scales[1]),
    }


def build_graph(
    name: str,
    dt: float,
    node_names: dict[str, str],
    weights_in: np.ndarray,
    weights_rec: np.ndarray | None,
    weights_out: np.ndarray,
    hidden: dict[str, np.ndarray],
    readout: dict[str, np.ndarray],
    weight_shifts: tuple[int, int, int] = (0, 0, 0),
    alias_target: np.ndarray | None = None,
) -> xylo.GraphOp:
    """Build a xylo.graph from register arrays.

    `weights_in` is [input, hidden, synapse], `weights_rec` [hidden, hidden, synapse] and
    `weights_out` [hidden, readout]. `hidden` and `readout` map dash_mem, dash_syn ([neuron,
    synapse] for hidden), threshold, bias, voltage_scale and current_scale to arrays.
    `node_names` names the ops: input, input_weights, hidden, recurrent_weights,
    output_weights, readout and output. `alias_target`, if given, becomes the hidden group's
    `alias_target` (one hidden neuron index or -1 per neuron).
    """
    inputs, size, synapses = weights_in.shape
    outputs = weights_out.shape[1]
    block = Block()

    def node(kind, key: str, operands: list, result, **properties) -> Operation:
        props = {"node_name": StringAttr(node_names[key]), **properties}
        op = kind.create(operands=operands, result_types=[result] if result else [], properties=props)
        block.add_op(op)
        return op

    def weight_properties(weights: np.ndarray, shift: int) -> dict:
        return {"weights": _int_tensor(weights, 8), "weight_shift": IntegerAttr(shift, i64)}

    input_op = node(xylo.InputOp, "input", [], _tensor((inputs,), 8))
    input_weights = node(
        xylo.InputWeightsOp, "input_weights", [input_op.results[0]], _tensor((size, synapses), 32),
        **weight_properties(weights_in, weight_shifts[0]),
    )
    hidden_registers = {key: hidden[key] for key in ("dash_mem", "dash_syn", "threshold", "bias")}
    hidden_op = xylo.HiddenOp.create(
        operands=[input_weights.results[0]],
        result_types=[_tensor((size,), 8)],
        properties={
            "node_name": StringAttr(node_names["hidden"]),
            **_neuron_properties(hidden_registers, (hidden["voltage_scale"], hidden["current_scale"])),
        },
    )
    if alias_target is not None:
        hidden_op.properties["alias_target"] = _int_tensor(alias_target, 16)
    block.add_op(hidden_op)
    if weights_rec is not None:
        recurrent = node(
            xylo.RecurrentWeightsOp, "recurrent_weights", [hidden_op.results[0]], _tensor((size, synapses), 32),
            **weight_properties(weights_rec, weight_shifts[1]),
        )
        hidden_op.operands = [input_weights.results[0], recurrent.results[0]]
    output_weights = node(
        xylo.OutputWeightsOp, "output_weights", [hidden_op.results[0]], _tensor((outputs,), 32),
        **weight_properties(weights_out, weight_shifts[2]),
    )
    readout_registers = {key: readout[key] for key in ("dash_mem", "dash_syn", "threshold", "bias")}
    readout_op = node(
        xylo.ReadoutOp, "readout", [output_weights.results[0]], _tensor((outputs,), 8),
        **_neuron_properties(readout_registers, (readout["voltage_scale"], readout["current_scale"])),
    )
    node(xylo.OutputOp, "output", [readout_op.results[0]], None)
    return xylo.GraphOp.create(
        properties={"sym_name": StringAttr(name), "dt": FloatAttr(dt, f64)},
        regions=[Region(block)],
    )


def _joined_name(ops: list[Operation]) -> str:
    return "+".join(op.node_name.data for op in ops)


def _check_expansion(network: XyloNetwork, offsets: dict[int, range], chip: xylo.XyloVariant) -> None:
    """Raise DiagnosticError when the first or the readout's hidden groups exceed the 128 expansion neurons."""
    first = network.input_weights.target
    if chip.input_expansion is not None and len(offsets[id(first)]) > chip.input_expansion:
        raise _fail(
            f"the first hidden layer has {len(offsets[id(first)])} neurons, but on {chip.title} only the first "
            f"{chip.input_expansion} hidden neurons receive input weights: use at most {chip.input_expansion} neurons "
            "in the layer the input feeds",
            first,
        )
    read = {id(connection.source) for connection in network.output_weights}
    if chip.readout_sources is not None:
        count = sum(len(offsets[key]) for key in read)
        if count > chip.readout_sources:
            raise _fail(
                f"the readout reads hidden groups {_names(g for g in network.hidden if id(g) in read)} with {count} "
                f"hidden neurons, but on {chip.title} only the last {chip.readout_sources} hidden neurons drive the "
                f"readout: use at most {chip.readout_sources} neurons in the layers the readout reads",
                network.readout,
            )


def add_readout_relays(
    weights: dict[str, np.ndarray | None], hidden: dict[str, np.ndarray], limit: int
) -> np.ndarray | None:
    """Append relay neurons so that only the last `limit` hidden neurons drive the readout; return alias targets.

    A hidden neuron outside the last `limit` that has output weights gets a relay: a new
    neuron at the end with its output weights, no input, bias 0 and threshold 32767, so it never
    fires by itself. The neuron's alias target is the relay, which re-emits its spikes in the
    same step, so the readout receives them at the same time as before. `weights` (keys in, rec,
    out) and `hidden` are extended in place. Return None when no relay is needed.
    """
    total = weights["out"].shape[0]
    sources = np.flatnonzero(np.abs(weights["out"]).sum(axis=1))
    relayed = sources[sources < total - limit]
    # Each relay moves the boundary of the last `limit` neurons up by one.
    while True:
        widened = sources[sources < total + relayed.size - limit]
        if widened.size == relayed.size:
            break
        relayed = widened
    if not relayed.size:
        return None
    count = relayed.size
    weights["in"] = np.concatenate([weights["in"], np.zeros((weights["in"].shape[0], count), np.int64)], axis=1)
    if weights["rec"] is not None:
        weights["rec"] = np.pad(weights["rec"], ((0, count), (0, count)))
    relay_rows = weights["out"][relayed]
    weights["out"] = np.concatenate([weights["out"], relay_rows])
    weights["out"][relayed] = 0
    relay = {
        "dash_mem": np.zeros(count, np.int64),
        "dash_syn": np.zeros((count, *hidden["dash_syn"].shape[1:]), np.int64),
        "threshold": np.full(count, xylo.STATE_MAX),
        "bias": np.zeros(count, np.int64),
        "voltage_scale": np.ones(count),
        "current_scale": np.ones(count),
    }
    for key, values in relay.items():
        hidden[key] = np.concatenate([hidden[key], values])
    targets = np.full(total + count, -1, np.int64)
    targets[relayed] = total + np.arange(count)
    return targets


WEIGHT_SHIFT_MODES = ("auto", "none")
"""Values of the weight-shift option: choose the shifts as `largest_weight_shift` does, or keep them 0."""


def largest_weight_shift(registers: dict[str, np.ndarray], current_bound: float) -> int:
    """Return the largest weight shift s ≤ 7 at which 2^s times the thresholds, biases and current bound fit 16 bits.

    Shifting the weights by s and multiplying the thresholds and biases by 2^s leaves the network
    the same in NIR units, but the integer states are 2^s times larger. The bit-shift decays
    then round away a smaller fraction, and the minimum decay step of 1 is a smaller amount.
    `current_bound` is the largest |synaptic current| the fxp graph can reach (range analysis).
    NOTE: the choice ignores the voltage bound, because the range analysis bounds it only
    loosely. A voltage driven far below zero therefore saturates 2^s times closer to zero in NIR units.
    """
    extreme = max(
        float(np.abs(registers["threshold"]).max(initial=0)),
        float(np.abs(registers["bias"]).max(initial=0)),
        current_bound,
    )
    if not np.isfinite(extreme):
        return 0
    shift = 0
    while shift < xylo.MAX_WEIGHT_SHIFT and extreme * 2 ** (shift + 1) <= xylo.STATE_MAX:
        shift += 1
    return shift


def _current_bounds(graph: fxp.GraphOp) -> dict[str, float]:
    """Return the largest |synaptic current| per neuron group name, for NIR input spikes of 0 or 1 per step."""
    from nirmlir.passes.range_analysis import analyze_ranges

    return {
        bound.node: max(abs(bound.low), abs(bound.high))
        for bound in analyze_ranges(graph, (0.0, 1.0))
        if bound.quantity == "current"
    }


def _apply_shift(registers: dict[str, np.ndarray], shift: int) -> None:
    for key in ("threshold", "bias"):
        registers[key] = registers[key] << shift
    for key in ("voltage_scale", "current_scale"):
        registers[key] = registers[key] / 2**shift


def lower_graph(
    graph: fxp.GraphOp, report: XyloReport, chip: xylo.XyloVariant | None = None, weight_shift: str = "none"
) -> xylo.GraphOp:
    """Return the xylo.graph of one fxp graph; raise DiagnosticError for what the chip cannot run.

    Several hidden groups share the chip's one hidden population, in the order of
    `XyloNetwork.hidden`. The weights between them become blocks of the recurrent matrix.
    With `weight_shift` "auto", the input and recurrent weights share one shift, because both
    add to the currents that the hidden thresholds measure, and the output weights get their own.
    """
    network = read_network(graph)
    offsets: dict[int, range] = {}
    start = 0
    for group in network.hidden:
        size = group.output.type.get_shape()[0]
        offsets[id(group)] = range(start, start + size)
        report.hidden_groups[group.node_name.data] = offsets[id(group)]
        start += size
    total = start
    if chip is not None:
        _check_expansion(network, offsets, chip)

    groups = [neuron_registers(group, report) for group in network.hidden]
    hidden = {key: np.concatenate([registers[key] for registers in groups]) for key in groups[0]}
    readout = neuron_registers(network.readout, report)
    hidden["dash_syn"] = hidden["dash_syn"][:, None]
    for registers, ops in ((hidden, network.hidden), (readout, [network.readout])):
        for key, field_name in (("voltage_scale", "voltage_scale"), ("current_scale", "current_scale")):
            registers[key] = np.concatenate(
                [np.broadcast_to(numpy_from_dense(op.properties[field_name]), (op.output.type.get_shape()[0],)) for op in ops]
            )

    outputs = network.readout.output.type.get_shape()[0]
    weights_in = np.zeros((network.input_weights.weights.shape[0], total), np.int64)
    weights_in[:, offsets[id(network.input_weights.target)]] = network.input_weights.weights
    weights_rec = np.zeros((total, total), np.int64) if network.hidden_weights else None
    for connection in network.hidden_weights:
        block = np.ix_(offsets[id(connection.source)], offsets[id(connection.target)])
        weights_rec[block] = connection.weights
        if connection.delay == 0:
            emit_warning(
                f"{PASS_NAME}: Xylo delivers the spikes of node '{connection.source.node_name.data}' to node "
                f"'{connection.target.node_name.data}' through its recurrent weights, one step later than the fxp "
                "graph does",
                op=connection.affine,
            )
    weights_out = np.zeros((total, outputs), np.int64)
    for connection in network.output_weights:
        weights_out[offsets[id(connection.source)]] = connection.weights
        if connection.delay == 0:
            emit_warning(
                f"{PASS_NAME}: Xylo delays the readout by one step, which the fxp graph does not; readout spikes "
                "come one step later",
                op=connection.affine,
            )

    for group in network.hidden:
        if group.max_spikes_per_step.value.data != xylo.MAX_HIDDEN_SPIKES:
            emit_warning(
                f"{PASS_NAME}: node '{group.node_name.data}' allows {group.max_spikes_per_step.value.data} spike(s) "
                f"per step, but Xylo hidden neurons emit up to {xylo.MAX_HIDDEN_SPIKES}",
                op=group,
            )
    shifts = (0, 0, 0)
    if weight_shift == "auto":
        bounds = _current_bounds(graph)
        hidden_bound = max(bounds.get(group.node_name.data, np.inf) for group in network.hidden)
        hidden_shift = largest_weight_shift(hidden, hidden_bound)
        output_shift = largest_weight_shift(readout, bounds.get(network.readout.node_name.data, np.inf))
        _apply_shift(hidden, hidden_shift)
        _apply_shift(readout, output_shift)
        shifts = (hidden_shift, hidden_shift if weights_rec is not None else 0, output_shift)
    report.weight_shifts[graph.sym_name.data] = shifts
    alias_target = None
    if chip is not None and chip.readout_sources is not None:
        weights = {"in": weights_in, "rec": weights_rec, "out": weights_out}
        alias_target = add_readout_relays(weights, hidden, chip.readout_sources)
        weights_in, weights_rec, weights_out = weights["in"], weights["rec"], weights["out"]
        if alias_target is not None:
            report.readout_relays[graph.sym_name.data] = int((alias_target >= 0).sum())
    names = {
        "input": network.input.node_name.data,
        "input_weights": network.input_weights.affine.node_name.data,
        "hidden": _joined_name(network.hidden),
        "recurrent_weights": _joined_name([c.affine for c in network.hidden_weights]),
        "output_weights": _joined_name([c.affine for c in network.output_weights]),
        "readout": network.readout.node_name.data,
        "output": network.output.node_name.data,
    }
    return build_graph(
        graph.sym_name.data,
        float(graph.dt.value.data),
        names,
        weights_in[:, :, None],
        weights_rec[:, :, None] if weights_rec is not None else None,
        weights_out,
        hidden,
        readout,
        shifts,
        alias_target,
    )


def check_design_rules(graph: xylo.GraphOp, variant: xylo.XyloVariant) -> None:
    """Raise DiagnosticError listing every limit of `variant` that the graph breaks."""
    ops = {type(op): op for op in graph.body.block.ops}
    shape = xylo.NetworkShape(
        inputs=ops[xylo.InputOp].output.type.get_shape()[0],
        hidden=ops[xylo.HiddenOp].size,
        outputs=ops[xylo.ReadoutOp].size,
        synapses=ops[xylo.HiddenOp].synapses,
        input_targets=np.flatnonzero(np.abs(ops[xylo.InputWeightsOp].matrix()).sum(axis=(0, 2))),
        readout_sources=np.flatnonzero(np.abs(ops[xylo.OutputWeightsOp].matrix()).sum(axis=1)),
    )
    violations = xylo.design_rule_violations(variant, shape)
    if violations:
        raise DiagnosticError(
            f"{PASS_NAME}: graph @{graph.sym_name.data} does not fit {variant.title}: " + "; ".join(violations)
        )


def lower_to_xylo(
    module: ModuleOp,
    variant: str = "audio2",
    dt: float | None = None,
    preset: str = "rockpool",
    weight_shift: str = "auto",
) -> XyloReport:
    """Replace every fxp.graph of the module by a xylo.graph for `variant`; return the report.

    A module at the nir level is first lowered with lower-to-fixedpoint, using `dt`, `preset`
    and the number formats of `XYLO_QUANTIZATION`. The module gets the `xylo.variant` attribute.
    `weight_shift` is "auto" (the largest shifts that keep the registers and currents within 16
    bits) or "none" (all shifts 0, as Rockpool 3.1.0's mapper and quantizers produce).
    """
    try:
        chip = xylo.get_variant(variant)
    except ValueError as error:
        raise DiagnosticError(f"{PASS_NAME}: {error}") from None
    if weight_shift not in WEIGHT_SHIFT_MODES:
        raise DiagnosticError(
            f"{PASS_NAME}: invalid weight-shift '{weight_shift}'; expected one of {', '.join(WEIGHT_SHIFT_MODES)}"
        )
    if any(op.name == "nir.graph" for op in module.ops):
        from nirmlir.passes.lower_to_fixedpoint import lower_to_fixedpoint

        lower_to_fixedpoint(module, dt, preset, XYLO_QUANTIZATION)
    check_input_level(module, PASS_NAME, "fxp", "xylo")
    report = XyloReport(chip.key)
    for graph in [op for op in module.ops if isinstance(op, fxp.GraphOp)]:
        lowered = lower_graph(graph, report, chip, weight_shift)
        check_design_rules(lowered, chip)
        module.body.block.insert_op_before(lowered, graph)
        module.body.block.detach_op(graph)
        graph.erase()
    module.attributes[xylo.VARIANT_ATTRIBUTE] = StringAttr(chip.key)
    for record in report.decays:
        error = record.max_error
        if error > 0:
            emit_warning(
                f"{PASS_NAME}: node '{record.node}': bit-shift decays (dash {int(record.dash.min())} to "
                f"{int(record.dash.max())}) keep a fraction of the {record.state} per step that differs from the "
                f"fxp decay by up to {error:.4f}"
            )
    return report


@dataclass(frozen=True)
class LowerToXyloPass(ModulePass):
    """Lower fxp graphs (or nir graphs, through lower-to-fixedpoint) to xylo graphs for one chip variant."""

    name = "lower-to-xylo"

    variant: str = "audio2"
    """Chip variant: audio2 (Xylo Audio 2), imu (Xylo IMU) or audio3 (Xylo Audio 3)."""
    dt: float | int | str | None = None
    """Step length in seconds of a nir-level input; defaults to the graph's metadata dt, else 1e-4 with a warning."""
    preset: str = "rockpool"
    """Discretization preset of a nir-level input; rockpool follows the chip's >= test and subtractive reset."""
    weight_shift: str | int = "auto"
    """auto: the largest weight shifts (0 to 7 bits) that keep thresholds, biases and currents within 16 bits;
    none: all weight shifts 0."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from nirmlir.passes.discretize import parse_dt

        lower_to_xylo(op, self.variant, parse_dt(self.dt), self.preset, str(self.weight_shift))
