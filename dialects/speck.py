"""The `speck` dialect: a network as the CNN cores of SynSense's Speck chip configure it.

Speck (DYNAP-CNN technology) has nine cores, indexed 0 to 8. Each core is one layer: an integer
convolution with a square kernel, then non-leaky integrate-and-fire neurons with one threshold
pair. Sum pooling applies to the output events on the way to each of at most two destinations. A Linear layer is a convolution whose kernel covers the whole input map.

Attributes hold the register values of sinabs' configuration of the chip: 8-bit weights and
biases, 16-bit thresholds, the destination core indices with their pooling and feature shift.
Only `voltage_scale` is not a register: it is the NIR voltage of one integer unit, for traces.
Values are spike counts per time bin (`tensor<C x H x W x i32>`, channels first, y before x).

The time-binned semantics are those of sinabs' discretized model (`IAFSqueeze` with MultiSpike),
which the chip approximates event by event. Per bin and core, with x the summed input counts:
`v += conv(x, W) + b`; `n = floor(v / threshold_high)` spikes where v >= threshold_high, else 0;
`v -= n·threshold_high` (or v = 0 where n > 0 with `return_to_zero`); `v = max(v, threshold_low)`.
The result is n, sum-pooled by the destinations' pooling.
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
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import IsolatedFromAbove, NoTerminator, SymbolOpInterface
from xdsl.utils.exceptions import VerifyException

from nirmlir.dense import ints_from_array, numpy_from_dense

CORE_COUNT = 9
KERNEL_MEMORY = (16384, 16384, 16384, 32768, 32768, 65536, 65536, 16384, 16384)
"""Kernel memory entries of cores 0 to 8 (sinabs-dynapcnn 1.0.15, `DynapcnnConfigBuilder.get_constraints`)."""
NEURON_MEMORY = (65536, 65536, 65536, 32768, 32768, 16384, 16384, 16384, 16384)
"""Neuron memory entries of cores 0 to 8 (same source)."""
BIAS_MEMORY = (1024,) * CORE_COUNT
"""Bias memory entries of each core (same source)."""

WEIGHT_BITS = 8
STATE_BITS = 16
MAX_KERNEL = 16
STRIDES = (1, 2, 4, 8)
MAX_PADDING = 7
POOLINGS = (1, 2, 4)
MAX_DESTINATIONS = 2
MAX_FEATURE_SHIFT = 1023
MAX_CHANNELS = 1024
MAX_INPUT_SIZE = 128
MAX_OUTPUT_SIZE = 64
MAX_DVS_CHANNELS = 2
SOURCES = ("external", "dvs")
COUNT_BITS = 32
"""Width of the spike counts per time bin that the values carry."""


def signed_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def ceil_log2(value: int) -> int:
    """Return ⌈log2 value⌉ for value >= 1."""
    return (value - 1).bit_length()


def memory_use(in_channels: int, out_channels: int, kernel: int, neuron_shape: tuple[int, int]) -> dict[str, int]:
    """Return the kernel, neuron and bias memory entries a layer needs.

    kernel = c·2^(⌈log2(k·k)⌉ + ⌈log2 f⌉), neuron = f·2^(⌈log2 f_y⌉ + ⌈log2 f_x⌉) and bias = f,
    for c input and f output channels, a k×k kernel and an f_y×f_x neuron map (sinabs'
    `DynapcnnLayer.memory_summary`).
    """
    height, width = neuron_shape
    return {
        "kernel": in_channels << (ceil_log2(kernel * kernel) + ceil_log2(out_channels)),
        "neuron": out_channels << (ceil_log2(height) + ceil_log2(width)),
        "bias": out_channels,
    }


def core_capacity(core: int) -> dict[str, int]:
    """Return the kernel, neuron and bias memory entries of a core."""
    return {"kernel": KERNEL_MEMORY[core], "neuron": NEURON_MEMORY[core], "bias": BIAS_MEMORY[core]}


def map_shape(type_attr: Attribute, label: str, what: str) -> tuple[int, int, int]:
    """Return the (C, H, W) shape of a spike-count tensor type; raise VerifyException for anything else."""
    if (
        not isinstance(type_attr, TensorType)
        or not isinstance(type_attr.get_element_type(), IntegerType)
        or len(type_attr.get_shape()) != 3
    ):
        raise VerifyException(f"{label}: {what} has type {type_attr}; expected a tensor<CxHxWxi{COUNT_BITS}> of spike counts")
    width = type_attr.get_element_type().width.data
    if width != COUNT_BITS:
        raise VerifyException(f"{label}: {what} has type {type_attr}; spike counts are i{COUNT_BITS}")
    return tuple(type_attr.get_shape())


class SpeckNodeOp(IRDLOperation):
    """Base of every op in a speck.graph: it carries the NIR node name it came from."""

    ASSEMBLY_FORM: ClassVar[str] = "node"

    node_name = prop_def(StringAttr)

    @property
    def label(self) -> str:
        return f"'{self.name}' op node '{self.node_name.data}'"


@irdl_op_definition
class GraphOp(IRDLOperation):
    """The chip's network: an input, cores in data-flow order and outputs; `dt` is the time bin in seconds."""

    name = "speck.graph"
    ASSEMBLY_FORM: ClassVar[str] = "graph"

    sym_name = prop_def(StringAttr)
    dt = prop_def(FloatAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator(), SymbolOpInterface(), IsolatedFromAbove())

    def verify_(self) -> None:
        label = f"'{self.name}' op @{self.sym_name.data}"
        dt = self.dt.value.data
        if not isinstance(self.dt.type, Float64Type) or not np.isfinite(dt) or dt <= 0:
            raise VerifyException(f"{label}: 'dt' is {dt}; expected a positive f64 number of seconds")
        if self.body.block.args:
            raise VerifyException(f"{label}: the body block must have no arguments; use speck.input")
        names: set[str] = set()
        cores: dict[int, CoreOp] = {}
        inputs = 0
        for op in self.body.block.ops:
            if not isinstance(op, SpeckNodeOp):
                raise VerifyException(f"{label}: '{op.name}' is not a speck op")
            if op.node_name.data in names:
                raise VerifyException(f"{label}: node name '{op.node_name.data}' is used twice")
            names.add(op.node_name.data)
            inputs += isinstance(op, InputOp)
            if isinstance(op, CoreOp):
                if not isinstance(op.properties.get("core"), IntegerAttr):
                    continue  # The op's own verifier reports the malformed core number at its line.
                index = op.core.value.data
                if index in cores:
                    raise VerifyException(
                        f"{label}: core {index} contains both '{cores[index].node_name.data}' and "
                        f"'{op.node_name.data}'; each core contains one layer, so give one of them another core"
                    )
                cores[index] = op
        if inputs != 1:
            raise VerifyException(f"{label}: a speck graph has exactly one speck.input, found {inputs}")


