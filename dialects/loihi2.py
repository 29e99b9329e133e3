"""The `loihi2` dialect: lava-dl netx layers for Intel Loihi 2, with register values as attributes.

A `loihi2.graph` is a chain of netx layers run once per step: one `loihi2.input`, then layers
that each read the previous layer's spikes, then one `loihi2.output`. Values are spike tensors
(`i1`). A layer op is a synapse (Lava's `Dense` or `Conv` process) feeding a neuron group
(Lava's `LIF` process, netx neuron type CUBA). Recurrence lives inside `loihi2.dense_rec`, so
the graph itself has no cycles.

Per step t, with s the layer's input spikes and z its own spikes, a dense layer computes

    a[o] = E(Σ_i W[o,i]·s[t-1-delay[o,i]]) (+ E(Σ_j W_rec[o,j]·z[t-1]) for dense_rec)
    u = wrap24(trunc0(u·(4096 - i_decay) / 4096) + (a << 6))
    v = clip24(trunc0(v·(4096 - v_decay) / 4096) + u + (bias << 6))
    z = v > (vth_mant << 6), and v = 0 where z

`E(x)` applies `weight_exp`: `x << e` for e ≥ 0, `x >> -e` (floor) otherwise. `trunc0` rounds
toward zero. `wrap24` maps u > 2^23 to u - 2^24 and u ≤ -2^23 to u + 2^24, and `clip24` clamps v
to ±(2^23 - 1), as Lava 0.10's bit-accurate `PyLifModelBitAcc` and `PyDenseModelBitAcc` do. Every
synapse adds one step of delay, because Lava's Dense sends the sum it accumulated on the previous
step. A conv layer does the same with a cross-correlation in place of the matrix product.

`i_decay` and `v_decay` are netx's `iDecay` and `vDecay`, the fraction of the state lost per step
times 4096. Lava's `du` is `i_decay - 1` (Lava adds the 1 back), and `dv` is `v_decay`. The
attribute `voltage_scale` is no register: it states NIR volts per unit of v, so that simulated
traces compare with NIR.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    Float64Type,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Dialect
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
from nirmlir.dialects.snn import Shape, conv_output_shape, flatten_output_shape, tensor_shape, verify_stepped_graph

DECAY_ONE = 4096
"""iDecay and vDecay are fractions of 4096 (12-bit decays, plus Lava's offset bit that reaches 4096)."""
MAX_VTH_MANT = (1 << 17) - 1
"""vThMant is an unsigned 17-bit mantissa; the threshold is vThMant << 6."""
BIAS_RANGE = (-(1 << 12), (1 << 12) - 1)
"""bias_mant is a signed 13-bit mantissa; netx fixes bias_exp at 6."""
WEIGHT_EXP_RANGE = (-8, 7)
"""weight_exp is a signed 4-bit field of Lava's bit-accurate Dense model."""
MAX_DELAY = 62
"""netx clamps synaptic delays to 0..62 steps."""
STATE_BITS = 24
VTH_SHIFT = 6
"""The threshold, the synaptic input and the bias are shifted left by 6 bits (MSB alignment)."""
SIGN_RANGES = {
    "excitatory": (0, 255),
    "inhibitory": (-255, 0),
    "mixed": (-256, 254),
}
"""The mantissa range of each sign mode of Lava's Dense: one signed value of 8 bits plus a sign, or
9 bits two's complement for mixed signs, whose lowest bit Lava drops (mixed weights are even)."""


def sign_mode(weights: np.ndarray) -> str:
    """Return Lava's sign mode of a weight matrix: excitatory if none is negative, inhibitory if none is positive."""
    if weights.size == 0 or weights.min() >= 0:
        return "excitatory"
    if weights.max() <= 0:
        return "inhibitory"
    return "mixed"


def dropped_bits(mode: str, num_weight_bits: int) -> int:
    """Return how many low bits of a mantissa Lava's Dense clears for a sign mode and weight width."""
    return 8 - num_weight_bits + (1 if mode == "mixed" else 0)


def check_range(label: str, field: str, value: int, low: int, high: int, fix: str) -> None:
    if not low <= value <= high:
        distance = low - value if value < low else value - high
        raise VerifyException(
            f"{label}: '{field}' is {value}, {distance} outside the Loihi 2 range [{low}, {high}]; {fix}"
        )


class Loihi2NodeOp(IRDLOperation):
    """Base of every loihi2 op inside a graph: it keeps the NIR node name it came from."""

    ASSEMBLY_FORM: ClassVar[str] = "node"

    node_name = prop_def(StringAttr)

    @property
    def label(self) -> str:
        return f"'{self.name}' op node '{self.node_name.data}'"

    def spike_shape(self, value) -> Shape:
        """Return the shape of a spike tensor; raise VerifyException unless its elements are i1."""
        element = value.type.get_element_type() if isinstance(value.type, TensorType) else None
        if not isinstance(element, IntegerType) or element.width.data != 1:
            raise VerifyException(f"{self.label}: expected a spike tensor of i1, got {value.type}")
        return tensor_shape(value.type)

    def single_input_shape(self) -> Shape:
        if len(self.operands) != 1:
            raise VerifyException(
                f"{self.label}: a netx layer reads exactly one layer, got {len(self.operands)} operands; "
                "netx has no concatenation"
            )
        return self.spike_shape(self.operands[0])


@irdl_op_definition
class GraphOp(IRDLOperation):
    """A netx network: layer ops in execution order, stepped every `dt` seconds."""

    name = "loihi2.graph"
    ASSEMBLY_FORM: ClassVar[str] = "graph"

    sym_name = prop_def(StringAttr)
    dt = prop_def(FloatAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator(), SymbolOpInterface(), IsolatedFromAbove())

    def verify_(self) -> None:
        verify_stepped_graph(self, Loihi2NodeOp, lambda op: False)
        label = f"'{self.name}' op @{self.sym_name.data}"
        ops = list(self.body.block.ops)
        inputs = [op for op in ops if isinstance(op, InputOp)]
        if len(inputs) != 1:
            raise VerifyException(f"{label}: a netx network has exactly one loihi2.input, found {len(inputs)}")
        for op in ops:
            readers = sum(1 for _ in op.results[0].uses) if op.results else 0
            if readers > 1:
                raise VerifyException(
                    f"{label}: node '{op.node_name.data}' feeds {readers} ops; netx layers form a chain, so each "
                    "layer feeds at most one"
                )


@irdl_op_definition
class InputOp(Loihi2NodeOp):
    """The netx input layer (no neuron group): its spikes at step t are the external data of step t."""

    name = "loihi2.input"

    output = result_def(TensorType)

    def verify_(self) -> None:
        self.spike_shape(self.output)


@irdl_op_definition
class OutputOp(Loihi2NodeOp):
    """Records the spikes of the last layer (netx `Network.out`)."""

    name = "loihi2.output"

    inputs = var_operand_def(TensorType)

    def verify_(self) -> None:
        self.single_input_shape()


@irdl_op_definition
class FlattenOp(Loihi2NodeOp):
    """The netx flatten layer: a row-major (C, H, W) reshape of spikes, with no delay."""

    name = "loihi2.flatten"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)

    def verify_(self) -> None:
        shape = self.single_input_shape()
        expected = flatten_output_shape(shape, 0, -1)
        if self.spike_shape(self.output) != expected:
            raise VerifyException(f"{self.label}: the result must have shape {list(expected)}, got {self.output.type}")


