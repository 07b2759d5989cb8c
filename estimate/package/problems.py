"""A problem found in the package, located by file, spreadsheet row and column."""

import sys
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the package and what to do about it.

    ``row`` counts like a spreadsheet: the header is row 1, the first record row 2.
    ``row`` and ``column`` are None when the problem concerns a whole file or column.
    ``code`` names the kind of problem and never changes when the message is reworded
    (frictionless's error type for what frictionless finds): tests and machines
    (``validate --json``) match on it; README, "Validation", lists them.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    code: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += "," if self.row is not None else ""
            where += f" column {self.column}"
        # One problem, one line, whatever a damaged file put into a value.
        return f"{where}: {self.message} [{self.code}]".replace("\r", "\\r").replace("\n", "\\n")


def shown(value, limit: int = 60) -> str:
    """A value as a message quotes it: in quotes, escaped, and cut short when long."""
    text = str(value)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"… ({len(text):,} characters)"


def report(problems: list[Problem], then: str) -> int:
    """Every problem on standard error, one line each, then how many and ``then`` (what to
    do); the exit status of a command that stops at them."""
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem(s) in the data package{then}", file=sys.stderr)
    return 1


def sort_key(problem: Problem) -> tuple:
    """Order problems by file, then row (file-wide problems first), then column."""
    return (problem.file, problem.row or 0, problem.column or "", problem.message)
