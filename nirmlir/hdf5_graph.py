"""Graph checks for the HDF5 importer: edges, shape inference, boundary nodes and op order.

The importer first reads every node of a graph into a `NodeRecord` and then runs, in
order, `check_edges`, `infer_shapes`, `add_boundary_nodes` and `op_order`. Each step
raises a `DiagnosticError` located at the graph and node at fault.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import DictionaryAttr

from nirmlir.diagnostics import DiagnosticError, Location, emit_warning
from nirmlir.dialects.nir import OP_FOR_NIR_TYPE, NIRNodeOp, ParamValue, Shape, ShapeError

ELEMENTWISE_TYPES = frozenset({"Delay", "Threshold", "I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"})
"""Node types whose parameters all have the node's shape; 0-d parameters are broadcast."""

CONV_TYPES = frozenset({"Conv1d", "Conv2d"})
POOL_TYPES = frozenset({"SumPool2d", "AvgPool2d"})


@dataclass
class NodeRecord:
    """One NIR node as read from the file, before it becomes an op."""

    name: str
    nir_type: str
    params: dict[str, ParamValue] = field(default_factory=dict)
    # The Input or Output `shape`, or the Flatten `input_type`, when the file has one.
    declared_shape: Shape | None = None
    metadata: DictionaryAttr | None = None
    # For a nested graph: its symbol and the shapes of its single Input and Output.
    graph_symbol: str | None = None
    subgraph_shapes: tuple[Shape, Shape] | None = None
    input_shape: Shape | None = None
    output_shape: Shape | None = None
    # For an Input or Output that `add_boundary_nodes` added: the node it was added for.
    added_for: str | None = None

    @property
    def op_class(self) -> type[NIRNodeOp]:
        return OP_FOR_NIR_TYPE[self.nir_type]

    @property
    def resolved(self) -> bool:
        if self.nir_type == "Output":
            return self.input_shape is not None
        return self.output_shape is not None

    def label(self) -> str:
        return f"'{self.name}' ({self.nir_type})"


@dataclass
class GraphRecord:
    """The nodes and edges of one NIR graph.

    `path` lists the names of the nested-graph nodes leading to it, so the top-level graph
    has an empty path."""

    file_name: str
    path: tuple[str, ...]
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    metadata: DictionaryAttr | None = None

    def describe(self) -> str:
        return f"graph '{'/'.join(self.path)}'" if self.path else "the top-level graph"

    def error(self, message: str, node: str | None = None, field: str | None = None) -> DiagnosticError:
        node_path = self.path + ((node,) if node is not None else ())
        return DiagnosticError(message, Location(file=self.file_name, node_path=node_path, field=field))


def _shape_text(shape: Shape) -> str:
    return str(list(shape))


def _name_list(names) -> str:
    return ", ".join(f"'{name}'" for name in names)


# --------------------------------------------------------------------------------------
# Edges
# --------------------------------------------------------------------------------------


def check_edges(graph: GraphRecord) -> None:
    """Reject edges that name missing nodes, repeat, enter an Input or leave an Output."""
    for source, destination in graph.edges:
        for endpoint in (source, destination):
            if endpoint not in graph.nodes:
                raise graph.error(_dangling_message(graph, source, destination, endpoint), field="edges")

    seen: set[tuple[str, str]] = set()
    for edge in graph.edges:
        if edge in seen:
            count = graph.edges.count(edge)
            raise graph.error(
                f"edge ('{edge[0]}', '{edge[1]}') appears {count} times in {graph.describe()}; "
                "NIR 1.0.8 rejects duplicate edges, so remove the copies",
                field="edges",
            )
        seen.add(edge)

    for source, destination in graph.edges:
        if graph.nodes[destination].nir_type == "Input":
            raise graph.error(
                f"edge ('{source}', '{destination}') in {graph.describe()} ends at the Input "
                f"node '{destination}', but an Input node has no incoming edges; connect "
                f"'{source}' to the nodes that '{destination}' feeds instead",
                node=destination,
            )
        if graph.nodes[source].nir_type == "Output":
            raise graph.error(
                f"edge ('{source}', '{destination}') in {graph.describe()} starts at the Output "
                f"node '{source}', but an Output node has no outgoing edges; connect the node "
                f"that feeds '{source}' to '{destination}' instead",
                node=source,
            )


