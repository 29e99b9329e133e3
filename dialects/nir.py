"""The `nir` dialect: NIR graphs held exactly, one op per NIR 1.0.8 node type.

A `nir.graph` holds a graph region: its single block has no arguments and no terminator,
and a value may be used before the op that defines it, because NIR graphs are recurrent.
`nir.input` ops produce the graph inputs and `nir.output` ops consume its outputs.

Every other op is one NIR node. It takes a variadic list of operands, one per incoming
edge. All of them have the node's input type, and the node sums them. Values are
tensors with the unbatched NIR shape. Parameters are dense tensor properties with the
dtype of the file, so ``numpy_from_dense`` gives them back without a copy. Each op keeps
its NIR node name in ``node_name`` and its NIR metadata in the discardable attribute
``metadata``.

The op docstrings state the continuous-time semantics of each node. There `x` is the
summed input, `y` the output and `⊙` the element-wise product. Time constants are in the
same unit as the simulation step chosen later by `discretize` (seconds in every
published NIR file).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    IntegerAttr,
    StringAttr,
    SymbolRefAttr,
    TensorType,
)
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import IsolatedFromAbove, NoTerminator, SymbolOpInterface, SymbolTable
from xdsl.utils.exceptions import VerifyException

from nirmlir.dense import ints_from_array, numpy_from_dense

Shape = tuple[int, ...]


class ShapeError(Exception):
    """A violated NIR shape rule; the message names the parameter at fault."""


# A parameter value handed to a shape rule: an array, an int tuple, an int or a string.
ParamValue = np.ndarray | Shape | int | str


class NIRNodeOp(IRDLOperation):
    """Base of every op that is one NIR node.

    Subclasses set ``NIR_TYPE`` (the class name in the HDF5 file) and ``PARAMS`` (the
    NIR field names in constructor order) and implement ``shape_rule``.
    """

    ASSEMBLY_FORM: ClassVar[str] = "node"
    NIR_TYPE: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[str, ...]] = ()

    node_name = prop_def(StringAttr)

    # -- parameter access -------------------------------------------------------------

    def param(self, name: str) -> ParamValue:
        """Return a parameter as numpy array (dense), int tuple (array<i64>), int or str."""
        return attribute_to_value(self.properties[name])

    def params(self) -> dict[str, ParamValue]:
        """Return every parameter present on the op, keyed by its NIR field name."""
        return {
            name: self.param(name) for name in self.PARAMS if name in self.properties
        }

    @property
    def label(self) -> str:
        """The op name and NIR node name, as diagnostics print them."""
        return f"'{self.name}' op node '{self.node_name.data}'"

    # -- shape rules ------------------------------------------------------------------

    @classmethod
    def shape_rule(
        cls, params: Mapping[str, ParamValue], input_shape: Shape | None
    ) -> tuple[Shape | None, Shape]:
        """Return (input shape, output shape) implied by the parameters.

        ``input_shape`` is the shape of the incoming edges when known; rules that cannot
        derive the input shape from the parameters alone (pools, flatten) use it. Raises
        ``ShapeError`` naming the parameter that breaks a rule.
        """
        raise NotImplementedError

    def verify_(self) -> None:
        self.verify_node(self.params())

    def verify_node(self, params: Mapping[str, ParamValue]) -> None:
        """Check the node's own rules, given its `params()`: the rules of
        `verify_placement_and_types`, equal operand types, and the shapes of the
        operand and result against the parameters' `shape_rule`.

        `verify_` calls it after xDSL's generic checks of the op's definition. An importer
        that builds ops of the right form may call it alone.
        """
        self.verify_placement_and_types(params)
        operand_types = [operand.type for operand in self.operands]
        for index, operand_type in enumerate(operand_types):
            if operand_type != operand_types[0]:
                raise VerifyException(
                    f"{self.label}: operand {index} has type {operand_type} but operand 0 "
                    f"has type {operand_types[0]}; every edge into a node must carry the "
                    "same shape, because the node sums them"
                )
        input_shape = _tensor_shape(operand_types[0]) if operand_types else None
        try:
            expected_in, expected_out = self.shape_rule(params, input_shape)
        except ShapeError as error:
            raise VerifyException(f"{self.label}: {error}") from error
        if expected_in is not None and input_shape is not None and input_shape != expected_in:
            raise VerifyException(
                f"{self.label}: input has shape {list(input_shape)} but the parameters "
                f"expect {list(expected_in)}"
            )
        for result in self.results:
            result_shape = _tensor_shape(result.type)
            if result_shape != expected_out:
                raise VerifyException(
                    f"{self.label}: result has shape {list(result_shape)} but the "
                    f"parameters give {list(expected_out)}"
                )

    def verify_placement_and_types(self, params: Mapping[str, ParamValue]) -> None:
        """Check the rules every node shares, given its `params()`: inside a `nir.graph`,
        static positive shapes on every value, and finite parameter values."""
        if not isinstance(self.parent_op(), GraphOp):
            raise VerifyException(f"{self.label}: a NIR node op must be inside a 'nir.graph'")
        for kind, values in (("operand", self.operands), ("result", self.results)):
            for index, value in enumerate(values):
                shape = _tensor_shape(value.type)
                if any(size < 1 for size in shape):
                    raise VerifyException(
                        f"{self.label}: {kind} {index} has type {value.type}; NIR shapes "
                        "need static sizes of at least 1"
                    )
        for name in self.PARAMS:
            attr = self.properties.get(name)
            if not isinstance(attr, DenseIntOrFPElementsAttr):
                continue
            values = params[name]
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                first = np.argwhere(~np.isfinite(values))[0]
                raise VerifyException(
                    f"{self.label}: '{name}' contains {values[tuple(first)]} at index "
                    f"{tuple(int(i) for i in first)}; every parameter must be finite"
                )
            _check_parameter_range(self, name, values)


TIME_CONSTANTS = ("tau", "tau_syn", "tau_mem")
"""Parameters that are time constants: a zero one divides by zero and a negative one makes
the state grow without bound, so they must be positive."""


def _check_parameter_range(op: NIRNodeOp, name: str, values: np.ndarray) -> None:
    """Reject non-positive time constants and negative delays, naming the first bad element."""
    if name in TIME_CONSTANTS:
        bad, rule = values <= 0, "every time constant must be a positive number of seconds"
    elif name == "delay":
        bad, rule = values < 0, "a delay must be zero or a positive number of seconds"
    else:
        return
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise VerifyException(f"{op.label}: '{name}' is {values[first]} at index {first}; {rule}")


def _tensor_shape(type_attr: Attribute) -> Shape:
    if not isinstance(type_attr, TensorType):
        raise VerifyException(f"expected a tensor type, got {type_attr}")
    return tuple(type_attr.get_shape())


def attribute_to_value(attr: Attribute) -> ParamValue:
    """Convert a parameter attribute to numpy, an int tuple, an int or a string."""
    if isinstance(attr, DenseIntOrFPElementsAttr):
        return numpy_from_dense(attr)
    if isinstance(attr, DenseArrayBase):
        return ints_from_array(attr)
    if isinstance(attr, IntegerAttr):
        return int(attr.value.data)
    if isinstance(attr, StringAttr):
        return attr.data
    raise TypeError(f"unsupported parameter attribute {attr}")


def _array_shape(params: Mapping[str, ParamValue], name: str) -> Shape:
    value = params[name]
    if not isinstance(value, np.ndarray):
        raise ShapeError(f"'{name}' must be a dense tensor")
    return tuple(value.shape)


# --------------------------------------------------------------------------------------
# Graph structure
# --------------------------------------------------------------------------------------


@irdl_op_definition
class GraphOp(IRDLOperation):
    """A NIR graph: a symbol holding a graph region of node ops.

    The top-level graph of a file is `@main`; nested graphs are separate `nir.graph`
    symbols instantiated by `nir.subgraph`. Node names are unique within a graph.
    """

    name = "nir.graph"
    ASSEMBLY_FORM: ClassVar[str] = "graph"

    sym_name = prop_def(StringAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator(), SymbolOpInterface(), IsolatedFromAbove())

    def verify_(self) -> None:
        self.verify_graph()

    def verify_graph(self) -> None:
        """Check the graph's own rules: no block arguments, only node ops with unique
        names, and no cycle of memoryless nodes (the node ops check themselves)."""
        if self.body.block.args:
            raise VerifyException(
                f"'nir.graph' op @{self.sym_name.data}: the body block must have no "
                "arguments; use nir.input ops for graph inputs"
            )
        seen: dict[str, Operation] = {}
        for op in self.body.block.ops:
            if not isinstance(op, NIRNodeOp):
                raise VerifyException(
                    f"'nir.graph' op @{self.sym_name.data}: '{op.name}' is not a NIR node op"
                )
            if not isinstance(op.properties.get("node_name"), StringAttr):
                return  # The op's own verifier reports it.
            node = op.node_name.data
            if node in seen:
                raise VerifyException(
                    f"'nir.graph' op @{self.sym_name.data}: node name '{node}' is used twice"
                )
            seen[node] = op
        if not _cycle_search_can_read(self.body.block.ops):
            return
        cycle = memoryless_cycle(self)
        if cycle:
            chain = " -> ".join(f"'{op.node_name.data}'" for op in [*cycle, cycle[0]])
            raise VerifyException(
                f"'nir.graph' op @{self.sym_name.data}: the edges {chain} form a cycle of "
                "memoryless nodes, which has no state to carry a value from one time step to "
                "the next; put a neuron or a positive delay on the cycle"
            )

    @property
    def nodes(self) -> list[NIRNodeOp]:
        return [op for op in self.body.block.ops if isinstance(op, NIRNodeOp)]

    def inputs(self) -> list[InputOp]:
        return [op for op in self.body.block.ops if isinstance(op, InputOp)]

    def outputs(self) -> list[OutputOp]:
        return [op for op in self.body.block.ops if isinstance(op, OutputOp)]


@irdl_op_definition
class InputOp(NIRNodeOp):
    """Graph input: `y = x`, where x is the external data of the result's shape."""

    name = "nir.input"
    NIR_TYPE: ClassVar[str] = "Input"
    PARAMS: ClassVar[tuple[str, ...]] = ()

    output = result_def(TensorType)

    def verify_node(self, params: Mapping[str, ParamValue]) -> None:
        self.verify_placement_and_types(params)


