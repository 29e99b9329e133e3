"""Read `.nir` HDF5 files into modules of `nir.graph` ops.

The reader accepts what nir 1.0.8 writes and the older layouts that real files use:
- no ``/version``;
- no ``v_reset`` (zeros) and no ``w_in`` (ones);
- no conv ``input_shape``, Flatten ``input_type`` or Output ``shape`` (each inferred from
  the incoming edge);
- integer conv hyperparameters instead of pairs;
- 0-d neuron parameters (broadcast to the neuron shape);
- integer edges (indices into the numerically sorted node names).
It never guesses a fix for a shape mismatch. It reports the edge, both nodes and both
shapes instead.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    i64,
)
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from nirmlir.dense import dense_from_numpy, element_type_for, i64_array
from nirmlir.diagnostics import DiagnosticError, Location, emit_warning, held_warnings, release_warnings
from nirmlir.dialects.nir import NIR, GraphOp, NIRNodeOp, ParamValue, Shape, make_node
from nirmlir.hdf5_format import (
    HDF5_SIGNATURE,
    GRAPH_ENTRIES,
    GRAPH_TYPE,
    NODE_FIELDS,
    SPATIAL_RANK,
    FieldKind,
    FieldSpec,
)
from nirmlir.hdf5_raw import (
    OversizedDataError,
    bytes_backing,
    global_heap_problem,
    read_arrays,
    string_storage_problem,
    read_dataset,
)
from nirmlir.hdf5_tree import DamagedFile, OutsideSubset, TreeDataset, TreeGroup, read_tree, read_tree_arrays
from nirmlir.hdf5_values import (
    bool_dense,
    read_strings,
    broken_link,
    dataset_value,
    describe,
    integers,
    scalar_attr,
    string_array_attr,
)
from nirmlir.hdf5_graph import (
    GraphRecord,
    NodeRecord,
    add_boundary_nodes,
    check_edges,
    check_nested_boundary,
    infer_shapes,
    op_order,
)
from nirmlir.limits import MAX_NESTING_DEPTH, MAX_TENSOR_BYTES
from nirmlir.lazy_import import LazyModule

h5py = LazyModule("h5py")


EAGER_READ_BYTES = 64 * 1024
"""Parameters of at most this many bytes (shape times item size) are read as soon as their node is read."""

if TYPE_CHECKING:
    from h5py.h5d import DatasetID
    from h5py.h5g import GroupID

Members = dict[str, "GroupID | DatasetID | h5py.h5t.TypeID | TreeGroup | TreeDataset"]
"""The members of an HDF5 group by name, read once so that later lookups are cheap.

From h5py they are low-level object ids, because wrapping each in an `h5py.Dataset` took
about a third of the time of listing a node group's members. Only rare paths wrap them."""


def import_nir(
    source: str | os.PathLike | IO[bytes],
    ctx: Context,
    *,
    filename: str | None = None,
    relax_output_shapes: bool = False,
) -> ModuleOp:
    """Read a `.nir` file into a verified module: `@main` plus one `nir.graph` per nested graph.

    ``source`` is a path or a binary file object (a non-seekable stream such as stdin is
    read into memory first). ``filename`` names the source in diagnostics. Every problem
    in the file raises `DiagnosticError` located at the graph, node and field.
    ``relax_output_shapes`` accepts an Output whose declared shape differs from the shape it
    receives but has as many elements (see `infer_shapes`).
    """
    if ctx.get_optional_dialect(NIR.name) is None:
        ctx.load_dialect(NIR)
    name = filename if filename is not None else _source_name(source)
    with _open_source(source, name) as opened:
        reader = _FileReader(name, None, relax_output_shapes)
        module = _import_tree(reader, opened)
        if module is None:
            reader = _FileReader(name, None, relax_output_shapes)
            module = _import_h5py(reader, opened)
    reader.verify()
    return module


def _import_tree(reader: _FileReader, opened: _Source) -> ModuleOp | None:
    """Read the module with `read_tree`; return None when the file lies outside what it parses.

    The warnings of a read that ends outside are dropped, because the h5py path that reads
    the file next emits them again.
    """
    if not opened.head.startswith(HDF5_SIGNATURE):
        return None

    def read_raw(offset: int, size: int) -> bytes:
        return opened.read_raw(opened.start + offset, size)

    with held_warnings() as collected:
        try:
            module = reader.read_tree_module(read_tree(read_raw, opened.end - opened.start))
        except DamagedFile as error:
            # libhdf5 would follow the B-tree until the process crashes.
            failure = reader.error(
                f"cannot read the HDF5 file, which is damaged: {error}; write it again with nir.write",
                *reader.reading,
            )
        except OutsideSubset:
            return None
        except DiagnosticError as error:
            failure = error
        else:
            failure = None
    release_warnings(collected)
    if failure is not None:
        raise failure
    return module


def _import_h5py(reader: _FileReader, opened: _Source) -> ModuleOp:
    """Read the module through h5py; turn HDF5's errors into diagnostics located at the field."""
    reader.groups = (h5py.h5g.GroupID,)
    reader.datasets = (h5py.h5d.DatasetID,)
    try:
        with _open_hdf5(opened, reader.file_name) as (file, file_descriptor, raw_file):
            reader.file_descriptor = file_descriptor
            reader.raw_file = raw_file
            return reader.read_module(file)
    except DiagnosticError:
        raise
    except OversizedDataError as error:
        path, field = reader.reading
        raise reader.error(
            f"the compressed data of '{field}' inflate to more than the {error.declared} bytes that "
            "its shape and dtype declare, so the file is damaged; write it again with nir.write",
            path,
            field,
        ) from None
    except Exception as error:
        if not isinstance(error, OSError) and not _raised_in_h5py(error):
            raise
        path, field = reader.reading
        # h5py's KeyError would print its message quoted, so take the message itself.
        detail = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
        raise reader.error(
            f"cannot read the HDF5 file, which is damaged or truncated: {detail}; write it again "
            "with nir.write",
            path,
            field,
        ) from error


