"""Kernels of the fxp dialect: bit-exact int64 arithmetic, each op exactly as its docstring in `dialects/fxp.py` states.

Values are int64 arrays holding the two's complement value of their declared width. Products and
sums are exact: at compile time each kernel bounds its largest intermediate from the operand
widths and rejects a node whose intermediates could overflow int64. Spike counts are non-negative
whatever their width, so an `i1` spike result is 0 or 1.
"""

from __future__ import annotations

import numpy as np

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.dialects import fxp
from nirmlir.simulator import numerics
from nirmlir.simulator.engine import DelayKernel, InputKernel, Kernel, Probe
from nirmlir.simulator.fixed_point import (
    StochasticRounding,
    bring_to_width,
    check_int64_bound,
    decay,
    round_shift,
    signed_bounds,
)
from nirmlir.simulator.snn_ops import carries_spikes, count_dtype

INT = np.dtype(np.int64)
SPIKE_SOURCES = (fxp.LIFOp, fxp.CubaLIFOp, fxp.ThresholdOp)
PASS_THROUGH = (fxp.StepDelayOp, fxp.DelayOp, fxp.FlattenOp)


def element_bits(value) -> int:
    """Return the declared width of an integer tensor value."""
    return fxp.integer_width(value.type)


def magnitude(value) -> int:
    """Return the largest magnitude an integer value of its declared width can hold (1 for spike counts)."""
    bits = element_bits(value)
    if bits == 1:
        return 1
    return 1 << (bits - 1)


def int_property(op, field: str) -> np.ndarray:
    return numpy_from_dense(op.properties[field]).astype(np.int64)


def float_property(op, field: str) -> np.ndarray:
    return numpy_from_dense(op.properties[field]).astype(np.float64)


def channel_scale(scale: np.ndarray, rank: int) -> np.ndarray:
    """Reshape a per-channel scale (C,) of a conv result to broadcast over (C, *spatial)."""
    if scale.ndim == 1 and rank > 1:
        return scale.reshape((-1,) + (1,) * (rank - 1))
    return scale