@irdl_op_definition
class OutputOp(NIRNodeOp):
    """Graph output: records the sum of its operands as the graph's output."""

    name = "nir.output"
    NIR_TYPE: ClassVar[str] = "Output"
    PARAMS: ClassVar[tuple[str, ...]] = ()

    inputs = var_operand_def(TensorType)

    def verify_node(self, params: Mapping[str, ParamValue]) -> None:
        self.verify_placement_and_types(params)
        if not self.inputs:
            raise VerifyException(f"{self.label}: an output needs at least one operand")
        for index, operand in enumerate(self.inputs):
            if operand.type != self.inputs[0].type:
                raise VerifyException(
                    f"{self.label}: operand {index} has type {operand.type} but operand 0 "
                    f"has type {self.inputs[0].type}"
                )


@irdl_op_definition
class SubgraphOp(NIRNodeOp):
    """A nested NIR graph used as one node: the operands feed the graph's single
    `nir.input` and the result is its single `nir.output`."""

    name = "nir.subgraph"
    NIR_TYPE: ClassVar[str] = "NIRGraph"
    PARAMS: ClassVar[tuple[str, ...]] = ()

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    graph = prop_def(SymbolRefAttr)

    def callee(self) -> GraphOp:
        """Return the `nir.graph` this op instantiates; raises VerifyException if missing."""
        found = None
        anchor = self.parent_op()
        while anchor is not None and not anchor.has_trait(SymbolTable):
            anchor = anchor.parent_op()
        if anchor is not None:
            found = SymbolTable.lookup_symbol(anchor, self.graph)
        if not isinstance(found, GraphOp):
            raise VerifyException(
                f"{self.label}: graph @{self.graph.root_reference.data} is not defined in "
                "this module"
            )
        return found

    def verify_no_recursion(self, graph: GraphOp) -> None:
        """Reject a graph that instantiates itself, directly or through other graphs."""
        own_graph = self.parent_op()
        path = [graph]
        pending = [(graph, path)]
        visited: set[int] = set()
        while pending:
            current, path = pending.pop()
            if current is own_graph:
                chain = " -> ".join(f"@{g.sym_name.data}" for g in [own_graph, *path])
                raise VerifyException(
                    f"{self.label}: graph @{own_graph.sym_name.data} instantiates itself "
                    f"({chain}); a NIR graph cannot contain itself"
                )
            if id(current) in visited:
                continue
            visited.add(id(current))
            for op in current.body.block.ops:
                if isinstance(op, SubgraphOp):
                    try:
                        callee = op.callee()
                    except VerifyException:
                        continue
                    pending.append((callee, [*path, callee]))

    def verify_node(self, params: Mapping[str, ParamValue]) -> None:
        self.verify_placement_and_types(params)
        for index, operand in enumerate(self.inputs):
            if operand.type != self.inputs[0].type:
                raise VerifyException(
                    f"{self.label}: operand {index} has type {operand.type} but operand 0 "
                    f"has type {self.inputs[0].type}"
                )
        graph = self.callee()
        self.verify_no_recursion(graph)
        inputs, outputs = graph.inputs(), graph.outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise VerifyException(
                f"{self.label}: graph @{graph.sym_name.data} has {len(inputs)} inputs and "
                f"{len(outputs)} outputs; a nested graph needs exactly one of each"
            )
        if self.inputs and self.inputs[0].type != inputs[0].output.type:
            raise VerifyException(
                f"{self.label}: operand type {self.inputs[0].type} does not match the input "
                f"'{inputs[0].node_name.data}' of @{graph.sym_name.data}, which has type "
                f"{inputs[0].output.type}"
            )
        output_type = outputs[0].inputs[0].type if outputs[0].inputs else None
        if output_type is not None and self.output.type != output_type:
            raise VerifyException(
                f"{self.label}: result type {self.output.type} does not match the output "
                f"'{outputs[0].node_name.data}' of @{graph.sym_name.data}, which has type "
                f"{output_type}"
            )


