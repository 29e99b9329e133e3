"""Helpers that build nir-dialect graphs directly, for tests that need no HDF5 file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import (
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    f64,
    i64,
)
from xdsl.ir import Block, Region

from nirmlir.dense import dense_from_numpy, i64_array
from nirmlir.dialects import nir

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NIRMLIR_SHARED", REPO_ROOT.parent / "shared"))


def require_shared(path: Path) -> Path:
    """Return `path`, or skip the test when the shared data is absent (fail under NIRMLIR_REQUIRE_SHARED=1)."""
    if not path.exists():
        message = f"shared test data not found at {path}; set NIRMLIR_SHARED"
        if os.environ.get("NIRMLIR_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def to_attribute(value):
    """Convert a test parameter: str, int, int tuple (array<i64>) or array-like (f32 tensor)."""
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, int):
        return IntegerAttr(value, i64)
    if isinstance(value, tuple):
        return i64_array(value)
    return dense_from_numpy(np.asarray(value, dtype=np.float32))


class GraphBuilder:
    """Build a nir.graph node by node; operands may be connected later, for recurrent edges."""

    def __init__(self, name: str = "main"):
        self.name = name
        self.block = Block()

    def node(self, op_class, name, operands=(), shape=None, **params):
        properties = {key: to_attribute(value) for key, value in params.items()}
        result_type = TensorType(f32, shape) if shape is not None else None
        op = nir.make_node(op_class, name, list(operands), result_type, properties)
        self.block.add_op(op)
        return op

    def graph(self, metadata: dict[str, float] | None = None) -> nir.GraphOp:
        attributes = {}
        if metadata is not None:
            attributes["metadata"] = DictionaryAttr(
                {key: FloatAttr(value, f64) for key, value in metadata.items()}
            )
        return nir.GraphOp.create(
            properties={"sym_name": StringAttr(self.name)},
            regions=[Region(self.block)],
            attributes=attributes,
        )

    def module(self, metadata: dict[str, float] | None = None) -> ModuleOp:
        return ModuleOp([self.graph(metadata)])
