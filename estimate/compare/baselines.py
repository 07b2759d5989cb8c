"""``python -m estimate baselines``: simple estimates the fit must beat (data/derived/baselines.csv).

Each baseline gives low / central / high by date for every (subject, quantity), from the
cumulative figures in persons counted once per origin. A figure's date is the middle of
its as-of interval; the dates reported are those of the figures. On the log1p scale an
interval's central value is its midpoint ("about 2,000" → ~1,936); an open interval
("at least 600") has its floor as central and no high. Computations are on log1p.
"""

import math
import statistics
from dataclasses import dataclass
from itertools import groupby

import numpy as np
from scipy.optimize import isotonic_regression

from estimate.wording.evidence import Assertion, assertions
from estimate.package.outputs import DERIVED, run_writer, table
from estimate.package.tables import Loaded, columns

OUTPUT = DERIVED / "baselines.csv"
POOL_LEVELS = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class Estimate:
    low: float
    central: float
    high: float  # math.inf when open


def log(x: float) -> float:
    return math.log1p(x)


def unlog(y: float) -> float:
    return math.expm1(y)


def log_midpoint(low: float, high: float) -> float:
    """Midpoint on log1p, clamped so that float rounding cannot move it out of [low, high]."""
    return low if math.isinf(high) else min(max(unlog((log(low) + log(high)) / 2), low), high)


def central(figure: Assertion) -> float:
    return log_midpoint(figure.count.low, figure.count.high)


def as_estimate(figure: Assertion) -> Estimate:
    return Estimate(figure.count.low, central(figure), figure.count.high)


def latest_per_claimant(known: list[Assertion]) -> list[Assertion]:
    """Each claimant's most recent figure (by date, then claim id)."""
    latest: dict[str, Assertion] = {}
    for figure in sorted(known, key=lambda f: (f.middle, f.claim_id)):
        latest[figure.claimant_id] = figure
    return list(latest.values())


# ---------------------------------------------------------------- the six baselines
# Each takes the figures known by a date (``known``, in date order) and, where it looks
# ahead, all figures of the series (``series``).

def latest_claim(known, series, rank) -> Estimate:
    return as_estimate(known[-1])


def running_median(known, series, rank) -> Estimate:
    return Estimate(statistics.median(f.count.low for f in known), statistics.median(central(f) for f in known),
                    statistics.median(f.count.high for f in known))


def ucdp_style(known, series, rank) -> Estimate:
    """The most reliable claimant's latest figure; between equally reliable ones, the lower."""
    candidates = latest_per_claimant(known)
    best = min(rank[f.claimant_kind] for f in candidates)
    return as_estimate(min((f for f in candidates if rank[f.claimant_kind] == best), key=lambda f: (central(f), f.claim_id)))


def literal_envelope(known, series, rank) -> Estimate:
    """Running max of lows; min of the highs from this date on (a cumulative count cannot fall)."""
    low = max(f.count.low for f in known)
    high = min((f.count.high for f in series if f.middle >= known[-1].middle), default=math.inf)
    return Estimate(low, log_midpoint(low, max(high, low)), high)


def isotonic(known, series, rank) -> Estimate:
    """Non-decreasing fits to the log lows, midpoints and finite highs of all figures so far.

    The high is open when the latest figure is, and never below the fitted low or central.
    """
    def fit(values):
        return unlog(isotonic_regression(np.array([log(v) for v in values])).x[-1])
    low, middle = fit([f.count.low for f in known]), fit([central(f) for f in known])
    finite = [f.count.high for f in known if not math.isinf(f.count.high)]
    high = math.inf if math.isinf(known[-1].count.high) or not finite else max(fit(finite), middle)
    return Estimate(low, middle, high)


def claimant_pool(known, series, rank) -> Estimate:
    """Equal weight per claimant: a mixture of each claimant's latest interval, uniform on log1p.

    An open interval counts as a point at its floor, so the pool's high stays finite.
    """
    pieces = [(log(f.count.low), log(f.count.low if math.isinf(f.count.high) else f.count.high))
              for f in latest_per_claimant(known)]

    def cdf(y):
        return sum(1.0 if y >= b else 0.0 if y < a else (y - a) / (b - a) for a, b in pieces) / len(pieces)

    def quantile(level):
        lo, hi = min(a for a, _ in pieces), max(b for _, b in pieces)
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if cdf(mid) < level else (lo, mid)
        return unlog(hi)

    return Estimate(*(quantile(level) for level in POOL_LEVELS))


BASELINES = {
    "latest_claim": latest_claim,
    "running_median": running_median,
    "ucdp_style": ucdp_style,
    "literal_envelope": literal_envelope,
    "isotonic": isotonic,
    "claimant_pool": claimant_pool,
}


def baseline_rows(evidence: list[Assertion], rank: dict[str, int]) -> list[dict]:
    """Every baseline at every figure's date, for each (subject, quantity) series of cumulative figures."""
    cumulative = sorted((f for f in evidence if f.time_scope == "cumulative"),
                        key=lambda f: (f.subject_id, f.quantity, f.middle, f.claim_id))
    rows = []
    for (subject, quantity), group in groupby(cumulative, key=lambda f: (f.subject_id, f.quantity)):
        series = list(group)
        for day in sorted({f.middle for f in series}):
            known = [f for f in series if f.middle <= day]
            for method, baseline in BASELINES.items():
                estimate = baseline(known, series, rank)
                # The envelope's low may pass its high: that crossing is itself a conflict signal.
                assert estimate.low <= estimate.central and (method == "literal_envelope" or estimate.central <= estimate.high), \
                    f"{method} on {subject} {quantity} at {day}: {estimate} is out of order"
                # Estimates of a count of people are given in whole people.
                rows.append({"subject_id": subject, "quantity": quantity, "date": day, "method": method,
                             "value_low": round(estimate.low), "value_central": round(estimate.central),
                             "value_high": estimate.high if math.isinf(estimate.high) else round(estimate.high),
                             "high_is_open": math.isinf(estimate.high), "figures_used": len(known),
                             "claimants_used": len({f.claimant_id for f in known})})
    return rows


def reliability(package: Loaded) -> dict[str, int]:
    return {row["kind"]: int(row["rank"]) for row in package.tables["reliability"].rows}


def build(package: Loaded, args):
    return {OUTPUT: table(columns(package.descriptor, "baselines"), baseline_rows(assertions(package), reliability(package)))}


def main(args) -> int:
    return run_writer(args, build)