def _raised_in_h5py(error: BaseException) -> bool:
    """Return whether ``error`` comes from h5py or the HDF5 library (a damaged file), not from nirmlir.

    h5py turns HDF5 errors into KeyError, RuntimeError, ValueError and others, whose
    innermost traceback frame lies in h5py.
    """
    traceback = error.__traceback__
    if traceback is None:
        return False
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return "h5py" in traceback.tb_frame.f_code.co_filename


def _source_name(source: str | os.PathLike | IO[bytes]) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"


# --------------------------------------------------------------------------------------
# Opening the file
# --------------------------------------------------------------------------------------


RawFile = tuple[Callable[[int, int], bytes], int, int, tuple[int, int]]
"""How to read the file's bytes for `global_heap_problem`: ``read(offset, size)``, the file's
size, the offset of HDF5 address 0 (after a user block, and where the file starts in a
stream), and the file's sizes of addresses and lengths."""


@dataclass
class _Source:
    """An opened path or stream: its first bytes and raw reads of it.

    ``read_raw(offset, size)`` reads at an offset of the whole path or stream, in which the
    file starts at ``start`` and ends at ``end``. ``descriptor`` is the open descriptor of
    a path, and None for a stream.
    """

    opener: str | os.PathLike | IO[bytes]
    head: bytes
    start: int
    end: int
    read_raw: Callable[[int, int], bytes]
    descriptor: int | None


@contextlib.contextmanager
def _open_source(source: str | os.PathLike | IO[bytes], name: str) -> Iterator[_Source]:
    """Open a path, or take a stream (read into memory when it cannot seek)."""
    if isinstance(source, (str, os.PathLike)):
        try:
            handle = open(source, "rb", buffering=0)  # noqa: SIM115 (closed by the with below)
        except OSError as error:
            raise DiagnosticError(f"cannot open '{name}': {error.strerror}", Location(file=name)) from error
        with handle:
            try:
                head = handle.read(len(HDF5_SIGNATURE))
            except OSError as error:
                raise DiagnosticError(f"cannot open '{name}': {error.strerror}", Location(file=name)) from error
            descriptor = handle.fileno()

            def read_file(offset: int, size: int) -> bytes:
                return os.pread(descriptor, size, offset)

            yield _Source(source, head, 0, os.fstat(descriptor).st_size, read_file, descriptor)
        return
    if not _seekable(source):
        source = io.BytesIO(source.read())
    start = source.tell()
    head = source.read(len(HDF5_SIGNATURE))
    end = source.seek(0, io.SEEK_END)
    source.seek(start)
    stream = source

    def read_stream(offset: int, size: int) -> bytes:
        stream.seek(offset)
        return stream.read(size)

    yield _Source(source, head, start, end, read_stream, None)


@contextlib.contextmanager
def _open_hdf5(opened: _Source, name: str) -> Iterator[tuple[h5py.File, int | None, RawFile]]:
    """Open the file with h5py; yield it with a descriptor for direct data reads and a `RawFile`.

    The descriptor is None for streams and for files that start with a user block, whose
    HDF5 addresses are not file offsets.
    """
    if opened.descriptor is None:
        opened.opener.seek(opened.start)
    try:
        file = h5py.File(opened.opener, "r")
    except Exception as error:
        if not isinstance(error, OSError) and not _raised_in_h5py(error):
            raise
        raise DiagnosticError(_open_failure_message(opened.head, error), Location(file=name)) from error
    with file:
        creation = file.id.get_create_plist()
        base = opened.start + creation.get_userblock()
        file_descriptor = opened.descriptor if base == 0 else None
        yield file, file_descriptor, (opened.read_raw, opened.end, base, creation.get_sizes())


def _has_type(group: GroupID | TreeGroup) -> bool:
    return "type" in group.members if isinstance(group, TreeGroup) else b"type" in group


def _decode_name(raw_name: bytes) -> str | bytes:
    """Decode a link name as h5py does: UTF-8, else the bytes unchanged."""
    try:
        return raw_name.decode("utf-8")
    except UnicodeDecodeError:
        return raw_name


@functools.cache
def _type_classes() -> tuple[set[int], set[int], dict[int, str]]:
    """Return three facts about HDF5 datatype classes for the h5py path.

    The first is the set of classes of the data that NIR files contain: numbers, strings,
    booleans (which h5py stores as an enum) and complex numbers (a compound, which metadata
    then rejects by name). The second is the set of classes read without an `h5py.Dataset`,
    and the third names the other classes.
    """
    readable = {h5py.h5t.INTEGER, h5py.h5t.FLOAT, h5py.h5t.STRING, h5py.h5t.ENUM, h5py.h5t.COMPOUND}
    simple = {h5py.h5t.INTEGER, h5py.h5t.FLOAT, h5py.h5t.STRING}
    names = {
        h5py.h5t.TIME: "time",
        h5py.h5t.BITFIELD: "bitfield",
        h5py.h5t.OPAQUE: "opaque",
        h5py.h5t.REFERENCE: "reference",
        h5py.h5t.VLEN: "variable-length sequence",
        h5py.h5t.ARRAY: "array",
    }
    return readable, simple, names


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, ValueError):
        return False


