"""The benchmark's scoring: calibrated baseline widths, interval scores, one rule for open bounds,
and a report that can show the fit losing."""

import math
import sys
from dataclasses import replace

import numpy as np
import pytest

from conftest import REPO

sys.path.insert(0, str(REPO))
import benchmarks.report as bench  # noqa: E402  (scoring and the report)
import benchmarks.run as fits  # noqa: E402  (fitting a seed, saving and loading it)


def point(truth, fit_central, fit_90, fit_50, centrals, mode="as_of", other=None):
    """A scored point; the other model states ``other`` (central, 90%, 50%), or what the fit states."""
    fit = (fit_central, {0.9: fit_90, 0.5: fit_50})
    stated = (other[0], {0.9: other[1], 0.5: other[2]}) if other else fit
    return bench.Point(mode, "s", "killed", 0, truth, fit, centrals, None, stated)


def test_a_calibrated_width_covers_its_share_of_the_tuning_points():
    rng = np.random.default_rng(0)
    truths = np.exp(rng.uniform(5, 9, 2000))
    points = [point(t, t, (t, t), (t, t), {name: math.expm1(math.log1p(t) + rng.normal(0, 0.3)) for name in bench.BASELINES})
              for t in truths]
    widths = bench.calibrated_widths(points + [replace(p, mode="smoother") for p in points])
    for level in bench.LEVELS:
        w = widths[("as_of", "latest_claim", level)]
        covered = [lo <= p.truth <= hi for p in points for lo, hi in [bench.baseline_interval(p.baselines["latest_claim"], w)]]
        assert np.mean(covered) == pytest.approx(level, abs=0.01)
        # a normal error of sd 0.3: the half-width is its two-sided quantile
        assert w == pytest.approx(0.3 * {0.5: 0.674, 0.9: 1.645}[level], rel=0.08)


def test_the_interval_score_is_the_width_plus_the_penalised_miss():
    assert bench.interval_score(99.0, 999.0, 500.0, 0.9) == pytest.approx(math.log(1000) - math.log(100))
    miss = math.log1p(2000) - math.log1p(999)
    assert bench.interval_score(99.0, 999.0, 2000.0, 0.9) == pytest.approx(math.log(10) + 20 * miss)
    assert bench.interval_score(99.0, 999.0, 2000.0, 0.5) == pytest.approx(math.log(10) + 4 * miss)


def test_an_open_upper_bound_is_scored_at_the_cap_for_every_method():
    assert bench.interval_score(99.0, math.inf, 500.0, 0.9) == pytest.approx(math.log1p(bench.CAP) - math.log(100))


def test_the_report_shows_the_fit_losing_where_it_does():
    """A fit whose intervals miss the truth scores worse than a calibrated baseline, and is said to miss its targets."""
    truths = np.linspace(100, 3000, 50)
    points = [point(t, t / 3, (t / 4, t / 2), (t / 3.5, t / 2.5), {name: float(t) * 1.05 for name in bench.BASELINES}) for t in truths]
    widths = {(mode, name, level): 0.1 for mode in ("as_of", "smoother") for name in bench.BASELINES for level in bench.LEVELS}
    s = bench.scored(points, widths)
    assert s.coverage[0.9] == 0 and s.ratio(0.9) > 1
    assert bench.verdict(s, well_specified=True) == "**misses a target**"
    good = [point(t, t, (t / 1.2, t * 1.2), (t / 1.05, t * 1.05), {name: float(t) * 1.5 for name in bench.BASELINES}) for t in truths]
    s = bench.scored(good, widths)
    assert s.coverage[0.9] == 1 and s.ratio(0.9) < bench.SCORE_TARGET


def test_a_points_pit_is_where_the_truth_falls_among_the_fits_draws():
    scenario = bench.SCENARIOS[0]
    y = float(fits.truth(scenario, [120])["killed"][0])
    rng = np.random.default_rng(1)
    for shift, expected in ((0.0, 0.5), (-1.0, 1.0), (1.0, 0.0)):
        draws = np.sort(y * np.exp(shift + rng.normal(0, 0.1, 4000)))
        result = bench.Replicate()
        fits.score_point(result, "as_of", scenario, "killed", 0, 120, {bench.IN_USE: (y, {}, draws)}, {})
        assert result.points[0].pit == pytest.approx(expected, abs=0.03)
    fits.score_point(result, "as_of", scenario, "killed", 0, 120, None, {})
    assert result.left_out == 1


