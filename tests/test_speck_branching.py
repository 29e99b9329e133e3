"""Branching networks on Speck (fan-out to two cores, fan-in of two sources) against three references.

* sinabs 3.1.3, which maps graphs onto Speck: its configuration and discretized forward pass of
  the networks of `speck_branching.py`, recorded in `tests/data/speck/branch_*` through the
  samna stand-in. A live comparison runs only where sinabs 3 imports (the test extras install
  sinabs 1.2.10);
* a torch model built from our printed configuration with sinabs 1.2.10's `IAFSqueeze`, torch's
  `Conv2d` and sinabs' `SumPool2d`, wired by the printed destinations;
* nirmlir's own snn-level simulation of the NIR graph, on integer-valued copies of the networks
  whose registers equal the NIR values, so that both levels compute the same integers.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import nirmlir
import samna_standin
import speck_branching
from nirmlir.printers import speck as speck_printer
from speck_sinabs import core_modules
from test_speck_sinabs import assert_same_fields, require

LAYERS = {"fanout": ("l1", "l2", "l3"), "residual": ("l1", "l2", "l3", "l4"), "twoinputs": ("l1", "l2", "l3")}
"""The IF nodes of each network, one per core, in data-flow order."""


@pytest.fixture(scope="module", params=speck_branching.NAMES)
def name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def speck_module(name):
    return nirmlir.compile(speck_branching.nir_path(name), "lower-to-speck")


@pytest.fixture(scope="module")
def ours(speck_module) -> dict:
    return speck_printer.configuration(speck_module)


@pytest.fixture(scope="module")
def recording(name) -> dict:
    recording = json.loads(speck_branching.config_path(name).read_text())
    recording.pop("recorded_with")
    return recording


@pytest.fixture(scope="module")
def recorded_forward(name) -> dict[str, np.ndarray]:
    with np.load(speck_branching.forward_path(name)) as data:
        return dict(data)


def core_of(speck_module) -> dict[str, int]:
    """Return our core of each IF node."""
    graph = speck_module.ops.first
    return {op.node_name.data: op.core_index for op in graph.body.block.ops if op.name == "speck.core"}


def in_our_numbering(recording: dict, ours_cores: dict[str, int], ours: dict) -> dict:
    """Return sinabs' configuration with each core moved to the index that our placement gave its layer.

    sinabs 3 numbers its layers in an order that comes from iterating a Python set, so among the
    cores that fit it may choose another permutation than our lowest-first matching. The
    destinations' `layer` is renumbered too, and the enabled slots are put in our slot order,
    because the chip treats its two destination slots alike.
    """
    sinabs_cores = recording["cores"]
    renumber = {sinabs_cores[name]: core for name, core in ours_cores.items()}
    layers = recording["configuration"]["cnn_layers"]
    moved = [{} for _ in layers]
    for sinabs_core, layer in enumerate(layers):
        if "weights" not in layer:
            continue
        layer = json.loads(json.dumps(layer))
        enabled = [slot for slot in layer["destinations"] if slot.get("enable")]
        for slot in enabled:
            slot["layer"] = renumber[slot["layer"]]
        ours_order = [slot.get("layer") for slot in ours["cnn_layers"][renumber[sinabs_core]]["destinations"]]
        enabled.sort(key=lambda slot: ours_order.index(slot["layer"]) if slot["layer"] in ours_order else len(ours_order))
        layer["destinations"] = enabled + [{}] * (len(layer["destinations"]) - len(enabled))
        moved[renumber[sinabs_core]] = layer
    return {**recording["configuration"], "cnn_layers": moved}


def test_layers_use_the_cores_sinabs_uses(speck_module, recording):
    # The same set of cores; which layer gets which of them may differ (see in_our_numbering).
    assert sorted(core_of(speck_module).values()) == sorted(recording["cores"].values())
    assert set(core_of(speck_module)) == set(recording["cores"])


def test_config_matches_sinabs3_recording(name, speck_module, ours, recording):
    expected = in_our_numbering(recording, core_of(speck_module), ours)
    compared = assert_same_fields(expected, ours)
    # Per used core: 11 dimension fields, weights, biases, 6 scalars, the initial state and
    # 3 fields per enabled destination; dvs_layer.pass_sensor_events.
    assert compared >= len(LAYERS[name]) * 19 + 1


def test_fanout_core_has_two_destinations(name, speck_module, ours):
    # l1 sends to the cores of l2 and l3 in fanout and residual. In twoinputs the input feeds l1 and l2, so l1 sends to l3 only.
    cores = core_of(speck_module)
    destinations = ours["cnn_layers"][cores["l1"]]["destinations"]
    enabled = sorted(slot["layer"] for slot in destinations if slot["enable"])
    expected = {"fanout": [cores["l2"], cores["l3"]], "residual": [cores["l2"], cores["l3"]], "twoinputs": [cores["l3"]]}
    assert enabled == sorted(expected[name])


def test_fanin_core_reads_two_sources(name, speck_module):
    graph = speck_module.ops.first
    operands = {op.node_name.data: len(op.operands) for op in graph.body.block.ops if op.name == "speck.core"}
    expected = {"fanout": {"l1": 1, "l2": 1, "l3": 1}, "residual": {"l1": 1, "l2": 1, "l3": 2, "l4": 1}}
    expected["twoinputs"] = {"l1": 1, "l2": 1, "l3": 2}
    assert operands == expected[name]


def simulate_ours(speck_module, name: str, events: np.ndarray) -> dict:
    return nirmlir.simulate(speck_module, events[None], record=list(LAYERS[name]), integers=True)


def assert_traces_equal(name: str, ours: dict, reference: dict[str, np.ndarray], what: str) -> None:
    for layer in LAYERS[name]:
        spikes = ours[layer]["neuron_spikes_int"][0]
        assert np.array_equal(spikes, reference[f"{layer}.spikes"].reshape(spikes.shape)), f"{what}: spikes of {layer}"
        voltage = ours[layer]["v_int"][0]
        assert np.array_equal(voltage, reference[f"{layer}.v"].reshape(voltage.shape)), f"{what}: membrane of {layer}"
        assert spikes.sum() > 0, f"{layer} never fires, so the comparison checks little"


def test_forward_matches_sinabs3_recording(name, speck_module, recorded_forward):
    ours = simulate_ours(speck_module, name, recorded_forward["events"])
    assert_traces_equal(name, ours, recorded_forward, "sinabs 3.1.3 recording")


def test_recording_matches_live_sinabs3(name, speck_module, ours, recording, recorded_forward):
    if not speck_branching.sinabs3_installed():
        pytest.skip("sinabs 3 is not importable (the test extras install sinabs 1.2.10); the recorded values are checked instead")
    live, traces = speck_branching.record(name)
    # sinabs 3 iterates a set of node names, whose order changes with Python's string hash seed.
    # So the live run may permute the cores, and both are compared in our numbering.
    cores = core_of(speck_module)
    assert in_our_numbering(live, cores, ours) == in_our_numbering(recording, cores, ours), (
        "the recording no longer matches sinabs; rerun python tests/speck_branching.py"
    )
    assert_same_fields(in_our_numbering(live, cores, ours), ours)
    assert_traces_equal(name, simulate_ours(speck_module, name, recorded_forward["events"]), traces, "live sinabs 3")


# --------------------------------------------------------------------------------------
# A torch model of the printed configuration
# --------------------------------------------------------------------------------------


def run_configuration(config: dict, events: np.ndarray) -> dict[int, dict[str, np.ndarray]]:
    """Run the used cores of a printed configuration with sinabs' IAFSqueeze; return spikes and v per core.

    The wiring comes only from the `destinations`: a core that no core sends to reads the input,
    and a core with several sources convolves the sum of their pooled events.
    """
    import sinabs.layers
    import torch

    used = [index for index, layer in enumerate(config["cnn_layers"]) if "weights" in layer]
    sources = {core: [] for core in used}
    pooling = {}
    for core in used:
        for slot in config["cnn_layers"][core]["destinations"]:
            if slot["enable"]:
                sources[slot["layer"]].append(core)
                pooling[core] = slot.get("pooling", 1)
    modules = {}
    for core in used:
        conv, neurons = core_modules(config["cnn_layers"][core], record_states=True)
        modules[core] = (conv, neurons)

    pooled: dict[int, torch.Tensor] = {}
    traces = {}
    remaining = list(used)
    with torch.no_grad():
        while remaining:
            core = next(core for core in remaining if all(source in pooled for source in sources[core]))
            remaining.remove(core)
            if sources[core]:
                x = sum(pooled[source] for source in sources[core])
            else:
                x = torch.from_numpy(events.astype(np.float32))
            conv, neurons = modules[core]
            spikes = neurons(conv(x))
            size = pooling.get(core, 1)
            pooled[core] = sinabs.layers.SumPool2d(size)(spikes) if size != 1 else spikes
            traces[core] = {
                "spikes": spikes.numpy().astype(np.int64),
                "v": neurons.recordings["v_mem"].numpy().astype(np.int64).reshape(spikes.shape),
            }
    return traces


def test_forward_matches_torch_model_of_printed_config(name, speck_module, ours, recorded_forward):
    require("torch", "sinabs")
    events = recorded_forward["events"]
    traces = run_configuration(ours, events)
    cores = core_of(speck_module)
    reference = {}
    for layer in LAYERS[name]:
        reference[f"{layer}.spikes"] = traces[cores[layer]]["spikes"]
        reference[f"{layer}.v"] = traces[cores[layer]]["v"]
    assert_traces_equal(name, simulate_ours(speck_module, name, events), reference, "torch model")


# --------------------------------------------------------------------------------------
# nirmlir's snn level on integer-valued networks
# --------------------------------------------------------------------------------------

SNN_PIPELINE = "discretize{dt=1 preset=sinabs max-spikes-per-step=2147483647}"
"""sinabs' view of NIR: dt = 1, v += x, floor(v / threshold) spikes per step, reset by subtraction."""


