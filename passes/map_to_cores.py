"""`map-to-cores`: assign every neuron of each fxp, loihi2, spinnaker2, speck or xylo graph to a core of a chip, within the core capacities.

The pass writes the mapping on each neuron op as the discardable attribute
`cores = array<i64: core, count, core, count, ...>`: runs of consecutive neurons, in row-major
order, each with its core. A speck graph already has one core per layer in the `core` property
of each `speck.core`: strategy `keep` (its default) reads and checks it, and the other
strategies assign layers to cores again, rewriting `core` and `destinations`. Its report (cores
used, occupancy, traffic, time) goes to `nir-opt --mapping-report`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from nirmlir.dense import i64_array, ints_from_array
from nirmlir.diagnostics import DiagnosticError, Location, emit_warning
from nirmlir.dialects import fxp
from nirmlir.mapping.targets import MAX_CHIPS
from nirmlir.passes.levels import check_input_level

CORES_ATTRIBUTE = "cores"


def encode_cores(cores: np.ndarray) -> DenseArrayBase:
    """Return the run-length attribute (core, count, ...) of a per-neuron core array."""
    if cores.size == 0:
        return i64_array([])
    starts = np.flatnonzero(np.concatenate([[True], cores[1:] != cores[:-1]]))
    counts = np.diff(np.concatenate([starts, [cores.size]]))
    return i64_array(np.stack([cores[starts], counts], axis=1).ravel().tolist())


def decode_cores(attribute: DenseArrayBase) -> np.ndarray:
    """Return the core of each neuron from a run-length `cores` attribute."""
    values = np.array(ints_from_array(attribute), dtype=np.int64).reshape(-1, 2)
    return np.repeat(values[:, 0], values[:, 1])


def check_cores_attributes(module: Operation, locate=None) -> None:
    """Raise DiagnosticError for a `cores` attribute that does not place each neuron of its op exactly once.

    The attribute must be an i64 array of (core, count) pairs on a neuron op of an fxp, loihi2,
    spinnaker2 or xylo graph, and a speck layer must not have one. Each core is at least 0 and
    below the cores of MAX_CHIPS chips, each count is at least 1, and the counts add up to the
    op's neurons. Graphs of the nir and snn levels are not checked.
    """
    from xdsl.dialects.builtin import i64

    from nirmlir.mapping.extract import MAPPABLE_GRAPHS, extract_network, node_name

    for graph in [op for op in module.walk() if op.name in MAPPABLE_GRAPHS]:
        carriers = [op for op in graph.walk() if CORES_ATTRIBUTE in op.attributes]
        if not carriers:
            continue
        sizes = {group.op: group.size for group in extract_network(graph).groups if group.placed}
        limit, chip = _core_limit(graph.name)
        for op in carriers:
            location = (locate(op) if locate else None) or Location(node_path=(graph.sym_name.data, node_name(op)))

            def fail(problem: str) -> DiagnosticError:
                return DiagnosticError(f"'{op.name}' op has a cores attribute that {problem}; remove the attribute and run "
                                       "map-to-cores to place the op again", location, op=op)

            attribute = op.attributes[CORES_ATTRIBUTE]
            if graph.name == "speck.graph":
                raise fail("does not apply to a speck layer, which its core property places")
            if op not in sizes:
                raise fail("belongs only on neuron ops")
            if not isinstance(attribute, DenseArrayBase) or attribute.elt_type != i64:
                raise fail("is not an array<i64: core, count, ...>")
            values = ints_from_array(attribute)
            if len(values) % 2:
                raise fail(f"has {len(values)} values, not (core, count) pairs")
            cores, counts = values[::2], values[1::2]
            if any(core < 0 for core in cores):
                raise fail(f"names core {min(cores)} (cores count from 0)")
            if any(core >= limit for core in cores):
                raise fail(f"names core {max(cores)}, but {chip} has cores 0 to {limit - 1}")
            if any(count < 1 for count in counts):
                raise fail(f"gives a run of {min(counts)} neurons (each run contains at least one neuron)")
            if sum(counts) != sizes[op]:
                raise fail(f"places {sum(counts)} neurons, but the op has {sizes[op]}")


def _core_limit(graph_name: str) -> tuple[int, str]:
    """Return the number of cores that map-to-cores can place a graph's neurons on, and a phrase naming them."""
    from nirmlir.mapping.targets import TARGETS

    level = graph_name.partition(".")[0]
    if level == "xylo":
        return 1, "a xylo graph's chip"
    if level in TARGETS:
        return TARGETS[level].cores_per_chip * MAX_CHIPS, f"a {level} graph on at most {MAX_CHIPS} chips"
    largest = max(target.cores_per_chip for target in TARGETS.values())
    return largest * MAX_CHIPS, f"any target on at most {MAX_CHIPS} chips"


