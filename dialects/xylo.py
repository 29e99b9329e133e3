"""The `xylo` dialect: a network as the registers of a SynSense Xylo chip configure it.

One `xylo.graph` is one chip configuration: 16-bit signed neuron states, int8 weights shifted left
by a per-matrix `weight_shift`, and bit-shift decays. The chip variant is the module attribute
`xylo.variant` (``audio2``, ``imu`` or ``audio3``), and the graph verifier checks the variant's
limits (`XyloVariant`). Neuron properties hold exactly the register values, except
`voltage_scale` and `current_scale`, which map the integers back to NIR units for traces.

A graph has, in this order: `xylo.input`, `xylo.input_weights`, `xylo.hidden`, optionally
`xylo.recurrent_weights`, then `xylo.output_weights`, `xylo.readout` and `xylo.output`. The
recurrent and output weights deliver the hidden spikes of the previous step, so recurrence and
readout each have one step of delay, and the hidden group reads the recurrent weights before
they are defined.

One step of the chip, with `sat(x)` clamping to [-32768, 32767] and `δ(x, d) = x >> d`
(arithmetic shift), except that δ is 1 or -1 when `x >> d` is 0 and x is not, so a nonzero state
always moves toward zero:

1. Each input channel i with n events (n clipped to 15) adds `W_in[i, j, s] << weight_shift`
   n times to the synaptic current s of hidden neuron j, saturating after every addition,
   channel after channel.
2. Each hidden neuron k that emitted m spikes in the previous step adds `W_rec[k, j, s] <<
   weight_shift` m times to hidden current s of neuron j. It also adds `W_out[k, o] <<
   weight_shift` m times to the current of readout neuron o. Both saturate after every addition,
   neuron after neuron.
3. Hidden neurons: `i_s ← i_s - δ(i_s, dash_syn[s])` for each synapse,
   `v ← sat(v + sat(sat(-δ(v, dash_mem) + Σ_s i_s) + bias))`, then while `v ≥ threshold`
   and fewer than 31 spikes were emitted this step: emit a spike and `v ← v - threshold`.
   As in xylosim 0.1.3, `-δ(v, dash_mem)` and `v - threshold` wrap to 16 bits instead of
   saturating. That matters only for v = -32768 with dash_mem 0, and for thresholds ≤ 0.
4. Readout neurons: the same with one synapse and at most one spike per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Dialect, Operation
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

from nirmlir.dense import numpy_from_dense
from nirmlir.dialects.snn import verify_stepped_graph

VARIANT_ATTRIBUTE = "xylo.variant"
"""The module attribute that names the chip variant of every xylo graph in the module."""

STATE_BITS = 16
"""Width of every neuron state, threshold and bias register, in bits (signed)."""
STATE_MIN, STATE_MAX = -(1 << (STATE_BITS - 1)), (1 << (STATE_BITS - 1)) - 1
WEIGHT_BITS = 8
MAX_DASH = 15
"""Largest bit-shift decay.

NOTE: 15 assumes a 4-bit register, which is unverified. Only samna's configuration check
states the width, and samna cannot be installed here."""
MAX_WEIGHT_SHIFT = 7
"""Largest weight shift: a 3-bit field.

Rockpool 3.1.0's register decoder for Xylo Audio 2 (`xa2_devkit_utils`, register CTRL1) reads
each of the three weight shifts from 3 bits. Any shift up to 8 would keep int8 weights within
16 bits. NOTE: the IMU and Audio 3 widths are assumed to be the same."""
MAX_INPUT_EVENTS = 15
"""Input events per channel and step that the chip counts; more are clipped to 15."""
MAX_HIDDEN_SPIKES = 31
MAX_READOUT_SPIKES = 1


@dataclass(frozen=True)
class XyloVariant:
    """The resource limits of one Xylo chip, from Rockpool 3.1.0's mapper and configuration code."""

    key: str
    title: str
    part: str
    inputs: int
    hidden: int
    outputs: int
    synapses: int
    """Synaptic currents per hidden neuron."""
    input_expansion: int | None = None
    """Only the first this many hidden neurons may receive input weights (None: all)."""
    readout_sources: int | None = None
    """Only the last this many hidden neurons may drive the readout (None: all)."""
    output_warning: int | None = None
    """Rockpool's design-rule check warns above this many output neurons."""


