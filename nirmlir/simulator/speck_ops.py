"""Kernels of the speck dialect: sinabs' time-binned integer model of the Speck cores.

Each time bin, a core adds the convolution of its summed input counts plus the bias to the
membrane, fires floor(v / threshold_high) spikes where v >= threshold_high, subtracts them
(or resets to 0 with return_to_zero), clamps v at threshold_low and sum-pools the spikes for its
destinations. This is what sinabs' `DynapcnnNetwork(..., discretize=True)` computes per bin
(sinabs 1.2.10 `IAFSqueeze` with MultiSpike). The chip itself processes events one at a time,
so it matches this model only approximately.

The membrane is int64 and is not clamped at the top of the 16-bit register, because sinabs'
model does not clamp it either. The voltage trace carries the core's `voltage_scale`.
"""

from __future__ import annotations

import numpy as np

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.dialects import speck
from nirmlir.simulator import numerics
from nirmlir.simulator.engine import InputKernel, Kernel, Probe
from nirmlir.simulator.fixed_point import check_int64_bound

INT = np.dtype(np.int64)


class SpeckInputKernel(InputKernel):
    """speck.input: the event counts of each time bin, which must be non-negative integers."""

    dtype = INT

    def load(self, data: np.ndarray) -> None:
        data = np.asarray(data)
        if data.dtype.kind == "f":
            if not np.isfinite(data).all() or (data != np.round(data)).any():
                raise self.error("the input data must be whole numbers of events per time bin")
        elif data.dtype.kind not in "iub":
            raise self.error(f"the input data have dtype {data.dtype}; expected event counts")
        if data.size and data.min() < 0:
            raise self.error(f"the input data contain {data.min()}; event counts cannot be negative")
        self.data = data.astype(np.int64)


class CoreKernel(Kernel):
    """speck.core: convolution, integrate-and-fire with MultiSpike, clamp and sum pooling."""

    def __init__(self, op: speck.CoreOp, operands, result, location):
        super().__init__(op, operands, result, location)
        weight = numpy_from_dense(op.weight).astype(np.int64)
        self.bias = numpy_from_dense(op.bias).astype(np.int64).reshape(-1, 1, 1)
        self.threshold = op.threshold_high.value.data
        self.floor = op.threshold_low.value.data
        self.return_to_zero = bool(op.return_to_zero.value.data)
        self.pooling = op.output_pooling()
        self.neuron_shape = op.neuron_shape()
        self.voltage_scale = np.asarray(op.voltage_scale.value.data)
        stride = ints_from_array(op.stride)
        padding = ints_from_array(op.padding)
        # Input counts are not bounded by their type, so the float64 product is exact only
        # while every weighted sum stays below 2^53; the integer path takes over beyond that.
        self.row_sum = int(np.abs(weight).reshape(weight.shape[0], -1).sum(axis=1).max(initial=0))
        self.convolution = numerics.Convolution(weight, stride, padding, (1, 1), 1)
        self.weight, self.stride, self.padding = weight, stride, padding

    def start(self, batch: int) -> None:
        self.v = np.zeros((batch, *self.neuron_shape), dtype=INT)
        self.spikes = np.zeros((batch, *self.neuron_shape), dtype=INT)
        self.output = np.zeros((batch, *self.shape), dtype=INT)

    def convolve(self, x: np.ndarray) -> np.ndarray:
        largest = int(np.abs(x).max(initial=0)) if np.size(x) else 0
        bound = self.row_sum * largest
        check_int64_bound(bound, "the weighted sum", self.location)
        if bound <= numerics.FLOAT64_EXACT_INTEGER_BOUND:
            return self.convolution(x)
        return numerics.convolution(x, self.weight, self.stride, self.padding, (1, 1), 1)

    def step(self, env, t):
        x = self.summed(env)
        v = self.v + self.convolve(np.asarray(x, dtype=INT)) + self.bias
        spikes = np.where(v >= self.threshold, v // self.threshold, 0)
        if self.return_to_zero:
            v = np.where(spikes > 0, 0, v)
        else:
            v = v - spikes * self.threshold
        self.v = np.maximum(v, self.floor)
        self.spikes = spikes
        if self.pooling == 1:
            self.output = spikes
        else:
            size = (self.pooling, self.pooling)
            self.output = numerics.sum_pool(spikes, size, size, (0, 0))
        env[self.result] = self.output

    def probes(self):
        return {
            "v": Probe(lambda: self.v, INT, self.voltage_scale, self.neuron_shape),
            "neuron_spikes": Probe(lambda: self.spikes, INT, shape=self.neuron_shape),
            "spikes": Probe(lambda: self.output, INT),
        }


class OutputKernel(Kernel):
    """speck.output: the pooled events of the core it reads."""

    def __init__(self, op: speck.OutputOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.shape = tuple(op.operands[0].type.get_shape())

    def start(self, batch: int) -> None:
        self.output = np.zeros((batch, *self.shape), dtype=INT)

    def step(self, env, t):
        self.output = self.summed(env)

    def probes(self):
        return {"spikes": Probe(lambda: self.output, INT)}


KERNEL_FACTORIES = {
    speck.InputOp: SpeckInputKernel,
    speck.CoreOp: CoreKernel,
    speck.OutputOp: OutputKernel,
}
