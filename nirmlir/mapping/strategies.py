"""Mapping strategies: greedy in order, multilevel graph partitioning (pymetis), hypergraph
partitioning on the connectivity metric (mtkahypar) and an exact CP-SAT model (ortools).

Partitioners work on atoms: a convolution output's neurons at one spatial position (they have
the same sources), or a run of consecutive neurons of another group, sized so that a graph has
at most `MAX_ATOMS` atoms. Every result is checked with `check.violations`; a partition that
exceeds a capacity is retried with more cores, then rejected with a diagnostic.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.mapping.check import Excess, Mapping, groups_on, layer_memory, measure, over_capacity, role_counts, role_of, violations
from nirmlir.mapping.network import Network, pull_pairs, sorted_unique, source_label_pairs
from nirmlir.mapping.targets import MAX_CHIPS, Target

STRATEGIES = ("greedy", "metis", "hypergraph", "cpsat")
"""Strategies that place neurons; `keep` (in the pass) reads the cores that a chip level already assigned."""
MAX_ATOMS = 100_000
CPSAT_MAX_ATOMS = 300
"""Largest graph, in atoms, that the CP-SAT model accepts: its size grows with atoms times cores."""
RATE_SCALE = 1000
"""Integer weight of one spike per step, for partitioners that take integer weights."""
RETRIES = 6
MAX_SEED = 2**31 - 1
"""Largest seed: Mt-KaHyPar, METIS and CP-SAT take a 32-bit signed seed."""
LOAD_SCALE = 1_000_000
"""Integer load of one full core in the partitioners' balance constraint."""


@dataclass
class Result:
    mapping: Mapping
    note: str = ""
    optimality_gap: float | None = None
    """(objective - best bound) / objective of the CP-SAT model; 0 when it proved the optimum."""


def check_fits(network: Network, target: Target, core_count: int) -> None:
    """Raise a diagnostic naming the op, resource and shortfall when no mapping can exist."""
    for role, used in role_counts(network).items():
        limit = target.limits.get(role)
        if limit is not None and used > limit:
            groups = [group for group in network.groups if role_of(group) == role]
            raise network.error(groups[-1], f"{role.replace('_', ' ')}: the graph has {used} but {target.chip} has {limit} (short by {used - limit})")
    if target.whole_layers:
        _check_layers(network, target, core_count)
        return
    capacity = core_count * target.neurons_per_core
    needed = sum(network.groups[index].size for index in network.placed())
    total = 0
    for index in network.placed():
        group = network.groups[index]
        total += group.size
        if total > capacity:
            chips = math.ceil(needed / (target.cores_per_chip * target.neurons_per_core))
            user_set = "pass option" in target.sources.get("neurons_per_core", "")
            if target.cores_per_chip == 1:
                advice = "give a larger neurons-per-core" if user_set else f"the graph does not fit one {target.chip}; make it smaller"
            else:
                advice = f"give chips={chips}" if chips <= MAX_CHIPS else "give more chips"
                if user_set:
                    advice += " or a larger neurons-per-core"
            so_far = f"; the groups up to this one already need {total}" if total < needed else ""
            cores = f"{core_count} cores" if core_count != 1 else "the one core"
            raise network.error(group, f"neurons: the graph has {needed} but {cores} of {target.chip} hold {capacity} "
                                f"(short by {needed - capacity}{so_far}); {advice}")
        if target.synapses_per_core is not None and group.size and group.synapses.max() > target.synapses_per_core:
            most = int(group.synapses.max())
            raise network.error(group, f"synapses: one neuron has {most} synapse entries but "
                                f"{_capacity_phrase(target, 'synapses', target.synapses_per_core).replace(' has ', ' stores ')} "
                                f"(short by {most - target.synapses_per_core})")
    if target.fan_in_per_core is not None:
        for index, most in _largest_neuron_fan_in(network).items():
            if most > target.fan_in_per_core:
                raise network.error(network.groups[index], f"fan-in: one neuron receives spikes from {most} source neurons but "
                                    f"{_capacity_phrase(target, 'fan-in', target.fan_in_per_core)} (short by {most - target.fan_in_per_core})")


def _largest_neuron_fan_in(network: Network) -> dict[int, int]:
    """Return, per placed group, the most distinct source neurons that one of its neurons receives from."""
    keys_by_target: dict[int, list[np.ndarray]] = {}
    offsets = np.cumsum([0] + [group.size for group in network.groups])
    for path in network.paths:
        size = network.groups[path.target].size
        keys = pull_pairs(path.stages, np.arange(size), size)
        source, neuron = np.divmod(keys, size)
        keys_by_target.setdefault(path.target, []).append((source + offsets[path.source]) * size + neuron)
    largest = {}
    for index, parts in keys_by_target.items():
        size = network.groups[index].size
        keys = sorted_unique(np.concatenate(parts))
        largest[index] = int(np.bincount(keys % size, minlength=size).max()) if keys.size else 0
    return largest