VARIANTS: dict[str, XyloVariant] = {
    "audio2": XyloVariant("audio2", "Xylo Audio 2", "SYNS61201", 16, 1000, 8, 2),
    "imu": XyloVariant("imu", "Xylo IMU", "SYNS63300", 16, 496, 16, 1, input_expansion=128, readout_sources=128),
    "audio3": XyloVariant(
        "audio3", "Xylo Audio 3", "SYNS65302", 16, 992, 32, 2,
        input_expansion=128, readout_sources=128, output_warning=16,
    ),
}
"""Every supported variant by its `xylo.variant` value.

The 128 input and output expansion neurons of IMU and Audio 3 are what their
`config_from_specification` keeps: the first 128 columns of `weights_in` and the last 128 rows
of `weights_out`."""


def get_variant(name: str) -> XyloVariant:
    """Return the variant called `name`; raise ValueError listing the known ones otherwise."""
    if name not in VARIANTS:
        raise ValueError(f"unknown Xylo variant '{name}'; expected one of {', '.join(VARIANTS)}")
    return VARIANTS[name]


@dataclass(frozen=True)
class NetworkShape:
    """The input of the design rules: sizes and the neurons that weights connect."""

    inputs: int
    hidden: int
    outputs: int
    synapses: int
    input_targets: np.ndarray
    """Indices of the hidden neurons with a nonzero input weight."""
    readout_sources: np.ndarray
    """Indices of the hidden neurons with a nonzero output weight."""


def design_rule_violations(variant: XyloVariant, shape: NetworkShape) -> list[str]:
    """Return one sentence per broken limit of `variant`, with the numbers and a fix; empty if none."""
    violations = []
    counts = (
        ("input channels", shape.inputs, variant.inputs, "merge or drop input channels"),
        ("hidden neurons", shape.hidden, variant.hidden, "use a smaller hidden layer"),
        ("output neurons", shape.outputs, variant.outputs, "use fewer output classes or another variant"),
        ("synapses per hidden neuron", shape.synapses, variant.synapses, "use one synaptic current"),
    )
    for what, count, limit, fix in counts:
        if count > limit:
            violations.append(f"{count} {what}, {variant.title} has {limit}: {fix}")
    if variant.input_expansion is not None and shape.input_targets.size:
        last = int(shape.input_targets.max())
        if last >= variant.input_expansion:
            violations.append(
                f"input weights reach hidden neuron {last}, but on {variant.title} only the first "
                f"{variant.input_expansion} hidden neurons receive input: reorder the hidden neurons"
            )
    if variant.readout_sources is not None and shape.readout_sources.size:
        first = int(shape.readout_sources.min())
        lowest = shape.hidden - variant.readout_sources
        if first < lowest:
            violations.append(
                f"hidden neuron {first} drives the readout, but on {variant.title} only the last "
                f"{variant.readout_sources} hidden neurons (from {max(lowest, 0)}) do: reorder the hidden neurons"
            )
    return violations


# --------------------------------------------------------------------------------------
# Verifier helpers
# --------------------------------------------------------------------------------------


def tensor_shape(type_attr: Attribute) -> tuple[int, ...]:
    if not isinstance(type_attr, TensorType):
        raise VerifyException(f"expected a tensor type, got {type_attr}")
    return tuple(type_attr.get_shape())


def element_width(label: str, what: str, type_attr: Attribute) -> int:
    """Return the integer element width of a tensor type; raise VerifyException for any other type."""
    element = type_attr.get_element_type() if isinstance(type_attr, TensorType) else None
    if not isinstance(element, IntegerType):
        raise VerifyException(f"{label}: {what} must be an integer tensor, got {type_attr}")
    return element.width.data


def register_array(
    label: str, field: str, attr: DenseIntOrFPElementsAttr, shape: tuple[int, ...], low: int, high: int, bits: int
) -> np.ndarray:
    """Return an integer register tensor; raise VerifyException unless its width, shape and range are right."""
    width = element_width(label, f"'{field}'", attr.type)
    if width != bits:
        raise VerifyException(f"{label}: '{field}' has type {attr.type}; expected i{bits} elements")
    values = numpy_from_dense(attr).astype(np.int64)
    if values.shape != shape:
        raise VerifyException(f"{label}: '{field}' has shape {list(values.shape)}; expected {list(shape)}")
    if values.size and (values.min() < low or values.max() > high):
        raise VerifyException(
            f"{label}: '{field}' has values in [{values.min()}, {values.max()}]; the register range is {low} to {high}"
        )
    return values