class LayerOp(Loihi2NodeOp):
    """A synapse with weight mantissas, exponent and width, feeding a CUBA neuron group."""

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    weight = prop_def(DenseIntOrFPElementsAttr)
    weight_exp = prop_def(IntegerAttr)
    num_weight_bits = prop_def(IntegerAttr)
    i_decay = prop_def(IntegerAttr)
    v_decay = prop_def(IntegerAttr)
    vth_mant = prop_def(IntegerAttr)
    bias = opt_prop_def(DenseIntOrFPElementsAttr)
    voltage_scale = prop_def(DenseIntOrFPElementsAttr)

    def int_field(self, field: str) -> np.ndarray:
        array = numpy_from_dense(self.properties[field])
        if array.dtype.kind not in "iu":
            raise VerifyException(f"{self.label}: '{field}' must be an integer tensor, got {self.properties[field].type}")
        return array.astype(np.int64)

    def weight_matrices(self) -> list[tuple[str, np.ndarray]]:
        return [("weight", self.int_field("weight"))]

    def verify_weights(self) -> None:
        """Check the mantissas against the sign mode and width that Lava's Dense applies to them."""
        bits = self.num_weight_bits.value.data
        check_range(self.label, "num_weight_bits", bits, 1, 8, "Lava's Dense stores at most 8 weight bits")
        low, high = WEIGHT_EXP_RANGE
        check_range(self.label, "weight_exp", self.weight_exp.value.data, low, high, "rescale the layer")
        matrices = self.weight_matrices()
        # netx optimizes a dense_rec layer's two matrices together: one sign mode, width and exponent.
        mode = sign_mode(np.concatenate([matrix.reshape(-1) for _, matrix in matrices]))
        low, high = SIGN_RANGES[mode]
        step = 1 << dropped_bits(mode, bits)
        for field, matrix in matrices:
            if matrix.size and (matrix.min() < low or matrix.max() > high):
                worst = matrix.min() if matrix.min() < low else matrix.max()
                raise VerifyException(
                    f"{self.label}: '{field}' has mantissa {worst}, outside the {mode} range [{low}, {high}] of "
                    "Lava's Dense; halve the mantissas and raise 'weight_exp' by 1"
                )
            if (matrix % step).any():
                odd = int(matrix[(matrix % step) != 0][0])
                raise VerifyException(
                    f"{self.label}: '{field}' has mantissa {odd}, which is not a multiple of {step}; Lava keeps only "
                    f"{bits} weight bits in {mode} sign mode and would drop its low bits. Round the mantissas "
                    "to multiples of it or raise 'num_weight_bits'"
                )

    def verify_neuron(self, neuron_shape: Shape, bias_shapes: tuple[Shape, ...]) -> None:
        for field in ("i_decay", "v_decay"):
            check_range(self.label, field, self.properties[field].value.data, 0, DECAY_ONE, "decays are fractions of 4096")
        check_range(
            self.label, "vth_mant", self.vth_mant.value.data, 0, MAX_VTH_MANT,
            "lower the layer's voltage scale",
        )
        if self.bias is not None:
            bias = self.int_field("bias")
            if bias.shape not in bias_shapes:
                raise VerifyException(
                    f"{self.label}: 'bias' has shape {list(bias.shape)}; expected "
                    + " or ".join(str(list(shape)) for shape in bias_shapes)
                )
            low, high = BIAS_RANGE
            if bias.size and (bias.min() < low or bias.max() > high):
                worst = int(bias.min() if bias.min() < low else bias.max())
                check_range(self.label, "bias", worst, low, high, "lower the layer's voltage scale")
        scale_type = self.voltage_scale.get_element_type()
        scale = numpy_from_dense(self.voltage_scale)
        if not isinstance(scale_type, Float64Type) or scale.shape not in ((), neuron_shape):
            raise VerifyException(
                f"{self.label}: 'voltage_scale' must be an f64 tensor of shape [] or {list(neuron_shape)}, "
                f"got {self.voltage_scale.type}"
            )
        if not np.isfinite(scale).all() or (scale <= 0).any():
            raise VerifyException(f"{self.label}: 'voltage_scale' must hold positive finite numbers")


