"""The spinnaker2 level: lowering, verifiers and the float32 interpreter.

The golden check is the LIF experiment of the NIR paper on SpiNNaker2 (neuromorphs/NIR,
paper/01_lif/lif_spinnaker2.py): `neuromorphs-NIR__lif_norse.nir` (Affine W=1 into a LIF with
tau 2.5 ms, r 1, threshold 0.1) with dt = 1e-4 s, where the script multiplied the weight and
threshold by 102.02 by hand. py-spinnaker2 then stores the weight as the
integer 102 and the threshold as 0.1·102.02/0.04 = 255.05, and its recorded voltage is the chip
voltage divided by 102.02.
"""

from __future__ import annotations

import numpy as np
import pytest

import nirmlir
from nirmlir.diagnostics import DiagnosticError
from nirmlir.dense import numpy_from_dense
from nirmlir.dialects import spinnaker2
from nirmlir.passes.lower_to_spinnaker2 import lower_to_spinnaker2

DT = 1e-4
PAPER_WEIGHT_SCALE = 102.02
LIF_MODEL = "neuromorphs-NIR__lif_norse.nir"
BRAILLE_MODELS = ("neuromorphs-NIR__braille_noDelay_bias_zero.nir", "neuromorphs-NIR__braille_noDelay_noBias_subtract.nir")
CNN_MODEL = "neuromorphs-NIR__cnn_sinabs.nir"


def lowered(source, options: str = ""):
    return nirmlir.compile(source, f"lower-to-spinnaker2{{dt=1e-4 {options}}}")


def ops_of(module, op_class) -> list:
    graph = next(iter(module.ops))
    return [op for op in graph.body.block.ops if isinstance(op, op_class)]


@pytest.fixture(scope="module")
def lif_trace(shared_dir):
    return np.loadtxt(shared_dir / "corpus" / "golden" / "lif" / "lif_spinnaker2.csv", delimiter=",")


@pytest.fixture(scope="module")
def lif_chip(corpus_dir):
    return lowered(corpus_dir / LIF_MODEL, f"weight-scale={PAPER_WEIGHT_SCALE}")


def test_lif_registers_match_paper(lif_chip):
    (projection,) = ops_of(lif_chip, spinnaker2.ProjectionOp)
    (lif,) = ops_of(lif_chip, spinnaker2.LIFOp)
    assert numpy_from_dense(projection.weight).tolist() == [[102]]
    assert numpy_from_dense(projection.delay).tolist() == [[0]]
    assert lif.parameter("threshold")[0] == np.float32(255.05)
    assert lif.parameter("alpha_decay")[0] == np.float32(0.96)
    assert lif.parameter("i_offset")[0] == 0.0
    assert lif.reset.data == "reset_to_v_reset"


def test_lif_reproduces_spinnaker2_trace(lif_chip, lif_trace):
    traces = nirmlir.simulate(lif_chip, lif_trace[:, :1], record=["1"])
    spikes = traces["1"]["spikes"][:, 0]
    voltage = traces["1"]["v"][:, 0]

    assert traces["1"]["v"].dtype == np.float32
    np.testing.assert_array_equal(np.nonzero(spikes)[0], np.nonzero(lif_trace[:, 2])[0])
    np.testing.assert_array_equal(np.nonzero(spikes)[0], [460, 510, 710, 760])
    error = np.abs(voltage / PAPER_WEIGHT_SCALE - lif_trace[:, 1]).max()
    assert error <= 3e-7, f"max voltage error {error:.3g} in the trace's unit"


def test_lif_output_records_spikes(lif_chip, lif_trace):
    traces = nirmlir.simulate(lif_chip, lif_trace[:, :1])
    np.testing.assert_array_equal(traces["output"]["spikes"][:, 0], lif_trace[:, 2])


def test_lif_float64_snn_differs_from_chip(corpus_dir, lif_trace):
    # The snn level in float64 with the unrounded weight 102.02 keeps the spikes but not the
    # trace's voltage within 3e-7, so the interpreter's float32 and integer weight matter.
    traces = nirmlir.simulate(corpus_dir / LIF_MODEL, lif_trace[:, :1], preset="spinnaker2", dt=DT, record=["1"])
    voltage = traces["1"]["v"][:, 0] * (2.5e-3 / DT) * 102 / PAPER_WEIGHT_SCALE
    np.testing.assert_array_equal(np.nonzero(traces["1"]["spikes"][:, 0])[0], [460, 510, 710, 760])
    assert np.abs(voltage - lif_trace[:, 1]).max() > 3e-7


@pytest.mark.parametrize(
    ("options", "decay", "reset"),
    [
        ("", 1 - DT / 2.5e-3, "reset_to_v_reset"),
        ("integrator=exp_euler", np.exp(-DT / 2.5e-3), "reset_to_v_reset"),
        ("reset=subtract", 1 - DT / 2.5e-3, "reset_by_subtraction"),
    ],
)
def test_lif_integrator_and_reset_options(corpus_dir, options, decay, reset):
    (lif,) = ops_of(lowered(corpus_dir / LIF_MODEL, options), spinnaker2.LIFOp)
    assert lif.parameter("alpha_decay")[0] == pytest.approx(decay, rel=1e-6)
    assert lif.reset.data == reset
    # weight-scale=auto maps the single weight 1 to 127.
    assert numpy_from_dense(lif.v_scale)[0] == pytest.approx(127 * 2.5e-3 / DT, rel=1e-6)