def check_scale(label: str, field: str, attr: DenseIntOrFPElementsAttr, size: int) -> None:
    if not isinstance(attr.get_element_type(), Float64Type):
        raise VerifyException(f"{label}: '{field}' must be an f64 tensor, got {attr.type}")
    values = numpy_from_dense(attr)
    if values.shape not in ((), (size,)):
        raise VerifyException(f"{label}: '{field}' has shape {list(values.shape)}; expected [] or [{size}]")
    if not np.isfinite(values).all() or (values <= 0).any():
        raise VerifyException(f"{label}: '{field}' must hold positive finite numbers")


# --------------------------------------------------------------------------------------
# Graph
# --------------------------------------------------------------------------------------


class XyloNodeOp(IRDLOperation):
    """Base of every op in a xylo graph."""

    ASSEMBLY_FORM: ClassVar[str] = "node"

    node_name = prop_def(StringAttr)

    @property
    def label(self) -> str:
        """The op name and node name, as diagnostics print them."""
        return f"'{self.name}' op node '{self.node_name.data}'"

    def operand_shape(self) -> tuple[int, ...]:
        if len(self.operands) != 1:
            raise VerifyException(f"{self.label}: expected one operand, got {len(self.operands)}")
        return tensor_shape(self.operands[0].type)


def is_delayed(op: Operation) -> bool:
    """Return whether the output of `op` at step t depends only on earlier steps."""
    return isinstance(op, RecurrentWeightsOp | OutputWeightsOp)


def module_variant(op: Operation) -> XyloVariant:
    """Return the variant named by the `xylo.variant` attribute of the module around `op`."""
    module = op.parent_op()
    label = f"'{op.name}' op"
    attr = module.attributes.get(VARIANT_ATTRIBUTE) if isinstance(module, ModuleOp) else None
    if not isinstance(attr, StringAttr):
        raise VerifyException(
            f"{label}: the enclosing module needs the string attribute '{VARIANT_ATTRIBUTE}' "
            f"({', '.join(VARIANTS)})"
        )
    try:
        return get_variant(attr.data)
    except ValueError as error:
        raise VerifyException(f"{label}: {error}") from None


@irdl_op_definition
class GraphOp(IRDLOperation):
    """One Xylo configuration: the ops listed in the module docstring, stepped every `dt` seconds."""

    name = "xylo.graph"
    ASSEMBLY_FORM: ClassVar[str] = "graph"

    sym_name = prop_def(StringAttr)
    dt = prop_def(FloatAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator(), SymbolOpInterface(), IsolatedFromAbove())

    def verify_(self) -> None:
        verify_stepped_graph(self, XyloNodeOp, is_delayed)
        label = f"'{self.name}' op @{self.sym_name.data}"
        ops = self.ops_by_class(label)
        hidden, readout = ops[HiddenOp], ops[ReadoutOp]
        input_weights, output_weights = ops[InputWeightsOp], ops[OutputWeightsOp]
        recurrent = ops.get(RecurrentWeightsOp)
        expected = {
            input_weights: [ops[InputOp]],
            hidden: [input_weights] + ([recurrent] if recurrent else []),
            output_weights: [hidden],
            readout: [output_weights],
            ops[OutputOp]: [readout],
        }
        if recurrent is not None:
            expected[recurrent] = [hidden]
        for op, sources in expected.items():
            actual = [operand.owner for operand in op.operands]
            if actual != sources:
                names = ", ".join(f"'{source.name}'" for source in sources)
                raise VerifyException(f"{op.label}: its operands must be the results of {names}, in this order")
        shape = NetworkShape(
            inputs=tensor_shape(ops[InputOp].output.type)[0],
            hidden=hidden.size,
            outputs=readout.size,
            synapses=hidden.synapses,
            input_targets=np.flatnonzero(np.abs(input_weights.matrix()).sum(axis=(0, 2))),
            readout_sources=np.flatnonzero(np.abs(output_weights.matrix()).sum(axis=1)),
        )
        violations = design_rule_violations(module_variant(self), shape)
        if violations:
            raise VerifyException(f"{label}: " + "; ".join(violations))

    def ops_by_class(self, label: str) -> dict[type, XyloNodeOp]:
        """Return the graph's op of each class; raise VerifyException unless each occurs as the structure requires."""
        found: dict[type, XyloNodeOp] = {}
        for op in self.body.block.ops:
            if type(op) in found:
                raise VerifyException(f"{label}: the graph has more than one '{op.name}'; a Xylo core has one")
            found[type(op)] = op
        for required in (InputOp, InputWeightsOp, HiddenOp, OutputWeightsOp, ReadoutOp, OutputOp):
            if required not in found:
                raise VerifyException(f"{label}: the graph has no '{required.name}'")
        return found


