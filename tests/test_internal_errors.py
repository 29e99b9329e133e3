"""Internal errors of the three tools: a short bug report without --debug, the traceback with it."""

from __future__ import annotations

import pytest

from nirmlir.tools import nir_opt, nir_run, nir_translate

TOOLS = [
    # (tool name, module, function its main runs, arguments)
    ("nir-opt", nir_opt, "run", ["examples/lif.nir"]),
    ("nir-translate", nir_translate, "run_import", ["--import-nir", "examples/lif.nir"]),
    ("nir-run", nir_run, "run", ["examples/lif.nir"]),
]


def fail_internally(args) -> int:
    raise RuntimeError("an invariant broke")


@pytest.mark.parametrize(("tool", "module", "function", "argv"), TOOLS)
def test_internal_error_asks_for_report(monkeypatch, capsys, tool, module, function, argv) -> None:
    monkeypatch.setattr(module, function, fail_internally)
    status = module.main(argv)
    stderr = capsys.readouterr().err
    assert status == 70
    assert f"{tool}: internal error: RuntimeError: an invariant broke" in stderr
    assert "this is a bug in nirmlir; please report it" in stderr
    assert "rerun with --debug for the traceback" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("tool", "module", "function", "argv"), TOOLS)
def test_debug_shows_traceback(monkeypatch, capsys, tool, module, function, argv) -> None:
    monkeypatch.setattr(module, function, fail_internally)
    status = module.main([*argv, "--debug"])
    stderr = capsys.readouterr().err
    assert status == 70
    assert "Traceback (most recent call last)" in stderr
    assert "in fail_internally" in stderr
    assert "rerun with --debug" not in stderr
