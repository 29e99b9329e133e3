"""Byte-level mutations of valid inputs, and the seeds they start from, for the fuzz tests.

A mutation is a short list of edits, each drawn by hypothesis: flip a bit, overwrite,
insert or delete a byte, duplicate or drop a span, or splice in a token that parsers and
HDF5 readers treat specially (a huge number, a bracket, a NUL, an HDF5 signature).
"""

from __future__ import annotations

import io
from pathlib import Path

import nir
import numpy as np
from hypothesis import strategies as st

REPO_ROOT = Path(__file__).resolve().parent.parent

INTERESTING_TOKENS = (
    b"0", b"-1", b"1e999", b"nan", b"-0.0", b"99999999999999999999", b"0x", b"\"", b"\\",
    b"{", b"}", b"[", b"]", b"<", b">", b"(", b")", b"%", b"@", b"#", b":", b",", b"x",
    b"tensor<", b"dense<", b"array<i64:", b"\x00", b"\xff", b"\xc3", b"\n", b"// -----\n",
    b"\x89HDF\r\n\x1a\n", b"\xff\xff\xff\xff\xff\xff\xff\xff", b"\x00\x00\x00\x00",
)


@st.composite
def edits(draw, max_edits: int = 4) -> list[tuple[str, float, int, bytes]]:
    """Draw (kind, relative position, length, bytes) edits; positions are fractions of the length."""
    kinds = st.sampled_from(["flip", "byte", "insert", "delete", "duplicate", "token"])
    result = []
    for _ in range(draw(st.integers(1, max_edits))):
        kind = draw(kinds)
        position = draw(st.floats(0.0, 1.0, allow_nan=False))
        length = draw(st.integers(1, 64))
        if kind == "token":
            data = draw(st.sampled_from(INTERESTING_TOKENS))
        else:
            data = bytes([draw(st.integers(0, 255))])
        result.append((kind, position, length, data))
    return result


def apply_edits(data: bytes, edit_list: list[tuple[str, float, int, bytes]]) -> bytes:
    """Return ``data`` with each edit applied in order."""
    buffer = bytearray(data)
    for kind, position, length, value in edit_list:
        index = min(int(position * len(buffer)), max(len(buffer) - 1, 0))
        if not buffer:
            buffer.extend(value)
        elif kind == "flip":
            buffer[index] ^= 1 << (value[0] % 8)
        elif kind == "byte":
            buffer[index] = value[0]
        elif kind == "insert" or kind == "token":
            buffer[index:index] = value
        elif kind == "delete":
            del buffer[index : index + length]
        elif kind == "duplicate":
            buffer[index:index] = buffer[index : index + length]
    return bytes(buffer)


def text_seeds() -> list[bytes]:
    """Return valid textual IR of the nir, snn and fxp dialects.

    The seeds are the chunks of the lit tests' valid op files, and the example models
    printed at the nir level, after discretize and after lower-to-fixedpoint.
    """
    from nirmlir.context import make_context
    from nirmlir.hdf5 import import_nir
    from nirmlir.pipeline import run_pass_pipeline
    from nirmlir.printer import module_to_text

    seeds = []
    for dialect in ("nir", "snn", "fxp"):
        text = (REPO_ROOT / "lit_tests" / dialect / "ops.mlir").read_text(encoding="utf-8")
        for chunk in text.split("// -----\n"):
            body = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("//"))
            if body.strip():
                seeds.append(body.encode())
    for path in sorted((REPO_ROOT / "examples").glob("*.nir")):
        for pipeline in (None, "discretize{dt=1e-4 preset=norse}", "lower-to-fixedpoint{dt=1e-4}"):
            module = import_nir(path, make_context())
            if pipeline is not None:
                run_pass_pipeline(module, pipeline)
            seeds.append(module_to_text(module).encode())
    return seeds


def hdf5_seeds() -> list[bytes]:
    """Return small valid `.nir` files: the examples and a few graphs written without compression."""
    seeds = [path.read_bytes() for path in sorted((REPO_ROOT / "examples").glob("*.nir"))]
    weight = np.arange(6, dtype=np.float32).reshape(2, 3) / 6
    recurrent = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([3])}),
            "fc": nir.Affine(weight=weight, bias=np.zeros(2, dtype=np.float32)),
            "lif": nir.CubaLIF(
                tau_syn=np.full(2, 2e-3), tau_mem=np.full(2, 1e-2), r=np.ones(2), v_leak=np.zeros(2),
                v_threshold=np.ones(2), v_reset=np.zeros(2), w_in=np.ones(2),
            ),
            "w_rec": nir.Linear(weight=np.eye(2, dtype=np.float32)),
            "output": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
        metadata={"dt": 1e-4},
    )
    for graph in (recurrent,):
        buffer = io.BytesIO()
        nir.write(buffer, graph)
        seeds.append(buffer.getvalue())
    return seeds
