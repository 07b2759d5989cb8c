"""What every command that writes shares: valid input first, then atomic, canonical CSV.

A derived table is written to a temporary file beside its target and renamed into
place, so a failure leaves the previous version intact, never a half-written file.
"""

import csv
import io
import math
import os
import sys
import tempfile
from pathlib import Path

from estimate.problems import Problem
from estimate.tables import Loaded, load
from estimate.validate import validate_package

DERIVED = Path("data/derived")
UMASK = os.umask(0o022)
os.umask(UMASK)


class UsageError(Exception):
    """A command-line request that cannot be met, with a sentence that says what to do."""


class InvalidPackage(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in the data package")
        self.problems = problems


def valid_package(root: Path) -> Loaded:
    """The package at ``root``, or InvalidPackage listing every problem."""
    problems = validate_package(root)
    if problems:
        raise InvalidPackage(problems)
    package, _ = load(root)
    return package


def run_writer(args, build) -> int:
    """Validate, then let ``build(package, args)`` write its outputs; report bad input plainly."""
    try:
        package = valid_package(args.root)
    except InvalidPackage as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem(s) in the data package; nothing was written. "
              "Fix them and run the command again.", file=sys.stderr)
        return 1
    try:
        written = build(package, args)
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def cell(value) -> str:
    """Canonical text of a cell: integers without '.0', open bounds empty, floats to 6 decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return ""
        if value == round(value):
            return str(int(round(value)))
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


def csv_text(header: list[str], rows: list[list]) -> str:
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return stream.getvalue()


def write_table(root: Path, rel: Path, header: list[str], rows: list[list]) -> list[Path]:
    """Write a CSV (UTF-8, LF, minimal quoting), or to standard output when ``rel`` is '-'."""
    text = csv_text(header, rows)
    if str(rel) == "-":
        sys.stdout.write(text)
        return []
    return write_text(root, rel, text)


def write_text(root: Path, rel: Path, text: str) -> list[Path]:
    """Write UTF-8 text atomically; returns the paths written, relative to root."""
    return write_bytes(root, rel, text.encode("utf-8"))


def write_bytes(root: Path, rel: Path, data: bytes) -> list[Path]:
    """Write a file atomically: a temporary file beside the target, renamed into place.

    Returns the paths written, relative to root.
    """
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
            # mkstemp makes the file private (0600); give it the mode any new file gets.
            os.fchmod(f.fileno(), 0o666 & ~UMASK)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
    return [rel]
