"""Kernels of the xylo dialect: the chip's integer step, bit for bit, as `dialects/xylo.py` states it.

The neuron groups do the work. A weight kernel computes the exact weighted sum of its events
for its trace, and keeps the event counts, which the neuron group it feeds adds event by event
with 16-bit saturation, in the chip's order. For the states whose partial sums cannot leave the
16-bit range, the group adds the whole sum in one matrix product instead, which gives the same
result.

Hidden neurons with an alias target are evolved in index order, as xylosim 0.1.3 (the C++
simulator behind Rockpool's XyloSim) does. Each neuron starts its step with the spikes that
aliases of lower-numbered neurons copied to it, and those count toward its limit of 31.
"""

from __future__ import annotations

import numpy as np

from nirmlir.dense import numpy_from_dense
from nirmlir.dialects import xylo
from nirmlir.simulator.engine import InputKernel, Kernel, Probe

INT = np.dtype(np.int64)
COUNT = np.dtype(np.int8)


def saturate(values: np.ndarray) -> np.ndarray:
    """Clamp to the 16-bit state range."""
    return np.clip(values, xylo.STATE_MIN, xylo.STATE_MAX)


def decay_step(state: np.ndarray, dash: np.ndarray) -> np.ndarray:
    """Return δ(state, dash): `state >> dash`, or ±1 where that is 0 and the state is not."""
    step = state >> dash
    return np.where((step == 0) & (state != 0), np.sign(state), step)


def wrap16(values: np.ndarray) -> np.ndarray:
    """Reduce to the 16-bit two's complement range, as a C++ assignment to int16_t does."""
    return (values + (1 << 15)) % (1 << 16) - (1 << 15)


def fire(v: np.ndarray, threshold: np.ndarray, spikes: np.ndarray, max_spikes: int) -> tuple[np.ndarray, np.ndarray]:
    """Emit spikes while `v >= threshold` and fewer than `max_spikes` were counted; return the new v and counts.

    `spikes` are the counts the neurons start with (alias spikes). The reset subtracts the
    threshold without saturation and wraps to 16 bits like xylosim's `v_mem -= v_th`. Only a
    threshold of 0 or less can make the difference wrap.
    """
    spikes = spikes.copy()
    for _ in range(max_spikes):
        firing = (v >= threshold) & (spikes < max_spikes)
        if not firing.any():
            break
        spikes += firing
        v = np.where(firing, wrap16(v - threshold), v)
    return v, spikes