def integer_graph(name: str):
    """Return the network with integer weights whose largest value is 127, integer biases and thresholds.

    sinabs' scale rule then gives every layer the factor 1, so the Speck registers are the NIR
    values themselves and the snn level computes the same integers as the cores.
    """
    import nir

    graph = nir.read(str(speck_branching.nir_path(name)))
    for node in graph.nodes.values():
        if isinstance(node, (nir.Conv2d, nir.Affine)):
            # Negative weights shrink by 4 so that no membrane drifts down to the 16-bit floor in 40 bins.
            weight = np.where(node.weight < 0, node.weight / 4, node.weight)
            factor = 127.0 / weight.max()
            node.weight = np.clip(np.round(weight * factor), -128, 127).astype(np.float32)
            node.bias = np.round(node.bias * factor).astype(np.float32)
        elif isinstance(node, nir.IF):
            # The weights grew by about 127 / (3 · 0.35); a threshold of about 100 · v_threshold
            # keeps every layer firing.
            node.v_threshold = np.round(node.v_threshold * 100.0).astype(np.float32)
    return graph


def test_speck_matches_snn_level_on_integer_network(name, tmp_path):
    import nir

    path = tmp_path / f"{name}.nir"
    nir.write(str(path), integer_graph(name))
    # No floor at -threshold: the snn level has none, and -32768 is never reached (checked below).
    speck_module = nirmlir.compile(path, "lower-to-speck{membrane-floor=none}")
    graph = speck_module.ops.first
    for op in graph.body.block.ops:
        if op.name == "speck.core":
            assert op.voltage_scale.value.data == 1.0, f"{op.node_name.data} is scaled, so the integers differ"
    snn_module = nirmlir.compile(path, SNN_PIPELINE)

    with np.load(speck_branching.forward_path(name)) as data:
        events = data["events"]
    ours = simulate_ours(speck_module, name, events)
    snn = nirmlir.simulate(snn_module, events[None].astype(np.float64), record=list(LAYERS[name]))
    for layer in LAYERS[name]:
        speck_spikes = ours[layer]["neuron_spikes_int"][0]
        snn_spikes = snn[layer]["spikes"][0].reshape(speck_spikes.shape)
        assert np.array_equal(speck_spikes, snn_spikes), f"spikes of {layer}"
        assert speck_spikes.sum() > 0, f"{layer} never fires"
        assert ours[layer]["v_int"][0].min() > -32768, f"the membrane of {layer} reaches the floor the snn level lacks"
        assert np.array_equal(ours[layer]["v_int"][0], snn[layer]["v"][0].reshape(speck_spikes.shape)), f"membrane of {layer}"
