"""Branching networks for the Speck back-end, and sinabs 3's configuration and forward pass of them.

Three small NIR graphs, each written to `tests/data/speck/branch_<name>.nir`:

* `fanout`: one core sends its pooled events to two cores, whose events are both outputs;
* `residual`: core l1 feeds core l2, and core l3 convolves the sum of the events of l1 and l2
  (a skip connection), then pools into a linear layer;
* `twoinputs`: the input feeds two cores, whose events one core sums.

sinabs 1.2.10 with sinabs-dynapcnn 1.0.15 maps sequential networks only. sinabs 3 maps graphs
(`sinabs.backend.dynapcnn.DynapcnnNetwork` traces a torch module, and `sinabs.layers.Merge`
sums two inputs). `python tests/speck_branching.py`, run by a Python that imports sinabs 3.1.3
and torch, writes the graphs and what sinabs 3 builds for them through the samna stand-in:
`branch_<name>_config.json` (the recorded configuration and sinabs' layer-to-core map) and
`branch_<name>_forward.npz` (input events, and per NIR IF node the neuron spikes and membrane
of sinabs' discretized forward pass). The test extras install sinabs 1.2.10, so the tests read
these recordings, and compare with a live sinabs 3 only where it imports.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "speck"
NAMES = ("fanout", "residual", "twoinputs")
INPUT_SHAPE = (2, 8, 8)
BINS = 40
DEVICE = "speck2fmodule"


def config_path(name: str) -> Path:
    return DATA / f"branch_{name}_config.json"


def forward_path(name: str) -> Path:
    return DATA / f"branch_{name}_forward.npz"


def nir_path(name: str) -> Path:
    return DATA / f"branch_{name}.nir"


# --------------------------------------------------------------------------------------
# The NIR graphs
# --------------------------------------------------------------------------------------


def conv(rng, in_channels: int, out_channels: int, kernel: int, size: int, bias: bool = False):
    import nir

    weight = rng.normal(0.0, 0.35, size=(out_channels, in_channels, kernel, kernel)).astype(np.float32)
    values = rng.normal(0.0, 0.05, size=out_channels).astype(np.float32) if bias else np.zeros(out_channels, np.float32)
    return nir.Conv2d(
        input_shape=(size, size),
        weight=weight,
        stride=1,
        padding=kernel // 2,
        dilation=1,
        groups=1,
        bias=values,
    )


def neurons(shape: tuple[int, ...], threshold: float):
    import nir

    return nir.IF(
        r=np.ones(shape, np.float32),
        v_threshold=np.full(shape, threshold, np.float32),
        v_reset=np.zeros(shape, np.float32),
    )


def build_graph(name: str):
    """Return the NIR graph `name`, with weights drawn from a generator seeded by the name."""
    import nir

    rng = np.random.default_rng(sum(map(ord, name)))
    nodes = {"input": nir.Input(input_type=np.array(INPUT_SHAPE))}
    if name == "fanout":
        nodes |= {
            "c1": conv(rng, 2, 4, 3, 8, bias=True),
            "l1": neurons((4, 8, 8), 1.0),
            "p1": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
            "c2": conv(rng, 4, 4, 3, 4),
            "l2": neurons((4, 4, 4), 0.8),
            "c3": conv(rng, 4, 3, 1, 4),
            "l3": neurons((3, 4, 4), 1.2),
            "o2": nir.Output(output_type=np.array([4, 4, 4])),
            "o3": nir.Output(output_type=np.array([3, 4, 4])),
        }
        edges = [
            ("input", "c1"), ("c1", "l1"), ("l1", "p1"), ("p1", "c2"), ("c2", "l2"), ("l2", "o2"),
            ("p1", "c3"), ("c3", "l3"), ("l3", "o3"),
        ]
    elif name == "residual":
        fc = rng.normal(0.0, 0.3, size=(5, 4 * 4 * 4)).astype(np.float32)
        nodes |= {
            "c1": conv(rng, 2, 4, 3, 8),
            "l1": neurons((4, 8, 8), 1.0),
            "c2": conv(rng, 4, 4, 3, 8),
            "l2": neurons((4, 8, 8), 1.0),
            "c3": conv(rng, 4, 4, 3, 8, bias=True),
            "l3": neurons((4, 8, 8), 1.5),
            "p3": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
            "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
            "fc": nir.Affine(weight=fc, bias=np.zeros(5, np.float32)),
            "l4": neurons((5,), 1.0),
            "output": nir.Output(output_type=np.array([5])),
        }
        edges = [
            ("input", "c1"), ("c1", "l1"), ("l1", "c2"), ("c2", "l2"), ("l1", "c3"), ("l2", "c3"),
            ("c3", "l3"), ("l3", "p3"), ("p3", "flat"), ("flat", "fc"), ("fc", "l4"), ("l4", "output"),
        ]
    elif name == "twoinputs":
        nodes |= {
            "c1": conv(rng, 2, 4, 3, 8),
            "l1": neurons((4, 8, 8), 1.0),
            "c2": conv(rng, 2, 4, 5, 8),
            "l2": neurons((4, 8, 8), 1.0),
            "c3": conv(rng, 4, 3, 3, 8),
            "l3": neurons((3, 8, 8), 1.0),
            "output": nir.Output(output_type=np.array([3, 8, 8])),
        }
        edges = [
            ("input", "c1"), ("c1", "l1"), ("input", "c2"), ("c2", "l2"), ("l1", "c3"), ("l2", "c3"),
            ("c3", "l3"), ("l3", "output"),
        ]
    else:
        raise ValueError(f"unknown network '{name}'; expected one of {', '.join(NAMES)}")
    return nir.NIRGraph(nodes=nodes, edges=edges)


def input_events(name: str) -> np.ndarray:
    """Return (BINS, *INPUT_SHAPE) event counts per bin, mostly 0 or 1."""
    rng = np.random.default_rng(1000 + sum(map(ord, name)))
    return rng.poisson(0.3, size=(BINS, *INPUT_SHAPE)).astype(np.int64)


# --------------------------------------------------------------------------------------
# The same network as a torch module of sinabs layers
# --------------------------------------------------------------------------------------


def topological_order(graph) -> list[str]:
    sources = {name: [a for a, b in graph.edges if b == name] for name in graph.nodes}
    order: list[str] = []
    while len(order) < len(graph.nodes):
        for name in graph.nodes:
            if name not in order and all(source in order for source in sources[name]):
                order.append(name)
    return order


def torch_network(graph):
    """Return a torch module that runs `graph` with torch and sinabs layers; a node with two inputs gets a Merge.

    IF nodes become IAFSqueeze with one threshold and min_v_mem = -threshold, as sinabs' NIR
    importer and the NIR paper's Speck script make them.
    """
    import nir
    import sinabs.layers as sl
    import torch

    class Network(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.order = [name for name in topological_order(graph) if name != "input"]
            self.sources = {name: [a for a, b in graph.edges if b == name] for name in graph.nodes}
            self.outputs = [name for name, node in graph.nodes.items() if isinstance(node, nir.Output)]
            for name in self.order:
                node = graph.nodes[name]
                if isinstance(node, nir.Conv2d):
                    out_channels, in_channels, kernel, _ = node.weight.shape
                    module = torch.nn.Conv2d(in_channels, out_channels, kernel, padding=int(node.padding[0]))
                    module.weight.data = torch.from_numpy(node.weight)
                    module.bias.data = torch.from_numpy(node.bias)
                elif isinstance(node, nir.Affine):
                    module = torch.nn.Linear(node.weight.shape[1], node.weight.shape[0])
                    module.weight.data = torch.from_numpy(node.weight)
                    module.bias.data = torch.from_numpy(node.bias)
                elif isinstance(node, nir.IF):
                    threshold = float(node.v_threshold.flat[0])
                    module = sl.IAFSqueeze(batch_size=1, spike_threshold=threshold, min_v_mem=-threshold)
                elif isinstance(node, nir.SumPool2d):
                    module = sl.SumPool2d(int(node.kernel_size[0]))
                elif isinstance(node, nir.Flatten):
                    module = torch.nn.Flatten()
                elif isinstance(node, nir.Output):
                    continue
                else:
                    raise TypeError(f"node '{name}' is a {type(node).__name__}, which this builder does not map")
                self.add_module(name, module)
                if len(self.sources[name]) == 2:
                    self.add_module(f"merge_{name}", sl.Merge())

        def forward(self, x):
            values = {"input": x}
            for name in self.order:
                inputs = [values[source] for source in self.sources[name]]
                if name in self.outputs:
                    values[name] = inputs[0]
                    continue
                value = getattr(self, f"merge_{name}")(*inputs) if len(inputs) == 2 else inputs[0]
                values[name] = getattr(self, name)(value)
            outputs = [values[name] for name in self.outputs]
            return outputs[0] if len(outputs) == 1 else tuple(outputs)

    return Network()


# --------------------------------------------------------------------------------------
# sinabs 3
# --------------------------------------------------------------------------------------


def sinabs3_installed() -> bool:
    """Return whether sinabs 3 or newer, which contains the graph-mapping Speck back-end, is importable."""
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = int(version("sinabs").split(".")[0])
    except PackageNotFoundError:
        return False
    return major >= 3 and importlib.util.find_spec("torch") is not None


def build_with_sinabs3(graph):
    """Return (DynapcnnNetwork, recorded configuration, layer index -> NIR IF node name).

    Must run inside `samna_standin.installed()`.
    """
    import torch
    from sinabs.backend.dynapcnn import DynapcnnNetwork

    network = DynapcnnNetwork(torch_network(graph), input_shape=INPUT_SHAPE, batch_size=1, discretize=True)
    config = network.make_config(device=DEVICE)
    return network, config.to_json(), layer_names_of(network)


def layer_names_of(network) -> dict[int, str]:
    """Return the NIR IF node of each of sinabs' layer indices.

    sinabs renumbers its layers after it records which node each layer came from, and keeps no
    map between the numbers. So each layer is matched to the node whose float weights, times one
    factor, round to the layer's discretized weights.
    """
    index_to_name = {index: name for name, index in network.name_2_indx_map.items()}
    extractor = network._graph_extractor  # noqa: SLF001 - sinabs keeps the node of each layer only here
    originals = {
        index_to_name[info["neuron"]["node_id"]]: info["conv"]["module"].weight.detach().numpy().reshape(-1)
        for info in extractor.dcnnl_info.values()
    }
    names = {}
    for index, layer in network.all_layers.items():
        weight = layer.conv_layer.weight.detach().numpy().reshape(-1)
        matches = []
        for name, original in originals.items():
            if original.size != weight.size:
                continue
            factor = float(weight @ original) / float(original @ original)
            if np.abs(weight - original * factor).max() <= 0.5 + 1e-3 * abs(factor):
                matches.append(name)
        assert len(matches) == 1, f"sinabs layer {index} matches the nodes {matches}"
        names[index] = matches[0]
    return names


def sinabs3_forward(network, layer_names: dict[int, str], events: np.ndarray) -> dict[str, np.ndarray]:
    """Run sinabs' discretized forward pass; return `<IF node>.spikes` and `<IF node>.v` per layer, (BINS, f, y, x)."""
    import torch

    spikes: dict[str, torch.Tensor] = {}
    hooks = []
    for index, layer in network.all_layers.items():
        name = layer_names[index]
        layer.spk.record_states = True
        hooks.append(layer.spk.register_forward_hook(lambda module, args, output, name=name: spikes.__setitem__(name, output)))
    with torch.no_grad():
        network(torch.from_numpy(events.astype(np.float32)))
    for hook in hooks:
        hook.remove()
    traces = {}
    for index, layer in network.all_layers.items():
        name = layer_names[index]
        traces[f"{name}.spikes"] = spikes[name].numpy().astype(np.int64)
        # sinabs records v_mem as (batch, time, ...) but returns spikes as (batch·time, ...).
        traces[f"{name}.v"] = layer.spk.recordings["v_mem"].numpy().astype(np.int64).reshape(traces[f"{name}.spikes"].shape)
    return traces


def record(name: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Build sinabs 3's configuration and forward pass of the network `name` through the stand-in."""
    import nir

    import samna_standin

    graph = nir.read(str(nir_path(name)))
    with samna_standin.installed(), warnings.catch_warnings():
        # sinabs warns that a monitored core pools, reading the stand-in's unset pooling.
        warnings.simplefilter("ignore")
        network, config, layer_names = build_with_sinabs3(graph)
        traces = sinabs3_forward(network, layer_names, input_events(name))
    cores = {layer_names[layer]: core for layer, core in network.layer2core_map.items()}
    return {"configuration": config, "cores": cores}, traces


def main() -> None:
    from importlib.metadata import version

    import nir

    DATA.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        nir.write(str(nir_path(name)), build_graph(name))
        recording, traces = record(name)
        recording["recorded_with"] = {package: version(package) for package in ("sinabs", "torch", "nir", "nirtorch")}
        config_path(name).write_text(json.dumps(recording, separators=(",", ":")) + "\n")
        np.savez_compressed(forward_path(name), events=input_events(name), **traces)
        print(f"wrote {nir_path(name).name}, {config_path(name).name}, {forward_path(name).name}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
