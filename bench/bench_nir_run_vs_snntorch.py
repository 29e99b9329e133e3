"""Time `nir-run` on the NIR paper's CNN against the same network built by hand in snnTorch.

Model: `neuromorphs-NIR__cnn_sinabs.nir` from the shared corpus (2x34x34 input, convolutions of
16, 16 and 8 channels, two 2x2 sum pools, Flatten, dense layers of 256 and 10, IF neurons with
r = 1, threshold 1 and v_reset 0). Input: seeded Bernoulli spikes with probability 0.1, batch 32,
300 steps by default.

snnTorch 0.9.4's NIR importer has no SumPool2d, and Norse 1.1.0's Flatten flattens the batch
axis, so the peer network is built here from the file's parameters. Each Conv2d and Affine becomes
a torch Conv2d or Linear with the file's weights and biases. Each SumPool2d becomes `avg_pool2d`
with `divisor_override=1`, a sum, and Flatten keeps the batch axis (start_dim=1). Each IF becomes
`snntorch.Leaky(beta=1, threshold=1, reset_mechanism="zero", reset_delay=False)`: mem = mem + x,
a spike where mem > 1, and mem = 0 in the spike step. nirmlir's preset snntorch gives IF exactly
this rule (v += r·x, the test v > θ after the update, reset to v_reset = 0). With snnTorch's
default reset_delay=True the spikes are the same, but mem is zeroed one step later.

Before timing, the script runs `nirmlir.simulate` and the peer on the benchmark input and
compares the spikes of every IF layer at every step, with torch in float32 and in float64 (nirmlir
computes in float64). Then it times, in one process, medians of `--repeat` rounds, each of which runs every side once:

- nirmlir snn: `Program.run` of the snn-level program, compiled once beforehand;
- nirmlir fxp: the same at the fixed-point level (default quantize options);
- nir-run: the whole command as a subprocess (start-up, import, compile, run, writing the .npz);
- snnTorch float32 and float64: the 300-step loop under `torch.no_grad()`.

numpy's BLAS and torch use `--threads` threads (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and
MKL_NUM_THREADS are set before numpy and torch load, and `torch.set_num_threads`), also in the
nir-run subprocess. Every side records the output layer's spikes only.

Run: `python bench/bench_nir_run_vs_snntorch.py [--repeat 3] [--threads 2] [--batch 32] [--steps 300]`
in an environment with the `peers` extra (torch 2.13.0, snntorch 0.9.4).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NIRMLIR_SHARED", REPO_ROOT.parent / "shared"))
MODEL = SHARED / "corpus" / "real" / "neuromorphs-NIR__cnn_sinabs.nir"
PRESET = "snntorch"
DT_SECONDS = 1e-4
"""snnTorch's fixed step; IF neurons have no time constant, so the spikes do not depend on it."""
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(threads: int) -> None:
    """Set the thread count of numpy's BLAS and of torch; call it before either is imported."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def median_times(sides: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple[float, float]]:
    """Run every side once per round for `repeat` rounds; return each side's median wall-clock and CPU seconds.

    CPU seconds count this process and its waited-for children. Running the sides in turn
    spreads a burst of load from other processes over all of them.
    """
    wall: dict[str, list[float]] = {label: [] for label in sides}
    cpu: dict[str, list[float]] = {label: [] for label in sides}
    for _ in range(repeat):
        for label, run in sides.items():
            start_cpu = _cpu_seconds()
            start = time.perf_counter()
            run()
            wall[label].append(time.perf_counter() - start)
            cpu[label].append(_cpu_seconds() - start_cpu)
    return {label: (statistics.median(wall[label]), statistics.median(cpu[label])) for label in sides}


def nir_run_executable() -> str:
    """Return the nir-run script of this interpreter's environment, else the one on PATH."""
    beside = Path(sys.executable).parent / "nir-run"
    if beside.exists():
        return str(beside)
    found = shutil.which("nir-run")
    if found is None:
        sys.exit("nir-run not found beside this Python or on PATH: pip install -e .")
    return found


