"""``make bench``, its report: the saved seeds scored against calibrated baselines.

Reads the seeds benchmarks/run.py fitted (benchmarks/replicates/seed-S/) and writes
benchmarks/results.md. Scores are on the log1p scale: the interval score (Gneiting and
Raftery 2007) of the 50% and 90% central intervals, and their coverage; where the truth
fell among the fit's draws (the probability integral transform). Every method is scored
on the same points. The baselines state a central value; their predictive interval at a
level is central × exp(±w), with w calibrated per baseline, level and mode (as of a date;
smoother) on tuning replicates, whose seeds are apart from the reporting ones, to reach
the nominal coverage there (baselines only: no fit, so minutes). An open upper bound (the
fit's, where no known claim bounds the quantity from above) is scored at CAP people. The
report also says which model wins where both were fitted, what each seed's world drew
that no fit can know, and how the fit's time grows with the number of claims.
"""

import argparse
import math
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import (CHOSEN_ON, CONFIG, HEDGES, IN_USE, LEVELS, HORIZONS, OTHER, QUANTITIES, RANKED_KINDS, VARIANT,  # noqa: E402
                            ROOT, SCORE_DAYS, Point, Replicate, exit_status, loaded, merged, refreshed, replicate, seed_folder, shown)
from estimate.compare.baselines import BASELINES  # noqa: E402
from estimate.compare.simulate import SCENARIOS, START, SUBJECT, Scenario, simulate  # noqa: E402
from estimate.model.fit import build_design, curve_draws, pit_tenths, posterior  # noqa: E402
from estimate.package.outputs import UsageError, commit  # noqa: E402

CAP = 100_000            # people: an open upper bound is scored here, ten times the largest deployment simulated
SIZES = (50, 500, 5000)  # claims, for the time a fit takes
TUNING_SEED = 10_000     # tuning replicates: seeds TUNING_SEED + r, apart from any reporting seed
# Targets where the model is well specified (the issue that set them: "A benchmark that cannot flatter").
COVERAGE_TARGET = (0.85, 0.95)
SCORE_TARGET = 0.9


def interval_score(low, high, y, level: float):
    """Width plus 2 / alpha times any miss, on the log1p scale (alpha = 1 - level)."""
    low, high, y = np.log1p(low), np.log1p(np.minimum(high, CAP)), np.log1p(y)
    alpha = 1 - level
    return (high - low) + (2 / alpha) * np.maximum(low - y, 0) + (2 / alpha) * np.maximum(y - high, 0)


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


def seed_by_seed(each: list[Scores | None], value) -> str:
    """One cell of a value seed after seed ("0.97 / 1.00"), – where a seed's fit stated nothing."""
    return " / ".join(value(e) if e else "–" for e in each)


def coverage_90(s: Scores) -> str:
    return f"{s.coverage[0.9]:.2f}"


def ratio_90(s: Scores) -> str:
    return f"{s.ratio(0.9):.2f}"


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


def why_other_loses(scenarios: list[Scenario], results: dict, widths: dict) -> tuple[str, Scores, Scores]:
    """Why the other model does not win out of sample ("" where it wins), and both models'
    scores over every scenario's points as of a date. It wins with a lower mean 90% interval
    score there and, where the model is well specified, a 90% coverage at least the target's
    lowest (the score already charges a band too wide)."""
    points = [p for sc in scenarios for p in results[sc.name].points if p.mode == "as_of"]
    mine, theirs = scored(points, widths, IN_USE), scored(points, widths, OTHER)
    well = scored([p for sc in scenarios if sc.well_specified for p in results[sc.name].points if p.mode == "as_of"], widths, OTHER)
    if theirs.score[("fit", 0.9)] >= mine.score[("fit", 0.9)]:
        return "its mean score is not lower", mine, theirs
    if well is not None and well.coverage[0.9] < COVERAGE_TARGET[0]:
        return (f"its mean score is lower, but its 90% coverage where the model is well specified, {well.coverage[0.9]:.3f}, "
                f"is below {COVERAGE_TARGET[0]}"), mine, theirs
    return "", mine, theirs


