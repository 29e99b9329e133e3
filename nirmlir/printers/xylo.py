"""Printers of xylo graphs: the Rockpool specification and a tree of the vendor configuration's fields.

The specification is a JSON object whose keys are the keyword arguments of Rockpool 3.1.0's
`config_from_specification` (weights_in, weights_rec, weights_out, dash_*, threshold*,
bias_hidden, bias_out, weight_shift_*), plus `dt` in seconds. `XyloSim.from_specification`
takes the same keywords, except that it calls the hidden biases `bias`: `xylosim_keywords`
returns them renamed.

The configuration tree uses the field names that `config_from_specification` sets on samna's
`XyloConfiguration`, for reading and comparing; samna itself cannot load it.
"""

from __future__ import annotations

import json

import numpy as np

from nirmlir.dense import numpy_from_dense
from nirmlir.diagnostics import DiagnosticError
from nirmlir.dialects import xylo


def _graph_ops(graph: xylo.GraphOp) -> dict[type, xylo.XyloNodeOp]:
    return {type(op): op for op in graph.body.block.ops}


def _ints(attr) -> np.ndarray:
    return numpy_from_dense(attr).astype(np.int64)


def specification(graph: xylo.GraphOp) -> dict[str, object]:
    """Return the Rockpool specification of a verified xylo graph, with numpy integer arrays.

    On Xylo IMU and Audio 3, `weights_in` has a column for each of the first 128 hidden neurons
    only (the input expansion neurons), and `weights_out` a row for each of the last 128 (the
    output expansion neurons). Rockpool 3.1.0's mapper returns these shapes for those chips, and
    their `config_from_specification` keeps only these columns and rows of larger matrices.
    XyloSim maps row r of a `weights_out` with R rows to hidden neuron `Nhidden - R + r`.
    """
    ops = _graph_ops(graph)
    hidden, readout = ops[xylo.HiddenOp], ops[xylo.ReadoutOp]
    size = hidden.size
    recurrent = ops.get(xylo.RecurrentWeightsOp)
    dash_syn = _ints(hidden.dash_syn)
    variant = xylo.module_variant(graph)
    weights_in = ops[xylo.InputWeightsOp].matrix()
    if variant.input_expansion is not None:
        weights_in = weights_in[:, : variant.input_expansion]
    weights_out = ops[xylo.OutputWeightsOp].matrix()
    if variant.readout_sources is not None:
        weights_out = weights_out[max(size - variant.readout_sources, 0) :]
    spec: dict[str, object] = {
        "weights_in": weights_in,
        "weights_rec": recurrent.matrix() if recurrent else np.zeros((size, size, hidden.synapses), np.int64),
        "weights_out": weights_out,
        "dash_mem": _ints(hidden.dash_mem),
        "dash_mem_out": _ints(readout.dash_mem),
        "dash_syn": dash_syn[:, 0],
        "dash_syn_2": dash_syn[:, 1] if hidden.synapses == 2 else np.zeros(size, np.int64),
        "dash_syn_out": _ints(readout.dash_syn),
        "threshold": _ints(hidden.threshold),
        "threshold_out": _ints(readout.threshold),
        "bias_hidden": _ints(hidden.bias),
        "bias_out": _ints(readout.bias),
        "weight_shift_in": int(ops[xylo.InputWeightsOp].weight_shift.value.data),
        "weight_shift_rec": int(recurrent.weight_shift.value.data) if recurrent else 0,
        "weight_shift_out": int(ops[xylo.OutputWeightsOp].weight_shift.value.data),
        "dt": float(graph.dt.value.data),
    }
    if hidden.alias_target is not None:
        targets = _ints(hidden.alias_target)
        spec["aliases"] = [[int(target)] if target >= 0 else [] for target in targets]
    return spec


def xylosim_keywords(spec: dict[str, object]) -> dict[str, object]:
    """Return a specification as the keyword arguments of `XyloSim.from_specification` (hidden biases as `bias`)."""
    keywords = dict(spec)
    keywords["bias"] = keywords.pop("bias_hidden")
    return keywords


