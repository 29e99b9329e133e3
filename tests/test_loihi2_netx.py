"""The netx HDF5 printer: files read back with h5py against the layout lava-dl 0.6's netx reads.

`read_netx` below follows netx's reader (`lava/lib/dl/netx/hdf5.py` and `utils.NetDict`): `type`
is the first element of an ASCII array, weights and biases are cast to int, `iDecay`, `vDecay`
and `vThMant` are scalars, and netx gives Lava `du = iDecay - 1` and `dv = vDecay`. The braille
network read that way and run by the integer model of `loihi2_reference.py` must give the
interpreter's traces. Running the file in Lava itself needs Python < 3.11 and patches, so
`bench/lava_netx_check.py` does that on demand.
"""

from __future__ import annotations

import io

import h5py
import numpy as np
import pytest

import nirmlir
from nirmlir.context import make_context
from nirmlir.diagnostics import DiagnosticError
from nirmlir.parser import parse_module
from nirmlir.printers.loihi2 import write_netx

from loihi2_reference import BRAILLE_MODEL, LIF_MODEL, PAPER_LAVA_OPTIONS, delayed_graph, layer_ops, reference_cuba


def read_netx(path) -> list[dict]:
    """Return the layers of a netx file as netx reads them: type, shape, integer weights, neuron registers."""
    layers = []
    with h5py.File(path, "r") as file:
        group = file["layer"]
        for index in range(len(group)):
            entry = group[str(index)]
            layer = {"type": entry["type"][0].decode("ascii")}
            for key in ("shape", "stride", "padding", "dilation", "groups", "delay"):
                if key in entry:
                    layer[key] = entry[key][()]
            for key in ("weight", "weight_rec", "bias"):
                if key in entry:
                    layer[key] = entry[key][()].astype(int)
            if "neuron" in entry:
                neuron = entry["neuron"]
                layer["neuron"] = {key: neuron[key][()] for key in neuron if key != "type"}
                layer["neuron"]["type"] = neuron["type"][0].decode("ascii")
            layers.append(layer)
    return layers


def lowered(corpus_dir, name: str, options: str = "lower-to-loihi2{dt=1e-4}"):
    return nirmlir.compile(nirmlir.load(corpus_dir / name), options)


def test_lif_file_layout(corpus_dir, tmp_path):
    path = tmp_path / "lif.net"
    write_netx(lowered(corpus_dir, LIF_MODEL, PAPER_LAVA_OPTIONS), path)
    layers = read_netx(path)
    assert [layer["type"] for layer in layers] == ["input", "dense"]
    assert layers[0]["shape"].tolist() == [1]
    assert set(layers[0]) == {"type", "shape"}, "an input layer without a neuron group feeds the first synapse"
    dense = layers[1]
    assert dense["shape"].tolist() == [1]
    assert dense["weight"].tolist() == [[10]]
    assert "bias" not in dense
    assert dense["neuron"] == {"type": "CUBA", "iDecay": 4096, "vDecay": 163, "vThMant": 25, "refDelay": 1}


def test_braille_file_runs_like_interpreter(corpus_dir, tmp_path):
    module = lowered(corpus_dir, BRAILLE_MODEL)
    path = tmp_path / "braille.net"
    write_netx(module, path)
    layers = read_netx(path)
    assert [layer["type"] for layer in layers] == ["input", "dense_rec", "dense"]
    assert layers[1]["weight"].shape == (38, 12)
    assert layers[1]["weight_rec"].shape == (38, 38)
    assert layers[2]["weight"].shape == (7, 38)

    registers = []
    for layer, op in zip(layers[1:], layer_ops(module)):
        neuron = layer["neuron"]
        registers.append({
            "name": op.node_name.data,
            "weight": layer["weight"].tolist(),
            "weight_rec": layer["weight_rec"].tolist() if "weight_rec" in layer else None,
            "exponent": 0,
            "i_decay": int(neuron["iDecay"]),
            "v_decay": int(neuron["vDecay"]),
            "vth_mant": int(neuron["vThMant"]),
            "bias": layer["bias"].tolist() if "bias" in layer else [0] * layer["weight"].shape[0],
        })
    rng = np.random.default_rng(11)
    spikes_in = (rng.random((200, 12)) < 0.3).astype(np.int64)
    names = [op.node_name.data for op in layer_ops(module)]
    traces = nirmlir.simulate(module, spikes_in, record=names, integers=True)
    expected = reference_cuba(registers, spikes_in)
    for name in names:
        np.testing.assert_array_equal(traces[name]["v_int"], expected[name]["v"], err_msg=f"{name} voltage")
        np.testing.assert_array_equal(traces[name]["spikes"], expected[name]["spikes"], err_msg=f"{name} spikes")


