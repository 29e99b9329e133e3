"""Kernels of the loihi2 dialect: the bit-exact CUBA arithmetic of Lava 0.10's bit-accurate CPU models.

Each layer kernel runs the synapse and the neuron group of one netx layer, exactly as the
docstring of `dialects/loihi2.py` states. Every synapse delivers the spikes of the previous step
(or of `delay` more steps). u wraps and v clips at 24 bits, both decays round toward zero, and
the threshold is `vth_mant << 6`. Values are int64 arrays with a leading batch axis.
"""

from __future__ import annotations

import numpy as np

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.dialects import loihi2
from nirmlir.simulator import numerics
from nirmlir.simulator.engine import InputKernel, Kernel, Probe
from nirmlir.simulator.fixed_point import check_int64_bound

INT = np.dtype(np.int64)
SPIKES = np.dtype(np.int8)
STATE_LIMIT = 1 << (loihi2.STATE_BITS - 1)


def truncating_decay(state: np.ndarray, lost: int) -> np.ndarray:
    """Return trunc0(state·(4096 - lost) / 4096), the decay of Lava's bit-accurate LIF model."""
    product = state * (loihi2.DECAY_ONE - lost)
    return np.sign(product) * (np.abs(product) >> 12)


def wrap_current(u: np.ndarray) -> np.ndarray:
    """Wrap u as Lava's LIF does: above 2^23 it drops by 2^24, at or below -2^23 it rises by 2^24."""
    wrapped = np.where(u > STATE_LIMIT, u - 2 * STATE_LIMIT, u)
    return np.where(wrapped <= -STATE_LIMIT, u + 2 * STATE_LIMIT, wrapped)


def apply_exponent(accumulated: np.ndarray, exponent: int) -> np.ndarray:
    """Scale a synaptic sum by 2^exponent: a left shift, or an arithmetic (floor) right shift."""
    return accumulated << exponent if exponent >= 0 else accumulated >> -exponent


class Loihi2InputKernel(InputKernel):
    """loihi2.input: the external spikes of each step, 0 or 1."""

    dtype = INT

    def load(self, data: np.ndarray) -> None:
        data = np.asarray(data)
        if data.size and not np.isin(data, (0, 1)).all():
            bad = data[~np.isin(data, (0, 1))].flat[0].item()
            raise self.error(
                f"the input data contain {bad}; a netx input layer without a neuron group passes binary "
                "spikes, so give 0 or 1"
            )
        self.data = data.astype(np.int64)

    def probes(self):
        return {"spikes": Probe(lambda: self.output, SPIKES)}


class PassKernel(Kernel):
    """loihi2.output (records its operand) and loihi2.flatten (reshapes it)."""

    def start(self, batch: int) -> None:
        self.output = np.zeros((batch, *self.shape), dtype=INT) if self.shape else None

    def step(self, env, t):
        value = env[self.operands[0]]
        if self.result is None:
            self.output = value
            return
        self.output = value.reshape((value.shape[0], *self.shape))
        env[self.result] = self.output

    def probes(self):
        return {"spikes": Probe(lambda: self.output, SPIKES)}


class OutputKernel(PassKernel):
    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.shape = tuple(op.operands[0].type.get_shape())


