"""The nir-run command line, run as real subprocesses: inputs, trace files, plots, comparisons and errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
LIF = REPO / "examples" / "lif.nir"
RNN = REPO / "examples" / "rnn.nir"
SPIKE_STEPS = [10, 20, 25, 30, 35, 40, 45, 50, 55, 60, 62, 64, 66, 68, 70]


def run_nir_run(*args, cwd=None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("nir-run")
    return subprocess.run([str(script), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


def spike_train(steps: int = 100) -> np.ndarray:
    x = np.zeros((steps, 1))
    x[[step for step in SPIKE_STEPS if step < steps], 0] = 1.0
    return x


def assert_failed(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def lif_input(tmp_path) -> Path:
    path = tmp_path / "x.npy"
    np.save(path, spike_train())
    return path


# --------------------------------------------------------------------------------------
# The stable interface
# --------------------------------------------------------------------------------------


def test_npz_has_node_traces(tmp_path, lif_input):
    out = tmp_path / "out.npz"
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "-o", out, "--record", "lif")
    assert result.returncode == 0, result.stderr
    with np.load(out) as traces:
        assert set(traces.files) == {"lif/v", "lif/spikes", "output/value", "output/spikes"}
        assert traces["lif/v"].shape == (100, 1)
        assert traces["lif/spikes"].shape == (100, 1)
        assert traces["lif/spikes"].sum() > 0
        np.testing.assert_array_equal(traces["output/spikes"], traces["lif/spikes"])


def test_batched_input_keeps_batch_axis(tmp_path):
    x = np.stack([spike_train(), 2 * spike_train(), np.zeros((100, 1))])
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npz"
    result = run_nir_run(LIF, "--preset", "snntorch", "--dt", "1e-4", "--input", tmp_path / "x.npy", "-o", out, "--record", "lif")
    assert result.returncode == 0, result.stderr
    with np.load(out) as traces:
        assert traces["lif/v"].shape == (3, 100, 1)
        assert traces["lif/spikes"][2].sum() == 0
        assert traces["lif/spikes"][1].sum() >= traces["lif/spikes"][0].sum()


def test_current_trace_of_cuba_neurons(tmp_path):
    x = (np.random.default_rng(0).random((50, 12)) < 0.3).astype(np.float64)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npz"
    result = run_nir_run(RNN, "--preset", "snntorch", "--dt", "1e-4", "--input", tmp_path / "x.npy", "-o", out, "--record", "lif1")
    assert result.returncode == 0, result.stderr
    with np.load(out) as traces:
        assert traces["lif1/i"].shape == (50, 16)
        assert traces["lif1/v"].shape == (50, 16)
        assert traces["output/spikes"].shape == (50, 4)


@pytest.mark.parametrize("preset", ["exact", "norse", "snntorch", "spyx", "sinabs", "rockpool", "nengo", "lava", "spinnaker2"])
def test_every_preset_runs(tmp_path, lif_input, preset):
    out = tmp_path / "out.npz"
    result = run_nir_run(LIF, "--preset", preset, "--dt", "1e-4", "--input", lif_input, "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.exists()


def test_paper_lif_trace_name(tmp_path, corpus_dir, shared_dir):
    # The LIF node of lif_norse.nir is named "1", so its voltage trace is `1/v`; the exact
    # preset reproduces the event-exact reference trace.
    rows = np.loadtxt(shared_dir / "corpus" / "golden" / "lif" / "lif_exact.csv", delimiter=",")
    np.save(tmp_path / "x.npy", rows[:, :1])
    out = tmp_path / "out.npz"
    model = corpus_dir / "neuromorphs-NIR__lif_norse.nir"
    result = run_nir_run(model, "--preset", "exact", "--dt", "1e-4", "--input", tmp_path / "x.npy", "-o", out, "--record", "1")
    assert result.returncode == 0, result.stderr
    with np.load(out) as traces:
        assert np.abs(traces["1/v"][:, 0] - rows[:, 1]).max() < 1e-6
        np.testing.assert_array_equal(traces["1/spikes"][:, 0], rows[:, 2])


# --------------------------------------------------------------------------------------
# Input and output formats
# --------------------------------------------------------------------------------------


def test_npy_output_of_one_trace(tmp_path, lif_input):
    out = tmp_path / "v.npy"
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "-o", out, "--record", "lif/v")
    assert result.returncode == 0, result.stderr
    assert np.load(out).shape == (100, 1)


def test_npy_output_needs_one_trace(tmp_path, lif_input):
    out = tmp_path / "v.npy"
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "-o", out, "--record", "lif")
    assert_failed(result, "a .npy file stores one trace but the run recorded 4")
    assert not out.exists()


def test_csv_input_columns_and_output(tmp_path):
    x = spike_train()
    rows = np.column_stack([np.arange(100), x[:, 0], -x[:, 0]])
    source = tmp_path / "x.csv"
    np.savetxt(source, rows, delimiter=",", header="step,events,negative", comments="")
    out = tmp_path / "out.csv"
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", source, "--input-columns", "events",
                         "-o", out, "--record", "lif/spikes")
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "step,output/value,output/spikes,lif/spikes"
    assert len(lines) == 101
    spikes = np.loadtxt(out, delimiter=",", skiprows=1)[:, 3]
    by_index = tmp_path / "by_index.csv"
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", source, "--input-columns", "1",
                         "-o", by_index, "--record", "lif/spikes")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.loadtxt(by_index, delimiter=",", skiprows=1)[:, 3], spikes)


def test_csv_output_of_batch(tmp_path):
    np.save(tmp_path / "x.npy", np.stack([spike_train(10), spike_train(10)]))
    out = tmp_path / "out.csv"
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "x.npy", "-o", out)
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "sample,step,output/value,output/spikes"
    assert lines[11].startswith("1,0,")
    assert len(lines) == 21


def test_nir_data_inputs(tmp_path):
    nir = pytest.importorskip("nir")
    x = np.stack([spike_train(), spike_train()]).astype(bool)
    gridded = nir.NIRGraphData({"input": nir.NIRNodeData({"spikes": nir.TimeGriddedData(x, 1e-4)})})
    nir.write_data(tmp_path / "grid.h5", gridded)
    events = nir.TimeGriddedData(x, 1e-4).to_event(n_events=40)
    nir.write_data(tmp_path / "events.h5", nir.NIRGraphData({"input": nir.NIRNodeData({"spikes": events})}))

    outputs = []
    for name in ("grid.h5", "events.h5"):
        out = tmp_path / f"{name}.npz"
        result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / name, "-o", out, "--record", "lif")
        assert result.returncode == 0, result.stderr
        with np.load(out) as traces:
            outputs.append(traces["lif/v"])
    assert outputs[0].shape == (2, 100, 1)
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_nir_data_with_other_dt_is_rejected(tmp_path):
    nir = pytest.importorskip("nir")
    data = nir.TimeGriddedData(spike_train()[None].astype(bool), 1e-3)
    nir.write_data(tmp_path / "grid.h5", nir.NIRGraphData({"input": nir.NIRNodeData({"spikes": data})}))
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "grid.h5", "-o", tmp_path / "o.npz")
    assert_failed(result, "is gridded with dt 0.001 s but the model steps every 0.0001 s")


def test_plot_writes_png(tmp_path, lif_input):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "lif.png"
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "--plot", plot, "--record", "lif")
    assert result.returncode == 0, result.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------
# Levels and comparisons
# --------------------------------------------------------------------------------------


def lowered_text(tmp_path, pipeline: str) -> Path:
    script = Path(sys.executable).with_name("nir-opt")
    result = subprocess.run([str(script), str(LIF), "-p", pipeline], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "lowered.mlir"
    path.write_text(result.stdout)
    return path


def test_snn_and_fxp_text_models(tmp_path, lif_input):
    traces = {}
    for level, pipeline in (("snn", "discretize{dt=1e-4 preset=norse}"), ("fxp", "lower-to-fixedpoint{dt=1e-4 preset=norse}")):
        model = lowered_text(tmp_path, pipeline)
        out = tmp_path / f"{level}.npz"
        result = run_nir_run(model, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "-o", out, "--record", "lif")
        assert result.returncode == 0, result.stderr
        assert f"already at the {level} level, so --preset is not used" in result.stderr
        with np.load(out) as archive:
            traces[level] = {key: archive[key] for key in archive.files}
    np.testing.assert_array_equal(traces["snn"]["lif/spikes"], traces["fxp"]["lif/spikes"])
    assert np.abs(traces["snn"]["lif/v"] - traces["fxp"]["lif/v"]).max() < 5e-3


def test_fxp_integers_flag(tmp_path, lif_input):
    out = tmp_path / "out.npz"
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--level", "fxp", "--quantize", "weight-bits=6 state-bits=12",
                         "--integers", "--input", lif_input, "-o", out, "--record", "lif")
    assert result.returncode == 0, result.stderr
    with np.load(out) as traces:
        assert traces["lif/v_int"].dtype == np.int64
        assert np.abs(traces["lif/v_int"]).max() < 2**11


def test_dt_mismatch_on_discretized_model(tmp_path, lif_input):
    model = lowered_text(tmp_path, "discretize{dt=1e-4 preset=norse}")
    result = run_nir_run(model, "--dt", "1e-3", "--input", lif_input, "-o", tmp_path / "o.npz")
    assert_failed(result, "already discretized with dt 0.0001 s, which differs from the requested dt 0.001 s")


def test_compare_level_prints_agreement(tmp_path, lif_input):
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "--record", "lif", "--compare", "fxp")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "comparison: snn (norse) vs fxp (norse)"
    assert lines[1].split() == ["node", "spike", "agreement", "spike", "cosine", "max", "|dv|", "(V)", "max", "|di|"]
    lif_row = next(line for line in lines if line.startswith("lif "))
    assert lif_row.split()[1:3] == ["1.000000", "1.000000"]


def test_compare_preset(tmp_path, lif_input):
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "--record", "lif", "--compare", "lava")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "comparison: snn (norse) vs snn (lava)"
    agreement = float(next(line for line in result.stdout.splitlines() if line.startswith("lif ")).split()[1])
    # Lava's synapse delay moves every spike by one step.
    assert agreement < 1.0


def test_compare_unknown_configuration(tmp_path, lif_input):
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "--compare", "brian")
    assert_failed(result, "unknown --compare 'brian'; expected a level (snn, fxp), a preset")


def test_compare_precision(tmp_path, lif_input):
    result = run_nir_run(
        LIF, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "--record", "lif",
        "--precision", "float32", "--compare", "float64",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "comparison: snn (norse) float32 vs snn (norse)"
    row = next(line for line in lines if line.startswith("lif ")).split()
    assert row[1:3] == ["1.000000", "1.000000"]
    # float32 keeps about 7 digits of voltages below the threshold 0.1.
    assert 0 < float(row[3]) < 1e-7


def test_float32_traces_and_threads(tmp_path):
    x = np.stack([spike_train(), 2 * spike_train(), np.zeros((100, 1)), 3 * spike_train(), spike_train()])
    np.save(tmp_path / "x.npy", x)
    outputs = {}
    for label, extra in {"serial": [], "threads": ["--threads", "3"], "float32": ["--precision", "float32"]}.items():
        out = tmp_path / f"{label}.npz"
        result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "x.npy", "-o", out, "--record", "lif", *extra)
        assert result.returncode == 0, result.stderr
        with np.load(out) as traces:
            outputs[label] = {key: traces[key] for key in traces.files}
    for key, serial in outputs["serial"].items():
        np.testing.assert_array_equal(outputs["threads"][key], serial)
    assert outputs["float32"]["lif/v"].dtype == np.float32
    assert outputs["serial"]["lif/v"].dtype == np.float64
    np.testing.assert_array_equal(outputs["float32"]["lif/spikes"], outputs["serial"]["lif/spikes"])
    np.testing.assert_allclose(outputs["float32"]["lif/v"], outputs["serial"]["lif/v"], atol=1e-7)


def test_threads_must_be_positive(tmp_path, lif_input):
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "--threads", "0")
    assert_failed(result, "the number of threads must be at least 1, not 0")


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


def test_bad_input_shape(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((10, 3)))
    out = tmp_path / "out.npz"
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "x.npy", "-o", out)
    assert_failed(result, "the data of input node 'input' have shape [10, 3]; expected (T, 1) or (B, T, 1)")
    assert not out.exists()


def test_unknown_record_node(tmp_path, lif_input):
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", lif_input, "-o", tmp_path / "o.npz", "--record", "lif2")
    assert_failed(result, "graph @main has no node 'lif2'; its nodes are 'input', 'affine', 'lif', 'output'")


def test_missing_model_and_input(tmp_path, lif_input):
    assert_failed(run_nir_run(tmp_path / "absent.nir", "--preset", "norse", "--input", lif_input), "model file")
    assert_failed(run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "absent.npy"), "input file")


def test_unknown_preset(tmp_path, lif_input):
    result = run_nir_run(LIF, "--preset", "brian", "--dt", "1e-4", "--input", lif_input, "-o", tmp_path / "o.npz")
    assert_failed(result, "unknown preset 'brian'; expected one of exact, norse, snntorch, spyx, sinabs, rockpool, nengo, lava, spinnaker2")


def test_missing_preset_for_nir_model(tmp_path, lif_input):
    result = run_nir_run(LIF, "--dt", "1e-4", "--input", lif_input, "-o", tmp_path / "o.npz")
    assert_failed(result, "a nir-level model needs a discretization preset")


def test_failed_run_keeps_existing_output(tmp_path):
    out = tmp_path / "out.npz"
    out.write_bytes(b"previous")
    np.save(tmp_path / "x.npy", np.zeros((10, 2)))
    result = run_nir_run(LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "x.npy", "-o", out)
    assert result.returncode == 1
    assert out.read_bytes() == b"previous"


def test_help_names_the_interface():
    result = run_nir_run("--help")
    assert result.returncode == 0
    for flag in ("--preset", "--dt", "--input", "--record", "--plot", "--compare", "--input-columns"):
        assert flag in result.stdout


TWO_INPUTS = """\
nir.graph @main {
  %a = nir.input "a" : tensor<2xf32>
  %b = nir.input "b" : tensor<2xf32>
  %scale = nir.scale "scale"(%b) {scale = dense<[2.0, -1.0]> : tensor<2xf32>} : tensor<2xf32>
  nir.output "output"(%a, %scale) : tensor<2xf32>
}
"""


def test_inputs_by_node_name(tmp_path):
    model = tmp_path / "two.mlir"
    model.write_text(TWO_INPUTS)
    np.save(tmp_path / "a.npy", np.ones((3, 2)))
    np.save(tmp_path / "b.npy", np.arange(6.0).reshape(3, 2))
    out = tmp_path / "out.npz"
    result = run_nir_run(model, "--preset", "norse", "--dt", "1e-3", "--input", f"a={tmp_path / 'a.npy'}",
                         "--input", f"b={tmp_path / 'b.npy'}", "-o", out)
    assert result.returncode == 0, result.stderr
    with np.load(out) as traces:
        np.testing.assert_array_equal(traces["output/value"], [[1.0, 0.0], [5.0, -2.0], [9.0, -4.0]])
    result = run_nir_run(model, "--preset", "norse", "--dt", "1e-3", "--input", tmp_path / "a.npy")
    assert_failed(result, "the graph has several inputs (a, b); give --input NODE=FILE for each")


def test_missing_dt_for_nir_model(tmp_path, lif_input):
    result = run_nir_run(LIF, "--preset", "norse", "--input", lif_input, "-o", tmp_path / "o.npz")
    assert_failed(result, "the model has no metadata dt; give the step length with --dt SECONDS")
