"""Tests of quantize and lower-to-fixedpoint: integer encodings, units, options and the NIR paper's three models."""

from __future__ import annotations


import numpy as np
import pytest
from xdsl.dialects.builtin import DictionaryAttr, ModuleOp
from xdsl.passes import PassPipeline

from nirmlir.context import make_context
from nirmlir.dense import dense_from_numpy, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, DiagnosticWarning
from nirmlir.dialects import fxp, nir
from nirmlir.passes.discretize import discretize_module, resolve_preset
from nirmlir.passes.lower_to_fixedpoint import LowerToFixedPointPass, lower_to_fixedpoint
from nirmlir.passes.quantize import QuantizeOptions, QuantizePass, quantize_module
from nirmlir.passes.quantize_numbers import encode_decay, multiplier_and_shift
from nirmlir.registry import PASSES, load_pass

from nir_graphs import SHARED, GraphBuilder, require_shared

DT = 1e-4


# --------------------------------------------------------------------------------------
# Building nir graphs of the NIR paper's three models
# --------------------------------------------------------------------------------------


def neuron_params(shape, **values):
    return {key: np.full(shape, value) for key, value in values.items()}


def paper_lif_module(metadata=None) -> ModuleOp:
    """Input[1] -> Affine(1, 0) -> LIF(tau 2.5 ms, r 1, v_th 0.1) -> Output, as in lif_norse.nir."""
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(1,))
    affine = builder.node(nir.AffineOp, "0", [source.output], (1,), weight=[[1.0]], bias=[0.0])
    params = neuron_params(1, tau=2.5e-3, r=1.0, v_leak=0.0, v_threshold=0.1, v_reset=0.0)
    lif = builder.node(nir.LIFOp, "1", [affine.output], (1,), **params)
    builder.node(nir.OutputOp, "output", [lif.output])
    return builder.module(metadata)


def paper_cnn_module(seed: int = 0) -> ModuleOp:
    """The layer structure of cnn_sinabs.nir (conv, IF, sum pool, flatten, affine) with random weights."""
    rng = np.random.default_rng(seed)
    builder = GraphBuilder()

    def conv(name, source, weight_shape, stride, out_shape, input_shape):
        return builder.node(
            nir.Conv2dOp,
            name,
            [source.output],
            out_shape,
            input_shape=input_shape,
            weight=rng.normal(scale=0.1, size=weight_shape),
            stride=stride,
            padding=(1, 1),
            dilation=(1, 1),
            groups=1,
            bias=np.zeros(weight_shape[0]),
        )

    def if_node(name, source, shape):
        return builder.node(nir.IFOp, name, [source.output], shape, **neuron_params(shape, r=1.0, v_threshold=1.0, v_reset=0.0))

    def pool(name, source, shape):
        return builder.node(nir.SumPool2dOp, name, [source.output], shape, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))

    source = builder.node(nir.InputOp, "input", shape=(2, 34, 34))
    layer = if_node("1", conv("0", source, (16, 2, 5, 5), (2, 2), (16, 16, 16), (34, 34)), (16, 16, 16))
    layer = if_node("3", conv("2", layer, (16, 16, 3, 3), (1, 1), (16, 16, 16), (16, 16)), (16, 16, 16))
    layer = pool("4", layer, (16, 8, 8))
    layer = if_node("6", conv("5", layer, (8, 16, 3, 3), (1, 1), (8, 8, 8), (8, 8)), (8, 8, 8))
    layer = pool("7", layer, (8, 4, 4))
    layer = builder.node(nir.FlattenOp, "8", [layer.output], (128,), start_dim=0, end_dim=-1)
    layer = builder.node(nir.AffineOp, "9", [layer.output], (256,), weight=rng.normal(scale=0.05, size=(256, 128)), bias=np.zeros(256))
    layer = if_node("10", layer, (256,))
    layer = builder.node(nir.AffineOp, "11", [layer.output], (10,), weight=rng.normal(scale=0.05, size=(10, 256)), bias=np.zeros(10))
    layer = if_node("12", layer, (10,))
    builder.node(nir.OutputOp, "output", [layer.output])
    return builder.module()


