"""The simulation engine: compile one snn or fxp graph into numpy kernels once, then step them over time.

A `Program` holds one kernel per op, in the graph's schedule (block) order, and a register file
with one slot per op result. Every array carries a leading batch axis, so a step is a handful of
vectorized numpy calls per op and Python loops only over time. Each step runs in two phases:

1. every delayed kernel (`step_delay`, and `delay` of at least one step everywhere) writes its
   output for step t, which depends only on earlier steps, so ops anywhere in the block (back
   edges of a cycle included) can read it;
2. every kernel runs in block order, reading its operands from the register file.

State is zero at t = 0: neuron voltages and currents, and the history of every delay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
from xdsl.ir import Operation, SSAValue

from nirmlir.diagnostics import DiagnosticError, Location


PRECISIONS = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32)}
"""The float precisions of the discrete-time (snn) level; integer levels ignore the choice."""

FLOAT_DTYPE: ContextVar[np.dtype] = ContextVar("FLOAT_DTYPE", default=PRECISIONS["float64"])
"""The float dtype of the kernels being built: `Program` sets it while its factories run."""


@dataclass
class Probe:
    """One recordable trace of a kernel: its array at the end of each step."""

    read: Callable[[], np.ndarray]
    """Returns the current (B, *shape) array."""
    dtype: np.dtype
    """The dtype of the recorded trace (integers for spike counts and fxp values)."""
    scale: np.ndarray | None = None
    """fxp only: NIR units per integer unit, so the trace in NIR units is the integer times it."""
    shape: tuple[int, ...] | None = None
    """The unbatched shape of the trace when it differs from the node's result (a state before pooling)."""


class Kernel:
    """The compiled form of one op: its state, its step function and its probes."""

    delayed = False
    """True when the output of step t depends only on earlier steps (written by `emit`)."""

    def __init__(self, op: Operation, operands: list[int], result: int | None, location: Location):
        self.op = op
        self.node_name: str = op.node_name.data
        self.operands = operands
        self.result = result
        self.location = location
        self.shape: tuple[int, ...] = tuple(op.results[0].type.get_shape()) if op.results else ()
        self.float = FLOAT_DTYPE.get()
        """The dtype of float states, weights and values (float64 unless the program requests float32)."""

    def error(self, message: str) -> DiagnosticError:
        return DiagnosticError(f"node '{self.node_name}': {message}", self.location)

    def summed(self, env: list) -> np.ndarray:
        """Return the sum of the operands, the input x[t] of every node (the first one itself, unsummed).

        A node without operands gets 0, which broadcasts against its state.
        """
        if not self.operands:
            return 0
        total = env[self.operands[0]]
        for slot in self.operands[1:]:
            total = total + env[slot]
        return total

    def start(self, batch: int) -> None:
        """Reset the state for a run of `batch` samples."""

    def emit(self, env: list, t: int) -> None:
        """Write the output of step t before the step runs (delayed kernels only)."""

    def step(self, env: list, t: int) -> None:
        raise NotImplementedError

    def probes(self) -> dict[str, Probe]:
        """Return the traces this kernel can record, by key (v, spikes, i or value)."""
        return {}


class DelayKernel(Kernel):
    """`step_delay` and `delay` at both levels: y[t] = x[t - k] per element, 0 for t < k.

    The last max(k) + 1 inputs live in a ring buffer. A delay whose every element waits at least
    one step writes its output before the step (phase 1), so it may be read before it runs.
    """

    def __init__(self, op, operands, result, location, steps: np.ndarray, dtype: np.dtype):
        super().__init__(op, operands, result, location)
        self.steps = np.broadcast_to(np.asarray(steps, dtype=np.int64), self.shape).reshape(-1)
        self.delayed = self.steps.size > 0 and int(self.steps.min()) >= 1
        self.depth = int(self.steps.max(initial=0)) + 1
        # A step_delay, or a delay whose elements all wait the same, reads one row of the history.
        self.uniform = self.steps.size > 0 and bool((self.steps == self.steps[0]).all())
        self.dtype = dtype
        self.value_scale: np.ndarray | None = None

    def start(self, batch: int) -> None:
        size = self.steps.size
        self.batch = batch
        self.history = np.zeros((self.depth, batch, size), dtype=self.dtype)
        self.columns = np.arange(size)
        self.output = np.zeros((batch, *self.shape), dtype=self.dtype)

    def _read(self, t: int) -> np.ndarray:
        if self.uniform:
            lag = int(self.steps[0])
            if t < lag:
                return np.zeros((self.batch, *self.shape), dtype=self.dtype)
            return self.history[(t - lag) % self.depth].reshape((-1, *self.shape))
        rows = (t - self.steps) % self.depth
        values = self.history[rows, :, self.columns].T
        values = np.where(t >= self.steps, values, 0).astype(self.dtype, copy=False)
        return values.reshape((-1, *self.shape))

    def emit(self, env: list, t: int) -> None:
        self.output = self._read(t)
        env[self.result] = self.output

    def step(self, env: list, t: int) -> None:
        x = np.broadcast_to(self.summed(env), (self.batch, *self.shape))
        self.history[t % self.depth] = x.reshape(self.batch, -1)
        if not self.delayed:
            self.output = self._read(t)
            env[self.result] = self.output

    def probes(self) -> dict[str, Probe]:
        return {"value": Probe(lambda: self.output, np.dtype(self.dtype), self.value_scale)}


