"""Tests of the diagnostic catalog: it finds the message templates, and lit checks the verifiers' rules."""

from __future__ import annotations

from diagnostic_catalog import REPO_ROOT, checked_texts, collect_templates, distinct, is_checked

DIALECT_FILES = [REPO_ROOT / "dialects" / f"{name}.py" for name in ("nir", "snn", "fxp")]

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
    assert "the file has no 'node' group, so it contains no NIR graph (root members: {}).{} Write the model with nir.write" in templates
    assert "{}: a flatten keeps the element type of its input" in templates
    assert "the {} group has no 'edges' dataset" in templates


def test_verifier_rules_have_lit_cases() -> None:
    templates = distinct(collect_templates(DIALECT_FILES))
    every = list(distinct(collect_templates()).values())
    texts = checked_texts()
    unchecked = {text for text, template in templates.items() if not is_checked(template, texts, every)}
    assert unchecked - KNOWN_UNCHECKED == set(), "add a case to lit_tests/<dialect>/invalid.mlir"
    assert KNOWN_UNCHECKED <= set(templates), "a known unchecked template no longer exists; remove it"
