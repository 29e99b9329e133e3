"""Seeded NIR graphs of chosen sizes, built with nir 1.0.8's node classes.

Every builder returns a `nir.NIRGraph` made with `type_check=False`, because nir 1.0.8's
type check takes time quadratic in the node count. The weights are float32 from a seeded
generator, so every run writes the same files.
"""

from __future__ import annotations

import math

import nir
import numpy as np


def _lif(shape: tuple[int, ...]) -> nir.LIF:
    return nir.LIF(
        tau=np.full(shape, 1e-2, dtype=np.float32),
        r=np.ones(shape, dtype=np.float32),
        v_leak=np.zeros(shape, dtype=np.float32),
        v_threshold=np.ones(shape, dtype=np.float32),
        v_reset=np.zeros(shape, dtype=np.float32),
    )


def _affine(rng: np.random.Generator, outputs: int, inputs: int) -> nir.Affine:
    weight = rng.standard_normal((outputs, inputs), dtype=np.float32) / np.float32(math.sqrt(inputs))
    return nir.Affine(weight=weight, bias=np.zeros(outputs, dtype=np.float32))


def dense_chain(layers: int, width: int, seed: int = 0) -> nir.NIRGraph:
    """Input -> (Affine width x width -> LIF) x layers -> Output: 2 * layers node ops."""
    rng = np.random.default_rng(seed)
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array([width]))}
    edges = []
    previous = "input"
    for layer in range(layers):
        nodes[f"fc{layer}"] = _affine(rng, width, width)
        nodes[f"lif{layer}"] = _lif((width,))
        edges += [(previous, f"fc{layer}"), (f"fc{layer}", f"lif{layer}")]
        previous = f"lif{layer}"
    nodes["output"] = nir.Output(output_type=np.array([width]))
    edges.append((previous, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def dense_weights(weights: int, seed: int = 0) -> nir.NIRGraph:
    """Return one Affine layer of about `weights` weights (a square matrix) followed by LIF."""
    return dense_chain(1, max(1, round(math.sqrt(weights))), seed)


def conv_weights(weights: int, size: int = 8, seed: int = 0) -> nir.NIRGraph:
    """Return Input C x size x size -> Conv2d C -> C, 3x3, padding 1 -> IF -> Output, with C
    chosen so that the kernel has about `weights` weights (9 * C * C)."""
    rng = np.random.default_rng(seed)
    channels = max(1, round(math.sqrt(weights / 9)))
    shape = (channels, size, size)
    weight = rng.standard_normal((channels, channels, 3, 3), dtype=np.float32) / np.float32(3 * math.sqrt(channels))
    nodes = {
        "input": nir.Input(input_type=np.array(shape)),
        "conv": nir.Conv2d(
            input_shape=(size, size), weight=weight, stride=1, padding=1, dilation=1, groups=1,
            bias=np.zeros(channels, dtype=np.float32),
        ),
        "if": nir.IF(r=np.ones(shape, dtype=np.float32), v_threshold=np.ones(shape, dtype=np.float32),
                     v_reset=np.zeros(shape, dtype=np.float32)),
        "output": nir.Output(output_type=np.array(shape)),
    }
    edges = [("input", "conv"), ("conv", "if"), ("if", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def recurrent_weights(weights: int, seed: int = 0) -> nir.NIRGraph:
    """Input -> Affine -> LIF -> Output with a recurrent Affine from the LIF back to itself;
    the two square matrices hold about `weights` weights together."""
    rng = np.random.default_rng(seed)
    width = max(1, round(math.sqrt(weights / 2)))
    nodes = {
        "input": nir.Input(input_type=np.array([width])),
        "fc_in": _affine(rng, width, width),
        "lif": _lif((width,)),
        "fc_rec": _affine(rng, width, width),
        "output": nir.Output(output_type=np.array([width])),
    }
    edges = [("input", "fc_in"), ("fc_in", "lif"), ("lif", "fc_rec"), ("fc_rec", "lif"), ("lif", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def small_node_chain(nodes: int) -> nir.NIRGraph:
    """Input -> `nodes` one-neuron LIF nodes in a chain -> Output: the graph of many small nodes."""
    graph_nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array([1]))}
    edges = []
    previous = "input"
    for index in range(nodes):
        name = f"lif{index}"
        graph_nodes[name] = _lif((1,))
        edges.append((previous, name))
        previous = name
    graph_nodes["output"] = nir.Output(output_type=np.array([1]))
    edges.append((previous, "output"))
    return nir.NIRGraph(nodes=graph_nodes, edges=edges, type_check=False)


def weight_count(graph: nir.NIRGraph) -> int:
    """Return the number of weights: the elements of every Affine, Linear and Conv weight."""
    return sum(
        int(node.weight.size)
        for node in graph.nodes.values()
        if isinstance(node, (nir.Affine, nir.Linear, nir.Conv1d, nir.Conv2d))
    )
