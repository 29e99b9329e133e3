"""Tests of the quantization report: nir-opt --quantization-report, --calibration-input and -v, and the report document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nirmlir
from nirmlir.passes.discretize import discretize_module, resolve_preset
from nirmlir.passes.quantize import quantize_module
from nirmlir.passes.quantize_options import QuantizeOptions
from nirmlir.passes.quantize_report import report_document
from nirmlir.quantization_report import collect_reports, format_table, merge_documents, publish

REPO = Path(__file__).resolve().parent.parent
LIF_MODEL = REPO / "examples" / "lif.nir"
BRAILLE = "neuromorphs-NIR__braille_noDelay_bias_zero.nir"
PIPELINE = "lower-to-fixedpoint{weight-bits=8 state-bits=16 dt=1e-4 preset=snntorch}"


def nir_opt(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("nir-opt")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def braille_input(tmp_path: Path) -> Path:
    """300 steps of seeded random spikes (probability 0.1) for the 12 braille input channels."""
    path = tmp_path / "x.npy"
    rng = np.random.default_rng(0)
    np.save(path, (rng.random((300, 12)) < 0.1).astype(np.float32))
    return path


# --------------------------------------------------------------------------------------
# nir-opt
# --------------------------------------------------------------------------------------


def test_report_has_layer_per_neuron_group(corpus_dir, tmp_path, braille_input):
    report_path = tmp_path / "R.json"
    result = nir_opt(
        str(corpus_dir / BRAILLE), "-p", PIPELINE, "--quantization-report", str(report_path),
        "--calibration-input", str(braille_input), "-o", str(tmp_path / "out.mlir"),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert [layer["node"] for layer in report["layers"]] == ["lif1.lif", "lif2"]
    for layer in report["layers"]:
        assert isinstance(layer["scale"], float)
        assert 0 < layer["max_relative_weight_error"] < 0.01
        assert 0.9 < layer["spike_cosine"] <= 1.0
        assert layer["float_spikes"] > 0
        assert layer["op"] == "fxp.cuba_lif"
    first = report["layers"][0]
    assert first["neurons"] == 38
    assert {entry["node"] for entry in first["parameters"]} == {"fc1", "lif1.w_rec", "lif1.lif"}
    assert {(entry["node"], entry["quantity"]) for entry in first["ranges"]} >= {
        ("fc1", "accumulator"), ("lif1.lif", "voltage"), ("lif1.lif", "current")
    }
    assert set(first["scales"]["weights"]) == {"fc1", "lif1.w_rec"}
    assert report["runs"][0]["pass"] == "lower-to-fixedpoint"
    assert report["runs"][0]["calibration_input"] == str(braille_input)
    assert report["runs"][0]["calibration_steps"] == 300
    assert report["runs"][0]["options"]["weight_bits"] == 8


def test_report_without_input_has_no_spike_cosine(corpus_dir, tmp_path):
    report_path = tmp_path / "R.json"
    result = nir_opt(str(corpus_dir / BRAILLE), "-p", PIPELINE, "--quantization-report", str(report_path), "-o", "/dev/null")
    assert result.returncode == 0, result.stderr
    layers = json.loads(report_path.read_text())["layers"]
    assert len(layers) == 2
    assert all("spike_cosine" not in layer for layer in layers)
    assert all(layer["max_relative_weight_error"] is not None for layer in layers)


def test_verbose_prints_table(corpus_dir, tmp_path, braille_input):
    result = nir_opt(
        str(corpus_dir / BRAILLE), "-p", PIPELINE, "--calibration-input", str(braille_input), "-v", "-o", "/dev/null"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    header = next(line for line in lines if line.startswith("node "))
    assert "spike cosine" in header
    assert any(line.startswith("lif1.lif ") for line in lines)
    assert any(line.startswith("lif2 ") for line in lines)


def test_failed_run_keeps_existing_report(tmp_path):
    report_path = tmp_path / "R.json"
    report_path.write_text("previous")
    result = nir_opt(str(LIF_MODEL), "-p", "lower-to-fixedpoint{rounding=banker}", "--quantization-report", str(report_path))
    assert result.returncode == 1
    assert "invalid rounding 'banker'" in result.stderr
    assert report_path.read_text() == "previous"


def test_report_needs_quantizing_pass(tmp_path):
    result = nir_opt(str(LIF_MODEL), "-p", "discretize{dt=1e-4}", "--quantization-report", str(tmp_path / "R.json"))
    assert result.returncode == 1
    assert "--quantization-report needs lower-to-fixedpoint or quantize in the pipeline" in result.stderr
    assert not (tmp_path / "R.json").exists()


def test_calibration_input_needs_quantizing_pass(tmp_path, braille_input):
    result = nir_opt(str(LIF_MODEL), "-p", "discretize{dt=1e-4}", "--calibration-input", str(braille_input))
    assert result.returncode == 1
    assert "--calibration-input needs lower-to-fixedpoint or quantize in the pipeline" in result.stderr


def test_calibration_input_shape_is_checked(tmp_path):
    data = tmp_path / "wrong.npy"
    np.save(data, np.zeros((10, 5)))
    result = nir_opt(str(LIF_MODEL), "-p", "lower-to-fixedpoint{dt=1e-4}", "--calibration-input", str(data))
    assert result.returncode == 1
    assert "the calibration data of input node 'input' have shape [10, 5]; expected (T, 1) or (B, T, 1)" in result.stderr


def test_calibrate_needs_input():
    result = nir_opt(str(LIF_MODEL), "-p", "lower-to-fixedpoint{dt=1e-4 calibrate=true}")
    assert result.returncode == 1
    assert "lower-to-fixedpoint: calibrate=true needs calibration data" in result.stderr


# --------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------


def quantized_braille(corpus_dir: Path, **options):
    module = nirmlir.load(corpus_dir / BRAILLE)
    discretize_module(module, resolve_preset("snntorch"), 1e-4)
    rng = np.random.default_rng(1)
    data = (rng.random((2, 100, 12)) < 0.1).astype(np.float64)
    quantize_options = QuantizeOptions(**options)
    return quantize_module(module, quantize_options, data), quantize_options


def test_document_lists_every_parameter(corpus_dir):
    report, options = quantized_braille(corpus_dir)
    document = report_document(report, "quantize", options, None)
    assert len(document["parameters"]) == len(report.parameters)
    assert len(document["ranges"]) == len(report.ranges)
    layer_parameters = [entry for layer in document["layers"] for entry in layer["parameters"]]
    # Every parameter belongs to exactly one neuron group in this model.
    assert len(layer_parameters) == len(report.parameters)
    json.dumps(document, allow_nan=False)


@pytest.mark.filterwarnings("ignore::nirmlir.diagnostics.DiagnosticWarning")
def test_state_scale_range_reports_shift(corpus_dir):
    report, options = quantized_braille(corpus_dir, state_scale="range", calibrate=True)
    layer = report_document(report, "quantize", options, None)["layers"][0]
    assert layer["scales"]["state_shift"] > 0
    assert layer["scales"]["accumulator"] == pytest.approx(layer["scales"]["current"] * 2 ** layer["scales"]["state_shift"])
    # The left shifts of the weight ops' inputs are exact, so they have bounds but no parameter error.
    shifts = {"input->fc1.rescale", "lif1.lif->lif1.w_rec.rescale"}
    assert shifts <= {entry["node"] for entry in layer["ranges"]}
    assert not shifts & {entry["node"] for entry in layer["parameters"]}
    assert layer["recorded_max"]["v"] > 0
    assert "spike_cosine" in layer


def test_collectors_nest_and_merge():
    with collect_reports() as outer:
        publish({"version": 1, "runs": [{"pass": "a"}], "layers": [1], "parameters": [], "ranges": []})
        with collect_reports() as inner:
            publish({"version": 1, "runs": [{"pass": "b"}], "layers": [2], "parameters": [], "ranges": []})
    assert [document["runs"][0]["pass"] for document in outer] == ["a"]
    assert [document["runs"][0]["pass"] for document in inner] == ["b"]
    merged = merge_documents(outer + inner)
    assert merged["layers"] == [1, 2]
    assert [run["pass"] for run in merged["runs"]] == ["a", "b"]
    publish({"ignored": True})


def test_table_has_row_per_layer(corpus_dir):
    report, options = quantized_braille(corpus_dir)
    table = format_table(report_document(report, "quantize", options, None)).splitlines()
    assert len(table) == 3
    assert table[1].split()[:3] == ["lif1.lif", "fxp.cuba_lif", "38"]
