"""Distribution fits for observed durations, chosen by the Kolmogorov-Smirnov statistic.

Parameters are maximum-likelihood estimates (normal: mean and sd; lognormal: mean and
sd of the logarithms; exponential: the mean); the family with the smallest KS
distance D wins. Times whose spread is negligible are called deterministic: a KS test
against a point mass says nothing useful.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphtwin.sim.spec import Distribution, Family

# Below this coefficient of variation a time is treated as constant.
NEGLIGIBLE_CV = 0.01

Cdf = Callable[[Any], Any]


@dataclass(frozen=True)
class Fit:
    distribution: Distribution
    # KS distance of the chosen family; None when called deterministic.
    ks: float | None
    # KS distance of every family tried, in the order tried.
    tried: tuple[tuple[Family, float], ...] = ()

    def describe_choice(self) -> str:
        """``"KS D=0.041 (normal D=0.063, exponential D=0.412)"``: the chosen family's
        Kolmogorov-Smirnov distance, then the others'."""
        if self.ks is None:
            return "the spread is negligible"
        others = [
            f"{f.value} D={d:.3f}" for f, d in self.tried if f is not self.distribution.family
        ]
        chosen = f"KS D={self.ks:.3f}"
        return f"{chosen} ({', '.join(others)})" if others else chosen


def _candidate(family: Family, data: Sequence[float]) -> tuple[Distribution, Cdf] | None:
    # scipy is slow to import; only calibration needs it.
    from scipy import stats

    mean = statistics.fmean(data)
    match family:
        case Family.NORMAL:
            sd = statistics.pstdev(data, mean)
            return Distribution.normal(mean, sd), stats.norm(loc=mean, scale=sd).cdf
        case Family.LOGNORMAL:
            if min(data) <= 0:
                return None
            logs = [math.log(x) for x in data]
            mu = statistics.fmean(logs)
            sigma = statistics.pstdev(logs, mu)
            if sigma <= 0:
                return None
            # The spec describes a lognormal time by its own mean and sd.
            ln_mean = math.exp(mu + sigma**2 / 2)
            ln_sd = ln_mean * math.sqrt(math.expm1(sigma**2))
            return Distribution.lognormal(ln_mean, ln_sd), stats.lognorm(
                s=sigma, scale=math.exp(mu)
            ).cdf
        case Family.EXPONENTIAL:
            return Distribution.exponential(mean), stats.expon(scale=mean).cdf
    raise ValueError(f"cannot fit a {family.value} distribution")


def ks_distance(data: Sequence[float], cdf: Cdf) -> float:
    from scipy import stats

    return float(stats.kstest(list(data), cdf).statistic)


def fit_durations(
    data: Sequence[float],
    families: Sequence[Family] = (Family.NORMAL, Family.LOGNORMAL, Family.EXPONENTIAL),
) -> Fit:
    """The best of ``families`` for ``data`` (at least two positive values).

    :raises ValueError: fewer than two values, or no family fits.
    """
    if len(data) < 2:
        raise ValueError("a fit needs at least two values")
    mean = statistics.fmean(data)
    if mean > 0 and statistics.pstdev(data, mean) <= NEGLIGIBLE_CV * mean:
        return Fit(Distribution.fixed(mean), None)
    tried: list[tuple[Family, float, Distribution]] = []
    for family in families:
        candidate = _candidate(family, data)
        if candidate is not None:
            distribution, cdf = candidate
            tried.append((family, ks_distance(data, cdf), distribution))
    if not tried:
        raise ValueError("no distribution family fits these values")
    family, best, distribution = min(tried, key=lambda t: t[1])
    return Fit(distribution, best, tuple((f, d) for f, d, _ in tried))
