"""The Loihi 2 back end: lowering onto netx layers and the bit-exact CUBA interpreter.

The NIR paper's LIF experiment (neuromorphs/NIR, paper/01_lif) ran the network of
`neuromorphs-NIR__lif_norse.nir` on Lava's bit-accurate CPU model and on a Loihi 2 chip. Its Lava
conversion used 16000 v units per NIR volt (threshold 0.1 V = mantissa 25 << 6) and truncated
4096·dt/tau = 163.84 to vDecay 163; with those two options the lowering gives the same
registers, and the interpreter reproduces the recorded traces.
"""

from __future__ import annotations

import numpy as np
import pytest

import nirmlir
from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError
from nirmlir.dialects import loihi2
from nirmlir.simulator import numerics

from loihi2_reference import (
    BRAILLE_MODEL,
    LIF_MODEL,
    PAPER_LAVA_OPTIONS,
    delayed_graph,
    layer_ops,
    reference_cuba,
    registers_of,
)


def read_trace(shared_dir, name: str) -> np.ndarray:
    return np.loadtxt(shared_dir / "corpus" / "golden" / "lif" / name, delimiter=",")


@pytest.fixture(scope="module")
def paper_lif(corpus_dir):
    return nirmlir.compile(nirmlir.load(corpus_dir / LIF_MODEL), PAPER_LAVA_OPTIONS)


def test_lif_registers_match_paper(paper_lif):
    (layer,) = layer_ops(paper_lif)
    assert isinstance(layer, loihi2.DenseOp)
    assert numpy_from_dense(layer.weight).tolist() == [[10]]
    assert layer.weight_exp.value.data == 0
    assert layer.i_decay.value.data == 4096
    assert layer.v_decay.value.data == 163
    assert layer.vth_mant.value.data == 25
    assert layer.bias is None


def test_lif_reproduces_lava_cpu_fixed(paper_lif, shared_dir):
    rows = read_trace(shared_dir, "lif_lava_cpu_fixed.csv")
    traces = nirmlir.simulate(paper_lif, rows[:, :1].astype(np.int64), record=["1"], integers=True)
    np.testing.assert_array_equal(traces["1"]["v_int"][:, 0], rows[:, 1].astype(np.int64))
    np.testing.assert_array_equal(traces["1"]["spikes"][:, 0], rows[:, 2])
    np.testing.assert_array_equal(np.nonzero(traces["1"]["spikes"][:, 0])[0], [461, 511, 711, 761])


def test_lif_reproduces_loihi_chip_spikes(paper_lif, shared_dir):
    rows = read_trace(shared_dir, "lif_lava_loihi_fixed.csv")
    traces = nirmlir.simulate(paper_lif, rows[:, :1].astype(np.int64), record=["1"], integers=True)
    spikes = traces["1"]["spikes"][:, 0]
    np.testing.assert_array_equal(spikes, rows[:, 2])
    # The chip's probe reads v = 128 on the steps where the neuron spikes; elsewhere v agrees exactly.
    voltage = traces["1"]["v_int"][:, 0]
    quiet = spikes == 0
    np.testing.assert_array_equal(voltage[quiet], rows[quiet, 1].astype(np.int64))
    np.testing.assert_array_equal(rows[~quiet, 1], np.full(4, 128.0))


def test_lif_voltage_in_nir_volts(paper_lif, shared_dir):
    rows = read_trace(shared_dir, "lif_lava_cpu_fixed.csv")
    traces = nirmlir.simulate(paper_lif, rows[:, :1].astype(np.int64), record=["1"])
    # One NIR volt is 16000 v units, so the first input spike (v = 640) reads 0.04 V.
    assert traces["1"]["v"][61, 0] == pytest.approx(0.04, rel=1e-6)


def test_lif_default_options_keep_spikes(corpus_dir, shared_dir):
    rows = read_trace(shared_dir, "lif_lava_cpu_fixed.csv")
    lowered = nirmlir.compile(nirmlir.load(corpus_dir / LIF_MODEL), "lower-to-loihi2{dt=1e-4}")
    (layer,) = layer_ops(lowered)
    # The largest weight fills the 8-bit range: 0.04 V per spike against a 0.1 V threshold.
    assert numpy_from_dense(layer.weight).tolist() == [[254]]
    assert layer.v_decay.value.data == 164
    assert layer.vth_mant.value.data == 634
    traces = nirmlir.simulate(lowered, rows[:, :1].astype(np.int64), record=["1"])
    np.testing.assert_array_equal(np.nonzero(traces["1"]["spikes"][:, 0])[0], [461, 511, 711, 761])


