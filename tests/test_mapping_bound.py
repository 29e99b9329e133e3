"""Checks of bench/mapping_bound.py, the lower bound on the traffic of every mapping of a uniform random
network: its sum Z against a direct sum, its union bound against all mappings of a tiny network, and
its per-mapping factor against simulated graphs."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import gammaln

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import mapping_bound  # noqa: E402


def kept(theta: float, n: int, fan_in: int, targets: int) -> float:
    """Return ln(1 - (1 - e^-theta) q) for one source and a core with `targets` of its sheet's targets."""
    drawn = 1 - (1 - 1 / n) ** (fan_in * targets)
    return math.log1p(-(1 - math.exp(-theta)) * drawn)


def core_factor(theta: float, n: int, fan_in: int, counts: tuple[int, int, int]) -> float:
    """Return ln of one core's factor: its three sheets' sources off the core, each with its kept term."""
    a0, a1, a2 = counts
    return n * kept(theta, n, fan_in, a0) + (n - a0) * kept(theta, n, fan_in, a1) + (n - a1) * kept(theta, n, fan_in, a2)


def test_log_z_matches_direct_sum():
    theta, log_x, n, capacity, fan_in = 1.3, np.array([0.2, -0.1, 0.4]), 5, 6, 2
    terms, weighted = [], []
    for counts in itertools.product(range(capacity + 1), repeat=3):
        if sum(counts) > capacity:
            continue
        value = sum(a * log_x[i] - gammaln(a + 1) for i, a in enumerate(counts)) + core_factor(theta, n, fan_in, counts)
        terms.append(value)
        weighted.append(counts)
    expected = np.logaddexp.reduce(terms)
    weights = np.exp(np.array(terms) - expected)
    value, means = mapping_bound.log_z(theta, log_x, n, capacity, fan_in)
    assert value == pytest.approx(expected, rel=1e-12)
    assert means == pytest.approx(weights @ np.array(weighted), rel=1e-9)


def test_exponent_covers_every_mapping():
    """R is at least ln of the sum, over every mapping within the capacity, of the mapping's factor."""
    theta, n, capacity, cores, fan_in = 0.9, 3, 3, 3, 2
    total = -math.inf
    for mapping in itertools.product(range(cores), repeat=3 * n):
        core_of = np.array(mapping).reshape(3, n)
        counts = [tuple(int(np.count_nonzero(core_of[sheet] == core)) for sheet in range(3)) for core in range(cores)]
        if max(sum(count) for count in counts) > capacity:
            continue
        total = np.logaddexp(total, sum(core_factor(theta, n, fan_in, count) for count in counts))
    for log_x in (np.zeros(3), np.array([0.5, -0.3, 1.0])):
        bound, _ = mapping_bound.exponent(theta, log_x, n, capacity, cores, fan_in)
        assert bound >= total


def test_mapping_factor_bounds_simulated_graphs():
    """For one fixed mapping, the mean of e^(-theta T) over drawn graphs stays below its factor."""
    theta, n, fan_in, cores, draws = 0.7, 8, 3, 3, 20_000
    rng = np.random.default_rng(5)
    core_of = rng.integers(0, cores, (3, n))
    samples = np.empty(draws)
    for draw in range(draws):
        traffic = 0
        for sheet in range(3):
            sources = rng.integers(0, n, (n, fan_in))
            reached = np.zeros((n, cores), dtype=bool)
            for target in range(n):
                reached[sources[target], core_of[sheet, target]] = True
            if sheet > 0:
                reached[np.arange(n), core_of[sheet - 1]] = False
            traffic += int(reached.sum())
        samples[draw] = math.exp(-theta * traffic)
    counts = [tuple(int(np.count_nonzero(core_of[sheet] == core)) for sheet in range(3)) for core in range(cores)]
    factor = math.exp(sum(core_factor(theta, n, fan_in, count) for count in counts))
    margin = 4 * samples.std() / math.sqrt(draws)
    assert samples.mean() <= factor + margin
    # The factor is within a small multiple of the mean, so a wrong factor would fail the check above.
    assert samples.mean() >= 0.1 * factor