# --------------------------------------------------------------------------------------
# Memoryless linear maps
# --------------------------------------------------------------------------------------


def _matrix_rule(params: Mapping[str, ParamValue]) -> tuple[Shape, Shape]:
    weight = _array_shape(params, "weight")
    if len(weight) < 2:
        raise ShapeError(
            f"'weight' has shape {list(weight)}; it needs at least 2 dimensions (out, in)"
        )
    batch, out_features, in_features = weight[:-2], weight[-2], weight[-1]
    return batch + (in_features,), batch + (out_features,)


@irdl_op_definition
class AffineOp(NIRNodeOp):
    """Affine map over the last axis: `y = W x + b`, W of shape (..., out, in)."""

    name = "nir.affine"
    NIR_TYPE: ClassVar[str] = "Affine"
    PARAMS: ClassVar[tuple[str, ...]] = ("weight", "bias")

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    weight = prop_def(DenseIntOrFPElementsAttr)
    bias = prop_def(DenseIntOrFPElementsAttr)

    @classmethod
    def shape_rule(cls, params, input_shape):
        in_shape, out_shape = _matrix_rule(params)
        bias = _array_shape(params, "bias")
        try:
            np.broadcast_shapes(bias, out_shape)
        except ValueError:
            raise ShapeError(
                f"'bias' has shape {list(bias)} but the output has shape {list(out_shape)}"
            ) from None
        if np.broadcast_shapes(bias, out_shape) != out_shape:
            raise ShapeError(
                f"'bias' has shape {list(bias)}, which does not broadcast to the output "
                f"shape {list(out_shape)}"
            )
        return in_shape, out_shape


