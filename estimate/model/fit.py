"""``python -m estimate fit``: how each quantity evolved, with honest uncertainty.

Writes data/derived/estimates.csv (bands by date), claimant_bias.csv (relative biases),
claim_fit.csv (each claim against the fit: outlier, tail and leave-one-out probabilities)
and fit.json (the configuration and each run's convergence diagnostics). The model is in
estimate.model.equations, the sampler in estimate.model.sampler; this module turns claims into the
model's design and its posterior draws into tables. Each assertion counts once (origins
only), claims are taken in claim_id order, and with ``--as-of DATE`` only claims from
sources certainly published by DATE are used.

Every published number is a posterior quantile or mean over NUTS draws that passed the
gates in model.toml ([gates]); a run that fails one writes nothing. Each quantity's
estimates run from its curve's onset to its own last claim, never past it.
"""

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from estimate.model import equations, laplace, sampler, tolerances
from estimate.model.settings import CONFIG, load_config, not_used
from estimate.wording.evidence import middle
from estimate.package.outputs import DERIVED, UsageError, run_writer, table
from estimate.wording.ranges import MAIN, claim_ranges
from estimate.package.tables import Loaded, columns

LEVELS = (0.05, 0.5, 0.95)


# ---------------------------------------------------------------- claims as observations

@dataclass(frozen=True)
class Observation:
    claim_id: str
    claimant_id: str
    subject_id: str
    quantity: str
    kind: str                 # count, increment or share
    components: tuple         # base quantities summed for the numerator
    dates: tuple              # as-of date points
    middle: date
    window_start: date | None
    lower: float              # log scale
    upper: float
    exact: bool
    bias_key: tuple | None    # (claimant_id, quantity class), None for unattributed
    relation: str
    landing: tuple            # (lower, upper): the interval a figure "lands in"; half a unit around an exact one


def relation(claimant_side: str, subject_side: str) -> str:
    if claimant_side == "independent":
        return "third_party"
    if claimant_side == "unknown":
        return "unknown"
    return "own_or_ally" if claimant_side == subject_side else "adversary"


def date_points(earliest: date, latest: date, n: int) -> tuple:
    """Evenly spaced points of [earliest, latest]: the middles of n equal parts."""
    width = (latest - earliest).days
    if width == 0:
        return (earliest,)
    return tuple(earliest + timedelta(days=round(width * (j + 0.5) / n)) for j in range(n))


def on_log_scale(kind: str, low: float, high: float) -> tuple[float, float]:
    """A claim's interval on the model's scale: the log of the fraction for a share (an open
    lower end at 0 %), log1p of the count otherwise."""
    if kind == "share":
        return math.log(low / 100) if low > 0 else -math.inf, math.log(high / 100)
    return math.log1p(low), math.log1p(high)


def landing(kind: str, low: float, high: float) -> tuple[float, float]:
    """The interval (model scale) a claim's figure "lands in": its own, or for an exact figure
    the half unit of its last printed digit around it."""
    if low != high:
        return on_log_scale(kind, low, high)
    half = 0.05 if kind == "share" else 0.5
    return on_log_scale(kind, max(low - half, 0.0), low + half)


def observations(package: Loaded, config: dict, lexicon_name: str = MAIN, known_by: date | None = None):
    """Claims usable by the fit, and why each other claim is not used."""
    ranges = {r["claim_id"]: r for r in claim_ranges(package, lexicon_name)}
    claims = package.tables["claims"].by_key("claim_id")
    sources = package.tables["sources"].by_key("source_id")
    claimants = package.tables["claimants"].by_key("claimant_id")
    subjects = package.tables["subjects"].by_key("subject_id")
    casualties = config["quantities"]["casualties"]
    used, unused = [], {}
    for claim_id in sorted(claims):
        claim, r = claims[claim_id], ranges[claim_id]
        reason = not_used(claim, config, sources[claim["source_id"]], known_by)
        if reason:
            unused[claim_id] = reason.sentence()
            continue
        components = tuple(casualties) if claim["quantity"] == "casualties" else (claim["quantity"],)
        low, high = r["value_low"], r["value_high"]
        if claim["unit"] == "percent":
            kind = "share"
        else:
            kind = "increment" if claim["time_scope"] == "increment" else "count"
        lower, upper = on_log_scale(kind, low, high)
        earliest, latest = (date.fromisoformat(claim[c]) for c in ("as_of_date_earliest", "as_of_date_latest"))
        window = None
        if kind == "increment":
            window = middle(*(date.fromisoformat(claim[c]) for c in ("window_start_date_earliest", "window_start_date_latest")))
        claimant = claimants[claim["claimant_id"]]
        rel = relation(claimant["side"], subjects[claim["subject_id"]]["side"])
        bias_key = None if rel == "unknown" else (claim["claimant_id"], config["bias_class"][claim["quantity"]])
        used.append(Observation(
            claim_id, claim["claimant_id"], claim["subject_id"], claim["quantity"], kind, components,
            date_points(earliest, latest, config["date_points"]), middle(earliest, latest), window,
            lower, upper, low == high, bias_key, rel, landing(kind, low, high)))
    return used, unused


# ---------------------------------------------------------------- the design

