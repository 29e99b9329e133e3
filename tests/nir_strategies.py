"""Hypothesis strategies of valid NIR graphs, built from the `nir` package's node classes.

A graph is a chain of layers from one Input to one Output. Each layer is drawn among the
node types that accept the current shape. 1-D values feed dense layers, neurons, delays
and nested subgraphs. (C, L) values feed Conv1d, and (C, H, W) values feed Conv2d and the
pools. Flatten turns either into 1-D. A neuron layer may get a recurrent Linear edge back
to itself. Parameter values come from a drawn seed, within the ranges NIR models use:
time constants, resistances and thresholds are positive, weights and leaks are signed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nir
import numpy as np
from hypothesis import strategies as st

NEURON_TYPES = ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF")
ELEMENTWISE_TYPES = ("Scale", "Threshold", "Delay")


@dataclass
class _Chain:
    """The graph under construction: its nodes, edges and the node and shape at its end."""

    rng: np.random.Generator
    dtype: type
    nodes: dict[str, nir.NIRNode] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    last: str = "input"
    shape: tuple[int, ...] = ()

    def signed(self, *shape: int) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, shape).astype(self.dtype)

    def positive(self, *shape: int, low: float = 0.5, high: float = 2.0) -> np.ndarray:
        return self.rng.uniform(low, high, shape).astype(self.dtype)

    def time_constant(self, *shape: int) -> np.ndarray:
        """Return time constants of 0.5 ms to 20 ms, in seconds, as NIR states them."""
        return self.rng.uniform(5e-4, 2e-2, shape).astype(self.dtype)

    def append(self, name: str, node: nir.NIRNode, shape: tuple[int, ...]) -> None:
        self.nodes[name] = node
        self.edges.append((self.last, name))
        self.last, self.shape = name, shape


def neuron(chain: _Chain, kind: str, shape: tuple[int, ...]) -> nir.NIRNode:
    """Return a neuron group of NIR type ``kind`` with one parameter value per neuron."""
    if kind == "I":
        return nir.I(r=chain.positive(*shape))
    if kind == "IF":
        return nir.IF(r=chain.positive(*shape), v_threshold=chain.positive(*shape), v_reset=chain.signed(*shape) * 0.1)
    if kind == "LI":
        return nir.LI(tau=chain.time_constant(*shape), r=chain.positive(*shape), v_leak=chain.signed(*shape) * 0.1)
    if kind == "LIF":
        return nir.LIF(
            tau=chain.time_constant(*shape),
            r=chain.positive(*shape),
            v_leak=chain.signed(*shape) * 0.1,
            v_threshold=chain.positive(*shape),
            v_reset=chain.signed(*shape) * 0.1,
        )
    if kind == "CubaLI":
        return nir.CubaLI(
            tau_syn=chain.time_constant(*shape),
            tau_mem=chain.time_constant(*shape),
            r=chain.positive(*shape),
            v_leak=chain.signed(*shape) * 0.1,
            w_in=chain.positive(*shape),
        )
    return nir.CubaLIF(
        tau_syn=chain.time_constant(*shape),
        tau_mem=chain.time_constant(*shape),
        r=chain.positive(*shape),
        v_leak=chain.signed(*shape) * 0.1,
        v_threshold=chain.positive(*shape),
        v_reset=chain.signed(*shape) * 0.1,
        w_in=chain.positive(*shape),
    )


def elementwise(chain: _Chain, kind: str, shape: tuple[int, ...]) -> nir.NIRNode:
    if kind == "Scale":
        return nir.Scale(scale=chain.signed(*shape))
    if kind == "Threshold":
        return nir.Threshold(threshold=chain.signed(*shape))
    # Delays of 0 to 2 ms: whole and fractional multiples of the 0.1 ms step the tests use.
    return nir.Delay(delay=chain.rng.choice([0.0, 1e-4, 3e-4, 1.5e-4, 2e-3], size=shape).astype(chain.dtype))


def subgraph(chain: _Chain, width: int, kind: str) -> nir.NIRGraph:
    """Return a nested graph Input -> neuron (with a recurrent Linear) -> Output."""
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([width])}),
            "neuron": neuron(chain, kind, (width,)),
            "w_rec": nir.Linear(weight=chain.signed(width, width) * 0.5),
            "output": nir.Output(output_type={"output": np.array([width])}),
        },
        edges=[("input", "neuron"), ("neuron", "w_rec"), ("w_rec", "neuron"), ("neuron", "output")],
    )


def _conv_output(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@st.composite
def spatial_layer(draw, chain: _Chain, index: int) -> None:
    """Append one layer that takes a (C, L) or (C, H, W) value."""
    rank = len(chain.shape) - 1
    channels, spatial = chain.shape[0], chain.shape[1:]
    choices = ["conv", "flatten", "neuron", "Scale"] + (["sum_pool", "avg_pool"] if rank == 2 else [])
    kind = draw(st.sampled_from(choices))
    name = f"{kind.lower()}{index}"
    if kind == "flatten":
        flat = (int(np.prod(chain.shape)),)
        node = nir.Flatten(input_type={"input": np.array(chain.shape)}, start_dim=0, end_dim=-1)
        chain.append(name, node, flat)
        return
    if kind == "neuron":
        chain.append(name, neuron(chain, draw(st.sampled_from(NEURON_TYPES)), chain.shape), chain.shape)
        return
    if kind == "Scale":
        chain.append(name, elementwise(chain, "Scale", chain.shape), chain.shape)
        return
    if kind in ("sum_pool", "avg_pool"):
        kernel = draw(st.integers(1, min(3, *spatial)))
        stride = draw(st.integers(1, 2))
        out = tuple(_conv_output(size, kernel, stride, 0, 1) for size in spatial)
        pool = nir.SumPool2d if kind == "sum_pool" else nir.AvgPool2d
        node = pool(kernel_size=np.array([kernel, kernel]), stride=np.array([stride, stride]), padding=np.array([0, 0]))
        chain.append(name, node, (channels, *out))
        return
    groups = draw(st.sampled_from([g for g in (1, 2) if channels % g == 0]))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = draw(st.integers(1, min(3, *spatial)))
    stride = draw(st.integers(1, 2))
    padding = draw(st.integers(0, kernel // 2))
    out = tuple(_conv_output(size, kernel, stride, padding, 1) for size in spatial)
    weight = chain.signed(out_channels, channels // groups, *([kernel] * rank))
    bias = chain.signed(out_channels)
    if rank == 1:
        node = nir.Conv1d(input_shape=spatial[0], weight=weight, stride=stride, padding=padding, dilation=1,
                          groups=groups, bias=bias)
    else:
        node = nir.Conv2d(input_shape=spatial, weight=weight, stride=stride, padding=padding, dilation=1,
                          groups=groups, bias=bias)
    chain.append(f"conv{index}", node, (out_channels, *out))


@st.composite
def dense_layer(draw, chain: _Chain, index: int) -> None:
    """Append one layer that takes a 1-D value."""
    width = chain.shape[0]
    kind = draw(st.sampled_from(["Affine", "Linear", "neuron", "recurrent", "subgraph", *ELEMENTWISE_TYPES]))
    name = f"{kind.lower()}{index}"
    if kind in ("Affine", "Linear"):
        out = draw(st.integers(1, 6))
        if kind == "Affine":
            node = nir.Affine(weight=chain.signed(out, width), bias=chain.signed(out))
        else:
            node = nir.Linear(weight=chain.signed(out, width))
        chain.append(name, node, (out,))
    elif kind in ELEMENTWISE_TYPES:
        chain.append(name, elementwise(chain, kind, (width,)), (width,))
    elif kind == "neuron":
        chain.append(name, neuron(chain, draw(st.sampled_from(NEURON_TYPES)), (width,)), (width,))
    elif kind == "recurrent":
        # A neuron group whose spikes return to it through a Linear: the cycle has a state.
        chain.append(name, neuron(chain, draw(st.sampled_from(("LIF", "CubaLIF", "IF"))), (width,)), (width,))
        chain.nodes[f"{name}_rec"] = nir.Linear(weight=chain.signed(width, width) * 0.5)
        chain.edges += [(name, f"{name}_rec"), (f"{name}_rec", name)]
    else:
        chain.append(name, subgraph(chain, width, draw(st.sampled_from(("LIF", "CubaLIF")))), (width,))


@st.composite
def nir_graphs(draw, max_layers: int = 5) -> nir.NIRGraph:
    """Draw a valid `nir.NIRGraph` of 1 to ``max_layers`` layers between an Input and an Output."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    chain = _Chain(np.random.default_rng(draw(st.integers(0, 2**32 - 1))), dtype)
    rank = draw(st.sampled_from([1, 2, 3]))
    if rank == 1:
        shape: tuple[int, ...] = (draw(st.integers(1, 6)),)
    else:
        shape = (draw(st.integers(1, 3)), *[draw(st.integers(2, 6)) for _ in range(rank - 1)])
    chain.nodes["input"] = nir.Input(input_type={"input": np.array(shape)})
    chain.shape = shape
    for index in range(draw(st.integers(1, max_layers))):
        if len(chain.shape) == 1:
            draw(dense_layer(chain, index))
        else:
            draw(spatial_layer(chain, index))
    chain.nodes["output"] = nir.Output(output_type={"output": np.array(chain.shape)})
    chain.edges.append((chain.last, "output"))
    metadata = {"dt": 1e-4} if draw(st.booleans()) else {}
    # nir 1.0.8's type check takes a grouped Conv1d's input channels to be the weight's
    # second dimension, without the factor `groups`, so it rejects valid grouped convolutions.
    return nir.NIRGraph(nodes=chain.nodes, edges=chain.edges, metadata=metadata, type_check=False)
