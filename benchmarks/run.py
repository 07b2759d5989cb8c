"""``make bench``: the fit against simulated truth and calibrated baselines, as of each date.

For every scenario of estimate.compare.simulate — the worlds the model assumes and those it does
not (revisions, a shared undercount, biases wider than the prior, reporting lags, bursts,
misread hedges, rogue claims, misleading reliability ranks) — and every replicate:

- **As of a date** (the headline): on each of SCORE_DAYS, the fit and every baseline see
  only the claims published by then, and each is scored on that day (the nowcast) and
  HORIZONS days later (the edge). Past a quantity's own last claim the fit states its
  projection: its curves run on to the last day scored, their later increments drawn
  from the model's prior given those before, so the band widens as the evidence ages
  (the package publishes no projection; this measures what one would be worth). A
  baseline carries its last figure forward. One compiled sampler serves every date of a
  replicate: the full design with later claims masked (estimate.model.fit.restricted).
- **The full-data smoother**: the fit of every claim, scored every 14 days up to the last
  claim, reported apart: it sees claims published after the days it is scored on.
- **The revision-aware variant**: every fit is made twice, with claimant biases constant
  over time and drifting (model.toml [drift]), on the same claims and points; the report
  says which model.toml uses, and whether the other wins.

Scores are on the log1p scale: the interval score (Gneiting and Raftery 2007) of the 50%
and 90% central intervals, and their coverage. Every method is scored on the same points:
a (day, quantity) where the fit or any baseline states nothing is left out for all, and
counted. The baselines state a central value; their predictive interval at a level is
central × exp(±w), with w calibrated per baseline, level and mode (as of a date; smoother)
on tuning replicates, whose seeds are apart from the reporting ones, to reach the nominal
coverage there. An open upper bound (the fit's, where no known claim bounds the quantity
from above) is scored at CAP people.

Two commands, so that replicates can be fitted one seed at a time (about an hour each) and
add up: ``replicate --seed S`` fits every scenario on seed S and writes what each method
stated at every point to benchmarks/replicates/seed-S/ (points.csv, scenarios.csv);
``report --seeds …`` scores the saved replicates of those seeds against baselines calibrated
on tuning replicates (baselines only: minutes) and writes benchmarks/results.md.
"""

import argparse
import csv
import math
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estimate.compare.baselines import BASELINES, reliability  # noqa: E402
from estimate.model.fit import Fit, build_design, chains_for, checked_fit, curve_draws, load_config, part_of, pit_tenths, posterior, restricted  # noqa: E402
from estimate.package.outputs import UsageError, commit, table  # noqa: E402
from estimate.wording.ranges import lexicon  # noqa: E402
from estimate.compare.simulate import SCENARIOS, START, SUBJECT, Claims, Scenario, simulate, truth  # noqa: E402
from estimate.package.tables import load  # noqa: E402

QUANTITIES = {"deployed": ("deployed",), "killed": ("killed",), "casualties": ("killed", "wounded")}
SCORE_DAYS = (90, 150, 210, 270)
HORIZONS = (0, 28, 56)
LEVELS = (0.5, 0.9)
CAP = 100_000            # people: an open upper bound is scored here, ten times the largest deployment simulated
SMOOTHER_STEP = 14
SIZES = (50, 500, 5000)
TUNING_SEED = 10_000     # tuning replicates: seeds TUNING_SEED + r, apart from any reporting seed
CHOSEN_ON = 200          # the model's settings were chosen looking at reporting seeds below this (0 and 100)
REPLICATES = ROOT / "benchmarks/replicates"   # one folder per reporting seed
# Targets where the model is well specified (the issue that set them: "A benchmark that cannot flatter").
COVERAGE_TARGET = (0.85, 0.95)
SCORE_TARGET = 0.9

PACKAGE, _ = load(ROOT)
HEDGES = lexicon(PACKAGE)
RANK = reliability(PACKAGE)
RANKED_KINDS = tuple(sorted((k for k in RANK if k != "unattributed"), key=RANK.get))
CONFIG = load_config() | {"start": {SUBJECT: {"date": START.isoformat(), "basis": "simulation"}}, "onset": {}}
# The model model.toml uses, and the other one: a claimant bias constant over time (drift sd
# 0), or drifting (variant_sd). Each is fitted to the same claims.
DRIFT = CONFIG["drift"]
IN_USE = "drifting biases" if DRIFT["sd"] > 0 else "constant biases"
MODELS = {"constant biases": CONFIG | {"drift": DRIFT | {"sd": 0.0}},
          "drifting biases": CONFIG | {"drift": DRIFT | {"sd": DRIFT["sd"] or DRIFT["variant_sd"]}}}
OTHER = next(m for m in MODELS if m != IN_USE)