def paper_rnn_module(seed: int = 0) -> ModuleOp:
    """The recurrent braille model: fc1 -> lif1 <-> w_rec, lif1 -> fc2 -> lif2, with snnTorch's neuron mapping."""
    rng = np.random.default_rng(seed)
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(12,))
    fc1 = builder.node(nir.AffineOp, "fc1", [source.output], (38,), weight=rng.normal(size=(38, 12)), bias=rng.normal(scale=0.1, size=38))
    lif1_params = neuron_params(38, tau_syn=DT / 0.45, tau_mem=DT / 0.1, r=10.0, v_leak=0.0, v_threshold=1.0, v_reset=0.0, w_in=1 / 0.45)
    lif1 = builder.node(nir.CubaLIFOp, "lif1.lif", [fc1.output], (38,), **lif1_params)
    w_rec = builder.node(nir.AffineOp, "lif1.w_rec", [lif1.output], (38,), weight=rng.normal(scale=2.0, size=(38, 38)), bias=np.zeros(38))
    lif1.operands = [w_rec.output, fc1.output]
    fc2 = builder.node(nir.LinearOp, "fc2", [lif1.output], (7,), weight=rng.normal(size=(7, 38)))
    lif2_params = neuron_params(7, tau_syn=DT / 0.5, tau_mem=DT / 0.45, r=1 / 0.45, v_leak=0.0, v_threshold=1.0, v_reset=0.0, w_in=2.0)
    lif2 = builder.node(nir.CubaLIFOp, "lif2", [fc2.output], (7,), **lif2_params)
    builder.node(nir.OutputOp, "output", [lif2.output])
    return builder.module()


def quantized(module: ModuleOp, preset: str = "norse", **options):
    discretize_module(module, resolve_preset(preset), DT)
    report = quantize_module(module, QuantizeOptions(**options))
    module.verify()
    return fxp_ops(module), report


def fxp_ops(module: ModuleOp) -> list:
    (graph,) = list(module.ops)
    assert isinstance(graph, fxp.GraphOp)
    return list(graph.body.block.ops)


def find(ops, name):
    (op,) = [op for op in ops if op.node_name.data == name]
    return op


def values(op, field):
    return numpy_from_dense(op.properties[field])


def element_width(value) -> int:
    return value.type.get_element_type().width.data


# --------------------------------------------------------------------------------------
# Number formats
# --------------------------------------------------------------------------------------


def test_kept_fraction_of_paper_lif():
    encoded = encode_decay(np.array([0.96]), "kept_fraction_q12")
    assert encoded.integers.tolist() == [3932]
    np.testing.assert_allclose(encoded.kept_fraction, [3932 / 4096])


def test_lost_fraction_and_shift_encodings():
    lost = encode_decay(np.array([0.96, 0.5]), "lost_fraction_q12")
    assert lost.integers.tolist() == [164, 2048]
    np.testing.assert_allclose(lost.kept_fraction, [1 - 164 / 4096, 0.5])
    shift = encode_decay(np.array([0.96, 0.5, 0.0]), "shift")
    assert shift.integers.tolist() == [5, 1, 0]
    np.testing.assert_allclose(shift.kept_fraction, [1 - 1 / 32, 0.5, 0.0])


def test_shift_cannot_express_no_decay():
    with pytest.raises(ValueError, match="no shift form"):
        encode_decay(np.array([1.0]), "shift")


def test_multiplier_and_shift_fit_width():
    multiplier, shift = multiplier_and_shift(np.array([0.04, -0.5]), 16)
    assert np.abs(multiplier).max() <= 32767
    # The shift is as large as the largest factor allows, so the error is at most half a step.
    assert shift == 15
    np.testing.assert_allclose(multiplier / 2.0**shift, [0.04, -0.5], rtol=0, atol=0.5 / 2.0**shift)
    multiplier, shift = multiplier_and_shift(np.array([0.0]), 16)
    assert multiplier.tolist() == [0]
    assert shift == 0


# --------------------------------------------------------------------------------------
# The LIF model
# --------------------------------------------------------------------------------------