def _dangling_message(graph: GraphRecord, source: str, destination: str, missing: str) -> str:
    edge = f"edge ('{source}', '{destination}') in {graph.describe()}"
    if "/" in missing:
        return (
            f"{edge} names node '{missing}', which contains '/'; HDF5 reads '/' as a group "
            "separator, so such a node cannot be stored. Rename the node without '/' and "
            "write the file again"
        )
    message = (
        f"{edge} names node '{missing}', which does not exist; nodes are: "
        f"{_name_list(graph.nodes)}"
    )
    dotted = [name for name in graph.nodes if name.startswith(missing + ".")]
    close = difflib.get_close_matches(missing, list(graph.nodes), n=1, cutoff=0.8)
    if dotted:
        message += (
            f". The nodes {_name_list(dotted)} look like a nested graph '{missing}' that was "
            "flattened into dotted names, but NIR has no ports, so an edge must name a node"
        )
    elif close:
        message += f" (did you mean '{close[0]}'?)"
    return message + ". Fix the edge or rename the node in the file"


# --------------------------------------------------------------------------------------
# Shape inference
# --------------------------------------------------------------------------------------


def infer_shapes(graph: GraphRecord, relax_output_shapes: bool = False) -> None:
    """Set the input and output shape of every node, propagating shapes along edges.

    Parameters fix the shapes of most nodes. Nodes whose shape only the incoming edge
    gives (pools, Flatten without `input_type`, Conv without `input_shape`, Output
    without `shape`, element-wise nodes whose parameters are all 0-d) take the shape of
    their first resolved predecessor. A node is resolved at most once, so a recurrent
    graph needs no iteration: the worklist visits each edge at most once. Then every
    edge is checked: its source's output shape must equal its destination's input shape.

    With `relax_output_shapes`, an Output whose declared shape has as many elements as its
    producer's output takes the producer's shape, with a warning. Rockpool 2.x wrote such files:
    an Output of shape [1, 1, 1] after a LIF of shape [1].
    """
    # Visiting nodes in data-flow order makes the first error reported the one nearest
    # to the inputs.
    order = op_order(graph)
    position = {name: index for index, name in enumerate(order)}
    successors: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for source, destination in graph.edges:
        successors[source].append(destination)

    for name in order:
        _resolve_from_parameters(graph, graph.nodes[name])

    queue = deque(name for name in order if graph.nodes[name].output_shape is not None)
    while queue:
        source = graph.nodes[queue.popleft()]
        for destination_name in successors[source.name]:
            destination = graph.nodes[destination_name]
            if destination.resolved:
                continue
            _resolve_from_edge(graph, source, destination)
            if destination.output_shape is not None:
                queue.append(destination.name)

    _reject_unresolved(graph, order)
    edges = sorted(graph.edges, key=lambda edge: (position[edge[1]], position[edge[0]]))
    for source, destination in edges:
        source_shape = graph.nodes[source].output_shape
        destination_shape = graph.nodes[destination].input_shape
        if source_shape != destination_shape:
            if relax_output_shapes and _relax_output(graph, graph.nodes[source], graph.nodes[destination]):
                continue
            raise _mismatch(
                graph, graph.nodes[source], graph.nodes[destination], source_shape, destination_shape
            )


def _relax_output(graph: GraphRecord, source: NodeRecord, output: NodeRecord) -> bool:
    """Give `output` the shape of `source` when only the declared Output shape disagrees; return whether it did."""
    declared = output.input_shape
    if output.nir_type != "Output" or declared is None or source.output_shape is None:
        return False
    if int(np.prod(declared)) != int(np.prod(source.output_shape)):
        return False
    emit_warning(
        f"the Output {output.label()} declares shape {_shape_text(declared)} but receives "
        f"{_shape_text(source.output_shape)} from {source.label()}; using {_shape_text(source.output_shape)} "
        "because output shapes are relaxed",
        Location(file=graph.file_name, node_path=graph.path + (output.name,), field="shape"),
    )
    output.declared_shape = output.input_shape = output.output_shape = source.output_shape
    return True