@dataclass
class Layout:
    """Where each curve, knot, bias and prior or penalty row sits in the design."""

    knot_days: int
    curves: list = field(default_factory=list)          # (subject, quantity)
    starts: dict = field(default_factory=dict)          # curve -> its onset, where its count is zero
    knots: dict = field(default_factory=dict)           # curve -> number of thetas
    offsets: list = field(default_factory=list)         # position of each curve's zero knot in the knot vector
    bias_keys: list = field(default_factory=list)
    drift: bool = False                                 # whether each bias drifts over time (model.toml [drift])
    spread: bool = False                                # whether the biases' spread is learnt (model.toml [bias_spread])
    probes: dict = field(default_factory=dict)          # (curve index, day) -> probe row
    probe_rows: list = field(default_factory=list)      # (knot before, weight of the knot after)
    prior_keys: list = field(default_factory=list)      # what each prior row says, by name
    penalty_keys: list = field(default_factory=list)    # (subject, day) of each penalty row

    @property
    def n_knots(self) -> int:
        return sum(self.knots[c] + 1 for c in self.curves)

    def curve(self, subject: str, quantity: str) -> int:
        return self.curves.index((subject, quantity))

    def knot_date(self, curve: tuple, k: int) -> date:
        return self.starts[curve] + timedelta(days=k * self.knot_days)

    def probe(self, subject: str, quantity: str, when: date) -> int:
        """Row of a curve's count at a date: linear between the two knots around it, zero before its onset."""
        c = self.curve(subject, quantity)
        key = (c, when)
        if key not in self.probes:
            curve = self.curves[c]
            x = (when - self.starts[curve]).days / self.knot_days
            k = min(max(int(math.floor(x)), 0), self.knots[curve] - 1)
            self.probes[key] = len(self.probe_rows)
            self.probe_rows.append((self.offsets[c] + k, min(max(x - k, 0.0), 1.0)))
        return self.probes[key]

    def interp(self, probes: list[int]) -> np.ndarray:
        """Counts at the given probes as a matrix over the knots' counts (probes x knots)."""
        matrix = np.zeros((len(probes), self.n_knots))
        for i, probe in enumerate(probes):
            knot, weight = self.probe_rows[probe]
            matrix[i, knot] += 1 - weight
            matrix[i, knot + 1] += weight
        return matrix

    def parameter_keys(self) -> list[tuple]:
        """What each parameter is, by name, in the order of the parameter vector."""
        return ([("theta", c, j) for c in self.curves for j in range(self.knots[c])] + [("level", c) for c in self.curves]
                + [("bias", k) for k in self.bias_keys] + [("drift", k) for k in self.bias_keys if self.drift]
                + [("spread",)] * self.n_spread + [("rho",)])

    @property
    def n_spread(self) -> int:
        """1 where the biases' spread is learnt and there are biases to spread, else 0."""
        return int(self.spread and bool(self.bias_keys))


def onset(config: dict, subject: str, quantity: str) -> date:
    """A curve's first day: its quantity class's onset if model.toml gives one, else the subject's start."""
    by_class = config.get("onset", {}).get(subject, {})
    return date.fromisoformat(by_class.get(config["bias_class"][quantity], config["start"][subject])["date"])


def last_knot(start: date, last: date, knot_days: int) -> int:
    """Knots needed to reach ``last`` from ``start``, plus one beyond."""
    return max(math.ceil((last - start).days / knot_days), 0) + 1


def layout_for(obs: list[Observation], config: dict, until: date | None = None) -> Layout:
    """Curves for every base quantity a claim reads, each from its onset to its last claim,
    or to ``until`` if later (a benchmark's projections; the package publishes none)."""
    layout = Layout(knot_days=config["knot_days"], drift=config["drift"]["sd"] > 0, spread=config["bias_spread"]["sd"] > 0)
    last: dict[tuple, date] = {}
    for o in obs:
        for quantity in set(o.components) | ({"deployed"} if o.kind == "share" else set()):
            key = (o.subject_id, quantity)
            last[key] = max(last.get(key, until or date.min), max(o.dates))
    order = config["quantities"]["base"]
    for subject, quantity in sorted(last, key=lambda k: (k[0], order.index(k[1]))):
        curve = (subject, quantity)
        layout.offsets.append(layout.n_knots)
        layout.curves.append(curve)
        layout.starts[curve] = onset(config, subject, quantity)
        layout.knots[curve] = last_knot(layout.starts[curve], last[curve], layout.knot_days)
    layout.bias_keys = sorted({o.bias_key for o in obs if o.bias_key})
    return layout


@dataclass(frozen=True)
class Built:
    """Claims as the model's design, with the layout that names its parts."""

    obs: list
    unused: dict
    design: equations.Design
    layout: Layout


def build_design(obs: list[Observation], unused: dict, config: dict, bias_variant: str, until: date | None = None) -> Built:
    obs = sorted({o.claim_id: o for o in obs}.values(), key=lambda o: o.claim_id)
    layout = layout_for(obs, config, until)
    plus, den, eval_claim = [], [], []
    for i, o in enumerate(obs):
        for when in o.dates:
            e = len(eval_claim)
            eval_claim.append(i)
            for q in o.components:
                plus.append((e, layout.probe(o.subject_id, q, when), 1.0))
                if o.kind == "increment":
                    plus.append((e, layout.probe(o.subject_id, q, o.window_start), -1.0))
            if o.kind == "share":
                den.append((e, layout.probe(o.subject_id, "deployed", when)))
    pen_plus, pen_den = penalty_rows(layout, config)
    prior_rows, prior_offset = theta_prior(layout, config)
    bias_prior = config["bias"][bias_variant]
    relations = {o.bias_key: o.relation for o in obs if o.bias_key}
    noise = config["noise"]
    lengths = [layout.knots[c] for c in layout.curves]
    firsts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
    ints = lambda values, n=1: np.array(values, dtype=int).reshape(-1, n) if n > 1 else np.array(values, dtype=int)
    column = lambda entries, j, kind=float: np.array([e[j] for e in entries], dtype=kind)
    design = equations.Design(
        theta_knot=ints([layout.offsets[c] + 1 + j for c, n in enumerate(lengths) for j in range(n)]),
        theta_first=ints([firsts[c] for c, n in enumerate(lengths) for _ in range(n)]),
        curve_first=ints(firsts),
        knot_zeros=np.zeros(layout.n_knots),
        probe_knot=column(layout.probe_rows, 0, int),
        probe_weight=column(layout.probe_rows, 1),
        plus_eval=column(plus, 0, int), plus_probe=column(plus, 1, int), plus_sign=column(plus, 2),
        den_eval=column(den, 0, int), den_probe=column(den, 1, int),
        eval_claim=ints(eval_claim),
        claim_points=np.array([float(len(o.dates)) for o in obs]),
        lower=np.array([o.lower for o in obs]),
        upper=np.array([o.upper for o in obs]),
        exact=np.array([o.exact for o in obs], dtype=bool),
        bias=ints([layout.bias_keys.index(o.bias_key) if o.bias_key else -1 for o in obs]),
        tau=np.array([0.0 if o.bias_key else noise["unattributed_sd"] for o in obs]),
        claim_weight=np.ones(len(obs)),
        pen_plus_row=column(pen_plus, 0, int), pen_plus_probe=column(pen_plus, 1, int),
        pen_den_row=column(pen_den, 0, int), pen_den_probe=column(pen_den, 1, int),
        pen_weight=np.ones(len(layout.penalty_keys)),
        prior_row=column(prior_rows, 0, int), prior_col=column(prior_rows, 1, int), prior_value=column(prior_rows, 2),
        prior_offset=np.array(prior_offset, dtype=float),
        prior_weight=np.ones(len(prior_offset)),
        bias_mean=np.array([bias_prior[relations[k]]["mean"] for k in layout.bias_keys], dtype=float),
        bias_sd=np.array([bias_prior[relations[k]]["sd"] for k in layout.bias_keys], dtype=float),
        drift_sd=np.full(len(layout.bias_keys) if layout.drift else 0, float(config["drift"]["sd"])),
        spread_sd=np.full(layout.n_spread, float(config["bias_spread"]["sd"])),
        drift_time=np.array([(o.middle - date.fromisoformat(config["start"][o.subject_id]["date"])).days / 365.25 for o in obs]),
        unused=np.zeros(len(layout.parameter_keys())),
        shape_mean=np.zeros(0), shape_root=np.zeros((0, 0)),
        rho_mean=np.array(math.log(noise["sigma_median"] - noise["sigma_floor"])),
        rho_sd=np.array(float(noise["sigma_log_sd"])),
        sigma_floor=np.array(float(noise["sigma_floor"])),
        outlier_share=np.array(float(noise["outlier_share"])),
        outlier_scale=np.array(float(noise["outlier_scale"])),
        penalty_strength=np.array(float(config["penalty"]["strength"])),
        penalty_softness=np.array(float(config["penalty"]["softness"])),
    )
    return Built(obs, unused, equations.whitened(design), layout)