class DenseLayerOp(LayerOp):
    """Shared checks of dense and dense_rec: weight (out, in) and optional per-synapse delays."""

    delay = opt_prop_def(DenseIntOrFPElementsAttr)

    def verify_(self) -> None:
        input_shape = self.single_input_shape()
        weight_shape = tuple(self.weight.get_shape())
        if len(input_shape) != 1 or len(weight_shape) != 2 or weight_shape[1] != input_shape[0]:
            raise VerifyException(
                f"{self.label}: 'weight' has shape {list(weight_shape)} for an input of shape {list(input_shape)}; "
                "expected (out, in) over a flat input (insert a loihi2.flatten)"
            )
        out_shape = (weight_shape[0],)
        if self.spike_shape(self.output) != out_shape:
            raise VerifyException(f"{self.label}: the result must have shape {list(out_shape)}, got {self.output.type}")
        self.verify_weights()
        if self.delay is not None:
            delay = self.int_field("delay")
            if delay.shape != weight_shape:
                raise VerifyException(
                    f"{self.label}: 'delay' has shape {list(delay.shape)}; expected the weight shape {list(weight_shape)}"
                )
            if delay.size and (delay.min() < 0 or delay.max() > MAX_DELAY):
                worst = int(delay.min() if delay.min() < 0 else delay.max())
                check_range(self.label, "delay", worst, 0, MAX_DELAY, "netx clamps longer delays")
        self.verify_neuron(out_shape, (out_shape,))


