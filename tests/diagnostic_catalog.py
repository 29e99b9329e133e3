"""Catalog of the diagnostic message templates in the source, and of the lit tests that check them.

A template is the literal text of a message with ``{}`` for each interpolated value, read
from the source with ``ast``: the first argument of a call that builds a diagnostic
(``DiagnosticError``, ``VerifyException``, ``ShapeError``, ``emit_warning``, ``note`` and
the location helpers named ``error`` or ``fail``), a string assigned to a name that ends
in ``message`` or ``MESSAGE``, or a string returned by a function whose name ends in
``_message``. A template checked by a lit test is one whose longest literal piece occurs
in an ``expected-*`` annotation or a ``CHECK`` line.

NOTE: a message assembled in a helper that this scan does not recognise is missed, so the
count is a lower bound.

    python tests/diagnostic_catalog.py            # the count, per folder
    python tests/diagnostic_catalog.py --unchecked dialects nirmlir/hdf5_import.py
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_FOLDERS = ("nirmlir", "dialects", "passes", "tools")
DIAGNOSTIC_CALLS = {
    "DiagnosticError",
    "VerifyException",
    "ShapeError",
    "DiagnosticException",
    "emit_warning",
    "note",
    "error",
    "fail",
    "_mismatch",
}
PLACEHOLDER = "{}"
MIN_PIECE = 8
"""Shortest literal piece that identifies a template; shorter ones (``' has ``) occur in many."""


@dataclass(frozen=True)
class Template:
    text: str
    path: str
    line: int

    def pieces(self) -> list[str]:
        return [piece.strip() for piece in self.text.split(PLACEHOLDER) if piece.strip()]

    def key(self) -> str:
        """Return the longest literal piece, which lit annotations are matched against."""
        pieces = self.pieces()
        return max(pieces, key=len) if pieces else ""


def _templates_of(node: ast.expr) -> list[str]:
    """Return the templates a string expression can produce ([] when it is not one)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value.replace("{", "{{").replace("}", "}}").replace("{{", "{").replace("}}", "}")]
    if isinstance(node, ast.JoinedStr):
        parts = [""]
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts = [part + str(value.value) for part in parts]
            else:
                parts = [part + PLACEHOLDER for part in parts]
        return parts
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _templates_of(node.left), _templates_of(node.right)
        left = left or [PLACEHOLDER]
        right = right or [PLACEHOLDER]
        if left == [PLACEHOLDER] and right == [PLACEHOLDER]:
            return []
        return [a + b for a in left for b in right]
    if isinstance(node, ast.IfExp):
        return _templates_of(node.body) + _templates_of(node.orelse)
    return []


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


class _Collector(ast.NodeVisitor):
    def __init__(self, path: str):
        self.path = path
        self.found: list[Template] = []
        self.functions: list[str] = []

    def add(self, expression: ast.expr, line: int) -> None:
        for text in _templates_of(expression):
            if text.replace(PLACEHOLDER, "").strip():
                self.found.append(Template(text, self.path, line))

    def visit_Call(self, node: ast.Call) -> None:
        if _call_name(node) in DIAGNOSTIC_CALLS and node.args:
            self.add(node.args[0], node.lineno)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name) and target.id.lower().endswith("message"):
                self.add(node.value, node.lineno)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    def visit_Return(self, node: ast.Return) -> None:
        if self.functions and self.functions[-1].endswith("_message") and node.value is not None:
            self.add(node.value, node.lineno)
        self.generic_visit(node)


def collect_templates(paths: list[Path] | None = None) -> list[Template]:
    """Return every diagnostic template of the given files or folders (default: all sources)."""
    if not paths:
        paths = [REPO_ROOT / folder for folder in SOURCE_FOLDERS]
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    templates: list[Template] = []
    for file in files:
        name = str(file.relative_to(REPO_ROOT)) if file.is_relative_to(REPO_ROOT) else str(file)
        collector = _Collector(name)
        collector.visit(ast.parse(file.read_text(encoding="utf-8"), str(file)))
        templates.extend(collector.found)
    return templates


def distinct(templates: list[Template]) -> dict[str, Template]:
    """Return the templates by text, keeping the first place each occurs."""
    by_text: dict[str, Template] = {}
    for template in templates:
        by_text.setdefault(template.text, template)
    return by_text


_ANNOTATION = re.compile(r"expected-(?:error|warning|note|remark)[^{]*\{\{(.*?)\}\}")
# A FileCheck line under any check prefix (CHECK, UNKNOWN-TYPE, ...), but not a lit directive.
_CHECK = re.compile(r"^\s*(?:#|//|;)\s*(?!RUN|REQUIRES|UNSUPPORTED|XFAIL)[A-Z][A-Z0-9_-]*(?:-NEXT|-SAME|-NOT|-LABEL)?:\s*(.*)$")


def checked_texts(folder: Path | None = None) -> list[str]:
    """Return the text of every expected-* annotation and CHECK line under ``lit_tests``."""
    folder = folder or REPO_ROOT / "lit_tests"
    texts = []
    for file in sorted(folder.rglob("*")):
        if not file.is_file() or file.suffix not in (".mlir", ".test", ".py") or "Output" in file.parts:
            continue
        for line in file.read_text(encoding="utf-8").splitlines():
            texts.extend(_ANNOTATION.findall(line))
            texts.extend(match.group(1) for match in _CHECK.finditer(line))
    return texts


def _normalise(text: str) -> str:
    """Drop FileCheck's regex markers, so that a CHECK line compares as plain text."""
    return re.sub(r"\{\{.*?\}\}", "", text).replace("\\", "")


def distinctive_pieces(template: Template, others: list[Template]) -> list[str]:
    """Return the literal pieces of ``template`` of at least `MIN_PIECE` characters that no other template contains."""
    return [
        piece
        for piece in template.pieces()
        if len(piece) >= MIN_PIECE and not any(piece in other.text for other in others if other.text != template.text)
    ]


def is_checked(template: Template, texts: list[str], others: list[Template] = ()) -> bool:
    """Return whether a checked text contains the template's longest piece or one of its distinctive pieces."""
    key = template.key()
    if len(key) < MIN_PIECE:
        # Only short pieces: every one of them must occur in one checked text.
        return any(all(piece in text for piece in template.pieces()) for text in texts)
    pieces = [key, *distinctive_pieces(template, list(others))]
    normalised = [_normalise(text) for text in texts]
    return any(piece in text for piece in pieces for text in [*texts, *normalised])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders to scan (default: all sources)")
    parser.add_argument("--unchecked", action="store_true", help="list the templates that no lit test checks")
    args = parser.parse_args(argv)
    paths = [path.resolve() for path in args.paths]
    missing = [str(path) for path, resolved in zip(args.paths, paths) if not resolved.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    templates = distinct(collect_templates(paths))
    texts = checked_texts()
    per_folder: dict[str, int] = {}
    for template in templates.values():
        folder = template.path.split("/")[0]
        per_folder[folder] = per_folder.get(folder, 0) + 1
    every = list(distinct(collect_templates()).values())
    unchecked = [template for template in templates.values() if not is_checked(template, texts, every)]
    print(f"{len(templates)} distinct diagnostic templates, {len(templates) - len(unchecked)} checked by lit tests")
    for folder, count in sorted(per_folder.items()):
        print(f"  {folder}: {count}")
    if args.unchecked:
        for template in unchecked:
            print(f"{template.path}:{template.line}: {template.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
