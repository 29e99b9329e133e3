"""Parse the HDF5 files that `nir.write` and nirmlir write, without libhdf5.

Reading a graph of many small nodes through libhdf5 costs about 0.3 ms per node in library
calls alone, because every node is a group of several datasets and each HDF5 object is
opened, queried and closed. These files use a small part of the HDF5 format, which h5py
writes with its default settings:
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

import bisect
import functools
import math
import operator
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from nirmlir.hdf5_format import HDF5_SIGNATURE
from nirmlir.hdf5_raw import (
    PARALLEL_INFLATE_BYTES,
    ChunkedRead,
    DamagedCollectionError,
    OversizedDataError,
    collection_objects,
    inflate,
    place_chunks,
    read_on_pool,
)

UNDEFINED_ADDRESS = 0xFFFF_FFFF_FFFF_FFFF

WINDOW_BYTES = 64 * 1024
"""Bytes read at once for the file's small structures: object headers, B-tree nodes and
heaps lie close together, so most of them come from the last read."""

# The B-tree 'K' values that h5py writes (HDF5's defaults): a symbol table node contains up
# to 2 * 4 links, a group B-tree node up to 2 * 16 children, a chunk B-tree node up to 2 * 32.
# libhdf5 reads each node at the full size these give, so the nodes are checked at it too.
GROUP_LEAF_K = 4
GROUP_INTERNAL_K = 16
CHUNK_K = 32

MAX_GROUP_DEPTH = 256
"""Groups nested deeper than this are left to libhdf5 (the importer rejects graphs nested
more than 64 deep, which is about 130 groups)."""

MAX_BTREE_LEVEL = 32
"""B-trees deeper than this are left to libhdf5."""

# Object header message types, as numbered by the HDF5 file format specification.
_NIL = 0x0000
_DATASPACE = 0x0001
_DATATYPE = 0x0003
_LAYOUT = 0x0008
_FILTER_PIPELINE = 0x000B
_CONTINUATION = 0x0010
_SYMBOL_TABLE = 0x0011
# Messages that do not change how the importer reads an object: attributes (NIR data are
# datasets), the old modification time, comments, attribute info and reference counts.
_IGNORED_MESSAGES = {0x000C, 0x000D, 0x000E, 0x0015, 0x0016}
# Messages that do not change the values read either (every element is stored), but that
# libhdf5 decodes when it opens an object, so their fields are checked as it checks them.
_OLD_FILL_VALUE = 0x0004
_FILL_VALUE = 0x0005
_MODIFICATION_TIME = 0x0012
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
_VLEN_STRING_BASE = bytes.fromhex("10000000" "01000000" "00000800")


class OutsideSubset(Exception):
    """The file uses an HDF5 feature or value that `read_tree` leaves to libhdf5."""


class DamagedFile(OutsideSubset):
    """A B-tree that leads back into itself, which libhdf5 follows until it crashes or hangs.

    The importer reports it instead of reading the file with libhdf5.
    """


class _File:
    """The file's bytes, read through a window that contains the last region read, and what
    was parsed of them so far: global heap collections, header blocks, dataset descriptions
    and chunk grids."""

    __slots__ = (
        "chunk_grids",
        "descriptions",
        "header_blocks",
        "heap_ends",
        "heap_starts",
        "heaps",
        "read_raw",
        "size",
        "window",
        "window_start",
    )

    def __init__(self, read_raw: Callable[[int, int], bytes], size: int):
        self.read_raw = read_raw
        self.size = size
        self.window = b""
        self.window_start = 0
        # The strings of many datasets share a collection, which is walked once.
        self.heaps: dict[int, dict[int, bytes]] = {}
        # The byte ranges of those collections, sorted, which must not overlap.
        self.heap_starts: list[int] = []
        self.heap_ends: list[int] = []
        # The addresses of the object header blocks walked so far.
        self.header_blocks: set[int] = set()
        # Datasets of one file mostly repeat a few dataspace, datatype and filter messages,
        # so each combination is parsed once: its shape, dtype and filter codes by the bytes.
        self.descriptions: dict[tuple[bytes, bytes, bytes | None], tuple[tuple[int, ...], np.dtype | None, tuple[int, ...]]] = {}
        # The chunk grids of chunked datasets by chunk shape, element size and filters.
        self.chunk_grids: dict[tuple[tuple[int, ...], int, tuple[int, ...]], _ChunkGrid] = {}

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
        if address + length > self.size or length < 0:
            raise OutsideSubset(f"{length} bytes at address {address} lie beyond the end of the file")
        position = address - self.window_start
        if position >= 0 and position + length <= len(self.window):
            return self.window[position : position + length]
        data = self.read_raw(address, length)
        if len(data) != length:
            raise OutsideSubset(f"the file ended while reading address {address}")
        return data


class TreeGroup:
    """An HDF5 group: its members by name, in HDF5's name order."""

    __slots__ = ("address", "members", "symbol_table")

    def __init__(self, address: int, members: dict[str, TreeGroup | TreeDataset], symbol_table: tuple[int, int]):
        self.address = address
        self.members = members
        # The addresses of the group's B-tree and local heap.
        self.symbol_table = symbol_table


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
        try:
            return self._array()
        except _PARSE_ERRORS as error:
            raise OutsideSubset(f"the data do not parse: {error}") from None

    def _array(self) -> np.ndarray:
        if self.layout == _LAYOUT_CHUNKED:
            chunks = self.raw_chunks()
            return self.assemble(len(chunks), ((offset, self._decode(raw, mask)) for offset, raw, mask in chunks))
        return np.frombuffer(self._stored_bytes(), dtype=self.dtype).reshape(self.shape)

    def strings(self) -> str | np.ndarray:
        """Read the strings as UTF-8: a `str` for a scalar, else an object array of `str`.

        Raises UnicodeDecodeError for bytes that are not UTF-8, whatever character set the
        file declares, as the h5py path does.
        """
        try:
            return self._strings()
        except UnicodeDecodeError:
            raise
        except _PARSE_ERRORS as error:
            raise OutsideSubset(f"the strings do not parse: {error}") from None

    def _strings(self) -> str | np.ndarray:
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
            # libhdf5 rejects a reference whose length is not its heap object's size.
            if stored is None or len(stored) != length:
                raise OutsideSubset(f"string object {object_index} is missing from its global heap")
            # libhdf5 converts the strings to C strings, which end at the first NUL.
            end = stored.find(b"\0")
            values.append((stored if end < 0 else stored[:end]).decode("utf-8"))
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
        _ChunkWalk(self, entries).walk(self.address, None, None, None)
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
        # Every chunk is read before any is decoded, which `_ChunkWalk` allows by bounding
        # each chunk's stored size by its shape.
        return [(offset, self.file.read(address, size), mask) for offset, size, mask, address in entries]

    def _decode(self, raw: bytes, mask: int) -> bytes:
        """Undo the filters of one chunk, the last applied first. Bit i of ``mask`` skips filter i."""
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
            raise OutsideSubset(f"a chunk decodes to {len(data)} bytes, but its chunk shape gives {size}")
        return data

    def assemble(self, count: int, pieces: Iterator[tuple[tuple[int, ...], bytes]]) -> np.ndarray:
        """Build the array from ``count`` decoded chunks (see `place_chunks`)."""
        return place_chunks(self.dtype, self.shape, self.chunk_shape, count, pieces)


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


