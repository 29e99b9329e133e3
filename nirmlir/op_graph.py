"""Graphviz DOT of a module's graphs, for `nir-opt --view-op-graph`.

Each op without regions is one node, labelled with its NIR node name (when it has one), its
op name and its result type (the operand type for ops without results, such as outputs). Each
use of an SSA value is one edge from the op that defines it. An edge is dashed when it carries
a step of delay (its source is a `*.step_delay` op) or points back in the block order, which
is how recurrent edges appear in the graph regions of nir. Ops with regions (`nir.graph`,
`snn.graph`, ...) become clusters, and a `nir.subgraph` node gets a dotted edge to the
cluster of the graph it instantiates.

Ops placed on a core become a cluster per core inside their graph's cluster. An op is placed
by the `cores` attribute that map-to-cores writes, by its `core` property or attribute (an
integer, as the speck dialect has), or by a `mapping` attribute: an integer, a string, or a
dictionary with a `core` entry. An op whose neurons map-to-cores split over several cores has a
node in each of their clusters, labelled with its neurons there, and its edges join every
such node.
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

    An op whose `cores` attribute splits its neurons over several cores gives their list.
    """
    shares = core_shares(op)
    if not shares:
        return None
    return ", ".join(core for core, _ in shares)


def core_shares(op: Operation) -> list[tuple[str, int | None]]:
    """Return (core, neurons) for each core an op is placed on, in order of first use; [] without a placement.

    The `cores` attribute of map-to-cores (`array<i64: core, count, ...>`, runs of neurons and
    their core) gives the neurons on each core. The other placements give one core and None.
    """
    runs = op.attributes.get("cores")
    if isinstance(runs, DenseArrayBase):
        values = [int(value) for value in runs.get_values()]
        neurons: dict[str, int] = {}
        for core, count in zip(values[::2], values[1::2]):
            if count > 0:
                neurons[str(core)] = neurons.get(str(core), 0) + count
        if neurons:
            return list(neurons.items())
    placement = None
    # Checked against None, because an attribute such as IntegerAttr(0) can be falsy.
    for found in (op.properties.get("core"), op.attributes.get("core"), op.attributes.get("mapping")):
        if found is not None:
            placement = found
            break
    if isinstance(placement, DictionaryAttr):
        placement = placement.data.get("core")
    if isinstance(placement, IntegerAttr):
        return [(str(placement.value.data), None)]
    if isinstance(placement, StringAttr):
        return [(placement.data, None)]
    return []


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
        self.node_ids: dict[Operation | SSAValue | tuple[Operation, str], str] = {}
        """Node of each op, block argument, and (op, core) share of an op split over cores."""
        self.share_ids: dict[Operation, list[str]] = {}
        """Nodes of each op split over cores, one per core."""
        self.positions: dict[Operation, int] = {}
        """Position of each op in its block, to tell back edges."""
        self.clusters: dict[str, tuple[str, str]] = {}
        """Symbol name -> (cluster id, id of its first node), for nir.subgraph edges."""
        self.cluster_count = 0

    def node_id(self, key: Operation | SSAValue | tuple[Operation, str]) -> str:
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

        by_core: dict[str, list[tuple[Operation | tuple[Operation, str], str]]] = {}
        for position, op in enumerate(block.ops):
            self.positions[op] = position
            if op.regions:
                self.add_cluster(op, depth)
                continue
            shares = core_shares(op)
            if len(shares) == 1:
                by_core.setdefault(shares[0][0], []).append((op, _node_label(op)))
                continue
            if shares:
                # An op split over cores gets a node on each, labelled with its neurons there.
                total = sum(count or 0 for _, count in shares)
                self.share_ids[op] = []
                for core, count in shares:
                    by_core.setdefault(core, []).append(((op, core), f"{_node_label(op)}\n{count} of {total} neurons"))
                    self.share_ids[op].append(self.node_id((op, core)))
                continue
            self.add_node(op, depth)
            first = first or self.node_id(op)

        for core, placed in by_core.items():
            self.lines.append(f"{_INDENT * depth}subgraph {self.new_cluster()} {{")
            self.lines.append(f"{_INDENT * (depth + 1)}label={quote(f'core {core}')}; style=filled; fillcolor=lightgrey;")
            for key, label in placed:
                identifier = self.node_id(key)
                self.lines.append(f"{_INDENT * (depth + 1)}{identifier} [label={quote(label)}];")
                first = first or identifier
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
            targets = self.ids_of(op)
            if op.regions or not targets:
                continue
            for operand in op.operands:
                source_key = operand if isinstance(operand, BlockArgument) else operand.owner
                style = self.edge_style(operand, op)
                for source in self.ids_of(source_key):
                    for target in targets:
                        self.lines.append(f"{_INDENT}{source} -> {target}{style};")
            callee = op.properties.get("graph")
            if isinstance(callee, SymbolRefAttr) and callee.root_reference.data in self.clusters:
                cluster, first = self.clusters[callee.root_reference.data]
                for target in targets:
                    self.lines.append(f'{_INDENT}{target} -> {first} [lhead={cluster}, style=dotted, label="instantiates"];')

    def ids_of(self, key: Operation | SSAValue) -> list[str]:
        """Return the nodes of an op or block argument: one, one per core for a split op, or none."""
        if key in self.share_ids:
            return self.share_ids[key]
        return [self.node_ids[key]] if key in self.node_ids else []

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


