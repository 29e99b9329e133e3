"""Rockpool (rockpool.nn.modules.torch.nir.from_nir) against nirmlir's rockpool preset.

Rockpool's importer departs from the NIR CubaLIF: it picks dt = min(tau_mem/(1 + r)) per node,
ignores w_in, decays the input in its arrival step and adds the current to the voltage unscaled
(see `NeuronRule.notes`). `graphs.rockpool_equivalent` rewrites the NIR parameters so that the
preset's exp_euler step states exactly that rule. With the rewrite the traces match, and without
it they differ. Rockpool returns float32 spikes whatever the membrane's dtype, so it runs in
float32, with the state bound of `nirmlir_side.assert_agrees_float32`.
"""

from __future__ import annotations

import pytest

from . import graphs
from .nirmlir_side import BATCHES, STATE_TOLERANCE, STEPS, assert_agrees_float32, compare_with_peer
from .runners import ROCKPOOL_MAX_SPIKES, input_shape, load_graph, random_input, run_rockpool

DT = 1e-4
PRESET = f"discretize{{dt=1e-4 preset=rockpool max-spikes-per-step={ROCKPOOL_MAX_SPIKES}}}"
# Rockpool's exporter writes r = (tau_mem/dt)·exp(-dt/tau_mem) and leaves w_in at 1.
ROCKPOOL_NEURONS = graphs.NeuronParameters(tau_mem=2e-3, r=20.0 * 0.951229424500714, v_threshold=1.0, tau_syn=1e-3)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("network", ["braille_zero", "braille_subtract"])
def test_braille_with_import_rule(paper_file, network, batch):
    path = paper_file(network)
    graph = load_graph(path)
    inputs = random_input(input_shape(graph), STEPS, batch, seed=6)
    run = run_rockpool(path, inputs)
    assert_agrees_float32(compare_with_peer(graphs.rockpool_equivalent(graph, DT), inputs, PRESET, run), run)


def test_braille_differs_from_nir(paper_file):
    # The same file read as NIR states it (w_in and r as gains, the file's own dt) gives other spikes.
    path = paper_file("braille_zero")
    inputs = random_input(input_shape(load_graph(path)), STEPS, 1, seed=6)
    run = run_rockpool(path, inputs)
    comparison = compare_with_peer(path, inputs, PRESET, run)
    assert not comparison.agrees(STATE_TOLERANCE), comparison.format()


@pytest.mark.parametrize("batch", BATCHES)
def test_cuba_lif_recurrent(batch):
    graph = graphs.cuba_lif_recurrent(ROCKPOOL_NEURONS, weight_scale=0.1)
    inputs = random_input((8,), STEPS, batch, seed=4)
    run = run_rockpool(graph, inputs)
    assert run.rules["lif1.lif"].spike_test == "ge"
    assert_agrees_float32(compare_with_peer(graphs.rockpool_equivalent(graph, DT), inputs, PRESET, run), run)


def test_lif_import_fails():
    # Rockpool's importer reads node.tau_mem from nir.LIF, whose field is tau.
    graph = graphs.lif_mlp(ROCKPOOL_NEURONS, weight_scale=1.0)
    with pytest.raises(AttributeError, match="tau_mem"):
        run_rockpool(graph, random_input((8,), 2, 1))


def test_conv_import_fails():
    graph = graphs.conv_pool_flatten(ROCKPOOL_NEURONS, weight_scale=1.0)
    with pytest.raises(NotImplementedError, match="Conv2d"):
        run_rockpool(graph, random_input((2, 8, 8), 2, 1))