def interval_score(low, high, y, level: float):
    """Width plus 2 / alpha times any miss, on the log1p scale (alpha = 1 - level)."""
    low, high, y = np.log1p(low), np.log1p(np.minimum(high, CAP)), np.log1p(y)
    alpha = 1 - level
    return (high - low) + (2 / alpha) * np.maximum(low - y, 0) + (2 / alpha) * np.maximum(y - high, 0)


@dataclass(frozen=True)
class Point:
    """One scored (day, quantity): what each method stated as (central, {level: (low, high)})."""

    mode: str            # "as_of" or "smoother"
    scenario: str
    quantity: str
    horizon: int         # days after the scoring day (0 in the smoother)
    truth: float
    fit: tuple           # the model in use: (central, {level: (low, high)}), or () where not run (tuning)
    baselines: dict      # name -> central value
    pit: float | None    # the share of the fit's draws below the truth (probability integral transform)
    other: tuple = ()    # the other model (OTHER), as ``fit``


def fit_band(fit: Fit, parts: tuple, when: date, own: list, bounded: bool) -> tuple | None:
    """The fit's central value, its 50% and 90% intervals and its sorted draws on ``when``
    (a projection past its quantity's last claim); None without a claim of its own."""
    if not own:
        return None
    draws = np.sort(curve_draws(fit, SUBJECT, parts, [when]).ravel())
    q = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95])
    high = lambda v: v if bounded else math.inf
    return float(q[2]), {0.5: (float(q[1]), high(float(q[3]))), 0.9: (float(q[0]), high(float(q[4])))}, draws


def baseline_centrals(figures: list, quantity: str) -> dict | None:
    """Each baseline's central value from the figures of ``quantity`` (None without any)."""
    series = sorted((f for f in figures if f.quantity == quantity), key=lambda f: (f.middle, f.claim_id))
    if not series:
        return None
    return {name: baseline(series, series, RANK).central for name, baseline in BASELINES.items()}


def fit_part(full, claims: Claims, until: date, config: dict) -> Fit:
    """The fit of the claims known in ``claims``, its curves reaching ``until``, on the full
    design's compiled sampler."""
    part = build_design(claims.observations, {}, config, "neutral", until)
    return part_of(full, part, chains_for(full, restricted(full, part), config))


@dataclass
class Replicate:
    points: list = field(default_factory=list)
    fits: dict = field(default_factory=lambda: dict.fromkeys(MODELS, 0))     # by model: fits behind the points
    failed: dict = field(default_factory=lambda: dict.fromkeys(MODELS, 0))   # of which failed their convergence gates
    left_out: int = 0      # (day, quantity) pairs some method could not state
    identity: float = 0.0  # largest |casualties - (killed + wounded)| over draws
    invariant: bool | None = None


def score_point(result: Replicate, mode: str, scenario: Scenario, quantity: str, horizon: int, day: int,
                stated: dict | None, centrals: dict | None) -> None:
    """``stated``: by model, what its fit stated ({} for tuning replicates, None where it stated nothing)."""
    if stated is None or centrals is None:
        result.left_out += 1
        return
    y = float(truth(scenario, [day])[quantity][0])
    fit, other = stated.get(IN_USE, ()), stated.get(OTHER, ())
    pit = float(np.searchsorted(fit[2], y) / len(fit[2])) if fit else None
    result.points.append(Point(mode, scenario.name, quantity, horizon, y, fit[:2], centrals, pit, other[:2]))


def bounded_above(observations: list, parts: tuple) -> bool:
    """Whether some claim bounds the quantity from above (else the fit's high is open)."""
    return any(math.isfinite(o.upper) for o in observations if set(parts) & set(o.components))


def gated(result: Replicate, fits: dict) -> None:
    for model, fit in fits.items():
        result.fits[model] += 1
        result.failed[model] += bool(checked_fit("benchmark", fit, MODELS[model]).failures)


def stated_by(fits: dict, parts: tuple, when: date, own: list, bounded: bool) -> dict | None:
    """What each model's fit stated on ``when``; None where they state nothing (no claim of its own)."""
    stated = {model: fit_band(fit, parts, when, own, bounded) for model, fit in fits.items()}
    return None if None in stated.values() else stated