@irdl_op_definition
class InputOp(XyloNodeOp):
    """Input channels: `y[t]` is the number of events per channel in step t (the chip counts up to 15)."""

    name = "xylo.input"

    output = result_def(TensorType)

    def verify_(self) -> None:
        if len(tensor_shape(self.output.type)) != 1:
            raise VerifyException(f"{self.label}: the input must be a 1-D tensor of channels, got {self.output.type}")
        element_width(self.label, "the result", self.output.type)


@irdl_op_definition
class OutputOp(XyloNodeOp):
    """Output channels: records the readout spikes of every step."""

    name = "xylo.output"

    inputs = var_operand_def(TensorType)


class WeightsOp(XyloNodeOp):
    """Base of the three weight matrices: int8 `weights` shifted left by `weight_shift` bits.

    The result is the exact weighted sum of the events this matrix delivers in a step, per
    target neuron (and synapse), which the neuron group adds with saturation after every event.
    """

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    weights = prop_def(DenseIntOrFPElementsAttr)
    weight_shift = prop_def(IntegerAttr)

    def matrix(self) -> np.ndarray:
        """Return the weights as int64."""
        return numpy_from_dense(self.weights).astype(np.int64)

    def verify_weights(self, rank: int) -> tuple[int, ...]:
        shape = tuple(self.weights.get_shape())
        if len(shape) != rank:
            raise VerifyException(f"{self.label}: 'weights' has shape {list(shape)}; expected rank {rank}")
        register_array(self.label, "weights", self.weights, shape, -128, 127, WEIGHT_BITS)
        shift = self.weight_shift.value.data
        if not 0 <= shift <= MAX_WEIGHT_SHIFT:
            raise VerifyException(
                f"{self.label}: 'weight_shift' is {shift}; expected 0 to {MAX_WEIGHT_SHIFT}, the range of the "
                "chip's 3-bit weight shift field"
            )
        if self.operand_shape() != shape[:1]:
            raise VerifyException(
                f"{self.label}: the operand has shape {list(self.operand_shape())}, but 'weights' has "
                f"{shape[0]} source rows"
            )
        element_width(self.label, "the result", self.output.type)
        return shape


class SynapticWeightsOp(WeightsOp):
    """Weights into the hidden neurons: `weights[source, target, synapse]`, result `[target, synapse]`."""

    def verify_(self) -> None:
        shape = self.verify_weights(3)
        if shape[2] not in (1, 2):
            raise VerifyException(f"{self.label}: 'weights' has {shape[2]} synapses; expected 1 or 2")
        if tensor_shape(self.output.type) != shape[1:]:
            raise VerifyException(f"{self.label}: the result has type {self.output.type}; expected shape {list(shape[1:])}")


@irdl_op_definition
class InputWeightsOp(SynapticWeightsOp):
    """Input channel to hidden neuron weights, `weights[channel, neuron, synapse]`."""

    name = "xylo.input_weights"


@irdl_op_definition
class RecurrentWeightsOp(SynapticWeightsOp):
    """Hidden to hidden weights, `weights[source, target, synapse]`, delivering the previous step's spikes."""

    name = "xylo.recurrent_weights"


@irdl_op_definition
class OutputWeightsOp(WeightsOp):
    """Hidden to readout weights, `weights[hidden, readout]`, delivering the previous step's spikes."""

    name = "xylo.output_weights"

    def verify_(self) -> None:
        shape = self.verify_weights(2)
        if tensor_shape(self.output.type) != shape[1:]:
            raise VerifyException(f"{self.label}: the result has type {self.output.type}; expected shape {list(shape[1:])}")


