"""How far each number the fit publishes may move on another machine, with another seed.

The contract is estimate/reproducibility.toml. Each run of the fit measures its own
error: the optimiser's, from a refit started off the optimum with the same seed, and the
Monte Carlo error of every published number, as the larger of the standard deviation
over replicate sets of draws and the textbook standard error of a sample quantile (or of
an average of probabilities) from the effective number of draws. Eight replicates alone
can come out tight by chance for a whole fit; the textbook error alone misses what the
running maximum and the resampling add.

Two runs with different seeds differ, in each number, by a standard deviation of sqrt(2)
Monte Carlo standard errors. A published cell's tolerance is ``standard_errors`` of
those, plus the restart's difference, plus one unit of the last printed digit (rounding
can move a value by one unit).
"""

import csv
import io
import json
import math
import statistics
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CONTRACT = Path(__file__).with_name("reproducibility.toml")
# Below this many units a value's tolerance is reported in units, at or above it as a
# share of the value: one death in 3 is not "33 %" of anything a reader would quote.
SMALL = 100
NORMAL = statistics.NormalDist()
SCALES = {"log1p": (math.log1p, lambda v: v + 1), "log": (math.log, lambda v: v)}


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
    quantiles: dict = field(default_factory=dict)
    spread: tuple = ()
    scale: str = "log1p"
    means: tuple = ()
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

    def textbook(self, row: dict, column: str, draws: float) -> float:
        """The textbook Monte Carlo standard error of one cell, from ``draws`` effective draws."""
        if column in self.means:
            p = number(row[column])
            return math.sqrt(p * (1 - p) / draws)
        if column not in self.quantiles:
            return 0.0
        to_scale, slope = SCALES[self.scale]
        low, central, high = (number(row[c]) for c in self.spread)
        if low is None or central is None or min(low, central) < 0 or (self.scale == "log" and low <= 0):
            return 0.0
        # The 90% band spans 2 x 1.645 standard deviations; an open band, the lower half.
        sigma = ((to_scale(high) - to_scale(low)) / 2 if high is not None else to_scale(central) - to_scale(low)) / NORMAL.inv_cdf(0.95)
        p = self.quantiles[column]
        return slope(number(row[column])) * sigma * math.sqrt(p * (1 - p) / draws) / NORMAL.pdf(NORMAL.inv_cdf(p))


def rules() -> dict[str, Rule]:
    result = {}
    for path, r in contract()["fit"].items():
        result[path] = Rule(path, tuple(r["key"]), tuple(r["numbers"]), float(r["unit"]), r.get("quantiles", {}),
                            tuple(r.get("spread", ())), r.get("scale", "log1p"), tuple(r.get("means", ())),
                            r.get("unit_column"), r.get("flags", {}), tuple(r.get("ignore", ())), r.get("measured"))
    return result


def number(text: str) -> float | None:
    return float(text) if text not in ("", "null") else None


def cell_tolerances(rule: Rule, published: bytes, restart: bytes, replicates: list[bytes], draws: float) -> dict[tuple, float]:
    """Per (row key, column): the tolerance of each published number."""
    k = contract()["standard_errors"]
    again = rule.keyed(restart)
    others = [rule.keyed(r) for r in replicates]
    result = {}
    for key, row in rule.keyed(published).items():
        for column in rule.numbers:
            value = number(row[column])
            if value is None:
                continue
            spread = [v for v in (number(o[key][column]) for o in others if key in o) if v is not None]
            error = max(statistics.stdev(spread) if len(spread) > 1 else 0.0, rule.textbook(row, column, draws))
            restarted = number(again[key][column]) if key in again else None
            moved = abs(restarted - value) if restarted is not None else 0.0
            result[(key, column)] = k * math.sqrt(2) * error + moved + rule.cell_unit(row, column)
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
