"""Write modules of `nir.graph` ops as `.nir` HDF5 files in the layout nir 1.0.8 writes.

`@main` becomes ``/node``; each `nir.subgraph` is written inline as a NIRGraph node
containing the graph it instantiates. Parameters keep their dtype, shape and bytes. As
nir 1.0.8 does for graphs built in Python, arrays of one or more dimensions are
compressed (gzip by default), while strings, scalars, edges and the per-axis conv and
pool integers are not. Unlike nir, each compressed array is stored as a single chunk.
"""

from __future__ import annotations

import io
import os
import secrets
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import IO

import h5py
import numpy as np
from h5py import h5g
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Operation

from nirmlir.dense import numpy_dtype_for, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects.nir import (
    FlattenOp,
    GraphOp,
    InputOp,
    NIRNodeOp,
    OutputOp,
    SubgraphOp,
    attribute_to_value,
)
from nirmlir.hdf5_format import FORMAT_VERSION, GRAPH_TYPE, NODE_FIELDS, FieldKind
from nirmlir.hdf5_objects import FILTERS, STRING_DTYPE, ObjectWriter
from nirmlir.hdf5_raw import MAX_CHUNK_BYTES, usable_cores
from nirmlir.text_syntax import escape_string
from nirmlir.verification import verify_module


def export_nir(
    module: ModuleOp,
    destination: str | os.PathLike | IO[bytes],
    *,
    compression: str | None = "gzip",
) -> None:
    """Write the `@main` graph of a verified module, and the graphs it instantiates.

    A path is written atomically: the file goes to a temporary name in the same folder
    and is renamed into place, so on failure an existing file is left untouched. A
    binary file object (such as ``sys.stdout.buffer``) receives the bytes in one write
    once the whole file has been built in memory. ``compression`` is an h5py filter
    name ("gzip", "lzf") or None.

    Raises `DiagnosticError` for a module that NIR cannot hold. Such an error carries the
    op at fault and a location with the graph path and node. The location names no file,
    because only the caller knows the input file. Errors in writing name the output file.
    """
    if isinstance(destination, (str, os.PathLike)):
        file_name = os.fspath(destination)
    else:
        file_name = getattr(destination, "name", None)
        file_name = file_name if isinstance(file_name, str) else "<stream>"
    verify_module(module)
    writer = _GraphWriter(module, compression)

    if not isinstance(destination, (str, os.PathLike)):
        buffer = io.BytesIO()
        try:
            writer.write_file(buffer)
        finally:
            writer.close()
        destination.write(buffer.getvalue())
        return

    temporary = _create_temporary(file_name)
    try:
        try:
            writer.write_file(temporary)
        finally:
            writer.close()
        # No fsync, as for the text outputs: the rename protects an existing file from a
        # failed or interrupted run, not from a power failure.
        os.replace(temporary, file_name)
    except OSError as error:
        os.unlink(temporary)
        raise DiagnosticError(
            f"cannot write '{file_name}': {error.strerror or error}", Location(file=file_name)
        ) from error
    except BaseException:
        os.unlink(temporary)
        raise


# Arrays of at least this many bytes are deflated in pieces on several threads: zlib releases
# the GIL, and a 4 MB weight compresses about twice as fast on two cores.
PARALLEL_DEFLATE_BYTES = 1 << 20
_DEFLATE_PIECE_BYTES = 1 << 20
# h5py's default level for compression="gzip".
GZIP_LEVEL = 4


def _deflate_piece(piece: memoryview, level: int, last: bool) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(piece) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)


