"""Time HDF5 import and export against nir 1.0.8 as the node count and the weights grow.

Graphs (from `networks.py`): chains of N one-neuron LIF nodes between Input and Output,
N from `--nodes`; the paper CNN from the shared corpus, when present; and a chain of 10
Affine 1000x1000 + LIF layers (10 million weights, `--layers` and `--width`).

- import: `nirmlir.hdf5.import_nir` (read, infer shapes, build and verify the module)
  against `nir.read` with its default type check, on a file that `nir.write` wrote;
- export: `nirmlir.hdf5.export_nir` of the imported module against `nir.write` of the
  `nir.NIRGraph` it came from, each to its own new file.

Times are medians of `--repeat` runs in this process. A reader or writer whose first run
takes longer than `--slow` seconds runs only once. The scaling exponent is the slope of
log(time) over log(N) for the node chains (1 is linear, 2 quadratic).

Run: `python bench/bench_hdf5_nodes.py [--nodes 1000 3000 10000] [--json results.json]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nir

from benchlib import CNN_PATH, format_seconds, median_seconds, scaling_exponent, write_json
from networks import dense_chain, small_node_chain, weight_count


def timed(run: Callable[[], object], repeat: int, slow: float) -> float:
    """Return the median of `repeat` runs, or the first run alone when it exceeds `slow` seconds."""
    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    if first > slow or repeat <= 1:
        return first
    return statistics.median([first, *(median_seconds(run, 1) for _ in range(repeat - 1))])


def measure(label: str, graph: nir.NIRGraph, folder: Path, repeat: int, slow: float) -> dict:
    from nirmlir.context import make_context
    from nirmlir.hdf5 import export_nir, import_nir

    ctx = make_context()
    source = folder / f"{label}.nir"
    nir.write(source, graph)
    ours_import = timed(lambda: import_nir(source, ctx), repeat, slow)
    nir_import = timed(lambda: nir.read(source), repeat, slow)
    module = import_nir(source, ctx)
    ours_export = timed(lambda: export_nir(module, folder / "ours.nir"), repeat, slow)
    nir_export = timed(lambda: nir.write(folder / "theirs.nir", graph), repeat, slow)
    return {
        "label": label,
        "nodes": len(graph.nodes),
        "weights": weight_count(graph),
        "megabytes": source.stat().st_size / 1e6,
        "import": ours_import,
        "nir_read": nir_import,
        "export": ours_export,
        "nir_write": nir_export,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1000, 3000, 10000], help="LIF nodes per chain")
    parser.add_argument("--layers", type=int, default=10, help="Affine+LIF layers of the weight-heavy chain")
    parser.add_argument("--width", type=int, default=1000, help="neurons per layer of the weight-heavy chain")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown")
    parser.add_argument("--slow", type=float, default=10.0, help="seconds above which a side runs once")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    options = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for count in options.nodes:
            rows.append(measure(f"{count} LIF nodes", small_node_chain(count), folder, options.repeat, options.slow))
        chains = list(rows)
        if CNN_PATH.exists():
            rows.append(measure("cnn_sinabs.nir", nir.read(CNN_PATH), folder, options.repeat, options.slow))
        label = f"{options.layers} x (Affine {options.width}x{options.width} + LIF)"
        rows.append(measure(label, dense_chain(options.layers, options.width), folder, options.repeat, options.slow))

    print("| graph | file | nirmlir import | nir.read | speed-up | nirmlir export | nir.write | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['label']} | {row['megabytes']:.1f} MB | {format_seconds(row['import'])} | "
            f"{format_seconds(row['nir_read'])} | {row['nir_read'] / row['import']:.2f}x | "
            f"{format_seconds(row['export'])} | {format_seconds(row['nir_write'])} | "
            f"{row['nir_write'] / row['export']:.2f}x |"
        )

    counts = [row["nodes"] for row in chains]
    ours = scaling_exponent(counts, [row["import"] for row in chains])
    theirs = scaling_exponent(counts, [row["nir_read"] for row in chains])
    export = scaling_exponent(counts, [row["export"] for row in chains])

    def shown(exponent: float | None) -> str:
        return "n/a (all runs under 10 ms)" if exponent is None else f"{exponent:.2f}"

    print(
        f"\nScaling exponent over the LIF chains (time ~ nodes^k): nirmlir import {shown(ours)}, "
        f"nir.read {shown(theirs)}, nirmlir export {shown(export)}."
    )
    largest = chains[-1]
    write_json(options.json, {
        "largest_chain_nodes": largest["nodes"],
        "largest_chain_import_speedup": largest["nir_read"] / largest["import"],
        "import_exponent": ours,
        "nir_read_exponent": theirs,
        "export_exponent": export,
        "min_import_speedup": min(row["nir_read"] / row["import"] for row in rows),
        "min_export_speedup": min(row["nir_write"] / row["export"] for row in rows),
        "rows": rows,
    })


if __name__ == "__main__":
    main()
