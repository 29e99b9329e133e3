"""Conversions between numpy arrays and xDSL dense attributes that never go through lists.

``DenseIntOrFPElementsAttr`` stores raw little-endian bytes, so an array enters and leaves
it with ``tobytes`` and ``numpy.frombuffer``.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    Signedness,
    TensorType,
    i64,
)
from xdsl.ir import Attribute

from nirmlir.diagnostics import DiagnosticError

_FLOAT_TYPES: dict[str, Attribute] = {
    "float16": Float16Type(),
    "float32": Float32Type(),
    "float64": Float64Type(),
}


# Element types and dtypes already converted. They are a handful, and both directions
# run once per parameter of every node an import or a verifier meets.
_ELEMENT_TYPES: dict[str, Attribute] = {}
_NUMPY_DTYPES: dict[Attribute, np.dtype] = {}


def element_type_for(dtype: np.dtype) -> Attribute:
    """Return the xDSL element type for a numpy dtype (floats, signed and unsigned ints, bool)."""
    dtype = np.dtype(dtype)
    element_type = _ELEMENT_TYPES.get(dtype.str)
    if element_type is None:
        element_type = _ELEMENT_TYPES[dtype.str] = _element_type(dtype)
    return element_type


def _element_type(dtype: np.dtype) -> Attribute:
    if dtype.name in _FLOAT_TYPES:
        return _FLOAT_TYPES[dtype.name]
    if dtype.kind == "i":
        return IntegerType(dtype.itemsize * 8)
    if dtype.kind == "u":
        return IntegerType(dtype.itemsize * 8, Signedness.UNSIGNED)
    if dtype.kind == "b":
        return IntegerType(8)
    raise DiagnosticError(f"unsupported array dtype '{dtype}'; expected a float or integer dtype")


def numpy_dtype_for(element_type: Attribute) -> np.dtype:
    """Return the little-endian numpy dtype stored for an xDSL element type."""
    dtype = _NUMPY_DTYPES.get(element_type)
    if dtype is None:
        dtype = _NUMPY_DTYPES[element_type] = _numpy_dtype(element_type)
    return dtype


def _numpy_dtype(element_type: Attribute) -> np.dtype:
    if isinstance(element_type, Float32Type):
        return np.dtype("<f4")
    if isinstance(element_type, Float64Type):
        return np.dtype("<f8")
    if isinstance(element_type, Float16Type):
        return np.dtype("<f2")
    if isinstance(element_type, IntegerType):
        width = element_type.width.data
        if width not in (8, 16, 32, 64):
            raise DiagnosticError(f"unsupported integer width i{width}; expected 8, 16, 32 or 64")
        kind = "u" if element_type.signedness.data == Signedness.UNSIGNED else "i"
        return np.dtype(f"<{kind}{width // 8}")
    raise DiagnosticError(f"unsupported element type {element_type}")


def dense_from_numpy(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    """Wrap an array in a dense attribute, keeping its dtype and shape; bools become i8."""
    array = np.asarray(array)
    if array.dtype.kind == "b":
        array = array.astype(np.int8)
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    data = np.ascontiguousarray(array, dtype=dtype).tobytes()
    tensor_type = TensorType(element_type_for(dtype), array.shape)
    return DenseIntOrFPElementsAttr(tensor_type, BytesAttr(data))


def numpy_from_dense(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """Return a read-only array view of a dense attribute's bytes (no copy)."""
    dtype = numpy_dtype_for(attr.get_element_type())
    shape = attr.get_shape()
    array = np.frombuffer(attr.data.data, dtype=dtype)
    count = math.prod(shape)
    if array.size != count and array.size == 1:
        # A splat stores one element for the whole tensor.
        return np.broadcast_to(array, shape)
    return array.reshape(shape)


def i64_array(values) -> DenseArrayBase:
    """Build an ``array<i64: ...>`` attribute from a sequence of ints."""
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def ints_from_array(attr: DenseArrayBase) -> tuple[int, ...]:
    """Return the ints of an ``array<i64: ...>`` attribute."""
    return tuple(int(v) for v in attr.get_values())
