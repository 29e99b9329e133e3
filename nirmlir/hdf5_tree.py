"""Parse the HDF5 files that `nir.write` and nirmlir write, without libhdf5.

Reading a graph of many small nodes through libhdf5 costs about 0.3 ms per node in library
calls alone, because every node is a group of several datasets and each HDF5 object is
opened, queried and closed. These files use a small part of the HDF5 format, which h5py
writes with its default settings (HDF5 file format specification 3.0):
- superblock version 0 or 1 at the start of the file, 8-byte addresses and lengths;
- version 1 object headers, with continuation blocks;
- groups as symbol tables: a version 1 B-tree of symbol nodes, names in a local heap;
- datasets of little-endian IEEE floats or two's-complement integers, stored compact,
  contiguous or in chunks indexed by a version 1 B-tree, with the deflate and shuffle
  filters, and contiguous datasets of variable-length strings (in global heaps).

`read_tree` parses the whole group tree at once and raises `OutsideSubset` for anything
else: another layout or datatype, soft and external links, an object linked twice, a
structure that does not fit the file. The importer then reads the file with h5py, so
unusual and damaged files keep libhdf5's behaviour and the diagnostics built on it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from nirmlir.hdf5_raw import (
    PARALLEL_INFLATE_BYTES,
    OversizedDataError,
    inflate,
    usable_cores,
)

SIGNATURE = b"\x89HDF\r\n\x1a\n"
UNDEFINED_ADDRESS = 0xFFFF_FFFF_FFFF_FFFF

WINDOW_BYTES = 64 * 1024
"""Bytes read at once for the file's small structures: object headers, B-tree nodes and
heaps lie close together, so most of them come from the last read."""

# The B-tree 'K' values that h5py writes (HDF5's defaults): a symbol table node holds up to
# 2 * 4 links, a group B-tree node up to 2 * 16 children, a chunk B-tree node up to 2 * 32.
# libhdf5 reads each node at the full size these give, so the nodes are checked at it too.
GROUP_LEAF_K = 4
GROUP_INTERNAL_K = 16
CHUNK_K = 32

MAX_DEPTH = 512
"""Groups and B-tree levels nested deeper than this are left to libhdf5."""

# Object header message types (HDF5 file format specification, section IV.A.2).
_NIL = 0x0000
_DATASPACE = 0x0001
_DATATYPE = 0x0003
_LAYOUT = 0x0008
_FILTER_PIPELINE = 0x000B
_CONTINUATION = 0x0010
_SYMBOL_TABLE = 0x0011
# Messages that do not change how the importer reads an object: fill values (every
# element is stored), attributes (NIR data are datasets), modification times, comments,
# attribute info and reference counts.
_IGNORED_MESSAGES = {0x0004, 0x0005, 0x000C, 0x000D, 0x000E, 0x0012, 0x0015, 0x0016}
_SHARED_MESSAGE_FLAG = 0x02

_DEFLATE = 1
_SHUFFLE = 2

_LAYOUT_COMPACT = 0
_LAYOUT_CONTIGUOUS = 1
_LAYOUT_CHUNKED = 2

# A variable-length string element: length, global heap collection address, object index.
_VLEN_REFERENCE = struct.Struct("<IQI")

# The class bit fields, sizes and properties of IEEE little-endian floats as HDF5 encodes
# them: mantissa normalised with an implied bit, sign bit at the top, then bit offset,
# precision, exponent location and size, mantissa location and size, exponent bias.
_IEEE_FLOATS = {
    (b"\x20\x0f\x00", 2, (0, 16, 10, 5, 0, 10, 15)): np.dtype("<f2"),
    (b"\x20\x1f\x00", 4, (0, 32, 23, 8, 0, 23, 127)): np.dtype("<f4"),
    (b"\x20\x3f\x00", 8, (0, 64, 52, 11, 0, 52, 1023)): np.dtype("<f8"),
}
_FLOAT_PROPERTIES = struct.Struct("<HHBBBBI")


class OutsideSubset(Exception):
    """The file uses an HDF5 feature or value that `read_tree` leaves to libhdf5."""


class _File:
    """The file's bytes, read through a window that holds the last region read, and the
    global heap collections read so far by address."""

    __slots__ = ("descriptions", "heaps", "read_raw", "size", "window", "window_start")

    def __init__(self, read_raw: Callable[[int, int], bytes], size: int):
        self.read_raw = read_raw
        self.size = size
        self.window = b""
        self.window_start = 0
        # The strings of many datasets share a collection, which is walked once.
        self.heaps: dict[int, dict[int, bytes]] = {}
        # Datasets of one file mostly repeat a few dataspace, datatype and filter messages,
        # so each combination is parsed once: its shape, dtype and filter codes by the bytes.
        self.descriptions: dict[tuple[bytes, bytes, bytes], tuple[tuple[int, ...], np.dtype | None, tuple[int, ...]]] = {}

    def view(self, address: int, length: int) -> tuple[bytes, int]:
        """Return a buffer and the position in it of the ``length`` bytes at ``address``."""
        if address + length > self.size or length < 0:
            raise OutsideSubset(f"{length} bytes at address {address} lie beyond the end of the file")
        position = address - self.window_start
        if position >= 0 and position + length <= len(self.window):
            return self.window, position
        if length > WINDOW_BYTES:
            return self.read(address, length), 0
        self.window = self.read_raw(address, min(WINDOW_BYTES, self.size - address))
        self.window_start = address
        if len(self.window) < length:
            raise OutsideSubset(f"the file ended while reading address {address}")
        return self.window, 0

    def read(self, address: int, length: int) -> bytes:
        """Return a copy of the ``length`` bytes at ``address``."""
        position = address - self.window_start
        if position >= 0 and position + length <= len(self.window):
            return self.window[position : position + length]
        if address + length > self.size:
            raise OutsideSubset(f"{length} bytes at address {address} lie beyond the end of the file")
        data = self.read_raw(address, length)
        if len(data) != length:
            raise OutsideSubset(f"the file ended while reading address {address}")
        return data


class TreeGroup:
    """An HDF5 group: its members by name, in HDF5's name order."""

    __slots__ = ("address", "members")

    def __init__(self, address: int, members: dict[str, TreeGroup | TreeDataset]):
        self.address = address
        self.members = members


