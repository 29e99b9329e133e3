"""Measure the reference simulator on the NIR paper's CNN at the snn and fxp levels.

Model: `neuromorphs-NIR__cnn_sinabs.nir` from the shared corpus (2x34x34 input, convolutions of
16, 16 and 8 channels, two sum pools, two dense layers, IF neurons). Input: seeded Bernoulli
spikes with probability 0.1, batch 32, 300 steps. The script reports, in one process:

- compile: discretize (preset sinabs, dt 1e-3 s) or lower to fixed point, plus building the kernels;
- run: `Program.run` over the whole input, recording the outputs only;
- steps per second and sample-steps per second of the run, and its CPU time (all threads),
  which other load on the machine disturbs less than the wall-clock time.

Times are medians of `--repeat` runs. Run: `python bench/bench_nir_run.py [--repeat 3] [--batch 32] [--steps 300]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NIRMLIR_SHARED", REPO_ROOT.parent / "shared"))
MODEL = SHARED / "corpus" / "real" / "neuromorphs-NIR__cnn_sinabs.nir"


def median_seconds(run, repeat: int) -> tuple[float, float, object]:
    """Return the median wall-clock and CPU seconds of `repeat` calls, and the last result."""
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()

    import nirmlir
    from nirmlir import api

    module = nirmlir.load(MODEL)
    x = (np.random.default_rng(0).random((args.batch, args.steps, 2, 34, 34)) < 0.1).astype(np.float64)
    print(f"{MODEL.name}: batch {args.batch}, {args.steps} steps; Python {platform.python_version()}, "
          f"numpy {np.__version__}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()})")
    for level in ("snn", "fxp"):
        compile_seconds, _, program = median_seconds(
            lambda: api.prepare(module, preset="sinabs", dt=1e-3, level=level), args.repeat
        )
        inputs = {"input": x.astype(np.int64) if level == "fxp" else x}
        run_seconds, run_cpu, traces = median_seconds(lambda: program.run(inputs), args.repeat)
        spikes = int(traces["output"]["spikes"].sum())
        print(
            f"{level}: compile {compile_seconds * 1e3:.0f} ms, run {run_seconds:.2f} s wall, {run_cpu:.2f} s CPU "
            f"({args.steps / run_seconds:.0f} steps/s, {args.batch * args.steps / run_seconds:.0f} sample-steps/s), "
            f"{spikes} output spikes"
        )


if __name__ == "__main__":
    main()
