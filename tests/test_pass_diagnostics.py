"""Diagnostics of the lowering passes: input levels, dt, option names, op locations and
numeric edge cases that must never reach the user as numpy warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nirmlir.context import make_context
from nirmlir.diagnostics import DiagnosticError, DiagnosticWarning
from nirmlir.parser import location_of, parse_module
from nirmlir.passes.quantize_numbers import multiplier_and_shift, round_half_away
from nirmlir.registry import load_pass
from nirmlir.verification import verify_module

LIF_GRAPH = """\
nir.graph @main {metadata} {{
  %input = nir.input "input" : tensor<2xf32>
  %fc = nir.affine "fc"(%input) {{weight = dense<{weight}> : tensor<2x2xf64>, bias = dense<{bias}> : tensor<2xf64>}} : tensor<2xf32>
  %lif = nir.lif "lif"(%fc) {{tau = dense<{tau}> : tensor<2xf64>, r = dense<{r}> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<{v_threshold}> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>}} : tensor<2xf32>
  nir.output "output"(%lif) : tensor<2xf32>
}}
"""

DEFAULTS = {"weight": "1.0", "bias": "0.0", "tau": "1.0e-02", "r": "1.0", "v_threshold": "1.0"}


def lif_module(metadata: str = "", **values: str):
    """Parse the LIF graph; ``metadata`` is the text after ``@main``, values replace DEFAULTS."""
    text = LIF_GRAPH.format(metadata=metadata, **{**DEFAULTS, **values})
    module = parse_module(text, make_context(), "lif.mlir")
    verify_module(module)
    return module


def run(module, spec: str, **options) -> None:
    load_pass(spec)(**options).apply(make_context(), module)


def pass_error(module, spec: str, **options) -> DiagnosticError:
    with pytest.raises(DiagnosticError) as caught:
        run(module, spec, **options)
    return caught.value


def snn_module():
    module = lif_module()
    run(module, "discretize", dt=1e-4)
    return module


# Input levels: a pass given another dialect's graphs rejects them instead of doing nothing.


@pytest.mark.parametrize(
    ("level", "spec", "message"),
    [
        ("nir", "quantize", "quantize takes the snn dialect; this module contains nir.graph @main; run discretize first"),
        ("snn", "discretize", "discretize takes the nir dialect; this module contains snn.graph @main, which is already discretized"),
        ("fxp", "discretize", "discretize takes the nir dialect; this module contains fxp.graph @main, which is already quantized"),
        ("fxp", "quantize", "quantize takes the snn dialect; this module contains fxp.graph @main, which is already quantized"),
        ("snn", "nir-inline-subgraphs", "nir-inline-subgraphs takes the nir dialect; this module contains snn.graph @main, which is already discretized"),
        (
            "snn",
            "lower-to-fixedpoint",
            "lower-to-fixedpoint takes the nir dialect; this module contains snn.graph @main, which is already discretized; run quantize instead",
        ),
    ],
)
def test_pass_rejects_wrong_level(level: str, spec: str, message: str):
    module = lif_module()
    if level != "nir":
        run(module, "discretize", dt=1e-4)
    if level == "fxp":
        run(module, "quantize")
    before = str(module)
    error = pass_error(module, spec)

    assert error.message == message
    assert error.op is list(module.ops)[0]
    assert str(module) == before


def test_level_error_located_at_graph():
    error = pass_error(lif_module(), "quantize")

    location = location_of(error.op)
    assert (location.file, location.line, location.column) == ("lif.mlir", 1, 1)


def test_module_without_graphs_accepted():
    module = parse_module("builtin.module {\n}\n", make_context())
    for spec in ("nir-inline-subgraphs", "discretize", "quantize"):
        run(module, spec)


# dt: the default of lower-to-fixedpoint warns, and metadata dt must be a number.


def test_default_dt_warns_at_graph():
    module = lif_module()
    with pytest.warns(DiagnosticWarning) as caught:
        run(module, "lower-to-fixedpoint")

    assert len(caught) == 1
    warning = caught[0].message
    assert warning.diagnostic.message == (
        "no dt given for graph @main; using dt=0.0001 s. Give dt as a pass option or as the "
        "graph's metadata dt"
    )
    assert warning.op.name == "nir.graph"


def test_given_dt_does_not_warn():
    for options, metadata in (({"dt": 1e-4}, ""), ({}, "attributes {metadata = {dt = 1.0e-04 : f64}}")):
        module = lif_module(metadata)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            run(module, "lower-to-fixedpoint", **options)


@pytest.mark.parametrize(
    ("value", "shown"),
    [('"abc"', '"abc"'), ("true", "true"), ("dense<[1.0, 2.0]> : tensor<2xf64>", "dense<[1.0, 2.0]> : tensor<2xf64>")],
)
@pytest.mark.parametrize("spec", ["discretize", "lower-to-fixedpoint"])
def test_invalid_metadata_dt_rejected(value: str, shown: str, spec: str):
    module = lif_module(f"attributes {{metadata = {{dt = {value}}}}}")
    error = pass_error(module, spec)

    assert error.message == (
        f"graph @main has metadata dt {shown}, which is not a number of seconds; set it to a "
        "number such as 1e-4, or give dt as a pass option"
    )
    assert error.op.name == "nir.graph"


def test_metadata_dt_string_number_accepted():
    module = lif_module('attributes {metadata = {dt = "2e-4"}}')
    run(module, "discretize")

    assert list(module.ops)[0].dt.value.data == 2e-4


# Options: errors name the pass whose options the user wrote.


def test_pipeline_option_error_names_pipeline():
    error = pass_error(lif_module(), "lower-to-fixedpoint", dt=1e-4, weight_bits=64)

    assert error.message == "lower-to-fixedpoint: invalid weight-bits 64; expected an integer from 2 to 32"


def test_pipeline_preset_error_names_pipeline():
    error = pass_error(lif_module(), "lower-to-fixedpoint", dt=1e-4, preset="bogus")

    assert error.message.startswith("lower-to-fixedpoint: unknown preset 'bogus'")


def test_quantize_option_error_names_quantize():
    error = pass_error(snn_module(), "quantize", weight_bits=64)

    assert error.message.startswith("quantize: invalid weight-bits 64")


# Node errors carry the op, so tools can print the line of a parsed op.


def test_discretize_node_error_carries_op():
    module = lif_module(tau="1.0e-05")
    lif_op = list(list(module.ops)[0].body.block.ops)[2]
    error = pass_error(module, "discretize", dt=1e-3)

    assert error.message.startswith("node 'lif': 'tau' 1e-05 s is shorter than dt 0.001 s")
    assert error.op is lif_op
    assert error.location.node_path == ("main", "lif")
    assert location_of(error.op).line == 4


def test_quantize_node_error_carries_op():
    module = snn_module()
    fc_op = list(list(module.ops)[0].body.block.ops)[1]
    error = pass_error(module, "quantize", state_bits=4)

    assert error.message.startswith("node 'fc': every weight rounds to zero")
    assert error.op is fc_op
    assert error.location.node_path == ("main", "fc")


# Numeric edge cases: a diagnostic or a result, never a numpy RuntimeWarning.


@pytest.mark.parametrize(
    "values",
    [
        {"bias": "1.0e+38"},
        {"bias": "1.7e+308"},
        {"weight": "1.7e+308"},
        {"r": "1.0e+300"},
        {"tau": "4.9e-324"},
        {"tau": "1.0e-300"},
        {"v_threshold": "1.7e+308"},
        {"v_threshold": "1.0e-300"},
        {"weight": "4.9e-324"},
    ],
)
@pytest.mark.parametrize("preset", ["norse", "sinabs", "nengo"])
def test_extreme_parameters_give_no_numpy_warning(values: dict[str, str], preset: str):
    module = lif_module(**values)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            run(module, "lower-to-fixedpoint", dt=1e-4, preset=preset)
        except DiagnosticError as error:
            assert error.message.startswith("node '")
            assert error.op is not None
        else:
            verify_module(module)


def test_discretize_overflow_is_a_node_diagnostic():
    # sinabs keeps the Euler gain dt/tau, here 1e300, and r scales it past float64.
    module = lif_module(r="1.0e+10", tau="1.0e-300")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        error = pass_error(module, "discretize", dt=1.0, preset="sinabs")

    assert error.message == (
        "node 'lif': its per-step coefficients fail in float64 (overflow encountered in multiply) "
        "at dt 1 s; its parameters are too large or too small"
    )
    assert error.op.name == "nir.lif"


def test_quantize_overflow_is_a_node_diagnostic():
    module = lif_module(weight="1.7e+308", r="1.7e+308")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        error = pass_error(module, "lower-to-fixedpoint", dt=1e-4)

    assert error.message.startswith(
        "node 'lif': quantizing its parameters fails in float64 (overflow encountered in multiply)"
    )
    assert error.op.name == "snn.lif"


def test_threshold_beyond_input_range_rejected():
    text = """\