def parallel_deflate(data: memoryview, level: int, pool: ThreadPoolExecutor) -> bytes:
    """Return `data` as one zlib stream, its pieces compressed in parallel as pigz does.

    Each piece is raw deflate ended by a full flush, which byte-aligns it and resets the
    window, so the pieces concatenate into one valid deflate stream. The zlib header and the
    Adler-32 of the whole input make it the stream that HDF5's deflate filter reads.
    """
    starts = range(0, len(data), _DEFLATE_PIECE_BYTES)
    pieces = [data[start : start + _DEFLATE_PIECE_BYTES] for start in starts]
    lasts = [index == len(pieces) - 1 for index in range(len(pieces))]
    deflated = pool.map(_deflate_piece, pieces, [level] * len(pieces), lasts)
    # 0x78 0x5E: the zlib header of a 32 KiB window at levels 2 to 5 (checked by zlib.decompress).
    header = b"\x78\x5e"
    return header + b"".join(deflated) + zlib.adler32(data).to_bytes(4, "big")


def _create_temporary(path: str) -> str:
    """Create an empty file next to `path`, with the permissions a new file gets."""
    folder, name = os.path.split(os.path.abspath(path))
    while True:
        temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            handle = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        except OSError as error:
            raise DiagnosticError(
                f"cannot write '{path}': {error.strerror}", Location(file=path)
            ) from error
        os.close(handle)
        return temporary


