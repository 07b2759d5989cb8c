"""``python -m estimate ranges``: each claim's wording as an interval (data/derived/ranges.csv).

The interval says what the claimant asserted, not the truth: bias and noise come in the
fit. Every wording and factor comes from data/hedges.csv; the narrow and wide
lexicons of data/hedges_sensitivity.csv override its parameters for sensitivity runs.
"""

import math
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from estimate.package.outputs import DERIVED, UsageError, cell, inside, run_writer, table
from estimate.package.tables import Loaded, Row, columns, rule_columns

MAIN = "main"
OUTPUT = DERIVED / "ranges.csv"
# Counts of people are whole: bounds are rounded outward, after forgiving float noise.
WHOLE_UNITS = {"persons"}
FLOAT_NOISE = 1e-9


class UnknownHedge(ValueError):
    """A claim names a hedge that the lexicon does not have: an error to fix, never a guess."""


@dataclass(frozen=True)
class Hedge:
    hedge_id: str
    rule: str
    parameters: dict[str, float]


@dataclass(frozen=True)
class Interval:
    """[low, high]; high is math.inf when the wording sets no ceiling ('at least')."""

    low: float
    high: float

    @property
    def is_open(self) -> bool:
        return math.isinf(self.high)

    def times(self, other: "Interval") -> "Interval":
        """Interval product for non-negative intervals: [ac, bd]."""
        return Interval(self.low * other.low, self.high * other.high)


# ---------------------------------------------------------------- the lexicon

def parameters_of(row: Row, read: tuple[str, ...]) -> dict[str, float]:
    """The parameters a rule reads (``read``, from the codebook), as this row of the lexicon gives them."""
    return {name: float(row[name]) for name in read if row[name]}


def lexicon_names(package: Loaded) -> list[str]:
    return [MAIN] + sorted({row["lexicon"] for row in package.tables["hedges_sensitivity"].rows})


def lexicon(package: Loaded, name: str = MAIN) -> dict[str, Hedge]:
    """Hedges by id; a sensitivity lexicon replaces the parameters it lists."""
    names = lexicon_names(package)
    if name not in names:
        raise UsageError(f"'{name}' is not a lexicon — use one of: {', '.join(names)} (see data/hedges_sensitivity.csv)", code="lexicon-unknown")
    rules = rule_columns(package.descriptor)
    hedges = {row["hedge_id"]: Hedge(row["hedge_id"], row["rule"], parameters_of(row, rules[row["rule"]]))
              for row in package.tables["hedges"].rows}
    for row in package.tables["hedges_sensitivity"].rows:
        if row["lexicon"] == name:
            hedge = hedges[row["hedge_id"]]
            hedges[hedge.hedge_id] = replace(hedge, parameters={**hedge.parameters, **parameters_of(row, rules[hedge.rule])})
    return hedges


def find(hedges: dict[str, Hedge], hedge_id: str) -> Hedge:
    if hedge_id not in hedges:
        raise UnknownHedge(f"{hedge_id!r} is not in data/hedges.csv — add it there or fix the spelling")
    return hedges[hedge_id]


# ---------------------------------------------------------------- from wording to interval

def step(x: float) -> float:
    """Rounding step g of x: 10 to the number of trailing zeros, 5 times that when the last non-zero digit is 5."""
    _, digits, exponent = Decimal(repr(float(x))).normalize().as_tuple()
    g = Decimal(10) ** exponent
    return float(g * 5 if digits[-1] == 5 else g)


def half_width(x: float, p: dict) -> float:
    return min(p["step_share"] * step(x), p["cap_share"] * x)


RULES = {
    "exact": lambda x, p: Interval(x, x),
    "granular": lambda x, p: Interval(x - half_width(x, p), x + half_width(x, p)),
    "about": lambda x, p: Interval(min(x - half_width(x, p), p["low_factor"] * x), max(x + half_width(x, p), p["high_factor"] * x)),
    "more_than": lambda x, p: Interval(x, max(x + step(x), p["high_factor"] * x)),
    "at_least": lambda x, p: Interval(x, math.inf),
    "below": lambda x, p: Interval(p["low_factor"] * x, x),
}


