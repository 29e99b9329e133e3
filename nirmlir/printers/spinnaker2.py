"""Printers of the spinnaker2 dialect: the network as JSON, and a Python script that builds it with py-spinnaker2.

The JSON mirrors py-spinnaker2's constructor arguments, so that a loader only copies fields:

* ``populations``: ``snn.Population(size, neuron_model, params, name, record)`` plus
  ``max_atoms_per_core`` (``set_max_atoms_per_core``) and ``v_scale``, the chip voltage per NIR
  volt of each neuron, which converts recorded voltages back to NIR units;
* ``projections``: ``snn.Projection(pre, post, connections)`` with connections
  ``[pre_index, post_index, weight, delay]`` for each nonzero weight;
* ``conv2d_projections``: ``snn.Conv2DProjection(pre, post, weights, params)`` with the int8
  kernel as (C_in, C_out, kH, kW) and the geometry keys of py-spinnaker2;
* ``run``: the model step ``dt`` and the hardware step ``sys_tick_in_s`` in seconds, and
  ``outputs``: each output node and the populations whose spikes it records.

Float32 parameters print as the shortest decimal that reads back as the same float32.
"""

from __future__ import annotations

import json

import numpy as np

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError
from nirmlir.dialects import spinnaker2

FORMAT = "nirmlir-spinnaker2-network"
VERSION = 1
MODEL_NAMES = {
    spinnaker2.InputOp: "spike_list",
    spinnaker2.LIFOp: "lif",
    spinnaker2.LIFConv2dOp: "lif_conv2d",
    spinnaker2.LIFCurrExpOp: "lif_curr_exp",
}


def select_graph(module, name: str | None = None) -> spinnaker2.GraphOp:
    """Return the spinnaker2.graph called `name`, else @main, else the only one; raise DiagnosticError otherwise."""
    graphs = {op.sym_name.data: op for op in module.ops if isinstance(op, spinnaker2.GraphOp)}
    if not graphs:
        found = ", ".join(sorted({op.name for op in module.ops})) or "no ops"
        raise DiagnosticError(
            f"the module contains no spinnaker2.graph (found {found}); run lower-to-spinnaker2 first"
        )
    if name is not None and name not in graphs:
        raise DiagnosticError(f"the module has no spinnaker2.graph @{name}; its graphs are " + ", ".join(f"@{n}" for n in graphs))
    if name is not None:
        return graphs[name]
    if "main" in graphs:
        return graphs["main"]
    if len(graphs) == 1:
        return next(iter(graphs.values()))
    raise DiagnosticError("the module has several spinnaker2 graphs (" + ", ".join(f"@{n}" for n in graphs) + "); choose one")


def float32_list(values: np.ndarray) -> list[float]:
    """Return float32 values as Python floats whose shortest repr reads back as the same float32."""
    return [float(str(np.float32(value))) for value in np.asarray(values, dtype=np.float32).reshape(-1)]


def population_entry(op: spinnaker2.PopulationOp, recorded: set[str]) -> dict:
    params: dict = {}
    if isinstance(op, spinnaker2.NeuronPopulationOp):
        params = {field: float32_list(op.parameter(field)) for field in op.PARAMETERS}
        params["reset"] = op.reset.data
        params["t_refrac"] = 0
    entry = {
        "name": op.node_name.data,
        "size": op.size(),
        "neuron_model": MODEL_NAMES[type(op)],
        "params": params,
        "record": ["spikes", "v"] if op.node_name.data in recorded and params else [],
        "max_atoms_per_core": op.atoms_per_core.value.data,
    }
    if isinstance(op, spinnaker2.NeuronPopulationOp):
        entry["v_scale"] = [float(value) for value in numpy_from_dense(op.v_scale)]
    return entry


def post_name(op) -> str:
    """Return the node name of the population a projection feeds; raise DiagnosticError if it feeds none."""
    for use in op.output.uses:
        return use.operation.node_name.data
    raise DiagnosticError(f"projection '{op.node_name.data}' feeds no population; remove it or connect it")


def projection_entry(op: spinnaker2.ProjectionOp) -> dict:
    weight = numpy_from_dense(op.weight)
    delay = numpy_from_dense(op.delay)
    posts, pres = np.nonzero(weight)
    connections = np.stack([pres, posts, weight[posts, pres], delay[posts, pres]], axis=1).astype(np.int64)
    # Sorted by presynaptic neuron, as a connection list is usually written.
    order = np.lexsort((connections[:, 1], connections[:, 0]))
    return {
        "name": op.node_name.data,
        "pre": op.inputs[0].owner.node_name.data,
        "post": post_name(op),
        "connections": connections[order].tolist(),
    }


