"""Plugin passes and dialects: the example plugin installed with pip and run through nir-opt.

The plugin in examples/plugin is built offline (`--no-deps --no-build-isolation`, with the
setuptools of this environment) into a temporary `--target` folder that the subprocesses find
through PYTHONPATH, so the environment running the tests is left unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "examples" / "plugin"
TUTORIAL = REPO / "docs" / "writing-a-pass.md"

GRAPH = """\
nir.graph @main {
  %input = nir.input "input" : tensor<3xf32>
  %a = nir.scale "a"(%input) {scale = dense<2.0> : tensor<3xf32>} : tensor<3xf32>
  %b = nir.scale "b"(%a) {scale = dense<0.25> : tensor<3xf32>} : tensor<3xf32>
  %lif = nir.lif "lif"(%b) {tau = dense<0.0025> : tensor<3xf32>, r = dense<1.0> : tensor<3xf32>, v_leak = dense<0.0> : tensor<3xf32>, v_threshold = dense<0.1> : tensor<3xf32>, v_reset = dense<0.0> : tensor<3xf32>} : tensor<3xf32>
  nir.output "output"(%lif) : tensor<3xf32>
}
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> tuple[Path, Path]:
    """Install the example plugin into a fresh folder; return (that folder, a copy of the plugin's sources)."""
    root = tmp_path_factory.mktemp("plugin")
    sources = root / "src"
    # Building in a copy keeps setuptools' build/ and egg-info folders out of the repository.
    shutil.copytree(PLUGIN, sources, ignore=shutil.ignore_patterns("Output", "build", "*.egg-info", "__pycache__"))
    site = root / "site"
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(site), str(sources)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return site, sources