class LayerKernel(Kernel):
    """A netx layer: synapse sums of earlier spikes, then the CUBA update, spike and reset."""

    def __init__(self, op: loihi2.LayerOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.weight = numpy_from_dense(op.weight).astype(np.int64)
        self.weight_exp = op.weight_exp.value.data
        self.i_decay = op.i_decay.value.data
        self.v_decay = op.v_decay.value.data
        self.threshold = op.vth_mant.value.data << loihi2.VTH_SHIFT
        self.bias = None
        if op.bias is not None:
            bias = numpy_from_dense(op.bias).astype(np.int64) << loihi2.VTH_SHIFT
            self.bias = bias.reshape(bias.shape + (1,) * (len(self.shape) - bias.ndim))
        self.voltage_scale = numpy_from_dense(op.voltage_scale).astype(np.float64)
        self.input_shape = tuple(op.operands[0].type.get_shape())
        self.depth = 1
        # Spike inputs are 0 or 1, so a sum reaches at most the row's sum of magnitudes, shifted.
        check_int64_bound(int(np.abs(self.weight).sum()) << max(self.weight_exp, 0) << 6, "the synaptic sum", location)

    def start(self, batch: int) -> None:
        zeros = np.zeros((batch, *self.shape), dtype=INT)
        self.u = zeros
        self.v = zeros
        self.spikes = zeros
        self.history = np.zeros((self.depth, batch, *self.input_shape), dtype=INT)

    def synaptic_input(self, t: int) -> np.ndarray:
        raise NotImplementedError

    def step(self, env, t):
        # NOTE: Lava's LIF declares its synaptic input port as 16-bit; this sum is not wrapped to
        # 16 bits, and lower-to-loihi2 keeps it below 2^15 instead.
        activation = self.synaptic_input(t)
        self.history[t % self.depth] = env[self.operands[0]]
        current = wrap_current(truncating_decay(self.u, self.i_decay) + (activation << loihi2.VTH_SHIFT))
        voltage = truncating_decay(self.v, self.v_decay) + current
        if self.bias is not None:
            voltage = voltage + self.bias
        voltage = np.clip(voltage, -STATE_LIMIT + 1, STATE_LIMIT - 1)
        fired = voltage > self.threshold
        self.u = current
        self.v = np.where(fired, 0, voltage)
        self.spikes = fired.astype(INT)
        env[self.result] = self.spikes

    def probes(self):
        return {
            "v": Probe(lambda: self.v, INT, self.voltage_scale),
            "i": Probe(lambda: self.u, INT, self.voltage_scale),
            "spikes": Probe(lambda: self.spikes, SPIKES),
        }


class DenseKernel(LayerKernel):
    """loihi2.dense and loihi2.dense_rec."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.weight_rec = None
        if isinstance(op, loihi2.DenseRecOp):
            self.weight_rec = numpy_from_dense(op.weight_rec).astype(np.int64)
        # Group the synapses by delay, so each step does one matrix product per distinct delay.
        delays = np.zeros(self.weight.shape, dtype=np.int64)
        if op.delay is not None:
            delays = numpy_from_dense(op.delay).astype(np.int64)
        self.by_delay = [(int(d), np.where(delays == d, self.weight, 0)) for d in np.unique(delays)]
        self.depth = int(delays.max(initial=0)) + 1

    def synaptic_input(self, t: int) -> np.ndarray:
        total = np.zeros((self.history.shape[1], *self.shape), dtype=INT)
        for delay, weight in self.by_delay:
            lag = delay + 1
            if t >= lag:
                total = total + numerics.affine(self.history[(t - lag) % self.depth], weight)
        activation = apply_exponent(total, self.weight_exp)
        if self.weight_rec is not None:
            # Lava runs the recurrent matrix as a second Dense process that shifts its own sum.
            activation = activation + apply_exponent(numerics.affine(self.spikes, self.weight_rec), self.weight_exp)
        return activation


class ConvKernel(LayerKernel):
    """loihi2.conv."""

    def __init__(self, op: loihi2.ConvOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.stride = ints_from_array(op.stride)
        self.padding = ints_from_array(op.padding)
        self.dilation = ints_from_array(op.dilation)
        self.groups = op.groups.value.data

    def synaptic_input(self, t: int) -> np.ndarray:
        if t < 1:
            return np.zeros((self.history.shape[1], *self.shape), dtype=INT)
        spikes = self.history[(t - 1) % self.depth]
        total = numerics.convolution(spikes, self.weight, self.stride, self.padding, self.dilation, self.groups)
        return apply_exponent(total, self.weight_exp)


KERNEL_FACTORIES = {
    loihi2.InputOp: Loihi2InputKernel,
    loihi2.OutputOp: OutputKernel,
    loihi2.FlattenOp: PassKernel,
    loihi2.DenseOp: DenseKernel,
    loihi2.DenseRecOp: DenseKernel,
    loihi2.ConvOp: ConvKernel,
}
"""The kernel class of every loihi2 op."""
