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


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--mapping-report", "--mapping-report needs map-to-cores in the pipeline"),
        ("--quantization-report", "--quantization-report needs lower-to-fixedpoint or quantize in the pipeline"),
    ],
)
def test_report_without_pass_keeps_output(tmp_path, flag, message):
    module_output = tmp_path / "module.mlir"
    module_output.write_text("KEEP\n")
    result = tool("nir-opt", LIF, flag, tmp_path / "report.json", "-o", module_output)
    assert_diagnostic(result, message)
    assert module_output.read_text() == "KEEP\n"
    assert not (tmp_path / "report.json").exists()


@pytest.mark.parametrize(
    ("graph_flag", "output_name", "message"),
    [
        ("--view-op-graph=g.dot", "g.dot", "-o and --view-op-graph both write 'g.dot', so one would replace the other"),
        ("--view-op-graph=g.png", "g.png", "-o and --view-op-graph both write 'g.png', so one would replace the other"),
    ],
)
def test_opt_outputs_must_differ(tmp_path, graph_flag, output_name, message):
    (tmp_path / output_name).write_text("KEEP\n")
    result = tool("nir-opt", LIF, graph_flag, "-o", output_name, cwd=tmp_path)
    assert_diagnostic(result, message)
    assert (tmp_path / output_name).read_text() == "KEEP\n"


def test_opt_report_and_graph_same_file(tmp_path):
    result = tool(
        "nir-opt", LIF, "-p", "lower-to-fixedpoint{dt=1e-4},map-to-cores{target=loihi2}",
        "--mapping-report", "same.dot", "--view-op-graph=same.dot", "-o", "out.mlir", cwd=tmp_path,
    )
    assert_diagnostic(result, "--view-op-graph and --mapping-report both write 'same.dot'")
    assert not (tmp_path / "out.mlir").exists()


def test_run_outputs_must_differ(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 1)))
    result = tool("nir-run", LIF, "--preset", "norse", "--dt", "1e-4", "--input", "x.npy", "-o", "t.csv", "--plot", "t.csv", cwd=tmp_path)
    assert_diagnostic(result, "-o and --plot both write 't.csv', so one would replace the other")
    assert not (tmp_path / "t.csv").exists()


def test_empty_output_name(tmp_path):
    result = tool("nir-opt", LIF, "--view-op-graph=", cwd=tmp_path)
    assert_diagnostic(result, "an output file name is empty; give a file name, or '-' for stdout")
    assert "it is a folder" not in result.stderr


def test_output_folder_is_file(tmp_path):
    (tmp_path / "notes.txt").write_text("KEEP\n")
    result = tool("nir-opt", LIF, "-o", "notes.txt/out.mlir", cwd=tmp_path)
    assert_diagnostic(result, "cannot write 'notes.txt/out.mlir': 'notes.txt' is a file, not a folder")
    assert (tmp_path / "notes.txt").read_text() == "KEEP\n"


@pytest.mark.parametrize(
    ("model", "flags", "message"),
    [
        ("lif", ["--compare", "bogus"], "unknown --compare 'bogus'; expected a level (snn, fxp)"),
        ("fxp", ["--compare", "snn"], "the module is at the fxp level and cannot be raised to snn"),
    ],
)
def test_run_bad_compare_keeps_traces(tmp_path, fxp_rnn, model, flags, message):
    if model == "lif":
        arguments = [LIF, "--preset", "norse", "--dt", "1e-4"]
        np.save(tmp_path / "x.npy", np.ones((5, 1)))
    else:
        arguments = [fxp_rnn]
        np.save(tmp_path / "x.npy", np.ones((5, 12)))
    traces = tmp_path / "t.npz"
    traces.write_bytes(b"KEEP")
    result = tool("nir-run", *arguments, "--input", tmp_path / "x.npy", "-o", traces, *flags)
    assert_diagnostic(result, message)
    assert traces.read_bytes() == b"KEEP"


@pytest.mark.parametrize("flag", ["--compare", "--level"])
def test_run_level_of_chip_model(tmp_path, flag):
    np.save(tmp_path / "x.npy", np.ones((5, 1, 1, 1)))
    model = REPO / "lit_tests" / "speck" / "one-core.mlir"
    result = tool("nir-run", model, "--input", tmp_path / "x.npy", flag, "snn")
    assert_diagnostic(
        result, f"{flag} snn needs a model at the nir, snn or fxp level, but '{model}' is at the speck level, which runs only as it is; remove {flag}"
    )


def test_run_unused_quantize_options(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 1)))
    result = tool("nir-run", LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "x.npy", "--quantize", "weight-bits=4")
    assert_diagnostic(result, f"--quantize is unused: '{LIF}' is at the nir level and runs at the snn level, without quantizing")
    used = tool("nir-run", LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "x.npy", "--quantize", "weight-bits=4", "--compare", "fxp")
    assert used.returncode == 0, used.stderr


def test_run_unknown_quantize_option(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 1)))
    result = tool(
        "nir-run", LIF, "--preset", "norse", "--dt", "1e-4", "--input", tmp_path / "x.npy", "--level", "fxp", "--quantize", "weight-bit=4"
    )
    assert_diagnostic(result, "unknown quantize option 'weight-bit'; the options are weight-bits, state-bits")
    assert "__init__" not in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs the /dev/full device")
def test_full_device_named(tmp_path):
    text = tmp_path / "lif.mlir"
    assert tool("nir-translate", "--import-nir", LIF, "-o", text).returncode == 0
    loihi2 = tmp_path / "lif.loihi2.mlir"
    assert tool("nir-opt", LIF, "--lower-to-loihi2=dt=1e-4", "-o", loihi2).returncode == 0
    for command in (
        ["nir-opt", LIF],
        ["nir-translate", "--export-nir", text],
        ["nir-translate", "--loihi2-netx", loihi2],
    ):
        result = tool(*command, "-o", "/dev/full")
        assert_diagnostic(result, "cannot write '/dev/full': No space left on device")


def test_checkout_root_imports_subpackages():
    """From the checkout's root, `import nirmlir` finds ./nirmlir, which has no dialects/ folder of its own."""
    import site

    code = (
        "import sys; sys.path[:0] = sys.argv[1:]; import nirmlir.dialects.nir, nirmlir.passes.discretize; "
        "print(nirmlir.dialects.nir.__file__)"
    )
    # -S skips the .pth files, so an editable install's import hook cannot supply the subpackages.
    result = subprocess.run(
        [sys.executable, "-S", "-c", code, str(REPO), *site.getsitepackages()],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(REPO / "dialects" / "nir.py")