def penalty_rows(layout: Layout, config: dict) -> tuple[list, list]:
    """casualties <= deployed at each of deployed's knots that every curve involved reaches."""
    parts = config["quantities"]["casualties"]
    plus, den = [], []
    for subject in sorted({s for s, _ in layout.curves}):
        curves = [(subject, q) for q in ("deployed", *parts)]
        if not all(c in layout.curves for c in curves):
            continue
        end = min(layout.knot_date(c, layout.knots[c]) for c in curves)
        k = 1
        while (when := layout.knot_date((subject, "deployed"), k)) <= end:
            row = len(layout.penalty_keys)
            layout.penalty_keys.append((subject, when))
            plus += [(row, layout.probe(subject, q, when)) for q in parts]
            den.append((row, layout.probe(subject, "deployed", when)))
            k += 1
    return plus, den


def theta_prior(layout: Layout, config: dict) -> tuple[list, list]:
    """Entries and offsets of the Gaussian prior rows over [theta, level], one curve after
    another: the free first rise; each later increment pulled towards its curve's level and
    a random-walk step from the one before; and each curve's level itself."""
    prior = config["increments"]
    n_theta = sum(layout.knots[c] for c in layout.curves)
    entries, offset = [], []

    def row(key, cells, target):
        entries.extend((len(offset), col, value) for col, value in cells)
        offset.append(target)
        layout.prior_keys.append(key)

    first = 0
    for c, curve in enumerate(layout.curves):
        n, level = layout.knots[curve], n_theta + c
        row(("first", curve), [(first, 1 / prior["first_sd"])], prior["first_mean"] / prior["first_sd"])
        for j in range(1, n):
            row(("level", curve, j), [(first + j, 1 / prior["level_sd"]), (level, -1 / prior["level_sd"])], 0.0)
            if j > 1:
                row(("walk", curve, j), [(first + j, 1 / prior["walk_sd"]), (first + j - 1, -1 / prior["walk_sd"])], 0.0)
        row(("typical", curve), [(level, 1 / prior["level_mean_sd"])], prior["level_mean"] / prior["level_mean_sd"])
        first += n
    return entries, offset


def restricted(full: Built, part: Built) -> equations.Design:
    """The full design with every claim, row and parameter the part's design lacks left out:
    its posterior is the part's, exactly, beside independent normals (see estimate.model.equations)."""
    keep = lambda keys, kept: np.array([1.0 if k in set(kept) else 0.0 for k in keys])
    claims = {o.claim_id for o in part.obs}
    return equations.whitened(full.design._replace(
        claim_weight=np.array([1.0 if o.claim_id in claims else 0.0 for o in full.obs]),
        prior_weight=keep(full.layout.prior_keys, part.layout.prior_keys),
        pen_weight=keep(full.layout.penalty_keys, part.layout.penalty_keys),
        unused=1.0 - keep(full.layout.parameter_keys(), part.layout.parameter_keys())))


def starting_point(built: Built, config: dict) -> np.ndarray:
    """Each curve jumping at its first knot to the median level of its claims, then creeping up
    (one prior sd below the typical increment); biases at their prior means, without drift, their
    spread the prior's."""
    design, layout = built.design, built.layout
    creep = config["increments"]["level_mean"] - config["increments"]["level_sd"]
    theta = []
    for subject, quantity in layout.curves:
        levels = [min(o.upper, o.lower + 1) for o in built.obs
                  if o.subject_id == subject and quantity in o.components and o.kind == "count"]
        level = float(np.median(levels)) if levels else math.log1p(100)
        theta += [math.log(math.expm1(max(level, 0.1)))] + [creep] * (layout.knots[(subject, quantity)] - 1)
    return np.concatenate([theta, [creep] * design.n_curves, design.bias_mean, np.zeros(design.n_drift), np.zeros(design.n_spread),
                           [float(design.rho_mean)]])


# ---------------------------------------------------------------- posteriors

@dataclass
class Fit:
    """A posterior: the claims and design it rests on, and its chains (chains x samples x parameters)."""

    obs: list
    unused: dict
    design: equations.Design
    layout: Layout
    chains: sampler.Chains

    @property
    def draws(self) -> np.ndarray:
        return self.chains.pooled

    @property
    def shape(self) -> tuple:
        return self.chains.draws.shape[:2]

    @cached_property
    def knots(self) -> np.ndarray:
        """Knot values of every draw, computed once: every table reads them many times."""
        return np.asarray(knots_of_draws(self.design, equations.unpack(self.design, self.draws).theta))


