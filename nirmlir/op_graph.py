"""Graphviz DOT of a module's graphs, for `nir-opt --view-op-graph`.

Each op without regions is one node, labelled with its NIR node name (when it has one), its
op name and its result type (the operand type for ops without results, such as outputs). Each
use of an SSA value is one edge from the op that defines it. An edge is dashed when it carries
a step of delay (its source is a `*.step_delay` op) or points back in the block order, which
is how recurrent edges appear in the graph regions of nir. Ops with regions (`nir.graph`,
`snn.graph`, ...) become clusters, and a `nir.subgraph` node gets a dotted edge to the
cluster of the graph it instantiates.

Ops placed on a core become a cluster per core inside their graph's cluster. An op is placed
by the `cores` attribute that map-to-cores writes, by its `core` property or attribute (an integer, as the speck dialect has), or by a `mapping`
attribute: an integer, a string, or a dictionary with a `core` entry.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from xdsl.dialects.builtin import DenseArrayBase, DictionaryAttr, IntegerAttr, StringAttr, SymbolRefAttr
from xdsl.ir import Block, BlockArgument, Operation, SSAValue

from nirmlir.diagnostics import DiagnosticError, emit_warning

_INDENT = "  "


def quote(text: str) -> str:
    """Return ``text`` as a DOT string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def core_of(op: Operation) -> str | None:
    """Return the core an op is placed on, as text, or None for an op without a placement.

    The `cores` attribute of map-to-cores (`array<i64: core, count, ...>`, runs of neurons
    and their core) gives its one core, or the list of cores when its neurons are split.
    """
    runs = op.attributes.get("cores")
    if isinstance(runs, DenseArrayBase):
        values = [int(value) for value in runs.get_values()]
        cores = sorted({core for core, count in zip(values[::2], values[1::2]) if count > 0})
        if cores:
            return ", ".join(str(core) for core in cores)
    placement = None
    # Checked against None, because an attribute such as IntegerAttr(0) can be falsy.
    for found in (op.properties.get("core"), op.attributes.get("core"), op.attributes.get("mapping")):
        if found is not None:
            placement = found
            break
    if isinstance(placement, DictionaryAttr):
        placement = placement.data.get("core")
    if isinstance(placement, IntegerAttr):
        return str(placement.value.data)
    if isinstance(placement, StringAttr):
        return placement.data
    return None


def _node_label(op: Operation) -> str:
    lines = []
    node_name = op.properties.get("node_name")
    if isinstance(node_name, StringAttr):
        lines.append(node_name.data)
    lines.append(op.name)
    types = [value.type for value in op.results] or [value.type for value in op.operands[:1]]
    lines.extend(str(value_type) for value_type in types)
    return "\n".join(lines)


def _symbol_name(op: Operation) -> str | None:
    symbol = op.properties.get("sym_name")
    if symbol is None:
        symbol = op.attributes.get("sym_name")
    return symbol.data if isinstance(symbol, StringAttr) else None


def _cluster_label(op: Operation) -> str:
    symbol = _symbol_name(op)
    if symbol is not None:
        return f"{op.name} @{symbol}"
    return op.name


class _DotWriter:
    """Builder of the DOT text of one module: nodes and clusters first, then the edges."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.node_ids: dict[Operation | SSAValue, str] = {}
        self.positions: dict[Operation, int] = {}
        """Position of each op in its block, to tell back edges."""
        self.clusters: dict[str, tuple[str, str]] = {}
        """Symbol name -> (cluster id, id of its first node), for nir.subgraph edges."""
        self.cluster_count = 0

    def node_id(self, key: Operation | SSAValue) -> str:
        if key not in self.node_ids:
            self.node_ids[key] = f"n{len(self.node_ids)}"
        return self.node_ids[key]

    def new_cluster(self) -> str:
        self.cluster_count += 1
        return f"cluster_{self.cluster_count}"

    def add_node(self, op: Operation, depth: int) -> None:
        self.lines.append(f"{_INDENT * depth}{self.node_id(op)} [label={quote(_node_label(op))}];")

    def add_block(self, block: Block, depth: int) -> str | None:
        """Write a block's arguments, ops and per-core clusters; return the id of its first node."""
        first = None
        for index, argument in enumerate(block.args):
            identifier = self.node_id(argument)
            first = first or identifier
            label = quote(f"block argument {index}\n{argument.type}")
            self.lines.append(f"{_INDENT * depth}{identifier} [label={label}, shape=ellipse];")

        by_core: dict[str, list[Operation]] = {}
        for position, op in enumerate(block.ops):
            self.positions[op] = position
            if op.regions:
                self.add_cluster(op, depth)
                continue
            core = core_of(op)
            if core is not None:
                by_core.setdefault(core, []).append(op)
                continue
            self.add_node(op, depth)
            first = first or self.node_id(op)

        for core, ops in by_core.items():
            self.lines.append(f"{_INDENT * depth}subgraph {self.new_cluster()} {{")
            self.lines.append(f"{_INDENT * (depth + 1)}label={quote(f'core {core}')}; style=filled; fillcolor=lightgrey;")
            for op in ops:
                self.add_node(op, depth + 1)
                first = first or self.node_id(op)
            self.lines.append(f"{_INDENT * depth}}}")
        return first

    def add_cluster(self, op: Operation, depth: int) -> None:
        cluster = self.new_cluster()
        self.lines.append(f"{_INDENT * depth}subgraph {cluster} {{")
        self.lines.append(f"{_INDENT * (depth + 1)}label={quote(_cluster_label(op))};")
        first = None
        for region in op.regions:
            for block in region.blocks:
                block_first = self.add_block(block, depth + 1)
                first = first or block_first
        self.lines.append(f"{_INDENT * depth}}}")
        symbol = _symbol_name(op)
        if symbol is not None and first is not None:
            self.clusters[symbol] = (cluster, first)

    def add_edges(self, root: Operation) -> None:
        for op in root.walk():
            if op.regions or op not in self.node_ids:
                continue
            target = self.node_ids[op]
            for operand in op.operands:
                source_key = operand if isinstance(operand, BlockArgument) else operand.owner
                source = self.node_ids.get(source_key)
                if source is None:
                    continue
                self.lines.append(f"{_INDENT}{source} -> {target}{self.edge_style(operand, op)};")
            callee = op.properties.get("graph")
            if isinstance(callee, SymbolRefAttr) and callee.root_reference.data in self.clusters:
                cluster, first = self.clusters[callee.root_reference.data]
                self.lines.append(f'{_INDENT}{target} -> {first} [lhead={cluster}, style=dotted, label="instantiates"];')

    def edge_style(self, operand: SSAValue, user: Operation) -> str:
        source = operand.owner
        if not isinstance(source, Operation):
            return ""
        delayed = source.name.endswith(".step_delay")
        backward = source.parent is user.parent and self.positions.get(source, -1) > self.positions.get(user, -1)
        return " [style=dashed]" if delayed or backward else ""


