"""``python -m estimate fit``: how each quantity evolved, with honest uncertainty.

Writes data/derived/estimates.csv (bands by date), claimant_bias.csv (relative biases),
claim_fit.csv (each claim against the fit: outlier and tail probabilities) and fit.json
(the configuration and how each run converged). The model is in estimate.model; this
module turns claims into its design and its draws into tables. Each assertion counts
once (origins only), claims are taken in claim_id order, and with ``--as-of DATE`` only
claims from sources certainly published by DATE are used.
"""

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.special import ndtr

from estimate import model, tolerances
from estimate.outputs import DERIVED, UsageError, run_writer, table
from estimate.ranges import MAIN, claim_ranges
from estimate.tables import Loaded

CONFIG = Path(__file__).with_name("model.toml")
METHOD = "laplace_map"
LEVELS = (5, 50, 95)
# A claim is flagged by the model when its outlier probability reaches FLAG_OUTLIER or
# the fit leaves less than FLAG_TAIL probability on its side of it.
FLAG_OUTLIER = 0.5
FLAG_TAIL = 0.05
SENSITIVITY = [(lexicon, bias) for lexicon in ("narrow", "wide") for bias in ("neutral", "directional")]

ESTIMATE_COLUMNS = ["subject_id", "quantity", "date", "value_low", "value_central", "value_high", "high_is_open",
                    "sensitivity_low", "sensitivity_high", "origins_used", "claimants_used", "known_by", "method",
                    "model_version", "caveat"]
BIAS_COLUMNS = ["claimant_id", "claimant_name", "quantity_class", "relation", "claims_used", "factor_low", "factor_central", "factor_high"]
CLAIM_COLUMNS = ["claim_id", "origin_id", "used_in_fit", "reason", "fitted_low", "fitted_central", "fitted_high", "unit",
                 "outlier_probability", "tail_probability", "tail_probability_without_bias", "bias_factor", "bias_explains"]


def load_config(path: Path = CONFIG) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


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


def middle(earliest: date, latest: date) -> date:
    return earliest + timedelta(days=(latest - earliest).days // 2)


def observations(package: Loaded, config: dict, lexicon_name: str = MAIN, known_by: date | None = None):
    """Claims usable by the fit, and why each other claim is not used."""
    ranges = {r["claim_id"]: r for r in claim_ranges(package, lexicon_name)}
    claims = package.tables["claims"].by_key("claim_id")
    sources = package.tables["sources"].by_key("source_id")
    claimants = package.tables["claimants"].by_key("claimant_id")
    subjects = package.tables["subjects"].by_key("subject_id")
    base, casualties = config["quantities"]["base"], config["quantities"]["casualties"]
    used, unused = [], {}
    for claim_id in sorted(claims):
        claim, r = claims[claim_id], ranges[claim_id]
        reason = None
        if claim["status"] != "active":
            reason = f"{claim['status']} (see status_reason in claims.csv)"
        elif claim["origin_id"] != claim_id:
            reason = f"relay of {claim['origin_id']}, which counts for it"
        elif known_by and date.fromisoformat(sources[claim["source_id"]]["published_date_latest"]) > known_by:
            reason = f"not certainly published by {known_by}"
        elif claim["unit"] not in ("persons", "percent"):
            reason = "not a troop count"
        elif claim["time_scope"] == "planned":
            reason = "a planned deployment, never mixed with deployed"
        elif claim["quantity"] not in base and claim["quantity"] != "casualties":
            reason = f"no latent curve for {claim['quantity']}"
        elif claim["subject_id"] not in config["start"]:
            reason = f"no start date for {claim['subject_id']} in estimate/model.toml"
        elif claim["time_scope"] == "increment" and not claim["window_start_date_earliest"]:
            reason = "an increment whose window start is not stated"
        if reason:
            unused[claim_id] = reason
            continue
        components = tuple(casualties) if claim["quantity"] == "casualties" else (claim["quantity"],)
        low, high = r["value_low"], r["value_high"]
        if claim["unit"] == "percent":
            kind = "share"
            lower = math.log(low / 100) if low > 0 else -math.inf
            upper = math.log(high / 100)
        else:
            kind = "increment" if claim["time_scope"] == "increment" else "count"
            lower, upper = math.log1p(low), math.log1p(high)
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
            lower, upper, low == high, bias_key, rel))
    return used, unused


