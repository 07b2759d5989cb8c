"""What every command that writes shares: valid input first, then all outputs or none.

A command's ``build(package, args)`` is pure: it returns its outputs as bytes by path
and writes nothing. ``commit`` then writes each to a temporary file beside its target and,
only once all are written, renames them into place. A failure while computing or writing
(bad data, an exception in the fit, a full disk) therefore leaves every earlier output
exactly as it was: never a half-written file, never a set of files from two runs.
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
    """Validate, build the outputs, then commit them all; report bad input plainly."""
    try:
        package = valid_package(args.root)
    except InvalidPackage as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem(s) in the data package; nothing was written. "
              "Fix them and run the command again.", file=sys.stderr)
        return 1
    try:
        written = commit(args.root, build(package, args))
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except OSError as error:
        print(f"could not write {error.filename or 'the outputs'}: {error.strerror or error} — nothing was changed; "
              "free some disk space or fix the folder's permissions, then run the command again", file=sys.stderr)
        return 1
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


def table(header: list[str], rows: list[list]) -> bytes:
    """A CSV file's bytes: UTF-8, LF, minimal quoting, canonical cells."""
    return csv_text(header, rows).encode("utf-8")


def commit(root: Path, outputs: dict[Path, bytes]) -> list[Path]:
    """Write every output or none; '-' is standard output. Returns the paths written.

    All temporary files are written first, so running out of space or permission leaves
    the targets untouched; renames, the last step, do not need space.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for rel, data in outputs.items():
            if str(rel) == "-":
                continue
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((temporary, target))
            with os.fdopen(handle, "wb") as f:
                f.write(data)
                # mkstemp makes the file private (0600); give it the mode any new file gets.
                os.fchmod(f.fileno(), 0o666 & ~UMASK)
        for temporary, target in staged:
            os.replace(temporary, target)
    except BaseException:
        for temporary, _ in staged:
            if os.path.exists(temporary):
                os.unlink(temporary)
        raise
    for rel, data in outputs.items():
        if str(rel) == "-":
            sys.stdout.write(data.decode("utf-8"))
    return [rel for rel in outputs if str(rel) != "-"]
