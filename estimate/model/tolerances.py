"""How far each number the fit publishes may move on another machine, with another seed.

The contract is estimate/model/reproducibility.toml. Every published number of the fit is a
posterior quantile or mean over NUTS draws, and the fit measures its Monte Carlo
standard error from the chains themselves (ArviZ: the effective sample size of the
quantile's indicator, or of the mean). Two runs with different seeds, or on CPUs whose
floating point sends the chains elsewhere, differ in each number by a standard deviation
of sqrt(2) such errors. A published cell's tolerance is k of those, plus one unit of the
last printed digit (rounding can move a value by one unit), with k set by the number of
cells compared so that an honest rerun crosses none of them but with chance
``false_alarm`` (standard_errors).
"""

import csv
import io
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

CONTRACT = Path(__file__).with_name("reproducibility.toml")
# Below this many units a value's tolerance is reported in units, at or above it as a
# share of the value: one death in 3 is not "33 %" of anything a reader would quote.
SMALL = 100


def contract() -> dict:
    with open(CONTRACT, "rb") as f:
        return tomllib.load(f)


@dataclass(frozen=True)
class Rule:
    """How one output of the fit is compared: rows by key, some columns within tolerance."""

    path: str
    key: tuple
    numbers: tuple
    unit: float
    unit_column: dict | None = None
    flags: dict = field(default_factory=dict)
    ignore: tuple = ()
    measured: str | None = None

    def cell_unit(self, row: dict, column: str) -> float:
        by_row = self.unit_column
        if by_row and column in by_row["columns"] and row.get(by_row["column"]) in by_row:
            return float(by_row[row[by_row["column"]]])
        return self.unit

    def rows(self, data: bytes) -> list[dict]:
        """The output's rows as text cells: a CSV's rows, or fit.json's runs."""
        if self.path.endswith(".json"):
            content = json.loads(data)
            return [{"run": name} | {k: json.dumps(v) for k, v in run.items()} for name, run in sorted(content["runs"].items())]
        return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))

    def keyed(self, data: bytes) -> dict[tuple, dict]:
        return {tuple(row[k] for k in self.key): row for row in self.rows(data)}


def rules() -> dict[str, Rule]:
    result = {}
    for path, r in contract()["fit"].items():
        result[path] = Rule(path, tuple(r["key"]), tuple(r["numbers"]), float(r["unit"]), r.get("unit_column"),
                            r.get("flags", {}), tuple(r.get("ignore", ())), r.get("measured"))
    return result


def number(text: str) -> float | None:
    return float(text) if text not in ("", "null") else None


def standard_errors(compared: int) -> float:
    """k, the standard deviations of a difference each of ``compared`` numbers may move: the
    chance that any of them moves further by chance alone is at most the contract's
    ``false_alarm`` (Bonferroni, normal differences)."""
    return NormalDist().inv_cdf(1 - contract()["false_alarm"] / (2 * max(compared, 1)))


def compared(rule: Rule, published: bytes) -> int:
    """How many numbers of an output the comparison holds to a tolerance."""
    return sum(number(row[column]) is not None for row in rule.rows(published) for column in rule.numbers)


def cell_tolerances(rule: Rule, published: bytes, errors: list[dict], k: float) -> dict[tuple, float]:
    """Per (row key, column): the tolerance of each published number, from its Monte Carlo
    standard error (``errors``, one dict per row of ``published``, in order) and k
    (standard_errors)."""
    result = {}
    for row, row_errors in zip(rule.rows(published), errors, strict=True):
        key = tuple(row[c] for c in rule.key)
        for column in rule.numbers:
            if number(row[column]) is not None:
                result[(key, column)] = k * math.sqrt(2) * row_errors.get(column, 0.0) + rule.cell_unit(row, column)
    return result


def round_up(value: float, digits: int = 2) -> float:
    """Up to ``digits`` significant digits, never below the value."""
    if value <= 0:
        return 0.0
    scale = 10 ** (digits - 1 - math.floor(math.log10(value)))
    return math.ceil(value * scale - 1e-9) / scale


def largest(rule: Rule, published: bytes, tolerances: dict[tuple, float]) -> dict:
    """Per column, the widest tolerance: as a share of values of at least SMALL units, and in
    the column's units below that — what the README quotes."""
    rows = rule.keyed(published)
    result = {}
    for column in rule.numbers:
        shares, units = [0.0], [0.0]
        for (key, c), tolerance in tolerances.items():
            if c != column:
                continue
            value, unit = abs(number(rows[key][column])), rule.cell_unit(rows[key], column)
            if value >= SMALL * unit:
                shares.append(tolerance / value)
            else:
                units.append(tolerance)
        result[column] = {"share_of_value": round_up(max(shares)), "below_100_units": round_up(max(units))}
    return result