def test_paper_lif_units_and_integers():
    ops, report = quantized(paper_lif_module())
    affine, lif = find(ops, "0"), find(ops, "1")
    assert isinstance(affine, fxp.AffineOp)
    assert isinstance(lif, fxp.LIFOp)
    # The gain dt/tau = 0.04 is folded into the weight, which uses the full 8-bit range.
    assert values(affine, "weight").tolist() == [[127]]
    np.testing.assert_allclose(values(affine, "folded_gain"), 0.04, rtol=1e-6)
    np.testing.assert_allclose(values(affine, "weight_scale"), 0.04 / 127, rtol=1e-6)
    # The state unit is the accumulated input unit.
    np.testing.assert_allclose(values(lif, "voltage_scale"), 0.04 / 127, rtol=1e-6)
    assert values(lif, "voltage_decay").tolist() == [3932]
    assert lif.decay_kind.data == "kept_fraction_q12"
    assert values(lif, "v_threshold").tolist() in ([317], [318])
    assert element_width(affine.output) == 32
    assert element_width(lif.output) == 8
    assert report.find("1", "voltage_decay").max_rel_error == pytest.approx(abs(3932 / 4096 - 0.96) / 0.96, rel=1e-3)
    assert report.find("1", "v_threshold").max_rel_error < 2e-3


def test_errors_are_op_attributes():
    ops, report = quantized(paper_lif_module())
    lif = find(ops, "1")
    errors = lif.attributes["quantization_error"]
    assert isinstance(errors, DictionaryAttr)
    assert set(errors.data) == {"voltage_decay", "leak", "v_threshold", "v_reset"}
    assert errors.data["v_threshold"].value.data == report.find("1", "v_threshold").max_rel_error


def test_every_report_entry_is_finite():
    _, report = quantized(paper_rnn_module())
    assert report.parameters
    for entry in report.parameters:
        assert np.isfinite(entry.max_rel_error), entry
        assert entry.max_rel_error < 0.2, entry


# --------------------------------------------------------------------------------------
# The CNN model
# --------------------------------------------------------------------------------------


def test_paper_cnn_lowers_every_op():
    ops, report = quantized(paper_cnn_module())
    kinds = {op.node_name.data: type(op) for op in ops}
    assert kinds["0"] is fxp.Conv2dOp
    assert kinds["1"] is fxp.LIFOp
    assert kinds["4"] is fxp.SumPool2dOp
    assert kinds["8"] is fxp.FlattenOp
    assert kinds["9"] is fxp.AffineOp
    assert all(isinstance(op, fxp.FXPNodeOp) for op in ops)
    # IF neurons keep their voltage: a kept fraction of 4096/4096.
    assert (values(find(ops, "1"), "voltage_decay") == 4096).all()
    # A sum of 2x2 one-bit spike counts fits the 8-bit result.
    assert element_width(find(ops, "4").output) == 8
    assert report.find("0", "weight").max_rel_error <= 0.5 / 127 + 1e-9


def test_per_channel_conv_scales():
    ops, _ = quantized(paper_cnn_module(), weight_granularity="per-channel")
    conv, if_op = find(ops, "0"), find(ops, "1")
    assert values(conv, "weight_scale").shape == (16,)
    assert values(if_op, "voltage_scale").shape == (16, 1, 1)
    # Every output channel uses the full weight range.
    assert (np.abs(values(conv, "weight")).reshape(16, -1).max(axis=1) == 127).all()


