"""Regression tests for faults that users reported in NIR exporters, importers and files.

Each test builds the smallest graph that triggers one kind of fault and, where the real
corpus contains a file with the same fault, loads that file too. The expected behaviour is
the one a correct NIR compiler should have. A test marked xfail states where nirmlir
currently differs from it.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp

import nirmlir
from nirmlir.context import make_context
from nirmlir.diagnostics import DiagnosticError
from nirmlir.dialects.nir import GraphOp, NIRNodeOp
from nirmlir.hdf5 import export_nir, import_nir

STRING = h5py.string_dtype()


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def load(path: Path) -> ModuleOp:
    return import_nir(path, make_context())


def reject(path: Path) -> str:
    """Import `path`, expect a DiagnosticError and return its message."""
    with pytest.raises(DiagnosticError) as caught:
        load(path)
    return str(caught.value)


def node_op(module: ModuleOp, name: str, graph: str = "main") -> NIRNodeOp:
    graph_op = next(op for op in module.ops if isinstance(op, GraphOp) and op.sym_name.data == graph)
    return next(op for op in graph_op.nodes if op.node_name.data == name)


def result_shape(module: ModuleOp, name: str, graph: str = "main") -> list[int]:
    """The shape of the node's result, or of its first operand for an Output node."""
    op = node_op(module, name, graph)
    value = op.results[0] if op.results else op.operands[0]
    return list(value.type.get_shape())


def ones(*shape: int) -> np.ndarray:
    return np.ones(shape, np.float32)


def zeros(*shape: int) -> np.ndarray:
    return np.zeros(shape, np.float32)


def full(value: float, *shape: int) -> np.ndarray:
    return np.full(shape, value, np.float32)


def write(path: Path, graph: nir.NIRGraph) -> Path:
    nir.write(path, graph)
    return path


def write_h5(path: Path, members: dict) -> Path:
    """Write a NIR file with h5py, for graphs that nir 1.0.8 refuses to build or write."""

    def fill(group: h5py.Group, values: dict) -> None:
        for key, value in values.items():
            if isinstance(value, dict):
                fill(group.create_group(key), value)
            elif isinstance(value, str):
                group.create_dataset(key, data=value, dtype=STRING)
            else:
                group.create_dataset(key, data=np.asarray(value))

    with h5py.File(path, "w") as file:
        file.create_dataset("version", data="1.0.8", dtype=STRING)
        fill(file.create_group("node"), members)
    return path


def h5_graph(nodes: dict, edges: list[tuple[str, str]]) -> dict:
    return {"type": "NIRGraph", "nodes": nodes, "edges": np.array(edges, dtype=STRING)}


def h5_io(kind: str, *shape: int) -> dict:
    return {"type": kind, "shape": np.array(shape, dtype=np.int64)}


def lif(size: int, **overrides) -> nir.LIF:
    params = {"tau": full(1e-3, size), "r": ones(size), "v_leak": zeros(size),
              "v_threshold": ones(size), "v_reset": zeros(size)}
    params.update(overrides)
    return nir.LIF(**params)


def cuba_lif(size: int, w_in: float = 1.0, **overrides) -> nir.CubaLIF:
    params = {"tau_syn": full(2e-3, size), "tau_mem": full(4e-3, size), "r": ones(size),
              "v_leak": zeros(size), "v_threshold": ones(size), "v_reset": zeros(size),
              "w_in": full(w_in, size)}
    params.update(overrides)
    return nir.CubaLIF(**params)


def chain(*names: str) -> list[tuple[str, str]]:
    return list(zip(names, names[1:]))


# --------------------------------------------------------------------------------------
# A batch dimension in the Input node
# --------------------------------------------------------------------------------------


def test_batch_dim_affine_rejected(tmp_path: Path) -> None:
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1, 16])), "fc": nir.Affine(weight=ones(32, 16), bias=zeros(32)),
               "lif": lif(32), "output": nir.Output(np.array([32]))},
        edges=chain("input", "fc", "lif", "output"),
        type_check=False,
    )
    message = reject(write(tmp_path / "batch.nir", graph))

    assert "('input', 'fc')" in message
    assert "[1, 16]" in message
    assert "[16]" in message


