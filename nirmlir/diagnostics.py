"""One diagnostic type for every stage: text parser, HDF5 importer, verifiers and passes."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"
    REMARK = "remark"


@dataclass(frozen=True)
class Location:
    """The place a diagnostic points at.

    Text input has a file, a line and a column (both 1-based). HDF5 input has a file
    and a path of graph and node names plus an optional field (``lif1/w_rec:weight``).
    """

    file: str = "<unknown>"
    line: int | None = None
    column: int | None = None
    node_path: tuple[str, ...] = ()
    field: str | None = None

    def __str__(self) -> str:
        if self.line is not None:
            column = self.column if self.column is not None else 1
            return f"{self.file}:{self.line}:{column}"
        if self.node_path or self.field:
            path = "/".join(self.node_path) if self.node_path else "<graph>"
            suffix = f":{self.field}" if self.field else ""
            return f"{self.file}:{path}{suffix}"
        return self.file


@dataclass
class Diagnostic:
    """A message with a severity, a location and optional notes at other locations."""

    severity: Severity
    message: str
    location: Location = field(default_factory=Location)
    notes: list[Diagnostic] = field(default_factory=list)

    def format(self) -> str:
        """Format MLIR-style: ``file:line:col: error: message``, then one line per note."""
        lines = [f"{self.location}: {self.severity.value}: {self.message}"]
        for note in self.notes:
            lines.append(note.format())
        return "\n".join(lines)


class DiagnosticError(Exception):
    """An error that tools report as a diagnostic and a non-zero exit, without a traceback.

    ``op`` is the IR op at fault, when there is one. A tool that recorded where the op was
    parsed replaces ``location`` with that file, line and column.
    """

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        notes: list[Diagnostic] | None = None,
        op: object | None = None,
    ):
        super().__init__(message)
        self.diagnostic = Diagnostic(
            Severity.ERROR, message, location or Location(), notes or []
        )
        self.op = op

    @property
    def message(self) -> str:
        return self.diagnostic.message

    @property
    def location(self) -> Location:
        return self.diagnostic.location

    def __str__(self) -> str:
        return self.diagnostic.format()


class PluginPassError(Exception):
    """An exception other than a diagnostic raised inside a plugin pass: a bug in the plugin.

    Tools report it as an error of the plugin, naming its entry point and distribution
    (``plugin``), and print the traceback of ``__cause__`` with ``--debug``.
    """

    def __init__(self, pass_name: str, plugin: str, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.pass_name = pass_name
        self.plugin = plugin
        self.error = error


def note(message: str, location: Location | None = None) -> Diagnostic:
    """Build a note to attach to a ``DiagnosticError``."""
    return Diagnostic(Severity.NOTE, message, location or Location())


class DiagnosticWarning(UserWarning):
    """A warning that tools print MLIR-style (``file:line:col: warning: ...``).

    Library code emits it with ``emit_warning``, because nothing below the tools prints to
    the terminal; tools catch it with the ``warnings`` module.
    """

    def __init__(self, diagnostic: Diagnostic, op: object | None = None):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.op = op


# The list that collects warnings instead of emitting them, inside `held_warnings`.
_HELD_WARNINGS: contextvars.ContextVar[list[DiagnosticWarning] | None] = contextvars.ContextVar(
    "held_warnings", default=None
)


def emit_warning(message: str, location: Location | None = None, op: object | None = None) -> None:
    """Emit a ``DiagnosticWarning`` for the tools to print (or hold it, see `held_warnings`)."""
    import warnings

    diagnostic = Diagnostic(Severity.WARNING, message, location or Location())
    collected = _HELD_WARNINGS.get()
    if collected is not None:
        collected.append(DiagnosticWarning(diagnostic, op))
        return
    warnings.warn(DiagnosticWarning(diagnostic, op), stacklevel=2)


@contextlib.contextmanager
def held_warnings() -> Iterator[list[DiagnosticWarning]]:
    """Collect the warnings that `emit_warning` emits in this context (thread or task) into a
    list, for the caller to emit with `release_warnings` or drop.

    Unlike ``warnings.catch_warnings``, this changes no process-wide state.
    """
    collected: list[DiagnosticWarning] = []
    token = _HELD_WARNINGS.set(collected)
    try:
        yield collected
    finally:
        _HELD_WARNINGS.reset(token)


def release_warnings(collected: list[DiagnosticWarning]) -> None:
    """Emit warnings that `held_warnings` collected."""
    import warnings

    for warning in collected:
        warnings.warn(warning, stacklevel=2)