def test_avg_pool_becomes_sum_pool_with_scale():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(1, 4, 4))
    pool = builder.node(nir.AvgPool2dOp, "avg", [source.output], (1, 2, 2), kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
    builder.node(nir.OutputOp, "output", [pool.output])
    ops, _ = quantized(builder.module(), input_scale=0.5)
    assert isinstance(find(ops, "avg"), fxp.SumPool2dOp)
    np.testing.assert_allclose(values(find(ops, "output"), "scale"), 0.5 / 4)


# --------------------------------------------------------------------------------------
# The RNN model
# --------------------------------------------------------------------------------------


def test_paper_rnn_recurrence_and_shared_scale():
    ops, _ = quantized(paper_rnn_module())
    names = [op.node_name.data for op in ops]
    delay = find(ops, "lif1.w_rec->lif1.lif")
    lif1, fc1, w_rec = find(ops, "lif1.lif"), find(ops, "fc1"), find(ops, "lif1.w_rec")
    assert isinstance(delay, fxp.StepDelayOp)
    assert delay.operands[0] is w_rec.output
    assert names.index("lif1.lif") < names.index("lif1.w_rec->lif1.lif")
    # fc1 and w_rec add into the same current, so their results share one unit.
    fc1_unit = values(fc1, "weight_scale") * fc1.input_scale.value.data
    w_rec_unit = values(w_rec, "weight_scale") * w_rec.input_scale.value.data
    np.testing.assert_allclose(fc1_unit, w_rec_unit)
    np.testing.assert_allclose(values(lif1, "current_scale"), fc1_unit)
    # The larger of the two weight tensors uses the full range.
    assert max(np.abs(values(fc1, "weight")).max(), np.abs(values(w_rec, "weight")).max()) == 127
    # snnTorch's mapping gives a voltage gain of 1, so voltage and current share the unit.
    np.testing.assert_allclose(values(lif1, "voltage_scale"), values(lif1, "current_scale"), rtol=1e-6)
    assert values(lif1, "current_decay").tolist() == [round(0.55 * 4096)] * 38
    assert values(lif1, "voltage_decay").tolist() == [round(0.9 * 4096)] * 38


def test_threshold_headroom_coarsens_scale():
    # Small weights would put the threshold far outside a 16-bit state; the scale grows instead.
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(2,))
    affine = builder.node(nir.AffineOp, "fc", [source.output], (2,), weight=np.eye(2) * 1e-2, bias=np.zeros(2))
    params = neuron_params(2, tau=2.5e-3, r=1.0, v_leak=0.0, v_threshold=1.0, v_reset=0.0)
    builder.node(nir.LIFOp, "lif", [affine.output], (2,), **params)
    ops, _ = quantized(builder.module())
    threshold = values(find(ops, "lif"), "v_threshold")
    assert (threshold <= 32767 // 2 + 1).all()
    assert (threshold >= 32767 // 2 - 1).all()


def test_weights_rounding_to_zero_are_rejected():
    # One step's input is 1e-6 of the threshold, below one unit of a 16-bit state.
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(2,))
    affine = builder.node(nir.AffineOp, "fc", [source.output], (2,), weight=np.eye(2) * 1e-6, bias=np.zeros(2))
    params = neuron_params(2, tau=2.5e-3, r=1.0, v_leak=0.0, v_threshold=1.0, v_reset=0.0)
    builder.node(nir.LIFOp, "lif", [affine.output], (2,), **params)
    with pytest.raises(DiagnosticError, match="node 'fc': every weight rounds to zero.*raise state-bits"):
        quantized(builder.module())


def test_output_aligns_edges_of_different_scales():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(2,))
    li = builder.node(nir.LIOp, "li", [source.output], (2,), **neuron_params(2, tau=1e-3, r=1.0, v_leak=0.0))
    builder.node(nir.OutputOp, "output", [li.output, source.output])
    ops, _ = quantized(builder.module())
    output, rescale = find(ops, "output"), find(ops, "li->output.rescale")
    assert list(output.operands) == [rescale.output, find(ops, "input").output]
    np.testing.assert_allclose(values(output, "scale"), 1.0)


def test_direct_edge_into_neuron_gets_rescale():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(3,))
    params = neuron_params(3, tau=2.5e-3, r=1.0, v_leak=0.0, v_threshold=0.1, v_reset=0.0)
    builder.node(nir.LIFOp, "lif", [source.output], (3,), **params)
    ops, report = quantized(builder.module())
    rescale, lif = find(ops, "input->lif.rescale"), find(ops, "lif")
    assert isinstance(rescale, fxp.RescaleOp)
    assert list(lif.operands) == [rescale.output]
    factor = values(rescale, "multiplier") / 2.0 ** rescale.shift.value.data
    # One input unit adds gain·input_scale/voltage_scale state units.
    np.testing.assert_allclose(factor * values(lif, "voltage_scale"), 0.04, rtol=1e-4)
    assert report.find("input->lif.rescale", "multiplier").max_rel_error < 1e-4