def test_batch_dim_conv2d_rejected(tmp_path: Path) -> None:
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1, 2, 34, 34])),
               "conv": nir.Conv2d(input_shape=(34, 34), weight=ones(16, 2, 5, 5), stride=2, padding=1,
                                  dilation=1, groups=1, bias=zeros(16)),
               "output": nir.Output(np.array([16, 16, 16]))},
        edges=chain("input", "conv", "output"),
        type_check=False,
    )
    message = reject(write(tmp_path / "batch_conv.nir", graph))

    assert "conv" in message
    assert "[1, 2, 34, 34]" in message


@pytest.mark.parametrize(
    "name, input_shape",
    [("neuromorphs-NIR__scnn_mnist@2023-09-26-ac9b387.nir", "[1, 2, 34, 34]"),
     ("mrontio-nir4s__samples-lif@2025-08-26-380303e.nir", "[100, 1]")],
)
def test_batch_dim_corpus_rejected(corpus_dir: Path, name: str, input_shape: str) -> None:
    message = reject(corpus_dir / name)

    assert input_shape in message


# --------------------------------------------------------------------------------------
# Neurons with 0-d parameters
# --------------------------------------------------------------------------------------


def scalar_cuba_lif() -> dict:
    scalar = np.float32(1.0)
    return {"type": "CubaLIF", "tau_syn": np.float32(2e-3), "tau_mem": np.float32(4e-3), "r": scalar,
            "v_leak": np.float32(0.0), "v_threshold": scalar, "v_reset": np.float32(0.0), "w_in": scalar}


def test_scalar_params_broadcast_to_edge(tmp_path: Path) -> None:
    """Give 0-d neuron parameters the width of the incoming edge (3), unless the import rejects them."""
    nodes = {"input": h5_io("Input", 4),
             "fc": {"type": "Affine", "weight": ones(3, 4), "bias": zeros(3)},
             "lif": scalar_cuba_lif(),
             "output": h5_io("Output", 3)}
    path = write_h5(tmp_path / "scalar.nir", h5_graph(nodes, chain("input", "fc", "lif", "output")))

    try:
        module = load(path)
    except DiagnosticError as error:
        assert "infer" in str(error)
        return
    assert result_shape(module, "lif") == [3]
    assert result_shape(module, "output") == [3]


def test_scalar_params_corpus_braille(corpus_dir: Path) -> None:
    path = corpus_dir / "neuromorphs-NIR__braille_flattened@2023-10-13-1900430.nir"
    module = load(path)

    shapes = {op.node_name.data: list(op.results[0].type.get_shape())
              for op in next(op for op in module.ops if isinstance(op, GraphOp)).nodes
              if op.results and "lif" in op.node_name.data}
    assert shapes
    for name, shape in shapes.items():
        assert shape not in ([], [0], [1]), f"{name} has shape {shape}"


# --------------------------------------------------------------------------------------
# LIF files with and without v_reset
# --------------------------------------------------------------------------------------


def lif_file(path: Path, with_reset: bool) -> Path:
    params = {"type": "LIF", "tau": full(1e-3, 2), "r": ones(2), "v_leak": zeros(2), "v_threshold": ones(2)}
    if with_reset:
        params["v_reset"] = full(0.5, 2)
    nodes = {"input": h5_io("Input", 2), "lif": params, "output": h5_io("Output", 2)}
    return write_h5(path, h5_graph(nodes, chain("input", "lif", "output")))


@pytest.mark.parametrize("with_reset, expected_reset", [(False, 0.0), (True, 0.5)])
def test_v_reset_optional(tmp_path: Path, with_reset: bool, expected_reset: float) -> None:
    """With tau = dt the Euler step sets v = r·x, so an input of 2 spikes on every step.

    The voltage after each step is then the reset value, which is 0 when v_reset is missing.
    """
    path = lif_file(tmp_path / "lif.nir", with_reset)
    inputs = np.full((3, 2), 2.0)

    traces = nirmlir.simulate(path, inputs, preset="norse", dt=1e-3, record=["lif"])

    assert traces["lif"]["spikes"].sum() == 6
    np.testing.assert_array_equal(traces["lif"]["v"], np.full((3, 2), expected_reset))


