"""Tests of nir-inline-subgraphs and discretize: coefficients, back edges, options and diagnostics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp, SymbolRefAttr, TensorType, f32
from xdsl.passes import PassPipeline

from nirmlir.context import make_context
from nirmlir.dense import dense_from_numpy, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, DiagnosticWarning
from nirmlir.dialects import nir, snn
from nirmlir.passes.discretize import MISSING_DT_MESSAGE, DiscretizePass, discretize_module, resolve_preset
from nirmlir.passes.inline_subgraphs import inline_subgraphs
from nirmlir.presets import PRESETS
from nirmlir.registry import PASSES, load_pass

from nir_graphs import SHARED, GraphBuilder, require_shared, to_attribute

DT = 1e-4


# --------------------------------------------------------------------------------------
# Building nir graphs
# --------------------------------------------------------------------------------------


def lif_params(n: int, tau=2.5e-3, r=1.0, v_leak=0.0, v_threshold=0.1, v_reset=0.0):
    return dict(
        tau=np.full(n, tau),
        r=np.full(n, r),
        v_leak=np.full(n, v_leak),
        v_threshold=np.full(n, v_threshold),
        v_reset=np.full(n, v_reset),
    )


def cuba_lif_params(n: int, tau_syn, tau_mem, r, w_in, v_threshold=1.0):
    return dict(
        tau_syn=np.full(n, tau_syn),
        tau_mem=np.full(n, tau_mem),
        r=np.full(n, r),
        v_leak=np.zeros(n),
        v_threshold=np.full(n, v_threshold),
        v_reset=np.zeros(n),
        w_in=np.full(n, w_in),
    )


def paper_lif_module(weight: float = 1.0, r: float = 1.0) -> ModuleOp:
    """The NIR paper's LIF model: Input[1] -> Affine(weight, 0) -> LIF(tau 2.5 ms, r, v_th 0.1) -> Output.

    The defaults are Norse's export; Rockpool's is weight 0.04 and r = (tau/dt)·e^(-dt/tau).
    """
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(1,))
    affine = builder.node(nir.AffineOp, "0", [source.output], (1,), weight=[[weight]], bias=[0.0])
    lif = builder.node(nir.LIFOp, "1", [affine.output], (1,), **lif_params(1, r=r))
    builder.node(nir.OutputOp, "output", [lif.output])
    return builder.module()


def braille_module(hidden: int = 38, seed: int = 0) -> ModuleOp:
    """The NIR paper's recurrent braille model with random weights and the snnTorch-exported neurons."""
    rng = np.random.default_rng(seed)
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(12,))
    fc1 = builder.node(nir.AffineOp, "fc1", [source.output], (hidden,), weight=rng.normal(size=(hidden, 12)), bias=rng.normal(size=hidden))
    lif1 = builder.node(
        nir.CubaLIFOp, "lif1.lif", [fc1.output], (hidden,), **cuba_lif_params(hidden, DT / 0.45, DT / 0.1, 10.0, 1 / 0.45)
    )
    w_rec = builder.node(nir.AffineOp, "lif1.w_rec", [lif1.output], (hidden,), weight=rng.normal(size=(hidden, hidden)), bias=np.zeros(hidden))
    lif1.operands = [fc1.output, w_rec.output]
    fc2 = builder.node(nir.LinearOp, "fc2", [lif1.output], (7,), weight=rng.normal(size=(7, hidden)))
    lif2 = builder.node(nir.CubaLIFOp, "lif2", [fc2.output], (7,), **cuba_lif_params(7, DT / 0.5, DT / 0.45, 1 / 0.45, 2.0))
    builder.node(nir.OutputOp, "output", [lif2.output])
    return builder.module()


def snn_ops(module: ModuleOp) -> list:
    (graph,) = [op for op in module.ops if isinstance(op, snn.GraphOp)]
    return list(graph.body.block.ops)


def find(ops, name):
    (op,) = [op for op in ops if op.node_name.data == name]
    return op


