"""`quantize`: lower each `snn.graph` to an `fxp.graph` of integers with explicit widths and scales.

Every value gets a scale in NIR units per integer unit: graph inputs have `input-scale`, spikes
have 1 (a spike count), a weight op's result has its accumulator scale, and a non-spiking
neuron's result has its voltage scale.

A weight op (affine, conv) whose only use is a neuron group, directly or through delays, has the
group's input gain folded into its weights. Its integer result then adds straight into the
group's state. Under state-scale=range the state unit is finer than the weights' unit by a power
of two, and an `fxp.rescale` shifts the weight op's input left by it, so that the bias has the
state's precision. Every other edge into a group gets an `fxp.rescale` that applies the gain. The weights of
one group share a symmetric scale per tensor, per output channel or per target neuron, chosen so
that the largest input (or the clip percentile of the inputs) uses the full weight range. When a
threshold or reset value would not fit in half the state range or in threshold-bits, or a state
recorded on the calibration input would not fit the state range, the scale is made coarser until
it does. Decays are encoded as `decay-kind`, 12-bit kept fractions by default.

Each approximated parameter is recorded in the returned `QuantizationReport` and in the
`quantization_error` attribute of its op (the max relative error per parameter). The range
analysis then bounds every result and state (`range_analysis`).
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
from xdsl.rewriter import InsertPoint, Rewriter

from nirmlir.dense import dense_from_numpy, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects import fxp, snn
from nirmlir.dialects.fxp import signed_range
from nirmlir.option_hints import option_hint
from nirmlir.passes.levels import check_input_level
from nirmlir.passes.quantize_calibration import CalibrationSource, graph_inputs, record_activity, spike_agreement
from nirmlir.passes.quantize_numbers import (
    LayerRecord,
    QuantizationReport,
    bits_for_magnitude,
    encode_decay,
    multiplier_and_shift,
    power_of_two_at_least,
    round_half_away,
    storage_bits,
)
from nirmlir.passes.quantize_options import QuantizeOptions, QuantizingPass
from nirmlir.passes.quantize_report import report_document
from nirmlir.passes.range_analysis import analyze_ranges, check_ranges
from nirmlir.quantization_report import publish

__all__ = ["QuantizationReport", "QuantizeOptions", "QuantizePass", "quantize_module"]

SYNAPSE_OPS = (snn.AffineOp, snn.Conv1dOp, snn.Conv2dOp)
DELAY_OPS = (snn.StepDelayOp, snn.DelayOp)
SPIKING_OPS = (snn.LIFOp, snn.CubaLIFOp)
STATE_OPS = (snn.LIOp, snn.CubaLIOp, snn.IntegratorOp)
CURRENT_OPS = (snn.CubaLIFOp, snn.CubaLIOp)
NEURON_OPS = SPIKING_OPS + STATE_OPS


# --------------------------------------------------------------------------------------
# Array helpers
# --------------------------------------------------------------------------------------


def _compress(values: np.ndarray) -> np.ndarray:
    """Return one number (shape ()) when every element is equal, else the array itself."""
    values = np.asarray(values, dtype=np.float64)
    if values.size and (values == values.reshape(-1)[0]).all():
        return np.asarray(values.reshape(-1)[0])
    return values


def _dense_f64(values: np.ndarray):
    return dense_from_numpy(np.asarray(values, dtype=np.float64))


def _dense_int(values: np.ndarray, bits: int):
    """Store integers in the smallest numpy width that fits `bits` bits."""
    return dense_from_numpy(np.asarray(values, dtype=np.dtype(f"<i{storage_bits(bits) // 8}")))


def _groups(values: np.ndarray, group_count: int) -> np.ndarray:
    """Return the elements of each scale group as the rows of a (groups, n) array.

    The groups (the whole tensor, each output channel or each neuron) are contiguous blocks of
    `values` in C order, whose leading axes are the neuron axes: weights (neurons..., inputs),
    or per-neuron values.
    """
    return np.asarray(values, dtype=np.float64).reshape(group_count, -1)


# Weights are quantized in row blocks of about this many elements, so that the float64
# temporaries of a large layer stay about a megabyte each instead of several copies of the layer.
_BLOCK_ELEMENTS = 1 << 17


def _row_blocks(row_count: int, row_size: int) -> Iterator[slice]:
    """Yield slices over the rows of a (row_count, row_size) array, each of about _BLOCK_ELEMENTS elements."""
    step = max(1, _BLOCK_ELEMENTS // max(row_size, 1))
    for start in range(0, row_count, step):
        yield slice(start, min(start + step, row_count))


def _trace_groups(trace: np.ndarray, group_count: int) -> np.ndarray:
    """Return a recorded trace (batch, steps, *neuron shape) as the rows of a (groups, n) array."""
    per_step = np.asarray(trace, dtype=np.float64).reshape(-1, group_count, trace[0, 0].size // group_count)
    return per_step.transpose(1, 0, 2).reshape(group_count, -1)


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
    accumulator_scale: np.ndarray
    """The unit that sets the integer weights, input_scale times 2^shift: the state unit if the inputs were not shifted."""
    shift: int
    """The left shift in bits of the folded weight ops' inputs, which makes their results the state unit."""
    calibrated: dict[str, float]
    """The largest |voltage| and |current| of the float model on the calibration input, in NIR units."""