# Exceptions that struct, numpy and zlib raise for a structure that ends before its fields
# or for fields with impossible values. The parser checks what it relies on, and these
# catch the rest.
_PARSE_ERRORS = (struct.error, IndexError, OverflowError, ValueError, RecursionError)


def read_tree(read_raw: Callable[[int, int], bytes], size: int) -> TreeGroup:
    """Parse the root group of a file of ``size`` bytes and everything below it.

    ``read_raw(offset, length)`` returns the file's bytes. Raises `OutsideSubset` when the
    file is not one that this reader parses (see the module docstring).
    """
    try:
        return _read_root(_File(read_raw, size))
    except _PARSE_ERRORS as error:
        raise OutsideSubset(f"a structure does not parse: {error}") from None


def _read_root(file: _File) -> TreeGroup:
    size = file.size
    head, position = file.view(0, 24)
    if head[position : position + 8] != HDF5_SIGNATURE:
        raise OutsideSubset("the superblock is not at the start of the file")
    version, offset_size, length_size = head[position + 8], head[position + 13], head[position + 14]
    if version not in (0, 1) or (offset_size, length_size) != (8, 8):
        raise OutsideSubset(f"superblock version {version} with {offset_size}-byte addresses")

    # The versions of the free-space storage, the root symbol table entry and the shared
    # header message format, which libhdf5 checks.
    if (head[position + 9], head[position + 10], head[position + 12]) != (0, 0, 0):
        raise OutsideSubset("a superblock part of a version other than 0")
    leaf_k, internal_k, flags = struct.unpack_from("<HHI", head, position + 16)
    # The file consistency flags that libhdf5 accepts: written, locked, and written for SWMR.
    if flags > 7:
        raise OutsideSubset(f"superblock file consistency flags {flags:#x}")
    if (leaf_k, internal_k) != (GROUP_LEAF_K, GROUP_INTERNAL_K):
        raise OutsideSubset(f"group B-tree K values {leaf_k} and {internal_k}")

    start = 24
    if version == 1:
        buffer, position = file.view(24, 4)
        if struct.unpack_from("<H", buffer, position)[0] != CHUNK_K:
            raise OutsideSubset("a chunk B-tree K value other than HDF5's default")
        start = 28

    buffer, position = file.view(start, 32 + 40)
    base, free_space, end_of_file, driver_info = struct.unpack_from("<QQQQ", buffer, position)
    if base != 0 or free_space != UNDEFINED_ADDRESS or driver_info != UNDEFINED_ADDRESS:
        raise OutsideSubset("the file has a base address, free-space information or driver information")
    if end_of_file > size:
        raise OutsideSubset("the file is shorter than its superblock declares")
    # libhdf5 reads nothing beyond the end of file address, even where the file goes on.
    file.size = end_of_file

    root_address, cache_type = struct.unpack_from("<QI", buffer, position + 32 + 8)
    # libhdf5 reads the root group through the B-tree and heap cached in its superblock entry.
    cached = _TWO_ADDRESSES.unpack_from(buffer, position + 32 + 24)
    root = _read_object(file, root_address, set(), 0, "/")
    if not isinstance(root, TreeGroup) or cache_type != 1 or cached != root.symbol_table:
        raise OutsideSubset("the root object is not a group whose symbol table the superblock caches")
    return root


