"""The `snn` dialect: NIR graphs in discrete time, in floating point, with every per-step rule explicit.

An `snn.graph` carries the step length `dt` in seconds. Its single block holds node ops in
schedule order: a simulator computes them in block order once per step. A value may be read
before the op that defines it only when that op is `snn.step_delay`, or `snn.delay` with at
least one step everywhere, because their output at step t depends only on earlier steps.
`discretize` turns the back edges of NIR cycles into such `snn.step_delay` ops.

Every op that stands for a NIR node keeps the NIR node name in ``node_name``. It takes one
variadic group of operands, one per incoming edge, and its input `x[t]` is their sum. Values are float
tensors with the unbatched NIR shape; spikes are counts per step (0 or 1 unless a neuron allows
more spikes per step).

Neuron coefficients are per-neuron dense tensors whose names state their meaning, so each
simulator convention is a different, printable IR:

* ``*_decay``: the fraction of the state kept per step, in [0, 1];
* ``*_gain``: the factor applied to the input per step, with `r`, `w_in` and `dt/τ` folded in;
* ``leak``: the term added per step that pulls the voltage toward `v_leak`;
* ``integrator``: the discretization the coefficients came from: ``forward_euler``,
  ``exp_euler`` (exact decay with a forward-Euler input gain, as sinabs and Rockpool),
  ``zero_order_hold`` (exact for an input held constant over the step, as Nengo) or
  ``event_exact`` (``zero_order_hold`` coefficients, with spikes and resets placed at the
  exact threshold crossing inside the step);
* ``spike_test`` (``gt``: v > v_threshold, ``ge``: v ≥ v_threshold), ``spike_timing``
  (``after_update`` tests the updated voltage, ``before_update`` the previous one), ``reset``
  (``to_reset_value``, ``subtract`` or ``none``) and ``max_spikes_per_step``;
* ``current_timing`` on current-based neurons: whether the voltage sees this step's current
  (``same_step``) or the previous step's (``previous_step``).

A NIR IF neuron becomes an `snn.lif` whose ``voltage_decay`` is exactly 1 and whose ``leak`` is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    Float64Type,
    IntegerAttr,
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

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.verification import nodes_match_definitions

Shape = tuple[int, ...]

INTEGRATORS = ("forward_euler", "exp_euler", "zero_order_hold", "event_exact")
SPIKE_TESTS = ("gt", "ge")
SPIKE_TIMINGS = ("after_update", "before_update")
RESETS = ("to_reset_value", "subtract", "none")
CURRENT_TIMINGS = ("same_step", "previous_step")


# --------------------------------------------------------------------------------------
# Shape helpers, shared with the fxp dialect
# --------------------------------------------------------------------------------------


def tensor_shape(type_attr: Attribute) -> Shape:
    """Return the shape of a tensor type; raise VerifyException for any other type."""
    if not isinstance(type_attr, TensorType):
        raise VerifyException(f"expected a tensor type, got {type_attr}")
    return tuple(type_attr.get_shape())


def conv_output_shape(
    input_shape: Shape,
    weight_shape: Shape,
    stride: Shape,
    padding: Shape,
    dilation: Shape,
    groups: int,
) -> Shape:
    """Return the output shape of a PyTorch-style cross-correlation with symmetric zero padding.

    Raises ValueError naming the parameter that does not fit the input shape.
    """
    rank = len(weight_shape) - 2
    if rank < 1:
        raise ValueError(f"'weight' has shape {list(weight_shape)}; expected (C_out, C_in/groups, kernel...)")
    for field, values, minimum in (("stride", stride, 1), ("padding", padding, 0), ("dilation", dilation, 1)):
        if len(values) != rank or min(values) < minimum:
            raise ValueError(f"'{field}' is {list(values)}; expected {rank} integer(s) >= {minimum}")
    if groups < 1 or weight_shape[0] % groups:
        raise ValueError(f"'groups' is {groups}; it must be positive and divide the {weight_shape[0]} output channels")
    if len(input_shape) != rank + 1:
        raise ValueError(f"the input has shape {list(input_shape)}; expected rank {rank + 1} (channels first)")
    if input_shape[0] != weight_shape[1] * groups:
        raise ValueError(
            f"the input has {input_shape[0]} channels but 'weight' {list(weight_shape)} with groups={groups} "
            f"expects {weight_shape[1] * groups}"
        )
    spatial = []
    for size, kernel, s, p, d in zip(input_shape[1:], weight_shape[2:], stride, padding, dilation):
        out = (size + 2 * p - d * (kernel - 1) - 1) // s + 1
        if out < 1:
            raise ValueError(f"the kernel {list(weight_shape[2:])} does not fit the input {list(input_shape[1:])}")
        spatial.append(out)
    return (weight_shape[0], *spatial)


def pool_output_shape(input_shape: Shape, kernel_size: Shape, stride: Shape, padding: Shape) -> Shape:
    """Return the output shape of a 2-D pool over a (C, H, W) input; raise ValueError if it does not fit."""
    if len(input_shape) != 3:
        raise ValueError(f"the input has shape {list(input_shape)}; a 2-D pool expects (C, H, W)")
    for field, values, minimum in (("kernel_size", kernel_size, 1), ("stride", stride, 1), ("padding", padding, 0)):
        if len(values) != 2 or min(values) < minimum:
            raise ValueError(f"'{field}' is {list(values)}; expected 2 integers >= {minimum}")
    spatial = []
    for size, k, s, p in zip(input_shape[1:], kernel_size, stride, padding):
        out = (size + 2 * p - k) // s + 1
        if out < 1:
            raise ValueError(f"'kernel_size' {list(kernel_size)} does not fit the input {list(input_shape[1:])}")
        spatial.append(out)
    return (input_shape[0], *spatial)


def flatten_output_shape(shape: Shape, start_dim: int, end_dim: int) -> Shape:
    """Return `shape` with dims start_dim..end_dim (inclusive, negative from the end) merged into one."""
    rank = len(shape)
    start = start_dim + rank if start_dim < 0 else start_dim
    end = end_dim + rank if end_dim < 0 else end_dim
    if not (0 <= start <= end < max(rank, 1)):
        raise ValueError(f"'start_dim' {start_dim} and 'end_dim' {end_dim} do not select dimensions of {list(shape)}")
    merged = int(np.prod(shape[start : end + 1], dtype=np.int64))
    return (*shape[:start], merged, *shape[end + 1 :])


def float_array(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """Return a dense attribute as a float64 array; NIR files may store parameters such as r as integers."""
    return numpy_from_dense(attr).astype(np.float64)


def check_choice(label: str, field: str, value: StringAttr, choices: Sequence[str]) -> None:
    """Raise VerifyException unless the string property `field` is one of `choices`."""
    if value.data not in choices:
        raise VerifyException(f"{label}: '{field}' is '{value.data}'; expected one of {', '.join(choices)}")


# --------------------------------------------------------------------------------------
# Graph structure
# --------------------------------------------------------------------------------------


class SNNNodeOp(IRDLOperation):
    """Base of every snn op that stands for a NIR node (or a delay the lowering added)."""

    ASSEMBLY_FORM: ClassVar[str] = "node"

    node_name = prop_def(StringAttr)

    @property
    def label(self) -> str:
        """The op name and node name, as diagnostics print them."""
        return f"'{self.name}' op node '{self.node_name.data}'"

    def common_input_shape(self) -> Shape | None:
        """Return the shape shared by all operands, or None without operands; raise if they differ."""
        if not self.operands:
            return None
        first = self.operands[0].type
        for index, operand in enumerate(self.operands):
            if operand.type != first:
                raise VerifyException(
                    f"{self.label}: operand {index} has type {operand.type} but operand 0 has type {first}; "
                    "every edge into a node must carry the same shape, because the node sums them"
                )
        return tensor_shape(first)

    def result_shape(self) -> Shape:
        return tensor_shape(self.results[0].type)

    def check_input_shape(self, expected: Shape) -> None:
        """Raise VerifyException if the operands do not have shape `expected`."""
        actual = self.common_input_shape()
        if actual is not None and actual != expected:
            raise VerifyException(f"{self.label}: the input has shape {list(actual)} but the op expects {list(expected)}")

    def check_result_shape(self, expected: Shape) -> None:
        actual = self.result_shape()
        if actual != expected:
            raise VerifyException(f"{self.label}: the result has shape {list(actual)} but the op gives {list(expected)}")


def is_delayed(op: Operation) -> bool:
    """Return whether the output of `op` at step t depends only on steps before t."""
    if isinstance(op, StepDelayOp):
        return op.steps.value.data >= 1
    if isinstance(op, DelayOp):
        steps = numpy_from_dense(op.steps)
        return steps.size > 0 and int(steps.min()) >= 1
    return False


def verify_schedule(graph_label: str, ops: Sequence[Operation], is_delayed_op) -> None:
    """Raise VerifyException if an op reads a value computed later in the step by a non-delay op."""
    position = {op: index for index, op in enumerate(ops)}
    for op in ops:
        for operand in op.operands:
            source = operand.owner
            if source in position and position[source] >= position[op] and not is_delayed_op(source):
                raise VerifyException(
                    f"{graph_label}: node '{op.node_name.data}' reads node '{source.node_name.data}', which is "
                    "computed later in the step; only delay ops with at least one step may be read before "
                    "they are computed"
                )


def verify_stepped_graph(graph: Operation, node_class: type, is_delayed_op) -> None:
    """Check the rules that snn and fxp graphs share.

    dt is a positive f64 number of seconds, the block has no arguments, every op is a node
    op of the graph's dialect with a unique node name, and ops are in schedule order.
    """
    dialect = graph.name.split(".")[0]
    label = f"'{graph.name}' op @{graph.sym_name.data}"
    dt = graph.dt.value.data
    if not isinstance(graph.dt.type, Float64Type) or not np.isfinite(dt) or dt <= 0:
        raise VerifyException(
            f"{label}: 'dt' is {dt} of type {graph.dt.type}; expected a positive f64 number of seconds"
        )
    if graph.body.block.args:
        raise VerifyException(f"{label}: the body block must have no arguments; use {dialect}.input ops")
    for op in graph.body.block.ops:
        if not isinstance(op, node_class):
            raise VerifyException(f"{label}: '{op.name}' is not an {dialect} node op")
    if not nodes_match_definitions(graph.body.block.ops):
        return
    names: set[str] = set()
    for op in graph.body.block.ops:
        if op.node_name.data in names:
            raise VerifyException(f"{label}: node name '{op.node_name.data}' is used twice")
        names.add(op.node_name.data)
    verify_schedule(label, list(graph.body.block.ops), is_delayed_op)


@irdl_op_definition
class GraphOp(IRDLOperation):
    """A discrete-time graph: node ops in schedule order, stepped every `dt` seconds."""

    name = "snn.graph"
    ASSEMBLY_FORM: ClassVar[str] = "graph"

    sym_name = prop_def(StringAttr)
    dt = prop_def(FloatAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator(), SymbolOpInterface(), IsolatedFromAbove())

    def verify_(self) -> None:
        verify_stepped_graph(self, SNNNodeOp, is_delayed)


@irdl_op_definition
class InputOp(SNNNodeOp):
    """Graph input: `y[t]` is the external data of step t."""

    name = "snn.input"

    output = result_def(TensorType)

    def verify_(self) -> None:
        tensor_shape(self.output.type)


@irdl_op_definition
class OutputOp(SNNNodeOp):
    """Graph output: records `x[t]`, the sum of the operands, at every step."""

    name = "snn.output"

    inputs = var_operand_def(TensorType)

    def verify_(self) -> None:
        if not self.inputs:
            raise VerifyException(f"{self.label}: an output needs at least one operand")
        self.common_input_shape()


# --------------------------------------------------------------------------------------
# Memoryless maps, applied independently at every step
# --------------------------------------------------------------------------------------


@irdl_op_definition
class AffineOp(SNNNodeOp):
    """Affine map over the last axis: `y[t] = W x[t] + b`, W of shape (..., out, in); no bias means b = 0.

    `nir.linear` lowers to this op without a bias.
    """

    name = "snn.affine"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    weight = prop_def(DenseIntOrFPElementsAttr)
    bias = opt_prop_def(DenseIntOrFPElementsAttr)

    def verify_(self) -> None:
        weight = tuple(self.weight.get_shape())
        if len(weight) < 2:
            raise VerifyException(f"{self.label}: 'weight' has shape {list(weight)}; it needs (..., out, in)")
        self.check_input_shape(weight[:-2] + (weight[-1],))
        out_shape = weight[:-2] + (weight[-2],)
        self.check_result_shape(out_shape)
        if self.bias is not None:
            bias = tuple(self.bias.get_shape())
            if bias not in ((weight[-2],), out_shape, ()):
                raise VerifyException(f"{self.label}: 'bias' has shape {list(bias)}; expected [{weight[-2]}]")
        if not np.isfinite(float_array(self.weight)).all():
            raise VerifyException(f"{self.label}: 'weight' contains a value that is not finite")


@irdl_op_definition
class ScaleOp(SNNNodeOp):
    """Element-wise gain: `y[t] = s ⊙ x[t]`."""

    name = "snn.scale"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    scale = prop_def(DenseIntOrFPElementsAttr)

    def verify_(self) -> None:
        shape = tuple(self.scale.get_shape())
        self.check_input_shape(shape)
        self.check_result_shape(shape)


def verify_conv_shapes(op) -> Shape:
    """Check a convolution's weight rank, operands and result shape, and return the weight shape.

    It serves the conv ops of snn and fxp, which share the fields weight, stride, padding,
    dilation and groups and the constant SPATIAL_RANK.
    """
    weight = tuple(op.weight.get_shape())
    if len(weight) != op.SPATIAL_RANK + 2:
        raise VerifyException(f"{op.label}: 'weight' has shape {list(weight)}; expected rank {op.SPATIAL_RANK + 2}")
    input_shape = op.common_input_shape()
    if input_shape is None:
        raise VerifyException(f"{op.label}: a convolution needs at least one operand")
    try:
        out_shape = conv_output_shape(
            input_shape,
            weight,
            ints_from_array(op.stride),
            ints_from_array(op.padding),
            ints_from_array(op.dilation),
            op.groups.value.data,
        )
    except ValueError as error:
        raise VerifyException(f"{op.label}: {error}") from error
    op.check_result_shape(out_shape)
    return weight


class _ConvOp(SNNNodeOp):
    """A cross-correlation with explicit symmetric zero padding (no "same" or "valid")."""

    SPATIAL_RANK: ClassVar[int] = 0

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    weight = prop_def(DenseIntOrFPElementsAttr)
    bias = opt_prop_def(DenseIntOrFPElementsAttr)
    stride = prop_def(DenseArrayBase)
    padding = prop_def(DenseArrayBase)
    dilation = prop_def(DenseArrayBase)
    groups = prop_def(IntegerAttr)

    def verify_(self) -> None:
        weight = verify_conv_shapes(self)
        if self.bias is not None and tuple(self.bias.get_shape()) != (weight[0],):
            raise VerifyException(f"{self.label}: 'bias' has shape {list(self.bias.get_shape())}; expected [{weight[0]}]")


@irdl_op_definition
class Conv1dOp(_ConvOp):
    """1-D cross-correlation: `y[t][co,i] = b[co] + Σ W[co,ci,k] x_pad[t][ci, i·s + k·d]`."""

    name = "snn.conv1d"
    SPATIAL_RANK: ClassVar[int] = 1


@irdl_op_definition
class Conv2dOp(_ConvOp):
    """2-D cross-correlation: `y[t][co,i,j] = b[co] + Σ W[co,ci,a,b] x_pad[t][ci, i·sh + a·dh, j·sw + b·dw]`."""

    name = "snn.conv2d"
    SPATIAL_RANK: ClassVar[int] = 2


class _PoolOp(SNNNodeOp):
    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    kernel_size = prop_def(DenseArrayBase)
    stride = prop_def(DenseArrayBase)
    padding = prop_def(DenseArrayBase)

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
class SumPool2dOp(_PoolOp):
    """2-D sum pooling with zero padding: `y[t][c,i,j] = Σ_{a<kh, b<kw} x_pad[t][c, i·sh + a, j·sw + b]`."""

    name = "snn.sum_pool2d"


@irdl_op_definition
class AvgPool2dOp(_PoolOp):
    """2-D average pooling: the sum pool divided by `kh·kw` (padded cells count as zeros)."""

    name = "snn.avg_pool2d"


@irdl_op_definition
class FlattenOp(SNNNodeOp):
    """Row-major reshape merging dims `start_dim..end_dim` (inclusive) of the unbatched shape."""

    name = "snn.flatten"

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


@irdl_op_definition
class ThresholdOp(SNNNodeOp):
    """Stateless spike test: `y[t] = 1 if x[t] > θ else 0` (``gt``), or `x[t] ≥ θ` (``ge``)."""

    name = "snn.threshold"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    threshold = prop_def(DenseIntOrFPElementsAttr)
    spike_test = prop_def(StringAttr)

    def verify_(self) -> None:
        check_choice(self.label, "spike_test", self.spike_test, SPIKE_TESTS)
        shape = tuple(self.threshold.get_shape())
        self.check_input_shape(shape)
        self.check_result_shape(shape)


# --------------------------------------------------------------------------------------
# Delays
# --------------------------------------------------------------------------------------


@irdl_op_definition
class DelayOp(SNNNodeOp):
    """Element-wise delay by an integer number of steps: `y[t] = x[t - k]`, and 0 for t < k."""

    name = "snn.delay"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    steps = prop_def(DenseIntOrFPElementsAttr)

    def verify_(self) -> None:
        shape = tuple(self.steps.get_shape())
        self.check_input_shape(shape)
        self.check_result_shape(shape)
        steps = numpy_from_dense(self.steps)
        if steps.dtype.kind not in "iu" or (steps < 0).any():
            raise VerifyException(f"{self.label}: 'steps' must hold non-negative integers")


@irdl_op_definition
class StepDelayOp(SNNNodeOp):
    """Delay by `steps` steps (1 by default): `y[t] = x[t - steps]`, and 0 for t < steps.

    `discretize` puts one on each back edge of a cycle, and on each synapse edge of a preset with
    synaptic latency; its node name is the edge, `source->destination`.
    """

    name = "snn.step_delay"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    steps = prop_def(IntegerAttr)

    def verify_(self) -> None:
        if self.steps.value.data < 1:
            raise VerifyException(f"{self.label}: 'steps' is {self.steps.value.data}; expected at least 1")
        shape = self.result_shape()
        self.check_input_shape(shape)


# --------------------------------------------------------------------------------------
# Neuron groups
# --------------------------------------------------------------------------------------


class NeuronOp(SNNNodeOp):
    """Base of the neuron groups: every coefficient has the neuron shape, which is the input and result shape."""

    DECAYS: ClassVar[tuple[str, ...]] = ()
    COEFFICIENTS: ClassVar[tuple[str, ...]] = ()

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    integrator = prop_def(StringAttr)

    def coefficient(self, field: str) -> np.ndarray:
        """Return a per-neuron coefficient as a float64 array."""
        return float_array(self.properties[field])

    def verify_(self) -> None:
        check_choice(self.label, "integrator", self.integrator, INTEGRATORS)
        shape = self.result_shape()
        self.check_input_shape(shape)
        for field in self.COEFFICIENTS:
            values = self.coefficient(field)
            if values.shape != shape:
                raise VerifyException(
                    f"{self.label}: '{field}' has shape {list(values.shape)} but the neurons have shape {list(shape)}"
                )
            if not np.isfinite(values).all():
                raise VerifyException(f"{self.label}: '{field}' contains a value that is not finite")
            if field in self.DECAYS and ((values < 0) | (values > 1)).any():
                raise VerifyException(
                    f"{self.label}: '{field}' has values in [{values.min()}, {values.max()}]; a decay is the "
                    "fraction of the state kept per step and must lie in [0, 1]"
                )


class SpikingNeuronOp(NeuronOp):
    """A neuron group whose output is spike counts, with the spike and reset rules as properties."""

    v_threshold = prop_def(DenseIntOrFPElementsAttr)
    v_reset = prop_def(DenseIntOrFPElementsAttr)
    spike_test = prop_def(StringAttr)
    spike_timing = prop_def(StringAttr)
    reset = prop_def(StringAttr)
    max_spikes_per_step = prop_def(IntegerAttr)

    def verify_(self) -> None:
        super().verify_()
        check_choice(self.label, "spike_test", self.spike_test, SPIKE_TESTS)
        check_choice(self.label, "spike_timing", self.spike_timing, SPIKE_TIMINGS)
        check_choice(self.label, "reset", self.reset, RESETS)
        max_spikes = self.max_spikes_per_step.value.data
        if max_spikes < 1:
            raise VerifyException(f"{self.label}: 'max_spikes_per_step' is {max_spikes}; expected at least 1")
        if max_spikes > 1 and (self.coefficient("v_threshold") <= 0).any():
            raise VerifyException(
                f"{self.label}: 'max_spikes_per_step' is {max_spikes}, which needs a positive 'v_threshold' "
                "to count spikes as multiples of it"
            )
        if self.integrator.data == "event_exact" and self.spike_timing.data != "after_update":
            raise VerifyException(f"{self.label}: integrator 'event_exact' needs spike_timing 'after_update'")


@irdl_op_definition
class LIFOp(SpikingNeuronOp):
    """Leaky integrate-and-fire: `u = voltage_decay ⊙ v[t-1] + voltage_gain ⊙ x[t] + leak`.

    The spike count `z[t]` is the plain test `s > v_threshold` (``gt``) or `s ≥ v_threshold`
    (``ge``), where s is `u` (``after_update``) or `v[t-1]` (``before_update``). With
    `max_spikes_per_step` m > 1, z counts how often v_threshold can be subtracted from s while the
    test holds, up to m. Then `v[t] = v_reset` where z > 0 (``to_reset_value``),
    `v[t] = u - z ⊙ v_threshold` (``subtract``), or `v[t] = u` (``none``).

    A NIR IF neuron is an snn.lif with voltage_decay 1 and leak 0. With integrator
    ``event_exact``, the spike and reset happen at the exact crossing time inside the step and the
    neuron keeps integrating for the rest of the step.
    """

    name = "snn.lif"
    DECAYS: ClassVar[tuple[str, ...]] = ("voltage_decay",)
    COEFFICIENTS: ClassVar[tuple[str, ...]] = ("voltage_decay", "voltage_gain", "leak", "v_threshold", "v_reset")

    voltage_decay = prop_def(DenseIntOrFPElementsAttr)
    voltage_gain = prop_def(DenseIntOrFPElementsAttr)
    leak = prop_def(DenseIntOrFPElementsAttr)


class CurrentNeuronOp(NeuronOp):
    """Shared checks of the current-based neurons."""

    current_timing = prop_def(StringAttr)

    def verify_(self) -> None:
        super().verify_()
        check_choice(self.label, "current_timing", self.current_timing, CURRENT_TIMINGS)
        if self.integrator.data == "event_exact":
            # TODO: place CubaLIF spikes at the exact crossing time, which needs a root search.
            raise VerifyException(
                f"{self.label}: integrator 'event_exact' is defined only for one-state neurons (lif, li, "
                "integrator); use zero_order_hold"
            )


@irdl_op_definition
class CubaLIFOp(SpikingNeuronOp, CurrentNeuronOp):
    """Current-based LIF: `i[t] = current_decay ⊙ i[t-1] + current_gain ⊙ x[t]`, then
    `u = voltage_decay ⊙ v[t-1] + voltage_gain ⊙ i_used + leak`, where `i_used` is `i[t]`
    (``same_step``) or `i[t-1]` (``previous_step``). Spikes never reset the current; the spike
    count and the voltage reset follow the rules of snn.lif.

    With ``zero_order_hold``, each state is integrated exactly on its own, holding `x` and `i_used`
    constant over the step; this is not the exact solution of the coupled pair.
    """

    name = "snn.cuba_lif"
    DECAYS: ClassVar[tuple[str, ...]] = ("current_decay", "voltage_decay")
    COEFFICIENTS: ClassVar[tuple[str, ...]] = (
        "current_decay",
        "current_gain",
        "voltage_decay",
        "voltage_gain",
        "leak",
        "v_threshold",
        "v_reset",
    )

    current_decay = prop_def(DenseIntOrFPElementsAttr)
    current_gain = prop_def(DenseIntOrFPElementsAttr)
    voltage_decay = prop_def(DenseIntOrFPElementsAttr)
    voltage_gain = prop_def(DenseIntOrFPElementsAttr)
    leak = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class LIOp(NeuronOp):
    """Leaky integrator: `v[t] = voltage_decay ⊙ v[t-1] + voltage_gain ⊙ x[t] + leak`; the output is v[t]."""

    name = "snn.li"
    DECAYS: ClassVar[tuple[str, ...]] = ("voltage_decay",)
    COEFFICIENTS: ClassVar[tuple[str, ...]] = ("voltage_decay", "voltage_gain", "leak")

    voltage_decay = prop_def(DenseIntOrFPElementsAttr)
    voltage_gain = prop_def(DenseIntOrFPElementsAttr)
    leak = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class CubaLIOp(CurrentNeuronOp):
    """Current-based leaky integrator: `i[t] = current_decay ⊙ i[t-1] + current_gain ⊙ x[t]` and
    `v[t] = voltage_decay ⊙ v[t-1] + voltage_gain ⊙ i_used + leak`, with `i_used` as in snn.cuba_lif;
    the output is v[t]."""

    name = "snn.cuba_li"
    DECAYS: ClassVar[tuple[str, ...]] = ("current_decay", "voltage_decay")
    COEFFICIENTS: ClassVar[tuple[str, ...]] = ("current_decay", "current_gain", "voltage_decay", "voltage_gain", "leak")

    current_decay = prop_def(DenseIntOrFPElementsAttr)
    current_gain = prop_def(DenseIntOrFPElementsAttr)
    voltage_decay = prop_def(DenseIntOrFPElementsAttr)
    voltage_gain = prop_def(DenseIntOrFPElementsAttr)
    leak = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class IntegratorOp(NeuronOp):
    """Integrator without leak: `v[t] = v[t-1] + voltage_gain ⊙ x[t]`; the output is v[t]."""

    name = "snn.integrator"
    COEFFICIENTS: ClassVar[tuple[str, ...]] = ("voltage_gain",)

    voltage_gain = prop_def(DenseIntOrFPElementsAttr)


NODE_OPS: tuple[type[SNNNodeOp], ...] = (
    InputOp,
    OutputOp,
    AffineOp,
    ScaleOp,
    Conv1dOp,
    Conv2dOp,
    SumPool2dOp,
    AvgPool2dOp,
    FlattenOp,
    ThresholdOp,
    DelayOp,
    StepDelayOp,
    LIFOp,
    CubaLIFOp,
    LIOp,
    CubaLIOp,
    IntegratorOp,
)

SNN = Dialect("snn", [GraphOp, *NODE_OPS], [])