def add_events(state: np.ndarray, counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Add `counts[b, k]` times row `weights[k]` to `state[b]` with saturation after every event.

    `state` is (B, *target) and `weights` (K, *target). Sources are added in index order, all
    events of one source before the next, as the chip does.
    """
    flat = weights.reshape(weights.shape[0], -1)
    target = state.reshape(state.shape[0], -1)
    result = target + counts @ flat
    # Only a state whose partial sums can leave the 16-bit range needs the event-by-event order.
    reach = np.abs(target) + counts @ np.abs(flat)
    risky = np.flatnonzero((reach > xylo.STATE_MAX).any(axis=0))
    if risky.size:
        columns = flat[:, risky]
        partial = target[:, risky].copy()
        for source in np.flatnonzero(counts.any(axis=0) & columns.any(axis=1)):
            for event in range(int(counts[:, source].max())):
                active = (counts[:, source] > event)[:, None]
                partial = np.where(active, saturate(partial + columns[source]), partial)
        result[:, risky] = partial
    return result.reshape(state.shape)


class XyloInputKernel(InputKernel):
    """xylo.input: event counts per channel, which must be non-negative integers; more than 15 count as 15."""

    dtype = INT

    def load(self, data: np.ndarray) -> None:
        data = np.asarray(data)
        if data.dtype.kind == "f":
            if not np.isfinite(data).all() or (data != np.round(data)).any():
                raise self.error("the input data must be whole numbers of events per channel and step")
        elif data.dtype.kind not in "iub":
            raise self.error(f"the input data have dtype {data.dtype}; expected event counts")
        counts = data.astype(np.int64)
        if counts.size and counts.min() < 0:
            raise self.error(f"the input data contain {counts.min()} events; event counts cannot be negative")
        self.data = np.minimum(counts, xylo.MAX_INPUT_EVENTS)


class WeightsKernel(Kernel):
    """A weight matrix: its trace is the exact weighted sum; `counts` are the events it delivers this step."""

    def __init__(self, op: xylo.WeightsOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.weights = op.matrix() << op.weight_shift.value.data
        self.delayed = xylo.is_delayed(op)

    def start(self, batch: int) -> None:
        self.counts = np.zeros((batch, self.weights.shape[0]), dtype=INT)
        self.pending = self.counts
        self.output = np.zeros((batch, *self.shape), dtype=INT)

    def deliver(self, counts: np.ndarray) -> None:
        self.counts = counts
        self.output = np.tensordot(counts, self.weights, axes=1)

    def emit(self, env, t):
        self.deliver(self.pending)
        env[self.result] = self.output

    def step(self, env, t):
        counts = np.asarray(env[self.operands[0]], dtype=INT)
        if self.delayed:
            self.pending = counts
        else:
            self.deliver(counts)
            env[self.result] = self.output

    def probes(self):
        return {"value": Probe(lambda: self.output, INT)}


class NeuronsKernel(Kernel):
    """xylo.hidden and xylo.readout: synaptic input, decays, voltage update and multi-spike test."""

    def __init__(self, op: xylo.NeuronsOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.max_spikes = op.MAX_SPIKES
        self.dash_mem = numpy_from_dense(op.dash_mem).astype(INT)
        dash_syn = numpy_from_dense(op.dash_syn).astype(INT)
        self.dash_syn = dash_syn if dash_syn.ndim == 2 else dash_syn[:, None]
        self.threshold = numpy_from_dense(op.threshold).astype(INT)
        self.bias = numpy_from_dense(op.bias).astype(INT)
        self.voltage_scale = numpy_from_dense(op.voltage_scale).astype(np.float64)
        self.current_scale = numpy_from_dense(op.current_scale).astype(np.float64)
        alias = getattr(op, "alias_target", None)
        targets = numpy_from_dense(alias).astype(INT) if alias is not None else np.full(self.shape, -1)
        self.alias_target = targets
        involved = np.concatenate([np.flatnonzero(targets >= 0), targets[targets >= 0]])
        self.alias_order = np.unique(involved)
        """The alias sources and targets in index order, the neurons whose spikes depend on other neurons."""
        self.sources: list[WeightsKernel] = []

    def start(self, batch: int) -> None:
        self.i = np.zeros((batch, *self.dash_syn.shape), dtype=INT)
        self.v = np.zeros((batch, *self.shape), dtype=INT)
        self.spikes = np.zeros((batch, *self.shape), dtype=INT)

    def step(self, env, t):
        i = self.i
        for source in self.sources:
            weights = source.weights if source.weights.ndim == 3 else source.weights[:, :, None]
            i = add_events(i, source.counts, weights)
        i = i - decay_step(i, self.dash_syn)
        # xylosim keeps -δ(v) in an int16_t, so with dash 0 the -δ of -32768 wraps to -32768.
        leak = wrap16(-decay_step(self.v, self.dash_mem))
        dv = saturate(saturate(leak + i.sum(axis=-1)) + self.bias)
        v = saturate(self.v + dv)
        fired_v, spikes = fire(v, self.threshold, np.zeros_like(v), self.max_spikes)
        if self.alias_order.size:
            fired_v, spikes = self.fire_aliases(v, fired_v, spikes)
        self.i, self.v, self.spikes = i, fired_v, spikes
        env[self.result] = spikes

    def fire_aliases(self, v: np.ndarray, fired_v: np.ndarray, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Redo the spike test of the alias sources and targets in index order; return v and counts.

        A neuron's spike count, its own spikes plus those copied to it so far, is added to its
        alias target's count, capped at 31. A target with a higher index fires on top of the
        copied spikes; one with a lower index has already fired and only gains them.
        """
        counts = spikes.copy()
        counts[:, self.alias_order] = 0
        for neuron in self.alias_order:
            start = counts[:, neuron]
            fired_v[:, neuron], counts[:, neuron] = fire(v[:, neuron], self.threshold[neuron], start, self.max_spikes)
            target = self.alias_target[neuron]
            if target >= 0:
                counts[:, target] = np.minimum(counts[:, target] + counts[:, neuron], self.max_spikes)
        return fired_v, counts

    def probes(self):
        probes = {"v": Probe(lambda: self.v, INT, self.voltage_scale)}
        probes["i"] = Probe(lambda: self.i[..., 0], INT, self.current_scale)
        if self.dash_syn.shape[-1] == 2:
            probes["i2"] = Probe(lambda: self.i[..., 1], INT, self.current_scale)
        probes["spikes"] = Probe(lambda: self.spikes, INT)
        return probes


class OutputKernel(Kernel):
    """xylo.output: the readout spikes."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.shape = tuple(op.operands[0].type.get_shape())

    def start(self, batch: int) -> None:
        self.output = np.zeros((batch, *self.shape), dtype=INT)

    def step(self, env, t):
        self.output = env[self.operands[0]]

    def probes(self):
        return {"spikes": Probe(lambda: self.output, INT)}


def link_sources(kernels: list[Kernel]) -> None:
    """Give each neuron group the weight kernels that feed it, in operand order."""
    producers = {kernel.result: kernel for kernel in kernels if kernel.result is not None}
    for kernel in kernels:
        if isinstance(kernel, NeuronsKernel):
            kernel.sources = [producers[slot] for slot in kernel.operands]


KERNEL_FACTORIES = {
    xylo.InputOp: XyloInputKernel,
    xylo.InputWeightsOp: WeightsKernel,
    xylo.RecurrentWeightsOp: WeightsKernel,
    xylo.OutputWeightsOp: WeightsKernel,
    xylo.HiddenOp: NeuronsKernel,
    xylo.ReadoutOp: NeuronsKernel,
    xylo.OutputOp: OutputKernel,
}
"""The kernel class of every xylo op."""

LINK = link_sources
"""Run once on the compiled kernels: connects each neuron group to its weight kernels."""
