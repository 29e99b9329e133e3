"""The HDF5 bridge against the reference `nir` package and on hand-built files.

Graphs built with nir 1.0.8 and written with `nir.write` must survive import and
export: `nir.read` of our file equals `nir.read` of theirs. Small files written with
h5py exercise each tolerance rule and each rejection of the importer.
"""

from __future__ import annotations

import importlib.util
import io
import math
import os
import pickle
import zipfile
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
from xdsl.dialects.builtin import DictionaryAttr, ModuleOp, StringAttr, SymbolRefAttr, UnitAttr
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from nirmlir.context import make_context
from nirmlir.dense import numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects.nir import NODE_OPS, GraphOp, NIRNodeOp, SubgraphOp, make_node
from nirmlir.hdf5 import FORMAT_VERSION, export_nir, import_nir
from nirmlir import hdf5_import
from nirmlir.hdf5_raw import PARALLEL_INFLATE_BYTES
from nirmlir.hdf5_import import EAGER_READ_BYTES

REPO_ROOT = Path(__file__).resolve().parent.parent
STRING = h5py.string_dtype()


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def generic_text(module: ModuleOp) -> str:
    stream = io.StringIO()
    Printer(stream=stream, print_generic_format=True).print_op(module)
    return stream.getvalue()


def load(path: Path) -> ModuleOp:
    module = import_nir(path, make_context())
    # The importer runs only the ops' own rules, so xDSL's generic checks run here.
    module.verify()
    return module


def graph_op(module: ModuleOp, symbol: str = "main") -> GraphOp:
    return next(op for op in module.ops if isinstance(op, GraphOp) and op.sym_name.data == symbol)


def node(module: ModuleOp, name: str, symbol: str = "main") -> NIRNodeOp:
    return next(op for op in graph_op(module, symbol).nodes if op.node_name.data == name)


def value_shape(op: NIRNodeOp) -> list[int]:
    """The shape of the op's result, or of its first operand for an Output."""
    value = op.results[0] if op.results else op.operands[0]
    return list(value.type.get_shape())


def reject(path: Path) -> DiagnosticError:
    with pytest.raises(DiagnosticError) as caught:
        load(path)
    return caught.value


def write_members(group: h5py.Group, members: dict) -> None:
    """Write a dict as HDF5: dicts become groups, str vlen UTF-8 strings, bytes
    fixed-length strings, anything else a dataset of np.asarray(value)."""
    for key, value in members.items():
        if isinstance(value, dict):
            write_members(group.create_group(key), value)
        elif isinstance(value, str):
            group.create_dataset(key, data=value, dtype=STRING)
        elif isinstance(value, bytes):
            group.create_dataset(key, data=np.bytes_(value))
        else:
            group.create_dataset(key, data=np.asarray(value))


def write_raw(path: Path, top: dict, version: str | None = "1.0.8") -> Path:
    with h5py.File(path, "w") as file:
        if version is not None:
            file.create_dataset("version", data=version, dtype=STRING)
        write_members(file.create_group("node"), top)
    return path


def graph(nodes: dict, edges: list[tuple[str, str]], **extra) -> dict:
    edge_data = np.array(edges, dtype=STRING) if edges else np.empty(0)
    return {"type": "NIRGraph", "nodes": nodes, "edges": edge_data, **extra}


def f32(*values) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def io_node(kind: str, *shape: int) -> dict:
    return {"type": kind, "shape": np.array(shape, dtype=np.int64)}


def affine(out_features: int, in_features: int) -> dict:
    weight = np.arange(out_features * in_features, dtype=np.float32).reshape(out_features, in_features)
    return {"type": "Affine", "weight": weight, "bias": np.zeros(out_features, np.float32)}


def lif(size: int, dtype=np.float32) -> dict:
    return {
        "type": "LIF",
        "tau": np.full(size, 0.01, dtype),
        "r": np.ones(size, dtype),
        "v_leak": np.zeros(size, dtype),
        "v_threshold": np.ones(size, dtype),
        "v_reset": np.zeros(size, dtype),
    }


def chain(*names: str) -> list[tuple[str, str]]:
    return list(zip(names, names[1:]))


def simple_lif_file(path: Path) -> Path:
    nodes = {"input": io_node("Input", 2), "lif": lif(2), "output": io_node("Output", 2)}
    return write_raw(path, graph(nodes, chain("input", "lif", "output")))


# --------------------------------------------------------------------------------------
# Round trips through the reference package
# --------------------------------------------------------------------------------------


def every_node_type_graph(dtype) -> nir.NIRGraph:
    """A graph with each of the 19 node types, parameters of `dtype`."""
    rng = np.random.default_rng(7)

    def signed(*shape):
        return rng.standard_normal(shape).astype(dtype)

    def positive(*shape):
        return (rng.random(shape) + 0.5).astype(dtype)

    n = 4
    recurrent = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n])),
            "lif": nir.LIF(tau=positive(n), r=positive(n), v_leak=signed(n), v_threshold=positive(n), v_reset=signed(n)),
            "w_rec": nir.Linear(weight=signed(n, n)),
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    nodes = {
        "input": nir.Input(np.array([1, 8, 8])),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=signed(2, 1, 3, 3), stride=1, padding=1,
                           dilation=1, groups=1, bias=signed(2)),
        "sum_pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "avg_pool": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "flatten": nir.Flatten(input_type={"input": np.array([2, 2, 2])}, start_dim=0, end_dim=-1),
        "affine": nir.Affine(weight=signed(n, 8), bias=signed(n)),
        "scale": nir.Scale(scale=signed(n)),
        "delay": nir.Delay(delay=positive(n)),
        "threshold": nir.Threshold(threshold=signed(n)),
        "integrator": nir.I(r=positive(n)),
        "if": nir.IF(r=positive(n), v_threshold=positive(n), v_reset=signed(n)),
        "li": nir.LI(tau=positive(n), r=positive(n), v_leak=signed(n)),
        "cuba_li": nir.CubaLI(tau_syn=positive(n), tau_mem=positive(n), r=positive(n), v_leak=signed(n), w_in=positive(n)),
        "cuba_lif": nir.CubaLIF(tau_syn=positive(n), tau_mem=positive(n), r=positive(n), v_leak=signed(n),
                                v_threshold=positive(n), v_reset=signed(n), w_in=positive(n)),
        "linear": nir.Linear(weight=signed(n, n)),
        "rnn": recurrent,
        "output": nir.Output(np.array([n])),
        "input_1d": nir.Input(np.array([2, 6])),
        "conv1d": nir.Conv1d(input_shape=6, weight=signed(3, 2, 3), stride=1, padding=0, dilation=1,
                             groups=1, bias=signed(3)),
        "output_1d": nir.Output(np.array([3, 4])),
    }
    names = ["input", "conv", "sum_pool", "avg_pool", "flatten", "affine", "scale", "delay",
             "threshold", "integrator", "if", "li", "cuba_li", "cuba_lif", "linear", "rnn", "output"]
    edges = chain(*names) + chain("input_1d", "conv1d", "output_1d")
    return nir.NIRGraph(nodes=nodes, edges=edges)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nir_round_trip_every_node_type(tmp_path: Path, dtype, same_nir_graph) -> None:
    original = tmp_path / "original.nir"
    exported = tmp_path / "exported.nir"
    nir.write(original, every_node_type_graph(dtype))

    module = load(original)
    export_nir(module, exported)

    op_names = {op.name for graph in module.ops for op in graph.body.block.ops}
    assert op_names == {op_class.name for op_class in NODE_OPS}
    same_nir_graph(nir.read(original), nir.read(exported))
    assert generic_text(load(exported)) == generic_text(module)


