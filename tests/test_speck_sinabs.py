"""The speck level against sinabs' Speck back-end on the NIR paper's CNN (cnn_sinabs.nir).

Two references:

* the configuration and discretized network that sinabs-dynapcnn 1.0.15 builds with
  `DynapcnnNetwork(..., discretize=True)` and `make_config("speck2fmodule")`. samna cannot be
  installed, so the replacement module `samna_standin` records every field sinabs sets and
  validates nothing. The README's test command installs sinabs-dynapcnn without its
  dependencies (see `speck_sinabs.py` for why the test extras cannot install it);
* `tests/data/speck/cnn_sinabs_config.json`, that configuration as recorded by
  `python tests/speck_sinabs.py`. The field-by-field test and a forward pass through sinabs'
  own layers (`IAFSqueeze`, `SumPool2d`, torch's `Conv2d`) built from it run with the peers extra.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

import nirmlir
import samna_standin
import speck_sinabs
from speck_sinabs import core_modules
from nirmlir.printers import speck as speck_printer

LAYERS = ("1", "3", "6", "10", "12")
"""The IF nodes of cnn_sinabs.nir, one per core, in data-flow order."""
CORES = (0, 1, 2, 3, 4)
"""The cores sinabs assigns them (its max-flow mapping)."""
BINS = 60

DISABLED_DESTINATION = {"enable": False}
"""What the printer writes for an unused destination slot, which sinabs leaves unset."""
DESTINATION_DEFAULTS = {"pooling": 1, "feature_shift": 0}
# NOTE: samna's defaults are assumed here, because only a real samna can show them: an enabled
# destination that sinabs does not pool keeps pooling 1, and sinabs never sets feature_shift.


def require(*modules: str) -> None:
    """Skip unless the modules import; under NIRMLIR_REQUIRE_PEERS=1 fail instead."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed; install the peers with: pip install -e '.[test,peers]'"
    if os.environ.get("NIRMLIR_REQUIRE_PEERS") == "1":
        pytest.fail(f"{reason} (NIRMLIR_REQUIRE_PEERS=1)")
    pytest.skip(reason)