@irdl_op_definition
class LinearOp(NIRNodeOp):
    """Linear map over the last axis: `y = W x`, W of shape (..., out, in)."""

    name = "nir.linear"
    NIR_TYPE: ClassVar[str] = "Linear"
    PARAMS: ClassVar[tuple[str, ...]] = ("weight",)

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    weight = prop_def(DenseIntOrFPElementsAttr)

    @classmethod
    def shape_rule(cls, params, input_shape):
        return _matrix_rule(params)


@irdl_op_definition
class ScaleOp(NIRNodeOp):
    """Element-wise gain: `y = s ⊙ x`."""

    name = "nir.scale"
    NIR_TYPE: ClassVar[str] = "Scale"
    PARAMS: ClassVar[tuple[str, ...]] = ("scale",)

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    scale = prop_def(DenseIntOrFPElementsAttr)

    @classmethod
    def shape_rule(cls, params, input_shape):
        shape = _array_shape(params, "scale")
        return shape, shape


# --------------------------------------------------------------------------------------
# Convolution and pooling (PyTorch conventions, symmetric zero padding)
# --------------------------------------------------------------------------------------


def _conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _conv_rule(params: Mapping[str, ParamValue], spatial_rank: int) -> tuple[Shape, Shape]:
    weight = _array_shape(params, "weight")
    if len(weight) != spatial_rank + 2:
        raise ShapeError(
            f"'weight' has shape {list(weight)}; expected rank {spatial_rank + 2} "
            f"(C_out, C_in/groups, {'K' if spatial_rank == 1 else 'KH, KW'})"
        )
    groups = params["groups"]
    if not isinstance(groups, int) or groups < 1:
        raise ShapeError(f"'groups' is {groups}; expected a positive integer")
    out_channels = weight[0]
    if out_channels % groups:
        raise ShapeError(
            f"'groups' is {groups} but the {out_channels} output channels are not divisible by it"
        )

    bias = _array_shape(params, "bias")
    if bias not in ((out_channels,), ()):
        raise ShapeError(f"'bias' has shape {list(bias)}; expected [{out_channels}]")

    # NIR 1.0.8 reports weight.shape[1] input channels, which is wrong for groups > 1.
    in_channels = weight[1] * groups
    spatial = params["input_shape"]
    if not isinstance(spatial, tuple) or len(spatial) != spatial_rank:
        raise ShapeError(
            f"'input_shape' is {spatial}; expected {spatial_rank} spatial size(s), "
            "without the channel dimension"
        )

    kernel = weight[2:]
    stride, dilation = params["stride"], params["dilation"]
    for field, value in (("stride", stride), ("dilation", dilation)):
        if not isinstance(value, tuple) or len(value) != spatial_rank or min(value) < 1:
            raise ShapeError(
                f"'{field}' is {value}; expected {spatial_rank} positive integer(s)"
            )

    padding = params["padding"]
    if padding == "same":
        # NIR 1.0.8 keeps the spatial size for "same" whatever the stride.
        out_spatial = tuple(spatial)
    else:
        if padding == "valid":
            padding = (0,) * spatial_rank
        if not isinstance(padding, tuple) or len(padding) != spatial_rank or min(padding) < 0:
            raise ShapeError(
                f"'padding' is {padding}; expected {spatial_rank} non-negative integer(s), "
                "'same' or 'valid'"
            )
        out_spatial = tuple(
            _conv_output_size(n, k, s, p, d)
            for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation)
        )

    if min(out_spatial, default=1) < 1:
        raise ShapeError(
            f"the kernel {list(kernel)} does not fit the input {list(spatial)} with this "
            "stride, padding and dilation"
        )
    return (in_channels, *spatial), (out_channels, *out_spatial)