def _open_failure_message(head: bytes, error: OSError) -> str:
    if head.startswith(HDF5_SIGNATURE):
        return f"cannot read the HDF5 file: {error}"
    if head.startswith(b"PK\x03\x04") or (head[:1] == b"\x80" and head[1:2] in b"\x02\x03\x04\x05"):
        kind = "it looks like a ZIP/pickle archive (torch.save?)"
    elif not head:
        kind = "the file is empty"
    else:
        kind = "the HDF5 signature is missing"
    return (
        f"not an HDF5 file: {kind}; NIR files are HDF5, so export the model with its "
        "framework's NIR exporter (which calls nir.write) and load that file"
    )


# --------------------------------------------------------------------------------------
# Reading groups and datasets
# --------------------------------------------------------------------------------------


class _FileReader:
    """Reads one file: the graphs, their nodes and fields, then builds the ops."""

    def __init__(self, file_name: str, file_descriptor: int | None, relax_output_shapes: bool = False):
        self.file_name = file_name
        self.relax_output_shapes = relax_output_shapes
        self.file_descriptor = file_descriptor
        # The node path and field being read, which locates an error of a damaged file.
        self.reading: tuple[tuple[str, ...], str | None] = ((), None)
        # How to read the file's bytes (see `RawFile`), for the global heap check.
        self.raw_file: RawFile | None = None
        # Each graph symbol in module order, with the node path of its graph.
        self.graph_paths: dict[str, tuple[str, ...]] = {}
        self.graph_records: dict[str, GraphRecord] = {}
        self.graph_ops: dict[str, GraphOp] = {}
        # The HDF5 object of each graph group being read, with its node path: a group
        # met again while it is open is a hard link that makes a graph contain itself.
        self.open_graphs: dict[h5py.h5g.GroupID, tuple[str, ...]] = {}
        # Parameter datasets read only after every shape check passed (see `_tensor`).
        self.deferred: list[tuple[NodeRecord, str, DatasetID, tuple[str, ...]]] = []
        # Addresses of the global heap collections that `global_heap_problem` found intact.
        self.intact_collections: set[int] = set()
        # The types of groups and datasets: `hdf5_tree`'s, or h5py's low-level ids when
        # the file is read through h5py (see `_import_h5py`).
        self.groups: tuple[type, ...] = (TreeGroup,)
        self.datasets: tuple[type, ...] = (TreeDataset,)

    def error(self, message: str, path: tuple[str, ...] = (), field: str | None = None) -> DiagnosticError:
        return DiagnosticError(message, Location(file=self.file_name, node_path=path, field=field))

    def read_module(self, file: h5py.File) -> ModuleOp:
        if "node" not in file or not isinstance(file["node"], h5py.Group):
            members = ", ".join(f"'{key}'" for key in file) or "none"
            hint = ""
            if file.attrs.get("__type__") == "NIRGraphData":
                hint = " It is a NIRGraphData file, which contains recorded data, not a model."
            problem = "its 'node' is a dataset, not a group" if "node" in file else "it has no 'node' group"
            raise self.error(
                f"the file contains no NIR graph: {problem} (root members: {members}).{hint} "
                "Write the model with nir.write"
            )
        return self._read_top(file["node"].id)

    def read_tree_module(self, root: TreeGroup) -> ModuleOp:
        """Read a module from a file that `read_tree` parsed; raise `OutsideSubset` when its
        root has no 'node' group, so that the h5py path reports it."""
        top_group = root.members.get("node")
        if not isinstance(top_group, TreeGroup):
            raise OutsideSubset("the file has no 'node' group")
        return self._read_top(top_group)

    def _read_top(self, top_group: GroupID | TreeGroup) -> ModuleOp:
        top = self._members(top_group, ())
        top_type = self._read_type(top, ())
        if top_type != GRAPH_TYPE:
            raise self.error(
                f"the top-level node has type '{top_type}'; expected '{GRAPH_TYPE}'. Wrap the "
                "node in a NIRGraph with Input and Output nodes before writing",
                field="type",
            )
        self.graph_paths["main"] = ()
        self._read_graph(top_group, top, (), "main")

        # Every shape is checked, so the parameter data is read only for a valid file.
        def locate(index: int) -> None:
            _, field, _, path = self.deferred[index]
            self.reading = (path, field)

        datasets = [dataset_id for _, _, dataset_id, _ in self.deferred]
        if datasets and isinstance(datasets[0], TreeDataset):
            arrays = read_tree_arrays(datasets, locate)
        else:
            arrays = read_arrays(datasets, self.file_descriptor, locate)
        for (node, field, _, _), array in zip(self.deferred, arrays):
            node.params[field] = array
        builder = _AttributeBuilder()
        for symbol, graph in self.graph_records.items():
            self.graph_ops[symbol] = _build_graph_op(graph, symbol, builder)
        return ModuleOp([self.graph_ops[symbol] for symbol in self.graph_paths])

    def _members(self, group_id: GroupID, path: tuple[str, ...], *, nodes: bool = False) -> Members:
        """Return the members of a group by name; raise for a link that leads nowhere.

        With ``nodes``, the members are the node groups under ``nodes``, and an error is
        located at the node instead of at a field.
        """
        self.reading = (path, None)
        if isinstance(group_id, TreeGroup):
            # `read_tree` checked that every name is UTF-8 and every link leads to an object.
            return group_id.members
        members: Members = {}
        for raw_name in group_id:
            name = _decode_name(raw_name)
            if isinstance(name, bytes):
                group = h5py.h5i.get_name(group_id).decode("utf-8", "backslashreplace")
                raise self.error(
                    f"the HDF5 name {name!r} in group '{group}' is not UTF-8 text; NIR names are "
                    "UTF-8, so write the file with UTF-8 names",
                    path,
                )
            try:
                # h5py's Group.get costs about twice as much, because it opens a File
                # object per member to ask for the file's mode.
                object_id = h5py.h5o.open(group_id, raw_name)
            except KeyError:
                link = h5py.Group(group_id).get(name, getlink=True)
                location = (path + (name,), None) if nodes else (path, name)
                subject = f"node '{name}'" if nodes else f"'{name}'"
                raise self.error(f"{subject} is {broken_link(link)}", *location) from None
            members[name] = object_id
        return members

    def _value(self, dataset_id: DatasetID, path: tuple[str, ...], field: str) -> str | np.ndarray | object:
        """Read a dataset as `dataset_value` does, after checking its size and datatype."""
        self.reading = (path, field)
        if isinstance(dataset_id, TreeDataset):
            return self._tree_value(dataset_id, path, field)
        type_id = dataset_id.get_type()
        type_class = type_id.get_class()
        space = dataset_id.get_space()
        if space.get_simple_extent_type() == h5py.h5s.NULL or type_class not in _type_classes()[1]:
            return self._other_value(h5py.Dataset(dataset_id, readonly=True), type_class, path, field)
        # Numbers and strings, which is what NIR files contain, are read without h5py's
        # Dataset objects, because each of their properties queries HDF5 again.
        dtype, shape = type_id.dtype, space.shape
        size = math.prod(shape) * max(dtype.itemsize, 1)
        self._check_size(path, field, shape, dtype, size)
        if type_class != h5py.h5t.STRING:
            return read_dataset(dataset_id, dtype, shape, self.file_descriptor)
        if h5py.check_string_dtype(dtype).length is not None:
            return self._decoded(dataset_value, h5py.Dataset(dataset_id, readonly=True), path, field)
        self._check_global_heap(dataset_id, path, field)
        return self._decoded(read_strings, dataset_id, path, field)

    def _tree_value(self, dataset: TreeDataset, path: tuple[str, ...], field: str) -> str | np.ndarray:
        # A string counts as h5py's 8-byte object pointer, as in the h5py path.
        dtype = np.dtype(object) if dataset.is_string else dataset.dtype
        self._check_size(path, field, dataset.shape, dtype, math.prod(dataset.shape) * dtype.itemsize)
        if dataset.is_string:
            return self._decoded(TreeDataset.strings, dataset, path, field)
        return dataset.array()

    def _other_value(
        self, dataset: h5py.Dataset, type_class: int, path: tuple[str, ...], field: str
    ) -> str | np.ndarray | object:
        """Read a dataset that is not numbers or strings, or has a null dataspace, for `_value`."""
        # A null dataspace has no shape and no elements.
        if dataset.shape is not None:
            size = dataset.size * max(dataset.dtype.itemsize, 1)
            self._check_size(path, field, dataset.shape, dataset.dtype, size)
        readable, _, names = _type_classes()
        if type_class not in readable:
            # A damaged variable-length type can crash HDF5 when the data is read, so only
            # the classes that NIR data use are read at all.
            kind = names.get(type_class, f"class {type_class}")
            raise self.error(
                f"'{field}' has an HDF5 {kind} datatype, which NIR files do not use; NIR data are "
                "numbers, booleans and strings, so write the value as a numeric or string dataset",
                path,
                field,
            )
        if dataset.shape is None:
            return h5py.Empty(dataset.dtype)  # the caller describes it
        string_info = h5py.check_string_dtype(dataset.dtype)
        if string_info is not None and string_info.length is None:
            self._check_global_heap(dataset.id, path, field)
        return self._decoded(dataset_value, dataset, path, field)

    def _decoded(self, read, dataset: h5py.Dataset | DatasetID, path: tuple[str, ...], field: str):
        """Return ``read(dataset)``; report strings that are not UTF-8."""
        try:
            return read(dataset)
        except UnicodeDecodeError as error:
            raise self.error(
                f"'{field}' contains the bytes {error.object!r}, which are not UTF-8 text; "
                "NIR strings are UTF-8, so write the file's strings as UTF-8",
                path,
                field,
            ) from None

    def _check_global_heap(self, dataset_id: DatasetID, path: tuple[str, ...], field: str) -> None:
        """Reject variable-length strings whose global heap would make HDF5 loop forever."""
        read_raw, file_size, base, address_sizes = self.raw_file
        storage = string_storage_problem(dataset_id)
        if storage is not None:
            raise self.error(
                f"'{field}' contains variable-length strings stored {storage}, which the importer "
                "cannot check for the damaged string heaps that make HDF5 loop forever; write the "
                "file again with nir.write, which stores strings contiguously",
                path,
                field,
            )
        problem = global_heap_problem(dataset_id, read_raw, file_size, base, address_sizes, self.intact_collections)
        if problem is not None:
            raise self.error(
                f"cannot read the HDF5 file, which is damaged: the string data of '{field}' is "
                f"invalid: {problem}; write the file again with nir.write",
                path,
                field,
            )

    def _check_float_width(self, path: tuple[str, ...], field: str, dtype: np.dtype) -> None:
        """Reject floats wider than 64 bits (long doubles, or HDF5 float types h5py widens to them)."""
        if dtype.kind == "f" and dtype.itemsize > 8:
            raise self.error(
                f"'{field}' has dtype {dtype}, wider than the float64 that nirmlir stores; write it "
                "as float16, float32 or float64",
                path,
                field,
            )

    def _check_size(
        self, path: tuple[str, ...], field: str, shape: tuple[int, ...], dtype: np.dtype, size: int
    ) -> None:
        """Reject a dataset larger than `MAX_TENSOR_BYTES` (``size`` bytes) before any of it is read.

        A chunked dataset can declare any shape in a small file, so the size comes from
        the declared shape, not from the file size. NOTE: a variable-length string counts
        as its 8-byte pointer, so decoded strings can take several times the limit.
        """
        if size > MAX_TENSOR_BYTES:
            raise self.error(
                f"dataset '{field}' has shape {list(shape)} and dtype {dtype}, "
                f"{size} bytes, more than the limit of {MAX_TENSOR_BYTES} bytes "
                f"({MAX_TENSOR_BYTES >> 30} GiB)",
                path,
                field,
            )
        # numpy cannot make an empty array whose other sizes multiply past its index type.
        nonzero_size = math.prod(length for length in shape if length) * max(dtype.itemsize, 1)
        if size == 0 and nonzero_size > MAX_TENSOR_BYTES:
            raise self.error(
                f"dataset '{field}' has shape {list(shape)}: it is empty, but its other sizes "
                f"multiply to more than the limit of {MAX_TENSOR_BYTES} bytes, which no array can "
                "have; write an empty dataset with a size of 0 in place of the large sizes",
                path,
                field,
            )

    def _read_type(self, members: Members, path: tuple[str, ...]) -> str:
        if "type" not in members:
            nested = [key for key, item in members.items() if isinstance(item, self.groups) and _has_type(item)]
            if path and nested:
                raise self.error(
                    f"node group '{path[-1]}' has no 'type' dataset but contains the node "
                    f"group '{nested[0]}': the node '{path[-1]}/{nested[0]}' was split at '/', "
                    "which HDF5 reads as a group separator. Rename the node without '/' and "
                    "write the file again",
                    path,
                )
            group = f"node group '{path[-1]}'" if path else "the 'node' group"
            raise self.error(
                f"{group} has no 'type' dataset; add one naming the NIR node type", path, "type"
            )
        item = members["type"]
        value = self._value(item, path, "type") if isinstance(item, self.datasets) else item
        if not isinstance(value, str):
            raise self.error(
                f"the 'type' dataset must be a string naming the NIR node type; got {describe(value)}",
                path,
                "type",
            )
        return value

    def _read_graph(
        self, group_id: GroupID, members: Members, path: tuple[str, ...], symbol: str
    ) -> tuple[Shape, Shape] | None:
        """Read the members of a graph group into `self.graph_records[symbol]`; return the
        shapes of its single Input and Output when it is nested."""
        container = self.open_graphs.get(group_id)
        if container is not None:
            inside = f"graph '{'/'.join(container)}'" if container else "the top-level graph"
            raise self.error(
                f"graph '{path[-1]}' contains itself: its HDF5 group is a hard link to the "
                f"group of {inside}, which contains it. A NIR graph cannot contain itself",
                path,
            )
        if len(path) > MAX_NESTING_DEPTH:
            raise self.error(
                f"graph '{'/'.join(path)}' is nested {len(path)} graphs deep, deeper than the "
                f"limit of {MAX_NESTING_DEPTH}",
                path,
            )
        self.open_graphs[group_id] = path
        try:
            boundary = self._read_graph_members(members, path, symbol)
        finally:
            del self.open_graphs[group_id]
        return boundary

    def _read_graph_members(
        self, members: Members, path: tuple[str, ...], symbol: str
    ) -> tuple[Shape, Shape] | None:
        unknown = sorted(set(members) - GRAPH_ENTRIES)
        if unknown:
            raise self.error(
                f"the {GRAPH_TYPE} group has unknown member(s) {unknown}; a graph contains "
                f"only {sorted(GRAPH_ENTRIES)}",
                path,
                unknown[0],
            )
        if not isinstance(members.get("nodes"), self.groups):
            raise self.error(f"the {GRAPH_TYPE} group has no 'nodes' group", path, "nodes")

        graph = GraphRecord(self.file_name, path)
        for name, item in self._members(members["nodes"], path, nodes=True).items():
            if not isinstance(item, self.groups):
                raise self.error(f"'{name}' under 'nodes' is a dataset; every node is a group", path + (name,))
            graph.nodes[name] = self._read_node(item, name, path + (name,))
        graph.edges = self._read_edges(members, graph)
        graph.metadata = self._read_metadata(members, path)

        check_edges(graph)
        infer_shapes(graph, self.relax_output_shapes)
        add_boundary_nodes(graph)
        boundary = check_nested_boundary(graph) if path else None
        self.graph_records[symbol] = graph
        return boundary

    def _read_node(self, group_id: GroupID, name: str, path: tuple[str, ...]) -> NodeRecord:
        members = self._members(group_id, path)
        nir_type = self._read_type(members, path)
        if nir_type == GRAPH_TYPE:
            symbol = self._reserve_symbol(name, path)
            shapes = self._read_graph(group_id, members, path, symbol)
            return NodeRecord(
                name, nir_type, metadata=None, graph_symbol=symbol, subgraph_shapes=shapes
            )
        if nir_type not in NODE_FIELDS:
            known = ", ".join(sorted([*NODE_FIELDS, GRAPH_TYPE]))
            raise self.error(
                f"node '{name}' has unknown type '{nir_type}'; NIR 1.0.8 node types are: {known}",
                path,
                "type",
            )
        specs = NODE_FIELDS[nir_type]
        allowed = {spec.name for spec in specs} | {"type", "metadata"}
        unknown = sorted(set(members) - allowed)
        if unknown:
            raise self.error(
                f"node '{name}' ({nir_type}) has unknown field(s) {unknown}; {nir_type} fields "
                f"are: {', '.join(spec.name for spec in specs)}",
                path,
                unknown[0],
            )

        node = NodeRecord(name, nir_type, metadata=self._read_metadata(members, path))
        for spec in specs:
            if spec.name not in members:
                if spec.required:
                    required = [s.name for s in specs if s.required]
                    raise self.error(
                        f"node '{name}' ({nir_type}) has no '{spec.name}' dataset; {nir_type} "
                        f"needs {', '.join(required)}",
                        path,
                        spec.name,
                    )
                continue
            item = members[spec.name]
            if spec.kind is FieldKind.TENSOR and isinstance(item, TreeDataset):
                if not item.is_string:
                    node.params[spec.name] = self._tensor(item, item.dtype, item.shape, node, spec.name, path)
                    continue
            elif spec.kind is FieldKind.TENSOR and isinstance(item, self.datasets):
                # The dtype and shape are read once here, because each h5py property queries HDF5 again.
                dtype = item.dtype
                space = item.get_space()
                # A null dataspace contains no array; `_read_field` reports it.
                if dtype.kind in "iuf" and space.get_simple_extent_type() != h5py.h5s.NULL:
                    node.params[spec.name] = self._tensor(item, dtype, space.shape, node, spec.name, path)
                    continue
            value = self._read_field(item, spec, nir_type, path)
            if spec.kind is FieldKind.SHAPE:
                node.declared_shape = value
            elif value is not None:
                node.params[spec.name] = value
        if nir_type in ("CubaLI", "CubaLIF") and "w_in" not in node.params:
            # Files written before nir stored w_in lack it. Warn, because a model exported
            # with another input weight then behaves differently without any error.
            emit_warning(
                f"node '{node.name}' ({nir_type}) has no 'w_in' dataset; using nir 1.0.8's "
                "default input weight 1.0 for every neuron",
                Location(file=self.file_name, node_path=path, field="w_in"),
            )
        _fill_defaults(node)
        return node

    def _tensor(
        self,
        dataset_id: DatasetID,
        dtype: np.dtype,
        shape: tuple[int, ...],
        node: NodeRecord,
        field: str,
        path: tuple[str, ...],
    ) -> np.ndarray:
        """Return a numeric parameter for the shape checks; read large data later.

        Shape checks look only at shapes, so a parameter of more than `EAGER_READ_BYTES`
        is first a zero-strided placeholder that costs no memory, and `read_module` reads
        the data once the whole file has passed them. A 0-d parameter is read now, because
        it is broadcast to the neuron shape by value. A small one is read now too, because
        keeping its dataset open until then costs HDF5 more memory than its data. With
        h5py 3.16, a chain of 3000 one-neuron LIF nodes took 1.46 GB of RSS to import
        with every dataset kept open, and 0.30 GB when small ones were read at once.
        """
        self.reading = (path, field)
        self._check_float_width(path, field, dtype)
        size = math.prod(shape) * dtype.itemsize
        self._check_size(path, field, shape, dtype, size)
        if not shape or size <= EAGER_READ_BYTES:
            if isinstance(dataset_id, TreeDataset):
                return dataset_id.array()
            return read_dataset(dataset_id, dtype, shape, self.file_descriptor)
        self.deferred.append((node, field, dataset_id, path))
        return np.broadcast_to(np.zeros((), dtype), shape)

    def _reserve_symbol(self, name: str, path: tuple[str, ...]) -> str:
        symbol, index = name, 1
        while symbol in self.graph_paths:
            symbol = f"{name}_{index}"
            index += 1
        self.graph_paths[symbol] = path
        return symbol

    def _read_field(
        self, item: h5py.HLObject, spec: FieldSpec, nir_type: str, path: tuple[str, ...]
    ) -> ParamValue | Shape | None:
        """Convert one dataset to the value the shape rules and the op properties take."""

        def fail(expected: str) -> DiagnosticError:
            return self.error(
                f"field '{spec.name}' of node '{path[-1]}' ({nir_type}) {expected}; got "
                f"{describe(value)}",
                path,
                spec.name,
            )

        if not isinstance(item, self.datasets):
            value = item
            raise fail("must be a dataset")
        value = self._value(item, path, spec.name)
        rank = SPATIAL_RANK.get(nir_type, 0)
        match spec.kind:
            case FieldKind.TENSOR:
                raise fail("must be a numeric array")
            case FieldKind.INT:
                ints = integers(value)
                if ints is None or len(ints) != 1:
                    raise fail("must be one integer")
                return ints[0]
            case FieldKind.PADDING if isinstance(value, str):
                if value not in ("same", "valid"):
                    raise fail("must be integers, 'same' or 'valid'")
                return value
            case FieldKind.INTS | FieldKind.PADDING:
                ints = integers(value)
                if ints is not None and np.ndim(value) == 0:
                    ints = ints * rank
                if ints is None or len(ints) != rank:
                    raise fail(f"must be {rank} integer(s), one per spatial axis, or one integer")
                return ints
            case FieldKind.SPATIAL_SHAPE:
                ints = integers(value)
                if ints is not None and len(ints) == rank + 1:
                    raise fail(
                        f"must hold only the {rank} spatial size(s), without the channel count"
                    )
                if ints is None or len(ints) != rank or min(ints) < 1:
                    raise fail(f"must be {rank} positive integer(s)")
                return ints
            case FieldKind.SHAPE:
                ints = integers(value)
                if ints is None:
                    raise fail("must be a list of dimension sizes")
                if nir_type == "Flatten" and ints and not any(ints):
                    # Early exporters wrote zeros for an unknown Flatten input shape.
                    return None
                if min(ints, default=1) < 1:
                    raise fail("must hold positive dimension sizes")
                return ints
        raise AssertionError(f"unhandled field kind {spec.kind}")

    def _read_edges(self, members: Members, graph: GraphRecord) -> list[tuple[str, str]]:
        dataset = members.get("edges")
        if not isinstance(dataset, self.datasets):
            raise self.error(f"the {GRAPH_TYPE} group has no 'edges' dataset", graph.path, "edges")
        if isinstance(dataset, TreeDataset):
            shape = dataset.shape
        else:
            space = dataset.get_space()
            shape = space.shape if space.get_simple_extent_type() != h5py.h5s.NULL else None
        # nir.write writes no edges as an empty dataset of shape (0,), and an empty (E, 2)
        # array has shape (0, 2). Other empty shapes get the (E, 2) diagnostic below.
        if shape in ((0,), (0, 2)):
            return []
        value = self._value(dataset, graph.path, "edges")
        if not isinstance(value, np.ndarray) or value.ndim != 2 or value.shape[1] != 2:
            raise self.error(
                f"'edges' must be an (E, 2) dataset of node names; got {describe(value)}",
                graph.path,
                "edges",
            )
        if value.dtype.kind in "iu":
            return self._integer_edges(value, graph)
        if value.dtype != object:
            raise self.error(
                f"'edges' must hold node names; got {describe(value)}", graph.path, "edges"
            )
        return [(str(source), str(destination)) for source, destination in value]

    def _integer_edges(self, value: np.ndarray, graph: GraphRecord) -> list[tuple[str, str]]:
        """Map the index pairs that nir 0.0.x wrote to the numerically sorted node names."""
        names = list(graph.nodes)
        if not all(name.isdigit() for name in names):
            raise self.error(
                "'edges' contains integer indices, which only nir 0.0.x files use, but the node "
                f"names are not all numbers ({', '.join(names)}); write the edges as node names",
                graph.path,
                "edges",
            )
        names.sort(key=int)
        if value.min() < 0 or value.max() >= len(names):
            raise self.error(
                f"'edges' contains the index {int(value.max())}, but the graph has only "
                f"{len(names)} nodes",
                graph.path,
                "edges",
            )
        return [(names[source], names[destination]) for source, destination in value.tolist()]

    # -- metadata ---------------------------------------------------------------------

    def _read_metadata(self, members: Members, path: tuple[str, ...]) -> DictionaryAttr | None:
        if "metadata" not in members:
            return None
        item = members["metadata"]
        if not isinstance(item, self.groups):
            raise self.error("'metadata' must be a group of datasets", path, "metadata")
        metadata = self._metadata_group(item, path, "metadata", {})
        return metadata if metadata.data else None

    def _metadata_group(
        self,
        group_id: GroupID,
        path: tuple[str, ...],
        prefix: str,
        open_groups: dict[h5py.h5g.GroupID, str],
    ) -> DictionaryAttr:
        """Read a metadata group; ``open_groups`` maps each enclosing group to its field."""
        if group_id in open_groups:
            raise self.error(
                f"metadata group '{prefix}' contains itself: it is a hard link to "
                f"'{open_groups[group_id]}', which contains it",
                path,
                prefix,
            )
        if len(open_groups) >= MAX_NESTING_DEPTH:
            raise self.error(
                f"metadata group '{prefix}' is nested deeper than the limit of "
                f"{MAX_NESTING_DEPTH} groups",
                path,
                prefix,
            )
        open_groups[group_id] = prefix
        entries: dict[str, Attribute] = {}
        members = self._members(group_id, path)
        # Sorted like HDF5 orders names, so the result does not depend on how the
        # writer tracked creation order.
        for key in sorted(members):
            item = members[key]
            field = f"{prefix}/{key}"
            if isinstance(item, self.groups):
                entries[key] = self._metadata_group(item, path, field, open_groups)
            elif isinstance(item, self.datasets):
                entries[key] = self._metadata_value(item, path, field)
            else:
                raise self.error(
                    f"metadata entry '{field}' is an HDF5 named datatype, not a dataset or group; metadata "
                    "holds datasets and nested groups, so write the value as a dataset",
                    path,
                    field,
                )
        del open_groups[group_id]
        return DictionaryAttr(entries)

    def _metadata_value(self, dataset: DatasetID, path: tuple[str, ...], field: str) -> Attribute:
        value = self._value(dataset, path, field)
        if isinstance(value, np.ndarray):
            self._check_float_width(path, field, value.dtype)
        if isinstance(value, str):
            return StringAttr(value)
        if isinstance(value, np.ndarray) and value.dtype == object:
            return string_array_attr(value.tolist())
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            if value.ndim == 0:
                return scalar_attr(value)
            if value.dtype.kind == "b":
                return bool_dense(value)
            return dense_from_numpy(value)
        raise self.error(
            f"metadata entry '{field}' has an unsupported type ({describe(value)}); metadata "
            "holds strings, numbers, booleans, numeric arrays, string lists and nested groups",
            path,
            field,
        )

    # -- verification -----------------------------------------------------------------

    def verify(self) -> None:
        """Verify the graphs that this reader built, and turn a VerifyException into a
        DiagnosticError located at the node, field or edges at fault.

        Only the ops' own rules run (`verify_node`, `verify_graph`). The reader builds every
        op in the form its definition requires, and xDSL's generic checks of that form would
        double the time. The tests run them on every imported file.
        """
        for symbol, graph_op in self.graph_ops.items():
            path = self.graph_paths[symbol]
            for op in graph_op.body.block.ops:
                try:
                    op.verify_node(op.params())
                except VerifyException as error:
                    field = _field_in_message(op, str(error))
                    raise self.error(str(error), path + (op.node_name.data,), field) from error
            try:
                graph_op.verify_graph()
            except VerifyException as error:
                raise self.error(str(error), path, "edges") from error