def _resolve_from_parameters(graph: GraphRecord, node: NodeRecord) -> None:
    """Set the shapes that the node's own parameters and declared shapes determine."""
    kind = node.nir_type
    if kind == "Input":
        node.input_shape = node.output_shape = node.declared_shape
    elif kind == "Output":
        node.input_shape = node.declared_shape
    elif kind == "NIRGraph":
        node.input_shape, node.output_shape = node.subgraph_shapes
    elif kind in ELEMENTWISE_TYPES:
        # With all parameters 0-d, the neuron count comes from the incoming edge.
        shaped = {np.shape(node.params[name]) for name in node.op_class.PARAMS} - {()}
        if len(shaped) == 1:
            _broadcast_parameters(node, next(iter(shaped)))
        if shaped:
            _apply_rule(graph, node, None)
    elif kind == "Flatten":
        if node.declared_shape is not None:
            _apply_rule(graph, node, node.declared_shape)
    elif kind in CONV_TYPES:
        if "input_shape" in node.params:
            _apply_rule(graph, node, None)
    elif kind not in POOL_TYPES:
        _apply_rule(graph, node, None)


def _resolve_from_edge(graph: GraphRecord, source: NodeRecord, node: NodeRecord) -> None:
    """Set the shapes of a node that only its incoming edge from `source` determines."""
    incoming = source.output_shape
    kind = node.nir_type
    if kind == "Output":
        node.input_shape = incoming
    elif kind in ELEMENTWISE_TYPES:
        _broadcast_parameters(node, incoming)
        _apply_rule(graph, node, None)
    elif kind in CONV_TYPES:
        rank = 2 if kind == "Conv2d" else 1
        if len(incoming) != rank + 1:
            expected_layout = "(C, H, W)" if rank == 2 else "(C, N)"
            message = (
                f"edge ('{source.name}', '{node.name}') in {graph.describe()}: "
                f"{source.label()} gives shape {_shape_text(incoming)} but {node.label()} "
                f"expects rank {rank + 1} {expected_layout}"
            )
            if len(incoming) == rank + 2:
                message += (
                    f"; '{source.name}' has an extra leading dimension of size {incoming[0]}, "
                    "but NIR shapes have no batch dimension, so remove it from the file"
                )
                field = "shape" if source.nir_type == "Input" else None
                raise graph.error(message, node=source.name, field=field)
            raise graph.error(message, node=node.name)
        node.params["input_shape"] = tuple(incoming[1:])
        _apply_rule(graph, node, None, source)
    else:
        _apply_rule(graph, node, incoming, source)


def _broadcast_parameters(node: NodeRecord, shape: Shape) -> None:
    """Replace each 0-d parameter with a read-only view of `shape` filled with its value.

    The view costs no memory until the op is built, which copies it out.
    """
    for name in node.op_class.PARAMS:
        value = node.params[name]
        if np.ndim(value) == 0:
            node.params[name] = np.broadcast_to(value, shape)


_QUOTED_FIELD = re.compile(r"^'(\w+)'")


def _apply_rule(
    graph: GraphRecord, node: NodeRecord, input_shape: Shape | None, source: NodeRecord | None = None
) -> None:
    """Run the op's shape rule and store its result, or raise naming the parameter."""
    try:
        expected_in, output = node.op_class.shape_rule(node.params, input_shape)
    except ShapeError as error:
        match = _QUOTED_FIELD.match(str(error))
        field = match.group(1) if match and match.group(1) in node.params else None
        message = f"node {node.label()} in {graph.describe()}: {error}"
        if source is not None and input_shape is not None:
            message += (
                f" (the input shape {_shape_text(input_shape)} comes from the edge "
                f"('{source.name}', '{node.name}'))"
            )
        raise graph.error(message, node=node.name, field=field) from error
    node.input_shape = expected_in if expected_in is not None else input_shape
    node.output_shape = output