def _read_object(file: _File, address: int, seen: set[int], depth: int, path: str) -> TreeGroup | TreeDataset:
    if address in seen:
        raise OutsideSubset(f"the object at address {address} is linked more than once")
    if depth > MAX_GROUP_DEPTH:
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
        for name, child in _group_links(file, path, btree, heap):
            members[name] = _read_object(file, child, seen, depth + 1, f"{path.rstrip('/')}/{name}")
        return TreeGroup(address, members, (btree, heap))
    if _DATASPACE not in messages or _DATATYPE not in messages or _LAYOUT not in messages:
        raise OutsideSubset("an object is neither a group nor a dataset")
    return _dataset(file, messages)


_OBJECT_HEADER = struct.Struct("<BBHII")
_MESSAGE_HEADER = struct.Struct("<HHB")
_TWO_ADDRESSES = struct.Struct("<QQ")
_ADDRESS = struct.Struct("<Q")
_TREE_HEADER = struct.Struct("<4sBBH")
_SIZE_16 = struct.Struct("<H")
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
        # A continuation block belongs to one header, so each block of the file is walked once.
        if block_address in file.header_blocks:
            raise OutsideSubset(f"the object header block at address {block_address} is used twice")
        file.header_blocks.add(block_address)
        buffer, position = file.view(block_address, block_size)
        end = position + block_size
        # libhdf5 requires the messages to fill each block, with NIL messages in the gaps.
        if block_size % 8:
            raise OutsideSubset("an object header block is not a whole number of 8-byte units")
        while position < end:
            kind, length, flags = _MESSAGE_HEADER.unpack_from(buffer, position)
            position += 8
            seen += 1
            if position + length > end or seen > count or length % 8:
                raise OutsideSubset("an object header message does not fit its header or is not 8-byte aligned")
            if flags & _SHARED_MESSAGE_FLAG:
                raise OutsideSubset("a shared object header message")
            if kind == _CONTINUATION:
                if length < 16:
                    raise OutsideSubset("a continuation message is too short")
                continued_at, continued_size = _TWO_ADDRESSES.unpack_from(buffer, position)
                if continued_at == 0 or continued_size < 8:
                    raise OutsideSubset("a continuation message to no block")
                blocks.append((continued_at, continued_size))
            elif kind in messages:
                raise OutsideSubset(f"message type {kind} appears twice")
            elif kind in _READ_MESSAGES:
                messages[kind] = buffer[position : position + length]
            elif kind == _OLD_FILL_VALUE:
                # libhdf5 decodes the old fill value message too: a size, then that many bytes.
                if length < 4 or 4 + struct.unpack_from("<I", buffer, position)[0] > length:
                    raise OutsideSubset("an old fill value message does not fit")
            elif kind == _FILL_VALUE:
                _check_fill_value(buffer[position : position + length])
            elif kind == _MODIFICATION_TIME:
                # libhdf5 decodes it when it opens the object and rejects other versions.
                if not length or buffer[position] != 1:
                    raise OutsideSubset("a modification time message of an unknown version")
            elif kind != _NIL and kind not in _IGNORED_MESSAGES:
                raise OutsideSubset(f"object header message type {kind}")
            position += length
    return messages


