"""The `fxp` dialect: discrete-time graphs in fixed point, with every integer rule explicit.

Values are signless integer tensors of explicit width (`tensor<38xi16>`; spike counts `i1` or
`i8`), read as two's complement. Spike counts are the exception: they are never negative, so an
`i1` spike is 0 or 1. Each real number is an integer times a scale in NIR units per
integer unit (f64). Graph inputs and outputs carry `scale`, and weight ops `weight_scale` and
`input_scale`. Neuron groups carry `voltage_scale` (NIR volts per unit, so that simulated traces
compare with NIR) and `current_scale`. A scale is one number or a tensor that broadcasts (numpy rules) to
the shape it describes. Integer parameters are stored in the smallest of i8, i16, i32 and i64
that fits their declared width, which the op names in a `*_bits` property.

The graph and schedule rules are those of the `snn` dialect: ops run in block order once per step,
and only `fxp.step_delay` and `fxp.delay` (at least one step) may be read before they are computed.

Integer arithmetic is exact (products and sums never lose bits) except where an op states otherwise:

* `R_s(p)`, rounding an integer p by s bits, depends on ``rounding``: ``nearest`` is
  `floor((p + 2^(s-1)) / 2^s)` (halves round up), ``toward_zero`` is `trunc(p / 2^s)`, ``floor`` is
  `floor(p / 2^s)` (an arithmetic shift), and ``stochastic`` is `floor(p / 2^s)` plus 1 with
  probability `(p mod 2^s) / 2^s`, drawn from a generator seeded with ``rounding_seed``.
  With s = 0 every mode returns p.
* `S_n(y)` brings y into n-bit two's complement: it clamps to `[-2^(n-1), 2^(n-1) - 1]` when the
  op's ``saturate`` flag is true, and wraps modulo 2^n otherwise.
* `D(s)` decays a neuron state s with the per-neuron integer k of ``decay_kind``:
  ``kept_fraction_q12`` gives `R_12(k·s)` (k in [0, 4096] is the kept fraction times 4096),
  ``lost_fraction_q12`` gives `s - R_12(k·s)` (k is the lost fraction times 4096), and ``shift``
  gives `s - R_k(s)` (k in [0, 62], so the lost fraction is 2^-k). If s ≠ 0 and
  `|s - D(s)| < decay_min_step`, the state moves `decay_min_step` toward zero instead, stopping
  at zero (1 models chips that never let a decay stall, 0 disables this).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    BoolAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    Float64Type,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Dialect
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import IsolatedFromAbove, NoTerminator, SymbolOpInterface
from xdsl.utils.exceptions import VerifyException

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.dialects.snn import (
    CURRENT_TIMINGS,
    RESETS,
    SPIKE_TESTS,
    SPIKE_TIMINGS,
    Shape,
    check_choice,
    flatten_output_shape,
    pool_output_shape,
    tensor_shape,
    verify_conv_shapes,
    verify_stepped_graph,
)

DECAY_KINDS = ("kept_fraction_q12", "lost_fraction_q12", "shift")
ROUNDINGS = ("nearest", "toward_zero", "floor", "stochastic")
Q12_ONE = 4096
"""The 12-bit fixed-point one: a decay multiplier k stands for k / 4096."""
MAX_SHIFT = 62


def integer_width(type_attr: Attribute) -> int:
    """Return the element width of an integer tensor type; raise VerifyException for any other type."""
    if not isinstance(type_attr, TensorType) or not isinstance(type_attr.get_element_type(), IntegerType):
        raise VerifyException(f"expected an integer tensor type, got {type_attr}")
    return type_attr.get_element_type().width.data


def signed_range(bits: int) -> tuple[int, int]:
    """Return the smallest and largest value of a signed two's complement integer of `bits` bits."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def int_array(label: str, field: str, attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """Return an integer dense attribute as a read-only view in its stored dtype; raise VerifyException for float data.

    The verifiers only compare and take extremes, so no int64 copy is made: for 1e8 int8
    weights that copy cost 800 MB and most of the verification time.
    """
    array = numpy_from_dense(attr)
    if array.dtype.kind not in "iu":
        raise VerifyException(f"{label}: '{field}' must be an integer tensor, got {attr.type}")
    return array


def scale_array(label: str, field: str, attr: DenseIntOrFPElementsAttr, shape: Shape) -> np.ndarray:
    """Return a scale tensor as float64; raise VerifyException unless it is positive, finite and broadcasts to `shape`."""
    if not isinstance(attr.get_element_type(), Float64Type):
        raise VerifyException(f"{label}: '{field}' must be an f64 tensor, got {attr.type}")
    values = numpy_from_dense(attr)
    try:
        np.broadcast_to(values, shape)
    except ValueError:
        raise VerifyException(
            f"{label}: '{field}' has shape {list(values.shape)}, which does not broadcast to {list(shape)}"
        ) from None
    if not np.isfinite(values).all() or (values <= 0).any():
        raise VerifyException(f"{label}: '{field}' must hold positive finite numbers")
    return values


def check_fits(label: str, field: str, values: np.ndarray, bits: int) -> None:
    """Raise VerifyException unless every value fits a signed integer of `bits` bits."""
    low, high = signed_range(bits)
    if values.size and (values.min() < low or values.max() > high):
        raise VerifyException(
            f"{label}: '{field}' has values in [{values.min()}, {values.max()}], outside the {bits}-bit range "
            f"[{low}, {high}]"
        )


def check_bits(label: str, field: str, value: IntegerAttr, low: int, high: int) -> int:
    bits = value.value.data
    if not low <= bits <= high:
        raise VerifyException(f"{label}: '{field}' is {bits}; expected {low} to {high}")
    return bits


# --------------------------------------------------------------------------------------
# Graph structure
# --------------------------------------------------------------------------------------


class FXPNodeOp(IRDLOperation):
    """Base of every fxp op that stands for a NIR node (or a delay the lowering added)."""

    ASSEMBLY_FORM: ClassVar[str] = "node"

    node_name = prop_def(StringAttr)

    @property
    def label(self) -> str:
        """The op name and node name, as diagnostics print them."""
        return f"'{self.name}' op node '{self.node_name.data}'"

    def common_input_shape(self) -> Shape | None:
        """Return the shape shared by all integer operands, or None without operands; raise if they differ."""
        if not self.operands:
            return None
        shape = tensor_shape(self.operands[0].type)
        for index, operand in enumerate(self.operands):
            integer_width(operand.type)
            if tensor_shape(operand.type) != shape:
                raise VerifyException(
                    f"{self.label}: operand {index} has type {operand.type} but operand 0 has shape {list(shape)}; "
                    "every edge into a node must carry the same shape, because the node sums them"
                )
        return shape

    def result_shape(self) -> Shape:
        integer_width(self.results[0].type)
        return tensor_shape(self.results[0].type)

    def check_input_shape(self, expected: Shape) -> None:
        actual = self.common_input_shape()
        if actual is not None and actual != expected:
            raise VerifyException(f"{self.label}: the input has shape {list(actual)} but the op expects {list(expected)}")

    def check_result_shape(self, expected: Shape) -> None:
        actual = self.result_shape()
        if actual != expected:
            raise VerifyException(f"{self.label}: the result has shape {list(actual)} but the op gives {list(expected)}")

    def check_rounding(self) -> None:
        """Check ``rounding`` and that ``rounding_seed`` is present exactly when it is stochastic."""
        check_choice(self.label, "rounding", self.properties["rounding"], ROUNDINGS)
        stochastic = self.properties["rounding"].data == "stochastic"
        if stochastic != ("rounding_seed" in self.properties):
            raise VerifyException(f"{self.label}: 'rounding_seed' must be given exactly when rounding is 'stochastic'")


def is_delayed(op: IRDLOperation) -> bool:
    """Return whether the output of `op` at step t depends only on steps before t."""
    if isinstance(op, StepDelayOp):
        return op.steps.value.data >= 1
    if isinstance(op, DelayOp):
        steps = numpy_from_dense(op.steps)
        return steps.size > 0 and int(steps.min()) >= 1
    return False


@irdl_op_definition
class GraphOp(IRDLOperation):
    """A fixed-point graph: node ops in schedule order, stepped every `dt` seconds."""

    name = "fxp.graph"
    ASSEMBLY_FORM: ClassVar[str] = "graph"

    sym_name = prop_def(StringAttr)
    dt = prop_def(FloatAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator(), SymbolOpInterface(), IsolatedFromAbove())

    def verify_(self) -> None:
        verify_stepped_graph(self, FXPNodeOp, is_delayed)


@irdl_op_definition
class InputOp(FXPNodeOp):
    """Graph input: `y[t]` is the external data of step t, one unit being `scale` NIR units."""

    name = "fxp.input"

    output = result_def(TensorType)
    scale = prop_def(FloatAttr)

    def verify_(self) -> None:
        self.result_shape()
        if not np.isfinite(self.scale.value.data) or self.scale.value.data <= 0:
            raise VerifyException(f"{self.label}: 'scale' must be a positive finite number")


@irdl_op_definition
class OutputOp(FXPNodeOp):
    """Graph output: records the exact sum of the operands at every step; a unit is `scale` NIR units."""

    name = "fxp.output"

    inputs = var_operand_def(TensorType)
    scale = prop_def(DenseIntOrFPElementsAttr)

    def verify_(self) -> None:
        shape = self.common_input_shape()
        if shape is None:
            raise VerifyException(f"{self.label}: an output needs at least one operand")
        scale_array(self.label, "scale", self.scale, shape)


# --------------------------------------------------------------------------------------
# Synapses
# --------------------------------------------------------------------------------------


class WeightOp(FXPNodeOp):
    """Shared properties of affine and conv ops.

    One unit of result channel o is `input_scale·weight_scale[o]` NIR units, and the integer
    weights approximate the NIR weights times `folded_gain`: `W_int[o]·weight_scale[o] ≈
    folded_gain[o]·W[o]`. The folded gain is the per-step input gain of the neuron group that
    the op feeds (1 when it feeds no neuron), so the result adds straight into that group's state.
    """

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    weight = prop_def(DenseIntOrFPElementsAttr)
    weight_bits = prop_def(IntegerAttr)
    weight_scale = prop_def(DenseIntOrFPElementsAttr)
    input_scale = prop_def(FloatAttr)
    folded_gain = prop_def(DenseIntOrFPElementsAttr)
    bias = opt_prop_def(DenseIntOrFPElementsAttr)
    saturate = prop_def(BoolAttr)

    def verify_channels(self, channel_shape: Shape) -> None:
        """Check weights, scales and bias against the output channel shape."""
        bits = check_bits(self.label, "weight_bits", self.weight_bits, 2, 32)
        check_fits(self.label, "weight", int_array(self.label, "weight", self.weight), bits)
        for field in ("weight_scale", "folded_gain"):
            values = numpy_from_dense(self.properties[field])
            if values.shape not in ((), channel_shape):
                raise VerifyException(
                    f"{self.label}: '{field}' has shape {list(values.shape)}; expected [] or {list(channel_shape)}"
                )
            scale_array(self.label, field, self.properties[field], channel_shape)
        scale = self.input_scale.value.data
        if not isinstance(self.input_scale.type, Float64Type) or not np.isfinite(scale) or scale <= 0:
            raise VerifyException(f"{self.label}: 'input_scale' must be a positive finite f64")
        if self.bias is not None:
            bias = int_array(self.label, "bias", self.bias)
            if bias.shape != channel_shape:
                raise VerifyException(f"{self.label}: 'bias' has shape {list(bias.shape)}; expected {list(channel_shape)}")
            check_fits(self.label, "bias", bias, integer_width(self.output.type))


@irdl_op_definition
class AffineOp(WeightOp):
    """Integer affine map over the last axis: `y[o] = S_n(Σ_i W_int[o,i]·x[i] + b_int[o])`.

    The sum is exact; S_n applies once, to the result width n. Without a bias, b_int = 0.
    """

    name = "fxp.affine"

    def verify_(self) -> None:
        weight = tuple(self.weight.get_shape())
        if len(weight) < 2:
            raise VerifyException(f"{self.label}: 'weight' has shape {list(weight)}; it needs (..., out, in)")
        self.check_input_shape(weight[:-2] + (weight[-1],))
        out_shape = weight[:-2] + (weight[-2],)
        self.check_result_shape(out_shape)
        self.verify_channels(out_shape)


class _ConvOp(WeightOp):
    SPATIAL_RANK: ClassVar[int] = 0

    stride = prop_def(DenseArrayBase)
    padding = prop_def(DenseArrayBase)
    dilation = prop_def(DenseArrayBase)
    groups = prop_def(IntegerAttr)

    def verify_(self) -> None:
        weight = verify_conv_shapes(self)
        self.verify_channels((weight[0],))


@irdl_op_definition
class Conv1dOp(_ConvOp):
    """Integer 1-D cross-correlation: `y[co,i] = S_n(b_int[co] + Σ W_int[co,ci,k]·x_pad[ci, i·s + k·d])`, exact sum."""

    name = "fxp.conv1d"
    SPATIAL_RANK: ClassVar[int] = 1


@irdl_op_definition
class Conv2dOp(_ConvOp):
    """Integer 2-D cross-correlation:
    `y[co,i,j] = S_n(b_int[co] + Σ W_int[co,ci,a,b]·x_pad[ci, i·sh + a·dh, j·sw + b·dw])`, exact sum."""

    name = "fxp.conv2d"
    SPATIAL_RANK: ClassVar[int] = 2


@irdl_op_definition
class SumPool2dOp(FXPNodeOp):
    """Integer sum pooling with zero padding: `y[c,i,j] = S_n(Σ_{a<kh, b<kw} x_pad[c, i·sh + a, j·sw + b])`.

    The result has the input's scale. An NIR average pool lowers to this op, with its output
    scale divided by kh·kw, which is exact.
    """

    name = "fxp.sum_pool2d"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    kernel_size = prop_def(DenseArrayBase)
    stride = prop_def(DenseArrayBase)
    padding = prop_def(DenseArrayBase)
    saturate = prop_def(BoolAttr)

    def verify_(self) -> None:
        input_shape = self.common_input_shape()
        if input_shape is None:
            raise VerifyException(f"{self.label}: a pool needs at least one operand")
        try:
            out_shape = pool_output_shape(
                input_shape,
                ints_from_array(self.kernel_size),
                ints_from_array(self.stride),
                ints_from_array(self.padding),
            )
        except ValueError as error:
            raise VerifyException(f"{self.label}: {error}") from error
        self.check_result_shape(out_shape)


@irdl_op_definition
class FlattenOp(FXPNodeOp):
    """Row-major reshape merging dims `start_dim..end_dim` (inclusive); values and element type are unchanged."""

    name = "fxp.flatten"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    start_dim = prop_def(IntegerAttr)
    end_dim = prop_def(IntegerAttr)

    def verify_(self) -> None:
        input_shape = self.common_input_shape()
        if input_shape is None:
            raise VerifyException(f"{self.label}: a flatten needs at least one operand")
        try:
            out_shape = flatten_output_shape(input_shape, self.start_dim.value.data, self.end_dim.value.data)
        except ValueError as error:
            raise VerifyException(f"{self.label}: {error}") from error
        self.check_result_shape(out_shape)
        if self.operands and self.output.type.get_element_type() != self.operands[0].type.get_element_type():
            raise VerifyException(f"{self.label}: a flatten keeps the element type of its input")


@irdl_op_definition
class RescaleOp(FXPNodeOp):
    """Change of unit: `y = S_n(R_shift(m ⊙ x))`, with x the exact sum of the operands.

    `m` is an integer multiplier that broadcasts to the input shape and `shift` a right shift
    of at least 0 bits, so y ≈ x·m/2^shift. An NIR scale node and every edge into a neuron group
    that does not come from a weight op lower to this op.
    """

    name = "fxp.rescale"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    multiplier = prop_def(DenseIntOrFPElementsAttr)
    shift = prop_def(IntegerAttr)
    rounding = prop_def(StringAttr)
    rounding_seed = opt_prop_def(IntegerAttr)
    saturate = prop_def(BoolAttr)

    def verify_(self) -> None:
        shape = self.result_shape()
        self.check_input_shape(shape)
        multiplier = int_array(self.label, "multiplier", self.multiplier)
        try:
            np.broadcast_to(multiplier, shape)
        except ValueError:
            raise VerifyException(
                f"{self.label}: 'multiplier' has shape {list(multiplier.shape)}, which does not broadcast to "
                f"{list(shape)}"
            ) from None
        if not 0 <= self.shift.value.data <= MAX_SHIFT:
            raise VerifyException(f"{self.label}: 'shift' is {self.shift.value.data}; expected 0 to {MAX_SHIFT}")
        self.check_rounding()


@irdl_op_definition
class ThresholdOp(FXPNodeOp):
    """Stateless spike test on integers: `y = 1 if x > θ_int else 0` (``gt``), or `x ≥ θ_int` (``ge``)."""

    name = "fxp.threshold"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    threshold = prop_def(DenseIntOrFPElementsAttr)
    spike_test = prop_def(StringAttr)

    def verify_(self) -> None:
        check_choice(self.label, "spike_test", self.spike_test, SPIKE_TESTS)
        shape = tuple(self.threshold.get_shape())
        self.check_input_shape(shape)
        self.check_result_shape(shape)
        int_array(self.label, "threshold", self.threshold)


@irdl_op_definition
class DelayOp(FXPNodeOp):
    """Element-wise delay by an integer number of steps: `y[t] = x[t - k]`, and 0 for t < k."""

    name = "fxp.delay"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    steps = prop_def(DenseIntOrFPElementsAttr)

    def verify_(self) -> None:
        shape = tuple(self.steps.get_shape())
        self.check_input_shape(shape)
        self.check_result_shape(shape)
        if (int_array(self.label, "steps", self.steps) < 0).any():
            raise VerifyException(f"{self.label}: 'steps' must hold non-negative integers")
        if self.operands and self.operands[0].type != self.output.type:
            raise VerifyException(f"{self.label}: a delay keeps the type of its input")


@irdl_op_definition
class StepDelayOp(FXPNodeOp):
    """Delay by `steps` steps: `y[t] = x[t - steps]`, and 0 for t < steps."""

    name = "fxp.step_delay"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    steps = prop_def(IntegerAttr)

    def verify_(self) -> None:
        if self.steps.value.data < 1:
            raise VerifyException(f"{self.label}: 'steps' is {self.steps.value.data}; expected at least 1")
        self.check_input_shape(self.result_shape())
        if self.operands and self.operands[0].type != self.output.type:
            raise VerifyException(f"{self.label}: a delay keeps the type of its input")


# --------------------------------------------------------------------------------------
# Neuron groups
# --------------------------------------------------------------------------------------


class NeuronOp(FXPNodeOp):
    """Base of the integer neuron groups.

    The operands are already in the unit of the state they feed (the voltage, or the current of
    current-based groups): `x` below is their exact sum. `S_V` brings a voltage into
    `voltage_bits`, saturating when `voltage_saturate` is true.
    """

    DECAYS: ClassVar[tuple[str, ...]] = ()
    PER_NEURON: ClassVar[tuple[str, ...]] = ()

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    voltage_scale = prop_def(DenseIntOrFPElementsAttr)
    voltage_bits = prop_def(IntegerAttr)
    voltage_saturate = prop_def(BoolAttr)

    def verify_(self) -> None:
        shape = self.result_shape()
        self.check_input_shape(shape)
        scale_array(self.label, "voltage_scale", self.voltage_scale, shape)
        bits = check_bits(self.label, "voltage_bits", self.voltage_bits, 2, 64)
        for field in self.PER_NEURON:
            values = int_array(self.label, field, self.properties[field])
            if values.shape != shape:
                raise VerifyException(
                    f"{self.label}: '{field}' has shape {list(values.shape)} but the neurons have shape {list(shape)}"
                )
            if field not in self.DECAYS:
                check_fits(self.label, field, values, bits)
        if self.DECAYS:
            self.verify_decays()

    def verify_decays(self) -> None:
        check_choice(self.label, "decay_kind", self.properties["decay_kind"], DECAY_KINDS)
        self.check_rounding()
        if self.properties["decay_min_step"].value.data < 0:
            raise VerifyException(f"{self.label}: 'decay_min_step' must be at least 0")
        high = MAX_SHIFT if self.properties["decay_kind"].data == "shift" else Q12_ONE
        for field in self.DECAYS:
            values = int_array(self.label, field, self.properties[field])
            if values.size and (values.min() < 0 or values.max() > high):
                raise VerifyException(
                    f"{self.label}: '{field}' has values in [{values.min()}, {values.max()}]; decay kind "
                    f"'{self.properties['decay_kind'].data}' needs 0 to {high}"
                )


class DecayingNeuronOp(NeuronOp):
    """A neuron group whose states decay by `D`, with its rounding."""

    decay_kind = prop_def(StringAttr)
    decay_min_step = prop_def(IntegerAttr)
    rounding = prop_def(StringAttr)
    rounding_seed = opt_prop_def(IntegerAttr)


class SpikingNeuronOp(NeuronOp):
    """A neuron group whose result is spike counts, with integer threshold and reset values.

    The optional `threshold_bits` states a narrower signed width of v_threshold and v_reset (a
    chip's threshold register); without it they have voltage_bits.
    """

    v_threshold = prop_def(DenseIntOrFPElementsAttr)
    v_reset = prop_def(DenseIntOrFPElementsAttr)
    threshold_bits = opt_prop_def(IntegerAttr)
    spike_test = prop_def(StringAttr)
    spike_timing = prop_def(StringAttr)
    reset = prop_def(StringAttr)
    max_spikes_per_step = prop_def(IntegerAttr)

    def verify_(self) -> None:
        super().verify_()
        if self.threshold_bits is not None:
            bits = check_bits(self.label, "threshold_bits", self.threshold_bits, 2, self.voltage_bits.value.data)
            for field in ("v_threshold", "v_reset"):
                check_fits(self.label, field, int_array(self.label, field, self.properties[field]), bits)
        check_choice(self.label, "spike_test", self.spike_test, SPIKE_TESTS)
        check_choice(self.label, "spike_timing", self.spike_timing, SPIKE_TIMINGS)
        check_choice(self.label, "reset", self.reset, RESETS)
        max_spikes = self.max_spikes_per_step.value.data
        _, type_max = signed_range(integer_width(self.output.type))
        if integer_width(self.output.type) == 1:
            type_max = 1
        if not 1 <= max_spikes <= type_max:
            raise VerifyException(
                f"{self.label}: 'max_spikes_per_step' is {max_spikes}, which the result type {self.output.type} "
                "cannot count"
            )
        threshold = int_array(self.label, "v_threshold", self.v_threshold)
        if max_spikes > 1 and (threshold <= 0).any():
            raise VerifyException(f"{self.label}: more than one spike per step needs a positive 'v_threshold'")


class StateNeuronOp(NeuronOp):
    """A non-spiking neuron group: the result is the voltage, of width voltage_bits."""

    def verify_(self) -> None:
        super().verify_()
        if integer_width(self.output.type) != self.voltage_bits.value.data:
            raise VerifyException(
                f"{self.label}: the result type {self.output.type} must have voltage_bits "
                f"({self.voltage_bits.value.data}) bits, because the result is the voltage"
            )


class CurrentNeuronOp(NeuronOp):
    """A neuron group with a current state `i`, in units of `current_scale`, brought into
    `current_bits` by `S_I` (saturating when `current_saturate` is true)."""

    current_scale = prop_def(DenseIntOrFPElementsAttr)
    current_bits = prop_def(IntegerAttr)
    current_saturate = prop_def(BoolAttr)
    current_timing = prop_def(StringAttr)

    def verify_(self) -> None:
        super().verify_()
        scale_array(self.label, "current_scale", self.current_scale, self.result_shape())
        check_bits(self.label, "current_bits", self.current_bits, 2, 64)
        check_choice(self.label, "current_timing", self.current_timing, CURRENT_TIMINGS)


@irdl_op_definition
class LIFOp(SpikingNeuronOp, DecayingNeuronOp):
    """Integer LIF: `u = S_V(D(v[t-1]) + x + leak)`.

    The spike count z is `s > v_threshold` (``gt``) or `s ≥ v_threshold` (``ge``), with s = u
    (``after_update``) or s = v[t-1] (``before_update``); with `max_spikes_per_step` m > 1, z
    counts how often v_threshold can be subtracted from s while the test holds, up to m. Then
    `v[t] = v_reset` where z > 0 (``to_reset_value``), `v[t] = S_V(u - z·v_threshold)`
    (``subtract``), or `v[t] = u` (``none``). An IF neuron has voltage_decay 4096 in
    ``kept_fraction_q12`` (D(v) = v).
    """

    name = "fxp.lif"
    DECAYS: ClassVar[tuple[str, ...]] = ("voltage_decay",)
    PER_NEURON: ClassVar[tuple[str, ...]] = ("voltage_decay", "leak", "v_threshold", "v_reset")

    voltage_decay = prop_def(DenseIntOrFPElementsAttr)
    leak = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class CubaLIFOp(SpikingNeuronOp, CurrentNeuronOp, DecayingNeuronOp):
    """Integer current-based LIF: `i[t] = S_I(D(i[t-1]) + x)`, then
    `u = S_V(D(v[t-1]) + i_used + leak)`, where `i_used` is `i[t]` (``same_step``) or `i[t-1]`
    (``previous_step``). Spike count and reset follow fxp.lif; spikes never reset the current.

    `voltage_scale = voltage_gain·current_scale` of the snn op, so the current adds to the
    voltage without a multiplier.
    """

    name = "fxp.cuba_lif"
    DECAYS: ClassVar[tuple[str, ...]] = ("current_decay", "voltage_decay")
    PER_NEURON: ClassVar[tuple[str, ...]] = ("current_decay", "voltage_decay", "leak", "v_threshold", "v_reset")

    current_decay = prop_def(DenseIntOrFPElementsAttr)
    voltage_decay = prop_def(DenseIntOrFPElementsAttr)
    leak = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class LIOp(StateNeuronOp, DecayingNeuronOp):
    """Integer leaky integrator: `v[t] = S_V(D(v[t-1]) + x + leak)`; the result is v[t]."""

    name = "fxp.li"
    DECAYS: ClassVar[tuple[str, ...]] = ("voltage_decay",)
    PER_NEURON: ClassVar[tuple[str, ...]] = ("voltage_decay", "leak")

    voltage_decay = prop_def(DenseIntOrFPElementsAttr)
    leak = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class CubaLIOp(StateNeuronOp, CurrentNeuronOp, DecayingNeuronOp):
    """Integer current-based leaky integrator: `i[t] = S_I(D(i[t-1]) + x)` and
    `v[t] = S_V(D(v[t-1]) + i_used + leak)`, with `i_used` as in fxp.cuba_lif; the result is v[t]."""

    name = "fxp.cuba_li"
    DECAYS: ClassVar[tuple[str, ...]] = ("current_decay", "voltage_decay")
    PER_NEURON: ClassVar[tuple[str, ...]] = ("current_decay", "voltage_decay", "leak")

    current_decay = prop_def(DenseIntOrFPElementsAttr)
    voltage_decay = prop_def(DenseIntOrFPElementsAttr)
    leak = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class IntegratorOp(StateNeuronOp):
    """Integer integrator without leak: `v[t] = S_V(v[t-1] + x)`; the result is v[t]."""

    name = "fxp.integrator"


NODE_OPS: tuple[type[FXPNodeOp], ...] = (
    InputOp,
    OutputOp,
    AffineOp,
    Conv1dOp,
    Conv2dOp,
    SumPool2dOp,
    FlattenOp,
    RescaleOp,
    ThresholdOp,
    DelayOp,
    StepDelayOp,
    LIFOp,
    CubaLIFOp,
    LIOp,
    CubaLIOp,
    IntegratorOp,
)

FXP = Dialect("fxp", [GraphOp, *NODE_OPS], [])
