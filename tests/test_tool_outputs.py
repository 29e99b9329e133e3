"""Bad input found by trying the tools as a new user: each is a diagnostic with exit 1, and no output is half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
LIF = REPO / "examples" / "lif.nir"
RNN = REPO / "examples" / "rnn.nir"


def tool(name: str, *args, cwd=None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name(name)
    return subprocess.run([str(script), *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


def assert_diagnostic(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "internal error" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def fxp_rnn(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fxp") / "rnn.fxp.mlir"
    result = tool("nir-opt", RNN, "-p", "lower-to-fixedpoint{dt=1e-4}", "-o", path)
    assert result.returncode == 0, result.stderr
    return path


@pytest.mark.parametrize("lowering", ["lower-to-speck", "lower-to-loihi2", "lower-to-spinnaker2"])
def test_snn_lowering_of_fxp_module(fxp_rnn, lowering):
    result = tool("nir-opt", fxp_rnn, f"--{lowering}")
    assert_diagnostic(result, f"{lowering} takes the snn dialect; this module contains fxp.graph @main, which is already quantized")


def test_hdf5_output_bad_folder(tmp_path):
    text = tmp_path / "lif.mlir"
    assert tool("nir-translate", "--import-nir", LIF, "-o", text).returncode == 0
    missing = tool("nir-translate", "--export-nir", text, "-o", tmp_path / "nowhere" / "x.nir")
    assert_diagnostic(missing, "x.nir': No such file or directory")
    folder = tool("nir-translate", "--export-nir", text, "-o", tmp_path)
    assert_diagnostic(folder, "it is a folder; give a file name")


def test_zero_steps_empty_csv(tmp_path):
    np.save(tmp_path / "empty.npy", np.zeros((0, 1)))
    result = tool("nir-run", LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "empty.npy", "-o", tmp_path / "t.csv")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.csv").read_text().splitlines() == ["step,output/value,output/spikes"]


def test_map_to_cores_chip_limit(fxp_rnn):
    result = tool("nir-opt", fxp_rnn, "-p", "map-to-cores{target=loihi2 chips=100000000000}", "-o", "-")
    assert_diagnostic(result, "chips is 100000000000; at most 10000 are supported")


def test_failed_report_keeps_output(tmp_path, fxp_rnn):
    module_output = tmp_path / "module_output.mlir"
    module_output.write_text("KEEP\n")
    report = tool("nir-opt", fxp_rnn, "-p", "map-to-cores{target=loihi2}", "--mapping-report", tmp_path / "no" / "r.json", "-o", module_output)
    assert_diagnostic(report, "cannot write")
    graph = tool("nir-opt", fxp_rnn, "--view-op-graph=" + str(tmp_path / "no" / "g.dot"), "-o", module_output)
    assert_diagnostic(graph, "cannot write")
    assert module_output.read_text() == "KEEP\n"


def test_failed_plot_no_traces(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 1)))
    traces = tmp_path / "t.npz"
    result = tool(
        "nir-run", LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "x.npy", "-o", traces,
        "--plot", tmp_path / "no" / "p.png",
    )
    assert_diagnostic(result, "cannot write")
    assert not traces.exists()


def test_text_command_hdf5_input(tmp_path):
    result = tool("nir-translate", "--export-nir", LIF, "-o", tmp_path / "x.nir")
    assert_diagnostic(result, "is a NIR HDF5 file, but this command reads textual IR; import it with nir-translate --import-nir")


def test_map_to_cores_other_chip(tmp_path):
    lowered = tmp_path / "rnn.s2.mlir"
    result = tool("nir-opt", RNN, "--lower-to-spinnaker2=dt=1e-4", "-o", lowered)
    assert result.returncode == 0, result.stderr
    result = tool("nir-opt", lowered, "-p", "map-to-cores{target=loihi2}")
    assert_diagnostic(result, "graph @main is lowered for spinnaker2, but target is 'loihi2'; use target=spinnaker2")


def test_spinnaker2_bad_sys_tick_named():
    result = tool("nir-opt", RNN, "-p", "lower-to-spinnaker2{sys-tick=-1}", "-o", "-")
    assert_diagnostic(result, "invalid sys-tick -1; sys-tick must be a positive number of seconds")
    assert "dt" not in result.stderr


@pytest.mark.parametrize("model", ["fxp", "speck"])
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--precision", "float32"], "--precision float32 sets the float dtype of the snn level, but the {} level computes in integers; remove --precision"),
        (["--compare", "float64"], "--compare float64 compares float precisions of the snn level, but the {} level computes in integers"),
    ],
)
def test_run_precision_on_integer_level(fxp_rnn, tmp_path, model, flags, message):
    if model == "fxp":
        path, level = fxp_rnn, "fxp"
        np.save(tmp_path / "x.npy", np.ones((5, 12)))
    else:
        path, level = REPO / "lit_tests" / "speck" / "one-core.mlir", "speck"
        np.save(tmp_path / "x.npy", np.ones((5, 1, 1, 1)))
    result = tool("nir-run", path, "--input", tmp_path / "x.npy", *flags)
    assert_diagnostic(result, message.format(level))


def test_run_precision_label_only_on_snn(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 12)))
    result = tool(
        "nir-run", RNN, "--preset", "norse", "--dt", "1e-4", "--level", "fxp", "--compare", "snn",
        "--precision", "float32", "--input", tmp_path / "x.npy",
    )
    assert result.returncode == 0, result.stderr
    assert "comparison: fxp (norse) vs snn (norse) float32" in result.stdout


def test_output_may_replace_input(tmp_path):
    """Each tool reads its whole input before it writes, so -o may name the input file (as in mlir-opt)."""
    text = tmp_path / "rnn.mlir"
    assert tool("nir-translate", "--import-nir", RNN, "-o", text).returncode == 0
    original = text.read_text()

    discretized = tool("nir-opt", text, "-p", "discretize{dt=1e-4}")
    in_place = tool("nir-opt", text, "-p", "discretize{dt=1e-4}", "-o", text)
    assert in_place.returncode == 0, in_place.stderr
    assert text.read_text() == discretized.stdout

    text.write_text(original)
    exported = tool("nir-translate", "--export-nir", text, "-o", text)
    assert exported.returncode == 0, exported.stderr
    assert tool("nir-translate", "--import-nir", text).stdout == original

    np.save(tmp_path / "x.npy", np.ones((5, 12)))
    run = tool("nir-run", RNN, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "x.npy",
               "--record", "output/spikes", "-o", tmp_path / "x.npy")
    assert run.returncode == 0, run.stderr
    assert np.load(tmp_path / "x.npy").shape == (5, 4)


@pytest.mark.parametrize(
    ("chip", "flag"),
    [("xylo", "--xylo-config"), ("speck", "--speck-json"), ("loihi2", "--loihi2-netx"), ("spinnaker2", "--spinnaker2-json")],
)
def test_printer_rejects_empty_module(tmp_path, chip, flag):
    empty = tmp_path / "empty.mlir"
    empty.write_text("builtin.module {}\n")
    lowered = tmp_path / f"empty.{chip}.mlir"
    # A lowering of a module without a graph succeeds, as mlir-opt's passes do.
    assert tool("nir-opt", empty, f"--lower-to-{chip}", "-o", lowered).returncode == 0
    result = tool("nir-translate", flag, lowered, "-o", tmp_path / "out")
    assert_diagnostic(result, f"is empty, so it has no {chip}.graph to print; a chip lowering of a module without a graph")
    assert f"lower it with nir-opt model.mlir --lower-to-{chip}, and print the result" in result.stderr
    assert not (tmp_path / "out").exists()


def test_run_input_folder(tmp_path):
    (tmp_path / "inputs").mkdir()
    result = tool("nir-run", RNN, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "inputs")
    assert_diagnostic(result, "inputs' is a directory, not a file")
    assert "not found" not in result.stderr


def test_loihi2_huge_voltage_scale_short_message():
    result = tool("nir-opt", RNN, "-p", "lower-to-loihi2{dt=1e-4 voltage-scale=1e308}", "-o", "-")
    assert_diagnostic(result, "node 'lif1' needs a threshold mantissa of 1.563e+306, 1.563e+306 above the 17-bit maximum 131071")
    assert len(result.stderr) < 400


def test_run_rejects_nan_input(tmp_path):
    data = np.zeros((5, 12))
    data[3, 7] = np.nan
    np.save(tmp_path / "x.npy", data)
    result = tool("nir-run", RNN, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "x.npy", "-o", tmp_path / "t.npz")
    assert_diagnostic(result, "the data of input node 'input' contain nan at index [3, 7]; inputs must be finite numbers")
    assert not (tmp_path / "t.npz").exists()