def _check_fill_value(message: bytes) -> None:
    """Check a fill value message's fields within the ranges that libhdf5 accepts."""
    if len(message) < 4:
        raise OutsideSubset("a fill value message is too short")
    version = message[0]
    if version in (1, 2):
        # Space allocation time 1 to 3, fill value write time 0 to 2, fill value defined or not.
        allocation, write_time, defined = message[1], message[2], message[3]
        if allocation not in (1, 2, 3) or write_time > 2 or defined > 1:
            raise OutsideSubset("a fill value message with fields out of range")
        has_value = version == 1 or defined
        value_at = 4
    elif version == 3:
        flags = message[1]
        # Bits 0-1 allocation time, 2-3 write time, 4 undefined value, 5 a value follows.
        if flags & 0xC0 or flags & 0x03 == 0 or flags & 0x0C == 0x0C or flags & 0x30 == 0x30:
            raise OutsideSubset("a fill value message with fields out of range")
        has_value = bool(flags & 0x20)
        value_at = 2
    else:
        raise OutsideSubset(f"fill value message version {version}")
    if not has_value:
        return
    if value_at + 4 > len(message):
        raise OutsideSubset("a fill value message ends before the fill value's size")
    if value_at + 4 + struct.unpack_from("<I", message, value_at)[0] > len(message):
        raise OutsideSubset("a fill value does not fit its message")


def _group_links(file: _File, group: str, btree: int, heap: int) -> list[tuple[str, int]]:
    """Return the name and object header address of each link of the symbol table group
    at the HDF5 path ``group``."""
    buffer, position = file.view(heap, 32)
    signature, version, heap_size, free_head, heap_data = struct.unpack_from("<4sBxxxQQQ", buffer, position)
    if signature != b"HEAP" or version != 0:
        raise OutsideSubset("a group's local heap is invalid")
    names = file.read(heap_data, heap_size)
    _check_free_list(names, free_head)
    entries: list[tuple[bytes, int, int]] = []
    _walk_group_btree(file, group, btree, names, entries, set(), None, None, None)
    links = []
    for raw_name, header, cache_type in entries:
        if cache_type == 2:
            raise OutsideSubset("a soft link")
        if cache_type > 2:
            raise OutsideSubset(f"symbol table entry cache type {cache_type}")
        # libhdf5 looks up "." as the group itself, and names cannot contain "/".
        if raw_name == b"." or b"/" in raw_name:
            raise OutsideSubset(f"the link name {raw_name!r}")
        try:
            links.append((raw_name.decode("utf-8"), header))
        except UnicodeDecodeError:
            raise OutsideSubset("a link name is not UTF-8") from None
    return links


_FREE_LIST_END = 1
"""The offset that ends a local heap's free list (libhdf5's H5HL_FREE_NULL)."""


