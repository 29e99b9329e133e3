"""--view-op-graph: the DOT file, the PNG that Graphviz renders from it when installed, and a .png name.

The DOT content is checked by lit_tests/tools/view-op-graph.mlir. CI has no Graphviz unless
something installs it, so the PNG test is skipped there when `dot` is not on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NIR_OPT = Path(sys.executable).with_name("nir-opt")


def run_view(tmp_path: Path, path_variable: str) -> tuple[subprocess.CompletedProcess, Path]:
    dot_file = tmp_path / "rnn.dot"
    result = subprocess.run(
        [str(NIR_OPT), str(EXAMPLES / "rnn.nir"), "-p", "discretize{dt=1e-4}", f"--view-op-graph={dot_file}",
         "-o", str(tmp_path / "rnn.mlir")],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PATH=path_variable),
    )
    return result, dot_file


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not on PATH; `apt-get install graphviz` enables this test")
def test_png_written_with_graphviz(tmp_path):
    result, dot_file = run_view(tmp_path, os.environ.get("PATH", ""))
    assert result.returncode == 0, result.stderr
    assert dot_file.read_text().startswith('digraph "rnn.nir" {')
    png = tmp_path / "rnn.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "rnn.mlir").read_text().startswith("builtin.module")


def test_no_png_without_graphviz(tmp_path):
    # Only the venv's folder is on PATH, so `dot` cannot be found.
    result, dot_file = run_view(tmp_path, str(NIR_OPT.parent))
    assert result.returncode == 0, result.stderr
    assert "snn.step_delay" in dot_file.read_text()
    assert not (tmp_path / "rnn.png").exists()


def run_nir_opt(tmp_path: Path, view: str, path_variable: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(NIR_OPT), str(EXAMPLES / "rnn.nir"), f"--view-op-graph={tmp_path / view}", "-o", str(tmp_path / "rnn.mlir")],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PATH=path_variable),
    )


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not on PATH; `apt-get install graphviz` enables this test")
def test_png_name_writes_png(tmp_path):
    result = run_nir_opt(tmp_path, "graph.png", os.environ.get("PATH", ""))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["graph.png", "rnn.mlir"]


def test_png_name_without_graphviz_rejected(tmp_path):
    result = run_nir_opt(tmp_path, "graph.png", str(NIR_OPT.parent))
    assert result.returncode == 1
    assert "cannot write" in result.stderr
    assert "as PNG: Graphviz's dot is not on PATH; install Graphviz, or give --view-op-graph a .dot or .gv file name" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_other_suffix_rejected(tmp_path):
    result = run_nir_opt(tmp_path, "graph.txt", os.environ.get("PATH", ""))
    assert result.returncode == 1
    assert "--view-op-graph writes DOT text to a .dot or .gv file, or a PNG picture (with Graphviz) to a .png file; " in result.stderr
    assert "graph.txt' has neither suffix" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_failing_graphviz_writes_nothing(tmp_path):
    """A PNG that Graphviz fails to render fails the run before the module or a report is written."""
    tools = tmp_path / "bin"
    tools.mkdir()
    fake_dot = tools / "dot"
    fake_dot.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n")
    fake_dot.chmod(0o755)
    output = tmp_path / "out.mlir"
    report = tmp_path / "report.json"
    output.write_text("old module")
    result = subprocess.run(
        [str(NIR_OPT), str(EXAMPLES / "rnn.nir"), "-p", "lower-to-fixedpoint{dt=1e-4},map-to-cores",
         f"--view-op-graph={tmp_path / 'graph.png'}", "--mapping-report", str(report), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PATH=f"{tools}{os.pathsep}{NIR_OPT.parent}"),
    )
    assert result.returncode == 1, result.stderr
    assert f"Graphviz failed to render '{tmp_path / 'graph.png'}': syntax error in line 1" in result.stderr
    assert output.read_text() == "old module"
    assert not report.exists()
    assert not (tmp_path / "graph.png").exists()


GRAPH = '''nir.graph @main {
  %input = nir.input "input" : tensor<1xf32>
  %affine = nir.affine "affine"(%input) {weight = dense<[[1.0]]> : tensor<1x1xf32>, bias = dense<[0.0]> : tensor<1xf32>} : tensor<1xf32>
  nir.output "output"(%affine) : tensor<1xf32>
}
'''


def run_text(tmp_path: Path, text: str, *arguments: str) -> subprocess.CompletedProcess:
    source = tmp_path / "model.mlir"
    source.write_text(text)
    return subprocess.run([str(NIR_OPT), str(source), *arguments], capture_output=True, text=True, timeout=120)


def test_unmet_expected_diagnostic_writes_no_module(tmp_path):
    output = tmp_path / "out.mlir"
    output.write_text("old module")
    result = run_text(tmp_path, "// expected-error @+1 {{never raised}}\n" + GRAPH, "--verify-diagnostics", "-o", str(output))
    assert result.returncode == 1
    assert 'expected error "never raised" was not produced' in result.stderr
    assert output.read_text() == "old module"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not on PATH; `apt-get install graphviz` enables this test")
def test_split_modules_rejected_for_png(tmp_path):
    two = GRAPH + "// -----\n" + GRAPH
    png = run_text(tmp_path, two, "--split-input-file", f"--view-op-graph={tmp_path / 'g.png'}", "-o", str(tmp_path / "out.mlir"))
    assert png.returncode == 1
    assert "a PNG file contains one picture, but --split-input-file gave 2 modules; give a .dot file" in png.stderr
    assert not (tmp_path / "out.mlir").exists()


def test_split_modules_drawn_in_one_dot_file(tmp_path):
    two = GRAPH + "// -----\n" + GRAPH
    dot = run_text(tmp_path, two, "--split-input-file", f"--view-op-graph={tmp_path / 'g.dot'}", "-o", str(tmp_path / "out.mlir"))
    assert dot.returncode == 0, dot.stderr
    assert (tmp_path / "g.dot").read_text().count("digraph") == 2
    assert not (tmp_path / "g.png").exists()


def test_dev_stdout_is_standard_output(tmp_path):
    result = run_text(tmp_path, GRAPH, "-o", "/dev/stdout")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("builtin.module {")
    report = run_text(tmp_path, GRAPH, "-p", "map-to-cores", "--mapping-report", "/dev/stdout")
    assert report.returncode == 1
    assert "--mapping-report writes JSON to a file, and standard output carries the module" in report.stderr


def test_failed_last_write_keeps_every_output(tmp_path):
    """The module and the reports are replaced together with the drawing, or not at all."""
    output, report = tmp_path / "out.mlir", tmp_path / "map.json"
    output.write_text("old module")
    report.write_text("old report")
    (tmp_path / "full.dot").symlink_to("/dev/full")
    result = run_text(tmp_path, GRAPH, "-p", "lower-to-fixedpoint{dt=1e-4},map-to-cores", "--mapping-report", str(report),
                      f"--view-op-graph={tmp_path / 'full.dot'}", "-o", str(output))
    assert result.returncode == 1
    assert "No space left on device" in result.stderr
    assert output.read_text() == "old module"
    assert report.read_text() == "old report"