@pytest.mark.parametrize(
    "name",
    ["BlackAqualad-snn2mcu__snntorch_braille7_model@2026-01-29-cff5471.nir",
     "neuromorphs-NIRTorch__feedback_graph@c227521.nir",
     "neuromorphs-NIR__two_lif_neurons.nir"],
)
def test_v_reset_corpus_loads(corpus_dir: Path, name: str) -> None:
    assert isinstance(load(corpus_dir / name), ModuleOp)


# --------------------------------------------------------------------------------------
# A graph built with NIRGraph.from_list
# --------------------------------------------------------------------------------------


def test_from_list_graph_compiles() -> None:
    graph = nir.NIRGraph.from_list(nir.Affine(weight=np.eye(2, dtype=np.float32), bias=zeros(2)), lif(2))
    inputs = np.array([[2.0, 0.0], [0.0, 2.0]])

    traces = nirmlir.simulate(graph, inputs, preset="norse", dt=1e-3)

    # from_list names the added nodes input and output. With tau = dt each step sets v = r·x.
    assert list(graph.nodes) == ["input", "affine", "lif", "output"]
    np.testing.assert_array_equal(traces["output"]["spikes"], [[1, 0], [0, 1]])


# --------------------------------------------------------------------------------------
# SumPool2d type inference
# --------------------------------------------------------------------------------------


def test_sum_pool_output_inferred(tmp_path: Path) -> None:
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2, 8, 8])),
               "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
               "output": nir.Output(np.array([2, 4, 4]))},
        edges=chain("input", "pool", "output"),
    )
    module = load(write(tmp_path / "pool.nir", graph))

    assert result_shape(module, "pool") == [2, 4, 4]

    # A sum over each 2x2 window of ones is 4, but an average would give 1.
    traces = nirmlir.simulate(module, np.ones((1, 2, 8, 8)), preset="norse", dt=1e-3)
    np.testing.assert_array_equal(traces["output"]["value"], np.full((1, 2, 4, 4), 4.0))


def test_sum_pool_corpus_loads(corpus_dir: Path) -> None:
    module = load(corpus_dir / "neuromorphs-NIR__cnn_sinabs.nir")

    pools = [op for op in next(op for op in module.ops if isinstance(op, GraphOp)).nodes
             if op.name.endswith("sum_pool2d")]
    assert len(pools) == 2


# --------------------------------------------------------------------------------------
# Conv input_shape missing or present
# --------------------------------------------------------------------------------------


def test_conv2d_without_input_shape(tmp_path: Path) -> None:
    conv = {"type": "Conv2d", "weight": ones(4, 2, 3, 3), "bias": zeros(4),
            "stride": np.array([1, 1]), "padding": np.array([1, 1]), "dilation": np.array([1, 1]),
            "groups": np.int64(1)}
    nodes = {"input": h5_io("Input", 2, 8, 8), "conv": conv, "output": h5_io("Output", 4, 8, 8)}
    module = load(write_h5(tmp_path / "conv2d.nir", h5_graph(nodes, chain("input", "conv", "output"))))

    assert result_shape(module, "conv") == [4, 8, 8]


def test_conv1d_with_input_shape(tmp_path: Path) -> None:
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([16, 20])),
               "conv": nir.Conv1d(input_shape=20, weight=ones(16, 16, 3), stride=2, padding=1, dilation=1,
                                  groups=1, bias=zeros(16)),
               "output": nir.Output(np.array([16, 10]))},
        edges=chain("input", "conv", "output"),
    )
    module = load(write(tmp_path / "conv1d.nir", graph))

    assert result_shape(module, "conv") == [16, 10]


@pytest.mark.parametrize(
    "name",
    ["mrontio-nir4s__samples-conv1@2025-08-26-f75a86d.nir",
     "neuromorphs-NIR__scnn_mnist@2023-10-16-232ebad.nir"],
)
def test_conv_input_shape_corpus_loads(corpus_dir: Path, name: str) -> None:
    assert isinstance(load(corpus_dir / name), ModuleOp)


