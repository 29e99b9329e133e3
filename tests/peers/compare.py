"""Compare two sets of simulation traces: identical spikes at every step, and the maximum state error.

Both sides are `node -> "spikes" | "v" | "i" -> array (B, T, *shape)`. The voltage and current of
`ours` are in NIR units and are multiplied by `voltage_scale` (peer units per NIR unit) before
they are compared with `theirs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

STATE_KEYS = ("v", "i")


@dataclass
class NodeComparison:
    """How one node's traces differ."""

    node: str
    spike_mismatches: int
    """Number of (batch, step, neuron) entries whose spike counts differ."""
    first_spike_mismatch: tuple[int, int] | None
    """(batch, step) of the earliest step with a differing spike count, or None."""
    spikes: int
    """Total spike count of `theirs`, to show that the comparison is not vacuous."""
    state_errors: dict[str, float] = field(default_factory=dict)
    """Maximum absolute difference per state key, in the peer's units."""
    first_state_mismatch: dict[str, tuple[int, int]] = field(default_factory=dict)
    """(batch, step) of the earliest step whose state differs by more than `state_tolerance`."""

    @property
    def spikes_identical(self) -> bool:
        return self.spike_mismatches == 0

    @property
    def max_state_error(self) -> float:
        return max(self.state_errors.values(), default=0.0)


@dataclass
class TraceComparison:
    """The per-node comparison of two runs over the nodes that both recorded."""

    nodes: dict[str, NodeComparison]
    missing: list[str]
    """Nodes that `theirs` recorded and `ours` did not."""

    @property
    def spikes_identical(self) -> bool:
        return all(node.spikes_identical for node in self.nodes.values())

    @property
    def max_state_error(self) -> float:
        return max((node.max_state_error for node in self.nodes.values()), default=0.0)

    @property
    def first_spike_mismatch_step(self) -> int | None:
        """The earliest step at which any node's spikes differ, in any batch element."""
        steps = [node.first_spike_mismatch[1] for node in self.nodes.values() if node.first_spike_mismatch]
        return min(steps, default=None)

    def agrees(self, tolerance: float) -> bool:
        """Return whether every node has identical spikes and a state error of at most `tolerance`."""
        return not self.missing and self.spikes_identical and self.max_state_error <= tolerance

    def format(self) -> str:
        """Return a table with one line per node, for assertion messages and reports."""
        lines = [f"{'node':<16} {'spikes':>8} {'mismatches':>10} {'first (b, t)':>13} {'max |dv|':>10} {'max |di|':>10}"]
        for name, node in self.nodes.items():
            first = "-" if node.first_spike_mismatch is None else str(node.first_spike_mismatch)
            dv = node.state_errors.get("v")
            di = node.state_errors.get("i")
            lines.append(
                f"{name:<16} {node.spikes:>8} {node.spike_mismatches:>10} {first:>13} "
                f"{'-' if dv is None else f'{dv:.3g}':>10} {'-' if di is None else f'{di:.3g}':>10}"
            )
        if self.missing:
            lines.append("not recorded by ours: " + ", ".join(self.missing))
        return "\n".join(lines)


def _first_step(mask: np.ndarray) -> tuple[int, int] | None:
    """Return the earliest (batch, step) where `mask` (B, T, ...) is true, or None."""
    per_step = mask.reshape(mask.shape[0], mask.shape[1], -1).any(axis=2)
    if not per_step.any():
        return None
    steps = np.where(per_step.any(axis=0))[0]
    step = int(steps[0])
    return int(np.where(per_step[:, step])[0][0]), step


def compare_traces(
    ours: Mapping[str, Mapping[str, np.ndarray]],
    theirs: Mapping[str, Mapping[str, np.ndarray]],
    *,
    voltage_scale: float | Mapping[str, float] = 1.0,
    state_tolerance: float = 1e-5,
) -> TraceComparison:
    """Compare every node and key that `theirs` recorded with the same node and key of `ours`.

    `voltage_scale` is one factor or one per node. `state_tolerance` only sets which step is
    reported as the first state mismatch; `TraceComparison.agrees` applies the bound.
    Raises ValueError when the shapes of a trace differ.
    """
    nodes: dict[str, NodeComparison] = {}
    missing = [name for name in theirs if name not in ours]
    for name, their_keys in theirs.items():
        if name not in ours:
            continue
        scale = voltage_scale[name] if isinstance(voltage_scale, Mapping) else voltage_scale
        our_keys = ours[name]
        their_spikes = np.asarray(their_keys["spikes"], dtype=np.float64)
        our_spikes = np.asarray(our_keys["spikes"], dtype=np.float64)
        if our_spikes.shape != their_spikes.shape:
            raise ValueError(f"node '{name}': spike traces have shapes {our_spikes.shape} and {their_spikes.shape}")
        differs = our_spikes != their_spikes
        comparison = NodeComparison(
            node=name,
            spike_mismatches=int(differs.sum()),
            first_spike_mismatch=_first_step(differs),
            spikes=int(their_spikes.sum()),
        )
        for key in STATE_KEYS:
            if key not in their_keys or key not in our_keys:
                continue
            mine = np.asarray(our_keys[key], dtype=np.float64) * scale
            other = np.asarray(their_keys[key], dtype=np.float64)
            if mine.shape != other.shape:
                raise ValueError(f"node '{name}': '{key}' traces have shapes {mine.shape} and {other.shape}")
            error = np.abs(mine - other)
            comparison.state_errors[key] = float(error.max()) if error.size else 0.0
            first = _first_step(error > state_tolerance)
            if first is not None:
                comparison.first_state_mismatch[key] = first
        nodes[name] = comparison
    return TraceComparison(nodes, missing)
