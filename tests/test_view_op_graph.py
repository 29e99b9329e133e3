"""--view-op-graph: the DOT file, and the PNG that Graphviz renders from it when installed.

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
