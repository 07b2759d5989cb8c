"""``python -m estimate reproduce``: are the committed outputs what the code makes?

The contract is estimate/model/reproducibility.toml (README, "Reproducibility"). Every derived
output is rebuilt in memory from the committed inputs — each command's ``build`` is pure
and writes nothing — and compared with the committed file: the same bytes for outputs
made from data and committed tables, the same rows and each number within its tolerance
for the fit's. A command whose inputs changed by content since its recorded run
(estimate.package.stamps) is reported as stale and not rebuilt. ``make check``, the tests and CI
all run this one comparison.
"""

import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from estimate.package import stamps
from estimate.model import tolerances
from estimate.cli import parse
from estimate.package.outputs import InvalidPackage, valid_package
from estimate.package.problems import report

REBUILD = "run 'make derived figures' and commit data/derived/, figures/ and .stamps/"


@dataclass(frozen=True)
class Difference:
    """One way a committed output is not what the code makes, with a stable code."""

    code: str        # stale, edited, bytes, row_missing, row_added, value, beyond_tolerance
    file: str
    where: str       # row and column, or '' for the whole file
    message: str

    def __str__(self) -> str:
        place = f"{self.file} {self.where}".strip()
        return f"{place}: {self.message} [{self.code}]".replace("\n", "\\n")


def stale(root: Path) -> tuple[set[str], list[Difference]]:
    """Commands whose recorded inputs or outputs changed by content, one line per command and side."""
    found: dict[tuple[str, str], list[str]] = {}
    for command, path, side in stamps.changes(root):
        found.setdefault((command, side), []).append(path)
    differences = []
    for (command, side), paths in sorted(found.items()):
        if side == "input":
            differences.append(Difference("stale", ", ".join(paths), "", f"changed since 'python -m estimate {command}' last ran, "
                                          f"so its outputs are stale — {REBUILD}"))
        else:
            differences.append(Difference("edited", ", ".join(paths), "", f"not what 'python -m estimate {command}' last wrote "
                                          f"(edited by hand, or rebuilt without recording it) — {REBUILD}"))
    return {command for command, _ in found}, differences


def first_difference(committed: bytes, rebuilt: bytes) -> str:
    """Where two texts first differ, as 'row N' (CSV: the header is row 1) and column when a CSV."""
    try:
        old, new = committed.decode("utf-8").split("\n"), rebuilt.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return f"({len(committed):,} bytes committed, {len(rebuilt):,} rebuilt)"
    for number, (a, b) in enumerate(zip(old, new), start=1):
        if a != b:
            header = old[0].split(",")
            cells = [(h, x, y) for h, x, y in zip(header, a.split(","), b.split(",")) if x != y]
            column = f", column {cells[0][0]}: committed {cells[0][1]!r}, rebuilt {cells[0][2]!r}" if cells and "," in old[0] else ""
            return f"row {number}{column}"
    return f"row {min(len(old), len(new)) + 1} (one of them is longer)"


def compare_bytes(path: str, committed: bytes | None, rebuilt: bytes) -> list[Difference]:
    if committed is None:
        return [Difference("bytes", path, "", f"missing — {REBUILD}")]
    if committed == rebuilt:
        return []
    return [Difference("bytes", path, first_difference(committed, rebuilt),
                       f"differs from what the code makes, although its inputs have not changed — {REBUILD}, "
                       "or find what makes it depend on the machine")]


