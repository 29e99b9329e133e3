"""The simulator engine op by op: hand-computed values, batches, recurrence and bit-exact fixed point."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, IntegerType, ModuleOp, StringAttr, TensorType, f32, f64, i1, i64
from xdsl.ir import Block, Region

import nirmlir
from nirmlir import api
from nirmlir.dense import dense_from_numpy, i64_array
from nirmlir.diagnostics import DiagnosticError
from nirmlir.dialects import fxp, snn
from nirmlir.dialects import nir as nir_dialect
from nirmlir.verification import verify_module

# --------------------------------------------------------------------------------------
# Building snn and fxp graphs
# --------------------------------------------------------------------------------------


def to_property(value):
    if isinstance(value, bool):
        return IntegerAttr(int(value), i1)
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, int):
        return IntegerAttr(value, i64)
    if isinstance(value, float):
        return FloatAttr(value, f64)
    if isinstance(value, tuple):
        return i64_array(value)
    array = np.asarray(value)
    return dense_from_numpy(array if array.dtype.kind in "iu" else array.astype(np.float64))


class GraphBuilder:
    """Build an snn or fxp graph op by op; operands of delayed ops may be connected later."""

    def __init__(self, dialect, dt: float = 1.0):
        self.dialect = dialect
        self.dt = dt
        self.ops = []

    def node(self, op_class, name, operands=(), shape=None, element=f32, **properties):
        props = {key: to_property(value) for key, value in properties.items()}
        props["node_name"] = StringAttr(name)
        results = [TensorType(element, shape)] if shape is not None else []
        op = op_class.create(operands=[operand.results[0] for operand in operands], result_types=results, properties=props)
        self.ops.append(op)
        return op

    def module(self) -> ModuleOp:
        graph = self.dialect.GraphOp.create(
            properties={"sym_name": StringAttr("main"), "dt": FloatAttr(self.dt, f64)},
            regions=[Region(Block(self.ops))],
        )
        module = ModuleOp([graph])
        verify_module(module)
        return module


def connect(op, *sources) -> None:
    op.operands = [source.results[0] for source in sources]


def run_snn(build, inputs, record, **options):
    """Build a one-input snn graph with `build(builder, input_op)` and simulate it."""
    builder = GraphBuilder(snn)
    source = builder.node(snn.InputOp, "input", shape=np.shape(inputs)[1:])
    build(builder, source)
    return nirmlir.simulate(builder.module(), np.asarray(inputs, dtype=np.float64), record=record, **options)


def lif_properties(n, decay=0.5, gain=1.0, leak=0.0, threshold=1.0, reset_value=0.0, spike_test="gt",
                   spike_timing="after_update", reset="to_reset_value", max_spikes=1, integrator="forward_euler"):
    return dict(
        voltage_decay=np.full(n, decay),
        voltage_gain=np.full(n, gain),
        leak=np.full(n, leak),
        v_threshold=np.full(n, threshold),
        v_reset=np.full(n, reset_value),
        spike_test=spike_test,
        spike_timing=spike_timing,
        reset=reset,
        max_spikes_per_step=max_spikes,
        integrator=integrator,
    )


# --------------------------------------------------------------------------------------
# Memoryless snn ops
# --------------------------------------------------------------------------------------


def test_affine_hand_value():
    def build(b, source):
        affine = b.node(snn.AffineOp, "affine", [source], (2,), weight=[[1.0, 2.0], [3.0, 4.0]], bias=[0.5, -1.0])
        b.node(snn.OutputOp, "output", [affine])

    traces = run_snn(build, [[1.0, 2.0]], ["affine"])
    np.testing.assert_array_equal(traces["affine"]["value"], [[5.5, 10.0]])


def test_affine_with_leading_weight_axes():
    weight = np.arange(12.0).reshape(2, 3, 2)

    def build(b, source):
        affine = b.node(snn.AffineOp, "affine", [source], (2, 3), weight=weight)
        b.node(snn.OutputOp, "output", [affine])

    x = np.array([[[1.0, -1.0], [2.0, 0.5]]])
    traces = run_snn(build, x, ["affine"])
    expected = [[weight[0] @ x[0, 0], weight[1] @ x[0, 1]]]
    np.testing.assert_array_equal(traces["affine"]["value"], expected)


def test_output_sums_edges():
    def build(b, source):
        scale = b.node(snn.ScaleOp, "scale", [source], (2,), scale=[2.0, 0.5])
        b.node(snn.OutputOp, "output", [scale, source])

    traces = run_snn(build, [[3.0, 4.0]], None)
    np.testing.assert_array_equal(traces["output"]["value"], [[9.0, 6.0]])


def test_conv1d_stride_and_padding():
    def build(b, source):
        conv = b.node(snn.Conv1dOp, "conv", [source], (1, 2), weight=[[[1.0, 0.0, -1.0]]], bias=[0.25],
                      stride=(2,), padding=(1,), dilation=(1,), groups=1)
        b.node(snn.OutputOp, "output", [conv])

    # Padded input [0, 1, 2, 3, 4, 0]: windows at 0 and 2 give 0 - 2 and 2 - 4.
    traces = run_snn(build, [[[1.0, 2.0, 3.0, 4.0]]], ["conv"])
    np.testing.assert_array_equal(traces["conv"]["value"], [[[-1.75, -1.75]]])


def reference_conv2d(x, weight, bias, stride, padding, dilation, groups):
    """Cross-correlation by explicit loops over every output element."""
    out_channels, group_channels, kh, kw = weight.shape
    padded = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2))
    height = (x.shape[1] + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    width = (x.shape[2] + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((out_channels, height, width))
    per_group = out_channels // groups
    for o in range(out_channels):
        first = (o // per_group) * group_channels
        for i in range(height):
            for j in range(width):
                total = bias[o]
                for c in range(group_channels):
                    for a in range(kh):
                        for b in range(kw):
                            total += weight[o, c, a, b] * padded[first + c, i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]]
                y[o, i, j] = total
    return y


def test_conv2d_groups_dilation_stride():
    rng = np.random.default_rng(3)
    weight, bias = rng.normal(size=(4, 2, 3, 2)), rng.normal(size=4)
    x = rng.normal(size=(2, 4, 7, 6))
    expected_first = reference_conv2d(x[0], weight, bias, (1, 2), (1, 0), (2, 1), 2)

    def build(b, source):
        conv = b.node(snn.Conv2dOp, "conv", [source], expected_first.shape, weight=weight, bias=bias,
                      stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=2)
        b.node(snn.OutputOp, "output", [conv])

    traces = run_snn(build, x, ["conv"])
    np.testing.assert_allclose(traces["conv"]["value"][0], expected_first, rtol=1e-12, atol=1e-12)
    expected_second = reference_conv2d(x[1], weight, bias, (1, 2), (1, 0), (2, 1), 2)
    np.testing.assert_allclose(traces["conv"]["value"][1], expected_second, rtol=1e-12, atol=1e-12)


def test_sum_and_avg_pool():
    def build(b, source):
        total = b.node(snn.SumPool2dOp, "sum", [source], (1, 2, 2), kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
        mean = b.node(snn.AvgPool2dOp, "avg", [source], (1, 2, 2), kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
        b.node(snn.OutputOp, "output", [total, mean])

    traces = run_snn(build, np.arange(16.0).reshape(1, 1, 4, 4), ["sum", "avg"])
    np.testing.assert_array_equal(traces["sum"]["value"], [[[[10.0, 18.0], [42.0, 50.0]]]])
    np.testing.assert_array_equal(traces["avg"]["value"], [[[[2.5, 4.5], [10.5, 12.5]]]])


def test_pool_padding_counts_zeros():
    def build(b, source):
        pool = b.node(snn.AvgPool2dOp, "avg", [source], (1, 2, 2), kernel_size=(2, 2), stride=(2, 2), padding=(1, 1))
        b.node(snn.OutputOp, "output", [pool])

    # Windows of the padded 5x5 input: {0}, {1, 2}, {3, 6}, {4, 5, 7, 8}, each divided by 4.
    traces = run_snn(build, np.arange(9.0).reshape(1, 1, 3, 3), ["avg"])
    np.testing.assert_array_equal(traces["avg"]["value"], [[[[0.0, 0.75], [2.25, 6.0]]]])


CONVOLUTION_CASES = [
    # input shape, weight shape, stride, padding, dilation, groups
    ((3, 2, 9, 8), (4, 2, 3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((2, 4, 7, 6), (4, 2, 3, 2), (1, 2), (1, 0), (2, 1), 2),
    ((2, 2, 34, 34), (16, 2, 5, 5), (2, 2), (1, 1), (1, 1), 1),
    ((2, 3, 11), (5, 3, 3), (2,), (1,), (1,), 1),
]


@pytest.mark.parametrize(("shape", "weight_shape", "stride", "padding", "dilation", "groups"), CONVOLUTION_CASES)
def test_convolution_buffers_match_one_shot(shape, weight_shape, stride, padding, dilation, groups):
    from nirmlir.simulator import numerics

    rng = np.random.default_rng(13)
    weight, bias = rng.normal(size=weight_shape), rng.normal(size=weight_shape[0])
    bias_axes = (-1,) + (1,) * (len(shape) - 2)
    convolution = numerics.Convolution(weight, stride, padding, dilation, groups, bias)
    # The second and third calls reuse the buffers; the fourth has another batch size.
    for x in (rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=(1, *shape[1:]))):
        expected = numerics.convolution(x, weight, stride, padding, dilation, groups) + bias.reshape(bias_axes)
        np.testing.assert_array_equal(convolution(x), expected)

    integer_weight = rng.integers(-128, 128, size=weight_shape)
    integer_convolution = numerics.Convolution(integer_weight, stride, padding, dilation, groups)
    x = rng.integers(-(1 << 20), 1 << 20, size=shape)
    result = integer_convolution(x)
    assert result.dtype == np.int64
    np.testing.assert_array_equal(result, numerics.convolution(x, integer_weight, stride, padding, dilation, groups))


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding"),
    [((2, 3, 8, 8), (2, 2), (2, 2), (0, 0)), ((2, 3, 7, 9), (3, 2), (2, 1), (1, 0)), ((1, 2, 5, 5), (5, 5), (1, 1), (2, 2)),
     ((1, 1, 6, 6), (1, 1), (3, 3), (0, 0))],
)
def test_sum_pool_matches_window_sums(shape, kernel, stride, padding):
    from numpy.lib.stride_tricks import sliding_window_view

    from nirmlir.simulator import numerics

    x = np.random.default_rng(14).integers(-9, 10, size=shape)
    padded = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    windows = sliding_window_view(padded, kernel, axis=(2, 3))[:, :, :: stride[0], :: stride[1]]
    np.testing.assert_array_equal(numerics.sum_pool(x, kernel, stride, padding), windows.sum(axis=(-2, -1)))


def test_flatten_row_major():
    def build(b, source):
        flat = b.node(snn.FlattenOp, "flat", [source], (6,), start_dim=0, end_dim=-1)
        b.node(snn.OutputOp, "output", [flat])

    traces = run_snn(build, np.arange(6.0).reshape(1, 2, 3), ["flat"])
    np.testing.assert_array_equal(traces["flat"]["value"], [[0, 1, 2, 3, 4, 5]])


@pytest.mark.parametrize(("spike_test", "expected"), [("gt", [0, 0, 1]), ("ge", [0, 1, 1])])
def test_threshold_at_equality(spike_test, expected):
    def build(b, source):
        threshold = b.node(snn.ThresholdOp, "threshold", [source], (3,), threshold=[1.0, 1.0, 1.0], spike_test=spike_test)
        b.node(snn.OutputOp, "output", [threshold])

    traces = run_snn(build, [[0.5, 1.0, 1.5]], ["threshold"])
    np.testing.assert_array_equal(traces["threshold"]["spikes"], [expected])
    np.testing.assert_array_equal(traces["output"]["spikes"], [expected])


def test_delay_per_element():
    def build(b, source):
        delay = b.node(snn.DelayOp, "delay", [source], (3,), steps=np.array([0, 1, 2], dtype=np.int64))
        b.node(snn.OutputOp, "output", [delay])

    x = np.repeat(np.arange(1.0, 6.0)[:, None], 3, axis=1)
    traces = run_snn(build, x, ["delay"])
    expected = [[1, 0, 0], [2, 1, 0], [3, 2, 1], [4, 3, 2], [5, 4, 3]]
    np.testing.assert_array_equal(traces["delay"]["value"], expected)


def test_step_delay_two_steps():
    def build(b, source):
        delay = b.node(snn.StepDelayOp, "delay", [source], (1,), steps=2)
        b.node(snn.OutputOp, "output", [delay])

    traces = run_snn(build, [[1.0], [2.0], [3.0], [4.0]], None)
    np.testing.assert_array_equal(traces["output"]["value"][:, 0], [0, 0, 1, 2])


# --------------------------------------------------------------------------------------
# snn neurons
# --------------------------------------------------------------------------------------

LIF_CASES = [
    # spike test, timing, reset, max spikes, inputs, voltages, spikes (decay 0.5, gain 1, θ 1, v_reset 0.25)
    ("gt", "after_update", "to_reset_value", 1, [0.5, 0.75, 1.0, 0.25], [0.5, 1.0, 0.25, 0.375], [0, 0, 1, 0]),
    ("ge", "after_update", "to_reset_value", 1, [0.5, 0.75, 1.0, 0.25], [0.5, 0.25, 0.25, 0.375], [0, 1, 1, 0]),
    ("gt", "after_update", "subtract", 1, [0.5, 0.75, 1.0, 0.25], [0.5, 1.0, 0.5, 0.5], [0, 0, 1, 0]),
    ("gt", "after_update", "none", 1, [0.5, 0.75, 1.0, 0.25], [0.5, 1.0, 1.5, 1.0], [0, 0, 1, 0]),
    ("gt", "before_update", "subtract", 1, [0.5, 0.75, 1.0, 0.25], [0.5, 1.0, 1.5, 0.0], [0, 0, 0, 1]),
    ("gt", "before_update", "to_reset_value", 1, [0.5, 0.75, 1.0, 0.25], [0.5, 1.0, 1.5, 0.25], [0, 0, 0, 1]),
    ("ge", "after_update", "subtract", 3, [3.5, 0.0, 0.5], [0.5, 0.25, 0.625], [3, 0, 0]),
    ("gt", "after_update", "subtract", 2, [3.0, 0.0], [1.0, 0.5], [2, 0]),
    ("ge", "after_update", "subtract", 2, [5.0], [3.0], [2]),
]


@pytest.mark.parametrize(("spike_test", "timing", "reset", "max_spikes", "inputs", "voltages", "spikes"), LIF_CASES)
def test_lif_spike_and_reset_rules(spike_test, timing, reset, max_spikes, inputs, voltages, spikes):
    def build(b, source):
        properties = lif_properties(1, reset_value=0.25, spike_test=spike_test, spike_timing=timing, reset=reset,
                                    max_spikes=max_spikes)
        lif = b.node(snn.LIFOp, "lif", [source], (1,), **properties)
        b.node(snn.OutputOp, "output", [lif])

    traces = run_snn(build, np.array(inputs)[:, None], ["lif"])
    np.testing.assert_array_equal(traces["lif"]["v"][:, 0], voltages)
    np.testing.assert_array_equal(traces["lif"]["spikes"][:, 0], spikes)


def test_li_gain_and_leak():
    def build(b, source):
        li = b.node(snn.LIOp, "li", [source], (1,), voltage_decay=[0.5], voltage_gain=[2.0], leak=[0.25], integrator="forward_euler")
        b.node(snn.OutputOp, "output", [li])

    traces = run_snn(build, [[1.0], [0.0]], ["li"])
    np.testing.assert_array_equal(traces["li"]["v"][:, 0], [2.25, 1.375])
    np.testing.assert_array_equal(traces["output"]["value"][:, 0], [2.25, 1.375])


def test_integrator_accumulates():
    def build(b, source):
        integrator = b.node(snn.IntegratorOp, "i", [source], (1,), voltage_gain=[2.0], integrator="forward_euler")
        b.node(snn.OutputOp, "output", [integrator])

    traces = run_snn(build, [[1.0], [0.5], [-1.0]], ["i"])
    np.testing.assert_array_equal(traces["i"]["v"][:, 0], [2.0, 3.0, 1.0])


CUBA_CASES = [
    # current timing, currents, voltages (current decay 0.5, gain 1; voltage decay 0.5, gain 1)
    ("same_step", [1.0, 1.5, 0.75], [1.0, 2.0, 1.75]),
    ("previous_step", [1.0, 1.5, 0.75], [0.0, 1.0, 2.0]),
]


@pytest.mark.parametrize(("timing", "currents", "voltages"), CUBA_CASES)
def test_cuba_lif_current_timing(timing, currents, voltages):
    def build(b, source):
        properties = lif_properties(1, threshold=10.0)
        properties.update(current_decay=[0.5], current_gain=[1.0], current_timing=timing)
        lif = b.node(snn.CubaLIFOp, "lif", [source], (1,), **properties)
        b.node(snn.OutputOp, "output", [lif])

    traces = run_snn(build, [[1.0], [1.0], [0.0]], ["lif"])
    np.testing.assert_array_equal(traces["lif"]["i"][:, 0], currents)
    np.testing.assert_array_equal(traces["lif"]["v"][:, 0], voltages)
    assert traces["lif"]["spikes"].sum() == 0


@pytest.mark.parametrize(("timing", "currents", "voltages"), CUBA_CASES)
def test_cuba_li_current_timing(timing, currents, voltages):
    def build(b, source):
        li = b.node(snn.CubaLIOp, "li", [source], (1,), current_decay=[0.5], current_gain=[1.0], voltage_decay=[0.5],
                    voltage_gain=[1.0], leak=[0.0], current_timing=timing, integrator="forward_euler")
        b.node(snn.OutputOp, "output", [li])

    traces = run_snn(build, [[1.0], [1.0], [0.0]], ["li"])
    np.testing.assert_array_equal(traces["li"]["i"][:, 0], currents)
    np.testing.assert_array_equal(traces["li"]["v"][:, 0], voltages)


def test_cuba_lif_spike_keeps_current():
    def build(b, source):
        properties = lif_properties(1, decay=0.0, threshold=1.0)
        properties.update(current_decay=[0.5], current_gain=[1.0], current_timing="same_step")
        lif = b.node(snn.CubaLIFOp, "lif", [source], (1,), **properties)
        b.node(snn.OutputOp, "output", [lif])

    traces = run_snn(build, [[2.0], [0.0]], ["lif"])
    np.testing.assert_array_equal(traces["lif"]["spikes"][:, 0], [1, 0])
    np.testing.assert_array_equal(traces["lif"]["i"][:, 0], [2.0, 1.0])


def test_event_exact_spikes_inside_step():
    # v relaxes toward v∞ = x = 1.5 with d = 0.5 per step: v(s) = 1.5 + (v0 - 1.5)·0.5^s.
    def build(b, source):
        properties = lif_properties(1, decay=0.5, gain=0.5, integrator="event_exact")
        lif = b.node(snn.LIFOp, "lif", [source], (1,), **properties)
        b.node(snn.OutputOp, "output", [lif])

    traces = run_snn(build, [[1.5], [1.5]], ["lif"])
    # Step 0 ends at 0.75 without reaching 1 (the crossing would be at s = log2(3) > 1).
    # Step 1 reaches 1 at s = log2(1.5), resets to 0 and relaxes for the rest of the step.
    rest = 1.0 - math.log2(1.5)
    np.testing.assert_array_equal(traces["lif"]["spikes"][:, 0], [0, 1])
    np.testing.assert_allclose(traces["lif"]["v"][:, 0], [0.75, 1.5 * (1.0 - 0.5**rest)], rtol=1e-12)


def test_event_exact_if_neuron():
    # Decay 1: v grows by 0.3 per step, crosses 1 a third into step 3, then grows by 0.2 more.
    def build(b, source):
        properties = lif_properties(1, decay=1.0, gain=0.25, integrator="event_exact")
        lif = b.node(snn.LIFOp, "lif", [source], (1,), **properties)
        b.node(snn.OutputOp, "output", [lif])

    traces = run_snn(build, np.full((4, 1), 1.2), ["lif"])
    np.testing.assert_array_equal(traces["lif"]["spikes"][:, 0], [0, 0, 0, 1])
    np.testing.assert_allclose(traces["lif"]["v"][:, 0], [0.3, 0.6, 0.9, 0.2], rtol=1e-12)


def test_event_exact_caps_spikes_per_step():
    # v∞ = 10 with a reset to 0: the neuron would fire several times per step; two are allowed.
    def build(b, source):
        properties = lif_properties(1, decay=0.5, gain=0.5, integrator="event_exact", max_spikes=2)
        lif = b.node(snn.LIFOp, "lif", [source], (1,), **properties)
        b.node(snn.OutputOp, "output", [lif])

    traces = run_snn(build, [[10.0]], ["lif"])
    crossing = math.log2(10.0 / 9.0)
    assert traces["lif"]["spikes"][0, 0] == 2
    np.testing.assert_allclose(traces["lif"]["v"][0, 0], 10.0 * (1.0 - 0.5 ** (1.0 - 2 * crossing)), rtol=1e-12)


# --------------------------------------------------------------------------------------
# Batches, records and recurrence
# --------------------------------------------------------------------------------------


def small_network() -> ModuleOp:
    rng = np.random.default_rng(5)
    b = GraphBuilder(snn)
    source = b.node(snn.InputOp, "input", shape=(3,))
    affine = b.node(snn.AffineOp, "affine", [source], (4,), weight=rng.normal(size=(4, 3)), bias=rng.normal(size=4) * 0.1)
    lif = b.node(snn.LIFOp, "lif", [affine], (4,), **lif_properties(4, decay=0.9, gain=0.3, threshold=0.5))
    b.node(snn.OutputOp, "output", [lif])
    return b.module()


def test_batch_matches_single_runs():
    x = np.random.default_rng(0).random((3, 20, 3))
    batched = nirmlir.simulate(small_network(), x, record=["lif"])
    assert batched["lif"]["v"].shape == (3, 20, 4)
    for sample in range(3):
        single = nirmlir.simulate(small_network(), x[sample], record=["lif"])
        assert single["lif"]["v"].shape == (20, 4)
        # BLAS may sum the matrix product in another order for another batch size, so the last bit can differ.
        np.testing.assert_allclose(batched["lif"]["v"][sample], single["lif"]["v"], rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(batched["lif"]["spikes"][sample], single["lif"]["spikes"])


def test_lif_per_neuron_coefficients():
    # Coefficients that differ per neuron take the array path; uniform ones a scalar path.
    decay, gain, leak = np.array([0.5, 1.0, 0.9]), np.array([1.0, 0.5, 2.0]), np.array([0.0, 0.125, -0.25])
    threshold, reset_value = np.array([1.0, 0.75, 2.0]), np.array([0.0, 0.25, -0.5])

    def build(b, source):
        properties = lif_properties(3, spike_test="ge")
        properties.update(voltage_decay=decay, voltage_gain=gain, leak=leak, v_threshold=threshold, v_reset=reset_value)
        lif = b.node(snn.LIFOp, "lif", [source], (3,), **properties)
        b.node(snn.OutputOp, "output", [lif])

    x = np.random.default_rng(15).random((40, 3)) * 1.5
    traces = run_snn(build, x, ["lif"])
    v = np.zeros(3)
    for step, row in enumerate(x):
        updated = decay * v + gain * row + leak
        fired = updated >= threshold
        v = np.where(fired, reset_value, updated)
        np.testing.assert_array_equal(traces["lif"]["v"][step], v)
        np.testing.assert_array_equal(traces["lif"]["spikes"][step], fired.astype(int))
    assert traces["lif"]["spikes"].sum() > 0


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, np.bool_])
def test_input_dtypes_match_float64(dtype):
    x = (np.random.default_rng(16).random((2, 20, 3)) < 0.5).astype(dtype)
    expected = nirmlir.simulate(small_network(), x.astype(np.float64), record=["lif", "input"])
    traces = nirmlir.simulate(small_network(), x, record=["lif", "input"])
    assert traces["input"]["value"].dtype == np.float64
    for node in ("lif", "input"):
        for key, array in expected[node].items():
            np.testing.assert_array_equal(traces[node][key], array, err_msg=f"{node}/{key}")


def test_record_single_key_and_outputs():
    traces = nirmlir.simulate(small_network(), np.ones((5, 3)), record=["lif/v"])
    assert set(traces) == {"output", "lif"}
    assert set(traces["lif"]) == {"v"}
    assert set(traces["output"]) == {"value", "spikes"}


def test_unknown_record_is_diagnostic():
    with pytest.raises(DiagnosticError, match="has no node 'nope'; its nodes are 'input', 'affine', 'lif', 'output'"):
        nirmlir.simulate(small_network(), np.ones((5, 3)), record=["nope"])
    with pytest.raises(DiagnosticError, match="node 'lif' has no trace 'i'; it records v, spikes"):
        nirmlir.simulate(small_network(), np.ones((5, 3)), record=["lif/i"])


def test_wrong_input_shape_is_diagnostic():
    with pytest.raises(DiagnosticError, match=r"have shape \[5, 2\]; expected \(T, 3\) or \(B, T, 3\)"):
        nirmlir.simulate(small_network(), np.ones((5, 2)))


def test_recurrent_pair_matches_unrolled_loop():
    weight_in = np.array([[1.0, 0.0], [0.0, 1.0]])
    weight_rec = np.array([[0.0, 0.8], [0.6, 0.0]])
    decay, gain, threshold = 0.8, 0.5, 1.0

    b = GraphBuilder(snn)
    source = b.node(snn.InputOp, "input", shape=(2,))
    affine = b.node(snn.AffineOp, "in", [source], (2,), weight=weight_in)
    lif = b.node(snn.LIFOp, "lif", [], (2,), **lif_properties(2, decay=decay, gain=gain, threshold=threshold))
    recurrent = b.node(snn.AffineOp, "rec", [lif], (2,), weight=weight_rec)
    delay = b.node(snn.StepDelayOp, "rec->lif", [recurrent], (2,), steps=1)
    connect(lif, affine, delay)
    b.node(snn.OutputOp, "output", [lif])

    x = np.random.default_rng(1).random((40, 2)) * 1.5
    traces = nirmlir.simulate(b.module(), x, record=["lif"])

    # The same network unrolled by hand: the recurrent input of step t is W_rec z[t-1].
    v = [0.0, 0.0]
    spikes_before = [0.0, 0.0]
    voltages, spikes = [], []
    for step in range(len(x)):
        feedback = [sum(weight_rec[n][m] * spikes_before[m] for m in range(2)) for n in range(2)]
        drive = [sum(weight_in[n][m] * x[step][m] for m in range(2)) + feedback[n] for n in range(2)]
        updated = [decay * v[n] + gain * drive[n] for n in range(2)]
        fired = [1.0 if updated[n] > threshold else 0.0 for n in range(2)]
        v = [0.0 if fired[n] else updated[n] for n in range(2)]
        spikes_before = fired
        voltages.append(v)
        spikes.append(fired)
    np.testing.assert_array_equal(traces["lif"]["spikes"], spikes)
    np.testing.assert_allclose(traces["lif"]["v"], voltages, rtol=1e-12, atol=1e-15)
    assert np.asarray(spikes).sum() > 5


def test_nir_cycle_discretizes_and_runs():
    # A nir-level graph with a self loop runs through discretize, whose back edge gets one step.
    text = """
    nir.graph @main {
      %input = nir.input "input" : tensor<1xf32>
      %lif = nir.lif "lif"(%input, %rec) {tau = dense<[1.0]> : tensor<1xf32>, r = dense<[1.0]> : tensor<1xf32>, v_leak = dense<[0.0]> : tensor<1xf32>, v_threshold = dense<[0.5]> : tensor<1xf32>, v_reset = dense<[0.0]> : tensor<1xf32>} : tensor<1xf32>
      %rec = nir.linear "rec"(%lif) {weight = dense<[[0.25]]> : tensor<1x1xf32>} : tensor<1xf32>
      nir.output "output"(%lif) : tensor<1xf32>
    }
    """
    from nirmlir.context import make_context
    from nirmlir.parser import parse_module

    module = parse_module(text, make_context(), "cycle.mlir")
    traces = nirmlir.simulate(module, np.full((4, 1), 6.0), preset="norse", dt=0.25, record=["lif"])
    # Euler with dt/τ = 0.25: u = 0.75·v + 0.25·(x + 0.25·z[t-1]).
    v, before, expected = 0.0, 0.0, []
    for _ in range(4):
        updated = 0.75 * v + 0.25 * (6.0 + 0.25 * before)
        before = 1.0 if updated > 0.5 else 0.0
        v = 0.0 if before else updated
        expected.append(v)
    np.testing.assert_allclose(traces["lif"]["v"][:, 0], expected, rtol=1e-6)


def test_nir_model_needs_preset():
    text = """
    nir.graph @main {
      %input = nir.input "input" : tensor<1xf32>
      nir.output "output"(%input) : tensor<1xf32>
    }
    """
    from nirmlir.context import make_context
    from nirmlir.parser import parse_module

    module = parse_module(text, make_context(), "plain.mlir")
    with pytest.raises(DiagnosticError, match="needs a discretization preset; choose one of norse"):
        nirmlir.simulate(module, np.ones((2, 1)), dt=1e-3)


# --------------------------------------------------------------------------------------
# fxp: an independent integer model with Python integers
# --------------------------------------------------------------------------------------


def int_round(value: int, shift: int, rounding: str, draw: int | None = None) -> int:
    """R_s with Python integers: divmod gives the floor and a remainder in [0, 2^s)."""
    if shift == 0:
        return value
    quotient, remainder = divmod(value, 1 << shift)
    if rounding == "floor":
        return quotient
    if rounding == "nearest":
        return quotient + (1 if 2 * remainder >= (1 << shift) else 0)
    if rounding == "toward_zero":
        return quotient + (1 if value < 0 and remainder else 0)
    assert draw is not None
    return quotient + (1 if draw < remainder else 0)


def int_width(value: int, bits: int, saturate: bool) -> int:
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if saturate:
        return min(max(value, low), high)
    return (value - low) % (1 << bits) + low


def int_decay(state: int, factor: int, kind: str, min_step: int, rounding: str) -> int:
    if kind == "kept_fraction_q12":
        decayed = int_round(factor * state, 12, rounding)
    elif kind == "lost_fraction_q12":
        decayed = state - int_round(factor * state, 12, rounding)
    else:
        decayed = state - int_round(state, factor, rounding)
    if state != 0 and abs(state - decayed) < min_step:
        step = min(min_step, abs(state))
        decayed = state - step if state > 0 else state + step
    return decayed


def fxp_lif_network(decays, kind, rounding, saturate, min_step=0, reset="subtract", spike_test="gt", max_spikes=1,
                    spike_timing="after_update"):
    """input (i8) -> affine (i16) -> lif (12-bit voltage) -> output."""
    weight = np.array([[3, -2, 1], [-1, 4, 2]], dtype=np.int8)
    b = GraphBuilder(fxp)
    source = b.node(fxp.InputOp, "input", shape=(3,), element=IntegerType(8), scale=1.0)
    affine = b.node(fxp.AffineOp, "affine", [source], (2,), element=IntegerType(16), weight=weight, weight_bits=8,
                    weight_scale=np.array(0.01), input_scale=1.0, folded_gain=np.array(1.0),
                    bias=np.array([5, -7], dtype=np.int16), saturate=saturate)
    lif = b.node(fxp.LIFOp, "lif", [affine], (2,), element=IntegerType(8),
                 voltage_decay=np.array(decays, dtype=np.int16), leak=np.array([3, -2], dtype=np.int16),
                 v_threshold=np.array([600, 900], dtype=np.int16), v_reset=np.array([0, 10], dtype=np.int16),
                 spike_test=spike_test, spike_timing=spike_timing, reset=reset, max_spikes_per_step=max_spikes,
                 decay_kind=kind, decay_min_step=min_step, rounding=rounding, voltage_scale=np.array(0.01),
                 voltage_bits=12, voltage_saturate=saturate)
    b.node(fxp.OutputOp, "output", [lif], scale=np.array(1.0))
    return b.module(), weight


def reference_fxp_lif(x, weight, decays, kind, rounding, saturate, min_step=0, reset="subtract", spike_test="gt",
                      max_spikes=1, spike_timing="after_update"):
    """The network of fxp_lif_network, one neuron and one step at a time with Python integers."""
    bias, leak, threshold, reset_value = [5, -7], [3, -2], [600, 900], [0, 10]
    v = [0, 0]
    voltages, spikes = [], []
    for row in x.tolist():
        step_v, step_z = [], []
        for n in range(2):
            accumulated = int_width(sum(int(weight[n][i]) * row[i] for i in range(3)) + bias[n], 16, saturate)
            updated = int_width(int_decay(v[n], decays[n], kind, min_step, rounding) + accumulated + leak[n], 12, saturate)
            tested = v[n] if spike_timing == "before_update" else updated
            count = 0
            while count < max_spikes and (
                tested - count * threshold[n] >= threshold[n] if spike_test == "ge" else tested - count * threshold[n] > threshold[n]
            ):
                count += 1
            if reset == "subtract":
                new = int_width(updated - count * threshold[n], 12, saturate)
            elif reset == "to_reset_value":
                new = reset_value[n] if count else updated
            else:
                new = updated
            step_v.append(new)
            step_z.append(count)
        v = step_v
        voltages.append(step_v)
        spikes.append(step_z)
    return np.array(voltages), np.array(spikes)


DECAY_CASES = [("kept_fraction_q12", [3900, 2048]), ("lost_fraction_q12", [196, 1000]), ("shift", [3, 1])]


@pytest.mark.parametrize("saturate", [True, False])
@pytest.mark.parametrize("rounding", ["nearest", "toward_zero", "floor"])
@pytest.mark.parametrize(("kind", "decays"), DECAY_CASES)
def test_fxp_lif_bit_exact(kind, decays, rounding, saturate):
    x = np.random.default_rng(7).integers(-128, 128, size=(60, 3), dtype=np.int64)
    module, weight = fxp_lif_network(decays, kind, rounding, saturate)
    traces = nirmlir.simulate(module, x, record=["lif", "affine"], integers=True)
    voltages, spikes = reference_fxp_lif(x, weight, decays, kind, rounding, saturate)
    np.testing.assert_array_equal(traces["lif"]["v_int"], voltages)
    np.testing.assert_array_equal(traces["lif"]["spikes"], spikes)
    assert spikes.sum() > 0
    # Voltages in NIR units are the integers times voltage_scale.
    np.testing.assert_array_equal(traces["lif"]["v"], voltages * 0.01)


@pytest.mark.parametrize(
    ("reset", "spike_test", "max_spikes", "timing"),
    [("to_reset_value", "ge", 1, "after_update"), ("none", "gt", 1, "after_update"), ("subtract", "ge", 3, "after_update"),
     ("subtract", "gt", 2, "before_update")],
)
def test_fxp_lif_rules_bit_exact(reset, spike_test, max_spikes, timing):
    x = np.random.default_rng(8).integers(-128, 128, size=(60, 3), dtype=np.int64)
    options = dict(reset=reset, spike_test=spike_test, max_spikes=max_spikes, spike_timing=timing)
    module, weight = fxp_lif_network([3900, 2048], "kept_fraction_q12", "floor", True, min_step=1, **options)
    traces = nirmlir.simulate(module, x, record=["lif"], integers=True)
    voltages, spikes = reference_fxp_lif(x, weight, [3900, 2048], "kept_fraction_q12", "floor", True, min_step=1, **options)
    np.testing.assert_array_equal(traces["lif"]["v_int"], voltages)
    np.testing.assert_array_equal(traces["lif"]["spikes"], spikes)


@pytest.mark.parametrize(
    ("kind", "decays", "min_step"),
    [("kept_fraction_q12", [4096, 4096], 0), ("lost_fraction_q12", [0, 0], 0), ("kept_fraction_q12", [4096, 4096], 1),
     ("kept_fraction_q12", [4096, 3900], 0)],
)
def test_fxp_lif_identity_decay_bit_exact(kind, decays, min_step):
    # A decay that keeps every state is skipped, but a minimum step still moves the state.
    x = np.random.default_rng(17).integers(-128, 128, size=(60, 3), dtype=np.int64)
    module, weight = fxp_lif_network(decays, kind, "toward_zero", True, min_step=min_step)
    traces = nirmlir.simulate(module, x, record=["lif"], integers=True)
    voltages, spikes = reference_fxp_lif(x, weight, decays, kind, "toward_zero", True, min_step=min_step)
    np.testing.assert_array_equal(traces["lif"]["v_int"], voltages)
    np.testing.assert_array_equal(traces["lif"]["spikes"], spikes)


@pytest.mark.parametrize("input_bits", [8, 48])
def test_fxp_affine_exact_beyond_float64(input_bits):
    # With 48-bit inputs a weighted sum can pass 2^53, where float64 rounds, so the kernel must
    # keep integer arithmetic; with 8-bit inputs it runs in float64 and must stay exact.
    weight = np.array([[127, -128, 101], [3, 5, -7]], dtype=np.int8)
    b = GraphBuilder(fxp)
    source = b.node(fxp.InputOp, "input", shape=(3,), element=IntegerType(input_bits), scale=1.0)
    affine = b.node(fxp.AffineOp, "affine", [source], (2,), element=IntegerType(64), weight=weight, weight_bits=8,
                    weight_scale=np.array(1.0), input_scale=1.0, folded_gain=np.array(1.0),
                    bias=np.array([1, -1], dtype=np.int16), saturate=True)
    b.node(fxp.OutputOp, "output", [affine], scale=np.array(1.0))
    largest = (1 << (input_bits - 1)) - 1
    x = np.random.default_rng(18).integers(-largest, largest, size=(20, 3), dtype=np.int64)
    x[0] = [largest, -largest, largest - 1]
    traces = nirmlir.simulate(b.module(), x, record=["affine"], integers=True)
    expected = [[sum(int(w) * int(v) for w, v in zip(row, sample)) + bias for row, bias in zip(weight.tolist(), [1, -1])]
                for sample in x.tolist()]
    assert traces["affine"]["value_int"].tolist() == expected


def test_fxp_wraps_without_saturation():
    # Without decay and reset, a constant input soon passes the 12-bit voltage range, where
    # wrapping and clamping part ways.
    x = np.full((30, 3), 127, dtype=np.int64)
    wrapped, _ = fxp_lif_network([4096, 4096], "kept_fraction_q12", "floor", False, reset="none")
    clamped, _ = fxp_lif_network([4096, 4096], "kept_fraction_q12", "floor", True, reset="none")
    v_wrapped = nirmlir.simulate(wrapped, x, record=["lif"], integers=True)["lif"]["v_int"]
    v_clamped = nirmlir.simulate(clamped, x, record=["lif"], integers=True)["lif"]["v_int"]
    assert v_clamped.max() == 2047
    assert v_wrapped.min() < 0
    assert not np.array_equal(v_wrapped, v_clamped)


def fxp_cuba_network(timing, kind, decays, min_step):
    b = GraphBuilder(fxp)
    source = b.node(fxp.InputOp, "input", shape=(2,), element=IntegerType(16), scale=0.5)
    lif = b.node(fxp.CubaLIFOp, "lif", [source], (2,), element=IntegerType(8),
                 current_decay=np.array(decays[0], dtype=np.int16), voltage_decay=np.array(decays[1], dtype=np.int16),
                 leak=np.array([0, 1], dtype=np.int16), v_threshold=np.array([400, 300], dtype=np.int16),
                 v_reset=np.array([0, 0], dtype=np.int16), spike_test="gt", spike_timing="after_update",
                 reset="to_reset_value", max_spikes_per_step=1, decay_kind=kind, decay_min_step=min_step,
                 rounding="toward_zero", voltage_scale=np.array(0.25), voltage_bits=10, voltage_saturate=True,
                 current_scale=np.array(0.125), current_bits=9, current_saturate=True, current_timing=timing)
    b.node(fxp.OutputOp, "output", [lif], scale=np.array(1.0))
    return b.module()


@pytest.mark.parametrize("timing", ["same_step", "previous_step"])
@pytest.mark.parametrize(("kind", "decays"), [("lost_fraction_q12", ([800, 300], [100, 2000])), ("shift", ([2, 1], [4, 3]))])
def test_fxp_cuba_lif_bit_exact(timing, kind, decays):
    x = np.random.default_rng(9).integers(-60, 120, size=(80, 2), dtype=np.int64)
    traces = nirmlir.simulate(fxp_cuba_network(timing, kind, decays, 2), x, record=["lif"], integers=True)

    i, v = [0, 0], [0, 0]
    currents, voltages, spikes = [], [], []
    for row in x.tolist():
        new_i, new_v, fired = [], [], []
        for n in range(2):
            current = int_width(int_decay(i[n], decays[0][n], kind, 2, "toward_zero") + row[n], 9, True)
            used = current if timing == "same_step" else i[n]
            updated = int_width(int_decay(v[n], decays[1][n], kind, 2, "toward_zero") + used + [0, 1][n], 10, True)
            spike = int(updated > [400, 300][n])
            new_i.append(current)
            new_v.append(0 if spike else updated)
            fired.append(spike)
        i, v = new_i, new_v
        currents.append(i)
        voltages.append(v)
        spikes.append(fired)
    np.testing.assert_array_equal(traces["lif"]["i_int"], currents)
    np.testing.assert_array_equal(traces["lif"]["v_int"], voltages)
    np.testing.assert_array_equal(traces["lif"]["spikes"], spikes)
    np.testing.assert_array_equal(traces["lif"]["i"], np.array(currents) * 0.125)


def test_fxp_input_converts_nir_units():
    module = fxp_cuba_network("same_step", "shift", ([2, 1], [4, 3]), 0)
    integers = nirmlir.simulate(module, np.array([[3, -2]], dtype=np.int64), record=["input"], integers=True)
    floats = nirmlir.simulate(module, np.array([[1.5, -1.0]]), record=["input"], integers=True)
    np.testing.assert_array_equal(integers["input"]["value_int"], [[3, -2]])
    np.testing.assert_array_equal(floats["input"]["value_int"], [[3, -2]])
    np.testing.assert_array_equal(floats["input"]["value"], [[1.5, -1.0]])
    with pytest.raises(DiagnosticError, match="outside the 16-bit range"):
        nirmlir.simulate(module, np.array([[20000.0, 0.0]]))


def fxp_small_ops_network(rounding="nearest", seed=None):
    """input (i8, 1x4x4) -> conv2d -> sum_pool -> flatten -> rescale -> threshold, and a step delay."""
    b = GraphBuilder(fxp)
    source = b.node(fxp.InputOp, "input", shape=(1, 4, 4), element=IntegerType(8), scale=1.0)
    conv = b.node(fxp.Conv2dOp, "conv", [source], (2, 4, 4), element=IntegerType(16),
                  weight=np.array([[[[1, 0, -1]] * 3], [[[2, 1, 0]] * 3]], dtype=np.int8), weight_bits=8,
                  weight_scale=np.array([0.5, 0.25]), input_scale=1.0, folded_gain=np.array(1.0),
                  bias=np.array([1, -1], dtype=np.int16), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1,
                  saturate=True)
    pool = b.node(fxp.SumPool2dOp, "pool", [conv], (2, 2, 2), element=IntegerType(16), kernel_size=(2, 2),
                  stride=(2, 2), padding=(0, 0), saturate=True)
    flat = b.node(fxp.FlattenOp, "flat", [pool], (8,), element=IntegerType(16), start_dim=0, end_dim=-1)
    properties = dict(multiplier=np.array(3, dtype=np.int16), shift=2, rounding=rounding, saturate=True)
    if seed is not None:
        properties["rounding_seed"] = seed
    rescale = b.node(fxp.RescaleOp, "rescale", [flat], (8,), element=IntegerType(16), **properties)
    threshold = b.node(fxp.ThresholdOp, "threshold", [rescale], (8,), element=IntegerType(1),
                       threshold=np.full(8, 10, dtype=np.int16), spike_test="ge")
    delay = b.node(fxp.StepDelayOp, "delay", [threshold], (8,), element=IntegerType(1), steps=1)
    b.node(fxp.OutputOp, "output", [delay], scale=np.array(1.0))
    return b.module()


def test_fxp_conv_pool_rescale_threshold():
    x = np.random.default_rng(11).integers(-5, 6, size=(3, 1, 4, 4), dtype=np.int64)
    traces = nirmlir.simulate(fxp_small_ops_network(), x, record=["conv", "pool", "flat", "rescale", "threshold"], integers=True)
    weight = np.array([[[[1, 0, -1]] * 3], [[[2, 1, 0]] * 3]], dtype=np.float64)
    for step in range(3):
        conv = reference_conv2d(x[step].astype(np.float64), weight, [1, -1], (1, 1), (1, 1), (1, 1), 1)
        np.testing.assert_array_equal(traces["conv"]["value_int"][step], conv)
        pooled = conv.reshape(2, 2, 2, 2, 2).sum(axis=(2, 4))
        np.testing.assert_array_equal(traces["pool"]["value_int"][step], pooled)
        flat = pooled.reshape(-1).astype(int).tolist()
        np.testing.assert_array_equal(traces["flat"]["value_int"][step], flat)
        rescaled = [int_round(3 * value, 2, "nearest") for value in flat]
        np.testing.assert_array_equal(traces["rescale"]["value_int"][step], rescaled)
        np.testing.assert_array_equal(traces["threshold"]["spikes"][step], [int(value >= 10) for value in rescaled])
    # The conv result is in units of input_scale·weight_scale per channel.
    np.testing.assert_array_equal(traces["conv"]["value"][0, 0], traces["conv"]["value_int"][0, 0] * 0.5)
    np.testing.assert_array_equal(traces["conv"]["value"][0, 1], traces["conv"]["value_int"][0, 1] * 0.25)
    # A rescale has no stated NIR scale, so only its integers are recorded.
    assert set(traces["rescale"]) == {"value_int"}
    # The output reads the threshold one step late.
    np.testing.assert_array_equal(traces["output"]["spikes"][1:], traces["threshold"]["spikes"][:-1])
    np.testing.assert_array_equal(traces["output"]["spikes"][0], np.zeros(8))


def test_stochastic_rounding_reproducible():
    x = np.random.default_rng(12).integers(-5, 6, size=(2, 30, 1, 4, 4), dtype=np.int64)
    record = ["flat", "rescale"]
    first = nirmlir.simulate(fxp_small_ops_network("stochastic", seed=42), x, record=record, integers=True)
    again = nirmlir.simulate(fxp_small_ops_network("stochastic", seed=42), x, record=record, integers=True)
    other = nirmlir.simulate(fxp_small_ops_network("stochastic", seed=43), x, record=record, integers=True)
    np.testing.assert_array_equal(first["rescale"]["value_int"], again["rescale"]["value_int"])
    assert not np.array_equal(first["rescale"]["value_int"], other["rescale"]["value_int"])

    # The documented draw order: per step, one integer in [0, 2^shift) per element of the (batch, 8) array.
    generator = np.random.default_rng(42)
    flat = first["flat"]["value_int"]
    for step in range(flat.shape[1]):
        draws = generator.integers(0, 4, size=(2, 8), dtype=np.int64)
        for sample in range(2):
            expected = [int_round(3 * int(value), 2, "stochastic", int(draw)) for value, draw in zip(flat[sample, step], draws[sample])]
            np.testing.assert_array_equal(first["rescale"]["value_int"][sample, step], expected)


def test_stochastic_rounding_is_unbiased():
    # R_2(3·x) for x = 1 is 0.75 on average: floor 0 plus 1 with probability 3/4.
    b = GraphBuilder(fxp)
    source = b.node(fxp.InputOp, "input", shape=(1000,), element=IntegerType(8), scale=1.0)
    rescale = b.node(fxp.RescaleOp, "rescale", [source], (1000,), element=IntegerType(16), multiplier=np.array(3, dtype=np.int16),
                     shift=2, rounding="stochastic", rounding_seed=5, saturate=True)
    b.node(fxp.OutputOp, "output", [rescale], scale=np.array(1.0))
    traces = nirmlir.simulate(b.module(), np.ones((20, 1000), dtype=np.int64), record=["rescale"])
    values = traces["rescale"]["value_int"]
    assert set(np.unique(values)) == {0, 1}
    assert abs(values.mean() - 0.75) < 0.01


def test_fxp_rejects_int64_overflow():
    b = GraphBuilder(fxp)
    source = b.node(fxp.InputOp, "input", shape=(1,), element=IntegerType(64), scale=1.0)
    rescale = b.node(fxp.RescaleOp, "big", [source], (1,), element=IntegerType(64), multiplier=np.array(3, dtype=np.int16),
                     shift=0, rounding="floor", saturate=True)
    b.node(fxp.OutputOp, "output", [rescale], scale=np.array(1.0))
    with pytest.raises(DiagnosticError, match="node 'big': the product multiplier·x can reach 66 bits"):
        nirmlir.simulate(b.module(), np.ones((1, 1), dtype=np.int64))


def test_quantized_model_runs_at_fxp_level():
    # The float and fixed-point LIF of the NIR paper spike at the same steps on a short input.
    from nirmlir.context import make_context
    from nirmlir.parser import parse_module

    text = """
    nir.graph @main {
      %input = nir.input "input" : tensor<1xf32>
      %0 = nir.affine "0"(%input) {weight = dense<[[1.0]]> : tensor<1x1xf32>, bias = dense<[0.0]> : tensor<1xf32>} : tensor<1xf32>
      %1 = nir.lif "1"(%0) {tau = dense<[0.0025]> : tensor<1xf32>, r = dense<[1.0]> : tensor<1xf32>, v_leak = dense<[0.0]> : tensor<1xf32>, v_threshold = dense<[0.1]> : tensor<1xf32>, v_reset = dense<[0.0]> : tensor<1xf32>} : tensor<1xf32>
      nir.output "output"(%1) : tensor<1xf32>
    }
    """
    module = parse_module(text, make_context(), "lif.mlir")
    x = np.zeros((200, 1))
    x[[10, 20, 25, 30, 35, 40, 45, 50, 55, 60], 0] = 1.0
    float_traces = nirmlir.simulate(module, x, preset="norse", dt=1e-4, record=["1"])
    fixed = nirmlir.simulate(module, x, preset="norse", dt=1e-4, record=["1"], level="fxp", integers=True)
    np.testing.assert_array_equal(fixed["1"]["spikes"], float_traces["1"]["spikes"])
    assert float_traces["1"]["spikes"].sum() > 0
    scale = fixed["1"]["v"][fixed["1"]["v_int"] != 0] / fixed["1"]["v_int"][fixed["1"]["v_int"] != 0]
    np.testing.assert_allclose(scale, scale[0], rtol=1e-12)
    assert np.abs(fixed["1"]["v"] - float_traces["1"]["v"]).max() < 5e-3


# --------------------------------------------------------------------------------------
# The Python API
# --------------------------------------------------------------------------------------


def paper_lif_graph():
    nir = pytest.importorskip("nir")
    nodes = {
        "input": nir.Input(input_type=np.array([1])),
        "0": nir.Affine(weight=np.array([[1.0]], dtype=np.float32), bias=np.array([0.0], dtype=np.float32)),
        "1": nir.LIF(
            tau=np.array([2.5e-3], dtype=np.float32),
            r=np.array([1.0], dtype=np.float32),
            v_leak=np.array([0.0], dtype=np.float32),
            v_threshold=np.array([0.1], dtype=np.float32),
        ),
        "output": nir.Output(output_type=np.array([1])),
    }
    return nir.NIRGraph(nodes=nodes, edges=[("input", "0"), ("0", "1"), ("1", "output")])


def test_load_in_memory_nir_graph(tmp_path):
    nir = pytest.importorskip("nir")
    graph = paper_lif_graph()
    x = np.zeros((120, 1))
    x[[5, 10, 15, 20, 25, 30, 35], 0] = 1.0
    in_memory = nirmlir.simulate(graph, x, preset="exact", dt=1e-4, record=["1"])
    nir.write(tmp_path / "lif.nir", graph)
    from_file = nirmlir.simulate(tmp_path / "lif.nir", x, preset="exact", dt=1e-4, record=["1"])
    np.testing.assert_array_equal(in_memory["1"]["v"], from_file["1"]["v"])
    assert in_memory["1"]["spikes"].sum() > 0
    assert not list(tmp_path.glob("*.h5"))


def test_compile_levels_and_pipeline():
    graph = paper_lif_graph()
    module = nirmlir.load(graph)
    snn_module = nirmlir.compile(module, preset="spyx", dt=1e-4)
    fxp_module = nirmlir.compile(module, preset="spyx", dt=1e-4, level="fxp", quantize={"weight-bits": 6})
    piped = nirmlir.compile(module, "discretize{dt=1e-4 preset=spyx},quantize{weight-bits=6}")
    assert isinstance(list(module.ops)[0], nir_dialect.GraphOp)
    assert isinstance(list(snn_module.ops)[0], snn.GraphOp)
    (lif,) = [op for op in list(fxp_module.ops)[0].body.block.ops if isinstance(op, fxp.LIFOp)]
    (piped_lif,) = [op for op in list(piped.ops)[0].body.block.ops if isinstance(op, fxp.LIFOp)]
    assert lif.v_threshold == piped_lif.v_threshold
    with pytest.raises(DiagnosticError, match="is at the fxp level and cannot be raised to snn"):
        nirmlir.compile(fxp_module, level="snn")
    with pytest.raises(DiagnosticError, match="unknown level 'chip'"):
        nirmlir.compile(module, preset="spyx", dt=1e-4, level="chip")


# --------------------------------------------------------------------------------------
# The real corpus
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["snn", "fxp"])
def test_corpus_file_simulates(corpus_dir, corpus_name, level):
    # Files the importer or the lowering rejects are their tests' business; every file that
    # lowers must run, with traces of the input's leading axes.
    try:
        module = nirmlir.load(corpus_dir / corpus_name)
        program = api.prepare(module, preset="norse", dt=1e-4, level=level)
    except DiagnosticError as error:
        pytest.skip(f"does not lower to {level}: {error.message}")
    rng = np.random.default_rng(0)
    inputs = {name: (rng.random((2, 10, *shape)) < 0.2).astype(np.float64) for name, shape in program.inputs.items()}
    traces = api.run_program(program, inputs)
    assert set(traces) == set(program.outputs)
    for node, keys in traces.items():
        for key, array in keys.items():
            assert array.shape[:2] == (2, 10), f"{node}/{key}"
            assert np.isfinite(array).all(), f"{node}/{key}"


# --------------------------------------------------------------------------------------
# Precision and threads
# --------------------------------------------------------------------------------------

CNN_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cnn.nir"


@pytest.fixture(scope="module")
def cnn_input() -> np.ndarray:
    return (np.random.default_rng(7).random((5, 40, 2, 16, 16)) < 0.3).astype(np.float64)


def test_threads_split_the_batch_without_changing_traces(cnn_input):
    serial = nirmlir.simulate(CNN_EXAMPLE, cnn_input, preset="sinabs", dt=1e-3, record=["conv", "if1", "fc"])
    for threads in (2, 3, 8):
        parallel = nirmlir.simulate(
            CNN_EXAMPLE, cnn_input, preset="sinabs", dt=1e-3, record=["conv", "if1", "fc"], threads=threads
        )
        assert parallel.keys() == serial.keys()
        for node, traces in serial.items():
            for key, array in traces.items():
                np.testing.assert_array_equal(parallel[node][key], array, err_msg=f"{node}/{key}, {threads} threads")


def test_float32_precision_computes_in_float32(cnn_input):
    float64 = nirmlir.simulate(CNN_EXAMPLE, cnn_input, preset="sinabs", dt=1e-3, record=["conv", "if1"])
    float32 = nirmlir.simulate(
        CNN_EXAMPLE, cnn_input, preset="sinabs", dt=1e-3, record=["conv", "if1"], precision="float32"
    )
    assert float32["conv"]["value"].dtype == np.float32
    assert float32["if1"]["v"].dtype == np.float32
    assert float64["if1"]["v"].dtype == np.float64
    # The convolution of one step has no history, so it differs by float32 rounding only.
    scale = np.abs(float64["conv"]["value"]).max()
    np.testing.assert_allclose(float32["conv"]["value"], float64["conv"]["value"], atol=1e-6 * scale)


def test_unknown_precision_and_thread_count_are_diagnostics(cnn_input):
    with pytest.raises(DiagnosticError, match="unknown precision 'float16'; expected one of float64, float32"):
        nirmlir.simulate(CNN_EXAMPLE, cnn_input, preset="sinabs", dt=1e-3, precision="float16")
    with pytest.raises(DiagnosticError, match="the number of threads must be at least 1, not 0"):
        nirmlir.simulate(CNN_EXAMPLE, cnn_input, preset="sinabs", dt=1e-3, threads=0)