@irdl_op_definition
class InputOp(SpeckNodeOp):
    """The input events per time bin: from the DVS sensor (`dvs`) or sent by the host (`external`)."""

    name = "speck.input"

    output = result_def(TensorType)
    source = prop_def(StringAttr)

    def verify_(self) -> None:
        channels, height, width = map_shape(self.output.type, self.label, "the result")
        if self.source.data not in SOURCES:
            raise VerifyException(f"{self.label}: 'source' is '{self.source.data}'; expected one of {', '.join(SOURCES)}")
        if height > MAX_INPUT_SIZE or width > MAX_INPUT_SIZE:
            raise VerifyException(
                f"{self.label}: the input map is {height}x{width}, larger than the chip's {MAX_INPUT_SIZE}x"
                f"{MAX_INPUT_SIZE} by {max(height, width) - MAX_INPUT_SIZE}; crop or pool the input first"
            )
        if self.source.data == "dvs" and channels > MAX_DVS_CHANNELS:
            raise VerifyException(
                f"{self.label}: the DVS sensor gives {MAX_DVS_CHANNELS} polarity channels, not {channels}; "
                "use source \"external\""
            )


@irdl_op_definition
class OutputOp(SpeckNodeOp):
    """A graph output: the events that a monitored core sends, per time bin."""

    name = "speck.output"

    inputs = var_operand_def(TensorType)

    def verify_(self) -> None:
        if len(self.inputs) != 1:
            raise VerifyException(f"{self.label}: an output reads exactly one core, got {len(self.inputs)} operands")
        map_shape(self.inputs[0].type, self.label, "the operand")


