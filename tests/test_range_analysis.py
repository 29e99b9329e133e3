"""Tests of the static range analysis of fxp graphs: exact bounds, overflow diagnostics, and bounds that simulation never exceeds."""

from __future__ import annotations

import math
import warnings

import nir
import numpy as np
import pytest

import nirmlir
from nirmlir.diagnostics import DiagnosticError, DiagnosticWarning
from nirmlir.passes.discretize import discretize_module, resolve_preset
from nirmlir.passes.quantize import quantize_module
from nirmlir.passes.quantize_options import QuantizeOptions
from nirmlir.passes.range_analysis import RangeBound, analyze_ranges
from nirmlir.simulator import compile_graph

DT = 1e-4


def feedforward(weight: np.ndarray, neuron: nir.NIRNode, bias: np.ndarray | None = None) -> nir.NIRGraph:
    """Input -> affine(weight, bias) -> neuron -> output."""
    outputs, inputs = weight.shape
    bias = np.zeros(outputs) if bias is None else bias
    nodes = {
        "input": nir.Input(input_type={"input": np.array([inputs])}),
        "fc": nir.Affine(weight=weight.astype(np.float32), bias=bias.astype(np.float32)),
        "neuron": neuron,
        "output": nir.Output(output_type={"output": np.array([outputs])}),
    }
    return nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "neuron"), ("neuron", "output")])


def lif(size: int, tau: float = 2e-3, threshold: float = 1.0) -> nir.LIF:
    ones = np.ones(size, dtype=np.float32)
    return nir.LIF(tau=ones * tau, r=ones, v_leak=ones * 0, v_threshold=ones * threshold, v_reset=ones * 0)


def lowered(graph: nir.NIRGraph, preset: str = "norse", **options):
    """Return (fxp graph, report) of a NIR graph discretized with `preset` and quantized with `options`."""
    module = nirmlir.load(graph)
    discretize_module(module, resolve_preset(preset), DT)
    report = quantize_module(module, QuantizeOptions(**options))
    module.verify()
    (fxp_graph,) = list(module.ops)
    return fxp_graph, report


def bound_of(bounds: list[RangeBound], node: str, quantity: str) -> RangeBound:
    (bound,) = [bound for bound in bounds if bound.node == node and bound.quantity == quantity]
    return bound


# --------------------------------------------------------------------------------------
# Exact bounds
# --------------------------------------------------------------------------------------


def test_accumulator_bound_sums_weights_by_sign():
    weight = np.array([[1.0, -2.0, 0.5], [-1.0, -1.0, 0.0]])
    fxp_graph, report = lowered(feedforward(weight, lif(2)))
    integers = nirmlir.dense.numpy_from_dense(next(op for op in fxp_graph.body.block.ops if op.node_name.data == "fc").weight)
    bound = bound_of(report.ranges, "fc", "accumulator")
    # Spike inputs are 0 or 1, so the sum reaches the positive weights' sum and the negative weights' sum.
    assert bound.high == np.maximum(integers, 0).sum(axis=1).max()
    assert bound.low == np.minimum(integers, 0).sum(axis=1).min()
    assert bound.bits == 32
    assert bound.fits


def test_input_range_scales_accumulator_bound():
    weight = np.array([[1.0, 1.0]])
    _, spikes = lowered(feedforward(weight, lif(1)))
    _, analog = lowered(feedforward(weight, lif(1)), input_min=-3.0, input_max=5.0)
    spike_bound, analog_bound = bound_of(spikes.ranges, "fc", "accumulator"), bound_of(analog.ranges, "fc", "accumulator")
    assert analog_bound.high == 5 * spike_bound.high
    assert analog_bound.low == -3 * spike_bound.high