def compare_fitted(rule: tolerances.Rule, committed: bytes | None, rebuilt: bytes, allowed: dict, threshold: float,
                   seed: int | None = None) -> list[Difference]:
    """Rows by key; numbers within each cell's tolerance, flags where their probabilities are
    clear of the threshold, every other column exactly."""
    if committed is None:
        return [Difference("bytes", rule.path, "", f"missing — {REBUILD}")]
    differences = []
    old_rows, new_rows = rule.keyed(committed), rule.keyed(rebuilt)
    row_numbers = {key: n for n, key in enumerate(old_rows, start=2)} if rule.path.endswith(".csv") else {}
    name = lambda key: (f"row {row_numbers[key]} " if key in row_numbers else "") + f"({', '.join(k for k in key if k)})"
    for key in sorted(set(old_rows) - set(new_rows)):
        differences.append(Difference("row_missing", rule.path, name(key), f"the rebuilt fit has no such row — {REBUILD}"))
    for key in sorted(set(new_rows) - set(old_rows)):
        differences.append(Difference("row_added", rule.path, f"({', '.join(k for k in key if k)})",
                                      f"the rebuilt fit has this row and the committed file does not — {REBUILD}"))
    for key in sorted(set(old_rows) & set(new_rows)):
        old, new = old_rows[key], new_rows[key]
        for column in old:
            if column in rule.ignore or column == rule.measured or old[column] == new.get(column):
                continue
            limit = allowed.get((key, column), rule.cell_unit(old, column))
            a, b = (tolerances.number(old[column]), tolerances.number(new.get(column, ""))) if column in rule.numbers else (None, None)
            if a is not None and b is not None:
                if abs(a - b) <= limit:
                    continue
                differences.append(Difference("beyond_tolerance", rule.path, f"{name(key)}, column {column}",
                                              f"committed {old[column]}, rebuilt {new[column]}: moved {abs(a - b):.6g}, "
                                              f"beyond its tolerance of {limit:.3g} — {REBUILD}, or find what made the fit move"))
            elif column in rule.flags and near(rule.flags[column], key, old, allowed, threshold):
                continue
            else:
                differences.append(Difference("value", rule.path, f"{name(key)}, column {column}",
                                              f"committed {old[column]!r}, rebuilt {new.get(column)!r} — {REBUILD}"))
    if rule.path.endswith(".json"):
        differences += compare_json_rest(rule, committed, rebuilt, seed)
    return differences


def near(columns: list[str], key: tuple, row: dict, allowed: dict, threshold: float) -> bool:
    """Whether one of a flag's probabilities lies within its tolerance of the threshold."""
    values = [(tolerances.number(row[c]), allowed.get((key, c), 0.0)) for c in columns]
    return any(value is not None and abs(value - threshold) <= limit for value, limit in values)


def compare_json_rest(rule: tolerances.Rule, committed: bytes, rebuilt: bytes, seed: int | None) -> list[Difference]:
    """fit.json beyond its runs: equal, except the measured tolerances, compared by their names,
    and the seed when another was asked for."""
    old, new = json.loads(committed), json.loads(rebuilt)
    if seed is not None:
        for content in (old, new):
            content.get("config", {}).pop("seed", None)
    differences = []
    for key in sorted(set(old) | set(new)):
        if key == "runs":
            continue
        same = names(old.get(key)) == names(new.get(key)) if key == rule.measured else old.get(key) == new.get(key)
        if not same:
            differences.append(Difference("value", rule.path, f"key {key}", f"differs from the rebuilt fit's — {REBUILD}"))
    return differences


def names(tree) -> object:
    return {k: names(v) for k, v in tree.items()} if isinstance(tree, dict) else None


def committed_bytes(root: Path, path) -> bytes | None:
    try:
        return (root / path).read_bytes()
    except FileNotFoundError:
        return None


def reproduce(root: Path, seed: int | None = None) -> list[Difference]:
    """Every difference between the committed outputs at ``root`` and what the code makes."""
    skipped, differences = stale(root)
    package = valid_package(root)
    for command in tolerances.contract()["bytes"]:
        if command in skipped:
            continue
        args = parse([command, "--root", str(root)])
        module = importlib.import_module(f"estimate.{args.run.split(':')[0]}")
        for path, data in sorted(module.build(package, args).items()):
            differences += compare_bytes(str(path), committed_bytes(root, path), data)
    if "fit" not in skipped:
        from estimate.model import fit  # numpy and scipy: only when the fit is compared
        config = fit.load_config() | ({"seed": seed} if seed is not None else {})
        rebuilt = fit.fitted(package, config)
        for path, rule in tolerances.rules().items():
            differences += compare_fitted(rule, committed_bytes(root, path), rebuilt.outputs[Path(path)], rebuilt.tolerances[path],
                                          config["flags"]["tail"], seed)
    return differences


def main(args) -> int:
    try:
        differences = reproduce(args.root, args.seed)
    except InvalidPackage as error:
        return report(error.problems, ": fix them before comparing its outputs.")
    for difference in differences:
        print(difference, file=sys.stderr)
    if differences:
        print(f"{len(differences)} difference(s): the committed outputs are not what the code makes from the committed inputs.",
              file=sys.stderr)
        return 1
    print("Reproduced: every derived output is what the code makes — the same bytes, or the fit's numbers within their "
          "tolerance (README, Reproducibility).")
    return 0
