"""Conversions of HDF5 datasets to Python values and attributes, for the `.nir` importer."""

from __future__ import annotations

import functools

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    BytesAttr,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute

from nirmlir.dense import element_type_for
from nirmlir.hdf5_tree import TreeGroup
from nirmlir.lazy_import import LazyModule

h5py = LazyModule("h5py")


def dataset_value(dataset: h5py.Dataset) -> str | np.ndarray | object:
    """Read a dataset as a numpy array, 0-d for a scalar.

    A scalar string becomes a decoded str and a string array an object array of str. A
    null dataset gives h5py.Empty. Raises UnicodeDecodeError for strings that are not
    UTF-8.
    """
    if h5py.check_string_dtype(dataset.dtype) is not None:
        try:
            value = dataset.asstr()[()]
        except UnicodeDecodeError:
            # h5py decodes with the declared encoding, and writers tag UTF-8 bytes as
            # ASCII (h5py itself does for `bytes`), so decode them as UTF-8.
            value = _decode_utf8(dataset[()])
        return value if isinstance(value, str) else np.asarray(value, dtype=object)
    value = dataset[()]
    if isinstance(value, h5py.Empty):
        return value
    return np.asarray(value)


@functools.cache
def _raw_string_type() -> h5py.h5t.TypeID:
    """Return the HDF5 memory type that reads variable-length strings as bytes."""
    return h5py.h5t.py_create(h5py.vlen_dtype(bytes))


def read_strings(dataset_id: h5py.h5d.DatasetID) -> str | np.ndarray:
    """Read a variable-length string dataset (not null) as `dataset_value` does, with fewer HDF5 calls.

    The bytes are decoded as UTF-8 whatever encoding the file declares, as
    `dataset_value` ends up doing. Raises UnicodeDecodeError for bytes that are not UTF-8.
    """
    shape = dataset_id.get_space().shape
    raw = np.empty(shape, dtype=object)
    dataset_id.read(h5py.h5s.ALL, h5py.h5s.ALL, raw, mtype=_raw_string_type())
    if not shape:
        return raw[()].decode("utf-8")
    return _decode_utf8(raw)


def _decode_utf8(raw: bytes | np.ndarray) -> str | np.ndarray:
    """Decode a bytes scalar or an array of bytes (fixed-length or variable-length)."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8")
    array = np.asarray(raw)
    decoded = np.empty(array.shape, dtype=object)
    for index, item in np.ndenumerate(array):
        decoded[index] = item.decode("utf-8") if isinstance(item, bytes) else str(item)
    return decoded


def broken_link(link: h5py.SoftLink | h5py.ExternalLink | h5py.HardLink) -> str:
    """Describe a link that ``h5py.Group.get`` could not follow."""
    if isinstance(link, h5py.SoftLink):
        return (
            f"a dangling soft link to '{link.path}', which does not exist in the file; "
            "remove the link or point it at an existing group"
        )
    if isinstance(link, h5py.ExternalLink):
        return (
            f"an external link to '{link.path}' in the file '{link.filename}', which "
            "cannot be opened"
        )
    return "a link that HDF5 cannot open, so the file may be damaged or truncated; write it again with nir.write"


def describe(value: object) -> str:
    """Describe a dataset value for an error message; small numeric arrays show their values."""
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, np.ndarray):
        if value.size <= 8 and value.dtype.kind in "biuf":
            return f"{value.tolist()} (dtype {value.dtype})"
        return f"an array of dtype {value.dtype} and shape {list(value.shape)}"
    if isinstance(value, TreeGroup):
        return "a group"
    # The values of files read through h5py, whose module is imported only then.
    if isinstance(value, (h5py.Group, h5py.h5g.GroupID)):
        return "a group"
    if isinstance(value, (h5py.Datatype, h5py.h5t.TypeID)):
        return "an HDF5 named datatype"
    if isinstance(value, h5py.Empty):
        return "an empty dataset (HDF5 null dataspace)"
    return type(value).__name__


def integers(value: object) -> tuple[int, ...] | None:
    """Return the values of a scalar or 1-D integer array (or integral floats), else None."""
    if not isinstance(value, np.ndarray) or value.ndim > 1 or value.dtype.kind not in "iuf":
        return None
    flat = value.reshape(-1)
    if value.dtype.kind == "f" and not np.all(np.isfinite(flat) & (flat == np.round(flat))):
        return None
    integers = tuple(int(v) for v in flat)
    if any(not -(2**63) <= v < 2**63 for v in integers):
        return None
    return integers


def scalar_attr(value: np.ndarray) -> Attribute:
    if value.dtype.kind == "b":
        return IntegerAttr(int(value), IntegerType(1))
    element_type = element_type_for(value.dtype)
    if value.dtype.kind == "f":
        return FloatAttr(float(value), element_type)
    return IntegerAttr(int(value), element_type)


def bool_dense(value: np.ndarray) -> DenseIntOrFPElementsAttr:
    # xDSL stores each i1 element as one byte, 0xff for true, as its parser does.
    data = np.where(value, 0xFF, 0).astype(np.uint8).tobytes()
    return DenseIntOrFPElementsAttr(TensorType(IntegerType(1), value.shape), BytesAttr(data))


def string_array_attr(values: list) -> ArrayAttr:
    return ArrayAttr(
        [string_array_attr(v) if isinstance(v, list) else StringAttr(_text(v)) for v in values]
    )


def _text(value: object) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