def require_backend() -> None:
    require("torch", "sinabs")
    if not speck_sinabs.backend_installed():
        reason = (
            "sinabs' Speck back-end is not installed: every sinabs-dynapcnn release requires samna, whose PyPI stub "
            "runs pip against a non-PyPI index, so install it alone with: pip install --no-deps sinabs-dynapcnn==1.0.15"
        )
        if os.environ.get("NIRMLIR_REQUIRE_PEERS") == "1":
            pytest.fail(f"{reason} (NIRMLIR_REQUIRE_PEERS=1)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def speck_module(corpus_dir):
    return nirmlir.compile(corpus_dir / speck_sinabs.CNN_FILE, "lower-to-speck")


@pytest.fixture(scope="module")
def ours(speck_module) -> dict:
    return speck_printer.configuration(speck_module)


@pytest.fixture(scope="module")
def recorded() -> dict:
    config = json.loads(speck_sinabs.RECORDING.read_text())
    config.pop("recorded_with")
    return config


def leaves(tree, prefix=()):
    """Yield (path, value) for every scalar of a JSON tree; lists of numbers count as one leaf."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaves(value, prefix + (key,))
    elif isinstance(tree, list) and tree and isinstance(tree[0], (dict, list)) and not is_number_array(tree):
        for index, value in enumerate(tree):
            yield from leaves(value, prefix + (index,))
    else:
        yield prefix, tree


def is_number_array(tree) -> bool:
    try:
        return np.asarray(tree).dtype.kind in "iub"
    except ValueError:
        return False


def lookup(tree, path):
    for key in path:
        if isinstance(tree, dict):
            if key not in tree:
                return KeyError
            tree = tree[key]
        elif isinstance(tree, list) and isinstance(key, int) and key < len(tree):
            tree = tree[key]
        else:
            return KeyError
    return tree


def assert_same_fields(sinabs_config: dict, ours: dict) -> int:
    """Assert that every field sinabs set has our value, and every other field we print is its default; return the count."""
    compared = 0
    for path, expected in leaves(sinabs_config):
        actual = lookup(ours, path)
        assert actual is not KeyError, f"sinabs sets {'/'.join(map(str, path))} = {expected}, which we do not print"
        assert np.array_equal(np.asarray(actual), np.asarray(expected)), f"{'/'.join(map(str, path))}: ours {actual}, sinabs {expected}"
        compared += 1
    for path, actual in leaves(ours):
        if lookup(sinabs_config, path) is not KeyError:
            continue
        field = path[-1]
        if path[-3:-1] and path[-3] == "destinations" and lookup(ours, path[:-1]) == DISABLED_DESTINATION:
            assert actual is False, f"{'/'.join(map(str, path))}"
            continue
        assert field in DESTINATION_DEFAULTS, f"we print {'/'.join(map(str, path))} = {actual}, which sinabs does not set"
        assert actual == DESTINATION_DEFAULTS[field], f"{'/'.join(map(str, path))}: ours {actual}, default {DESTINATION_DEFAULTS[field]}"
    return compared


# --------------------------------------------------------------------------------------
# The configuration
# --------------------------------------------------------------------------------------


def test_cores_are_sinabs_mapping(speck_module):
    cores = [op for op in speck_module.ops.first.body.block.ops if op.name == "speck.core"]
    assert tuple(op.node_name.data for op in cores) == LAYERS
    assert tuple(op.core_index for op in cores) == CORES


def test_thresholds_are_sinabs_values(ours):
    # sinabs-dynapcnn 1.0.15 gives these per-layer scales of the NIR threshold 1.0.
    highs = [ours["cnn_layers"][core]["threshold_high"] for core in CORES]
    lows = [ours["cnn_layers"][core]["threshold_low"] for core in CORES]
    assert highs == [72, 128, 205, 108, 197]
    assert lows == [-72, -128, -205, -108, -197]


def test_config_fields_match_recording(ours, recorded):
    compared = assert_same_fields(recorded, ours)
    # Per used core: 11 dimension fields, weights, biases, 6 scalars, the initial state and the
    # destination fields sinabs sets; dvs_layer.pass_sensor_events.
    assert compared >= 5 * 20 + 1
    used = [index for index, layer in enumerate(recorded["cnn_layers"]) if "weights" in layer]
    assert used == list(CORES)
    for core in range(len(CORES), 9):
        assert ours["cnn_layers"][core] == {}


def test_config_fields_match_live_sinabs(corpus_dir, ours, recorded):
    require_backend()
    live = speck_sinabs.record(corpus_dir)
    assert live == recorded, "the recording no longer matches sinabs; rerun python tests/speck_sinabs.py"
    assert_same_fields(live, ours)


def test_weights_transpose_x_and_y(speck_module, ours):
    # samna stores kernels [f][c][x][y], the dialect [f][c][y][x] like torch.
    core = next(op for op in speck_module.ops.first.body.block.ops if op.name == "speck.core")
    weight = np.frombuffer(core.weight.data.data, dtype=np.int8).reshape(16, 2, 5, 5)
    printed = np.asarray(ours["cnn_layers"][0]["weights"])
    assert np.array_equal(printed, weight.transpose(0, 1, 3, 2))
    assert not np.array_equal(printed, weight)


# --------------------------------------------------------------------------------------
# The forward pass
# --------------------------------------------------------------------------------------


def random_events(seed: int) -> np.ndarray:
    """Return (1, BINS, 2, 34, 34) event counts per bin: mostly 0 or 1, some bins with 2 or 3."""
    rng = np.random.default_rng(seed)
    return rng.poisson(0.15, size=(1, BINS, *speck_sinabs.INPUT_SHAPE)).astype(np.int64)


def simulate_ours(speck_module, events: np.ndarray) -> dict:
    return nirmlir.simulate(speck_module, events, record=list(LAYERS), integers=True)


def assert_layers_agree(ours: dict, spikes: list, voltages: list) -> None:
    for name, sinabs_spikes, sinabs_v in zip(LAYERS, spikes, voltages):
        our_spikes = ours[name]["spikes"][0]
        our_v = ours[name]["v_int"][0]
        assert np.array_equal(our_spikes, sinabs_spikes.reshape(our_spikes.shape)), f"spikes of layer {name}"
        assert np.array_equal(our_v, sinabs_v.reshape(our_v.shape)), f"membrane of layer {name}"
    assert ours["output"]["spikes"].sum() > 0, "the output layer never fires, so the test checks little"


def run_sequence(layers, events: np.ndarray) -> tuple[list, list]:
    """Run sinabs layers (conv, IAFSqueeze, optional pool) one after another; return spikes and voltages per layer."""
    import torch

    spikes, voltages = [], []
    x = torch.from_numpy(events[0].astype(np.float32))
    with torch.no_grad():
        for conv, neurons, pool in layers:
            neurons.record_states = True
            x = neurons(conv(x))
            if pool is not None:
                x = pool(x)
            spikes.append(x.numpy().astype(np.int64))
            voltages.append(neurons.recordings["v_mem"].numpy().astype(np.int64))
    return spikes, voltages


@pytest.mark.parametrize("seed", [5, 6])
def test_forward_matches_sinabs_layers(speck_module, recorded, seed):
    # sinabs' own IAFSqueeze (MultiSpike, subtract, min_v_mem) and SumPool2d, and torch's Conv2d,
    # with the integers of sinabs' recorded configuration.
    require("torch", "sinabs")
    import sinabs.layers

    layers = []
    for core in CORES:
        config = recorded["cnn_layers"][core]
        conv, neurons = core_modules(config)
        pooling = config["destinations"][0].get("pooling", 1)
        pool = sinabs.layers.SumPool2d(pooling) if pooling != 1 else None
        layers.append((conv, neurons, pool))
    events = random_events(seed)
    spikes, voltages = run_sequence(layers, events)
    assert_layers_agree(simulate_ours(speck_module, events), spikes, voltages)


@pytest.mark.parametrize("seed", [5, 6])
def test_forward_matches_sinabs_dynapcnn_network(corpus_dir, speck_module, seed):
    require_backend()
    with samna_standin.installed(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network, _ = speck_sinabs.build_with_backend(corpus_dir / speck_sinabs.CNN_FILE)
        layers = [(layer.conv_layer, layer.spk_layer, layer.pool_layer) for layer in network.sequence]
        events = random_events(seed)
        spikes, voltages = run_sequence(layers, events)
    assert_layers_agree(simulate_ours(speck_module, events), spikes, voltages)