def discretized(module: ModuleOp, preset: str = "norse", dt: float | None = DT, **overrides) -> list:
    discretize_module(module, resolve_preset(preset, **overrides), dt)
    module.verify()
    return snn_ops(module)


def coefficient(op, field):
    return numpy_from_dense(op.properties[field]).astype(np.float64)


# --------------------------------------------------------------------------------------
# Coefficients
# --------------------------------------------------------------------------------------


def test_lif_forward_euler_coefficients():
    lif = find(discretized(paper_lif_module()), "1")
    assert isinstance(lif, snn.LIFOp)
    np.testing.assert_allclose(coefficient(lif, "voltage_decay"), [0.96], rtol=1e-6)
    np.testing.assert_allclose(coefficient(lif, "voltage_gain"), [0.04], rtol=1e-6)
    np.testing.assert_allclose(coefficient(lif, "leak"), [0.0])
    assert lif.integrator.data == "forward_euler"
    assert lif.spike_test.data == "gt"
    assert lif.reset.data == "to_reset_value"


def test_lif_exp_euler_coefficients():
    lif = find(discretized(paper_lif_module(), "sinabs"), "1")
    np.testing.assert_allclose(coefficient(lif, "voltage_decay"), [0.9607894], rtol=1e-6)
    np.testing.assert_allclose(coefficient(lif, "voltage_gain"), [0.04], rtol=1e-6)
    assert lif.reset.data == "subtract"
    assert lif.spike_test.data == "ge"


def test_lif_zero_order_hold_coefficients():
    lif = find(discretized(paper_lif_module(), "nengo"), "1")
    np.testing.assert_allclose(coefficient(lif, "voltage_decay"), [np.exp(-0.04)], rtol=1e-6)
    np.testing.assert_allclose(coefficient(lif, "voltage_gain"), [1 - np.exp(-0.04)], rtol=1e-6)


@pytest.mark.parametrize("preset", ["norse", "sinabs", "nengo"])
def test_leak_keeps_rest_at_v_leak(preset):
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(2,))
    builder.node(nir.LIOp, "li", [source.output], (2,), tau=[2.5e-3, 1e-3], r=[1.0, 2.0], v_leak=[0.5, -1.0])
    li = find(discretized(builder.module(), preset), "li")
    # Without input, v = v_leak must be a fixed point of v = decay·v + leak.
    rest = coefficient(li, "voltage_decay") * np.array([0.5, -1.0]) + coefficient(li, "leak")
    np.testing.assert_allclose(rest, [0.5, -1.0], rtol=1e-6)


def test_braille_cuba_lif_snntorch_mapping():
    ops = discretized(braille_module(), "snntorch")
    lif1, lif2 = find(ops, "lif1.lif"), find(ops, "lif2")
    assert isinstance(lif1, snn.CubaLIFOp)
    np.testing.assert_allclose(coefficient(lif1, "current_decay"), 0.55, rtol=1e-6)
    np.testing.assert_allclose(coefficient(lif1, "voltage_decay"), 0.9, rtol=1e-6)
    np.testing.assert_allclose(coefficient(lif1, "current_gain"), 1.0, rtol=1e-6)
    np.testing.assert_allclose(coefficient(lif1, "voltage_gain"), 1.0, rtol=1e-6)
    np.testing.assert_allclose(coefficient(lif2, "current_decay"), 0.5, rtol=1e-6)
    np.testing.assert_allclose(coefficient(lif2, "voltage_decay"), 0.55, rtol=1e-6)
    assert lif1.current_timing.data == "same_step"


