"""Norse (norse.torch.from_nir) against nirmlir's norse preset."""

from __future__ import annotations

import pytest

from . import graphs
from .nirmlir_side import BATCHES, STEPS, assert_agrees, compare_with_peer
from .runners import input_shape, load_graph, random_input, run_norse

DT = 1e-4
PRESET = "discretize{dt=1e-4 preset=norse}"
# Norse ignores r for LIF and IF, and its v starts at v_leak: r = 1 and v_leak = 0 are its convention.
NORSE_NEURONS = graphs.NeuronParameters(tau_mem=2e-3, r=1.0, v_threshold=0.1, tau_syn=1e-3, w_in=1.0)


@pytest.mark.slow
def test_cnn_batch_one(paper_file):
    # IF in Norse: v += x, reset to 0, spike when v > threshold, which the preset (if-gain=r) states.
    path = paper_file("cnn")
    inputs = random_input(input_shape(load_graph(path)), STEPS, 1, seed=11)
    run = run_norse(path, inputs, dt=DT)
    assert_agrees(compare_with_peer(path, inputs, PRESET, run), run)


def test_cnn_batch_four_flatten_fails(paper_file):
    # Norse builds torch.nn.Flatten(start_dim=0) from the NIR Flatten, whose dims count from the
    # first unbatched axis, so a batch of four is flattened into one vector and the Affine fails.
    path = paper_file("cnn")
    inputs = random_input(input_shape(load_graph(path)), 2, 4, seed=11)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        run_norse(path, inputs, dt=DT)


@pytest.mark.parametrize("batch", BATCHES)
def test_braille_reset_zero(paper_file, batch):
    path = paper_file("braille_zero")
    inputs = random_input(input_shape(load_graph(path)), STEPS, batch, seed=1)
    run = run_norse(path, inputs, dt=DT)
    assert_agrees(compare_with_peer(path, inputs, PRESET, run), run)


@pytest.mark.parametrize("batch", BATCHES)
def test_braille_reset_subtract(paper_file, batch):
    # The file name is the only record of the subtractive reset; Norse takes it as reset_method.
    path = paper_file("braille_subtract")
    inputs = random_input(input_shape(load_graph(path)), STEPS, batch, seed=2)
    run = run_norse(path, inputs, dt=DT, reset="subtract")
    assert_agrees(compare_with_peer(path, inputs, "discretize{dt=1e-4 preset=norse reset=subtract}", run), run)


@pytest.mark.parametrize("batch", BATCHES)
def test_lif_mlp(batch):
    graph = graphs.lif_mlp(NORSE_NEURONS, weight_scale=1.0)
    inputs = random_input((8,), STEPS, batch, seed=3)
    run = run_norse(graph, inputs, dt=DT)
    assert_agrees(compare_with_peer(graph, inputs, PRESET, run), run)


@pytest.mark.parametrize("batch", BATCHES)
def test_cuba_lif_recurrent(batch):
    graph = graphs.cuba_lif_recurrent(NORSE_NEURONS, weight_scale=1.0)
    inputs = random_input((8,), STEPS, batch, seed=4)
    run = run_norse(graph, inputs, dt=DT)
    assert_agrees(compare_with_peer(graph, inputs, PRESET, run), run)


def test_conv_pool_flatten_batch_one():
    graph = graphs.conv_pool_flatten(NORSE_NEURONS, weight_scale=1.0)
    inputs = random_input((2, 8, 8), STEPS, 1, seed=5)
    run = run_norse(graph, inputs, dt=DT)
    assert_agrees(compare_with_peer(graph, inputs, PRESET, run), run)


def test_rules_state_ignored_parameters():
    run = run_norse(graphs.lif_mlp(NORSE_NEURONS, weight_scale=1.0), random_input((8,), 2, 1), dt=DT)
    rule = run.rules["lif1"]
    assert rule.dt == DT
    assert rule.spike_test == "gt"
    assert rule.reset == "zero"
    assert any("r is ignored" in note for note in rule.notes)