def test_recurrent_identity_edge_rescales_before_delay():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(2,))
    affine = builder.node(nir.AffineOp, "fc", [source.output], (2,), weight=np.eye(2), bias=np.zeros(2))
    params = neuron_params(2, tau=2.5e-3, r=1.0, v_leak=0.0, v_threshold=0.1, v_reset=0.0)
    lif = builder.node(nir.LIFOp, "lif", [affine.output], (2,), **params)
    lif.operands = [affine.output, lif.output]
    ops, _ = quantized(builder.module())
    rescale, delay = find(ops, "lif->lif.rescale"), find(ops, "lif->lif")
    assert delay.operands[0] is rescale.output
    assert rescale.operands[0] is find(ops, "lif").output
    assert element_width(delay.output) == 32


def test_non_spiking_recurrence_is_rejected():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(2,))
    li = builder.node(nir.LIOp, "li", [source.output], (2,), **neuron_params(2, tau=1e-3, r=1.0, v_leak=0.0))
    rec = builder.node(nir.LinearOp, "rec", [li.output], (2,), weight=np.eye(2))
    li.operands = [source.output, rec.output]
    with pytest.raises(DiagnosticError, match="depends on itself through a cycle without a spiking neuron"):
        quantized(builder.module())


# --------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------


def test_options_change_formats():
    ops, _ = quantized(
        paper_lif_module(),
        weight_bits=4,
        state_bits=24,
        spike_bits=1,
        decay_kind="lost_fraction_q12",
        rounding="stochastic",
        seed=7,
        saturate=False,
        decay_min_step=1,
    )
    affine, lif = find(ops, "0"), find(ops, "1")
    assert values(affine, "weight").tolist() == [[7]]
    assert lif.voltage_bits.value.data == 24
    assert element_width(lif.output) == 1
    assert lif.decay_kind.data == "lost_fraction_q12"
    assert values(lif, "voltage_decay").tolist() == [164]
    assert lif.rounding.data == "stochastic"
    assert lif.rounding_seed.value.data == 7
    assert lif.voltage_saturate.value.data == 0
    assert lif.decay_min_step.value.data == 1


def test_shift_decay_keeps_if_as_kept_fraction():
    ops, _ = quantized(paper_cnn_module(), decay_kind="shift")
    assert find(ops, "1").decay_kind.data == "kept_fraction_q12"
    ops, _ = quantized(paper_lif_module(), decay_kind="shift")
    lif = find(ops, "1")
    assert lif.decay_kind.data == "shift"
    assert values(lif, "voltage_decay").tolist() == [5]


def test_power_of_two_weight_scale():
    ops, _ = quantized(paper_rnn_module(), weight_scale_rule="power-of-two")
    scale = float(values(find(ops, "fc1"), "weight_scale"))
    assert np.log2(scale) == np.round(np.log2(scale))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weight_bits": 1}, "invalid weight-bits 1; expected an integer from 2 to 32"),
        ({"spike_bits": 4}, "invalid spike-bits 4; expected 1 or 8"),
        ({"rounding": "banker"}, "invalid rounding 'banker'; expected one of nearest, toward_zero, floor, stochastic"),
        ({"decay_kind": "q15"}, "invalid decay-kind 'q15'"),
        ({"weight_scale_rule": "percentile"}, "invalid weight-scale-rule 'percentile'; expected one of max-abs, power-of-two"),
        ({"weight_granularity": "per-neuron"}, "invalid weight-granularity 'per-neuron'"),
        ({"seed": 3}, "seed is used only with rounding=stochastic"),
        ({"input_scale": "-1"}, "invalid input-scale -1.0"),
    ],
)
def test_invalid_options_are_rejected(options, message):
    module = paper_lif_module()
    discretize_module(module, resolve_preset("norse"), DT)
    with pytest.raises(DiagnosticError, match=message):
        QuantizePass(**options).apply(make_context(), module)


