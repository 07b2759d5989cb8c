"""``python -m estimate coverage``: the README's coverage table — who said how many figures on
which quantity, and from when to when — written from the claims, so it cannot drift from them.

An assertion is an active origin claim (relays count for their origin) about North Korean
forces. The table sits in README.md between the two COVERAGE markers; the command rewrites
that block and nothing else, and a test fails when the block and the claims disagree.
"""

from datetime import date
from pathlib import Path
from typing import NamedTuple

from estimate.package.outputs import UsageError, run_writer
from estimate.package.tables import Loaded

README = Path("README.md")
START, END = "<!-- coverage: written by python -m estimate coverage; do not edit -->", "<!-- coverage: end -->"
SUBJECT = "dprk_forces"


class Column(NamedTuple):
    """A column of the table: a troop quantity, or deployed split by its time scope."""

    quantity: str
    time_scope: str | None   # None: any
    heading: str


COLUMNS = [Column("deployed", "cumulative", "sent"), Column("deployed", "increment", "more sent"),
           Column("deployed", "present", "present"), Column("deployed", "planned", "planned"),
           Column("killed", None, "killed"), Column("wounded", None, "wounded"), Column("casualties", None, "casualties"),
           Column("captured", None, "captured"), Column("missing", None, "missing")]


def column_of(claim: dict) -> int | None:
    for i, column in enumerate(COLUMNS):
        if claim["quantity"] == column.quantity and column.time_scope in (None, claim["time_scope"]):
            return i
    return None


def assertions(package: Loaded) -> list[dict]:
    return [c for c in package.tables["claims"].rows
            if c["status"] == "active" and c["origin_id"] == c["claim_id"] and c["subject_id"] == SUBJECT
            and column_of(c) is not None]


def table(package: Loaded) -> str:
    """One row per claimant (most assertions first), one column per quantity, the first and
    last date its figures refer to (the middle of each figure's as-of interval), and a total."""
    names = {c["claimant_id"]: c["name"] for c in package.tables["claimants"].rows}
    sources = {s["source_id"]: s for s in package.tables["sources"].rows}
    rows: dict[str, dict] = {}
    for claim in assertions(package):
        row = rows.setdefault(claim["claimant_id"], {"counts": [0] * len(COLUMNS), "dates": [], "kinds": set()})
        row["counts"][column_of(claim)] += 1
        earliest, latest = (date.fromisoformat(claim[k]) for k in ("as_of_date_earliest", "as_of_date_latest"))
        row["dates"].append(earliest + (latest - earliest) / 2)
        row["kinds"].add(sources[claim["source_id"]]["kind"])
    header = ["claimant", *(column.heading for column in COLUMNS), "assertions", "first", "last"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    order = sorted(rows, key=lambda k: (-sum(rows[k]["counts"]), names[k]))
    for key in order:
        row = rows[key]
        cells = [names[key], *(str(n) if n else "" for n in row["counts"]), str(sum(row["counts"])),
                 min(row["dates"]).isoformat(), max(row["dates"]).isoformat()]
        lines.append("| " + " | ".join(cells) + " |")
    totals = [sum(rows[k]["counts"][i] for k in rows) for i in range(len(COLUMNS))]
    every = [d for k in rows for d in rows[k]["dates"]]
    lines.append("| **all " + str(len(rows)) + " claimants** | " + " | ".join(str(n) if n else "" for n in totals)
                 + f" | **{sum(totals)}** | {min(every).isoformat()} | {max(every).isoformat()} |")
    return "\n".join(lines) + "\n"


def with_table(readme: str, block: str) -> str:
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise UsageError(f"README.md must hold the line '{START}' once, followed by '{END}' — restore them "
                         "(git checkout README.md) and run the command again; nothing was written.", code="readme-markers-missing")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    return head + START + "\n" + block + END + tail


def build(package: Loaded, args) -> dict[Path, bytes]:
    try:
        readme = (package.root / README).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {README} in {package.root} ({getattr(error, 'strerror', None) or error.__class__.__name__}) — "
                         "restore it as UTF-8 text (git checkout README.md) and run the command again; nothing was written.", code="readme-unreadable") from None
    return {README: with_table(readme, table(package)).encode("utf-8")}


def main(args) -> int:
    return run_writer(args, build)