@dataclass(slots=True, eq=False)
class TreeDataset:
    """An HDF5 dataset of numbers or variable-length strings, and where its data are stored.

    ``dtype`` is None for strings. ``layout`` is one of the `_LAYOUT_*` codes. A compact
    dataset keeps its data in ``compact``; the others start at ``address``, which is the
    chunk B-tree of a chunked dataset.
    """

    file: _File
    dtype: np.dtype | None
    shape: tuple[int, ...]
    layout: int
    address: int
    compact: bytes | None = None
    chunk_shape: tuple[int, ...] = ()
    chunk_count: int = 0
    filters: tuple[int, ...] = ()

    @property
    def is_string(self) -> bool:
        return self.dtype is None

    def array(self) -> np.ndarray:
        """Read the numbers into an array; raise `OutsideSubset` for data that do not decode."""
        if self.layout == _LAYOUT_CHUNKED:
            pieces = [(offset, self._decode(raw, mask)) for offset, raw, mask in self.raw_chunks()]
            return self.assemble(pieces)
        return np.frombuffer(self._stored_bytes(), dtype=self.dtype).reshape(self.shape)

    def strings(self) -> str | np.ndarray:
        """Read the strings as UTF-8: a `str` for a scalar, else an object array of `str`.

        Raises UnicodeDecodeError for bytes that are not UTF-8, whatever character set the
        file declares, as the h5py path does.
        """
        data = self._stored_bytes()
        count = len(data) // _VLEN_REFERENCE.size
        heaps = self.file.heaps
        values = []
        for index in range(count):
            length, collection, object_index = _VLEN_REFERENCE.unpack_from(data, index * _VLEN_REFERENCE.size)
            objects = heaps.get(collection)
            if objects is None:
                objects = heaps[collection] = _global_heap(self.file, collection)
            stored = objects.get(object_index)
            if stored is None or len(stored) < length:
                raise OutsideSubset(f"string object {object_index} is missing from its global heap")
            values.append(stored[:length].decode("utf-8"))
        if not self.shape:
            return values[0]
        array = np.empty(count, dtype=object)
        array[:] = values
        return array.reshape(self.shape)

    @property
    def nbytes(self) -> int:
        return (self.dtype.itemsize if self.dtype is not None else _VLEN_REFERENCE.size) * math.prod(self.shape)

    def _stored_bytes(self) -> bytes:
        size = self.nbytes
        if self.layout == _LAYOUT_COMPACT:
            return self.compact
        if size == 0:
            return b""
        return self.file.read(self.address, size)

    def raw_chunks(self) -> list[tuple[tuple[int, ...], bytes, int]]:
        """Return each chunk's offset, stored bytes and filter mask, after checking that the
        chunks tile the dataset once each."""
        entries: list[tuple[tuple[int, ...], int, int, int]] = []
        _chunk_entries(self.file, self.address, len(self.shape) + 1, entries, 0)
        expected = self.chunk_count
        if expected == 1 and len(entries) == 1 and not any(entries[0][0]):
            # One chunk at the origin, as nir.write stores small arrays.
            offset, size, mask, address = entries[0]
            return [(offset, self.file.read(address, size), mask)]
        offsets = {entry[0] for entry in entries}
        if len(entries) != expected or len(offsets) != expected:
            raise OutsideSubset(f"{len(entries)} chunks where {expected} tile the dataset")
        for offset, _, _, _ in entries:
            if any(start % step or start >= size for start, step, size in zip(offset, self.chunk_shape, self.shape)):
                raise OutsideSubset(f"chunk offset {offset} is not on the chunk grid")
        return [(offset, self.file.read(address, size), mask) for offset, size, mask, address in entries]

    def _decode(self, raw: bytes, mask: int) -> bytes:
        """Undo the filters of one chunk, last applied first; bit i of ``mask`` skips filter i."""
        size = self.dtype.itemsize * math.prod(self.chunk_shape)
        data = raw
        for index in range(len(self.filters) - 1, -1, -1):
            if mask >> index & 1:
                continue
            if self.filters[index] == _DEFLATE:
                try:
                    data = inflate(data, size)
                except OversizedDataError:
                    data = None
                if data is None:
                    raise OutsideSubset("a chunk does not inflate to its declared size")
            else:
                data = _unshuffle(data, self.dtype.itemsize)
        if len(data) != size:
            raise OutsideSubset(f"a chunk holds {len(data)} bytes instead of {size}")
        return data

    def assemble(self, pieces: list[tuple[tuple[int, ...], bytes]]) -> np.ndarray:
        """Place decoded chunks into the array, cutting those that extend past its edges."""
        if len(pieces) == 1 and self.chunk_shape == self.shape:
            return np.frombuffer(pieces[0][1], dtype=self.dtype).reshape(self.shape)
        array = np.empty(self.shape, dtype=self.dtype)
        for offset, data in pieces:
            chunk = np.frombuffer(data, dtype=self.dtype).reshape(self.chunk_shape)
            target = tuple(
                slice(start, min(start + step, size)) for start, step, size in zip(offset, self.chunk_shape, self.shape)
            )
            array[target] = chunk[tuple(slice(0, part.stop - part.start) for part in target)]
        return array


