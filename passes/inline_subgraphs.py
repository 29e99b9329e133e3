"""`nir-inline-subgraphs`: replace every `nir.subgraph` by a renamed copy of the graph it instantiates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects import nir
from nirmlir.passes.levels import check_input_level


def _graphs_by_name(module: ModuleOp) -> dict[str, nir.GraphOp]:
    return {op.sym_name.data: op for op in module.ops if isinstance(op, nir.GraphOp)}


def _callee_name(op: nir.SubgraphOp) -> str:
    return op.graph.root_reference.data


def nested_graphs(module: ModuleOp) -> dict[str, list[nir.GraphOp]]:
    """Return, by top-level graph name, the graphs that it instantiates at any depth.

    A top-level graph is one that no `nir.subgraph` instantiates. A missing graph is
    skipped, because inlining reports it.
    """
    graphs = _graphs_by_name(module)
    callees = {
        name: [_callee_name(op) for op in graph.body.block.ops if isinstance(op, nir.SubgraphOp)]
        for name, graph in graphs.items()
    }
    instantiated = {callee for names in callees.values() for callee in names}
    nested: dict[str, list[nir.GraphOp]] = {}
    for top in graphs.keys() - instantiated:
        pending, seen = list(callees[top]), set()
        while pending:
            name = pending.pop()
            if name in seen or name not in graphs:
                continue
            seen.add(name)
            pending.extend(callees[name])
        nested[top] = [graphs[name] for name in sorted(seen)]
    return nested


def _inline_order(graphs: dict[str, nir.GraphOp]) -> list[str]:
    """Return graph names so that each graph comes after every graph it instantiates.

    Raises DiagnosticError for a missing graph or a graph that instantiates itself.
    """
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            cycle = " -> ".join(f"@{step}" for step in [*chain[chain.index(name) :], name])
            raise DiagnosticError(
                f"graph @{name} instantiates itself ({cycle}); a NIR graph cannot contain itself",
                Location(node_path=(name,)),
                op=graphs[name],
            )
        state[name] = "active"
        for op in graphs[name].body.block.ops:
            if isinstance(op, nir.SubgraphOp):
                callee = _callee_name(op)
                if callee not in graphs:
                    raise DiagnosticError(
                        f"node '{op.node_name.data}' instantiates graph @{callee}, which is not defined in this module",
                        Location(node_path=(name, op.node_name.data)),
                        op=op,
                    )
                visit(callee, [*chain, name])
        state[name] = "done"
        order.append(name)

    for name in graphs:
        visit(name, [])
    return order


def _expand(values: Sequence[SSAValue], replacements: dict[SSAValue, Sequence[SSAValue]]) -> list[SSAValue]:
    """Replace each value that has an entry in `replacements` by its list of values (summed edges)."""
    expanded: list[SSAValue] = []
    for value in values:
        expanded.extend(replacements.get(value, (value,)))
    return expanded


def _inline_one(graph_name: str, site: nir.SubgraphOp, callee: nir.GraphOp, taken_names: set[str]) -> None:
    """Replace `site` by copies of the callee's nodes, placed before it, and erase it."""
    prefix = site.node_name.data
    location = Location(node_path=(graph_name, prefix))
    inputs, outputs = callee.inputs(), callee.outputs()
    if len(inputs) != 1 or len(outputs) != 1:
        raise DiagnosticError(
            f"node '{prefix}' instantiates graph @{callee.sym_name.data}, which has {len(inputs)} inputs and "
            f"{len(outputs)} outputs; a nested graph needs exactly one of each",
            location,
            op=site,
        )

    # The inner input stands for the sum of the edges into the subgraph node.
    replacements: dict[SSAValue, Sequence[SSAValue]] = {inputs[0].output: list(site.inputs)}

    # Copy the inner nodes without operands first, because a recurrent graph uses values before
    # their definition; the operands are set once every copy exists.
    clones: list[tuple[Operation, Operation]] = []
    for inner in callee.body.block.ops:
        if isinstance(inner, nir.InputOp | nir.OutputOp):
            continue
        name = f"{prefix}.{inner.node_name.data}"
        if name in taken_names:
            raise DiagnosticError(
                f"inlining node '{prefix}' creates node '{name}', but graph @{graph_name} already has a node of "
                "that name; rename one of them",
                location,
                op=site,
            )
        taken_names.add(name)
        properties = dict(inner.properties)
        properties["node_name"] = StringAttr(name)
        clone = type(inner).create(
            result_types=[result.type for result in inner.results],
            properties=properties,
            attributes=dict(inner.attributes),
        )
        clones.append((inner, clone))
        for inner_result, clone_result in zip(inner.results, clone.results):
            replacements[inner_result] = [clone_result]
    for inner, clone in clones:
        clone.operands = _expand(inner.operands, replacements)
        Rewriter.insert_op(clone, InsertPoint.before(site))

    # Every use of the subgraph node's result reads the sum of the inner output's edges.
    output_values = _expand(outputs[0].inputs, replacements)
    for use in list(site.output.uses):
        user = use.operation
        user.operands = _expand(user.operands, {site.output: output_values})
    Rewriter.erase_op(site)


def inline_subgraphs(module: ModuleOp) -> None:
    """Inline every `nir.subgraph` of the module, innermost graphs first.

    Inner nodes are renamed `<subgraph node>.<inner node>`. Graphs that were only used through
    `nir.subgraph` are erased once nothing references them; graphs never instantiated (the
    top-level graphs) stay. Raises DiagnosticError naming the graph and node at fault, and for
    a module whose graphs are all at another level.
    """
    check_input_level(module, "nir-inline-subgraphs", "nir", "nir")
    graphs = _graphs_by_name(module)
    instantiated = {
        _callee_name(op) for graph in graphs.values() for op in graph.body.block.ops if isinstance(op, nir.SubgraphOp)
    }
    if not instantiated:
        return
    for name in _inline_order(graphs):
        graph = graphs[name]
        taken_names = {op.node_name.data for op in graph.body.block.ops if isinstance(op, nir.NIRNodeOp)}
        for site in [op for op in graph.body.block.ops if isinstance(op, nir.SubgraphOp)]:
            _inline_one(name, site, graphs[_callee_name(site)], taken_names)
    for name in instantiated:
        Rewriter.erase_op(graphs[name])


@dataclass(frozen=True)
class InlineSubgraphsPass(ModulePass):
    """Replace each `nir.subgraph` by a copy of its graph's nodes, named `<subgraph node>.<inner node>`."""

    name = "nir-inline-subgraphs"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        inline_subgraphs(op)