CAPACITY_OPTIONS = {"neurons": "neurons-per-core", "synapses": "synapses-per-core", "fan-in": "fan-in-per-core",
                    "destinations": "destinations-per-core"}


def _capacity_phrase(target: Target, resource: str, capacity: int) -> str:
    """Return "fan-in-per-core is N" for a capacity set by a pass option, else "a core of CHIP has N"."""
    option = CAPACITY_OPTIONS.get(resource)
    if option is not None and "pass option" in target.sources.get(option.replace("-", "_"), ""):
        return f"{option} is {capacity}"
    return f"a core of {target.chip} has {capacity}"


def capacity_error(network: Network, target: Target, mapping: Mapping, excess: Excess, strategy: str, advice: str) -> DiagnosticError:
    """Return a diagnostic about the group with the most neurons on the core that `excess` names."""
    on_core = groups_on(network, mapping, excess.core)
    group = network.groups[on_core[0] if on_core else network.placed()[-1]]
    capacity = _capacity_phrase(target, excess.resource, excess.capacity)
    return network.error(group, f"{excess.resource}: in the {strategy} mapping, core {excess.core} (with neurons of this group) "
                         f"has {excess.used} but {capacity} (short by {excess.used - excess.capacity}); {advice}")


def _check_layers(network: Network, target: Target, core_count: int) -> None:
    placed = network.placed()
    if len(placed) > core_count:
        raise network.error(network.groups[placed[core_count]], f"cores: the graph has {len(placed)} layers but {target.chip} has {core_count} cores (short by {len(placed) - core_count})")
    fan_out: dict[int, set[int]] = {}
    for path in network.paths:
        fan_out.setdefault(path.source, set()).add(path.target)
    for index in placed:
        group = network.groups[index]
        destinations = len(fan_out.get(index, ()))
        if target.destinations_per_core is not None and destinations > target.destinations_per_core:
            raise network.error(group, f"destinations: the layer sends to {destinations} layers but a core of {target.chip} "
                                f"sends to {target.destinations_per_core} (short by {destinations - target.destinations_per_core})")
        if group.layer is None:
            raise network.error(group, f"has no convolution or affine op before it; a {target.chip} core starts with a kernel")
        needs = dict(zip(("kernel memory", "neuron memory", "bias memory"), layer_memory(group.layer)))
        largest = {"kernel memory": max(target.kernel_memory), "neuron memory": max(target.neuron_memory), "bias memory": target.bias_memory}
        for resource, need in needs.items():
            if need > largest[resource]:
                raise network.error(group, f"{resource}: the layer needs {need} entries but the largest core of {target.chip} "
                                    f"has {largest[resource]} (short by {need - largest[resource]})")


def _layer_fits(group, target: Target, core: int) -> bool:
    kernel, neuron, bias = layer_memory(group.layer)
    return kernel <= target.kernel_memory[core] and neuron <= target.neuron_memory[core] and bias <= target.bias_memory


def _whole_layers(network: Network, target: Target, core_count: int, strategy: str) -> Result:
    """Place one layer per core: first fit in order for greedy, else a maximum bipartite matching."""
    placed = network.placed()
    if strategy == "greedy":
        free = list(range(core_count))
        mapping = {}
        for index in placed:
            group = network.groups[index]
            core = next((c for c in free if _layer_fits(group, target, c)), None)
            if core is None:
                kernel, neuron, _ = layer_memory(group.layer)
                raise network.error(group, f"kernel and neuron memory: the layer needs {kernel} and {neuron} entries and no free core "
                                    f"of {target.chip} has both; free cores: {free} (greedy placement in order)")
            free.remove(core)
            mapping[index] = np.full(group.size, core, dtype=np.int64)
        return Result(mapping)
    import networkx as nx

    # Integer nodes: the hashes of strings vary between runs, and with them networkx's matching.
    graph = nx.Graph()
    layers = list(range(len(placed)))
    graph.add_nodes_from(layers, bipartite=0)
    graph.add_nodes_from((len(placed) + c for c in range(core_count)), bipartite=1)
    for layer, index in enumerate(placed):
        graph.add_edges_from((layer, len(placed) + c) for c in range(core_count) if _layer_fits(network.groups[index], target, c))
    matching = nx.bipartite.hopcroft_karp_matching(graph, top_nodes=layers)
    mapping = {}
    for layer, index in enumerate(placed):
        if layer not in matching:
            raise network.error(network.groups[index], f"kernel and neuron memory: no assignment of layers to the {core_count} cores of {target.chip} "
                                "gives this layer a core that fits it")
        mapping[index] = np.full(network.groups[index].size, matching[layer] - len(placed), dtype=np.int64)
    note = (f"{target.chip} holds one layer per core, so the traffic does not depend on the placement; "
            f"strategy '{strategy}' places layers by a maximum bipartite matching")
    return Result(mapping, note, 0.0 if strategy == "cpsat" else None)


