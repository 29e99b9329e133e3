"""Helpers shared by the benchmark scripts: timing, peak memory, processes and results.

Every script prints Markdown on stdout. With `--json FILE` it also writes the figures that
`run_all.py` checks against the targets, as one JSON object.
"""

from __future__ import annotations

import compileall
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NIRMLIR_SHARED", REPO_ROOT.parent / "shared"))
CNN_PATH = SHARED / "corpus" / "real" / "neuromorphs-NIR__cnn_sinabs.nir"


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    """Return the median wall time of `repeat` calls.

    Each call starts after `gc.collect()` and frees the previous result first, so later runs do
    not walk the modules of earlier ones.
    """
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        del result
    return statistics.median(times)


def tracemalloc_peak_bytes(run: Callable[[], object]) -> int:
    """Return the tracemalloc peak of one call: numpy and Python allocations, not HDF5's C buffers."""
    gc.collect()
    tracemalloc.start()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak


def run_process(command: Sequence[str], **keywords) -> tuple[float, float, int]:
    """Run a command to completion; return its wall seconds, CPU seconds and peak RSS in bytes.

    The CPU time (user plus system, all threads) and the peak RSS come from `os.wait4`, so
    they belong to this child alone. A non-zero exit raises `CalledProcessError`.
    """
    start = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **keywords
    )
    stderr = child.stderr.read()
    child.stderr.close()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, command, stderr=stderr.decode())
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def median_processes(
    commands: dict[str, Sequence[str]], repeat: int, **keywords
) -> dict[str, tuple[float, float, int]]:
    """Run every command once per round, `repeat` rounds; return per command the median
    wall and CPU seconds and the maximum peak RSS. Interleaving the commands exposes
    them all to the same load on a shared machine."""
    samples: dict[str, list[tuple[float, float, int]]] = {label: [] for label in commands}
    for _ in range(repeat):
        for label, command in commands.items():
            samples[label].append(run_process(command, **keywords))
    return {
        label: (
            statistics.median(sample[0] for sample in runs),
            statistics.median(sample[1] for sample in runs),
            max(sample[2] for sample in runs),
        )
        for label, runs in samples.items()
    }


def compile_bytecode() -> None:
    """Write the bytecode of every nirmlir module, as installing a package does.

    Python writes it on first import unless PYTHONDONTWRITEBYTECODE is set. Where it is
    set, every timed process would compile each module changed since the last write.
    """
    for folder in ("nirmlir", "dialects", "passes", "tools"):
        compileall.compile_dir(REPO_ROOT / folder, quiet=1)


def tool_command(name: str) -> list[str]:
    """Return the command of a console script installed beside this Python, such as nir-opt."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    module = name.replace("-", "_")
    return [sys.executable, "-m", f"nirmlir.tools.{module}"]


def scaling_exponent(sizes: Sequence[float], seconds: Sequence[float], floor: float = 0.01) -> float | None:
    """Return the least-squares slope of log(seconds) against log(size).

    Only points above `floor` seconds count, because a fixed cost flattens the small sizes.
    A slope near 1 is linear and near 2 quadratic; None when fewer than two points remain.
    """
    points = [(math.log(size), math.log(time)) for size, time in zip(sizes, seconds) if time >= floor]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def write_json(path: str | None, results: dict) -> None:
    """Write the figures for `run_all.py` when the script was given `--json PATH`."""
    if path:
        Path(path).write_text(json.dumps(results, indent=1, sort_keys=True))


def format_seconds(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 0.1:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"
