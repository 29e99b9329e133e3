"""Neuron-level connectivity of a graph: neuron groups and the synapses between their neurons.

Synapses are never listed one by one. Each path from a source group to a target group is a chain
of stages: dense weights, convolution or pooling windows, and reshapes. A query pulls a label of
each target neuron (its core, or its partitioning atom) back along the chain to the source
neurons. The result is the set of distinct (source neuron, label) pairs, whose size is about the
number of source neurons times the labels each reaches, so a million-neuron convolutional network
never builds a weight matrix.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from nirmlir.diagnostics import DiagnosticError, Location


@dataclass
class Group:
    """One neuron op (placed on cores) or one graph input (spikes from off the chip)."""

    name: str
    shape: tuple[int, ...]
    placed: bool
    op: object | None = None
    readout: bool = False
    """Whether the group drives a graph output."""
    synapses: np.ndarray | None = None
    """Synapse entries of each neuron (nonzero incoming weights), flat; None for inputs."""
    layer: tuple[int, int, int, tuple[int, ...]] | None = None
    """(input channels c, output channels f, kernel entries kx*ky, output map (fy, fx)) of the weight op feeding it."""

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Stage:
    """One op between two index spaces, pulled from its output (target side) to its input.

    `kind` is "dense" (CSR of the input indices of each output index), "window" (convolution or
    pooling over the spatial axes after one channel axis), or "reshape" (flat indices unchanged).
    """

    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    indptr: np.ndarray | None = None
    indices: np.ndarray | None = None
    kernel: tuple[int, ...] = ()
    stride: tuple[int, ...] = ()
    padding: tuple[int, ...] = ()
    dilation: tuple[int, ...] = ()
    groups: int = 1
    kernel_nonzero: np.ndarray | None = None
    """For a convolution, the nonzero weights of each (output channel, kernel position) over the
    input channels of its group; None for pooling, whose kernel is all ones."""

    def window_synapses(self) -> np.ndarray:
        """Return each output neuron's synapse entries through this window, flat: the nonzero weights
        whose input position lies inside the input rather than in the padding."""
        if self.kernel_nonzero is None:
            counts = np.full((self.out_shape[0], *self.kernel), self.in_shape[0] // self.groups, dtype=np.int64)
        else:
            counts = self.kernel_nonzero.astype(np.int64)
        for axis, size in enumerate(self.kernel):
            outputs = np.arange(self.out_shape[1 + axis])[:, None]
            position = outputs * self.stride[axis] - self.padding[axis] + np.arange(size)[None, :] * self.dilation[axis]
            inside = ((position >= 0) & (position < self.in_shape[1 + axis])).astype(np.int64)
            # Contracting the kernel axis appends the output axis, so the next kernel axis is again axis 1.
            counts = np.tensordot(counts, inside, axes=([1], [1]))
        return counts.reshape(-1)


@dataclass
class Path:
    """Synapses from group `source` to group `target` through `stages`, listed from the target side."""

    source: int
    target: int
    stages: list[Stage]


@dataclass
class Network:
    groups: list[Group]
    paths: list[Path]
    graph_name: str = ""

    def placed(self) -> list[int]:
        return [index for index, group in enumerate(self.groups) if group.placed]

    def error(self, group: Group, message: str) -> DiagnosticError:
        """Return a diagnostic about `group`, pointing at its op when there is one."""
        op_name = getattr(group.op, "name", "input")
        return DiagnosticError(
            f"map-to-cores: '{op_name}' op node '{group.name}': {message}",
            Location(node_path=(self.graph_name, group.name)),
            op=group.op,
        )


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Return the distinct values of an integer array, sorted.

    numpy 2.4's `np.unique` hashes integer arrays, which took 7.9 s where sorting took 0.5 s on
    the keys of a 200 000-neuron convolutional network (bench/bench_mapping.py, 2 cores).
    """
    keys = np.sort(keys)
    if keys.size < 2:
        return keys
    keep = np.empty(keys.size, dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def pull_pairs(stages: list[Stage], target_labels: np.ndarray, label_count: int) -> np.ndarray:
    """Return the sorted distinct keys `source_index * label_count + label` that reach the labelled targets.

    `target_labels` has one label per flat target neuron, or -1 for neurons to leave out.
    """
    labels = np.asarray(target_labels, dtype=np.int64)
    indices = np.flatnonzero(labels >= 0)
    keys = indices * label_count + labels[indices]
    for stage in stages:
        keys = _pull_stage(stage, keys, label_count)
    return keys


def _pull_stage(stage: Stage, keys: np.ndarray, label_count: int) -> np.ndarray:
    if stage.kind == "reshape" or keys.size == 0:
        return keys
    index, label = np.divmod(keys, label_count)
    if stage.kind == "dense":
        starts = stage.indptr[index]
        counts = stage.indptr[index + 1] - starts
        total = int(counts.sum())
        offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        sources = stage.indices[np.repeat(starts, counts) + offsets]
        return sorted_unique(sources.astype(np.int64) * label_count + np.repeat(label, counts))
    return _pull_window(stage, index, label, label_count)


def _pull_window(stage: Stage, index: np.ndarray, label: np.ndarray, label_count: int) -> np.ndarray:
    out_channels, *out_space = stage.out_shape
    in_channels, *in_space = stage.in_shape
    out_positions = math.prod(out_space)
    in_positions = math.prod(in_space)
    channel, position = np.divmod(index, out_positions)
    group = channel // (out_channels // stage.groups)
    # Every output channel of a group reads the same input channels, so pull (group, position) once.
    group_keys = sorted_unique((group * out_positions + position) * label_count + label)
    group_position, label = np.divmod(group_keys, label_count)
    group, position = np.divmod(group_position, out_positions)
    coordinates = np.unravel_index(position, out_space)

    pulled = []
    for offset in itertools.product(*(range(size) for size in stage.kernel)):
        valid = np.ones(position.shape, dtype=bool)
        input_coordinates = []
        for axis, size in enumerate(in_space):
            coordinate = coordinates[axis] * stage.stride[axis] + offset[axis] * stage.dilation[axis] - stage.padding[axis]
            valid &= (coordinate >= 0) & (coordinate < size)
            input_coordinates.append(coordinate)
        flat = np.ravel_multi_index(tuple(c[valid] for c in input_coordinates), in_space) if in_space else np.zeros(int(valid.sum()), dtype=np.int64)
        pulled.append((group[valid] * in_positions + flat) * label_count + label[valid])
    window_keys = sorted_unique(np.concatenate(pulled)) if pulled else np.zeros(0, dtype=np.int64)

    group_position, label = np.divmod(window_keys, label_count)
    group, position = np.divmod(group_position, in_positions)
    per_group = in_channels // stage.groups
    channel = group[:, None] * per_group + np.arange(per_group)[None, :]
    keys = (channel * in_positions + position[:, None]) * label_count + label[:, None]
    return sorted_unique(keys.ravel())


def source_label_pairs(network: Network, labels: dict[int, np.ndarray], label_count: int) -> dict[int, np.ndarray]:
    """Return, per source group, the distinct keys `source_neuron * label_count + label` over all its paths.

    `labels` maps each placed group to the label of each of its neurons.
    """
    by_source: dict[int, list[np.ndarray]] = {}
    for path in network.paths:
        keys = pull_pairs(path.stages, labels[path.target], label_count)
        by_source.setdefault(path.source, []).append(keys)
    return {source: sorted_unique(np.concatenate(parts)) for source, parts in by_source.items()}


@dataclass
class _Trace:
    """A value traced back to a source group through stages (target side first)."""

    source: int
    stages: list[Stage] = field(default_factory=list)