def test_import_keeps_dtype_shape_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "graph.nir"
    nir.write(path, every_node_type_graph(np.float64))
    written = nir.read(path)
    module = load(path)

    conv = node(module, "conv")
    weight = numpy_from_dense(conv.weight)
    assert weight.dtype == np.float64
    assert weight.tobytes() == written.nodes["conv"].weight.tobytes()
    assert value_shape(conv) == [2, 8, 8]
    assert value_shape(node(module, "sum_pool")) == [2, 4, 4]
    assert value_shape(node(module, "avg_pool")) == [2, 2, 2]
    assert value_shape(node(module, "flatten")) == [8]
    assert value_shape(node(module, "conv1d")) == [3, 4]


def test_nir_round_trip_metadata(tmp_path: Path, same_nir_graph) -> None:
    metadata = {
        "name": "example",
        "count": 3,
        "rate": 0.5,
        "gain": np.float32(0.25),
        "flag": True,
        "values": np.arange(3, dtype=np.float32),
        "indices": np.array([[1, 2], [3, 4]], dtype=np.int32),
        "mask": np.array([True, False]),
        "labels": ["a", "bb"],
        "nested": {"dt": 1e-4, "deeper": {"on": False}},
    }
    inner = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])), "scale": nir.Scale(scale=f32(1, 2)), "output": nir.Output(np.array([2]))},
        edges=chain("input", "scale", "output"),
        metadata={"role": "inner"},
    )
    outer = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([2])),
            "lif": nir.LIF(tau=f32(1, 1), r=f32(1, 1), v_leak=f32(0, 0), v_threshold=f32(1, 1),
                           metadata={"reset": "subtract", "steps": 10}),
            "inner": inner,
            "output": nir.Output(np.array([2])),
        },
        edges=chain("input", "lif", "inner", "output"),
        metadata=metadata,
    )
    original, exported = tmp_path / "original.nir", tmp_path / "exported.nir"
    nir.write(original, outer)

    module = load(original)
    export_nir(module, exported)

    read_back = nir.read(exported)
    same_nir_graph(nir.read(original), read_back)
    assert read_back.metadata["flag"] is np.True_
    assert read_back.metadata["gain"].dtype == np.float32
    assert read_back.metadata["nested"]["deeper"]["on"] is np.False_
    assert read_back.nodes["inner"].metadata == {"role": "inner"}
    assert read_back.nodes["lif"].metadata["reset"] == "subtract"


def test_empty_string_lists_round_trip(tmp_path: Path) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        metadata = file["node"].create_group("metadata")
        metadata.create_dataset("tags", data=np.zeros(0, dtype=object), dtype=h5py.string_dtype())
        metadata.create_dataset("grid", data=np.zeros((2, 0), dtype=object), dtype=h5py.string_dtype())
    module = load(path)
    exported = tmp_path / "exported.nir"
    export_nir(module, exported)

    assert generic_text(load(exported)) == generic_text(module)
    assert 'tags = []' in generic_text(module)
    assert 'grid = [[], []]' in generic_text(module)
    assert nir.read(exported).metadata["grid"].shape == (2, 0)


def test_nir_round_trip_recurrence(tmp_path: Path, same_nir_graph) -> None:
    n = 3
    weight = np.eye(n, dtype=np.float32) * 0.5
    graph_in = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n])),
            "lif1": nir.CubaLIF(tau_syn=f32(1, 1, 1), tau_mem=f32(2, 2, 2), r=f32(1, 1, 1), v_leak=f32(0, 0, 0),
                                v_threshold=f32(1, 1, 1)),
            "w_rec": nir.Linear(weight=weight),
            "lif2": nir.LIF(tau=f32(1, 1, 1), r=f32(1, 1, 1), v_leak=f32(0, 0, 0), v_threshold=f32(1, 1, 1)),
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "lif1"), ("lif1", "w_rec"), ("w_rec", "lif1"), ("lif1", "lif2"),
               ("lif2", "lif2"), ("lif2", "output")],
    )
    original, exported = tmp_path / "original.nir", tmp_path / "exported.nir"
    nir.write(original, graph_in)

    module = load(original)
    export_nir(module, exported)

    same_nir_graph(nir.read(original), nir.read(exported))
    lif1 = node(module, "lif1")
    assert [operand.owner.node_name.data for operand in lif1.operands] == ["input", "w_rec"]
    lif2 = node(module, "lif2")
    assert {operand.owner.node_name.data for operand in lif2.operands} == {"lif1", "lif2"}


def test_nested_graph_symbols_are_unique(tmp_path: Path) -> None:
    def inner(name: str) -> dict:
        nodes = {"input": io_node("Input", 2), name: lif(2), "output": io_node("Output", 2)}
        return graph(nodes, chain("input", name, "output"))

    middle = graph(
        {"input": io_node("Input", 2), "main": inner("a"), "output": io_node("Output", 2)},
        chain("input", "main", "output"),
    )
    top = graph(
        {"input": io_node("Input", 2), "main": middle, "other": inner("b"), "output": io_node("Output", 2)},
        chain("input", "main", "other", "output"),
    )
    module = load(write_raw(tmp_path / "nested.nir", top))

    symbols = [op.sym_name.data for op in module.ops]
    assert symbols == ["main", "main_1", "main_2", "other"]
    assert node(module, "main").graph == SymbolRefAttr("main_1")
    assert node(module, "main", "main_1").graph == SymbolRefAttr("main_2")


# --------------------------------------------------------------------------------------
# Tolerance for older and hand-written files
# --------------------------------------------------------------------------------------


def test_missing_version_loads(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", 2), "lif": lif(2), "output": io_node("Output", 2)}
    module = load(write_raw(tmp_path / "old.nir", graph(nodes, chain("input", "lif", "output")), version=None))
    assert value_shape(node(module, "lif")) == [2]


def test_missing_v_reset_is_zeros(tmp_path: Path) -> None:
    neuron = lif(3, np.float64)
    del neuron["v_reset"]
    nodes = {"input": io_node("Input", 3), "lif": neuron, "output": io_node("Output", 3)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "lif", "output"))))

    v_reset = numpy_from_dense(node(module, "lif").v_reset)
    assert v_reset.dtype == np.float64
    assert v_reset.tolist() == [0.0, 0.0, 0.0]


def test_missing_w_in_is_ones(tmp_path: Path) -> None:
    cuba = {
        "type": "CubaLIF", "tau_syn": f32(1, 1), "tau_mem": f32(2, 2), "r": f32(1, 1),
        "v_leak": f32(0, 0), "v_threshold": f32(1, 1),
    }
    nodes = {"input": io_node("Input", 2), "cuba": cuba, "output": io_node("Output", 2)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "cuba", "output"))))

    w_in = numpy_from_dense(node(module, "cuba").w_in)
    assert w_in.dtype == np.float32
    assert w_in.tolist() == [1.0, 1.0]


def conv2d(out_channels: int, in_channels: int, kernel: int, **fields) -> dict:
    weight = np.ones((out_channels, in_channels, kernel, kernel), np.float32)
    node_fields = {"type": "Conv2d", "weight": weight, "bias": np.zeros(out_channels, np.float32),
                   "stride": np.array([1, 1]), "padding": np.array([1, 1]), "dilation": np.array([1, 1]),
                   "groups": 1}
    node_fields.update(fields)
    return node_fields


def test_missing_conv_input_shape_is_inferred(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", 2, 8, 8), "conv": conv2d(4, 2, 3), "output": io_node("Output", 4, 8, 8)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "conv", "output"))))

    conv = node(module, "conv")
    assert conv.param("input_shape") == (8, 8)
    assert value_shape(conv) == [4, 8, 8]


def test_conv1d_output_shape(tmp_path: Path) -> None:
    conv = {"type": "Conv1d", "weight": np.ones((16, 16, 3), np.float32), "bias": np.zeros(16, np.float32),
            "stride": 2, "padding": 1, "dilation": 1, "groups": 1, "input_shape": 20}
    nodes = {"input": io_node("Input", 16, 20), "conv": conv, "output": io_node("Output", 16, 10)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "conv", "output"))))

    assert node(module, "conv").param("stride") == (2,)
    assert value_shape(node(module, "conv")) == [16, 10]


