"""Run a NIR graph in snnTorch, Norse, sinabs or Rockpool through the simulator's own NIR importer.

This module is the peer side of the comparison and does not import nirmlir. Each `run_<peer>`
function reads a `.nir` file or copies an in-memory `nir.NIRGraph`, because every importer here
mutates the graph it is given. It builds the network with the peer's importer and feeds it
inputs of shape (B, T, *input_shape). For every neuron node it records the spikes and membrane
voltage (and the synaptic current of current-based neurons) at the end of every step, keyed by
the NIR node name. It also reads back, from the modules the importer built, the discretization the peer
applies to each neuron node (`NeuronRule`).

Versions read: snntorch 0.9.4, norse 1.1.0, sinabs 1.2.10, rockpool 3.1.0, nirtorch 2.6. All
four importers build a nirtorch `GraphExecutor`, which runs the nodes in traced order and feeds
each back edge of a cycle with the previous step's output of its source.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import nir
import numpy as np

PEERS = ("snntorch", "norse", "sinabs", "rockpool")
"""The peer simulators, by distribution name."""

Traces = dict[str, dict[str, np.ndarray]]
"""node name -> "spikes" | "v" | "i" -> array of shape (B, T, *node_shape)."""


@dataclass(frozen=True)
class NeuronRule:
    """The per-step update that a peer's NIR import gives one neuron node, read from the built module."""

    dt: float | None
    """Seconds per step that the peer's parameters imply, or None where the rule has no time step."""
    update: str
    """The voltage (and current) update in the peer's own units, as a formula."""
    spike_test: str
    """"gt" (v > threshold) or "ge" (v >= threshold), tested on the updated voltage."""
    reset: str
    """"zero", "to_reset_value" or "subtract" (the threshold, once per spike)."""
    max_spikes_per_step: int
    voltage_scale: float
    """Peer volts per NIR volt: the peer's voltage (and current) is the NIR value times this."""
    notes: tuple[str, ...] = ()
    """Where the import departs from the NIR node: parameters ignored, rescaled or added."""


@dataclass
class PeerRun:
    """The recorded traces of one peer run and the rules the peer applied."""

    peer: str
    version: str
    traces: Traces
    rules: dict[str, NeuronRule] = field(default_factory=dict)


def peer_version(peer: str) -> str:
    """Return the installed version of a peer distribution; raise PackageNotFoundError if it is missing."""
    return metadata.version(peer)


def random_input(
    shape: tuple[int, ...], steps: int, batch: int, *, probability: float = 0.1, seed: int = 0
) -> np.ndarray:
    """Return float32 Bernoulli spikes of shape (batch, steps, *shape) from a seeded generator."""
    generator = np.random.default_rng(seed)
    return (generator.random((batch, steps, *shape)) < probability).astype(np.float32)


def load_graph(source: str | Path | nir.NIRGraph) -> nir.NIRGraph:
    """Return a private copy of the graph: read from a path, or deep-copied from a graph object."""
    if isinstance(source, nir.NIRGraph):
        return copy.deepcopy(source)
    return nir.read(str(source))


