"""Agreement between two runs on the same input: spike agreement, spike-count cosine and max state error."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Traces = dict[str, dict[str, np.ndarray]]


@dataclass
class NodeAgreement:
    """How far two runs are apart at one node; None where the node lacks that trace in either run."""

    node: str
    spike_agreement: float | None
    """Fraction of (sample, step, neuron) entries whose spike counts are equal."""
    spike_cosine: float | None
    """Cosine similarity of the per-neuron spike counts summed over time (1 when both runs are silent)."""
    max_voltage_error: float | None
    """Largest |v_a - v_b| in NIR volts."""
    max_current_error: float | None
    """Largest |i_a - i_b| in NIR units."""


def spike_count_cosine(first: np.ndarray, second: np.ndarray, time_axis: int) -> float:
    """Return the cosine of the spike counts per neuron (and sample), summed over `time_axis`."""
    a = first.sum(axis=time_axis, dtype=np.float64).reshape(-1)
    b = second.sum(axis=time_axis, dtype=np.float64).reshape(-1)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return 1.0 if not a.any() and not b.any() else 0.0
    return float(a @ b / norms)


def _max_error(first: dict[str, np.ndarray], second: dict[str, np.ndarray], key: str) -> float | None:
    if key not in first or key not in second:
        return None
    difference = np.abs(first[key].astype(np.float64) - second[key].astype(np.float64))
    return float(difference.max(initial=0.0))


def compare_traces(first: Traces, second: Traces, batched: bool) -> list[NodeAgreement]:
    """Return the agreement of every node recorded in both runs, in the order of `first`."""
    time_axis = 1 if batched else 0
    rows = []
    for node, traces in first.items():
        other = second.get(node)
        if other is None:
            continue
        agreement = cosine = None
        if "spikes" in traces and "spikes" in other:
            agreement = float(np.mean(traces["spikes"] == other["spikes"])) if traces["spikes"].size else 1.0
            cosine = spike_count_cosine(traces["spikes"], other["spikes"], time_axis)
        rows.append(NodeAgreement(node, agreement, cosine, _max_error(traces, other, "v"), _max_error(traces, other, "i")))
    return rows