class _GraphWriter:
    """Writes the graphs of one module into an HDF5 file."""

    def __init__(self, module: ModuleOp, compression: str | None):
        self.compression = compression
        # For a filter other than gzip and lzf, h5py's high-level API writes the compressed datasets.
        self.objects = ObjectWriter(compression if compression in FILTERS else None, GZIP_LEVEL)
        self._pool: ThreadPoolExecutor | None = None
        self.graphs = [op for op in module.ops if isinstance(op, GraphOp)]
        self.main = self._find_main(module)
        # The symbols of the graphs being written, outermost first.
        self.active_symbols = [self.main.sym_name.data]

    def _find_main(self, module: ModuleOp) -> GraphOp:
        for graph in self.graphs:
            if graph.sym_name.data == "main":
                return graph
        if len(self.graphs) == 1:
            return self.graphs[0]
        if not self.graphs:
            contents = ", ".join(_describe_op(op) for op in module.ops) or "no ops"
            raise DiagnosticError(
                f"HDF5 export reads only the nir dialect, but the module contains {contents}"
                " and no nir.graph; export the nir-level module, the one before discretize",
                op=module,
            )
        names = ", ".join(f"@{graph.sym_name.data}" for graph in self.graphs)
        raise DiagnosticError(
            f"the module has no @main graph (graphs: {names}); HDF5 export writes @main and "
            "the graphs it instantiates",
            op=module,
        )

    def write_file(self, target: str | IO[bytes]) -> None:
        with h5py.File(target, "w") as file:
            self.objects.write_string(file.id, "version", FORMAT_VERSION)
            metadata = self.main.attributes.get("metadata")
            self._write_graph(self.objects.create_group(file.id, "node"), self.main, (), metadata)

    @staticmethod
    def _error(
        message: str, op: Operation, path: tuple[str, ...], field: str | None = None
    ) -> DiagnosticError:
        """Build an error at ``op``, located by graph path, node and field."""
        return DiagnosticError(message, Location(node_path=path, field=field), op=op)

    def _write_graph(
        self, group: h5g.GroupID, graph: GraphOp, path: tuple[str, ...], metadata: Attribute | None
    ) -> None:
        self.objects.write_string(group, "type", GRAPH_TYPE)
        # Node names are group names and the strings of the edges dataset.
        for op in graph.nodes:
            name = op.node_name.data
            problem = _hdf5_name_problem(name)
            if problem is not None:
                raise self._error(
                    f"node name {_quoted(name)} cannot be an HDF5 group name ({problem}); "
                    "rename the node",
                    op,
                    path + (name,),
                )
        edges = self._edges(graph, path)
        if edges:
            self.objects.write_strings(group, "edges", np.array(edges, dtype=STRING_DTYPE))
        else:
            # nir 1.0.8 writes an empty edge list as an empty float64 dataset.
            self.objects.write_numbers(group, "edges", np.empty(0), compressed=False)
        nodes = self.objects.create_group(group, "nodes")
        for op in graph.nodes:
            self._write_node(nodes, op, path)
        self._write_metadata(group, metadata, graph, path)

    def _edges(self, graph: GraphOp, path: tuple[str, ...]) -> list[tuple[str, str]]:
        edges: list[tuple[str, str]] = []
        for op in graph.nodes:
            destination = op.node_name.data
            sources: set[str] = set()
            for operand in op.operands:
                owner = operand.owner
                if not isinstance(owner, NIRNodeOp) or owner.parent_op() is not graph:
                    raise self._error(
                        f"node '{destination}' takes a value that no node of this graph "
                        "produces; NIR edges connect nodes of one graph",
                        op,
                        path + (destination,),
                    )
                source = owner.node_name.data
                if source in sources:
                    raise self._error(
                        f"node '{destination}' takes the output of '{source}' twice, but NIR "
                        "has no duplicate edges; sum the two uses before export",
                        op,
                        path + (destination,),
                    )
                sources.add(source)
                edges.append((source, destination))
        return edges

    def _write_node(self, nodes: h5g.GroupID, op: NIRNodeOp, path: tuple[str, ...]) -> None:
        name = op.node_name.data
        node_path = path + (name,)
        group = self.objects.create_group(nodes, name)
        if isinstance(op, SubgraphOp):
            self._write_subgraph(group, op, node_path)
            return
        self.objects.write_string(group, "type", op.NIR_TYPE)
        for spec in NODE_FIELDS[op.NIR_TYPE]:
            if spec.kind is FieldKind.SHAPE:
                self._write_array(group, spec.name, np.array(_node_shape(op), dtype=np.int64))
            elif spec.name in op.properties:
                self._write_property(group, spec.name, spec.kind, op, node_path)
            elif spec.required:
                raise self._error(
                    f"node '{name}' has no '{spec.name}' property", op, node_path, spec.name
                )
        self._write_metadata(group, op.attributes.get("metadata"), op, node_path)

    def _write_subgraph(self, group: h5g.GroupID, op: SubgraphOp, path: tuple[str, ...]) -> None:
        callee = op.callee()
        symbol = callee.sym_name.data
        if symbol in self.active_symbols:
            raise self._error(
                f"graph @{symbol} instantiates itself, directly or through other graphs; an "
                "HDF5 file holds nested graphs inline, so it cannot hold a recursive one",
                op,
                path,
            )
        # Metadata on the nir.subgraph op takes precedence over that of its graph.
        metadata = op.attributes.get("metadata", callee.attributes.get("metadata"))
        self.active_symbols.append(symbol)
        try:
            self._write_graph(group, callee, path, metadata)
        finally:
            self.active_symbols.pop()

    def _write_property(
        self, group: h5g.GroupID, name: str, kind: FieldKind, op: NIRNodeOp, path: tuple[str, ...]
    ) -> None:
        value = attribute_to_value(op.properties[name])
        if kind is FieldKind.TENSOR:
            self._write_array(group, name, value)
        elif isinstance(value, str):
            self._check_string(value, f"'{name}'", op, path, name)
            self.objects.write_string(group, name, value)
        elif kind is FieldKind.SPATIAL_SHAPE and len(value) == 1:
            # nir 1.0.8 keeps the Conv1d input size as one integer.
            self.objects.write_numbers(group, name, np.int64(value[0]), compressed=False)
        elif isinstance(value, tuple):
            self.objects.write_numbers(group, name, np.array(value, dtype=np.int64), compressed=False)
        else:
            self.objects.write_numbers(group, name, np.int64(value), compressed=False)

    def _write_array(self, group: h5g.GroupID, name: str, array: np.ndarray) -> None:
        # HDF5 filters need chunked storage, which scalar datasets do not have.
        if self.compression is None or array.ndim == 0:
            self.objects.write_numbers(group, name, array, compressed=False)
            return
        # One chunk per array lets the importer decompress it straight into bytes.
        chunks = array.shape if 0 < array.nbytes <= MAX_CHUNK_BYTES else True
        if chunks is True or self.compression not in FILTERS:
            # h5py picks the chunks of an empty array or one above the chunk size limit,
            # and raises for a filter it does not know.
            h5py.Group(group).create_dataset(name, data=array, compression=self.compression, chunks=chunks)
        elif self.compression == "gzip" and array.nbytes >= PARALLEL_DEFLATE_BYTES:
            self._write_deflated(group, name, array)
        else:
            self.objects.write_numbers(group, name, array, compressed=True)

    def _write_deflated(self, group: h5g.GroupID, name: str, array: np.ndarray) -> None:
        """Write a gzip-compressed array of one chunk, deflated on several threads."""
        dataset = self.objects.create_chunked(group, name, array.shape, array.dtype)
        try:
            data = memoryview(np.ascontiguousarray(array)).cast("B")
            compressed = parallel_deflate(data, GZIP_LEVEL, self.pool())
            origin = (0,) * array.ndim
            if len(compressed) < len(data):
                dataset.write_direct_chunk(origin, compressed)
            else:
                # HDF5 stores a chunk that deflate does not shrink raw, with bit 0 of the
                # filter mask set so that readers skip the filter. This does the same.
                dataset.write_direct_chunk(origin, data, filter_mask=1)
        finally:
            dataset.close()

    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=usable_cores())
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    # -- metadata ---------------------------------------------------------------------

    def _check_string(
        self, value: str, subject: str, op: Operation, path: tuple[str, ...], field: str
    ) -> None:
        """Reject a string with a NUL character, which would end an HDF5 string."""
        if "\0" in value:
            raise self._error(
                f"{subject} is {_quoted(value)}, which contains a NUL character; HDF5 "
                "strings cannot contain NUL, so remove it",
                op,
                path,
                field,
            )

    def _write_metadata(
        self, group: h5g.GroupID, metadata: Attribute | None, op: Operation, path: tuple[str, ...]
    ) -> None:
        """Write the metadata of ``op``, a node op or a graph op."""
        if metadata is None:
            return
        if not isinstance(metadata, DictionaryAttr):
            raise self._error(
                f"the 'metadata' attribute must be a dictionary; got {metadata}",
                op,
                path,
                "metadata",
            )
        if metadata.data:
            metadata_group = self.objects.create_group(group, "metadata")
            self._write_metadata_group(metadata_group, metadata, op, path, "metadata")

    def _write_metadata_group(
        self,
        group: h5g.GroupID,
        metadata: DictionaryAttr,
        op: Operation,
        path: tuple[str, ...],
        prefix: str,
    ) -> None:
        for key, value in metadata.data.items():
            field = f"{prefix}/{key}"
            problem = _hdf5_name_problem(key)
            if problem is not None:
                raise self._error(
                    f"metadata key {_quoted(key)} cannot be an HDF5 name ({problem}); "
                    "rename it",
                    op,
                    path,
                    field,
                )
            if isinstance(value, DictionaryAttr):
                self._write_metadata_group(self.objects.create_group(group, key), value, op, path, field)
            elif isinstance(value, StringAttr):
                self._check_string(value.data, f"metadata entry '{field}'", op, path, field)
                self.objects.write_string(group, key, value.data)
            elif isinstance(value, IntegerAttr | FloatAttr):
                self.objects.write_numbers(group, key, _scalar(value), compressed=False)
            elif isinstance(value, DenseIntOrFPElementsAttr):
                try:
                    array = _metadata_array(value)
                except DiagnosticError:
                    raise self._error(
                        f"metadata entry '{field}' has the element type {value.get_element_type()}, "
                        "which HDF5 export cannot write; use f16, f32, f64 or an integer type",
                        op,
                        path,
                        field,
                    ) from None
                self._write_array(group, key, array)
            elif isinstance(value, ArrayAttr) and _is_string_array(value):
                strings = _string_lists(value)
                for string in _flatten_strings(value):
                    self._check_string(string, f"an element of metadata entry '{field}'", op, path, field)
                if _string_array_shape(value) is None:
                    raise self._error(
                        f"metadata entry '{field}' is a ragged string array: its nested lists differ "
                        "in length or mix strings and lists. HDF5 stores rectangular arrays, so give "
                        "every nested list the same shape",
                        op,
                        path,
                        field,
                    )
                # An empty list is an empty string array too, so that it reads back as a list.
                self.objects.write_strings(group, key, np.array(strings, dtype=STRING_DTYPE))
            else:
                raise self._error(
                    f"metadata entry '{field}' contains {value}, which HDF5 export does not "
                    "support; metadata holds strings, integers, floats, booleans, dense "
                    "tensors, string arrays and dictionaries",
                    op,
                    path,
                    field,
                )