def test_leaky_integrator_bound_is_steady_state():
    # v ← d·v + x converges to x/(1-d); truncation toward zero adds nothing.
    ones = np.ones(1, dtype=np.float32)
    graph = feedforward(np.array([[1.0]]), nir.LI(tau=ones * 2.5e-3, r=ones, v_leak=ones * 0))
    fxp_graph, report = lowered(graph, state_bits=24)
    li = next(op for op in fxp_graph.body.block.ops if op.node_name.data == "neuron")
    kept = nirmlir.dense.numpy_from_dense(li.voltage_decay)[0] / 4096
    weight = bound_of(report.ranges, "fc", "accumulator").high
    bound = bound_of(report.ranges, "neuron", "voltage")
    assert bound.high == pytest.approx(weight / (1 - kept))
    assert bound.low == 0


def test_spiking_voltage_stays_near_threshold():
    # The input alone would drive the voltage to twice the threshold, so the neuron fires.
    fxp_graph, report = lowered(feedforward(np.array([[1.0]]), lif(1, threshold=0.5)))
    neuron = next(op for op in fxp_graph.body.block.ops if op.node_name.data == "neuron")
    threshold = int(nirmlir.dense.numpy_from_dense(neuron.v_threshold)[0])
    weight = bound_of(report.ranges, "fc", "accumulator").high
    bound = bound_of(report.ranges, "neuron", "voltage")
    # The voltage before the reset is at most a quiet voltage (at the threshold) decayed, plus one input.
    assert threshold < bound.high <= threshold + weight
    assert bound.low == 0


