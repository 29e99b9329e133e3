"""Time each pass of lower-to-fixedpoint, and every registered chip lowering, as networks grow.

Two scaling curves, on graphs from `networks.py` that `nir.write` wrote and
`nirmlir.hdf5.import_nir` read back:

- over ops: chains of Affine 16x16 + LIF layers, 2 ops per layer (`--layers`);
- over weights: one dense Affine + LIF layer, one Conv2d 3x3 + IF layer on 8x8 pixels and
  one recurrent Affine + LIF pair, from 1e3 weights up to `--max-weights` (1e8 for the dense
  family, at most 1e7 for the others, whose builders and checks take longer).

Each run starts from a fresh copy of the imported nir module and applies the passes of
`lower-to-fixedpoint` one after the other, as `nir-opt -p` does: `nir-inline-subgraphs`,
`discretize{dt=1e-4 preset=norse}` and `quantize` with its defaults, then verifies and
prints the result. Every registered pass whose name starts with `lower-to-`, other than
`lower-to-fixedpoint`, also runs on a fresh copy; one that rejects the network is
reported with its diagnostic. The time of a stage is the median of `--repeat` runs.

The scaling exponent is the slope of log(time) over log(size) at the three largest sizes,
for the points above 10 ms (1 is linear, 2 quadratic). Memory: at the largest size of each weight family, the tracemalloc peak of
import, passes and printing together, against the bytes of the float32 weights, and the peak of
import and each chip lowering.

Run: `python bench/bench_passes.py [--max-weights 1e8] [--json results.json]`.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import nir

from benchlib import format_seconds, scaling_exponent, tracemalloc_peak_bytes, write_json
from networks import conv_weights, dense_chain, dense_weights, recurrent_weights, weight_count

FIXEDPOINT_STEPS = ["nir-inline-subgraphs", "discretize{dt=1e-4 preset=norse}", "quantize"]
STAGES = ["import", "nir-inline-subgraphs", "discretize", "quantize", "verify", "print"]


def chip_lowerings() -> list[str]:
    """Return the registered chip lowerings: passes named lower-to-* except lower-to-fixedpoint."""
    from nirmlir.registry import PASSES

    return sorted(name for name in PASSES if name.startswith("lower-to-") and name != "lower-to-fixedpoint")


def run_stages(path: Path, chips: list[str]) -> dict[str, float | str]:
    """Import the file, run the fixed-point passes one by one, verify and print; return seconds per stage.

    Each chip lowering then runs on its own fresh import; its entry is its seconds, or the
    first line of the diagnostic with which it rejected the network.
    """
    from nirmlir.context import make_context
    from nirmlir.diagnostics import DiagnosticError
    from nirmlir.hdf5 import import_nir
    from nirmlir.pipeline import parse_pass_pipeline
    from nirmlir.printer import module_to_text

    ctx = make_context()
    seconds: dict[str, float | str] = {}
    start = time.perf_counter()
    module = import_nir(path, ctx)
    seconds["import"] = time.perf_counter() - start
    for spec, pass_instance in zip(FIXEDPOINT_STEPS, parse_pass_pipeline(FIXEDPOINT_STEPS)):
        start = time.perf_counter()
        pass_instance.apply(ctx, module)
        seconds[spec.split("{")[0]] = time.perf_counter() - start
    start = time.perf_counter()
    module.verify()
    seconds["verify"] = time.perf_counter() - start
    start = time.perf_counter()
    text = module_to_text(module)
    seconds["print"] = time.perf_counter() - start
    del module, text

    for chip in chips:
        module = import_nir(path, ctx)
        (pass_instance,) = parse_pass_pipeline(chip)
        start = time.perf_counter()
        try:
            pass_instance.apply(ctx, module)
            seconds[chip] = time.perf_counter() - start
        except DiagnosticError as error:
            seconds[chip] = str(error).splitlines()[0]
        del module
    return seconds


def pipeline_peak(path: Path) -> int:
    """Return the tracemalloc peak of import, the fixed-point passes and printing."""
    from nirmlir.context import make_context
    from nirmlir.hdf5 import import_nir
    from nirmlir.pipeline import run_pass_pipeline
    from nirmlir.printer import module_to_text

    def pipeline():
        ctx = make_context()
        module = import_nir(path, ctx)
        run_pass_pipeline(module, FIXEDPOINT_STEPS, ctx)
        return module_to_text(module)

    return tracemalloc_peak_bytes(pipeline)


def chip_peak(path: Path, chip: str) -> int | None:
    """Return the tracemalloc peak of import and one chip lowering, or None when the lowering rejects the network."""
    from nirmlir.context import make_context
    from nirmlir.diagnostics import DiagnosticError
    from nirmlir.hdf5 import import_nir
    from nirmlir.pipeline import run_pass_pipeline

    def lowering():
        ctx = make_context()
        module = import_nir(path, ctx)
        run_pass_pipeline(module, [chip], ctx)

    try:
        return tracemalloc_peak_bytes(lowering)
    except DiagnosticError:
        return None


def median_stages(path: Path, chips: list[str], repeat: int) -> dict[str, float | str]:
    runs = []
    for _ in range(repeat):
        gc.collect()
        runs.append(run_stages(path, chips))
    medians: dict[str, float | str] = {}
    for stage, value in runs[0].items():
        if isinstance(value, str):
            medians[stage] = value
        else:
            medians[stage] = statistics.median(run[stage] for run in runs)
    return medians


def family_sizes(maximum: float, family: str) -> list[int]:
    limit = maximum if family == "dense" else min(maximum, 1e7)
    return [int(10**exponent) for exponent in range(3, 9) if 10**exponent <= limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[125, 500, 2000],
                        help="Affine 16x16 + LIF layers of the op-scaling chains")
    parser.add_argument("--max-weights", type=float, default=1e8, help="largest weight count of the dense family")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; medians are shown")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    options = parser.parse_args()

    from nirmlir.diagnostics import DiagnosticWarning

    # The range warnings on random weights are not about speed, and there are thousands of them.
    warnings.filterwarnings("ignore", category=DiagnosticWarning)
    chips = chip_lowerings()
    stages = STAGES + chips
    builders = {"dense": dense_weights, "conv": conv_weights, "recurrent": recurrent_weights}
    curves: dict[str, list[dict]] = {"ops": []}
    peaks: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for layers in options.layers:
            path = folder / f"chain{layers}.nir"
            graph = dense_chain(layers, 16)
            nir.write(path, graph)
            curves["ops"].append({"size": 2 * layers, "weights": weight_count(graph),
                                  **median_stages(path, chips, options.repeat)})
        for family, build in builders.items():
            curves[family] = []
            sizes = family_sizes(options.max_weights, family)
            for size in sizes:
                path = folder / f"{family}{size}.nir"
                graph = build(size)
                weights = weight_count(graph)
                nir.write(path, graph)
                del graph
                repeat = 1 if weights >= 5e7 else options.repeat
                curves[family].append({"size": weights, "weights": weights, **median_stages(path, chips, repeat)})
                if size == sizes[-1]:
                    peaks[family] = {"weights": weights, "peak_bytes": pipeline_peak(path),
                                     "chips": {chip: chip_peak(path, chip) for chip in chips}}
                path.unlink()

    exponents: dict[str, dict[str, float | None]] = {}
    for family, points in curves.items():
        unit = "ops" if family == "ops" else "weights"
        print(f"\n**{family if family != 'ops' else 'Affine 16x16 + LIF chains'}**, time per stage "
              f"against the number of {unit}:\n")
        print(f"| {unit} | " + " | ".join(stages) + " |")
        print("|---|" + "---|" * len(stages))
        for point in points:
            cells = [format_seconds(v) if isinstance(v, float) else "rejected" for v in (point[s] for s in stages)]
            print(f"| {point['size']:,} | " + " | ".join(cells) + " |")
        exponents[family] = {}
        for stage in stages:
            values = [point[stage] for point in points]
            if all(isinstance(value, float) for value in values):
                # The three largest sizes give the slope where fixed costs no longer dominate.
                sizes = [point["size"] for point in points]
                exponents[family][stage] = scaling_exponent(sizes[-3:], values[-3:])
        shown = ", ".join(
            f"{stage} {value:.2f}" for stage, value in exponents[family].items() if value is not None
        )
        print(f"\nScaling exponent over the three largest sizes (time ~ {unit}^k, points above 10 ms): {shown or 'all points under 10 ms'}.")
        for stage in chips:
            rejected = [p[stage] for p in points if isinstance(p[stage], str)]
            if rejected:
                print(f"\n{stage} rejected {len(rejected)} of these networks: {rejected[-1]}")

    print("\n| largest network | weights | float32 weight bytes | peak (tracemalloc) | peak / weights | "
          + " | ".join(f"{chip} peak / weights" for chip in chips) + " |")
    print("|---|---|---|---|---|" + "---|" * len(chips))
    for family, peak in peaks.items():
        weight_bytes = 4 * peak["weights"]
        chip_cells = ["rejected" if peak["chips"][chip] is None else f"{peak['chips'][chip] / weight_bytes:.2f}x"
                      for chip in chips]
        print(f"| {family} | {peak['weights']:,} | {weight_bytes / 1e6:.1f} MB | "
              f"{peak['peak_bytes'] / 1e6:.1f} MB | {peak['peak_bytes'] / weight_bytes:.2f}x | " + " | ".join(chip_cells) + " |")
    print(f"\nRegistered chip lowerings timed: {', '.join(chips) if chips else 'none yet'}.")

    measured = [value for family in exponents.values() for value in family.values() if value is not None]
    write_json(options.json, {
        "max_exponent": max(measured) if measured else None,
        "exponents": exponents,
        "max_peak_ratio": max(p["peak_bytes"] / (4 * p["weights"]) for p in peaks.values()) if peaks else None,
        "max_chip_peak_ratio": max((b / (4 * p["weights"]) for p in peaks.values() for b in p["chips"].values() if b is not None),
                                   default=None),
        "curves": curves,
        "chips": chips,
    })


if __name__ == "__main__":
    main()