def test_spike_bits_one_rejects_multi_spike():
    module = paper_lif_module()
    discretize_module(module, resolve_preset("sinabs", max_spikes_per_step=3), DT)
    with pytest.raises(DiagnosticError, match="spike-bits=1 cannot count max_spikes_per_step=3"):
        quantize_module(module, QuantizeOptions(spike_bits=1))


def test_fxp_rejects_threshold_outside_state_range():
    ops, _ = quantized(paper_lif_module())
    lif = find(ops, "1")
    lif.properties["v_threshold"] = dense_from_numpy(np.array([40000], dtype=np.int32))
    with pytest.raises(Exception, match="outside the 16-bit range"):
        lif.verify()


# --------------------------------------------------------------------------------------
# lower-to-fixedpoint
# --------------------------------------------------------------------------------------


def assert_only_fixed_point(module: ModuleOp) -> None:
    module.verify()
    for op in module.walk():
        assert op is module or op.name.startswith("fxp."), op.name


def test_pipeline_from_text_spec():
    available = {name: (lambda name=name: load_pass(name)) for name in PASSES}
    pipeline = PassPipeline.parse_spec(available, "lower-to-fixedpoint{dt=1e-4 preset=norse weight-bits=8 state-bits=16}")
    module = paper_rnn_module()
    pipeline.apply(make_context(), module)
    assert_only_fixed_point(module)


def test_pipeline_defaults_to_paper_dt():
    module = paper_lif_module()
    with pytest.warns(DiagnosticWarning) as caught:
        LowerToFixedPointPass().apply(make_context(), module)
    assert_only_fixed_point(module)
    assert list(module.ops)[0].dt.value.data == 1e-4
    assert len(caught) == 1
    warning = caught[0].message
    assert warning.diagnostic.message.startswith("no dt given for graph @main; using dt=0.0001 s")
    assert warning.diagnostic.location.node_path == ("main",)
    assert warning.op is not None and warning.op.sym_name.data == "main"


def test_pipeline_uses_metadata_dt():
    module = paper_lif_module(metadata={"dt": 2e-4})
    report = lower_to_fixedpoint(module)
    assert list(module.ops)[0].dt.value.data == 2e-4
    assert report.find("1", "voltage_decay").max_rel_error < 1e-3
    module = paper_lif_module(metadata={"dt": 2e-4})
    lower_to_fixedpoint(module, dt=1e-4)
    assert list(module.ops)[0].dt.value.data == 1e-4


PAPER_FILES = [
    "neuromorphs-NIR__cnn_sinabs.nir",
    "neuromorphs-NIR__lif_norse.nir",
    "neuromorphs-NIR__braille_noDelay_bias_zero.nir",
    "neuromorphs-NIR__braille_noDelay_noBias_subtract.nir",
]


@pytest.mark.parametrize("file_name", PAPER_FILES)
def test_paper_file_lowers_to_fixed_point(file_name):
    hdf5 = pytest.importorskip("nirmlir.hdf5", reason="the HDF5 importer is not installed")
    module = hdf5.import_nir(require_shared(SHARED / "corpus" / "real" / file_name), make_context())
    # These graphs carry no dt in their metadata, so the pipeline warns and uses its default.
    with pytest.warns(DiagnosticWarning, match="no dt given"):
        LowerToFixedPointPass().apply(make_context(), module)
    assert_only_fixed_point(module)


# --------------------------------------------------------------------------------------
# Scale options
# --------------------------------------------------------------------------------------


def direct_lif_module() -> ModuleOp:
    """Input[2] -> LIF with two time constants, on a plain edge that needs an fxp.rescale."""
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(2,))
    params = neuron_params(2, r=1.0, v_leak=0.0, v_threshold=0.1, v_reset=0.0)
    params["tau"] = np.array([2.5e-3, 5e-3])
    builder.node(nir.LIFOp, "lif", [source.output], (2,), **params)
    return builder.module()


