"""The fitted posterior: gates, invariances, identities, onsets and edges, monotone bands, known answers, edge cases."""

import csv
import math
import shutil
import subprocess
import sys
from datetime import date, timedelta
from itertools import groupby

import numpy as np
import pytest

from conftest import REPO, read_rows, refusal_code, write_rows
from estimate.model.fit import Observation, as_of_fit, build_design, built_for, checked_fit, curve_draws, estimate_rows, \
    extreme_of_runs, landing, load_config, posterior, quantiles, sensitivity_runs
from estimate.wording.ranges import lexicon
from estimate.model.sampler import leave_one_out_weights
from estimate.compare.simulate import SCENARIOS, START, SUBJECT, simulate, truth
from estimate.package.outputs import UsageError, table
from estimate.package.tables import columns, load

CONFIG = load_config()


def test_the_real_main_passes_its_gates(real_main):
    checked = checked_fit("main", real_main, CONFIG)
    assert checked.failures == [] and checked.record["divergent_transitions"] == 0


def fit_of_copy(tmp_path, change):
    shutil.copy(REPO / "datapackage.json", tmp_path / "datapackage.json")
    shutil.copytree(REPO / "data", tmp_path / "data")
    path = tmp_path / "data/claims.csv"
    rows = read_rows(path)
    write_rows(path, change(rows))
    package, _ = load(tmp_path)
    return posterior(built_for(package, CONFIG), CONFIG)


def same_fit(a, b):
    assert np.array_equal(a.chains.draws, b.chains.draws)


def test_row_order_does_not_change_the_fit(real_main, tmp_path):
    shuffled = fit_of_copy(tmp_path, lambda rows: [rows[0]] + [rows[i] for i in np.random.default_rng(3).permutation(range(1, len(rows)))])
    same_fit(real_main, shuffled)


def test_a_duplicated_relay_does_not_change_the_fit(real_main, tmp_path):
    def add_relay(rows):
        header, origin = rows[0], next(r for r in rows if r[0] == "c018")
        relay = dict(zip(header, origin)) | {"claim_id": "c999", "claimant_id": "unattributed", "attribution": "none", "via": ""}
        return rows + [[relay[c] for c in header]]
    same_fit(real_main, fit_of_copy(tmp_path, add_relay))


def test_casualties_are_killed_plus_wounded_in_every_draw(real_main):
    dates = [date(2025, 1, 15), date(2025, 6, 1)]
    together = curve_draws(real_main, SUBJECT, ("killed", "wounded"), dates)
    apart = curve_draws(real_main, SUBJECT, ("killed",), dates) + curve_draws(real_main, SUBJECT, ("wounded",), dates)
    assert np.array_equal(together, apart)


def test_losses_are_zero_before_their_onset_and_estimates_end_at_their_own_last_claim(real_main):
    rows = estimate_rows(real_main, [], CONFIG, None).rows
    for quantity in ("killed", "wounded", "casualties"):
        mine = [r for r in rows if r["quantity"] == quantity]
        assert mine[0]["date"] == date.fromisoformat(CONFIG["onset"][SUBJECT]["losses"]["date"]) and mine[0]["value_central"] == 0
        assert mine[-1]["date"] == max(o.middle for o in real_main.obs if o.quantity == quantity)