class _ConvOp(NIRNodeOp):
    SPATIAL_RANK: ClassVar[int] = 0
    PARAMS: ClassVar[tuple[str, ...]] = ("input_shape", "weight", "stride", "padding", "dilation", "groups", "bias")

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    weight = prop_def(DenseIntOrFPElementsAttr)
    bias = prop_def(DenseIntOrFPElementsAttr)
    stride = prop_def(DenseArrayBase)
    padding = prop_def(DenseArrayBase | StringAttr)
    dilation = prop_def(DenseArrayBase)
    groups = prop_def(IntegerAttr)
    input_shape = prop_def(DenseArrayBase)

    @classmethod
    def shape_rule(cls, params, input_shape):
        return _conv_rule(params, cls.SPATIAL_RANK)


@irdl_op_definition
class Conv1dOp(_ConvOp):
    """1-D cross-correlation: `y[co,i] = b[co] + Σ W[co,ci,k] x_pad[ci, i·s + k·d]`."""

    name = "nir.conv1d"
    NIR_TYPE: ClassVar[str] = "Conv1d"
    SPATIAL_RANK: ClassVar[int] = 1


@irdl_op_definition
class Conv2dOp(_ConvOp):
    """2-D cross-correlation:
    `y[co,i,j] = b[co] + Σ W[co,ci,a,b] x_pad[ci, i·sh + a·dh, j·sw + b·dw]`."""

    name = "nir.conv2d"
    NIR_TYPE: ClassVar[str] = "Conv2d"
    SPATIAL_RANK: ClassVar[int] = 2


class _PoolOp(NIRNodeOp):
    PARAMS: ClassVar[tuple[str, ...]] = ("kernel_size", "stride", "padding")

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    kernel_size = prop_def(DenseArrayBase)
    stride = prop_def(DenseArrayBase)
    padding = prop_def(DenseArrayBase)

    @classmethod
    def shape_rule(cls, params, input_shape):
        for field in cls.PARAMS:
            value = params[field]
            if not isinstance(value, tuple) or len(value) != 2:
                raise ShapeError(f"'{field}' is {value}; expected 2 integers")
        if min(params["kernel_size"]) < 1 or min(params["stride"]) < 1:
            raise ShapeError("'kernel_size' and 'stride' must be positive")
        if min(params["padding"]) < 0:
            raise ShapeError(
                f"'padding' is {list(params['padding'])}; a pool pads each side of the input "
                "with zeros, so padding must be 0 or more"
            )
        if input_shape is None:
            raise ShapeError("the input shape is unknown; a pool needs an incoming edge")
        if len(input_shape) != 3:
            raise ShapeError(
                f"the input has shape {list(input_shape)}; a 2-D pool expects rank 3 (C, H, W)"
            )
        channels, *spatial = input_shape
        out_spatial = tuple(
            _conv_output_size(n, k, s, p, 1)
            for n, k, s, p in zip(
                spatial, params["kernel_size"], params["stride"], params["padding"]
            )
        )
        if min(out_spatial) < 1:
            raise ShapeError(
                f"'kernel_size' {list(params['kernel_size'])} does not fit the input "
                f"{list(spatial)}"
            )
        return input_shape, (channels, *out_spatial)