def test_int_conv_hyperparameters_become_pairs(tmp_path: Path) -> None:
    fields = conv2d(4, 2, 3, stride=2, padding=1, dilation=1, input_shape=np.array([8, 8]))
    nodes = {"input": io_node("Input", 2, 8, 8), "conv": fields, "output": io_node("Output", 4, 4, 4)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "conv", "output"))))

    conv = node(module, "conv")
    assert (conv.param("stride"), conv.param("padding"), conv.param("dilation")) == ((2, 2), (1, 1), (1, 1))
    assert value_shape(conv) == [4, 4, 4]


def test_small_equal_parameters_share_one_attribute(tmp_path: Path) -> None:
    first, second, third = lif(2), lif(2), lif(2)
    third["tau"] = f32(0.5, 0.25)
    nodes = {"input": io_node("Input", 2), "a": first, "b": second, "c": third, "output": io_node("Output", 2)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "a", "b", "c", "output"))))

    a, b, c = (node(module, name) for name in "abc")
    assert a.tau is b.tau
    assert a.v_threshold is b.v_threshold
    assert c.tau is not a.tau
    assert numpy_from_dense(c.tau).tolist() == [0.5, 0.25]
    assert numpy_from_dense(a.tau).tolist() == first["tau"].tolist()


@pytest.mark.parametrize("options", [{"chunks": (1, 2)}, {"chunks": (1, 2), "compression": "gzip"}])
def test_chunked_string_edges_read(tmp_path: Path, options: dict) -> None:
    # Chunked string references are checked chunk by chunk before HDF5 reads the strings.
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        edges = file["node/edges"][()]
        del file["node/edges"]
        file["node"].create_dataset("edges", data=edges, dtype=STRING, **options)
    module = load(path)

    assert [op.node_name.data for op in graph_op(module).body.block.ops] == ["input", "lif", "output"]
    assert value_shape(node(module, "lif")) == [2]


def replace_null_type(group: h5py.Group) -> None:
    del group["type"]
    group.create_dataset("type", data=h5py.Empty(h5py.string_dtype()))


def replace_tau_with_named_datatype(group: h5py.Group) -> None:
    del group["tau"]
    group["tau"] = np.dtype("<f4")  # commits a named datatype


def replace_type_with_bytes(group: h5py.Group) -> None:
    del group["type"]
    group.create_dataset("type", data=b"L\xffIF", dtype=h5py.string_dtype("ascii"))


@pytest.mark.parametrize(
    ("replace", "field", "message"),
    [
        (
            replace_null_type,
            "type",
            "the 'type' dataset must be a string naming the NIR node type; got an empty dataset "
            "(HDF5 null dataspace)",
        ),
        (
            replace_tau_with_named_datatype,
            "tau",
            "field 'tau' of node 'lif' (LIF) must be a dataset; got an HDF5 named datatype",
        ),
        (
            replace_type_with_bytes,
            "type",
            "'type' contains the bytes b'L\\xffIF', which are not UTF-8 text; NIR strings are UTF-8, "
            "so write the file's strings as UTF-8",
        ),
    ],
)
def test_replaced_lif_field_rejected(tmp_path: Path, replace, field: str, message: str) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        replace(file["node/nodes/lif"])
    error = reject(path)

    assert error.message == message
    assert error.location == Location(file=str(path), node_path=("lif",), field=field)


def test_string_padding_is_kept(tmp_path: Path) -> None:
    fields = conv2d(4, 2, 3, padding="same", stride=2, input_shape=np.array([9, 9]))
    nodes = {"input": io_node("Input", 2, 9, 9), "conv": fields, "output": io_node("Output", 4, 9, 9)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "conv", "output"))))

    assert node(module, "conv").padding == StringAttr("same")


def test_mixed_0d_parameters_broadcast(tmp_path: Path) -> None:
    neuron = {"type": "LIF", "tau": f32(0.01, 0.02), "r": np.float32(2.0), "v_leak": np.float32(0.0),
              "v_threshold": f32(1, 1)}
    nodes = {"input": io_node("Input", 2), "lif": neuron, "output": io_node("Output", 2)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "lif", "output"))))

    r = numpy_from_dense(node(module, "lif").r)
    assert r.dtype == np.float32
    assert r.tolist() == [2.0, 2.0]


def test_0d_parameters_take_incoming_shape(tmp_path: Path) -> None:
    scalar = np.float32(1.0)
    cuba = {"type": "CubaLIF", "tau_syn": scalar, "tau_mem": scalar, "r": scalar, "v_leak": np.float32(0),
            "v_threshold": scalar, "w_in": np.float32(2.0)}
    nodes = {"input": io_node("Input", 4), "fc": affine(3, 4), "cuba": cuba, "output": io_node("Output", 3)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "fc", "cuba", "output"))))

    cuba_op = node(module, "cuba")
    assert value_shape(cuba_op) == [3]
    assert numpy_from_dense(cuba_op.w_in).tolist() == [2.0, 2.0, 2.0]
    assert numpy_from_dense(cuba_op.v_reset).shape == (3,)


def scalar_lif() -> dict:
    return {"type": "LIF", "tau": np.float32(0.01), "r": np.float32(1), "v_leak": np.float32(0),
            "v_threshold": np.float32(1)}


def test_0d_root_neuron_rejected(tmp_path: Path) -> None:
    nodes = {"lif": scalar_lif(), "output": {"type": "Output"}}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("lif", "output"))))

    assert "cannot infer the neuron count of node 'lif'" in error.message
    assert error.location.node_path == ("lif",)


def test_0d_neurons_in_cycle_rejected(tmp_path: Path) -> None:
    nodes = {"a": scalar_lif(), "b": scalar_lif(), "output": {"type": "Output"}}
    edges = [("a", "b"), ("b", "a"), ("b", "output")]
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, edges)))

    assert "cannot infer the neuron count of node 'a'" in error.message


def test_byte_strings_decoded(tmp_path: Path) -> None:
    fields = conv2d(4, 2, 3, padding=b"same", input_shape=np.array([8, 8]))
    fields["type"] = b"Conv2d"
    nodes = {
        "input": {"type": b"Input", "shape": np.array([2, 8, 8])},
        "conv": fields,
        "output": {"type": b"Output", "shape": np.array([4, 8, 8])},
    }
    top = graph(nodes, [], metadata={"note": b"fixed-length"})
    top["type"] = b"NIRGraph"
    top["edges"] = np.array([[b"input", b"conv"], [b"conv", b"output"]])
    module = load(write_raw(tmp_path / "g.nir", top))

    assert node(module, "conv").padding == StringAttr("same")
    assert graph_op(module).attributes["metadata"] == DictionaryAttr({"note": StringAttr("fixed-length")})


def test_integer_edges_from_old_files(tmp_path: Path) -> None:
    # nir 0.0.x: nodes numbered from a list, edges as index pairs, Output without shape.
    nodes = {"0": io_node("Input", 2), "1": lif(2), "2": {"type": "Output"}}
    top = {"type": "NIRGraph", "nodes": nodes, "edges": np.array([[0, 1], [1, 2]], dtype=np.int64)}
    module = load(write_raw(tmp_path / "old.nir", top, version=None))

    assert [operand.owner.node_name.data for operand in node(module, "2").operands] == ["1"]
    assert value_shape(node(module, "2")) == [2]


