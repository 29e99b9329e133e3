"""Read numeric HDF5 datasets into one `bytes` object, without an intermediate numpy copy.

A dense attribute stores its data as `bytes`. Reading a dataset through h5py gives a
numpy array, and turning that into `bytes` copies it once more, which doubles the peak
memory of a large weight. When the storage allows it, `read_array` reads the bytes
directly: from the file at the dataset's offset (contiguous layout), or as the single
chunk of a dataset that is either unfiltered or only deflate-compressed (the layout
that `export_nir` writes). HDF5 reads other datasets into a new array.
"""

from __future__ import annotations

import math
import os
import zlib

import h5py
import numpy as np

# The largest chunk HDF5 accepts is 4 GiB minus one byte.
MAX_CHUNK_BYTES = 2**32 - 1


def read_array(dataset: h5py.Dataset, file_descriptor: int | None) -> np.ndarray:
    """Return the dataset as an array; when possible a read-only view of one `bytes`
    object (see `bytes_backing`). ``file_descriptor`` is an open descriptor of the file
    for contiguous datasets, or None when the file is not on disk or starts with a user
    block (HDF5 offsets then do not match file offsets)."""
    return read_dataset(dataset.id, dataset.dtype, dataset.shape, file_descriptor)


def read_dataset(
    dataset_id: h5py.h5d.DatasetID, dtype: np.dtype, shape: tuple[int, ...], file_descriptor: int | None
) -> np.ndarray:
    """Return a low-level dataset as an array, as `read_array` does, given its dtype and non-null shape.

    The importer reads thousands of small datasets, and each property of an `h5py.Dataset`
    queries HDF5 again, so the caller reads them once and passes them.
    """
    size = dtype.itemsize * math.prod(shape)
    data = None
    if dtype.kind in "iuf" and dtype.byteorder != ">" and size and shape:
        data = _read_bytes(dataset_id, shape, size, file_descriptor)
    if data is not None:
        return np.frombuffer(data, dtype=dtype).reshape(shape)
    array = np.empty(shape, dtype=dtype)
    if array.size:
        dataset_id.read(h5py.h5s.ALL, h5py.h5s.ALL, array)
    return array


def bytes_backing(array: np.ndarray) -> bytes | None:
    """Return the `bytes` object that `array` views in full, little-endian and in C
    order, or None when the array owns its memory or views only part of a buffer."""
    base = array.base
    while isinstance(base, np.ndarray):
        base = base.base
    if not isinstance(base, bytes) or len(base) != array.nbytes:
        return None
    if array.dtype.byteorder == ">" or not array.flags.c_contiguous:
        return None
    # Equal sizes and the same start address mean the array covers the whole buffer.
    if np.frombuffer(base, dtype=np.uint8).ctypes.data != array.ctypes.data:
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
    except (OSError, ValueError, RuntimeError, zlib.error):
        # Unusual storage (external files, other filters): let HDF5 convert it.
        return None
    return data if data is not None and len(data) == size else None


def _read_single_chunk(
    dataset_id: h5py.h5d.DatasetID, properties: h5py.h5p.PropDCID, rank: int, size: int
) -> bytes | None:
    filters = [properties.get_filter(index)[0] for index in range(properties.get_nfilters())]
    if filters not in ([], [h5py.h5z.FILTER_DEFLATE]):
        return None
    filter_mask, chunk = dataset_id.read_direct_chunk((0,) * rank)
    # Bit 0 of the mask is set when HDF5 stored this chunk without the deflate filter,
    # which it does when compressing would not make the chunk smaller.
    if filters and not filter_mask & 1:
        # Sizing the output buffer up front saves zlib from growing and copying it.
        return zlib.decompress(chunk, bufsize=size)
    return chunk


# A variable-length string element is stored as a 4-byte length, the 8-byte address of a
# global heap collection and a 4-byte object index (with HDF5's default 8-byte addresses).
_VLEN_DESCRIPTOR = np.dtype([("length", "<u4"), ("collection", "<u8"), ("index", "<u4")])
_COLLECTION_HEADER_BYTES = 16
_OBJECT_HEADER_BYTES = 16


def global_heap_problem(
    dataset_id: h5py.h5d.DatasetID,
    read_raw,
    file_size: int,
    address_sizes: tuple[int, int],
    checked: set[int] | None = None,
) -> str | None:
    """Return why a variable-length string dataset's global heap collections are damaged, or None.

    HDF5 2.0.0 (bundled with h5py 3.16) walks a collection's objects up to the size in its
    header. It loops forever when that size is too large and the walk meets a zero-sized object,
    so each collection is walked here first, with bounds. ``read_raw(offset, size)`` returns bytes
    of the file, and ``address_sizes`` are the file's sizes of addresses and lengths in bytes.
    ``checked`` holds the addresses of collections found intact: they are skipped, and the
    intact ones are added, because the strings of a whole file share a few collections.
    NOTE: only contiguous datasets in files with 8-byte addresses and lengths are checked,
    which covers what nir.write writes; compact and chunked string datasets are not.
    """
    if address_sizes != (8, 8):
        return None
    # Only contiguous data in the file itself has an offset.
    offset = dataset_id.get_offset()
    if offset is None:
        return None
    size = dataset_id.get_storage_size()
    if size == 0:
        return None
    if size % _VLEN_DESCRIPTOR.itemsize:
        return f"its {size} bytes of string references are not a whole number of 16-byte references"
    if offset + size > file_size:
        return f"its string references ({size} bytes at offset {offset}) do not fit the file of {file_size} bytes"
    references = read_raw(offset, size)
    if size == _VLEN_DESCRIPTOR.itemsize:
        # A single string, as in every node's 'type', needs no structured array.
        addresses = {int.from_bytes(references[4:12], "little")}
    else:
        addresses = {int(address) for address in np.frombuffer(references, dtype=_VLEN_DESCRIPTOR)["collection"]}
    checked = set() if checked is None else checked
    for address in sorted(addresses - checked):
        problem = _collection_problem(address, read_raw, file_size)
        if problem is not None:
            return f"the global heap collection at offset {address} {problem}"
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
    data = read_raw(address, collection_size)
    # Walk the objects as HDF5 does: an object of index 0 is free space whose size counts
    # its own header, and any other object is a header plus its data padded to 8 bytes.
    position = _COLLECTION_HEADER_BYTES
    while position + _OBJECT_HEADER_BYTES <= collection_size:
        index = int.from_bytes(data[position : position + 2], "little")
        object_size = int.from_bytes(data[position + 8 : position + 16], "little")
        step = object_size if index == 0 else _OBJECT_HEADER_BYTES + (object_size + 7) // 8 * 8
        if step < _OBJECT_HEADER_BYTES or position + step > collection_size:
            return (
                f"has an object of {object_size} bytes at byte {position} of {collection_size}, "
                "which does not fit the collection"
            )
        position += step
    return None