def as_of_row(lines: list[str], name: str) -> tuple[list[str], list[str]]:
    """The as-of table's row for a scenario, and its header, as cells."""
    header = next(line for line in lines if line.startswith("| scenario | well specified | points")).split(" | ")
    return next(line for line in lines if line.startswith(f"| {name} | ")).split(" | "), header


def test_the_report_gives_the_share_of_open_highs_and_the_score_without_them():
    """An open high is scored at the cap; the report says how often the fit left it open and how
    the fit fares on the other points, so the cap's weight in its score is seen."""
    from argparse import Namespace
    scenario = bench.SCENARIOS[0]
    closed = [point(t, t, (t / 1.05, t * 1.05), (t / 1.02, t * 1.02), {name: float(t) * 1.1 for name in bench.BASELINES})
              for t in np.linspace(100, 3000, 10)]
    opened = [replace(p, fit=(p.fit[0], {0.9: (p.fit[1][0.9][0], math.inf), 0.5: p.fit[1][0.5]})) for p in closed]
    widths = {(mode, name, level): 0.1 for mode in ("as_of", "smoother") for name in bench.BASELINES for level in bench.LEVELS}
    by_seed = {200: {scenario.name: bench.Replicate(points=closed + opened)}}
    lines = bench.report(Namespace(tuning=1), [scenario], by_seed, widths, 0, {}, 3600.0, 60.0)
    row, header = as_of_row(lines, scenario.name)
    assert row[header.index("fit's high open")] == "50%"
    everything, without = float(row[header.index("fit / best (90%)")]), float(row[header.index("fit / best (90%), closed points")])
    assert without < 1 < everything


def test_the_other_model_is_adopted_only_where_it_wins_on_the_same_points():
    """Both models are scored on the same points: the other wins only with the lower interval
    score and, where the model is well specified, a 90% coverage not below the target."""
    scenario = bench.SCENARIOS[0]
    truths = np.linspace(100, 3000, 40)
    widths = {(mode, name, level): 0.1 for mode in ("as_of", "smoother") for name in bench.BASELINES for level in bench.LEVELS}
    centrals = lambda t: {name: float(t) for name in bench.BASELINES}

    def outcome(other):
        points = [point(t, t, (t / 2, t * 2), (t / 1.3, t * 1.3), centrals(t), other=other(t)) for t in truths]
        why, mine, theirs = bench.why_other_loses([scenario], {scenario.name: bench.Replicate(points=points)}, widths)
        return not why, theirs.score[("fit", 0.9)] / mine.score[("fit", 0.9)], why
    narrower = lambda t: (t, (t / 1.5, t * 1.5), (t / 1.2, t * 1.2))
    assert outcome(narrower) == (True, pytest.approx(math.log(2.25) / math.log(4), rel=0.01), "")
    wider = lambda t: (t, (t / 3, t * 3), (t / 1.5, t * 1.5))
    assert outcome(wider)[0] is False and outcome(wider)[2] == "its mean score is not lower"
    # narrower still, but missing the truth one time in four: its score is lower, its coverage too low
    missing = lambda t: (t, (t / 1.1, t * 1.1) if t < 2300 else (t * 1.01, t * 1.02), (t / 1.05, t * 1.05))
    wins, ratio, why = outcome(missing)
    assert not wins and ratio < 1 and why.startswith("its mean score is lower, but its 90% coverage") and "below 0.85" in why


def replicate_of(name: str, truths, covered: bool, invariant=True) -> "bench.Replicate":
    """A replicate of scenario ``name`` whose fit covers every truth, or misses every one, with an open high on its first point."""
    points = [replace(point(t, t, (t / 1.2, t * 1.2) if covered else (t * 1.5, t * 2), (t / 1.1, t * 1.1), {name: float(t) * 1.3 for name in bench.BASELINES},
                    other=(t * 1.01, (t / 1.3, t * 1.3), (t / 1.1, t * 1.1))), scenario=name) for t in truths]
    points[0] = replace(points[0], fit=(points[0].fit[0], {0.9: (points[0].fit[1][0.9][0], math.inf), 0.5: points[0].fit[1][0.5]}), pit=0.25)
    return bench.Replicate(points=points, fits=dict.fromkeys(fits.MODELS, 5), failed={m: i for i, m in enumerate(fits.MODELS)},
                           left_out=3, identity=1e-13, invariant=invariant, seconds=61)