class NeuronsOp(XyloNodeOp):
    """Base of the neuron groups: per-neuron bit-shift decays, 16-bit thresholds and biases.

    The result is the spike count of each neuron in the step. `voltage_scale` and
    `current_scale` (NIR units per integer unit, one number or one per neuron) are not
    registers; they convert traces to NIR units.
    """

    MAX_SPIKES: ClassVar[int] = 1

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    dash_mem = prop_def(DenseIntOrFPElementsAttr)
    dash_syn = prop_def(DenseIntOrFPElementsAttr)
    threshold = prop_def(DenseIntOrFPElementsAttr)
    bias = prop_def(DenseIntOrFPElementsAttr)
    voltage_scale = prop_def(DenseIntOrFPElementsAttr)
    current_scale = prop_def(DenseIntOrFPElementsAttr)

    @property
    def size(self) -> int:
        return tensor_shape(self.output.type)[0]

    def verify_neurons(self, syn_shape: tuple[int, ...]) -> None:
        shape = tensor_shape(self.output.type)
        if len(shape) != 1:
            raise VerifyException(f"{self.label}: the result must be a 1-D tensor of neurons, got {self.output.type}")
        element_width(self.label, "the result", self.output.type)
        size = shape[0]
        register_array(self.label, "dash_mem", self.dash_mem, (size,), 0, MAX_DASH, 8)
        register_array(self.label, "dash_syn", self.dash_syn, (size, *syn_shape), 0, MAX_DASH, 8)
        for field in ("threshold", "bias"):
            register_array(self.label, field, self.properties[field], (size,), STATE_MIN, STATE_MAX, STATE_BITS)
        for field in ("voltage_scale", "current_scale"):
            check_scale(self.label, field, self.properties[field], size)


@irdl_op_definition
class HiddenOp(NeuronsOp):
    """The hidden neurons: up to 31 spikes per step, one or two synaptic currents.

    `dash_syn[neuron, synapse]` has one column per synapse, as many as the weights into the
    group have. `alias_target`, when present, gives for each neuron the hidden neuron that
    re-emits its spikes, or -1. In each step, a neuron's spike count (its own spikes and those
    copied to it) is added to its target's count, capped at 31, and the target's outgoing
    recurrent and output weights deliver them. Neurons fire in index order, so a target with a
    higher index starts its spike test with the copied spikes, which count toward its 31.
    """

    name = "xylo.hidden"
    MAX_SPIKES: ClassVar[int] = MAX_HIDDEN_SPIKES

    alias_target = opt_prop_def(DenseIntOrFPElementsAttr)

    @property
    def synapses(self) -> int:
        return tuple(self.dash_syn.get_shape())[-1] if len(tuple(self.dash_syn.get_shape())) == 2 else 0

    def verify_(self) -> None:
        if len(tuple(self.dash_syn.get_shape())) != 2:
            raise VerifyException(f"{self.label}: 'dash_syn' must have shape [neurons, synapses]")
        self.verify_neurons((self.synapses,))
        for index, operand in enumerate(self.operands):
            if tensor_shape(operand.type) != (self.size, self.synapses):
                raise VerifyException(
                    f"{self.label}: operand {index} has type {operand.type}; expected shape "
                    f"[{self.size}, {self.synapses}], one column per synapse of 'dash_syn'"
                )
        if self.alias_target is not None:
            targets = register_array(self.label, "alias_target", self.alias_target, (self.size,), -1, self.size - 1, 16)
            own = np.flatnonzero(targets == np.arange(self.size))
            if own.size:
                raise VerifyException(
                    f"{self.label}: hidden neuron {int(own[0])} is its own alias target; use -1 for a neuron "
                    "without an alias"
                )


@irdl_op_definition
class ReadoutOp(NeuronsOp):
    """The readout neurons: one synaptic current and at most one spike per step."""

    name = "xylo.readout"

    def verify_(self) -> None:
        self.verify_neurons(())
        for index, operand in enumerate(self.operands):
            if tensor_shape(operand.type) != (self.size,):
                raise VerifyException(f"{self.label}: operand {index} has type {operand.type}; expected [{self.size}]")


NODE_OPS = (InputOp, InputWeightsOp, RecurrentWeightsOp, OutputWeightsOp, HiddenOp, ReadoutOp, OutputOp)

XYLO = Dialect("xylo", [GraphOp, *NODE_OPS], [])