# ---------------------------------------------------------------- the design

@dataclass
class Layout:
    """Where each curve, knot and bias sits in the design."""

    knot_days: int
    curves: list = field(default_factory=list)          # (subject, quantity)
    starts: dict = field(default_factory=dict)          # subject -> start date
    knots: dict = field(default_factory=dict)           # subject -> number of thetas per curve
    offsets: list = field(default_factory=list)         # first knot column of each curve
    bias_keys: list = field(default_factory=list)
    probes: dict = field(default_factory=dict)          # (curve, day) -> probe row
    probe_rows: list = field(default_factory=list)      # interp rows: (col, weight) pairs

    @property
    def n_knots(self) -> int:
        return sum(self.knots[s] + 1 for s, _ in self.curves)

    def curve(self, subject: str, quantity: str) -> int:
        return self.curves.index((subject, quantity))

    def probe(self, subject: str, quantity: str, when: date) -> int:
        """Row of f for a curve at a date: linear between the two knots around it."""
        c = self.curve(subject, quantity)
        key = (c, when)
        if key not in self.probes:
            x = (when - self.starts[subject]).days / self.knot_days
            k = min(max(int(math.floor(x)), 0), self.knots[subject] - 1)
            w = min(max(x - k, 0.0), 1.0)
            self.probes[key] = len(self.probe_rows)
            self.probe_rows.append([(self.offsets[c] + k, 1 - w), (self.offsets[c] + k + 1, w)])
        return self.probes[key]

    def interp(self, probes: list[int] | None = None) -> sparse.csr_matrix:
        """Rows of f for the given probes (default: all), over the knot values."""
        probes = range(len(self.probe_rows)) if probes is None else probes
        rows, cols, vals = [], [], []
        for i, probe in enumerate(probes):
            for col, weight in self.probe_rows[probe]:
                rows.append(i), cols.append(col), vals.append(weight)
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(probes), self.n_knots))


def signed_matrix(entries: list, n_rows: int, layout: Layout) -> sparse.csr_matrix:
    rows, cols, vals = zip(*entries) if entries else ((), (), ())
    return sparse.csr_matrix((vals, (rows, cols)), shape=(n_rows, len(layout.probe_rows)))


def layout_for(obs: list[Observation], config: dict) -> Layout:
    layout = Layout(knot_days=config["knot_days"])
    needed = {}
    for o in obs:
        parts = set(o.components) | ({"deployed"} if o.kind == "share" else set())
        needed.setdefault(o.subject_id, set()).update(parts)
        last = max(o.dates)
        layout.knots[o.subject_id] = max(layout.knots.get(o.subject_id, 1), last_knot(config, o.subject_id, last))
    base_order = config["quantities"]["base"]
    for subject in sorted(needed):
        layout.starts[subject] = date.fromisoformat(config["start"][subject]["date"])
        for quantity in sorted(needed[subject], key=base_order.index):
            layout.offsets.append(sum(layout.knots[s] + 1 for s, _ in layout.curves))
            layout.curves.append((subject, quantity))
    layout.bias_keys = sorted({o.bias_key for o in obs if o.bias_key})
    return layout


def last_knot(config: dict, subject: str, last: date) -> int:
    """Knots needed to reach ``last`` from the subject's start, plus one beyond."""
    days = (last - date.fromisoformat(config["start"][subject]["date"])).days
    return max(math.ceil(days / config["knot_days"]), 0) + 1


