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
