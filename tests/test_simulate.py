"""The simulator's worlds: revisions, shared undercounts, reporting lags and bursts do what they say."""

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from conftest import REPO
from estimate.wording.ranges import lexicon
from estimate.compare.simulate import START, Scenario, simulate, truth
from estimate.package.tables import load

HEDGES = lexicon(load(REPO)[0])
EXACT = Scenario("exact", claims=200, bias_sd=0.0, noise_sd=0.0, relay_share=0.0, month_share=0.0, unattributed_share=0.0,
                 hedge_misread=0.01)


def misses(claims, scenario):
    """Per count claim: its day, and log(claimed midpoint / truth) on the log1p scale."""
    rows = []
    for o in claims.observations:
        if o.kind != "count" or math.isinf(o.upper):
            continue
        day = (o.middle - START).days
        true = truth(scenario, [day])[o.quantity][0]
        rows.append((day, (o.lower + o.upper) / 2 - math.log1p(true)))
    return np.array(rows)


def test_without_a_world_a_claim_is_the_truth_read_through_its_hedge():
    rows = misses(simulate(EXACT, HEDGES, 3), EXACT)
    assert abs(np.median(rows[:, 1])) < 0.1


@pytest.mark.parametrize("world", [dict(undercount=0.6), dict(shared_undercount=0.5)])
def test_early_figures_undercount_and_later_ones_catch_up(world):
    scenario = replace(EXACT, **world)
    rows = misses(simulate(scenario, HEDGES, 3), scenario)
    early, late = rows[rows[:, 0] < 60, 1], rows[rows[:, 0] >= scenario.catch_up_day, 1]
    assert np.median(early) < -0.15 and abs(np.median(late)) < 0.1


def test_a_lagged_claim_is_published_after_the_date_it_speaks_of_and_known_only_then():
    scenario = replace(EXACT, lag_days=45)
    claims = simulate(scenario, HEDGES, 3)
    lags = np.array([(claims.published[o.claim_id] - max(o.dates)).days for o in claims.observations])
    assert lags.min() >= 0 and 30 < lags.mean() < 60
    cut = START + timedelta(days=150)
    known = claims.known_by(cut)
    assert known.observations and all(claims.published[o.claim_id] <= cut for o in known.observations)
    assert len(known.observations) == sum(claims.published[o.claim_id] <= cut for o in claims.observations)
    assert any(max(o.dates) <= cut < claims.published[o.claim_id] for o in claims.observations)


def test_without_lags_a_claim_is_published_on_its_own_date():
    claims = simulate(EXACT, HEDGES, 3)
    assert all(claims.published[o.claim_id] == o.dates[-1] for o in claims.observations)


def test_bursts_bunch_the_claims_in_a_few_fortnights():
    scenario = replace(EXACT, clusters=3)
    days = sorted({(o.middle - START).days for o in simulate(scenario, HEDGES, 3).observations})
    starts = [d for i, d in enumerate(days) if i == 0 or d - days[i - 1] > 14]
    assert len(starts) <= 3 and len(days) > 3



@pytest.mark.parametrize("noise, agreement", [(0.0, 1.0), (10.0, None)])
def test_a_claimants_stated_reliability_follows_its_true_bias_as_closely_as_the_scenario_says(noise, agreement):
    """Kinds are given in the order of |bias|: exactly with no rank noise, at random with much."""
    from scipy.stats import spearmanr
    scenario = replace(EXACT, claimants=7, bias_sd=0.4, rank_noise=noise)
    kinds = ("intelligence", "think_tank", "military", "government", "head_of_state", "state_media", "media")
    rhos = []
    for seed in range(20):
        claims = simulate(scenario, HEDGES, seed, kinds)
        rng = np.random.default_rng(seed)  # the claimants' biases are the stream's first draws
        bias = {f"k{i}": abs(rng.normal(0, scenario.bias_sd)) for i in range(scenario.claimants)}
        stated = {f.claimant_id: kinds.index(f.claimant_kind) for f in claims.figures}
        rhos.append(spearmanr([bias[c] for c in stated], [stated[c] for c in stated])[0])
    if agreement is not None:
        assert np.mean(rhos) == pytest.approx(agreement)
    else:
        assert abs(np.mean(rhos)) < 0.3


def test_each_claims_drawn_error_is_kept_and_its_figure_carries_it():
    """The benchmark reports the error a seed's claims share (which no fit can know) from
    what the simulator drew: an exact world's claims carry none, a shared undercount's carry
    it, and a claim's interval sits where its error puts it."""
    assert set(simulate(EXACT, HEDGES, 3).errors.values()) == {0.0}
    scenario = replace(EXACT, shared_undercount=0.5)
    claims = simulate(scenario, HEDGES, 3)
    within = []
    for o in claims.observations:
        day = (o.middle - START).days
        assert claims.errors[o.claim_id] == pytest.approx(math.log1p(-0.5 * max(0.0, 1 - day / scenario.catch_up_day)))
        meant = math.log1p(truth(scenario, [day])[o.quantity][0] * math.exp(claims.errors[o.claim_id]))
        within.append(o.lower - 1e-9 <= meant <= o.upper + 1e-9)
    # the figure meant is within the interval its wording is read as, but where "about" is
    # said of a figure rounded to one digit (1,463 as "about 1,000") beyond the lexicon's +25%
    assert np.mean(within) > 0.9
    known = claims.known_by(START + timedelta(days=100))
    assert known.errors == {o.claim_id: claims.errors[o.claim_id] for o in known.observations}
