"""`lower-to-fixedpoint`: the named pipeline from nir graphs to fxp graphs."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp

from nirmlir.passes.discretize import (
    DiscretizingPass,
    discretize_module,
    parse_dt,
    resolve_preset,
)
from nirmlir.passes.inline_subgraphs import inline_subgraphs
from nirmlir.passes.levels import check_input_level
from nirmlir.passes.quantize import QuantizationReport, QuantizeOptions, quantize_module
from nirmlir.passes.quantize_calibration import CalibrationSource
from nirmlir.passes.quantize_options import QuantizingPass
from nirmlir.passes.quantize_report import report_document
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
class LowerToFixedPointPass(QuantizingPass, DiscretizingPass):
    """Lower nir graphs to fxp graphs: nir-inline-subgraphs, then discretize, then quantize.

    The options are dt, preset and the preset overrides of discretize, then those of quantize.
    """

    name = "lower-to-fixedpoint"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        options = self.quantize_options()
        report = lower_to_fixedpoint(
            op,
            parse_dt(self.dt),
            self.preset,
            options,
            overrides=self.preset_overrides(),
            calibration=self.calibration_input,
        )
        publish(report_document(report, self.name, options, self.calibration_input))
