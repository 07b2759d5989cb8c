"""The six baselines on tiny series computed by hand."""

import math
from datetime import date

import pytest

from estimate.compare.baselines import BASELINES, baseline_rows
from estimate.wording.evidence import Assertion
from estimate.wording.ranges import Interval

RANK = {"intelligence": 1, "media": 7}


def fig(claim_id, claimant, kind, low, high, day):
    return Assertion(claim_id=claim_id, source_id="s1", claimant_id=claimant, claimant=claimant, claimant_kind=kind,
                  subject_id="dprk_forces", subject="North Korean forces", quantity="killed", time_scope="cumulative",
                  casualty_definition="", earliest=date.fromisoformat(day), latest=date.fromisoformat(day), precision="day",
                  count=Interval(low, high), words="")


# Point figures make the arithmetic visible: A (intelligence) says 100 then 200; B (media) says 400 in between.
SERIES = [fig("c1", "A", "intelligence", 100, 100, "2025-01-01"),
          fig("c2", "B", "media", 400, 400, "2025-02-01"),
          fig("c3", "A", "intelligence", 200, 200, "2025-03-01")]


def at(method, n):
    estimate = BASELINES[method](SERIES[:n], SERIES, RANK)
    return estimate.low, estimate.central, estimate.high


def test_latest_claim():
    assert at("latest_claim", 3) == (200, 200, 200)


def test_running_median():
    assert at("running_median", 2) == (250, 250, 250)
    assert at("running_median", 3) == (200, 200, 200)


def test_ucdp_style_prefers_the_most_reliable_kind():
    assert at("ucdp_style", 2) == (100, 100, 100)  # intelligence's 100 over media's 400
    assert at("ucdp_style", 3) == (200, 200, 200)


def test_ucdp_style_takes_the_lower_figure_on_ties():
    tied = [fig("c1", "A", "intelligence", 300, 300, "2025-01-01"), fig("c2", "B", "intelligence", 100, 100, "2025-02-01")]
    assert BASELINES["ucdp_style"](tied, tied, RANK).central == 100


def test_literal_envelope_can_cross_when_figures_conflict():
    low, central, high = at("literal_envelope", 2)
    assert (low, high) == (400, 200)  # the highest low so far is above a later high
    assert central == pytest.approx(400)


def test_isotonic_pools_a_fall():
    pooled = math.expm1((math.log1p(400) + math.log1p(200)) / 2)
    assert at("isotonic", 3) == pytest.approx((pooled, pooled, pooled))


def test_claimant_pool_weights_claimants_equally():
    assert at("claimant_pool", 3) == pytest.approx((200, 200, 400), rel=1e-6)  # A's latest 200 and B's 400, half each


def test_claimant_pool_of_one_interval_is_its_log_quantiles():
    one = [fig("c1", "A", "intelligence", 240, 375, "2025-01-01")]
    estimate = BASELINES["claimant_pool"](one, one, RANK)
    a, b = math.log1p(240), math.log1p(375)
    assert estimate.central == pytest.approx(math.expm1((a + b) / 2))
    assert estimate.low == pytest.approx(math.expm1(a + 0.05 * (b - a)))


def test_open_figures_leave_the_high_open():
    series = [fig("c1", "A", "intelligence", 240, 375, "2025-01-01"), fig("c2", "A", "intelligence", 600, math.inf, "2025-04-01")]
    for method in ("latest_claim", "isotonic"):
        estimate = BASELINES[method](series, series, RANK)
        assert math.isinf(estimate.high) and estimate.low == 600


def test_every_baseline_at_every_date():
    rows = baseline_rows(SERIES, RANK)
    assert len(rows) == 3 * len(BASELINES)
    assert {(r["date"].isoformat(), r["method"]) for r in rows} == {(d, m) for d in ("2025-01-01", "2025-02-01", "2025-03-01") for m in BASELINES}
