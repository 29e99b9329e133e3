"""Property tests over generated valid NIR graphs: every pass verifies, every round trip is exact.

Each example is a graph from `nir_strategies.nir_graphs`, written with `nir.write` and
imported. The properties:
- the imported module verifies, and its text parses back to the same text, also through
  the generic form;
- exporting to HDF5 and importing again gives the same text;
- under one preset per test case, nir-inline-subgraphs, discretize and quantize each
  produce a module that verifies and whose text round trip is exact, and
  lower-to-fixedpoint gives the same module as the three passes in a row.
A pass may reject a valid graph that its target cannot represent (current-based neurons
under the event-exact integrator, a weight that rounds to zero in fixed point), but only
with a diagnostic that names the node.

The examples are derandomized, so CI runs the same cases each time.
"""

from __future__ import annotations

import io
import warnings

import nir
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nir_strategies import nir_graphs
from nirmlir.context import make_context
from nirmlir.diagnostics import DiagnosticError, DiagnosticWarning
from nirmlir.hdf5 import export_nir, import_nir
from nirmlir.parser import parse_module
from nirmlir.pipeline import run_pass_pipeline
from nirmlir.presets import PRESETS
from nirmlir.printer import module_to_text
from nirmlir.verification import verify_module

DT = 1e-4
QUANTIZE_OPTIONS = ("", "weight-bits=16 state-bits=32 accumulator-bits=64")
"""The default widths, and wide ones that fit graphs whose small weights round to zero in 8 bits."""
EXAMPLES_PER_PRESET = 50
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_PRESET,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def import_graph(graph: nir.NIRGraph):
    buffer = io.BytesIO()
    nir.write(buffer, graph)
    buffer.seek(0)
    return import_nir(buffer, make_context(), filename="<generated>")


def assert_text_round_trip(module) -> str:
    """Verify ``module``; check that its custom and generic texts parse back to the same text."""
    verify_module(module)
    text = module_to_text(module)
    assert module_to_text(parse_module(text, make_context())) == text
    generic = module_to_text(module, generic=True)
    assert module_to_text(parse_module(generic, make_context())) == text
    return text


def run_pass(text: str, pipeline: str) -> str:
    """Parse ``text``, run ``pipeline``, verify the result and return its text after a round-trip check."""
    module = parse_module(text, make_context())
    with warnings.catch_warnings():
        # The range analysis warns about wide static bounds, which are reports, not failures.
        warnings.simplefilter("ignore", DiagnosticWarning)
        run_pass_pipeline(module, pipeline)
    return assert_text_round_trip(module)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@FUZZ_SETTINGS
@given(graph=nir_graphs(), quantize=st.sampled_from(QUANTIZE_OPTIONS))
def test_generated_graph_passes_verify(preset: str, graph: nir.NIRGraph, quantize: str) -> None:
    module = import_graph(graph)
    text = assert_text_round_trip(module)

    buffer = io.BytesIO()
    export_nir(module, buffer, compression=None)
    buffer.seek(0)
    assert module_to_text(import_nir(buffer, make_context(), filename="<exported>")) == text

    inlined = run_pass(text, "nir-inline-subgraphs")
    assert "nir.subgraph" not in inlined
    try:
        discrete = run_pass(inlined, f"discretize{{dt={DT} preset={preset}}}")
        assert "nir." not in discrete
        fixed = run_pass(discrete, f"quantize{{{quantize}}}")
    except DiagnosticError as error:
        assert_names_node(error, graph)
        return
    assert "snn." not in fixed
    event("lowered to fxp")
    assert run_pass(text, f"lower-to-fixedpoint{{dt={DT} preset={preset} {quantize}}}") == fixed


def assert_names_node(error: DiagnosticError, graph: nir.NIRGraph) -> None:
    """Check that a pass's rejection is located at a node of the graph and names that node."""
    event(f"rejected: {error.message.split(': ', 1)[-1][:40]}")
    node_path = error.location.node_path
    assert len(node_path) == 2, str(error)
    assert node_path[1] in graph.nodes or node_path[1].split(".")[0] in graph.nodes, str(error)
    assert f"node '{node_path[1]}'" in error.message