def configuration_tree(graph: xylo.GraphOp, variant: xylo.XyloVariant) -> dict[str, object]:
    """Return the vendor configuration of a xylo graph as nested dicts with samna's field names.

    Xylo Audio 2 names the hidden neurons `reservoir`; Xylo IMU and Audio 3 name them `hidden`.
    """
    spec = specification(graph)
    weights_in, weights_rec = spec["weights_in"], spec["weights_rec"]
    two_synapses = weights_in.shape[2] == 2
    aliases = spec.get("aliases")
    hidden_neurons = []
    for index in range(weights_rec.shape[0]):
        neuron = {
            "i_syn_decay": int(spec["dash_syn"][index]),
            "v_mem_decay": int(spec["dash_mem"][index]),
            "threshold": int(spec["threshold"][index]),
            "v_mem_bias": int(spec["bias_hidden"][index]),
        }
        if two_synapses:
            neuron["i_syn2_decay"] = int(spec["dash_syn_2"][index])
        if aliases and aliases[index]:
            neuron["alias_target"] = aliases[index][0]
        hidden_neurons.append(neuron)
    readout_neurons = [
        {
            "i_syn_decay": int(spec["dash_syn_out"][index]),
            "v_mem_decay": int(spec["dash_mem_out"][index]),
            "threshold": int(spec["threshold_out"][index]),
            "v_mem_bias": int(spec["bias_out"][index]),
        }
        for index in range(spec["weights_out"].shape[1])
    ]
    has_bias = bool(np.any(spec["bias_hidden"]) or np.any(spec["bias_out"]))
    hidden_key = "reservoir" if variant.key == "audio2" else "hidden"
    hidden_layer = {
        "weights": weights_rec[:, :, 0].tolist(),
        "weight_bit_shift": spec["weight_shift_rec"],
        "aliasing": bool(aliases and any(aliases)),
        "neurons": hidden_neurons,
    }
    input_layer = {"weights": weights_in[:, :, 0].tolist(), "weight_bit_shift": spec["weight_shift_in"]}
    if two_synapses:
        input_layer["syn2_weights"] = weights_in[:, :, 1].tolist()
        hidden_layer["syn2_weights"] = weights_rec[:, :, 1].tolist()
    return {
        "chip": f"{variant.title} ({variant.part})",
        "time_step": spec["dt"],
        "bias_enable": has_bias,
        "synapse2_enable": two_synapses,
        "input": input_layer,
        hidden_key: hidden_layer,
        "readout": {
            "weights": spec["weights_out"].tolist(),
            "weight_bit_shift": spec["weight_shift_out"],
            "neurons": readout_neurons,
        },
    }


def select_graph(module) -> tuple[xylo.GraphOp, xylo.XyloVariant]:
    """Return the only xylo graph of a verified module and its variant; raise DiagnosticError otherwise."""
    graphs = [op for op in module.ops if isinstance(op, xylo.GraphOp)]
    if len(graphs) != 1:
        found = ", ".join(sorted({op.name for op in module.ops})) or "no ops"
        raise DiagnosticError(
            f"a Xylo printer needs a module with exactly one xylo.graph, found {len(graphs)} (top-level ops: "
            f"{found}); run lower-to-xylo first"
        )
    return graphs[0], xylo.module_variant(graphs[0])


def _to_json(value: object, indent: str = "") -> str:
    """Format nested dicts one key per line, and lists (weight matrices) on one line each."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict):
        inner = indent + " "
        items = [f"{inner}{json.dumps(key)}: {_to_json(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        inner = indent + " "
        return "[\n" + ",\n".join(inner + _to_json(item, inner) for item in value) + "\n" + indent + "]"
    return json.dumps(value)


def specification_json(module) -> str:
    """Return the Rockpool specification of a module's xylo graph as JSON text."""
    graph, _ = select_graph(module)
    return _to_json(specification(graph)) + "\n"


def configuration_json(module) -> str:
    """Return the vendor configuration tree of a module's xylo graph as JSON text."""
    graph, variant = select_graph(module)
    return _to_json(configuration_tree(graph, variant)) + "\n"


def load_specification(text: str) -> dict[str, object]:
    """Parse specification JSON back into the keyword arguments, with int64 arrays for the tensors."""
    spec = json.loads(text)
    for key, value in spec.items():
        if isinstance(value, list) and key != "aliases":
            spec[key] = np.asarray(value, dtype=np.int64)
    return spec
