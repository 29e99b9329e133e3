"""The mapping cost report: cores used, per-core occupancy, inter-core spike traffic and mapping time.

Like the quantization report, map-to-cores publishes its document and a tool that wants it runs
the pipeline inside `collect_reports()`; without a collector, publishing does nothing.
"""

from __future__ import annotations

import os

from nirmlir.mapping.check import Usage
from nirmlir.mapping.network import Network
from nirmlir.mapping.targets import Target
from nirmlir.reports import ReportChannel, write_json_report

_channel = ReportChannel()
collect_reports = _channel.collect
"""Collect every mapping document published inside the `with` block into the yielded list."""
publish = _channel.publish


def _fraction(used: int, capacity: int | None) -> float | None:
    return None if not capacity else round(used / capacity, 4)


def build_document(network: Network, target: Target, usage: Usage, mapping, *, strategy: str, seed: int,
                   seconds: float, rates_from: str | None, note: str = "", optimality_gap: float | None = None) -> dict:
    """Return the JSON document of one mapped graph."""
    per_core = []
    for core in range(usage.core_count):
        if usage.neurons[core] == 0:
            continue
        entry = {
            "core": core,
            "neurons": int(usage.neurons[core]),
            "synapses": int(usage.synapses[core]),
            "fan_in": int(usage.fan_in[core]),
            "destinations": int(usage.destinations[core]),
            "neuron_occupancy": _fraction(int(usage.neurons[core]), target.neurons_per_core),
            "synapse_occupancy": _fraction(int(usage.synapses[core]), target.synapses_per_core),
        }
        if usage.kernel_memory is not None:
            entry["kernel_memory"] = int(usage.kernel_memory[core])
            entry["neuron_memory"] = int(usage.neuron_memory[core])
            entry["kernel_occupancy"] = _fraction(entry["kernel_memory"], target.kernel_memory[core])
            entry["neuron_occupancy"] = _fraction(entry["neuron_memory"], target.neuron_memory[core])
        per_core.append(entry)
    groups = []
    for index in network.placed():
        group = network.groups[index]
        groups.append({"node": group.name, "op": group.op.name, "neurons": group.size,
                       "cores": sorted(set(mapping[index].tolist()))})
    document = {
        "version": 1,
        "graph": network.graph_name,
        "target": target.name,
        "chip": target.chip,
        "strategy": strategy,
        "seed": seed,
        "cores_available": usage.core_count,
        "cores_used": usage.cores_used,
        "traffic": usage.traffic,
        "traffic_unit": "spikes per step" if rates_from else "source neurons times destination cores (every rate 1)",
        "rates_from": rates_from,
        "traffic_by_source": usage.traffic_by_group,
        "mapping_seconds": round(seconds, 6),
        "optimality_gap": optimality_gap,
        "note": note,
        "cores": per_core,
        "groups": groups,
    }
    if target.limits:
        from nirmlir.mapping.check import role_counts

        document["limits"] = {role: {"used": used, "limit": target.limits[role]}
                              for role, used in role_counts(network).items() if role in target.limits}
    return document


def write_report(path: str | os.PathLike, documents: list[dict]) -> None:
    """Write the documents as one JSON object {"graphs": [...]} atomically."""
    write_json_report(path, {"version": 1, "graphs": documents}, "mapping report")


def format_table(documents: list[dict]) -> str:
    """Return a summary line per graph and one table row per used core."""
    lines = []
    for document in documents:
        gap = "" if document["optimality_gap"] is None else f", optimality gap {document['optimality_gap']:.1%}"
        lines.append(
            f"graph @{document['graph']} on {document['chip']} ({document['strategy']}, seed {document['seed']}): "
            f"{document['cores_used']} of {document['cores_available']} cores, traffic {document['traffic']:.6g} "
            f"({document['traffic_unit']}), {document['mapping_seconds'] * 1000:.1f} ms{gap}"
        )
        header = ("core", "neurons", "synapses", "fan-in", "destinations", "neuron occupancy", "synapse occupancy")
        rows = [header]
        for core in document["cores"]:
            rows.append(tuple(str(value) if value is not None else "-" for value in (
                core["core"], core["neurons"], core["synapses"], core["fan_in"], core["destinations"],
                core["neuron_occupancy"], core["synapse_occupancy"])))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            lines.append("  ".join(cell.rjust(width) for cell, width in zip(row, widths)))
        if document.get("limits"):
            lines.append(", ".join(f"{role.replace('_', ' ')} {entry['used']} of {entry['limit']}"
                                   for role, entry in document["limits"].items()))
        if document["note"]:
            lines.append(document["note"])
    return "\n".join(lines)