def conv2d_projection_entry(op: spinnaker2.Conv2dProjectionOp) -> dict:
    _, height, width = ints_from_array(op.in_shape)
    stride_y, stride_x = ints_from_array(op.stride)
    pad_top, pad_bottom, pad_left, pad_right = ints_from_array(op.padding)
    pool_y, pool_x = ints_from_array(op.pool)
    return {
        "name": op.node_name.data,
        "pre": op.inputs[0].owner.node_name.data,
        "post": post_name(op),
        "weights": numpy_from_dense(op.weight).astype(np.int64).tolist(),
        "params": {
            "in_height": height,
            "in_width": width,
            "stride_x": stride_x,
            "stride_y": stride_y,
            "pool_x": pool_x,
            "pool_y": pool_y,
            "pad_top": pad_top,
            "pad_bottom": pad_bottom,
            "pad_left": pad_left,
            "pad_right": pad_right,
        },
    }


def network_document(module, graph_name: str | None = None) -> dict:
    """Return the JSON document of one spinnaker2 graph as Python data."""
    graph = select_graph(module, graph_name)
    ops = list(graph.body.block.ops)
    outputs = {
        op.node_name.data: [operand.owner.node_name.data for operand in op.inputs]
        for op in ops
        if isinstance(op, spinnaker2.OutputOp)
    }
    recorded = {name for names in outputs.values() for name in names}
    return {
        "format": FORMAT,
        "version": VERSION,
        "graph": graph.sym_name.data,
        "run": {"dt": graph.dt.value.data, "sys_tick_in_s": graph.sys_tick.value.data},
        "populations": [population_entry(op, recorded) for op in ops if isinstance(op, spinnaker2.PopulationOp)],
        "projections": [projection_entry(op) for op in ops if isinstance(op, spinnaker2.ProjectionOp)],
        "conv2d_projections": [conv2d_projection_entry(op) for op in ops if isinstance(op, spinnaker2.Conv2dProjectionOp)],
        "outputs": outputs,
    }


def network_json(module, graph_name: str | None = None) -> str:
    """Return the JSON text of one spinnaker2 graph: populations, projections and run settings."""
    document = network_document(module, graph_name)
    # One population or projection per line keeps large connection lists readable and diffable.
    lines = ["{"]
    keys = list(document)
    for index, key in enumerate(keys):
        value = document[key]
        comma = "," if index < len(keys) - 1 else ""
        if isinstance(value, list) and value:
            entries = [json.dumps(entry, separators=(", ", ": ")) for entry in value]
            lines.append(f" {json.dumps(key)}: [")
            lines.extend(f"  {entry}," for entry in entries[:-1])
            lines.append(f"  {entries[-1]}")
            lines.append(f" ]{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, separators=(', ', ': '))}{comma}")
    lines.append("}")
    return "\n".join(lines)


SCRIPT_HEADER = '''"""Build and run the py-spinnaker2 network of graph @{graph}, written by nir-translate --spinnaker2-script.

    python THIS_FILE.py input.npy [--timesteps T] [--eth-ip ADDRESS] [-o traces.npz]

input.npy contains the spikes of input population '{input}' as an array (T, {input_size}) of 0 and 1.
Without --eth-ip the network runs on py-spinnaker2's Brian2 backend. The traces file contains
NAME/spikes (T, size) for every recorded population and NAME/v, the voltage in NIR volts
(chip voltage over v_scale).
"""

import argparse
import json

import numpy as np
from spinnaker2 import brian2_sim, hardware, snn

NETWORK = json.loads({network!r})
POPULATIONS = {{entry["name"]: entry for entry in NETWORK["populations"]}}


def spike_times(spikes):
    """Return py-spinnaker2's spike_list parameters, neuron index -> list of steps, of a (T, N) array."""
    steps, neurons = np.nonzero(np.asarray(spikes))
    times = {{int(neuron): [] for neuron in range(np.asarray(spikes).shape[1])}}
    for step, neuron in zip(steps.tolist(), neurons.tolist()):
        times[neuron].append(step)
    return times


def params(name):
    """Return the neuron parameters of population `name`, with per-neuron lists as arrays."""
    entry = POPULATIONS[name]
    return {{key: np.asarray(value) if isinstance(value, list) else value for key, value in entry["params"].items()}}


def dense_trace(recorded, size, steps):
    """Return a (steps, size) array from py-spinnaker2's neuron index -> values."""
    trace = np.zeros((steps, size))
    for neuron, values in recorded.items():
        trace[: len(values), int(neuron)] = values
    return trace


def build(input_spikes):
    """Return the snn.Network and its populations by name."""
    populations = {{}}
'''

