"""The `spinnaker2` dialect: a network as py-spinnaker2 builds it, populations and projections.

SpiNNaker2 runs its neuron models as float32 programs on ARM Cortex-M4F processing elements (PEs),
so neuron parameters stay float32; only synaptic weights and delays are integers. The ops follow
py-spinnaker2's objects one to one:

* ``spinnaker2.input``: a ``spike_list`` population that replays the input spikes;
* ``spinnaker2.lif``, ``spinnaker2.lif_conv2d`` and ``spinnaker2.lif_curr_exp``: populations of
  the neuron models of the same name, with per-neuron float32 parameters;
* ``spinnaker2.projection``: a connection list, stored as dense (post, pre) weight and delay matrices
  whose zero-weight entries are no connection;
* ``spinnaker2.conv2d_projection``: a ``Conv2DProjection`` with optional sum pooling of the spikes
  before the convolution;
* ``spinnaker2.output``: records the spikes of populations.

Every value is a flat ``tensor<Nxf32>`` of one population's N neurons, in the row-major (C, H, W)
order of the NIR shape. A population's operands are projection results, and the population sums
them. A projection reads one population's spikes. The graph's block holds the ops in schedule
order, as in snn: a projection whose every connection has a delay of at least one step may be read
before it is computed.

One step of a ``lif`` neuron, in float32 (py-spinnaker2's model): ``v = alpha_decay·v + Σ w·s +
i_offset``; it spikes when ``v > threshold`` and then resets to ``v_reset``
(``reset_to_v_reset``) or subtracts ``threshold`` (``reset_by_subtraction``). The input sum
counts each spike s of a presynaptic neuron, ``delay`` steps after it was emitted, times the
integer weight w. A ``lif_curr_exp`` neuron first updates two currents, ``i_exc = exc_decay·i_exc
+ Σ_{w>0} w·s`` and ``i_inh = inh_decay·i_inh + Σ_{w<0} w·s``, and then adds ``i_exc + i_inh``
to v in place of the input sum, in the same step.

``v_scale`` is not loaded onto the chip: it is the chip voltage per NIR volt of each neuron, which
converts recorded voltages back to NIR units.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Dialect, Operation
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
from nirmlir.dialects.snn import Shape, check_choice, tensor_shape, verify_stepped_graph

# NOTE: the limits below come from public descriptions of the chip and from py-spinnaker2's NIR
# converter, not from a vendor check; MAX_DELAY and MAX_ATOMS_PER_CORE are estimates.
PROCESSING_ELEMENTS = 152
"""PEs of one SpiNNaker2 chip (38 quad-PE groups); each population core is one PE."""
WEIGHT_RANGE = (-128, 127)
"""Synaptic weights are int8: the converter scales them to ±127 and casts conv kernels to int8."""
MAX_DELAY = 7
"""Maximum synaptic delay in steps: an estimate, not a published limit."""
MAX_ATOMS_PER_CORE = 1024
"""Maximum neurons per PE: an estimate from the 128 kB of SRAM of each PE, not a published limit."""
RESETS = ("reset_to_v_reset", "reset_by_subtraction")


def population_size(value_type) -> int:
    """Return N of a population value of type tensor<Nxf32>; raise VerifyException for any other type."""
    shape = tensor_shape(value_type)
    if len(shape) != 1 or not isinstance(value_type.get_element_type(), Float32Type):
        raise VerifyException(f"a population value must be tensor<Nxf32>, got {value_type}")
    return shape[0]


def has_population_type(op: Operation) -> bool:
    try:
        population_size(op.results[0].type)
    except VerifyException:
        return False
    return True


def integer_matrix(label: str, field: str, attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """Return an integer dense attribute as an int64 array; raise VerifyException for a float one."""
    if not isinstance(attr.get_element_type(), IntegerType):
        raise VerifyException(f"{label}: '{field}' has element type {attr.get_element_type()}; expected integers")
    return numpy_from_dense(attr).astype(np.int64)


def check_range(label: str, field: str, values: np.ndarray, low: int, high: int, fix: str) -> None:
    """Raise VerifyException naming how far `values` leave [low, high] and what would fix it."""
    if values.size == 0:
        return
    smallest, largest = int(values.min()), int(values.max())
    if smallest < low:
        raise VerifyException(
            f"{label}: '{field}' has {smallest}, {low - smallest} below the chip's minimum {low}; {fix}"
        )
    if largest > high:
        raise VerifyException(
            f"{label}: '{field}' has {largest}, {largest - high} above the chip's maximum {high}; {fix}"
        )


WEIGHT_FIX = "lower weight-scale in lower-to-spinnaker2 (weight-scale=auto maps the largest weight to 127)"


# --------------------------------------------------------------------------------------
# Graph structure
# --------------------------------------------------------------------------------------


class SpiNNaker2NodeOp(IRDLOperation):
    """Base of every op in a spinnaker2.graph: a population, projection, input or output."""

    ASSEMBLY_FORM: ClassVar[str] = "node"

    node_name = prop_def(StringAttr)

    @property
    def label(self) -> str:
        """The op name and node name, as diagnostics print them."""
        return f"'{self.name}' op node '{self.node_name.data}'"


class PopulationOp(SpiNNaker2NodeOp):
    """Base of the ops that are py-spinnaker2 populations, spike sources that occupy PEs."""

    atoms_per_core = prop_def(IntegerAttr)

    def size(self) -> int:
        return population_size(self.results[0].type)

    def cores(self) -> int:
        """Return the PEs the population needs: its size over atoms_per_core, rounded up."""
        atoms = self.atoms_per_core.value.data
        # A count below 1 is the population's own verifier error; the graph check must not divide by it.
        return math.ceil(self.size() / atoms) if atoms >= 1 else 0

    def verify_atoms(self) -> None:
        atoms = self.atoms_per_core.value.data
        if atoms < 1:
            raise VerifyException(f"{self.label}: 'atoms_per_core' is {atoms}; expected at least 1")
        if atoms > MAX_ATOMS_PER_CORE:
            raise VerifyException(
                f"{self.label}: 'atoms_per_core' is {atoms}, {atoms - MAX_ATOMS_PER_CORE} above the "
                f"{MAX_ATOMS_PER_CORE} neurons one PE holds; lower atoms-per-core"
            )


def is_delayed(op: Operation) -> bool:
    """Return whether the output of `op` at step t depends only on spikes before t."""
    return isinstance(op, ProjectionOp) and op.min_delay() >= 1


@irdl_op_definition
class GraphOp(IRDLOperation):
    """A SpiNNaker2 network stepped every `dt` seconds of model time; one step lasts `sys_tick` seconds on the chip."""

    name = "spinnaker2.graph"
    ASSEMBLY_FORM: ClassVar[str] = "graph"

    sym_name = prop_def(StringAttr)
    dt = prop_def(FloatAttr)
    sys_tick = prop_def(FloatAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator(), SymbolOpInterface(), IsolatedFromAbove())

    def verify_(self) -> None:
        verify_stepped_graph(self, SpiNNaker2NodeOp, is_delayed)
        label = f"'{self.name}' op @{self.sym_name.data}"
        tick = self.sys_tick.value.data
        if not isinstance(self.sys_tick.type, Float64Type) or not np.isfinite(tick) or tick <= 0:
            raise VerifyException(f"{label}: 'sys_tick' is {tick}; expected a positive f64 number of seconds")
        # A population with an invalid type is reported by its own verifier.
        populations = [op for op in self.body.block.ops if isinstance(op, PopulationOp) and has_population_type(op)]
        cores = sum(op.cores() for op in populations)
        if cores > PROCESSING_ELEMENTS:
            largest = max(populations, key=lambda op: op.cores())
            raise VerifyException(
                f"{label}: the populations need {cores} PEs, {cores - PROCESSING_ELEMENTS} more than the "
                f"{PROCESSING_ELEMENTS} of one chip; raise atoms_per_core (population "
                f"'{largest.node_name.data}' uses {largest.cores()})"
            )


@irdl_op_definition
class InputOp(PopulationOp):
    """A spike_list population: `y[t]` is the input spikes of step t, 0 or 1 per neuron."""

    name = "spinnaker2.input"

    output = result_def(TensorType)

    def verify_(self) -> None:
        try:
            self.size()
        except VerifyException as error:
            raise VerifyException(f"{self.label}: {error}") from None
        self.verify_atoms()


@irdl_op_definition
class OutputOp(SpiNNaker2NodeOp):
    """Records the spikes of the populations it reads at every step (their sum, for several)."""

    name = "spinnaker2.output"

    inputs = var_operand_def(TensorType)

    def verify_(self) -> None:
        if not self.inputs:
            raise VerifyException(f"{self.label}: an output needs at least one operand")
        for index, operand in enumerate(self.inputs):
            if not isinstance(operand.owner, PopulationOp):
                raise VerifyException(
                    f"{self.label}: operand {index} is not a population; SpiNNaker2 records only population spikes"
                )
            if operand.type != self.inputs[0].type:
                raise VerifyException(f"{self.label}: operand {index} has type {operand.type}, unlike operand 0")


# --------------------------------------------------------------------------------------
# Projections
# --------------------------------------------------------------------------------------


class _ProjectionBase(SpiNNaker2NodeOp):
    """A projection reads the spikes of one population and gives the synaptic input of another."""

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)

    def pre_and_post(self) -> tuple[int, int]:
        """Check the one operand and the result; return their population sizes."""
        if len(self.inputs) != 1:
            raise VerifyException(f"{self.label}: a projection reads exactly one population, got {len(self.inputs)}")
        if not isinstance(self.inputs[0].owner, PopulationOp):
            raise VerifyException(f"{self.label}: the operand is not a population; a projection carries spikes")
        try:
            return population_size(self.inputs[0].type), population_size(self.output.type)
        except VerifyException as error:
            raise VerifyException(f"{self.label}: {error}") from None

    def verify_targets(self) -> None:
        for use in self.output.uses:
            if not isinstance(use.operation, NeuronPopulationOp):
                raise VerifyException(
                    f"{self.label}: its result feeds '{use.operation.name}'; a projection must feed a neuron population"
                )


@irdl_op_definition
class ProjectionOp(_ProjectionBase):
    """A connection list as dense matrices: neuron j receives `weight[j, i]` from neuron i `delay[j, i]` steps later.

    Entries with weight 0 are not connections, and their delay is not used.
    """

    name = "spinnaker2.projection"

    weight = prop_def(DenseIntOrFPElementsAttr)
    delay = prop_def(DenseIntOrFPElementsAttr)

    def min_delay(self) -> int:
        """Return the smallest delay over the connections (MAX_DELAY + 1 without any connection)."""
        weight = numpy_from_dense(self.weight)
        delay = numpy_from_dense(self.delay)
        if weight.shape != delay.shape:
            return 0
        used = delay[weight != 0]
        return int(used.min()) if used.size else MAX_DELAY + 1

    def verify_(self) -> None:
        pre, post = self.pre_and_post()
        self.verify_targets()
        for field in ("weight", "delay"):
            shape = tuple(self.properties[field].get_shape())
            if shape != (post, pre):
                raise VerifyException(
                    f"{self.label}: '{field}' has shape {list(shape)}; expected [{post}, {pre}] (post, pre)"
                )
        weight = integer_matrix(self.label, "weight", self.weight)
        delay = integer_matrix(self.label, "delay", self.delay)
        check_range(self.label, "weight", weight, *WEIGHT_RANGE, WEIGHT_FIX)
        check_range(self.label, "delay", delay[weight != 0], 0, MAX_DELAY, "shorten the delays in the model")


def pooled_conv_shape(in_shape: Shape, kernel: Shape, stride: Shape, padding: Shape, pool: Shape) -> Shape:
    """Return the (C_out, H, W) output of sum pooling by `pool` and then a convolution; raise ValueError if it does not fit.

    `in_shape` is (C_in, H, W), `kernel` (C_in, C_out, kH, kW) as py-spinnaker2 stores it, and
    `padding` (top, bottom, left, right).
    """
    channels, height, width = in_shape
    if kernel[0] != channels:
        raise ValueError(f"'weight' has {kernel[0]} input channels but 'in_shape' has {channels}")
    pooled_h, pooled_w = height // pool[0], width // pool[1]
    out_h = (pooled_h + padding[0] + padding[1] - kernel[2]) // stride[0] + 1
    out_w = (pooled_w + padding[2] + padding[3] - kernel[3]) // stride[1] + 1
    if pooled_h < 1 or pooled_w < 1 or out_h < 1 or out_w < 1:
        raise ValueError(f"the kernel {list(kernel[2:])} does not fit the pooled input {[pooled_h, pooled_w]}")
    return (kernel[1], out_h, out_w)


@irdl_op_definition
class Conv2dProjectionOp(_ProjectionBase):
    """A Conv2DProjection: the presynaptic spikes, shaped `in_shape` (C, H, W), are sum-pooled by
    `pool` (window = stride, no padding), zero-padded by `padding` (top, bottom, left, right) and
    cross-correlated with `weight` of shape (C_in, C_out, kH, kW) at `stride` (y, x), with no delay.
    """

    name = "spinnaker2.conv2d_projection"

    weight = prop_def(DenseIntOrFPElementsAttr)
    in_shape = prop_def(DenseArrayBase)
    stride = prop_def(DenseArrayBase)
    padding = prop_def(DenseArrayBase)
    pool = prop_def(DenseArrayBase)

    def min_delay(self) -> int:
        return 0

    def out_shape(self) -> Shape:
        return pooled_conv_shape(
            ints_from_array(self.in_shape),
            tuple(self.weight.get_shape()),
            ints_from_array(self.stride),
            ints_from_array(self.padding),
            ints_from_array(self.pool),
        )

    def verify_(self) -> None:
        pre, post = self.pre_and_post()
        self.verify_targets()
        for field, size, minimum in (("in_shape", 3, 1), ("stride", 2, 1), ("padding", 4, 0), ("pool", 2, 1)):
            values = ints_from_array(self.properties[field])
            if len(values) != size or min(values) < minimum:
                raise VerifyException(f"{self.label}: '{field}' is {list(values)}; expected {size} integers >= {minimum}")
        if len(self.weight.get_shape()) != 4:
            raise VerifyException(
                f"{self.label}: 'weight' has shape {list(self.weight.get_shape())}; expected (C_in, C_out, kH, kW)"
            )
        in_shape = ints_from_array(self.in_shape)
        if int(np.prod(in_shape)) != pre:
            raise VerifyException(f"{self.label}: 'in_shape' {list(in_shape)} has {int(np.prod(in_shape))} neurons but the operand has {pre}")
        try:
            out_shape = self.out_shape()
        except ValueError as error:
            raise VerifyException(f"{self.label}: {error}") from None
        if int(np.prod(out_shape)) != post:
            raise VerifyException(
                f"{self.label}: the convolution gives {list(out_shape)} = {int(np.prod(out_shape))} neurons but the result has {post}"
            )
        check_range(self.label, "weight", integer_matrix(self.label, "weight", self.weight), *WEIGHT_RANGE, WEIGHT_FIX)


# --------------------------------------------------------------------------------------
# Neuron populations
# --------------------------------------------------------------------------------------


class NeuronPopulationOp(PopulationOp):
    """A population of one py-spinnaker2 neuron model; every parameter is per neuron."""

    PARAMETERS: ClassVar[tuple[str, ...]] = ("threshold", "alpha_decay", "i_offset", "v_reset")
    DECAYS: ClassVar[tuple[str, ...]] = ("alpha_decay",)

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    threshold = prop_def(DenseIntOrFPElementsAttr)
    alpha_decay = prop_def(DenseIntOrFPElementsAttr)
    i_offset = prop_def(DenseIntOrFPElementsAttr)
    v_reset = prop_def(DenseIntOrFPElementsAttr)
    reset = prop_def(StringAttr)
    v_scale = prop_def(DenseIntOrFPElementsAttr)

    def parameter(self, field: str) -> np.ndarray:
        """Return a float32 parameter as a float32 array."""
        return numpy_from_dense(self.properties[field])

    def verify_(self) -> None:
        try:
            size = self.size()
        except VerifyException as error:
            raise VerifyException(f"{self.label}: {error}") from None
        self.verify_atoms()
        check_choice(self.label, "reset", self.reset, RESETS)
        for index, operand in enumerate(self.inputs):
            if not isinstance(operand.owner, _ProjectionBase):
                raise VerifyException(
                    f"{self.label}: operand {index} is not a projection; a population receives spikes only "
                    "through projections"
                )
            if operand.type != self.output.type:
                raise VerifyException(f"{self.label}: operand {index} has type {operand.type} but the population has {self.output.type}")
        for field in (*self.PARAMETERS, "v_scale"):
            attr = self.properties[field]
            element = Float64Type if field == "v_scale" else Float32Type
            if not isinstance(attr.get_element_type(), element):
                raise VerifyException(
                    f"{self.label}: '{field}' has element type {attr.get_element_type()}; expected "
                    f"{'f64' if field == 'v_scale' else 'f32, the ARM cores compute in float32'}"
                )
            if tuple(attr.get_shape()) != (size,):
                raise VerifyException(f"{self.label}: '{field}' has shape {list(attr.get_shape())}; expected [{size}]")
            values = numpy_from_dense(attr)
            if not np.isfinite(values).all():
                raise VerifyException(f"{self.label}: '{field}' contains a value that is not finite")
            if field in self.DECAYS and ((values < 0) | (values > 1)).any():
                raise VerifyException(
                    f"{self.label}: '{field}' has values in [{values.min()}, {values.max()}]; a decay is the "
                    "fraction kept per step and must lie in [0, 1]"
                )


@irdl_op_definition
class LIFOp(NeuronPopulationOp):
    """py-spinnaker2's `lif` model: `v = alpha_decay·v + Σ w·s + i_offset`, spike when v > threshold, then reset."""

    name = "spinnaker2.lif"

    def verify_(self) -> None:
        super().verify_()
        for index, operand in enumerate(self.inputs):
            if isinstance(operand.owner, Conv2dProjectionOp):
                raise VerifyException(
                    f"{self.label}: operand {index} is a conv2d_projection, which only lif_conv2d populations receive"
                )