@pytest.mark.parametrize(
    "name",
    ["neuromorphs-NIR__scnn_mnist@2023-10-05-669fbfa.nir",
     "neuromorphs-NIR__scnn_mnist@2023-10-05-9122dac.nir"],
)
def test_conv_no_input_shape_corpus(corpus_dir: Path, name: str) -> None:
    """These files lack input_shape and also keep a batch dimension of 1 in the Input node.

    The batch dimension must be what the import rejects, not the missing input_shape.
    """
    message = reject(corpus_dir / name)

    assert "[1, 2, 34, 34]" in message
    assert "extra leading dimension" in message
    assert "input_shape" not in message


# --------------------------------------------------------------------------------------
# Flatten start_dim taken from a batched framework
# --------------------------------------------------------------------------------------


def flatten_graph(start_dim: int) -> nir.NIRGraph:
    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([8, 4, 4])),
               "flatten": nir.Flatten(input_type={"input": np.array([8, 4, 4])}, start_dim=start_dim, end_dim=-1),
               "fc": nir.Affine(weight=ones(10, 128), bias=zeros(10)),
               "output": nir.Output(np.array([10]))},
        edges=chain("input", "flatten", "fc", "output"),
        type_check=False,
    )


def test_flatten_start_dim_one_rejected(tmp_path: Path) -> None:
    message = reject(write(tmp_path / "flatten.nir", flatten_graph(start_dim=1)))

    assert "('flatten', 'fc')" in message
    assert "[8, 16]" in message
    assert "128" in message


def test_flatten_start_dim_zero_compiles(tmp_path: Path) -> None:
    module = load(write(tmp_path / "flatten.nir", flatten_graph(start_dim=0)))

    assert result_shape(module, "flatten") == [128]
    assert result_shape(module, "output") == [10]


def test_flatten_corpus_rejected(corpus_dir: Path) -> None:
    message = reject(corpus_dir / "neuromorphs-NIR__scnn_mnist@2023-10-18-e5ac832.nir")

    assert "[8, 16]" in message
    assert "128" in message


# --------------------------------------------------------------------------------------
# IF is an ideal integrator
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "preset, first_spike",
    # Both presets add r·x = 0.0625 per step, so v reaches exactly 1.0 at step index 15,
    # after 16 steps of input. sinabs spikes on v >= threshold, there. snnTorch spikes
    # on v > threshold, so its first spike is one step later, at index 16 (t = 17 when
    # counted from 1).
    [("sinabs", 15), ("snntorch", 16)],
)
def test_if_integrates_without_leak(tmp_path: Path, preset: str, first_spike: int) -> None:
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])),
               "if": nir.IF(r=ones(1), v_threshold=ones(1), v_reset=zeros(1)),
               "output": nir.Output(np.array([1]))},
        edges=chain("input", "if", "output"),
    )
    inputs = np.full((20, 1), 0.0625)

    traces = nirmlir.simulate(write(tmp_path / "if.nir", graph), inputs, preset=preset, dt=1e-3, record=["if"])
    voltage = traces["if"]["v"][:, 0]
    spikes = traces["if"]["spikes"][:, 0]

    np.testing.assert_allclose(voltage[:15], 0.0625 * np.arange(1, 16))
    assert np.flatnonzero(spikes)[0] == first_spike
    assert voltage[first_spike] == pytest.approx(0.0)


# --------------------------------------------------------------------------------------
# The recurrent Braille network, nested and flat
# --------------------------------------------------------------------------------------


def braille_params(seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"w1": rng.normal(0, 0.5, (38, 12)).astype(np.float32), "b1": zeros(38),
            "w_rec": rng.normal(0, 0.2, (38, 38)).astype(np.float32),
            "w2": rng.normal(0, 0.5, (7, 38)).astype(np.float32), "b2": zeros(7)}


def flat_braille(params: dict[str, np.ndarray], w_in: float) -> nir.NIRGraph:
    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([12])),
               "fc1": nir.Affine(weight=params["w1"], bias=params["b1"]),
               "lif1": cuba_lif(38, w_in=w_in),
               "w_rec": nir.Linear(weight=params["w_rec"]),
               "fc2": nir.Affine(weight=params["w2"], bias=params["b2"]),
               "lif2": cuba_lif(7),
               "output": nir.Output(np.array([7]))},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "w_rec"), ("w_rec", "lif1"),
               ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
    )


