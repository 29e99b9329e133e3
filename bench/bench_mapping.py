"""Benchmark map-to-cores: inter-core traffic, cores used and mapping time per strategy.

Networks: generated sparse random, convolutional and recurrent networks of about 1 thousand to
1 million neurons, and the NIR paper's CNN and braille RNN. Every rate is 1, so traffic is the
sum over source neurons of the distinct other cores they reach. Each strategy maps the same
network in one run, and the checker confirms every mapping against the capacities.

Run: `python bench/bench_mapping.py [--sizes 1e3 1e4 1e5] [--million convolutional] [--json results.json]`.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import SHARED, format_seconds, tool_command, write_json  # noqa: E402

from nirmlir.context import make_context  # noqa: E402
from nirmlir.dialects import fxp  # noqa: E402
from nirmlir.mapping.check import measure, violations  # noqa: E402
from nirmlir.mapping.extract import extract_network  # noqa: E402
from nirmlir.mapping.network import Group, Network, Path as SynapsePath, Stage  # noqa: E402
from nirmlir.mapping.strategies import CPSAT_MAX_ATOMS, Atoms, LOAD_SCALE, map_network  # noqa: E402
from nirmlir.mapping.targets import TARGETS  # noqa: E402
from nirmlir.parser import parse_module  # noqa: E402

STRATEGIES = ("greedy", "metis", "hypergraph")
FAN_IN = 16
PAPER = {
    "paper CNN (scnn_mnist)": "kmheckel-spyx__scnn_mnist.nir",
    "paper braille RNN": "neuromorphs-NIR__braille_noDelay_bias_zero.nir",
}


# --------------------------------------------------------------------------------------
# Generated networks
# --------------------------------------------------------------------------------------


def _sheet_stage(side: int, rng: np.random.Generator, local: bool, fan_in: int | None = None) -> Stage:
    """Return FAN_IN random synapses into each neuron of a side x side sheet from another such sheet.

    Local sources lie at a Gaussian offset (standard deviation 2 neurons, wrapping at the edges)
    from the target's position; uniform sources anywhere.
    """
    size = side * side
    fan_in = fan_in or FAN_IN
    if local:
        y, x = np.divmod(np.arange(size), side)
        dy = np.rint(rng.normal(0, 2, (size, fan_in))).astype(np.int64)
        dx = np.rint(rng.normal(0, 2, (size, fan_in))).astype(np.int64)
        sources = ((y[:, None] + dy) % side) * side + (x[:, None] + dx) % side
    else:
        sources = rng.integers(0, size, (size, fan_in))
    sources = np.sort(sources, axis=1)
    indptr = np.arange(0, size * fan_in + 1, fan_in, dtype=np.int64)
    return Stage("dense", (size,), (size,), indptr=indptr, indices=sources.ravel())


def sparse_random(neurons: int, local: bool, seed: int = 0, fan_in: int | None = None) -> Network:
    """Return an input sheet and three sheets of neurons, each fed by `fan_in` (default FAN_IN) random synapses from the one before."""
    rng = np.random.default_rng(seed)
    fan_in = fan_in or FAN_IN
    side = max(2, round(math.sqrt(neurons / 3)))
    groups = [Group("input", (side * side,), placed=False)]
    paths = []
    for layer in range(3):
        stage = _sheet_stage(side, rng, local, fan_in)
        groups.append(Group(f"layer{layer}", (side * side,), placed=True, synapses=np.full(side * side, fan_in)))
        paths.append(SynapsePath(layer, layer + 1, [stage]))
    return Network(groups, paths, "sparse")


def recurrent(neurons: int, seed: int = 0) -> Network:
    """Return one recurrent sheet with local sparse recurrent synapses, an input sheet and a readout of 10."""
    rng = np.random.default_rng(seed)
    side = max(2, round(math.sqrt(neurons)))
    size = side * side
    recurrent_stage = _sheet_stage(side, rng, local=True)
    input_stage = _sheet_stage(side, rng, local=True)
    readout = Stage("dense", (size,), (10,), indptr=np.arange(0, 10 * size + 1, size), indices=np.tile(np.arange(size), 10))
    groups = [
        Group("input", (size,), placed=False),
        Group("rec", (size,), placed=True, synapses=np.full(size, 2 * FAN_IN)),
        Group("out", (10,), placed=True, readout=True, synapses=np.full(10, size)),
    ]
    paths = [SynapsePath(0, 1, [input_stage]), SynapsePath(1, 1, [recurrent_stage]), SynapsePath(1, 2, [readout])]
    return Network(groups, paths, "recurrent")


def small_dense() -> Network:
    """Return 2000 inputs densely connected to 20 neurons, then to 10: small enough for CP-SAT to prove its optimum."""
    def dense(size_in: int, size_out: int) -> Stage:
        indptr = np.arange(0, size_in * size_out + 1, size_in, dtype=np.int64)
        return Stage("dense", (size_in,), (size_out,), indptr=indptr, indices=np.tile(np.arange(size_in), size_out))

    groups = [
        Group("input", (2000,), placed=False),
        Group("hidden", (20,), placed=True, synapses=np.full(20, 2000)),
        Group("out", (10,), placed=True, readout=True, synapses=np.full(10, 20)),
    ]
    return Network(groups, [SynapsePath(0, 1, [dense(2000, 20)]), SynapsePath(1, 2, [dense(20, 10)])], "small")


def _lif(name: str, operand: str, shape: str) -> str:
    return (f'%{name} = fxp.lif "{name}"(%{operand}) {{voltage_decay = dense<4096> : tensor<{shape}xi16>, leak = dense<0> : tensor<{shape}xi16>, '
            f'v_threshold = dense<100> : tensor<{shape}xi16>, v_reset = dense<0> : tensor<{shape}xi16>, spike_test = "gt", spike_timing = "after_update", '
            f'reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", '
            f'voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true}} : tensor<{shape}xi16> -> tensor<{shape}xi8>')


def _conv(name: str, operand: str, channels_in: int, channels_out: int, side: int) -> str:
    return (f'%{name} = fxp.conv2d "{name}"(%{operand}) {{weight = dense<1> : tensor<{channels_out}x{channels_in}x3x3xi8>, weight_bits = 8 : i64, '
            f'weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true, '
            f'stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64}} '
            f': tensor<{channels_in}x{side}x{side}xi8> -> tensor<{channels_out}x{side}x{side}xi16>')


def convolutional_text(neurons: int) -> str:
    """Return fxp text of a CNN with about 12 H^2 neurons.

    Input 2xHxH -> 3x3 conv 8 -> IF -> 2x2 sum pool -> 3x3 conv 16 -> IF -> 4x4 sum pool -> affine 10 -> IF.
    """
    side = max(8, 8 * round(math.sqrt(neurons / 12) / 8))
    half = side // 2
    quarter = half // 4
    flat = 16 * quarter * quarter
    lines = [
        f'%in = fxp.input "in" {{scale = 1.0 : f64}} : tensor<2x{side}x{side}xi8>',
        _conv("conv1", "in", 2, 8, side),
        _lif("if1", "conv1", f"8x{side}x{side}"),
        f'%pool = fxp.sum_pool2d "pool"(%if1) {{kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, saturate = false}} '
        f': tensor<8x{side}x{side}xi8> -> tensor<8x{half}x{half}xi8>',
        _conv("conv2", "pool", 8, 16, half),
        _lif("if2", "conv2", f"16x{half}x{half}"),
        f'%pool2 = fxp.sum_pool2d "pool2"(%if2) {{kernel_size = array<i64: 4, 4>, stride = array<i64: 4, 4>, padding = array<i64: 0, 0>, saturate = false}} '
        f': tensor<16x{half}x{half}xi8> -> tensor<16x{quarter}x{quarter}xi8>',
        f'%flat = fxp.flatten "flat"(%pool2) {{start_dim = 0 : i64, end_dim = -1 : i64}} : tensor<16x{quarter}x{quarter}xi8> -> tensor<{flat}xi8>',
        f'%fc = fxp.affine "fc"(%flat) {{weight = dense<1> : tensor<10x{flat}xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, '
        f'input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true}} : tensor<{flat}xi8> -> tensor<10xi16>',
        _lif("if3", "fc", "10"),
        'fxp.output "out"(%if3) {scale = dense<1.0> : tensor<f64>} : tensor<10xi8>',
    ]
    return "fxp.graph @conv attributes {dt = 0.001 : f64} {\n" + "\n".join("  " + line for line in lines) + "\n}\n"


def network_from_text(text: str) -> Network:
    module = parse_module(text, make_context(), "<bench>")
    graph = next(op for op in module.ops if isinstance(op, fxp.GraphOp))
    return extract_network(graph)


def paper_network(filename: str) -> Network | None:
    path = SHARED / "corpus" / "real" / filename
    if not path.exists():
        return None
    completed = subprocess.run([*tool_command("nir-opt"), str(path), "--lower-to-fixedpoint=dt=1e-4"], capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr)
    return network_from_text(completed.stdout)


# --------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------


def chips_needed(network: Network, target_name: str) -> int:
    """Return the chips that give every strategy room: twice the load of the capacities, rounded up."""
    target = TARGETS[target_name]
    load = Atoms(network, target).load.sum() / LOAD_SCALE
    return max(1, math.ceil(2 * load / target.cores_per_chip))


def measure_strategies(network: Network, target_name: str, seed: int, cpsat_seconds: int) -> dict[str, dict]:
    target = TARGETS[target_name]
    core_count = target.cores_per_chip * chips_needed(network, target_name)
    results = {}
    strategies = list(STRATEGIES)
    if Atoms(network, target).placed_count <= CPSAT_MAX_ATOMS:
        strategies.append("cpsat")
    for strategy in strategies:
        start = time.perf_counter()
        result = map_network(network, target, core_count, strategy, seed, time_limit=cpsat_seconds)
        seconds = time.perf_counter() - start
        usage = measure(network, target, core_count, result.mapping)
        problems = violations(network, target, core_count, result.mapping, usage)
        if problems:
            raise RuntimeError(f"{strategy} on {network.graph_name}: {problems[0]}")
        results[strategy] = {"traffic": usage.traffic, "cores": usage.cores_used, "seconds": seconds, "gap": result.optimality_gap}
    return results


FAMILIES = {
    "sparse random, local": lambda neurons, seed: sparse_random(neurons, local=True, seed=seed),
    "sparse random, uniform": lambda neurons, seed: sparse_random(neurons, local=False, seed=seed),
    "convolutional": lambda neurons, seed: network_from_text(convolutional_text(neurons)),
    "recurrent": lambda neurons, seed: recurrent(neurons, seed=seed),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="*", default=[1e3, 1e4, 1e5], help="neurons of the generated networks")
    parser.add_argument("--million", nargs="*", default=["convolutional", "sparse random, local"], choices=list(FAMILIES),
                        help="families also generated with 1 million neurons")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES), help="generated network families")
    parser.add_argument("--no-paper", action="store_true", help="leave out the NIR paper's networks")
    parser.add_argument("--cpsat-seconds", type=int, default=20,
                        help="time limit of CP-SAT, which runs on the networks of at most 300 atoms")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generators and the partitioners")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false", help="leave out the fan-in sweep")
    args = parser.parse_args()

    cases: list[tuple[str, Network]] = []
    for size in args.sizes:
        for family in args.families:
            cases.append((family, FAMILIES[family](int(size), args.seed)))
    for family in args.million:
        cases.append((family, FAMILIES[family](1_000_000, args.seed)))
    cases.append(("small dense, 2000 inputs", small_dense()))
    for label, filename in ({} if args.no_paper else PAPER).items():
        network = paper_network(filename)
        if network is not None:
            cases.append((label, network))

    print("| network | neurons | target | strategy | cores | traffic | traffic / greedy | time |")
    print("|---|---:|---|---|---:|---:|---:|---:|")
    figures: dict[str, float] = {}
    for family, network in cases:
        placed = sum(network.groups[i].size for i in network.placed())
        for target_name in ("loihi2", "spinnaker2"):
            if target_name == "spinnaker2" and placed > 20_000:
                # NOTE: hypergraph partitioning into the 400 or more SpiNNaker2 cores of a 100 000-neuron
                # network takes minutes, so SpiNNaker2 figures stop at 10 000 neurons.
                continue
            results = measure_strategies(network, target_name, args.seed, args.cpsat_seconds)
            greedy = results["greedy"]["traffic"]
            for strategy, result in results.items():
                ratio = result["traffic"] / greedy if greedy else float("nan")
                label = strategy if result["gap"] is None else f"{strategy} (gap {result['gap']:.1%})"
                print(f"| {family} | {placed:,} | {target_name} | {label} | {result['cores']} | {result['traffic']:,.0f} | "
                      f"{ratio:.2f} | {format_seconds(result['seconds'])} |")
                key = f"{family} {placed} {target_name} {strategy}"
                figures[f"{key} traffic ratio"] = ratio
                figures[f"{key} seconds"] = result["seconds"]
                summarize(figures, family, placed, strategy, ratio, result["seconds"])
            sys.stdout.flush()
    if args.sweep:
        fan_in_sweep(args.seed, args.cpsat_seconds, figures)
    write_json(args.json, figures)


SWEEP_FAN_INS = (2, 4, 8, 16, 64)


def fan_in_sweep(seed: int, cpsat_seconds: int, figures: dict) -> None:
    """Print traffic / greedy against the fan-in for local and uniform sparse networks, and CP-SAT on small ones.

    The 10 000-neuron networks go on Loihi 2 (2 of 3 cores full, so few cuts) and SpiNNaker2 (40
    or more cores); the 300-neuron uniform networks are small enough for CP-SAT, whose gap bounds
    how far its best mapping can be from the optimum over mappings on that many cores.
    """
    print()
    print("Fan-in sweep: sparse random networks whose neurons each have the given number of synapses.")
    print()
    print("| network | fan-in | neurons | target | greedy traffic | metis / greedy | hypergraph / greedy | cpsat / greedy (gap) |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for local, neurons, targets in ((True, 10_000, ("loihi2", "spinnaker2")), (False, 10_000, ("loihi2", "spinnaker2")),
                                    (False, 300, ("spinnaker2",))):
        for fan_in in SWEEP_FAN_INS:
            network = sparse_random(neurons, local, seed, fan_in)
            placed = sum(network.groups[i].size for i in network.placed())
            for target_name in targets:
                results = measure_strategies(network, target_name, seed, cpsat_seconds)
                greedy = results["greedy"]["traffic"]
                cells = [f"{results[name]['traffic'] / greedy:.2f}" for name in ("metis", "hypergraph")]
                if "cpsat" in results:
                    cells.append(f"{results['cpsat']['traffic'] / greedy:.2f} ({results['cpsat']['gap']:.0%})")
                else:
                    cells.append("-")
                family = "local" if local else "uniform"
                print(f"| sparse random, {family} | {fan_in} | {placed:,} | {target_name} | {greedy:,.0f} | " + " | ".join(cells) + " |")
                figures[f"sweep {family} {fan_in} {placed} {target_name} hypergraph traffic ratio"] = results["hypergraph"]["traffic"] / greedy
                sys.stdout.flush()


def summarize(figures: dict, family: str, placed: int, strategy: str, ratio: float, seconds: float) -> None:
    """Keep the figures that run_all.py checks: the worst hypergraph traffic ratio per family and the
    longest mapping time of a network of a million neurons or more."""
    if strategy == "hypergraph":
        for prefix, key in (("sparse random", "hypergraph_worst_ratio_sparse"), ("convolutional", "hypergraph_worst_ratio_convolutional")):
            if family.startswith(prefix):
                figures[key] = max(figures.get(key, 0.0), ratio)
    if placed >= 900_000:
        figures["million_neuron_max_seconds"] = max(figures.get("million_neuron_max_seconds", 0.0), seconds)


if __name__ == "__main__":
    main()