def _unshuffle(data: bytes, itemsize: int) -> bytes:
    """Undo HDF5's shuffle filter, which stores byte 0 of every element, then byte 1, and so on."""
    count = len(data) // itemsize
    if itemsize == 1 or count < 2:
        return data
    whole = np.frombuffer(data, dtype=np.uint8, count=count * itemsize)
    return whole.reshape(itemsize, count).T.tobytes() + data[count * itemsize :]


# --------------------------------------------------------------------------------------
# The group tree
# --------------------------------------------------------------------------------------


def read_tree(read_raw: Callable[[int, int], bytes], size: int) -> TreeGroup:
    """Parse the root group of a file of ``size`` bytes and everything below it.

    ``read_raw(offset, length)`` returns the file's bytes. Raises `OutsideSubset` when the
    file is not one that this reader parses (see the module docstring).
    """
    file = _File(read_raw, size)
    head, position = file.view(0, 24)
    if head[position : position + 8] != SIGNATURE:
        raise OutsideSubset("the superblock is not at the start of the file")
    version, offset_size, length_size = head[position + 8], head[position + 13], head[position + 14]
    if version not in (0, 1) or (offset_size, length_size) != (8, 8):
        raise OutsideSubset(f"superblock version {version} with {offset_size}-byte addresses")
    leaf_k, internal_k = struct.unpack_from("<HH", head, position + 16)
    if (leaf_k, internal_k) != (GROUP_LEAF_K, GROUP_INTERNAL_K):
        raise OutsideSubset(f"group B-tree K values {leaf_k} and {internal_k}")
    start = 24
    if version == 1:
        buffer, position = file.view(24, 4)
        if struct.unpack_from("<H", buffer, position)[0] != CHUNK_K:
            raise OutsideSubset("a chunk B-tree K value other than HDF5's default")
        start = 28
    buffer, position = file.view(start, 32 + 40)
    base, _, end_of_file, driver_info = struct.unpack_from("<QQQQ", buffer, position)
    if base != 0 or driver_info != UNDEFINED_ADDRESS:
        raise OutsideSubset("the file has a base address or driver information")
    if end_of_file > size:
        raise OutsideSubset("the file is shorter than its superblock declares")
    root_address = struct.unpack_from("<Q", buffer, position + 32 + 8)[0]
    root = _read_object(file, root_address, set(), 0)
    if not isinstance(root, TreeGroup):
        raise OutsideSubset("the root object is not a group")
    return root