def nested_braille(params: dict[str, np.ndarray], w_in: float) -> nir.NIRGraph:
    recurrent = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([38])),
               "lif": cuba_lif(38, w_in=w_in),
               "w_rec": nir.Linear(weight=params["w_rec"]),
               "output": nir.Output(np.array([38]))},
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([12])),
               "fc1": nir.Affine(weight=params["w1"], bias=params["b1"]),
               "lif1": recurrent,
               "fc2": nir.Affine(weight=params["w2"], bias=params["b2"]),
               "lif2": cuba_lif(7),
               "output": nir.Output(np.array([7]))},
        edges=chain("input", "fc1", "lif1", "fc2", "lif2", "output"),
    )


def braille_inputs(steps: int = 30, seed: int = 5) -> np.ndarray:
    return (np.random.default_rng(seed).random((steps, 12)) < 0.4).astype(np.float64)


def test_braille_nested_matches_flat(tmp_path: Path) -> None:
    params = braille_params()
    inputs = braille_inputs()
    flat = write(tmp_path / "flat.nir", flat_braille(params, w_in=2.0))
    nested = write(tmp_path / "nested.nir", nested_braille(params, w_in=2.0))

    flat_spikes = nirmlir.simulate(flat, inputs, preset="snntorch", dt=1e-3)["output"]["value"]
    nested_spikes = nirmlir.simulate(nested, inputs, preset="snntorch", dt=1e-3)["output"]["value"]

    assert flat_spikes.sum() > 0
    np.testing.assert_array_equal(nested_spikes, flat_spikes)