def test_integrate_and_fire_falls_without_bound():
    ones = np.ones(1, dtype=np.float32)
    graph = feedforward(np.array([[-1.0]]), nir.IF(r=ones, v_threshold=ones, v_reset=ones * 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagnosticWarning)
        _, report = lowered(graph, preset="sinabs")
    bound = bound_of(report.ranges, "neuron", "voltage")
    assert bound.low == -math.inf
    assert bound.needed_bits == math.inf
    assert not bound.fits
    assert bound.describe() == "can fall without bound"


def test_needed_bits_of_finite_bounds():
    assert RangeBound("g", "n", "voltage", -128, 127, 8, True).needed_bits == 8
    assert RangeBound("g", "n", "voltage", -129, 0, 8, True).needed_bits == 9
    assert RangeBound("g", "n", "voltage", 0, 128, 8, True).needed_bits == 9
    assert RangeBound("g", "n", "voltage", 0, 0, 8, True).needed_bits == 1


# --------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------


def overflowing_graph() -> nir.NIRGraph:
    """Twelve inputs with weight 1 into one LIF: the weighted sum reaches 12·127 = 1524, past an 8-bit accumulator."""
    return feedforward(np.ones((1, 12)), lif(1))


def test_overflow_without_saturation_is_error():
    with pytest.raises(DiagnosticError) as caught:
        lowered(overflowing_graph(), accumulator_bits=8, saturate=False)
    error = caught.value
    assert error.message == (
        "node 'fc': the accumulator can reach 1,524, which needs 12 bits, but it has 8; "
        "widen accumulator-bits or choose saturate=true"
    )
    assert error.location.node_path == ("main", "fc")
    assert error.op.name == "snn.affine"


def test_overflow_with_saturation_warns_once():
    with pytest.warns(DiagnosticWarning) as caught:
        _, report = lowered(overflowing_graph(), accumulator_bits=8)
    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 1
    assert messages[0].startswith("graph @main: 1 value(s) may exceed their width and saturate: node 'fc' accumulator")
    assert not bound_of(report.ranges, "fc", "accumulator").fits


def test_state_overflow_names_state_bits():
    # The tiny threshold does not coarsen the unit, so one input step adds 127 units, past a 6-bit state.
    graph = feedforward(np.array([[1.0]]), lif(1, threshold=0.001))
    with pytest.raises(DiagnosticError, match=r"node 'neuron': the voltage can reach [0-9,]+, which needs \d+ bits, but it has 6; widen state-bits"):
        lowered(graph, state_bits=6, saturate=False)


def test_unbounded_state_without_saturation_is_error():
    ones = np.ones(1, dtype=np.float32)
    graph = feedforward(np.array([[-1.0]]), nir.IF(r=ones, v_threshold=ones, v_reset=ones * 0))
    with pytest.raises(DiagnosticError) as caught:
        lowered(graph, preset="sinabs", saturate=False)
    assert caught.value.message == (
        "node 'neuron': the voltage can fall without bound, but it has 16 bits; choose saturate=true, "
        "or give the neurons a leak or inputs of both signs"
    )


def test_fitting_graph_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, report = lowered(feedforward(np.array([[1.0, -0.5]]), lif(1)), saturate=False)
    assert all(bound.fits for bound in report.ranges)


# --------------------------------------------------------------------------------------
# Simulation stays within the bounds
# --------------------------------------------------------------------------------------


def recurrent_cuba(seed: int) -> nir.NIRGraph:
    """Input(6) -> fc -> CubaLIF(5) with a recurrent affine, -> fc2 -> LIF(3): the shape of the braille networks."""
    rng = np.random.default_rng(seed)
    ones5, ones3 = np.ones(5, dtype=np.float32), np.ones(3, dtype=np.float32)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([6])}),
        "fc": nir.Affine(weight=rng.normal(size=(5, 6)).astype(np.float32), bias=rng.normal(scale=0.1, size=5).astype(np.float32)),
        "cuba": nir.CubaLIF(
            tau_syn=ones5 * 5e-4, tau_mem=ones5 * 2e-3, r=ones5 * 20, v_leak=ones5 * 0.1, v_threshold=ones5,
            v_reset=ones5 * 0, w_in=ones5 * 5,
        ),
        "rec": nir.Affine(weight=rng.normal(size=(5, 5)).astype(np.float32), bias=np.zeros(5, dtype=np.float32)),
        "fc2": nir.Linear(weight=rng.normal(size=(3, 5)).astype(np.float32)),
        "lif": nir.LIF(tau=ones3 * 1e-3, r=ones3 * 10, v_leak=ones3 * 0, v_threshold=ones3, v_reset=ones3 * 0),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }
    edges = [("input", "fc"), ("fc", "cuba"), ("cuba", "rec"), ("rec", "cuba"), ("cuba", "fc2"), ("fc2", "lif"), ("lif", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


@pytest.mark.parametrize(
    ("preset", "overrides"),
    [
        ("norse", {}),
        ("snntorch", {"reset": "subtract"}),
        ("sinabs", {"max_spikes_per_step": 3}),
        ("spyx", {}),
        ("lava", {}),
    ],
)
@pytest.mark.parametrize("options", [{}, {"rounding": "floor"}, {"rounding": "nearest", "decay_kind": "shift"}, {"state_scale": "range"}])
def test_simulation_stays_within_bounds(preset, overrides, options):
    module = nirmlir.load(recurrent_cuba(seed=3))
    discretize_module(module, resolve_preset(preset, **overrides), DT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagnosticWarning)
        report = quantize_module(module, QuantizeOptions(**options))
    (fxp_graph,) = list(module.ops)
    program = compile_graph(fxp_graph)
    rng = np.random.default_rng(0)
    inputs = (rng.random((4, 400, 6)) < 0.3).astype(np.int64)
    traces = program.run({"input": inputs}, ["fc", "rec", "fc2", "cuba", "lif"], integers=True)

    checked = 0
    for bound in report.ranges:
        key = {"accumulator": "value_int", "result": "value_int", "voltage": "v_int", "current": "i_int"}[bound.quantity]
        if bound.node not in traces or key not in traces[bound.node]:
            continue
        values = traces[bound.node][key]
        assert values.min() >= bound.low, (bound, values.min())
        assert values.max() <= bound.high, (bound, values.max())
        checked += 1
    assert checked >= 5


def test_corpus_bounds_are_reported(corpus_dir):
    module = nirmlir.load(corpus_dir / "neuromorphs-NIR__braille_noDelay_bias_zero.nir")
    discretize_module(module, resolve_preset("snntorch"), DT)
    report = quantize_module(module, QuantizeOptions())
    quantities = {(bound.node, bound.quantity) for bound in report.ranges}
    assert ("fc1", "accumulator") in quantities
    assert ("lif1.lif", "voltage") in quantities
    assert ("lif1.lif", "current") in quantities
    assert ("lif2", "voltage") in quantities
    assert analyze_ranges(list(module.ops)[0]) == report.ranges
