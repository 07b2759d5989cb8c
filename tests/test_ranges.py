"""From wording to interval: hand-computed cases, properties, and the ranges command."""

import csv
import io
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from conftest import REPO, set_cell, refusal_code
from estimate.wording.ranges import Interval, UnknownHedge, claim_interval, claim_ranges, interval, lexicon, step
from estimate.package.tables import Row, load

PACKAGE, _ = load(REPO)
MAIN, NARROW, WIDE = (lexicon(PACKAGE, name) for name in ("main", "narrow", "wide"))
OPEN = math.inf


@pytest.mark.parametrize("hedge, value, expected", [
    ("about", 300, (240, 375)),        # min(300-50, 240), max(300+50, 375)
    ("at_least", 600, (600, OPEN)),
    ("about", 2000, (1500, 2500)),     # g = 1000, h = 500
    ("bare", 300, (250, 350)),
    ("bare", 1000, (750, 1250)),       # h = min(500, 0.25 * 1000)
    ("bare", 45100, (45050, 45150)),
    ("bare", 2.5, (2.25, 2.75)),       # last digit 5: g = 0.5, h = 0.25
    ("more_than", 300, (300, 450)),    # max(300 + 100, 1.5 * 300)
    ("more_than", 10000, (10000, 20000)),  # max(10000 + 10000, 15000)
    ("up_to", 1000, (500, 1000)),
    ("nearly", 1000, (850, 1000)),
    ("exact", 2, (2, 2)),
])
def test_hand_computed_intervals(hedge, value, expected):
    bounds = interval(MAIN[hedge], value)
    assert (bounds.low, bounds.high) == pytest.approx(expected)


@pytest.mark.parametrize("hedge, expected", [
    ("several_hundred", (300, 900)), ("hundreds", (200, 990)), ("thousands", (2000, 9990)),
])
def test_vague_wordings(hedge, expected):
    assert (interval(MAIN[hedge]).low, interval(MAIN[hedge]).high) == expected


def test_stated_range_is_taken_as_stated():
    assert interval(MAIN["between"], low=30, high=50) == Interval(30, 50)


@pytest.mark.parametrize("x, g", [(300, 100), (2700, 100), (11000, 1000), (350000, 50000), (45100, 100), (2.5, 0.5), (7, 1)])
def test_rounding_step(x, g):
    assert step(x) == g


def ranges_by_claim():
    return {r["claim_id"]: r for r in claim_ranges(PACKAGE)}


@pytest.mark.parametrize("claim_id, low, high", [
    ("c007", 240, 375),      # "aproximadamente 300"
    ("c019", 600, OPEN),     # "al menos 600"
    ("c018", 1500, 2500),    # "alrededor de 2 mil"
    ("c001", 300, 900),      # "varios cientos"
    ("c017", 2, 2),          # "dos soldados"
])
def test_real_claims(claim_id, low, high):
    row = ranges_by_claim()[claim_id]
    assert (row["value_low"], row["value_high"], row["high_is_open"]) == (low, high, math.isinf(high))


def test_share_of_about_11000_gives_implied_count():
    row = ranges_by_claim()["c010"]  # "entre un 30% y un 50%" of c006 "Aproximadamente 11,000"
    assert (row["value_low"], row["value_high"]) == (30, 50)
    assert (row["implied_count_low"], row["implied_count_high"]) == (2640, 6875)


def test_increment_keeps_its_window():
    row = ranges_by_claim()["c009"]  # "hasta 1,000 ... en los últimos tres meses"
    assert (row["time_scope"], row["value_low"], row["value_high"]) == ("increment", 500, 1000)
    assert (row["window_start_date_earliest"], row["window_start_date_latest"]) == ("2024-10-15", "2025-01-26")


def test_one_row_per_claim_with_its_rule():
    rows = claim_ranges(PACKAGE)
    assert [r["claim_id"] for r in rows] == sorted(c["claim_id"] for c in PACKAGE.tables["claims"].rows)
    assert all(r["rule"] and r["lexicon"] == "main" for r in rows)


def test_unknown_hedge_is_an_error_not_a_guess():
    claim = Row(2, {"hedge_id": "roughly", "stated_value": "300", "stated_low": "", "stated_high": "", "unit": "persons"})
    with pytest.raises(UnknownHedge, match="'roughly' is not in data/hedges.csv"):
        claim_interval(claim, MAIN)


# ---------------------------------------------------------------- properties

NUMBERED = ["bare", "exact", "about", "more_than", "at_least", "up_to", "nearly"]
counts = st.integers(min_value=1, max_value=10**7)


@given(hedge=st.sampled_from(NUMBERED), x=st.floats(min_value=0.01, max_value=1e8, allow_nan=False), lex=st.sampled_from([MAIN, NARROW, WIDE]))
def test_interval_is_ordered_and_contains_the_stated_number(hedge, x, lex):
    bounds = interval(lex[hedge], x)
    assert bounds.low <= x <= bounds.high


@given(hedge=st.sampled_from(NUMBERED), x=counts)
def test_scaling_a_number_by_ten_scales_its_interval(hedge, x):
    small, large = interval(MAIN[hedge], x), interval(MAIN[hedge], 10 * x)
    assert large.low == pytest.approx(10 * small.low)
    assert large.high == pytest.approx(10 * small.high)


@settings(max_examples=200)
@given(hedge=st.sampled_from(sorted(MAIN)), x=counts)
def test_narrow_inside_main_inside_wide(hedge, x):
    value, low, high = (None, 10, 20) if MAIN[hedge].rule == "range" else (x, None, None)
    narrow, main, wide = (interval(lex[hedge], value, low, high) for lex in (NARROW, MAIN, WIDE))
    assert wide.low <= main.low <= narrow.low <= narrow.high <= main.high <= wide.high


@given(name=st.text(min_size=1, max_size=20).filter(lambda n: n not in MAIN))
def test_any_unknown_hedge_is_refused_with_its_name(name):
    claim = Row(2, {"hedge_id": name, "stated_value": "300", "stated_low": "", "stated_high": "", "unit": "persons"})
    with pytest.raises(UnknownHedge) as error:
        claim_interval(claim, MAIN)
    assert repr(name) in str(error.value) and "data/hedges.csv" in str(error.value)  # invisible characters shown escaped


# ---------------------------------------------------------------- the command

def run(*args):
    return subprocess.run([sys.executable, "-m", "estimate", *args], cwd=REPO, capture_output=True, text=True)


def test_sensitivity_lexicon_goes_to_standard_output():
    result = run("ranges", "--lexicon", "wide")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.returncode == 0 and len(rows) == len(PACKAGE.tables["claims"].rows)
    assert {r["lexicon"] for r in rows} == {"wide"}
    assert next(r for r in rows if r["claim_id"] == "c007")["value_low"] == "200"  # about 300, wide: h = min(1 * 100, 0.5 * 300); min(300 - h, 0.67 * 300)


def test_unknown_lexicon_is_refused():
    result = run("ranges", "--lexicon", "loose", "--output", "-")
    assert (result.returncode, refusal_code(result.stderr)) == (2, "lexicon-unknown") and "main, narrow, wide" in result.stderr


def test_invalid_input_writes_nothing(package):
    set_cell(package, "claims", "c002", "hedge_id", "roughly")
    target = package / "data/derived/ranges.csv"
    before = target.read_bytes()
    result = run("ranges", "--root", str(package))
    assert result.returncode == 1 and any(line.startswith("data/claims.csv row 3, column hedge_id: ") and line.endswith("[foreign-key]")
                                          for line in result.stderr.splitlines())
    assert target.read_bytes() == before