def interval(hedge: Hedge, value: float | None = None, low: float | None = None, high: float | None = None) -> Interval:
    """The interval a hedged figure asserts: ``value`` for one number, ``low``/``high`` for 'between'."""
    if hedge.rule == "vague":
        return Interval(hedge.parameters["vague_low"], hedge.parameters["vague_high"])
    if hedge.rule == "range":
        return Interval(low, high)
    return RULES[hedge.rule](value, hedge.parameters)


def whole(bounds: Interval) -> Interval:
    return Interval(math.floor(bounds.low + FLOAT_NOISE), bounds.high if bounds.is_open else math.ceil(bounds.high - FLOAT_NOISE))


def rule_parameters(hedge: Hedge, value: float | None) -> str:
    """The parameters that produced an interval, as 'name=value' pairs, with g and h where the rule uses them."""
    shown = dict(sorted(hedge.parameters.items()))
    if hedge.rule in ("granular", "about", "more_than"):
        shown["g"] = step(value)
    if hedge.rule in ("granular", "about"):
        shown["h"] = half_width(value, hedge.parameters)
    return "; ".join(f"{name}={cell(v)}" for name, v in shown.items())


# ---------------------------------------------------------------- claims to ranges

def number_or_none(text: str) -> float | None:
    return float(text) if text else None


def claim_interval(claim: Row, hedges: dict[str, Hedge]) -> Interval:
    hedge = find(hedges, claim["hedge_id"])
    bounds = interval(hedge, number_or_none(claim["stated_value"]), number_or_none(claim["stated_low"]), number_or_none(claim["stated_high"]))
    return whole(bounds) if claim["unit"] in WHOLE_UNITS else bounds


def claim_ranges(package: Loaded, lexicon_name: str = MAIN) -> list[dict]:
    """One row per claim, in claim_id order, with its interval and the rule that made it."""
    hedges = lexicon(package, lexicon_name)
    claims = package.tables["claims"].rows
    intervals = {c["claim_id"]: claim_interval(c, hedges) for c in claims}
    claim_columns = {f["name"] for f in package.tables["claims"].fields}
    rows, copied = [], [c for c in columns(package.descriptor, "ranges") if c in claim_columns]
    for claim in sorted(claims, key=lambda c: c["claim_id"]):
        hedge = hedges[claim["hedge_id"]]
        bounds = intervals[claim["claim_id"]]
        implied = None
        if claim["base_claim_id"]:
            implied = whole(Interval(bounds.low / 100, bounds.high / 100).times(intervals[claim["base_claim_id"]]))
        row = {column: claim[column] for column in copied}
        row.update(lexicon=lexicon_name, rule=hedge.rule,
                   rule_parameters=rule_parameters(hedge, number_or_none(claim["stated_value"])),
                   value_low=bounds.low, value_high=bounds.high, high_is_open=bounds.is_open,
                   implied_count_low=implied.low if implied else None,
                   implied_count_high=implied.high if implied else None,
                   implied_count_high_is_open=implied.is_open if implied else None)
        assert bounds.low <= bounds.high, f"{claim['claim_id']}: interval {bounds} is reversed"
        rows.append(row)
    return rows


def build(package: Loaded, args) -> dict[Path, bytes]:
    rows = claim_ranges(package, args.lexicon)
    output = args.output or (OUTPUT if args.lexicon == MAIN else Path("-"))
    own = {inside(package.root, OUTPUT)} if args.lexicon == MAIN else set()
    if str(output) != "-":
        target = inside(package.root, output)
        # Only a table is written: a name without .csv (CITATION.cff, .stamps/fit.json) is
        # some other file of the package, or a mistake.
        if output.suffix != ".csv":
            raise UsageError(f"--output {output} is not a .csv file name — ranges writes a CSV table: choose a name ending "
                             "in .csv, or '-' for standard output; nothing was written.", code="output-not-csv")
        if target in package.files() - own:
            raise UsageError(f"--output {output} is a file of the package, and an input is never an output — choose another "
                             "name, or '-' for standard output; nothing was written.", code="output-is-an-input")
    return {output: table(columns(package.descriptor, "ranges"), rows)}


def main(args) -> int:
    return run_writer(args, build)