def test_braille_w_in_scales_current_only(tmp_path: Path) -> None:
    """Doubling w_in and halving the input weights leaves the spikes unchanged, so w_in
    reaches the synaptic current and nothing else (no threshold rescaling)."""
    params = braille_params()
    halved = dict(params, w1=params["w1"] / 2, w_rec=params["w_rec"] / 2)
    inputs = braille_inputs()
    hidden = "lif1.lif"

    reference = nirmlir.simulate(write(tmp_path / "two.nir", nested_braille(params, w_in=2.0)), inputs,
                                 preset="snntorch", dt=1e-3, record=[hidden])
    scaled = nirmlir.simulate(write(tmp_path / "four.nir", nested_braille(halved, w_in=4.0)), inputs,
                              preset="snntorch", dt=1e-3, record=[hidden])

    assert reference[hidden]["spikes"].sum() > 0
    np.testing.assert_array_equal(scaled[hidden]["spikes"], reference[hidden]["spikes"])
    np.testing.assert_allclose(scaled[hidden]["v"], reference[hidden]["v"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(scaled["output"]["value"], reference["output"]["value"])


def test_braille_corpus_nested_matches_flat(corpus_dir: Path) -> None:
    nested = corpus_dir / "kmheckel-spyx__braille_noDelay_bias_zero_subgraph.nir"
    flat = corpus_dir / "neuromorphs-NIR__braille_noDelay_bias_zero.nir"
    inputs = braille_inputs(steps=20)

    nested_output = nirmlir.simulate(nested, inputs, preset="snntorch", dt=1e-4)
    flat_output = nirmlir.simulate(flat, inputs, preset="snntorch", dt=1e-4)

    assert set(nested_output) == set(flat_output)
    assert flat_output["output"]["spikes"].sum() > 0
    for name in flat_output:
        np.testing.assert_array_equal(nested_output[name]["value"], flat_output[name]["value"])


def unrolled_braille(params: dict[str, np.ndarray], inputs: np.ndarray, dt: float) -> dict[str, np.ndarray]:
    """Simulate the flat Braille graph step by step under snnTorch's forward-Euler rule.

    The feedback edge w_rec reads lif1's spikes from the previous step. The other edges
    carry this step's values. Each CubaLIF updates i ← (1 - dt/τ_syn)·i + (dt/τ_syn)·w_in·x,
    then v ← v + (dt/τ_mem)·(v_leak - v + r·i), spikes when v > v_threshold and resets to 0.
    """
    alpha, beta = dt / 2e-3, dt / 4e-3
    w_in = 2.0
    i1, v1, s1 = np.zeros(38), np.zeros(38), np.zeros(38)
    i2, v2 = np.zeros(7), np.zeros(7)
    trace = {"v1": [], "s1": [], "s2": []}
    for x in inputs:
        x1 = params["w1"] @ x + params["b1"] + params["w_rec"] @ s1
        i1 = (1 - alpha) * i1 + alpha * w_in * x1
        v1 = v1 + beta * (i1 - v1)
        s1 = (v1 > 1.0).astype(float)
        v1 = np.where(s1 > 0, 0.0, v1)
        x2 = params["w2"] @ s1 + params["b2"]
        i2 = (1 - alpha) * i2 + alpha * x2
        v2 = v2 + beta * (i2 - v2)
        s2 = (v2 > 1.0).astype(float)
        v2 = np.where(s2 > 0, 0.0, v2)
        trace["v1"].append(v1)
        trace["s1"].append(s1)
        trace["s2"].append(s2)
    return {key: np.array(values) for key, values in trace.items()}


def test_top_level_loop_matches_unrolled(tmp_path: Path) -> None:
    params = braille_params()
    inputs = braille_inputs(steps=12)
    path = write(tmp_path / "loop.nir", flat_braille(params, w_in=2.0))

    traces = nirmlir.simulate(path, inputs, preset="snntorch", dt=1e-3, record=["lif1"])
    expected = unrolled_braille(params, inputs, dt=1e-3)

    assert expected["s1"].sum() > 0
    np.testing.assert_allclose(traces["lif1"]["v"], expected["v1"], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(traces["lif1"]["spikes"], expected["s1"])
    np.testing.assert_array_equal(traces["output"]["value"], expected["s2"])


@pytest.mark.parametrize(
    "name",
    ["neuromorphs-NIR__braille_noDelay_bias_zero.nir",
     "BlackAqualad-snn2mcu__snntorch_braille7_model@2026-01-29-cff5471.nir",
     "neuromorphs-NIRTorch__feedback_graph@c227521.nir"],
)
def test_top_level_loop_corpus_simulates(corpus_dir: Path, name: str) -> None:
    module = load(corpus_dir / name)
    program = nirmlir.api.prepare(module, preset="snntorch", dt=1e-4)
    inputs = {input_name: np.zeros((5, *shape)) for input_name, shape in program.inputs.items()}

    traces = nirmlir.api.run_program(program, inputs)

    assert traces
    for keys in traces.values():
        for array in keys.values():
            assert array.shape[0] == 5


# --------------------------------------------------------------------------------------
# CubaLIF w_in and the Output type survive a round trip
# --------------------------------------------------------------------------------------


def test_w_in_round_trips(tmp_path: Path) -> None:
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([3])), "lif": cuba_lif(3, w_in=2.0), "output": nir.Output(np.array([3]))},
        edges=chain("input", "lif", "output"),
    )
    exported = tmp_path / "exported.nir"
    export_nir(load(write(tmp_path / "original.nir", graph)), exported)

    again = nir.read(exported)
    np.testing.assert_array_equal(again.nodes["lif"].w_in, np.full(3, 2.0, np.float32))
    np.testing.assert_array_equal(np.asarray(again.nodes["output"].output_type["output"]), [3])


def test_w_in_missing_defaults_to_one(tmp_path: Path) -> None:
    params = {"type": "CubaLIF", "tau_syn": full(2e-3, 3), "tau_mem": full(4e-3, 3), "r": ones(3),
              "v_leak": zeros(3), "v_threshold": ones(3), "v_reset": zeros(3)}
    nodes = {"input": h5_io("Input", 3), "lif": params, "output": h5_io("Output", 3)}
    path = write_h5(tmp_path / "no_w_in.nir", h5_graph(nodes, chain("input", "lif", "output")))
    exported = tmp_path / "exported.nir"
    export_nir(load(path), exported)

    np.testing.assert_array_equal(nir.read(exported).nodes["lif"].w_in, np.ones(3))


