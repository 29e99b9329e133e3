"""Read numeric HDF5 datasets into one `bytes` object, without an intermediate numpy copy.

A dense attribute stores its data as `bytes`. Reading a dataset through h5py gives a
numpy array, and turning that into `bytes` copies it once more, which doubles the peak
memory of a large weight. When the storage allows it, `read_dataset` reads the bytes
directly: from the file at the dataset's offset (contiguous layout), or as the single
chunk of a dataset that is either unfiltered or only deflate-compressed (the layout
that `export_nir` writes). HDF5 reads other datasets into a new array.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import os
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from nirmlir.lazy_import import LazyModule

h5py = LazyModule("h5py")

# The largest chunk HDF5 accepts is 4 GiB minus one byte.
MAX_CHUNK_BYTES = 2**32 - 1


class OversizedDataError(Exception):
    """Compressed data that inflates to more bytes than its dataset's shape and dtype declare.

    HDF5 itself would inflate all of it, however large, so the importer reports it instead.
    """

    def __init__(self, declared: int):
        super().__init__(declared)
        self.declared = declared


# The file types of numbers that the raw reads copy byte for byte, by numpy dtype string.
_STANDARD_TYPES: dict[str, h5py.h5t.TypeID] = {}


def _stored_as_dtype(dataset_id: h5py.h5d.DatasetID, dtype: np.dtype) -> bool:
    """Return whether the file stores the numbers exactly as ``dtype`` lays them out in memory.

    h5py maps unusual HDF5 number types (an int of 12 bits at bit offset 3, a 3-byte float)
    to the nearest numpy dtype, so only HDF5's conversion reads those correctly.
    """
    standard = _STANDARD_TYPES.get(dtype.str)
    if standard is None:
        standard = _STANDARD_TYPES[dtype.str] = h5py.h5t.py_create(dtype)
    return dataset_id.get_type() == standard


def inflate(chunk: bytes, size: int) -> bytes | None:
    """Return a zlib stream inflated to ``size`` bytes, or None when it is damaged or shorter.

    Raises `OversizedDataError` when the stream contains more than ``size`` bytes: a small
    chunk can inflate to gigabytes, so no more than ``size`` bytes are ever produced.
    """
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(chunk, size)
        if len(data) != size:
            return None
        if not inflater.eof:
            # The rest of the input may contain more data, or only the stream's checksum.
            if inflater.decompress(inflater.unconsumed_tail, 1):
                raise OversizedDataError(size)
            if not inflater.eof:
                return None
    except zlib.error:
        return None
    return data


def read_dataset(
    dataset_id: h5py.h5d.DatasetID, dtype: np.dtype, shape: tuple[int, ...], file_descriptor: int | None
) -> np.ndarray:
    """Return a low-level dataset of the given dtype and non-null shape as an array.

    When possible, the array is a read-only view of one `bytes` object (see `bytes_backing`).
    ``file_descriptor`` is an open descriptor of the file for contiguous datasets, or None
    when the file is not on disk or starts with a user block (HDF5 offsets then do not
    match file offsets). The importer reads thousands of small datasets, and each property
    of an `h5py.Dataset` queries HDF5 again, so the caller reads them once and passes them.
    """
    size = dtype.itemsize * math.prod(shape)
    data = None
    if dtype.kind in "iuf" and dtype.byteorder != ">" and size and shape and _stored_as_dtype(dataset_id, dtype):
        data = _read_bytes(dataset_id, shape, size, file_descriptor)
    if data is not None:
        return np.frombuffer(data, dtype=dtype).reshape(shape)
    array = np.empty(shape, dtype=dtype)
    if array.size:
        dataset_id.read(h5py.h5s.ALL, h5py.h5s.ALL, array)
    return array


PARALLEL_INFLATE_BYTES = 1 << 20
"""Compressed chunks of at least this many bytes are inflated on a thread pool."""


def usable_cores() -> int:
    """Return the number of cores this process may run on, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def read_arrays(
    datasets: list[h5py.h5d.DatasetID], file_descriptor: int | None, on_read=None
) -> list[np.ndarray]:
    """Read each dataset as `read_dataset` does, and inflate large deflated datasets in parallel.

    HDF5 calls run one at a time under h5py's lock, so the compressed chunks are read
    through HDF5 in this thread and `read_on_pool` inflates them on its workers. nirmlir
    writes one chunk per weight, and `nir.write` writes many. ``on_read(index)`` runs
    before each dataset is read, so that an error can name it.
    """

    def start(index: int, pooled: bool) -> np.ndarray | ChunkedRead:
        dataset_id = datasets[index]
        dtype, shape = dataset_id.dtype, dataset_id.get_space().shape
        chunks = _large_deflated_chunks(dataset_id, dtype, shape) if pooled else None
        if chunks is None:
            return read_dataset(dataset_id, dtype, shape, file_descriptor)
        chunk_shape, pieces = chunks
        chunk_size = dtype.itemsize * math.prod(chunk_shape)

        def assemble(count: int, decoded: Iterator[tuple[tuple[int, ...], bytes | None]]) -> np.ndarray:
            placed = list(decoded)
            if any(data is None for _, data in placed):
                # A stream is damaged, so HDF5 reads the dataset again and reports what is wrong.
                return read_dataset(dataset_id, dtype, shape, file_descriptor)
            return place_chunks(dtype, shape, chunk_shape, count, iter(placed))

        return ChunkedRead([(offset, functools.partial(inflate, data, chunk_size)) for offset, data in pieces], assemble)

    return read_on_pool(len(datasets), start, on_read)


