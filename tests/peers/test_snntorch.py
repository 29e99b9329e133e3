"""snnTorch (snntorch.import_nir.import_from_nir) against nirmlir's snntorch preset.

snnTorch's importer assumes dt = 1e-4 s and divides each threshold by the input gain it drops
(r·dt/tau for LIF, w_in·dt/tau_syn for CubaLIF), so its voltage is the NIR voltage divided by
that gain; `NeuronRule.voltage_scale` carries the factor.
"""

from __future__ import annotations

import numpy as np
import pytest

from . import graphs
from .compare import compare_traces
from .nirmlir_side import BATCHES, STATE_TOLERANCE, STEPS, assert_agrees, compare_with_peer, simulate
from .runners import input_shape, load_graph, random_input, run_snntorch

PRESET = "discretize{dt=1e-4 preset=snntorch}"
# snnTorch's exporter writes tau = dt/(1 - beta), r = tau/dt and w_in = tau_syn/dt.
SNNTORCH_NEURONS = graphs.NeuronParameters(tau_mem=1e-3, r=10.0, v_threshold=1.0, tau_syn=5e-4, w_in=5.0)


def test_cnn_import_fails(paper_file):
    # snnTorch 0.9.4 maps AvgPool2d but no longer SumPool2d, so the pooling node has no module.
    path = paper_file("cnn")
    inputs = random_input(input_shape(load_graph(path)), 2, 1)
    with pytest.raises(KeyError):
        run_snntorch(path, inputs)


@pytest.mark.parametrize("batch", BATCHES)
def test_lif_mlp(batch):
    graph = graphs.lif_mlp(SNNTORCH_NEURONS, weight_scale=1.0)
    inputs = random_input((8,), STEPS, batch, seed=3)
    run = run_snntorch(graph, inputs)
    assert run.rules["lif1"].voltage_scale == pytest.approx(1.0)
    assert_agrees(compare_with_peer(graph, inputs, PRESET, run), run)


def test_conv_avg_pool_batch_one():
    graph = graphs.conv_pool_flatten(SNNTORCH_NEURONS, weight_scale=1.0, pool="avg")
    inputs = random_input((2, 8, 8), STEPS, 1, seed=5)
    run = run_snntorch(graph, inputs)
    assert_agrees(compare_with_peer(graph, inputs, PRESET, run), run)


def test_conv_batch_four_flatten_fails():
    # torch.nn.Flatten(start_dim=0) from the NIR Flatten also flattens the batch axis.
    graph = graphs.conv_pool_flatten(SNNTORCH_NEURONS, weight_scale=1.0, pool="avg")
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        run_snntorch(graph, random_input((2, 8, 8), 2, 4))


def test_braille_recurrent_bias_at_step_zero(paper_file):
    # RSynaptic applies the recurrent Affine to the zero initial spikes, so the Affine's bias
    # enters the current at step 0. nirmlir (and Norse) delay the Affine's output on the back
    # edge, which is 0 at step 0.
    path = paper_file("braille_zero")
    graph = load_graph(path)
    inputs = random_input(input_shape(graph), 2, 4, seed=1)
    run = run_snntorch(path, inputs)
    ours = simulate(path, inputs, PRESET, run.traces)
    scale = run.rules["lif1.lif"].voltage_scale
    difference = run.traces["lif1.lif"]["i"][:, 0] - ours["lif1.lif"]["i"][:, 0] * scale
    bias = np.broadcast_to(graph.nodes["lif1.w_rec"].bias * scale, difference.shape)
    assert np.abs(bias).max() > 0.1
    np.testing.assert_allclose(difference, bias, atol=STATE_TOLERANCE)


def _recurrent_cases():
    generated = graphs.cuba_lif_recurrent(SNNTORCH_NEURONS, weight_scale=0.3)
    return [pytest.param("braille_subtract", "lif1.lif", id="braille"), pytest.param(generated, "lif1.lif", id="generated")]


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize(("network", "node"), _recurrent_cases())
def test_rsynaptic_delayed_reset(paper_file, network, node, batch):
    # RSynaptic (snnTorch 0.9.4) resets a local copy of mem in the spike step and drops it, so mem
    # stays above the threshold in that step and the next step sets it to 0, input included.
    # The test checks this rule on every spike and that nirmlir agrees up to the first spike.
    source = paper_file(network) if isinstance(network, str) else network
    graph = load_graph(source)
    threshold = float(np.unique(graph.nodes[node].v_threshold)[0])
    inputs = random_input(input_shape(graph), STEPS, batch, seed=2)
    run = run_snntorch(source, inputs)
    spikes = run.traces[node]["spikes"] > 0
    voltage = run.traces[node]["v"] / run.rules[node].voltage_scale

    assert spikes.any(), "no spikes in the recurrent layer, so the rule is not exercised"
    assert (voltage[spikes] > threshold).all()
    assert (run.traces[node]["v"][:, 1:][spikes[:, :-1]] == 0).all()

    comparison = compare_with_peer(source, inputs, PRESET, run)
    assert not comparison.agrees(STATE_TOLERANCE), "the delayed reset left no trace\n" + comparison.format()

    # Up to the first spike of the recurrent layer, nothing differs.
    first_spike = int(np.where(spikes.any(axis=(0, 2)))[0][0])
    assert first_spike > 0
    ours = simulate(source, inputs, PRESET, run.traces)
    early = compare_traces(
        _first_steps(ours, first_spike),
        _first_steps(run.traces, first_spike),
        voltage_scale={name: rule.voltage_scale for name, rule in run.rules.items()},
    )
    assert early.spikes_identical, early.format()
    assert early.max_state_error <= STATE_TOLERANCE, early.format()


def _first_steps(traces, steps: int):
    return {name: {key: trace[:, :steps] for key, trace in keys.items()} for name, keys in traces.items()}