def build_design(obs: list[Observation], config: dict, bias_variant: str) -> tuple[model.Design, Layout]:
    layout = layout_for(obs, config)
    plus, den, starts = [], [], []
    evaluation = 0
    for o in obs:
        starts.append(evaluation)
        for when in o.dates:
            for q in o.components:
                plus.append((evaluation, layout.probe(o.subject_id, q, when), 1.0))
                if o.kind == "increment":
                    plus.append((evaluation, layout.probe(o.subject_id, q, o.window_start), -1.0))
            if o.kind == "share":
                den.append((evaluation, layout.probe(o.subject_id, "deployed", when), 1.0))
            evaluation += 1
    pen_plus, pen_den, penalty_rows = [], [], 0
    casualty_parts = config["quantities"]["casualties"]
    for subject in sorted(layout.starts):
        curves = {q for s, q in layout.curves if s == subject}
        if "deployed" in curves and set(casualty_parts) <= curves:
            for k in range(1, layout.knots[subject] + 1):
                when = layout.starts[subject] + timedelta(days=k * layout.knot_days)
                for q in casualty_parts:
                    pen_plus.append((penalty_rows, layout.probe(subject, q, when), 1.0))
                pen_den.append((penalty_rows, layout.probe(subject, "deployed", when), 1.0))
                penalty_rows += 1
    prior_rows, prior_offset, lengths = theta_prior(layout, config)
    bias_prior = config["bias"][bias_variant]
    relations = {o.bias_key: o.relation for o in obs if o.bias_key}
    noise = config["noise"]
    design = model.Design(
        curve_lengths=lengths,
        interp=layout.interp(),
        plus=signed_matrix(plus, evaluation, layout),
        den=signed_matrix(den, evaluation, layout),
        group_starts=np.array(starts, dtype=int),
        lower=np.array([o.lower for o in obs]),
        upper=np.array([o.upper for o in obs]),
        exact=np.array([o.exact for o in obs]),
        bias=np.array([layout.bias_keys.index(o.bias_key) if o.bias_key else -1 for o in obs], dtype=int),
        tau=np.array([0.0 if o.bias_key else noise["unattributed_sd"] for o in obs]),
        pen_plus=signed_matrix(pen_plus, penalty_rows, layout),
        pen_den=signed_matrix(pen_den, penalty_rows, layout),
        theta_prior=prior_rows,
        theta_prior_offset=prior_offset,
        bias_mean=np.array([bias_prior[relations[k]]["mean"] for k in layout.bias_keys]),
        bias_sd=np.array([bias_prior[relations[k]]["sd"] for k in layout.bias_keys]),
        rho_mean=math.log(noise["sigma_median"] - noise["sigma_floor"]),
        rho_sd=noise["sigma_log_sd"],
        sigma_floor=noise["sigma_floor"],
        outlier_share=noise["outlier_share"],
        outlier_scale=noise["outlier_scale"],
        penalty_strength=config["penalty"]["strength"],
        penalty_softness=config["penalty"]["softness"],
    )
    return design, layout


def theta_prior(layout: Layout, config: dict):
    """Rows of the Gaussian prior over [theta, level], one curve after another: the free first
    rise; each later increment pulled towards its curve's level and a random-walk step from
    the one before; and each curve's level itself."""
    prior = config["increments"]
    lengths = np.array([layout.knots[s] for s, _ in layout.curves], dtype=int)
    n_theta = int(lengths.sum())
    rows, cols, vals, offset = [], [], [], []

    def row(entries, target):
        for col, value in entries:
            rows.append(len(offset)), cols.append(col), vals.append(value)
        offset.append(target)

    first = 0
    for c, n in enumerate(lengths):
        level = n_theta + c
        row([(first, 1 / prior["first_sd"])], prior["first_mean"] / prior["first_sd"])
        for j in range(first + 1, first + n):
            row([(j, 1 / prior["level_sd"]), (level, -1 / prior["level_sd"])], 0.0)
            if j > first + 1:
                row([(j, 1 / prior["walk_sd"]), (j - 1, -1 / prior["walk_sd"])], 0.0)
        row([(level, 1 / prior["level_mean_sd"])], prior["level_mean"] / prior["level_mean_sd"])
        first += n
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(len(offset), n_theta + len(lengths)))
    return matrix, np.array(offset), lengths


def starting_point(design: model.Design, layout: Layout, obs: list[Observation], config: dict) -> np.ndarray:
    """Each curve jumping at its first knot to the median level of its claims, then creeping up
    (one prior sd below the typical increment); biases at their prior means."""
    creep = config["increments"]["level_mean"] - config["increments"]["level_sd"]
    theta = []
    for (subject, quantity), n in zip(layout.curves, design.curve_lengths):
        levels = [min(o.upper, o.lower + 1) for o in obs if o.subject_id == subject and quantity in o.components and o.kind == "count"]
        level = float(np.median(levels)) if levels else math.log1p(100)
        theta += [math.log(math.expm1(max(level, 0.1)))] + [creep] * (n - 1)
    levels = [creep] * design.n_curves
    return np.concatenate([theta, levels, design.bias_mean, [design.rho_mean]])


# ---------------------------------------------------------------- a fit