def _read_object(file: _File, address: int, seen: set[int], depth: int) -> TreeGroup | TreeDataset:
    if address in seen:
        raise OutsideSubset(f"the object at address {address} is linked more than once")
    if depth > MAX_DEPTH:
        raise OutsideSubset("groups nest too deep")
    seen.add(address)
    messages = _header_messages(file, address)
    symbol_table = messages.get(_SYMBOL_TABLE)
    if symbol_table is not None:
        if len(messages) != 1:
            raise OutsideSubset("an object is both a group and a dataset")
        if len(symbol_table) < 16:
            raise OutsideSubset("a symbol table message is too short")
        btree, heap = _TWO_ADDRESSES.unpack_from(symbol_table)
        members: dict[str, TreeGroup | TreeDataset] = {}
        for name, child in _group_links(file, btree, heap):
            members[name] = _read_object(file, child, seen, depth + 1)
        return TreeGroup(address, members)
    if _DATASPACE not in messages or _DATATYPE not in messages or _LAYOUT not in messages:
        raise OutsideSubset("an object is neither a group nor a dataset")
    return _dataset(file, messages)


_OBJECT_HEADER = struct.Struct("<BBHII")
_MESSAGE_HEADER = struct.Struct("<HHB")
_TWO_ADDRESSES = struct.Struct("<QQ")
_READ_MESSAGES = frozenset((_DATASPACE, _DATATYPE, _LAYOUT, _FILTER_PIPELINE, _SYMBOL_TABLE))


