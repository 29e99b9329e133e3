"""Report documents that passes publish and tools collect, and their JSON files.

A pass cannot hand data to the tool that runs it, so a pass publishes its report document on a
`ReportChannel`, and a tool that wants the documents runs the pipeline inside the channel's
`collect()`. Without a collector, publishing does nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

from nirmlir.diagnostics import DiagnosticError


class ReportChannel:
    """The collectors of one kind of report; the innermost active collector receives each document."""

    def __init__(self) -> None:
        self._collectors: list[list[dict]] = []

    @contextmanager
    def collect(self) -> Iterator[list[dict]]:
        """Collect every document published inside the `with` block into the yielded list."""
        documents: list[dict] = []
        self._collectors.append(documents)
        try:
            yield documents
        finally:
            self._collectors.remove(documents)

    def publish(self, document: dict) -> None:
        """Hand a document to the innermost active collector, if any."""
        if self._collectors:
            self._collectors[-1].append(document)


def write_json_report(path: str | os.PathLike, document: dict, kind: str) -> None:
    """Write a report document as indented JSON atomically; raise DiagnosticError naming the `kind` of report."""
    from nirmlir.atomic import atomic_output

    try:
        with atomic_output(path, "w") as stream:
            json.dump(document, stream, indent=1)
            stream.write("\n")
    except OSError as error:
        raise DiagnosticError(f"cannot write the {kind} '{os.fspath(path)}': {error.strerror}") from None
