"""Measurement of a mapping against a target's capacities, independent of the strategy that made it.

A mapping gives every placed group one core index per neuron (flat, row-major). Traffic is the
sum over source neurons of the firing rate times the number of distinct other cores that contain
at least one target of the neuron. Spikes from graph inputs come from off the chip, so every
destination core counts for them. Spikes to graph outputs leave the chip and are not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nirmlir.mapping.network import Network, sorted_unique, source_label_pairs
from nirmlir.mapping.targets import Target

Mapping = dict[int, np.ndarray]
"""Placed group index -> core of each of its neurons."""


@dataclass
class Usage:
    core_count: int
    neurons: np.ndarray
    synapses: np.ndarray
    fan_in: np.ndarray
    destinations: np.ndarray
    traffic: float
    traffic_by_group: dict[str, float] = field(default_factory=dict)
    kernel_memory: np.ndarray | None = None
    neuron_memory: np.ndarray | None = None
    bias_memory: np.ndarray | None = None

    @property
    def cores_used(self) -> int:
        return int(np.count_nonzero(self.neurons))


def layer_memory(layer: tuple[int, int, int, tuple[int, ...]]) -> tuple[int, int, int]:
    """Return Speck's (kernel, neuron, bias) memory entries for a layer (c, f, kernel entries, output map)."""
    channels, features, kernel_entries, output_map = layer
    kernel = channels * 2 ** (math.ceil(math.log2(kernel_entries)) + math.ceil(math.log2(features)))
    neuron = features * 2 ** sum(math.ceil(math.log2(size)) for size in output_map)
    return kernel, neuron, features


def measure(network: Network, target: Target, core_count: int, mapping: Mapping, rates: dict[int, np.ndarray] | None = None) -> Usage:
    """Return per-core occupancy, fan-in, destinations and the traffic of `mapping`."""
    neurons = np.zeros(core_count, dtype=np.int64)
    synapses = np.zeros(core_count, dtype=np.int64)
    for index in network.placed():
        cores = mapping[index]
        neurons += np.bincount(cores, minlength=core_count)
        synapses += np.bincount(cores, weights=network.groups[index].synapses, minlength=core_count).astype(np.int64)

    fan_in = np.zeros(core_count, dtype=np.int64)
    destination_keys = []
    traffic = 0.0
    by_group: dict[str, float] = {}
    for source, keys in source_label_pairs(network, mapping, core_count).items():
        neuron, core = np.divmod(keys, core_count)
        fan_in += np.bincount(core, minlength=core_count)
        group = network.groups[source]
        remote = np.ones(keys.size, dtype=bool)
        if group.placed:
            own = mapping[source][neuron]
            remote = core != own
            destination_keys.append(sorted_unique(own[remote] * core_count + core[remote]))
        weight = rates[source][neuron[remote]] if rates is not None else np.ones(int(remote.sum()))
        by_group[group.name] = float(weight.sum())
        traffic += by_group[group.name]
    destinations = np.zeros(core_count, dtype=np.int64)
    if destination_keys:
        pairs = sorted_unique(np.concatenate(destination_keys))
        destinations = np.bincount(pairs // core_count, minlength=core_count)

    usage = Usage(core_count, neurons, synapses, fan_in, destinations, traffic, by_group)
    if target.whole_layers:
        usage.kernel_memory = np.zeros(core_count, dtype=np.int64)
        usage.neuron_memory = np.zeros(core_count, dtype=np.int64)
        usage.bias_memory = np.zeros(core_count, dtype=np.int64)
        for index in network.placed():
            group = network.groups[index]
            if group.layer is None:
                continue
            kernel, neuron_entries, bias = layer_memory(group.layer)
            for core in np.unique(mapping[index]):
                usage.kernel_memory[core] += kernel
                usage.neuron_memory[core] += neuron_entries
                usage.bias_memory[core] += bias
    return usage


def violations(network: Network, target: Target, core_count: int, mapping: Mapping, usage: Usage | None = None) -> list[str]:
    """Return one message per capacity that `mapping` exceeds, naming the core or group and the excess."""
    problems = []
    for index in network.placed():
        group = network.groups[index]
        cores = mapping.get(index)
        if cores is None or cores.shape != (group.size,):
            problems.append(f"group '{group.name}' has no core for each of its {group.size} neurons")
            continue
        if cores.size and (cores.min() < 0 or cores.max() >= core_count):
            problems.append(f"group '{group.name}' uses a core outside 0..{core_count - 1}")
        if target.whole_layers and np.unique(cores).size > 1:
            problems.append(f"group '{group.name}' is split over cores {np.unique(cores).tolist()}; {target.chip} holds a layer on one core")
    if problems:
        return problems

    usage = usage or measure(network, target, core_count, mapping)
    for excess in over_capacity(target, usage):
        problems.append(excess.message)
    if target.whole_layers:
        groups_per_core = np.zeros(core_count, dtype=np.int64)
        for index in network.placed():
            groups_per_core[mapping[index][0]] += 1
        for core in np.flatnonzero(groups_per_core > 1):
            problems.append(f"core {core} holds {groups_per_core[core]} layers; {target.chip} holds one layer per core")
    for role, used in role_counts(network).items():
        limit = target.limits.get(role)
        if limit is not None and used > limit:
            problems.append(f"{role.replace('_', ' ')}: {used} exceed the limit {limit} by {used - limit}")
    return problems


@dataclass(frozen=True)
class Excess:
    """One core over one capacity."""

    resource: str
    core: int
    used: int
    capacity: int

    @property
    def message(self) -> str:
        return f"core {self.core}: {self.resource} {self.used} exceed the capacity {self.capacity} by {self.used - self.capacity}"


def over_capacity(target: Target, usage: Usage) -> list[Excess]:
    """Return every (core, capacity) pair where `usage` exceeds the capacity of `target`."""
    core_count = usage.core_count
    excesses = []
    limits = {
        "neurons": (usage.neurons, target.neurons_per_core),
        "synapses": (usage.synapses, target.synapses_per_core),
        "fan-in": (usage.fan_in, target.fan_in_per_core),
        "destinations": (usage.destinations, target.destinations_per_core),
    }
    if target.whole_layers:
        limits["kernel memory"] = (usage.kernel_memory, np.array(target.kernel_memory[:core_count]))
        limits["neuron memory"] = (usage.neuron_memory, np.array(target.neuron_memory[:core_count]))
        limits["bias memory"] = (usage.bias_memory, target.bias_memory)
    for resource, (used, capacity) in limits.items():
        if capacity is None:
            continue
        for core in np.flatnonzero(used > capacity):
            excesses.append(Excess(resource, int(core), int(used[core]), int(np.broadcast_to(capacity, used.shape)[core])))
    return excesses


def groups_on(network: Network, mapping: Mapping, core: int) -> list[int]:
    """Return the placed groups with neurons on `core`, the group with the most there first."""
    counts = [(int(np.count_nonzero(mapping[index] == core)), index) for index in network.placed() if index in mapping]
    return [index for count, index in sorted(counts, key=lambda pair: -pair[0]) if count]


def role_counts(network: Network) -> dict[str, int]:
    """Return the number of input channels, hidden neurons and readout neurons of `network`."""
    counts = {"input_channels": 0, "hidden_neurons": 0, "readout_neurons": 0}
    for group in network.groups:
        counts[role_of(group)] += group.size
    return counts


def role_of(group) -> str:
    """Return the Xylo role of a group: input_channels, readout_neurons or hidden_neurons."""
    if not group.placed:
        return "input_channels"
    return "readout_neurons" if group.readout else "hidden_neurons"
