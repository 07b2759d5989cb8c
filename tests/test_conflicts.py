"""Literal conflicts: each type on tiny hand-made figures, and the real data."""

import math
import re
from datetime import date

import pytest

from conftest import REPO
from estimate.compare.conflicts import conflict_type, literal_conflicts
from estimate.model.settings import load_config
from estimate.wording.evidence import Assertion, assertions
from estimate.wording.ranges import Interval
from estimate.package.tables import load

# The window the cases below are written for ([conflicts] near_days in model.toml).
NEAR_DAYS = 14


def fig(claim_id, quantity, low, high, earliest, latest=None, scope="cumulative", source="s1", definition=""):
    return Assertion(claim_id=claim_id, source_id=source, claimant_id="x", claimant="Claimant X", claimant_kind="intelligence",
                  subject_id="dprk_forces", subject="North Korean forces", quantity=quantity, time_scope=scope,
                  casualty_definition=definition, earliest=date.fromisoformat(earliest),
                  latest=date.fromisoformat(latest or earliest), precision="day", count=Interval(low, high), words=f"{low}")


def test_a_cumulative_figure_cannot_fall():
    high, low = fig("a", "killed", 600, math.inf, "2025-04-01", source="s1"), fig("b", "killed", 240, 375, "2025-05-01", source="s2")
    assert conflict_type(high, low, NEAR_DAYS) == "decrease"
    [row] = literal_conflicts([high, low], NEAR_DAYS)
    assert (row["conflict_type"], row["claim_id"], row["other_claim_id"], row["gap_factor"]) == ("decrease", "a", "b", 1.6)  # 600 / 375
    assert "cannot fall" in row["sentence"]


def test_no_conflict_when_the_order_is_uncertain_and_far_apart():
    high = fig("a", "killed", 600, 700, "2025-04-01", "2025-04-30", source="s1")
    low = fig("b", "killed", 240, 375, "2025-01-15", "2025-04-26", source="s2")
    assert conflict_type(high, low, NEAR_DAYS) is None


def test_disjoint_within_14_days_whatever_the_dates():
    high = fig("a", "killed", 600, 700, "2025-04-01", "2025-04-10", source="s1")
    low = fig("b", "killed", 240, 375, "2025-04-05", source="s2")
    assert conflict_type(high, low, NEAR_DAYS) == "disjoint"
    # A rise from an earlier low figure is no conflict once the dates may be more than 14 days apart.
    assert conflict_type(high, fig("b", "killed", 240, 375, "2025-03-30", source="s2"), NEAR_DAYS) == "disjoint"  # 11 days at most
    assert conflict_type(high, fig("b", "killed", 240, 375, "2025-03-20", source="s2"), NEAR_DAYS) is None  # up to 21 days


def test_an_increment_cannot_exceed_the_total_at_its_end():
    increment = fig("a", "killed", 500, 1000, "2025-03-01", scope="increment")
    assert conflict_type(increment, fig("b", "killed", 240, 375, "2025-03-01"), NEAR_DAYS) == "increment_above_total"  # same article, same date
    assert conflict_type(increment, fig("b", "killed", 240, 375, "2025-02-01", source="s2"), NEAR_DAYS) is None  # total dated before


@pytest.mark.parametrize("component, definition, expected", [
    ("killed", "unspecified", "component_above_total"),
    ("wounded", "unspecified", None),  # 'bajas' alone may mean deaths only
    ("wounded", "killed_wounded", "component_above_total"),
    ("captured", "killed_wounded", None),
])
def test_a_component_cannot_exceed_casualties(component, definition, expected):
    part = fig("a", component, 600, 700, "2025-03-01")
    total = fig("b", "casualties", 100, 500, "2025-03-01", definition=definition)
    assert conflict_type(part, total, NEAR_DAYS) == expected


def test_casualties_cannot_exceed_deployed():
    assert conflict_type(fig("a", "casualties", 12000, 13000, "2025-03-01"), fig("b", "deployed", 10000, 11000, "2025-04-01", source="s2"), NEAR_DAYS) \
        == "casualties_above_deployed"


def test_an_open_figure_is_never_the_lower_one():
    assert conflict_type(fig("a", "killed", 600, 700, "2025-01-01"), fig("b", "killed", 300, math.inf, "2025-03-01", source="s2"), NEAR_DAYS) is None


def test_real_data_conflicts_are_explained():
    package, _ = load(REPO)
    rows = literal_conflicts(assertions(package), load_config()["conflicts"]["near_days"])
    # "hasta 1,000" killed in three months (s001) against the 101 dead North Korea's state agency named in August 2025
    assert "increment_above_total/c009/c145" in [r["conflict_id"] for r in rows]
    for row in rows:
        assert row["gap_factor"] > 1 and row["sentence"].endswith(".") and re.search(r"\bs\d{3}\b", row["sentence"])
