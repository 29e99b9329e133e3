"""Options of `quantize` and `lower-to-fixedpoint`: the number formats, scale rules and calibration."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from xdsl.passes import ModulePass

from nirmlir.diagnostics import DiagnosticError
from nirmlir.dialects.fxp import DECAY_KINDS, ROUNDINGS

WEIGHT_SCALE_RULES = ("max-abs", "power-of-two")
WEIGHT_GRANULARITIES = ("per-tensor", "per-output-channel", "per-target-neuron", "per-channel")
"""``per-channel`` is the earlier spelling of ``per-output-channel`` and means the same."""
CLIPS = ("max", "percentile")
STATE_SCALES = ("weights", "range")


@dataclass(frozen=True)
class QuantizeOptions:
    """The number formats `quantize` targets; see `QuantizingPass` for each field's meaning."""

    weight_bits: int = 8
    state_bits: int = 16
    threshold_bits: int | None = None
    accumulator_bits: int = 32
    spike_bits: int = 8
    input_bits: int = 8
    input_scale: float = 1.0
    input_min: float = 0.0
    input_max: float = 1.0
    multiplier_bits: int = 16
    weight_scale_rule: str = "max-abs"
    weight_granularity: str = "per-tensor"
    clip: str = "max"
    clip_percentile: float = 99.99
    state_scale: str = "weights"
    calibrate: bool = False
    decay_kind: str = "kept_fraction_q12"
    decay_min_step: int = 0
    rounding: str = "toward_zero"
    seed: int | None = None
    saturate: bool = True

    @property
    def granularity(self) -> str:
        """The weight granularity with the earlier spelling ``per-channel`` resolved."""
        return "per-output-channel" if self.weight_granularity == "per-channel" else self.weight_granularity

    @property
    def threshold_width(self) -> int:
        """The signed width of thresholds and reset values, in bits: threshold-bits, else state-bits."""
        return self.threshold_bits if self.threshold_bits is not None else self.state_bits

    def validate(self, pass_name: str = "quantize") -> None:
        """Raise DiagnosticError naming the first option whose value is not supported.

        ``pass_name`` is the pass whose options the user wrote, which the message names.
        """
        ranges = {
            "weight-bits": (self.weight_bits, 2, 32),
            "state-bits": (self.state_bits, 4, 32),
            "accumulator-bits": (self.accumulator_bits, 8, 64),
            "input-bits": (self.input_bits, 1, 32),
            "multiplier-bits": (self.multiplier_bits, 2, 32),
            "decay-min-step": (self.decay_min_step, 0, 1 << 16),
        }
        if self.threshold_bits is not None:
            ranges["threshold-bits"] = (self.threshold_bits, 2, self.state_bits)
        for option, (value, low, high) in ranges.items():
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise DiagnosticError(f"{pass_name}: invalid {option} {value}; expected an integer from {low} to {high}")
        if self.spike_bits not in (1, 8):
            raise DiagnosticError(f"{pass_name}: invalid spike-bits {self.spike_bits}; expected 1 or 8")
        choices = {
            "weight-scale-rule": (self.weight_scale_rule, WEIGHT_SCALE_RULES),
            "weight-granularity": (self.weight_granularity, WEIGHT_GRANULARITIES[:3]),
            "clip": (self.clip, CLIPS),
            "state-scale": (self.state_scale, STATE_SCALES),
            "decay-kind": (self.decay_kind, DECAY_KINDS),
            "rounding": (self.rounding, ROUNDINGS),
        }
        for option, (value, allowed) in choices.items():
            if value not in allowed and not (option == "weight-granularity" and value == "per-channel"):
                raise DiagnosticError(f"{pass_name}: invalid {option} '{value}'; expected one of {', '.join(allowed)}")
        if not math.isfinite(self.input_scale) or self.input_scale <= 0:
            raise DiagnosticError(f"{pass_name}: invalid input-scale {self.input_scale}; expected a positive number")
        if not (math.isfinite(self.input_min) and math.isfinite(self.input_max)) or self.input_min > self.input_max:
            raise DiagnosticError(
                f"{pass_name}: invalid input range [{self.input_min}, {self.input_max}]; input-min and "
                "input-max must be finite numbers with input-min <= input-max"
            )
        if not 0 < self.clip_percentile <= 100:
            raise DiagnosticError(
                f"{pass_name}: invalid clip-percentile {self.clip_percentile}; expected a number in (0, 100]"
            )
        if self.seed is not None and self.rounding != "stochastic":
            raise DiagnosticError(f"{pass_name}: seed is used only with rounding=stochastic; remove it or set that rounding")


