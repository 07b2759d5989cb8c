"""Simulated truth and worded claims about it, for known-answer tests and the benchmark.

A scenario draws true curves (deployed, killed, wounded) and claimants who report them
through the hedges of the real lexicon, with their own biases and noise, relays of
earlier claims, rogue claims, plateaus, month-precision dates, shares and increments.
The same simulated claims become observations for the fit and figures for the
baselines, so every method sees the same evidence and the truth is known.

Some scenarios break what the model assumes, as real claimants do: early figures that
undercount and are revised upwards later (per claimant, or shared by all), claims
published long after the date they speak of, claims bunched in a few bursts, and
claimant biases wider than the prior allows. Each claim has a publication date, so a
benchmark can fit and score only what was known by a date. What those scenarios draw
comes from a second random stream, so the scenarios without them are what they were.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from estimate.wording.evidence import Assertion, middle
from estimate.model.fit import Observation, date_points, landing, on_log_scale
from estimate.model.settings import load_config
from estimate.wording.ranges import Hedge, Interval, interval

START = date(2024, 10, 1)
SUBJECT = "dprk_forces"
CASUALTIES = ("killed", "wounded")
# Each simulated claimant's bias is per class of quantity, as the model estimates it.
BIAS_CLASS = load_config()["bias_class"]


@dataclass(frozen=True)
class Scenario:
    name: str
    claims: int = 30            # original claims (relays come on top)
    claimants: int = 5
    bias_sd: float = 0.15       # true claimant biases, log scale
    noise_sd: float = 0.1       # claim noise, log scale
    rogue_share: float = 0.0    # claims off by a factor of 3 to 10
    relay_share: float = 0.3    # extra rows repeating an earlier claim
    month_share: float = 0.3    # claims dated to a month only
    unattributed_share: float = 0.2
    share_claims: float = 0.0   # casualty claims given as a percent of the deployed force
    increment_share: float = 0.0
    plateau: bool = False       # killed stops growing at day 150
    hedge_misread: float = 1.0  # > 1: speakers round far more loosely than the lexicon assumes
    horizon: int = 330
    undercount: float = 0.0     # each claimant's early undercount, up to this share (revised away by catch_up_day)
    shared_undercount: float = 0.0  # the same undercount for every claimant: a bias they share
    catch_up_day: int = 240     # the day from which figures no longer undercount
    lag_days: float = 0.0       # mean delay (exponential) between the date a claim speaks of and its publication
    clusters: int = 0           # > 0: claims come in this many bursts of about two weeks
    rank_noise: float = 0.1     # how far a claimant's stated reliability strays from the size of its true bias
    well_specified: bool = True


def undercount(share: float, day: float, catch_up_day: int) -> float:
    """The share of the truth missing from a figure made on ``day``: ``share`` at the start,
    shrinking linearly to nothing by ``catch_up_day`` (a reassessment, not new events)."""
    return share * max(0.0, 1.0 - day / catch_up_day)


def truth(scenario: Scenario, day: np.ndarray) -> dict[str, np.ndarray]:
    """True cumulative counts by day since START."""
    day = np.asarray(day, dtype=float)
    deployed = 11000 * (1 - np.exp(-day / 10)) + 3000 * (day > 120) * (1 - np.exp(-(day - 120) / 30))
    growth = np.minimum(day, 150) if scenario.plateau else day
    killed = 2500 * (1 - np.exp(-growth / 160))
    wounded = 2.5 * killed
    return {"deployed": deployed, "killed": killed, "wounded": wounded, "casualties": killed + wounded}


def round_to(x: float, digits: int, how=round) -> float:
    """x rounded to ``digits`` significant digits (how: round, math.floor or math.ceil)."""
    if x <= 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(x)) - digits + 1)
    return float(how(x / scale) * scale)


def worded(value: float, rng: np.random.Generator, hedges: dict[str, Hedge], scenario: Scenario):
    """A wording of ``value`` as a speaker would put it, and the interval the lexicon reads from it."""
    loose = scenario.hedge_misread
    choice = rng.choice(["bare", "about", "more_than", "at_least", "up_to", "vague"], p=[0.2, 0.35, 0.15, 0.1, 0.1, 0.1])
    if choice == "bare":
        stated = round_to(value * math.exp(rng.normal(0, 0.05 * loose)), 2)
    elif choice == "about":
        stated = round_to(value * math.exp(rng.normal(0, 0.08 * loose)), 1 if rng.random() < 0.5 else 2)
    elif choice in ("more_than", "at_least"):
        stated = round_to(value / math.exp(abs(rng.normal(0, 0.1 * loose))), 1, math.floor)
    elif choice == "up_to":
        stated = round_to(value * math.exp(abs(rng.normal(0, 0.3 * loose))), 1, math.ceil)
    else:
        vague = next((h for h in ("hundreds", "thousands") if hedges[h].parameters["vague_low"] <= value <= hedges[h].parameters["vague_high"]), None)
        if vague is None:
            return worded(value, rng, hedges, scenario)
        return vague, None, interval(hedges[vague])
    stated = max(stated, 1.0)
    return choice, stated, interval(hedges[choice], stated)


@dataclass(frozen=True)
class Claims:
    """One replicate: observations for the fit (relays included) and figures for the baselines."""

    observations: list
    figures: list
    relays: list          # extra rows that repeat an origin; the fit counts them once
    published: dict       # claim_id -> the date the claim was published
    errors: dict          # claim_id -> its figure's error, log scale: bias, noise, undercount, rogue (known only here)

    def known_by(self, day: date) -> "Claims":
        """Only the claims published by ``day``: what could have been known then."""
        known = lambda rows: [r for r in rows if self.published[r.claim_id] <= day]
        return Claims(known(self.observations), known(self.figures), known(self.relays),
                      {k: v for k, v in self.published.items() if v <= day},
                      {k: v for k, v in self.errors.items() if self.published[k] <= day})


def simulate(scenario: Scenario, hedges: dict[str, Hedge], seed: int, ranked_kinds: tuple = ("intelligence",)) -> Claims:
    """One replicate. Claimants get kinds of source from ``ranked_kinds`` (most reliable
    first) in the order of their true bias's size, blurred by the scenario's rank_noise: a
    stated reliability that is informative, but not exactly."""
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 1])
    claimants = [f"k{i}" for i in range(scenario.claimants)]
    biases = {c: rng.normal(0, scenario.bias_sd) for c in claimants}
    by_reliability = sorted(claimants, key=lambda c: abs(biases[c]) + extra.normal(0, scenario.rank_noise))
    kinds = {c: ranked_kinds[min(i, len(ranked_kinds) - 1)] for i, c in enumerate(by_reliability)}
    early = {c: extra.uniform(0, scenario.undercount) + scenario.shared_undercount for c in [*claimants, "unattributed"]}
    bursts = np.sort(extra.integers(20, scenario.horizon, scenario.clusters))
    observations, figures, published, errors = [], [], {}, {}
    for i in range(scenario.claims):
        day = int(rng.integers(20, scenario.horizon))
        if scenario.clusters:
            day = int(np.clip(bursts[extra.integers(scenario.clusters)] + extra.integers(0, 15), 20, scenario.horizon - 1))
        quantity = str(rng.choice(["deployed", "killed", "wounded", "casualties"], p=[0.25, 0.35, 0.15, 0.25]))
        attributed = rng.random() >= scenario.unattributed_share
        claimant = str(rng.choice(claimants)) if attributed else "unattributed"
        bias = biases.get(claimant, 0.0) + (0.0 if attributed else rng.normal(0, 0.3))
        error = bias + rng.normal(0, scenario.noise_sd)
        missing = undercount(min(early[claimant], 0.95), day, scenario.catch_up_day)
        if missing:
            error += math.log1p(-missing)
        if rng.random() < scenario.rogue_share:
            error += rng.choice([-1, 1]) * rng.uniform(math.log(3), math.log(10))
        earliest = latest = START + timedelta(days=day)
        if rng.random() < scenario.month_share:
            earliest = earliest.replace(day=1)
            latest = (earliest + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        claim_id = f"c{i:05d}"
        bias_key = (claimant, BIAS_CLASS[quantity]) if attributed else None
        relation = "adversary" if attributed else "unknown"
        t = truth(scenario, [day])
        kind, components, window, count = "count", ((quantity,) if quantity != "casualties" else CASUALTIES), None, None
        if quantity == "casualties" and rng.random() < scenario.share_claims:
            share = 100 * t["casualties"][0] / t["deployed"][0] * math.exp(error)
            low, high = max(5 * math.floor(share / 5 - rng.uniform(0, 2)), 0), 5 * math.ceil(share / 5 + rng.uniform(0, 2))
            kind = "share"
        elif quantity in ("deployed", "killed") and rng.random() < scenario.increment_share and day > 90:
            start = day - 90
            value = (t[quantity][0] - truth(scenario, [start])[quantity][0]) * math.exp(error)
            if value < 50:
                continue
            _, _, bounds = worded(value, rng, hedges, scenario)
            kind, window = "increment", START + timedelta(days=start)
            low, high = bounds.low, bounds.high
        else:
            _, _, count = worded(t[quantity][0] * math.exp(error), rng, hedges, scenario)
            low, high = count.low, count.high
        lower, upper = on_log_scale(kind, low, high)
        lag = extra.exponential(scenario.lag_days) if scenario.lag_days else 0.0
        published[claim_id] = latest + timedelta(days=round(lag))
        errors[claim_id] = error
        observations.append(Observation(claim_id, claimant, SUBJECT, quantity, kind, components,
                                        date_points(earliest, latest, 3), middle(earliest, latest), window,
                                        lower, upper, lower == upper, bias_key, relation,
                                        landing(kind, low, high)))
        if count is not None:
            figures.append(Assertion(claim_id, "sim", claimant, claimant, kinds[claimant] if attributed else "unattributed",
                                  SUBJECT, "North Korean forces", quantity, "cumulative", "killed_wounded",
                                  earliest, latest, "day", Interval(count.low, count.high), ""))
    relays = [observations[int(j)] for j in rng.integers(0, len(observations), int(scenario.relay_share * len(observations)))]
    return Claims(observations, figures, relays, published, errors)


SCENARIOS = [
    Scenario("baseline"),
    Scenario("many_claims", claims=80),
    Scenario("month_dates", month_share=0.8),
    Scenario("plateau", plateau=True),
    Scenario("shares_and_increments", share_claims=0.5, increment_share=0.4),
    Scenario("strong_biases", bias_sd=0.4),
    Scenario("rogue_claims", rogue_share=0.1, well_specified=False),
    Scenario("loose_hedges", hedge_misread=3.0, well_specified=False),
    # Worlds the model does not assume (or, for lags and bursts, that only starve it).
    Scenario("revisions", undercount=0.6, well_specified=False),
    Scenario("shared_undercount", shared_undercount=0.5, well_specified=False),
    Scenario("wide_biases", bias_sd=0.8, well_specified=False),
    Scenario("reporting_lags", lag_days=45),
    Scenario("sparse_bursts", claims=12, clusters=3),
    Scenario("misleading_ranks", bias_sd=0.4, rank_noise=1.0),
]
