"""Every real `.nir` file of the shared corpus: each loads and round-trips, or is rejected
with a diagnostic that names the fault.

A loaded file is exported and imported again (the generic IR text must be identical),
and, when the reference reader nir 1.0.8 reads the original, it must read the export
as an equal graph. A rejected file must raise a `DiagnosticError` naming the file and
containing the key words listed for it.
"""

from __future__ import annotations

import io
from pathlib import Path

import nir
import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.printer import Printer

from nirmlir.context import make_context
from nirmlir.diagnostics import DiagnosticError
from nirmlir.dialects.nir import GraphOp, NIRNodeOp, OutputOp
from nirmlir.hdf5 import export_nir, import_nir

# File -> (nodes in @main, edges in @main, shape of each Output of @main). Node counts
# include the Input and Output nodes that nir.read also adds.
LOADED: dict[str, tuple[int, int, list[list[int]]]] = {
    "BlackAqualad-snn2mcu__snntorch_braille7_model@2026-01-29-cff5471.nir": (7, 7, [[7]]),
    "BlackAqualad-snn2mcu__snntorch_snn_232.nir": (8, 7, [[2]]),
    "kmheckel-spyx__braille_noDelay_bias_zero_subgraph.nir": (6, 5, [[7]]),
    "kmheckel-spyx__braille_noDelay_noBias_subtract_subgraph.nir": (6, 5, [[7]]),
    "kmheckel-spyx__scnn_mnist.nir": (15, 14, [[10]]),
    "mrontio-nir4s__samples-cnn_sinabs@2025-09-18-aeaba57.nir": (15, 14, [[10]]),
    "mrontio-nir4s__samples-conv1@2025-08-26-f75a86d.nir": (3, 2, [[16, 10]]),
    "mrontio-nir4s__samples-conv1@2025-08-27-f823d1c.nir": (3, 2, [[16, 10]]),
    "mrontio-nir4s__samples-li@2025-09-10-3eda0f5.nir": (3, 2, [[1]]),
    "mrontio-nir4s__samples-lif@2025-09-10-8ac1c94.nir": (3, 2, [[1]]),
    "neuromorphs-NIRTorch__feedback_graph@c227521.nir": (7, 7, [[3]]),
    "neuromorphs-NIR__braille@2023-10-19-047410e.nir": (7, 7, [[7]]),
    "neuromorphs-NIR__braille@2023-10-19-111b0a4.nir": (7, 7, [[7]]),
    "neuromorphs-NIR__braille@2023-10-19-82d89d4.nir": (7, 7, [[7]]),
    # 0-d CubaLIF parameters, broadcast to the 38 neurons that fc1 feeds.
    "neuromorphs-NIR__braille_flattened@2023-10-13-1900430.nir": (7, 7, [[7]]),
    "neuromorphs-NIR__braille_noDelay_bias_zero.nir": (7, 7, [[7]]),
    "neuromorphs-NIR__braille_noDelay_noBias_subtract.nir": (7, 7, [[7]]),
    "neuromorphs-NIR__braille_subtract@2023-10-20-3cbddd2.nir": (7, 7, [[7]]),
    "neuromorphs-NIR__braille_v2a@2023-10-19-64a0b95.nir": (7, 7, [[7]]),
    "neuromorphs-NIR__braille_zero@2023-10-20-11a0ee4.nir": (7, 7, [[7]]),
    "neuromorphs-NIR__cnn_sinabs.nir": (15, 14, [[10]]),
    "neuromorphs-NIR__lif_norse.nir": (4, 3, [[1]]),
    # 0-d LIF parameters, broadcast to the 1000 values of the Input.
    "neuromorphs-NIR__lif_norse@2023-08-25-3a3afb6.nir": (3, 2, [[1000]]),
    # 0-d r and v_leak next to (1,) tau and v_threshold, broadcast to (1,).
    "neuromorphs-NIR__lif_norse@2023-08-28-2b0feb3.nir": (4, 3, [[1]]),
    "neuromorphs-NIR__scnn_mnist@2023-10-16-232ebad.nir": (15, 14, [[10]]),
    "neuromorphs-NIR__two_lif_neurons.nir": (6, 5, [[1]]),
}