def replicate(scenario: Scenario, seed: int, with_fit: bool = True) -> Replicate:
    """One replicate's points, as of each scoring day and for the smoother, each fitted by both
    models, and the smoother refitted with the claims in another order, which must not matter.
    Without the fit (tuning replicates), the points carry the baselines' centrals only."""
    claims = simulate(scenario, HEDGES, seed, RANKED_KINDS)
    result = Replicate()
    until = lambda day: START + timedelta(days=day + max(HORIZONS))
    models = MODELS if with_fit else {}
    full = {m: build_design(claims.observations, {}, config, "neutral", until(max(SCORE_DAYS))) for m, config in models.items()}
    for score_day in SCORE_DAYS:
        known = claims.known_by(START + timedelta(days=score_day))
        if not known.observations:
            continue
        fits = {m: fit_part(full[m], known, until(score_day), config) for m, config in models.items()}
        gated(result, fits)
        for quantity, parts in QUANTITIES.items():
            own = [o for o in known.observations if o.quantity == quantity]
            centrals = baseline_centrals(known.figures, quantity)
            for horizon in HORIZONS:
                day = score_day + horizon
                stated = stated_by(fits, parts, START + timedelta(days=day), own, bounded_above(known.observations, parts))
                score_point(result, "as_of", scenario, quantity, horizon, day, stated, centrals)
    # The smoother's own design ends at the last claim: the knots beyond, there only for
    # projections, would add prior-only spans (and a divergence now and then) to no purpose.
    smoothers = {m: posterior(build_design(claims.observations, {}, config, "neutral"), config) for m, config in models.items()}
    gated(result, smoothers)
    last = max(max(o.dates) for o in claims.observations)
    for quantity, parts in QUANTITIES.items():
        own = [o for o in claims.observations if o.quantity == quantity]
        for day in range(28, (last - START).days + 1, SMOOTHER_STEP):
            when = START + timedelta(days=day)
            centrals = baseline_centrals([f for f in claims.figures if f.middle <= when], quantity)
            # The smoother is scored up to each quantity's own last claim, where its estimates end.
            within = bool(own) and when <= max(o.middle for o in own)
            stated = stated_by(smoothers, parts, when, own, bounded_above(claims.observations, parts)) if within or not models else None
            score_point(result, "smoother", scenario, quantity, 0, day, stated, centrals)
    if smoothers:
        smoother = smoothers[IN_USE]
        dates = [START + timedelta(days=d) for d in range(28, 330, SMOOTHER_STEP)]
        together = curve_draws(smoother, SUBJECT, ("killed", "wounded"), dates)
        apart = curve_draws(smoother, SUBJECT, ("killed",), dates) + curve_draws(smoother, SUBJECT, ("wounded",), dates)
        result.identity = float(np.max(np.abs(together - apart)))
        shuffled = list(np.random.default_rng(seed).permutation(claims.observations))
        again = posterior(build_design(shuffled, {}, MODELS[IN_USE], "neutral"), MODELS[IN_USE])
        result.invariant = all(np.array_equal(curve_draws(smoother, SUBJECT, p, dates), curve_draws(again, SUBJECT, p, dates))
                               for p in QUANTITIES.values())
    return result


def merged(replicates) -> Replicate:
    """One scenario's replicates as one."""
    total = Replicate()
    for one in replicates:
        total.points += one.points
        for model in MODELS:
            total.fits[model] += one.fits[model]
            total.failed[model] += one.failed[model]
        total.left_out += one.left_out
        total.identity = max(total.identity, one.identity)
        if one.invariant is not None:
            total.invariant = one.invariant and total.invariant is not False
    return total


# A saved replicate: one row per point, with what each model and each baseline stated there
# (an open high is an empty cell), and one row per scenario with its counts and checks.
SLUG = {model: model.replace(" ", "_") for model in MODELS}
POINT_COLUMNS = (["scenario", "mode", "quantity", "horizon", "truth", "pit"]
                 + [f"{SLUG[m]}_{part}" for m in MODELS for part in ("central", "50_low", "50_high", "90_low", "90_high")]
                 + [f"baseline_{name}" for name in BASELINES])
SCENARIO_COLUMNS = ["scenario", "seconds", "left_out", "identity", "invariant"] + [f"{c}_{SLUG[m]}" for m in MODELS for c in ("fits", "failed")]


def seed_folder(seed: int) -> Path:
    return REPLICATES / f"seed-{seed}"


def shown(path: Path) -> str:
    """A path as an error names it: from the repository's root where it is inside."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def exact(value: float | None) -> str:
    """A number as text that reads back to the same float; empty for none or an open bound."""
    return "" if value is None or math.isinf(value) else repr(float(value))


def saved(results: dict[str, Replicate], seconds: dict[str, float]) -> dict[Path, bytes]:
    """A seed's replicates (by scenario) as the bytes of points.csv and scenarios.csv."""
    rows = []
    for result in results.values():
        for p in result.points:
            row = {"scenario": p.scenario, "mode": p.mode, "quantity": p.quantity, "horizon": p.horizon, "truth": exact(p.truth), "pit": exact(p.pit)}
            for model, (central, bands) in ((IN_USE, p.fit), (OTHER, p.other)):
                row |= {f"{SLUG[model]}_central": exact(central)} | {f"{SLUG[model]}_{round(100 * level)}_{end}": exact(bands[level][i])
                                                                      for level in LEVELS for i, end in enumerate(("low", "high"))}
            rows.append(row | {f"baseline_{name}": exact(v) for name, v in p.baselines.items()})
    scenarios = [{"scenario": name, "seconds": round(seconds[name]), "left_out": r.left_out,
                  "identity": exact(r.identity), "invariant": r.invariant}
                 | {f"{c}_{SLUG[m]}": getattr(r, c)[m] for m in MODELS for c in ("fits", "failed")} for name, r in results.items()]
    return {Path("points.csv"): table(POINT_COLUMNS, rows), Path("scenarios.csv"): table(SCENARIO_COLUMNS, scenarios)}