def test_if_gain_per_step_or_per_second():
    def module():
        builder = GraphBuilder()
        source = builder.node(nir.InputOp, "input", shape=(3,))
        builder.node(nir.IFOp, "if", [source.output], (3,), r=[1.0, 2.0, 0.5], v_threshold=np.ones(3), v_reset=np.zeros(3))
        builder.node(nir.IOp, "i", [source.output], (3,), r=[1.0, 2.0, 0.5])
        return builder.module()

    ops = discretized(module(), "norse")
    if_op = find(ops, "if")
    assert isinstance(if_op, snn.LIFOp)
    np.testing.assert_array_equal(coefficient(if_op, "voltage_decay"), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(coefficient(if_op, "voltage_gain"), [1.0, 2.0, 0.5])
    assert isinstance(find(ops, "i"), snn.IntegratorOp)

    ops = discretized(module(), "norse", if_gain="r_dt")
    np.testing.assert_allclose(coefficient(find(ops, "if"), "voltage_gain"), np.array([1.0, 2.0, 0.5]) * DT)
    np.testing.assert_allclose(coefficient(find(ops, "i"), "voltage_gain"), np.array([1.0, 2.0, 0.5]) * DT)


def test_forward_euler_rejects_tau_below_dt():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(1,))
    builder.node(nir.LIFOp, "fast", [source.output], (1,), **lif_params(1, tau=5e-5))
    with pytest.raises(DiagnosticError, match="node 'fast': 'tau' 5e-05 s is shorter than dt"):
        discretize_module(builder.module(), resolve_preset("norse"), DT)


def test_event_exact_rejects_cuba_lif():
    with pytest.raises(DiagnosticError, match="node 'lif1.lif': integrator 'event_exact'"):
        discretize_module(braille_module(), resolve_preset("exact"), DT)


# --------------------------------------------------------------------------------------
# Cycles and schedule
# --------------------------------------------------------------------------------------


def test_back_edge_becomes_step_delay():
    ops = discretized(braille_module())
    names = [op.node_name.data for op in ops]
    delays = [op for op in ops if isinstance(op, snn.StepDelayOp)]
    assert [op.node_name.data for op in delays] == ["lif1.w_rec->lif1.lif"]
    assert delays[0].steps.value.data == 1
    lif1, w_rec = find(ops, "lif1.lif"), find(ops, "lif1.w_rec")
    assert delays[0].operands[0] is w_rec.output
    assert delays[0].output in list(lif1.operands)
    # The delay follows its source; the neuron reads it before it is computed, which only delays allow.
    assert names.index("lif1.w_rec->lif1.lif") == names.index("lif1.w_rec") + 1
    assert names.index("lif1.lif") < names.index("lif1.w_rec")
    assert names.index("fc1") < names.index("lif1.lif")


def test_schedule_is_topological_outside_back_edges():
    ops = discretized(braille_module())
    position = {op: index for index, op in enumerate(ops)}
    for op in ops:
        for operand in op.operands:
            if not isinstance(operand.owner, snn.StepDelayOp):
                assert position[operand.owner] < position[op]


def test_self_loop_gets_step_delay():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(2,))
    lif = builder.node(nir.LIFOp, "lif", [source.output], (2,), **lif_params(2))
    lif.operands = [source.output, lif.output]
    builder.node(nir.OutputOp, "output", [lif.output])
    ops = discretized(builder.module())
    delay = find(ops, "lif->lif")
    assert delay.operands[0] is find(ops, "lif").output


def test_schedule_reorders_block():
    # The block lists the output first; the schedule follows the edges instead.
    builder = GraphBuilder()
    output = builder.node(nir.OutputOp, "output", [])
    source = builder.node(nir.InputOp, "input", shape=(2,))
    lif = builder.node(nir.LIFOp, "lif", [source.output], (2,), **lif_params(2))
    output.operands = [lif.output]
    ops = discretized(builder.module())
    assert [op.node_name.data for op in ops] == ["input", "lif", "output"]


def test_cycle_through_delay_node_needs_no_step_delay():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(2,))
    lif = builder.node(nir.LIFOp, "lif", [source.output], (2,), **lif_params(2))
    delay = builder.node(nir.DelayOp, "delay", [lif.output], (2,), delay=[3e-4, 1e-4])
    lif.operands = [source.output, delay.output]
    ops = discretized(builder.module())
    assert not [op for op in ops if isinstance(op, snn.StepDelayOp)]
    np.testing.assert_array_equal(numpy_from_dense(find(ops, "delay").steps), [3, 1])