knots_of_draws = jax.jit(jax.vmap(equations.knot_values, in_axes=(None, 0)))
evaluate_draws = jax.jit(jax.vmap(equations.evaluate, in_axes=(None, 0)))


def chains_for(built: Built, design: equations.Design, config: dict, tuning: sampler.Tuning | None = None) -> sampler.Chains:
    """NUTS on ``design`` (built's, or a restriction of it), from dispersed starts around the
    starting point, with the configured seed, or resuming another run's chains (``tuning``, of a
    design of the same shape); from [approximation] claims_from claims on, the Laplace
    approximation from the starting point instead (estimate.model.laplace)."""
    settings = sampler.settings(config)
    for_starts, for_keys = np.random.SeedSequence(config["seed"]).spawn(2)
    start = equations.whitened_point(design, starting_point(built, config))
    if laplace.applies(design, config):
        return laplace.run(design, start, for_keys, settings, laplace.settings(config))
    if tuning is not None:
        return sampler.resumed(design, tuning, for_keys, settings)
    spread = np.random.default_rng(for_starts).uniform(-1, 1, (settings.chains, len(start))) * settings.start_spread
    if settings.metric == "hessian":
        centre, factor = laplace.mode(jax.tree.map(jnp.asarray, design), start, laplace.settings(config))
        return sampler.run(design, spread, for_keys, settings, sampler.Metric(centre, factor))
    return sampler.run(design, start + spread, for_keys, settings)


def part_of(full: Built, part: Built, chains: sampler.Chains) -> Fit:
    """The part's posterior, read off a run of the restricted full design."""
    index = {k: i for i, k in enumerate(full.layout.parameter_keys())}
    kept = [index[k] for k in part.layout.parameter_keys()]
    mapped = sampler.Chains(chains.draws[:, :, kept], chains.divergent, chains.steps, chains.step_sizes, chains.method)
    return Fit(part.obs, part.unused, part.design, part.layout, mapped)


def posterior(built: Built, config: dict, near: Fit | None = None) -> Fit:
    """Built's posterior; resuming the chains of ``near`` (a fit of a nearby posterior) where
    its parameters are the same."""
    same = near is not None and near.layout.parameter_keys() == built.layout.parameter_keys()
    return Fit(built.obs, built.unused, built.design, built.layout,
               chains_for(built, built.design, config, near.chains.tuning if same else None))


def built_for(package: Loaded, config: dict, lexicon_name: str = MAIN, bias_variant: str = "neutral") -> Built:
    obs, unused = observations(package, config, lexicon_name)
    if not obs:
        raise UsageError("no claim can be used by the fit: each is inactive, a relay or not a troop count — add an active troop count to data/claims.csv", code="fit-no-usable-claim")
    return build_design(obs, unused, config, bias_variant)


def as_of_fit(package: Loaded, config: dict, full: Built, known_by: date, main: Fit | None = None) -> Fit | None:
    """The main fit with only the claims known by ``known_by`` (None if there were none): the
    full design with later claims, knots and rows left out, so one compiled sampler serves
    every date. Once every claim is known, it is the main fit (``main``, if already run)."""
    obs, unused = observations(package, config, MAIN, known_by)
    if not obs:
        return None
    if {o.claim_id for o in obs} == {o.claim_id for o in full.obs}:
        return main or posterior(full, config)
    part = build_design(obs, unused, config, "neutral")
    return part_of(full, part, chains_for(full, restricted(full, part), config))