def _reject_unresolved(graph: GraphRecord, order: list[str]) -> None:
    unresolved = [graph.nodes[name] for name in order if not graph.nodes[name].resolved]
    if not unresolved:
        return
    has_incoming = {destination for _, destination in graph.edges}
    roots = [node for node in unresolved if node.name not in has_incoming]
    node = (roots or unresolved)[0]
    kind = node.nir_type
    reason = "it has no incoming edge" if node in roots else "no incoming edge has a known shape"
    if kind in ELEMENTWISE_TYPES:
        message = (
            f"cannot infer the neuron count of node '{node.name}' ({kind}) in "
            f"{graph.describe()}: its parameters are all scalars (0-d) and {reason}; store "
            "each parameter as an array with one value per neuron"
        )
    elif kind == "Output":
        message = (
            f"cannot infer the shape of the Output node '{node.name}' in {graph.describe()}: "
            f"it has no 'shape' dataset and {reason}; add a 'shape' dataset"
        )
    else:
        fix = {
            "Conv1d": "add an 'input_shape' dataset (N) or an Input node before it",
            "Conv2d": "add an 'input_shape' dataset (H, W) or an Input node before it",
            "Flatten": "add an 'input_type' dataset or an Input node before it",
        }.get(kind, "add an Input node with the input shape before it")
        message = (
            f"cannot infer the input shape of node '{node.name}' ({kind}) in "
            f"{graph.describe()}: {reason}; {fix}"
        )
    raise graph.error(message, node=node.name)


def _mismatch(
    graph: GraphRecord, source: NodeRecord, destination: NodeRecord, source_shape: Shape, destination_shape: Shape
) -> DiagnosticError:
    verb = "declares" if destination.nir_type == "Output" else "expects"
    hint, node, field = _mismatch_hint(source, destination, source_shape, destination_shape)
    message = (
        f"edge ('{source.name}', '{destination.name}') in {graph.describe()}: "
        f"{source.label()} gives shape {_shape_text(source_shape)} but {destination.label()} "
        f"{verb} {_shape_text(destination_shape)}; {hint}"
    )
    return graph.error(message, node=node.name, field=field)


def _mismatch_hint(
    source: NodeRecord, destination: NodeRecord, source_shape: Shape, destination_shape: Shape
) -> tuple[str, NodeRecord, str | None]:
    """Return the likely cause of a shape mismatch, with the node and field to fix.

    The importer only reports the cause and never applies the fix. A guess that fits the
    shapes (say, transposing a square matrix) can still be wrong.
    """
    if destination.nir_type in ("Affine", "Linear") and source_shape:
        weight = np.shape(destination.params["weight"])
        if weight[-2] == source_shape[-1] and weight[-1] != source_shape[-1]:
            hint = (
                f"the weight of '{destination.name}' has shape {_shape_text(weight)}, which "
                "reads as (in, out), but NIR stores weights as (out, in), so the exporter "
                "must transpose it"
            )
            return hint, destination, "weight"
    if len(source_shape) == len(destination_shape) + 1 and tuple(source_shape[1:]) == tuple(destination_shape):
        hint = (
            f"'{source.name}' has an extra leading dimension of size {source_shape[0]}, but NIR "
            "shapes have no batch or time dimension, so remove it from the file"
        )
        return hint, source, "shape" if source.nir_type == "Input" else None
    if source.nir_type == "Flatten" and source.input_shape is not None and len(destination_shape) == 1:
        if int(np.prod(source.input_shape)) == destination_shape[0]:
            hint = (
                f"Flatten dims index the unbatched shape {_shape_text(source.input_shape)}, "
                f"so start_dim={source.params['start_dim']} gives {_shape_text(source_shape)}; "
                f"start_dim=0 would give {_shape_text(destination_shape)}"
            )
            return hint, source, "start_dim"
    if destination.nir_type == "Output":
        hint = f"fix or remove the 'shape' dataset of '{destination.name}'"
        if int(np.prod(source_shape)) == int(np.prod(destination_shape)):
            hint += ", or import with --relax-output-shapes to use the shape it receives"
        return hint, destination, "shape"
    if source.nir_type == "Input":
        hint = (
            f"correct the 'shape' dataset of the Input '{source.name}' or the parameters of "
            f"'{destination.name}'"
        )
        return hint, destination, None
    return "every edge must carry the shape that its destination expects", destination, None


# --------------------------------------------------------------------------------------
# Boundary nodes and op order
# --------------------------------------------------------------------------------------