def test_lava_preset_delays_synapse_edges():
    ops = discretized(braille_module(), "lava")
    delays = {op.node_name.data: op.steps.value.data for op in ops if isinstance(op, snn.StepDelayOp)}
    # The recurrent edge keeps one step in total; the forward synapse edges gain one each.
    assert delays == {"fc1->lif1.lif": 1, "lif1.w_rec->lif1.lif": 1, "fc2->lif2": 1}


def test_back_edge_delay_option():
    ops = discretized(braille_module(), back_edge_delay=3)
    assert find(ops, "lif1.w_rec->lif1.lif").steps.value.data == 3


# --------------------------------------------------------------------------------------
# dt and options
# --------------------------------------------------------------------------------------


def test_missing_dt_is_diagnostic():
    with pytest.raises(DiagnosticError) as caught:
        DiscretizePass().apply(make_context(), paper_lif_module())
    assert caught.value.message == MISSING_DT_MESSAGE
    assert caught.value.location.node_path == ("main",)


def test_metadata_dt_is_used():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(1,))
    builder.node(nir.LIFOp, "lif", [source.output], (1,), **lif_params(1))
    module = builder.module(metadata={"dt": 5e-4})
    DiscretizePass().apply(make_context(), module)
    (graph,) = module.ops
    assert graph.dt.value.data == 5e-4
    np.testing.assert_allclose(coefficient(find(snn_ops(module), "lif"), "voltage_decay"), [0.8], rtol=1e-6)


def test_option_dt_overrides_metadata():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(1,))
    builder.node(nir.LIFOp, "lif", [source.output], (1,), **lif_params(1))
    module = builder.module(metadata={"dt": 5e-4})
    DiscretizePass(dt="1e-4").apply(make_context(), module)
    assert list(module.ops)[0].dt.value.data == 1e-4


def test_pass_options_from_pipeline_text():
    available = {name: (lambda name=name: load_pass(name)) for name in PASSES}
    pipeline = PassPipeline.parse_spec(available, "discretize{dt=1e-4 preset=snntorch reset=subtract spike-test=ge}")
    module = paper_lif_module()
    pipeline.apply(make_context(), module)
    module.verify()
    lif = find(snn_ops(module), "1")
    assert lif.reset.data == "subtract"
    assert lif.spike_test.data == "ge"
    assert lif.integrator.data == "forward_euler"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reset": "zero"}, "invalid reset 'zero'; expected one of to_reset_value, subtract, none"),
        ({"integrator": "rk4"}, "invalid integrator 'rk4'"),
        ({"max_spikes_per_step": 0}, "invalid max-spikes-per-step '0'"),
        ({"back_edge_delay": 0}, "invalid back-edge-delay '0'"),
    ],
)
def test_invalid_override_is_rejected(overrides, message):
    with pytest.raises(DiagnosticError, match=message):
        DiscretizePass(dt=1e-4, **overrides).apply(make_context(), paper_lif_module())


def test_unknown_preset_is_rejected():
    with pytest.raises(DiagnosticError, match="unknown preset 'brian'; expected one of norse"):
        DiscretizePass(dt=1e-4, preset="brian").apply(make_context(), paper_lif_module())


@pytest.mark.parametrize("dt", ["abc", -1.0, 0])
def test_invalid_dt_is_rejected(dt):
    with pytest.raises(DiagnosticError, match="dt"):
        DiscretizePass(dt=dt).apply(make_context(), paper_lif_module())


def test_every_preset_validates():
    for preset in PRESETS.values():
        preset.validate()


# --------------------------------------------------------------------------------------
# Every nir op
# --------------------------------------------------------------------------------------