@dataclass
class Fit:
    obs: list
    unused: dict
    design: model.Design
    layout: Layout
    map: model.MapFit
    laplace: model.Laplace
    draws: np.ndarray
    effective: float

    @property
    def floored(self) -> int:
        return self.laplace.floored

    @cached_property
    def knots(self) -> np.ndarray:
        """Knot values of every draw, computed once: every table reads them many times."""
        return model.knot_values(self.design, self.draws[:, :self.design.n_theta])


def run_fit(package: Loaded, config: dict, lexicon_name: str = MAIN, bias_variant: str = "neutral",
            known_by: date | None = None) -> Fit:
    obs, unused = observations(package, config, lexicon_name, known_by)
    if not obs:
        raise UsageError("no claim can be used by the fit" + (f" by {known_by}" if known_by else "") +
                         " — add claims, or choose a later --as-of date")
    return fit_observations(obs, unused, config, bias_variant)


def streams(config: dict) -> list[np.random.SeedSequence]:
    """Independent random streams from the configured seed: the first gives the published
    draws, the others the replicates that measure their Monte Carlo error."""
    return np.random.SeedSequence(config["seed"]).spawn(1 + config["reproducibility"]["replicates"])


def sample(design: model.Design, approximation: model.Laplace, config: dict, stream: np.random.SeedSequence) -> model.Draws:
    return model.laplace_draws(design, approximation, config["draws"], np.random.default_rng(stream))


def fit_observations(obs: list[Observation], unused: dict, config: dict, bias_variant: str = "neutral") -> Fit:
    """MAP and Laplace draws, with each claim counted once and claims in canonical (claim id) order."""
    obs = sorted({o.claim_id: o for o in obs}.values(), key=lambda o: o.claim_id)
    design, layout = build_design(obs, config, bias_variant)
    fitted = model.fit_map(design, starting_point(design, layout, obs, config), config["laplace"]["step"], config["laplace"]["eigen_floor"])
    return approximated(obs, unused, design, layout, fitted, config)


def approximated(obs, unused, design, layout, fitted: model.MapFit, config: dict) -> Fit:
    approximation = model.laplace(fitted, config["laplace"]["eigen_floor"])
    drawn = sample(design, approximation, config, streams(config)[0])
    return Fit(obs, unused, design, layout, fitted, approximation, drawn.draws, drawn.effective)


def error_variants(fit: Fit, config: dict) -> list[Fit]:
    """The same fit as the estimator could have given it on another machine or run: first
    refitted from a perturbed optimum with the published seed (the optimiser's own error),
    then with each replicate stream's draws (the Monte Carlo error)."""
    perturbation = config["reproducibility"]["restart_perturbation"]
    rng = np.random.default_rng(streams(config)[-1].spawn(1)[0])
    restarted = model.fit_map(fit.design, fit.map.x + perturbation * rng.standard_normal(fit.design.n_params),
                              config["laplace"]["step"], config["laplace"]["eigen_floor"])
    variants = [approximated(fit.obs, fit.unused, fit.design, fit.layout, restarted, config)]
    for stream in streams(config)[1:]:
        drawn = sample(fit.design, fit.laplace, config, stream)
        variants.append(replace(fit, draws=drawn.draws, effective=drawn.effective))
    return variants


def curve_counts(fit: Fit, subject: str, quantities: tuple, when: list[date], draws: np.ndarray) -> np.ndarray:
    """Counts (draws x dates) of the sum of the given curves: casualties = killed + wounded per draw."""
    layout = fit.layout
    knots = fit.knots if draws is fit.draws else model.knot_values(fit.design, draws[:, :fit.design.n_theta])
    return sum(np.expm1(np.minimum(knots @ layout.interp([layout.probe(subject, q, d) for d in when]).T.toarray(),
                                   model.MAX_LOG_COUNT)) for q in quantities)


def centred_bands(fit: Fit, subject: str, quantities: tuple, when: list[date]) -> np.ndarray:
    """Pointwise 5/50/95% of the count, centred on the MAP curve (see bands), before the running maximum."""
    draws = np.log1p(curve_counts(fit, subject, quantities, when, fit.draws))
    mode = np.log1p(curve_counts(fit, subject, quantities, when, fit.map.x[None, :])[0])
    return np.expm1(mode + np.percentile(draws, LEVELS, axis=0) - np.median(draws, axis=0))