def map_network(network: Network, target: Target, core_count: int, strategy: str, seed: int,
                rates: dict[int, np.ndarray] | None = None, time_limit: float = 10.0) -> Result:
    """Assign every placed neuron of `network` to one of `core_count` cores with `strategy`."""
    if strategy not in STRATEGIES:
        raise DiagnosticError(f"map-to-cores: unknown strategy '{strategy}'; expected one of {', '.join(STRATEGIES)}")
    check_fits(network, target, core_count)
    if not network.placed():
        return Result({}, "the graph has no neuron group")
    if target.whole_layers:
        return _whole_layers(network, target, core_count, strategy)
    if core_count == 1:
        return Result({index: np.zeros(network.groups[index].size, dtype=np.int64) for index in network.placed()})
    if strategy == "greedy":
        return Result(greedy_within(network, target, core_count))
    atoms = Atoms(network, target)
    # One core is optimal when it fits: inputs reach one core and no neuron sends to another.
    one_core = atoms.expand(np.zeros(atoms.count, dtype=np.int64))
    if atoms.load.sum() <= LOAD_SCALE and not violations(network, target, core_count, one_core):
        return Result(one_core, "the graph fits one core, which is optimal", 0.0 if strategy == "cpsat" else None)
    if strategy == "cpsat":
        return _cpsat(network, target, core_count, atoms, rates, seed, time_limit)
    if strategy == "hypergraph":
        return _hypergraph_best(network, target, core_count, atoms, rates, seed)
    mapping, parts = partition_within(_metis, network, target, core_count, atoms, rates, seed, strategy)
    return Result(mapping)


def minimum_parts(atoms: Atoms) -> int:
    return max(2, math.ceil(atoms.load.sum() / LOAD_SCALE * 1.05))


def partition_within(partition, network: Network, target: Target, core_count: int, atoms: Atoms, rates, seed: int,
                     strategy: str, parts: int | None = None, **options) -> tuple[Mapping, int]:
    """Partition into `parts` blocks (default the fewest the load allows), with more blocks while a capacity is exceeded."""
    parts = parts or minimum_parts(atoms)
    for _ in range(RETRIES * 2):
        parts = min(parts, core_count)
        blocks = _rebalance(partition(atoms, network, target, parts, rates, seed, **options), atoms, parts)
        mapping = atoms.expand(blocks)
        for _ in range(SPLITS):
            excesses = over_capacity(target, measure(network, target, core_count, mapping))
            if not excesses or any(excess.resource not in ("fan-in", "destinations") for excess in excesses):
                break
            # Fan-in is not a sum over atoms, so the partitioner cannot balance it: split the cores over it instead.
            split = _split_cores(blocks, atoms, {excess.core for excess in excesses}, core_count)
            if split is None:
                break
            blocks = split
            mapping = atoms.expand(blocks)
        if not violations(network, target, core_count, mapping):
            return mapping, parts
        excesses = over_capacity(target, measure(network, target, core_count, mapping))
        if parts == core_count:
            break
        # Fan-in and destinations shrink when blocks get smaller; grow the parts by the worst overload.
        worst = max([excess.used / excess.capacity for excess in excesses], default=1.0)
        parts = math.ceil(parts * max(1.15, worst)) + 1
    if excesses:
        raise capacity_error(network, target, mapping, excesses[0], strategy,
                             f"no partition into at most {parts} cores met the capacities; give more chips or a larger capacity")
    group = network.groups[network.placed()[-1]]
    problems = violations(network, target, core_count, mapping)
    raise network.error(group, f"{strategy}: no partition into at most {parts} cores met the capacities: {problems[0]}")


SPLITS = 20
"""Rounds of splitting the cores over a fan-in or destination capacity before a partition is retried with more parts."""