@dataclass
class ChunkedRead:
    """A dataset whose stored chunks are read and wait to be decoded on the thread pool.

    ``decodes`` pairs each chunk's offset with a call that decodes it, and ``assemble``
    builds the array from the number of chunks and the decoded chunks in that order.
    """

    decodes: list[tuple[tuple[int, ...], Callable[[], bytes | None]]]
    assemble: Callable[[int, Iterator[tuple[tuple[int, ...], bytes | None]]], np.ndarray]


def read_on_pool(
    count: int,
    start: Callable[[int, bool], np.ndarray | ChunkedRead],
    on_read: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """Read ``count`` datasets in order, decoding the chunks of large ones on a thread pool.

    ``start(index, pooled)`` reads dataset ``index`` and returns its array or, when
    ``pooled`` is true, may return a `ChunkedRead`. zlib releases the GIL, so the workers
    inflate chunks while the next datasets are read. The chunks of at most two datasets per
    worker wait in memory. ``on_read(index)`` runs before a dataset is read and before its
    chunks are assembled, so that an error can name it.
    """
    arrays: list[np.ndarray | None] = [None] * count
    workers = usable_cores()
    pending: collections.deque[tuple[int, ChunkedRead, list[tuple[tuple[int, ...], Future]]]] = collections.deque()
    with ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        for index in range(count):
            if on_read is not None:
                on_read(index)
            started = start(index, pool is not None)
            if not isinstance(started, ChunkedRead):
                arrays[index] = started
                continue
            futures = [(offset, pool.submit(decode)) for offset, decode in started.decodes]
            pending.append((index, started, futures))
            if len(pending) >= 2 * workers:
                _assemble(pending.popleft(), arrays, on_read)
        while pending:
            _assemble(pending.popleft(), arrays, on_read)
    return arrays


def _assemble(job, arrays: list, on_read: Callable[[int], None] | None) -> None:
    index, started, futures = job
    if on_read is not None:
        on_read(index)
    count = len(futures)
    # Each future is dropped once its chunk is taken, so that its decoded bytes can be freed.
    futures.reverse()

    def in_order() -> Iterator[tuple[tuple[int, ...], bytes | None]]:
        while futures:
            offset, future = futures.pop()
            yield offset, future.result()

    arrays[index] = started.assemble(count, in_order())


def place_chunks(
    dtype: np.dtype,
    shape: tuple[int, ...],
    chunk_shape: tuple[int, ...],
    count: int,
    pieces: Iterator[tuple[tuple[int, ...], bytes]],
) -> np.ndarray:
    """Place ``count`` decoded chunks into a new array as ``pieces`` yields them, each at its
    offset, so that only one decoded chunk is kept at a time."""
    if count == 1 and chunk_shape == shape:
        # When one chunk is the whole array, the array views its bytes without a copy.
        return np.frombuffer(next(pieces)[1], dtype=dtype).reshape(shape)
    array = np.empty(shape, dtype=dtype)
    for offset, data in pieces:
        chunk = np.frombuffer(data, dtype=dtype).reshape(chunk_shape)
        # Chunks at the far edges extend past the array and are cut to it.
        target = tuple(slice(start, min(start + step, size)) for start, step, size in zip(offset, chunk_shape, shape))
        array[target] = chunk[tuple(slice(0, part.stop - part.start) for part in target)]
    return array


def _large_deflated_chunks(
    dataset_id: h5py.h5d.DatasetID, dtype: np.dtype, shape: tuple[int, ...]
) -> tuple[tuple[int, ...], list[tuple[tuple[int, ...], bytes]]] | None:
    """Return the chunk shape and each compressed chunk with its offset, or None.

    Only a large deflated dataset of plain numbers qualifies, and only when all its chunks
    are written and compressed.
    """
    if dtype.kind not in "iuf" or dtype.byteorder == ">" or not shape or dataset_id.get_offset() is not None:
        return None
    if not _stored_as_dtype(dataset_id, dtype):
        return None
    try:
        properties = dataset_id.get_create_plist()
        if properties.get_layout() != h5py.h5d.CHUNKED:
            return None
        filters = _filter_codes(properties)
        if filters != [h5py.h5z.FILTER_DEFLATE] or dataset_id.get_storage_size() < PARALLEL_INFLATE_BYTES:
            return None
        chunk_shape = tuple(properties.get_chunk())
        # Chunks never written contain the fill value, which only HDF5 supplies.
        expected = math.prod(-(-size // chunk) for size, chunk in zip(shape, chunk_shape))
        if len(chunk_shape) != len(shape) or dataset_id.get_num_chunks() != expected:
            return None
        pieces = []
        for index in range(expected):
            offset = tuple(dataset_id.get_chunk_info(index).chunk_offset)
            filter_mask, data = dataset_id.read_direct_chunk(offset)
            # A set bit 0 means that HDF5 stored this chunk uncompressed, so HDF5 reads the
            # dataset instead.
            if filter_mask & 1:
                return None
            pieces.append((offset, data))
    except (OSError, ValueError, RuntimeError):
        return None
    return chunk_shape, pieces


def bytes_backing(array: np.ndarray) -> bytes | None:
    """Return the `bytes` object that `array` views in full, little-endian and in C
    order, or None when the array owns its memory or views only part of a buffer."""
    base = array.base
    while isinstance(base, np.ndarray):
        base = base.base
    if not isinstance(base, bytes) or len(base) != array.nbytes:
        return None
    # A C-contiguous view of as many bytes as the buffer contains can only cover all of it.
    if array.dtype.byteorder == ">" or not array.flags.c_contiguous:
        return None
    return base


def _read_bytes(
    dataset_id: h5py.h5d.DatasetID, shape: tuple[int, ...], size: int, file_descriptor: int | None
) -> bytes | None:
    try:
        # HDF5 gives an offset only for contiguous data stored in the file itself, and the
        # query is much cheaper than copying the creation property list.
        offset = dataset_id.get_offset()
        if offset is not None:
            data = os.pread(file_descriptor, size, offset) if file_descriptor is not None else None
        else:
            properties = dataset_id.get_create_plist()
            if properties.get_layout() == h5py.h5d.CHUNKED and properties.get_chunk() == shape:
                data = _read_single_chunk(dataset_id, properties, len(shape), size)
            else:
                data = None
    except (OSError, ValueError, RuntimeError):
        # HDF5 converts unusual storage (external files, other filters) itself.
        return None
    return data if data is not None and len(data) == size else None


def _filter_codes(properties: h5py.h5p.PropDCID) -> list[int]:
    """Return the codes of the filters in a dataset creation property list, in order."""
    return [properties.get_filter(index)[0] for index in range(properties.get_nfilters())]


def _read_single_chunk(
    dataset_id: h5py.h5d.DatasetID, properties: h5py.h5p.PropDCID, rank: int, size: int
) -> bytes | None:
    filters = _filter_codes(properties)
    if filters not in ([], [h5py.h5z.FILTER_DEFLATE]):
        return None
    filter_mask, chunk = dataset_id.read_direct_chunk((0,) * rank)
    # Bit 0 of the mask is set when HDF5 stored this chunk without the deflate filter,
    # which it does when compressing would not make the chunk smaller.
    if filters and not filter_mask & 1:
        return inflate(chunk, size)
    return chunk


# A variable-length string element is stored as a 4-byte length, the 8-byte address of a
# global heap collection and a 4-byte object index (with HDF5's default 8-byte addresses).
_VLEN_DESCRIPTOR = np.dtype([("length", "<u4"), ("collection", "<u8"), ("index", "<u4")])
_COLLECTION_HEADER_BYTES = 16
_OBJECT_HEADER_BYTES = 16


def string_storage_problem(dataset_id: h5py.h5d.DatasetID) -> str | None:
    """Return how a variable-length string dataset is stored when `global_heap_problem` cannot check it.

    Compact data lives inside the dataset's object header, which h5py gives no raw access
    to, and chunks with filters other than deflate cannot be decoded here.
    """
    properties = dataset_id.get_create_plist()
    layout = properties.get_layout()
    if layout == h5py.h5d.COMPACT:
        return "in compact storage"
    if layout == h5py.h5d.CHUNKED:
        filters = _filter_codes(properties)
        if any(code != h5py.h5z.FILTER_DEFLATE for code in filters):
            return "in chunks with filters other than deflate"
    return None


def global_heap_problem(
    dataset_id: h5py.h5d.DatasetID,
    read_raw,
    file_size: int,
    base: int,
    address_sizes: tuple[int, int],
    checked: set[int] | None = None,
) -> str | None:
    """Return why a variable-length string dataset's global heap collections are damaged, or None.

    HDF5 2.0.0 (bundled with h5py 3.16) walks a collection's objects up to the size in its
    header. It loops forever when that size is too large and the walk meets a zero-sized object,
    so each collection is walked here first, with bounds. ``read_raw(offset, size)`` returns
    bytes of the file of ``file_size`` bytes, in which HDF5 address 0 is at offset ``base``
    (after a user block). ``address_sizes`` are the file's sizes of addresses and lengths.
    ``checked`` holds the addresses of collections found intact: they are skipped, and the
    intact ones are added, because the strings of a whole file share a few collections.
    The caller rejects the storage that `string_storage_problem` names first.
    NOTE: only files with 8-byte addresses and lengths are checked, which covers what
    nir.write writes.
    """
    if address_sizes != (8, 8):
        return None
    references: list[bytes] = []
    # HDF5 gives an offset in the file only for contiguous data.
    offset = dataset_id.get_offset()
    if offset is not None:
        size = dataset_id.get_storage_size()
        if size % _VLEN_DESCRIPTOR.itemsize:
            return f"its {size} bytes of string references are not a whole number of 16-byte references"
        if offset + size > file_size:
            return f"its string references ({size} bytes at offset {offset}) do not fit the file of {file_size} bytes"
        references.append(read_raw(offset, size))
    elif (properties := dataset_id.get_create_plist()).get_layout() == h5py.h5d.CHUNKED:
        filtered = properties.get_nfilters() > 0
        chunk_size = _VLEN_DESCRIPTOR.itemsize * math.prod(properties.get_chunk())
        for index in range(dataset_id.get_num_chunks()):
            filter_mask, chunk = dataset_id.read_direct_chunk(dataset_id.get_chunk_info(index).chunk_offset)
            if filtered and not filter_mask & 1:
                chunk = inflate(chunk, chunk_size)
                if chunk is None:
                    return "a chunk of its string references is not a valid deflate stream"
            if len(chunk) % _VLEN_DESCRIPTOR.itemsize:
                return f"a chunk of {len(chunk)} bytes is not a whole number of 16-byte string references"
            references.append(chunk)
    addresses: set[int] = set()
    for data in references:
        if len(data) == _VLEN_DESCRIPTOR.itemsize:
            # A single string, as in every node's 'type', needs no structured array.
            addresses.add(int.from_bytes(data[4:12], "little"))
        else:
            addresses.update(int(address) for address in np.frombuffer(data, dtype=_VLEN_DESCRIPTOR)["collection"])
    checked = set() if checked is None else checked
    for address in sorted(addresses - checked):
        problem = _collection_problem(base + address, read_raw, file_size)
        if problem is not None:
            return f"the global heap collection at offset {base + address} {problem}"
        checked.add(address)
    return None


def _collection_problem(address: int, read_raw, file_size: int) -> str | None:
    if address + _COLLECTION_HEADER_BYTES > file_size:
        return "lies beyond the end of the file"
    header = read_raw(address, _COLLECTION_HEADER_BYTES)
    if header[:4] != b"GCOL":
        return None  # HDF5 itself rejects a wrong signature.
    collection_size = int.from_bytes(header[8:16], "little")
    end = address + collection_size
    if collection_size < _COLLECTION_HEADER_BYTES or end > file_size:
        return f"declares {collection_size} bytes, which do not fit the file of {file_size} bytes"
    try:
        collection_objects(read_raw(address, collection_size))
    except DamagedCollectionError as error:
        return str(error)
    return None


class DamagedCollectionError(Exception):
    """A global heap collection whose objects do not fit it."""


def collection_objects(data: bytes) -> dict[int, bytes]:
    """Return the objects of a global heap collection (all its bytes) by index.

    The objects are walked as HDF5 walks them, because a damaged walk can make HDF5 loop
    forever: an object of index 0 is free space whose size counts its own header, and any
    other object is a header plus its data padded to 8 bytes. Raises
    `DamagedCollectionError` for an object that does not fit the collection.
    """
    objects: dict[int, bytes] = {}
    position = _COLLECTION_HEADER_BYTES
    while position + _OBJECT_HEADER_BYTES <= len(data):
        index = int.from_bytes(data[position : position + 2], "little")
        object_size = int.from_bytes(data[position + 8 : position + 16], "little")
        step = object_size if index == 0 else _OBJECT_HEADER_BYTES + (object_size + 7) // 8 * 8
        if step < _OBJECT_HEADER_BYTES or position + step > len(data):
            raise DamagedCollectionError(
                f"has an object of {object_size} bytes at byte {position} of {len(data)}, "
                "which does not fit the collection"
            )
        if index:
            objects[index] = data[position + _OBJECT_HEADER_BYTES : position + _OBJECT_HEADER_BYTES + object_size]
        position += step
    return objects