SCRIPT_FOOTER = '''

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="input spikes, .npy of shape (T, {input_size})")
    parser.add_argument("--timesteps", type=int, help="steps to run (default: the input's T)")
    parser.add_argument("--eth-ip", help="run on the SpiNNaker2 board at this address (default: Brian2 backend)")
    parser.add_argument("-o", "--output", default="traces.npz", help="traces file (default: traces.npz)")
    args = parser.parse_args()

    input_spikes = np.load(args.input)
    steps = args.timesteps or input_spikes.shape[0]
    network, populations = build(input_spikes)
    # NOTE: the run calls follow the NIR paper's SpiNNaker2 scripts; they were not run against py-spinnaker2 here.
    if args.eth_ip:
        hardware.SpiNNaker2Chip(eth_ip=args.eth_ip).run(network, steps, sys_tick_in_s=NETWORK["run"]["sys_tick_in_s"])
    else:
        brian2_sim.Brian2Backend().run(network, steps)

    traces = {{}}
    for entry in NETWORK["populations"]:
        population = populations[entry["name"]]
        if "spikes" in entry["record"]:
            spikes = {{neuron: np.bincount(times, minlength=steps)[:steps] for neuron, times in population.get_spikes().items()}}
            traces[entry["name"] + "/spikes"] = dense_trace(spikes, entry["size"], steps)
        if "v" in entry["record"]:
            voltage = dense_trace(population.get_voltages(), entry["size"], steps)
            traces[entry["name"] + "/v"] = voltage / np.asarray(entry["v_scale"])
    np.savez(args.output, **traces)


if __name__ == "__main__":
    main()
'''


def python_script(module, graph_name: str | None = None) -> str:
    """Return a Python script that builds the graph's network with py-spinnaker2 and runs it on an input."""
    document = network_document(module, graph_name)
    inputs = [entry for entry in document["populations"] if entry["neuron_model"] == "spike_list"]
    if len(inputs) != 1:
        raise DiagnosticError(
            f"graph @{document['graph']} has {len(inputs)} input populations; the script reads one input file, "
            "so it needs exactly one"
        )
    input_entry = inputs[0]

    lines = [
        SCRIPT_HEADER.format(
            graph=document["graph"],
            input=input_entry["name"],
            input_size=input_entry["size"],
            network=json.dumps(document, separators=(",", ":")),
        )
    ]
    for entry in document["populations"]:
        name = entry["name"]
        if entry["neuron_model"] == "spike_list":
            parameters = "spike_times(input_spikes)"
        else:
            parameters = f"params({name!r})"
        lines.append(
            f"    populations[{name!r}] = snn.Population(size={entry['size']}, neuron_model={entry['neuron_model']!r}, "
            f"params={parameters}, name={name!r}, record={entry['record']!r})"
        )
        lines.append(f"    populations[{name!r}].set_max_atoms_per_core({entry['max_atoms_per_core']})")

    lines.append("    projections = []")
    for index, entry in enumerate(document["projections"]):
        lines.append(
            f"    projections.append(snn.Projection(pre=populations[{entry['pre']!r}], post=populations[{entry['post']!r}], "
            f"connections=NETWORK['projections'][{index}]['connections']))"
        )
    for index, entry in enumerate(document["conv2d_projections"]):
        lines.append(
            f"    projections.append(snn.Conv2DProjection(populations[{entry['pre']!r}], populations[{entry['post']!r}], "
            f"np.asarray(NETWORK['conv2d_projections'][{index}]['weights'], dtype=np.int8), "
            f"NETWORK['conv2d_projections'][{index}]['params']))"
        )

    lines.append(f"    network = snn.Network({document['graph']!r})")
    lines.append("    network.add(*populations.values(), *projections)")
    lines.append("    return network, populations")
    footer = SCRIPT_FOOTER.format(input_size=input_entry["size"])
    return "\n".join(lines) + "\n" + footer