class IntKernel(Kernel):
    """An fxp kernel whose trace is its integer result `value`, at the NIR scale `value_scale` if known."""

    value_scale: np.ndarray | None = None

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.input_bound = sum(magnitude(operand) for operand in op.operands)
        if op.results:
            self.bits = element_bits(op.results[0])

    def start(self, batch: int) -> None:
        self.output = np.zeros((batch, *self.shape), dtype=INT)

    def step(self, env, t):
        self.output = self.compute(self.summed(env))
        env[self.result] = self.output

    def compute(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def probes(self):
        return {"value": Probe(lambda: self.output, INT, self.value_scale)}


class FXPInputKernel(InputKernel):
    """fxp.input: one unit is `scale` NIR units.

    Float data are NIR units, converted to the nearest integer (halves away from zero); integer
    data are taken as the integers. Either must fit the input's width.
    """

    dtype = INT

    def __init__(self, op: fxp.InputOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.scale = float(op.scale.value.data)
        self.bits = element_bits(op.output)
        self.value_scale = np.asarray(self.scale)

    def load(self, data: np.ndarray) -> None:
        data = np.asarray(data)
        if data.dtype.kind in "iub":
            integers = data.astype(np.int64)
        else:
            units = np.asarray(data, dtype=np.float64) / self.scale
            if not np.isfinite(units).all():
                raise self.error("the input data contain a value that is not finite")
            integers = (np.sign(units) * np.floor(np.abs(units) + 0.5)).astype(np.int64)
        low, high = signed_bounds(self.bits)
        if self.bits == 1:
            low, high = 0, 1
        if integers.size and (integers.min() < low or integers.max() > high):
            raise self.error(
                f"the input data reach {integers.min()} to {integers.max()} units of {self.scale:g}, outside "
                f"the {self.bits}-bit range [{low}, {high}] of the input; scale the data or quantize with a "
                "larger input-scale or input-bits"
            )
        self.data = integers

    def probes(self):
        return {"value": Probe(lambda: self.output, INT, self.value_scale)}


class OutputKernel(IntKernel):
    """fxp.output: records the exact sum of the operands; a unit is `scale` NIR units."""

    def __init__(self, op: fxp.OutputOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.shape = tuple(op.operands[0].type.get_shape())
        self.value_scale = float_property(op, "scale")
        self.spiking = all(carries_spikes(operand, SPIKE_SOURCES, PASS_THROUGH) for operand in op.operands)

    def step(self, env, t):
        self.output = self.summed(env)

    def probes(self):
        probes = super().probes()
        if self.spiking:
            probes["spikes"] = Probe(lambda: self.output, np.dtype(np.int32))
        return probes


class WeightKernel(IntKernel):
    """Shared part of fxp.affine and the convolutions: integer weights, bias and the result width."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.weight = int_property(op, "weight")
        self.bias = int_property(op, "bias") if op.bias is not None else None
        self.saturate = bool(op.saturate.value.data)
        rank = len(self.shape)
        weight_scale = float_property(op, "weight_scale")
        if not isinstance(op, fxp.AffineOp):
            weight_scale = channel_scale(weight_scale, rank)
        self.value_scale = float(op.input_scale.value.data) * weight_scale

    def check_bound(self, weight_rows: np.ndarray) -> bool:
        """Reject weights whose largest weighted sum, with the largest inputs, could overflow int64.

        Return whether float64 computes every weighted sum exactly (the bias is added in int64),
        which lets the product run through BLAS instead of numpy's much slower integer matmul.
        """
        largest_row = int(np.abs(weight_rows).sum(axis=-1).max(initial=0))
        bias = int(np.abs(self.bias).max(initial=0)) if self.bias is not None else 0
        check_int64_bound(largest_row * self.input_bound + bias, "the weighted sum", self.location)
        return largest_row * self.input_bound <= numerics.FLOAT64_EXACT_INTEGER_BOUND

    def finish(self, y: np.ndarray) -> np.ndarray:
        if self.bias is not None:
            y = y + self.bias
        return bring_to_width(y, self.bits, self.saturate)


class AffineKernel(WeightKernel):
    """fxp.affine: y[o] = S_n(Σ_i W[o,i]·x[i] + b[o])."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.float_weight = self.weight.astype(np.float64) if self.check_bound(self.weight) else None

    def compute(self, x):
        if self.float_weight is None:
            return self.finish(numerics.affine(x, self.weight))
        products = numerics.affine(x.astype(np.float64), self.float_weight)
        return self.finish(products.astype(INT))


class ConvKernel(WeightKernel):
    """fxp.conv1d and fxp.conv2d: S_n(b[co] + Σ W·x_pad) per output position."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.stride = ints_from_array(op.stride)
        self.padding = ints_from_array(op.padding)
        self.dilation = ints_from_array(op.dilation)
        self.groups = op.groups.value.data
        if self.bias is not None:
            self.bias = self.bias.reshape((-1,) + (1,) * len(self.stride))
        self.convolution = None
        if self.check_bound(self.weight.reshape(self.weight.shape[0], -1)):
            self.convolution = numerics.Convolution(self.weight, self.stride, self.padding, self.dilation, self.groups)

    def compute(self, x):
        if self.convolution is not None:
            return self.finish(self.convolution(x))
        y = numerics.convolution(x, self.weight, self.stride, self.padding, self.dilation, self.groups)
        return self.finish(y)


class SumPoolKernel(IntKernel):
    """fxp.sum_pool2d: S_n of the zero-padded window sums; the result keeps the input's scale."""

    def __init__(self, op: fxp.SumPool2dOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.kernel_size = ints_from_array(op.kernel_size)
        self.stride = ints_from_array(op.stride)
        self.padding = ints_from_array(op.padding)
        self.saturate = bool(op.saturate.value.data)
        check_int64_bound(self.input_bound * int(np.prod(self.kernel_size)), "the window sum", location)

    def compute(self, x):
        y = numerics.sum_pool(x, self.kernel_size, self.stride, self.padding)
        return bring_to_width(y, self.bits, self.saturate)


class FlattenKernel(IntKernel):
    """fxp.flatten: a row-major reshape; values are unchanged."""

    def compute(self, x):
        return x.reshape((x.shape[0], *self.shape))


class RescaleKernel(IntKernel):
    """fxp.rescale: y = S_n(R_shift(m ⊙ x)); the NIR scale of the result is not stated, so only integers are recorded."""

    def __init__(self, op: fxp.RescaleOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.multiplier = int_property(op, "multiplier")
        self.shift = op.shift.value.data
        self.rounding = op.rounding.data
        self.saturate = bool(op.saturate.value.data)
        self.seed = op.rounding_seed.value.data if op.rounding_seed is not None else None
        largest = int(np.abs(self.multiplier).max(initial=0))
        check_int64_bound(largest * self.input_bound, "the product multiplier·x", location)

    def start(self, batch):
        super().start(batch)
        self.stochastic = StochasticRounding(self.seed) if self.seed is not None else None

    def compute(self, x):
        y = round_shift(self.multiplier * x, self.shift, self.rounding, self.stochastic)
        return bring_to_width(y, self.bits, self.saturate)


class ThresholdKernel(IntKernel):
    """fxp.threshold: y = 1 where x > θ (gt) or x ≥ θ (ge), else 0."""

    value_scale = np.asarray(1.0)

    def __init__(self, op: fxp.ThresholdOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.threshold = int_property(op, "threshold")
        self.greater_equal = op.spike_test.data == "ge"

    def compute(self, x):
        fired = x >= self.threshold if self.greater_equal else x > self.threshold
        return fired.astype(INT)

    def probes(self):
        return {"spikes": Probe(lambda: self.output, count_dtype(1))}


def make_delay(op, operands, result, location) -> DelayKernel:
    """fxp.delay (per-element steps) and fxp.step_delay (one step count)."""
    steps = np.asarray(op.steps.value.data) if isinstance(op, fxp.StepDelayOp) else numpy_from_dense(op.steps)
    return DelayKernel(op, operands, result, location, steps, INT)


# --------------------------------------------------------------------------------------
# Neuron groups
# --------------------------------------------------------------------------------------


class NeuronKernel(Kernel):
    """Shared state and rules of the fxp neuron groups: v, optional i, spikes, D, S_V and S_I."""

    has_current = False
    spiking = False

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.voltage_bits = op.voltage_bits.value.data
        self.voltage_saturate = bool(op.voltage_saturate.value.data)
        self.voltage_scale = float_property(op, "voltage_scale")
        self.input_bound = sum(magnitude(operand) for operand in op.operands)
        self.fields = {field: int_property(op, field) for field in op.PER_NEURON}
        leak = self.fields.get("leak")
        self.leak = leak if leak is not None and leak.any() else None
        self.seed = None
        self.identity_decays: set[str] = set()
        if op.DECAYS:
            self.decay_kind = op.decay_kind.data
            self.decay_min_step = op.decay_min_step.value.data
            self.rounding = op.rounding.data
            if op.rounding_seed is not None:
                self.seed = op.rounding_seed.value.data
            self.identity_decays = {field for field in op.DECAYS if self._is_identity_decay(self.fields[field])}
        if self.has_current:
            self.current_bits = op.current_bits.value.data
            self.current_saturate = bool(op.current_saturate.value.data)
            self.current_scale = float_property(op, "current_scale")
            self.same_step = op.current_timing.data == "same_step"
        if self.spiking:
            self.threshold = self.fields["v_threshold"]
            self.reset_value = self.fields["v_reset"]
            self.greater_equal = op.spike_test.data == "ge"
            self.before_update = op.spike_timing.data == "before_update"
            self.reset = op.reset.data
            self.max_spikes = op.max_spikes_per_step.value.data
        self.check_bounds()

    def check_bounds(self) -> None:
        """Reject widths whose decay products or sums could overflow int64."""
        states = [("voltage", self.voltage_bits)]
        if self.has_current:
            states.append(("current", self.current_bits))
        for name, bits in states:
            state = 1 << (bits - 1)
            if self.op.DECAYS and self.decay_kind != "shift":
                check_int64_bound(4096 * state, f"the {name} decay product", self.location)
            leak = int(np.abs(self.fields.get("leak", np.zeros(1))).max(initial=0))
            addend = (1 << (self.current_bits - 1)) if self.has_current and name == "voltage" else self.input_bound
            check_int64_bound(state + addend + leak, f"the {name} update", self.location)
        if self.spiking:
            largest = int(np.abs(self.threshold).max(initial=0)) * self.max_spikes
            check_int64_bound((1 << (self.voltage_bits - 1)) + largest, "the subtractive reset", self.location)

    def start(self, batch: int) -> None:
        zeros = np.zeros((batch, *self.shape), dtype=INT)
        self.v = zeros
        self.i = zeros
        self.spikes = zeros
        self.stochastic = StochasticRounding(self.seed) if self.seed is not None else None

    def _is_identity_decay(self, factor: np.ndarray) -> bool:
        """Return whether D(s) = s for every s: a kept fraction of 4096/4096 or a lost fraction of 0.

        Stochastic rounding draws its random numbers even when they cannot change the result, and a
        minimum step moves every state, so neither counts as the identity.
        """
        if self.rounding == "stochastic" or self.decay_min_step > 0:
            return False
        identities = {"kept_fraction_q12": 4096, "lost_fraction_q12": 0}
        return self.decay_kind in identities and bool((factor == identities[self.decay_kind]).all())

    def decayed(self, state: np.ndarray, field: str) -> np.ndarray:
        if field in self.identity_decays:
            return state
        return decay(state, self.fields[field], self.decay_kind, self.decay_min_step, self.rounding, self.stochastic)

    def plus_leak(self, values: np.ndarray) -> np.ndarray:
        return values if self.leak is None else values + self.leak

    def to_voltage(self, values: np.ndarray) -> np.ndarray:
        return bring_to_width(values, self.voltage_bits, self.voltage_saturate)

    def current(self, x: np.ndarray) -> np.ndarray:
        """Update i[t] = S_I(D(i[t-1]) + x) and return the current the voltage reads."""
        previous = self.i
        self.i = bring_to_width(self.decayed(previous, "current_decay") + x, self.current_bits, self.current_saturate)
        return self.i if self.same_step else previous

    def fire(self, previous: np.ndarray, updated: np.ndarray) -> None:
        """Set v[t] and z[t] from v[t-1] and u with the spike test, the spike count and the reset."""
        tested = previous if self.before_update else updated
        threshold = self.threshold
        if self.max_spikes == 1:
            fired = tested >= threshold if self.greater_equal else tested > threshold
            spikes = fired.astype(INT)
        else:
            # The k ≥ 1 with s ≥ k·θ (ge) or s > k·θ (gt), θ > 0: floor(s/θ) or floor((s-1)/θ), capped at m.
            numerator = tested if self.greater_equal else tested - 1
            spikes = np.clip(np.floor_divide(numerator, threshold), 0, self.max_spikes)
            fired = spikes > 0
        if self.reset == "to_reset_value":
            # `updated` is a fresh array of this step, so the reset may overwrite it.
            voltage = updated
            np.copyto(voltage, self.reset_value, where=fired)
        elif self.reset == "subtract":
            voltage = self.to_voltage(updated - spikes * threshold)
        else:
            voltage = updated
        self.v, self.spikes = voltage, spikes

    def probes(self):
        probes = {"v": Probe(lambda: self.v, INT, self.voltage_scale)}
        if self.has_current:
            probes["i"] = Probe(lambda: self.i, INT, self.current_scale)
        if self.spiking:
            probes["spikes"] = Probe(lambda: self.spikes, count_dtype(self.max_spikes))
        return probes


class LIFKernel(NeuronKernel):
    """fxp.lif: u = S_V(D(v[t-1]) + x + leak), then the spike count and reset."""

    spiking = True

    def step(self, env, t):
        updated = self.to_voltage(self.plus_leak(self.decayed(self.v, "voltage_decay") + self.summed(env)))
        self.fire(self.v, updated)
        env[self.result] = self.spikes


class CubaLIFKernel(NeuronKernel):
    """fxp.cuba_lif: i[t] = S_I(D(i[t-1]) + x), then u = S_V(D(v[t-1]) + i_used + leak) and the spike rule."""

    spiking = True
    has_current = True

    def step(self, env, t):
        current = self.current(self.summed(env))
        updated = self.to_voltage(self.plus_leak(self.decayed(self.v, "voltage_decay") + current))
        self.fire(self.v, updated)
        env[self.result] = self.spikes


class LIKernel(NeuronKernel):
    """fxp.li: v[t] = S_V(D(v[t-1]) + x + leak); the result is v[t]."""

    def step(self, env, t):
        self.v = self.to_voltage(self.plus_leak(self.decayed(self.v, "voltage_decay") + self.summed(env)))
        env[self.result] = self.v


class CubaLIKernel(NeuronKernel):
    """fxp.cuba_li: i[t] = S_I(D(i[t-1]) + x), then v[t] = S_V(D(v[t-1]) + i_used + leak)."""

    has_current = True

    def step(self, env, t):
        current = self.current(self.summed(env))
        self.v = self.to_voltage(self.plus_leak(self.decayed(self.v, "voltage_decay") + current))
        env[self.result] = self.v


class IntegratorKernel(NeuronKernel):
    """fxp.integrator: v[t] = S_V(v[t-1] + x); the result is v[t]."""

    def step(self, env, t):
        self.v = self.to_voltage(self.v + self.summed(env))
        env[self.result] = self.v


def link_value_scales(kernels: list[Kernel]) -> None:
    """Give each flatten, pool and delay the NIR scale of its input, which the op does not store.

    A sum pool keeps its input's scale, as the dialect states. An NIR average pool lowered to one
    therefore records the window sum, which is kh·kw times the average.
    """
    producers = {kernel.result: kernel for kernel in kernels if kernel.result is not None}
    resolving: set[Kernel] = set()

    def scale_of(kernel: Kernel) -> np.ndarray | None:
        if not isinstance(kernel, FlattenKernel | SumPoolKernel | DelayKernel):
            if isinstance(kernel, NeuronKernel):
                return np.asarray(1.0) if kernel.spiking else kernel.voltage_scale
            return kernel.value_scale
        if kernel in resolving:
            return None
        resolving.add(kernel)
        source = producers[kernel.operands[0]]
        scale = scale_of(source)
        if scale is not None and np.ndim(scale) > 0 and isinstance(kernel, FlattenKernel):
            scale = np.broadcast_to(scale, source.shape).reshape(kernel.shape)
        kernel.value_scale = scale
        resolving.discard(kernel)
        return scale

    for kernel in kernels:
        scale_of(kernel)


KERNEL_FACTORIES = {
    fxp.InputOp: FXPInputKernel,
    fxp.OutputOp: OutputKernel,
    fxp.AffineOp: AffineKernel,
    fxp.Conv1dOp: ConvKernel,
    fxp.Conv2dOp: ConvKernel,
    fxp.SumPool2dOp: SumPoolKernel,
    fxp.FlattenOp: FlattenKernel,
    fxp.RescaleOp: RescaleKernel,
    fxp.ThresholdOp: ThresholdKernel,
    fxp.DelayOp: make_delay,
    fxp.StepDelayOp: make_delay,
    fxp.LIFOp: LIFKernel,
    fxp.CubaLIFOp: CubaLIFKernel,
    fxp.LIOp: LIKernel,
    fxp.CubaLIOp: CubaLIKernel,
    fxp.IntegratorOp: IntegratorKernel,
}
"""The kernel class or factory of every fxp op."""

LINK = link_value_scales
"""Run once on the compiled kernels, before their probes are read."""
