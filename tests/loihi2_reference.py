"""Shared helpers of the Loihi 2 tests: corpus names, small graphs, the loihi2 layers of a module and an integer CUBA model.

The model is written from the CUBA rules of Lava 0.10's bit-accurate LIF and Dense models
(u wraps, v clips, decays truncate toward zero, the threshold is vth_mant << 6), separately
from the interpreter in `nirmlir/simulator/loihi2_ops.py`, in plain Python integers.
"""

from __future__ import annotations

import numpy as np

from nirmlir.dense import numpy_from_dense
from nirmlir.dialects import loihi2

LIF_MODEL = "neuromorphs-NIR__lif_norse.nir"
BRAILLE_MODEL = "neuromorphs-NIR__braille_noDelay_bias_zero.nir"
PAPER_LAVA_OPTIONS = "lower-to-loihi2{dt=1e-4 voltage-scale=16000 decay-rounding=toward_zero}"


def layer_ops(module) -> list[loihi2.LayerOp]:
    graph = next(op for op in module.ops if isinstance(op, loihi2.GraphOp))
    return [op for op in graph.body.block.ops if isinstance(op, loihi2.LayerOp)]


def registers_of(op: loihi2.LayerOp) -> dict:
    """Return the registers of a dense or dense_rec op as plain Python values."""
    size = op.weight.get_shape()[0]
    return {
        "name": op.node_name.data,
        "weight": numpy_from_dense(op.weight).astype(int).tolist(),
        "weight_rec": numpy_from_dense(op.weight_rec).astype(int).tolist() if isinstance(op, loihi2.DenseRecOp) else None,
        "exponent": op.weight_exp.value.data,
        "i_decay": op.i_decay.value.data,
        "v_decay": op.v_decay.value.data,
        "vth_mant": op.vth_mant.value.data,
        "bias": numpy_from_dense(op.bias).astype(int).tolist() if op.bias is not None else [0] * size,
    }


def reference_cuba(layers: list[dict], spikes_in: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Run dense and dense_rec layers with the CUBA rules written out step by step, in Python integers.

    Each synapse delivers the previous step's spikes. Decays truncate toward zero; u wraps past
    ±2^23 and v clips to ±(2^23 - 1); the spike test is v > vth_mant·64 and resets v to 0.
    """
    steps = spikes_in.shape[0]
    traces: dict[str, dict[str, np.ndarray]] = {}
    previous_layer_spikes = [[int(s) for s in row] for row in spikes_in]
    for layer in layers:
        weight, weight_rec, exponent = layer["weight"], layer["weight_rec"], layer["exponent"]
        i_decay, v_decay, bias = layer["i_decay"], layer["v_decay"], layer["bias"]
        threshold = layer["vth_mant"] * 64
        size = len(weight)
        u, v, z = [0] * size, [0] * size, [0] * size
        record = {key: np.zeros((steps, size), dtype=np.int64) for key in ("i", "v", "spikes")}
        out_spikes = []
        for t in range(steps):
            incoming = previous_layer_spikes[t - 1] if t >= 1 else [0] * len(weight[0])
            new_z = [0] * size
            for o in range(size):
                total = sum(w * s for w, s in zip(weight[o], incoming))
                a = total * 2**exponent if exponent >= 0 else total // 2**-exponent
                if weight_rec is not None:
                    recurrent = sum(w * s for w, s in zip(weight_rec[o], z))
                    a += recurrent * 2**exponent if exponent >= 0 else recurrent // 2**-exponent
                kept_u = u[o] * (4096 - i_decay)
                uo = (abs(kept_u) // 4096) * (1 if kept_u >= 0 else -1) + a * 64
                if uo > 2**23:
                    uo -= 2**24
                elif uo <= -(2**23):
                    uo += 2**24
                kept_v = v[o] * (4096 - v_decay)
                vo = (abs(kept_v) // 4096) * (1 if kept_v >= 0 else -1) + uo + bias[o] * 64
                vo = max(-(2**23) + 1, min(2**23 - 1, vo))
                if vo > threshold:
                    new_z[o] = 1
                    vo = 0
                u[o], v[o] = uo, vo
            z = new_z
            record["i"][t], record["v"][t], record["spikes"][t] = u, v, z
            out_spikes.append(list(z))
        traces[layer["name"]] = record
        previous_layer_spikes = out_spikes
    return traces


def delayed_graph(delay_seconds):
    """Return Input(2) -> Affine -> [Delay] -> LIF(2) -> Output; one input spike makes its neuron spike."""
    import nir

    def floats(values):
        return np.asarray(values, dtype=np.float32)

    nodes = {
        "input": nir.Input(input_type={"input": np.array([2])}),
        "fc": nir.Affine(weight=floats([[1.0, 0.5], [0.3, 1.0]]), bias=floats([0, 0])),
        "lif": nir.LIF(
            tau=floats([2e-3, 2e-3]), r=floats([20, 20]), v_leak=floats([0, 0]),
            v_threshold=floats([0.5, 0.5]), v_reset=floats([0, 0]),
        ),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [("input", "fc"), ("lif", "output")]
    if delay_seconds is None:
        edges.append(("fc", "lif"))
    else:
        nodes["delay"] = nir.Delay(delay=floats(delay_seconds))
        edges += [("fc", "delay"), ("delay", "lif")]
    return nir.NIRGraph(nodes=nodes, edges=edges)