def parse_number(pass_name: str, option: str, value: float | int | str) -> float:
    """Return a numeric option as a float; the pass-option lexer of xDSL 0.74 reads `1e-3` as a word."""
    if isinstance(value, bool):
        raise DiagnosticError(f"{pass_name}: invalid {option} '{value}'; expected a number")
    try:
        return float(value)
    except ValueError:
        raise DiagnosticError(f"{pass_name}: invalid {option} '{value}'; expected a number") from None


@dataclass(frozen=True)
class QuantizingPass(ModulePass):
    """Base of the passes that quantize: the number-format options of `quantize`, shared by `lower-to-fixedpoint`."""

    weight_bits: int = 8
    """Signed width of the integer weights, in bits (2 to 32)."""
    state_bits: int = 16
    """Signed width of the voltage and current states, in bits; thresholds use the same unit."""
    threshold_bits: int | None = None
    """Signed width of thresholds and reset values in the state unit, in bits (default: state-bits)."""
    accumulator_bits: int = 32
    """Signed width of weight op, rescale and bias results, in bits."""
    spike_bits: int = 8
    """Width of spike counts: 1 (one spike per step at most) or 8."""
    input_bits: int = 8
    """Signed width of the graph inputs, in bits."""
    input_scale: float | int | str = 1.0
    """NIR units per integer unit of the graph inputs (1 for spike inputs)."""
    input_min: float | int | str = 0.0
    """Smallest graph input per step, in NIR units, for the range analysis (0 for spikes)."""
    input_max: float | int | str = 1.0
    """Largest graph input per step, in NIR units, for the range analysis (1 for single spikes)."""
    multiplier_bits: int = 16
    """Signed width of the integer multipliers of fxp.rescale, in bits."""
    weight_scale_rule: str = "max-abs"
    """max-abs (the clip value uses the full weight range) or power-of-two (every scale rounded up to a power of two)."""
    weight_granularity: str = "per-tensor"
    """per-tensor (one scale per neuron group), per-output-channel (one per conv output channel or affine
    output) or per-target-neuron (one per neuron). Neurons fed by a conv share their channel's scale."""
    clip: str = "max"
    """max (weight scales cover the largest weight) or percentile (they cover clip-percentile of the
    weights, and larger weights saturate). Calibrated state ranges use the same percentile."""
    clip_percentile: float | int | str = 99.99
    """Percentile of the weight magnitudes (and recorded states) that clip=percentile covers, in percent."""
    state_scale: str = "weights"
    """weights (one state unit is one unit of the accumulated weights) or range. With range, the state
    unit is that unit divided by the largest power of two that keeps thresholds within half the state
    range, and an fxp.rescale shifts each weighted input left by it."""
    calibrate: bool = False
    """Size the state ranges from the float snn model's voltages and currents on calibration-input."""
    calibration_input: str | None = None
    """Input file (.npy, .npz, .csv or NIR data) whose float run sizes the states (calibrate=true) and gives the
    spike agreement of the quantization report; quote a path that contains '/'."""
    decay_kind: str = "kept_fraction_q12"
    """kept_fraction_q12, lost_fraction_q12 or shift; decays of exactly 1 stay kept_fraction_q12 under shift."""
    decay_min_step: int = 0
    """Smallest step toward zero of a nonzero decaying state, in integer units (0 disables it)."""
    rounding: str = "toward_zero"
    """Runtime rounding of decays and rescales: nearest, toward_zero, floor or stochastic."""
    seed: int | None = None
    """Seed of the stochastic rounding (0 when absent); only valid with rounding=stochastic."""
    saturate: bool = True
    """Whether results and states clamp to their width (true) or wrap (false). Without saturation, a state
    or result whose static bound exceeds its width is an error."""

    def quantize_options(self) -> QuantizeOptions:
        """Return the validated number formats of this pass; errors name the pass."""
        numbers = {
            option: parse_number(self.name, option.replace("_", "-"), getattr(self, option))
            for option in ("input_scale", "input_min", "input_max", "clip_percentile")
        }
        values = {
            field.name: getattr(self, field.name)
            for field in fields(QuantizeOptions)
            if field.name not in numbers
        }
        options = QuantizeOptions(**values, **numbers)
        options.validate(self.name)
        return options
