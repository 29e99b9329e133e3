"""Lower bound on the traffic of every mapping of bench_mapping's uniform random sparse network.

The network is an input sheet and three sheets of n neurons. Each neuron draws FAN_IN sources
uniformly, with replacement, from the sheet before it. A mapping puts every neuron of the three
sheets on one of K cores, at most C per core. Its traffic T counts, for each core c and each
sheet, the source neurons off core c that have a target on c.

The bound is a first-moment (union) bound over all mappings, so it holds for the random graph,
not for one drawn graph: with probability at least 1 - DELTA over the draw, no mapping has
traffic of TAU or less. For one mapping and any theta > 0, P(T <= TAU) <= exp(theta TAU)
E[exp(-theta T)]. The sources drawn by the targets on different cores are independent, and
within one core the "drawn at least once" indicators of balls in bins are negatively
associated. So E[exp(-theta T)] is at most the product over cores and sheets of
(1 - (1 - exp(-theta)) q(a))^(sources off the core), where q(a) = 1 - (1 - 1/n)^(FAN_IN a)
and a is the core's number of targets in that sheet. This depends only on how many neurons of
each sheet every core holds. Summed over all mappings with the multinomial counts, and with
[x^m] F(x)^K <= F(x)^K / x^m for every x > 0:

    ln P(some mapping has T <= TAU) <= theta TAU + 3 ln n! - n (ln x0 + ln x1 + ln x2) + K ln Z,
    Z = sum over a0 + a1 + a2 <= C of prod_i x_i^a_i / a_i! * prod over sheets (1 - ...)^(...).

Z is summed exactly. For each theta of a grid the script picks the x that minimizes the bound
(where K E[a_i] = n), and reports the largest TAU whose bound is ln DELTA.

Run: `python bench/mapping_bound.py [--neurons 1e5] [--target loihi2] [--delta 1e-6] [--thetas 2.4,3.2,4.0]`.
At 100,000 neurons on Loihi 2 it takes about 15 minutes on one core. Smaller networks want a
smaller theta: 0.5 to 1.6 at 1 to 10 thousand neurons on SpiNNaker2.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import gammaln

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mapping import FAN_IN, chips_needed, sparse_random  # noqa: E402

from nirmlir.mapping.check import measure  # noqa: E402
from nirmlir.mapping.strategies import map_network  # noqa: E402
from nirmlir.mapping.targets import TARGETS  # noqa: E402

ROWS = 256
"""Values of a1 summed at once; memory grows with ROWS * C."""


def log_z(theta: float, log_x: np.ndarray, n: int, capacity: int, fan_in: int = FAN_IN) -> tuple[float, np.ndarray]:
    """Return ln Z and the mean of (a0, a1, a2) under Z's weights, for one core of `capacity` neurons."""
    c = -math.expm1(-theta)
    a = np.arange(capacity + 1, dtype=np.float64)
    drawn = -np.expm1(fan_in * a * math.log1p(-1.0 / n))
    log_kept = np.log1p(-c * drawn)
    terms = [a * log_x[i] - gammaln(a + 1) for i in range(3)]
    log_a = np.full(a.size, -np.inf)
    log_a[1:] = np.log(a[1:])

    first = np.arange(capacity + 1)
    blocks = []
    for start in range(0, capacity + 1, ROWS):
        second = np.arange(start, min(capacity + 1, start + ROWS))
        # Sums over a2 up to every bound, for each a1 of the block: the third sheet's factor.
        third = terms[2][None, :] + (n - second[:, None]) * log_kept[None, :]
        log_sum = np.logaddexp.accumulate(third, axis=1)
        log_sum_a = np.logaddexp.accumulate(third + log_a[None, :], axis=1)
        room = capacity - first[None, :] - second[:, None]
        valid = room >= 0
        room = np.where(valid, room, 0)
        inner = np.take_along_axis(log_sum, room, axis=1)
        values = (terms[0] + n * log_kept)[None, :] + terms[1][second][:, None] + (n - first[None, :]) * log_kept[second][:, None] + inner
        values = np.where(valid, values, -np.inf)
        mean_third = np.where(valid, np.exp(np.take_along_axis(log_sum_a, room, axis=1) - inner), 0.0)
        blocks.append((second, values, mean_third))

    top = max(values.max() for _, values, _ in blocks)
    total, means = 0.0, np.zeros(3)
    for second, values, mean_third in blocks:
        weight = np.exp(values - top)
        total += weight.sum()
        means += [(weight * first[None, :]).sum(), (weight.sum(axis=1) * second).sum(), (weight * mean_third).sum()]
    return top + math.log(total), means / total


def exponent(theta: float, log_x: np.ndarray, n: int, capacity: int, cores: int,
             fan_in: int = FAN_IN) -> tuple[float, np.ndarray]:
    """Return R with ln P(some mapping has T <= TAU) <= theta TAU + R, and the mean sheet counts per core."""
    value, means = log_z(theta, log_x, n, capacity, fan_in)
    return 3 * gammaln(n + 1) - n * float(log_x.sum()) + cores * value, means


def best_tau(theta: float, n: int, capacity: int, cores: int, log_delta: float, log_x: np.ndarray,
             fan_in: int = FAN_IN) -> tuple[float, np.ndarray]:
    """Return the bound TAU for one theta, with x at the saddle point K E[a_i] = n that minimizes R."""
    from scipy.optimize import minimize

    def value_and_gradient(values: np.ndarray) -> tuple[float, np.ndarray]:
        value, means = exponent(theta, values, n, capacity, cores, fan_in)
        return value, cores * means - n

    result = minimize(value_and_gradient, log_x, jac=True, method="L-BFGS-B", options={"maxiter": 60, "gtol": 1e-3})
    # Every x gives a valid bound, so a search that stops early only weakens it.
    return (log_delta - result.fun) / theta, result.x


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=float, default=1e5)
    parser.add_argument("--target", default="loihi2", choices=("loihi2", "spinnaker2"))
    parser.add_argument("--delta", type=float, default=1e-6, help="probability that the bound may fail")
    parser.add_argument("--thetas", default="2.4,3.2,4.0", help="comma-separated values of theta to try")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    network = sparse_random(int(args.neurons), local=False, seed=args.seed)
    target = TARGETS[args.target]
    n = network.groups[1].size
    capacity = min(target.neurons_per_core, target.synapses_per_core // FAN_IN)
    cores = target.cores_per_chip * chips_needed(network, args.target)
    greedy = measure(network, target, cores, map_network(network, target, cores, "greedy", args.seed).mapping).traffic
    print(f"{3 * n} neurons in three sheets of {n}, {cores} cores of {capacity} neurons, greedy traffic {greedy:,.0f}")

    log_x = np.full(3, math.log(capacity))
    best = -math.inf
    for theta in (float(value) for value in args.thetas.split(",")):
        start = time.perf_counter()
        tau, log_x = best_tau(theta, n, capacity, cores, math.log(args.delta), log_x)
        best = max(best, tau)
        print(f"theta {theta}: no mapping below {tau:,.0f} ({tau / greedy:.3f} of greedy), {time.perf_counter() - start:.0f} s",
              flush=True)
    print(f"bound: with probability at least {1 - args.delta} over the graph, every mapping has traffic above "
          f"{best:,.0f}, {best / greedy:.3f} of greedy's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