def all_ops_module() -> ModuleOp:
    rng = np.random.default_rng(1)
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(2, 8, 8))

    conv = builder.node(
        nir.Conv2dOp,
        "conv",
        [source.output],
        (4, 8, 8),
        input_shape=(8, 8),
        weight=rng.normal(size=(4, 2, 3, 3)),
        stride=(1, 1),
        padding="same",
        dilation=(1, 1),
        groups=1,
        bias=np.zeros(4),
    )
    if_op = builder.node(nir.IFOp, "if", [conv.output], (4, 8, 8), r=np.ones((4, 8, 8)), v_threshold=np.ones((4, 8, 8)), v_reset=np.zeros((4, 8, 8)))
    pool = builder.node(nir.SumPool2dOp, "sum_pool", [if_op.output], (4, 4, 4), kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
    avg = builder.node(nir.AvgPool2dOp, "avg_pool", [pool.output], (4, 2, 2), kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
    flat = builder.node(nir.FlattenOp, "flatten", [avg.output], (16,), start_dim=0, end_dim=-1)
    linear = builder.node(nir.LinearOp, "linear", [flat.output], (5,), weight=rng.normal(size=(5, 16)))
    scale = builder.node(nir.ScaleOp, "scale", [linear.output], (5,), scale=np.full(5, 0.5))
    li = builder.node(nir.LIOp, "li", [scale.output], (5,), tau=np.full(5, 1e-3), r=np.ones(5), v_leak=np.zeros(5))
    cuba_li = builder.node(
        nir.CubaLIOp, "cuba_li", [li.output], (5,), tau_syn=np.full(5, 1e-3), tau_mem=np.full(5, 2e-3), r=np.ones(5), v_leak=np.zeros(5), w_in=np.ones(5)
    )
    threshold = builder.node(nir.ThresholdOp, "threshold", [cuba_li.output], (5,), threshold=np.full(5, 0.2))
    delay = builder.node(nir.DelayOp, "delay", [threshold.output], (5,), delay=np.full(5, 2e-4))
    integrator = builder.node(nir.IOp, "integrator", [delay.output], (5,), r=np.ones(5))

    conv1d_in = builder.node(nir.InputOp, "input1d", shape=(3, 10))
    conv1d = builder.node(
        nir.Conv1dOp,
        "conv1d",
        [conv1d_in.output],
        (2, 5),
        input_shape=(10,),
        weight=rng.normal(size=(2, 3, 3)),
        stride=(2,),
        padding=(1,),
        dilation=(1,),
        groups=1,
        bias=np.zeros(2),
    )

    builder.node(nir.OutputOp, "output", [integrator.output])
    builder.node(nir.OutputOp, "output1d", [conv1d.output])
    return builder.module()


def test_every_nir_op_lowers_and_verifies():
    module = all_ops_module()
    module.verify()
    ops = discretized(module)
    kinds = {op.node_name.data: type(op) for op in ops}
    assert kinds["conv"] is snn.Conv2dOp
    assert kinds["if"] is snn.LIFOp
    assert kinds["sum_pool"] is snn.SumPool2dOp
    assert kinds["avg_pool"] is snn.AvgPool2dOp
    assert kinds["flatten"] is snn.FlattenOp
    assert kinds["linear"] is snn.AffineOp
    assert kinds["scale"] is snn.ScaleOp
    assert kinds["li"] is snn.LIOp
    assert kinds["cuba_li"] is snn.CubaLIOp
    assert kinds["threshold"] is snn.ThresholdOp
    assert kinds["delay"] is snn.DelayOp
    assert kinds["integrator"] is snn.IntegratorOp
    assert kinds["conv1d"] is snn.Conv1dOp
    assert find(ops, "linear").bias is None
    # "same" padding of a 3x3 kernel at stride 1 is one cell on each side.
    assert find(ops, "conv").padding.get_values() == (1, 1)
    np.testing.assert_array_equal(numpy_from_dense(find(ops, "delay").steps), [2] * 5)


def test_same_padding_with_stride_is_rejected():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(1, 8, 8))
    builder.node(
        nir.Conv2dOp,
        "conv",
        [source.output],
        (1, 8, 8),
        input_shape=(8, 8),
        weight=np.ones((1, 1, 3, 3)),
        stride=(2, 2),
        padding="same",
        dilation=(1, 1),
        groups=1,
        bias=np.zeros(1),
    )
    with pytest.raises(DiagnosticError, match="node 'conv': padding 'same' with stride"):
        discretize_module(builder.module(), resolve_preset("norse"), DT)


def test_snn_graph_rejects_undelayed_forward_read():
    ops = discretized(paper_lif_module())
    lif, output = find(ops, "1"), find(ops, "output")
    lif.operands = [output.operands[0]]
    with pytest.raises(Exception, match="computed later in the step"):
        lif.parent_op().verify()


def test_snn_lif_rejects_decay_above_one():
    ops = discretized(paper_lif_module())
    lif = find(ops, "1")
    lif.properties["voltage_decay"] = dense_from_numpy(np.array([1.5]))
    with pytest.raises(Exception, match="must lie in \\[0, 1\\]"):
        lif.verify()


# --------------------------------------------------------------------------------------
# Subgraphs
# --------------------------------------------------------------------------------------


def nested_module(inner_metadata: dict[str, float] | None = None) -> ModuleOp:
    inner = GraphBuilder("lif_block")
    inner_input = inner.node(nir.InputOp, "input", shape=(3,))
    lif = inner.node(nir.LIFOp, "lif", [inner_input.output], (3,), **lif_params(3))
    rec = inner.node(nir.LinearOp, "rec", [lif.output], (3,), weight=np.eye(3))
    lif.operands = [inner_input.output, rec.output]
    inner.node(nir.OutputOp, "output", [lif.output])

    outer = GraphBuilder("main")
    source = outer.node(nir.InputOp, "input", shape=(3,))
    site = outer.node(nir.SubgraphOp, "block", [source.output], (3,))
    site.properties["graph"] = SymbolRefAttr("lif_block")
    outer.node(nir.OutputOp, "output", [site.output])
    return ModuleOp([outer.graph(), inner.graph(inner_metadata)])


def test_inline_renames_and_connects():
    module = nested_module()
    module.verify()
    inline_subgraphs(module)
    module.verify()
    graphs = [op for op in module.ops if isinstance(op, nir.GraphOp)]
    assert [graph.sym_name.data for graph in graphs] == ["main"]
    ops = {op.node_name.data: op for op in graphs[0].body.block.ops}
    assert set(ops) == {"input", "block.lif", "block.rec", "output"}
    assert list(ops["block.lif"].operands) == [ops["input"].output, ops["block.rec"].output]
    assert list(ops["output"].operands) == [ops["block.lif"].output]


def test_discretize_inlines_first():
    ops = discretized(nested_module())
    assert [op.node_name.data for op in ops] == ["input", "block.lif", "block.rec", "block.rec->block.lif", "output"]


def test_nested_graph_dt_mismatch_warns():
    module = nested_module(inner_metadata={"dt": 1e-3})
    expected = (
        r"graph @lif_block has metadata dt 0.001 s, but its nodes are inlined into @main, "
        r"which runs with dt=0.0001 s"
    )
    with pytest.warns(DiagnosticWarning, match=expected):
        discretized(module, dt=1e-4)


def test_nested_graph_same_dt_is_silent():
    module = nested_module(inner_metadata={"dt": 1e-4})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DiagnosticWarning)
        discretized(module, dt=1e-4)


