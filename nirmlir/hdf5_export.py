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
from typing import IO

import h5py
import numpy as np
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
from xdsl.ir import Attribute
from xdsl.utils.exceptions import VerifyException

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
from nirmlir.hdf5_raw import MAX_CHUNK_BYTES

_STRING = h5py.string_dtype()


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
    name ("gzip", "lzf") or None. Raises `DiagnosticError` for a module that NIR cannot
    hold.
    """
    if isinstance(destination, (str, os.PathLike)):
        file_name = os.fspath(destination)
    else:
        file_name = getattr(destination, "name", None)
        file_name = file_name if isinstance(file_name, str) else "<stream>"
    try:
        module.verify()
    except VerifyException as error:
        raise DiagnosticError(f"the module does not verify: {error}", Location(file=file_name)) from error
    writer = _GraphWriter(module, compression, file_name)

    if not isinstance(destination, (str, os.PathLike)):
        buffer = io.BytesIO()
        writer.write_file(buffer)
        destination.write(buffer.getvalue())
        return

    temporary = _create_temporary(file_name)
    try:
        writer.write_file(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, file_name)
    except OSError as error:
        os.unlink(temporary)
        raise DiagnosticError(
            f"cannot write '{file_name}': {error.strerror or error}", Location(file=file_name)
        ) from error
    except BaseException:
        os.unlink(temporary)
        raise


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

    def __init__(self, module: ModuleOp, compression: str | None, file_name: str):
        self.compression = compression
        self.file_name = file_name
        self.graphs = [op for op in module.ops if isinstance(op, GraphOp)]
        self.main = self._find_main()
        # The symbols of the graphs being written, outermost first.
        self.active_symbols = [self.main.sym_name.data]

    def _find_main(self) -> GraphOp:
        for graph in self.graphs:
            if graph.sym_name.data == "main":
                return graph
        if len(self.graphs) == 1:
            return self.graphs[0]
        names = ", ".join(f"@{graph.sym_name.data}" for graph in self.graphs) or "none"
        raise self._error(
            f"the module has no @main graph (graphs: {names}); HDF5 export writes @main and "
            "the graphs it instantiates",
            (),
        )

    def write_file(self, target: str | IO[bytes]) -> None:
        with h5py.File(target, "w") as file:
            file.create_dataset("version", data=FORMAT_VERSION, dtype=_STRING)
            metadata = self.main.attributes.get("metadata")
            self._write_graph(file.create_group("node"), self.main, (), metadata)

    def _error(self, message: str, path: tuple[str, ...], field: str | None = None) -> DiagnosticError:
        return DiagnosticError(message, Location(file=self.file_name, node_path=path, field=field))

    def _write_graph(
        self, group: h5py.Group, graph: GraphOp, path: tuple[str, ...], metadata: Attribute | None
    ) -> None:
        group.create_dataset("type", data=GRAPH_TYPE, dtype=_STRING)
        edges = self._edges(graph, path)
        if edges:
            group.create_dataset("edges", data=np.array(edges, dtype=_STRING))
        else:
            # nir 1.0.8 writes an empty edge list as an empty float64 dataset.
            group.create_dataset("edges", data=np.empty(0))
        nodes = group.create_group("nodes")
        for op in graph.nodes:
            self._write_node(nodes, op, path)
        self._write_metadata(group, metadata, path)

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
                        path + (destination,),
                    )
                source = owner.node_name.data
                if source in sources:
                    raise self._error(
                        f"node '{destination}' takes the output of '{source}' twice, but NIR "
                        "has no duplicate edges; sum the two uses before export",
                        path + (destination,),
                    )
                sources.add(source)
                edges.append((source, destination))
        return edges

    def _write_node(self, nodes: h5py.Group, op: NIRNodeOp, path: tuple[str, ...]) -> None:
        name = op.node_name.data
        node_path = path + (name,)
        if "/" in name or name in ("", ".", ".."):
            raise self._error(
                f"node name '{name}' cannot be an HDF5 group name ('/' separates groups); "
                "rename the node",
                node_path,
            )
        group = nodes.create_group(name)
        if isinstance(op, SubgraphOp):
            self._write_subgraph(group, op, node_path)
            return
        group.create_dataset("type", data=op.NIR_TYPE, dtype=_STRING)
        for spec in NODE_FIELDS[op.NIR_TYPE]:
            if spec.kind is FieldKind.SHAPE:
                self._write_array(group, spec.name, np.array(_node_shape(op), dtype=np.int64))
            elif spec.name in op.properties:
                self._write_property(group, spec.name, spec.kind, op)
            elif spec.required:
                raise self._error(f"node '{name}' has no '{spec.name}' property", node_path, spec.name)
        self._write_metadata(group, op.attributes.get("metadata"), node_path)

    def _write_subgraph(self, group: h5py.Group, op: SubgraphOp, path: tuple[str, ...]) -> None:
        callee = op.callee()
        symbol = callee.sym_name.data
        if symbol in self.active_symbols:
            raise self._error(
                f"graph @{symbol} instantiates itself, directly or through other graphs; an "
                "HDF5 file holds nested graphs inline, so it cannot hold a recursive one",
                path,
            )
        # Metadata on the nir.subgraph op takes precedence over that of its graph.
        metadata = op.attributes.get("metadata", callee.attributes.get("metadata"))
        self.active_symbols.append(symbol)
        try:
            self._write_graph(group, callee, path, metadata)
        finally:
            self.active_symbols.pop()

    def _write_property(self, group: h5py.Group, name: str, kind: FieldKind, op: NIRNodeOp) -> None:
        value = attribute_to_value(op.properties[name])
        if kind is FieldKind.TENSOR:
            self._write_array(group, name, value)
        elif isinstance(value, str):
            group.create_dataset(name, data=value, dtype=_STRING)
        elif kind is FieldKind.SPATIAL_SHAPE and len(value) == 1:
            # nir 1.0.8 keeps the Conv1d input size as one integer.
            group.create_dataset(name, data=np.int64(value[0]))
        elif isinstance(value, tuple):
            group.create_dataset(name, data=np.array(value, dtype=np.int64))
        else:
            group.create_dataset(name, data=np.int64(value))

    def _write_array(self, group: h5py.Group, name: str, array: np.ndarray) -> None:
        # HDF5 filters need chunked storage, which scalar datasets do not have.
        if self.compression is None or array.ndim == 0:
            group.create_dataset(name, data=array)
            return
        # One chunk per array lets the importer decompress it straight into bytes.
        chunks = array.shape if 0 < array.nbytes <= MAX_CHUNK_BYTES else True
        group.create_dataset(name, data=array, compression=self.compression, chunks=chunks)

    # -- metadata ---------------------------------------------------------------------

    def _write_metadata(self, group: h5py.Group, metadata: Attribute | None, path: tuple[str, ...]) -> None:
        if metadata is None:
            return
        if not isinstance(metadata, DictionaryAttr):
            raise self._error(
                f"the 'metadata' attribute must be a dictionary; got {metadata}", path, "metadata"
            )
        if metadata.data:
            self._write_metadata_group(group.create_group("metadata"), metadata, path, "metadata")

    def _write_metadata_group(
        self, group: h5py.Group, metadata: DictionaryAttr, path: tuple[str, ...], prefix: str
    ) -> None:
        for key, value in metadata.data.items():
            field = f"{prefix}/{key}"
            if "/" in key or key in ("", ".", ".."):
                raise self._error(
                    f"metadata key '{key}' cannot be an HDF5 name; rename it", path, field
                )
            if isinstance(value, DictionaryAttr):
                self._write_metadata_group(group.create_group(key), value, path, field)
            elif isinstance(value, StringAttr):
                group.create_dataset(key, data=value.data, dtype=_STRING)
            elif isinstance(value, IntegerAttr | FloatAttr):
                group.create_dataset(key, data=_scalar(value))
            elif isinstance(value, DenseIntOrFPElementsAttr):
                self._write_array(group, key, _metadata_array(value))
            elif isinstance(value, ArrayAttr) and _is_string_array(value):
                strings = _string_lists(value)
                group.create_dataset(key, data=np.array(strings, dtype=_STRING) if strings else np.empty(0))
            else:
                raise self._error(
                    f"metadata entry '{field}' contains {value}, which HDF5 export does not "
                    "support; metadata holds strings, integers, floats, booleans, dense "
                    "tensors, string arrays and dictionaries",
                    path,
                    field,
                )


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


def _string_lists(attr: ArrayAttr) -> list:
    return [item.data if isinstance(item, StringAttr) else _string_lists(item) for item in attr.data]