def rows_of(path: Path, columns: list[str], seed: int) -> list[dict]:
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            rows = list(reader)
    except FileNotFoundError:
        raise UsageError(f"{shown(path)} is missing: fit that seed first (make bench, or "
                         f"benchmarks/run.py replicate --seed {seed})", code="bench-replicate-missing") from None
    if reader.fieldnames != columns:
        raise UsageError(f"{shown(path)}, row 1: its columns are not those this benchmark writes (an older "
                         f"version?) — refit that seed (benchmarks/run.py replicate --seed {seed})", code="bench-replicate-columns")
    return rows


def loaded(seed: int) -> dict[str, Replicate]:
    """The replicates saved for ``seed``, by scenario, as they were fitted."""
    folder = seed_folder(seed)
    results = {}
    for row in rows_of(folder / "scenarios.csv", SCENARIO_COLUMNS, seed):
        results[row["scenario"]] = Replicate(fits={m: int(row[f"fits_{SLUG[m]}"]) for m in MODELS},
                                             failed={m: int(row[f"failed_{SLUG[m]}"]) for m in MODELS},
                                             left_out=int(row["left_out"]), identity=float(row["identity"]),
                                             invariant={"true": True, "false": False}.get(row["invariant"]))
    number = lambda text, empty: float(text) if text else empty
    for row in rows_of(folder / "points.csv", POINT_COLUMNS, seed):
        stated = {m: (float(row[f"{SLUG[m]}_central"]),
                      {level: (float(row[f"{SLUG[m]}_{round(100 * level)}_low"]), number(row[f"{SLUG[m]}_{round(100 * level)}_high"], math.inf))
                       for level in LEVELS}) for m in MODELS}
        results[row["scenario"]].points.append(Point(row["mode"], row["scenario"], row["quantity"], int(row["horizon"]), float(row["truth"]),
                                                     stated[IN_USE], {name: float(row[f"baseline_{name}"]) for name in BASELINES},
                                                     number(row["pit"], None), stated[OTHER]))
    return results


def calibrated_widths(points: list[Point]) -> dict:
    """(mode, baseline, level) -> w: the level-quantile of |log1p(truth) - log1p(central)| over
    the tuning points, so that central × exp(±w) covers that share of them."""
    widths = {}
    for mode in ("as_of", "smoother"):
        chosen = [p for p in points if p.mode == mode]
        for name in BASELINES:
            errors = np.abs(np.log1p([p.truth for p in chosen]) - np.log1p([p.baselines[name] for p in chosen]))
            for level in LEVELS:
                widths[(mode, name, level)] = float(np.quantile(errors, level))
    return widths


def baseline_interval(central: float, w: float) -> tuple[float, float]:
    return math.expm1(math.log1p(central) - w), math.expm1(math.log1p(central) + w)


@dataclass
class Scores:
    """Mean interval scores and coverage of each method over some points."""

    points: int
    coverage: dict       # level -> the fit's coverage
    score: dict          # (method, level) -> mean interval score

    def best(self, level: float) -> str:
        return min(BASELINES, key=lambda b: self.score[(b, level)])

    def ratio(self, level: float) -> float:
        return self.score[("fit", level)] / self.score[(self.best(level), level)]


def open_high(p: Point) -> bool:
    """Whether the fit left the 90% interval open upward (no known claim bounded it)."""
    return math.isinf(p.fit[1][0.9][1])


def scored(points: list[Point], widths: dict, model: str = IN_USE) -> Scores | None:
    """The scores of ``model``'s fit ("fit") and of every baseline over the points."""
    if not points:
        return None
    coverage, score = {}, {}
    y = np.array([p.truth for p in points])
    stated = [p.fit if model == IN_USE else p.other for p in points]
    for level in LEVELS:
        low = np.array([f[1][level][0] for f in stated])
        high = np.array([f[1][level][1] for f in stated])
        coverage[level] = float(np.mean((low <= y) & (y <= np.minimum(high, CAP))))
        score[("fit", level)] = float(np.mean(interval_score(low, high, y, level)))
        for name in BASELINES:
            bounds = np.array([baseline_interval(p.baselines[name], widths[(p.mode, name, level)]) for p in points])
            score[(name, level)] = float(np.mean(interval_score(bounds[:, 0], bounds[:, 1], y, level)))
    return Scores(len(points), coverage, score)


