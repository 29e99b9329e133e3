"""Discretization presets: the per-step conventions of each NIR simulator, as data for `discretize`.

A preset fixes every choice that NIR leaves open (the `snn` dialect's neuron attributes). The
equations below use a = dt/tau, d = voltage_decay and g = voltage_gain; r is the NIR resistance
and x the summed input. A current-based neuron applies the same rule to its current first, with
current_decay and current_gain = (gain factor)·w_in.

Each LIF rule was checked against the simulator's recorded trace of the NIR paper's single LIF
neuron (neuromorphs/NIR, paper/01_lif/lif_<simulator>.csv: tau 2.5 ms, dt 0.1 ms, so a = 0.04):
simulating the snn.lif that `discretize` produces gives the same spike steps, and the voltage
agrees within the error given in each preset's docstring, after the stated change of units.
tests/test_golden_traces.py repeats this check with the reference simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from nirmlir.dialects.snn import CURRENT_TIMINGS, INTEGRATORS, RESETS, SPIKE_TESTS, SPIKE_TIMINGS

GAIN_RULES = ("integrator", "rockpool")
"""The rules by which leaky neurons turn r and w_in into per-step input gains: ``integrator`` (the integrator's own
factor: a = dt/tau under forward_euler and exp_euler, 1 - e^(-a) under the exact integrators) or
``rockpool`` (r and w_in as Rockpool's exporter writes them: the voltage gain is a·e^a·r, which is 1
for its r = (tau/dt)·e^(-a), and the current gain is e^(-a)·w_in, Rockpool's i ← e^(-a)·(i + x))."""

IF_GAINS = ("r", "r_dt")
"""Input scaling of IF and integrator neurons, which have no time constant, per step:
``r`` (v += r·x each step, so dt = 1 in effect) or ``r_dt`` (v += r·dt·x, the ODE dv/dt = r·x integrated over one step)."""


@dataclass(frozen=True)
class Preset:
    """The discretization conventions of one simulator; field names match `discretize` options."""

    name: str
    integrator: str
    spike_test: str
    spike_timing: str
    reset: str
    max_spikes_per_step: int
    current_timing: str
    if_gain: str
    synapse_delay: int
    """Steps of delay added on every edge from an affine, linear or conv node into a neuron."""
    back_edge_delay: int
    """Steps of delay on each back edge of a cycle (at least 1)."""
    gain_rule: str = "integrator"
    """The rule that turns r and w_in of leaky neurons into input gains (one of GAIN_RULES)."""

    def with_overrides(self, **overrides: object) -> Preset:
        """Return a copy with the non-None overrides applied; raise ValueError for an invalid value."""
        changes = {key: value for key, value in overrides.items() if value is not None}
        preset = replace(self, **changes)
        preset.validate()
        return preset

    def validate(self) -> None:
        """Raise ValueError naming the first field whose value is not allowed."""
        choices = {
            "integrator": INTEGRATORS,
            "spike_test": SPIKE_TESTS,
            "spike_timing": SPIKE_TIMINGS,
            "reset": RESETS,
            "current_timing": CURRENT_TIMINGS,
            "if_gain": IF_GAINS,
            "gain_rule": GAIN_RULES,
        }
        for field, allowed in choices.items():
            value = getattr(self, field)
            if value not in allowed:
                option = field.replace("_", "-")
                raise ValueError(f"invalid {option} '{value}'; expected one of {', '.join(allowed)}")
        minimums = {"max_spikes_per_step": 1, "synapse_delay": 0, "back_edge_delay": 1}
        for field, minimum in minimums.items():
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                option = field.replace("_", "-")
                raise ValueError(f"invalid {option} '{value}'; expected an integer >= {minimum}")


OVERRIDABLE_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(Preset) if field.name != "name")
"""The preset fields that a `discretize` option of the same name (with '-' for '_') overrides."""


NORSE = Preset(
    name="norse",
    integrator="forward_euler",
    spike_test="gt",
    spike_timing="after_update",
    reset="to_reset_value",
    max_spikes_per_step=1,
    current_timing="same_step",
    if_gain="r",
    synapse_delay=0,
    back_edge_delay=1,
)
"""Norse (LIFBoxCell): forward Euler, v ← v + a·(v_leak - v + r·x), so d = 1 - a and g = a·r.

Spike when v > v_threshold after the update (Heaviside of v - v_th), then v = v_reset, as in
norse/torch/functional/lif_box.py. The membrane of a CubaLIF reads this step's current. Norse itself
ignores r on import; this preset keeps r, which gives the same result for the r = 1 files Norse
writes. Norse also ignores v_reset and starts v at v_leak, which this preset does not follow
(v starts at 0 and resets to v_reset, as NIR states). Trace lif_norse.csv: voltage within 2.4e-8.
"""

SNNTORCH = replace(NORSE, name="snntorch")
"""snnTorch (Leaky, Synaptic): forward Euler, β = 1 - dt/τ_mem and α = 1 - dt/τ_syn.

syn ← α·syn + input and mem ← β·mem + syn, with this step's current (same_step). snnTorch's
exporter writes r = τ_mem/dt and w_in = τ_syn/dt, so the folded gains a·r and (dt/τ_syn)·w_in
are both 1. Spike when mem - threshold > 0, with the reset to zero in the same step
(reset_delay=False). snnTorch's recurrent RSynaptic differs: it resets a copy of the voltage, so
the reset takes effect one step later, and its recurrent bias enters at step 0 (tests/peers
tests both). Trace lif_snntorch.csv: voltage within 9.9e-7 after dividing it by τ/dt = 25,
snnTorch's voltage scale in that trace.
"""

