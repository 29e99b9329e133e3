"""Small NIR graphs built with the `nir` package for the peer comparisons, and parameter rewrites.

Each builder takes the neuron parameters in the convention of the peer under test (for example
snnTorch writes r = tau/dt, sinabs counts tau in steps), so that the peer's importer represents the
graph without loss and any remaining difference is a difference in simulation. Weights come from
a seeded generator; their scale is chosen so that every layer spikes on inputs with spike
probability 0.1.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nir
import numpy as np


@dataclass(frozen=True)
class NeuronParameters:
    """NIR parameters shared by every neuron of a generated graph (seconds and NIR volts)."""

    tau_mem: float
    r: float
    v_threshold: float = 1.0
    tau_syn: float = 1.0
    w_in: float = 1.0


def _lif(parameters: NeuronParameters, shape: tuple[int, ...]) -> nir.LIF:
    return nir.LIF(
        tau=np.full(shape, parameters.tau_mem, dtype=np.float32),
        r=np.full(shape, parameters.r, dtype=np.float32),
        v_leak=np.zeros(shape, dtype=np.float32),
        v_threshold=np.full(shape, parameters.v_threshold, dtype=np.float32),
        v_reset=np.zeros(shape, dtype=np.float32),
    )


def _cuba_lif(parameters: NeuronParameters, size: int) -> nir.CubaLIF:
    return nir.CubaLIF(
        tau_syn=np.full(size, parameters.tau_syn, dtype=np.float32),
        tau_mem=np.full(size, parameters.tau_mem, dtype=np.float32),
        r=np.full(size, parameters.r, dtype=np.float32),
        v_leak=np.zeros(size, dtype=np.float32),
        v_threshold=np.full(size, parameters.v_threshold, dtype=np.float32),
        v_reset=np.zeros(size, dtype=np.float32),
        w_in=np.full(size, parameters.w_in, dtype=np.float32),
    )


def _weights(generator: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    return (generator.normal(0.0, scale, shape)).astype(np.float32)


def lif_mlp(parameters: NeuronParameters, *, weight_scale: float, seed: int = 0) -> nir.NIRGraph:
    """Return Input(8) -> Affine -> LIF(16) -> Affine -> LIF(4) -> Output."""
    generator = np.random.default_rng(seed)
    nodes = {
        "input": nir.Input(input_type=np.array([8])),
        "fc1": nir.Affine(_weights(generator, (16, 8), weight_scale), _weights(generator, (16,), weight_scale / 4)),
        "lif1": _lif(parameters, (16,)),
        "fc2": nir.Affine(_weights(generator, (4, 16), weight_scale), _weights(generator, (4,), weight_scale / 4)),
        "lif2": _lif(parameters, (4,)),
        "output": nir.Output(output_type=np.array([4])),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes, edges)


def cuba_lif_recurrent(parameters: NeuronParameters, *, weight_scale: float, seed: int = 0) -> nir.NIRGraph:
    """Return Input(8) -> Linear -> CubaLIF(10) with a Linear back edge onto itself -> Output.

    The recurrent pair is named `lif1.lif` and `lif1.w_rec`: snnTorch's importer groups a cycle
    under the name before the dot, and nirtorch 2.6 asserts that this name contains "lif".
    """
    generator = np.random.default_rng(seed)
    nodes = {
        "input": nir.Input(input_type=np.array([8])),
        "fc": nir.Linear(_weights(generator, (10, 8), weight_scale)),
        "lif1.lif": _cuba_lif(parameters, 10),
        "lif1.w_rec": nir.Linear(_weights(generator, (10, 10), weight_scale / 2)),
        "output": nir.Output(output_type=np.array([10])),
    }
    edges = [("input", "fc"), ("fc", "lif1.lif"), ("lif1.lif", "lif1.w_rec"), ("lif1.w_rec", "lif1.lif"), ("lif1.lif", "output")]
    return nir.NIRGraph(nodes, edges)


def _if(parameters: NeuronParameters, shape: tuple[int, ...]) -> nir.IF:
    return nir.IF(
        r=np.full(shape, parameters.r, dtype=np.float32),
        v_threshold=np.full(shape, parameters.v_threshold, dtype=np.float32),
        v_reset=np.zeros(shape, dtype=np.float32),
    )


def conv_pool_flatten(
    parameters: NeuronParameters, *, weight_scale: float, pool: str = "sum", neuron: str = "lif", seed: int = 0
) -> nir.NIRGraph:
    """Return Input(2, 8, 8) -> Conv2d(4, 3x3, padding 1) -> neurons -> 2x2 pool -> Flatten -> Affine -> neurons(10) -> Output.

    `pool` is "sum" (SumPool2d) or "avg" (AvgPool2d); `neuron` is "lif" or "if".
    """
    generator = np.random.default_rng(seed)
    make_neurons = {"lif": _lif, "if": _if}[neuron]
    pool_node = {"sum": nir.SumPool2d, "avg": nir.AvgPool2d}[pool](
        kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
    )
    nodes = {
        "input": nir.Input(input_type=np.array([2, 8, 8])),
        "conv": nir.Conv2d(
            input_shape=(8, 8),
            weight=_weights(generator, (4, 2, 3, 3), weight_scale),
            stride=1,
            padding=1,
            dilation=1,
            groups=1,
            bias=_weights(generator, (4,), weight_scale / 4),
        ),
        "lif1": make_neurons(parameters, (4, 8, 8)),
        "pool": pool_node,
        "flatten": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
        "fc": nir.Affine(_weights(generator, (10, 64), weight_scale), _weights(generator, (10,), weight_scale / 4)),
        "lif2": make_neurons(parameters, (10,)),
        "output": nir.Output(output_type=np.array([10])),
    }
    edges = [
        ("input", "conv"),
        ("conv", "lif1"),
        ("lif1", "pool"),
        ("pool", "flatten"),
        ("flatten", "fc"),
        ("fc", "lif2"),
        ("lif2", "output"),
    ]
    return nir.NIRGraph(nodes, edges)


def if_to_leaky_lif(graph: nir.NIRGraph, *, beta: float, dt: float) -> nir.NIRGraph:
    """Return a copy with every IF node replaced by the LIF whose forward-Euler step is mem = beta·mem + r·x.

    The LIF gets tau = dt/(1 - beta) and r' = r·tau/dt, so that (dt/tau)·r' = r.
    """
    graph = copy.deepcopy(graph)
    tau_value = dt / (1.0 - beta)
    for name, node in list(graph.nodes.items()):
        if isinstance(node, nir.IF):
            shape = np.asarray(node.r).shape
            graph.nodes[name] = nir.LIF(
                tau=np.full(shape, tau_value, dtype=np.float64),
                r=np.asarray(node.r, dtype=np.float64) * tau_value / dt,
                v_leak=np.zeros(shape),
                v_threshold=np.asarray(node.v_threshold, dtype=np.float64),
                v_reset=np.asarray(node.v_reset, dtype=np.float64),
            )
    return graph


def rockpool_equivalent(graph: nir.NIRGraph, dt: float) -> nir.NIRGraph:
    """Return a copy whose CubaLIF nodes, discretized with exp_euler at `dt`, follow Rockpool's import.

    Rockpool's importer (rockpool 3.1.0) steps each CubaLIF node with its own
    dt_node = min(tau_mem/(1 + r)), ignores w_in, adds the input to the current before it decays,
    i = beta·(i + x), and adds the current unscaled, v = alpha·v + i + v_leak. With exp_euler,
    and the rockpool preset's gain rule, i = exp(-dt/tau_syn)·(i + w_in·x) and
    v = exp(-dt/tau_mem)·v + (dt/tau_mem)·exp(dt/tau_mem)·r·i + (1 - exp(-dt/tau_mem))·v_leak,
    so the rewrite is, per node: tau' = tau·dt/dt_node (same decays at `dt`), w_in' = 1 (current
    gain beta), r' = exp(-dt/tau_mem')·tau_mem'/dt (voltage gain 1, the r that Rockpool's exporter
    writes), v_leak' = v_leak/(1 - exp(-dt/tau_mem')).
    """
    graph = copy.deepcopy(graph)
    for name, node in list(graph.nodes.items()):
        if not isinstance(node, nir.CubaLIF):
            continue
        tau_mem = np.asarray(node.tau_mem, dtype=np.float64)
        tau_syn = np.asarray(node.tau_syn, dtype=np.float64)
        r = np.asarray(node.r, dtype=np.float64)
        # Rockpool computes dt_node in float32 from the float32 parameters.
        node_dt = float(np.min((tau_mem.astype(np.float32) / (1 + r.astype(np.float32))).astype(np.float32)))
        tau_mem = tau_mem * dt / node_dt
        tau_syn = tau_syn * dt / node_dt
        graph.nodes[name] = nir.CubaLIF(
            tau_syn=tau_syn,
            tau_mem=tau_mem,
            r=np.exp(-dt / tau_mem) * tau_mem / dt,
            v_leak=np.asarray(node.v_leak, dtype=np.float64) / -np.expm1(-dt / tau_mem),
            v_threshold=np.asarray(node.v_threshold, dtype=np.float64),
            v_reset=np.asarray(node.v_reset, dtype=np.float64),
            w_in=np.ones_like(tau_syn),
        )
    return graph
