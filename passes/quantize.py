"""`quantize`: lower each `snn.graph` to an `fxp.graph` of integers with explicit widths and scales.

Every value gets a scale in NIR units per integer unit: graph inputs have `input-scale`, spikes
have 1 (a spike count), a weight op's result has its accumulator scale, and a non-spiking
neuron's result has its voltage scale.

A weight op (affine, conv) whose only use is a neuron group, directly or through delays, has the
group's input gain folded into its weights. Its integer result then adds straight into the
group's state, which therefore has the unit of the accumulated input. Every other edge into a group gets
an `fxp.rescale` that applies the gain. The weights of one group share a symmetric scale, chosen
by max-abs over all its inputs (per tensor or per output channel), such that the largest input
uses the full weight range. When a threshold or reset value would not fit in half the state range,
the scale is made coarser until it does. Decays are encoded as `decay-kind`, 12-bit kept fractions
by default.

Each approximated parameter is recorded in the returned `QuantizationReport` and in the
`quantization_error` attribute of its op (the max relative error per parameter).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
    f64,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from nirmlir.dense import dense_from_numpy
from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects import fxp, snn
from nirmlir.dialects.fxp import DECAY_KINDS, ROUNDINGS, signed_range
from nirmlir.passes.levels import check_input_level
from nirmlir.passes.quantize_numbers import (
    QuantizationReport,
    bits_for_magnitude,
    encode_decay,
    multiplier_and_shift,
    power_of_two_at_least,
    round_half_away,
    storage_bits,
)

WEIGHT_SCALE_RULES = ("max-abs", "power-of-two")
WEIGHT_GRANULARITIES = ("per-tensor", "per-channel")

SYNAPSE_OPS = (snn.AffineOp, snn.Conv1dOp, snn.Conv2dOp)
DELAY_OPS = (snn.StepDelayOp, snn.DelayOp)
SPIKING_OPS = (snn.LIFOp, snn.CubaLIFOp)
STATE_OPS = (snn.LIOp, snn.CubaLIOp, snn.IntegratorOp)
CURRENT_OPS = (snn.CubaLIFOp, snn.CubaLIOp)
NEURON_OPS = SPIKING_OPS + STATE_OPS


# --------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuantizeOptions:
    """The number formats `quantize` targets; see `QuantizePass` for each field's meaning."""

    weight_bits: int = 8
    state_bits: int = 16
    accumulator_bits: int = 32
    spike_bits: int = 8
    input_bits: int = 8
    input_scale: float = 1.0
    multiplier_bits: int = 16
    weight_scale_rule: str = "max-abs"
    weight_granularity: str = "per-tensor"
    decay_kind: str = "kept_fraction_q12"
    decay_min_step: int = 0
    rounding: str = "toward_zero"
    seed: int | None = None
    saturate: bool = True

    def validate(self, pass_name: str = "quantize") -> None:
        """Raise DiagnosticError naming the first option whose value is not supported.

        ``pass_name`` is the pass whose options the user wrote, which the message names.
        """
        ranges = {
            "weight-bits": (self.weight_bits, 2, 16),
            "state-bits": (self.state_bits, 4, 32),
            "accumulator-bits": (self.accumulator_bits, 8, 64),
            "input-bits": (self.input_bits, 1, 32),
            "multiplier-bits": (self.multiplier_bits, 2, 32),
            "decay-min-step": (self.decay_min_step, 0, 1 << 16),
        }
        for option, (value, low, high) in ranges.items():
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise DiagnosticError(f"{pass_name}: invalid {option} {value}; expected an integer from {low} to {high}")
        if self.spike_bits not in (1, 8):
            raise DiagnosticError(f"{pass_name}: invalid spike-bits {self.spike_bits}; expected 1 or 8")
        choices = {
            "weight-scale-rule": (self.weight_scale_rule, WEIGHT_SCALE_RULES),
            "weight-granularity": (self.weight_granularity, WEIGHT_GRANULARITIES),
            "decay-kind": (self.decay_kind, DECAY_KINDS),
            "rounding": (self.rounding, ROUNDINGS),
        }
        for option, (value, allowed) in choices.items():
            if value not in allowed:
                raise DiagnosticError(f"{pass_name}: invalid {option} '{value}'; expected one of {', '.join(allowed)}")
        if not math.isfinite(self.input_scale) or self.input_scale <= 0:
            raise DiagnosticError(f"{pass_name}: invalid input-scale {self.input_scale}; expected a positive number")
        if self.seed is not None and self.rounding != "stochastic":
            raise DiagnosticError(f"{pass_name}: seed is used only with rounding=stochastic; remove it or set that rounding")


# --------------------------------------------------------------------------------------
# Array helpers
# --------------------------------------------------------------------------------------


def _compress(values: np.ndarray) -> np.ndarray:
    """Return one number (shape ()) when every element is equal, else the array itself."""
    values = np.asarray(values, dtype=np.float64)
    if values.size and (values == values.reshape(-1)[0]).all():
        return np.asarray(values.reshape(-1)[0])
    return values