class InputKernel(Kernel):
    """A graph input: y[t] is the external data of step t."""

    dtype = np.dtype(np.float64)

    def load(self, data: np.ndarray) -> None:
        """Take the data of a run, shaped (B, T, *shape), in any numeric dtype.

        Each step converts its own slice to `dtype`, because converting a long float32 or
        integer input at once allocates and writes the whole float64 copy up front.
        """
        self.data = np.asarray(data)

    def start(self, batch: int) -> None:
        self.output = np.zeros((batch, *self.shape), dtype=self.dtype)

    def step(self, env: list, t: int) -> None:
        self.output = np.asarray(self.data[:, t], dtype=self.dtype)
        env[self.result] = self.output

    def probes(self) -> dict[str, Probe]:
        return {"value": Probe(lambda: self.output, self.dtype)}


KernelFactory = Callable[[Operation, list[int], int | None, Location], Kernel]


class Program:
    """One graph compiled into kernels; `run` simulates it on a batch of inputs.

    Build it with `compile_graph`. A program can run any number of times; each run starts from
    zero state.
    """

    def __init__(
        self,
        graph: Operation,
        factories: Mapping[type, KernelFactory],
        filename: str,
        link: Callable[[list[Kernel]], None] | None = None,
        precision: str = "float64",
    ):
        self.graph_name = graph.sym_name.data
        self.filename = filename
        # What `_replica` needs to build an independent copy for a parallel run.
        self._definition = (graph, factories, filename, link, precision)
        self._replicas: list[Program] = []
        self.dt = float(graph.dt.value.data)
        self.level = graph.name.partition(".")[0]
        ops = list(graph.body.block.ops)
        slots: dict[SSAValue, int] = {}
        for op in ops:
            for result in op.results:
                slots[result] = len(slots)
        self.slot_count = len(slots)

        self.kernels: list[Kernel] = []
        self.inputs: dict[str, tuple[int, ...]] = {}
        self.input_kernels: dict[str, InputKernel] = {}
        self.outputs: list[str] = []
        if precision not in PRECISIONS:
            raise DiagnosticError(f"unknown precision '{precision}'; expected one of {', '.join(PRECISIONS)}")
        self.precision = precision
        token = FLOAT_DTYPE.set(PRECISIONS[precision])
        try:
            self._build(ops, factories, filename, slots)
        finally:
            FLOAT_DTYPE.reset(token)
        if link is not None:
            link(self.kernels)
        self.by_name = {kernel.node_name: kernel for kernel in self.kernels}
        self._probes = {kernel.node_name: kernel.probes() for kernel in self.kernels}

    def _build(self, ops: list[Operation], factories: Mapping[type, KernelFactory], filename: str, slots) -> None:
        """Build the kernel of every op, in block order."""
        for op in ops:
            location = Location(file=filename, node_path=(self.graph_name, op.node_name.data))
            factory = factories.get(type(op))
            if factory is None:
                raise DiagnosticError(f"the simulator does not support '{op.name}'", location)
            operands = [slots[operand] for operand in op.operands]
            result = slots[op.results[0]] if op.results else None
            kernel = factory(op, operands, result, location)
            self.kernels.append(kernel)
            if op.name.endswith(".input"):
                self.inputs[kernel.node_name] = kernel.shape
                self.input_kernels[kernel.node_name] = kernel
            elif op.name.endswith(".output"):
                self.outputs.append(kernel.node_name)

    def location(self, node: str | None = None) -> Location:
        """Return the diagnostic location of the graph, or of one of its nodes."""
        path = (self.graph_name,) if node is None else (self.graph_name, node)
        return Location(file=self.filename, node_path=path)

    # -- recording ---------------------------------------------------------------------

    def keys(self, node: str) -> tuple[str, ...]:
        """Return the trace keys that node `node` can record."""
        return tuple(self._probes[node])

    def resolve_record(self, record: Iterable[str] | None) -> dict[str, list[str]]:
        """Return node -> keys to record: every output node, plus each request `NODE` or `NODE/KEY`.

        Raises DiagnosticError for an unknown node or key, listing the valid ones.
        """
        selected: dict[str, list[str]] = {name: list(self.keys(name)) for name in self.outputs}
        for request in record or ():
            node, key = request, None
            if node not in self.by_name and "/" in request:
                node, key = request.rsplit("/", 1)
            if node not in self.by_name:
                names = ", ".join(f"'{name}'" for name in self.by_name)
                raise DiagnosticError(
                    f"graph @{self.graph_name} has no node '{request}'; its nodes are {names}",
                    self.location(),
                )
            keys = self.keys(node)
            if key is not None and key not in keys:
                raise DiagnosticError(
                    f"node '{node}' has no trace '{key}'; it records {', '.join(keys)}",
                    self.location(node),
                )
            chosen = selected.setdefault(node, [])
            for name in [key] if key is not None else keys:
                if name not in chosen:
                    chosen.append(name)
        return selected

    # -- running -----------------------------------------------------------------------

    def run(
        self,
        inputs: Mapping[str, np.ndarray],
        record: Iterable[str] | None = None,
        integers: bool = False,
        threads: int = 1,
    ) -> dict[str, dict[str, np.ndarray]]:
        """Simulate the graph on `inputs` (input node -> array (B, T, *shape)); return node -> key -> (B, T, *shape).

        At the fxp level, float `inputs` are in NIR units and integer ones are the integers
        themselves. Traces are in NIR units; with `integers`, the raw integers are added under
        `v_int`, `i_int` and `value_int`.

        With `threads` > 1 the batch is split into that many parts (at most one sample each),
        simulated at the same time by independent copies of the program, one thread each. numpy
        releases the GIL inside its array operations, so the threads share the cores, and BLAS is
        limited to one thread meanwhile. Samples never interact, so each part's traces are what a
        run of that part alone gives.
        """
        batch, steps = self._check_inputs(inputs)
        if threads < 1:
            raise DiagnosticError(f"the number of threads must be at least 1, not {threads}", self.location())
        if threads > 1 and batch > 1:
            return self._run_parallel(inputs, record, integers, min(threads, batch), batch)
        return self._run_serial(inputs, record, integers, batch, steps)

    def _replica(self, index: int) -> Program:
        """Return the index-th independent copy of this program, built on first use."""
        while len(self._replicas) <= index:
            graph, factories, filename, link, precision = self._definition
            self._replicas.append(Program(graph, factories, filename, link, precision))
        return self._replicas[index]

    def _run_parallel(self, inputs, record, integers: bool, threads: int, batch: int):
        from concurrent.futures import ThreadPoolExecutor

        self.resolve_record(record)  # Report a bad record request once, before any thread starts.
        bounds = np.linspace(0, batch, threads + 1).round().astype(int)
        parts = [
            (self if part == 0 else self._replica(part - 1), {name: data[lo:hi] for name, data in inputs.items()})
            for part, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]))
        ]
        with _one_blas_thread(), ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(lambda job: job[0].run(job[1], record, integers), parts))
        return {
            node: {key: np.concatenate([result[node][key] for result in results]) for key in traces}
            for node, traces in results[0].items()
        }

    def _run_serial(self, inputs, record, integers: bool, batch: int, steps: int):
        selected = self.resolve_record(record)
        for kernel in self.kernels:
            kernel.start(batch)
        for name, data in inputs.items():
            self.input_kernels[name].load(data)

        recorders = []
        buffers: dict[str, dict[str, np.ndarray]] = {}
        for node, keys in selected.items():
            kernel_probes = self._probes[node]
            shape = self.by_name[node].shape
            buffers[node] = {}
            for key in keys:
                probe = kernel_probes[key]
                trace_shape = shape if probe.shape is None else probe.shape
                buffer = np.zeros((batch, steps, *trace_shape), dtype=probe.dtype)
                buffers[node][key] = buffer
                recorders.append((buffer, probe.read))

        env: list = [None] * self.slot_count
        emitters = [kernel.emit for kernel in self.kernels if kernel.delayed]
        stepper = [kernel.step for kernel in self.kernels]
        for t in range(steps):
            for emit in emitters:
                emit(env, t)
            for step in stepper:
                step(env, t)
            for buffer, read in recorders:
                buffer[:, t] = read()

        return self._to_units(buffers, integers)

    def _to_units(self, buffers: dict[str, dict[str, np.ndarray]], integers: bool) -> dict[str, dict[str, np.ndarray]]:
        """Convert fxp traces to NIR units, keeping the integers when requested or when no scale is known."""
        results: dict[str, dict[str, np.ndarray]] = {}
        for node, traces in buffers.items():
            probes = self._probes[node]
            results[node] = {}
            for key, buffer in traces.items():
                scale = probes[key].scale
                # Float traces are in NIR units already; integer ones (fxp and chip levels) carry a scale.
                if key == "spikes" or not np.issubdtype(buffer.dtype, np.integer):
                    results[node][key] = buffer
                    continue
                if scale is not None:
                    results[node][key] = buffer.astype(np.float64) * scale
                if integers or scale is None:
                    results[node][f"{key}_int"] = buffer
        return results

    def _check_inputs(self, inputs: Mapping[str, np.ndarray]) -> tuple[int, int]:
        """Return (batch, steps) of the inputs; raise DiagnosticError unless they match the graph's inputs."""
        missing = [name for name in self.inputs if name not in inputs]
        unknown = [name for name in inputs if name not in self.inputs]
        location = self.location()
        if unknown:
            raise DiagnosticError(
                f"graph @{self.graph_name} has no input node '{unknown[0]}'; its inputs are "
                + ", ".join(f"'{name}'" for name in self.inputs),
                location,
            )
        if missing:
            raise DiagnosticError(f"no data for input node '{missing[0]}' of graph @{self.graph_name}", location)
        sizes = set()
        for name, data in inputs.items():
            expected = self.inputs[name]
            if data.ndim != len(expected) + 2 or tuple(data.shape[2:]) != expected:
                raise DiagnosticError(
                    f"the data of input node '{name}' has batched shape {list(data.shape)}; expected "
                    f"[B, T, {', '.join(map(str, expected))}]",
                    location,
                )
            sizes.add(data.shape[:2])
        if len(sizes) > 1:
            raise DiagnosticError(
                "the inputs differ in batch size or number of steps: "
                + ", ".join(f"'{name}' {list(data.shape[:2])}" for name, data in inputs.items()),
                location,
            )
        batch, steps = sizes.pop() if sizes else (1, 0)
        return int(batch), int(steps)