_QUOTED_FIELD = re.compile(r"'(\w+)'")


def _field_in_message(op: NIRNodeOp, message: str) -> str | None:
    """Return the parameter that a node verifier's message names first, if any.

    The nir verifiers write ``'nir.lif' op node 'lif': 'tau' contains nan ...``.
    """
    match = _QUOTED_FIELD.match(message.removeprefix(f"{op.label}: "))
    if match is None or match.group(1) not in op.PARAMS:
        return None
    return match.group(1)


def _fill_defaults(node: NodeRecord) -> None:
    """Apply nir 1.0.8's defaults for the optional neuron fields.

    The defaults are zero-strided views, because the base parameter may still be a
    placeholder (see `_FileReader._tensor`); building the op copies them out.
    """
    params = node.params
    if node.nir_type in ("IF", "LIF", "CubaLIF") and "v_reset" not in params:
        base = params["v_threshold"]
        params["v_reset"] = np.broadcast_to(np.zeros((), base.dtype), base.shape)
    if node.nir_type in ("CubaLI", "CubaLIF") and "w_in" not in params:
        # nir computes ones_like(base) * 1.0: the base dtype if float, else float64.
        base = params["v_threshold" if node.nir_type == "CubaLIF" else "v_leak"]
        dtype = base.dtype if base.dtype.kind == "f" else np.dtype(np.float64)
        params["w_in"] = np.broadcast_to(np.ones((), dtype), base.shape)