def test_subtract_reset_keeps_overshoot(corpus_dir, lif_trace):
    chip = lowered(corpus_dir / LIF_MODEL, "reset=subtract weight-scale=127")
    traces = nirmlir.simulate(chip, lif_trace[:, :1], record=["1"])
    (lif,) = ops_of(chip, spinnaker2.LIFOp)
    v_scale = numpy_from_dense(lif.v_scale)[0]
    first = int(np.nonzero(traces["1"]["spikes"][:, 0])[0][0])
    # After the first spike the chip keeps v - threshold, which is above zero.
    assert traces["1"]["v"][first, 0] > 0
    # The same reset, discretized in float64 with unrounded weights, agrees to float32 precision.
    snn_subtract = nirmlir.simulate(
        nirmlir.compile(corpus_dir / LIF_MODEL, "discretize{dt=1e-4 preset=spinnaker2 reset=subtract}"),
        lif_trace[:, :1],
        record=["1"],
    )
    np.testing.assert_array_equal(traces["1"]["spikes"][:, 0], snn_subtract["1"]["spikes"][:, 0])
    np.testing.assert_allclose(traces["1"]["v"][:, 0] / v_scale, snn_subtract["1"]["v"][:, 0], atol=1e-6)


def test_from_snn_level_equals_from_nir(corpus_dir):
    snn_module = nirmlir.compile(corpus_dir / LIF_MODEL, "discretize{dt=1e-4 preset=spinnaker2}")
    from_snn = nirmlir.compile(snn_module, "lower-to-spinnaker2")
    from_nir = lowered(corpus_dir / LIF_MODEL)
    from nirmlir.printer import module_to_text

    assert module_to_text(from_snn) == module_to_text(from_nir)


def test_snn_option_conflict_rejected(corpus_dir):
    snn_module = nirmlir.compile(corpus_dir / LIF_MODEL, "discretize{dt=1e-4 preset=spinnaker2}")
    with pytest.raises(DiagnosticError, match="reset=subtract, but node '1' was discretized with reset 'to_reset_value'"):
        lower_to_spinnaker2(snn_module.clone(), reset="subtract")


def test_ge_spike_test_rejected(corpus_dir):
    snn_module = nirmlir.compile(corpus_dir / LIF_MODEL, "discretize{dt=1e-4 preset=sinabs}")
    with pytest.raises(DiagnosticError, match=r"v > threshold; discretize with spike-test=gt"):
        lower_to_spinnaker2(snn_module.clone())


def test_weight_scale_overflow_rejected(corpus_dir):
    with pytest.raises(DiagnosticError, match=r"maps the largest weight 1 from 'input' to 200, outside .* \[-128, 127\]"):
        lowered(corpus_dir / LIF_MODEL, "weight-scale=200")


def test_input_must_be_spikes(lif_chip):
    with pytest.raises(DiagnosticError, match="contains 0.5; a SpiNNaker2 spike_list population takes spikes of 0 or 1"):
        nirmlir.simulate(lif_chip, np.full((4, 1), 0.5))


# --------------------------------------------------------------------------------------
# The braille recurrent network and the CNN
# --------------------------------------------------------------------------------------


