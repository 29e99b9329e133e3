"""sinabs (sinabs.from_nir) against nirmlir's sinabs preset with unbounded spikes per step.

sinabs' spike functions return float32 whatever the membrane's dtype, so sinabs runs in float32
here, with the state bound of `nirmlir_side.assert_agrees_float32`.
"""

from __future__ import annotations

import numpy as np
import pytest

from . import graphs
from .compare import compare_traces
from .nirmlir_side import BATCHES, STEPS, simulate
from .nirmlir_side import assert_agrees_float32 as assert_float32_agreement
from .runners import PeerRun, input_shape, load_graph, random_input, run_sinabs

# sinabs' IAF and LIF default to MultiSpike: floor(v/threshold) spikes per step.
PRESET = "discretize{dt=1 preset=sinabs max-spikes-per-step=2147483647}"
# sinabs counts tau in steps (dt = 1 s) and adds the input unscaled, which NIR states as r = tau/dt.
SINABS_NEURONS = graphs.NeuronParameters(tau_mem=5.0, r=5.0, v_threshold=1.0)
# sinabs' IAF ignores r too (v += x), so its IF nodes have r = 1.
SINABS_IF_NEURONS = graphs.NeuronParameters(tau_mem=1.0, r=1.0, v_threshold=1.0)


def assert_agrees_float32(graph, inputs: np.ndarray, run: PeerRun) -> None:
    comparison = compare_traces(simulate(graph, inputs, PRESET, run.traces), run.traces)
    assert_float32_agreement(comparison, run)


@pytest.mark.slow
@pytest.mark.parametrize("batch", BATCHES)
def test_cnn_without_membrane_floor(paper_file, batch):
    # With min_v_mem removed, sinabs' IAF is v += x, floor(v/threshold) spikes, subtract reset.
    path = paper_file("cnn")
    inputs = random_input(input_shape(load_graph(path)), STEPS, batch, seed=11)
    run = run_sinabs(path, inputs, membrane_floor=False, precision="float32")
    assert_agrees_float32(path, inputs, run)


@pytest.mark.slow
def test_cnn_membrane_floor_deviation(paper_file):
    # sinabs imports IF with min_v_mem = -v_threshold, a floor NIR cannot express. The traces
    # agree until the floor first clamps a membrane, and differ after it.
    path = paper_file("cnn")
    inputs = random_input(input_shape(load_graph(path)), STEPS, 4, seed=11)
    run = run_sinabs(path, inputs, precision="float32")
    assert all("min_v_mem = -1" in " ".join(rule.notes) for rule in run.rules.values())

    clamped = [np.where((trace["v"] == -1.0).any(axis=tuple(i for i in range(trace["v"].ndim) if i != 1)))[0] for trace in run.traces.values()]
    first_clamp = min(int(steps[0]) for steps in clamped if steps.size)
    ours = simulate(path, inputs, PRESET, run.traces)
    if first_clamp > 0:
        before = compare_traces(
            {name: {key: trace[:, :first_clamp] for key, trace in keys.items()} for name, keys in ours.items()},
            {name: {key: trace[:, :first_clamp] for key, trace in keys.items()} for name, keys in run.traces.items()},
        )
        assert before.spikes_identical, before.format()

    # A clamp at step t changes the voltage that step t + 1 starts from.
    everything = compare_traces(ours, run.traces)
    assert not everything.spikes_identical, everything.format()
    assert everything.first_spike_mismatch_step > first_clamp


@pytest.mark.parametrize("batch", BATCHES)
def test_lif_mlp(batch):
    graph = graphs.lif_mlp(SINABS_NEURONS, weight_scale=1.0)
    inputs = random_input((8,), STEPS, batch, seed=3)
    run = run_sinabs(graph, inputs, precision="float32")
    assert run.rules["lif1"].dt == 1.0
    assert_agrees_float32(graph, inputs, run)


@pytest.mark.parametrize("batch", BATCHES)
def test_conv_if_pool_flatten(batch):
    graph = graphs.conv_pool_flatten(SINABS_IF_NEURONS, weight_scale=1.0, neuron="if")
    inputs = random_input((2, 8, 8), STEPS, batch, seed=5)
    run = run_sinabs(graph, inputs, membrane_floor=False, precision="float32")
    assert_agrees_float32(graph, inputs, run)


def test_conv_lif_import_fails():
    # sinabs checks `any(node.v_leak) != 0`, which is ambiguous for a LIF of two or more axes.
    graph = graphs.conv_pool_flatten(SINABS_NEURONS, weight_scale=1.0)
    with pytest.raises(ValueError, match="ambiguous"):
        run_sinabs(graph, random_input((2, 8, 8), 2, 1), precision="float32")
