"""The `.nir` HDF5 layout that nir 1.0.8 reads and writes, shared by the importer and exporter.

A file contains a scalar string dataset ``/version`` and a group ``/node`` for the top-level
NIRGraph. A graph group contains ``type``, ``edges`` (an (E, 2) string dataset of source and
destination node names), ``nodes/<name>/`` with one group per node, and an optional
``metadata`` group. A node group contains ``type`` and one dataset per field listed below; a
nested graph is a node group with the graph layout. All strings are variable-length UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
"""The first 8 bytes of every HDF5 file (after a user block, if it has one)."""

FORMAT_VERSION = "1.0.8"
"""The nir package version written to ``/version``; readers treat it as informational."""


class FieldKind(Enum):
    """The storage of a node field, in HDF5 and in the `nir` dialect."""

    TENSOR = "tensor"
    """An array of any shape and numeric dtype; a dense tensor property with that dtype."""
    INT = "int"
    """A scalar integer; an ``IntegerAttr`` of type i64."""
    INTS = "ints"
    """One integer per spatial axis; ``array<i64: ...>``. A scalar applies to every axis."""
    PADDING = "padding"
    """Like INTS, or the string "same" or "valid" (a ``StringAttr``)."""
    SPATIAL_SHAPE = "spatial_shape"
    """The conv input size without channels; inferred from the incoming edge when absent."""
    SHAPE = "shape"
    """A tensor shape; it becomes the type of the node's value, not a property."""


@dataclass(frozen=True)
class FieldSpec:
    """One dataset of a node group."""

    name: str
    kind: FieldKind
    required: bool = True


def _tensors(*names: str) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(name, FieldKind.TENSOR) for name in names)


_CONV_FIELDS = (
    FieldSpec("input_shape", FieldKind.SPATIAL_SHAPE, required=False),
    FieldSpec("weight", FieldKind.TENSOR),
    FieldSpec("stride", FieldKind.INTS),
    FieldSpec("padding", FieldKind.PADDING),
    FieldSpec("dilation", FieldKind.INTS),
    FieldSpec("groups", FieldKind.INT),
    FieldSpec("bias", FieldKind.TENSOR),
)

_POOL_FIELDS = (
    FieldSpec("kernel_size", FieldKind.INTS),
    FieldSpec("stride", FieldKind.INTS),
    FieldSpec("padding", FieldKind.INTS),
)

NODE_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "Input": (FieldSpec("shape", FieldKind.SHAPE),),
    "Output": (FieldSpec("shape", FieldKind.SHAPE, required=False),),
    "Affine": _tensors("weight", "bias"),
    "Linear": _tensors("weight"),
    "Scale": _tensors("scale"),
    "Conv1d": _CONV_FIELDS,
    "Conv2d": _CONV_FIELDS,
    "SumPool2d": _POOL_FIELDS,
    "AvgPool2d": _POOL_FIELDS,
    "Flatten": (
        FieldSpec("input_type", FieldKind.SHAPE, required=False),
        FieldSpec("start_dim", FieldKind.INT),
        FieldSpec("end_dim", FieldKind.INT),
    ),
    "Delay": _tensors("delay"),
    "Threshold": _tensors("threshold"),
    "I": _tensors("r"),
    "IF": (*_tensors("r", "v_threshold"), FieldSpec("v_reset", FieldKind.TENSOR, False)),
    "LI": _tensors("tau", "r", "v_leak"),
    "LIF": (
        *_tensors("tau", "r", "v_leak", "v_threshold"),
        FieldSpec("v_reset", FieldKind.TENSOR, required=False),
    ),
    "CubaLI": (
        *_tensors("tau_syn", "tau_mem", "r", "v_leak"),
        FieldSpec("w_in", FieldKind.TENSOR, required=False),
    ),
    "CubaLIF": (
        *_tensors("tau_syn", "tau_mem", "r", "v_leak", "v_threshold"),
        FieldSpec("v_reset", FieldKind.TENSOR, required=False),
        FieldSpec("w_in", FieldKind.TENSOR, required=False),
    ),
}
"""The datasets of each node type besides ``type`` and ``metadata``, in nir's field order.

A missing optional field takes nir 1.0.8's default: ``v_reset`` is zeros like
``v_threshold`` and ``w_in`` is ones. Conv ``input_shape``, Flatten ``input_type`` and the
Output ``shape`` are inferred from the incoming edge.
"""

GRAPH_TYPE = "NIRGraph"
GRAPH_ENTRIES = frozenset({"type", "edges", "nodes", "metadata"})
"""The members of a graph group."""

SPATIAL_RANK: dict[str, int] = {"Conv1d": 1, "Conv2d": 2, "SumPool2d": 2, "AvgPool2d": 2}
"""The number of spatial axes, i.e. the length of INTS and SPATIAL_SHAPE fields."""
