"""Kernels of the snn dialect: float64 numpy (or float32 on request), each op exactly as its docstring in `dialects/snn.py` states."""

from __future__ import annotations

import numpy as np
from xdsl.ir import SSAValue

from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.dialects import snn
from nirmlir.simulator import numerics
from nirmlir.simulator.engine import FLOAT_DTYPE, DelayKernel, InputKernel, Kernel, Probe

FLOAT = np.dtype(np.float64)
"""The default float dtype; each kernel computes in its own `self.float` (see `engine.FLOAT_DTYPE`)."""
SPIKE_SOURCES = (snn.LIFOp, snn.CubaLIFOp, snn.ThresholdOp)
PASS_THROUGH = (snn.StepDelayOp, snn.DelayOp, snn.FlattenOp)


def count_dtype(max_count: int) -> np.dtype:
    """Return the smallest unsigned dtype that can store spike counts up to `max_count`."""
    return np.dtype(np.min_scalar_type(max_count))


def carries_spikes(value: SSAValue, spike_sources: tuple[type, ...], pass_through: tuple[type, ...]) -> bool:
    """Return whether a value is spike counts: a spiking op's result, through delays and flattens."""
    seen = set()
    pending = [value]
    while pending:
        owner = pending.pop().owner
        if owner in seen:
            continue
        seen.add(owner)
        if isinstance(owner, pass_through):
            pending.extend(owner.operands)
        elif not isinstance(owner, spike_sources):
            return False
    return True