_DANGLING_LIF = ("edge ('input', 'lif') in graph 'lif1' names node 'lif', which does not exist",)
_DANGLING_LIF1 = ("names node 'lif1', which does not exist", "'lif1.lif'")
_NESTED_INPUT_12 = ("graph 'hidden'", "'input' (Input) gives shape [12]", "expects [38]")
_BATCHED_CONV_INPUT = ("'input' (Input) gives shape [1, 2, 34, 34]", "rank 3", "batch")
_TIME_MAJOR_INPUT = ("'input' (Input) gives shape [100, 1]", "expects [1]", "extra leading dimension")

# File -> key words that the diagnostic must contain.
REJECTED: dict[str, tuple[str, ...]] = {
    "kmheckel-spyx__spyx_shd@2024-01-25-8764a75.nir": (
        "'input' (Input) gives shape [128]", "'linear' (Linear) expects [64]", "(out, in)",
    ),
    "mrontio-nir4s__samples-li@2025-08-26-abfdf92.nir": _TIME_MAJOR_INPUT,
    "mrontio-nir4s__samples-lif@2025-08-26-380303e.nir": _TIME_MAJOR_INPUT,
    "neuromorphs-NIRTorch__braille@0a1d97d.nir": _NESTED_INPUT_12,
    "neuromorphs-NIR__Braille_snntorch@2023-08-29-3049cfa.nir": (
        "not an HDF5 file", "ZIP/pickle archive (torch.save?)", "NIR files are HDF5",
    ),
    "neuromorphs-NIR__braille@2023-10-05-c381ba2.nir": (
        "'lif1r' (Affine) gives shape [63]", "'lif1' (CubaLIF) expects [16]",
    ),
    "neuromorphs-NIR__braille@2023-10-11-f4edd0a.nir": _DANGLING_LIF1,
    "neuromorphs-NIR__braille@2023-10-12-a7c67c3.nir": _DANGLING_LIF1,
    "neuromorphs-NIR__braille_noDelay_bias_zero_subgraph.nir": _DANGLING_LIF,
    "neuromorphs-NIR__braille_noDelay_noBias_subtract_subgraph.nir": _DANGLING_LIF,
    "neuromorphs-NIR__braille_subgraph@2023-10-12-77b4a80.nir": _NESTED_INPUT_12,
    "neuromorphs-NIR__braille_subtract_subgraph@2023-10-23-aee771e.nir": _DANGLING_LIF,
    "neuromorphs-NIR__braille_v2@2023-10-17-c777885.nir": _DANGLING_LIF1,
    "neuromorphs-NIR__braille_v2@2023-10-18-50b2fc2.nir": _DANGLING_LIF1,
    "neuromorphs-NIR__braille_zero_subgraph@2023-10-23-c5db44f.nir": _DANGLING_LIF,
    "neuromorphs-NIR__lif_rockpool.nir": (
        "'1_LIFNeuronTorch' (LIF) gives shape [1]", "'output' (Output) declares [1, 1, 1]",
    ),
    "neuromorphs-NIR__scnn_mnist@2023-09-26-ac9b387.nir": _BATCHED_CONV_INPUT,
    "neuromorphs-NIR__scnn_mnist@2023-10-05-669fbfa.nir": _BATCHED_CONV_INPUT,
    "neuromorphs-NIR__scnn_mnist@2023-10-05-9122dac.nir": _BATCHED_CONV_INPUT,
    "neuromorphs-NIR__scnn_mnist@2023-10-18-e5ac832.nir": (
        "'8' (Flatten) gives shape [8, 16]", "'9' (Affine) expects [128]", "start_dim=0",
    ),
    "norse-norse__braille@2023-10-12-4bea868.nir": _NESTED_INPUT_12,
    "synsense-rockpool__braille.nir": _NESTED_INPUT_12,
}