def published():
    with open(REPO / "data/derived/estimates.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_published_bands_are_monotone_and_ordered():
    for _, rows in groupby(published(), key=lambda r: (r["subject_id"], r["quantity"])):
        rows = list(rows)
        for column in ("value_low", "value_central", "value_high", "sensitivity_low", "sensitivity_high"):
            values = [float(r[column]) for r in rows if r[column]]
            assert values == sorted(values), column
        for r in rows:
            high, sensitivity_high = (float(r[c]) if r[c] else math.inf for c in ("value_high", "sensitivity_high"))  # empty: open
            assert (r["value_high"] == "") == (r["high_is_open"] == "true")
            assert float(r["sensitivity_low"]) <= float(r["value_low"]) <= float(r["value_central"]) <= high <= sensitivity_high


def test_published_casualties_dominate_their_components():
    cells = {(r["quantity"], r["date"]): r for r in published() if r["subject_id"] == SUBJECT}
    for (quantity, day), row in cells.items():
        if quantity == "casualties" and ("killed", day) in cells:
            assert float(row["value_central"]) >= float(cells[("killed", day)]["value_central"])


@pytest.mark.refit
def test_a_run_resumed_from_the_main_chains_samples_its_own_posterior(real_main):
    """A sensitivity run resumed from the main run's chains (their ends, mass matrices and step
    sizes) and one started afresh sample the same posterior: every published quantity's mean
    agrees within Monte Carlo error, and the resumed one is not the main run's."""
    from estimate.model.fit import watched
    from estimate.model.sampler import mean_mcse
    built = built_for(load(REPO)[0], CONFIG, "wide", "directional")
    resumed, fresh = posterior(built, CONFIG, real_main), posterior(built, CONFIG)
    (x_r, _), (x_f, _), (x_m, _) = (watched(f, CONFIG) for f in (resumed, fresh, real_main))
    error_r, error_f = mean_mcse(x_r), mean_mcse(x_f)
    varies = (error_r > 0) & (error_f > 0)
    z = np.abs(x_r.mean(axis=(0, 1)) - x_f.mean(axis=(0, 1)))[varies] / np.hypot(error_r, error_f)[varies]
    assert varies.sum() > 50 and z.max() < 4.5, z.max()
    moved = np.abs(x_r.mean(axis=(0, 1)) - x_m.mean(axis=(0, 1)))[varies] / np.hypot(error_r, mean_mcse(x_m))[varies]
    assert moved.max() > 4.5, moved.max()
    assert checked_fit("resumed", resumed, CONFIG).failures == []


def test_known_answer_a_simulated_curve_is_recovered():
    scenario = SCENARIOS[1]  # 80 claims from five claimants
    claims = simulate(scenario, lexicon(load(REPO)[0]), seed=11)
    config = CONFIG | {"start": {SUBJECT: {"date": START.isoformat(), "basis": "simulation"}}, "onset": {}}
    fit = posterior(build_design(claims.observations, {}, config, "neutral"), config)
    dates = [START + timedelta(days=d) for d in range(40, 320, 14)]
    true = truth(scenario, np.array([(d - START).days for d in dates]))
    low, central, high = quantiles(curve_draws(fit, SUBJECT, ("killed",), dates))
    assert np.mean((low <= true["killed"]) & (true["killed"] <= high)) >= 0.8
    assert np.median(np.abs(np.log(central / true["killed"]))) < 0.25


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_every_benchmark_scenario_simulates_claims_the_fit_can_read(scenario):
    claims = simulate(scenario, lexicon(load(REPO)[0]), seed=5)
    assert claims.observations
    for o in claims.observations:
        assert o.lower <= o.upper and o.landing[0] <= o.landing[1], o
        assert o.exact or o.landing == (o.lower, o.upper), o  # a hedged figure lands in its own interval


def observation(claim_id, low, high, day="2025-01-15", quantity="killed"):
    when = date.fromisoformat(day)
    return Observation(claim_id, "k1", SUBJECT, quantity, "count", (quantity,), (when,), when, None,
                       math.log1p(low), math.log1p(high), low == high, ("k1", "losses"), "adversary", landing("count", low, high))


def test_leave_one_out_weights_give_the_posterior_without_the_claim():
    # A prior N(0, 1) and one claim y = 3 read with noise N(0, 2^2): the posterior is
    # N(0.6, 0.8). Without the claim the prior is back: mean 0, variance 1 (weights the wrong
    # way round give mean 1).
    theta = np.random.default_rng(1).normal(0.6, math.sqrt(0.8), 20000)
    log_lik = (-0.5 * ((3.0 - theta) / 2) ** 2)[:, None]
    log_weights, k = leave_one_out_weights(log_lik)
    w = np.exp(log_weights[0] - np.logaddexp.reduce(log_weights[0]))
    assert abs(np.sum(w * theta)) < 0.05
    assert abs(np.sum(w * theta**2) - 1.0) < 0.1
    assert k[0] < 0.5


@pytest.mark.parametrize("spans, tenths", [
    ([(0.0, 1.0)], [0.1] * 10),                                    # a claim that says nothing is spread evenly
    ([(0.05, 0.05), (0.95, 0.95)], [0.5] + [0.0] * 8 + [0.5]),     # exact figures at their points
    ([(0.85, 1.0)], [0.0] * 8 + [1 / 3, 2 / 3]),                    # a range across two tenths, by its overlap
    ([(1.0, 1.0)], [0.0] * 9 + [1.0]),                              # above everything predicted: the top tenth
])
def test_the_pit_histogram_spreads_each_claim_over_its_span(spans, tenths):
    from estimate.model.fit import pit_tenths
    assert pit_tenths(spans) == pytest.approx(tenths, abs=1e-3)


def test_the_published_leave_one_out_pit_agrees_with_the_tail_and_the_histogram():
    import json
    with open(REPO / "data/derived/claim_fit.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["used_in_fit"] == "true"]
    for r in rows:
        low, high, tail = float(r["loo_pit_low"]), float(r["loo_pit_high"]), float(r["loo_tail_probability"])
        assert 0 <= low <= high <= 1, r["claim_id"]
        assert tail == pytest.approx(min(1 - low, high), abs=2e-3), r["claim_id"]  # the tail is the nearer end
    from estimate.model.fit import pit_tenths
    record = json.loads((REPO / "data/derived/fit.json").read_text())["runs"]["leave_one_out"]
    spans = [(float(r["loo_pit_low"]), float(r["loo_pit_high"])) for r in rows]
    assert record["pit_tenths"] == pytest.approx(pit_tenths(spans), abs=0.01)


def test_an_importance_weighted_mean_of_slowly_mixing_draws_has_an_honest_error():
    """Draws that mix slowly (autocorrelation 0.95: some 40 draws per independent one) give
    a mean whose error the independent-draws formula puts at a sixth of the truth."""
    from estimate.model.fit import weighted
    rng = np.random.default_rng(5)
    chains, n, rho = 4, 1000, 0.95

    def draws():
        shocks = rng.standard_normal((chains, n)) * math.sqrt(1 - rho**2)
        x = np.empty((chains, n))
        x[:, 0] = rng.standard_normal(chains)
        for t in range(1, n):
            x[:, t] = rho * x[:, t - 1] + shocks[:, t]
        return x.reshape(-1)
    means, errors = zip(*(weighted(draws(), np.zeros(chains * n), 1.0, chains) for _ in range(200)))
    assert 0.6 < np.median(errors) / np.std(means) < 1.5


def test_a_single_claim_gives_a_band_around_it():
    fit = posterior(build_design([observation("c1", 240, 375)], {}, CONFIG, "neutral"), CONFIG)
    [low, central, high] = quantiles(curve_draws(fit, SUBJECT, ("killed",), [date(2025, 1, 15)]))[:, 0]
    assert checked_fit("one claim", fit, CONFIG).failures == [] and low < 300 < high and 150 < central < 600


def test_a_count_rises_from_zero_at_a_steady_rate_through_its_first_span():
    """Killed start at zero on 4 November 2024: about 500 two weeks later, about 1,000 at four
    weeks, 1,400 by the end of December. A curve straight on the log1p scale from zero would
    be near 30 halfway through its first 28 days (half of log1p(1,000)); a count rising at a
    steady rate meets the claim."""
    claims = [observation("c1", 450, 550, "2024-11-18"), observation("c2", 900, 1100, "2024-12-02"),
              observation("c3", 1300, 1500, "2024-12-30")]
    fit = posterior(build_design(claims, {}, CONFIG, "neutral"), CONFIG)
    [low, central, high] = quantiles(curve_draws(fit, SUBJECT, ("killed",), [date(2024, 11, 18)]))[:, 0]
    assert checked_fit("early", fit, CONFIG).failures == [] and 300 < central < 800 and low < 500 < high


def test_only_at_least_claims_leave_the_band_open_and_say_so():
    fit = posterior(build_design([observation("c1", 600, math.inf), observation("c2", 1000, math.inf, "2025-05-01")], {}, CONFIG,
                                 "neutral"), CONFIG)
    rows = estimate_rows(fit, [], CONFIG, None).rows
    assert rows and all(r["value_high"] is None and r["high_is_open"] is True for r in rows)
    assert "open upward" in rows[-1]["caveat"]


def test_as_of_writes_the_rows_of_the_as_of_method_beside_the_main_estimates(package):
    derived = {p.name: p.read_bytes() for p in (package / "data/derived").iterdir()}
    known_by = date(2025, 4, 28)
    result = subprocess.run([sys.executable, "-m", "estimate", "fit", "--root", str(package), "--as-of", str(known_by)],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    written = package / f"data/derived/estimates_as_of_{known_by}.csv"
    loaded, _ = load(package)
    then = as_of_fit(loaded, CONFIG, built_for(loaded, CONFIG), known_by)  # how estimates_as_of.csv is made
    assert written.read_bytes() == table(columns(loaded.descriptor, "estimates_as_of"), estimate_rows(then, [], CONFIG, known_by).rows)
    assert {p.name: p.read_bytes() for p in (package / "data/derived").iterdir() if p != written} == derived


def test_a_malformed_as_of_date_is_refused_plainly():
    result = subprocess.run([sys.executable, "-m", "estimate", "fit", "--as-of", "2025-13-01"], cwd=REPO, capture_output=True, text=True)
    assert (result.returncode, refusal_code(result.stderr)) == (2, "argument-not-a-date") and "--as-of" in result.stderr


def test_a_retracted_claim_keeps_its_range_but_leaves_the_evidence_and_the_fit(package):
    from conftest import set_cell
    from estimate.wording.evidence import assertions
    from estimate.model.fit import observations
    from estimate.wording.ranges import claim_ranges
    from estimate.package.validate import validate_package
    set_cell(package, "claims", "c026", "status", "retracted")
    set_cell(package, "claims", "c026", "status_reason", "0.2.1: test retraction")
    assert validate_package(package) == []
    loaded, _ = load(package)
    assert "c026" in {r["claim_id"] for r in claim_ranges(loaded)}
    assert "c026" not in {f.claim_id for f in assertions(loaded)}
    used, unused = observations(loaded, CONFIG)
    assert "c026" not in {o.claim_id for o in used}
    assert unused["c026"].startswith("retracted")


def test_troops_present_at_a_date_are_kept_out_of_the_deployed_curve_and_the_conflicts(package):
    """'8,000 still fighting in Kursk' is not the total sent: read as deployed, it would pull
    the curve down and conflict with every total above it."""
    from conftest import set_cell
    from estimate.compare.conflicts import conflict_type
    from estimate.wording.evidence import assertions
    from estimate.model.fit import observations
    from estimate.package.validate import validate_package
    set_cell(package, "claims", "c023", "time_scope", "present")
    assert validate_package(package) == []
    loaded, _ = load(package)
    used, unused = observations(loaded, CONFIG)
    assert "c023" not in {o.claim_id for o in used}
    assert unused["c023"].startswith("troops present at a date")
    present = next(f for f in assertions(loaded) if f.claim_id == "c023")
    assert all(conflict_type(present, other, CONFIG["conflicts"]["near_days"]) is None
               and conflict_type(other, present, CONFIG["conflicts"]["near_days"]) is None for other in assertions(loaded))


def test_a_rise_over_fewer_days_than_a_knot_is_kept_out_of_the_fit_and_one_over_a_knot_is_used(package):
    """c075: 50 killed in the battles of 14-17 December 2024. A curve straight between knots 28
    days apart would read three days' toll as a steady rate, about 470 a month."""
    from conftest import set_cell
    from estimate.model.fit import observations
    from estimate.package.validate import validate_package
    loaded, _ = load(package)
    used, unused = observations(loaded, CONFIG)
    assert "c075" not in {o.claim_id for o in used}
    assert unused["c075"].startswith("a rise over at most 3 days, shorter than the curves' 28-day knots")
    for column in ("window_start_date_earliest", "window_start_date_latest"):
        set_cell(package, "claims", "c075", column, "2024-11-19")
    assert validate_package(package) == []
    used, unused = observations(load(package)[0], CONFIG)
    assert "c075" in {o.claim_id for o in used} and "c075" not in unused


def test_as_of_dates_are_period_ends_before_the_latest_source_and_its_date():
    from estimate.model.fit import as_of_dates
    published = [date(2024, 10, 17), date(2025, 4, 28), date(2025, 4, 26), date(2026, 2, 20)]
    assert as_of_dates(published, 3) == [date(2024, 12, 31), date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30),
                                         date(2025, 12, 31), date(2026, 2, 20)]
    assert as_of_dates([date(2025, 3, 31)], 3) == [date(2025, 3, 31)]  # a period's last day is the latest source's: once
    assert as_of_dates([date(2025, 1, 15), date(2025, 3, 1)], 1) == [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 1)]


def test_the_sensitivity_runs_are_those_model_toml_lists_and_a_misspelt_prior_is_refused():
    assert sensitivity_runs(CONFIG) == [(lexicon, bias) for lexicon in CONFIG["sensitivity"]["lexicons"]
                                        for bias in CONFIG["sensitivity"]["bias_priors"]]
    misspelt = CONFIG | {"sensitivity": CONFIG["sensitivity"] | {"bias_priors": ["neutral", "directionl"]}}
    with pytest.raises(UsageError) as refused:
        sensitivity_runs(misspelt)
    assert refused.value.code == "model-bias-prior-unknown" and "'directionl'" in refused.value.message


def test_each_reason_a_claim_is_not_used_is_the_fits_own_and_reads_in_each_language():
    """claim_fit.csv's reasons are the sentences of reasons.toml: the website gives the same
    reason in Spanish. Each kind has a sentence in each language, naming the same values."""
    import string
    from estimate.model.settings import not_used
    from estimate.wording.evidence import reason_words
    package, _ = load(REPO)
    sources = package.tables["sources"].by_key("source_id")
    claims = package.tables["claims"].by_key("claim_id")
    with open(REPO / "data/derived/claim_fit.csv", encoding="utf-8") as f:
        unused = [r for r in csv.DictReader(f) if r["used_in_fit"] == "false"]
    assert len(unused) > 50
    for row in unused:
        claim = claims[row["claim_id"]]
        why = not_used(claim, CONFIG, sources[claim["source_id"]])
        assert why.sentence("en") == row["reason"] and why.sentence("es") != row["reason"]
    words = reason_words()
    assert set(words) == {"en", "es"} and set(words["en"]) == set(words["es"])
    for kind, sentence in words["en"].items():
        fields = {f for _, f, _, _ in string.Formatter().parse(sentence) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(words["es"][kind]) if f}, kind


def test_a_sensitivity_bound_moves_within_the_error_of_its_least_precise_run():
    """The bound is the extreme of several runs; on another machine another run can be the
    extreme, so its stated error must cover every run's, not only the one extreme here."""
    runs = [(100.0, 30.0), (90.0, 2.0), (120.0, 5.0)]
    assert extreme_of_runs(runs, min) == (90.0, 30.0)
    assert extreme_of_runs(runs, max) == (120.0, 30.0)
    rng = np.random.default_rng(0)
    for pick in (min, max):
        here, error = extreme_of_runs(runs, pick)
        for _ in range(2000):
            elsewhere = [(value + rng.uniform(-e, e), e) for value, e in runs]
            assert abs(extreme_of_runs(elsewhere, pick)[0] - here) <= error