@dataclass
class _WeightPlan:
    """The units of a weight op that feeds no neuron group directly."""

    accumulator_scale: np.ndarray
    input_scale: float


def _fed_neuron(op: Operation) -> Operation | None:
    """Return the fxp neuron group that reads `op`'s result through delays, rescales and weight ops, or None."""
    value = op.results[0]
    while True:
        uses = list(value.uses)
        if len(uses) != 1:
            return None
        user = uses[0].operation
        if isinstance(user, fxp.NeuronOp):
            return user
        if not isinstance(user, fxp.StepDelayOp | fxp.DelayOp | fxp.RescaleOp | fxp.WeightOp):
            return None
        if len(user.operands) != 1 and not isinstance(user, fxp.WeightOp):
            return None
        value = user.results[0]


# --------------------------------------------------------------------------------------
# One graph
# --------------------------------------------------------------------------------------


class _GraphQuantizer:
    """Plans the units of every value of one snn graph, then builds its fxp graph."""

    def __init__(
        self,
        graph: snn.GraphOp,
        options: QuantizeOptions,
        report: QuantizationReport,
        activity: dict[str, dict[str, np.ndarray]] | None = None,
    ):
        self.graph = graph
        # Traces of the float model on the calibration input: node -> v, i, spikes as (batch, steps, *shape).
        self.activity = activity or {}
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
        # Inputs of folded weight ops that state-scale=range shifts left: (weight op, operand index) -> (shift, name).
        self._shifted_edges: dict[tuple[Operation, int], tuple[int, str]] = {}
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
                f"weight-granularity={self.options.weight_granularity}); quantize needs one input scale, so use "
                "per-tensor",
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
        """Return a pool's output scale: its input's scale, divided by the window size for an average pool.

        The division is exact, because the sum pool it lowers to keeps every integer."""
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

    def channel_gain(self, op: Operation, gain: np.ndarray, target: Operation | None) -> np.ndarray:
        """Return the input gain of a weight op per output channel, to fold into its weights.

        Channels are the result's neurons for an affine op (shape weight.shape[:-1]) and its first
        axis for a convolution (shape (C_out,)), whose kernel is shared across positions.
        """
        gain = np.broadcast_to(gain, snn.tensor_shape(op.output.type))
        if isinstance(op, snn.AffineOp):
            return np.asarray(gain)
        per_channel = gain.reshape(gain.shape[0], -1)
        if not np.allclose(per_channel, per_channel[:, :1], rtol=1e-12, atol=0):
            raise self.error(
                target or op,
                "the input gain varies within an output channel of its convolution, whose weights are "
                "shared across positions, so the gain cannot be folded into them",
            )
        return per_channel[:, 0]

    @staticmethod
    def weight_rows(op: Operation) -> np.ndarray:
        """Return the weights, in their stored dtype, as a (channels, n) array with one row per output channel."""
        weight = numpy_from_dense(op.weight)
        row_count = math.prod(weight.shape[:-1]) if isinstance(op, snn.AffineOp) else weight.shape[0]
        return weight.reshape(row_count, -1)

    def per_channel(self, op: Operation, values: np.ndarray) -> np.ndarray:
        """Return a result-shaped quantity that is uniform per channel as one value per channel."""
        out_shape = snn.tensor_shape(op.output.type)
        values = np.broadcast_to(values, out_shape)
        if isinstance(op, snn.AffineOp):
            return np.asarray(values)
        return values.reshape(out_shape[0], -1).max(axis=1)

    def weight_magnitudes(self, op: Operation, gain: np.ndarray, input_scale: float, target: Operation | None, group_count: int):
        """Return |folded weight|·input scale, the NIR input per integer input unit, as (group_count, n) samples.

        Under clip=max only each row's largest magnitude matters, so the samples are then one
        maximum per output channel, computed in row blocks without a float64 copy of the weights.
        The rounding of |w|·|g|·s is monotonic in |w|, so that maximum equals the maximum of the
        products. Clip=percentile needs every magnitude.
        """
        rows = self.weight_rows(op)
        gain_rows = np.abs(self.channel_gain(op, gain, target)).reshape(-1, 1)
        if self.options.clip != "max" or rows.shape[1] == 0:
            magnitudes = np.abs(rows.astype(np.float64) * gain_rows) * input_scale
            return _groups(magnitudes, group_count)
        row_max = np.empty((rows.shape[0], 1))
        for block in _row_blocks(*rows.shape):
            row_max[block, 0] = np.abs(rows[block].astype(np.float64)).max(axis=1)
        return _groups(row_max * gain_rows * input_scale, group_count)

    def clip_value(self, samples: np.ndarray) -> np.ndarray:
        """Return the value each row of `samples` is scaled to cover: its max, or its clip percentile.

        A percentile of 0 in a row that has nonzero entries (very sparse weights) falls back to the max.
        """
        if samples.shape[1] == 0:
            return np.zeros(samples.shape[0])
        largest = samples.max(axis=1)
        if self.options.clip == "max":
            return largest
        covered = np.percentile(samples, self.options.clip_percentile, axis=1)
        return np.where(covered > 0, covered, largest)

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
        if self.options.granularity == "per-tensor":
            scale_shape: tuple[int, ...] = ()
        elif isinstance(op, snn.AffineOp):
            scale_shape = out_shape
        else:
            scale_shape = (out_shape[0],) + (1,) * (len(out_shape) - 1)
        magnitudes = self.weight_magnitudes(op, np.ones(out_shape), input_scale, None, math.prod(scale_shape))
        covered = self.clip_value(magnitudes).reshape(scale_shape)
        scale = self.finish_scale(covered / self.weight_max, input_scale)
        self._in_progress.discard(op)
        self._standalone[op] = _WeightPlan(scale, input_scale)
        return self._standalone[op]

    # -- neuron groups -----------------------------------------------------------------

    def scale_shape(self, shape: tuple[int, ...], weight_sources: list[Operation]) -> tuple[int, ...]:
        """Return the shape of a neuron group's scale under the weight granularity option.

        A conv shares its kernel across positions, so a group fed by one has at most one scale per channel.
        """
        granularity = self.options.granularity
        if granularity == "per-tensor" or (granularity == "per-output-channel" and not weight_sources):
            return ()
        if any(not isinstance(source, snn.AffineOp) for source in weight_sources):
            return (shape[0],) + (1,) * (len(shape) - 1)
        return shape

    def minimum_scale(self, op: Operation, scale_shape: tuple[int, ...]) -> np.ndarray:
        """Return the finest state unit (of the operands' sum) that the group's thresholds and recorded states allow.

        Thresholds and reset values stay within half the state range, the other half being headroom
        for the input of the step that crosses the threshold, and within threshold-bits. With
        calibration, the recorded voltages and currents stay within the state range.
        """
        shape = snn.tensor_shape(op.output.type)
        group_count = math.prod(scale_shape)
        current = isinstance(op, CURRENT_OPS)
        voltage_gain = np.broadcast_to(op.coefficient("voltage_gain"), shape)
        # A voltage v needs an operand unit of v / voltage_gain when the current adds to the voltage.
        voltage_unit = voltage_gain if current else np.ones(shape)
        needed = np.zeros(group_count)
        if isinstance(op, SPIKING_OPS):
            magnitude = np.maximum(np.abs(op.coefficient("v_threshold")), np.abs(op.coefficient("v_reset")))
            threshold_max = signed_range(self.options.threshold_width)[1]
            per_neuron = np.maximum(2 * magnitude / self.state_max, magnitude / threshold_max) / voltage_unit
            needed = _groups(per_neuron, group_count).max(axis=1)
        activity = self.activity.get(op.node_name.data) if self.options.calibrate else None
        if activity is not None:
            recorded = np.abs(activity["v"]) / voltage_unit
            needed = np.maximum(needed, self.clip_value(_trace_groups(recorded, group_count)) / self.state_max)
            if current:
                needed = np.maximum(needed, self.clip_value(_trace_groups(np.abs(activity["i"]), group_count)) / self.state_max)
        return needed.reshape(scale_shape)

    def state_shift(self, accumulator_scale: np.ndarray, minimum: np.ndarray) -> int:
        """Return the left shift that state-scale=range applies to the inputs of a group's weight ops.

        The shift is the largest that keeps the state unit of every scale group at or above
        `minimum`, and 0 when nothing bounds the state (no threshold, reset value or
        calibration). 2^shift must fit multiplier-bits, because an fxp.rescale applies it.
        """
        bounded = np.broadcast_to(minimum, np.shape(accumulator_scale)) > 0
        if self.options.state_scale != "range" or not bounded.any():
            return 0
        ratio = np.broadcast_to(accumulator_scale, bounded.shape)[bounded] / np.broadcast_to(minimum, bounded.shape)[bounded]
        shift = int(np.floor(np.log2(max(float(ratio.min()), 1.0))))
        return min(shift, self.options.multiplier_bits - 2)

    def plan(self, op: Operation) -> _NeuronPlan:
        """Choose the units of a neuron group from all its inputs, its gains and its threshold."""
        if op in self._plans:
            return self._plans[op]
        self._enter(op, op)
        shape = snn.tensor_shape(op.output.type)
        current = isinstance(op, CURRENT_OPS)
        gain = op.coefficient("current_gain" if current else "voltage_gain")
        voltage_gain = op.coefficient("voltage_gain")
        if current and (voltage_gain <= 0).any():
            raise self.error(op, "quantize needs a positive voltage_gain, because the current adds to the voltage")

        # Sort the edges into folded weight ops and plain edges.
        weight_inputs: dict[Operation, float] = {}
        plain_edges: list[tuple[int, list[Operation], SSAValue]] = []
        for index, operand in enumerate(op.operands):
            chain, origin = self.trace_to_origin(operand)
            source = origin.owner
            if isinstance(source, SYNAPSE_OPS) and self.fold_target(source) is op:
                weight_inputs[source] = self.scalar_input_scale(source)
            else:
                plain_edges.append((index, chain, origin))

        # The weights use the full range for the largest input (or the clip percentile) of each scale group.
        scale_shape = self.scale_shape(shape, list(weight_inputs))
        group_count = math.prod(scale_shape)
        samples = [self.weight_magnitudes(source, gain, scale, op, group_count) for source, scale in weight_inputs.items()]
        for _, _, origin in plain_edges:
            magnitudes = np.abs(gain) * np.broadcast_to(self.scale_of(origin), shape)
            samples.append(_groups(magnitudes, group_count))
        covered = self.clip_value(np.concatenate(samples, axis=1) if samples else np.zeros((group_count, 0)))
        weight_scale = covered.reshape(scale_shape) / self.weight_max

        # The state unit is at least what thresholds and recorded states need; state-scale=range
        # makes it finer by a power of two where they allow.
        minimum = self.minimum_scale(op, scale_shape)
        accumulator_scale = self.finish_scale(np.maximum(weight_scale, minimum), 1.0)
        shift = self.state_shift(accumulator_scale, minimum)
        input_scale = accumulator_scale / 2.0**shift
        voltage_scale = _compress(voltage_gain * input_scale) if current else _compress(input_scale)

        calibrated: dict[str, float] = {}
        activity = self.activity.get(op.node_name.data)
        if activity is not None:
            calibrated = {key: float(np.abs(trace).max(initial=0.0)) for key, trace in activity.items() if key in ("v", "i")}
        plan = _NeuronPlan(
            _compress(input_scale), voltage_scale, gain, weight_inputs, _compress(accumulator_scale), shift, calibrated
        )
        self._in_progress.discard(op)
        self._plans[op] = plan

        # Each input of a folded weight op gets a left shift when the state unit is finer, and
        # each plain edge an fxp.rescale by its factor right after its origin, before any delay.
        if shift:
            for source in weight_inputs:
                for operand_index, operand in enumerate(source.operands):
                    name = f"{operand.owner.node_name.data}->{source.node_name.data}.rescale"
                    self._shifted_edges[(source, operand_index)] = (shift, name)
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
            bound = self.magnitude_bound(op.operands[0]) * kernel[0] * kernel[1]
            if kernel[0] * kernel[1] == 1:
                # A window of one element sums nothing, so the value keeps its width.
                width = self.type_of(op.operands[0]).get_element_type().width.data
            elif bound >= 2.0**63:
                raise self.error(
                    op,
                    f"the sum over the {kernel[0]}x{kernel[1]} pool window can reach {bound:.3g}, which "
                    "does not fit a 64-bit integer; pool spikes or a value of fewer accumulator-bits",
                )
            else:
                width = bits_for_magnitude(bound)
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
                if (op, index) in self._shifted_edges:
                    shift, name = self._shifted_edges[(op, index)]
                    rescale = self.make_shift(name, shift, snn.tensor_shape(operand.type))
                    rescale.operands = [value]
                    before[op].append(rescale)
                    value = rescale.results[0]
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
        self.record_layers(lowered, block)
        return fxp.GraphOp.create(
            properties={"sym_name": self.graph.sym_name, "dt": self.graph.dt},
            regions=[Region(block)],
        )

    def record_layers(self, lowered: dict[Operation, Operation], block: Block) -> None:
        """Add one LayerRecord per neuron group to the report, naming the ops whose parameters belong to it."""
        members: dict[Operation, list[str]] = defaultdict(list)
        weight_scales: dict[Operation, dict[str, np.ndarray]] = defaultdict(dict)
        for new_op in block.ops:
            if isinstance(new_op, fxp.WeightOp | fxp.RescaleOp):
                target = _fed_neuron(new_op)
                if target is not None:
                    members[target].append(new_op.node_name.data)
                if target is not None and isinstance(new_op, fxp.WeightOp):
                    weight_scales[target][new_op.node_name.data] = numpy_from_dense(new_op.weight_scale)
        for op in self.ops:
            if not isinstance(op, NEURON_OPS):
                continue
            plan, new_op = self._plans[op], lowered[op]
            current_scale = plan.input_scale if isinstance(op, CURRENT_OPS) else None
            self.report.layers.append(
                LayerRecord(
                    graph=self.graph_name,
                    node=op.node_name.data,
                    op=new_op.name,
                    shape=snn.tensor_shape(op.output.type),
                    voltage_scale=np.asarray(plan.voltage_scale),
                    current_scale=None if current_scale is None else np.asarray(current_scale),
                    accumulator_scale=np.asarray(plan.accumulator_scale),
                    state_shift=plan.shift,
                    inputs=members[new_op],
                    weight_scales=weight_scales[new_op],
                    calibrated=plan.calibrated,
                )
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

    def make_shift(self, name: str, shift: int, shape: tuple[int, ...]) -> fxp.RescaleOp:
        """Build an fxp.rescale (without operands) that shifts left by `shift` bits: multiplier 2^shift, shift 0, exact."""
        properties = {
            "multiplier": _dense_int(np.asarray(1 << shift), self.options.multiplier_bits),
            "shift": IntegerAttr(0, i64),
            "saturate": self.saturate(),
        }
        properties.update(self.rounding_properties())
        result_type = TensorType(IntegerType(self.options.accumulator_bits), shape)
        return self.create(fxp.RescaleOp, name, properties, result_type)

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
            # A shifted input has a unit 2^shift times finer, so the result has the state unit.
            gain, accumulator_scale = plan.gain, plan.input_scale
            input_scale = plan.weight_inputs[op] / 2.0**plan.shift
        else:
            standalone = self.standalone_plan(op)
            gain, accumulator_scale, input_scale = np.ones(out_shape), standalone.accumulator_scale, standalone.input_scale
        channel_gain = self.channel_gain(op, gain, target)
        # One accumulator scale per output channel, shaped to multiply the weight rows.
        channel_scale = self.per_channel(op, accumulator_scale)
        weights = self.quantize_weights(op, channel_gain, channel_scale, input_scale)

        properties: dict[str, Attribute] = {
            "weight": _dense_int(weights, self.options.weight_bits),
            "weight_bits": IntegerAttr(self.options.weight_bits, i64),
            "weight_scale": _dense_f64(_compress(channel_scale / input_scale)),
            "input_scale": FloatAttr(input_scale, f64),
            "folded_gain": _dense_f64(_compress(channel_gain)),
            "saturate": self.saturate(),
        }
        if op.bias is not None:
            exact_bias = np.broadcast_to(snn.float_array(op.bias), channel_gain.shape)
            bias = round_half_away(exact_bias * channel_gain / channel_scale)
            low, high = signed_range(self.options.accumulator_bits)
            if bias.size and (bias.min() < low or bias.max() > high):
                raise self.error(op, f"the bias needs more than accumulator-bits={self.options.accumulator_bits} bits")
            nonzero_gain = np.where(channel_gain != 0, channel_gain, 1.0)
            approximate_bias = np.where(channel_gain != 0, bias * channel_scale / nonzero_gain, exact_bias)
            self.record(op.node_name.data, "bias", exact_bias, approximate_bias)
            properties["bias"] = _dense_int(bias, self.options.accumulator_bits)
        if isinstance(op, snn.Conv1dOp | snn.Conv2dOp):
            properties.update({"stride": op.stride, "padding": op.padding, "dilation": op.dilation, "groups": op.groups})
            op_class = fxp.Conv1dOp if isinstance(op, snn.Conv1dOp) else fxp.Conv2dOp
        else:
            op_class = fxp.AffineOp
        return self.create(op_class, op, properties, result_type)

    def quantize_weights(self, op: Operation, channel_gain: np.ndarray, channel_scale: np.ndarray, input_scale: float) -> np.ndarray:
        """Return the integer weights round(w·gain·input_scale / scale), clipped to weight-bits, and record their error.

        The rows are converted to float64 one block at a time, so that the peak memory is the
        integer result plus a few blocks, not several float64 copies of a large layer.
        """
        rows = self.weight_rows(op)
        gain_rows = channel_gain.reshape(-1, 1)
        scale_rows = np.broadcast_to(channel_scale, channel_gain.shape).reshape(-1, 1)
        integers = np.empty(rows.shape, dtype=np.dtype(f"<i{storage_bits(self.options.weight_bits) // 8}"))
        any_folded = any_nonzero = False
        max_error = magnitude = 0.0
        for block in _row_blocks(*rows.shape):
            exact = rows[block].astype(np.float64)
            gain, scale = gain_rows[block], scale_rows[block]
            folded = exact * gain
            quantized = np.clip(round_half_away(folded * input_scale / scale), -self.weight_max, self.weight_max)
            integers[block] = quantized
            any_folded = any_folded or bool(folded.any())
            any_nonzero = any_nonzero or bool(quantized.any())
            # Errors are measured on the NIR weights: the folded gain is divided back out where it is nonzero.
            nonzero_gain = np.where(gain != 0, gain, 1.0)
            approximate = np.where(gain != 0, quantized * scale / input_scale / nonzero_gain, exact)
            if exact.size:
                max_error = max(max_error, float(np.abs(approximate - exact).max()))
                magnitude = max(magnitude, float(np.abs(exact).max()))
        if any_folded and not any_nonzero:
            raise self.error(
                op,
                "every weight rounds to zero: the largest input it adds per step is below one unit of the "
                "target's state, whose unit is set by keeping the threshold within "
                f"{self.options.state_bits} state bits; raise "
                f"{option_hint('state-bits', 'quantize', 'lower-to-fixedpoint')}, or check that dt and the "
                "time constants use the same unit (dt=1 for time constants in steps)",
            )
        entry = self.report.record_maxima(self.graph_name, op.node_name.data, "weight", max_error, magnitude)
        self._errors[op.node_name.data]["weight"] = entry.max_rel_error
        return integers.reshape(numpy_from_dense(op.weight).shape)

    def state_integers(self, op: Operation, field: str, scale: np.ndarray, bits: int, option: str = "state-bits") -> np.ndarray:
        """Quantize a per-neuron voltage parameter to the state unit, record its error and check that it fits `bits`."""
        exact = op.coefficient(field)
        integers = round_half_away(exact / scale)
        self.record(op.node_name.data, field, exact, integers * scale)
        low, high = signed_range(bits)
        if integers.size and (integers.min() < low or integers.max() > high):
            raise self.error(
                op,
                f"'{field}' needs {int(np.abs(integers).max()).bit_length() + 1} bits in the state unit but "
                f"{option} is {bits}; raise {option}",
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
            properties["leak"] = _dense_int(self.state_integers(op, "leak", voltage_scale, bits), bits)
        if isinstance(op, SPIKING_OPS):
            max_spikes = op.max_spikes_per_step.value.data
            if self.options.spike_bits == 1 and max_spikes > 1:
                raise self.error(op, f"spike-bits=1 cannot count max_spikes_per_step={max_spikes}; use spike-bits=8")
            # Thresholds and reset values have threshold-bits, which only a chip with narrower
            # threshold registers sets below state-bits; the fxp op then states it.
            threshold_bits, option = self.options.threshold_width, "threshold-bits"
            if self.options.threshold_bits is None:
                option = "state-bits"
            else:
                properties["threshold_bits"] = IntegerAttr(threshold_bits, i64)
            for field in ("v_threshold", "v_reset"):
                integers = self.state_integers(op, field, voltage_scale, threshold_bits, option)
                properties[field] = _dense_int(integers, threshold_bits)
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


def _quantize_graph(
    graph: snn.GraphOp,
    options: QuantizeOptions,
    report: QuantizationReport,
    calibration: CalibrationSource | None,
) -> fxp.GraphOp:
    """Return the fxp graph of one snn graph after checking its ranges; with calibration data, measure its spikes."""
    inputs = graph_inputs(graph, calibration) if calibration is not None else None
    activity = record_activity(graph, inputs) if inputs is not None else None
    if inputs is not None:
        report.calibration_steps = next(iter(inputs.values())).shape[1]
    snn_ops = {op.node_name.data: op for op in graph.body.block.ops}
    fxp_graph = _GraphQuantizer(graph, options, report, activity).lower()

    # Inputs within input-min..input-max bound every value; a bound past its width is an error
    # unless the op saturates.
    bounds = analyze_ranges(fxp_graph, (options.input_min, options.input_max))
    report.ranges.extend(bounds)
    check_ranges(bounds, snn_ops.get)

    if inputs is not None and activity is not None:
        fxp_graph.verify()
        for node, agreement in spike_agreement(fxp_graph, inputs, activity).items():
            report.layer(node, graph.sym_name.data).agreement = agreement
    return fxp_graph


def quantize_module(
    module: ModuleOp,
    options: QuantizeOptions,
    calibration: CalibrationSource | None = None,
    pass_name: str = "quantize",
) -> QuantizationReport:
    """Replace every snn.graph of the module by its fxp.graph and return the report: errors, units and bounds.

    `calibration` (a file path or arrays, see `CalibrationSource`) is run through each float
    graph: with `calibrate`, its voltages and currents size the states, and the report gets the
    spike agreement of every spiking group. Raises DiagnosticError for invalid options, a node
    that cannot be quantized, a value that can exceed the width of an op that wraps, and a
    module whose graphs are all at another level. `pass_name` is the pass that option errors name.
    """
    options.validate(pass_name)
    if options.calibrate and calibration is None:
        raise DiagnosticError(
            f"{pass_name}: calibrate=true needs calibration data; give calibration-input=FILE, or "
            "--calibration-input FILE to nir-opt"
        )
    check_input_level(module, "quantize", "snn", "fxp")
    report = QuantizationReport()
    for graph in [op for op in module.ops if isinstance(op, snn.GraphOp)]:
        Rewriter.insert_op(_quantize_graph(graph, options, report, calibration), InsertPoint.before(graph))
        Rewriter.erase_op(graph)
    return report


@dataclass(frozen=True)
class QuantizePass(QuantizingPass):
    """Lower snn graphs to fixed-point fxp graphs; options set the number formats."""

    name = "quantize"

    def options(self) -> QuantizeOptions:
        """Return the validated number formats of this pass."""
        return self.quantize_options()

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        options = self.options()
        report = quantize_module(op, options, self.calibration_input, self.name)
        publish(report_document(report, self.name, options, self.calibration_input))