def timing(n: int) -> float:
    scenario = Scenario("timing", claims=n, relay_share=0.0)
    claims = simulate(scenario, HEDGES, 7)
    began = time.perf_counter()
    fit = posterior(build_design(claims.observations, {}, CONFIG, "neutral"), CONFIG)
    curve_draws(fit, SUBJECT, QUANTITIES["casualties"], [START + timedelta(days=d) for d in range(0, 330, 14)])
    return time.perf_counter() - began


def verdict(s: Scores, well_specified: bool) -> str:
    if not well_specified:
        return "reported"
    ok = COVERAGE_TARGET[0] <= s.coverage[0.9] <= COVERAGE_TARGET[1] and s.ratio(0.9) <= SCORE_TARGET
    return "meets the targets" if ok else "**misses a target**"


def other_wins(scenarios: list[Scenario], results: dict, widths: dict) -> tuple[bool, Scores, Scores]:
    """Whether the other model wins out of sample: a lower mean 90% interval score as of a
    date over every scenario's points, with its 90% coverage where the model is well
    specified at least the target's lowest (the score already charges a band too wide).
    Also both models' scores over those points."""
    points = [p for sc in scenarios for p in results[sc.name].points if p.mode == "as_of"]
    mine, theirs = scored(points, widths, IN_USE), scored(points, widths, OTHER)
    well = scored([p for sc in scenarios if sc.well_specified for p in results[sc.name].points if p.mode == "as_of"], widths, OTHER)
    covered = well is None or well.coverage[0.9] >= COVERAGE_TARGET[0]
    return theirs.score[("fit", 0.9)] < mine.score[("fit", 0.9)] and covered, mine, theirs


def variant_section(scenarios: list[Scenario], results: dict, widths: dict) -> list[str]:
    """Both models, scenario by scenario, on the same points, and which wins."""
    wins, mine, theirs = other_wins(scenarios, results, widths)
    lines = ["", f"## Constant or drifting claimant biases (in use: {IN_USE})", "",
             f"Every fit above was made twice on the same claims: with each claimant's bias constant over time, and "
             f"drifting at its own rate (model.toml [drift], a drift's prior sd {MODELS['drifting biases']['drift']['sd']} "
             f"a year, set before any run). model.toml uses {IN_USE}. Below 1, {OTHER} scores better.", "",
             f"| scenario | well specified | as of: {IN_USE} 90% coverage | as of: {OTHER} 90% coverage | as of: {IN_USE} IS 90% "
             f"| as of: {OTHER} IS 90% | as of: {OTHER} / {IN_USE} (90%) | smoother: {OTHER} / {IN_USE} (90%) "
             f"| fits failing the gates: {IN_USE} | {OTHER} |", "|---|---|---|---|---|---|---|---|---|---|"]
    for scenario in scenarios:
        r = results[scenario.name]
        a, b = (scored([p for p in r.points if p.mode == "as_of"], widths, m) for m in (IN_USE, OTHER))
        sa, sb = (scored([p for p in r.points if p.mode == "smoother"], widths, m) for m in (IN_USE, OTHER))
        if a is None:
            continue
        smooth = f"{sb.score[('fit', 0.9)] / sa.score[('fit', 0.9)]:.2f}" if sa else "–"
        lines.append(f"| {scenario.name} | {'yes' if scenario.well_specified else 'no'} | {a.coverage[0.9]:.3f} | {b.coverage[0.9]:.3f} | "
                     f"{a.score[('fit', 0.9)]:.3f} | {b.score[('fit', 0.9)]:.3f} | {b.score[('fit', 0.9)] / a.score[('fit', 0.9)]:.2f} | "
                     f"{smooth} | {r.failed[IN_USE]} of {r.fits[IN_USE]} | {r.failed[OTHER]} of {r.fits[OTHER]} |")
    lines += ["", f"Over every scenario, as of a date: {IN_USE} {mine.score[('fit', 0.9)]:.3f}, {OTHER} "
              f"{theirs.score[('fit', 0.9)]:.3f} (mean 90% interval score; 90% coverage {mine.coverage[0.9]:.3f} and "
              f"{theirs.coverage[0.9]:.3f}). " + (f"**{OTHER} wins out of sample**: model.toml should adopt it." if wins else
                                                  f"{OTHER} does not win out of sample: {IN_USE} stays in use.")]
    return lines


