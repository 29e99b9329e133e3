"""The event-exact snn.lif: spikes at the exact threshold crossing inside the step, then integration goes on.

Within a step the input x is constant, so the voltage relaxes exactly as
`v(s) = v∞ + (v0 - v∞)·d^s` for the fraction s ∈ [0, 1] of the step, with d = voltage_decay and
`v∞ = (voltage_gain·x + leak) / (1 - d)`; at s = 1 this is the per-step rule of snn.lif. With
d = 1 (an IF neuron) the voltage grows linearly, `v(s) = v0 + s·(voltage_gain·x + leak)`.

A spike happens at the first s where v reaches v_threshold from below, found in closed form
(`s = ln((v∞ - θ)/(v∞ - v0)) / ln d`), or at s = 0 when the voltage already passes the spike
test there. At that moment the reset applies (to v_reset, or θ subtracted), and the neuron
integrates the rest of the step from the reset voltage. The spike count of the step is the
number of such events, at most max_spikes_per_step. After the last allowed spike, and after any
spike with reset ``none``, the neuron integrates to the end of the step without further spikes.
"""

from __future__ import annotations

import numpy as np

from nirmlir.simulator.snn_ops import FLOAT, LIFKernel


class EventExactLIF(LIFKernel):
    """snn.lif with integrator event_exact."""

    def __init__(self, op, operands, result, location):
        super().__init__(op, operands, result, location)
        c = self.coefficients
        decay = c["voltage_decay"]
        self.linear = decay >= 1.0
        # ln d is only used where 0 < d < 1; elsewhere the closed forms below do not apply.
        self.log_decay = np.log(np.where((decay > 0) & (decay < 1), decay, 0.5))

    def _relax(self, v: np.ndarray, target: np.ndarray, rate: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """Return the voltage after `fraction` of a step from v (exponential toward target, or linear at rate)."""
        decay = self.coefficients["voltage_decay"]
        relaxed = target + (v - target) * np.power(decay, fraction)
        return np.where(self.linear, v + fraction * rate, relaxed)

    def _crossing(self, v: np.ndarray, target: np.ndarray, rate: np.ndarray) -> np.ndarray:
        """Return the fraction of a step until the next spike from voltage v (inf when there is none)."""
        rule = self.rule
        threshold = rule.threshold
        passes = v >= threshold if rule.greater_equal else v > threshold
        rising = np.where(self.linear, rate > 0, target > threshold)
        immediate = passes | ((v == threshold) & rising)
        below = (v < threshold) & rising
        with np.errstate(divide="ignore", invalid="ignore"):
            exponential = np.log((target - threshold) / (target - v)) / self.log_decay
            linear = (threshold - v) / rate
        # A decay of 0 jumps to v∞ at once, so the crossing is at the start of the step.
        decay = self.coefficients["voltage_decay"]
        exponential = np.where(decay <= 0, 0.0, exponential)
        later = np.where(self.linear, linear, exponential)
        crossing = np.where(below, later, np.inf)
        return np.where(immediate, 0.0, crossing)

    def step(self, env, t):
        c = self.coefficients
        rule = self.rule
        drive = c["voltage_gain"] * self.summed(env) + c["leak"]
        decay = c["voltage_decay"]
        with np.errstate(divide="ignore", invalid="ignore"):
            target = np.where(self.linear, 0.0, drive / (1.0 - decay))
        rate = np.where(self.linear, drive, 0.0)

        v = self.v
        remaining = np.ones_like(v)
        counts = np.zeros_like(v)
        testing = np.ones(v.shape, dtype=bool)
        for _ in range(rule.max_spikes):
            crossing = np.where(testing, self._crossing(v, target, rate), np.inf)
            fires = crossing <= remaining
            if not fires.any():
                break
            # Advance the firing neurons to their crossing, spike, reset, and keep the rest of the step.
            at_crossing = self._relax(v, target, rate, np.where(fires, crossing, 0.0))
            if rule.reset == "to_reset_value":
                after = np.broadcast_to(rule.reset_value, v.shape)
            elif rule.reset == "subtract":
                after = at_crossing - rule.threshold
            else:
                after = at_crossing
                testing = testing & ~fires
            v = np.where(fires, after, v)
            remaining = np.where(fires, remaining - crossing, remaining)
            counts = counts + fires
            testing = testing & (counts < rule.max_spikes)
        self.v = self._relax(v, target, rate, remaining)
        self.spikes = counts.astype(FLOAT)
        env[self.result] = self.spikes