def bands(fit: Fit, subject: str, quantities: tuple, when: list[date]) -> np.ndarray:
    """Pointwise 5/50/95% of the count (rows) at each date (columns), centred on the MAP curve.

    Laplace draws of increments are right-skewed once summed (softplus is convex), which
    lifts their median above the MAP curve (by about 10% in the benchmark). The spread
    of the draws is kept, on the log1p scale, and moved to the MAP; a running maximum over
    the dates keeps the band non-decreasing like the curves themselves.
    """
    return np.maximum.accumulate(centred_bands(fit, subject, quantities, when), axis=1)


# ---------------------------------------------------------------- tables

def output_quantities(fit: Fit, config: dict) -> list[tuple]:
    """(subject, quantity, components) for each quantity some claim speaks of."""
    casualty_parts = tuple(config["quantities"]["casualties"])
    spoken = {(o.subject_id, o.quantity) for o in fit.obs} | {(o.subject_id, "deployed") for o in fit.obs if o.kind == "share"}
    result = []
    for subject, quantity in sorted(spoken):
        parts = casualty_parts if quantity == "casualties" else (quantity,)
        result.append((subject, quantity, parts))
    return result


def output_dates(fit: Fit, subject: str, relevant: list[Observation]) -> list[date]:
    """Knot dates and claim dates from the subject's start to the last claim that informs
    the quantity: a quantity is not extrapolated beyond its own evidence."""
    layout = fit.layout
    last = max(max(o.dates) for o in relevant)
    grid = [layout.starts[subject] + timedelta(days=k * layout.knot_days) for k in range(layout.knots[subject] + 1)]
    return sorted({d for d in grid if d <= last} | {o.middle for o in relevant})


def informs(o: Observation, quantity: str, parts: tuple) -> bool:
    return o.quantity == quantity or bool(set(parts) & set(o.components)) or (o.kind == "share" and quantity == "deployed")


def estimate_rows(main: Fit, sensitivity: list[Fit], config: dict, known_by: date | None) -> list[list]:
    rows = []
    version = config["version"]
    for subject, quantity, parts in output_quantities(main, config):
        relevant = [o for o in main.obs if o.subject_id == subject and informs(o, quantity, parts)]
        when = output_dates(main, subject, relevant)
        band = bands(main, subject, parts, when)
        wide = [bands(f, subject, parts, when) for f in sensitivity if (subject, parts[0]) in f.layout.curves]
        bounded = any(math.isfinite(o.upper) for o in relevant)
        caveat = "" if bounded else "No claim bounds this quantity from above: the band is open upward."
        for j, day in enumerate(when):
            known = [o for o in relevant if o.middle <= day]
            low, central, high = band[:, j]
            sens_low = min([low] + [b[0, j] for b in wide])
            sens_high = max([high] + [b[2, j] for b in wide])
            rows.append([subject, quantity, day, round(low), round(central), round(high) if bounded else None, not bounded,
                         round(sens_low), round(sens_high) if bounded else None, len(known),
                         len({o.claimant_id for o in known}), known_by or "", METHOD, version, caveat])
    return rows


def bias_rows(fit: Fit, names: dict[str, str]) -> list[list]:
    n = fit.design.n_shape
    rows = []
    for k, (claimant, quantity_class) in enumerate(fit.layout.bias_keys):
        factors = np.exp(np.percentile(fit.draws[:, n + k], LEVELS))
        claims = [o for o in fit.obs if o.bias_key == (claimant, quantity_class)]
        rows.append([claimant, names[claimant], quantity_class, claims[0].relation, len(claims), *(round(float(v), 3) for v in factors)])
    return rows


def predictions(fit: Fit) -> tuple[np.ndarray, np.ndarray]:
    """Per evaluation and draw: the model's value of the claim, and its claimant's bias."""
    design, draws = fit.design, fit.draws
    knots = fit.knots
    counts = np.expm1(np.minimum(knots @ design.interp.T.toarray(), model.MAX_LOG_COUNT))
    m = np.log1p(np.maximum(design.plus @ counts.T, 0.0)) - np.log1p(design.den @ counts.T)
    claim = design.evaluation_claim
    bias = np.zeros_like(m)
    if len(design.bias_mean):
        beta = draws[:, design.n_shape:-1]
        bias = np.where(design.bias[claim, None] >= 0, beta[:, np.maximum(design.bias[claim], 0)].T, 0.0)
    return m, bias