def world_section(scenarios: list[Scenario], by_seed: dict, widths: dict) -> list[str]:
    """What each seed's baseline world drew and the fit cannot know: the errors its loss claims share."""
    world = next((s for s in scenarios if s.name == SCENARIOS[0].name), None)
    if world is None:
        return []
    lines = ["", "## Each seed's world", "",
             f"What the fit cannot know: the error its claims share. In the {world.name} scenario of each seed, the error "
             "of the loss claims (killed, wounded, casualties) as the simulator drew it (log scale: claimant bias, unattributed "
             "bias, noise), and the fit's 90% coverage there. Only relative biases can be estimated: the common level of the "
             "counts rests on the bias prior and on the unattributed claims, which have no claimant bias, so that a few "
             "unattributed claims far off move it.", "",
             "| seed | loss claims | their mean error | attributed: mean error | unattributed | unattributed: mean error | "
             "unattributed: lowest | as of: 90% coverage | smoother: 90% coverage |", "|---|---|---|---|---|---|---|---|---|"]
    for seed, results in by_seed.items():
        claims = simulate(world, HEDGES, seed, RANKED_KINDS)
        losses = [o for o in claims.observations if o.quantity != "deployed"]
        error = lambda rows: [claims.errors[o.claim_id] for o in rows]
        attributed, unattributed = error([o for o in losses if o.bias_key]), error([o for o in losses if not o.bias_key])
        mean = lambda values: f"{np.mean(values):+.2f}" if values else "–"
        coverage = [scored([p for p in results[world.name].points if p.mode == mode], widths) for mode in ("as_of", "smoother")]
        lines.append(f"| {seed} | {len(losses)} | {mean(error(losses))} | {mean(attributed)} | {len(unattributed)} | {mean(unattributed)} | "
                     f"{f'{min(unattributed):+.2f}' if unattributed else '–'} | "
                     + " | ".join(f"{c.coverage[0.9]:.2f}" if c else "–" for c in coverage) + " |")
    return lines


