"""Smoke test of the benchmark suite: every script runs on tiny sizes and fills its block.

It times nothing and checks no speed: the figures of a quick run only show that the
scripts, the page update and the target table work.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "bench"))

import run_all  # noqa: E402


def test_quick_run_fills_every_block(tmp_path, shared_dir):
    page = tmp_path / "benchmarks.md"
    shutil.copy(REPO_ROOT / "docs" / "benchmarks.md", page)
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "run_all.py"), "--quick", "--page", str(page)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    text = page.read_text()
    for name in ["machine", "targets", *(section.name for section in run_all.SECTIONS)]:
        block = re.search(f"<!-- begin generated: {name} -->\n(.*?)<!-- end generated: {name} -->", text, re.DOTALL)
        assert block is not None, f"no block for {name}"
        assert "failed with exit code" not in block.group(1), block.group(1)
    assert "Quick run on tiny sizes" in text


def test_quick_run_measures_every_target(tmp_path, shared_dir):
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n")
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "run_all.py"), "--quick", "--page", str(page),
         "--only", "startup", "text"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    targets = re.search("<!-- begin generated: targets -->\n(.*?)<!-- end", page.read_text(), re.DOTALL).group(1)
    rows = [line for line in targets.splitlines() if line.startswith("| ") and not line.startswith("| target")]
    measured = {row.split(" | ")[0].lstrip("| "): row.rsplit(" | ", 1)[-1].rstrip(" |") for row in rows}
    assert measured["`nir-opt --help` under 0.3 s"] in ("yes", "**no**")
    assert measured["op-heavy generic text parses at least 5x faster than xDSL"] in ("yes", "**no**")
    assert measured["every pass linear in ops and weights (exponent at most 1.15)"] == "not measured"


def test_page_update_keeps_prose_and_other_blocks():
    page = "# Benchmarks\n\nProse.\n\n<!-- begin generated: text -->\nold\n<!-- end generated: text -->\n\nMore prose.\n"
    updated = run_all.replace_block(page, "text", "Text", "new")
    assert "old" not in updated
    assert "<!-- begin generated: text -->\nnew\n<!-- end generated: text -->" in updated
    assert updated.startswith("# Benchmarks\n\nProse.")
    assert updated.endswith("More prose.\n")
    appended = run_all.replace_block(updated, "startup", "Start-up", "figures")
    assert appended.endswith("## Start-up\n\n<!-- begin generated: startup -->\nfigures\n<!-- end generated: startup -->\n")