SINABS = replace(NORSE, name="sinabs", integrator="exp_euler", spike_test="ge", reset="subtract")
"""sinabs (LIF, IAF): exact decay with a forward-Euler input gain, v ← e^(-a)·v + a·x.

Spike when v ≥ v_threshold, reset by subtracting the threshold, so the neuron fires one step
earlier than under Euler. sinabs' IAF defaults to several spikes per step (floor(v/θ)); override
max-spikes-per-step to model it, because this preset follows the single-spike LIF of the trace.
sinabs 1.2.10 imports IF and LIF with several spikes per step and floors the IAF membrane at
min_v_mem = -1, which NIR cannot express. Trace lif_sinabs.csv (whose input column is already
multiplied by a): voltage within 1.2e-8.
"""

ROCKPOOL = replace(
    NORSE, name="rockpool", integrator="exp_euler", spike_test="ge", reset="subtract", gain_rule="rockpool"
)
"""Rockpool (LIFTorch, LIFNeuronTorch): v ← e^(-a)·v + x, reset by subtraction, like sinabs.

Rockpool's exporter writes r = (τ/dt)·e^(-a) and w_in = 1, so the rockpool gain rule reads them
back as its voltage gain a·e^a·r (= 1) and its current gain e^(-a)·w_in (the synapse adds its input
before it decays). The trace cannot tell v > θ from v ≥ θ; this preset uses ≥, the test of the Xylo
chips that Rockpool targets. Rockpool's own importer differs: it derives its step from r,
dt = τ/(1 + r), and ignores w_in (tests/peers rewrite graphs to match it).
Trace lif_rockpool.csv, from lif_rockpool.nir (imported with relaxed output shapes): voltage
within 1.7e-8.
"""

SPYX = replace(NORSE, name="spyx", spike_timing="before_update", reset="subtract")
"""Spyx: forward Euler, β = 1 - dt/τ, inputs scaled by dt/τ (times w_in for CubaLIF).

The spike is computed from the voltage before this step's update, so it comes one step later,
and the threshold is subtracted from the updated voltage. Trace lif_spyx.csv: voltage within 5.0e-8.
"""

LAVA = replace(NORSE, name="lava", synapse_delay=1)
"""Lava on Loihi (CUBA): v ← (1 - dv)·v + u with dv = dt/τ, i.e. forward Euler, and reset to 0.

Every Dense hop into a neuron adds one step of delay, so synapse_delay is 1; a recurrent edge
through a Dense keeps one step in total. The trace cannot tell > from ≥; this preset uses >.
Trace lif_lava_cpu_float.csv: voltage within 3.8e-8, with the one-step synaptic delay.
"""

NENGO = replace(NORSE, name="nengo", integrator="zero_order_hold", if_gain="r_dt")
"""Nengo: exact zero-order hold, v ← v∞ + (v - v∞)·e^(-a) with v∞ = v_leak + r·x.

So d = e^(-a) and g = (1 - e^(-a))·r, with the reset to v_reset at the end of the step. IF and
integrator neurons integrate the ODE over the step (v += r·dt·x). Trace lif_nengo.csv: voltage
within 1.5e-8 after multiplying it by v_threshold, because Nengo normalizes the voltage by it.
"""

SPINNAKER2 = replace(NORSE, name="spinnaker2")
"""SpiNNaker2 (py-spinnaker2's NIR converter, forward-Euler method): v ← (1 - a)·v + a·x.

The LIF experiment of the NIR repository (neuromorphs/NIR, paper/01_lif/lif_spinnaker2.py) ran
SpiNNaker2 with this method. Reset to v_reset, no connection delay. The converter's exponential method corresponds to
integrator=exp_euler, and its subtractive reset to reset=subtract. Trace lif_spinnaker2.csv
(Brian2 backend, float32, weights and threshold scaled by about 102): voltage within 9.0e-7 after
dividing it by its scale of 25·102/102.02 per NIR volt.
"""

EXACT = replace(NORSE, name="exact", integrator="event_exact", if_gain="r_dt")
"""The NIR paper's event-driven exact reference (paper/01_lif/lif_exact_sim.py): the input is constant over each step.

Between events, v relaxes exactly toward v∞ = v_leak + r·x (d = e^(-a), g = (1 - e^(-a))·r); a
spike is placed at the exact crossing time, where v is reset, and integration continues for the
rest of the step. The simulator solves the crossing time in closed form. Trace lif_exact.csv:
voltage within 2.9e-9; a per-step zero-order hold with the same coefficients misses it by up to
6.2e-3 after the first spike.
"""

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (NORSE, SNNTORCH, SINABS, ROCKPOOL, SPYX, LAVA, NENGO, SPINNAKER2, EXACT)
}
"""Every preset by name."""


def get_preset(name: str) -> Preset:
    """Return the preset called `name`; raise ValueError listing the known names otherwise."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset '{name}'; expected one of {', '.join(PRESETS)}")
    return PRESETS[name]