@dataclass(frozen=True)
class MapToCoresPass(ModulePass):
    """Place the neurons of fxp, loihi2, spinnaker2, speck or xylo graphs on a chip's cores and record the placement on each neuron op."""

    name = "map-to-cores"

    target: str = "loihi2"
    """Chip whose cores to fill: loihi2, spinnaker2, speck or xylo."""
    strategy: str | None = None
    """greedy (in order, a new core per group), metis (graph partitioning), hypergraph (connectivity
    metric), cpsat (exact, small graphs) or keep (the cores of a speck graph, or the one core of a
    xylo graph). The default is keep on a speck graph and greedy otherwise."""
    seed: int = 0
    """Seed of the partitioners and of CP-SAT."""
    chips: int = 1
    """Number of chips whose cores the graph may use."""
    time_limit: int = 10
    """Seconds that the cpsat strategy may search before it reports its best mapping and the optimality gap."""
    neurons_per_core: int | None = None
    """Neurons per core instead of the chip's, for research on hypothetical chips."""
    synapses_per_core: int | None = None
    """Synapse entries per core instead of the chip's."""
    fan_in_per_core: int | None = None
    """Distinct source neurons whose spikes one core may receive; no chip publishes one."""
    destinations_per_core: int | None = None
    """Distinct other cores that the neurons of one core may send spikes to."""
    calibration_input: str | None = None
    """Input file (.npy, .npz, .csv or NIR data) whose simulation gives each neuron's firing rate; without it every rate is 1."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from nirmlir.mapping.check import measure, over_capacity, violations
        from nirmlir.mapping.extract import extract_network
        from nirmlir.mapping.report import build_document, publish
        from nirmlir.mapping.strategies import Result, capacity_error, map_network
        from nirmlir.mapping.targets import get_target

        from nirmlir.mapping.extract import MAPPABLE_GRAPHS

        if not any(graph.name in MAPPABLE_GRAPHS[1:] for graph in op.ops):
            check_input_level(op, self.name, "fxp", "fxp")
        from nirmlir.mapping.strategies import MAX_SEED, STRATEGIES
        from nirmlir.mapping.targets import USER_CAPACITIES, with_capacities, xylo_target

        if self.strategy is not None and self.strategy not in STRATEGIES + ("keep",):
            raise DiagnosticError(f"map-to-cores: unknown strategy '{self.strategy}'; expected one of {', '.join(STRATEGIES + ('keep',))}")
        if not 0 <= self.seed <= MAX_SEED:
            raise DiagnosticError(f"map-to-cores: seed is {self.seed}; expected an integer from 0 to {MAX_SEED}")
        if self.time_limit < 1:
            raise DiagnosticError(f"map-to-cores: time-limit is {self.time_limit}; expected a positive number of seconds")
        capacities = {name: getattr(self, name) for name in USER_CAPACITIES}
        target = with_capacities(get_target(self.target), **capacities)
        if self.chips < 1:
            raise DiagnosticError(f"map-to-cores: chips is {self.chips}; expected at least 1")
        if self.chips > MAX_CHIPS:
            raise DiagnosticError(
                f"map-to-cores: chips is {self.chips}; at most {MAX_CHIPS} are supported, because every core "
                "of every chip is modelled one by one"
            )
        if (target.whole_layers or target.cores_per_chip == 1) and self.chips != 1:
            raise DiagnosticError(f"map-to-cores: target '{target.name}' maps one chip; expected chips=1, not {self.chips}")
        core_count = target.cores_per_chip * self.chips
        for graph in op.ops:
            if graph.name.endswith(".graph") and graph.name not in MAPPABLE_GRAPHS:
                emit_warning(f"map-to-cores: graph @{graph.sym_name.data} is a {graph.name} and was not mapped; "
                             "lower it to fxp (lower-to-fixedpoint) to map it", Location(node_path=(graph.sym_name.data,)), op=graph)
        for graph in [graph for graph in op.ops if graph.name in MAPPABLE_GRAPHS]:
            level = graph.name.partition(".")[0]
            if level != "fxp" and level != target.name:
                raise DiagnosticError(
                    f"map-to-cores: graph @{graph.sym_name.data} is lowered for {level}, but target is "
                    f"'{target.name}'; use target={level}, or map the fxp graph before lowering",
                    Location(node_path=(graph.sym_name.data,)),
                )
            graph_target = target
            if level == "xylo":
                from nirmlir.dialects.xylo import module_variant

                graph_target = with_capacities(xylo_target(module_variant(graph)), **capacities)
            strategy = self.strategy or ("keep" if level == "speck" else "greedy")
            if strategy == "keep" and level not in ("speck", "xylo"):
                raise DiagnosticError(
                    f"map-to-cores: strategy 'keep' keeps the cores of a speck or xylo graph, but graph @{graph.sym_name.data} is "
                    f"{level}; use greedy, metis, hypergraph or cpsat", Location(node_path=(graph.sym_name.data,)))
            network = extract_network(graph)
            rates = None if self.calibration_input is None else firing_rates(graph, network, self.calibration_input)
            start = time.perf_counter()
            if strategy == "keep" and level == "speck":
                result = Result({index: np.full(network.groups[index].size, network.groups[index].op.core_index, dtype=np.int64)
                                 for index in network.placed()}, "the cores that the speck graph assigns, read from each speck.core")
            else:
                result = map_network(network, graph_target, core_count, "greedy" if strategy == "keep" else strategy,
                                     self.seed, rates, self.time_limit)
            seconds = time.perf_counter() - start
            usage = measure(network, graph_target, core_count, result.mapping, rates)
            excesses = over_capacity(graph_target, usage)
            if excesses:
                raise capacity_error(network, graph_target, result.mapping, excesses[0], strategy,
                                     "assign the layers to other cores (strategy greedy or metis) or shrink the layer"
                                     if level == "speck" else "give more chips")
            problems = violations(network, graph_target, core_count, result.mapping, usage)
            if problems:
                raise DiagnosticError(f"map-to-cores: the {strategy} mapping of graph @{network.graph_name} exceeds a capacity: "
                                      f"{problems[0]}", Location(node_path=(network.graph_name,)))
            if level == "speck":
                _assign_speck_cores(network, result.mapping)
            else:
                for index, cores in result.mapping.items():
                    network.groups[index].op.attributes[CORES_ATTRIBUTE] = encode_cores(cores)
            publish(build_document(network, graph_target, usage, result.mapping, strategy=strategy, seed=self.seed,
                                   seconds=seconds, rates_from=self.calibration_input, note=result.note,
                                   optimality_gap=result.optimality_gap))


def _assign_speck_cores(network, mapping) -> None:
    """Write the layers' new cores into each speck.core's `core`, and renumber every `destinations` to match."""
    from xdsl.dialects.builtin import IntegerAttr, i64

    new_core = {}
    for index in network.placed():
        op = network.groups[index].op
        new_core[op.core_index] = int(mapping[index][0])
    for index in network.placed():
        op = network.groups[index].op
        op.properties["core"] = IntegerAttr(new_core[op.core_index], i64)
    for index in network.placed():
        op = network.groups[index].op
        op.properties["destinations"] = i64_array([new_core[core] for core in ints_from_array(op.destinations)])


def firing_rates(graph, network, path: str) -> dict[int, np.ndarray]:
    """Return, per group, each neuron's mean nonzero outputs per step when the graph runs on the input file.

    Inputs count their nonzero samples, and neuron groups their output (spike counts, or the
    state of non-spiking groups) being nonzero, averaged over batch and steps.
    """
    from nirmlir.passes.quantize_calibration import check_numbers, check_steps
    from nirmlir.simulator import compile_graph
    from nirmlir.simulator.io import read_input

    inputs = {}
    input_groups = [group for group in network.groups if not group.placed]
    for group in input_groups:
        key = None if len(input_groups) == 1 else group.name
        data = np.asarray(read_input(path, group.shape, key=key, node=group.name))
        check_numbers(group.name, data, Location(file=path))
        batched = _batched(data.astype(np.float64), group.shape, group.name, path)
        check_steps(group.name, batched, Location(file=path))
        inputs[group.name] = batched
    program = compile_graph(graph)
    names = [group.name for group in network.groups if group.placed]
    traces = program.run(inputs, names)
    rates = {}
    for index, group in enumerate(network.groups):
        if not group.placed:
            values = inputs[group.name]
        else:
            trace = traces[group.name]
            values = trace["spikes"] if "spikes" in trace else trace["v"]
        rates[index] = (values != 0).mean(axis=(0, 1)).reshape(-1)
    return rates



def _batched(data: np.ndarray, shape: tuple[int, ...], name: str, path: str) -> np.ndarray:
    """Return input data as (B, T, *shape), accepting any trailing shape with as many elements.

    Chip levels may flatten an input (SpiNNaker2 populations are flat), so the NIR shape of the
    data is accepted there too.
    """
    size = int(np.prod(shape))
    if data.ndim in (len(shape) + 1, len(shape) + 2) and data.shape[data.ndim - len(shape):] == shape:
        return data if data.ndim == len(shape) + 2 else data[None]
    for batch_dims in (1, 2):
        if data.ndim > batch_dims and int(np.prod(data.shape[batch_dims:])) == size:
            shaped = data.reshape(data.shape[:batch_dims] + shape)
            return shaped[None] if batch_dims == 1 else shaped
    raise DiagnosticError(
        f"map-to-cores: the input data of node '{name}' have shape {list(data.shape)}; expected (T, {size} elements) "
        f"or (B, T, {size} elements)",
        Location(file=path),
    )