def on_weight_grid(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Return the arrays rounded to multiples of max|x|/127, which weight-scale=auto maps to exact integers."""
    largest = max(np.abs(array).max() for array in arrays)
    return [np.round(array * 127 / largest) * largest / 127 for array in arrays]


def population_scales(module) -> dict[str, np.ndarray]:
    return {op.node_name.data: numpy_from_dense(op.v_scale) for op in ops_of(module, spinnaker2.NeuronPopulationOp)}


@pytest.mark.parametrize("model", BRAILLE_MODELS)
def test_braille_lowers_to_populations(corpus_dir, model):
    chip = lowered(corpus_dir / model)
    populations = {op.node_name.data: op.name for op in ops_of(chip, spinnaker2.PopulationOp)}
    assert populations["input"] == "spinnaker2.input"
    assert populations["lif1.lif"] == "spinnaker2.lif_curr_exp"
    assert populations["lif2"] == "spinnaker2.lif_curr_exp"
    recurrent = [op for op in ops_of(chip, spinnaker2.ProjectionOp) if op.node_name.data == "lif1.lif->lif1.lif"]
    assert len(recurrent) == 1
    assert recurrent[0].min_delay() == 1
    for projection in ops_of(chip, spinnaker2.ProjectionOp):
        weight = numpy_from_dense(projection.weight)
        assert weight.min() >= -128
        assert weight.max() <= 127


def test_braille_biases_use_bias_population(corpus_dir):
    chip = lowered(corpus_dir / BRAILLE_MODELS[0])
    delays = sorted(
        op.min_delay() for op in ops_of(chip, spinnaker2.ProjectionOp) if op.node_name.data.startswith("bias->")
    )
    # fc1 and fc2 biases arrive in the same step; the recurrent affine's bias one step later.
    assert delays == [0, 0, 1]


def test_braille_matches_snn_on_weight_grid(corpus_dir):
    import nir

    graph = nir.read(corpus_dir / BRAILLE_MODELS[0])
    nodes = graph.nodes
    fc1, rec, fc2 = nodes["fc1"], nodes["lif1.w_rec"], nodes["fc2"]
    fc1.weight, fc1.bias, rec.weight, rec.bias = on_weight_grid([fc1.weight, fc1.bias, rec.weight, rec.bias])
    fc2.weight, fc2.bias = on_weight_grid([fc2.weight, fc2.bias])
    chip = lowered(graph)
    inputs = (np.random.default_rng(0).random((4, 300, 12)) < 0.2).astype(np.float32)

    traces = nirmlir.simulate(chip, inputs, record=["lif1.lif", "lif2"])
    reference = nirmlir.simulate(graph, inputs, preset="spinnaker2", dt=DT, record=["lif1.lif", "lif2"])
    scales = population_scales(chip)
    for node in ("lif1.lif", "lif2"):
        np.testing.assert_array_equal(traces[node]["spikes"], reference[node]["spikes"])
        assert traces[node]["spikes"].sum() > 100
        # float32 on the chip against float64 in snn: the error is float32 rounding of v.
        peak = np.abs(reference[node]["v"]).max()
        np.testing.assert_allclose(traces[node]["v"] / scales[node], reference[node]["v"], atol=1e-6 * peak)


def test_cnn_lowers_to_conv_projections(corpus_dir):
    chip = lowered(corpus_dir / CNN_MODEL)
    populations = {op.node_name.data: op.name for op in ops_of(chip, spinnaker2.PopulationOp)}
    assert populations == {
        "input": "spinnaker2.input",
        "1": "spinnaker2.lif_conv2d",
        "3": "spinnaker2.lif_conv2d",
        "6": "spinnaker2.lif_conv2d",
        "10": "spinnaker2.lif",
        "12": "spinnaker2.lif",
    }
    convs = {op.node_name.data: op for op in ops_of(chip, spinnaker2.Conv2dProjectionOp)}
    assert list(convs) == ["input->1", "1->3", "3->6"]
    assert list(convs["3->6"].pool.get_values()) == [2, 2]
    assert list(convs["3->6"].in_shape.get_values()) == [16, 16, 16]
    assert tuple(convs["3->6"].weight.get_shape()) == (16, 8, 3, 3)
    (dense,) = [op for op in ops_of(chip, spinnaker2.ProjectionOp) if op.node_name.data == "6->10"]
    # sum pool 2x2, flatten and affine compose into one 256 x 512 connection matrix.
    assert tuple(dense.weight.get_shape()) == (256, 512)


def test_cnn_matches_snn_on_weight_grid(corpus_dir):
    import nir

    graph = nir.read(corpus_dir / CNN_MODEL)
    for name in ("0", "2", "5", "9", "11"):
        (graph.nodes[name].weight,) = on_weight_grid([graph.nodes[name].weight])
    chip = lowered(graph)
    inputs = (np.random.default_rng(1).random((2, 30, 2 * 34 * 34)) < 0.1).astype(np.float32)

    nodes = ["1", "3", "6", "10", "12"]
    traces = nirmlir.simulate(chip, inputs, record=nodes)
    reference = nirmlir.simulate(graph, inputs.reshape(2, 30, 2, 34, 34), preset="spinnaker2", dt=DT, record=nodes)
    for node in nodes:
        spikes = traces[node]["spikes"]
        np.testing.assert_array_equal(spikes, reference[node]["spikes"].reshape(spikes.shape))
    assert traces["12"]["spikes"].sum() > 0


def test_cnn_exceeds_cores_with_few_atoms(corpus_dir):
    # input 37 + conv layers 64, 64 and 8 + dense layers 4 and 1 PEs at 64 neurons per PE.
    with pytest.raises(DiagnosticError, match=r"need 178 PEs, 26 more than the 152 of one chip; raise atoms_per_core"):
        lowered(corpus_dir / CNN_MODEL, "atoms-per-core=64")


@pytest.mark.parametrize("model", [LIF_MODEL, BRAILLE_MODELS[0], CNN_MODEL])
def test_text_round_trip(corpus_dir, model):
    from nirmlir.context import make_context
    from nirmlir.parser import parse_module
    from nirmlir.printer import module_to_text

    chip = lowered(corpus_dir / model)
    for generic in (False, True):
        text = module_to_text(chip, generic=generic)
        reparsed = parse_module(text, make_context(), "<round trip>")
        reparsed.verify()
        assert module_to_text(reparsed, generic=generic) == text
        assert module_to_text(reparsed) == module_to_text(chip)
