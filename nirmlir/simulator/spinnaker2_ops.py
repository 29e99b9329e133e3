"""Kernels of the spinnaker2 dialect: py-spinnaker2's neuron models in float32, as `dialects/spinnaker2.py` states them.

Voltages and currents are float32 and every update is a float32 operation, as on the chip's
ARM cores. A projection's input sum is a sum of integer weights, computed in float64 and exact,
so the order of its terms does not matter. Traces are in chip units: a voltage divided by the
population's v_scale is in NIR volts.
"""

from __future__ import annotations

import numpy as np

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.dialects import spinnaker2
from nirmlir.simulator import numerics
from nirmlir.simulator.engine import InputKernel, Kernel, Probe

FLOAT = np.dtype(np.float32)
SPIKES = np.dtype(np.uint8)


class SpikeListKernel(InputKernel):
    """spinnaker2.input: a spike_list population replays 0 or 1 spike per neuron and step."""

    dtype = FLOAT

    def load(self, data: np.ndarray) -> None:
        data = np.asarray(data)
        if not np.isin(data, (0, 1)).all():
            bad = data[~np.isin(data, (0, 1))].reshape(-1)[0]
            raise self.error(
                f"the input contains {bad}; a SpiNNaker2 spike_list population takes spikes of 0 or 1 per "
                "neuron and step, so give spike trains"
            )
        super().load(data)

    def probes(self) -> dict[str, Probe]:
        return {"spikes": Probe(lambda: self.output, SPIKES)}