def test_output_without_shape_takes_input_shape(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", 4), "fc": affine(3, 4), "output": {"type": "Output"}}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "fc", "output"))))
    assert value_shape(node(module, "output")) == [3]


def test_missing_boundary_nodes_added_like_nir_read(tmp_path: Path, same_nir_graph) -> None:
    # The root 'fc' needs an Input named 'input_fc', a name already taken.
    nodes = {"fc": affine(3, 4), "lif": lif(3), "input_fc": lif(3)}
    edges = [("fc", "lif"), ("fc", "input_fc")]
    path = write_raw(tmp_path / "g.nir", graph(nodes, edges))
    module = load(path)
    exported = tmp_path / "exported.nir"
    export_nir(module, exported)

    names = {op.node_name.data for op in graph_op(module).nodes}
    assert names == {"fc", "lif", "input_fc", "input_fc_0", "output_lif", "output_input_fc"}
    same_nir_graph(nir.read(path), nir.read(exported))


def test_pool_and_flatten_shapes_inferred(tmp_path: Path) -> None:
    pool = {"type": "SumPool2d", "kernel_size": np.array([2, 2]), "stride": np.array([2, 2]),
            "padding": np.array([0, 0])}
    flatten = {"type": "Flatten", "start_dim": 0, "end_dim": -1}
    nodes = {"input": io_node("Input", 2, 8, 8), "pool": pool, "flat": flatten, "output": {"type": "Output"}}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "pool", "flat", "output"))))

    assert value_shape(node(module, "pool")) == [2, 4, 4]
    assert value_shape(node(module, "flat")) == [32]


def test_pool_negative_padding_rejected(tmp_path: Path) -> None:
    pool = {"type": "SumPool2d", "kernel_size": np.array([2, 2]), "stride": np.array([2, 2]),
            "padding": np.array([-1, -1])}
    nodes = {"input": io_node("Input", 1, 8, 8), "pool": pool, "output": {"type": "Output"}}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "pool", "output"))))

    assert "'padding' is [-1, -1]" in error.message
    assert error.location.node_path == ("pool",)
    assert error.location.field == "padding"


def flatten_file(path: Path, start_dim: int) -> Path:
    flatten = {"type": "Flatten", "start_dim": start_dim, "end_dim": -1, "input_type": np.array([8, 4, 4])}
    nodes = {"input": io_node("Input", 8, 4, 4), "flat": flatten, "fc": affine(10, 128),
             "output": io_node("Output", 10)}
    return write_raw(path, graph(nodes, chain("input", "flat", "fc", "output")))


def test_flatten_start_dim_zero_loads(tmp_path: Path) -> None:
    module = load(flatten_file(tmp_path / "g.nir", start_dim=0))
    assert value_shape(node(module, "flat")) == [128]


def test_import_from_file_objects(tmp_path: Path) -> None:
    data = simple_lif_file(tmp_path / "g.nir").read_bytes()

    class Stream(io.RawIOBase):
        """A readable stream that cannot seek, like a pipe."""

        def __init__(self, payload: bytes):
            self.inner = io.BytesIO(payload)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            return self.inner.readinto(buffer)

    from_bytes = import_nir(io.BytesIO(data), make_context(), filename="memory.nir")
    from_pipe = import_nir(io.BufferedReader(Stream(data)), make_context())
    assert generic_text(from_bytes) == generic_text(load(tmp_path / "g.nir"))
    assert generic_text(from_pipe) == generic_text(from_bytes)


STORAGE_LAYOUTS = {
    "contiguous": {},
    "one compressed chunk": {"chunks": (6, 5), "compression": "gzip"},
    "many chunks": {"chunks": (2, 5), "compression": "gzip"},
    "shuffle and gzip": {"chunks": (6, 5), "compression": "gzip", "shuffle": True},
    "checksum": {"chunks": (6, 5), "fletcher32": True},
    "lzf": {"chunks": (6, 5), "compression": "lzf"},
}


@pytest.mark.parametrize("layout", STORAGE_LAYOUTS)
@pytest.mark.parametrize("dtype", ["<f4", ">f8", "<i2"])
def test_weight_storage_layouts_read_exactly(tmp_path: Path, layout: str, dtype: str) -> None:
    weight = (np.arange(30).reshape(6, 5) * 0.5 - 3).astype(dtype)
    path = tmp_path / "g.nir"
    nodes = {"input": io_node("Input", 5), "linear": {"type": "Linear"}, "output": io_node("Output", 6)}
    write_raw(path, graph(nodes, chain("input", "linear", "output")))
    with h5py.File(path, "r+") as file:
        file["node/nodes/linear"].create_dataset("weight", data=weight, **STORAGE_LAYOUTS[layout])

    for source in (path, io.BytesIO(path.read_bytes())):
        stored = numpy_from_dense(node(import_nir(source, make_context()), "linear").weight)
        assert stored.dtype == weight.dtype.newbyteorder("<")
        assert stored.tobytes() == weight.astype(stored.dtype).tobytes()


@pytest.mark.parametrize("layout", STORAGE_LAYOUTS)
def test_integer_fields_read_from_any_storage(tmp_path: Path, layout: str) -> None:
    # The importer reads these fields below h5py's Dataset: byte order and storage must not matter.
    fields = conv2d(4, 2, 3, input_shape=np.array([8, 8]))
    nodes = {"input": io_node("Input", 2, 8, 8), "conv": fields, "output": io_node("Output", 4, 4, 2)}
    path = write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "conv", "output")))
    options = {key: value for key, value in STORAGE_LAYOUTS[layout].items() if key != "chunks"}
    if "chunks" in STORAGE_LAYOUTS[layout]:
        options["chunks"] = (1,) if layout == "many chunks" else (2,)
    with h5py.File(path, "r+") as file:
        group = file["node/nodes/conv"]
        for name, values in (("stride", [2, 3]), ("padding", [1, 0]), ("dilation", [1, 2])):
            del group[name]
            group.create_dataset(name, data=np.array(values, dtype=">i8"), **options)

    conv = node(load(path), "conv")
    assert (conv.param("stride"), conv.param("padding"), conv.param("dilation")) == ((2, 3), (1, 0), (1, 2))
    assert value_shape(conv) == [4, 4, 2]


def large_weight_file(
    path: Path, layers: int, width: int, chunks: tuple[int, int] | None = None
) -> tuple[Path, list[np.ndarray]]:
    """Write a chain of Linear layers whose random weights are deflated chunks over 1 MB in all,
    one chunk per weight unless ``chunks`` is given."""
    rng = np.random.default_rng(3)
    weights = [rng.standard_normal((width, width)).astype(np.float32) for _ in range(layers)]
    names = [f"fc{index}" for index in range(layers)]
    nodes = {"input": io_node("Input", width), "output": io_node("Output", width)}
    nodes.update({name: {"type": "Linear"} for name in names})
    write_raw(path, graph(nodes, chain("input", *names, "output")))
    with h5py.File(path, "r+") as file:
        for name, weight in zip(names, weights):
            file[f"node/nodes/{name}"].create_dataset(
                "weight", data=weight, chunks=chunks or weight.shape, compression="gzip"
            )
    return path, weights


@pytest.mark.parametrize("cores", [1, 2])
@pytest.mark.parametrize("chunks", [None, (64, 100)])
def test_large_weights_inflated_in_parallel_exactly(tmp_path: Path, monkeypatch, cores: int, chunks) -> None:
    monkeypatch.setattr("nirmlir.hdf5_raw.usable_cores", lambda: cores)
    path, weights = large_weight_file(tmp_path / "g.nir", layers=5, width=600, chunks=chunks)
    with h5py.File(path, "r") as file:
        assert file["node/nodes/fc0/weight"].id.get_storage_size() >= PARALLEL_INFLATE_BYTES

    module = load(path)
    for index, weight in enumerate(weights):
        stored = numpy_from_dense(node(module, f"fc{index}").weight)
        assert stored.tobytes() == weight.tobytes()