def as_of_dates(published: list[date], months: int) -> list[date]:
    """The last day of every period of ``months`` calendar months (quarters, for 3) from the
    first publication to before the last, and the last publication's date: what the record
    said at the end of each period, and all of it on the day the latest source appeared."""
    first, last = min(published), max(published)
    ends = []
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        following = date(year + month // 12, month % 12 + 1, 1)
        if month % months == 0 and first <= following - timedelta(days=1) < last:
            ends.append(following - timedelta(days=1))
        year, month = following.year, following.month
    return ends + [last]


def as_of_fits(package: Loaded, config: dict, full: Built, main: Fit) -> list[tuple[date, Fit]]:
    """The as-of fit at the end of each period ([as_of] in model.toml) and on the latest
    source's date: what could have been known then. No sensitivity runs: their range is the band."""
    published = [date.fromisoformat(s["published_date_latest"]) for s in package.tables["sources"].rows]
    dates = as_of_dates(published, config["as_of"]["months"])
    fits = [(known_by, as_of_fit(package, config, full, known_by, main)) for known_by in dates]
    return [(known_by, f) for known_by, f in fits if f is not None]


# ---------------------------------------------------------------- what the draws say

def curve_draws(fit: Fit, subject: str, quantities: tuple, when: list[date]) -> np.ndarray:
    """Counts (chains x samples x dates) of the sum of the given curves: casualties = killed + wounded per draw."""
    layout = fit.layout
    total = 0.0
    for q in quantities:
        total = total + equations.knot_counts(fit.knots, np) @ layout.interp([layout.probe(subject, q, d) for d in when]).T
    return np.reshape(total, (*fit.shape, len(when)))


def quantiles(x: np.ndarray) -> np.ndarray:
    """The published levels (rows) of each quantity (columns) over every draw of every chain."""
    return np.quantile(x.reshape(-1, *x.shape[2:]), LEVELS, axis=0)


def quantile_errors(x: np.ndarray) -> np.ndarray:
    """Monte Carlo standard error of each published level (rows) of each quantity (columns)."""
    return np.array([sampler.quantile_mcse(x, p) for p in LEVELS])


def output_quantities(fit: Fit, config: dict) -> list[tuple]:
    """(subject, quantity, components) for each quantity some claim is about."""
    casualty_parts = tuple(config["quantities"]["casualties"])
    return [(subject, quantity, casualty_parts if quantity == "casualties" else (quantity,))
            for subject, quantity in sorted({(o.subject_id, o.quantity) for o in fit.obs})]


def output_dates(fit: Fit, subject: str, parts: tuple, own: list[Observation]) -> list[date]:
    """Knot dates from the quantity's onset to its own last claim (at that claim's middle
    date), and its claims' dates: a quantity is never estimated beyond its own evidence."""
    layout = fit.layout
    start = min(layout.starts[(subject, q)] for q in parts)
    last = max(o.middle for o in own)
    grid = [start + timedelta(days=k * layout.knot_days) for k in range((last - start).days // layout.knot_days + 1)]
    return sorted(set(grid) | {o.middle for o in own if o.middle >= start})


def informs(o: Observation, quantity: str, parts: tuple) -> bool:
    return o.quantity == quantity or bool(set(parts) & set(o.components)) or (o.kind == "share" and quantity == "deployed")


def has_curves(fit: Fit, subject: str, parts: tuple) -> bool:
    return all((subject, q) in fit.layout.curves for q in parts)


@dataclass
class Rows:
    """Rows of one table, each named by column, with the Monte Carlo standard error of each published number."""

    rows: list = field(default_factory=list)
    errors: list = field(default_factory=list)   # per row: {column: standard error}

    def add(self, row: list, errors: dict) -> None:
        self.rows.append(row)
        self.errors.append(errors)

    def __iadd__(self, other: "Rows") -> "Rows":
        self.rows += other.rows
        self.errors += other.errors
        return self


def extreme_of_runs(runs: list[tuple[float, float]], pick) -> tuple[float, float]:
    """The lowest (``pick=min``) or highest (``max``) of several runs' points, each given as
    (value, Monte Carlo standard error), with the error it carries. On another machine or
    seed another run may be the extreme, and |min a - min b| <= max |a - b|: the extreme can
    move by as much as the least precise run, whichever run it is here."""
    return pick(value for value, _ in runs), max(error for _, error in runs)


def estimate_rows(main: Fit, sensitivity: list[Fit], config: dict, known_by: date | None) -> Rows:
    result = Rows()
    for subject, quantity, parts in output_quantities(main, config):
        own = [o for o in main.obs if o.subject_id == subject and o.quantity == quantity]
        informing = [o for o in main.obs if o.subject_id == subject and informs(o, quantity, parts)]
        when = output_dates(main, subject, parts, own)
        draws = curve_draws(main, subject, parts, when)
        band, errors = quantiles(draws), quantile_errors(draws)
        others = [curve_draws(f, subject, parts, when) for f in sensitivity if has_curves(f, subject, parts)]
        # The main run and each sensitivity run: (its published points, their standard errors).
        runs = [(band, errors)] + [(quantiles(d), quantile_errors(d)) for d in others]
        bounded = any(math.isfinite(o.upper) for o in informing)
        caveat = "" if bounded else "No claim bounds this quantity from above: the band is open upward."
        # The claims known by each date, counted in one pass over both in date order (the
        # dates are sorted): rows grow with the claims, so a scan per row would grow with their square.
        informing.sort(key=lambda o: o.middle)
        known, speakers = 0, set()
        for j, day in enumerate(when):
            while known < len(informing) and informing[known].middle <= day:
                speakers.add(informing[known].claimant_id)
                known += 1
            sens_low = extreme_of_runs([(b[0, j], e[0, j]) for b, e in runs], min)
            sens_high = extreme_of_runs([(b[2, j], e[2, j]) for b, e in runs], max)
            row = {"subject_id": subject, "quantity": quantity, "date": day, "value_low": round(band[0, j]),
                   "value_central": round(band[1, j]), "value_high": round(band[2, j]) if bounded else None,
                   "high_is_open": not bounded, "sensitivity_low": round(sens_low[0]),
                   "sensitivity_high": round(sens_high[0]) if bounded else None, "origins_used": known,
                   "claimants_used": len(speakers), "known_by": known_by or "", "method": main.chains.method,
                   "model_version": config["version"], "caveat": caveat}
            result.add(row, {"value_low": errors[0, j], "value_central": errors[1, j], "value_high": errors[2, j],
                             "sensitivity_low": sens_low[1], "sensitivity_high": sens_high[1]})
    return result


def bias_rows(fit: Fit, names: dict[str, str]) -> Rows:
    result = Rows()
    beta = equations.unpack(fit.design, fit.chains.draws).beta
    for k, (claimant, quantity_class) in enumerate(fit.layout.bias_keys):
        factors = np.exp(beta[..., k])
        values, errors = quantiles(factors), quantile_errors(factors)
        claims = [o for o in fit.obs if o.bias_key == (claimant, quantity_class)]
        published = dict(zip(("factor_low", "factor_central", "factor_high"), (round(float(v), 3) for v in values)))
        result.add({"claimant_id": claimant, "claimant_name": names[claimant], "quantity_class": quantity_class,
                    "relation": claims[0].relation, "claims_used": len(claims)} | published,
                   dict(zip(("factor_low", "factor_central", "factor_high"), errors)))
    return result


@dataclass(frozen=True)
class Predictive:
    """Per draw (rows) and claim (columns): the chance of its wording, and of each side beyond it."""

    landing: np.ndarray
    above: np.ndarray
    below: np.ndarray
    above_unbiased: np.ndarray
    below_unbiased: np.ndarray
    outlier: np.ndarray


def predictive(fit: Fit) -> Predictive:
    """What the model predicts of each of the fit's claims in every draw."""
    design = fit.design
    e = evaluate_draws(design, fit.draws)
    centre, bias, s = np.asarray(e.centre), np.asarray(e.bias), np.asarray(e.s)
    landing = np.array([o.landing for o in fit.obs])
    mass = equations.interval_probability(design, centre + bias, s, landing[:, 0], landing[:, 1])
    above, below = equations.tail_probability(design, centre + bias, s, design.lower, design.upper)
    above_u, below_u = equations.tail_probability(design, centre, s, design.lower, design.upper)
    return Predictive(*(np.asarray(v) for v in (mass, above, below, above_u, below_u)), np.asarray(e.outlier))


def side(above: np.ndarray, below: np.ndarray) -> tuple[float, np.ndarray]:
    """The smaller of the two mean tail probabilities, with its per-draw values."""
    chosen = above if above.mean() <= below.mean() else below
    return float(chosen.mean()), chosen


def mean_error(fit_shape: tuple, values: np.ndarray) -> float:
    return float(sampler.mean_mcse(values.reshape(*fit_shape, 1))[0])


@dataclass(frozen=True)
class LeftOut:
    """A claim against the posterior of every other claim: the chance of its wording, and of
    each side beyond it, with their Monte Carlo standard errors."""

    landing: float
    landing_error: float
    below: float             # the chance of a figure not above the claim's range: the top of its PIT span
    below_error: float
    above: float             # the chance of a figure not below it: its PIT span starts at 1 - above
    above_error: float
    pareto_k: float          # of the importance weights; a refit replaces those above [loo] pareto_k_max
    refit: Fit | None        # the exact refit without the claim, where there was one

    @property
    def tail(self) -> tuple[float, float]:
        """The smaller side's chance and its error: the claim's leave-one-out tail probability."""
        return min((self.above, self.above_error), (self.below, self.below_error))


# Batches per chain for the batch-means error of an importance-weighted mean.
BATCHES_PER_CHAIN = 4


def weighted(values: np.ndarray, log_weights: np.ndarray, r_eff: float, chains: int) -> tuple[float, float]:
    """An importance-weighted mean and its Monte Carlo standard error: the larger of the usual
    one (independent draws, scaled by the relative efficiency of the likelihood) and one from
    batch means (each chain cut into BATCHES_PER_CHAIN runs of draws, the weighted residuals
    summed per batch). The first can fall well short where the weighted values mix more
    slowly than the likelihood: c098's moved 5 of its standard errors between two runs."""
    w = np.exp(log_weights - np.logaddexp.reduce(log_weights))
    mean = float(np.sum(w * values))
    independent = np.sum(w**2 * (values - mean) ** 2) / r_eff
    batches = np.array([part.sum() for part in np.array_split(w * (values - mean), chains * BATCHES_PER_CHAIN)])
    return mean, float(np.sqrt(max(independent, np.sum(batches**2))))


def leave_one_out(full: Built, main: Fit, config: dict) -> dict[str, LeftOut]:
    """Each claim against the posterior of every other claim.

    Pareto-smoothed importance sampling (PSIS-LOO; Vehtari, Gelman and Gabry 2017, as
    implemented by ArviZ) reweights the main draws by 1 / P(claim | draw). Where the
    smoothed weights are unreliable (Pareto k above [loo] pareto_k_max in model.toml) the
    claim is refitted exactly: the same design, its weight set to 0, one compiled sampler
    for all.
    """
    log_lik = np.asarray(evaluate_draws(full.design, main.draws).log_p)
    r_eff = sampler.relative_ess(np.exp(log_lik - log_lik.max(axis=0)).reshape(*main.shape, -1))
    smoothed, khat = sampler.leave_one_out_weights(log_lik)
    p = predictive(main)
    result = {}
    for i, o in enumerate(full.obs):
        if khat[i] <= config["loo"]["pareto_k_max"]:
            landing = weighted(p.landing[:, i], smoothed[i], r_eff[i], main.shape[0])
            above, below = (weighted(p.above[:, i], smoothed[i], r_eff[i], main.shape[0]),
                            weighted(p.below[:, i], smoothed[i], r_eff[i], main.shape[0]))
            result[o.claim_id] = LeftOut(*landing, *below, *above, float(khat[i]), None)
            continue
        weight = np.ones(len(full.obs))
        weight[i] = 0.0
        refit = Fit(full.obs, full.unused, full.design, full.layout,
                    chains_for(full, equations.whitened(full.design._replace(claim_weight=weight)), config, main.chains.tuning))
        q = predictive(refit)
        mean = lambda v: (float(v.mean()), mean_error(refit.shape, v))
        result[o.claim_id] = LeftOut(*mean(q.landing[:, i]), *mean(q.below[:, i]), *mean(q.above[:, i]), float(khat[i]), refit)
    return result


def fitted_draws(fit: Fit, o: Observation) -> np.ndarray:
    """The fit's value of what a claim measures, at its middle date, without bias (chains x samples)."""
    counts = curve_draws(fit, o.subject_id, o.components, [o.middle])[..., 0]
    if o.kind == "increment":
        counts = counts - curve_draws(fit, o.subject_id, o.components, [o.window_start])[..., 0]
    if o.kind == "share":
        counts = 100 * counts / np.maximum(curve_draws(fit, o.subject_id, ("deployed",), [o.middle])[..., 0], 1)
    return counts


def claim_rows(package: Loaded, fit: Fit, left_out: dict[str, LeftOut], flag_tail: float) -> Rows:
    design = fit.design
    p = predictive(fit)
    index = {o.claim_id: i for i, o in enumerate(fit.obs)}
    beta = equations.unpack(design, fit.chains.draws).beta
    result = Rows()
    unused = dict.fromkeys(columns(package.descriptor, "claim_fit"))   # a claim the fit did not use: no diagnostics
    for claim in sorted(package.tables["claims"].rows, key=lambda c: c["claim_id"]):
        cid = claim["claim_id"]
        if cid not in index:
            result.add(unused | {"claim_id": cid, "origin_id": claim["origin_id"], "used_in_fit": False, "reason": fit.unused[cid],
                        "unit": claim["unit"]}, {})
            continue
        i, o = index[cid], fit.obs[index[cid]]
        values = fitted_draws(fit, o)[..., None]
        fitted, errors = quantiles(values)[:, 0], quantile_errors(values)[:, 0]
        digits = 1 if o.kind == "share" else 0
        tail, tail_draws = side(p.above[:, i], p.below[:, i])
        loo = left_out[cid]
        row_errors = {"fitted_low": errors[0], "fitted_central": errors[1], "fitted_high": errors[2],
                      "outlier_probability": mean_error(fit.shape, p.outlier[:, i]),
                      "tail_probability": mean_error(fit.shape, tail_draws),
                      "loo_probability": loo.landing_error, "loo_tail_probability": loo.tail[1],
                      "loo_pit_low": loo.above_error, "loo_pit_high": loo.below_error}
        factor = explains = tail_unbiased = None
        if design.bias[i] >= 0:
            factors = np.exp(beta[..., int(design.bias[i])])[..., None]
            factor = round(float(quantiles(factors)[1, 0]), 3)
            tail_unbiased, unbiased_draws = side(p.above_unbiased[:, i], p.below_unbiased[:, i])
            row_errors |= {"bias_factor": float(quantile_errors(factors)[1, 0]),
                           "tail_probability_without_bias": mean_error(fit.shape, unbiased_draws)}
            explains = bool(tail_unbiased < flag_tail <= tail)
            tail_unbiased = round(tail_unbiased, 3)
        low, central, high = (round(float(v), digits) for v in fitted)
        result.add({"claim_id": cid, "origin_id": claim["origin_id"], "used_in_fit": True, "reason": "", "fitted_low": low,
                    "fitted_central": central, "fitted_high": high, "unit": claim["unit"],
                    "outlier_probability": round(float(p.outlier[:, i].mean()), 3), "tail_probability": round(tail, 3),
                    "tail_probability_without_bias": tail_unbiased, "bias_factor": factor, "bias_explains": explains,
                    "loo_probability": round(loo.landing, 3), "loo_tail_probability": round(loo.tail[0], 3),
                    "loo_pit_low": round(1 - loo.above, 3), "loo_pit_high": round(loo.below, 3)}, row_errors)
    return result


# ---------------------------------------------------------------- gates

@dataclass(frozen=True)
class Checked:
    """A run's convergence diagnostics over every quantity it publishes, and whether they pass."""

    record: dict
    failures: list   # sentences


def watched(fit: Fit, config: dict) -> tuple[np.ndarray, list[str]]:
    """Every quantity the run publishes, as draws (chains x samples x quantities) with names:
    each estimate on the log scale, each claimant bias, each claim's fitted value."""
    blocks, names = [], []
    for subject, quantity, parts in output_quantities(fit, config):
        own = [o for o in fit.obs if o.subject_id == subject and o.quantity == quantity]
        when = output_dates(fit, subject, parts, own)
        blocks.append(np.log1p(curve_draws(fit, subject, parts, when)))
        names += [f"{quantity} on {day}" for day in when]
    p = equations.unpack(fit.design, fit.chains.draws)
    blocks += [p.beta, p.drift, p.spread, p.rho[..., None]]
    names += [f"the bias of {claimant} ({quantity_class})" for claimant, quantity_class in fit.layout.bias_keys]
    names += [f"the drift of {claimant}'s bias ({quantity_class})" for claimant, quantity_class in fit.layout.bias_keys if fit.layout.drift]
    names += ["the log factor on the biases' spread"] * fit.layout.n_spread + ["the noise scale"]
    for o in fit.obs:
        blocks.append(fitted_draws(fit, o)[..., None])
        names.append(f"the fitted value of {o.claim_id}")
    return np.concatenate(blocks, axis=2), names


def check(name: str, x: np.ndarray, labels: list[str], chains: sampler.Chains, config: dict) -> Checked:
    """The gates of model.toml ([gates]) on one run: R-hat, bulk and tail ESS of every published
    quantity, and divergent transitions."""
    gates = config["gates"]
    rhat, bulk, tail = sampler.rhat(x), sampler.bulk_ess(x), sampler.tail_ess(x)
    record = {"method": chains.method, "chains": int(chains.draws.shape[0]),
              "draws": int(chains.draws.shape[0] * chains.draws.shape[1]),
              "divergent_transitions": chains.divergent, "quantities_checked": len(labels),
              "largest_rhat": round(float(np.max(rhat)), 4), "smallest_bulk_ess": round(float(np.min(bulk))),
              "smallest_tail_ess": round(float(np.min(tail)))}
    if chains.method == sampler.METHOD:
        record["integration_steps_per_draw"] = round(float(chains.steps.mean()), 1)
    failures = []
    worst = lambda values, pick: labels[int(pick(values))]
    if np.max(rhat) > gates["rhat_max"]:
        failures.append(f"R-hat {np.max(rhat):.3f} for {worst(rhat, np.argmax)} (at most {gates['rhat_max']})")
    if np.min(bulk) < gates["ess_min"]:
        failures.append(f"bulk ESS {np.min(bulk):.0f} for {worst(bulk, np.argmin)} (at least {gates['ess_min']})")
    if np.min(tail) < gates["ess_min"]:
        failures.append(f"tail ESS {np.min(tail):.0f} for {worst(tail, np.argmin)} (at least {gates['ess_min']})")
    if chains.divergent > gates["divergences_max"]:
        failures.append(f"{chains.divergent} divergent transitions (at most {gates['divergences_max']})")
    return Checked(record, [f"run {name}: {f}" for f in failures])


def checked_fit(name: str, fit: Fit, config: dict) -> Checked:
    x, labels = watched(fit, config)
    return check(name, x, labels, fit.chains, config)


def pit_tenths(spans: list[tuple[float, float]]) -> list[float]:
    """The share of claims in each tenth of the probability integral transform, from each
    claim's (low, high): a claim read as a range has no single PIT but any between the chance
    of a figure below it and that of one not above it, so it is spread evenly over that span
    (the non-randomised PIT of Czado, Gneiting and Held 2009), an exact figure at its point.
    A calibrated model gives 0.1 in each tenth; a pile at an end, claims the others do not
    predict (above the rest at the top)."""
    edges = np.linspace(0, 1, 11)
    shares = np.zeros(10)
    for low, high in spans:
        if high - low < 1e-9:
            shares[min(int(low * 10), 9)] += 1
        else:
            shares += np.clip(np.minimum(edges[1:], high) - np.maximum(edges[:-1], low), 0, None) / (high - low)
    return [round(float(v), 3) for v in shares / max(len(spans), 1)]


def checked_loo(left_out: dict[str, LeftOut], config: dict) -> Checked:
    """The leave-one-out checks: how many needed an exact refit, the largest Pareto k, and each
    refit gated on what it publishes (the claim's chances)."""
    records, failures = [], []
    for cid, loo in sorted(left_out.items()):
        if loo.refit is None:
            continue
        p = predictive(loo.refit)
        i = [o.claim_id for o in loo.refit.obs].index(cid)
        x = np.stack([p.landing[:, i], p.above[:, i], p.below[:, i]], axis=1).reshape(*loo.refit.shape, 3)
        c = check(f"without {cid}", x, [f"the chance of {cid}", f"the chance above {cid}", f"the chance below {cid}"],
                  loo.refit.chains, config)
        records.append(c.record)
        failures += c.failures
    record = {"claims": len(left_out), "exact_refits": len(records),
              "largest_pareto_k": round(max((loo.pareto_k for loo in left_out.values()), default=0.0), 2),
              "pit_tenths": pit_tenths([(1 - loo.above, loo.below) for loo in left_out.values()]),
              "refits_divergent_transitions": sum(r["divergent_transitions"] for r in records),
              "refits_largest_rhat": max((r["largest_rhat"] for r in records), default=None),
              "refits_smallest_ess": min((min(r["smallest_bulk_ess"], r["smallest_tail_ess"]) for r in records), default=None)}
    return Checked(record, failures)


def gated(checks: dict[str, Checked]) -> dict:
    """Every run's record, or UsageError naming each failed gate: then nothing is written."""
    failures = [f for c in checks.values() for f in c.failures]
    if failures:
        raise UsageError("the fit did not pass its convergence checks, so nothing was written: " + "; ".join(failures) +
                         " — raise warmup and samples under [sampler] in estimate/model/model.toml (or target_accept for "
                         "divergences), and look for claims that contradict each other in data/claims.csv.", code="fit-not-converged")
    return {name: c.record for name, c in checks.items()}


# ---------------------------------------------------------------- outputs

def summary(config: dict, runs: dict, measured: dict | None = None) -> dict:
    content = {
        "model_version": config["version"],
        "method": runs["main"]["method"],
        "config_sha256": hashlib.sha256(CONFIG.read_bytes()).hexdigest(),
        "config": config,
        "runs": runs,
        "note": "Only relative biases between claimants are identifiable: the bias priors fix their common level. "
                "Every estimate is a posterior quantile over the draws of all chains; the central value is the median.",
    }
    if measured is not None:
        content["reproducibility"] = measured
    return content


def json_text(content: dict) -> str:
    return json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"


@dataclass(frozen=True)
class Runs:
    """Every posterior behind the committed tables: main, sensitivity runs, the as-of series and
    the leave-one-out refits."""

    main: Fit
    sensitivity: list
    as_of: list          # (known_by, Fit)
    left_out: dict       # claim_id -> LeftOut

    def checks(self, config: dict) -> dict[str, Checked]:
        named = {"main": self.main} | {f"{lexicon}_{bias}": f for (lexicon, bias), f in zip(sensitivity_runs(config), self.sensitivity)}
        named |= {f"as_of_{known_by}": f for known_by, f in self.as_of}
        return {name: checked_fit(name, f, config) for name, f in named.items()} | {"leave_one_out": checked_loo(self.left_out, config)}


def sensitivity_runs(config: dict) -> list[tuple[str, str]]:
    """(lexicon, bias prior) of each sensitivity run, as [sensitivity] in model.toml lists them."""
    unknown = [b for b in config["sensitivity"]["bias_priors"] if b not in config["bias"]]
    if unknown:
        raise UsageError(f"estimate/model/model.toml [sensitivity] bias_priors names {', '.join(map(repr, unknown))}, which no "
                         f"[bias.NAME] section defines — use one of: {', '.join(config['bias'])}", code="model-bias-prior-unknown")
    return [(lexicon, bias) for lexicon in config["sensitivity"]["lexicons"] for bias in config["sensitivity"]["bias_priors"]]


def runs_for(package: Loaded, config: dict) -> Runs:
    full = built_for(package, config)
    main = posterior(full, config)
    sensitivity = [posterior(built_for(package, config, lexicon, bias), config, main) for lexicon, bias in sensitivity_runs(config)]
    return Runs(main, sensitivity, as_of_fits(package, config, full, main), leave_one_out(full, main, config))


@dataclass(frozen=True)
class Fitted:
    outputs: dict          # path -> bytes, as committed
    tolerances: dict       # path -> {(row key, column): tolerance}


def fitted(package: Loaded, config: dict | None = None) -> Fitted:
    """Every committed output of the fit, and the tolerance of each number in them (from its
    Monte Carlo standard error; estimate.model.tolerances), once every run has passed its gates."""
    config = config or load_config()
    runs = runs_for(package, config)
    records = gated(runs.checks(config))
    names = {r["claimant_id"]: r["name"] for r in package.tables["claimants"].rows}
    as_of = Rows()
    for known_by, f in runs.as_of:
        as_of += estimate_rows(f, [], config, known_by)
    tables = {DERIVED / "estimates.csv": ("estimates", estimate_rows(runs.main, runs.sensitivity, config, None)),
              DERIVED / "estimates_as_of.csv": ("estimates_as_of", as_of),
              DERIVED / "claimant_bias.csv": ("claimant_bias", bias_rows(runs.main, names)),
              DERIVED / "claim_fit.csv": ("claim_fit", claim_rows(package, runs.main, runs.left_out, config["flags"]["tail"]))}
    outputs = {path: table(columns(package.descriptor, name), rows.rows) for path, (name, rows) in tables.items()}
    held = {path: rule for path, rule in tolerances.rules().items() if Path(path) in tables}
    count = sum(tolerances.compared(rule, outputs[Path(path)]) for path, rule in held.items())
    k = tolerances.standard_errors(count)
    cells, measured = {}, {"numbers_compared": count, "standard_errors": round(k, 2), "columns": {}}
    for path, rule in held.items():
        cells[path] = tolerances.cell_tolerances(rule, outputs[Path(path)], tables[Path(path)][1].errors, k)
        measured["columns"][Path(path).name] = tolerances.largest(rule, outputs[Path(path)], cells[path])
    cells[str(DERIVED / "fit.json")] = {}
    outputs[DERIVED / "fit.json"] = json_text(summary(config, records, measured)).encode("utf-8")
    return Fitted(outputs, cells)


def build(package: Loaded, args) -> dict[Path, bytes]:
    config = load_config()
    if args.as_of:
        # The method of estimates_as_of.csv on any date: on one of its dates, its very rows.
        known = as_of_fit(package, config, built_for(package, config), args.as_of)
        if known is None:
            raise UsageError(f"no claim can be used by the fit by {args.as_of} — choose a later --as-of date", code="fit-no-usable-claim-by-date")
        name = f"as_of_{args.as_of}"
        gated({name: checked_fit(name, known, config)})
        return {DERIVED / f"estimates_as_of_{args.as_of}.csv": table(columns(package.descriptor, "estimates_as_of"),
                                                                      estimate_rows(known, [], config, args.as_of).rows)}
    return fitted(package, config).outputs


def main(args) -> int:
    return run_writer(args, build)