def run_nir_opt(*args: str, path: list[Path] = (), stdin: str | None = None, cwd: Path | None = None):
    """Run this environment's nir-opt with ``path`` on PYTHONPATH; return the completed process."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(str(folder) for folder in path)
    return subprocess.run(
        [str(Path(sys.executable).with_name("nir-opt")), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=cwd,
    )


def make_distribution(folder: Path, name: str, entry_points: str) -> Path:
    """Write the metadata of an installed distribution that declares ``entry_points`` and has no code."""
    info = folder / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    return folder


def test_help_lists_plugin_passes(plugin_site):
    site, _ = plugin_site
    result = run_nir_opt("--help", path=[site])
    assert result.returncode == 0, result.stderr
    assert "--count-neurons" in result.stdout
    assert "--fuse-scales" in result.stdout
    help_text = " ".join(result.stdout.split())
    assert "Attach the number of neurons of each nir, snn or fxp graph as an attribute" in help_text


def test_help_imports_no_plugin_or_xdsl(plugin_site):
    site, _ = plugin_site
    script = (
        "import contextlib, io, sys\n"
        "from nirmlir.tools.nir_opt import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert '--count-neurons' in out.getvalue()\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('xdsl', 'nirmlir_example_plugin')))\n"
    )
    environment = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_count_neurons_attaches_count(plugin_site):
    site, _ = plugin_site
    result = run_nir_opt("-p", "count-neurons", path=[site], stdin=GRAPH)
    assert result.returncode == 0, result.stderr
    assert "nir.graph @main attributes {neurons = 3 : i64}" in result.stdout


def test_pass_flag_and_pipeline_agree(plugin_site):
    site, _ = plugin_site
    by_flag = run_nir_opt("--fuse-scales", path=[site], stdin=GRAPH)
    by_pipeline = run_nir_opt("-p", "fuse-scales", path=[site], stdin=GRAPH)
    assert by_flag.returncode == 0, by_flag.stderr
    assert by_flag.stdout == by_pipeline.stdout
    assert 'nir.scale "b"(%input) {scale = dense<0.5> : tensor<3xf32>}' in by_flag.stdout
    assert 'nir.scale "a"' not in by_flag.stdout


def test_plugin_dialect_round_trips(plugin_site):
    site, _ = plugin_site
    first = run_nir_opt("-p", "count-neurons{summary=true}", path=[site], stdin=GRAPH)
    assert first.returncode == 0, first.stderr
    assert '"neurostats.count"() <{graph = @main, neurons = 3 : i64}>' in first.stdout
    second = run_nir_opt(path=[site], stdin=first.stdout)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout


def test_plugin_dialect_verifier_runs(plugin_site):
    site, _ = plugin_site
    text = '"neurostats.count"() <{graph = @main, neurons = -1 : i64}> : () -> ()\n'
    result = run_nir_opt(path=[site], stdin=text)
    assert result.returncode == 1
    assert "'neurons' is -1; a count cannot be negative" in result.stderr
    assert "Traceback" not in result.stderr


def test_dialect_unknown_without_plugin():
    text = '"neurostats.count"() <{graph = @main, neurons = 1 : i64}> : () -> ()\n'
    result = run_nir_opt(stdin=text)
    assert result.returncode == 1
    assert "neurostats.count" in result.stderr
    assert "Traceback" not in result.stderr


def test_plugin_lit_suite_passes(plugin_site):
    site, sources = plugin_site
    environment = dict(os.environ, PYTHONPATH=str(site))
    lit = Path(sys.executable).with_name("lit")
    result = subprocess.run(
        [str(lit), "-v", str(sources / "tests")], capture_output=True, text=True, env=environment, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed: 3" in result.stdout


def test_builtin_name_clash_is_ignored(tmp_path):
    site = make_distribution(
        tmp_path, "clash-plugin", "[nirmlir.passes]\ndiscretize = clash_plugin:Discretize\n"
    )
    result = run_nir_opt("-p", "discretize{dt=1e-4}", path=[site], stdin=GRAPH)
    assert result.returncode == 0, result.stderr
    assert "snn.graph @main" in result.stdout
    assert "ignoring the plugin pass 'discretize'" in result.stderr
    assert "entry point 'discretize = clash_plugin:Discretize'" in result.stderr
    assert "distribution 'clash-plugin'" in result.stderr
    assert "Traceback" not in result.stderr


def test_builtin_dialect_clash_is_ignored(tmp_path):
    site = make_distribution(tmp_path, "clash-dialect", "[nirmlir.dialects]\nnir = clash_dialect:NIR\n")
    result = run_nir_opt(path=[site], stdin=GRAPH)
    assert result.returncode == 0, result.stderr
    assert "nir.graph @main" in result.stdout
    assert "ignoring the plugin dialect 'nir'" in result.stderr
    assert "distribution 'clash-dialect'" in result.stderr


def test_two_plugins_same_name(plugin_site, tmp_path):
    site, _ = plugin_site
    other = make_distribution(
        tmp_path, "other-plugin", "[nirmlir.passes]\ncount-neurons = other_plugin:Count\n"
    )
    result = run_nir_opt("-p", "fuse-scales", path=[site, other], stdin=GRAPH)
    assert result.returncode == 0, result.stderr
    assert "ignoring the plugin pass 'count-neurons'" in result.stderr
    assert "distribution 'nirmlir-example-plugin'" in result.stderr
    assert "distribution 'other-plugin'" in result.stderr
    ambiguous = run_nir_opt("-p", "count-neurons", path=[site, other], stdin=GRAPH)
    assert ambiguous.returncode == 1
    assert "unknown pass 'count-neurons'" in ambiguous.stderr


def test_failed_import_is_diagnostic(plugin_site, tmp_path):
    site, _ = plugin_site
    broken = make_distribution(
        tmp_path, "broken-plugin", "[nirmlir.passes]\nbroken-pass = broken_plugin.missing:Pass\n"
    )
    result = run_nir_opt("-p", "broken-pass", path=[site, broken], stdin=GRAPH)
    assert result.returncode == 1
    assert "cannot load the plugin entry point 'broken-pass = broken_plugin.missing:Pass'" in result.stderr
    assert "distribution 'broken-plugin'" in result.stderr
    assert "ModuleNotFoundError" in result.stderr
    assert "Traceback" not in result.stderr

    # The other passes, built-in and plugin, still run.
    working = run_nir_opt("-p", "count-neurons", path=[site, broken], stdin=GRAPH)
    assert working.returncode == 0, working.stderr
    listing = run_nir_opt("--help-passes", path=[site, broken])
    assert listing.returncode == 0, listing.stderr
    assert "broken-pass" in listing.stdout
    assert "count-neurons" in listing.stdout
    assert "max-neurons (default: 0)" in listing.stdout
    assert "cannot load the plugin entry point 'broken-pass" in listing.stderr


def test_pass_name_mismatch_is_diagnostic(plugin_site, tmp_path):
    site, _ = plugin_site
    renamed = make_distribution(
        tmp_path, "renamed-plugin", "[nirmlir.passes]\ncount = nirmlir_example_plugin.count_neurons:CountNeuronsPass\n"
    )
    result = run_nir_opt("-p", "count", path=[site, renamed], stdin=GRAPH)
    assert result.returncode == 1
    assert "whose 'name' is 'count-neurons'" in result.stderr
    assert "distribution 'renamed-plugin'" in result.stderr


def _code_blocks(markdown: str) -> list[tuple[str, str]]:
    return [(match.group(1), match.group(2)) for match in re.finditer(r"```(\w*)\n(.*?)```", markdown, re.DOTALL)]


def test_tutorial_quotes_plugin_verbatim():
    blocks = _code_blocks(TUTORIAL.read_text())
    sources = {path: path.read_text() for path in PLUGIN.rglob("*") if path.is_file() and path.suffix in (".py", ".toml", ".mlir")}
    quoted = [(language, code) for language, code in blocks if language in ("python", "toml", "mlir")]
    assert len(quoted) >= 5
    for language, code in quoted:
        found = [path for path, text in sources.items() if code in text]
        assert found, f"this {language} block of {TUTORIAL.name} is not in examples/plugin:\n{code}"


def test_tutorial_commands_run(plugin_site):
    site, sources = plugin_site
    commands = [
        line.strip()
        for language, code in _code_blocks(TUTORIAL.read_text())
        if language == "sh"
        for line in code.splitlines()
        if line.strip().startswith(("nir-opt", "lit"))
    ]
    assert any(command.startswith("nir-opt") for command in commands)
    environment = dict(os.environ, PYTHONPATH=str(site))
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    for command in commands:
        result = subprocess.run(command, shell=True, cwd=sources, capture_output=True, text=True, env=environment, timeout=600)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"


BROKEN_PLUGIN = '''
from dataclasses import dataclass

from xdsl.passes import ModulePass


@dataclass(frozen=True)
class BreakPass(ModulePass):
    name = "break-me"

    def apply(self, ctx, op):
        return {}["missing"]
'''


def test_plugin_pass_exception_blames_plugin(tmp_path):
    site = make_distribution(tmp_path, "broken-plugin", "[nirmlir.passes]\nbreak-me = broken_plugin:BreakPass\n")
    (site / "broken_plugin.py").write_text(BROKEN_PLUGIN)
    plugin = "entry point 'break-me = broken_plugin:BreakPass' (group 'nirmlir.passes') of distribution 'broken-plugin'"

    result = run_nir_opt("-p", "break-me", path=[site], stdin=GRAPH)
    assert result.returncode == 70
    assert "nir-opt: error: the plugin pass 'break-me' failed with KeyError: 'missing'" in result.stderr
    assert f"the pass comes from the {plugin}; this is a bug in that plugin, not in nirmlir" in result.stderr
    assert "bug in nirmlir" not in result.stderr
    assert "Traceback" not in result.stderr

    debug = run_nir_opt("-p", "break-me", "--debug", path=[site], stdin=GRAPH)
    assert debug.returncode == 70
    assert "Traceback" in debug.stderr
    assert 'broken_plugin.py", line 12, in apply' in debug.stderr


def test_unusable_pass_name_is_ignored(tmp_path):
    """A name that no pipeline can spell is ignored with a warning, not listed as a flag."""
    site = make_distribution(tmp_path, "odd-names", "[nirmlir.passes]\nbad name{x} = odd_names:Pass\n")
    result = run_nir_opt("--help", path=[site])
    assert result.returncode == 0, result.stderr
    assert "bad name" not in result.stdout
    assert ("ignoring the plugin pass 'bad name{x}' of entry point 'bad name{x} = odd_names:Pass' (group "
            "'nirmlir.passes') of distribution 'odd-names': a pass name is a letter or '_' followed by letters, "
            "digits, '_', '-' and '.'") in result.stderr