class OutputKernel(Kernel):
    """spinnaker2.output: records the spikes of the populations it reads."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.shape = tuple(op.operands[0].type.get_shape())

    def start(self, batch: int) -> None:
        self.output = np.zeros((batch, *self.shape), dtype=FLOAT)

    def step(self, env: list, t: int) -> None:
        self.output = self.summed(env)

    def probes(self) -> dict[str, Probe]:
        return {"spikes": Probe(lambda: self.output, np.dtype(np.int32))}


class ProjectionKernel(Kernel):
    """spinnaker2.projection: input[j] = Σ_i weight[j, i] · s_i[t - delay[j, i]].

    The last max(delay) + 1 spike vectors of the presynaptic population live in a ring buffer,
    and each distinct delay has its own weight matrix. A projection feeding a lif_curr_exp
    population keeps the excitatory (w > 0) and inhibitory (w < 0) sums apart, stacked on axis 1.
    """

    def __init__(self, op: spinnaker2.ProjectionOp, operands, result, location):
        super().__init__(op, operands, result, location)
        weight = numpy_from_dense(op.weight).astype(np.float64)
        delay = numpy_from_dense(op.delay).astype(np.int64)
        self.split = any(isinstance(use.operation, spinnaker2.LIFCurrExpOp) for use in op.output.uses)
        self.by_delay = []
        for steps in np.unique(delay[weight != 0]):
            matrix = np.where((delay == steps) & (weight != 0), weight, 0.0)
            if self.split:
                matrix = np.stack([np.maximum(matrix, 0.0), np.minimum(matrix, 0.0)])
            self.by_delay.append((int(steps), matrix))
        self.delayed = op.min_delay() >= 1
        self.depth = max((steps for steps, _ in self.by_delay), default=0) + 1
        self.pre_size = weight.shape[1]

    def start(self, batch: int) -> None:
        self.history = np.zeros((self.depth, batch, self.pre_size))
        shape = (batch, 2, *self.shape) if self.split else (batch, *self.shape)
        self.zeros = np.zeros(shape, dtype=FLOAT)
        self.output = self.zeros

    def _compute(self, t: int) -> np.ndarray:
        total = None
        for steps, matrix in self.by_delay:
            if t < steps:
                continue
            spikes = self.history[(t - steps) % self.depth]
            if self.split:
                part = np.einsum("koi,bi->bko", matrix, spikes)
            else:
                part = spikes @ matrix.T
            total = part if total is None else total + part
        return self.zeros if total is None else total.astype(FLOAT)

    def emit(self, env: list, t: int) -> None:
        self.output = self._compute(t)
        env[self.result] = self.output

    def step(self, env: list, t: int) -> None:
        self.history[t % self.depth] = self.summed(env)
        if not self.delayed:
            self.output = self._compute(t)
            env[self.result] = self.output

    def probes(self) -> dict[str, Probe]:
        if self.split:
            return {"value": Probe(lambda: self.output.sum(axis=1, dtype=FLOAT), FLOAT)}
        return {"value": Probe(lambda: self.output, FLOAT)}


class Conv2dProjectionKernel(Kernel):
    """spinnaker2.conv2d_projection: sum pool, zero padding, then cross-correlation with the integer kernel."""

    def __init__(self, op: spinnaker2.Conv2dProjectionOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.in_shape = ints_from_array(op.in_shape)
        self.pool = ints_from_array(op.pool)
        self.padding = ints_from_array(op.padding)
        # py-spinnaker2 stores (C_in, C_out, kH, kW); the convolution takes (C_out, C_in, kH, kW).
        weight = numpy_from_dense(op.weight).astype(np.float64).transpose(1, 0, 2, 3)
        self.convolution = numerics.Convolution(np.ascontiguousarray(weight), ints_from_array(op.stride), (0, 0), (1, 1), 1)

    def start(self, batch: int) -> None:
        self.output = np.zeros((batch, *self.shape), dtype=FLOAT)

    def step(self, env: list, t: int) -> None:
        spikes = np.asarray(self.summed(env), dtype=np.float64).reshape((-1, *self.in_shape))
        if self.pool != (1, 1):
            height = self.in_shape[1] // self.pool[0] * self.pool[0]
            width = self.in_shape[2] // self.pool[1] * self.pool[1]
            spikes = numerics.sum_pool(spikes[:, :, :height, :width], self.pool, self.pool, (0, 0))
        top, bottom, left, right = self.padding
        if any(self.padding):
            spikes = np.pad(spikes, [(0, 0), (0, 0), (top, bottom), (left, right)])
        self.output = self.convolution(spikes).reshape(self.output.shape).astype(FLOAT)
        env[self.result] = self.output

    def probes(self) -> dict[str, Probe]:
        return {"value": Probe(lambda: self.output, FLOAT)}


class LIFKernel(Kernel):
    """spinnaker2.lif and lif_conv2d: v = alpha_decay·v + input + i_offset in float32, spike when v > threshold."""

    has_current = False

    def __init__(self, op: spinnaker2.NeuronPopulationOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.alpha = op.parameter("alpha_decay")
        self.threshold = op.parameter("threshold")
        self.i_offset = op.parameter("i_offset")
        self.v_reset = op.parameter("v_reset")
        self.subtract = op.reset.data == "reset_by_subtraction"

    def start(self, batch: int) -> None:
        self.v = np.zeros((batch, *self.shape), dtype=FLOAT)
        self.spikes = np.zeros((batch, *self.shape), dtype=FLOAT)

    def synaptic_input(self, env: list) -> np.ndarray:
        return self.summed(env)

    def step(self, env: list, t: int) -> None:
        v = self.alpha * self.v + self.synaptic_input(env)
        v = v + self.i_offset
        fired = v > self.threshold
        if self.subtract:
            v = np.where(fired, v - self.threshold, v)
        else:
            v = np.where(fired, self.v_reset, v)
        self.v = v.astype(FLOAT, copy=False)
        self.spikes = fired.astype(FLOAT)
        env[self.result] = self.spikes

    def probes(self) -> dict[str, Probe]:
        probes = {"v": Probe(lambda: self.v, FLOAT), "spikes": Probe(lambda: self.spikes, SPIKES)}
        if self.has_current:
            probes["i_exc"] = Probe(lambda: self.i_exc, FLOAT)
            probes["i_inh"] = Probe(lambda: self.i_inh, FLOAT)
        return probes


class LIFCurrExpKernel(LIFKernel):
    """spinnaker2.lif_curr_exp: the currents decay and take this step's input, then v adds i_exc + i_inh."""

    has_current = True

    def __init__(self, op: spinnaker2.LIFCurrExpOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.exc_decay = op.parameter("exc_decay")
        self.inh_decay = op.parameter("inh_decay")

    def start(self, batch: int) -> None:
        super().start(batch)
        self.i_exc = np.zeros((batch, *self.shape), dtype=FLOAT)
        self.i_inh = np.zeros((batch, *self.shape), dtype=FLOAT)

    def synaptic_input(self, env: list) -> np.ndarray:
        if self.operands:
            stacked = self.summed(env)
            self.i_exc = self.exc_decay * self.i_exc + stacked[:, 0]
            self.i_inh = self.inh_decay * self.i_inh + stacked[:, 1]
        else:
            self.i_exc = self.exc_decay * self.i_exc
            self.i_inh = self.inh_decay * self.i_inh
        return self.i_exc + self.i_inh


KERNEL_FACTORIES = {
    spinnaker2.InputOp: SpikeListKernel,
    spinnaker2.OutputOp: OutputKernel,
    spinnaker2.ProjectionOp: ProjectionKernel,
    spinnaker2.Conv2dProjectionOp: Conv2dProjectionKernel,
    spinnaker2.LIFOp: LIFKernel,
    spinnaker2.LIFConv2dOp: LIFKernel,
    spinnaker2.LIFCurrExpOp: LIFCurrExpKernel,
}
"""The kernel class of every spinnaker2 op."""