def _header_messages(file: _File, address: int) -> dict[int, bytes]:
    """Return the data of the messages of a version 1 object header by type."""
    buffer, position = file.view(address, 16)
    version, _, count, _, header_size = _OBJECT_HEADER.unpack_from(buffer, position)
    if version != 1:
        raise OutsideSubset(f"object header version {version}")
    messages: dict[int, bytes] = {}
    blocks = [(address + 16, header_size)]
    seen = 0
    while blocks:
        block_address, block_size = blocks.pop()
        buffer, position = file.view(block_address, block_size)
        end = position + block_size
        while position + 8 <= end:
            kind, length, flags = _MESSAGE_HEADER.unpack_from(buffer, position)
            position += 8
            seen += 1
            if position + length > end or seen > count:
                raise OutsideSubset("an object header message does not fit its header")
            if flags & _SHARED_MESSAGE_FLAG:
                raise OutsideSubset("a shared object header message")
            if kind == _CONTINUATION:
                if length < 16:
                    raise OutsideSubset("a continuation message is too short")
                blocks.append(_TWO_ADDRESSES.unpack_from(buffer, position))
            elif kind in messages:
                raise OutsideSubset(f"message type {kind} appears twice")
            elif kind in _READ_MESSAGES:
                messages[kind] = buffer[position : position + length]
            elif kind != _NIL and kind not in _IGNORED_MESSAGES:
                raise OutsideSubset(f"object header message type {kind}")
            position += length
    return messages


def _group_links(file: _File, btree: int, heap: int) -> list[tuple[str, int]]:
    """Return the name and object header address of each link of a symbol table group."""
    buffer, position = file.view(heap, 32)
    signature, version, heap_size, _, heap_data = struct.unpack_from("<4sBxxxQQQ", buffer, position)
    if signature != b"HEAP" or version != 0:
        raise OutsideSubset("a group's local heap is invalid")
    names = file.read(heap_data, heap_size)
    entries: list[tuple[int, int, int]] = []
    _symbol_entries(file, btree, entries, 0)
    links = []
    previous = b""
    for name_offset, header, cache_type in entries:
        if cache_type == 2:
            raise OutsideSubset("a soft link")
        end = names.find(b"\0", name_offset)
        if name_offset >= len(names) or end <= name_offset:
            raise OutsideSubset("a link name lies outside its local heap")
        raw_name = names[name_offset:end]
        # The B-tree orders names by their bytes, which HDF5's iteration follows.
        if raw_name <= previous:
            raise OutsideSubset("the link names are not in order")
        previous = raw_name
        try:
            links.append((raw_name.decode("utf-8"), header))
        except UnicodeDecodeError:
            raise OutsideSubset("a link name is not UTF-8") from None
    return links


def _symbol_entries(file: _File, address: int, entries: list[tuple[int, int, int]], depth: int) -> None:
    """Collect the symbol table entries below a group B-tree node: name offset, header, cache type."""
    if depth > MAX_DEPTH:
        raise OutsideSubset("a group B-tree nests too deep")
    buffer, position = file.view(address, 24 + 2 * GROUP_INTERNAL_K * 16 + 8)
    signature, node_type, level, used = struct.unpack_from("<4sBBH", buffer, position)
    if signature != b"TREE" or node_type != 0 or used > 2 * GROUP_INTERNAL_K:
        raise OutsideSubset("a group B-tree node is invalid")
    position += 24
    children = struct.unpack_from(f"<{2 * used + 1}Q", buffer, position)[1::2]
    for child in children:
        if level:
            _symbol_entries(file, child, entries, depth + 1)
            continue
        buffer, position = file.view(child, 8 + 2 * GROUP_LEAF_K * 40)
        signature, version, count = struct.unpack_from("<4sBxH", buffer, position)
        if signature != b"SNOD" or version != 1 or count > 2 * GROUP_LEAF_K:
            raise OutsideSubset("a symbol table node is invalid")
        for index in range(count):
            entries.append(struct.unpack_from("<QQI", buffer, position + 8 + 40 * index))


