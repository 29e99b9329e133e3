"""Quantization reports: the documents that quantizing passes publish, merged, written as JSON and shown as a table.

Quantizing passes `publish` their report document and a tool that wants the reports runs the
pipeline inside `collect_reports()` (see `nirmlir.reports`).
"""

from __future__ import annotations

import os

from nirmlir.reports import ReportChannel, write_json_report

_channel = ReportChannel()
collect_reports = _channel.collect
"""Collect every report document published inside the `with` block into the yielded list."""
publish = _channel.publish
"""Hand a report document to the innermost active collector, if any."""


def merge_documents(documents: list[dict]) -> dict:
    """Return one document holding the runs, layers, parameters and ranges of all `documents`, in order."""
    merged: dict = {"version": documents[0]["version"] if documents else 1, "runs": [], "layers": [], "parameters": [], "ranges": []}
    for document in documents:
        for key in ("runs", "layers", "parameters", "ranges"):
            merged[key].extend(document[key])
    return merged


def write_report(path: str | os.PathLike, document: dict) -> None:
    """Write a report document as JSON atomically; raise DiagnosticError if the file cannot be written."""
    write_json_report(path, document, "quantization report")


def _format_number(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return f"{min(value):.3g}..{max(value):.3g}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _state_range(layer: dict) -> str:
    """Return the voltage bound and width of a layer, e.g. '[-inf, 620] / 16'."""
    for bound in layer["ranges"]:
        if bound["node"] == layer["node"] and bound["quantity"] == "voltage":
            low = "-inf" if bound["low"] is None else f"{bound['low']:.0f}"
            high = "inf" if bound["high"] is None else f"{bound['high']:.0f}"
            return f"[{low}, {high}] / {bound['bits']}"
    return "-"


def format_table(document: dict) -> str:
    """Return the layers of a report document as a text table: scales, worst errors, voltage bounds and spike cosine."""
    header = ("node", "op", "neurons", "scale", "shift", "max weight error", "worst parameter", "voltage bound / bits", "spike cosine")
    rows = [header]
    for layer in document["layers"]:
        worst = max(layer["parameters"], key=lambda entry: entry["max_relative_error"] or 0.0, default=None)
        worst_text = "-" if worst is None else f"{worst['node']}:{worst['parameter']} {_format_number(worst['max_relative_error'])}"
        rows.append(
            (
                layer["node"],
                layer["op"],
                str(layer["neurons"]),
                _format_number(layer["scale"]),
                _format_number(layer["scales"]["state_shift"]),
                _format_number(layer["max_relative_weight_error"]),
                worst_text,
                _state_range(layer),
                _format_number(layer.get("spike_cosine")),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)