@irdl_op_definition
class SumPool2dOp(_PoolOp):
    """2-D sum pooling: `y[c,i,j] = Σ_{a<kh, b<kw} x_pad[c, i·sh + a, j·sw + b]`."""

    name = "nir.sum_pool2d"
    NIR_TYPE: ClassVar[str] = "SumPool2d"


@irdl_op_definition
class AvgPool2dOp(_PoolOp):
    """2-D average pooling: the sum pool divided by `kh·kw`."""

    name = "nir.avg_pool2d"
    NIR_TYPE: ClassVar[str] = "AvgPool2d"


@irdl_op_definition
class FlattenOp(NIRNodeOp):
    """Row-major reshape merging dims `start_dim..end_dim` (inclusive) of the unbatched
    input shape into one; negative indices count from the end."""

    name = "nir.flatten"
    NIR_TYPE: ClassVar[str] = "Flatten"
    PARAMS: ClassVar[tuple[str, ...]] = ("start_dim", "end_dim")

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    start_dim = prop_def(IntegerAttr)
    end_dim = prop_def(IntegerAttr)

    @classmethod
    def shape_rule(cls, params, input_shape):
        if input_shape is None:
            raise ShapeError("the input shape is unknown; a flatten needs an incoming edge")
        return input_shape, flatten_shape(input_shape, params["start_dim"], params["end_dim"])


def flatten_shape(shape: Shape, start_dim: int, end_dim: int) -> Shape:
    """Return `shape` with dims start_dim..end_dim merged, or raise ShapeError."""
    rank = len(shape)
    start = start_dim + rank if start_dim < 0 else start_dim
    end = end_dim + rank if end_dim < 0 else end_dim
    if not (0 <= start < max(rank, 1)) or not (0 <= end < max(rank, 1)) or start > end:
        raise ShapeError(
            f"'start_dim' {start_dim} and 'end_dim' {end_dim} do not select dimensions of "
            f"the input shape {list(shape)}"
        )
    merged = int(np.prod(shape[start : end + 1], dtype=np.int64))
    return (*shape[:start], merged, *shape[end + 1 :])


# --------------------------------------------------------------------------------------
# Element-wise nodes: delay, threshold and neurons
# --------------------------------------------------------------------------------------


class _ElementwiseOp(NIRNodeOp):
    """A node whose parameters all have the node's shape, and in shape == out shape."""

    @classmethod
    def shape_rule(cls, params, input_shape):
        present = [name for name in cls.PARAMS if name in params]
        shapes = {name: _array_shape(params, name) for name in present}
        # The shape most parameters have is the neuron shape, so the message names the odd
        # one out. On a tie, the first parameter's shape wins.
        counts = Counter(shapes.values())
        neuron_shape = max(counts, key=counts.__getitem__)
        reference = next(name for name in present if shapes[name] == neuron_shape)
        for name in present:
            if shapes[name] != neuron_shape:
                raise ShapeError(
                    f"'{name}' has shape {list(shapes[name])} but '{reference}' has shape "
                    f"{list(neuron_shape)}; every {cls.NIR_TYPE} parameter must have the "
                    "neuron shape"
                )
        return neuron_shape, neuron_shape