def test_inline_rejects_name_clash():
    module = nested_module()
    main = list(module.ops)[0]
    clash = nir.make_node(nir.LIFOp, "block.lif", [], TensorType(f32, (3,)), {k: to_attribute(v) for k, v in lif_params(3).items()})
    main.body.block.add_op(clash)
    with pytest.raises(DiagnosticError, match="already has a node of that name"):
        inline_subgraphs(module)


# --------------------------------------------------------------------------------------
# Presets against the recorded LIF traces of the NIR paper (neuromorphs/NIR, paper/01_lif)
# --------------------------------------------------------------------------------------

TRACES = {
    "norse": ("lif_norse.csv", 2.1e-8),
    "snntorch": ("lif_snntorch.csv", 1e-6),
    "sinabs": ("lif_sinabs.csv", 2e-8),
    "rockpool": ("lif_rockpool.csv", 2e-8),
    "spyx": ("lif_spyx.csv", 5e-8),
    "lava": ("lif_lava_cpu_float.csv", 3.1e-8),
    "nengo": ("lif_nengo.csv", 1e-12),
    "spinnaker2": ("lif_spinnaker2.csv", 7.6e-7),
}


def simulate_lif(lif: snn.LIFOp, inputs: np.ndarray, input_delay: int) -> tuple[np.ndarray, np.ndarray]:
    """Simulate the graph of one snn.lif neuron with the reference simulator; return its voltages and spikes.

    The graph already contains the preset's synapse delays, so `input_delay` needs no handling here.
    """
    from nirmlir.simulator import compile_graph

    program = compile_graph(lif.parent_op())
    (input_name,) = program.inputs
    traces = program.run({input_name: inputs.reshape(1, -1, 1)}, record=[lif.node_name.data])
    lif_traces = traces[lif.node_name.data]
    return lif_traces["v"][0, :, 0], lif_traces["spikes"][0, :, 0].astype(np.int64)