# --------------------------------------------------------------------------------------
# Building ops
# --------------------------------------------------------------------------------------


SHARED_ATTRIBUTE_BYTES = 64
"""Dense parameters of at most this many bytes are built once per import and shared by
every node with the same dtype, shape and values (attributes are immutable)."""


class _AttributeBuilder:
    """Builder of the property attributes of one import, which shares equal small ones.

    Graphs of many small nodes repeat a few tensor types and often the same values
    (zero resets, unit resistances), and building and verifying an xDSL attribute costs
    more than looking it up.
    """

    def __init__(self) -> None:
        self.tensor_types: dict[tuple[str, tuple[int, ...]], TensorType] = {}
        self.small_dense: dict[tuple[str, tuple[int, ...], bytes], DenseIntOrFPElementsAttr] = {}
        # Integer tuples, strings and ints (kernel sizes, paddings, shapes), keyed by type and value.
        self.others: dict[tuple[type, object], Attribute] = {}

    def property(self, value: ParamValue) -> Attribute:
        if isinstance(value, np.ndarray):
            return self.dense(value)
        key = (type(value), value)
        attr = self.others.get(key)
        if attr is None:
            if isinstance(value, tuple):
                attr = i64_array(value)
            elif isinstance(value, str):
                attr = StringAttr(value)
            else:
                attr = IntegerAttr(value, i64)
            self.others[key] = attr
        return attr

    def tensor_type(self, dtype: np.dtype, shape: tuple[int, ...]) -> TensorType:
        key = (dtype.str, tuple(shape))
        tensor_type = self.tensor_types.get(key)
        if tensor_type is None:
            tensor_type = self.tensor_types[key] = TensorType(element_type_for(dtype), shape)
        return tensor_type

    def dense(self, value: np.ndarray) -> DenseIntOrFPElementsAttr:
        data = bytes_backing(value)
        if data is None:
            if value.dtype.kind == "b" or value.dtype.byteorder == ">":
                return dense_from_numpy(value)
            data = np.ascontiguousarray(value).tobytes()
        key = (value.dtype.str, value.shape, data) if len(data) <= SHARED_ATTRIBUTE_BYTES else None
        if key is not None and key in self.small_dense:
            return self.small_dense[key]
        # Bytes read straight from the file are wrapped without a copy.
        attr = DenseIntOrFPElementsAttr(self.tensor_type(value.dtype, value.shape), BytesAttr(data))
        if key is not None:
            self.small_dense[key] = attr
        return attr


def _build_graph_op(graph: GraphRecord, symbol: str, builder: _AttributeBuilder) -> GraphOp:
    block = Block()
    ops: dict[str, NIRNodeOp] = {}
    for name in op_order(graph):
        node = graph.nodes[name]
        op_class = node.op_class
        properties = {
            param: builder.property(node.params[param]) for param in op_class.PARAMS if param in node.params
        }
        if node.graph_symbol is not None:
            properties["graph"] = SymbolRefAttr(node.graph_symbol)
        result_type = None if node.nir_type == "Output" else builder.tensor_type(np.dtype("<f4"), node.output_shape)
        op = make_node(op_class, name, [], result_type, properties, node.metadata)
        if op.results and SSAValue.is_valid_name(name):
            op.results[0].name_hint = name
        block.add_op(op)
        ops[name] = op

    operands: dict[str, list[SSAValue]] = {name: [] for name in ops}
    for source, destination in graph.edges:
        operands[destination].append(ops[source].results[0])
    for name, op in ops.items():
        op.operands = operands[name]

    attributes = {"metadata": graph.metadata} if graph.metadata is not None else {}
    return GraphOp.create(
        properties={"sym_name": StringAttr(symbol)},
        attributes=attributes,
        regions=[Region(block)],
    )