def tails(fit: Fit, centre: np.ndarray) -> np.ndarray:
    """Per claim: the fit's probability beyond the claim, on the claim's side, averaged over draws.

    ``centre`` is the predicted value per evaluation and draw (with or without the bias).
    """
    design = fit.design
    claim = design.evaluation_claim
    sigma = design.sigma_floor + np.exp(np.minimum(fit.draws[:, -1], model.MAX_RHO))
    s = np.sqrt(sigma[None, :] ** 2 + design.tau[claim, None] ** 2)
    above = 1 - ndtr((design.lower[claim, None] - centre) / s)
    below = ndtr((design.upper[claim, None] - centre) / s)
    sizes = np.diff(np.append(design.group_starts, len(claim)))
    per_claim = lambda p: np.add.reduceat(p.mean(axis=1), design.group_starts) / sizes
    return np.minimum(per_claim(above), per_claim(below))


def claim_rows(package: Loaded, fit: Fit) -> list[list]:
    design = fit.design
    e = model.evaluate(design, fit.map.x)
    _, weights = model.claim_weights(design, e["log_g"])
    outlier = np.add.reduceat(weights * e["r_out"], design.group_starts)
    m, bias = predictions(fit)
    tail_with, tail_without = tails(fit, m + bias), tails(fit, m)
    fitted = fitted_values(fit)
    index = {o.claim_id: i for i, o in enumerate(fit.obs)}
    rows = []
    for claim in sorted(package.tables["claims"].rows, key=lambda c: c["claim_id"]):
        cid = claim["claim_id"]
        if cid not in index:
            rows.append([cid, claim["origin_id"], False, fit.unused[cid], None, None, None, claim["unit"], None, None, None, None, None])
            continue
        i = index[cid]
        factor = math.exp(fit.map.x[design.n_shape + design.bias[i]]) if design.bias[i] >= 0 else None
        explains = None if factor is None else bool(tail_without[i] < FLAG_TAIL <= tail_with[i])
        rows.append([cid, claim["origin_id"], True, "", *fitted[i], claim["unit"], round(float(outlier[i]), 3),
                     round(float(tail_with[i]), 3), None if factor is None else round(float(tail_without[i]), 3),
                     None if factor is None else round(factor, 3), explains])
    return rows


def fitted_values(fit: Fit) -> list[tuple]:
    """The fit's value (5/50/95%) of what each claim measures, at its middle date, without bias."""
    result = []
    for o in fit.obs:
        counts = curve_counts(fit, o.subject_id, o.components, [o.middle], fit.draws)[:, 0]
        if o.kind == "increment":
            counts = counts - curve_counts(fit, o.subject_id, o.components, [o.window_start], fit.draws)[:, 0]
        if o.kind == "share":
            counts = 100 * counts / np.maximum(curve_counts(fit, o.subject_id, ("deployed",), [o.middle], fit.draws)[:, 0], 1)
        low, central, high = np.percentile(counts, LEVELS)
        digits = 1 if o.kind == "share" else 0
        result.append(tuple(round(float(v), digits) for v in (low, central, high)))
    return result


def summary(config: dict, runs: dict, measured: dict | None = None) -> dict:
    text = CONFIG.read_bytes()
    content = {
        "model_version": config["version"],
        "method": METHOD,
        "config_sha256": hashlib.sha256(text).hexdigest(),
        "config": config,
        "runs": {name: {"converged": f.map.converged, "iterations": f.map.iterations,
                        "negative_log_posterior": round(f.map.value, 3), "parameters": f.design.n_params,
                        "claims_used": len(f.obs), "hessian_eigenvalues_floored": f.floored,
                        "draws_effective_share": round(f.effective, 3)}
                 for name, f in runs.items()},
        "note": "Only relative biases between claimants are identifiable: the bias priors fix their common level.",
    }
    if measured is not None:
        content["reproducibility"] = measured
    return content


def json_text(content: dict) -> str:
    return json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"


def as_of_fits(package: Loaded, config: dict) -> list[tuple[date, Fit]]:
    """The main fit rebuilt on each date by which one more source was certainly published:
    what could have been known then. No sensitivity runs, so the sensitivity range equals the band."""
    fits = []
    for known_by in sorted({date.fromisoformat(s["published_date_latest"]) for s in package.tables["sources"].rows}):
        obs, unused = observations(package, config, MAIN, known_by)
        if obs:
            fits.append((known_by, fit_observations(obs, unused, config)))
    return fits