def _hdf5_name_problem(name: str) -> str | None:
    """Return why HDF5 cannot name a group or dataset ``name``, or None when it can."""
    if "/" in name:
        return "'/' separates groups"
    if name == "":
        return "HDF5 names cannot be empty"
    if name == ".":
        return "HDF5 reads '.' as the group itself"
    if "\0" in name:
        return "HDF5 names end at a NUL character"
    return None


def _quoted(text: str) -> str:
    """Quote text for a message. Text with control characters is escaped as in IR text."""
    return f"'{text}'" if text.isprintable() else escape_string(text)


def _describe_op(op: Operation) -> str:
    """Return ``snn.graph @main`` for a symbol op, else the op name."""
    symbol = op.properties.get("sym_name")
    if isinstance(symbol, StringAttr):
        return f"{op.name} @{symbol.data}"
    return op.name


def _node_shape(op: NIRNodeOp) -> tuple[int, ...]:
    """Return the shape nir stores for an Input, Output or Flatten node."""
    if isinstance(op, InputOp):
        value_type = op.output.type
    elif isinstance(op, OutputOp | FlattenOp):
        value_type = op.operands[0].type
    else:
        raise AssertionError(f"{op.name} has no stored shape")
    assert isinstance(value_type, TensorType)
    return tuple(value_type.get_shape())


