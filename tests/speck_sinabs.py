"""Build sinabs' Speck configuration and discretized network of a NIR file, for the speck tests.

sinabs' Speck back-end is the package sinabs-dynapcnn (sinabs 1.2.10 has no `sinabs.backend`).
Every release of it, like every sinabs release that includes it, requires samna, whose PyPI
releases are stubs that run pip against a non-PyPI index on import, and Rockpool imports samna
whenever it is imported. So the test extras cannot install it; the README's test command
installs it alone with `pip install --no-deps sinabs-dynapcnn==1.0.15`, and it runs through the
recording stand-in of `samna_standin`.

`python tests/speck_sinabs.py` writes `tests/data/speck/cnn_sinabs_config.json`, the
configuration that sinabs-dynapcnn 1.0.15 builds for the NIR paper's CNN, recorded through the
stand-in. Tests compare nirmlir's printer with that recording when the back-end is absent.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

import samna_standin

RECORDING = Path(__file__).parent / "data" / "speck" / "cnn_sinabs_config.json"
CNN_FILE = "neuromorphs-NIR__cnn_sinabs.nir"
INPUT_SHAPE = (2, 34, 34)
DEVICE = "speck2fmodule"


def backend_installed() -> bool:
    """Return whether sinabs' Speck back-end (sinabs-dynapcnn) can be imported."""
    # find_spec imports the parent packages, and sinabs 1.2.10 alone has no sinabs.backend.
    for name in ("sinabs", "sinabs.backend", "sinabs.backend.dynapcnn"):
        if importlib.util.find_spec(name) is None:
            return False
    return True


def chain_order(graph) -> list[str]:
    """Return the node names of a chain-shaped NIR graph from its input to its output."""
    following = {source: target for source, target in graph.edges}
    order = []
    node = "input"
    while node in following:
        node = following[node]
        order.append(node)
    return [name for name in order if name != "output"]


def sinabs_sequential(path: Path):
    """Import a NIR file with sinabs.from_nir and return its modules as a torch Sequential.

    Each IAFSqueeze gets a single threshold, as the NIR paper's Speck script did, because a
    Speck core has one threshold: sinabs imports one per neuron, and its discretization rejects
    that. `min_v_mem` becomes -threshold, which sinabs sets for IF nodes anyway.
    """
    import nir
    import sinabs
    import torch

    graph = nir.read(str(path))
    executor = sinabs.from_nir(graph, batch_size=1)
    modules = [getattr(executor, name) for name in chain_order(graph)]
    for module in modules:
        if isinstance(module, sinabs.layers.IAFSqueeze):
            thresholds = torch.unique(module.spike_threshold.detach())
            assert thresholds.numel() == 1, f"thresholds {thresholds.tolist()} differ within a layer"
            value = float(thresholds.item())
            module.spike_threshold = torch.nn.Parameter(torch.tensor(value), requires_grad=False)
            module.min_v_mem = torch.nn.Parameter(torch.tensor(-value), requires_grad=False)
    return torch.nn.Sequential(*modules)


def build_with_backend(path: Path):
    """Return (DynapcnnNetwork with discretize=True, recorded configuration as JSON values).

    Must run inside `samna_standin.installed()`.
    """
    from sinabs.backend.dynapcnn import DynapcnnNetwork

    network = DynapcnnNetwork(sinabs_sequential(path), input_shape=INPUT_SHAPE, discretize=True)
    config = network.make_config(device=DEVICE)
    return network, config.to_json()


def record(corpus: Path) -> dict:
    """Build sinabs' configuration of the CNN through the stand-in and return it."""
    import warnings

    with samna_standin.installed(), warnings.catch_warnings():
        # sinabs warns that a monitored core pools, reading the stand-in's unset pooling.
        warnings.simplefilter("ignore")
        _, config = build_with_backend(corpus / CNN_FILE)
    return config


def core_modules(layer: dict, record_states: bool = False):
    """Return torch's Conv2d and sinabs' IAFSqueeze that compute one core of a recorded Speck configuration.

    The recorded kernels are (out, in, x, y), so they are transposed to torch's (out, in, y, x).
    """
    import sinabs.layers
    import torch

    dimensions = layer["dimensions"]
    weight = torch.tensor(layer["weights"], dtype=torch.float32).transpose(2, 3)
    conv = torch.nn.Conv2d(
        weight.shape[1],
        weight.shape[0],
        weight.shape[2],
        stride=(dimensions["stride"]["y"], dimensions["stride"]["x"]),
        padding=(dimensions["padding"]["y"], dimensions["padding"]["x"]),
    )
    conv.weight.data = weight
    conv.bias.data = torch.tensor(layer["biases"], dtype=torch.float32)
    neurons = sinabs.layers.IAFSqueeze(
        batch_size=1,
        spike_threshold=float(layer["threshold_high"]),
        min_v_mem=float(layer["threshold_low"]),
        record_states=record_states,
    )
    return conv, neurons


def main() -> None:
    from importlib.metadata import version

    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "shared" / "corpus" / "real"
    config = record(corpus)
    config["recorded_with"] = {name: version(name) for name in ("sinabs", "sinabs-dynapcnn", "torch", "nir")}
    RECORDING.parent.mkdir(parents=True, exist_ok=True)
    RECORDING.write_text(json.dumps(config, separators=(",", ":")) + "\n")
    print(f"wrote {RECORDING} ({np.round(RECORDING.stat().st_size / 1024)} KiB)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