def _split_cores(blocks: np.ndarray, atoms: Atoms, cores: set[int], core_count: int) -> np.ndarray | None:
    """Move the second half of the placed atoms of each core in `cores` to an unused core; None when none is free."""
    blocks = blocks.copy()
    placed = blocks[: atoms.placed_count]
    free = iter(sorted(set(range(core_count)) - set(placed.tolist())))
    for core in sorted(cores):
        members = np.flatnonzero(placed == core)
        if members.size < 2:
            return None
        spare = next(free, None)
        if spare is None:
            return None
        placed[members[members.size // 2:]] = spare
    return blocks


def _rebalance(blocks: np.ndarray, atoms: Atoms, parts: int) -> np.ndarray:
    """Move atoms out of blocks whose load exceeds one core into the least loaded blocks.

    Partitioners treat the balance as a target, not a hard limit, so a block may end up slightly
    over. Moving the smallest atoms first keeps the change to the partition small.
    """
    import heapq

    placed = atoms.placed_count
    load = atoms.load[:placed]
    totals = np.bincount(blocks[:placed], weights=load, minlength=parts)
    if totals.max() <= LOAD_SCALE:
        return blocks
    blocks = blocks.copy()
    heap = [(float(total), block) for block, total in enumerate(totals)]
    heapq.heapify(heap)
    for block in np.flatnonzero(totals > LOAD_SCALE):
        members = np.flatnonzero(blocks[:placed] == block)
        for atom in members[np.argsort(load[members], kind="stable")]:
            if totals[block] <= LOAD_SCALE:
                break
            while True:
                total, lightest = heapq.heappop(heap)
                if total == totals[lightest]:
                    break
            if lightest == block or totals[lightest] + load[atom] > LOAD_SCALE:
                heapq.heappush(heap, (total, lightest))
                break
            blocks[atom] = lightest
            totals[block] -= load[atom]
            totals[lightest] += load[atom]
            heapq.heappush(heap, (float(totals[lightest]), lightest))
        heapq.heappush(heap, (float(totals[block]), block))
    return blocks


def lower_bound(network: Network, target: Target) -> int:
    """Return the cores needed by the neuron and synapse totals, plus 5 % slack for the partitioners' imbalance."""
    placed = [network.groups[i] for i in network.placed()]
    need = sum(g.size for g in placed) / target.neurons_per_core
    if target.synapses_per_core is not None:
        need = max(need, sum(int(g.synapses.sum()) for g in placed) / target.synapses_per_core)
    return max(2, math.ceil(need * 1.05))


def greedy_within(network: Network, target: Target, core_count: int) -> Mapping:
    """Return greedy's mapping, with fewer neurons per core while a fan-in or destination capacity is exceeded.

    The vendor tools that greedy stands for split populations by neurons per core. A fan-in
    limit makes them split further, so greedy lowers the neurons per core until it fits.
    """
    cap = target.neurons_per_core
    while True:
        try:
            mapping = greedy(network, target, core_count, cap)
        except DiagnosticError:
            if cap == target.neurons_per_core:
                raise
            raise capacity_error(network, target, mapping, excesses[0], "greedy",
                                 f"with {cap} neurons per core greedy placement in order runs out of the {core_count} cores; "
                                 "give more chips or a larger capacity") from None
        if target.fan_in_per_core is None and target.destinations_per_core is None:
            return mapping
        excesses = [excess for excess in over_capacity(target, measure(network, target, core_count, mapping))
                    if excess.resource in ("fan-in", "destinations")]
        if not excesses:
            return mapping
        if cap == 1:
            raise capacity_error(network, target, mapping, excesses[0], "greedy",
                                 "even one neuron per core exceeds it; give a larger capacity")
        worst = max(excess.used / excess.capacity for excess in excesses)
        cap = max(1, min(cap - 1, int(cap / worst)))


def greedy(network: Network, target: Target, core_count: int, cap: int | None = None) -> Mapping:
    """Fill cores in schedule and neuron order, starting each group on a new core, as vendor tools place populations.

    `cap` is the neurons per core, by default the target's.
    """
    cap = cap or target.neurons_per_core
    synapse_capacity = target.synapses_per_core if target.synapses_per_core is not None else np.iinfo(np.int64).max
    mapping: Mapping = {}
    core = -1
    for index in network.placed():
        group = network.groups[index]
        cores = np.empty(group.size, dtype=np.int64)
        start = 0
        while start < group.size:
            core += 1
            if core >= core_count:
                raise network.error(group, f"neurons: greedy placement in order ran out of the {core_count} cores of {target.chip} "
                                    f"with {group.size - start} of this group's {group.size} neurons unplaced; give more chips")
            window = group.synapses[start : start + cap]
            count = int(np.searchsorted(np.cumsum(window), synapse_capacity, side="right"))
            cores[start : start + count] = core
            start += count
        mapping[index] = cores
    return mapping


class Atoms:
    """Atoms of every group: `of[group]` is the atom of each neuron; placed atoms come first."""

    def __init__(self, network: Network, target: Target):
        placed_total = sum(network.groups[i].size for i in network.placed())
        run = max(1, math.ceil(placed_total / MAX_ATOMS))
        cap = max(1, target.neurons_per_core // 4)
        self.of: dict[int, np.ndarray] = {}
        self._placed = set(network.placed())
        count = 0
        self.placed_count = 0
        for index in network.placed() + [i for i, g in enumerate(network.groups) if not g.placed]:
            group = network.groups[index]
            group_cap = cap
            if group.placed and target.synapses_per_core is not None and group.size:
                # An atom must fit a quarter of a core's synapse entries, too.
                group_cap = max(1, min(cap, target.synapses_per_core // (4 * max(1, int(group.synapses.max())))))
            if group.placed and target.fan_in_per_core is not None and group.size:
                # Distinct sources are at most the synapse entries, so this keeps an atom's fan-in within a quarter core.
                group_cap = max(1, min(group_cap, target.fan_in_per_core // (4 * max(1, int(group.synapses.max())))))
            local = _group_atoms(group.shape, run, group_cap)
            self.of[index] = local + count
            count += int(local.max()) + 1 if local.size else 0
            if index in self._placed:
                self.placed_count = count
        self.count = count
        self.neurons = np.zeros(count, dtype=np.int64)
        self.synapses = np.zeros(count, dtype=np.int64)
        for index in network.placed():
            self.neurons += np.bincount(self.of[index], minlength=count)
            self.synapses += np.bincount(self.of[index], weights=network.groups[index].synapses, minlength=count).astype(np.int64)
        self.load = self.load_of(target)

    def load_of(self, target: Target) -> np.ndarray:
        """Return each atom's load: its largest share of one core's neurons or synapses, times LOAD_SCALE.

        A block whose loads sum to at most LOAD_SCALE fits both capacities, so one balance
        constraint in the partitioners enforces both.
        """
        share = self.neurons / target.neurons_per_core
        if target.synapses_per_core is not None:
            share = np.maximum(share, self.synapses / target.synapses_per_core)
        return np.ceil(share * LOAD_SCALE).astype(np.int64)

    def expand(self, blocks: np.ndarray) -> Mapping:
        return {index: blocks[atoms].astype(np.int64) for index, atoms in self.of.items() if index in self._placed}

    def edges(self, network: Network, rates: dict[int, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return distinct (source atom, target placed atom) pairs and the spikes per step between them."""
        labels = {index: self.of[index] for index in self._placed}
        sources, targets, weights = [], [], []
        for source, keys in source_label_pairs(network, labels, self.count).items():
            neuron, target_atom = np.divmod(keys, self.count)
            rate = rates[source][neuron] if rates is not None else np.ones(neuron.size)
            sources.append(self.of[source][neuron])
            targets.append(target_atom)
            weights.append(rate)
        if not sources:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        pair = np.concatenate(sources) * self.count + np.concatenate(targets)
        unique, inverse = np.unique(pair, return_inverse=True)
        weight = np.bincount(inverse, weights=np.concatenate(weights))
        return unique // self.count, unique % self.count, weight


def _group_atoms(shape: tuple[int, ...], run: int, cap: int) -> np.ndarray:
    size = math.prod(shape)
    if len(shape) >= 2:
        channels, positions = shape[0], size // shape[0]
        chunks = math.ceil(channels / cap)
        per_chunk = math.ceil(channels / chunks)
        channel, position = np.divmod(np.arange(size, dtype=np.int64), positions)
        return (channel // per_chunk) * positions + position
    return np.arange(size, dtype=np.int64) // min(run, cap)


def _metis(atoms: Atoms, network: Network, target: Target, parts: int, rates, seed: int) -> np.ndarray:
    try:
        import pymetis
    except ImportError as error:
        raise DiagnosticError(f"map-to-cores: strategy 'metis' needs pymetis, which failed to import ({error}); "
                              "install nirmlir's peers extra") from None
    source, target_atom, weight = atoms.edges(network, rates)
    placed = atoms.placed_count
    keep = (source < placed) & (source != target_atom)
    u = np.concatenate([source[keep], target_atom[keep]])
    v = np.concatenate([target_atom[keep], source[keep]])
    w = np.concatenate([weight[keep], weight[keep]])
    unique, inverse = np.unique(u * placed + v, return_inverse=True)
    summed = np.maximum(1, np.rint(np.bincount(inverse, weights=w) * RATE_SCALE)).astype(np.int64)
    u, v = np.divmod(unique, placed)
    xadj = np.zeros(placed + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=placed), out=xadj[1:])
    options = pymetis.Options(seed=seed, ufactor=30)
    adjacency = pymetis.CSRAdjacency(adj_starts=xadj, adjacent=v)
    _, membership = pymetis.part_graph(parts, adjacency, vweights=atoms.load[:placed], eweights=summed, options=options)
    return _with_inputs(np.asarray(membership, dtype=np.int64), atoms)


def _with_inputs(placed_blocks: np.ndarray, atoms: Atoms) -> np.ndarray:
    blocks = np.full(atoms.count, -1, dtype=np.int64)
    blocks[: placed_blocks.size] = placed_blocks
    return blocks


_mtkahypar_initializer = None


SMALL_ATOMS = 5000
"""Graphs of at most this many placed atoms get several hypergraph partitions, and the least traffic is kept."""
EXTRA_TRIAL_ATOMS = 20_000
"""Budget of the extra partitions of a small graph, in atoms partitioned: 20 trials of 1000 atoms or
4 of 5000. A count rather than seconds, so that the same graph and seed give the same mapping on
any machine and at any load."""
MAX_EXTRA_TRIALS = 17
"""Every extra partition: 3 seeds x 3 core counts x 2 presets, less the first partition."""
# Mt-KaHyPar's deterministic presets give the same partition for the same seed with any number
# of threads, at about the quality of DEFAULT and HIGHEST_QUALITY on the benchmark networks.
_PRESETS = {"default": "DETERMINISTIC", "quality": "DETERMINISTIC_QUALITY"}


def _hypergraph_best(network: Network, target: Target, core_count: int, atoms: Atoms, rates, seed: int) -> Result:
    """Return the mapping with the least measured traffic among Mt-KaHyPar partitions and greedy's.

    Every graph gets one partition with the default preset into the fewest cores the load
    allows. A graph of at most SMALL_ATOMS atoms also gets partitions with the quality preset,
    further seeds and more cores, as many as EXTRA_TRIAL_ATOMS allows for its size.
    On small graphs the balance constraint into the fewest cores cuts the partitioner's freedom,
    and one more core often lowers the traffic. Greedy's mapping is a candidate too, so the
    strategy never reports more traffic than greedy.
    """
    start = time.perf_counter()
    candidates: list[tuple[float, str, Mapping]] = []

    def consider(label: str, mapping: Mapping) -> None:
        usage = measure(network, target, core_count, mapping, rates)
        if not violations(network, target, core_count, mapping, usage):
            candidates.append((usage.traffic, label, mapping))

    mapping, parts = partition_within(_hypergraph, network, target, core_count, atoms, rates, seed, "hypergraph")
    consider(f"default preset, seed {seed}, {parts} parts", mapping)
    try:
        consider("greedy", greedy_within(network, target, core_count))
    except DiagnosticError:
        pass
    if atoms.placed_count <= SMALL_ATOMS:
        more = sorted({parts, parts + 1, math.ceil(parts * 1.25) + 1})
        # The further seeds wrap within the partitioners' 32-bit range.
        trials = [(preset, (seed + offset) % (MAX_SEED + 1), count) for offset in range(3) for count in more
                  for preset in ("quality", "default")]
        trials = [(preset, trial_seed, count) for preset, trial_seed, count in trials
                  if count <= core_count and not (preset == "default" and trial_seed == seed and count == parts)]
        allowed = min(MAX_EXTRA_TRIALS, max(1, EXTRA_TRIAL_ATOMS // max(1, atoms.placed_count)))
        for preset, trial_seed, count in trials[:allowed]:
            try:
                mapping, used = partition_within(_hypergraph, network, target, core_count, atoms, rates, trial_seed,
                                                 "hypergraph", parts=count, preset=preset)
            except DiagnosticError:
                continue
            consider(f"{preset} preset, seed {trial_seed}, {used} parts", mapping)
    traffic, label, mapping = min(candidates, key=lambda candidate: candidate[0])
    note = (f"hypergraph: kept the {label} mapping, the least traffic of {len(candidates)} candidates "
            f"found in {time.perf_counter() - start:.2f} s")
    return Result(mapping, note)


def _hypergraph(atoms: Atoms, network: Network, target: Target, parts: int, rates, seed: int, preset: str = "default") -> np.ndarray:
    global _mtkahypar_initializer
    try:
        import mtkahypar
    except ImportError as error:
        raise DiagnosticError(f"map-to-cores: strategy 'hypergraph' needs mtkahypar, which failed to import ({error}); "
                              "install nirmlir's peers extra") from None
    if _mtkahypar_initializer is None:
        _mtkahypar_initializer = mtkahypar.initialize(2, False)
    hyperedges, edge_weights, _ = hyperedges_of(atoms, network, rates)
    mtkahypar.set_seed(seed)
    context = _mtkahypar_initializer.context_from_preset(getattr(mtkahypar.PresetType, _PRESETS[preset]))
    context.set_partitioning_parameters(parts, 0.03, mtkahypar.Objective.KM1)
    context.logging = False
    node_weights = atoms.load[: atoms.placed_count]
    context.set_individual_target_block_weights([LOAD_SCALE] * parts)
    hypergraph = _mtkahypar_initializer.create_hypergraph(
        context, atoms.placed_count, len(hyperedges), hyperedges, node_weights.tolist(), edge_weights)
    partitioned = hypergraph.partition(context)
    membership = np.array([partitioned.block_id(node) for node in range(atoms.placed_count)], dtype=np.int64)
    return _with_inputs(membership, atoms)


def hyperedges_of(atoms: Atoms, network: Network, rates) -> tuple[list[list[int]], list[int], list[int]]:
    """Return one hyperedge per source atom (its placed targets, plus itself when placed), its integer weight and its source atom."""
    source, target_atom, _ = atoms.edges(network, rates)
    spikes = np.zeros(atoms.count)
    for index, of in atoms.of.items():
        rate = rates[index] if rates is not None else np.ones(of.size)
        spikes += np.bincount(of, weights=rate, minlength=atoms.count)
    placed_source = source < atoms.placed_count
    own = np.unique(source[placed_source])
    pins_source = np.concatenate([source, own])
    pins_target = np.concatenate([target_atom, own])
    order = np.lexsort((pins_target, pins_source))
    pins_source, pins_target = pins_source[order], pins_target[order]
    keep = np.ones(pins_source.size, dtype=bool)
    keep[1:] = (pins_source[1:] != pins_source[:-1]) | (pins_target[1:] != pins_target[:-1])
    pins_source, pins_target = pins_source[keep], pins_target[keep]
    edge_ids, starts = np.unique(pins_source, return_index=True)
    hyperedges = [chunk.tolist() for chunk in np.split(pins_target, starts[1:])]
    weights = np.maximum(1, np.rint(spikes[edge_ids] * RATE_SCALE)).astype(np.int64).tolist()
    return hyperedges, weights, edge_ids.tolist()


def _merge_identical(hyperedges, weights, sources, placed: int) -> tuple[list[list[int]], list[int], list[bool]]:
    """Merge hyperedges with the same pins and the same kind of source, adding their weights.

    Every input neuron of a dense layer, for one, reaches the same atoms, so the CP-SAT model
    needs one set of variables for all of them. The flag is true for a placed source.
    """
    merged: dict[tuple[tuple[int, ...], bool], int] = {}
    for edge, weight, source in zip(hyperedges, weights, sources):
        key = (tuple(edge), source < placed)
        merged[key] = merged.get(key, 0) + weight
    return [list(edge) for edge, _ in merged], list(merged.values()), [flag for _, flag in merged]


def _cpsat(network: Network, target: Target, core_count: int, atoms: Atoms, rates, seed: int, time_limit: float) -> Result:
    try:
        from ortools.sat.python import cp_model
    except ImportError as error:
        raise DiagnosticError(f"map-to-cores: strategy 'cpsat' needs ortools, which failed to import ({error}); "
                              "install nirmlir's peers extra") from None
    placed = atoms.placed_count
    if placed > CPSAT_MAX_ATOMS:
        raise DiagnosticError(f"map-to-cores: cpsat: graph @{network.graph_name} has {placed} atoms (its neurons, or runs of "
                              f"neurons in graphs of over {MAX_ATOMS} neurons) but the exact model takes at most {CPSAT_MAX_ATOMS}; "
                              "use strategy=hypergraph", Location(node_path=(network.graph_name,)))
    # The best heuristic mapping is the hint. The model gets the cores that the hint uses, and at
    # least one more than the load needs, so its optimum is over mappings on that many cores.
    hint_blocks, hint_label = _best_heuristic(network, target, core_count, atoms, rates, seed)
    cores = min(core_count, placed, max(lower_bound(network, target) + 1, int(hint_blocks.max()) + 1))
    hyperedges, weights, placed_sources = _merge_identical(*hyperedges_of(atoms, network, rates), placed)

    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{a}_{c}") for c in range(cores)] for a in range(placed)]
    for a in range(placed):
        model.add_exactly_one(x[a])
    for c in range(cores):
        model.add(sum(int(atoms.neurons[a]) * x[a][c] for a in range(placed)) <= target.neurons_per_core)
        if target.synapses_per_core is not None:
            model.add(sum(int(atoms.synapses[a]) * x[a][c] for a in range(placed)) <= target.synapses_per_core)

    # Cores are interchangeable, so atom a may use only cores 0..a: every mapping has such a relabelling.
    for a in range(min(placed, cores)):
        for c in range(a + 1, cores):
            model.add(x[a][c] == 0)

    for a, core in enumerate(hint_blocks.tolist()):
        for c in range(cores):
            model.add_hint(x[a][c], c == core)
    terms = []
    constant = 0
    hint_reach = {}
    for edge, weight, placed_source in zip(hyperedges, weights, placed_sources):
        reach = [model.new_bool_var("") for _ in range(cores)]
        for pin in edge:
            for c in range(cores):
                model.add_implication(x[pin][c], reach[c])
        # Cardinality cut: the pins' neurons and synapses need at least this many cores, so the
        # hyperedge reaches them all. It lifts the bound of the relaxation, whose fractional
        # placement otherwise reaches one core per hyperedge.
        pins = np.asarray(edge)
        need = math.ceil(int(atoms.neurons[pins].sum()) / target.neurons_per_core)
        if target.synapses_per_core is not None:
            need = max(need, math.ceil(int(atoms.synapses[pins].sum()) / target.synapses_per_core))
        # An integer count per hyperedge with the cut as its lower end puts the cut into the
        # objective's initial bound, which the solver's search keeps raising from there.
        count = model.new_int_var(min(cores, max(1, need)), cores, "")
        model.add(count == sum(reach))
        reached = set(hint_blocks[pins].tolist())
        for c in range(cores):
            hint_reach[reach[c]] = c in reached
        hint_reach[count] = len(reached)
        terms.append(weight * count)
        if placed_source:
            constant += weight
    for variable, value in hint_reach.items():
        model.add_hint(variable, int(value))
    model.minimize(sum(terms) - constant)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = 2
    solver.parameters.linearization_level = 2
    status = solver.solve(model)

    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    hint_objective = _objective(hyperedges, weights, placed_sources, hint_blocks)
    if found and solver.objective_value <= hint_objective:
        blocks = np.array([next(c for c in range(cores) if solver.value(x[a][c])) for a in range(placed)], dtype=np.int64)
        objective = solver.objective_value
        outcome = f"{solver.status_name(status).lower()} after {solver.wall_time:.2f} s"
    else:
        blocks = hint_blocks
        objective = hint_objective
        outcome = f"no mapping better than {hint_label}'s found in {solver.wall_time:.2f} s, so that one is kept"
    mapping = atoms.expand(_with_inputs(blocks, atoms))
    if violations(network, target, core_count, mapping):
        # The model bounds neurons and synapses only; fan-in and destinations are checked here.
        mapping = atoms.expand(_with_inputs(hint_blocks, atoms))
        objective = hint_objective
        outcome += f"; its mapping exceeded a fan-in or destination capacity, so {hint_label}'s is kept"
    # The traffic is never negative, so a negative bound of the relaxation is raised to 0.
    bound = max(0.0, solver.best_objective_bound)
    gap = 0.0 if status == cp_model.OPTIMAL and objective <= solver.objective_value else (
        max(0.0, (objective - bound) / objective) if objective > 0 else 0.0)
    note = (f"CP-SAT on {placed} atoms and at most {cores} cores, starting from {hint_label}'s mapping, {outcome}; "
            f"the gap is against the best bound over mappings on at most {cores} cores")
    return Result(mapping, note, gap)


def _best_heuristic(network: Network, target: Target, core_count: int, atoms: Atoms, rates, seed: int) -> tuple[np.ndarray, str]:
    """Return the placed atoms' cores of the least-traffic mapping among greedy, metis and hypergraph, and its name.

    Cores are renumbered in order of first use by atom, which the model's symmetry breaking requires.
    Greedy may split an atom over cores; such a mapping is not a candidate.
    """
    candidates = []
    for name in ("greedy", "metis", "hypergraph"):
        try:
            if name == "greedy":
                mapping = greedy_within(network, target, core_count)
            elif name == "metis":
                mapping, _ = partition_within(_metis, network, target, core_count, atoms, rates, seed, name)
            else:
                mapping = _hypergraph_best(network, target, core_count, atoms, rates, seed).mapping
        except DiagnosticError:
            continue
        blocks = np.full(atoms.placed_count, -1, dtype=np.int64)
        consistent = True
        for index, neuron_atoms in atoms.of.items():
            if index in mapping:
                blocks[neuron_atoms] = mapping[index]
                consistent &= bool((blocks[neuron_atoms] == mapping[index]).all())
        if not consistent:
            continue
        _, first = np.unique(blocks, return_index=True)
        order = np.unique(blocks)[np.argsort(first)]
        renumber = np.empty(int(order.max()) + 1, dtype=np.int64)
        renumber[order] = np.arange(order.size)
        blocks = renumber[blocks]
        traffic = measure(network, target, core_count, atoms.expand(_with_inputs(blocks, atoms)), rates).traffic
        candidates.append((traffic, name, blocks))
    if not candidates:
        group = network.groups[network.placed()[-1]]
        raise network.error(group, "cpsat: neither greedy, metis nor hypergraph found a mapping within the capacities to start from")
    _, name, blocks = min(candidates, key=lambda candidate: candidate[0])
    return blocks, name


def _objective(hyperedges, weights, placed_sources, blocks: np.ndarray) -> float:
    """Return the CP-SAT objective of `blocks`: weight times the cores each hyperedge reaches beyond its source's."""
    total = 0.0
    for edge, weight, placed_source in zip(hyperedges, weights, placed_sources):
        reached = np.unique(blocks[np.asarray(edge)]).size
        total += weight * (reached - 1 if placed_source else reached)
    return total