# A chunk B-tree key by rank plus one: chunk size, filter mask, offset per axis and element.
_CHUNK_KEYS: dict[int, struct.Struct] = {}


def _chunk_entries(
    file: _File, address: int, key_rank: int, entries: list[tuple[tuple[int, ...], int, int, int]], depth: int
) -> None:
    """Collect the chunks below a chunk B-tree node: offset, stored size, filter mask, address."""
    if depth > MAX_DEPTH:
        raise OutsideSubset("a chunk B-tree nests too deep")
    key = _CHUNK_KEYS.get(key_rank)
    if key is None:
        key = _CHUNK_KEYS[key_rank] = struct.Struct(f"<II{key_rank}Q")
    step = key.size + 8
    buffer, position = file.view(address, 24 + 2 * CHUNK_K * step + key.size)
    signature, node_type, level, used = struct.unpack_from("<4sBBH", buffer, position)
    if signature != b"TREE" or node_type != 1 or used > 2 * CHUNK_K:
        raise OutsideSubset("a chunk B-tree node is invalid")
    position += 24
    for index in range(used):
        size, mask, *offset = key.unpack_from(buffer, position + index * step)
        child = struct.unpack_from("<Q", buffer, position + index * step + key.size)[0]
        if level:
            _chunk_entries(file, child, key_rank, entries, depth + 1)
        elif offset[-1] != 0:
            raise OutsideSubset("a chunk key has a non-zero element offset")
        else:
            entries.append((tuple(offset[:-1]), size, mask, child))


def _global_heap(file: _File, address: int) -> dict[int, bytes]:
    """Return the objects of a global heap collection by index, walked within its bounds."""
    buffer, position = file.view(address, 16)
    signature, version, size = struct.unpack_from("<4sBxxxQ", buffer, position)
    if signature != b"GCOL" or version != 1 or size < 16:
        raise OutsideSubset("a global heap collection is invalid")
    data = file.read(address, size)
    objects: dict[int, bytes] = {}
    position = 16
    # Walk every object as libhdf5 does (a damaged walk can make it loop forever): free
    # space has index 0 and a size that counts its own header, any other object is a
    # header plus its data padded to 8 bytes.
    while position + 16 <= size:
        index, _, object_size = struct.unpack_from("<HHxxxxQ", data, position)
        step = object_size if index == 0 else 16 + (object_size + 7) // 8 * 8
        if step < 16 or position + step > size:
            raise OutsideSubset("a global heap object does not fit its collection")
        if index:
            objects[index] = data[position + 16 : position + 16 + object_size]
        position += step
    return objects


# --------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------