def variant_section(scenarios: list[Scenario], by_seed: dict, results: dict, widths: dict) -> list[str]:
    """Both models, scenario by scenario, seed by seed and horizon by horizon, on the same
    points, and which wins."""
    why, mine, theirs = why_other_loses(scenarios, results, widths)
    lines = ["", f"## The variant: {OTHER} (in use: {IN_USE})", "",
             f"Every fit above was made twice on the same claims: with {VARIANT}. model.toml uses {IN_USE}. "
             f"Below 1, {OTHER} scores better.", "",
             f"| scenario | well specified | as of: {IN_USE} 90% coverage | as of: {OTHER} 90% coverage | as of: {IN_USE} IS 90% "
             f"| as of: {OTHER} IS 90% | as of: {OTHER} / {IN_USE} (90%) | as of: {OTHER} / best baseline (90%) "
             f"| smoother: {OTHER} / {IN_USE} (90%) | fits failing the gates: {IN_USE} | {OTHER} |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for scenario in scenarios:
        r = results[scenario.name]
        a, b = (scored([p for p in r.points if p.mode == "as_of"], widths, m) for m in (IN_USE, OTHER))
        sa, sb = (scored([p for p in r.points if p.mode == "smoother"], widths, m) for m in (IN_USE, OTHER))
        if a is None:
            continue
        smooth = f"{sb.score[('fit', 0.9)] / sa.score[('fit', 0.9)]:.2f}" if sa else "–"
        lines.append(f"| {scenario.name} | {'yes' if scenario.well_specified else 'no'} | {a.coverage[0.9]:.3f} | {b.coverage[0.9]:.3f} | "
                     f"{a.score[('fit', 0.9)]:.3f} | {b.score[('fit', 0.9)]:.3f} | {b.score[('fit', 0.9)] / a.score[('fit', 0.9)]:.2f} | "
                     f"{b.ratio(0.9):.2f} | {smooth} | {r.failed[IN_USE]} of {r.fits[IN_USE]} | {r.failed[OTHER]} of {r.fits[OTHER]} |")
    for well in (True, False):
        pooled = [p for sc in scenarios if sc.well_specified == well for p in results[sc.name].points if p.mode == "as_of"]
        if pooled:
            a, b = scored(pooled, widths, IN_USE), scored(pooled, widths, OTHER)
            lines += ["", f"Every {'well-specified' if well else 'misspecified'} scenario together, as of a date: {OTHER} 90% coverage "
                      f"{b.coverage[0.9]:.3f} at {b.ratio(0.9):.2f} × the best calibrated baseline ({IN_USE}: {a.coverage[0.9]:.3f} at "
                      f"{a.ratio(0.9):.2f} ×)."]
    # Pooled over every scenario as of a date, then split two ways: the seeds disagree, and
    # a prior on growth shows past the evidence first.
    well_named = {sc.name for sc in scenarios if sc.well_specified}
    seeds = list(by_seed)
    splits = {f"seed by seed ({' / '.join(map(str, seeds))})":
              [[p for sc in scenarios for p in by_seed[seed][sc.name].points if p.mode == "as_of"] for seed in seeds],
              f"by horizon ({' / '.join(f'{h} days' for h in HORIZONS)})":
              [[p for sc in scenarios for p in results[sc.name].points if p.mode == "as_of" and p.horizon == h] for h in HORIZONS]}
    score = lambda s: f"{s.score[('fit', 0.9)]:.3f}"
    for label, parts in splits.items():
        every = {m: [scored(points, widths, m) for points in parts] for m in (IN_USE, OTHER)}
        covered = {m: [scored([p for p in points if p.scenario in well_named], widths, m) for points in parts] for m in (IN_USE, OTHER)}
        lines += ["", f"As of a date, {label}: mean 90% interval score over every scenario, {IN_USE} "
                      f"{seed_by_seed(every[IN_USE], score)}, {OTHER} {seed_by_seed(every[OTHER], score)}; 90% coverage where "
                      f"the model is well specified, {IN_USE} {seed_by_seed(covered[IN_USE], coverage_90)}, {OTHER} "
                      f"{seed_by_seed(covered[OTHER], coverage_90)}."]
    lines += ["", f"Over every scenario, as of a date: {IN_USE} {mine.score[('fit', 0.9)]:.3f}, {OTHER} "
              f"{theirs.score[('fit', 0.9)]:.3f} (mean 90% interval score; 90% coverage {mine.coverage[0.9]:.3f} and "
              f"{theirs.coverage[0.9]:.3f}). " + (f"**{OTHER} wins out of sample**: model.toml should adopt it." if not why else
                                                  f"{OTHER} does not win out of sample ({why}): {IN_USE} stays in use.")]
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
             f"Written by `make bench`: `benchmarks/run.py replicate --seed S` for each reporting seed S (their scenarios' fits took "
             f"{fitting / 60:.0f} minutes in all), then `benchmarks/report.py --seeds "
             f"{' '.join(map(str, seeds))} --tuning {args.tuning}` ({seconds / 60:.0f} minutes on {__import__('os').cpu_count()} cores). Each scenario: {len(seeds)} reporting "
             f"replicate{plural} (seed{plural} {', '.join(map(str, seeds))}) and {args.tuning} tuning replicates (seeds from {TUNING_SEED}), which only "
             f"calibrate the baselines' widths ({tuning_points} points). The model's settings (`estimate/model/model.toml`) "
             "were chosen on the committed package and on the first eight scenarios below (baseline to loose_hedges) of "
             "an earlier version of this benchmark, which scored the smoother only. Two changes followed the first "
             "as-of run of this one, on reporting seeds 0 and 100 of every scenario: counts rising at a steady rate "
             "between knots, and the fit's projection past its evidence. One more followed reporting seeds 200 and 300 "
             "(model 1.2): a tighter prior on each curve's typical increment (sd 2 to 1), where their as-of fits had "
             "projected deployed counts a hundredfold past their last claim; its effect was measured on tuning seeds "
             "(baseline on 10000 and 10001, reporting_lags on 10000) before seed 400 was fitted, and no setting was "
             "changed since. After seeds 400 and 500, on which a first comparison found model 1.2 better than model 1.1 "
             "on one and worse on the other, the variant below became model 1.1's prior (sd 2) and seeds 600 and 700 "
             "were added; the four met both targets on the pool, narrowly, after two had missed them. Seeds 800 and "
             "900 were then added as a check stated before they were fitted, with nothing else changed. "
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
        lines.append(f"| {scenario.name} | {'yes' if scenario.well_specified else 'no'} | {s.points} | {s.coverage[0.9]:.3f} | "
                     f"{seed_by_seed(each, coverage_90)} | {s.coverage[0.5]:.3f} | {s.score[('fit', 0.9)]:.3f} | "
                     f"{best} ({s.score[(best, 0.9)]:.3f}) | {s.ratio(0.9):.2f} | {seed_by_seed(each, ratio_90)} | "
                     f"{s.ratio(0.5):.2f} | {sum(map(open_high, as_of)) / len(as_of):.0%} | "
                     f"{f'{closed.ratio(0.9):.2f}' if closed else '–'} | {r.failed[IN_USE]} of {r.fits[IN_USE]} | "
                     f"{verdict(s, scenario.well_specified)} |")
    for well in (True, False):
        pooled = lambda seeds_: scored([p for seed in seeds_ for sc in scenarios if sc.well_specified == well
                                        for p in by_seed[seed][sc.name].points if p.mode == "as_of"], widths)
        s, each = pooled(seeds), [pooled([seed]) for seed in seeds]
        if s:
            lines += ["", f"Every {'well-specified' if well else 'misspecified'} scenario together: 90% coverage {s.coverage[0.9]:.3f} "
                      f"(by seed: {seed_by_seed(each, coverage_90)}), fit / best calibrated baseline "
                      f"{s.ratio(0.9):.2f} at 90% (by seed: {seed_by_seed(each, ratio_90)})."]
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
              "| scenario | points | fit 90% coverage | by seed | fit IS 90% | best baseline (IS 90%) | fit / best (90%) | fit / best (50%) |",
              "|---|---|---|---|---|---|---|---|"]
    for scenario in scenarios:
        s = scored([p for p in results[scenario.name].points if p.mode == "smoother"], widths)
        if s:
            best = s.best(0.9)
            each = [scored([p for p in by_seed[seed][scenario.name].points if p.mode == "smoother"], widths) for seed in seeds]
            lines.append(f"| {scenario.name} | {s.points} | {s.coverage[0.9]:.3f} | "
                         f"{seed_by_seed(each, coverage_90)} | {s.score[('fit', 0.9)]:.3f} | "
                         f"{best} ({s.score[(best, 0.9)]:.3f}) | {s.ratio(0.9):.2f} | {s.ratio(0.5):.2f} |")
    lines += world_section(scenarios, by_seed, widths)
    lines += variant_section(scenarios, by_seed, results, widths)
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


def write_report(args) -> None:
    """``report``: the saved replicates of the seeds asked for, scored and written out."""
    began = time.perf_counter()
    repeated = sorted({seed for seed in args.seeds if args.seeds.count(seed) > 1})
    if repeated:
        raise UsageError(f"--seeds names {', '.join(map(str, repeated))} more than once — name each seed once",
                         code="bench-seed-repeated")
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
    fitting = sum(r.seconds for results in by_seed.values() for r in results.values())
    times = {} if args.no_timing else {n: timing(n) for n in SIZES}
    lines = report(args, scenarios, by_seed, widths, len(tuning), times, fitting, time.perf_counter() - began)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    commit(args.output.parent, {Path(args.output.name): ("\n".join(lines) + "\n").encode("utf-8")})
    refreshed("results", [args.output])
    print("\n".join(lines))

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="reporting seeds, each saved by benchmarks/run.py replicate --seed")
    parser.add_argument("--tuning", type=int, default=20, help="tuning replicates per scenario (baselines only: cheap)")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/results.md")
    return exit_status(write_report, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