def test_a_saved_replicate_reads_back_exactly_as_it_was_fitted(tmp_path, monkeypatch):
    """A seed fitted in one run is scored in another: what it saves must read back to the same
    points, bounds (an open high included), counts and checks, to the last bit."""
    monkeypatch.setattr(fits, "REPLICATES", tmp_path)
    truths = np.random.default_rng(2).uniform(100, 3000, 12) + 1 / 3
    results = {"baseline": replicate_of("baseline", truths, covered=True), "plateau": replicate_of("plateau", truths[:5], covered=False, invariant=False)}
    folder = bench.seed_folder(300)
    folder.mkdir()
    bench.commit(folder, fits.saved(results))
    assert bench.loaded(300) == results


def test_the_report_scores_every_seed_and_shows_each_seeds_coverage(tmp_path, monkeypatch):
    """Seeds are fitted apart and reported together: the pooled coverage, and each seed's beside it."""
    monkeypatch.setattr(fits, "REPLICATES", tmp_path)
    truths = np.linspace(100, 3000, 10)
    for seed, covered in ((200, True), (300, False)):
        (tmp_path / f"seed-{seed}").mkdir()
        bench.commit(tmp_path / f"seed-{seed}", fits.saved({"baseline": replicate_of("baseline", truths, covered)}))
    output = tmp_path / "results.md"
    assert bench.main(["--seeds", "200", "300", "--tuning", "1", "--no-timing", "--output", str(output)]) == 0
    lines = output.read_text().splitlines()
    row, header = as_of_row(lines, "baseline")
    assert row[header.index("fit 90% coverage")] == "0.500"
    assert row[header.index("by seed")] == "1.00 / 0.00"
    assert any(line.startswith("Every well-specified scenario together: 90% coverage 0.500 (by seed: 1.00 / 0.00)") for line in lines)
    assert "seeds 200, 300" in lines[2] and "--seeds 200 300" in lines[2]
    # the variant seed by seed, on the same points: it covers on both seeds
    assert any(line.startswith("As of a date, seed by seed (200 / 300): ") and line.endswith(
        f"90% coverage where the model is well specified, {bench.IN_USE} 1.00 / 0.00, {bench.OTHER} 1.00 / 1.00.") for line in lines)


def test_a_seed_not_fitted_or_from_another_version_is_refused_with_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fits, "REPLICATES", tmp_path)
    output = tmp_path / "results.md"
    assert bench.main(["--seeds", "400", "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert "seed-400/scenarios.csv is missing" in error and "replicate --seed 400" in error and "[bench-replicate-missing]" in error
    (tmp_path / "seed-400").mkdir()
    (tmp_path / "seed-400" / "scenarios.csv").write_text("scenario,seconds\nbaseline,3\n")
    assert bench.main(["--seeds", "400", "--output", str(output)]) == 2
    assert "[bench-replicate-columns]" in capsys.readouterr().err
    assert bench.main(["--seeds", "400", "400", "--output", str(output)]) == 2
    assert "[bench-seed-repeated]" in capsys.readouterr().err
    assert not output.exists()


def test_refitting_some_scenarios_of_a_seed_keeps_its_others(tmp_path, monkeypatch, capsys):
    """An hour's fits are not lost to a rerun of one scenario; a scenario that does not exist is refused."""
    monkeypatch.setattr(fits, "REPLICATES", tmp_path)
    truths = np.linspace(100, 3000, 6)
    (tmp_path / "seed-500").mkdir()
    kept = {"baseline": replicate_of("baseline", truths, covered=True), "plateau": replicate_of("plateau", truths, covered=True)}
    bench.commit(tmp_path / "seed-500", fits.saved(kept))
    again = replicate_of("baseline", truths[:3], covered=False)
    monkeypatch.setattr(fits, "replicate", lambda scenario, seed: again)
    assert fits.main(["replicate", "--seed", "500", "--scenarios", "baseline"]) == 0
    assert bench.loaded(500) == {"baseline": replace(again, seconds=bench.loaded(500)["baseline"].seconds), "plateau": kept["plateau"]}
    assert fits.main(["replicate", "--seed", "500", "--scenarios", "basline"]) == 2
    assert "[bench-scenario-unknown]" in capsys.readouterr().err


def test_the_scale_benchmarks_generated_package_is_valid_under_todays_codebook(tmp_path):
    """benchmarks/scale.py writes its package from the codebook's columns: a column added to
    a table (as claimants' labels were) must not leave it invalid, which only make bench
    would otherwise find, after minutes of generating."""
    import benchmarks.scale as scale
    from estimate.package.validate import validate_package
    counts = scale.generate(tmp_path, 300, n_claimants=12, n_subjects=2, per_source=50, seed=3)
    assert counts == {"claims": 300, "sources": 6, "claimants": 12, "subjects": 2}
    assert [str(p) for p in validate_package(tmp_path)] == []