def test_w_in_default_recorded(tmp_path: Path, caplog: pytest.LogCaptureFixture, recwarn) -> None:
    params = {"type": "CubaLIF", "tau_syn": full(2e-3, 3), "tau_mem": full(4e-3, 3), "r": ones(3),
              "v_leak": zeros(3), "v_threshold": ones(3), "v_reset": zeros(3)}
    nodes = {"input": h5_io("Input", 3), "lif": params, "output": h5_io("Output", 3)}
    path = write_h5(tmp_path / "no_w_in.nir", h5_graph(nodes, chain("input", "lif", "output")))

    module = load(path)

    op = node_op(module, "lif")
    records = [str(name) for name in op.attributes] + [str(value) for value in op.attributes.values()]
    records += [record.getMessage() for record in caplog.records] + [str(warning.message) for warning in recwarn]
    assert any("w_in" in record for record in records)


def test_w_in_missing_corpus_defaults(corpus_dir: Path, tmp_path: Path) -> None:
    """Read a Braille export without w_in and check that w_in = 1 is written back.

    The braille@2023-10-05 export also has a width mismatch at ('lif1r', 'lif1'), so this test
    reads a later export of the same network, which also lacks w_in.
    """
    exported = tmp_path / "exported.nir"
    export_nir(load(corpus_dir / "neuromorphs-NIR__braille@2023-10-19-111b0a4.nir"), exported)

    graph = nir.read(exported)
    cuba_nodes = [node for node in graph.nodes.values() if isinstance(node, nir.CubaLIF)]
    assert cuba_nodes
    for node in cuba_nodes:
        np.testing.assert_array_equal(node.w_in, np.ones_like(node.w_in))


# --------------------------------------------------------------------------------------
# Edges that name a missing node
# --------------------------------------------------------------------------------------


