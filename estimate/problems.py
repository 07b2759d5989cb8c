"""A problem found in the package, located by file, spreadsheet row and column."""

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the package and what to do about it.

    ``row`` counts like a spreadsheet: the header is row 1, the first record row 2.
    ``row`` and ``column`` are None when the problem concerns a whole file or column.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f"," if self.row is not None else ""
            where += f" column {self.column}"
        return f"{where}: {self.message}"


def sort_key(problem: Problem) -> tuple:
    """Order problems by file, then row (file-wide problems first), then column."""
    return (problem.file, problem.row or 0, problem.column or "", problem.message)