def _scalar(attr: IntegerAttr | FloatAttr) -> np.generic:
    element_type = attr.type
    if isinstance(element_type, IntegerType) and element_type.width.data == 1:
        return np.bool_(attr.value.data)
    return numpy_dtype_for(element_type).type(attr.value.data)


def _metadata_array(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    element_type = attr.get_element_type()
    if isinstance(element_type, IntegerType) and element_type.width.data == 1:
        flat = np.frombuffer(attr.data.data, dtype=np.uint8) != 0
        return np.broadcast_to(flat, attr.get_shape()) if flat.size == 1 else flat.reshape(attr.get_shape())
    return numpy_from_dense(attr)


def _is_string_array(attr: ArrayAttr) -> bool:
    return all(
        isinstance(item, StringAttr) or (isinstance(item, ArrayAttr) and _is_string_array(item))
        for item in attr.data
    )


def _flatten_strings(attr: ArrayAttr) -> list[str]:
    strings: list[str] = []
    for item in attr.data:
        if isinstance(item, StringAttr):
            strings.append(item.data)
        else:
            strings.extend(_flatten_strings(item))
    return strings


def _string_array_shape(attr: ArrayAttr) -> tuple[int, ...] | None:
    """Return the shape of a string array whose nested lists are rectangular, else None."""
    items = attr.data
    if all(isinstance(item, StringAttr) for item in items):
        return (len(items),)
    if not all(isinstance(item, ArrayAttr) for item in items):
        return None
    shapes = {_string_array_shape(item) for item in items}
    if len(shapes) != 1 or None in shapes:
        return None
    return (len(items), *shapes.pop())


def _string_lists(attr: ArrayAttr) -> list:
    return [item.data if isinstance(item, StringAttr) else _string_lists(item) for item in attr.data]