def module_to_dot(module: Operation, name: str = "module") -> str:
    """Return the DOT text of a module: one digraph whose clusters are its graphs."""
    writer = _DotWriter()
    writer.lines.append(f"digraph {quote(name)} {{")
    writer.lines.append(f"{_INDENT}compound=true;")
    writer.lines.append(f'{_INDENT}node [shape=box, fontname="monospace", fontsize=10];')
    for region in module.regions:
        for block in region.blocks:
            writer.add_block(block, 1)
    writer.add_edges(module)
    writer.lines.append("}")
    return "\n".join(writer.lines) + "\n"


def render_png(dot_path: str) -> str | None:
    """Render a DOT file as PNG beside it with Graphviz's `dot`; return the PNG path.

    Returns None without `dot` on PATH. A failed `dot` run is reported as a warning, because
    the DOT file is the result and the picture only a view of it.
    """
    executable = shutil.which("dot")
    if executable is None:
        return None
    from nirmlir.atomic import atomic_output

    png_path = os.path.splitext(dot_path)[0] + ".png"
    try:
        # The picture comes back on stdout and is written atomically, so that an interrupted
        # run leaves no partial PNG.
        completed = subprocess.run([executable, "-Tpng", dot_path], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        emit_warning(f"Graphviz failed to render '{dot_path}': {error}")
        return None
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", errors="replace").strip()
        emit_warning(f"Graphviz failed to render '{dot_path}': {detail}")
        return None
    try:
        with atomic_output(png_path, "wb") as stream:
            stream.write(completed.stdout)
    except DiagnosticError as error:
        emit_warning(f"{error.message}; the DOT file '{dot_path}' was written")
        return None
    return png_path


def write_png(dot_text: str, png_path: str) -> None:
    """Render DOT text to a PNG file with Graphviz's `dot`, atomically; raise DiagnosticError on failure.

    Unlike `render_png`, the picture is the requested output here, so a missing or failing
    `dot` is an error.
    """
    from nirmlir.atomic import atomic_output

    executable = shutil.which("dot")
    if executable is None:
        raise DiagnosticError(PNG_NEEDS_GRAPHVIZ_MESSAGE.format(path=png_path))
    try:
        completed = subprocess.run(
            [executable, "-Tpng"], input=dot_text.encode("utf-8"), capture_output=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        raise DiagnosticError(f"Graphviz timed out after 120 s rendering '{png_path}'") from None
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", errors="replace").strip()
        raise DiagnosticError(f"Graphviz failed to render '{png_path}': {detail}")
    try:
        with atomic_output(png_path, "wb") as stream:
            stream.write(completed.stdout)
    except OSError as error:
        raise DiagnosticError(f"cannot write '{png_path}': {error.strerror}") from None


PNG_NEEDS_GRAPHVIZ_MESSAGE = (
    "cannot write '{path}' as PNG: Graphviz's dot is not on PATH; install Graphviz, or give "
    "--view-op-graph a .dot or .gv file name to write the DOT text"
)
DOT_SUFFIXES = (".dot", ".gv")


__all__ = ["DOT_SUFFIXES", "core_of", "module_to_dot", "quote", "render_png", "write_png"]