@pytest.mark.parametrize(
    ("shape", "chunks"),
    [((1000,), (96,)), ((37, 53), (8, 16)), ((6, 5, 7, 9), (4, 2, 7, 4)), ((12, 12), (12, 12))],
)
def test_many_chunk_weights_assembled_exactly(tmp_path: Path, monkeypatch, shape, chunks) -> None:
    from nirmlir.hdf5_raw import read_arrays

    # Every deflated dataset goes to the thread pool, whatever its size.
    monkeypatch.setattr("nirmlir.hdf5_raw.PARALLEL_INFLATE_BYTES", 0)
    monkeypatch.setattr("nirmlir.hdf5_raw.usable_cores", lambda: 2)
    rng = np.random.default_rng(5)
    weights = [rng.standard_normal(shape).astype(dtype) for dtype in (np.float32, np.float64, np.int16)]
    path = tmp_path / "chunks.h5"
    with h5py.File(path, "w") as file:
        for index, weight in enumerate(weights):
            file.create_dataset(f"w{index}", data=weight, chunks=chunks, compression="gzip")
    with h5py.File(path, "r") as file:
        arrays = read_arrays([file[f"w{index}"].id for index in range(len(weights))], None)
    for array, weight in zip(arrays, weights):
        assert array.dtype == weight.dtype
        assert array.shape == weight.shape
        assert array.tobytes() == weight.tobytes()


@pytest.mark.parametrize("chunks", [None, (64, 100)])
def test_damaged_large_chunk_names_its_node(tmp_path: Path, monkeypatch, chunks) -> None:
    monkeypatch.setattr("nirmlir.hdf5_raw.usable_cores", lambda: 2)
    path, _ = large_weight_file(tmp_path / "g.nir", layers=4, width=600, chunks=chunks)
    with h5py.File(path, "r") as file:
        chunk = file["node/nodes/fc2/weight"].id.get_chunk_info(3 if chunks else 0)
    data = bytearray(path.read_bytes())
    middle = chunk.byte_offset + chunk.size // 2
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    error = reject(path)

    # Zeroed deflate data either fails to decode or decodes to too many bytes.
    assert "damaged" in error.message
    assert error.location == Location(file=str(path), node_path=("fc2",), field="weight")


def test_damaged_small_weight_names_its_field(tmp_path: Path) -> None:
    weight = np.arange(64, dtype=np.float32).reshape(8, 8)
    nodes = {"input": io_node("Input", 8), "linear": {"type": "Linear"}, "output": io_node("Output", 8)}
    path = write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "linear", "output")))
    with h5py.File(path, "r+") as file:
        file["node/nodes/linear"].create_dataset("weight", data=weight, chunks=(8, 8), compression="gzip")
        chunk = file["node/nodes/linear/weight"].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[chunk.byte_offset + 2 : chunk.byte_offset + chunk.size] = bytes(chunk.size - 2)
    path.write_bytes(bytes(data))
    error = reject(path)

    assert error.message.startswith("cannot read the HDF5 file, which is damaged or truncated")
    assert error.location == Location(file=str(path), node_path=("linear",), field="weight")


def test_unfiltered_chunk_read_exactly(tmp_path: Path) -> None:
    # A set bit 0 in the chunk's filter mask means HDF5 skipped deflate for that chunk.
    weight = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
    path = tmp_path / "g.nir"
    nodes = {"input": io_node("Input", 64), "linear": {"type": "Linear"}, "output": io_node("Output", 64)}
    write_raw(path, graph(nodes, chain("input", "linear", "output")))
    with h5py.File(path, "r+") as file:
        dataset = file["node/nodes/linear"].create_dataset(
            "weight", shape=weight.shape, dtype=weight.dtype, chunks=weight.shape, compression="gzip"
        )
        dataset.id.write_direct_chunk((0, 0), weight.tobytes(), filter_mask=1)

    stored = numpy_from_dense(node(load(path), "linear").weight)
    assert stored.tobytes() == weight.tobytes()


# --------------------------------------------------------------------------------------
# Rejections
# --------------------------------------------------------------------------------------


def test_zip_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "model.nir"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"not a graph")
    error = reject(path)

    assert "not an HDF5 file" in error.message
    assert "ZIP/pickle archive (torch.save?)" in error.message
    assert "NIR files are HDF5" in error.message
    assert error.location == Location(file=str(path))