def machine_busy_seconds() -> float | None:
    """Return the CPU seconds that every process on the machine has used since boot, or None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as stream:
            fields = stream.readline().split()[1:]
    except OSError:
        return None
    # user, nice, system, idle, iowait, irq, softirq, steal: everything but idle and iowait is busy.
    ticks = [int(value) for value in fields[:8]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# --------------------------------------------------------------------------------------
# The snnTorch network
# --------------------------------------------------------------------------------------


def chain_order(graph) -> list[str]:
    """Return the node names of a graph that is one chain from its Input to its Output."""
    import nir

    successors: dict[str, list[str]] = {}
    for source, target in graph.edges:
        successors.setdefault(source, []).append(target)
    (name,) = [key for key, node in graph.nodes.items() if isinstance(node, nir.Input)]
    order = [name]
    while successors.get(name):
        if len(successors[name]) != 1:
            raise ValueError(f"node '{name}' has {len(successors[name])} successors; expected a chain")
        name = successors[name][0]
        order.append(name)
    return order


class SumPool2d:
    """A sum pool: torch's `avg_pool2d` with the divisor overridden to 1, so nothing is divided."""

    def __init__(self, node):
        self.kernel_size = tuple(int(k) for k in node.kernel_size)
        self.stride = tuple(int(s) for s in node.stride)
        self.padding = tuple(int(p) for p in node.padding)

    def __call__(self, x):
        import torch.nn.functional as functional

        return functional.avg_pool2d(x, self.kernel_size, self.stride, self.padding, divisor_override=1)


class SnnTorchCNN:
    """The CNN of a NIR graph as torch layers and snnTorch IF neurons; `run` steps it over time."""

    def __init__(self, graph, dtype):
        import nir
        import numpy as np
        import snntorch
        import torch

        self.dtype = dtype
        self.layers: list[tuple[str, object, bool]] = []
        for name in chain_order(graph):
            node = graph.nodes[name]
            if isinstance(node, nir.Input | nir.Output):
                continue
            if isinstance(node, nir.Conv2d):
                if int(node.groups) != 1:
                    raise ValueError(f"node '{name}': groups {node.groups} is not supported here")
                layer = torch.nn.Conv2d(
                    node.weight.shape[1],
                    node.weight.shape[0],
                    node.weight.shape[2:],
                    stride=tuple(int(s) for s in node.stride),
                    padding=tuple(int(p) for p in node.padding),
                    dilation=tuple(int(d) for d in node.dilation),
                )
                layer.weight.data = torch.from_numpy(np.asarray(node.weight, dtype=np.float32))
                layer.bias.data = torch.from_numpy(np.asarray(node.bias, dtype=np.float32))
            elif isinstance(node, nir.Affine):
                layer = torch.nn.Linear(node.weight.shape[1], node.weight.shape[0])
                layer.weight.data = torch.from_numpy(np.asarray(node.weight, dtype=np.float32))
                layer.bias.data = torch.from_numpy(np.asarray(node.bias, dtype=np.float32))
            elif isinstance(node, nir.SumPool2d):
                layer = SumPool2d(node)
            elif isinstance(node, nir.Flatten):
                # NIR's start_dim counts from the first axis of one sample; torch's includes the batch.
                layer = torch.nn.Flatten(start_dim=int(node.start_dim) + 1)
            elif isinstance(node, nir.IF):
                for field in ("r", "v_threshold"):
                    if not np.all(np.asarray(getattr(node, field)) == 1.0):
                        raise ValueError(f"node '{name}': IF with {field} != 1 is not supported here")
                if not np.all(np.asarray(node.v_reset) == 0.0):
                    raise ValueError(f"node '{name}': IF with v_reset != 0 is not supported here")
                layer = snntorch.Leaky(beta=1.0, threshold=1.0, reset_mechanism="zero", reset_delay=False)
                # snnTorch's default surrogate returns float32 spikes whatever the voltage's dtype.
                layer.spike_grad = lambda shifted: (shifted > 0).to(shifted.dtype)
            else:
                raise ValueError(f"node '{name}': {type(node).__name__} is not supported here")
            if isinstance(layer, torch.nn.Module):
                layer.to(dtype)
            self.layers.append((name, layer, isinstance(node, nir.IF)))

    def run(self, x, record_all: bool = False) -> dict[str, object]:
        """Step the network over x (B, T, *input_shape) from zero state; return node -> spikes (B, T, ...).

        Only the last layer is recorded unless `record_all`; it also records every IF voltage as NODE/v.
        """
        import torch

        names = [name for name, _, neuron in self.layers if neuron]
        recorded = names if record_all else names[-1:]
        memories: dict[str, object] = {name: None for name in names}
        traces: dict[str, list] = {}
        with torch.no_grad():
            for t in range(x.shape[1]):
                value = x[:, t]
                for name, layer, neuron in self.layers:
                    if not neuron:
                        value = layer(value)
                        continue
                    if memories[name] is None:
                        memories[name] = torch.zeros_like(value)
                    value, memories[name] = layer(value, memories[name])
                    if name in recorded:
                        traces.setdefault(name, []).append(value)
                        if record_all:
                            traces.setdefault(f"{name}/v", []).append(memories[name])
        return {key: torch.stack(steps, dim=1) for key, steps in traces.items()}