@irdl_op_definition
class DelayOp(_ElementwiseOp):
    """Element-wise delay: `y(t) = x(t - τ)`, τ in the graph's time unit."""

    name = "nir.delay"
    NIR_TYPE: ClassVar[str] = "Delay"
    PARAMS: ClassVar[tuple[str, ...]] = ("delay",)

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    delay = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class ThresholdOp(_ElementwiseOp):
    """Stateless spike test: `y = 1 if x > θ else 0` (strict comparison)."""

    name = "nir.threshold"
    NIR_TYPE: ClassVar[str] = "Threshold"
    PARAMS: ClassVar[tuple[str, ...]] = ("threshold",)

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    threshold = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class IOp(_ElementwiseOp):
    """Integrator: `dv/dt = r ⊙ x`; the output is v."""

    name = "nir.i"
    NIR_TYPE: ClassVar[str] = "I"
    PARAMS: ClassVar[tuple[str, ...]] = ("r",)

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    r = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class IFOp(_ElementwiseOp):
    """Integrate-and-fire: `dv/dt = r ⊙ x`; when v > v_threshold it emits a spike and
    v jumps to v_reset."""

    name = "nir.if"
    NIR_TYPE: ClassVar[str] = "IF"
    PARAMS: ClassVar[tuple[str, ...]] = ("r", "v_threshold", "v_reset")

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    r = prop_def(DenseIntOrFPElementsAttr)
    v_threshold = prop_def(DenseIntOrFPElementsAttr)
    v_reset = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class LIOp(_ElementwiseOp):
    """Leaky integrator: `τ dv/dt = (v_leak - v) + r ⊙ x`; the output is v."""

    name = "nir.li"
    NIR_TYPE: ClassVar[str] = "LI"
    PARAMS: ClassVar[tuple[str, ...]] = ("tau", "r", "v_leak")

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    tau = prop_def(DenseIntOrFPElementsAttr)
    r = prop_def(DenseIntOrFPElementsAttr)
    v_leak = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class LIFOp(_ElementwiseOp):
    """Leaky integrate-and-fire: `τ dv/dt = (v_leak - v) + r ⊙ x`; when v > v_threshold
    it emits a spike and v jumps to v_reset."""

    name = "nir.lif"
    NIR_TYPE: ClassVar[str] = "LIF"
    PARAMS: ClassVar[tuple[str, ...]] = ("tau", "r", "v_leak", "v_threshold", "v_reset")

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    tau = prop_def(DenseIntOrFPElementsAttr)
    r = prop_def(DenseIntOrFPElementsAttr)
    v_leak = prop_def(DenseIntOrFPElementsAttr)
    v_threshold = prop_def(DenseIntOrFPElementsAttr)
    v_reset = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class CubaLIOp(_ElementwiseOp):
    """Current-based leaky integrator: `τ_syn dI/dt = -I + w_in ⊙ x` and
    `τ_mem dv/dt = (v_leak - v) + r ⊙ I`; the output is v."""

    name = "nir.cuba_li"
    NIR_TYPE: ClassVar[str] = "CubaLI"
    PARAMS: ClassVar[tuple[str, ...]] = ("tau_syn", "tau_mem", "r", "v_leak", "w_in")

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    tau_syn = prop_def(DenseIntOrFPElementsAttr)
    tau_mem = prop_def(DenseIntOrFPElementsAttr)
    r = prop_def(DenseIntOrFPElementsAttr)
    v_leak = prop_def(DenseIntOrFPElementsAttr)
    w_in = prop_def(DenseIntOrFPElementsAttr)


@irdl_op_definition
class CubaLIFOp(_ElementwiseOp):
    """Current-based LIF: `τ_syn dI/dt = -I + w_in ⊙ x`, `τ_mem dv/dt = (v_leak - v) +
    r ⊙ I`; when v > v_threshold it emits a spike and v jumps to v_reset (I is kept)."""

    name = "nir.cuba_lif"
    NIR_TYPE: ClassVar[str] = "CubaLIF"
    PARAMS: ClassVar[tuple[str, ...]] = ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in")

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    tau_syn = prop_def(DenseIntOrFPElementsAttr)
    tau_mem = prop_def(DenseIntOrFPElementsAttr)
    r = prop_def(DenseIntOrFPElementsAttr)
    v_leak = prop_def(DenseIntOrFPElementsAttr)
    v_threshold = prop_def(DenseIntOrFPElementsAttr)
    v_reset = prop_def(DenseIntOrFPElementsAttr)
    w_in = prop_def(DenseIntOrFPElementsAttr)


STATEFUL_OPS = (IOp, IFOp, LIOp, LIFOp, CubaLIOp, CubaLIFOp)
"""Node ops whose output depends on their state, so that a cycle through one of them is
well defined: its output at time t depends on its input only before t."""


def _has_memory(op: Operation, visiting: set[int]) -> bool:
    """Return whether ``op`` separates its output from its current input by state or delay."""
    if isinstance(op, STATEFUL_OPS):
        return True
    if isinstance(op, DelayOp):
        return bool((numpy_from_dense(op.delay) > 0).all())
    if isinstance(op, SubgraphOp):
        try:
            graph = op.callee()
        except VerifyException:
            return True  # the subgraph op's own verifier reports the missing graph
        return not _feeds_through(graph, visiting)
    return False


