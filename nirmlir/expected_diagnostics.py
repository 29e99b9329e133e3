"""MLIR-style ``expected-error`` annotations and their check against produced diagnostics.

An annotation is a comment such as ``// expected-error @+1 {{has shape [40]}}``. The
severity is error, warning, note or remark. ``@+N`` and ``@-N`` shift the line it applies
to, and ``@above`` and ``@below`` mean the previous and next line. The text between ``{{``
and ``}}`` must occur in the diagnostic's message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nirmlir.diagnostics import Diagnostic, Location, Severity

_ANNOTATION = re.compile(
    r"expected-(?P<severity>error|warning|note|remark)"
    r"(?:\s*@(?P<offset>[+-]\d+|above|below))?\s*\{\{(?P<text>.*?)\}\}"
)


_ANNOTATION_START = re.compile(r"expected-(?:error|warning|note|remark)\b")


@dataclass
class ExpectedDiagnostic:
    severity: Severity
    line: int
    text: str
    annotation_line: int
    matched: bool = False
    malformed: bool = False
    lines: tuple[int, int] | None = None
    """The first and last line of the input the annotation is in, to report an offset that points outside it."""


def collect_expected(
    text: str, line_offset: int = 0, filename: str = "<stdin>"
) -> list[ExpectedDiagnostic]:
    """Return the annotations of ``text``; lines are 1-based and shifted by ``line_offset``.

    An annotation that does not parse (no ``{{...}}``, a bad ``@`` offset) is returned
    with ``malformed`` set, so that the check reports it instead of ignoring it.
    """
    expected = []
    all_lines = text.splitlines()
    span = (1 + line_offset, len(all_lines) + line_offset)
    for index, line in enumerate(all_lines):
        comment = line.find("//")
        if comment < 0:
            continue
        line_number = index + 1 + line_offset
        well_formed = {match.start() for match in _ANNOTATION.finditer(line, comment)}
        for start in _ANNOTATION_START.finditer(line, comment):
            if start.start() not in well_formed:
                expected.append(
                    ExpectedDiagnostic(
                        Severity.ERROR, line_number, line[start.start():].strip(),
                        line_number, malformed=True,
                    )
                )
        for match in _ANNOTATION.finditer(line, comment):
            offset = match.group("offset")
            if offset == "above":
                target = line_number - 1
            elif offset == "below":
                target = line_number + 1
            elif offset:
                target = line_number + int(offset)
            else:
                target = line_number
            expected.append(
                ExpectedDiagnostic(
                    Severity(match.group("severity")), target, match.group("text"), line_number, lines=span
                )
            )
    return expected


def check_diagnostics(
    produced: list[Diagnostic], expected: list[ExpectedDiagnostic], filename: str
) -> list[Diagnostic]:
    """Match produced diagnostics (and their notes) with annotations.

    Returns one error per produced diagnostic that no annotation expects and one per
    annotation that no diagnostic matched; an empty list means the check passed.
    """
    problems: list[Diagnostic] = []
    flat: list[Diagnostic] = []
    for diagnostic in produced:
        flat.append(diagnostic)
        flat.extend(diagnostic.notes)
    for diagnostic in flat:
        match = next(
            (
                item
                for item in expected
                if not item.matched
                and not item.malformed
                and item.severity == diagnostic.severity
                and item.line == diagnostic.location.line
                and item.text in diagnostic.message
            ),
            None,
        )
        if match is not None:
            match.matched = True
            continue
        problems.append(
            Diagnostic(
                Severity.ERROR,
                f"unexpected {diagnostic.severity.value}: {diagnostic.message}",
                diagnostic.location,
            )
        )
    for item in expected:
        if item.malformed:
            problems.append(
                Diagnostic(
                    Severity.ERROR,
                    f"malformed annotation '{item.text}'; expected e.g. "
                    "'expected-error @+1 {{message}}'",
                    Location(filename, item.annotation_line, 1),
                )
            )
        elif not item.matched and item.lines is not None and not item.lines[0] <= item.line <= item.lines[1]:
            problems.append(
                Diagnostic(
                    Severity.ERROR,
                    f'expected {item.severity.value} "{item.text}" points at line {item.line}, outside the '
                    f"input's lines {item.lines[0]} to {item.lines[1]}; correct the @ offset",
                    Location(filename, item.annotation_line, 1),
                )
            )
        elif not item.matched:
            problems.append(
                Diagnostic(
                    Severity.ERROR,
                    f'expected {item.severity.value} "{item.text}" was not produced',
                    Location(filename, item.annotation_line, 1),
                )
            )
    return problems