@irdl_op_definition
class DenseOp(DenseLayerOp):
    """The netx `dense` layer: a fully connected synapse and a CUBA neuron group."""

    name = "loihi2.dense"


@irdl_op_definition
class DenseRecOp(DenseLayerOp):
    """The netx `dense_rec` layer: `dense` plus `weight_rec` (out, out) from the layer's own spikes.

    Input and recurrent mantissas share one sign mode, width and exponent, as netx optimizes them
    together; the recurrent synapse also adds one step of delay.
    """

    name = "loihi2.dense_rec"

    weight_rec = prop_def(DenseIntOrFPElementsAttr)

    def weight_matrices(self) -> list[tuple[str, np.ndarray]]:
        return [("weight", self.int_field("weight")), ("weight_rec", self.int_field("weight_rec"))]

    def verify_(self) -> None:
        size = tuple(self.weight.get_shape())[:1]
        if tuple(self.weight_rec.get_shape()) != size * 2:
            raise VerifyException(
                f"{self.label}: 'weight_rec' has shape {list(self.weight_rec.get_shape())}; expected {list(size * 2)}"
            )
        super().verify_()


@irdl_op_definition
class ConvOp(LayerOp):
    """The netx `conv` layer: a 2-D cross-correlation of (C, H, W) spikes with zero padding, and a CUBA group.

    `weight` is (C_out, C_in/groups, kH, kW); `bias` is per neuron or per output channel.
    """

    name = "loihi2.conv"

    stride = prop_def(DenseArrayBase)
    padding = prop_def(DenseArrayBase)
    dilation = prop_def(DenseArrayBase)
    groups = prop_def(IntegerAttr)

    def verify_(self) -> None:
        input_shape = self.single_input_shape()
        weight_shape = tuple(self.weight.get_shape())
        if len(weight_shape) != 4:
            raise VerifyException(f"{self.label}: 'weight' has shape {list(weight_shape)}; expected (out, in, kH, kW)")
        try:
            out_shape = conv_output_shape(
                input_shape,
                weight_shape,
                ints_from_array(self.stride),
                ints_from_array(self.padding),
                ints_from_array(self.dilation),
                self.groups.value.data,
            )
        except ValueError as error:
            raise VerifyException(f"{self.label}: {error}") from error
        if self.spike_shape(self.output) != out_shape:
            raise VerifyException(f"{self.label}: the result must have shape {list(out_shape)}, got {self.output.type}")
        self.verify_weights()
        self.verify_neuron(out_shape, (out_shape, out_shape[:1]))


NODE_OPS: tuple[type[Loihi2NodeOp], ...] = (InputOp, OutputOp, FlattenOp, DenseOp, DenseRecOp, ConvOp)
LAYER_OPS: tuple[type[LayerOp], ...] = (DenseOp, DenseRecOp, ConvOp)

LOIHI2 = Dialect("loihi2", [GraphOp, *NODE_OPS], [])
