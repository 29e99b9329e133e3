"""The spinnaker2 printers: the network JSON and the generated py-spinnaker2 script.

The script cannot run against py-spinnaker2 here (it is not on PyPI), so it runs against the
recording stand-in in tests/spinnaker2_standin.py, and the calls it makes must equal the JSON.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys

import numpy as np
import pytest

import nirmlir
import spinnaker2_standin
from nirmlir.dense import numpy_from_dense
from nirmlir.dialects import spinnaker2
from nirmlir.printers.spinnaker2 import network_document, network_json, python_script

LIF_MODEL = "neuromorphs-NIR__lif_norse.nir"
BRAILLE_MODEL = "neuromorphs-NIR__braille_noDelay_bias_zero.nir"
CNN_MODEL = "neuromorphs-NIR__cnn_sinabs.nir"


def lowered(path, options: str = ""):
    return nirmlir.compile(path, f"lower-to-spinnaker2{{dt=1e-4 {options}}}")


def run_script(tmp_path, monkeypatch, module, input_spikes: np.ndarray, *arguments: str) -> list:
    script = tmp_path / "network_spinnaker2.py"
    script.write_text(python_script(module))
    np.save(tmp_path / "input.npy", input_spikes)
    spinnaker2_standin.CALLS.clear()
    for name, stand_in in spinnaker2_standin.modules().items():
        monkeypatch.setitem(sys.modules, name, stand_in)
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path / "input.npy"), "-o", str(tmp_path / "out.npz"), *arguments])
    runpy.run_path(str(script), run_name="__main__")
    return list(spinnaker2_standin.CALLS)


def plain(value):
    """Return numpy arrays inside value as nested lists, for comparison with JSON."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def test_lif_json_matches_registers(corpus_dir):
    document = json.loads(network_json(lowered(corpus_dir / LIF_MODEL, "weight-scale=102.02")))
    assert document["run"] == {"dt": 1e-4, "sys_tick_in_s": 1e-3}
    lif = document["populations"][1]
    assert lif["neuron_model"] == "lif"
    assert lif["params"]["threshold"] == [255.05]
    assert lif["params"]["alpha_decay"] == [0.96]
    assert lif["params"]["reset"] == "reset_to_v_reset"
    assert lif["record"] == ["spikes", "v"]
    assert document["projections"] == [{"name": "input->1", "pre": "input", "post": "1", "connections": [[0, 0, 102, 0]]}]
    assert document["outputs"] == {"output": ["1"]}


def test_json_parameters_read_back_as_float32(corpus_dir):
    module = lowered(corpus_dir / BRAILLE_MODEL)
    document = json.loads(network_json(module))
    graph = next(iter(module.ops))
    for op in graph.body.block.ops:
        if isinstance(op, spinnaker2.NeuronPopulationOp):
            (entry,) = [p for p in document["populations"] if p["name"] == op.node_name.data]
            for field in op.PARAMETERS:
                np.testing.assert_array_equal(np.asarray(entry["params"][field], dtype=np.float32), op.parameter(field))


def test_json_connections_equal_weights(corpus_dir):
    module = lowered(corpus_dir / BRAILLE_MODEL)
    document = network_document(module)
    graph = next(iter(module.ops))
    projections = {p["name"]: p for p in document["projections"]}
    for op in graph.body.block.ops:
        if isinstance(op, spinnaker2.ProjectionOp):
            weight = numpy_from_dense(op.weight)
            rebuilt = np.zeros_like(weight)
            for pre, post, value, delay in projections[op.node_name.data]["connections"]:
                rebuilt[post, pre] = value
                assert delay == numpy_from_dense(op.delay)[post, pre]
            np.testing.assert_array_equal(rebuilt, weight)
    recurrent = projections["lif1.lif->lif1.lif"]["connections"]
    assert {delay for *_, delay in recurrent} == {1}


@pytest.mark.parametrize("model", [LIF_MODEL, BRAILLE_MODEL, CNN_MODEL])
def test_script_builds_json_network(corpus_dir, tmp_path, monkeypatch, model):
    module = lowered(corpus_dir / model)
    document = network_document(module)
    (source,) = [p for p in document["populations"] if p["neuron_model"] == "spike_list"]
    spikes = (np.random.default_rng(3).random((20, source["size"])) < 0.3).astype(np.uint8)
    calls = run_script(tmp_path, monkeypatch, module, spikes)

    populations = [arguments for kind, arguments in calls if kind == "Population"]
    assert [p["name"] for p in populations] == [p["name"] for p in document["populations"]]
    for call, entry in zip(populations, document["populations"]):
        assert call["size"] == entry["size"]
        assert call["neuron_model"] == entry["neuron_model"]
        assert call["record"] == entry["record"]
        if entry["neuron_model"] == "spike_list":
            expected = {neuron: np.nonzero(spikes[:, neuron])[0].tolist() for neuron in range(entry["size"])}
            assert call["params"] == expected
        else:
            assert plain(call["params"]) == entry["params"]
    atoms = {arguments["name"]: arguments["atoms"] for kind, arguments in calls if kind == "set_max_atoms_per_core"}
    assert atoms == {p["name"]: p["max_atoms_per_core"] for p in document["populations"]}

    projections = [arguments for kind, arguments in calls if kind == "Projection"]
    assert projections == [{key: p[key] for key in ("pre", "post", "connections")} for p in document["projections"]]
    convs = [arguments for kind, arguments in calls if kind == "Conv2DProjection"]
    assert len(convs) == len(document["conv2d_projections"])
    for call, entry in zip(convs, document["conv2d_projections"]):
        assert call["weights"].dtype == np.int8
        assert call["weights"].tolist() == entry["weights"]
        assert call["params"] == entry["params"]
        assert (call["pre"], call["post"]) == (entry["pre"], entry["post"])
    assert ("run", {"backend": "brian2", "timesteps": 20}) in calls


def test_script_runs_on_hardware_address(corpus_dir, tmp_path, monkeypatch):
    module = lowered(corpus_dir / LIF_MODEL, "sys-tick=2.5e-3")
    calls = run_script(tmp_path, monkeypatch, module, np.zeros((7, 1), dtype=np.uint8), "--eth-ip", "10.0.0.2", "--timesteps", "5")
    assert ("SpiNNaker2Chip", {"eth_ip": "10.0.0.2"}) in calls
    assert ("run", {"backend": "hardware", "timesteps": 5, "sys_tick_in_s": 2.5e-3}) in calls
    saved = np.load(tmp_path / "out.npz")
    assert saved["1/spikes"].shape == (5, 1)


def test_translate_writes_json_and_script(corpus_dir, tmp_path):
    model = tmp_path / "lif.mlir"
    subprocess.run(
        [sys.executable, "-m", "nirmlir.tools.nir_opt", str(corpus_dir / LIF_MODEL), "--lower-to-spinnaker2=dt=1e-4", "-o", str(model)],
        check=True,
    )
    for flag, output in (("--spinnaker2-json", "lif.json"), ("--spinnaker2-script", "lif_spinnaker2.py")):
        subprocess.run([sys.executable, "-m", "nirmlir.tools.nir_translate", flag, str(model), "-o", str(tmp_path / output)], check=True)
    document = json.loads((tmp_path / "lif.json").read_text())
    assert document["format"] == "nirmlir-spinnaker2-network"
    compile((tmp_path / "lif_spinnaker2.py").read_text(), "lif_spinnaker2.py", "exec")
