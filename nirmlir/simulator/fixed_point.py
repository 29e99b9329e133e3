"""The integer primitives of the fxp dialect on int64 numpy arrays: rounding R_s, width S_n and decay D.

Every function is exact integer arithmetic (shifts, masks and comparisons); none goes through
floats. Callers keep their operands small enough for int64: `check_int64_bound` raises a
DiagnosticError at compile time when a product or sum could need more than 63 bits.
"""

from __future__ import annotations

import numpy as np

from nirmlir.diagnostics import DiagnosticError, Location

INT64_MAX = (1 << 63) - 1


def signed_bounds(bits: int) -> tuple[int, int]:
    """Return the smallest and largest value of a `bits`-bit two's complement integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def bring_to_width(values: np.ndarray, bits: int, saturate: bool) -> np.ndarray:
    """Apply S_n: clamp to `bits`-bit two's complement when `saturate`, else wrap modulo 2^bits."""
    if bits >= 64:
        # int64 arithmetic already wraps modulo 2^64.
        return values
    low, high = signed_bounds(bits)
    if saturate:
        return np.clip(values, low, high)
    half = np.int64(1 << (bits - 1))
    mask = np.int64((1 << bits) - 1)
    return ((values + half) & mask) - half


class StochasticRounding:
    """The seeded random source of one op's stochastic rounding.

    Each call of `round_shift` in ``stochastic`` mode draws one integer, uniform in [0, 2^s),
    for every element of its operand, in C order of the (batch, *neuron shape) array, whether or
    not the draw changes the result. A neuron draws for its current decay before its voltage decay,
    once per step, so a run is reproducible for a given seed, batch size and input.
    """

    def __init__(self, seed: int):
        self.generator = np.random.default_rng(seed)

    def draw(self, shift: np.ndarray | int, shape: tuple[int, ...]) -> np.ndarray:
        high = np.left_shift(np.int64(1), np.asarray(shift, dtype=np.int64))
        return self.generator.integers(0, high, size=shape, dtype=np.int64)


def round_shift(
    values: np.ndarray,
    shift: np.ndarray | int,
    rounding: str,
    stochastic: StochasticRounding | None = None,
) -> np.ndarray:
    """Apply R_s: divide by 2^shift and round by the mode `rounding`; `shift` may be per element.

    ``nearest`` rounds halves up, ``toward_zero`` truncates, ``floor`` is an arithmetic shift and
    ``stochastic`` adds 1 to the floor with probability (p mod 2^s)/2^s. A shift of 0 returns
    the values unchanged in every mode.
    """
    shift = np.asarray(shift, dtype=np.int64)
    if not shift.any():
        return values
    floor = np.right_shift(values, shift)
    if rounding == "floor":
        return floor
    remainder = values - np.left_shift(floor, shift)
    if rounding == "nearest":
        # floor((p + 2^(s-1)) / 2^s) is the floor plus one where the remainder is at least half.
        half = np.where(shift > 0, np.left_shift(np.int64(1), np.maximum(shift - 1, 0)), 1)
        return floor + (remainder >= half)
    if rounding == "toward_zero":
        return floor + ((values < 0) & (remainder != 0))
    if rounding == "stochastic":
        assert stochastic is not None, "stochastic rounding needs its generator"
        draws = stochastic.draw(shift, values.shape)
        return floor + (draws < remainder)
    raise ValueError(f"unknown rounding '{rounding}'")


def decay(
    state: np.ndarray,
    factor: np.ndarray,
    kind: str,
    min_step: int,
    rounding: str,
    stochastic: StochasticRounding | None,
) -> np.ndarray:
    """Apply D(s) with the per-neuron integer `factor` of decay kind `kind`.

    ``kept_fraction_q12`` is R_12(k·s), ``lost_fraction_q12`` is s - R_12(k·s) and ``shift`` is
    s - R_k(s). When s ≠ 0 moves by less than `min_step`, it moves `min_step` toward zero
    instead, stopping at zero.
    """
    if kind == "kept_fraction_q12":
        decayed = round_shift(factor * state, 12, rounding, stochastic)
    elif kind == "lost_fraction_q12":
        decayed = state - round_shift(factor * state, 12, rounding, stochastic)
    elif kind == "shift":
        decayed = state - round_shift(state, factor, rounding, stochastic)
    else:
        raise ValueError(f"unknown decay kind '{kind}'")
    if min_step > 0:
        # A state smaller than the step stops at zero instead of crossing it.
        stalled = (state != 0) & (np.abs(state - decayed) < min_step)
        forced = np.sign(state) * np.maximum(np.abs(state) - min_step, 0)
        decayed = np.where(stalled, forced, decayed)
    return decayed


def check_int64_bound(bound: int, what: str, location: Location) -> None:
    """Raise DiagnosticError when an intermediate of magnitude up to `bound` does not fit int64."""
    if bound > INT64_MAX:
        node = location.node_path[-1] if location.node_path else "?"
        raise DiagnosticError(
            f"node '{node}': {what} can reach {bound.bit_length() + 1} bits, but the simulator computes in "
            "64-bit integers; quantize this node with narrower widths",
            location,
        )
