"""The lava-dl netx HDF5 printer: a loihi2 graph as the file that `netx.hdf5.Network` loads.

The layout is the one lava-dl 0.6's `netx/hdf5.py` reads: a group `layer` with one group per
layer, named 0, 1, 2, ... in execution order. Each has `type`, an ASCII string in an array of
one, and `shape`, the neurons as (C, H, W) or (N,), which netx reverses to Lava's (W, H, C).
Layers with a synapse add its datasets and a `neuron` group of the CUBA registers (`iDecay`,
`vDecay`, `vThMant`, `refDelay`). The input layer has only `type` and `shape`, so netx feeds the input spikes straight
into the first layer's synapse. A flatten layer has only `type`.

netx stores weights as integers and derives the mantissa, exponent and sign mode itself, so the
printer writes each weight as `mantissa·2^weight_exp`, which must be an integer that netx keeps:
[-256, 254] for mixed signs (netx clips larger ones), [0, 255] or [-256, 0] otherwise. Conv
kernels are written as (C_out, C_in/groups, kH, kW) and strides, paddings and dilations as
(y, x), which netx flips and transposes into Lava's (x, y) order. `bench/lava_netx_check.py`
ran the printed LIF, braille and CNN files in lava-dl 0.6 with this layout: Lava's fixed-point
u, v and spikes equal the loihi2 interpreter's in every layer.
"""

from __future__ import annotations

import io
import os

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from nirmlir.atomic import atomic_output
from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects import loihi2

NETX_WEIGHT_RANGES = {"mixed": (-256, 254), "excitatory": (0, 255), "inhibitory": (-256, 0)}
"""The integer weights that lava-dl 0.6's `optimize_weight_bits` keeps without clipping."""


def select_graph(module: ModuleOp, name: str | None = None) -> loihi2.GraphOp:
    """Return the loihi2 graph to print: `name`, else the only one; raise DiagnosticError otherwise."""
    graphs = {op.sym_name.data: op for op in module.ops if isinstance(op, loihi2.GraphOp)}
    if not graphs:
        found = ", ".join(sorted({op.name for op in module.ops})) or "no ops"
        raise DiagnosticError(
            f"the module contains no loihi2.graph (found {found}); run lower-to-loihi2 first"
        )
    if name is not None:
        if name not in graphs:
            raise DiagnosticError(f"the module has no loihi2 graph @{name}; its graphs are " + ", ".join(f"@{n}" for n in graphs))
        return graphs[name]
    if len(graphs) > 1:
        raise DiagnosticError(
            "a netx file contains one network, but the module has several loihi2 graphs ("
            + ", ".join(f"@{n}" for n in graphs)
            + "); select one by name"
        )
    return next(iter(graphs.values()))


def netx_weights(graph: str, op: loihi2.LayerOp) -> dict[str, np.ndarray]:
    """Return the integer weights netx reads for a layer; raise DiagnosticError for ones it would change."""
    exponent = op.weight_exp.value.data
    location = Location(node_path=(graph, op.node_name.data))
    fields = ["weight", "weight_rec"] if isinstance(op, loihi2.DenseRecOp) else ["weight"]
    weights = {}
    for field in fields:
        mantissa = numpy_from_dense(op.properties[field]).astype(np.int64)
        if exponent >= 0:
            weights[field] = mantissa << exponent
        elif (mantissa % (1 << -exponent)).any():
            raise DiagnosticError(
                f"node '{op.node_name.data}': '{field}' has mantissas that weight_exp {exponent} makes fractional; "
                "netx reads integer weights, so scale the layer to weight_exp 0",
                location,
            )
        else:
            weights[field] = mantissa >> -exponent
    mode = loihi2.sign_mode(np.concatenate([w.reshape(-1) for w in weights.values()]))
    low, high = NETX_WEIGHT_RANGES[mode]
    for field, values in weights.items():
        if values.size and (values.min() < low or values.max() > high):
            worst = int(values.min() if values.min() < low else values.max())
            raise DiagnosticError(
                f"node '{op.node_name.data}': '{field}' has the effective weight {worst}, outside [{low}, {high}], "
                f"which netx keeps for {mode} weights; lower the layer's voltage scale",
                location,
            )
    return weights


def _write_neuron(group, op: loihi2.LayerOp) -> None:
    neuron = group.create_group("neuron")
    neuron.create_dataset("type", data=np.array([b"CUBA"], dtype="S10"))
    neuron.create_dataset("iDecay", data=np.int64(op.i_decay.value.data))
    neuron.create_dataset("vDecay", data=np.int64(op.v_decay.value.data))
    neuron.create_dataset("vThMant", data=np.int64(op.vth_mant.value.data))
    neuron.create_dataset("refDelay", data=np.int64(1))


def _write_layer(group, graph: str, op) -> None:
    """Write one layer group: its type, shape, synapse and neuron datasets."""
    if isinstance(op, loihi2.InputOp):
        group.create_dataset("type", data=np.array([b"input"], dtype="S10"))
        group.create_dataset("shape", data=np.array(op.output.type.get_shape(), dtype=np.int64))
        return
    if isinstance(op, loihi2.FlattenOp):
        group.create_dataset("type", data=np.array([b"flatten"], dtype="S10"))
        return
    kind = {loihi2.DenseOp: b"dense", loihi2.DenseRecOp: b"dense_rec", loihi2.ConvOp: b"conv"}[type(op)]
    group.create_dataset("type", data=np.array([kind], dtype="S10"))
    group.create_dataset("shape", data=np.array(op.output.type.get_shape(), dtype=np.int64))
    for field, values in netx_weights(graph, op).items():
        group.create_dataset(field, data=values.astype(np.float64))
    if op.bias is not None:
        bias = numpy_from_dense(op.bias).astype(np.int64)
        if isinstance(op, loihi2.ConvOp) and bias.ndim == 3:
            # netx hands a conv bias to Lava's LIF as it is, and Lava orders conv neurons (W, H, C).
            bias = bias.transpose(2, 1, 0)
        group.create_dataset("bias", data=bias.astype(np.float64))
    if isinstance(op, loihi2.DenseLayerOp) and op.delay is not None:
        group.create_dataset("delay", data=numpy_from_dense(op.delay).astype(np.int64))
    if isinstance(op, loihi2.ConvOp):
        for field in ("stride", "padding", "dilation"):
            group.create_dataset(field, data=np.array(ints_from_array(op.properties[field]), dtype=np.int64))
        group.create_dataset("groups", data=np.int64(op.groups.value.data))
    _write_neuron(group, op)


def write_netx(module: ModuleOp, target, graph_name: str | None = None) -> None:
    """Write the module's loihi2 graph as netx HDF5 to a path (atomically) or a binary stream."""
    import h5py

    graph = select_graph(module, graph_name)
    name = graph.sym_name.data
    layers = [op for op in graph.body.block.ops if not isinstance(op, loihi2.OutputOp)]
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        root = file.create_group("layer")
        for index, op in enumerate(layers):
            _write_layer(root.create_group(str(index)), name, op)
    data = buffer.getvalue()
    if isinstance(target, str | os.PathLike):
        with atomic_output(target, "wb") as stream:
            stream.write(data)
    else:
        target.write(data)
