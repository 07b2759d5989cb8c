"""Claims as evidence: one figure per origin, with its count interval, dates and words.

Shared by conflicts and baselines, which both count each assertion once and compare
figures in persons (a share becomes its implied count, for display and baselines only).
"""

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import NamedTuple

from estimate.package.numbers import number_words
from estimate.wording.ranges import MAIN, Interval, claim_ranges
from estimate.package.tables import Loaded


def middle(earliest: date, latest: date) -> date:
    """The day halfway through a span of days (the earlier of two middle days)."""
    return earliest + timedelta(days=(latest - earliest).days // 2)


@dataclass(frozen=True)
class Assertion:
    """A claimed figure counted once: an active origin claim of a troop count, with the
    interval its wording allows in persons (a share as its implied count)."""

    claim_id: str
    source_id: str
    claimant_id: str
    claimant: str
    claimant_kind: str
    subject_id: str
    subject: str
    quantity: str
    time_scope: str
    casualty_definition: str
    earliest: date
    latest: date
    precision: str
    count: Interval
    words: str

    @property
    def middle(self) -> date:
        """The as-of date used to order figures: the middle of its interval."""
        return middle(self.earliest, self.latest)

    @property
    def when(self) -> str:
        return date_words(self.earliest, self.latest, self.precision)


def date_words(earliest: date, latest: date, precision: str) -> str:
    if precision == "day":
        return f"{earliest.day} {earliest:%B %Y}"
    if precision == "month":
        return f"{earliest:%B %Y}"
    if precision == "year":
        return f"{earliest:%Y}"
    start = f"{earliest.day} {earliest:%B}" + ("" if earliest.year == latest.year else f" {earliest:%Y}")
    return f"{start}–{latest.day} {latest:%B %Y}"


def wording(claim, hedge_row, count: Interval) -> str:
    """The claim in English, from the lexicon's first English wording: 'about 300', 'several hundred'."""
    english = hedge_row["phrases_en"].split("|")[0]
    unit = "%" if claim["unit"] == "percent" else ""
    if hedge_row["rule"] == "vague":
        words = english
    elif hedge_row["rule"] == "range":
        words = f"{english} {number_words(float(claim['stated_low']))}{unit} and {number_words(float(claim['stated_high']))}{unit}"
    else:
        words = f"{english} {number_words(float(claim['stated_value']))}{unit}".strip()
    if claim["unit"] == "percent":
        ceiling = "or more" if count.is_open else f"to {number_words(count.high)}"
        words += f" of the force ({number_words(count.low)} {ceiling} people)"
    return words


# What a troop figure is counted in: persons, or a share of a force (percent).
TROOP_UNITS = ("persons", "percent")
REASONS = Path(__file__).with_name("reasons.toml")


@cache
def reason_words() -> dict:
    return tomllib.loads(REASONS.read_text(encoding="utf-8"))


class Reason(NamedTuple):
    """Why a claim is not used: a kind (a key of reasons.toml) and what its sentence names."""

    kind: str
    values: dict

    def sentence(self, lang: str = "en") -> str:
        return reason_words()[lang][self.kind].format(**self.values)


def not_evidence(claim) -> Reason | None:
    """Why a claim is not a figure of its own (inactive, a relay, not a troop count), or None
    when it is: the one rule the fit, the conflicts and the baselines all count by."""
    if claim["status"] != "active":
        return Reason("inactive", {"status": claim["status"]})
    if claim["origin_id"] != claim["claim_id"]:
        return Reason("relay", {"origin": claim["origin_id"]})
    if claim["unit"] not in TROOP_UNITS:
        return Reason("not_a_troop_count", {})
    return None


def assertions(package: Loaded, lexicon_name: str = MAIN) -> list[Assertion]:
    """Active troop figures in persons, one per origin, ordered canonically by claim_id."""
    ranges = {r["claim_id"]: r for r in claim_ranges(package, lexicon_name)}
    hedges = package.tables["hedges"].by_key("hedge_id")
    claimants = package.tables["claimants"].by_key("claimant_id")
    subjects = package.tables["subjects"].by_key("subject_id")
    result = []
    for claim in sorted(package.tables["claims"].rows, key=lambda c: c["claim_id"]):
        if not_evidence(claim):
            continue
        r = ranges[claim["claim_id"]]
        count = Interval(r["implied_count_low"], r["implied_count_high"]) if claim["unit"] == "percent" \
            else Interval(r["value_low"], r["value_high"])
        claimant = claimants[claim["claimant_id"]]
        result.append(Assertion(
            claim_id=claim["claim_id"], source_id=claim["source_id"], claimant_id=claim["claimant_id"],
            claimant=claimant["name"], claimant_kind=claimant["kind"],
            subject_id=claim["subject_id"], subject=subjects[claim["subject_id"]]["name"],
            quantity=claim["quantity"], time_scope=claim["time_scope"], casualty_definition=claim["casualty_definition"],
            earliest=date.fromisoformat(claim["as_of_date_earliest"]), latest=date.fromisoformat(claim["as_of_date_latest"]),
            precision=claim["as_of_date_precision"], count=count, words=wording(claim, hedges[claim["hedge_id"]], count)))
    return result

