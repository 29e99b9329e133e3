"""atomic_output and output_group: a failed write leaves every target as it was."""

from __future__ import annotations

import os

import pytest

from nirmlir.atomic import atomic_output, output_group
from nirmlir.diagnostics import DiagnosticError


def test_group_replaces_files_at_end(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("old a")
    with output_group():
        with atomic_output(first) as stream:
            stream.write("new a")
        assert first.read_text() == "old a"
        with atomic_output(second) as stream:
            stream.write("new b")
    assert first.read_text() == "new a"
    assert second.read_text() == "new b"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]


def test_group_failure_replaces_nothing(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("old a")
    second.write_text("old b")
    with pytest.raises(DiagnosticError, match="cannot write '/dev/full'"):
        with output_group():
            with atomic_output(first) as stream:
                stream.write("new a")
            with atomic_output(second) as stream:
                stream.write("new b")
            with atomic_output("/dev/full") as stream:
                stream.write("x" * 100_000)
    assert first.read_text() == "old a"
    assert second.read_text() == "old b"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]


def test_ungrouped_output_replaced_at_once(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with atomic_output(target) as stream:
        stream.write("new")
    assert target.read_text() == "new"