@pytest.mark.parametrize("preset", sorted(TRACES))
def test_preset_reproduces_paper_trace(preset):
    file_name, tolerance = TRACES[preset]
    trace = np.loadtxt(require_shared(SHARED / "corpus" / "golden" / "lif" / file_name), delimiter=",")
    # Some platforms record the input already multiplied by dt/tau; the events are the nonzero rows.
    inputs = (trace[:, 0] > 0).astype(np.float64)
    # Rockpool's trace comes from its own export, whose r its gain rule reads back.
    module = paper_lif_module(0.04, 25 * np.exp(-0.04)) if preset == "rockpool" else paper_lif_module()
    lif = find(discretized(module, preset), "1")
    voltages, spikes = simulate_lif(lif, inputs, PRESETS[preset].synapse_delay)
    np.testing.assert_array_equal(np.nonzero(spikes)[0], np.nonzero(trace[:, 2])[0])
    # Each platform records the voltage in its own unit: fit the one factor between the traces.
    active = np.abs(voltages) > 1e-3
    unit = np.median(trace[active, 1] / voltages[active])
    assert np.abs(voltages * unit - trace[:, 1]).max() <= tolerance * max(unit, 1.0)


# --------------------------------------------------------------------------------------
# Real files, once the HDF5 importer is available
# --------------------------------------------------------------------------------------

PAPER_FILES = [
    "neuromorphs-NIR__cnn_sinabs.nir",
    "neuromorphs-NIR__lif_norse.nir",
    "neuromorphs-NIR__braille_noDelay_bias_zero.nir",
    "neuromorphs-NIR__braille_noDelay_noBias_subtract.nir",
]


def import_paper_file(file_name: str) -> ModuleOp:
    hdf5 = pytest.importorskip("nirmlir.hdf5", reason="the HDF5 importer is not installed")
    path = require_shared(SHARED / "corpus" / "real" / file_name)
    return hdf5.import_nir(path, make_context())


@pytest.mark.parametrize("file_name", PAPER_FILES)
def test_paper_file_discretizes(file_name):
    module = import_paper_file(file_name)
    ops = discretized(module)
    assert all(isinstance(op, snn.SNNNodeOp) for op in ops)
    if "braille" in file_name:
        assert [op.node_name.data for op in ops if isinstance(op, snn.StepDelayOp)] == ["lif1.w_rec->lif1.lif"]
