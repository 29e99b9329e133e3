"""The NIR paper's LIF experiment: each preset reproduces its platform's recorded trace.

The model is `neuromorphs-NIR__lif_norse.nir` (Input -> Affine(W=1, b=0) -> LIF(tau 2.5 ms, r 1,
v_leak 0, v_threshold 0.1) -> Output), run by `nirmlir.simulate` with dt = 1e-4 s for the 1000
rows of each trace. Rockpool's trace runs on Rockpool's own export of the same network,
`neuromorphs-NIR__lif_rockpool.nir` (Linear W=0.04, LIF r = (tau/dt)·e^(-dt/tau)). A trace row holds the input of step k, the voltage after step k in the
platform's own voltage unit, and the spike flag of step k. Every preset must give the same spike
steps and a voltage within 1e-6 of the trace, measured in that trace's unit.

The units and input scalings below map NIR volts onto each platform's recording. They come from
each platform's NIR converter and from the paper's notebooks (neuromorphs/NIR, folder
paper/01_lif). The presets themselves keep NIR volts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import nirmlir
from nirmlir.diagnostics import DiagnosticError

DT = 1e-4
TAU = 2.5e-3
V_THRESHOLD = 0.1
TOLERANCE = 1e-6
MODEL = "neuromorphs-NIR__lif_norse.nir"


@dataclass(frozen=True)
class Trace:
    """One recorded trace and how NIR quantities map onto it."""

    file: str
    input_scale: float = 1.0
    """The trace's input column times this factor is the NIR input."""
    voltage_unit: float = 1.0
    """The trace's voltage is the NIR voltage times this factor."""
    model: str = MODEL
    """The corpus file to run."""
    node: str = "1"
    """The LIF node of that file."""


TRACES = {
    # The event-exact reference simulation records NIR volts.
    "exact": Trace("lif_exact.csv"),
    # Norse's LIFBoxCell records NIR volts.
    "norse": Trace("lif_norse.csv"),
    # snnTorch's importer divides the threshold by r·dt/tau, so its membrane is tau/dt = 25 times NIR volts.
    # NOTE: snnTorch's float32 rounding leaves 9.9e-7 of error in this unit, just inside the bound.
    "snntorch": Trace("lif_snntorch.csv", voltage_unit=TAU / DT),
    # Spyx scales the incoming weight by dt/tau and records NIR volts.
    "spyx": Trace("lif_spyx.csv"),
    # The sinabs notebook multiplied the input by dt/tau = 0.04 before recording it; the sinabs
    # preset applies that factor as the neuron's input gain, so the NIR input is the column / 0.04.
    "sinabs": Trace("lif_sinabs.csv", input_scale=TAU / DT),
    # Rockpool records NIR volts with input events of 1, from its own export. That file declares
    # its Output as [1, 1, 1] after a LIF of shape [1], so it loads with relax_output_shapes.
    "rockpool": Trace("lif_rockpool.csv", model="neuromorphs-NIR__lif_rockpool.nir", node="1_LIFNeuronTorch"),
    # Nengo normalizes the voltage by the threshold.
    "nengo": Trace("lif_nengo.csv", voltage_unit=1 / V_THRESHOLD),
    # Lava on CPU in float records NIR volts; the preset's synapse delay makes the one-step shift.
    "lava": Trace("lif_lava_cpu_float.csv"),
    # py-spinnaker2's converter multiplies v by 1/(r·dt/tau) = 25 and the weights and threshold by
    # 102.02, but the synapse weight is an integer, 102, and the recording divides by 102.02 again.
    "spinnaker2": Trace("lif_spinnaker2.csv", voltage_unit=(TAU / DT) * 102 / 102.02),
}


def read_trace(shared_dir, file: str) -> np.ndarray:
    return np.loadtxt(shared_dir / "corpus" / "golden" / "lif" / file, delimiter=",")


@pytest.fixture(scope="module")
def model(corpus_dir):
    return nirmlir.load(corpus_dir / MODEL)


@pytest.fixture(scope="module")
def models(corpus_dir, model):
    loaded = {MODEL: model}
    for trace in TRACES.values():
        if trace.model not in loaded:
            loaded[trace.model] = nirmlir.load(corpus_dir / trace.model, relax_output_shapes=True)
    return loaded


@pytest.mark.parametrize("preset", list(TRACES))
def test_preset_reproduces_trace(preset, models, shared_dir):
    trace = TRACES[preset]
    rows = read_trace(shared_dir, trace.file)
    inputs = rows[:, :1] * trace.input_scale

    traces = nirmlir.simulate(models[trace.model], inputs, preset=preset, dt=DT, record=[trace.node])
    voltage = traces[trace.node]["v"][:, 0] * trace.voltage_unit
    spikes = traces[trace.node]["spikes"][:, 0]

    np.testing.assert_array_equal(np.nonzero(spikes)[0], np.nonzero(rows[:, 2])[0])
    error = np.abs(voltage - rows[:, 1]).max()
    assert error <= TOLERANCE, f"{preset}: max voltage error {error:.3g} in the trace's unit"


def test_exact_needs_event_exact(model, shared_dir):
    # The exact reference resets in the middle of a step. Per-step zero-order hold with the same
    # coefficients keeps the spike steps but misses the voltage by far more than the tolerance.
    rows = read_trace(shared_dir, TRACES["exact"].file)
    per_step = nirmlir.compile(model, "discretize{dt=1e-4 preset=exact integrator=zero_order_hold}")
    traces = nirmlir.simulate(per_step, rows[:, :1], record=["1"])
    np.testing.assert_array_equal(np.nonzero(traces["1"]["spikes"][:, 0])[0], np.nonzero(rows[:, 2])[0])
    assert np.abs(traces["1"]["v"][:, 0] - rows[:, 1]).max() > 1e-3


def test_trace_outputs_record_spikes(model, shared_dir):
    rows = read_trace(shared_dir, TRACES["norse"].file)
    traces = nirmlir.simulate(model, rows[:, :1], preset="norse", dt=DT)
    assert set(traces) == {"output"}
    np.testing.assert_array_equal(traces["output"]["spikes"][:, 0], rows[:, 2])


def test_rockpool_export_needs_relaxed_output_shapes(corpus_dir):
    with pytest.raises(DiagnosticError, match=r"declares \[1, 1, 1\].*--relax-output-shapes"):
        nirmlir.load(corpus_dir / TRACES["rockpool"].model)


def test_rockpool_gain_rule_matters(models, shared_dir):
    # With the integrator's own gain (dt/tau·r = 0.96) instead of Rockpool's (a·e^a·r = 1), the
    # rockpool export spikes at other steps.
    trace = TRACES["rockpool"]
    rows = read_trace(shared_dir, trace.file)
    lowered = nirmlir.compile(models[trace.model], "discretize{dt=1e-4 preset=rockpool gain-rule=integrator}")
    traces = nirmlir.simulate(lowered, rows[:, :1], record=[trace.node])
    assert not np.array_equal(np.nonzero(traces[trace.node]["spikes"][:, 0])[0], np.nonzero(rows[:, 2])[0])
