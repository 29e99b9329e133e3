"""The nirmlir side of the peer comparisons: discretize a graph with a pipeline and simulate it."""

from __future__ import annotations

import numpy as np

import nirmlir

from .compare import TraceComparison, compare_traces
from .runners import PeerRun, load_graph

STEPS = 100
BATCHES = (1, 4)
STATE_TOLERANCE = 1e-5
"""Maximum state error in the peer's voltage scale."""


def simulate(graph, inputs: np.ndarray, pipeline: str, nodes) -> dict:
    """Run `graph` through nirmlir with `pipeline` (nir-opt syntax) and record `nodes`."""
    module = nirmlir.compile(load_graph(graph), pipeline)
    return nirmlir.simulate(module, inputs, record=list(nodes))


def compare_with_peer(graph, inputs: np.ndarray, pipeline: str, run: PeerRun) -> TraceComparison:
    """Simulate `graph` with nirmlir and compare it with a peer run, in the peer's voltage scale."""
    ours = simulate(graph, inputs, pipeline, run.traces)
    scales = {node: rule.voltage_scale for node, rule in run.rules.items()}
    return compare_traces(ours, run.traces, voltage_scale=scales, state_tolerance=STATE_TOLERANCE)


def assert_agrees(comparison: TraceComparison, run: PeerRun) -> None:
    """Assert identical spikes at every step and a state error of at most STATE_TOLERANCE."""
    spikes = sum(node.spikes for node in comparison.nodes.values())
    message = f"{run.peer} {run.version} against nirmlir:\n{comparison.format()}"
    assert comparison.nodes, message
    assert not comparison.missing, message
    assert spikes > 0, "the peer produced no spikes, so the comparison proves nothing\n" + message
    assert comparison.spikes_identical, message
    assert comparison.max_state_error <= STATE_TOLERANCE, message


def assert_agrees_float32(comparison: TraceComparison, run: PeerRun) -> None:
    """Assert identical spikes and, per node, a state error of at most STATE_TOLERANCE·max(1, max |v|).

    For peers that only run in float32 (sinabs and Rockpool return float32 spikes whatever the
    membrane's dtype): float32 keeps 24 bits, about 6e-8 of |v| per operation, so where |v|
    reaches the hundreds no float32 run meets an absolute 1e-5.
    """
    message = f"{run.peer} {run.version} against nirmlir:\n{comparison.format()}"
    assert comparison.nodes, message
    assert not comparison.missing, message
    assert sum(node.spikes for node in comparison.nodes.values()) > 0, message
    assert comparison.spikes_identical, message
    for name, node in comparison.nodes.items():
        bound = STATE_TOLERANCE * max(1.0, float(np.abs(run.traces[name]["v"]).max()))
        assert node.max_state_error <= bound, f"node '{name}': bound {bound:.3g}\n{message}"