def add_boundary_nodes(graph: GraphRecord) -> None:
    """Add an Input before every root and an Output after every leaf, as `nir.read` does.

    A root that is not an Input gets `input_<name>`, and a leaf that is not an Output
    gets `output_<name>`. A name already in use gets the suffix `_0`, `_1`, and so on.
    """
    has_incoming = {destination for _, destination in graph.edges}
    for node in list(graph.nodes.values()):
        if node.name not in has_incoming and node.nir_type != "Input":
            name = _free_name(graph, f"input_{node.name}")
            emit_warning(
                f"{node.label()} has no incoming edge, so an Input node '{name}' is added before it, as "
                "nir.read does; add an edge into it if it should read another node",
                Location(file=graph.file_name, node_path=graph.path + (node.name,)),
            )
            graph.nodes[name] = NodeRecord(
                name, "Input", declared_shape=node.input_shape,
                input_shape=node.input_shape, output_shape=node.input_shape, added_for=node.name,
            )
            graph.edges.append((name, node.name))
    has_outgoing = {source for source, _ in graph.edges}
    for node in list(graph.nodes.values()):
        if node.name not in has_outgoing and node.nir_type != "Output":
            name = _free_name(graph, f"output_{node.name}")
            graph.nodes[name] = NodeRecord(
                name, "Output", declared_shape=node.output_shape, input_shape=node.output_shape,
                added_for=node.name,
            )
            graph.edges.append((node.name, name))


def _free_name(graph: GraphRecord, base: str) -> str:
    name, index = base, 0
    while name in graph.nodes:
        name = f"{base}_{index}"
        index += 1
    return name


def check_nested_boundary(graph: GraphRecord) -> tuple[Shape, Shape]:
    """Return the input and output shape of a nested graph, which needs exactly one
    Input and one Output node."""
    inputs = [node for node in graph.nodes.values() if node.nir_type == "Input"]
    outputs = [node for node in graph.nodes.values() if node.nir_type == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        added = [node for node in inputs + outputs if node.added_for is not None]
        hint = ""
        if added:
            causes = sorted({node.added_for for node in added})
            hint = (
                f". The importer added {_name_list(node.name for node in added)} for the node(s) "
                f"{_name_list(causes)}, which lack an incoming or outgoing edge: connect or remove them"
            )
        raise graph.error(
            f"nested {graph.describe()} has {len(inputs)} Input node(s) "
            f"({_name_list(node.name for node in inputs)}) and {len(outputs)} Output node(s) "
            f"({_name_list(node.name for node in outputs)}); a nested graph needs exactly "
            f"one of each, because an edge to or from it names the graph, not a port{hint}"
        )
    return inputs[0].output_shape, outputs[0].input_shape


def _natural_key(name: str) -> tuple:
    """Sort key that orders "2" before "10" and "fc2" before "fc10"."""
    parts = re.split(r"(\d+)", name)
    return tuple((0, int(part), part) if part.isdigit() else (1, 0, part) for part in parts if part) + (
        (2, 0, name),
    )


def op_order(graph: GraphRecord) -> list[str]:
    """Return the node names in the order their ops are created.

    Inputs come first and Outputs last; the other nodes follow the edges (a node comes
    after its predecessors), ties broken by natural name order. A cycle is entered at
    its first node in that order that has a placed predecessor. The order depends only
    on the nodes and edges, so exporting and importing again gives the same IR.
    """
    names = sorted(graph.nodes, key=_natural_key)
    key = {name: index for index, name in enumerate(names)}
    inner = [name for name in names if graph.nodes[name].nir_type not in ("Input", "Output")]
    inner_set = set(inner)
    predecessors: dict[str, set[str]] = {name: set() for name in graph.nodes}
    successors: dict[str, set[str]] = {name: set() for name in graph.nodes}
    for source, destination in graph.edges:
        if source != destination:
            predecessors[destination].add(source)
            successors[source].add(destination)

    placed: set[str] = {name for name in names if graph.nodes[name].nir_type == "Input"}
    order = [name for name in names if name in placed]
    waiting = {name: len(predecessors[name] & inner_set) for name in inner}
    ready = [key[name] for name in inner if waiting[name] == 0]
    heapq.heapify(ready)
    remaining = set(inner)
    while remaining:
        if not ready:
            # Every remaining node waits on another: break the cycle.
            entry = min(
                remaining,
                key=lambda name: (not (predecessors[name] & placed), key[name]),
            )
            heapq.heappush(ready, key[entry])
        name = names[heapq.heappop(ready)]
        if name not in remaining:
            continue
        remaining.discard(name)
        placed.add(name)
        order.append(name)
        for successor in successors[name]:
            if successor in remaining:
                waiting[successor] -= 1
                if waiting[successor] == 0:
                    heapq.heappush(ready, key[successor])
    order.extend(name for name in names if graph.nodes[name].nir_type == "Output")
    return order
