"""Time nirmlir's HDF5 import against `nir.read` (nir 1.0.8) on the same files.

Usage: python bench/bench_hdf5.py [--repeat N] [--layers L] [--width W]

Files:
- `neuromorphs-NIR__cnn_sinabs.nir` from $NIRMLIR_SHARED/corpus/real (default
  ../shared next to the repository), skipped when absent;
- a generated chain Input -> (Affine WxW -> LIF W) x L -> Output, written with
  nirmlir's exporter (gzip, as nir 1.0.8 writes by default) into a temporary folder.
  The default 10 layers of 1000x1000 float32 weights contain 10 million weights (40 MB).

Each reader is timed two ways, both as the median of N runs with `time.perf_counter`
around the read alone. The first way starts a fresh Python process per run, so every
array lands in new memory. The second runs N times in a row inside this process, so
later runs reuse memory that earlier ones freed. `nir.read` runs with its default type
checking. Peak memory is the tracemalloc peak of one more import, which counts numpy
and Python allocations but not HDF5's own C buffers. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import nir
import numpy as np
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType, f32
from xdsl.ir import Block, Region

from nirmlir.context import make_context
from nirmlir.dense import dense_from_numpy
from nirmlir.dialects.nir import AffineOp, GraphOp, InputOp, LIFOp, OutputOp, make_node
from nirmlir.hdf5 import export_nir, import_nir

REPO_ROOT = Path(__file__).resolve().parent.parent
CNN_FILE = "neuromorphs-NIR__cnn_sinabs.nir"


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_megabytes(run: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6


def dense_chain(layers: int, width: int, seed: int = 0) -> ModuleOp:
    """Build Input -> (Affine -> LIF) x layers -> Output with random float32 weights."""
    rng = np.random.default_rng(seed)
    value_type = TensorType(f32, [width])
    block = Block()
    previous = make_node(InputOp, "input", [], value_type, {})
    block.add_op(previous)

    def neuron_parameter(value: float):
        return dense_from_numpy(np.full(width, value, dtype=np.float32))

    for layer in range(layers):
        weight = rng.standard_normal((width, width), dtype=np.float32)
        affine = make_node(
            AffineOp, f"fc{layer}", [previous.results[0]], value_type,
            {"weight": dense_from_numpy(weight), "bias": neuron_parameter(0.0)},
        )
        lif = make_node(
            LIFOp, f"lif{layer}", [affine.results[0]], value_type,
            {"tau": neuron_parameter(1e-2), "r": neuron_parameter(1.0), "v_leak": neuron_parameter(0.0),
             "v_threshold": neuron_parameter(1.0), "v_reset": neuron_parameter(0.0)},
        )
        block.add_op(affine)
        block.add_op(lif)
        previous = lif
    block.add_op(make_node(OutputOp, "output", [previous.results[0]], None, {}))
    graph = GraphOp.create(properties={"sym_name": StringAttr("main")}, regions=[Region(block)])
    return ModuleOp([graph])


def read_once(reader: str, path: Path) -> float:
    """Return the seconds one read takes in this process."""
    if reader == "nirmlir":
        ctx = make_context()
        start = time.perf_counter()
        import_nir(path, ctx)
    else:
        start = time.perf_counter()
        nir.read(path)
    return time.perf_counter() - start


def median_fresh_seconds(reader: str, path: Path, repeat: int) -> float:
    """Return the median time of `repeat` reads, each in a new Python process."""
    times = []
    for _ in range(repeat):
        command = [sys.executable, __file__, "--read-once", reader, str(path)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        times.append(float(output))
    return statistics.median(times)


def measure(label: str, path: Path, repeat: int) -> str:
    fresh_ours = median_fresh_seconds("nirmlir", path, repeat)
    fresh_reference = median_fresh_seconds("nir", path, repeat)
    warm_ours = median_seconds(lambda: import_nir(path, make_context()), repeat)
    warm_reference = median_seconds(lambda: nir.read(path), repeat)
    peak = peak_megabytes(lambda: import_nir(path, make_context()))
    size = path.stat().st_size / 1e6
    return (
        f"| {label} | {size:.2f} | {fresh_ours:.3f} | {fresh_reference:.3f} | "
        f"{warm_ours:.3f} | {warm_reference:.3f} | {peak:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the median is shown")
    parser.add_argument("--layers", type=int, default=10, help="Affine+LIF layers of the generated chain")
    parser.add_argument("--width", type=int, default=1000, help="neurons per layer of the generated chain")
    parser.add_argument("--read-once", nargs=2, metavar=("READER", "FILE"),
                        help="internal: print the seconds of one read with READER (nirmlir or nir)")
    args = parser.parse_args()
    if args.read_once:
        reader, path = args.read_once
        print(read_once(reader, Path(path)))
        return

    rows = []
    shared = Path(os.environ.get("NIRMLIR_SHARED", REPO_ROOT.parent / "shared"))
    cnn = shared / "corpus" / "real" / CNN_FILE
    if cnn.exists():
        rows.append(measure(CNN_FILE, cnn, args.repeat))
    else:
        print(f"skipping {CNN_FILE}: not found at {cnn}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chain.nir"
        start = time.perf_counter()
        export_nir(dense_chain(args.layers, args.width), path)
        export_seconds = time.perf_counter() - start
        weights = args.layers * args.width * args.width
        label = f"{args.layers} x (Affine {args.width}x{args.width} + LIF), {weights / 1e6:g}M weights"
        rows.append(measure(label, path, args.repeat))

    print(
        "| file | size (MB) | nirmlir import, fresh process (s) | nir.read, fresh process (s) "
        "| nirmlir import, in process (s) | nir.read, in process (s) | import peak (MB, tracemalloc) |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    print(f"\nExport of the generated chain (build excluded): {export_seconds:.2f} s, one run.")


if __name__ == "__main__":
    main()
