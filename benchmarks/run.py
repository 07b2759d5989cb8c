"""``make bench``: calibration against simulated truth, comparison with the baselines, speed.

For every scenario of estimate.simulate and every replicate, the fit (its posterior by
NUTS: main lexicon, neutral bias priors) and the six baselines estimate deployed, killed
and casualties every 14 days up to the last claim; the truth is known.
Reported: coverage of the fit's 90% band; the mean interval score of the 90% interval on
the log1p scale (width plus 20 times any miss; an open upper bound counts as 10 million)
relative to each baseline; runs that fail the convergence gates; monotonicity and
identity violations; invariance under shuffled rows; fit time by size. Writes benchmarks/results.md.
"""

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estimate.baselines import BASELINES, reliability  # noqa: E402
from estimate.fit import build_design, checked_fit, curve_draws, load_config, posterior, quantiles  # noqa: E402
from estimate.ranges import lexicon  # noqa: E402
from estimate.simulate import SCENARIOS, START, SUBJECT, Scenario, simulate, truth  # noqa: E402
from estimate.outputs import commit  # noqa: E402
from estimate.tables import load  # noqa: E402

QUANTITIES = {"deployed": ("deployed",), "killed": ("killed",), "casualties": ("killed", "wounded")}
ALPHA = 0.1
OPEN_HIGH = 1e7
INVARIANCE_REPLICATES = 3
SIZES = (50, 500, 5000)

PACKAGE, _ = load(ROOT)
HEDGES = lexicon(PACKAGE)
RANK = reliability(PACKAGE)
CONFIG = load_config() | {"start": {SUBJECT: {"date": START.isoformat(), "basis": "simulation"}}, "onset": {}}


def interval_score(low, high, y):
    low, high, y = np.log1p(low), np.log1p(np.minimum(high, OPEN_HIGH)), np.log1p(y)
    return (high - low) + (2 / ALPHA) * np.maximum(low - y, 0) + (2 / ALPHA) * np.maximum(y - high, 0)


def fitted(observations):
    return posterior(build_design(observations, {}, CONFIG, "neutral"), CONFIG)


def bands(fit, parts, dates):
    return quantiles(curve_draws(fit, SUBJECT, parts, dates))


def replicate(args):
    scenario, seed = args
    claims = simulate(scenario, HEDGES, seed)
    fit = fitted(claims.observations)
    last = max(max(o.dates) for o in claims.observations)
    dates = [START + timedelta(days=d) for d in range(28, (last - START).days + 1, 14)]
    days = np.array([(d - START).days for d in dates])
    true = truth(scenario, days)
    result = {"covered": 0, "points": 0, "scores": {}, "monotone": 0, "identity": 0.0, "invariant": None,
              "failed_gates": bool(checked_fit("benchmark", fit, CONFIG).failures)}
    for quantity, parts in QUANTITIES.items():
        low, central, high = bands(fit, parts, dates)
        y = true[quantity]
        result["covered"] += int(np.sum((low <= y) & (y <= high)))
        result["points"] += len(dates)
        published = np.array([low, central, high])
        result["monotone"] += int(np.sum(np.diff(published, axis=1) < -1e-9))
        figures = sorted((f for f in claims.figures if f.quantity == quantity), key=lambda f: (f.middle, f.claim_id))
        for j, day in enumerate(dates):
            known = [f for f in figures if f.middle <= day]
            if not known:
                continue
            scores = {"fit": interval_score(low[j], high[j], y[j])}
            for name, baseline in BASELINES.items():
                e = baseline(known, figures, RANK)
                scores[name] = interval_score(e.low, e.high, y[j])
            for name, s in scores.items():
                result["scores"].setdefault(name, []).append(float(s))
    together = curve_draws(fit, SUBJECT, ("killed", "wounded"), dates)
    apart = curve_draws(fit, SUBJECT, ("killed",), dates) + curve_draws(fit, SUBJECT, ("wounded",), dates)
    result["identity"] = float(np.max(np.abs(together - apart)))
    if seed // 100 < INVARIANCE_REPLICATES:  # the first replicates of each scenario (seed 100 × replicate)
        again = fitted(list(np.random.default_rng(seed).permutation(claims.observations)))
        result["invariant"] = all(np.array_equal(bands(fit, p, dates), bands(again, p, dates)) for p in QUANTITIES.values())
    return result


def timing(n: int) -> float:
    scenario = Scenario("timing", claims=n, relay_share=0.0)
    claims = simulate(scenario, HEDGES, 7)
    began = time.perf_counter()
    fit = fitted(claims.observations)
    bands(fit, QUANTITIES["casualties"], [START + timedelta(days=d) for d in range(0, 330, 14)])
    return time.perf_counter() - began


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/results.md")
    args = parser.parse_args(argv)
    lines = [f"# Benchmark results\n\nReproduce with `make bench` ({args.replicates} replicates per scenario; "
             "`python benchmarks/run.py --replicates N` for another number).\n",
             "| scenario | well specified | 90% coverage | fit IS | best baseline (IS) | fit / best | fit / worst | runs failing the gates | monotonicity violations | identity violations | invariant |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    ratios = {}
    for scenario in SCENARIOS:
        results = [replicate((scenario, 100 * r)) for r in range(args.replicates)]
        coverage = sum(r["covered"] for r in results) / sum(r["points"] for r in results)
        scores = {name: np.mean([s for r in results for s in r["scores"].get(name, [])]) for name in ["fit", *BASELINES]}
        baselines = {k: v for k, v in scores.items() if k != "fit"}
        best = min(baselines, key=baselines.get)
        worst = max(baselines, key=baselines.get)
        invariant = all(r["invariant"] for r in results if r["invariant"] is not None)
        ratios[scenario.name] = scores
        lines.append(f"| {scenario.name} | {'yes' if scenario.well_specified else 'no'} | {coverage:.3f} | {scores['fit']:.3f} | "
                     f"{best} ({baselines[best]:.3f}) | {scores['fit'] / baselines[best]:.2f} | {scores['fit'] / baselines[worst]:.2f} | "
                     f"{sum(r['failed_gates'] for r in results)} | {sum(r['monotone'] for r in results)} | "
                     f"{sum(r['identity'] > 0 for r in results)} | {'yes' if invariant else 'NO'} |")
        print(lines[-1], flush=True)
    lines += ["", "Interval score of the fit divided by that of each baseline (below 1: the fit is better):", "",
              "| scenario | " + " | ".join(BASELINES) + " |", "|---|" + "---|" * len(BASELINES)]
    for name, scores in ratios.items():
        lines.append(f"| {name} | " + " | ".join(f"{scores['fit'] / scores[b]:.2f}" for b in BASELINES) + " |")
    lines += ["", "| claims | fit time (s) | time per claim relative to 50 claims |", "|---|---|---|"]
    times = {n: timing(n) for n in SIZES}
    for n in SIZES:
        lines.append(f"| {n} | {times[n]:.1f} | {(times[n] / n) / (times[SIZES[0]] / SIZES[0]):.2f} |")
        print(lines[-1], flush=True)
    commit(args.output.parent, {Path(args.output.name): ("\n".join(lines) + "\n").encode("utf-8")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
