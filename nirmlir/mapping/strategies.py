"""Mapping strategies: greedy in order, multilevel graph partitioning (pymetis), hypergraph
partitioning on the connectivity metric (mtkahypar) and an exact CP-SAT model (ortools).

Partitioners work on atoms: a convolution output's neurons at one spatial position (they have
the same sources), or a run of consecutive neurons of another group, sized so that a graph has
at most `MAX_ATOMS` atoms. Every result is checked with `check.violations`; a partition that
exceeds a capacity is retried with more cores, then rejected with a diagnostic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nirmlir.diagnostics import DiagnosticError
from nirmlir.mapping.check import Mapping, layer_memory, role_counts, role_of, violations
from nirmlir.mapping.network import Network, source_label_pairs
from nirmlir.mapping.targets import Target

STRATEGIES = ("greedy", "metis", "hypergraph", "cpsat")
MAX_ATOMS = 100_000
CPSAT_MAX_ATOMS = 300
"""Largest graph, in atoms, that the CP-SAT model accepts: its size grows with atoms times cores."""
RATE_SCALE = 1000
"""Integer weight of one spike per step, for partitioners that take integer weights."""
RETRIES = 6
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
    total = 0
    for index in network.placed():
        group = network.groups[index]
        total += group.size
        if total > capacity:
            raise network.error(group, f"neurons: the graph needs {sum(network.groups[i].size for i in network.placed())} but "
                                f"{core_count} cores of {target.chip} hold {capacity} (short by {total - capacity} at this group); "
                                "give more chips")
        if target.synapses_per_core is not None and group.size and group.synapses.max() > target.synapses_per_core:
            most = int(group.synapses.max())
            raise network.error(group, f"synapses: one neuron has {most} synapse entries but a core of {target.chip} stores "
                                f"{target.synapses_per_core} (short by {most - target.synapses_per_core})")


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

    graph = nx.Graph()
    layers = [("layer", index) for index in placed]
    graph.add_nodes_from(layers, bipartite=0)
    graph.add_nodes_from((("core", c) for c in range(core_count)), bipartite=1)
    for index in placed:
        graph.add_edges_from((("layer", index), ("core", c)) for c in range(core_count) if _layer_fits(network.groups[index], target, c))
    matching = nx.bipartite.hopcroft_karp_matching(graph, top_nodes=layers)
    mapping = {}
    for index in placed:
        if ("layer", index) not in matching:
            raise network.error(network.groups[index], f"kernel and neuron memory: no assignment of layers to the {core_count} cores of {target.chip} "
                                "gives this layer a core that fits it")
        mapping[index] = np.full(network.groups[index].size, matching[("layer", index)][1], dtype=np.int64)
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
        return Result(greedy(network, target, core_count))
    atoms = Atoms(network, target)
    # One core is optimal when it fits: inputs reach one core and no neuron sends to another.
    one_core = atoms.expand(np.zeros(atoms.count, dtype=np.int64))
    if atoms.load.sum() <= LOAD_SCALE and not violations(network, target, core_count, one_core):
        return Result(one_core, "the graph fits one core, which is optimal", 0.0 if strategy == "cpsat" else None)
    if strategy == "cpsat":
        return _cpsat(network, target, core_count, atoms, rates, seed, time_limit)
    partition = _metis if strategy == "metis" else _hypergraph
    parts = max(2, math.ceil(atoms.load.sum() / LOAD_SCALE * 1.05))
    for _ in range(RETRIES):
        parts = min(parts, core_count)
        blocks = _rebalance(partition(atoms, network, target, parts, rates, seed), atoms, parts)
        mapping = atoms.expand(blocks)
        problems = violations(network, target, core_count, mapping)
        if not problems:
            return Result(mapping)
        if parts == core_count:
            break
        parts = math.ceil(parts * 1.15) + 1
    group = network.groups[network.placed()[-1]]
    raise network.error(group, f"{strategy}: no partition into at most {parts} cores met the capacities: {problems[0]}")


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


def greedy(network: Network, target: Target, core_count: int) -> Mapping:
    """Fill cores in schedule and neuron order, starting each group on a new core, as vendor tools place populations."""
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
            window = group.synapses[start : start + target.neurons_per_core]
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


def _hypergraph(atoms: Atoms, network: Network, target: Target, parts: int, rates, seed: int) -> np.ndarray:
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
    context = _mtkahypar_initializer.context_from_preset(mtkahypar.PresetType.DEFAULT)
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
        group = network.groups[network.placed()[-1]]
        raise network.error(group, f"cpsat: the graph has {placed} atoms but the exact model takes at most {CPSAT_MAX_ATOMS}; "
                            "use strategy=hypergraph")
    cores = min(core_count, placed, lower_bound(network, target) + 1)
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

    # Greedy's mapping starts the search, so CP-SAT reports a mapping no worse than greedy's.
    hint = greedy(network, target, core_count)
    hint_fits = max(int(cores_of.max()) for cores_of in hint.values()) < cores
    for index, neuron_atoms in atoms.of.items():
        if hint_fits and index in hint:
            first = np.unique(neuron_atoms, return_index=True)
            for atom, position in zip(*first):
                core = int(hint[index][position])
                for c in range(cores):
                    model.add_hint(x[atom][c], c == core)

    terms = []
    constant = 0
    for edge, weight, placed_source in zip(hyperedges, weights, placed_sources):
        reach = [model.new_bool_var("") for _ in range(cores)]
        for pin in edge:
            for c in range(cores):
                model.add_implication(x[pin][c], reach[c])
        terms.extend(weight * variable for variable in reach)
        if placed_source:
            constant += weight
    model.minimize(sum(terms) - constant)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = 2
    status = solver.solve(model)

    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    if not found and not hint_fits:
        group = network.groups[network.placed()[-1]]
        raise network.error(group, f"cpsat: no mapping onto {cores} cores found within {time_limit} s ({solver.status_name(status)})")
    if found:
        blocks = np.array([next(c for c in range(cores) if solver.value(x[a][c])) for a in range(placed)], dtype=np.int64)
        mapping = atoms.expand(_with_inputs(blocks, atoms))
        objective = solver.objective_value
        outcome = f"{solver.status_name(status).lower()} after {solver.wall_time:.2f} s"
    else:
        mapping = hint
        blocks = np.zeros(placed, dtype=np.int64)
        for index, neuron_atoms in atoms.of.items():
            if index in hint:
                blocks[neuron_atoms] = hint[index]
        objective = _objective(hyperedges, weights, placed_sources, blocks)
        outcome = f"no mapping better than greedy's found in {solver.wall_time:.2f} s, so greedy's is kept"
    # The traffic is never negative, so a negative bound of the relaxation is raised to 0.
    bound = max(0.0, solver.best_objective_bound)
    gap = 0.0 if status == cp_model.OPTIMAL or objective <= 0 else max(0.0, (objective - bound) / objective)
    note = f"CP-SAT on {placed} atoms and {cores} cores, {outcome}"
    return Result(mapping, note, gap)


def _objective(hyperedges, weights, placed_sources, blocks: np.ndarray) -> float:
    """Return the CP-SAT objective of `blocks`: weight times the cores each hyperedge reaches beyond its source's."""
    total = 0.0
    for edge, weight, placed_source in zip(hyperedges, weights, placed_sources):
        reached = np.unique(blocks[np.asarray(edge)]).size
        total += weight * (reached - 1 if placed_source else reached)
    return total
