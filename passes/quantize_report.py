"""The quantization report as a JSON document: one entry per neuron group, with its scales, errors, bounds and spike agreement.

`nirmlir.quantization_report` collects these documents from the passes, writes them and prints them as a table.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict

import numpy as np

from nirmlir.passes.quantize_numbers import LayerRecord, ParameterError, QuantizationReport
from nirmlir.passes.quantize_options import QuantizeOptions
from nirmlir.passes.range_analysis import RangeBound

REPORT_VERSION = 1


def _number_or_list(values: np.ndarray) -> float | int | list:
    """Return one number when every element is equal, else the flat list of elements in C order."""
    array = np.asarray(values)
    flat = array.reshape(-1)
    if flat.size and (flat == flat[0]).all():
        return flat[0].item()
    return flat.tolist()


def _finite_or_none(value: float) -> float | None:
    """JSON has no infinity: an unbounded side of a range is null."""
    return value if math.isfinite(value) else None


def parameter_entry(entry: ParameterError) -> dict:
    return {
        "node": entry.node,
        "parameter": entry.parameter,
        "max_relative_error": _finite_or_none(entry.max_rel_error),
        "max_absolute_error": _finite_or_none(entry.max_abs_error),
    }


def range_entry(bound: RangeBound) -> dict:
    needed = bound.needed_bits
    return {
        "node": bound.node,
        "quantity": bound.quantity,
        "low": _finite_or_none(bound.low),
        "high": _finite_or_none(bound.high),
        "bits": bound.bits,
        "needed_bits": needed if math.isfinite(needed) else None,
        "fits": bound.fits,
        "saturate": bound.saturate,
    }


def _index_by_node(items: list) -> dict[tuple[str, str], list[tuple[int, object]]]:
    """Return the items (with their positions) of each (graph, node), so that a layer finds its own in linear time."""
    index: dict[tuple[str, str], list[tuple[int, object]]] = defaultdict(list)
    for position, item in enumerate(items):
        index[(item.graph, item.node)].append((position, item))
    return index


def _members_items(index: dict[tuple[str, str], list[tuple[int, object]]], graph: str, members: set[str]) -> list:
    """Return the indexed items of the member nodes of one graph, in their original order."""
    found = [pair for node in members for pair in index.get((graph, node), ())]
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]


def layer_entry(
    layer: LayerRecord,
    report: QuantizationReport,
    parameter_index: dict[tuple[str, str], list[tuple[int, object]]] | None = None,
    range_index: dict[tuple[str, str], list[tuple[int, object]]] | None = None,
) -> dict:
    """Return the report entry of one neuron group; the indexes, built once per report, save a scan per layer."""
    parameter_index = parameter_index if parameter_index is not None else _index_by_node(report.parameters)
    range_index = range_index if range_index is not None else _index_by_node(report.ranges)
    members = {layer.node, *layer.inputs}
    parameters = _members_items(parameter_index, layer.graph, members)
    weight_errors = [entry.max_rel_error for entry in parameters if entry.parameter == "weight"]
    entry: dict = {
        "graph": layer.graph,
        "node": layer.node,
        "op": layer.op,
        "neurons": math.prod(layer.shape),
        "scale": _number_or_list(layer.voltage_scale),
        "max_relative_weight_error": _finite_or_none(max(weight_errors)) if weight_errors else None,
        "scales": {
            "voltage": _number_or_list(layer.voltage_scale),
            "current": None if layer.current_scale is None else _number_or_list(layer.current_scale),
            "accumulator": _number_or_list(layer.accumulator_scale),
            "state_shift": layer.state_shift,
            "weights": {name: _number_or_list(scale) for name, scale in layer.weight_scales.items()},
        },
        "parameters": [parameter_entry(parameter) for parameter in parameters],
        "ranges": [range_entry(bound) for bound in _members_items(range_index, layer.graph, members)],
    }
    if layer.calibrated:
        entry["recorded_max"] = dict(layer.calibrated)
    if layer.agreement is not None:
        entry["spike_cosine"] = layer.agreement.cosine
        entry["float_spikes"] = layer.agreement.float_spikes
        entry["fixed_point_spikes"] = layer.agreement.fixed_point_spikes
    return entry


def report_document(
    report: QuantizationReport,
    pass_name: str,
    options: QuantizeOptions,
    calibration_input: str | None,
) -> dict:
    """Return the JSON document of one pass run: its options, one entry per neuron group, every parameter and bound."""
    parameter_index = _index_by_node(report.parameters)
    range_index = _index_by_node(report.ranges)
    return {
        "version": REPORT_VERSION,
        "runs": [
            {
                "pass": pass_name,
                "options": dataclasses.asdict(options),
                "calibration_input": calibration_input,
                "calibration_steps": report.calibration_steps,
            }
        ],
        "layers": [layer_entry(layer, report, parameter_index, range_index) for layer in report.layers],
        "parameters": [parameter_entry(entry) | {"graph": entry.graph} for entry in report.parameters],
        "ranges": [range_entry(bound) | {"graph": bound.graph} for bound in report.ranges],
    }