def test_dangling_subgraph_edge_rejected(tmp_path: Path) -> None:
    lif_members = {"type": "LIF", "tau": full(1e-3, 2), "r": ones(2), "v_leak": zeros(2),
                   "v_threshold": ones(2), "v_reset": zeros(2)}
    inner = h5_graph(
        {"input": h5_io("Input", 2), "lif1": lif_members,
         "w_rec": {"type": "Linear", "weight": ones(2, 2)}, "output": h5_io("Output", 2)},
        [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    nodes = {"input": h5_io("Input", 2), "rnn": inner, "output": h5_io("Output", 2)}
    message = reject(write_h5(tmp_path / "dangling.nir", h5_graph(nodes, chain("input", "rnn", "output"))))

    assert "rnn" in message
    assert "'lif'" in message


@pytest.mark.parametrize(
    "name, missing",
    [("neuromorphs-NIR__braille_noDelay_bias_zero_subgraph.nir", "'lif'"),
     ("neuromorphs-NIR__braille_noDelay_noBias_subtract_subgraph.nir", "'lif'"),
     ("neuromorphs-NIR__braille@2023-10-11-f4edd0a.nir", "'lif1'"),
     ("neuromorphs-NIR__braille_v2@2023-10-17-c777885.nir", "'lif1'")],
)
def test_dangling_edge_corpus_rejected(corpus_dir: Path, name: str, missing: str) -> None:
    message = reject(corpus_dir / name)

    assert missing in message


# --------------------------------------------------------------------------------------
# Weights stored (in, out)
# --------------------------------------------------------------------------------------


def test_transposed_weight_rejected(tmp_path: Path) -> None:
    nodes = {"input": h5_io("Input", 128), "linear": {"type": "Linear", "weight": ones(128, 64)},
             "output": h5_io("Output", 128)}
    message = reject(write_h5(tmp_path / "transposed.nir", h5_graph(nodes, chain("input", "linear", "output"))))

    assert "linear" in message
    assert "[128]" in message
    assert "64" in message


def test_transposed_weight_corpus_rejected(corpus_dir: Path) -> None:
    message = reject(corpus_dir / "kmheckel-spyx__spyx_shd@2024-01-25-8764a75.nir")

    assert "128" in message
    assert "64" in message


# --------------------------------------------------------------------------------------
# A torch.save archive with a .nir extension
# --------------------------------------------------------------------------------------


class _Marker:
    """A pickled object whose unpickling creates a file, to detect any call to pickle.load."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_pickle_archive_rejected(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    path = tmp_path / "model.nir"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(_Marker(marker)))

    message = reject(path)

    assert "HDF5" in message
    assert not marker.exists()


def test_pickle_archive_corpus_rejected(corpus_dir: Path) -> None:
    assert "HDF5" in reject(corpus_dir / "neuromorphs-NIR__Braille_snntorch@2023-08-29-3049cfa.nir")


# --------------------------------------------------------------------------------------
# Mixed 0-d and shape-(1,) LIF parameters
# --------------------------------------------------------------------------------------


def test_mixed_rank_params_handled(tmp_path: Path) -> None:
    """Broadcast 0-d r and v_leak to the shape (1,) of tau and v_threshold, or reject them.

    A DiagnosticError is the only acceptable failure, so a bare AssertionError fails the test.
    """
    params = {"type": "LIF", "tau": full(1e-3, 1), "r": np.float32(1.0), "v_leak": np.float32(0.0),
              "v_threshold": ones(1)}
    nodes = {"input": h5_io("Input", 1), "lif": params, "output": h5_io("Output", 1)}
    path = write_h5(tmp_path / "mixed.nir", h5_graph(nodes, chain("input", "lif", "output")))

    try:
        module = load(path)
    except DiagnosticError:
        return
    assert result_shape(module, "lif") == [1]


@pytest.mark.parametrize("name", ["neuromorphs-NIR__lif_norse@2023-08-28-2b0feb3.nir"])
def test_mixed_rank_corpus_handled(corpus_dir: Path, name: str) -> None:
    try:
        module = load(corpus_dir / name)
    except DiagnosticError:
        return
    assert isinstance(module, ModuleOp)


# --------------------------------------------------------------------------------------
# Output type with extra size-1 dimensions
# --------------------------------------------------------------------------------------


def test_output_extra_dims_rejected(tmp_path: Path) -> None:
    params = {"type": "LIF", "tau": full(1e-3, 1), "r": ones(1), "v_leak": zeros(1),
              "v_threshold": ones(1), "v_reset": zeros(1)}
    nodes = {"input": h5_io("Input", 1), "lif": params, "output": h5_io("Output", 1, 1, 1)}
    message = reject(write_h5(tmp_path / "output.nir", h5_graph(nodes, chain("input", "lif", "output"))))

    assert "[1, 1, 1]" in message
    assert "[1]" in message


def test_output_extra_dims_corpus_rejected(corpus_dir: Path) -> None:
    assert "[1, 1, 1]" in reject(corpus_dir / "neuromorphs-NIR__lif_rockpool.nir")


# --------------------------------------------------------------------------------------
# Time constants in seconds or in steps, and no guessed dt
# --------------------------------------------------------------------------------------


def lif_graph(tau: float) -> nir.NIRGraph:
    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "lif": lif(1, tau=full(tau, 1)), "output": nir.Output(np.array([1]))},
        edges=chain("input", "lif", "output"),
    )


def test_tau_units_follow_dt(tmp_path: Path) -> None:
    """tau = 0.02 s with dt = 1 ms and tau = 20 steps with dt = 1 give the same a = dt/tau."""
    inputs = np.full((40, 1), 1.5)
    seconds = write(tmp_path / "seconds.nir", lif_graph(0.02))
    steps = write(tmp_path / "steps.nir", lif_graph(20.0))

    in_seconds = nirmlir.simulate(seconds, inputs, preset="norse", dt=1e-3, record=["lif"])["lif"]
    in_steps = nirmlir.simulate(steps, inputs, preset="norse", dt=1.0, record=["lif"])["lif"]

    assert in_seconds["spikes"].sum() > 0
    np.testing.assert_allclose(in_seconds["v"], in_steps["v"], rtol=1e-6)
    np.testing.assert_array_equal(in_seconds["spikes"], in_steps["spikes"])


def test_missing_dt_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "lif.nir", lif_graph(0.02))

    with pytest.raises(DiagnosticError) as caught:
        nirmlir.simulate(path, np.ones((3, 1)), preset="norse")

    assert "dt" in str(caught.value)
