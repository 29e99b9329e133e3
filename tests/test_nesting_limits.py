"""Deeply nested text input: the parser rejects it at the limit with a diagnostic, and
everything up to the limit parses, verifies, prints and runs through the passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nirmlir.context import make_context
from nirmlir.diagnostics import DiagnosticError
from nirmlir.limits import MAX_NESTING_DEPTH, MAX_TENSOR_RANK
from nirmlir.parser import parse_module
from nirmlir.printer import module_to_text
from nirmlir.registry import load_pass
from nirmlir.verification import verify_module


def nested_modules(depth: int) -> str:
    return "builtin.module {\n" * depth + "}\n" * depth


def nested_generic_modules(depth: int) -> str:
    # The innermost region needs its block written out: a generic region without one has
    # no block, which the module verifier rejects.
    outer = depth - 1
    innermost = '"builtin.module"() ({\n^bb0:\n}) : () -> ()\n'
    return '"builtin.module"() ({\n' * outer + innermost + "}) : () -> ()\n" * outer


def graph_with_attribute(value: str) -> str:
    return f"nir.graph @g attributes {{a = {value}}} {{\n}}\n"


def parse(text: str):
    return parse_module(text, make_context(), "deep.mlir")


def parse_error(text: str) -> DiagnosticError:
    with pytest.raises(DiagnosticError) as caught:
        parse(text)
    return caught.value


def assert_survives_every_stage(text: str) -> None:
    """Parse, verify, print in both forms, read back and run the lowering passes."""
    module = parse(text)
    verify_module(module)
    printed = module_to_text(module)
    generic = module_to_text(module, generic=True)
    assert module_to_text(parse(generic)) == printed
    context = make_context()
    load_pass("nir-inline-subgraphs")().apply(context, module)
    load_pass("discretize")(dt=1e-4).apply(context, module)
    verify_module(module)
    module_to_text(module)


@pytest.mark.parametrize("build", [nested_modules, nested_generic_modules])
def test_regions_at_limit_survive(build):
    assert_survives_every_stage(build(MAX_NESTING_DEPTH))


@pytest.mark.parametrize("build", [nested_modules, nested_generic_modules])
def test_regions_beyond_limit_rejected(build):
    error = parse_error(build(MAX_NESTING_DEPTH + 1))
    assert error.message == f"nesting deeper than {MAX_NESTING_DEPTH} regions"
    assert error.location.line == MAX_NESTING_DEPTH + 1


def test_attribute_nesting_at_limit_survives():
    # The op's attribute dictionary is the outermost bracket.
    depth = MAX_NESTING_DEPTH - 1
    arrays = "[" * depth + "1" + "]" * depth
    dictionaries = "{a = " * depth + "1" + "}" * depth
    mixed = "[{a = " * (depth // 2) + "1" + "}]" * (depth // 2)
    for value in (arrays, dictionaries, mixed):
        assert_survives_every_stage(graph_with_attribute(value))


@pytest.mark.parametrize(
    "value",
    [
        "[" * MAX_NESTING_DEPTH + "1" + "]" * MAX_NESTING_DEPTH,
        "{a = " * MAX_NESTING_DEPTH + "1" + "}" * MAX_NESTING_DEPTH,
        "[{a = " * 5000 + "1" + "}]" * 5000,
    ],
    ids=["arrays", "dictionaries", "mixed-5000"],
)
def test_attribute_nesting_beyond_limit_rejected(value):
    error = parse_error(graph_with_attribute(value))
    assert error.message == f"nesting deeper than {MAX_NESTING_DEPTH} brackets in an attribute"
    assert error.location.line == 1


def test_type_nesting_at_limit_survives():
    tuples = "tuple<" * MAX_NESTING_DEPTH + "f32" + ">" * MAX_NESTING_DEPTH
    assert_survives_every_stage(graph_with_attribute(tuples))


def test_type_nesting_beyond_limit_rejected():
    depth = 5000
    error = parse_error(graph_with_attribute("tuple<" * depth + "f32" + ">" * depth))
    assert error.message.startswith(f"nesting deeper than {MAX_NESTING_DEPTH} brackets in 'tuple<")
    assert (error.location.line, error.location.column) == (1, 30)


def test_tensor_rank_at_limit_survives():
    assert_survives_every_stage(graph_with_attribute("tensor<" + "1x" * MAX_TENSOR_RANK + "f32>"))


@pytest.mark.parametrize("rank", [MAX_TENSOR_RANK + 1, 5000])
def test_tensor_rank_beyond_limit_rejected(rank):
    tensor = "tensor<" + "1x" * rank + "f32>"
    dense = "dense<" + "[" * rank + "1.0" + "]" * rank + "> : " + tensor
    for value in (tensor, dense):
        error = parse_error(graph_with_attribute(value))
        assert error.message.endswith(
            f"has {rank} dimensions; at most {MAX_TENSOR_RANK} are supported"
        )


def test_nir_opt_reports_deep_nesting():
    depth = 5000
    script = Path(sys.executable).with_name("nir-opt")
    result = subprocess.run(
        [str(script)], input=nested_modules(depth).encode(), capture_output=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"<stdin>:{MAX_NESTING_DEPTH + 1}:16: error: nesting deeper than"
        f" {MAX_NESTING_DEPTH} regions\n"
    )