@dataclass(frozen=True)
class Runs:
    """Every fit behind the committed tables: main, sensitivity runs and the as-of series."""

    main: Fit
    sensitivity: list
    as_of: list          # (known_by, Fit)

    def variant(self, pick) -> "Runs":
        return Runs(pick(self.main), [pick(f) for f in self.sensitivity], [(d, pick(f)) for d, f in self.as_of])

    def named(self) -> dict:
        """The runs fit.json reports, by name."""
        return {"main": self.main} | {f"{lexicon}_{bias}": f for (lexicon, bias), f in zip(SENSITIVITY, self.sensitivity)}


def outputs(package: Loaded, config: dict, runs: Runs) -> dict[Path, bytes]:
    """The fit's tables; fit.json without the measured tolerances, which need every variant."""
    names = {r["claimant_id"]: r["name"] for r in package.tables["claimants"].rows}
    return {DERIVED / "estimates.csv": table(ESTIMATE_COLUMNS, estimate_rows(runs.main, runs.sensitivity, config, None)),
            DERIVED / "estimates_as_of.csv": table(ESTIMATE_COLUMNS, [row for known_by, f in runs.as_of
                                                                      for row in estimate_rows(f, [], config, known_by)]),
            DERIVED / "claimant_bias.csv": table(BIAS_COLUMNS, bias_rows(runs.main, names)),
            DERIVED / "claim_fit.csv": table(CLAIM_COLUMNS, claim_rows(package, runs.main)),
            DERIVED / "fit.json": json_text(summary(config, runs.named())).encode("utf-8")}


@dataclass(frozen=True)
class Fitted:
    outputs: dict          # path -> bytes, as committed
    tolerances: dict       # path -> {(row key, column): tolerance}


def fitted(package: Loaded, config: dict | None = None) -> Fitted:
    """Every committed output of the fit, and the tolerance of each number in them.

    Each fit is also made again as another machine or seed could have made it
    (error_variants): the tables of those variants give each cell's tolerance
    (estimate.tolerances), and fit.json records the widest per column."""
    config = config or load_config()
    runs = Runs(run_fit(package, config), [run_fit(package, config, lexicon, bias) for lexicon, bias in SENSITIVITY],
                as_of_fits(package, config))
    variants = {id(f): error_variants(f, config) for f in [runs.main, *runs.sensitivity, *(f for _, f in runs.as_of)]}
    tables = [outputs(package, config, runs.variant(lambda f: variants[id(f)][i]))
              for i in range(1 + config["reproducibility"]["replicates"])]
    published = outputs(package, config, runs)
    # The effective number of draws behind each table: the fewest of the runs it comes from.
    effective = lambda fits: config["draws"] * min(f.effective for f in fits)
    draws = {DERIVED / "estimates.csv": effective([runs.main, *runs.sensitivity]),
             DERIVED / "estimates_as_of.csv": effective([f for _, f in runs.as_of])}
    cells, measured = {}, {"standard_errors": tolerances.contract()["standard_errors"], "columns": {}}
    for path, rule in tolerances.rules().items():
        restart, *replicates = (t[Path(path)] for t in tables)
        n = draws.get(Path(path), effective([runs.main]))
        cells[path] = tolerances.cell_tolerances(rule, published[Path(path)], restart, replicates, n)
        measured["columns"][Path(path).name] = tolerances.largest(rule, published[Path(path)], cells[path])
    published[DERIVED / "fit.json"] = json_text(summary(config, runs.named(), measured)).encode("utf-8")
    return Fitted(published, cells)


def build(package: Loaded, args) -> dict[Path, bytes]:
    config = load_config()
    if args.as_of:
        main = run_fit(package, config, known_by=args.as_of)
        sensitivity = [run_fit(package, config, lexicon, bias, args.as_of) for lexicon, bias in SENSITIVITY]
        return {DERIVED / f"estimates_as_of_{args.as_of}.csv": table(ESTIMATE_COLUMNS, estimate_rows(main, sensitivity, config, args.as_of))}
    return fitted(package, config).outputs


def main(args) -> int:
    return run_writer(args, build)
