"""Print a speck graph as JSON that mirrors samna's `SpeckConfiguration` with the vendor's field names.

The layout is the one sinabs' `Speck2FConfigBuilder` fills in (sinabs-dynapcnn 1.0.15): a list
`cnn_layers` of the nine cores and a `dvs_layer`. A used core gets `dimensions`, `weights`
(`[f][c][x][y]`, so x and y are swapped against the `[f][c][y][x]` of the dialect and of torch),
`biases`, `leak_enable`, `return_to_zero`, `threshold_high`, `threshold_low`, `monitor_enable`,
`neurons_initial_value` (`[f][x][y]`, all zero) and two `destinations`. An unused core and an
unused destination list only what differs from a disabled default, so a loader on a machine with
samna copies each field into the configuration object and leaves the rest at samna's defaults.
"""

from __future__ import annotations

import json

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError
from nirmlir.dialects import speck


def find_graph(module: ModuleOp) -> speck.GraphOp:
    """Return the module's only speck.graph; raise DiagnosticError when there is none or several."""
    graphs = [op for op in module.ops if isinstance(op, speck.GraphOp)]
    if len(graphs) != 1:
        found = ", ".join(sorted({op.name for op in module.ops})) or "no ops"
        raise DiagnosticError(
            f"--speck-json needs a module with exactly one speck.graph, found {len(graphs)} (ops: {found}); "
            "lower the model with nir-opt --lower-to-speck first"
        )
    return graphs[0]


def xy(values: tuple[int, int]) -> dict[str, int]:
    """Return a (y, x) pair as samna's {x, y} record."""
    return {"x": int(values[1]), "y": int(values[0])}


def core_configuration(core: speck.CoreOp) -> dict:
    """Return the `cnn_layers` entry of one core."""
    channels, height, width = core.inputs[0].type.get_shape()
    features, neuron_height, neuron_width = core.neuron_shape()
    weight = numpy_from_dense(core.weight).astype(np.int64)
    destinations = []
    targets = ints_from_array(core.destinations)
    pooling = ints_from_array(core.pooling)
    shifts = ints_from_array(core.feature_shift)
    for slot in range(speck.MAX_DESTINATIONS):
        if slot < len(targets):
            destinations.append(
                {"enable": True, "layer": targets[slot], "pooling": pooling[slot], "feature_shift": shifts[slot]}
            )
        else:
            destinations.append({"enable": False})
    return {
        "dimensions": {
            "input_shape": {"size": {"x": width, "y": height}, "feature_count": channels},
            "output_shape": {"size": {"x": neuron_width, "y": neuron_height}, "feature_count": features},
            "padding": xy(ints_from_array(core.padding)),
            "stride": xy(ints_from_array(core.stride)),
            "kernel_size": int(weight.shape[2]),
        },
        "weights": weight.transpose(0, 1, 3, 2).tolist(),
        "biases": numpy_from_dense(core.bias).astype(np.int64).tolist(),
        "leak_enable": bool(core.leak_enable.value.data),
        "return_to_zero": bool(core.return_to_zero.value.data),
        "threshold_high": core.threshold_high.value.data,
        "threshold_low": core.threshold_low.value.data,
        "monitor_enable": bool(core.monitor_enable.value.data),
        "neurons_initial_value": np.zeros((features, neuron_width, neuron_height), dtype=np.int64).tolist(),
        "destinations": destinations,
    }


def configuration(module: ModuleOp) -> dict:
    """Return the configuration tree of the module's speck graph as plain JSON values."""
    graph = find_graph(module)
    layers: list[dict] = [{} for _ in range(speck.CORE_COUNT)]
    source = "external"
    for op in graph.body.block.ops:
        if isinstance(op, speck.CoreOp):
            layers[op.core_index] = core_configuration(op)
        elif isinstance(op, speck.InputOp):
            source = op.source.data
    return {"cnn_layers": layers, "dvs_layer": {"pass_sensor_events": source == "dvs"}}


def configuration_json(module: ModuleOp) -> str:
    """Return the configuration as compact JSON text."""
    return json.dumps(configuration(module), separators=(",", ":")) + "\n"