def _check_free_list(data: bytes, offset: int) -> None:
    """Walk a local heap's free list as libhdf5 does when it loads the heap, which rejects
    a block that does not fit the heap."""
    for _ in range(len(data) // 16 + 1):
        if offset == _FREE_LIST_END:
            return
        if offset + 16 > len(data):
            raise OutsideSubset("a local heap's free list leaves the heap")
        following, size = struct.unpack_from("<QQ", data, offset)
        if following == 0 or offset + size > len(data):
            raise OutsideSubset("a local heap's free list is invalid")
        offset = following
    raise OutsideSubset("a local heap's free list has a cycle")


def _level_problem(expected: int | None) -> str:
    if expected is None:
        return f"at its root, deeper than the {MAX_BTREE_LEVEL} levels read here"
    return f"where its parent gives level {expected}"


def _heap_name(names: bytes, offset: int) -> bytes:
    """Return the NUL-terminated name at ``offset`` of a local heap's data."""
    end = names.find(b"\0", offset)
    if offset >= len(names) or end < 0:
        raise OutsideSubset("a name lies outside its local heap")
    return names[offset:end]


def _walk_group_btree(
    file: _File,
    group: str,
    address: int,
    names: bytes,
    entries: list[tuple[bytes, int, int]],
    visited: set[int],
    level: int | None,
    low: bytes | None,
    high: bytes | None,
) -> None:
    """Collect the symbol table entries below a group B-tree node: name, header, cache type.

    libhdf5 finds a link by searching the keys, so the keys are checked as the search
    needs them. The names of child i lie after key i and up to key i + 1, the keys
    increase, and a node's keys lie within its parent's. Each node has the level below
    its parent's and is reached once.
    """
    if address in visited:
        raise DamagedFile(f"the B-tree of group '{group}' reaches its node at address {address} twice")
    visited.add(address)
    buffer, position = file.view(address, 24 + 2 * GROUP_INTERNAL_K * 16 + 8)
    signature, node_type, node_level, used = _TREE_HEADER.unpack_from(buffer, position)
    if signature != b"TREE" or node_type != 0 or used > 2 * GROUP_INTERNAL_K:
        raise OutsideSubset("a group B-tree node is invalid")
    if (level is not None and node_level != level) or node_level > MAX_BTREE_LEVEL:
        raise DamagedFile(f"the B-tree of group '{group}' has a node of level {node_level} {_level_problem(level)}")
    values = struct.unpack_from(f"<{2 * used + 1}Q", buffer, position + 24)
    keys = [_heap_name(names, offset) for offset in values[0::2]]
    if (low is not None and keys[0] < low) or (high is not None and keys[-1] > high):
        raise OutsideSubset("group B-tree keys lie outside their parent's")
    for index, child in enumerate(values[1::2]):
        left, right = keys[index], keys[index + 1]
        if left >= right:
            raise OutsideSubset("group B-tree keys do not increase")
        if node_level:
            _walk_group_btree(file, group, child, names, entries, visited, node_level - 1, left, right)
            continue
        if child in visited:
            raise DamagedFile(f"the B-tree of group '{group}' reaches its symbol table node at address {child} twice")
        visited.add(child)
        buffer, position = file.view(child, 8 + 2 * GROUP_LEAF_K * 40)
        signature, version, count = struct.unpack_from("<4sBxH", buffer, position)
        if signature != b"SNOD" or version != 1 or count > 2 * GROUP_LEAF_K:
            raise OutsideSubset("a symbol table node is invalid")
        previous = left
        for entry in range(count):
            name_offset, header, cache_type = struct.unpack_from("<QQI", buffer, position + 8 + 40 * entry)
            name = _heap_name(names, name_offset)
            # Names increase within a node, after the left key and up to the right one.
            if name <= previous or name > right:
                raise OutsideSubset("the link names are not in the order of their B-tree keys")
            previous = name
            entries.append((name, header, cache_type))


class _ChunkGrid:
    """The key format and size bounds that the chunk B-tree walk checks a dataset's keys
    against. They depend only on the chunk shape, element size and filters, so datasets share them."""

    __slots__ = ("chunk_bytes", "deflated", "divisors", "filters", "key", "max_stored")

    def __init__(self, chunk_shape: tuple[int, ...], itemsize: int, filters: tuple[int, ...]):
        # A key: chunk size, filter mask, and an offset per axis and for the element.
        self.key = struct.Struct(f"<II{len(chunk_shape) + 1}Q")
        # libhdf5 compares chunk offsets divided by the chunk shape and the element size.
        self.divisors = (*chunk_shape, itemsize)
        # A stored chunk is the raw chunk, or a deflate stream at most zlib's bound larger.
        self.chunk_bytes = itemsize * math.prod(chunk_shape)
        self.max_stored = self.chunk_bytes
        if _DEFLATE in filters:
            self.max_stored += self.chunk_bytes // 1000 + 64
        self.filters = filters
        # Filter masks already seen, each with whether its chunks were deflated.
        self.deflated: dict[int, bool] = {}

    def deflated_with(self, mask: int) -> bool:
        """Return whether a chunk with this filter mask (bit i skips filter i) was deflated."""
        deflated = self.deflated.get(mask)
        if deflated is None:
            deflated = self.deflated[mask] = any(
                code == _DEFLATE and not mask >> index & 1 for index, code in enumerate(self.filters)
            )
        return deflated


class _ChunkWalk:
    """Collects the chunks of a dataset from its chunk B-tree: offset, stored size, filter
    mask and address, checked as libhdf5's search for a chunk needs them."""

    def __init__(self, dataset: TreeDataset, entries: list[tuple[tuple[int, ...], int, int, int]]):
        self.dataset = dataset
        self.entries = entries
        self.visited: set[int] = set()
        grid_key = (dataset.chunk_shape, dataset.dtype.itemsize, dataset.filters)
        grids = dataset.file.chunk_grids
        grid = grids.get(grid_key)
        if grid is None:
            grid = grids[grid_key] = _ChunkGrid(*grid_key)
        self.grid = grid

    def walk(self, address: int, level: int | None, low: tuple[int, ...] | None, high: tuple[int, ...] | None) -> None:
        if address in self.visited:
            raise DamagedFile(f"the chunk B-tree reaches its node at address {address} twice")
        self.visited.add(address)

        grid = self.grid
        key, divisors = grid.key, grid.divisors
        step = key.size + 8
        buffer, position = self.dataset.file.view(address, 24 + 2 * CHUNK_K * step + key.size)
        signature, node_type, node_level, used = _TREE_HEADER.unpack_from(buffer, position)
        if signature != b"TREE" or node_type != 1 or used > 2 * CHUNK_K:
            raise OutsideSubset("a chunk B-tree node is invalid")
        if (level is not None and node_level != level) or node_level > MAX_BTREE_LEVEL:
            raise DamagedFile(f"the chunk B-tree has a node of level {node_level} {_level_problem(level)}")

        position += 24
        keys = []
        for index in range(used + 1):
            size, mask, *offset = key.unpack_from(buffer, position + index * step)
            scaled = tuple(map(operator.floordiv, offset, divisors))
            # libhdf5 rejects a key whose offset is not on the chunk grid, the right keys too.
            if list(map(operator.mul, scaled, divisors)) != offset:
                raise OutsideSubset(f"a chunk B-tree key {tuple(offset)} is not on the chunk grid")
            keys.append((size, mask, tuple(offset), scaled))
        if (low is not None and keys[0][3] < low) or (high is not None and keys[-1][3] > high):
            raise OutsideSubset("chunk B-tree keys lie outside their parent's")

        for index in range(used):
            size, mask, offset, left = keys[index]
            right = keys[index + 1][3]
            if left >= right:
                raise OutsideSubset("chunk B-tree keys do not increase")
            child = _ADDRESS.unpack_from(buffer, position + index * step + key.size)[0]
            if node_level:
                self.walk(child, node_level - 1, left, right)
                continue
            if offset[-1] != 0:
                raise OutsideSubset("a chunk key has a non-zero element offset")
            if size > grid.max_stored or (size != grid.chunk_bytes and not grid.deflated_with(mask)):
                raise OutsideSubset(f"a chunk of {size} bytes, but the chunk shape gives {grid.chunk_bytes}")
            self.entries.append((offset[:-1], size, mask, child))
            if len(self.entries) > self.dataset.chunk_count:
                raise OutsideSubset("more chunks than tile the dataset")


def _global_heap(file: _File, address: int) -> dict[int, bytes]:
    """Return the objects of a global heap collection by index, walked within its bounds."""
    buffer, position = file.view(address, 16)
    signature, version, size = struct.unpack_from("<4sBxxxQ", buffer, position)
    # libhdf5 makes collections of at least 4096 bytes, in whole 8-byte units.
    if signature != b"GCOL" or version != 1 or size < 4096 or size % 8:
        raise OutsideSubset("a global heap collection is invalid")
    # Collections that overlap would each keep a copy of the same bytes.
    slot = bisect.bisect(file.heap_starts, address)
    if (slot and file.heap_ends[slot - 1] > address) or (
        slot < len(file.heap_starts) and file.heap_starts[slot] < address + size
    ):
        raise OutsideSubset("global heap collections overlap")
    data = file.read(address, size)
    file.heap_starts.insert(slot, address)
    file.heap_ends.insert(slot, address + size)
    try:
        return collection_objects(data)
    except DamagedCollectionError as error:
        raise OutsideSubset(f"the global heap collection at address {address} {error}") from None


# --------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------


def _dataset(file: _File, messages: dict[int, bytes]) -> TreeDataset:
    filter_message = messages.get(_FILTER_PIPELINE)
    key = (messages[_DATASPACE], messages[_DATATYPE], filter_message)
    description = file.descriptions.get(key)
    if description is None:
        shape = _dataspace(messages[_DATASPACE])
        dtype = _datatype(messages[_DATATYPE])
        filters = _filters(filter_message, dtype) if filter_message is not None else ()
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
        # h5py chunks fixed-size datasets with chunks no larger than the data, and a larger
        # chunk could inflate far beyond the size that the dataset declares.
        if any(chunk > extent for chunk, extent in zip(chunk_shape, shape)):
            raise OutsideSubset("a chunk larger than its dataset")
        dataset.chunk_shape = tuple(chunk_shape)
        dataset.chunk_count = math.prod(-(-extent // chunk) for extent, chunk in zip(shape, chunk_shape))
    else:
        raise OutsideSubset(f"data layout class {layout} for this dataset")

    if filters and layout != _LAYOUT_CHUNKED:
        raise OutsideSubset("filters on data that are not chunked")
    return dataset



def _dataspace(message: bytes) -> tuple[int, ...]:
    if len(message) < 4:
        raise OutsideSubset("a dataspace message is too short")
    version, rank, flags = message[0], message[1], message[2]
    if version == 1:
        dimensions = 8
    elif version == 2:
        # Type 0 is a scalar, of rank 0, and type 1 a simple dataspace; others are null.
        kind = message[3]
        if kind not in (0, 1) or (kind == 0 and rank):
            raise OutsideSubset("a null dataspace, or a scalar one with dimensions")
        dimensions = 4
    else:
        raise OutsideSubset(f"dataspace message version {version}")
    has_maximum = flags & 1
    if rank > 32 or dimensions + 8 * rank * (2 if has_maximum else 1) > len(message):
        raise OutsideSubset("a dataspace message does not fit")
    shape = struct.unpack_from(f"<{rank}Q", message, dimensions)
    if has_maximum:
        maximum = struct.unpack_from(f"<{rank}Q", message, dimensions + 8 * rank)
        if any(extent > limit for extent, limit in zip(shape, maximum) if limit != UNDEFINED_ADDRESS):
            raise OutsideSubset("a dataspace size exceeds its maximum size")
    # numpy cannot make an array whose sizes multiply past its index type, even an empty one.
    if math.prod(extent for extent in shape if extent) >= 2**62:
        raise OutsideSubset(f"the dataspace {list(shape)} is larger than numpy arrays can be")
    return shape


def _datatype(message: bytes) -> np.dtype | None:
    """Return the dtype of a number type, or None for a variable-length UTF-8 or ASCII string."""
    if len(message) < 8:
        raise OutsideSubset("a datatype message is too short")
    type_class, version = message[0] & 0x0F, message[0] >> 4
    bits = bytes(message[1:4])
    size = struct.unpack_from("<I", message, 4)[0]
    if version not in (1, 2, 3):
        raise OutsideSubset(f"datatype message version {version}")
    if type_class == 0 and len(message) >= 12:
        # Two's complement little-endian with no padding bits: only the signed bit may be set.
        bit_offset, precision = struct.unpack_from("<HH", message, 8)
        if bits[0] & ~0x08 or bits[1:] != b"\0\0" or size not in (1, 2, 4, 8):
            raise OutsideSubset("an integer type with padding or big-endian bytes")
        if bit_offset != 0 or precision != 8 * size:
            raise OutsideSubset("an integer type with a bit offset or fewer bits than its size")
        return np.dtype(f"<{'i' if bits[0] & 0x08 else 'u'}{size}")
    if type_class == 1 and len(message) >= 8 + _FLOAT_PROPERTIES.size:
        properties = _FLOAT_PROPERTIES.unpack_from(message, 8)
        dtype = _IEEE_FLOATS.get((bits, size, properties))
        if dtype is None:
            raise OutsideSubset("a float type other than IEEE little-endian half, single or double")
        return dtype
    if type_class == 9 and len(message) >= 16:
        # A variable-length string (type 1) of ASCII or UTF-8 characters over 1-byte integers.
        if bits[0] & 0x0F != 1 or bits[1] & 0x0F not in (0, 1) or size != _VLEN_REFERENCE.size:
            raise OutsideSubset("a variable-length type that is not a string")
        # h5py's base type: an unsigned little-endian 1-byte integer of 8 bits at bit 0.
        if len(message) < 20 or bytes(message[8:20]) != _VLEN_STRING_BASE:
            raise OutsideSubset("a variable-length string over another base type than h5py's")
        return None
    raise OutsideSubset(f"datatype class {type_class}")


def _filters(message: bytes, dtype: np.dtype | None) -> tuple[int, ...]:
    """Return the filter codes of a filter pipeline message: deflate and shuffle only.

    libhdf5 unshuffles by the element size that the shuffle filter stores, which must be
    the item size of ``dtype``.
    """
    if len(message) < 2:
        raise OutsideSubset("a filter pipeline message is too short")
    version, count = message[0], message[1]
    end = len(message)
    if version == 1:
        cursor = 8
    elif version == 2:
        cursor = 2
    else:
        raise OutsideSubset(f"filter pipeline message version {version}")
    codes = []
    for _ in range(count):
        if cursor + 8 > end:
            raise OutsideSubset("a filter pipeline message does not fit")
        code = struct.unpack_from("<H", message, cursor)[0]
        if code not in (_DEFLATE, _SHUFFLE):
            raise OutsideSubset(f"filter {code}")
        if version == 1:
            name_length, _, values = struct.unpack_from("<HHH", message, cursor + 2)
            cursor += 8 + name_length
        else:
            # Filters below 256, the only ones read here, store no name in version 2.
            _, values = struct.unpack_from("<HH", message, cursor + 2)
            cursor += 6
        if cursor + 4 * values > end:
            raise OutsideSubset("a filter pipeline message does not fit")
        first_value = struct.unpack_from("<I", message, cursor)[0] if values else None
        if code == _SHUFFLE and (dtype is None or values != 1 or first_value != dtype.itemsize):
            raise OutsideSubset("a shuffle filter for another element size than the datatype's")
        # libhdf5's deflate filter fails unless it has one parameter, a level from 0 to 9.
        if code == _DEFLATE and (values != 1 or first_value > 9):
            raise OutsideSubset("a deflate filter without a level from 0 to 9")
        cursor += 4 * values + (4 * (values % 2) if version == 1 else 0)
        codes.append(code)
    if cursor > end:
        raise OutsideSubset("a filter pipeline message does not fit")
    return tuple(codes)


# --------------------------------------------------------------------------------------
# Reading large datasets
# --------------------------------------------------------------------------------------


def read_tree_arrays(datasets: list[TreeDataset], on_read: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Read numeric datasets as `TreeDataset.array` does, inflating large chunks on a thread pool.

    ``on_read(index)`` runs before each dataset is read, so that an error can name it.
    """

    def start(index: int, pooled: bool) -> np.ndarray | ChunkedRead:
        dataset = datasets[index]
        if not pooled or dataset.layout != _LAYOUT_CHUNKED or dataset.nbytes < PARALLEL_INFLATE_BYTES or not dataset.filters:
            return dataset.array()
        decodes = [(offset, functools.partial(dataset._decode, raw, mask)) for offset, raw, mask in dataset.raw_chunks()]
        return ChunkedRead(decodes, dataset.assemble)

    try:
        return read_on_pool(len(datasets), start, on_read)
    except _PARSE_ERRORS as error:
        raise OutsideSubset(f"the data do not parse: {error}") from None
