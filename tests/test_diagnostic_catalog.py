"""Tests of the diagnostic catalog: it finds the message templates, and lit checks the verifiers' rules."""

from __future__ import annotations

import subprocess
import sys

from diagnostic_catalog import REPO_ROOT, checked_texts, collect_templates, distinct, is_checked

DIALECT_FILES = [REPO_ROOT / "dialects" / f"{name}.py" for name in ("nir", "snn", "fxp")]
# The HDF5 importer and exporter and the limits they apply.
HDF5_FILES = [*sorted((REPO_ROOT / "nirmlir").glob("hdf5*.py")), REPO_ROOT / "nirmlir" / "limits.py"]

# Templates of the nir, snn and fxp verifiers that no lit case checks, with the reason.
KNOWN_UNCHECKED = {
    # IRDL's own type constraints reject a non-tensor value or a non-dense parameter first.
    "expected a tensor type, got {}",
    "'{}' must be a dense tensor",
    # The lit case's annotation ends before the kernel dimension names.
    "'weight' has shape {}; expected rank {} (C_out, C_in/groups, {})",
}


def test_catalog_finds_messages_of_each_kind() -> None:
    templates = distinct(collect_templates())
    # A DiagnosticError argument, a verifier's VerifyException and a location helper's message.
    assert "the file contains no NIR graph: {} (root members: {}).{} Write the model with nir.write" in templates
    assert "{}: a flatten keeps the element type of its input" in templates
    assert "the {} group has no 'edges' dataset" in templates


def test_verifier_rules_have_lit_cases() -> None:
    templates = distinct(collect_templates(DIALECT_FILES))
    every = list(distinct(collect_templates()).values())
    texts = checked_texts()
    unchecked = {text for text, template in templates.items() if not is_checked(template, texts, every)}
    assert unchecked - KNOWN_UNCHECKED == set(), "add a case to lit_tests/<dialect>/invalid.mlir"
    assert KNOWN_UNCHECKED <= set(templates), "a known unchecked template no longer exists; remove it"


def test_hdf5_messages_have_lit_cases() -> None:
    templates = distinct(collect_templates(HDF5_FILES))
    every = list(distinct(collect_templates()).values())
    texts = checked_texts()
    unchecked = sorted(
        f"{template.path}:{template.line}: {text}"
        for text, template in templates.items()
        if not is_checked(template, texts, every)
    )
    # Every HDF5 message can be reached with a small file, so none is exempt.
    assert unchecked == [], "add a case to lit_tests/translate/import-errors.test or export-errors.test"
    assert len(templates) >= 50, "the scan found fewer HDF5 messages than the importer has"


def test_catalog_rejects_missing_path() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tests" / "diagnostic_catalog.py"), "--unchecked", "no/such/folder"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "no such file or folder: no/such/folder" in result.stderr
    assert "Traceback" not in result.stderr