def _max_to_shape(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Return max |values| over every axis that `shape` broadcasts (size 1), as an array of `shape`."""
    values = np.abs(np.asarray(values, dtype=np.float64))
    if shape == ():
        return np.asarray(values.max() if values.size else 0.0)
    axes = tuple(axis for axis, size in enumerate(shape) if size == 1 and values.shape[axis] != 1)
    return values.max(axis=axes, keepdims=True) if axes else values


def _dense_f64(values: np.ndarray):
    return dense_from_numpy(np.asarray(values, dtype=np.float64))


def _dense_int(values: np.ndarray, bits: int):
    """Store integers in the smallest numpy width that fits `bits` bits."""
    return dense_from_numpy(np.asarray(values, dtype=np.dtype(f"<i{storage_bits(bits) // 8}")))


def _channel_shape(op: Operation, rank: int) -> tuple[int, ...]:
    """Return the scale shape of one value per output channel of a weight op, broadcastable to its result."""
    weight_shape = tuple(op.weight.get_shape())
    if isinstance(op, snn.AffineOp):
        return weight_shape[:-1]
    return (weight_shape[0],) + (1,) * (rank - 1)


@dataclass
class _NeuronPlan:
    """The fixed-point units of one neuron group."""

    input_scale: np.ndarray
    """NIR units per integer unit of the state its operands add to (voltage, or current); broadcasts to the neurons."""
    voltage_scale: np.ndarray
    gain: np.ndarray
    """The per-neuron input gain, folded into weights or applied by rescales."""
    weight_inputs: dict[Operation, float]
    """Each folded weight op and the scale of its input."""


@dataclass
class _WeightPlan:
    """The units of a weight op that feeds no neuron group directly."""

    accumulator_scale: np.ndarray
    input_scale: float


# --------------------------------------------------------------------------------------
# One graph
# --------------------------------------------------------------------------------------


class _GraphQuantizer:
    """Plans the units of every value of one snn graph, then builds its fxp graph."""

    def __init__(self, graph: snn.GraphOp, options: QuantizeOptions, report: QuantizationReport):
        self.graph = graph
        self.graph_name = graph.sym_name.data
        self.options = options
        self.report = report
        self.ops = list(graph.body.block.ops)
        self.weight_max = signed_range(options.weight_bits)[1]
        self.state_max = signed_range(options.state_bits)[1]
        self._scales: dict[SSAValue, np.ndarray] = {}
        self._types: dict[SSAValue, TensorType] = {}
        self._plans: dict[Operation, _NeuronPlan] = {}
        self._standalone: dict[Operation, _WeightPlan] = {}
        self._in_progress: set[object] = set()
        # Edges into neuron groups that need an fxp.rescale: (consumer op, operand index) -> (factor, edge name).
        self._rescaled_edges: dict[tuple[Operation, int], tuple[np.ndarray, str]] = {}
        # Delay results between such a rescale and its neuron group carry the group's state unit.
        self._rescaled_delays: set[SSAValue] = set()
        self._errors: dict[str, dict[str, float]] = defaultdict(dict)

    def error(self, op: Operation, message: str) -> DiagnosticError:
        name = op.node_name.data
        return DiagnosticError(
            f"node '{name}': {message}", Location(node_path=(self.graph_name, name)), op=op
        )

    @contextmanager
    def numeric_errors(self, op: Operation) -> Iterator[None]:
        """Turn a float64 overflow or invalid operation while quantizing `op` into a diagnostic.

        numpy would otherwise print a RuntimeWarning and go on with inf or NaN. Underflow to
        zero is allowed, because a tiny decay or scale rounds to zero anyway.
        """
        try:
            with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                yield
        except FloatingPointError as error:
            raise self.error(
                op,
                f"quantizing its parameters fails in float64 ({error}); its parameters, or those of "
                "the nodes feeding it, are too large or too small for fixed point",
            ) from None

    def record(self, node: str, parameter: str, exact: np.ndarray, approximate: np.ndarray) -> None:
        entry = self.report.record(self.graph_name, node, parameter, exact, approximate)
        self._errors[node][parameter] = entry.max_rel_error

    def _enter(self, key: object, op: Operation) -> None:
        """Mark `key` as being computed; raise if it is already, which means a cycle of scales."""
        if key in self._in_progress:
            raise self.error(
                op,
                "the fixed-point scale of this node depends on itself through a cycle without a spiking "
                "neuron; quantize supports recurrence only through spiking neurons",
            )
        self._in_progress.add(key)

    # -- structure ---------------------------------------------------------------------

    @staticmethod
    def fold_target(op: Operation) -> Operation | None:
        """Return the neuron group that is the only reader of a weight op's result, through delays, or None."""
        value = op.results[0]
        while True:
            uses = list(value.uses)
            if len(uses) != 1:
                return None
            user = uses[0].operation
            if isinstance(user, DELAY_OPS) and len(user.operands) == 1:
                value = user.results[0]
                continue
            return user if isinstance(user, NEURON_OPS) else None

    @staticmethod
    def trace_to_origin(value: SSAValue) -> tuple[list[Operation], SSAValue]:
        """Follow single-use delays back from a neuron operand; return them (nearest first) and the origin value."""
        chain: list[Operation] = []
        while isinstance(value.owner, DELAY_OPS) and value.has_one_use() and len(value.owner.operands) == 1:
            chain.append(value.owner)
            value = value.owner.operands[0]
        return chain, value

    # -- scales ------------------------------------------------------------------------

    def common_input_scale(self, op: Operation) -> np.ndarray:
        """Return the scale shared by all operands of `op`.

        When the edges into a graph output differ in scale, they are rescaled to the coarsest
        one. Any other node whose summed edges differ in scale raises DiagnosticError.
        """
        scales = [self.scale_of(operand) for operand in op.operands]
        if all(
            np.shape(scale) == np.shape(scales[0]) and np.allclose(scale, scales[0], rtol=1e-12, atol=0)
            for scale in scales[1:]
        ):
            return scales[0]
        if not isinstance(op, snn.OutputOp):
            # TODO: align the summed edges of other nodes too, which changes their operand types.
            raise self.error(op, "quantize cannot yet sum edges of different fixed-point scales into this node")
        shape = snn.tensor_shape(op.operands[0].type)
        common = _compress(np.max([np.broadcast_to(scale, shape) for scale in scales], axis=0))
        for index, (operand, scale) in enumerate(zip(op.operands, scales)):
            if np.allclose(scale, common, rtol=1e-12, atol=0):
                continue
            if self.ops.index(operand.owner) > self.ops.index(op):
                raise self.error(op, "quantize cannot rescale an edge that is read before it is computed")
            name = f"{operand.owner.node_name.data}->{op.node_name.data}.rescale"
            self._rescaled_edges[(op, index)] = (_compress(np.broadcast_to(scale, shape) / common), name)
        return common

    def scalar_input_scale(self, op: Operation) -> float:
        scale = _compress(self.common_input_scale(op))
        if scale.shape != ():
            raise self.error(
                op,
                "the input of this weight op has one scale per element (a non-spiking neuron quantized with "
                "weight-granularity=per-channel); quantize needs one input scale, so use per-tensor",
            )
        return float(scale)

    def scale_of(self, value: SSAValue) -> np.ndarray:
        """Return the NIR units per integer unit of an snn value, broadcastable to its shape."""
        if value in self._scales:
            return self._scales[value]
        op = value.owner
        self._enter(value, op)
        if isinstance(op, snn.InputOp):
            scale = np.asarray(self.options.input_scale)
        elif isinstance(op, SPIKING_OPS + (snn.ThresholdOp,)):
            scale = np.asarray(1.0)
        elif isinstance(op, SYNAPSE_OPS):
            target = self.fold_target(op)
            scale = self.plan(target).input_scale if target is not None else self.standalone_plan(op).accumulator_scale
        elif isinstance(op, STATE_OPS):
            scale = self.plan(op).voltage_scale
        elif isinstance(op, DELAY_OPS + (snn.ScaleOp,)):
            scale = self.common_input_scale(op)
        elif isinstance(op, snn.FlattenOp):
            scale = self.common_input_scale(op)
            if scale.shape != ():
                input_shape = snn.tensor_shape(op.operands[0].type)
                scale = _compress(np.broadcast_to(scale, input_shape).reshape(snn.tensor_shape(op.output.type)))
        elif isinstance(op, snn.SumPool2dOp | snn.AvgPool2dOp):
            scale = self.pool_scale(op)
        else:
            raise self.error(op, f"quantize does not support '{op.name}'")
        self._in_progress.discard(value)
        self._scales[value] = np.asarray(scale, dtype=np.float64)
        return self._scales[value]

    def pool_scale(self, op: snn.SumPool2dOp | snn.AvgPool2dOp) -> np.ndarray:
        """A pool keeps its input's scale; an average pool divides it by the window size, which is exact."""
        scale = self.common_input_scale(op)
        if scale.ndim == 3 and scale.shape[1:] != (1, 1):
            per_channel = scale.reshape(scale.shape[0], -1)
            if not (per_channel == per_channel[:, :1]).all():
                raise self.error(op, "quantize cannot pool values whose scale differs within a channel")
            scale = per_channel[:, :1].reshape(scale.shape[0], 1, 1)
        if isinstance(op, snn.AvgPool2dOp):
            kernel = op.kernel_size.get_values()
            scale = scale / (kernel[0] * kernel[1])
        return scale

    # -- weights -----------------------------------------------------------------------

    def effective_weights(self, op: Operation, gain: np.ndarray, target: Operation | None):
        """Return (weights, bias, per-channel gain) with the target's input gain folded in; bias may be None.

        Channels are the result's last axis for an affine op (shape weight.shape[:-1]) and its
        first axis for a convolution (shape (C_out,)).
        """
        weight = snn.float_array(op.weight)
        out_shape = snn.tensor_shape(op.output.type)
        gain = np.broadcast_to(gain, out_shape)
        if isinstance(op, snn.AffineOp):
            channel_gain = np.asarray(gain)
            folded = weight * channel_gain[..., None]
        else:
            per_channel = gain.reshape(gain.shape[0], -1)
            if not np.allclose(per_channel, per_channel[:, :1], rtol=1e-12, atol=0):
                raise self.error(
                    target or op,
                    "the input gain varies within an output channel of its convolution, whose weights are "
                    "shared across positions, so the gain cannot be folded into them",
                )
            channel_gain = per_channel[:, 0]
            folded = weight * channel_gain.reshape((weight.shape[0],) + (1,) * (weight.ndim - 1))
        folded_bias = None
        if op.bias is not None:
            folded_bias = np.broadcast_to(snn.float_array(op.bias), channel_gain.shape) * channel_gain
        return folded, folded_bias, channel_gain

    def per_channel(self, op: Operation, values: np.ndarray) -> np.ndarray:
        """Return a result-shaped quantity that is uniform per channel as one value per channel."""
        out_shape = snn.tensor_shape(op.output.type)
        values = np.broadcast_to(values, out_shape)
        if isinstance(op, snn.AffineOp):
            return np.asarray(values)
        return values.reshape(out_shape[0], -1).max(axis=1)

    def weight_contribution(self, op: Operation, gain: np.ndarray, input_scale: float, target: Operation | None):
        """Return the largest NIR input per integer input unit that each output channel receives."""
        folded, _, _ = self.effective_weights(op, gain, target)
        rank = len(snn.tensor_shape(op.output.type))
        if isinstance(op, snn.AffineOp):
            return np.abs(folded).max(axis=-1) * input_scale
        per_channel = np.abs(folded).reshape(folded.shape[0], -1).max(axis=1)
        return per_channel.reshape((folded.shape[0],) + (1,) * (rank - 1)) * input_scale

    def finish_scale(self, scale: np.ndarray, fallback: float) -> np.ndarray:
        """Apply the weight scale rule and replace zero scales (all-zero inputs) by `fallback`."""
        scale = np.where(scale > 0, scale, fallback)
        if self.options.weight_scale_rule == "power-of-two":
            scale = power_of_two_at_least(scale)
        return scale

    def standalone_plan(self, op: Operation) -> _WeightPlan:
        """Plan a weight op that feeds no neuron group directly: its result gets its own scale."""
        if op in self._standalone:
            return self._standalone[op]
        self._enter(op, op)
        input_scale = self.scalar_input_scale(op)
        out_shape = snn.tensor_shape(op.output.type)
        contribution = self.weight_contribution(op, np.ones(out_shape), input_scale, None)
        if self.options.weight_granularity == "per-tensor":
            contribution = _max_to_shape(contribution, ())
        scale = self.finish_scale(contribution / self.weight_max, input_scale)
        self._in_progress.discard(op)
        self._standalone[op] = _WeightPlan(scale, input_scale)
        return self._standalone[op]

    # -- neuron groups -----------------------------------------------------------------

    def plan(self, op: Operation) -> _NeuronPlan:
        """Choose the units of a neuron group from all its inputs, its gains and its threshold."""
        if op in self._plans:
            return self._plans[op]
        self._enter(op, op)
        shape = snn.tensor_shape(op.output.type)
        current = isinstance(op, CURRENT_OPS)
        gain = op.coefficient("current_gain" if current else "voltage_gain")

        # Sort the edges into folded weight ops and plain edges, with the largest input of each.
        weight_inputs: dict[Operation, float] = {}
        plain_edges: list[tuple[int, list[Operation], SSAValue]] = []
        contributions: list[np.ndarray] = []
        for index, operand in enumerate(op.operands):
            chain, origin = self.trace_to_origin(operand)
            source = origin.owner
            if isinstance(source, SYNAPSE_OPS) and self.fold_target(source) is op:
                weight_inputs[source] = self.scalar_input_scale(source)
                contributions.append(self.weight_contribution(source, gain, weight_inputs[source], op))
            else:
                source_scale = np.broadcast_to(self.scale_of(origin), shape)
                contributions.append(np.abs(gain) * source_scale)
                plain_edges.append((index, chain, origin))

        # One scale per tensor, or per output channel of the weight ops that feed the group.
        scale_shape: tuple[int, ...] = ()
        if self.options.weight_granularity == "per-channel" and weight_inputs:
            if any(not isinstance(source, snn.AffineOp) for source in weight_inputs):
                scale_shape = (shape[0],) + (1,) * (len(shape) - 1)
            else:
                scale_shape = shape
        largest = np.zeros(scale_shape)
        for contribution in contributions:
            largest = np.maximum(largest, _max_to_shape(np.broadcast_to(contribution, shape), scale_shape))
        input_scale = largest / self.weight_max

        # Keep the threshold and reset value within half the state range; the other half is
        # headroom for the input of the step that crosses the threshold.
        voltage_gain = op.coefficient("voltage_gain")
        if current and (voltage_gain <= 0).any():
            raise self.error(op, "quantize needs a positive voltage_gain, because the current adds to the voltage")
        if isinstance(op, SPIKING_OPS):
            magnitude = np.maximum(np.abs(op.coefficient("v_threshold")), np.abs(op.coefficient("v_reset")))
            needed = 2 * magnitude / self.state_max
            if current:
                needed = needed / voltage_gain
            input_scale = np.maximum(input_scale, _max_to_shape(needed, scale_shape))
        input_scale = self.finish_scale(input_scale, 1.0)
        voltage_scale = _compress(voltage_gain * input_scale) if current else _compress(input_scale)

        plan = _NeuronPlan(_compress(input_scale), voltage_scale, gain, weight_inputs)
        self._in_progress.discard(op)
        self._plans[op] = plan

        # Each plain edge gets a rescale right after its origin, before any delay on the way.
        for index, chain, origin in plain_edges:
            factor = gain * np.broadcast_to(self.scale_of(origin), shape) / np.broadcast_to(input_scale, shape)
            consumer, operand_index = (chain[-1], 0) if chain else (op, index)
            name = f"{origin.owner.node_name.data}->{op.node_name.data}.rescale"
            self._rescaled_edges[(consumer, operand_index)] = (_compress(factor), name)
            self._rescaled_delays.update(delay.results[0] for delay in chain)
        return plan

    # -- types -------------------------------------------------------------------------

    def type_of(self, value: SSAValue) -> TensorType:
        """Return the integer tensor type of an snn value in the fxp graph."""
        if value in self._types:
            return self._types[value]
        op = value.owner
        self._enter(("type", value), op)
        shape = snn.tensor_shape(value.type)
        options = self.options
        if isinstance(op, snn.InputOp):
            width = options.input_bits
        elif isinstance(op, SPIKING_OPS + (snn.ThresholdOp,)):
            width = options.spike_bits
        elif isinstance(op, STATE_OPS):
            width = options.state_bits
        elif isinstance(op, SYNAPSE_OPS + (snn.ScaleOp,)) or value in self._rescaled_delays:
            width = options.accumulator_bits
        elif isinstance(op, snn.SumPool2dOp | snn.AvgPool2dOp):
            kernel = op.kernel_size.get_values()
            width = bits_for_magnitude(self.magnitude_bound(op.operands[0]) * kernel[0] * kernel[1])
        else:
            width = self.type_of(op.operands[0]).get_element_type().width.data
        self._in_progress.discard(("type", value))
        self._types[value] = TensorType(IntegerType(width), shape)
        return self._types[value]

    def magnitude_bound(self, value: SSAValue) -> float:
        """Return the largest magnitude an integer value can take."""
        op = value.owner
        if isinstance(op, SPIKING_OPS):
            return float(op.max_spikes_per_step.value.data)
        if isinstance(op, snn.ThresholdOp):
            return 1.0
        if isinstance(op, DELAY_OPS + (snn.FlattenOp,)) and value not in self._rescaled_delays:
            return self.magnitude_bound(op.operands[0])
        return float(1 << (self.type_of(value).get_element_type().width.data - 1))

    # -- building the fxp graph --------------------------------------------------------

    def lower(self) -> fxp.GraphOp:
        """Return the fxp graph; raise DiagnosticError naming the node that cannot be quantized."""
        for op in self.ops:
            if isinstance(op, NEURON_OPS):
                with self.numeric_errors(op):
                    self.plan(op)
        for op in self.ops:
            with self.numeric_errors(op):
                for result in op.results:
                    self.scale_of(result)

        # Create the fxp ops without operands, because delays may be read before they are computed.
        lowered: dict[Operation, Operation] = {}
        for op in self.ops:
            with self.numeric_errors(op):
                lowered[op] = self.lower_op(op)
        for op, new_op in lowered.items():
            for result, new_result in zip(op.results, new_op.results):
                new_result.name_hint = result.name_hint
        before: dict[Operation, list[Operation]] = defaultdict(list)
        for op in self.ops:
            operands = []
            for index, operand in enumerate(op.operands):
                value = lowered[operand.owner].results[0]
                if (op, index) in self._rescaled_edges:
                    factor, name = self._rescaled_edges[(op, index)]
                    with self.numeric_errors(op):
                        rescale = self.make_rescale(name, factor, snn.tensor_shape(operand.type), "multiplier")
                    rescale.operands = [value]
                    before[op].append(rescale)
                    value = rescale.results[0]
                operands.append(value)
            lowered[op].operands = operands

        block = Block()
        for op in self.ops:
            block.add_ops(before[op])
            block.add_op(lowered[op])
        for new_op in block.ops:
            errors = self._errors.get(new_op.node_name.data)
            if errors:
                new_op.attributes["quantization_error"] = DictionaryAttr(
                    {name: FloatAttr(error, f64) for name, error in errors.items()}
                )
        return fxp.GraphOp.create(
            properties={"sym_name": self.graph.sym_name, "dt": self.graph.dt},
            regions=[Region(block)],
        )

    def create(self, op_class: type[fxp.FXPNodeOp], node: Operation | str, properties: dict[str, Attribute], result_type=None):
        name = node if isinstance(node, str) else node.node_name.data
        properties["node_name"] = StringAttr(name)
        attributes = {}
        if not isinstance(node, str) and "metadata" in node.attributes:
            attributes["metadata"] = node.attributes["metadata"]
        return op_class.create(
            result_types=[result_type] if result_type is not None else [],
            properties=properties,
            attributes=attributes,
        )

    def rounding_properties(self) -> dict[str, Attribute]:
        properties: dict[str, Attribute] = {"rounding": StringAttr(self.options.rounding)}
        if self.options.rounding == "stochastic":
            properties["rounding_seed"] = IntegerAttr(self.options.seed or 0, i64)
        return properties

    def saturate(self) -> Attribute:
        return IntegerAttr(int(self.options.saturate), i1)

    def make_rescale(self, name: str, factor: np.ndarray, shape: tuple[int, ...], parameter: str) -> fxp.RescaleOp:
        """Build an fxp.rescale multiplying by `factor` (without operands) and record its error."""
        multiplier, shift = multiplier_and_shift(factor, self.options.multiplier_bits)
        self.record(name, parameter, factor, multiplier / 2.0**shift)
        bits = max(self.options.multiplier_bits, int(np.abs(multiplier).max(initial=0)).bit_length() + 1)
        properties = {
            "multiplier": _dense_int(multiplier, bits),
            "shift": IntegerAttr(shift, i64),
            "saturate": self.saturate(),
        }
        properties.update(self.rounding_properties())
        result_type = TensorType(IntegerType(self.options.accumulator_bits), shape)
        return self.create(fxp.RescaleOp, name, properties, result_type)

    def lower_op(self, op: Operation) -> Operation:
        result_type = self.type_of(op.results[0]) if op.results else None
        if isinstance(op, snn.InputOp):
            return self.create(fxp.InputOp, op, {"scale": FloatAttr(self.options.input_scale, f64)}, result_type)
        if isinstance(op, snn.OutputOp):
            return self.create(fxp.OutputOp, op, {"scale": _dense_f64(_compress(self.common_input_scale(op)))})
        if isinstance(op, SYNAPSE_OPS):
            return self.lower_weight_op(op, result_type)
        if isinstance(op, snn.ScaleOp):
            factor = snn.float_array(op.scale)
            rescale = self.make_rescale(op.node_name.data, factor, snn.tensor_shape(op.output.type), "scale")
            rescale.attributes.update({"metadata": op.attributes["metadata"]} if "metadata" in op.attributes else {})
            return rescale
        if isinstance(op, snn.SumPool2dOp | snn.AvgPool2dOp):
            properties = {
                "kernel_size": op.kernel_size,
                "stride": op.stride,
                "padding": op.padding,
                "saturate": self.saturate(),
            }
            return self.create(fxp.SumPool2dOp, op, properties, result_type)
        if isinstance(op, snn.FlattenOp):
            return self.create(fxp.FlattenOp, op, {"start_dim": op.start_dim, "end_dim": op.end_dim}, result_type)
        if isinstance(op, snn.ThresholdOp):
            return self.lower_threshold(op, result_type)
        if isinstance(op, snn.DelayOp):
            return self.create(fxp.DelayOp, op, {"steps": op.steps}, result_type)
        if isinstance(op, snn.StepDelayOp):
            return self.create(fxp.StepDelayOp, op, {"steps": op.steps}, result_type)
        if isinstance(op, NEURON_OPS):
            return self.lower_neuron(op, result_type)
        raise self.error(op, f"quantize does not support '{op.name}'")

    def lower_threshold(self, op: snn.ThresholdOp, result_type: TensorType) -> Operation:
        threshold = snn.float_array(op.threshold)
        input_scale = np.broadcast_to(self.common_input_scale(op), threshold.shape)
        integers = round_half_away(threshold / input_scale)
        self.record(op.node_name.data, "threshold", threshold, integers * input_scale)
        input_bits = self.type_of(op.inputs[0]).get_element_type().width.data
        bits = max(input_bits, 8)
        low, high = signed_range(bits)
        if integers.size and (integers.min() < low or integers.max() > high):
            # Storing it would wrap around to a small threshold that fires.
            raise self.error(
                op,
                f"'threshold' needs {int(np.abs(integers).max()).bit_length() + 1} bits in the unit of "
                f"its input, but the input has {input_bits} bits; lower the threshold",
            )
        properties = {"threshold": _dense_int(integers, bits), "spike_test": op.spike_test}
        return self.create(fxp.ThresholdOp, op, properties, result_type)

    def lower_weight_op(self, op: Operation, result_type: TensorType) -> Operation:
        """Quantize the folded weights and bias of an affine or conv op."""
        target = self.fold_target(op)
        out_shape = snn.tensor_shape(op.output.type)
        if target is not None:
            plan = self.plan(target)
            gain, accumulator_scale, input_scale = plan.gain, plan.input_scale, plan.weight_inputs[op]
        else:
            standalone = self.standalone_plan(op)
            gain, accumulator_scale, input_scale = np.ones(out_shape), standalone.accumulator_scale, standalone.input_scale
        folded, folded_bias, channel_gain = self.effective_weights(op, gain, target)

        # One accumulator scale per output channel, shaped to multiply the weight rows.
        channel_scale = self.per_channel(op, accumulator_scale)
        if isinstance(op, snn.AffineOp):
            row_scale, row_gain = channel_scale[..., None], channel_gain[..., None]
        else:
            row_shape = (folded.shape[0],) + (1,) * (folded.ndim - 1)
            row_scale, row_gain = channel_scale.reshape(row_shape), channel_gain.reshape(row_shape)
        weights = np.clip(round_half_away(folded * input_scale / row_scale), -self.weight_max, self.weight_max)
        if (folded != 0).any() and not weights.any():
            raise self.error(
                op,
                "every weight rounds to zero: the largest input it adds per step is below one unit of the "
                "target's state, whose unit is set by keeping the threshold within state-bits="
                f"{self.options.state_bits}; raise state-bits, or check that dt and the time constants use "
                "the same unit (dt=1 for time constants in steps)",
            )

        # Errors are measured on the NIR weights: the folded gain is divided back out where it is nonzero.
        name = op.node_name.data
        exact = snn.float_array(op.weight)
        nonzero_gain = np.where(row_gain != 0, row_gain, 1.0)
        approximate = np.where(row_gain != 0, weights * row_scale / input_scale / nonzero_gain, exact)
        self.record(name, "weight", exact, approximate)

        properties: dict[str, Attribute] = {
            "weight": _dense_int(weights, self.options.weight_bits),
            "weight_bits": IntegerAttr(self.options.weight_bits, i64),
            "weight_scale": _dense_f64(_compress(channel_scale / input_scale)),
            "input_scale": FloatAttr(input_scale, f64),
            "folded_gain": _dense_f64(_compress(channel_gain)),
            "saturate": self.saturate(),
        }
        if folded_bias is not None:
            bias = round_half_away(folded_bias / channel_scale)
            low, high = signed_range(self.options.accumulator_bits)
            if bias.size and (bias.min() < low or bias.max() > high):
                raise self.error(op, f"the bias needs more than accumulator-bits={self.options.accumulator_bits} bits")
            exact_bias = np.broadcast_to(snn.float_array(op.bias), channel_gain.shape)
            nonzero_gain = np.where(channel_gain != 0, channel_gain, 1.0)
            approximate_bias = np.where(channel_gain != 0, bias * channel_scale / nonzero_gain, exact_bias)
            self.record(name, "bias", exact_bias, approximate_bias)
            properties["bias"] = _dense_int(bias, self.options.accumulator_bits)
        if isinstance(op, snn.Conv1dOp | snn.Conv2dOp):
            properties.update({"stride": op.stride, "padding": op.padding, "dilation": op.dilation, "groups": op.groups})
            op_class = fxp.Conv1dOp if isinstance(op, snn.Conv1dOp) else fxp.Conv2dOp
        else:
            op_class = fxp.AffineOp
        return self.create(op_class, op, properties, result_type)

    def state_integers(self, op: Operation, field: str, scale: np.ndarray) -> np.ndarray:
        """Quantize a per-neuron voltage parameter to the state unit, record its error and check its range."""
        exact = op.coefficient(field)
        integers = round_half_away(exact / scale)
        self.record(op.node_name.data, field, exact, integers * scale)
        low, high = signed_range(self.options.state_bits)
        if integers.size and (integers.min() < low or integers.max() > high):
            raise self.error(
                op,
                f"'{field}' needs {int(np.abs(integers).max()).bit_length() + 1} bits in the state unit but "
                f"state-bits is {self.options.state_bits}; raise state-bits",
            )
        return integers

    def lower_neuron(self, op: Operation, result_type: TensorType) -> Operation:
        plan = self.plan(op)
        shape = snn.tensor_shape(op.output.type)
        bits = self.options.state_bits
        voltage_scale = np.broadcast_to(plan.voltage_scale, shape)
        properties: dict[str, Attribute] = {
            "voltage_scale": _dense_f64(plan.voltage_scale),
            "voltage_bits": IntegerAttr(bits, i64),
            "voltage_saturate": self.saturate(),
        }

        # Decays, in one kind per op: a decay of exactly 1 has no shift form and stays a kept fraction.
        decays = [field for field in ("current_decay", "voltage_decay") if field in op.COEFFICIENTS]
        if decays:
            kind = self.options.decay_kind
            if kind == "shift" and any((op.coefficient(field) >= 1).any() for field in decays):
                kind = "kept_fraction_q12"
            for field in decays:
                exact = op.coefficient(field)
                encoded = encode_decay(exact, kind)
                self.record(op.node_name.data, field, exact, encoded.kept_fraction)
                properties[field] = _dense_int(encoded.integers, 16)
            properties["decay_kind"] = StringAttr(kind)
            properties["decay_min_step"] = IntegerAttr(self.options.decay_min_step, i64)
            properties.update(self.rounding_properties())
        if "leak" in op.COEFFICIENTS:
            properties["leak"] = _dense_int(self.state_integers(op, "leak", voltage_scale), bits)
        if isinstance(op, SPIKING_OPS):
            max_spikes = op.max_spikes_per_step.value.data
            if self.options.spike_bits == 1 and max_spikes > 1:
                raise self.error(op, f"spike-bits=1 cannot count max_spikes_per_step={max_spikes}; use spike-bits=8")
            properties["v_threshold"] = _dense_int(self.state_integers(op, "v_threshold", voltage_scale), bits)
            properties["v_reset"] = _dense_int(self.state_integers(op, "v_reset", voltage_scale), bits)
            for field in ("spike_test", "spike_timing", "reset", "max_spikes_per_step"):
                properties[field] = op.properties[field]
        if isinstance(op, CURRENT_OPS):
            properties["current_scale"] = _dense_f64(plan.input_scale)
            properties["current_bits"] = IntegerAttr(bits, i64)
            properties["current_saturate"] = self.saturate()
            properties["current_timing"] = op.current_timing
        op_class = {
            snn.LIFOp: fxp.LIFOp,
            snn.CubaLIFOp: fxp.CubaLIFOp,
            snn.LIOp: fxp.LIOp,
            snn.CubaLIOp: fxp.CubaLIOp,
            snn.IntegratorOp: fxp.IntegratorOp,
        }[type(op)]
        return self.create(op_class, op, properties, result_type)


def quantize_module(module: ModuleOp, options: QuantizeOptions) -> QuantizationReport:
    """Replace every snn.graph of the module by its fxp.graph and return the errors of all parameters.

    Raises DiagnosticError for invalid options, a node that cannot be quantized, and a
    module whose graphs are all at another level.
    """
    options.validate()
    check_input_level(module, "quantize", "snn", "fxp")
    report = QuantizationReport()
    for graph in [op for op in module.ops if isinstance(op, snn.GraphOp)]:
        Rewriter.insert_op(_GraphQuantizer(graph, options, report).lower(), InsertPoint.before(graph))
        Rewriter.erase_op(graph)
    return report


def parse_positive_number(option: str, value: float | int | str) -> float:
    """Return a numeric option; the pass-option lexer of xDSL 0.74 reads `1e-3` as a word."""
    try:
        number = float(value)
    except ValueError:
        raise DiagnosticError(f"quantize: invalid {option} '{value}'; expected a positive number") from None
    return number


@dataclass(frozen=True)
class QuantizePass(ModulePass):
    """Lower snn graphs to fixed-point fxp graphs; options set the number formats."""

    name = "quantize"

    weight_bits: int = 8
    """Signed width of the integer weights, in bits."""
    state_bits: int = 16
    """Signed width of the voltage and current states, in bits; thresholds use the same unit."""
    accumulator_bits: int = 32
    """Signed width of weight op, rescale and bias results, in bits."""
    spike_bits: int = 8
    """Width of spike counts: 1 (one spike per step at most) or 8."""
    input_bits: int = 8
    """Signed width of the graph inputs, in bits."""
    input_scale: float | int | str = 1.0
    """NIR units per integer unit of the graph inputs (1 for spike inputs)."""
    multiplier_bits: int = 16
    """Signed width of the integer multipliers of fxp.rescale, in bits."""
    weight_scale_rule: str = "max-abs"
    """max-abs (largest weight uses the full range) or power-of-two (that scale rounded up to a power of two)."""
    weight_granularity: str = "per-tensor"
    """per-tensor (one weight scale per neuron group) or per-channel (one per output channel)."""
    decay_kind: str = "kept_fraction_q12"
    """kept_fraction_q12, lost_fraction_q12 or shift; decays of exactly 1 stay kept_fraction_q12 under shift."""
    decay_min_step: int = 0
    """Smallest step toward zero of a nonzero decaying state, in integer units (0 disables it)."""
    rounding: str = "toward_zero"
    """Runtime rounding of decays and rescales: nearest, toward_zero, floor or stochastic."""
    seed: int | None = None
    """Seed of the stochastic rounding (0 when absent); only valid with rounding=stochastic."""
    saturate: bool = True
    """Whether results and states clamp to their width (true) or wrap (false)."""

    def options(self) -> QuantizeOptions:
        """Return the validated number formats of this pass."""
        options = QuantizeOptions(
            weight_bits=self.weight_bits,
            state_bits=self.state_bits,
            accumulator_bits=self.accumulator_bits,
            spike_bits=self.spike_bits,
            input_bits=self.input_bits,
            input_scale=parse_positive_number("input-scale", self.input_scale),
            multiplier_bits=self.multiplier_bits,
            weight_scale_rule=self.weight_scale_rule,
            weight_granularity=self.weight_granularity,
            decay_kind=self.decay_kind,
            decay_min_step=self.decay_min_step,
            rounding=self.rounding,
            seed=self.seed,
            saturate=self.saturate,
        )
        options.validate()
        return options

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        quantize_module(op, self.options())