class ValueKernel(Kernel):
    """A kernel whose only trace is its result, `value`."""

    def start(self, batch: int) -> None:
        self.output = np.zeros((batch, *self.shape), dtype=self.float)

    def step(self, env: list, t: int) -> None:
        self.output = self.compute(self.summed(env))
        env[self.result] = self.output

    def compute(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def probes(self) -> dict[str, Probe]:
        return {"value": Probe(lambda: self.output, self.float)}


class OutputKernel(Kernel):
    """snn.output: records x[t]; an output fed only by spikes also records them as `spikes`."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.shape = tuple(op.operands[0].type.get_shape())
        self.spiking = all(carries_spikes(operand, SPIKE_SOURCES, PASS_THROUGH) for operand in op.operands)

    def start(self, batch: int) -> None:
        self.output = np.zeros((batch, *self.shape), dtype=self.float)

    def step(self, env: list, t: int) -> None:
        self.output = self.summed(env)

    def probes(self) -> dict[str, Probe]:
        probes = {"value": Probe(lambda: self.output, self.float)}
        if self.spiking:
            probes["spikes"] = Probe(lambda: self.output, np.dtype(np.int32))
        return probes


class AffineKernel(ValueKernel):
    """snn.affine: y = W x + b."""

    def __init__(self, op: snn.AffineOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.weight = snn.float_array(op.weight).astype(self.float)
        self.bias = snn.float_array(op.bias).astype(self.float) if op.bias is not None else None

    def compute(self, x):
        y = numerics.affine(x, self.weight)
        return y + self.bias if self.bias is not None else y


class ScaleKernel(ValueKernel):
    """snn.scale: y = s ⊙ x."""

    def __init__(self, op: snn.ScaleOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.scale = snn.float_array(op.scale).astype(self.float)

    def compute(self, x):
        return self.scale * x


class ConvKernel(ValueKernel):
    """snn.conv1d and snn.conv2d: cross-correlation with symmetric zero padding, plus bias per channel."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.weight = snn.float_array(op.weight)
        self.stride = ints_from_array(op.stride)
        self.padding = ints_from_array(op.padding)
        self.dilation = ints_from_array(op.dilation)
        self.groups = op.groups.value.data
        bias = snn.float_array(op.bias) if op.bias is not None else None
        self.convolution = numerics.Convolution(
            self.weight, self.stride, self.padding, self.dilation, self.groups, bias, self.float
        )

    def compute(self, x):
        return self.convolution(x)


class PoolKernel(ValueKernel):
    """snn.sum_pool2d, and snn.avg_pool2d, which divides by kh·kw with padded cells counted as zeros."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.kernel_size = ints_from_array(op.kernel_size)
        self.stride = ints_from_array(op.stride)
        self.padding = ints_from_array(op.padding)
        self.divisor = float(np.prod(self.kernel_size)) if isinstance(op, snn.AvgPool2dOp) else 1.0

    def compute(self, x):
        y = numerics.sum_pool(x, self.kernel_size, self.stride, self.padding)
        return y / self.divisor if self.divisor != 1.0 else y


class FlattenKernel(ValueKernel):
    """snn.flatten: a row-major reshape of each sample."""

    def compute(self, x):
        return x.reshape((x.shape[0], *self.shape))


class ThresholdKernel(Kernel):
    """snn.threshold: y = 1 where x > θ (gt) or x ≥ θ (ge), else 0."""

    def __init__(self, op: snn.ThresholdOp, operands, result, location):
        super().__init__(op, operands, result, location)
        self.threshold = snn.float_array(op.threshold).astype(self.float)
        self.greater_equal = op.spike_test.data == "ge"

    def start(self, batch: int) -> None:
        self.output = np.zeros((batch, *self.shape), dtype=self.float)

    def step(self, env, t):
        x = self.summed(env)
        fired = x >= self.threshold if self.greater_equal else x > self.threshold
        self.output = fired.astype(self.float)
        env[self.result] = self.output

    def probes(self):
        return {"spikes": Probe(lambda: self.output, count_dtype(1))}


def make_delay(op, operands, result, location) -> DelayKernel:
    """snn.delay (per-element steps) and snn.step_delay (one step count)."""
    if isinstance(op, snn.StepDelayOp):
        steps = np.asarray(op.steps.value.data)
    else:
        steps = numpy_from_dense(op.steps)
    return DelayKernel(op, operands, result, location, steps, FLOAT_DTYPE.get())


# --------------------------------------------------------------------------------------
# Neuron groups
# --------------------------------------------------------------------------------------


def spike_counts(tested: np.ndarray, threshold: np.ndarray, greater_equal: bool, max_spikes: int) -> np.ndarray:
    """Return the spike count z of each neuron for the tested voltage s, as a float array.

    With one spike per step, z is the plain test. With m > 1 spikes, z counts the k ≥ 1 for which
    s - (k-1)·θ still passes the test, capped at m: floor(s/θ) for ≥ and ceil(s/θ) - 1 for >
    (θ > 0, which the verifier requires).
    """
    if max_spikes == 1:
        fired = tested >= threshold if greater_equal else tested > threshold
        return fired.astype(tested.dtype)
    ratio = tested / threshold
    counts = np.floor(ratio) if greater_equal else np.ceil(ratio) - 1.0
    return np.clip(counts, 0.0, float(max_spikes))


def uniform_or_array(values: np.ndarray) -> float | np.ndarray:
    """Return the one value of an array whose elements are all equal, else the array.

    A Python float broadcasts like the array and gives the same results, but costs no memory reads.
    """
    flat = values.reshape(-1)
    if flat.size and bool((flat == flat[0]).all()):
        return float(flat[0])
    return values


def unless_identity(values: np.ndarray, identity: float) -> float | np.ndarray | None:
    """Return None when every element equals `identity` (1 for a factor, 0 for an addend), else `uniform_or_array`."""
    simplified = uniform_or_array(values)
    if isinstance(simplified, float) and simplified == identity:
        return None
    return simplified


class StateUpdate:
    """The update decay ⊙ s + gain ⊙ x + addend of a state s, computed into a fresh array.

    A factor of 1 is skipped, which is exact. An addend of 0 is skipped, which is exact too
    except that it keeps the sign of a -0.0, a value that compares equal to 0.0.
    """

    def __init__(self, decay: np.ndarray | None, gain: np.ndarray, addend: np.ndarray | None = None):
        self.decay = None if decay is None else unless_identity(decay, 1.0)
        self.gain = unless_identity(gain, 1.0)
        self.addend = None if addend is None else unless_identity(addend, 0.0)

    def __call__(self, state: np.ndarray, x: np.ndarray) -> np.ndarray:
        decayed = state if self.decay is None else self.decay * state
        driven = x if self.gain is None else self.gain * x
        # `state` has the full (B, *shape), so the sum is a new array of that shape.
        updated = decayed + driven
        if self.addend is not None:
            updated += self.addend
        return updated


class SpikeRule:
    """The spike test and reset of a spiking snn neuron group (snn.lif, snn.cuba_lif)."""

    def __init__(self, op, dtype: np.dtype = FLOAT):
        self.dtype = dtype
        self.threshold = op.coefficient("v_threshold").astype(dtype)
        self.reset_value = op.coefficient("v_reset").astype(dtype)
        self.greater_equal = op.spike_test.data == "ge"
        self.before_update = op.spike_timing.data == "before_update"
        self.reset = op.reset.data
        self.max_spikes = op.max_spikes_per_step.value.data
        self.uniform_threshold = uniform_or_array(self.threshold)
        self.uniform_reset_value = uniform_or_array(self.reset_value)

    def apply(self, previous: np.ndarray, updated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (v[t], z[t]) from v[t-1] and the updated voltage u; v[t] may be `updated`, overwritten."""
        tested = previous if self.before_update else updated
        if self.max_spikes > 1:
            spikes = spike_counts(tested, self.threshold, self.greater_equal, self.max_spikes)
            if self.reset == "to_reset_value":
                return np.where(spikes > 0, self.reset_value, updated), spikes
            if self.reset == "subtract":
                updated -= spikes * self.threshold
            return updated, spikes

        # One spike per step: the reset touches the fired neurons only, in place.
        threshold = self.uniform_threshold
        fired = tested >= threshold if self.greater_equal else tested > threshold
        spikes = fired.astype(self.dtype)
        if self.reset == "to_reset_value":
            np.copyto(updated, self.uniform_reset_value, where=fired)
        elif self.reset == "subtract":
            np.subtract(updated, threshold, out=updated, where=fired)
        return updated, spikes


class NeuronKernel(Kernel):
    """Shared state of the snn neuron groups: voltage v, optional current i and spikes."""

    has_current = False
    spiking = False

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.coefficients = {field: op.coefficient(field).astype(self.float) for field in op.COEFFICIENTS}
        c = self.coefficients
        self.voltage_update = StateUpdate(c.get("voltage_decay"), c["voltage_gain"], c.get("leak"))
        if isinstance(op, snn.CurrentNeuronOp):
            self.same_step = op.current_timing.data == "same_step"
            self.current_update = StateUpdate(c["current_decay"], c["current_gain"])
        if self.spiking:
            self.rule = SpikeRule(op, self.float)

    def start(self, batch: int) -> None:
        zeros = np.zeros((batch, *self.shape), dtype=self.float)
        self.v = zeros
        self.i = zeros
        self.spikes = zeros

    def probes(self):
        probes = {"v": Probe(lambda: self.v, self.float)}
        if self.has_current:
            probes["i"] = Probe(lambda: self.i, self.float)
        if self.spiking:
            probes["spikes"] = Probe(lambda: self.spikes, count_dtype(self.rule.max_spikes))
        return probes

    def current(self, x: np.ndarray) -> np.ndarray:
        """Update i[t] = current_decay ⊙ i[t-1] + current_gain ⊙ x and return the current the voltage reads."""
        previous = self.i
        self.i = self.current_update(previous, x)
        return self.i if self.same_step else previous


class LIFKernel(NeuronKernel):
    """snn.lif: u = voltage_decay ⊙ v[t-1] + voltage_gain ⊙ x + leak, then the spike rule."""

    spiking = True

    def step(self, env, t):
        updated = self.voltage_update(self.v, self.summed(env))
        self.v, self.spikes = self.rule.apply(self.v, updated)
        env[self.result] = self.spikes


class CubaLIFKernel(NeuronKernel):
    """snn.cuba_lif: the current first, then the voltage reads i[t] or i[t-1]; spikes never reset i."""

    spiking = True
    has_current = True

    def step(self, env, t):
        current = self.current(self.summed(env))
        updated = self.voltage_update(self.v, current)
        self.v, self.spikes = self.rule.apply(self.v, updated)
        env[self.result] = self.spikes


class LIKernel(NeuronKernel):
    """snn.li: v[t] = voltage_decay ⊙ v[t-1] + voltage_gain ⊙ x + leak; the result is v[t]."""

    def step(self, env, t):
        self.v = self.voltage_update(self.v, self.summed(env))
        env[self.result] = self.v


class CubaLIKernel(NeuronKernel):
    """snn.cuba_li: the current first, then v[t] = voltage_decay ⊙ v[t-1] + voltage_gain ⊙ i_used + leak."""

    has_current = True

    def step(self, env, t):
        current = self.current(self.summed(env))
        self.v = self.voltage_update(self.v, current)
        env[self.result] = self.v


class IntegratorKernel(NeuronKernel):
    """snn.integrator: v[t] = v[t-1] + voltage_gain ⊙ x; the result is v[t]."""

    def step(self, env, t):
        self.v = self.voltage_update(self.v, self.summed(env))
        env[self.result] = self.v


def make_lif(op: snn.LIFOp, operands, result, location) -> Kernel:
    """snn.lif, with the event-exact kernel for integrator event_exact."""
    if op.integrator.data == "event_exact":
        from nirmlir.simulator.event_exact import EventExactLIF

        return EventExactLIF(op, operands, result, location)
    return LIFKernel(op, operands, result, location)


class SNNInputKernel(InputKernel):
    """snn.input: the data are NIR units, as float64 (or the program's float32)."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        self.dtype = self.float


KERNEL_FACTORIES = {
    snn.InputOp: SNNInputKernel,
    snn.OutputOp: OutputKernel,
    snn.AffineOp: AffineKernel,
    snn.ScaleOp: ScaleKernel,
    snn.Conv1dOp: ConvKernel,
    snn.Conv2dOp: ConvKernel,
    snn.SumPool2dOp: PoolKernel,
    snn.AvgPool2dOp: PoolKernel,
    snn.FlattenOp: FlattenKernel,
    snn.ThresholdOp: ThresholdKernel,
    snn.DelayOp: make_delay,
    snn.StepDelayOp: make_delay,
    snn.LIFOp: make_lif,
    snn.CubaLIFOp: CubaLIFKernel,
    snn.LIOp: LIKernel,
    snn.CubaLIOp: CubaLIKernel,
    snn.IntegratorOp: IntegratorKernel,
}
"""The kernel class or factory of every snn op."""