def render_png(dot_path: str, graphs: int = 1) -> str | None:
    """Render a DOT file of `graphs` digraphs as PNG beside it with Graphviz's `dot`; return the PNG path.

    Returns None without `dot` on PATH, or for more than one digraph, because a PNG contains one picture.
    A failed `dot` run is reported as a warning, because the DOT file is the result and the
    picture only a view of it.
    """
    from nirmlir.atomic import atomic_output

    png_path = os.path.splitext(dot_path)[0] + ".png"
    stale = f"; '{png_path}' is left from an earlier run" if os.path.exists(png_path) else ""
    executable = shutil.which("dot")
    if executable is None:
        if stale:
            emit_warning(f"Graphviz's dot is not on PATH, so '{dot_path}' was not drawn as PNG{stale}")
        return None
    if graphs > 1:
        emit_warning(f"'{dot_path}' contains {graphs} graphs, one per module of --split-input-file, and a PNG contains "
                     f"one picture, so none was drawn{stale}")
        return None
    try:
        # The picture comes back on stdout and is written atomically, so that an interrupted
        # run leaves no partial PNG.
        completed = subprocess.run([executable, "-Tpng", dot_path], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        emit_warning(f"Graphviz failed to render '{dot_path}': {error}")
        return None
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", errors="replace").strip()
        emit_warning(f"Graphviz failed to render '{dot_path}': {detail}{stale}")
        return None
    if not completed.stdout:
        emit_warning(f"Graphviz wrote no picture for '{dot_path}'{stale}")
        return None
    try:
        with atomic_output(png_path, "wb") as stream:
            stream.write(completed.stdout)
    except DiagnosticError as error:
        emit_warning(f"{error.message}; the DOT file '{dot_path}' was written")
        return None
    return png_path


def png_of(dot_text: str, png_path: str) -> bytes:
    """Return DOT text rendered as PNG by Graphviz's `dot`; raise DiagnosticError naming `png_path` on failure.

    Unlike `render_png`, the picture is the requested output here, so a missing or failing
    `dot` is an error.
    """
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
    if not completed.stdout:
        raise DiagnosticError(f"Graphviz wrote no picture for '{png_path}'; check the dot on PATH ({executable})")
    return completed.stdout


def write_png(picture: bytes, png_path: str) -> None:
    """Write PNG bytes atomically; raise DiagnosticError if the file cannot be written."""
    from nirmlir.atomic import atomic_output

    try:
        with atomic_output(png_path, "wb") as stream:
            stream.write(picture)
    except OSError as error:
        raise DiagnosticError(f"cannot write '{png_path}': {error.strerror}") from None


PNG_NEEDS_GRAPHVIZ_MESSAGE = (
    "cannot write '{path}' as PNG: Graphviz's dot is not on PATH; install Graphviz, or give "
    "--view-op-graph a .dot or .gv file name to write the DOT text"
)
DOT_SUFFIXES = (".dot", ".gv")


__all__ = ["DOT_SUFFIXES", "core_of", "core_shares", "module_to_dot", "png_of", "quote", "render_png", "write_png"]