def _one_blas_thread():
    """Return a context that limits BLAS to one thread, when threadpoolctl is installed."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


SIMULATORS: dict[str, str] = {
    "snn.graph": "nirmlir.simulator.snn_ops",
    "fxp.graph": "nirmlir.simulator.fxp_ops",
    "speck.graph": "nirmlir.simulator.speck_ops",
    "spinnaker2.graph": "nirmlir.simulator.spinnaker2_ops",
    "xylo.graph": "nirmlir.simulator.xylo_ops",
    "loihi2.graph": "nirmlir.simulator.loihi2_ops",
}
"""The name of each simulated graph op -> the module that runs its level.

The module defines ``KERNEL_FACTORIES`` (op class -> kernel factory) and may define ``LINK``, a
function called with the kernels once they are built. A level registers here with one line
when its graphs have a ``dt`` attribute and a one-block body of ops with ``node_name`` attributes,
among them an ``.input`` and an ``.output`` op. `nirmlir.api` then loads, selects and runs it.
"""


def compile_graph(graph: Operation, filename: str = "<module>", precision: str = "float64") -> Program:
    """Compile a graph of a simulated level into a Program; raise DiagnosticError for ops it cannot run.

    `precision` ("float64" or "float32") is the float dtype of the snn level's kernels; levels
    that compute in integers ignore it.
    """
    import importlib

    module_name = SIMULATORS.get(graph.name)
    if module_name is None:
        levels = ", ".join(name.partition(".")[0] for name in SIMULATORS)
        raise DiagnosticError(
            f"'{graph.name}' cannot be simulated; the simulator runs these levels: {levels} "
            "(discretize a nir graph first)"
        )
    module = importlib.import_module(module_name)
    return Program(graph, module.KERNEL_FACTORIES, filename, getattr(module, "LINK", None), precision)
