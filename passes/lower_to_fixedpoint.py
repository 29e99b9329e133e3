"""`lower-to-fixedpoint`: the named pipeline from nir graphs to fxp graphs."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp

from nirmlir.passes.discretize import discretize_module, parse_dt, resolve_preset
from nirmlir.passes.inline_subgraphs import inline_subgraphs
from nirmlir.passes.levels import check_input_level
from nirmlir.passes.quantize import QuantizationReport, QuantizeOptions, quantize_module
from nirmlir.passes.quantize_calibration import CalibrationSource
from nirmlir.passes.quantize_options import QuantizingPass
from nirmlir.passes.quantize_report import report_document
from nirmlir.presets import OVERRIDABLE_FIELDS
from nirmlir.quantization_report import publish

DEFAULT_DT = 1e-4
"""Step length in seconds when neither the option nor the graph metadata gives one (the NIR paper's dt)."""


def lower_to_fixedpoint(
    module: ModuleOp,
    dt: float | None = None,
    preset: str = "norse",
    options: QuantizeOptions | None = None,
    *,
    overrides: dict[str, object] | None = None,
    calibration: CalibrationSource | None = None,
) -> QuantizationReport:
    """Run nir-inline-subgraphs, discretize and quantize on the module; return the quantization report.

    The step is `dt` if given, else each graph's metadata dt, else DEFAULT_DT with a warning.
    `overrides` replace fields of the preset, as the options of discretize do. `calibration`
    is the input data of `quantize_module`. Errors in the options name lower-to-fixedpoint,
    whose options the user wrote.
    """
    options = options or QuantizeOptions()
    options.validate(LowerToFixedPointPass.name)
    resolved = resolve_preset(preset, LowerToFixedPointPass.name, **(overrides or {}))
    check_input_level(module, LowerToFixedPointPass.name, "nir", "fxp")
    inline_subgraphs(module)
    discretize_module(module, resolved, dt, fallback_dt=DEFAULT_DT)
    return quantize_module(module, options, calibration, LowerToFixedPointPass.name)


@dataclass(frozen=True)
class LowerToFixedPointPass(QuantizingPass):
    """Lower nir graphs to fxp graphs: nir-inline-subgraphs, then discretize, then quantize.

    The options are those of quantize, then dt, preset and the preset overrides of discretize.
    """

    name = "lower-to-fixedpoint"

    dt: float | int | str | None = None
    """Step length in seconds; defaults to the graph's metadata dt, else 1e-4."""
    preset: str = "norse"
    """Simulator whose discretization conventions to follow (see discretize)."""
    integrator: str | None = None
    """Preset override: forward_euler, exp_euler, zero_order_hold or event_exact."""
    spike_test: str | None = None
    """Preset override: gt (v > v_threshold) or ge (v >= v_threshold)."""
    spike_timing: str | None = None
    """Preset override: after_update or before_update: which voltage the spike test reads."""
    reset: str | None = None
    """Preset override: to_reset_value, subtract or none."""
    max_spikes_per_step: int | None = None
    """Preset override: maximum spikes a neuron emits per step (at least 1)."""
    current_timing: str | None = None
    """Preset override: same_step or previous_step: which step's current the voltage of a current-based neuron reads."""
    if_gain: str | None = None
    """Preset override: r (v += r*x per step) or r_dt (v += r*dt*x) for IF and integrator neurons."""
    synapse_delay: int | None = None
    """Preset override: steps of delay on each edge from an affine, linear or conv node into a neuron."""
    back_edge_delay: int | None = None
    """Preset override: steps of delay on each back edge of a cycle (at least 1)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        options = self.quantize_options()
        overrides = {field: getattr(self, field) for field in OVERRIDABLE_FIELDS}
        report = lower_to_fixedpoint(
            op, parse_dt(self.dt), self.preset, options, overrides=overrides, calibration=self.calibration_input
        )
        publish(report_document(report, self.name, options, self.calibration_input))