# --------------------------------------------------------------------------------------
# The spike check
# --------------------------------------------------------------------------------------


def compare_spikes(label: str, peer: dict[str, object], ours: dict[str, dict[str, object]]) -> tuple[list[str], int]:
    """Compare the IF layers of one peer run with nirmlir's traces.

    Return one line per layer (spikes, mismatched elements and the first step with one, maximum
    voltage difference) and the total number of mismatched spike elements.
    """
    import numpy as np

    lines, mismatches = [], 0
    for name, traces in ours.items():
        if name not in peer:
            continue
        theirs = peer[name].double().numpy()
        mine = np.asarray(traces["spikes"], dtype=np.float64)
        differ = theirs != mine
        voltage_error = np.abs(peer[f"{name}/v"].double().numpy() - traces["v"]).max()
        if differ.any():
            steps_with_mismatch = np.argwhere(differ.any(axis=tuple(range(2, differ.ndim))))[:, 1]
            status = f"{int(differ.sum())} of {differ.size} elements differ, the first at step {steps_with_mismatch.min()}"
        else:
            status = "identical"
        mismatches += int(differ.sum())
        lines.append(f"  {label}, layer {name}: {int(mine.sum())} spikes, {status}; max |v difference| {voltage_error:.2g}")
    return lines, mismatches


def check_spikes(module, fxp_program, peers: dict[str, SnnTorchCNN], x64, x_torch: dict[str, object]) -> None:
    """Print how the IF spikes of each peer precision and of the fxp level compare with `nirmlir.simulate`.

    Exit with an error when the float64 peer differs. Both sides then add the same float32 weights
    in float64. There, a sum that passes the threshold in one order of addition but not in the
    other is far rarer than in float32, so a mismatch more likely means that the networks differ.
    """
    import numpy as np

    import nirmlir

    neurons = [name for name, _, neuron in peers["float64"].layers if neuron]
    ours = nirmlir.simulate(module, x64, preset=PRESET, dt=DT_SECONDS, record=neurons)
    print(f"spike check against nirmlir (preset {PRESET}, dt {DT_SECONDS:g} s, float64):")
    ours32 = nirmlir.simulate(module, x64, preset=PRESET, dt=DT_SECONDS, record=neurons, precision="float32")
    for label, peer in peers.items():
        lines, mismatches = compare_spikes(f"snnTorch {label}", peer.run(x_torch[label], record_all=True), ours)
        print("\n".join(lines))
        if label == "float32":
            lines, _ = compare_spikes(
                "snnTorch float32 against nirmlir float32", peer.run(x_torch[label], record_all=True), ours32
            )
            print("\n".join(lines))
        if mismatches and label == "float64":
            sys.exit(
                f"the float64 snnTorch network and nirmlir differ in {mismatches} spike elements; "
                "fix the peer network before timing it"
            )

    fxp_spikes = fxp_program.run({"input": x64.astype(np.int64)})["output"]["spikes"]
    snn_spikes = ours[neurons[-1]]["spikes"]
    agreement = float((fxp_spikes == snn_spikes).mean())
    print(
        f"  nirmlir fxp (default quantize options), output layer: {int(fxp_spikes.sum())} spikes against "
        f"{int(snn_spikes.sum())} at the snn level; {agreement:.2%} of the elements are equal"
    )


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


def nir_run_command(input_path: Path, output_path: Path, threads: int) -> list[str]:
    return [
        nir_run_executable(),
        str(MODEL),
        "--preset",
        PRESET,
        "--dt",
        f"{DT_SECONDS:g}",
        "--input",
        str(input_path),
        "-o",
        str(output_path),
        "--precision",
        "float32",
        "--threads",
        str(threads),
    ]