# --------------------------------------------------------------------------------------
# Braille: a recurrent CubaLIF layer and a CubaLIF readout, against a separate integer model
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def braille(corpus_dir):
    return nirmlir.compile(nirmlir.load(corpus_dir / BRAILLE_MODEL), "lower-to-loihi2{dt=1e-4}")


def test_braille_lowers_to_dense_rec(braille):
    first, second = layer_ops(braille)
    assert isinstance(first, loihi2.DenseRecOp)
    assert isinstance(second, loihi2.DenseOp)
    # tau_syn = 0.222 ms and tau_mem = 1 ms at dt = 0.1 ms: 4096·0.45 and 4096·0.1.
    assert (first.i_decay.value.data, first.v_decay.value.data) == (1843, 410)
    assert (second.i_decay.value.data, second.v_decay.value.data) == (2048, 1843)
    assert first.bias is not None, "the file's affine biases become a bias on v"


def test_braille_matches_integer_model(braille):
    rng = np.random.default_rng(7)
    spikes_in = (rng.random((200, 12)) < 0.3).astype(np.int64)
    names = [op.node_name.data for op in layer_ops(braille)]
    traces = nirmlir.simulate(braille, spikes_in, record=names, integers=True)
    expected = reference_cuba([registers_of(op) for op in layer_ops(braille)], spikes_in)
    for name in names:
        np.testing.assert_array_equal(traces[name]["i_int"], expected[name]["i"], err_msg=f"{name} current")
        np.testing.assert_array_equal(traces[name]["v_int"], expected[name]["v"], err_msg=f"{name} voltage")
        np.testing.assert_array_equal(traces[name]["spikes"], expected[name]["spikes"], err_msg=f"{name} spikes")
        assert expected[name]["spikes"].sum() > 0, f"{name} never spikes, so the check would be weak"


def test_braille_close_to_float_lava_preset(braille, corpus_dir):
    rng = np.random.default_rng(3)
    spikes_in = (rng.random((200, 12)) < 0.3).astype(np.float64)
    model = nirmlir.load(corpus_dir / BRAILLE_MODEL)
    reference = nirmlir.simulate(model, spikes_in, preset="lava", dt=1e-4, record=["lif1.lif", "lif2"])
    chip = nirmlir.simulate(braille, spikes_in.astype(np.int64), record=["lif1.lif", "lif2"])
    agreement = (reference["lif1.lif"]["spikes"] == chip["lif1.lif"]["spikes"]).mean()
    assert agreement > 0.9, f"hidden-layer spike agreement with the float lava preset is only {agreement:.3f}"
    # Loihi adds the readout's synapse bias to v at its settled value. That shifts the phase of
    # the readout's regular firing but keeps its rate.
    expected_count = reference["lif2"]["spikes"].sum()
    count = chip["lif2"]["spikes"].sum()
    assert abs(count - expected_count) <= 0.05 * expected_count, f"readout spikes {count} against {expected_count}"


# --------------------------------------------------------------------------------------
# The sinabs CNN: sum pools folded into the next weights
# --------------------------------------------------------------------------------------


def test_cnn_pool_folds_into_conv(corpus_dir):
    lowered = nirmlir.compile(nirmlir.load(corpus_dir / "neuromorphs-NIR__cnn_sinabs.nir"), "lower-to-loihi2{dt=1e-4}")
    layers = layer_ops(lowered)
    assert [type(op) for op in layers] == [loihi2.ConvOp] * 3 + [loihi2.DenseOp] * 2
    folded = layers[2]
    weight = numpy_from_dense(folded.weight).astype(np.int64)
    stride, padding = ints_from_array(folded.stride), ints_from_array(folded.padding)
    assert (weight.shape[2:], stride, padding) == ((6, 6), (2, 2), (2, 2))
    # The folded kernel repeats each tap of the original 3x3 kernel over a 2x2 block ...
    original = weight[:, :, ::2, ::2]
    np.testing.assert_array_equal(np.repeat(np.repeat(original, 2, axis=2), 2, axis=3), weight)
    # ... so it computes the original conv of the 2x2 sum pool exactly.
    rng = np.random.default_rng(1)
    x = (rng.random((2, 16, 16, 16)) < 0.4).astype(np.int64)
    direct = numerics.convolution(x, weight, stride, padding, (1, 1), 1)
    pooled = numerics.sum_pool(x, (2, 2), (2, 2), (0, 0))
    expected = numerics.convolution(pooled, original, (1, 1), (1, 1), (1, 1), 1)
    np.testing.assert_array_equal(direct, expected)