def test_cnn_file_layout(corpus_dir, tmp_path):
    path = tmp_path / "cnn.net"
    write_netx(lowered(corpus_dir, "neuromorphs-NIR__cnn_sinabs.nir"), path)
    layers = read_netx(path)
    assert [layer["type"] for layer in layers] == ["input", "conv", "conv", "conv", "flatten", "dense", "dense"]
    assert layers[0]["shape"].tolist() == [2, 34, 34]
    first, _, folded = layers[1:4]
    assert first["shape"].tolist() == [16, 16, 16]
    assert first["weight"].shape == (16, 2, 5, 5)
    assert (first["stride"].tolist(), first["padding"].tolist(), int(first["groups"])) == ([2, 2], [1, 1], 1)
    # The sum pool before the third conv is folded into it: a 6x6 kernel with stride and padding 2.
    assert folded["weight"].shape == (8, 16, 6, 6)
    assert (folded["stride"].tolist(), folded["padding"].tolist()) == ([2, 2], [2, 2])
    assert set(layers[4]) == {"type"}
    assert layers[5]["weight"].shape == (256, 512)
    # IF neurons keep no current (iDecay 4096) and do not leak (vDecay 0).
    for layer in layers[1:4] + layers[5:]:
        assert layer["neuron"]["iDecay"] == 4096
        assert layer["neuron"]["vDecay"] == 0


def test_printer_writes_to_stream(corpus_dir):
    buffer = io.BytesIO()
    write_netx(lowered(corpus_dir, LIF_MODEL), buffer)
    with h5py.File(io.BytesIO(buffer.getvalue()), "r") as file:
        assert file["layer/1/type"][0] == b"dense"


NEGATIVE_EXPONENT = """
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  %l = loihi2.dense "fc"(%in) {weight = dense<[[3, 4], [8, 16]]> : tensor<2x2xi16>, weight_exp = -2 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
  loihi2.output "out"(%l) : tensor<2xi1>
}
"""


def test_printer_rejects_fractional_weights(tmp_path):
    module = parse_module(NEGATIVE_EXPONENT, make_context(), "negative.mlir")
    with pytest.raises(DiagnosticError, match="'weight' has mantissas that weight_exp -2 makes fractional"):
        write_netx(module, tmp_path / "x.net")
    assert not (tmp_path / "x.net").exists()


def test_printer_scales_by_exponent(tmp_path):
    module = parse_module(NEGATIVE_EXPONENT.replace("[[3, 4]", "[[12, 4]"), make_context(), "negative.mlir")
    write_netx(module, tmp_path / "x.net")
    assert read_netx(tmp_path / "x.net")[1]["weight"].tolist() == [[3, 1], [2, 4]]


def test_printer_needs_loihi2_graph(corpus_dir, tmp_path):
    with pytest.raises(DiagnosticError, match="the module contains no loihi2.graph .*; run lower-to-loihi2 first"):
        write_netx(nirmlir.load(corpus_dir / LIF_MODEL), tmp_path / "x.net")




def test_delay_written_per_synapse(tmp_path):
    module = nirmlir.compile(delayed_graph([3e-4, 5e-4]), "lower-to-loihi2{dt=1e-4}")
    write_netx(module, tmp_path / "delay.net")
    dense = read_netx(tmp_path / "delay.net")[1]
    assert dense["delay"].tolist() == [[2, 2], [4, 4]]