nir.graph @main {
  %in = nir.input "in" : tensor<2xf32>
  %t = nir.threshold "t"(%in) {threshold = dense<1.0e+30> : tensor<2xf64>} : tensor<2xf32>
  nir.output "o"(%t) : tensor<2xf32>
}
"""
    module = parse_module(text, make_context())
    error = pass_error(module, "lower-to-fixedpoint", dt=1e-4)

    assert error.message == (
        "node 't': 'threshold' needs 64 bits in the unit of its input, but the input has 8 bits; "
        "lower the threshold"
    )


def test_round_half_away_saturates():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rounded = round_half_away(np.array([1e300, -1e300, 2.5, -2.5]))

    assert rounded.tolist() == [2**63 - 1024, -(2**63 - 1024), 3, -3]


def test_multiplier_of_subnormal_factor():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        multiplier, shift = multiplier_and_shift(np.array([5e-324]), 16)

    assert multiplier.tolist() == [0]
    assert shift >= 0


def test_api_compile_names_the_file(tmp_path):
    """nirmlir.compile on a path puts that file on pass diagnostics, which the passes cannot know."""
    import nir

    import nirmlir

    weights = np.full((2, 2), 1e-30, dtype=np.float32)
    graph = nir.NIRGraph.from_list(
        nir.Affine(weights, np.zeros(2, np.float32)),
        nir.LIF(np.full(2, 1e-3), np.ones(2), np.zeros(2), np.full(2, 1e30), np.zeros(2)),
    )
    path = tmp_path / "tiny_weights.nir"
    nir.write(path, graph)
    with pytest.raises(DiagnosticError) as caught:
        nirmlir.compile(path, preset="norse", dt=1e-4, level="fxp")
    assert str(caught.value.diagnostic.location) == f"{path}:main/affine"
    assert "every weight rounds to zero" in caught.value.message


@pytest.mark.parametrize(
    ("pipeline", "option", "pass_name"),
    [
        ("discretize{dt=1e-4 dt=2e-4}", "dt", "discretize"),
        ("discretize{dt=1e-4 preset=norse},quantize{weight-bits=8 weight_bits=6}", "weight_bits", "quantize"),
        ('builtin.module(discretize{preset="norse" dt=1e-4 preset=lava})', "preset", "discretize"),
    ],
)
def test_repeated_pass_option_rejected(pipeline: str, option: str, pass_name: str):
    from nirmlir.pipeline import parse_pass_pipeline

    with pytest.raises(DiagnosticError) as caught:
        parse_pass_pipeline(pipeline)
    assert caught.value.message.startswith(f"option '{option}' of pass '{pass_name}' is given more than once")


def test_list_and_quoted_options_are_not_repeats():
    from nirmlir.pipeline import _option_names

    assert list(_option_names('a{x=1,2,3 y="p q=r"},b,c{z=1}')) == [("a", ["x", "y"]), ("c", ["z"])]


@pytest.mark.parametrize(
    ("pipeline", "quoted"),
    [
        ("map-to-cores{calibration-input=bin.npy}", 'calibration-input="bin.npy"'),
        ("map-to-cores{seed=1 calibration-input=/data/x.npy}", 'calibration-input="/data/x.npy"'),
    ],
)
def test_unquoted_value_gets_quoting_hint(pipeline: str, quoted: str):
    from nirmlir.pipeline import parse_pass_pipeline

    with pytest.raises(DiagnosticError) as caught:
        parse_pass_pipeline(pipeline)
    assert caught.value.message.endswith(f"quote a value with other characters than letters, digits, '_' and '-': {quoted}")


def test_other_errors_get_no_quoting_hint():
    from nirmlir.pipeline import parse_pass_pipeline

    with pytest.raises(DiagnosticError) as caught:
        parse_pass_pipeline("map-to-cores{seed=1}}")
    assert "quote" not in caught.value.message