def time_sides(
    snn_program, snn32_program, fxp_program, peers, x64, x_torch, repeat: int, threads: int
) -> dict[str, tuple[float, float]]:
    """Return side -> (median wall seconds, median CPU seconds) for every timed side, nirmlir first."""
    import numpy as np

    x_int = x64.astype(np.int64)
    with tempfile.TemporaryDirectory() as folder:
        input_path, output_path = Path(folder) / "x.npy", Path(folder) / "out.npz"
        np.save(input_path, x64.astype(np.float32))
        command = nir_run_command(input_path, output_path, threads)
        print("nir-run command: " + " ".join(command))
        sides = {
            "nirmlir snn float64, Program.run": lambda: snn_program.run({"input": x64}),
            f"nirmlir snn float64, Program.run threads={threads}": lambda: snn_program.run({"input": x64}, threads=threads),
            f"nirmlir snn float32, Program.run threads={threads}": lambda: snn32_program.run(
                {"input": x64}, threads=threads
            ),
            f"nirmlir fxp, Program.run threads={threads}": lambda: fxp_program.run({"input": x_int}, threads=threads),
            "nir-run float32 subprocess, end to end": lambda: subprocess.run(command, check=True, env=os.environ),
        }
        for label, peer in peers.items():
            sides[f"snnTorch {label}, no_grad"] = lambda peer=peer, label=label: peer.run(x_torch[label])
        busy_before, own_before, start = machine_busy_seconds(), _cpu_seconds(), time.perf_counter()
        times = median_times(sides, repeat)
        busy_after, own_after, elapsed = machine_busy_seconds(), _cpu_seconds(), time.perf_counter() - start
        if busy_before is not None and busy_after is not None:
            other = (busy_after - busy_before) - (own_after - own_before)
            print(
                f"other processes used {max(other, 0.0):.1f} CPU seconds of the {elapsed:.1f} s of timing "
                f"on {os.cpu_count()} CPUs"
            )

        written = np.load(output_path)["output/spikes"]
        expected = snn32_program.run({"input": x64})["output"]["spikes"]
        if not np.array_equal(written, expected):
            sys.exit(f"nir-run wrote output spikes that differ from Program.run's ({output_path})")
    return times


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds, each running every side once; medians are reported")
    parser.add_argument("--threads", type=int, default=2, help="threads for numpy's BLAS and for torch")
    parser.add_argument("--batch", type=int, default=32, help="samples per run")
    parser.add_argument("--steps", type=int, default=300, help="time steps per run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Bernoulli input spikes")
    args = parser.parse_args()
    limit_threads(args.threads)

    import nir
    import numpy as np

    try:
        import snntorch
        import torch
    except ImportError:
        sys.exit("this benchmark needs torch and snntorch: pip install -e '.[test,peers]'")

    import nirmlir
    from nirmlir import api

    torch.set_num_threads(args.threads)
    module = nirmlir.load(MODEL)
    graph = nir.read(str(MODEL))
    x64 = (np.random.default_rng(args.seed).random((args.batch, args.steps, 2, 34, 34)) < 0.1).astype(np.float64)
    x_torch = {"float32": torch.from_numpy(x64.astype(np.float32)), "float64": torch.from_numpy(x64)}
    print(
        f"{MODEL.name}: batch {args.batch}, {args.steps} steps, {args.threads} threads; "
        f"Python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
        f"snntorch {snntorch.__version__}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()})"
    )

    snn_program = api.prepare(module, preset=PRESET, dt=DT_SECONDS, level="snn")
    snn32_program = api.prepare(module, preset=PRESET, dt=DT_SECONDS, level="snn", precision="float32")
    fxp_program = api.prepare(module, preset=PRESET, dt=DT_SECONDS, level="fxp")
    peers = {"float32": SnnTorchCNN(graph, torch.float32), "float64": SnnTorchCNN(graph, torch.float64)}
    check_spikes(module, fxp_program, peers, x64, x_torch)

    times = time_sides(snn_program, snn32_program, fxp_program, peers, x64, x_torch, args.repeat, args.threads)
    reference = times["snnTorch float32, no_grad"][0]
    print(
        f"medians of {args.repeat} rounds; ratio = snnTorch float32 wall time / this side's "
        "(above 1: faster than snnTorch float32)"
    )
    print("| side | wall s | CPU s | sample-steps/s | ratio |")
    print("|---|---|---|---|---|")
    for label, (wall, cpu) in times.items():
        rate = args.batch * args.steps / wall
        print(f"| {label} | {wall:.2f} | {cpu:.2f} | {rate:,.0f} | {reference / wall:.2f}x |")


if __name__ == "__main__":
    main()
