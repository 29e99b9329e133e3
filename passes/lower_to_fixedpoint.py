"""`lower-to-fixedpoint`: the named pipeline from nir graphs to fxp graphs."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from nirmlir.passes.discretize import discretize_module, parse_dt, resolve_preset
from nirmlir.passes.inline_subgraphs import inline_subgraphs
from nirmlir.passes.levels import check_input_level
from nirmlir.passes.quantize import QuantizationReport, QuantizeOptions, quantize_module

DEFAULT_DT = 1e-4
"""Step length in seconds when neither the option nor the graph metadata gives one (the NIR paper's dt)."""


def lower_to_fixedpoint(
    module: ModuleOp,
    dt: float | None = None,
    preset: str = "norse",
    options: QuantizeOptions | None = None,
) -> QuantizationReport:
    """Run nir-inline-subgraphs, discretize and quantize on the module; return the quantization report.

    The step is `dt` if given, else each graph's metadata dt, else DEFAULT_DT with a warning.
    Errors in the options name lower-to-fixedpoint, whose options the user wrote.
    """
    options = options or QuantizeOptions()
    options.validate(LowerToFixedPointPass.name)
    resolved = resolve_preset(preset, LowerToFixedPointPass.name)
    check_input_level(module, LowerToFixedPointPass.name, "nir", "fxp")
    inline_subgraphs(module)
    discretize_module(module, resolved, dt, fallback_dt=DEFAULT_DT)
    return quantize_module(module, options)


@dataclass(frozen=True)
class LowerToFixedPointPass(ModulePass):
    """Lower nir graphs to fxp graphs: nir-inline-subgraphs, then discretize, then quantize."""

    name = "lower-to-fixedpoint"

    dt: float | int | str | None = None
    """Step length in seconds; defaults to the graph's metadata dt, else 1e-4."""
    preset: str = "norse"
    """Simulator whose discretization conventions to follow (see discretize)."""
    weight_bits: int = 8
    """Signed width of the integer weights, in bits."""
    state_bits: int = 16
    """Signed width of the neuron states, in bits."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        options = QuantizeOptions(weight_bits=self.weight_bits, state_bits=self.state_bits)
        lower_to_fixedpoint(op, parse_dt(self.dt), self.preset, options)