class _Trap:
    """Unpickling this object creates the file named by `marker`."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    path = tmp_path / "model.nir"
    path.write_bytes(pickle.dumps(_Trap(str(marker)), protocol=4))
    error = reject(path)

    assert "ZIP/pickle archive" in error.message
    assert not marker.exists()


def test_empty_and_missing_files_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.nir"
    empty.write_bytes(b"")
    assert "the file is empty" in reject(empty).message

    missing = reject(tmp_path / "missing.nir")
    assert "cannot open" in missing.message
    assert "No such file" in missing.message


def test_missing_node_group_rejected(tmp_path: Path) -> None:
    path = tmp_path / "g.nir"
    with h5py.File(path, "w") as file:
        file.create_dataset("version", data="1.0.8", dtype=STRING)
        file.create_group("graph")
    error = reject(path)

    assert "no 'node' group" in error.message
    assert "'graph'" in error.message


def test_unknown_node_type_rejected(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", 2), "x": {"type": "Identity", "shape": np.array([2])}}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "x"))))

    assert "node 'x' has unknown type 'Identity'" in error.message
    assert "CubaLIF" in error.message
    assert error.location.node_path == ("x",)


def test_missing_required_field_rejected(tmp_path: Path) -> None:
    neuron = lif(2)
    del neuron["tau"]
    nodes = {"input": io_node("Input", 2), "lif": neuron, "output": io_node("Output", 2)}
    path = write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "lif", "output")))
    error = reject(path)

    assert "node 'lif' (LIF) has no 'tau' dataset" in error.message
    assert error.location == Location(file=str(path), node_path=("lif",), field="tau")


def test_unknown_field_rejected(tmp_path: Path) -> None:
    neuron = lif(2)
    neuron["refractory"] = f32(1, 1)
    nodes = {"input": io_node("Input", 2), "lif": neuron, "output": io_node("Output", 2)}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "lif", "output"))))

    assert "unknown field(s) ['refractory']" in error.message
    assert error.location.field == "refractory"


def test_dangling_edge_in_nested_graph_rejected(tmp_path: Path) -> None:
    inner = graph(
        {"input": io_node("Input", 2), "lif1": lif(2), "output": io_node("Output", 2)},
        [("input", "lif"), ("lif", "output")],
    )
    nodes = {"input": io_node("Input", 2), "lif1": inner, "output": io_node("Output", 2)}
    path = write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "lif1", "output")))
    error = reject(path)

    assert error.message.startswith(
        "edge ('input', 'lif') in graph 'lif1' names node 'lif', which does not exist; "
        "nodes are: 'input', 'lif1', 'output'"
    )
    assert error.location == Location(file=str(path), node_path=("lif1",), field="edges")
    assert str(path) in str(error)


def test_duplicate_edge_rejected(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", 2), "lif": lif(2), "output": io_node("Output", 2)}
    edges = [("input", "lif"), ("input", "lif"), ("lif", "output")]
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, edges)))

    assert "edge ('input', 'lif') appears 2 times in the top-level graph" in error.message


def test_slash_in_node_name_rejected(tmp_path: Path) -> None:
    # A writer that used the name "a/b" created the group "a" holding the group "b".
    nodes = {"input": io_node("Input", 2), "a": {"b": lif(2)}, "output": io_node("Output", 2)}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "a/b", "output"))))

    assert "the node 'a/b' was split at '/'" in error.message
    assert error.location.node_path == ("a",)


def test_nested_graph_needs_one_input_and_output(tmp_path: Path) -> None:
    inner = graph(
        {"in_a": io_node("Input", 2), "in_b": io_node("Input", 2), "lif": lif(2), "output": io_node("Output", 2)},
        [("in_a", "lif"), ("in_b", "lif"), ("lif", "output")],
    )
    nodes = {"input": io_node("Input", 2), "sub": inner, "output": io_node("Output", 2)}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "sub", "output"))))

    assert "nested graph 'sub' has 2 Input node(s) ('in_a', 'in_b') and 1 Output node(s)" in error.message


def test_transposed_weight_rejected_not_fixed(tmp_path: Path) -> None:
    linear = {"type": "Linear", "weight": np.ones((128, 64), np.float32)}
    nodes = {"input": io_node("Input", 128), "linear": linear, "output": io_node("Output", 64)}
    path = write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "linear", "output")))
    error = reject(path)

    assert (
        "edge ('input', 'linear') in the top-level graph: 'input' (Input) gives shape [128] "
        "but 'linear' (Linear) expects [64]" in error.message
    )
    assert "(out, in)" in error.message
    assert error.location == Location(file=str(path), node_path=("linear",), field="weight")


def test_batch_dimension_rejected(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", 1, 16), "fc": affine(32, 16), "lif": lif(32), "output": io_node("Output", 32)}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "fc", "lif", "output"))))

    assert "'input' (Input) gives shape [1, 16] but 'fc' (Affine) expects [16]" in error.message
    assert "batch" in error.message
    assert error.location.node_path == ("input",)


def test_batched_conv_input_rejected(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", 1, 2, 34, 34), "conv": conv2d(16, 2, 5, stride=2),
             "output": {"type": "Output"}}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "conv", "output"))))

    assert "'conv' (Conv2d) expects rank 3 (C, H, W)" in error.message
    assert "[1, 2, 34, 34]" in error.message


def test_flatten_off_by_one_rejected(tmp_path: Path) -> None:
    error = reject(flatten_file(tmp_path / "g.nir", start_dim=1))

    assert "'flat' (Flatten) gives shape [8, 16] but 'fc' (Affine) expects [128]" in error.message
    assert "start_dim=0 would give [128]" in error.message
    assert error.location.field == "start_dim"


def test_output_shape_mismatch_rejected(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", 1), "lif": lif(1), "output": io_node("Output", 1, 1, 1)}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "lif", "output"))))

    assert "'lif' (LIF) gives shape [1] but 'output' (Output) declares [1, 1, 1]" in error.message
    assert error.location.field == "shape"


def test_neuron_parameter_shapes_must_agree(tmp_path: Path) -> None:
    neuron = lif(38)
    neuron["v_threshold"] = np.ones(40, np.float32)
    nodes = {"input": io_node("Input", 38), "lif": neuron, "output": io_node("Output", 38)}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "lif", "output"))))

    assert "'v_threshold' has shape [40] but 'tau' has shape [38]" in error.message
    assert error.location.field == "v_threshold"


def test_first_parameter_blamed_when_odd(tmp_path: Path) -> None:
    neuron = lif(3)
    neuron["tau"] = np.ones((1, 3), np.float32)
    nodes = {"input": io_node("Input", 3), "lif": neuron, "output": io_node("Output", 3)}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "lif", "output"))))

    assert "'tau' has shape [1, 3] but 'r' has shape [3]" in error.message
    assert error.location.field == "tau"


def test_edge_into_input_rejected(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", 2), "lif": lif(2), "output": io_node("Output", 2)}
    edges = [("input", "lif"), ("lif", "input"), ("lif", "output")]
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, edges)))

    assert "ends at the Input node 'input'" in error.message


def test_conv_input_shape_with_channels_rejected(tmp_path: Path) -> None:
    fields = conv2d(4, 2, 3, input_shape=np.array([2, 8, 8]))
    nodes = {"input": io_node("Input", 2, 8, 8), "conv": fields, "output": io_node("Output", 4, 8, 8)}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "conv", "output"))))

    assert "field 'input_shape' of node 'conv' (Conv2d) must hold only the 2 spatial size(s)" in error.message


def test_verifier_error_located_at_node(tmp_path: Path, monkeypatch) -> None:
    from xdsl.utils.exceptions import VerifyException

    from nirmlir.dialects.nir import LIFOp

    def failing_verify(op, params) -> None:
        raise VerifyException(f"'nir.lif' op node '{op.node_name.data}': injected failure")

    monkeypatch.setattr(LIFOp, "verify_node", failing_verify)
    path = simple_lif_file(tmp_path / "g.nir")
    error = reject(path)

    assert "injected failure" in error.message
    assert error.location == Location(file=str(path), node_path=("lif",))


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------


def test_export_layout_matches_nir(tmp_path: Path) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    path = tmp_path / "exported.nir"
    export_nir(module, path)

    with h5py.File(path, "r") as file:
        assert file["version"][()] == FORMAT_VERSION.encode()
        assert h5py.check_string_dtype(file["version"].dtype).encoding == "utf-8"
        edges = file["node/edges"]
        assert edges.shape == (2, 2)
        assert h5py.check_string_dtype(edges.dtype).length is None
        assert file["node/type"][()] == b"NIRGraph"
        tau = file["node/nodes/lif/tau"]
        assert (tau.dtype, tau.shape, tau.compression) == (np.float32, (2,), "gzip")
        shape = file["node/nodes/input/shape"]
        assert (shape.dtype, shape[()].tolist()) == (np.int64, [2])


def test_export_without_compression(tmp_path: Path) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    path = tmp_path / "exported.nir"
    export_nir(module, path, compression=None)

    with h5py.File(path, "r") as file:
        assert file["node/nodes/lif/tau"].compression is None


def test_failed_export_keeps_existing_file(tmp_path: Path) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    # Nodes are written in op order, so the output node fails after the others are written.
    node(module, "output").attributes["metadata"] = DictionaryAttr({"flag": UnitAttr()})
    path = tmp_path / "existing.nir"
    path.write_bytes(b"previous contents")

    with pytest.raises(DiagnosticError) as caught:
        export_nir(module, path)

    assert "metadata entry 'metadata/flag'" in caught.value.message
    assert path.read_bytes() == b"previous contents"
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["existing.nir", "g.nir"]


def test_export_new_file_permissions(tmp_path: Path) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    path = tmp_path / "new.nir"
    export_nir(module, path)

    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_export_to_binary_stream(tmp_path: Path, same_nir_graph) -> None:
    source = simple_lif_file(tmp_path / "g.nir")
    stream = io.BytesIO()
    export_nir(load(source), stream)

    stream.seek(0)
    same_nir_graph(nir.read(source), nir.read(stream))


def test_export_rejects_duplicate_use(tmp_path: Path) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    lif_op = node(module, "lif")
    lif_op.operands = [lif_op.operands[0], lif_op.operands[0]]

    with pytest.raises(DiagnosticError) as caught:
        export_nir(module, tmp_path / "out.nir")
    assert "node 'lif' takes the output of 'input' twice" in caught.value.message


def test_export_rejects_slash_in_name(tmp_path: Path) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    node(module, "lif").properties["node_name"] = StringAttr("a/b")

    with pytest.raises(DiagnosticError) as caught:
        export_nir(module, tmp_path / "out.nir")
    assert "node name 'a/b' cannot be an HDF5 group name" in caught.value.message
    assert not (tmp_path / "out.nir").exists()


def test_export_rejects_recursive_graph(tmp_path: Path) -> None:
    inner = graph({"input": io_node("Input", 2), "lif": lif(2), "output": io_node("Output", 2)},
                  chain("input", "lif", "output"))
    nodes = {"input": io_node("Input", 2), "sub": inner, "output": io_node("Output", 2)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "sub", "output"))))

    # Replace the LIF inside @sub with an instance of @sub itself.
    lif_op = node(module, "lif", "sub")
    again = make_node(SubgraphOp, "again", list(lif_op.operands), lif_op.output.type,
                      {"graph": SymbolRefAttr("sub")})
    lif_op.parent_block().insert_op_before(again, lif_op)
    lif_op.output.replace_all_uses_with(again.output)
    lif_op.parent_block().erase_op(lif_op)
    with pytest.raises(VerifyException, match="graph @sub instantiates itself"):
        module.verify()

    with pytest.raises(DiagnosticError) as caught:
        export_nir(module, tmp_path / "out.nir")
    assert "graph @sub instantiates itself" in caught.value.message


def test_export_to_folder_rejected(tmp_path: Path) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    folder = tmp_path / "folder"
    folder.mkdir()

    with pytest.raises(DiagnosticError) as caught:
        export_nir(module, folder)

    assert f"cannot write '{folder}'" in caught.value.message
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["folder", "g.nir"]


# --------------------------------------------------------------------------------------
# Bundled examples
# --------------------------------------------------------------------------------------


def test_examples_regenerate_identically(tmp_path: Path) -> None:
    script = REPO_ROOT / "examples" / "make_examples.py"
    spec = importlib.util.spec_from_file_location("make_examples", script)
    make_examples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_examples)

    written = make_examples.write_examples(tmp_path)

    assert sorted(path.name for path in written) == ["cnn.nir", "lif.nir", "rnn.nir"]
    for path in written:
        committed = REPO_ROOT / "examples" / path.name
        assert generic_text(load(path)) == generic_text(load(committed)), path.name
        assert committed.stat().st_size < 100_000, path.name


# --------------------------------------------------------------------------------------
# Hostile files: links, cycles, sizes and encodings
# --------------------------------------------------------------------------------------


def nested_file(path: Path, depth: int) -> Path:
    """Write graphs nested `depth` deep: each graph contains Input -> sub -> Output."""
    innermost = graph(
        {"input": io_node("Input", 2), "lif": lif(2), "output": io_node("Output", 2)},
        chain("input", "lif", "output"),
    )
    top = innermost
    for _ in range(depth):
        nodes = {"input": io_node("Input", 2), "sub": top, "output": io_node("Output", 2)}
        top = graph(nodes, chain("input", "sub", "output"))
    return write_raw(path, top)


def test_hard_link_graph_cycle_rejected(tmp_path: Path) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        file["node/nodes/sub"] = file["node"]
        del file["node/edges"]
        file["node/edges"] = np.array(chain("input", "lif", "sub", "output"), dtype=STRING)
    error = reject(path)

    assert error.message.startswith(
        "graph 'sub' contains itself: its HDF5 group is a hard link to the group of the "
        "top-level graph"
    )
    assert error.location == Location(file=str(path), node_path=("sub",))


def test_graph_nesting_limit(tmp_path: Path) -> None:
    from nirmlir.limits import MAX_NESTING_DEPTH

    module = load(nested_file(tmp_path / "deep.nir", MAX_NESTING_DEPTH))
    assert len(list(module.ops)) == MAX_NESTING_DEPTH + 1

    error = reject(nested_file(tmp_path / "deeper.nir", MAX_NESTING_DEPTH + 1))
    assert error.message.endswith(
        f"is nested {MAX_NESTING_DEPTH + 1} graphs deep, deeper than the limit of "
        f"{MAX_NESTING_DEPTH}"
    )
    assert error.location.node_path == ("sub",) * (MAX_NESTING_DEPTH + 1)


def test_hard_link_metadata_cycle_rejected(tmp_path: Path) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        metadata = file.create_group("node/nodes/lif/metadata")
        metadata.create_group("inner")["again"] = metadata
    error = reject(path)

    assert error.message == (
        "metadata group 'metadata/inner/again' contains itself: it is a hard link to "
        "'metadata', which contains it"
    )
    assert error.location == Location(
        file=str(path), node_path=("lif",), field="metadata/inner/again"
    )


def test_huge_chunked_dataset_rejected_unread(tmp_path: Path, monkeypatch) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        del file["node/nodes/lif/tau"]
        # 160 GB declared in a file of a few kilobytes: no chunk is ever written.
        file.create_dataset(
            "node/nodes/lif/tau", shape=(200_000, 200_000), chunks=(1000, 1000), dtype=np.float32
        )
    assert path.stat().st_size < 100_000
    small_read = hdf5_import.read_dataset

    def read_small_only(dataset_id, dtype, shape, file_descriptor):
        assert math.prod(shape) < 1000, f"read a dataset of shape {shape}"
        return small_read(dataset_id, dtype, shape, file_descriptor)

    monkeypatch.setattr("nirmlir.hdf5_import.read_dataset", read_small_only)
    monkeypatch.setattr("nirmlir.hdf5_import.read_arrays", pytest.fail)
    error = reject(path)

    assert error.message == (
        "dataset 'tau' has shape [200000, 200000] and dtype float32, 160000000000 bytes, "
        "more than the limit of 17179869184 bytes (16 GiB)"
    )
    assert error.location == Location(file=str(path), node_path=("lif",), field="tau")


def test_shape_error_before_data_read(tmp_path: Path, monkeypatch) -> None:
    # 5000 x 4 float32 weights are 80,000 bytes, more than the importer reads before the checks.
    nodes = {"input": io_node("Input", 3), "fc": affine(5000, 4), "output": io_node("Output", 5000)}
    path = write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "fc", "output")))
    # Shapes are checked on placeholders, so a mismatch never reads a large weight.
    assert 5000 * 4 * 4 > EAGER_READ_BYTES
    small_read = hdf5_import.read_dataset

    def read_small_only(dataset_id, dtype, shape, file_descriptor):
        assert math.prod(shape) * dtype.itemsize <= EAGER_READ_BYTES, f"read {shape} {dtype} before the checks"
        return small_read(dataset_id, dtype, shape, file_descriptor)

    monkeypatch.setattr("nirmlir.hdf5_import.read_dataset", read_small_only)
    monkeypatch.setattr("nirmlir.hdf5_import.read_arrays", pytest.fail)
    error = reject(path)

    assert "'input' (Input) gives shape [3] but 'fc' (Affine) expects [4]" in error.message


def test_deferred_parameters_read_after_checks(tmp_path: Path) -> None:
    neuron = lif(3)
    del neuron["v_reset"]
    neuron["r"] = np.float32(2.0)
    nodes = {"input": io_node("Input", 3), "lif": neuron, "output": io_node("Output", 3)}
    module = load(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "lif", "output"))))
    lif_op = node(module, "lif")

    assert numpy_from_dense(lif_op.tau).tolist() == pytest.approx([0.01] * 3)
    assert numpy_from_dense(lif_op.r).tolist() == [2.0, 2.0, 2.0]
    assert numpy_from_dense(lif_op.v_reset).tolist() == [0.0, 0.0, 0.0]
    assert numpy_from_dense(lif_op.v_reset).dtype == np.float32


def test_ascii_tagged_utf8_edges_decoded(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", 2), "léf": lif(2), "output": io_node("Output", 2)}
    path = write_raw(tmp_path / "g.nir", graph(nodes, []))
    names = [[name.encode() for name in edge] for edge in chain("input", "léf", "output")]
    with h5py.File(path, "r+") as file:
        del file["node/edges"]
        file["node/edges"] = np.array(names, dtype=h5py.string_dtype("ascii"))
    module = load(path)

    assert [op.node_name.data for op in graph_op(module).nodes] == ["input", "léf", "output"]


def test_fixed_length_edges_decoded(tmp_path: Path) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        del file["node/edges"]
        file["node/edges"] = np.array(chain("input", "lif", "output"), dtype="S8")
    module = load(path)

    assert node(module, "lif").operands[0].owner.node_name.data == "input"


@pytest.mark.parametrize("shape", [(0, 3), (2, 0)])
def test_empty_edges_of_wrong_shape_rejected(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        del file["node/edges"]
        file["node/edges"] = np.zeros(shape, dtype=object).astype(h5py.string_dtype())
    error = reject(path)

    assert f"'edges' must be an (E, 2) dataset of node names; got an array of dtype object and shape {list(shape)}" == error.message
    assert error.location.field == "edges"


def test_invalid_utf8_edge_rejected(tmp_path: Path) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        del file["node/edges"]
        edges = [[b"input", b"l\xffif"], [b"lif", b"output"]]
        file["node/edges"] = np.array(edges, dtype=h5py.string_dtype("ascii"))
    error = reject(path)

    assert error.message == (
        "'edges' contains the bytes b'l\\xffif', which are not UTF-8 text; NIR strings are "
        "UTF-8, so write the file's strings as UTF-8"
    )
    assert error.location == Location(file=str(path), field="edges")


def test_dangling_soft_link_node_rejected(tmp_path: Path) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        file["node/nodes/lif2"] = h5py.SoftLink("/nowhere")
    error = reject(path)

    assert error.message.startswith(
        "node 'lif2' is a dangling soft link to '/nowhere', which does not exist in the file"
    )
    assert error.location == Location(file=str(path), node_path=("lif2",))


def test_dangling_links_in_fields_rejected(tmp_path: Path) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        del file["node/nodes/lif/tau"]
        file["node/nodes/lif/tau"] = h5py.ExternalLink(str(tmp_path / "absent.nir"), "/tau")
    error = reject(path)

    assert error.message == (
        f"'tau' is an external link to '/tau' in the file '{tmp_path / 'absent.nir'}', "
        "which cannot be opened"
    )
    assert error.location == Location(file=str(path), node_path=("lif",), field="tau")


def test_bad_shape_value_shown(tmp_path: Path) -> None:
    nodes = {"input": io_node("Input", -1), "output": io_node("Output", 2)}
    error = reject(write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "output"))))

    assert error.message == (
        "field 'shape' of node 'input' (Input) must hold positive dimension sizes; "
        "got [-1] (dtype int64)"
    )


@pytest.mark.parametrize("field", ["tau", "v_threshold"])
def test_non_finite_parameter_located_at_field(tmp_path: Path, field: str) -> None:
    neuron = lif(2)
    neuron[field] = f32(1.0, np.nan)
    nodes = {"input": io_node("Input", 2), "lif": neuron, "output": io_node("Output", 2)}
    path = write_raw(tmp_path / "g.nir", graph(nodes, chain("input", "lif", "output")))
    error = reject(path)

    assert f"'{field}' contains nan at index (1,)" in error.message
    assert error.location == Location(file=str(path), node_path=("lif",), field=field)
    assert str(error.location) == f"{path}:lif:{field}"


def test_null_dataspace_parameter_rejected(tmp_path: Path) -> None:
    path = simple_lif_file(tmp_path / "g.nir")
    with h5py.File(path, "r+") as file:
        del file["node/nodes/lif/tau"]
        file["node/nodes/lif/tau"] = h5py.Empty("f4")
    error = reject(path)

    assert error.message == (
        "field 'tau' of node 'lif' (LIF) must be a numeric array; got an empty dataset "
        "(HDF5 null dataspace)"
    )
    assert error.location.field == "tau"


# --------------------------------------------------------------------------------------
# Export errors: the op at fault, names HDF5 cannot hold, the wrong dialect
# --------------------------------------------------------------------------------------


def export_error(module: ModuleOp, path: Path) -> DiagnosticError:
    with pytest.raises(DiagnosticError) as caught:
        export_nir(module, path)
    assert not path.exists()
    return caught.value


def test_export_error_names_op_not_output(tmp_path: Path) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    lif_op = node(module, "lif")
    lif_op.properties["node_name"] = StringAttr("a/b")
    error = export_error(module, tmp_path / "out.nir")

    assert error.op is lif_op
    assert error.location == Location(node_path=("a/b",))
    assert "out.nir" not in str(error)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "node name '' cannot be an HDF5 group name (HDF5 names cannot be empty)"),
        (".", "node name '.' cannot be an HDF5 group name (HDF5 reads '.' as the group itself)"),
        (
            "a\0b",
            'node name "a\\00b" cannot be an HDF5 group name (HDF5 names end at a NUL character)',
        ),
    ],
)
def test_export_rejects_invalid_hdf5_names(tmp_path: Path, name: str, message: str) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    lif_op = node(module, "lif")
    lif_op.properties["node_name"] = StringAttr(name)
    error = export_error(module, tmp_path / "out.nir")

    assert error.message == message + "; rename the node"
    assert error.op is lif_op


def test_export_accepts_dot_dot_name(tmp_path: Path, same_nir_graph) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    node(module, "lif").properties["node_name"] = StringAttr("..")
    path = tmp_path / "out.nir"
    export_nir(module, path)

    assert set(nir.read(path).nodes) == {"input", "..", "output"}


def test_export_rejects_nul_in_metadata(tmp_path: Path) -> None:
    module = load(simple_lif_file(tmp_path / "g.nir"))
    main = graph_op(module)
    main.attributes["metadata"] = DictionaryAttr({"note": StringAttr("a\0b")})
    error = export_error(module, tmp_path / "out.nir")

    assert error.message == (
        "metadata entry 'metadata/note' is \"a\\00b\", which contains a NUL character; "
        "HDF5 strings cannot contain NUL, so remove it"
    )
    assert error.op is main
    assert error.location == Location(field="metadata/note")


def test_export_rejects_nul_in_string_list(tmp_path: Path) -> None:
    from xdsl.dialects.builtin import ArrayAttr

    module = load(simple_lif_file(tmp_path / "g.nir"))
    lif_op = node(module, "lif")
    names = ArrayAttr([StringAttr("ok"), ArrayAttr([StringAttr("x\0")])])
    lif_op.attributes["metadata"] = DictionaryAttr({"names": names})
    error = export_error(module, tmp_path / "out.nir")

    assert error.message.startswith("an element of metadata entry 'metadata/names' is \"x\\00\"")
    assert error.location == Location(node_path=("lif",), field="metadata/names")


def test_export_rejects_snn_module(tmp_path: Path) -> None:
    from nirmlir.registry import load_pass

    module = load(simple_lif_file(tmp_path / "g.nir"))
    load_pass("discretize")(dt=1e-4).apply(make_context(), module)
    error = export_error(module, tmp_path / "out.nir")

    assert error.message == (
        "HDF5 export reads only the nir dialect, but the module contains snn.graph @main "
        "and no nir.graph; export the nir-level module, the one before discretize"
    )
    assert error.op is module


@pytest.mark.parametrize("compressible", [True, False])
def test_large_weight_deflated_in_parallel(tmp_path: Path, compressible: bool) -> None:
    """A weight of 1 MB or more is deflated in pieces on threads into one chunk.

    h5py, nir and the importer all read it back exactly. An incompressible one is stored raw.
    """
    from nirmlir.hdf5_export import PARALLEL_DEFLATE_BYTES

    rng = np.random.default_rng(3)
    if compressible:
        weight = np.repeat(rng.standard_normal((1, 700), dtype=np.float32), 700, axis=0)
    else:
        weight = rng.integers(0, 2**32, (700, 700), dtype=np.uint32).view(np.float32)
        weight = np.where(np.isfinite(weight), weight, 0).astype(np.float32)
    assert weight.nbytes >= PARALLEL_DEFLATE_BYTES
    graph = nir.NIRGraph.from_list(nir.Affine(weight, np.zeros(700, np.float32)), nir.LIF(
        np.full(700, 1e-2), np.ones(700), np.zeros(700), np.ones(700), np.zeros(700)))
    source = tmp_path / "source.nir"
    nir.write(source, graph)
    module = import_nir(source, make_context())
    exported = tmp_path / "exported.nir"
    export_nir(module, exported)

    with h5py.File(exported) as file:
        dataset = file["node/nodes/affine/weight"]
        assert dataset.compression == "gzip"
        assert dataset.chunks == (700, 700)
        filter_mask, chunk = dataset.id.read_direct_chunk((0, 0))
        assert filter_mask == (0 if compressible else 1)
        assert (len(chunk) < weight.nbytes // 10) if compressible else (len(chunk) == weight.nbytes)
        np.testing.assert_array_equal(dataset[()], weight)
    np.testing.assert_array_equal(nir.read(exported).nodes["affine"].weight, weight)
    again = import_nir(exported, make_context())
    affine = next(op for op in again.walk() if getattr(op, "node_name", None) and op.node_name.data == "affine")
    np.testing.assert_array_equal(numpy_from_dense(affine.weight), weight)
