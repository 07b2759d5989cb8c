"""Fuzzing the real CSVs: whatever a file becomes, validation reports it cleanly or accepts it.

Each example takes one hand-maintained table of the real package and damages it: a
random cell, a truncated file, a stray quote, another encoding, a huge number, an empty
or whitespace-only value, a dropped or doubled line, random bytes. Validation must never
raise, every problem must name a real file and, where it gives them, a row inside the
file and a column of the table; and a command that writes must then write nothing.
"""

import csv
import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import REPO
from estimate.cli import main
from estimate.package.tables import load
from estimate.package.validate import validate_package

PACKAGE, _ = load(REPO)
TABLES = {r["path"]: [f["name"] for f in r["schema"]["fields"]] for r in PACKAGE.table_resources()}
ORIGINAL = {path: (REPO / path).read_bytes() for path in TABLES}
KNOWN_FILES = set(TABLES) | {"datapackage.json"} | {r["path"] for r in PACKAGE.descriptor["resources"]}

NASTY = st.sampled_from(["", " ", "\t", "  \n ", '"', '""', "=1+1", "+2", "-", "@SUM(A1)", "NaN", "inf", "-inf", "1e309",
                         "9" * 400, "-0", "0x1F", "1,5", "1.000.000", "2025-02-30", "2025-13-01", "0000-00-00", "true",
                         "null", "None", "ñandú", "\u200b", "\x00", "\x1b[31m", "c001", "s000", "🙂", "a\r\nb", "\\"])
VALUES = st.one_of(NASTY, st.text(max_size=40), st.integers(min_value=-10**30, max_value=10**30).map(str),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr))


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("fuzz")
    shutil.copy(REPO / "datapackage.json", where / "datapackage.json")
    shutil.copytree(REPO / "data", where / "data")
    return where


def records(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def unparse(rows: list[list[str]]) -> bytes:
    stream = io.StringIO()
    csv.writer(stream, lineterminator="\n").writerows(rows)
    return stream.getvalue().encode("utf-8")


@st.composite
def damaged(draw):
    """One table's path and its damaged bytes."""
    path = draw(st.sampled_from(sorted(TABLES)))
    data = ORIGINAL[path]
    kind = draw(st.sampled_from(["cell", "cell", "cell", "truncate", "quote", "encoding", "line", "bytes"]))
    if kind == "cell":
        rows = records(data)
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, len(rows[r]) - 1))
        rows[r][c] = draw(VALUES)
        return path, unparse(rows)
    if kind == "truncate":
        return path, data[:draw(st.integers(0, len(data) - 1))]
    if kind == "quote":
        at = draw(st.integers(0, len(data)))
        return path, data[:at] + b'"' + data[at:]
    if kind == "encoding":
        encoding = draw(st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-8-sig", "mac-roman"]))
        return path, data.decode("utf-8").encode(encoding, errors="replace")
    if kind == "line":
        lines = data.split(b"\n")
        i = draw(st.integers(0, len(lines) - 1))
        return path, b"\n".join(lines[:i] + ([lines[i]] * draw(st.integers(0, 2))) + lines[i + 1:])
    at = draw(st.integers(0, len(data)))
    return path, data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(damage=damaged())
def test_damaged_tables_are_reported_cleanly_and_nothing_is_written(root, damage):
    path, data = damage
    (root / path).write_bytes(data)
    try:
        problems = validate_package(root)
        lines = {p: b.count(b"\n") + 2 for p, b in (ORIGINAL | {path: data}).items()}
        for problem in problems:
            assert problem.file in KNOWN_FILES, problem
            assert problem.row is None or 1 <= problem.row <= lines.get(problem.file, 1), problem
            # A header problem (row 1) may name a column the schema does not have.
            assert problem.column is None or problem.column in TABLES.get(problem.file, []) or problem.row == 1, problem
            assert problem.message and "Traceback" not in problem.message, problem
            assert "\n" not in str(problem) and "\r" not in str(problem), f"one problem, one line: {problem!r}"
        before = snapshot(root)
        code = main(["ranges", "--root", str(root)])
        assert code == (1 if problems else 0)
        if problems:
            assert snapshot(root) == before
    finally:
        (root / path).write_bytes(ORIGINAL[path])
        shutil.copy(REPO / "data/derived/ranges.csv", root / "data/derived/ranges.csv")