@irdl_op_definition
class CoreOp(SpeckNodeOp):
    """One CNN core: convolution, integrate-and-fire neurons and pooling on the way out.

    Several operands are several sources (fan-in): the chip merges their events, so the kernel
    convolves the sum of their counts, which must have one shape. `weight` is `[f, c, k, k]`
    (output channel, input channel, y, x), `bias` `[f]`. `stride`
    and `padding` are (y, x). `destinations` lists the cores that receive the events, with
    `pooling` (the sum-pooling kernel and stride, 1, 2 or 4) and `feature_shift` (added to the
    channel index) per destination. The result is the pooled spike counts; this dialect models
    one pooled result per core, so every destination has the same pooling.
    """

    name = "speck.core"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    core = prop_def(IntegerAttr)
    weight = prop_def(DenseIntOrFPElementsAttr)
    bias = prop_def(DenseIntOrFPElementsAttr)
    stride = prop_def(DenseArrayBase)
    padding = prop_def(DenseArrayBase)
    threshold_high = prop_def(IntegerAttr)
    threshold_low = prop_def(IntegerAttr)
    return_to_zero = prop_def(BoolAttr)
    leak_enable = prop_def(BoolAttr)
    monitor_enable = prop_def(BoolAttr)
    destinations = prop_def(DenseArrayBase)
    pooling = prop_def(DenseArrayBase)
    feature_shift = prop_def(DenseArrayBase)
    voltage_scale = prop_def(FloatAttr)

    @property
    def core_index(self) -> int:
        return self.core.value.data

    def neuron_shape(self) -> tuple[int, int, int]:
        """Return the (f, y, x) shape of the neuron map, before pooling."""
        weight = tuple(self.weight.get_shape())
        _, height, width = map_shape(self.inputs[0].type, self.label, "the input")
        stride = ints_from_array(self.stride)
        padding = ints_from_array(self.padding)
        return (
            weight[0],
            (height + 2 * padding[0] - weight[2]) // stride[0] + 1,
            (width + 2 * padding[1] - weight[3]) // stride[1] + 1,
        )

    def output_pooling(self) -> int:
        pooling = ints_from_array(self.pooling)
        return pooling[0] if pooling else 1

    def memory(self) -> dict[str, int]:
        """Return the kernel, neuron and bias memory entries this layer needs."""
        out_channels, in_channels, kernel, _ = self.weight.get_shape()
        return memory_use(in_channels, out_channels, kernel, self.neuron_shape()[1:])

    def verify_(self) -> None:
        label = self.label
        index = self.core_index
        if not 0 <= index < CORE_COUNT:
            raise VerifyException(f"{label}: 'core' is {index}; Speck has cores 0 to {CORE_COUNT - 1}")
        if not self.inputs:
            raise VerifyException(f"{label}: a core needs at least one input")
        in_shape = map_shape(self.inputs[0].type, label, "operand 0")
        for number, operand in enumerate(self.inputs):
            if map_shape(operand.type, label, f"operand {number}") != in_shape:
                raise VerifyException(
                    f"{label}: operand {number} has type {operand.type} but operand 0 has shape {list(in_shape)}; "
                    "a core sums the events of its sources, which must have one shape"
                )
        if len({id(operand) for operand in self.inputs}) != len(self.inputs):
            raise VerifyException(
                f"{label}: the operands name one source twice; a core receives each source's events once, "
                "so double the weights instead"
            )
        self.verify_weights(in_shape)
        self.verify_routing()
        self.verify_geometry(in_shape)
        self.verify_thresholds()
        self.verify_readers()
        self.verify_memory()

    def verify_weights(self, in_shape: tuple[int, int, int]) -> None:
        label = self.label
        weight = tuple(self.weight.get_shape())
        if len(weight) != 4:
            raise VerifyException(f"{label}: 'weight' has shape {list(weight)}; expected [f, c, k, k]")
        out_channels, in_channels, height, width = weight
        if in_channels != in_shape[0]:
            raise VerifyException(
                f"{label}: 'weight' has {in_channels} input channels but the input has {in_shape[0]}"
            )
        if height != width:
            raise VerifyException(f"{label}: the kernel is {height}x{width}; Speck kernels are square")
        if height > MAX_KERNEL:
            raise VerifyException(
                f"{label}: the kernel is {height}x{width}, larger than {MAX_KERNEL}x{MAX_KERNEL} by {height - MAX_KERNEL}; "
                "use a stride or pooling earlier to shrink the input map"
            )
        for channels, side in ((in_channels, "input"), (out_channels, "output")):
            if channels > MAX_CHANNELS:
                raise VerifyException(
                    f"{label}: {channels} {side} channels exceed the {MAX_CHANNELS} of a core by {channels - MAX_CHANNELS}"
                )
        for field, shape in (("weight", weight), ("bias", (out_channels,))):
            values = numpy_from_dense(self.properties[field])
            if values.dtype.kind not in "iu":
                raise VerifyException(f"{label}: '{field}' must be an integer tensor, got {self.properties[field].type}")
            if values.shape != shape:
                raise VerifyException(f"{label}: '{field}' has shape {list(values.shape)}; expected {list(shape)}")
            check_fits(label, field, values, WEIGHT_BITS)

    def verify_geometry(self, in_shape: tuple[int, int, int]) -> None:
        label = self.label
        stride = ints_from_array(self.stride)
        padding = ints_from_array(self.padding)
        if len(stride) != 2 or any(value not in STRIDES for value in stride):
            raise VerifyException(f"{label}: 'stride' is {list(stride)}; each of y and x must be one of {list(STRIDES)}")
        if len(padding) != 2 or any(not 0 <= value <= MAX_PADDING for value in padding):
            raise VerifyException(f"{label}: 'padding' is {list(padding)}; each of y and x must be 0 to {MAX_PADDING}")
        out_channels, height, width = self.neuron_shape()
        if height < 1 or width < 1:
            raise VerifyException(f"{label}: the kernel does not fit the {in_shape[1]}x{in_shape[2]} input map")
        if height > MAX_OUTPUT_SIZE or width > MAX_OUTPUT_SIZE:
            raise VerifyException(
                f"{label}: the neuron map is {height}x{width}, larger than the {MAX_OUTPUT_SIZE}x{MAX_OUTPUT_SIZE} "
                f"of a core by {max(height, width) - MAX_OUTPUT_SIZE}; use a larger stride"
            )
        pool = self.output_pooling()
        expected = (out_channels, height // pool, width // pool)
        actual = map_shape(self.output.type, label, "the result")
        if actual != expected:
            raise VerifyException(
                f"{label}: the result has shape {list(actual)} but the {out_channels}x{height}x{width} neuron map "
                f"pooled by {pool} gives {list(expected)}"
            )

    def verify_thresholds(self) -> None:
        label = self.label
        high = self.threshold_high.value.data
        low = self.threshold_low.value.data
        for field, value in (("threshold_high", high), ("threshold_low", low)):
            check_fits(label, field, np.array([value]), STATE_BITS)
        if high <= 0:
            raise VerifyException(f"{label}: 'threshold_high' is {high}; it must be positive")
        if low > 0:
            raise VerifyException(f"{label}: 'threshold_low' is {low}; it must be at most 0 so that v = 0 is allowed")
        if not 0 < self.voltage_scale.value.data < float("inf"):
            raise VerifyException(f"{label}: 'voltage_scale' must be a positive finite number")

    def verify_routing(self) -> None:
        label = self.label
        destinations = ints_from_array(self.destinations)
        pooling = ints_from_array(self.pooling)
        shifts = ints_from_array(self.feature_shift)
        if len(destinations) > MAX_DESTINATIONS:
            raise VerifyException(
                f"{label}: core {self.core_index} has {len(destinations)} destinations; a core sends to at most "
                f"{MAX_DESTINATIONS}, so split the fan-out over copies of this layer"
            )
        if not len(pooling) == len(shifts) == len(destinations):
            raise VerifyException(
                f"{label}: 'destinations', 'pooling' and 'feature_shift' have {len(destinations)}, {len(pooling)} "
                f"and {len(shifts)} entries; each destination needs one of each"
            )
        for core in destinations:
            if not 0 <= core < CORE_COUNT:
                raise VerifyException(f"{label}: destination core {core} does not exist; cores are 0 to {CORE_COUNT - 1}")
        if len(set(destinations)) != len(destinations):
            raise VerifyException(f"{label}: destinations {list(destinations)} name a core twice")
        for value in pooling:
            if value not in POOLINGS:
                raise VerifyException(f"{label}: 'pooling' {value} is not one of {list(POOLINGS)}")
        if len(set(pooling)) > 1:
            raise VerifyException(
                f"{label}: the destinations pool by {list(pooling)}; this dialect models one pooled result per core, "
                "so give every destination the same pooling"
            )
        for value in shifts:
            if not 0 <= value <= MAX_FEATURE_SHIFT:
                raise VerifyException(f"{label}: 'feature_shift' {value} is outside 0 to {MAX_FEATURE_SHIFT}")

    def verify_readers(self) -> None:
        """Check that the destination registers name exactly the cores that read the result."""
        readers = sorted({use.operation.properties["core"].value.data for use in self.output.uses if isinstance(use.operation, CoreOp)})
        listed = sorted(ints_from_array(self.destinations))
        if readers != listed:
            raise VerifyException(
                f"{self.label}: core {self.core_index} lists destinations {listed} but cores {readers} read its "
                "events; the destinations must name exactly the reading cores"
            )

    def verify_memory(self) -> None:
        need = self.memory()
        have = core_capacity(self.core_index)
        for kind in ("kernel", "neuron", "bias"):
            if need[kind] > have[kind]:
                raise VerifyException(
                    f"{self.label}: the layer needs {need[kind]} {kind} memory entries but core {self.core_index} "
                    f"has {have[kind]}, {need[kind] - have[kind]} too few; {fix_hint(kind)}"
                )


def fix_hint(kind: str) -> str:
    """Return what shrinks a layer's need for one kind of memory."""
    return {
        "kernel": "move the layer to a core with more kernel memory (5 or 6 have 65536) or use fewer channels or a smaller kernel",
        "neuron": "move the layer to a core with more neuron memory (0 to 2 have 65536) or use fewer channels or a larger stride",
        "bias": "use fewer output channels",
    }[kind]


def check_fits(label: str, field: str, values: np.ndarray, bits: int) -> None:
    """Raise VerifyException unless every value fits a signed integer of `bits` bits."""
    low, high = signed_range(bits)
    if values.size and (values.min() < low or values.max() > high):
        raise VerifyException(
            f"{label}: '{field}' has values in [{values.min()}, {values.max()}], outside the {bits}-bit register "
            f"range [{low}, {high}]"
        )


SPECK = Dialect("speck", [GraphOp, InputOp, OutputOp, CoreOp], [])