def report(args, scenarios: list[Scenario], by_seed: dict[int, dict[str, Replicate]], widths: dict, tuning_points: int,
           times: dict, fitting: float, seconds: float) -> list[str]:
    """results.md's lines: ``by_seed`` holds each reporting seed's replicates by scenario;
    ``fitting`` is the seconds their fits took, ``seconds`` those of the report."""
    seeds = list(by_seed)
    results = {sc.name: merged(by_seed[seed][sc.name] for seed in seeds) for sc in scenarios}
    unseen = [s for s in seeds if s >= CHOSEN_ON]
    plural = "s" if len(seeds) > 1 else ""
    lines = ["# Benchmark results", "",
             f"Written by `make bench`: `benchmarks/run.py replicate --seed S` for each reporting seed S (their fits took "
             f"{fitting / 60:.0f} minutes in all on {__import__('os').cpu_count()} cores), then `benchmarks/run.py report --seeds "
             f"{' '.join(map(str, seeds))} --tuning {args.tuning}` ({seconds / 60:.0f} minutes). Each scenario: {len(seeds)} reporting "
             f"replicate{plural} (seed{plural} {', '.join(map(str, seeds))}) and {args.tuning} tuning replicates (seeds from {TUNING_SEED}), which only "
             f"calibrate the baselines' widths ({tuning_points} points). The model's settings (`estimate/model/model.toml`) "
             "were chosen on the committed package and on the first eight scenarios below (baseline to loose_hedges) of "
             "an earlier version of this benchmark, which scored the smoother only. Two changes followed the first "
             "as-of run of this one, on reporting seeds 0 and 100 of every scenario: counts rising at a steady rate "
             "between knots, and the fit's projection past its evidence. The drifting biases' prior was set before any run. "
             + (f"Every reporting seed here is out of sample: no setting was chosen on seed{plural} {', '.join(map(str, unseen))}."
                if unseen == seeds else f"Seeds {', '.join(map(str, sorted(set(seeds) - set(unseen))))} are not out of sample.")
             + " A seed draws one world (claimants, biases, claims) that every scenario then varies, so the points of a seed "
             "move together: the spread across seeds, not the number of points, says how far a coverage can be trusted.", "",
             f"Targets where the model is well specified: 90% coverage within {COVERAGE_TARGET[0]}–{COVERAGE_TARGET[1]} "
             f"and a 90% interval score at most {SCORE_TARGET} × the best calibrated baseline's. Scores on the log1p "
             f"scale; lower is better; an open upper bound is scored at {CAP:,} people.", "",
             "## As of a date: only the claims published by then", "",
             f"Scored on days {', '.join(map(str, SCORE_DAYS))} after the start and {', '.join(map(str, HORIZONS[1:]))} "
             "days after each. Past a quantity's last claim the fit states its projection (its curves run on under the "
             "model's prior for later increments); a baseline carries its last statement forward.", "",
             "| scenario | well specified | points | fit 90% coverage | by seed | fit 50% coverage | fit IS 90% | best baseline (IS 90%) "
             "| fit / best (90%) | by seed | fit / best (50%) | fit's high open | fit / best (90%), closed points | fits failing the gates | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for scenario in scenarios:
        r = results[scenario.name]
        s = scored([p for p in r.points if p.mode == "as_of"], widths)
        if s is None:
            continue
        best = s.best(0.9)
        as_of = [p for p in r.points if p.mode == "as_of"]
        closed = scored([p for p in as_of if not open_high(p)], widths)
        each = [scored([p for p in by_seed[seed][scenario.name].points if p.mode == "as_of"], widths) for seed in seeds]
        spread = lambda value: " / ".join(value(e) if e else "–" for e in each)
        lines.append(f"| {scenario.name} | {'yes' if scenario.well_specified else 'no'} | {s.points} | {s.coverage[0.9]:.3f} | "
                     f"{spread(lambda e: f'{e.coverage[0.9]:.2f}')} | {s.coverage[0.5]:.3f} | {s.score[('fit', 0.9)]:.3f} | "
                     f"{best} ({s.score[(best, 0.9)]:.3f}) | {s.ratio(0.9):.2f} | {spread(lambda e: f'{e.ratio(0.9):.2f}')} | "
                     f"{s.ratio(0.5):.2f} | {sum(map(open_high, as_of)) / len(as_of):.0%} | "
                     f"{f'{closed.ratio(0.9):.2f}' if closed else '–'} | {r.failed[IN_USE]} of {r.fits[IN_USE]} | "
                     f"{verdict(s, scenario.well_specified)} |")
    for well in (True, False):
        pooled = lambda seeds_: scored([p for seed in seeds_ for sc in scenarios if sc.well_specified == well
                                        for p in by_seed[seed][sc.name].points if p.mode == "as_of"], widths)
        s, each = pooled(seeds), [pooled([seed]) for seed in seeds]
        if s:
            lines += ["", f"Every {'well-specified' if well else 'misspecified'} scenario together: 90% coverage {s.coverage[0.9]:.3f} "
                      f"(by seed: {' / '.join(f'{e.coverage[0.9]:.2f}' for e in each)}), fit / best calibrated baseline "
                      f"{s.ratio(0.9):.2f} at 90% (by seed: {' / '.join(f'{e.ratio(0.9):.2f}' for e in each)})."]
    lines += ["", "By horizon, over every scenario (fit / best baseline at 90%; the fit's 90% coverage):", "",
              "| days after the scoring day | well-specified: coverage | well-specified: fit / best | misspecified: coverage | "
              "misspecified: fit / best |", "|---|---|---|---|---|"]
    for horizon in HORIZONS:
        cells = []
        for well in (True, False):
            s = scored([p for sc in scenarios if sc.well_specified == well for p in results[sc.name].points
                        if p.mode == "as_of" and p.horizon == horizon], widths)
            cells += [f"{s.coverage[0.9]:.3f}", f"{s.ratio(0.9):.2f}"] if s else ["–", "–"]
        lines.append(f"| {horizon} | " + " | ".join(cells) + " |")
    lines += ["", "Fit / each calibrated baseline, 90% interval score, as of a date (below 1: the fit is better):", "",
              "| scenario | " + " | ".join(BASELINES) + " |", "|---|" + "---|" * len(BASELINES)]
    for scenario in scenarios:
        s = scored([p for p in results[scenario.name].points if p.mode == "as_of"], widths)
        if s:
            lines.append(f"| {scenario.name} | " + " | ".join(f"{s.score[('fit', 0.9)] / s.score[(b, 0.9)]:.2f}" for b in BASELINES) + " |")
    lines += ["", "## The full-data smoother: every claim, scored up to the last", "",
              "| scenario | points | fit 90% coverage | fit IS 90% | best baseline (IS 90%) | fit / best (90%) | fit / best (50%) |",
              "|---|---|---|---|---|---|---|"]
    for scenario in scenarios:
        s = scored([p for p in results[scenario.name].points if p.mode == "smoother"], widths)
        if s:
            best = s.best(0.9)
            lines.append(f"| {scenario.name} | {s.points} | {s.coverage[0.9]:.3f} | {s.score[('fit', 0.9)]:.3f} | "
                         f"{best} ({s.score[(best, 0.9)]:.3f}) | {s.ratio(0.9):.2f} | {s.ratio(0.5):.2f} |")
    lines += world_section(scenarios, by_seed, widths)
    lines += variant_section(scenarios, results, widths)
    lines += ["", "## Calibration beyond coverage", "",
              "Where the truth fell among the fit's draws (the probability integral transform), as the share of points "
              f"in each tenth: a calibrated fit puts 0.10 in each; a pile at the ends is a band too narrow or off centre.", "",
              "| fit, scenarios | " + " | ".join(f"{b / 10:.1f}–{(b + 1) / 10:.1f}" for b in range(10)) + " | points |", "|---|" + "---|" * 11]
    for mode, label in (("as_of", "as of a date"), ("smoother", "smoother")):
        for well in (True, False):
            pits = [p.pit for sc in scenarios if sc.well_specified == well for p in results[sc.name].points
                    if p.mode == mode and p.pit is not None]
            if pits:
                shares = pit_tenths([(v, v) for v in pits])
                lines.append(f"| {label}, {'well specified' if well else 'misspecified'} | " + " | ".join(f"{v:.2f}" for v in shares)
                             + f" | {len(pits)} |")
    lines += ["", "## Calibrated baseline widths", "",
              "Each baseline's interval is central × exp(±w), w the share of tuning points' |log error| at the level:", "",
              "| baseline | as of a date, 50% | as of a date, 90% | smoother, 50% | smoother, 90% |", "|---|---|---|---|---|"]
    for name in BASELINES:
        lines.append(f"| {name} | " + " | ".join(f"{widths[(m, name, level)]:.2f}" for m in ("as_of", "smoother") for level in LEVELS) + " |")
    left_out = sum(r.left_out for r in results.values())
    identity = sum(r.identity > 0 for r in results.values())  # scenarios with a replicate that breaks it
    invariant = all(r.invariant for r in results.values() if r.invariant is not None)
    lines += ["", "## Checks", "",
              f"- Points left out because the fit or a baseline stated nothing there: {left_out}.",
              f"- Scenarios with a replicate whose casualties differ from killed + wounded in some draw: {identity}.",
              f"- Every replicate's smoother refitted with its claims shuffled: "
              f"{'identical draws' if invariant else '**different draws**'}."]
    if times:
        lines += ["", "| claims | fit time (s) | time per claim relative to 50 claims |", "|---|---|---|"]
        lines += [f"| {n} | {times[n]:.1f} | {(times[n] / n) / (times[SIZES[0]] / SIZES[0]):.2f} |" for n in SIZES]
    return lines


def fit_seed(args) -> None:
    """``replicate``: every scenario on one seed, saved."""
    scenarios = [s for s in SCENARIOS if not args.scenarios or s.name in args.scenarios]
    results, seconds = {}, {}
    for scenario in scenarios:
        began = time.perf_counter()
        results[scenario.name] = replicate(scenario, args.seed)
        seconds[scenario.name] = time.perf_counter() - began
        print(f"seed {args.seed}, {scenario.name}: {len(results[scenario.name].points)} points, {seconds[scenario.name]:.0f} s",
              file=sys.stderr, flush=True)
    folder = seed_folder(args.seed)
    folder.mkdir(parents=True, exist_ok=True)
    commit(folder, saved(results, seconds))


def write_report(args) -> None:
    """``report``: the saved replicates of the seeds asked for, scored and written out."""
    began = time.perf_counter()
    by_seed = {seed: loaded(seed) for seed in args.seeds}
    names = list(by_seed[args.seeds[0]])
    for seed, results in by_seed.items():
        if list(results) != names:
            raise UsageError(f"{shown(seed_folder(seed) / 'scenarios.csv')} holds other scenarios than seed "
                             f"{args.seeds[0]}'s — refit it with every scenario (benchmarks/run.py replicate --seed {seed})",
                             code="bench-scenarios-differ")
    scenarios = [s for s in SCENARIOS if s.name in names]
    tuning = [p for s in scenarios for r in range(args.tuning) for p in replicate(s, TUNING_SEED + r, with_fit=False).points]
    widths = calibrated_widths(tuning)
    fitting = sum(float(row["seconds"]) for seed in args.seeds for row in rows_of(seed_folder(seed) / "scenarios.csv", SCENARIO_COLUMNS, seed))
    times = {} if args.no_timing else {n: timing(n) for n in SIZES}
    lines = report(args, scenarios, by_seed, widths, len(tuning), times, fitting, time.perf_counter() - began)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    commit(args.output.parent, {Path(args.output.name): ("\n".join(lines) + "\n").encode("utf-8")})
    print("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("replicate", help="fit every scenario on one reporting seed (about an hour) and save what each method stated")
    one.add_argument("--seed", type=int, required=True, help=f"the model's settings were chosen on seeds below {CHOSEN_ON}: use others")
    one.add_argument("--scenarios", nargs="*", help="only these scenarios (default: all)")
    every = commands.add_parser("report", help="score the saved replicates of these seeds and write the results")
    every.add_argument("--seeds", type=int, nargs="+", required=True, help="reporting seeds, each saved by replicate --seed")
    every.add_argument("--tuning", type=int, default=20, help="tuning replicates per scenario (baselines only: cheap)")
    every.add_argument("--no-timing", action="store_true")
    every.add_argument("--output", type=Path, default=ROOT / "benchmarks/results.md")
    args = parser.parse_args(argv)
    try:
        fit_seed(args) if args.command == "replicate" else write_report(args)
    except UsageError as error:
        print(f"benchmarks/run.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