def input_shape(graph: nir.NIRGraph) -> tuple[int, ...]:
    """Return the unbatched shape of the graph's only input node."""
    inputs = [node for node in graph.nodes.values() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise ValueError(f"expected a graph with one Input node, got {len(inputs)}")
    return tuple(int(size) for size in inputs[0].input_type["input"])


def sanitize_name(name: str) -> str:
    """Return the PyTorch module name that nirtorch gives a NIR node (dots become underscores)."""
    return name.replace(".", "_")


def neuron_nodes(graph: nir.NIRGraph) -> dict[str, nir.NIRNode]:
    """Return the spiking and leaky-integrator nodes of a flat graph, by name."""
    kinds = (nir.IF, nir.LIF, nir.CubaLIF, nir.LI, nir.CubaLI, nir.I)
    return {name: node for name, node in graph.nodes.items() if isinstance(node, kinds)}


def _unique(values: np.ndarray | float) -> float:
    """Return the one value of a parameter array; raise ValueError if its elements differ."""
    array = np.unique(np.asarray(values, dtype=np.float64))
    if array.size != 1:
        raise ValueError(f"expected one value for every neuron, got {array.size} distinct values")
    return float(array[0])


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the prints and warnings that the importers emit while building a network."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _cast_module_tensors(module, dtype) -> None:
    """Cast a network to `dtype`, including the plain tensor attributes and tensor tuples that
    `Module.to` skips (Norse keeps parameters in NamedTuples, sinabs and Rockpool some as attributes)."""
    import torch

    module.to(dtype)
    for submodule in module.modules():
        for name, value in list(vars(submodule).items()):
            if name.startswith("_"):
                continue
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                setattr(submodule, name, value.to(dtype))
            elif isinstance(value, tuple) and hasattr(value, "_fields"):
                cast = {
                    key: item.to(dtype)
                    for key, item in zip(value._fields, value)
                    if isinstance(item, torch.Tensor) and item.is_floating_point()
                }
                if cast:
                    setattr(submodule, name, value._replace(**cast))


def _torch_dtype(precision: str):
    import torch

    dtypes = {"float32": torch.float32, "float64": torch.float64}
    if precision not in dtypes:
        raise ValueError(f"invalid precision '{precision}'; expected float32 or float64")
    return dtypes[precision]


def _step_executor(
    executor,
    inputs: np.ndarray,
    dtype,
    record: Callable[[object], dict[str, dict[str, np.ndarray]]],
    state=None,
) -> Traces:
    """Step a stateful nirtorch GraphExecutor over the time axis and stack what `record` returns each step.

    `state` is the GraphExecutorState of step 0, or None for the modules' own initial state.
    """
    import torch

    per_step: list[dict[str, dict[str, np.ndarray]]] = []
    with torch.no_grad():
        for t in range(inputs.shape[1]):
            _, state = executor(torch.from_numpy(np.ascontiguousarray(inputs[:, t])).to(dtype), state)
            per_step.append(record(state))
    return {
        node: {key: np.stack([step[node][key] for step in per_step], axis=1) for key in per_step[0][node]}
        for node in per_step[0]
    }


def _numpy(tensor, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return a tensor as a float64 array, reshaped to (-1, *shape) when `shape` is given.

    Norse and snnTorch drop the batch axis after a Flatten that starts at axis 0 (see
    `neuron_shape`), so batch-1 traces are reshaped back to (1, *shape).
    """
    array = tensor.detach().cpu().numpy().astype(np.float64)
    return array if shape is None else array.reshape(-1, *shape)


def neuron_shape(node: nir.NIRNode) -> tuple[int, ...]:
    """Return the unbatched shape of a neuron node, from its threshold (or time constant)."""
    values = getattr(node, "v_threshold", None)
    if values is None:
        values = getattr(node, "tau", getattr(node, "tau_mem", getattr(node, "r", None)))
    return tuple(np.shape(values))


# --------------------------------------------------------------------------------------
# snnTorch
# --------------------------------------------------------------------------------------

SNNTORCH_DT = 1e-4
"""The step that snnTorch's NIR import assumes for LIF and CubaLIF (hard-coded in snntorch/import_nir.py)."""


def _snntorch_module_names(graph: nir.NIRGraph) -> dict[str, str]:
    """Map NIR neuron node names to module names after snnTorch wrapped each recurrent LIF in a subgraph."""
    names = {}
    for key, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            inner = [name for name, sub in node.nodes.items() if isinstance(sub, nir.LIF | nir.CubaLIF)]
            names[inner[0]] = sanitize_name(key)
        elif isinstance(node, nir.IF | nir.LIF | nir.CubaLIF):
            names[key] = sanitize_name(key)
    return names


def _snntorch_rule(node: nir.NIRNode, module) -> NeuronRule:
    reset = {0: "subtract", 1: "zero", 2: "none"}[int(module.reset_mechanism_val)]
    beta = float(module.beta.clamp(0, 1).flatten()[0])
    threshold = float(module.threshold.flatten()[0])
    recurrent = type(module).__name__ == "RSynaptic"
    if isinstance(node, nir.IF):
        return NeuronRule(
            dt=None,
            update=f"mem = {beta:g}·mem + x",
            spike_test="gt",
            reset=reset,
            max_spikes_per_step=1,
            voltage_scale=1.0,
            notes=(f"IF imported as a Leaky neuron with beta = {beta:g}, so the membrane leaks",),
        )
    if isinstance(node, nir.LIF):
        scale = 1.0 / _unique(node.r * SNNTORCH_DT / node.tau)
        return NeuronRule(
            dt=SNNTORCH_DT,
            update="mem = beta·mem + x, beta = 1 - dt/tau",
            spike_test="gt",
            reset=reset,
            max_spikes_per_step=1,
            voltage_scale=scale,
            notes=(f"threshold divided by r·dt/tau, to {threshold:g}; v_reset is ignored",),
        )
    scale = 1.0 / _unique(node.w_in * SNNTORCH_DT / node.tau_syn)
    notes = [
        "r must equal tau_mem/dt (the importer asserts it); v_reset is ignored",
        "reset to zero whatever the file intends (reset_mechanism='zero' is hard-coded)",
    ]
    if scale != 1.0:
        notes.append(f"threshold divided by w_in·dt/tau_syn, to {threshold:g}")
    if recurrent:
        notes.append(
            "RSynaptic drops its same-step reset (it resets a local copy), so mem stays above the "
            "threshold in the spike step and is set to 0, input included, in the next step"
        )
        update = "syn = alpha·syn + x + W·spk[t-1]; mem = (beta·mem + syn)·(1 - spk[t-1])"
    else:
        update = "syn = alpha·syn + x; mem = beta·mem + syn, alpha = 1 - dt/tau_syn, beta = 1 - dt/tau_mem"
    return NeuronRule(
        dt=SNNTORCH_DT,
        update=update,
        spike_test="gt",
        reset=reset,
        max_spikes_per_step=1,
        voltage_scale=scale,
        notes=tuple(notes),
    )


def _keep_spike_dtype(module) -> None:
    """Make a snnTorch neuron return spikes in its voltage's dtype.

    snnTorch's surrogate spike functions return `(mem - threshold > 0).float()`, float32 whatever
    the voltage's dtype, which a float64 network cannot feed into its next layer. The replacement
    computes the same Heaviside step and keeps the dtype; the surrogate gradient is not needed here.
    """
    module.spike_grad = lambda shifted: (shifted > 0).to(shifted.dtype)


def _snntorch_initial_state(modules: dict[str, object], module_names: dict[str, str], inputs: np.ndarray, dtype):
    """Return a GraphExecutorState with zero (spk, syn, mem) for every RSynaptic module.

    snnTorch 0.9.4's RSynaptic with reset_delay=False divides its `spk` argument, which is None
    in the first call unless the caller passes a state.
    """
    import torch
    from nirtorch.graph_executor import GraphExecutorState

    state = GraphExecutorState()
    for node, module in modules.items():
        if type(module).__name__ == "RSynaptic":
            size = module.recurrent.weight.shape[0] if hasattr(module.recurrent, "weight") else module.recurrent.V.shape[0]
            zeros = torch.zeros((inputs.shape[0], size), dtype=dtype)
            state.state[module_names[node]] = (zeros, zeros.clone(), zeros.clone())
    return state


def run_snntorch(source: str | Path | nir.NIRGraph, inputs: np.ndarray, *, precision: str = "float64") -> PeerRun:
    """Run a graph with `snntorch.import_nir.import_from_nir`, stepping its GraphExecutor once per step.

    Voltage and current come from the neuron modules' `mem` and `syn` attributes after each step.
    The importer wraps each LIF or CubaLIF that forms a cycle with one Affine or Linear node into
    an RSynaptic module, whose first call gets an explicit zero state.
    """
    from snntorch.import_nir import import_from_nir

    dtype = _torch_dtype(precision)
    graph = load_graph(source)
    neurons = neuron_nodes(graph)
    with _quiet():
        executor = import_from_nir(graph)
    _cast_module_tensors(executor, dtype)
    module_names = _snntorch_module_names(graph)
    modules = {node: getattr(executor, module_names[node]) for node in neurons}
    for module in modules.values():
        _keep_spike_dtype(module)

    def record(state) -> dict[str, dict[str, np.ndarray]]:
        steps = {}
        for node, module in modules.items():
            shape = neuron_shape(neurons[node])
            traces = {"spikes": _numpy(state.cache[module_names[node]], shape), "v": _numpy(module.mem, shape)}
            if isinstance(neurons[node], nir.CubaLIF):
                traces["i"] = _numpy(module.syn, shape)
            steps[node] = traces
        return steps

    initial = _snntorch_initial_state(modules, module_names, inputs, dtype)
    with _quiet():
        traces = _step_executor(executor, inputs, dtype, record, initial)
    rules = {node: _snntorch_rule(neurons[node], module) for node, module in modules.items()}
    return PeerRun("snntorch", peer_version("snntorch"), traces, rules)


# --------------------------------------------------------------------------------------
# Norse
# --------------------------------------------------------------------------------------


def _norse_rule(node: nir.NIRNode, dt: float, reset: str) -> NeuronRule:
    if isinstance(node, nir.IF):
        notes = ["r is ignored (the import warns when r != 1)", "v_reset is ignored: the reset value is 0"]
        return NeuronRule(None, "v = v + x", "gt", "zero", 1, 1.0, tuple(notes))
    notes = ["v_reset is ignored: the reset value is 0", "v starts at v_leak, not at 0"]
    if isinstance(node, nir.LIF):
        notes.insert(0, "r is ignored (the import warns when r != 1)")
        return NeuronRule(dt, "v = v + dt/tau·(v_leak - v + x)", "gt", "zero", 1, 1.0, tuple(notes))
    notes.append("the current also relaxes towards v_leak: the synapse is an LI box with the node's v_leak")
    return NeuronRule(
        dt,
        "i = i + dt/tau_syn·(v_leak - i + w_in·x); v = v + dt/tau_mem·(v_leak - v + r·i)",
        "gt",
        reset,
        1,
        1.0,
        tuple(notes),
    )


def run_norse(
    source: str | Path | nir.NIRGraph,
    inputs: np.ndarray,
    *,
    dt: float,
    reset: str = "zero",
    precision: str = "float64",
) -> PeerRun:
    """Run a graph with `norse.torch.from_nir(graph, dt=dt)`, stepping its GraphExecutor once per step.

    `reset` is "zero" (Norse's default `reset_value`) or "subtract" (`reset_subtract`); Norse
    applies it to CubaLIF nodes only. Voltage and current come from the state tuples that the
    executor stores per module: LIFBoxFeedForwardState, IAFFeedForwardState, and for CubaLIF the
    pair (LIBoxState of the synapse, LIFBoxFeedForwardState).
    """
    import norse.torch as norse_torch
    from norse.torch.functional import reset as norse_reset

    methods = {"zero": norse_reset.reset_value, "subtract": norse_reset.reset_subtract}
    if reset not in methods:
        raise ValueError(f"invalid reset '{reset}'; expected zero or subtract")
    dtype = _torch_dtype(precision)
    graph = load_graph(source)
    neurons = neuron_nodes(graph)
    with _quiet():
        executor = norse_torch.from_nir(graph, dt=dt, reset_method=methods[reset])
    _cast_module_tensors(executor, dtype)

    def record(state) -> dict[str, dict[str, np.ndarray]]:
        steps = {}
        for node, nir_node in neurons.items():
            name = sanitize_name(node)
            (module_state,) = state.state[name]
            shape = neuron_shape(nir_node)
            traces = {"spikes": _numpy(state.cache[name], shape)}
            if isinstance(nir_node, nir.CubaLIF | nir.CubaLI):
                synapse_state, membrane_state = module_state
                traces["v"] = _numpy(membrane_state.v, shape)
                traces["i"] = _numpy(synapse_state.v, shape)
            else:
                traces["v"] = _numpy(module_state.v, shape)
            steps[node] = traces
        return steps

    traces = _step_executor(executor, inputs, dtype, record)
    rules = {node: _norse_rule(nir_node, dt, reset) for node, nir_node in neurons.items()}
    return PeerRun("norse", peer_version("norse"), traces, rules)


# --------------------------------------------------------------------------------------
# sinabs
# --------------------------------------------------------------------------------------


def _sinabs_rule(node: nir.NIRNode, module) -> NeuronRule:
    spike_fn = module.spike_fn.__name__
    max_spikes = 1 if spike_fn == "SingleSpike" else 2**31 - 1
    floor = module.min_v_mem
    notes = ["r is ignored: the input is added unscaled (norm_input=False)"]
    if floor is not None:
        notes.append(f"the membrane is floored at min_v_mem = {float(np.max(_numpy(torch_tensor(floor)))):g} after each step")
    if spike_fn == "MultiSpike":
        notes.append("floor(v/threshold) spikes per step (MultiSpike), each subtracting the threshold")
    if isinstance(node, nir.IF):
        return NeuronRule(None, "v = v + x", "ge", "subtract", max_spikes, 1.0, tuple(notes))
    notes.append("tau is read as a number of steps (alpha = exp(-1/tau)), so dt = 1 s")
    return NeuronRule(1.0, "v = exp(-1/tau)·v + x", "ge", "subtract", max_spikes, 1.0, tuple(notes))


def torch_tensor(value):
    """Return `value` as a torch tensor (sinabs keeps some thresholds as Python floats)."""
    import torch

    return value if isinstance(value, torch.Tensor) else torch.as_tensor(value)


def run_sinabs(
    source: str | Path | nir.NIRGraph,
    inputs: np.ndarray,
    *,
    membrane_floor: bool = True,
    precision: str = "float64",
) -> PeerRun:
    """Run a graph with `sinabs.from_nir(graph, batch_size=B)` in one call over all steps.

    sinabs' squeeze layers take (B·T, ...) tensors and loop over time themselves, so the input
    is flattened to (B·T, *input_shape). Each neuron layer records its state per step
    (`record_states=True`): `recordings["v_mem"]` is the voltage after reset and floor.
    `membrane_floor=False` sets every imported `min_v_mem` to None, removing the floor that
    sinabs adds to IF nodes (min_v_mem = -v_threshold), which NIR cannot express.
    """
    import sinabs
    import torch

    dtype = _torch_dtype(precision)
    graph = load_graph(source)
    neurons = neuron_nodes(graph)
    batch, steps = inputs.shape[:2]
    with _quiet():
        executor = sinabs.from_nir(graph, batch_size=batch)
    _cast_module_tensors(executor, dtype)
    modules = {node: getattr(executor, sanitize_name(node)) for node in neurons}
    rules = {}
    for node, module in modules.items():
        rules[node] = _sinabs_rule(neurons[node], module)
        if not membrane_floor:
            module.min_v_mem = None
        module.record_states = True

    flat = torch.from_numpy(np.ascontiguousarray(inputs.reshape(batch * steps, *inputs.shape[2:]))).to(dtype)
    with torch.no_grad(), _quiet():
        _, state = executor(flat)
    traces = {}
    for node, module in modules.items():
        spikes = _numpy(state.cache[sanitize_name(node)])
        traces[node] = {
            "v": _numpy(module.recordings["v_mem"]),
            "spikes": spikes.reshape(batch, steps, *spikes.shape[1:]),
        }
    return PeerRun("sinabs", peer_version("sinabs"), traces, rules)


# --------------------------------------------------------------------------------------
# Rockpool
# --------------------------------------------------------------------------------------

ROCKPOOL_MAX_SPIKES = 2**16
"""LIFTorch's default max_spikes_per_dt."""


def _rockpool_rule(node: nir.NIRNode, module) -> NeuronRule:
    dt = float(module.dt)
    notes = (
        f"dt = min(tau_mem/(1 + r)) over the node's neurons = {dt:.6g} s; r enters only there",
        "w_in is ignored",
        "the input is added to the current before the current decays: i = beta·(i + x)",
        "the voltage adds the current unscaled, plus v_leak as a bias every step",
    )
    return NeuronRule(
        dt,
        "i = beta·(i + x); v = alpha·v + i + v_leak, alpha = exp(-dt/tau_mem), beta = exp(-dt/tau_syn)",
        "ge",
        "subtract",
        int(module.max_spikes_per_dt),
        1.0,
        notes,
    )


def run_rockpool(source: str | Path | nir.NIRGraph, inputs: np.ndarray, *, precision: str = "float32") -> PeerRun:
    """Run a graph with `rockpool.nn.modules.torch.nir.from_nir`, one batch element at a time.

    Rockpool's torch modules keep only the first batch element's state between calls
    (`self.vmem = vmem[0]` in LIFTorch), and a recurrent graph needs one call per step, so each
    batch element runs on its own and the traces are stacked. Voltage and current come from the
    modules' `vmem` and `isyn` state after each step.
    """
    from rockpool.nn.modules.torch.nir import from_nir

    dtype = _torch_dtype(precision)
    per_element: list[Traces] = []
    rules: dict[str, NeuronRule] = {}
    for element in range(inputs.shape[0]):
        graph = load_graph(source)
        neurons = neuron_nodes(graph)
        with _quiet():
            executor = from_nir(graph)
        _cast_module_tensors(executor, dtype)
        modules = {node: getattr(executor, sanitize_name(node)) for node in neurons}

        def record(state, modules=modules) -> dict[str, dict[str, np.ndarray]]:
            steps = {}
            for node, module in modules.items():
                steps[node] = {
                    "spikes": _numpy(module.spikes)[None],
                    "v": _numpy(module.vmem)[None],
                    "i": _numpy(module.isyn.sum(-1))[None],
                }
            return steps

        # Each call receives one step of one element: (1, 1, *shape).
        single = inputs[element : element + 1, :, None]
        with _quiet():
            per_element.append(_step_executor(executor, single, dtype, record))
        rules = {node: _rockpool_rule(neurons[node], module) for node, module in modules.items()}
    traces = {
        node: {key: np.concatenate([run[node][key] for run in per_element]) for key in per_element[0][node]}
        for node in per_element[0]
    }
    return PeerRun("rockpool", peer_version("rockpool"), traces, rules)
