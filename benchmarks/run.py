"""``make bench``, its fits: every scenario of one reporting seed, fitted and saved.

For every scenario of estimate.compare.simulate — the worlds the model assumes and those it does
not (revisions, a shared undercount, biases wider than the prior, reporting lags, bursts,
misread hedges, rogue claims, misleading reliability ranks) — on one seed:

- **As of a date** (the headline): on each of SCORE_DAYS, the fit and every baseline see
  only the claims published by then, and each states its value on that day (the nowcast)
  and HORIZONS days later (the edge). Past a quantity's own last claim the fit states its
  projection: its curves run on to the last day scored, their later increments drawn
  from the model's prior given those before, so the band widens as the evidence ages
  (the package publishes no projection; this measures what one would be worth). A
  baseline carries its last figure forward. One compiled sampler serves every date of a
  replicate: the full design with later claims masked (estimate.model.fit.restricted).
- **The full-data smoother**: the fit of every claim, every 14 days up to the last claim,
  reported apart: it sees claims published after the days it is scored on.
- **The variant**: every fit is made twice, on the same claims and points, with one
  setting of model.toml at two values (VARIANT): now the prior on each curve's typical
  increment, at model 1.2's value and at model 1.1's. Variants compared so before and no
  longer run (README, "Benchmark"): biases drifting over time ([drift], the
  revision-aware variant; seeds 200 and 300) and the claimants' bias spread learnt from
  the claims ([bias_spread]; seeds 200 to 500). Neither won out of sample.

A (day, quantity) where the fit or any baseline states nothing is left out for all, and
counted. ``benchmarks/run.py replicate --seed S`` (about an hour on 2 cores) writes what
each method stated at every point to benchmarks/replicates/seed-S/ (points.csv,
scenarios.csv), so that seeds fitted in different runs add up; benchmarks/report.py scores
them (benchmarks/results.md). The two are apart so that a change to the report's scoring or
wording never refits a seed.
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
from estimate.model.fit import Fit, build_design, chains_for, checked_fit, curve_draws, load_config, part_of, posterior, restricted  # noqa: E402
from estimate.package import stamps  # noqa: E402
from estimate.package.outputs import UsageError, commit, table  # noqa: E402
from estimate.wording.ranges import lexicon  # noqa: E402
from estimate.compare.simulate import SCENARIOS, START, SUBJECT, Claims, Scenario, simulate, truth  # noqa: E402
from estimate.package.tables import load  # noqa: E402

QUANTITIES = {"deployed": ("deployed",), "killed": ("killed",), "casualties": ("killed", "wounded")}
SCORE_DAYS = (90, 150, 210, 270)
HORIZONS = (0, 28, 56)
LEVELS = (0.5, 0.9)
SMOOTHER_STEP = 14
CHOSEN_ON = 400          # the model's settings were chosen looking at reporting seeds below this (0 to 300)
REPLICATES = ROOT / "benchmarks/replicates"   # one folder per reporting seed

PACKAGE, _ = load(ROOT)
HEDGES = lexicon(PACKAGE)
RANK = reliability(PACKAGE)
RANKED_KINDS = tuple(sorted((k for k in RANK if k != "unattributed"), key=RANK.get))
CONFIG = load_config() | {"start": {SUBJECT: {"date": START.isoformat(), "basis": "simulation"}}, "onset": {}}
# The benchmark's variant: model.toml with one setting at another value. Every fit is made
# with both, on the same claims and points; the report says which wins out of sample, and
# model.toml should take the winner (VARIANT_VALUE then becomes the value it leaves). Now:
# the prior sd of each curve's typical increment level: 1 in model 1.2 (chosen on tuning
# seeds after reporting seeds 200 and 300), 2 in model 1.1. Models are named by the value
# and ordered by name, and what the report prints names no version, so that adopting the
# variant means editing model.toml and VARIANT_VALUE only, and leaves the saved seeds'
# columns as they are.
SECTION, SETTING, VARIANT_VALUE = "increments", "level_mean_sd", 2.0


def model_named(value: float) -> str:
    return f"{SETTING} {value:g}"


IN_USE, OTHER = model_named(CONFIG[SECTION][SETTING]), model_named(VARIANT_VALUE)
if IN_USE == OTHER:
    same = UsageError(f"VARIANT_VALUE is the value model.toml gives [{SECTION}] {SETTING} ({VARIANT_VALUE:g}): "
                      "set it to the value to compare with", code="bench-variant-same")
    sys.exit(f"benchmarks/run.py: {same}")
MODELS = dict(sorted({IN_USE: CONFIG, OTHER: CONFIG | {SECTION: CONFIG[SECTION] | {SETTING: VARIANT_VALUE}}}.items()))
VARIANT = (f"model.toml's [{SECTION}] {SETTING} at {CONFIG[SECTION][SETTING]:g} and at {VARIANT_VALUE:g}: the prior sd of "
           "the level of each curve's typical increment on the log scale, which bounds how fast "
           "a curve may keep growing where no claim speaks")


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
    seconds: int = 0       # wall time of its fits


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
        total.seconds += one.seconds
        total.identity = max(total.identity, one.identity)
        if one.invariant is not None:
            total.invariant = one.invariant and total.invariant is not False
    return total


# A saved replicate: one row per point, with what each model and each baseline stated there
# (an open high is an empty cell), and one row per scenario with its counts and checks.
SLUG = {model: model.replace(" ", "_") for model in MODELS}
ENDS = ("low", "high")


def column(model: str, level: float, end: str) -> str:
    """points.csv's column for one end of a model's interval at a level: level_mean_sd_1_90_low."""
    return f"{SLUG[model]}_{round(100 * level)}_{end}"


POINT_COLUMNS = (["scenario", "mode", "quantity", "horizon", "truth", "pit"]
                 + [name for m in MODELS for name in [f"{SLUG[m]}_central"] + [column(m, level, end) for level in LEVELS for end in ENDS]]
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


def saved(results: dict[str, Replicate]) -> dict[Path, bytes]:
    """A seed's replicates (by scenario) as the bytes of points.csv and scenarios.csv."""
    rows = []
    for result in results.values():
        for p in result.points:
            row = {"scenario": p.scenario, "mode": p.mode, "quantity": p.quantity, "horizon": p.horizon, "truth": exact(p.truth), "pit": exact(p.pit)}
            for model, (central, bands) in ((IN_USE, p.fit), (OTHER, p.other)):
                row |= {f"{SLUG[model]}_central": exact(central)} | {column(model, level, end): exact(bands[level][i])
                                                                      for level in LEVELS for i, end in enumerate(ENDS)}
            rows.append(row | {f"baseline_{name}": exact(v) for name, v in p.baselines.items()})
    scenarios = [{"scenario": name, "seconds": r.seconds, "left_out": r.left_out,
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
                                             invariant={"true": True, "false": False}.get(row["invariant"]), seconds=int(row["seconds"]))
    number = lambda text, empty: float(text) if text else empty
    for row in rows_of(folder / "points.csv", POINT_COLUMNS, seed):
        stated = {m: (float(row[f"{SLUG[m]}_central"]),
                      {level: (float(row[column(m, level, "low")]), number(row[column(m, level, "high")], math.inf))
                       for level in LEVELS}) for m in MODELS}
        results[row["scenario"]].points.append(Point(row["mode"], row["scenario"], row["quantity"], int(row["horizon"]), float(row["truth"]),
                                                     stated[IN_USE], {name: float(row[f"baseline_{name}"]) for name in BASELINES},
                                                     number(row["pit"], None), stated[OTHER]))
    return results


def fit_seed(args) -> None:
    """``replicate``: every scenario on one seed (or those asked for, replacing only theirs
    among the seed's saved scenarios), saved."""
    unknown = sorted(set(args.scenarios or ()) - {s.name for s in SCENARIOS})
    if unknown:
        raise UsageError(f"--scenarios: no scenario is called {', '.join(unknown)} — choose among "
                         f"{', '.join(s.name for s in SCENARIOS)}", code="bench-scenario-unknown")
    folder = seed_folder(args.seed)
    results = loaded(args.seed) if args.scenarios and (folder / "scenarios.csv").exists() else {}
    for scenario in SCENARIOS:
        if args.scenarios and scenario.name not in args.scenarios:
            continue
        began = time.perf_counter()
        results[scenario.name] = replicate(scenario, args.seed)
        results[scenario.name].seconds = round(time.perf_counter() - began)
        print(f"seed {args.seed}, {scenario.name}: {len(results[scenario.name].points)} points, {results[scenario.name].seconds} s",
              file=sys.stderr, flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    written = commit(folder, saved({s.name: results[s.name] for s in SCENARIOS if s.name in results}))
    refreshed(f"seed-{args.seed}", [folder / p for p in written])


def refreshed(stamp: str, written: list[Path]) -> None:
    """A benchmark run directly, not by make, records its new outputs in its stamp where one
    lists exactly them (estimate.package.stamps.refresh): make bench will not run it again."""
    stamps.refresh(ROOT, stamp, [shown(p) for p in written], stamps.BENCH_STAMPS)


def exit_status(command, args) -> int:
    """Run a benchmark command: 0, or 2 with its refusal on standard error, named by its script."""
    try:
        command(args)
    except UsageError as error:
        print(f"benchmarks/{Path(sys.modules[command.__module__].__file__).name}: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("replicate", help="fit every scenario on one reporting seed (about an hour) and save what each method stated")
    one.add_argument("--seed", type=int, required=True, help=f"the model's settings were chosen on seeds below {CHOSEN_ON}: use others")
    one.add_argument("--scenarios", nargs="*", help="only these scenarios, replacing theirs among the seed's saved ones (default: all)")
    return exit_status(fit_seed, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