def _feeds_through(graph: GraphOp, visiting: set[int]) -> bool:
    """Return whether a path of memoryless nodes leads from an input of ``graph`` to an output.

    A graph that is already being examined (it instantiates itself, which the subgraph
    verifier rejects) counts as not feeding through, so the search ends.
    """
    if id(graph) in visiting:
        return False
    visiting = visiting | {id(graph)}
    reached = [op for op in graph.body.block.ops if isinstance(op, InputOp)]
    seen = {id(op) for op in reached}
    while reached:
        op = reached.pop()
        if isinstance(op, OutputOp):
            return True
        if not isinstance(op, InputOp) and _has_memory(op, visiting):
            continue
        for result in op.results:
            for use in result.uses:
                if id(use.operation) not in seen:
                    seen.add(id(use.operation))
                    reached.append(use.operation)
    return False


def _cycle_search_can_read(ops: Iterable[Operation]) -> bool:
    """Return whether the properties that `memoryless_cycle` reads have their defined types.

    The nodes are verified after their graph, so a node whose property is missing or of
    the wrong type is left to its own verifier, which names it. Checking only these two
    properties, instead of each node's whole definition, saves a quarter of the verify time
    of a small graph.
    """
    for op in ops:
        if isinstance(op, DelayOp) and not isinstance(op.properties.get("delay"), DenseIntOrFPElementsAttr):
            return False
        if isinstance(op, SubgraphOp) and not isinstance(op.properties.get("graph"), SymbolRefAttr):
            return False
    return True


def memoryless_cycle(graph: GraphOp) -> list[NIRNodeOp]:
    """Return the nodes of a cycle in ``graph`` on which no node has memory, or [] if none.

    A depth-first search over the memoryless nodes in block order finds the first such
    cycle, so the same graph always reports the same nodes.
    """
    ops = [op for op in graph.body.block.ops if isinstance(op, NIRNodeOp)]
    memoryless = {id(op) for op in ops if not _has_memory(op, set())}
    finished: set[int] = set()
    for root in ops:
        if id(root) not in memoryless or id(root) in finished:
            continue
        path: list[Operation] = [root]
        on_path = {id(root)}
        pending = [iter([use.operation for result in root.results for use in result.uses])]
        while pending:
            successor = next(pending[-1], None)
            if successor is None:
                pending.pop()
                done = path.pop()
                on_path.discard(id(done))
                finished.add(id(done))
                continue
            if id(successor) not in memoryless or id(successor) in finished:
                continue
            if id(successor) in on_path:
                return path[path.index(successor):]
            path.append(successor)
            on_path.add(id(successor))
            pending.append(iter([use.operation for result in successor.results for use in result.uses]))
    return []


NODE_OPS: tuple[type[NIRNodeOp], ...] = (
    InputOp,
    OutputOp,
    SubgraphOp,
    AffineOp,
    LinearOp,
    ScaleOp,
    Conv1dOp,
    Conv2dOp,
    SumPool2dOp,
    AvgPool2dOp,
    FlattenOp,
    DelayOp,
    ThresholdOp,
    IOp,
    IFOp,
    LIOp,
    LIFOp,
    CubaLIOp,
    CubaLIFOp,
)

OP_FOR_NIR_TYPE: dict[str, type[NIRNodeOp]] = {op.NIR_TYPE: op for op in NODE_OPS}
"""The op class for each NIR node type name as written in HDF5 files."""

SPIKING_OPS = (IFOp, LIFOp, CubaLIFOp, ThresholdOp)
"""Node ops whose output is spikes rather than a real-valued signal."""


def make_node(
    op_class: type[NIRNodeOp],
    node_name: str,
    operands: Sequence[SSAValue],
    result_type: Attribute | None,
    properties: Mapping[str, Attribute],
    metadata: Attribute | None = None,
) -> NIRNodeOp:
    """Create a node op from already-converted attributes (no verification)."""
    props = dict(properties)
    props["node_name"] = StringAttr(node_name)
    attributes = {"metadata": metadata} if metadata is not None else {}
    op = op_class.create(
        operands=list(operands),
        result_types=[result_type] if result_type is not None else [],
        properties=props,
        attributes=attributes,
    )
    return op


NIR = Dialect(
    "nir",
    [GraphOp, *NODE_OPS],
    [],
)