@irdl_op_definition
class LIFConv2dOp(NeuronPopulationOp):
    """py-spinnaker2's `lif_conv2d` model: the `lif` neuron, fed by conv2d projections through the PE's MAC array."""

    name = "spinnaker2.lif_conv2d"


@irdl_op_definition
class LIFCurrExpOp(NeuronPopulationOp):
    """py-spinnaker2's `lif_curr_exp` model: the `lif` neuron with decaying excitatory and inhibitory currents.

    `i_exc = exc_decay·i_exc + Σ_{w>0} w·s`, `i_inh = inh_decay·i_inh + Σ_{w<0} w·s`, then
    `v = alpha_decay·v + i_exc + i_inh + i_offset` with this step's currents.
    """

    name = "spinnaker2.lif_curr_exp"
    PARAMETERS: ClassVar[tuple[str, ...]] = ("threshold", "alpha_decay", "i_offset", "v_reset", "exc_decay", "inh_decay")
    DECAYS: ClassVar[tuple[str, ...]] = ("alpha_decay", "exc_decay", "inh_decay")

    exc_decay = prop_def(DenseIntOrFPElementsAttr)
    inh_decay = prop_def(DenseIntOrFPElementsAttr)

    def verify_(self) -> None:
        super().verify_()
        for index, operand in enumerate(self.inputs):
            if isinstance(operand.owner, Conv2dProjectionOp):
                raise VerifyException(
                    f"{self.label}: operand {index} is a conv2d_projection, which only lif_conv2d populations receive"
                )


NODE_OPS = (InputOp, OutputOp, ProjectionOp, Conv2dProjectionOp, LIFOp, LIFConv2dOp, LIFCurrExpOp)

SPINNAKER2 = Dialect("spinnaker2", [GraphOp, *NODE_OPS], [])