MUST_LOAD = (
    "neuromorphs-NIR__lif_norse.nir",
    "neuromorphs-NIR__cnn_sinabs.nir",
    "neuromorphs-NIR__braille_noDelay_bias_zero.nir",
    "neuromorphs-NIR__braille_noDelay_noBias_subtract.nir",
)


def generic_text(module: ModuleOp) -> str:
    stream = io.StringIO()
    Printer(stream=stream, print_generic_format=True).print_op(module)
    return stream.getvalue()


def _main_graph(module: ModuleOp) -> GraphOp:
    return next(op for op in module.ops if isinstance(op, GraphOp) and op.sym_name.data == "main")


def _reference_read(path: Path):
    """Return `nir.read(path)` with type checking, or None when nir 1.0.8 rejects the file."""
    try:
        return nir.read(path)
    except Exception:  # nir raises ValueError, TypeError, KeyError, AssertionError, OSError
        return None


def test_corpus_expectations_cover_each_file(corpus_dir: Path) -> None:
    names = {path.name for path in corpus_dir.glob("*.nir")}
    assert not names - LOADED.keys() - REJECTED.keys(), "files without an expectation"
    assert not (LOADED.keys() | REJECTED.keys()) - names, "expectations for missing files"
    assert set(MUST_LOAD) <= LOADED.keys()


def test_corpus_file(corpus_name: str, corpus_dir: Path, tmp_path: Path, same_nir_graph) -> None:
    path = corpus_dir / corpus_name
    if corpus_name in REJECTED:
        with pytest.raises(DiagnosticError) as caught:
            import_nir(path, make_context())
        diagnostic = str(caught.value)
        assert corpus_name in diagnostic, "the diagnostic must name the file"
        for words in REJECTED[corpus_name]:
            assert words in diagnostic
        return

    assert corpus_name in LOADED, f"no expectation for {corpus_name}; add it to LOADED or REJECTED"
    module = import_nir(path, make_context())
    # The importer runs only the ops' own rules, so xDSL's generic checks run here.
    module.verify()
    node_count, edge_count, output_shapes = LOADED[corpus_name]
    main = _main_graph(module)
    assert len(main.nodes) == node_count
    assert sum(len(op.operands) for op in main.nodes) == edge_count
    outputs = [list(op.inputs[0].type.get_shape()) for op in main.nodes if isinstance(op, OutputOp)]
    assert outputs == output_shapes

    exported = tmp_path / corpus_name
    export_nir(module, exported)
    assert generic_text(import_nir(exported, make_context())) == generic_text(module)

    original = _reference_read(path)
    if original is not None:
        same_nir_graph(original, nir.read(exported))


def _text_functions():
    """Return (module -> text, text -> module) from nirmlir's printer and parser."""
    printer = pytest.importorskip("nirmlir.printer", reason="nirmlir.printer is not written yet")
    parser = pytest.importorskip("nirmlir.parser", reason="nirmlir.parser is not written yet")

    def parse_text(text: str) -> ModuleOp:
        return parser.parse_module(text, make_context())

    return printer.module_to_text, parse_text


def _parameters(module: ModuleOp) -> dict[tuple[str, str, str], tuple]:
    """Return (graph, node, parameter) -> (dtype, shape, bytes) for every dense parameter."""
    found = {}
    for graph in module.ops:
        assert isinstance(graph, GraphOp)
        for op in graph.nodes:
            for name, value in op.params().items():
                if hasattr(value, "dtype"):
                    key = (graph.sym_name.data, op.node_name.data, name)
                    found[key] = (value.dtype, value.shape, value.tobytes())
    return found


def test_corpus_text_round_trip(corpus_name: str, corpus_dir: Path) -> None:
    if corpus_name in REJECTED:
        pytest.skip("the importer rejects this file")
    print_text, parse_text = _text_functions()
    module = import_nir(corpus_dir / corpus_name, make_context())

    text = print_text(module)
    parsed = parse_text(text)
    assert print_text(parsed) == text
    assert _parameters(parsed) == _parameters(module)
    assert all(isinstance(op, NIRNodeOp) for graph in parsed.ops for op in graph.body.block.ops)