def test_cnn_runs_on_interpreter(corpus_dir):
    lowered = nirmlir.compile(nirmlir.load(corpus_dir / "neuromorphs-NIR__cnn_sinabs.nir"), "lower-to-loihi2{dt=1e-4}")
    rng = np.random.default_rng(2)
    x = (rng.random((20, 2, 34, 34)) < 0.2).astype(np.int64)
    traces = nirmlir.simulate(lowered, x, record=["1"])
    assert traces["output"]["spikes"].shape == (20, 10)
    assert traces["1"]["spikes"].sum() > 0


# --------------------------------------------------------------------------------------
# NIR delay nodes become netx synaptic delays
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("delay_seconds", [None, [3e-4, 5e-4]])
def test_delay_node_spike_steps(delay_seconds):
    graph = delayed_graph(delay_seconds)
    spikes_in = np.zeros((40, 2))
    spikes_in[5, 0] = 1
    spikes_in[20, 1] = 1
    reference = nirmlir.simulate(graph, spikes_in, preset="lava", dt=1e-4)
    lowered = nirmlir.compile(graph, "lower-to-loihi2{dt=1e-4}")
    chip = nirmlir.simulate(lowered, spikes_in.astype(np.int64))
    # Without the delay node the synapse's own step delays both spikes by 1; with it, by 3 and 5.
    expected = [[6, 0], [21, 1]] if delay_seconds is None else [[8, 0], [25, 1]]
    assert np.argwhere(reference["output"]["spikes"]).tolist() == expected
    assert np.argwhere(chip["output"]["spikes"]).tolist() == expected


def test_delay_node_becomes_netx_delay():
    lowered = nirmlir.compile(delayed_graph([3e-4, 5e-4]), "lower-to-loihi2{dt=1e-4}")
    (layer,) = layer_ops(lowered)
    assert numpy_from_dense(layer.delay).tolist() == [[2, 2], [4, 4]]


def test_zero_step_delay_rejected():
    with pytest.raises(DiagnosticError, match="node 'delay' delays by 0 to 1 steps, but every Loihi 2 synapse delays by 1 to 63"):
        nirmlir.compile(delayed_graph([0.0, 1e-4]), "lower-to-loihi2{dt=1e-4}")


# --------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------


def test_per_neuron_time_constants_rejected(corpus_dir):
    import nir

    graph = nir.read(corpus_dir / BRAILLE_MODEL)
    lif = graph.nodes["lif2"]
    lif.tau_mem = lif.tau_mem * np.linspace(1.0, 2.0, lif.tau_mem.size).astype(np.float32)
    with pytest.raises(DiagnosticError) as caught:
        nirmlir.compile(graph, "lower-to-loihi2{dt=1e-4}")
    message = caught.value.message
    assert "node 'lif2' has 7 different voltage_decays" in message
    assert "split the node into one NIR node per time constant" in message


def test_subtractive_reset_rejected(corpus_dir):
    with pytest.raises(DiagnosticError, match="reset 'subtract', but Loihi's CUBA neuron has 'to_reset_value'"):
        nirmlir.compile(
            nirmlir.load(corpus_dir / LIF_MODEL),
            "discretize{dt=1e-4 preset=lava reset=subtract},lower-to-loihi2",
        )


def test_missing_synapse_delay_rejected(corpus_dir):
    with pytest.raises(DiagnosticError, match="adds one step of delay; discretize with preset=lava"):
        nirmlir.compile(nirmlir.load(corpus_dir / LIF_MODEL), "discretize{dt=1e-4 preset=norse},lower-to-loihi2")


def test_interpreter_rejects_graded_input(paper_lif):
    with pytest.raises(DiagnosticError, match="contain 2; a netx input layer without a neuron group passes binary"):
        nirmlir.simulate(paper_lif, np.full((5, 1), 2, dtype=np.int64))


# --------------------------------------------------------------------------------------
# Textual IR
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("generic", [False, True])
def test_lowered_text_round_trip(braille, generic):
    from nirmlir.context import make_context
    from nirmlir.parser import parse_module
    from nirmlir.printer import module_to_text

    text = module_to_text(braille, generic=generic)
    parsed = parse_module(text, make_context(), "braille.loihi2.mlir")
    assert module_to_text(parsed, generic=generic) == text
    rng = np.random.default_rng(5)
    spikes_in = (rng.random((50, 12)) < 0.3).astype(np.int64)
    before = nirmlir.simulate(braille, spikes_in, record=["lif1.lif"], integers=True)
    after = nirmlir.simulate(parsed, spikes_in, record=["lif1.lif"], integers=True)
    np.testing.assert_array_equal(before["lif1.lif"]["v_int"], after["lif1.lif"]["v_int"])
