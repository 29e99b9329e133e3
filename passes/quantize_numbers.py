"""Number formats of the `quantize` pass: rounding of parameters, decay encodings, multipliers and error records."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nirmlir.dialects.fxp import MAX_SHIFT, Q12_ONE, signed_range

if TYPE_CHECKING:
    from nirmlir.passes.quantize_calibration import SpikeAgreement
    from nirmlir.passes.range_analysis import RangeBound


INT64_SATURATION = float(2**63 - 1024)
"""The largest float64 below 2^63: `round_half_away` clamps to ± this value, so the cast to int64 stays defined."""


def round_half_away(values: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, halves away from zero, as int64 (parameters are rounded offline this way).

    Finite values beyond the int64 range saturate at ±`INT64_SATURATION`, so that the callers'
    width checks report them as too wide.
    """
    values = np.asarray(values, dtype=np.float64)
    rounded = np.sign(values) * np.floor(np.abs(values) + 0.5)
    return np.clip(rounded, -INT64_SATURATION, INT64_SATURATION).astype(np.int64)


def storage_bits(bits: int) -> int:
    """Return the smallest numpy integer width (8, 16, 32 or 64) that fits `bits` bits."""
    for width in (8, 16, 32, 64):
        if bits <= width:
            return width
    raise ValueError(f"{bits} bits do not fit a 64-bit integer")


def bits_for_magnitude(bound: float) -> int:
    """Return the signed width, rounded up to 8, 16, 32 or 64, that fits every integer in [-bound, bound]."""
    return storage_bits(max(int(math.ceil(bound)), 1).bit_length() + 1)


def power_of_two_at_least(values: np.ndarray) -> np.ndarray:
    """Round each positive value up to a power of two."""
    return np.exp2(np.ceil(np.log2(values)))


@dataclass(frozen=True)
class EncodedDecay:
    """A decay in one of the fxp decay kinds: the integers stored and the kept fraction they stand for."""

    kind: str
    integers: np.ndarray
    kept_fraction: np.ndarray


def encode_decay(kept_fractions: np.ndarray, kind: str) -> EncodedDecay:
    """Encode kept fractions (each in [0, 1]) as `kind`.

    ``shift`` cannot express a decay of exactly 1 (no leak); such a decay raises ValueError.
    """
    kept = np.asarray(kept_fractions, dtype=np.float64)
    if kind == "kept_fraction_q12":
        integers = round_half_away(kept * Q12_ONE)
        return EncodedDecay(kind, integers, integers / Q12_ONE)
    if kind == "lost_fraction_q12":
        integers = round_half_away((1.0 - kept) * Q12_ONE)
        return EncodedDecay(kind, integers, 1.0 - integers / Q12_ONE)
    if kind == "shift":
        lost = 1.0 - kept
        if (lost <= 0).any():
            raise ValueError("a decay of exactly 1 (no leak) has no shift form")
        integers = np.clip(round_half_away(-np.log2(lost)), 0, MAX_SHIFT)
        return EncodedDecay(kind, integers, 1.0 - np.exp2(-integers.astype(np.float64)))
    raise ValueError(f"unknown decay kind '{kind}'")


def multiplier_and_shift(factor: np.ndarray, multiplier_bits: int) -> tuple[np.ndarray, int]:
    """Return (m, shift) with m/2^shift ≈ factor, m fitting `multiplier_bits` signed bits when the factor allows.

    The shift is the largest one (up to the fxp maximum) that keeps every |m| within range; a
    factor too large for the range gets shift 0 and a wider m.
    """
    factor = np.asarray(factor, dtype=np.float64)
    largest = float(np.abs(factor).max()) if factor.size else 0.0
    if largest == 0.0:
        return np.zeros(factor.shape, dtype=np.int64), 0
    _, high = signed_range(multiplier_bits)
    ratio = high / largest
    # A subnormal factor makes the ratio overflow to inf; any shift then fits, so take the largest.
    shift = MAX_SHIFT if math.isinf(ratio) else int(math.floor(math.log2(ratio)))
    shift = min(max(shift, 0), MAX_SHIFT)
    multiplier = round_half_away(factor * 2.0**shift)
    while shift > 0 and np.abs(multiplier).max() > high:
        shift -= 1
        multiplier = round_half_away(factor * 2.0**shift)
    return multiplier, shift