def test_per_channel_is_per_output_channel():
    per_channel, _ = quantized(paper_rnn_module(), weight_granularity="per-channel")
    per_output, _ = quantized(paper_rnn_module(), weight_granularity="per-output-channel")
    for name in ("fc1", "lif1.w_rec", "fc2"):
        np.testing.assert_array_equal(values(find(per_channel, name), "weight"), values(find(per_output, name), "weight"))
        np.testing.assert_array_equal(values(find(per_channel, name), "weight_scale"), values(find(per_output, name), "weight_scale"))


def test_per_target_neuron_scales_plain_edges():
    per_output, _ = quantized(direct_lif_module(), weight_granularity="per-output-channel")
    per_neuron, _ = quantized(direct_lif_module(), weight_granularity="per-target-neuron")
    # No weight op feeds the group, so per-output-channel has one scale; per-target-neuron has one per neuron.
    assert values(find(per_output, "lif"), "voltage_scale").shape == ()
    scales = values(find(per_neuron, "lif"), "voltage_scale")
    assert scales.shape == (2,)
    np.testing.assert_allclose(scales[0] / scales[1], 2.0, rtol=1e-6)


def test_percentile_clip_saturates_outlier():
    builder = GraphBuilder()
    source = builder.node(nir.InputOp, "input", shape=(8,))
    weight = np.full((1, 8), 0.1)
    weight[0, 0] = 1.0
    affine = builder.node(nir.AffineOp, "fc", [source.output], (1,), weight=weight, bias=np.zeros(1))
    builder.node(nir.LIFOp, "lif", [affine.output], (1,), **neuron_params(1, tau=2.5e-3, r=1.0, v_leak=0.0, v_threshold=0.1, v_reset=0.0))
    ops, report = quantized(builder.module(), clip="percentile", clip_percentile=50)
    integers = values(find(ops, "fc"), "weight")
    # The median weight uses the full range, and the outlier saturates at it.
    assert integers.tolist() == [[127] * 8]
    assert report.find("fc", "weight").max_rel_error == pytest.approx(0.9, rel=1e-3)


def test_threshold_bits_coarsen_state_unit():
    ops, report = quantized(paper_lif_module(), threshold_bits=6)
    lif = find(ops, "1")
    assert values(lif, "v_threshold").tolist() == [31]
    assert values(lif, "v_threshold").dtype == np.int8
    assert lif.threshold_bits.value.data == 6
    assert report.find("1", "v_threshold").max_rel_error < 0.02


def test_state_scale_range_refines_threshold(corpus_dir):
    hdf5 = pytest.importorskip("nirmlir.hdf5", reason="the HDF5 importer is not installed")
    path = corpus_dir / "neuromorphs-NIR__braille_noDelay_bias_zero.nir"
    errors = {}
    for state_scale in ("weights", "range"):
        module = hdf5.import_nir(path, make_context())
        discretize_module(module, resolve_preset("snntorch"), DT)
        report = quantize_module(module, QuantizeOptions(state_scale=state_scale))
        errors[state_scale] = report.find("lif1.lif", "v_threshold").max_rel_error, report.find("fc1", "bias").max_rel_error
        assert report.layer("lif1.lif").state_shift == (0 if state_scale == "weights" else 10)
    # The threshold is about 10 units of the weights' unit, so it rounds by up to 5%; a unit
    # 2^10 times finer rounds it, and the bias that the shifted input lets it keep, 1000 times better.
    assert errors["weights"][0] > 0.04
    assert errors["range"][0] < errors["weights"][0] / 100
    assert errors["range"][1] < errors["weights"][1] / 10


def test_state_scale_range_shifts_inputs_exactly():
    ops, _ = quantized(paper_lif_module(), state_scale="range")
    rescale, affine, lif = find(ops, "input->0.rescale"), find(ops, "0"), find(ops, "1")
    assert affine.operands[0] is rescale.output
    shift = int(np.log2(values(rescale, "multiplier")))
    assert values(rescale, "multiplier") == 2**shift
    assert rescale.shift.value.data == 0
    # The integer weights stay those of the weights' unit; the state unit is 2^shift times finer.
    assert values(affine, "weight").tolist() == [[127]]
    np.testing.assert_allclose(values(lif, "voltage_scale") * 2**shift, 0.04 / 127, rtol=1e-6)
    assert 2 * values(lif, "v_threshold")[0] <= 32767
