"""Static range analysis of fxp graphs: bounds on every weighted sum, rescale and neuron state.

Each value gets an interval per element, propagated from the graph inputs' range in block
order: exact for the weighted sums (positive weights times the upper input bound plus negative
weights times the lower one), and a fixed point of the per-step update for the neuron states.
A decaying state s satisfies |D(s)| ≤ d·|s| + slack, where d is the kept fraction and the slack
is 0 for decays that are exact in integers and 1 otherwise (one unit of rounding). A spiking
neuron's voltage after its reset stays below the threshold (or at the reset value), so its bound
does not grow with the input unless the reset cannot keep up.

Bounds are floats, because an integrate-and-fire neuron with an input of one sign has no finite
bound (±inf). Every bound holds for any input within the given range and any number of steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from xdsl.ir import Operation, SSAValue

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, Location, emit_warning
from nirmlir.dialects import fxp
from nirmlir.dialects.fxp import MAX_SHIFT, Q12_ONE, signed_range
from nirmlir.simulator import numerics

Interval = tuple[np.ndarray, np.ndarray]
"""Per-element lower and upper bounds of a value, float64 arrays of its shape."""


@dataclass(frozen=True)
class RangeBound:
    """The static bound of one integer quantity of one node, against its declared width."""

    graph: str
    node: str
    quantity: str
    """``accumulator`` (a weight op's weighted sum), ``result`` (a rescale or pool), ``voltage`` or ``current``."""
    low: float
    high: float
    bits: int
    saturate: bool
    """Whether the op clamps this quantity to its width (true) or wraps it (false)."""

    @property
    def needed_bits(self) -> float:
        """The signed width that contains every value of the bound, or inf for an unbounded quantity."""
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return math.inf
        high = max(int(math.ceil(self.high)), 0)
        low = min(int(math.floor(self.low)), -1)
        return max(high.bit_length(), (-low - 1).bit_length()) + 1

    @property
    def fits(self) -> bool:
        return self.needed_bits <= self.bits

    def describe(self) -> str:
        """Return the part of a message that states the bound, e.g. 'can reach 41,234,567, which needs 27 bits'."""
        if self.high == math.inf:
            return "can grow without bound"
        if self.low == -math.inf:
            return "can fall without bound"
        extreme = self.high if self.high >= -self.low else self.low
        return f"can reach {int(extreme):,}, which needs {self.needed_bits} bits"


# --------------------------------------------------------------------------------------
# Intervals of values
# --------------------------------------------------------------------------------------


def _type_interval(value: SSAValue) -> Interval:
    """Return the range of a value's declared width; spike counts of width 1 are 0 or 1."""
    bits = fxp.integer_width(value.type)
    shape = tuple(value.type.get_shape())
    low, high = (0, 1) if bits == 1 else signed_range(bits)
    return np.full(shape, float(low)), np.full(shape, float(high))


def _within_width(bounds: Interval, value: SSAValue, saturate: bool) -> Interval:
    """Return the interval of a result after S_n: clamped when saturating, the whole width when it may wrap."""
    type_low, type_high = _type_interval(value)
    low, high = bounds
    if saturate:
        return np.clip(low, type_low, type_high), np.clip(high, type_low, type_high)
    wraps = (low < type_low) | (high > type_high)
    return np.where(wraps, type_low, low), np.where(wraps, type_high, high)


def _ints(op: Operation, field: str) -> np.ndarray:
    return numpy_from_dense(op.properties[field]).astype(np.float64)


# Weights are converted to float64 in blocks of about this many elements, so that a large
# layer's bounds need temporaries of about a megabyte each instead of three float64 copies of it.
_BLOCK_ELEMENTS = 1 << 17


def _bounds_of(apply: Callable[[np.ndarray, np.ndarray], np.ndarray], weight: np.ndarray, low: np.ndarray, high: np.ndarray) -> Interval:
    """Return the bounds of apply(weight, x) for x in [low, high], apply being linear in both."""
    positive, negative = np.maximum(weight, 0.0), np.minimum(weight, 0.0)
    return apply(positive, low) + apply(negative, high), apply(positive, high) + apply(negative, low)


def _affine_bounds(weight: np.ndarray, low: np.ndarray, high: np.ndarray) -> Interval:
    """Return the bounds of W·x for a (out, in) weight matrix, a block of rows at a time."""
    result_low = np.empty(weight.shape[0])
    result_high = np.empty(weight.shape[0])
    step = max(1, _BLOCK_ELEMENTS // max(weight.shape[1], 1))
    for start in range(0, weight.shape[0], step):
        rows = slice(start, start + step)
        result_low[rows], result_high[rows] = _bounds_of(lambda w, x: w @ x, weight[rows].astype(np.float64), low, high)
    return result_low, result_high


def _convolution_bounds(op: fxp.WeightOp, weight: np.ndarray, low: np.ndarray, high: np.ndarray) -> Interval:
    """Return the bounds of a convolution, a block of output channels at a time.

    A block holds whole groups when groups > 1, because each group reads its own input channels.
    """
    stride, padding, dilation = ints_from_array(op.stride), ints_from_array(op.padding), ints_from_array(op.dilation)
    groups = op.groups.value.data
    out_channels, group_inputs = weight.shape[:2]
    per_group = out_channels // groups
    kernel_size = max(weight[0].size, 1)
    block_groups = max(1, _BLOCK_ELEMENTS // (kernel_size * per_group))
    parts_low, parts_high = [], []
    if groups == 1:
        step = max(1, _BLOCK_ELEMENTS // kernel_size)
        blocks = [(slice(start, start + step), slice(None), 1) for start in range(0, out_channels, step)]
    else:
        blocks = []
        for first in range(0, groups, block_groups):
            count = min(block_groups, groups - first)
            outputs = slice(first * per_group, (first + count) * per_group)
            inputs = slice(first * group_inputs, (first + count) * group_inputs)
            blocks.append((outputs, inputs, count))
    for outputs, inputs, count in blocks:
        apply = lambda w, x, count=count: numerics.convolution(x[None], w, stride, padding, dilation, count)[0]
        part_low, part_high = _bounds_of(apply, weight[outputs].astype(np.float64), low[inputs], high[inputs])
        parts_low.append(part_low)
        parts_high.append(part_high)
    return np.concatenate(parts_low), np.concatenate(parts_high)


def _kept_fraction(op: fxp.NeuronOp, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the kept fraction d of a decay field and the rounding slack (0 where D is exact, else 1)."""
    factor = _ints(op, field)
    kind = op.decay_kind.data
    if kind == "kept_fraction_q12":
        kept = factor / Q12_ONE
        exact = (factor == 0) | (factor == Q12_ONE)
    elif kind == "lost_fraction_q12":
        kept = 1.0 - factor / Q12_ONE
        exact = (factor == 0) | (factor == Q12_ONE)
    else:
        kept = 1.0 - np.exp2(-np.clip(factor, 0, MAX_SHIFT))
        exact = factor == 0
    slack = np.where(exact, 0.0, 1.0)
    if kind == "kept_fraction_q12" and op.rounding.data == "toward_zero":
        # R_12(k·s) truncates toward zero, so |D(s)| ≤ d·|s| without slack.
        slack = np.zeros_like(kept)
    return kept, slack


def _steady_high(kept: np.ndarray, drive: np.ndarray) -> np.ndarray:
    """Return the upper bound of s ← d·s + drive from s = 0: drive/(1-d), 0 for a negative drive, inf if d = 1."""
    positive = np.maximum(drive, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        steady = np.where(kept < 1, positive / np.where(kept < 1, 1.0 - kept, 1.0), np.where(positive > 0, np.inf, 0.0))
    return steady


# --------------------------------------------------------------------------------------
# Neuron states
# --------------------------------------------------------------------------------------


@dataclass
class _NeuronBounds:
    voltage: Interval
    """The voltage before and after the reset, whichever reaches further."""
    current: Interval | None
    output: Interval


def _spiking_voltage_high(op: fxp.NeuronOp, kept, slack, drive, steady) -> tuple[np.ndarray, np.ndarray]:
    """Return (bound after the reset, bound of the updated voltage u before it) of a spiking group."""
    threshold = _ints(op, "v_threshold")
    reset_value = _ints(op, "v_reset")
    max_spikes = op.max_spikes_per_step.value.data
    # The largest voltage that does not fire.
    quiet = threshold if op.spike_test.data == "gt" else threshold - 1
    reset = op.reset.data
    if op.spike_timing.data == "after_update":
        below = np.minimum(steady, quiet)
        if reset == "to_reset_value":
            after = np.maximum(below, reset_value)
        elif reset == "subtract":
            # A group that fires max_spikes spikes and stays above the threshold drifts by drive - max_spikes·θ per step.
            after = np.maximum(below, _fixed_point(kept, slack + drive - max_spikes * threshold))
        else:
            after = steady
    else:
        # The spike test reads the previous voltage, so one step's input lands on top of a quiet voltage.
        below = np.minimum(steady, kept * np.maximum(quiet, 0.0) + slack + drive)
        if reset == "to_reset_value":
            after = np.maximum(below, reset_value)
        elif reset == "subtract":
            removed = np.where(threshold > 0, threshold, max_spikes * threshold)
            after = np.maximum(below, _fixed_point(kept, slack + drive - removed))
        else:
            after = steady
    after = np.maximum(after, 0.0)
    return after, kept * after + slack + drive


def _fixed_point(kept: np.ndarray, drive: np.ndarray) -> np.ndarray:
    """Return the limit of s ← d·s + drive, which may be negative (then the other terms bound s); inf if it diverges."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(kept < 1, drive / np.where(kept < 1, 1.0 - kept, 1.0), np.where(drive > 0, np.inf, -np.inf))


def _neuron_bounds(op: fxp.NeuronOp, inputs: Interval) -> _NeuronBounds:
    """Return the state bounds of a neuron group whose summed operands lie in `inputs`."""
    x_low, x_high = inputs
    current = None
    if isinstance(op, fxp.CurrentNeuronOp):
        kept, slack = _kept_fraction(op, "current_decay")
        high = _steady_high(kept, x_high + slack)
        low = -_steady_high(kept, -x_low + slack)
        current = (low, high)
        # S_I keeps the current within its width when it saturates; a wrapping current may take any value.
        bits = op.current_bits.value.data
        type_low, type_high = (float(bound) for bound in signed_range(bits))
        if op.current_saturate.value.data:
            x_low, x_high = np.clip(low, type_low, type_high), np.clip(high, type_low, type_high)
        else:
            wraps = (low < type_low) | (high > type_high)
            x_low, x_high = np.where(wraps, type_low, low), np.where(wraps, type_high, high)

    shape = tuple(op.output.type.get_shape())
    leak = _ints(op, "leak") if "leak" in op.PER_NEURON else np.zeros(shape)
    if op.DECAYS:
        kept, slack = _kept_fraction(op, "voltage_decay")
    else:
        kept, slack = np.ones(shape), np.zeros(shape)
    drive_high, drive_low = x_high + leak, x_low + leak
    steady_high = _steady_high(kept, drive_high + slack)
    steady_low = -_steady_high(kept, -drive_low + slack)

    if isinstance(op, fxp.SpikingNeuronOp):
        after_high, updated_high = _spiking_voltage_high(op, kept, slack, drive_high, steady_high)
        reset_low = np.minimum(_ints(op, "v_reset"), 0.0)
        after_low = np.minimum(steady_low, reset_low)
        if op.spike_timing.data == "before_update" and op.reset.data == "subtract":
            threshold = np.maximum(_ints(op, "v_threshold"), 0.0)
            max_spikes = op.max_spikes_per_step.value.data
            after_low = np.minimum(after_low, drive_low - slack - max_spikes * (1 - kept) * threshold)
        voltage = (np.minimum(after_low, kept * after_low - slack + drive_low), np.maximum(after_high, updated_high))
        output = (np.zeros(shape), np.full(shape, float(op.max_spikes_per_step.value.data)))
    else:
        voltage = (steady_low, steady_high)
        output = _within_width(voltage, op.output, bool(op.voltage_saturate.value.data))
    return _NeuronBounds(voltage, current, output)


# --------------------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------------------


class _RangeAnalysis:
    """Propagates intervals through one fxp graph and collects the bounds of every checked quantity."""

    def __init__(self, graph: fxp.GraphOp, input_range: tuple[float, float]):
        self.graph_name = graph.sym_name.data
        self.input_range = input_range
        self.intervals: dict[SSAValue, Interval] = {}
        self.bounds: list[RangeBound] = []
        # Spiking groups, whose states are bounded once every value has an interval.
        self.spiking: list[fxp.SpikingNeuronOp] = []
        self._active: set[SSAValue] = set()

    def add(self, op: Operation, quantity: str, bounds: Interval, bits: int, saturate: bool) -> None:
        low, high = bounds
        # NaN comes from inf - inf in an unbounded state, so it counts as unbounded.
        # Adding 0.0 turns a -0.0 bound (the negated bound of a state that stays at 0) into 0.0.
        low_value = float(np.where(np.isnan(low), -np.inf, low).min(initial=0.0)) + 0.0
        high_value = float(np.where(np.isnan(high), np.inf, high).max(initial=0.0)) + 0.0
        self.bounds.append(RangeBound(self.graph_name, op.node_name.data, quantity, low_value, high_value, bits, saturate))

    def summed(self, op: Operation) -> Interval:
        """Return the interval of the exact sum of an op's operands (0 without operands)."""
        source = op.operands[0] if op.operands else op.results[0]
        shape = tuple(source.type.get_shape())
        low, high = np.zeros(shape), np.zeros(shape)
        for operand in op.operands:
            operand_low, operand_high = self.interval(operand)
            low, high = low + operand_low, high + operand_high
        return low, high

    def interval(self, value: SSAValue) -> Interval:
        """Return the interval of a value, computing what it depends on first."""
        if value in self.intervals:
            return self.intervals[value]
        if value in self._active:
            # A cycle that no spiking neuron breaks: only the declared width bounds the value.
            return _type_interval(value)
        self._active.add(value)
        with np.errstate(over="ignore", invalid="ignore"):
            result = self.compute(value.owner, value)
        self._active.discard(value)
        self.intervals[value] = result
        return result

    def compute(self, op: Operation, value: SSAValue) -> Interval:
        shape = tuple(value.type.get_shape())
        if isinstance(op, fxp.InputOp):
            scale = op.scale.value.data
            low, high = self.input_range
            bounds = (np.full(shape, math.floor(low / scale)), np.full(shape, math.ceil(high / scale)))
            return _within_width(bounds, value, True)
        if isinstance(op, fxp.SpikingNeuronOp):
            # The spike count never depends on the input's size, which breaks every recurrent cycle.
            count = float(op.max_spikes_per_step.value.data)
            self.spiking.append(op)
            return np.zeros(shape), np.full(shape, count)
        if isinstance(op, fxp.NeuronOp):
            return self.neuron(op)
        if isinstance(op, fxp.AffineOp | fxp.Conv1dOp | fxp.Conv2dOp):
            bounds = self.weighted_sum(op)
            saturate = bool(op.saturate.value.data)
            self.add(op, "accumulator", bounds, fxp.integer_width(value.type), saturate)
            return _within_width(bounds, value, saturate)
        if isinstance(op, fxp.RescaleOp):
            return self.rescale(op, value)
        if isinstance(op, fxp.SumPool2dOp):
            low, high = self.summed(op)
            window = (ints_from_array(op.kernel_size), ints_from_array(op.stride), ints_from_array(op.padding))
            bounds = (numerics.sum_pool(low[None], *window)[0], numerics.sum_pool(high[None], *window)[0])
            saturate = bool(op.saturate.value.data)
            self.add(op, "result", bounds, fxp.integer_width(value.type), saturate)
            return _within_width(bounds, value, saturate)
        if isinstance(op, fxp.FlattenOp):
            low, high = self.summed(op)
            return low.reshape(shape), high.reshape(shape)
        if isinstance(op, fxp.ThresholdOp):
            return np.zeros(shape), np.ones(shape)
        if isinstance(op, fxp.StepDelayOp | fxp.DelayOp):
            # A delay outputs 0 before its first input arrives.
            low, high = self.summed(op)
            return np.minimum(low, 0.0), np.maximum(high, 0.0)
        return _type_interval(value)

    def weighted_sum(self, op: fxp.WeightOp) -> Interval:
        """Return the bounds of Σ W·x + b: positive weights take the upper input bound, negative ones the lower."""
        low, high = self.summed(op)
        weight = numpy_from_dense(op.weight)
        if isinstance(op, fxp.AffineOp) and weight.ndim == 2:
            result_low, result_high = _affine_bounds(weight, low, high)
        elif isinstance(op, fxp.AffineOp):
            apply: Callable[[np.ndarray, np.ndarray], np.ndarray] = lambda w, x: numerics.affine(x[None], w)[0]
            result_low, result_high = _bounds_of(apply, weight.astype(np.float64), low, high)
        else:
            result_low, result_high = _convolution_bounds(op, weight, low, high)
        if op.bias is not None:
            bias = _ints(op, "bias")
            if not isinstance(op, fxp.AffineOp):
                bias = bias.reshape((-1,) + (1,) * (result_low.ndim - 1))
            result_low, result_high = result_low + bias, result_high + bias
        return result_low, result_high

    def rescale(self, op: fxp.RescaleOp, value: SSAValue) -> Interval:
        """Return the bounds of R_shift(m·x); flooring the lower and raising the upper bound covers every rounding."""
        low, high = self.summed(op)
        multiplier = _ints(op, "multiplier")
        products = (multiplier * low, multiplier * high)
        divisor = float(2 ** op.shift.value.data)
        bounds = (np.floor(np.minimum(*products) / divisor), np.ceil(np.maximum(*products) / divisor))
        saturate = bool(op.saturate.value.data)
        self.add(op, "result", bounds, fxp.integer_width(value.type), saturate)
        return _within_width(bounds, value, saturate)

    def neuron(self, op: fxp.NeuronOp) -> Interval:
        states = _neuron_bounds(op, self.summed(op))
        self.add_states(op, states)
        return states.output

    def add_states(self, op: fxp.NeuronOp, states: _NeuronBounds) -> None:
        self.add(op, "voltage", states.voltage, op.voltage_bits.value.data, bool(op.voltage_saturate.value.data))
        if states.current is not None:
            self.add(op, "current", states.current, op.current_bits.value.data, bool(op.current_saturate.value.data))


def analyze_ranges(graph: fxp.GraphOp, input_range: tuple[float, float] = (0.0, 1.0)) -> list[RangeBound]:
    """Return the static bound of every weighted sum, rescale, pool and neuron state of an fxp graph.

    `input_range` is the smallest and largest value of every graph input per step, in NIR
    units (spikes: 0 and 1). Each input's scale converts it to integers. Bounds come in block order.
    """
    analysis = _RangeAnalysis(graph, input_range)
    ops = list(graph.body.block.ops)
    for op in ops:
        for value in op.results or op.operands:
            analysis.interval(value)
    # Spiking outputs were bounded without their inputs; their states need the inputs' intervals.
    with np.errstate(over="ignore", invalid="ignore"):
        for op in analysis.spiking:
            analysis.add_states(op, _neuron_bounds(op, analysis.summed(op)))
    order = {op.node_name.data: index for index, op in enumerate(ops)}
    return sorted(analysis.bounds, key=lambda bound: order[bound.node])


def _widen_hint(bound: RangeBound) -> str:
    if bound.quantity in ("voltage", "current"):
        option = "state-bits"
    else:
        option = "accumulator-bits"
    if math.isinf(bound.needed_bits):
        return "choose saturate=true, or give the neurons a leak or inputs of both signs"
    return f"widen {option} or choose saturate=true"


def check_ranges(
    bounds: list[RangeBound],
    locate: Callable[[str], Operation | None] = lambda node: None,
) -> None:
    """Raise a DiagnosticError for the first bound that exceeds the width of an op that wraps.

    Bounds of saturating ops that exceed their width give one warning per graph instead,
    because clamping is the behaviour the user chose. `locate` returns the op to attach to the
    diagnostic of a node name.
    """
    saturating: dict[str, list[RangeBound]] = {}
    for bound in bounds:
        if bound.fits:
            continue
        if bound.saturate:
            saturating.setdefault(bound.graph, []).append(bound)
            continue
        raise DiagnosticError(
            f"node '{bound.node}': the {bound.quantity} {bound.describe()}, but it has {bound.bits}"
            f"{' bits' if math.isinf(bound.needed_bits) else ''}; "
            f"{_widen_hint(bound)}",
            Location(node_path=(bound.graph, bound.node)),
            op=locate(bound.node),
        )
    for graph, exceeding in saturating.items():
        listed = ", ".join(f"node '{bound.node}' {bound.quantity} ({bound.describe()})" for bound in exceeding[:3])
        more = f" and {len(exceeding) - 3} more" if len(exceeding) > 3 else ""
        emit_warning(
            f"graph @{graph}: {len(exceeding)} value(s) may exceed their width and saturate: {listed}{more}; "
            "the quantization report lists every bound",
            Location(node_path=(graph,)),
        )