def _dataset(file: _File, messages: dict[int, bytes]) -> TreeDataset:
    filter_message = messages.get(_FILTER_PIPELINE, b"")
    key = (messages[_DATASPACE], messages[_DATATYPE], filter_message)
    description = file.descriptions.get(key)
    if description is None:
        shape = _dataspace(messages[_DATASPACE])
        dtype = _datatype(messages[_DATATYPE])
        filters = _filters(filter_message) if filter_message else ()
        description = file.descriptions[key] = (shape, dtype, filters)
    shape, dtype, filters = description
    layout_message = messages[_LAYOUT]
    if len(layout_message) < 4 or layout_message[0] != 3:
        raise OutsideSubset(f"data layout message version {layout_message[0] if layout_message else None}")
    layout = layout_message[1]
    dataset = TreeDataset(file, dtype, shape, layout, UNDEFINED_ADDRESS, filters=filters)
    size = dataset.nbytes
    if dtype is None and layout != _LAYOUT_CONTIGUOUS:
        # The h5py path rejects strings stored otherwise, so both paths accept the same files.
        raise OutsideSubset("variable-length strings that are not stored contiguously")
    if layout == _LAYOUT_COMPACT:
        stored = _SIZE_16.unpack_from(layout_message, 2)[0]
        if stored != size or 4 + stored > len(layout_message):
            raise OutsideSubset("compact data of another size than the dataset")
        dataset.compact = layout_message[4 : 4 + stored]
    elif layout == _LAYOUT_CONTIGUOUS and len(layout_message) >= 18:
        dataset.address, stored = _TWO_ADDRESSES.unpack_from(layout_message, 2)
        if stored != size or (size and dataset.address == UNDEFINED_ADDRESS):
            raise OutsideSubset("contiguous data of another size than the dataset, or not written")
    elif layout == _LAYOUT_CHUNKED and dtype is not None and shape:
        key_rank = layout_message[2]
        if key_rank != len(shape) + 1 or 11 + 4 * key_rank > len(layout_message):
            raise OutsideSubset("chunk dimensions of another rank than the dataset")
        dataset.address = _ADDRESS.unpack_from(layout_message, 3)[0]
        *chunk_shape, element_size = struct.unpack_from(f"<{key_rank}I", layout_message, 11)
        if element_size != dtype.itemsize or min(chunk_shape) < 1 or dataset.address == UNDEFINED_ADDRESS:
            raise OutsideSubset("a chunk shape does not match the dataset")
        dataset.chunk_shape = tuple(chunk_shape)
        dataset.chunk_count = math.prod(-(-size // step) for size, step in zip(shape, chunk_shape))
    else:
        raise OutsideSubset(f"data layout class {layout} for this dataset")
    if filters and layout != _LAYOUT_CHUNKED:
        raise OutsideSubset("filters on data that are not chunked")
    return dataset


_SIZE_16 = struct.Struct("<H")
_ADDRESS = struct.Struct("<Q")


def _dataspace(message: bytes) -> tuple[int, ...]:
    if len(message) < 4:
        raise OutsideSubset("a dataspace message is too short")
    buffer, position, length = message, 0, len(message)
    version, rank = buffer[position], buffer[position + 1]
    if version == 1:
        dimensions = position + 8
    elif version == 2:
        if buffer[position + 3] not in (0, 1):
            raise OutsideSubset("a null dataspace")
        dimensions = position + 4
    else:
        raise OutsideSubset(f"dataspace message version {version}")
    if rank > 32 or dimensions - position + 8 * rank > length:
        raise OutsideSubset("a dataspace message does not fit")
    return struct.unpack_from(f"<{rank}Q", buffer, dimensions)


def _datatype(message: bytes) -> np.dtype | None:
    """Return the dtype of a number type, or None for a variable-length UTF-8 or ASCII string."""
    buffer, position, length = message, 0, len(message)
    if length < 8:
        raise OutsideSubset("a datatype message is too short")
    type_class, version = buffer[position] & 0x0F, buffer[position] >> 4
    bits = bytes(buffer[position + 1 : position + 4])
    size = struct.unpack_from("<I", buffer, position + 4)[0]
    if version not in (1, 2, 3):
        raise OutsideSubset(f"datatype message version {version}")
    if type_class == 0 and length >= 12:
        # Two's complement little-endian with no padding bits: only the signed bit may be set.
        bit_offset, precision = struct.unpack_from("<HH", buffer, position + 8)
        if bits[0] & ~0x08 or bits[1:] != b"\0\0" or size not in (1, 2, 4, 8):
            raise OutsideSubset("an integer type with padding or big-endian bytes")
        if bit_offset != 0 or precision != 8 * size:
            raise OutsideSubset("an integer type with a bit offset or fewer bits than its size")
        return np.dtype(f"<{'i' if bits[0] & 0x08 else 'u'}{size}")
    if type_class == 1 and length >= 8 + _FLOAT_PROPERTIES.size:
        properties = _FLOAT_PROPERTIES.unpack_from(buffer, position + 8)
        dtype = _IEEE_FLOATS.get((bits, size, properties))
        if dtype is None:
            raise OutsideSubset("a float type other than IEEE little-endian half, single or double")
        return dtype
    if type_class == 9 and length >= 16:
        # A variable-length string (type 1) of ASCII or UTF-8 characters over 1-byte integers.
        if bits[0] & 0x0F != 1 or bits[1] & 0x0F not in (0, 1) or size != _VLEN_REFERENCE.size:
            raise OutsideSubset("a variable-length type that is not a string")
        base_class, base_size = buffer[position + 8] & 0x0F, struct.unpack_from("<I", buffer, position + 12)[0]
        if base_class not in (0, 3) or base_size != 1:
            raise OutsideSubset("a variable-length string of characters wider than a byte")
        return None
    raise OutsideSubset(f"datatype class {type_class}")


def _filters(message: bytes) -> tuple[int, ...]:
    """Return the filter codes of a filter pipeline message: deflate and shuffle only."""
    buffer, position, length = message, 0, len(message)
    if length < 2:
        raise OutsideSubset("a filter pipeline message is too short")
    version, count = buffer[position], buffer[position + 1]
    end = position + length
    if version == 1:
        cursor = position + 8
    elif version == 2:
        cursor = position + 2
    else:
        raise OutsideSubset(f"filter pipeline message version {version}")
    codes = []
    for _ in range(count):
        if cursor + 8 > end:
            raise OutsideSubset("a filter pipeline message does not fit")
        code = struct.unpack_from("<H", buffer, cursor)[0]
        if code not in (_DEFLATE, _SHUFFLE):
            raise OutsideSubset(f"filter {code}")
        if version == 1:
            name_length, _, values = struct.unpack_from("<HHH", buffer, cursor + 2)
            cursor += 8 + name_length + 4 * values + 4 * (values % 2)
        else:
            # Filters below 256, the only ones read here, store no name in version 2.
            _, values = struct.unpack_from("<HH", buffer, cursor + 2)
            cursor += 6 + 4 * values
        codes.append(code)
    if cursor > end:
        raise OutsideSubset("a filter pipeline message does not fit")
    return tuple(codes)


# --------------------------------------------------------------------------------------
# Reading large datasets
# --------------------------------------------------------------------------------------


def read_tree_arrays(datasets: list[TreeDataset], on_read: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Read numeric datasets as `TreeDataset.array` does, inflating large chunks on a thread pool.

    The chunks are read from the file in order and decoded by the workers, because zlib
    releases the GIL. ``on_read(index)`` runs before each dataset is read, so that an error
    can name it.
    """
    workers = usable_cores()
    if workers == 1:
        return [_read_one(dataset, index, on_read) for index, dataset in enumerate(datasets)]
    arrays: list[np.ndarray | None] = [None] * len(datasets)
    with ThreadPoolExecutor(workers) as pool:
        pending = []
        for index, dataset in enumerate(datasets):
            if dataset.layout != _LAYOUT_CHUNKED or dataset.nbytes < PARALLEL_INFLATE_BYTES or not dataset.filters:
                arrays[index] = _read_one(dataset, index, on_read)
                continue
            if on_read is not None:
                on_read(index)
            futures = [(offset, pool.submit(dataset._decode, raw, mask)) for offset, raw, mask in dataset.raw_chunks()]
            pending.append((index, futures))
            # At most two datasets per worker wait in memory as compressed chunks.
            if len(pending) >= 2 * workers:
                _collect(pending.pop(0), datasets, arrays, on_read)
        for job in pending:
            _collect(job, datasets, arrays, on_read)
    return arrays


def _read_one(dataset: TreeDataset, index: int, on_read: Callable[[int], None] | None) -> np.ndarray:
    if on_read is not None:
        on_read(index)
    return dataset.array()


def _collect(job, datasets: list[TreeDataset], arrays: list, on_read: Callable[[int], None] | None) -> None:
    index, futures = job
    if on_read is not None:
        on_read(index)
    arrays[index] = datasets[index].assemble([(offset, future.result()) for offset, future in futures])