@dataclass(frozen=True)
class ParameterError:
    """The quantization error of one parameter of one node."""

    graph: str
    node: str
    parameter: str
    max_abs_error: float
    """max |x̂ - x| over the elements, in the parameter's NIR unit."""
    max_rel_error: float
    """max_abs_error divided by max |x| (0 when the parameter is all zeros and stays so)."""


@dataclass
class LayerRecord:
    """The units `quantize` chose for one neuron group, and its spike agreement when an input was given."""

    graph: str
    node: str
    op: str
    """The fxp op name, e.g. fxp.cuba_lif."""
    shape: tuple[int, ...]
    voltage_scale: np.ndarray
    """NIR volts per voltage unit; one number, or one per channel or neuron."""
    current_scale: np.ndarray | None
    accumulator_scale: np.ndarray
    """The unit that sets the integer weights: the state unit times 2^state_shift."""
    state_shift: int
    """Left shift in bits of the weight ops' inputs into the state unit (0 under state-scale=weights)."""
    inputs: list[str]
    """The weight ops and rescales that feed the group, whose parameters the report lists with it."""
    weight_scales: dict[str, np.ndarray]
    """Weight op name -> NIR weight units (after the folded gain) per integer weight."""
    calibrated: dict[str, float]
    """The largest |v| and |i| of the float model on the calibration input, in NIR units."""
    agreement: SpikeAgreement | None = None
    """The spike agreement of a spiking group on the calibration input, when one was given."""


@dataclass
class QuantizationReport:
    """Every parameter that `quantize` approximated, with its error, and the units and bounds of each neuron group."""

    parameters: list[ParameterError] = field(default_factory=list)
    layers: list[LayerRecord] = field(default_factory=list)
    ranges: list[RangeBound] = field(default_factory=list)
    """The static bound of every weighted sum, rescale, pool and neuron state."""
    calibration_steps: int | None = None
    """Steps of the calibration input, when one was given."""

    def record(self, graph: str, node: str, parameter: str, exact: np.ndarray, approximate: np.ndarray) -> ParameterError:
        """Compute and store the error of `approximate` against `exact`; return the entry."""
        exact = np.asarray(exact, dtype=np.float64)
        approximate = np.broadcast_to(np.asarray(approximate, dtype=np.float64), exact.shape)
        max_abs = float(np.abs(approximate - exact).max()) if exact.size else 0.0
        magnitude = float(np.abs(exact).max()) if exact.size else 0.0
        return self.record_maxima(graph, node, parameter, max_abs, magnitude)

    def record_maxima(self, graph: str, node: str, parameter: str, max_abs: float, magnitude: float) -> ParameterError:
        """Store the error of a parameter from max |x̂ - x| and max |x|, computed by the caller; return the entry."""
        if magnitude > 0:
            max_rel = max_abs / magnitude
        else:
            max_rel = 0.0 if max_abs == 0 else math.inf
        entry = ParameterError(graph, node, parameter, max_abs, max_rel)
        self.parameters.append(entry)
        return entry

    def find(self, node: str, parameter: str, graph: str | None = None) -> ParameterError:
        """Return the entry of one parameter; raise KeyError if it was not recorded."""
        for entry in self.parameters:
            if entry.node == node and entry.parameter == parameter and graph in (None, entry.graph):
                return entry
        raise KeyError(f"no quantization error recorded for node '{node}' parameter '{parameter}'")

    def layer(self, node: str, graph: str | None = None) -> LayerRecord:
        """Return the record of one neuron group; raise KeyError if there is none."""
        for layer in self.layers:
            if layer.node == node and graph in (None, layer.graph):
                return layer
        raise KeyError(f"no neuron group '{node}' in the quantization report")

    def worst(self) -> ParameterError | None:
        """Return the entry with the largest relative error, or None for an empty report."""
        return max(self.parameters, key=lambda entry: entry.max_rel_error, default=None)
