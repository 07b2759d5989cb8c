"""What every command that writes shares: valid input first, then all outputs or none.

A command's ``build(package, args)`` is pure: it returns its outputs as bytes by path
and writes nothing. ``commit`` then writes each to a temporary file beside its target and,
only once all are written, renames them into place. A failure while computing or writing
(bad data, an exception in the fit, a full disk) therefore leaves every earlier output
exactly as it was: never a half-written file, never a set of files from two runs.
"""

import csv
import fcntl
import io
import json
import math
import os
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from estimate.package import stamps
from estimate.package.problems import Problem, report
from estimate.package.tables import Loaded, Row, load, read_table, within
from estimate.package.validate import table_problems, validate_package

DERIVED = Path("data/derived")
UMASK = os.umask(0o022)
os.umask(UMASK)


def refusal(message: str, code: str) -> str:
    """A command's refusal as printed: the sentence that says what to do, then its code."""
    return f"{message} [{code}]"


class UsageError(Exception):
    """A request a command cannot meet: a sentence that says what to do, and a code that
    names its kind and never changes when the sentence is reworded (README, "Refusals"):
    tests and scripts match on the code."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message, self.code = message, code

    def __str__(self) -> str:
        return refusal(self.message, self.code)


# How long a command that changes the package waits for another to finish: longer than a
# full rebuild takes, short enough that a stuck process does not hold everyone for ever.
LOCK_WAIT = 900.0


@contextmanager
def exclusive(root: Path, wait: float = LOCK_WAIT):
    """Hold the package folder for one command that changes it, waiting (up to ``wait``
    seconds) while another does. The lock is the folder's own (flock on its directory), so
    no lock file is left behind, and the kernel releases it when the process ends, however
    it ends."""
    try:
        handle = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield  # no such folder: the command reports that itself
        return
    try:
        deadline, told = time.monotonic() + wait, False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UsageError(f"another command has been changing the package in {root} for too long — wait until it "
                                     "has finished (or stop it), then run this one again; nothing was written.", code="package-busy") from None
                if not told:
                    print(f"waiting for another command that is changing the package in {root} …", file=sys.stderr)
                    told = True
                time.sleep(0.2)
        yield
    finally:
        os.close(handle)


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


def derived_rows(package: Loaded, rel) -> list[Row]:
    """A derived table as a later stage reads it, checked first as an input is: present, its
    file sound, its header and every cell as its schema in datapackage.json says. A table
    cut short, edited or left from an older version is refused, never silently used."""
    resource = next((r for r in package.descriptor["resources"] if r.get("path") == str(rel)), None)
    if resource is None or not (package.root / rel).is_file():
        raise UsageError(f"{rel} is missing — run 'make derived' to build it; nothing was written.", code="derived-table-missing")
    table, problems = read_table(package.root, resource)
    problems = problems or table_problems(package, resource)
    if problems:
        raise UsageError("\n".join(map(str, problems)) + f"\n{rel} is not what this package's code writes — rebuild it with "
                         "'make derived' (or restore it from git); nothing was written.", code="derived-table-not-ours")
    return table.rows


def run_writer(args, build) -> int:
    """Validate, build the outputs, then commit them all; report bad input plainly."""
    try:
        package = valid_package(args.root)
    except InvalidPackage as error:
        return report(error.problems, "; nothing was written. Fix them and run the command again.")
    try:
        written = commit(args.root, build(package, args))
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except OSError as error:
        print(refusal(f"could not write {error.filename or 'the outputs'}: {error.strerror or error} — nothing was changed; "
                      "free some disk space or fix the folder's permissions, then run the command again", "output-not-written"),
              file=sys.stderr)
        return 1
    stamps.refresh(args.root, args.command, written)
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


def table(header: list[str], rows: list[dict]) -> bytes:
    """A CSV file's bytes from rows named by column: UTF-8, LF, minimal quoting, canonical
    cells. A row that names a column the header does not, or leaves one out, is a mistake in
    the code that built it: it is never written."""
    wanted = set(header)
    for number, row in enumerate(rows, 2):
        if row.keys() != wanted:
            raise ValueError(f"row {number} has columns {sorted(row.keys() - wanted)} that the table has not, and lacks "
                             f"{sorted(wanted - row.keys())}: build it with exactly the columns of its schema")
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([cell(row[column]) for column in header] for row in rows)
    return stream.getvalue().encode("utf-8")


JOURNAL = ".estimate-journal.json"


def journal(root: Path, state: str, moves: list[tuple[Path, Path]]) -> None:
    """Record the moves of a commit and its state, atomically (its own temporary, renamed)."""
    base = root.resolve()
    text = json.dumps({"state": state, "moves": [[str(t.relative_to(base)), str(g.relative_to(base))] for t, g in moves]})
    temporary = root / (JOURNAL + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, root / JOURNAL)


class ForeignJournal(UsageError):
    """A journal this toolkit did not write: a package received from someone else may hold
    any file by that name, and following it would rename or delete the package's own files."""


def foreign(path: Path, why: str, code: str) -> ForeignJournal:
    return ForeignJournal(f"{path}: {why}, so it is not a journal of an interrupted command of this toolkit — "
                          "delete it and run the command again; nothing was changed.", code=code)


# A commit's temporary file: its target's name, hidden, with the writer's process id.
TEMPORARY = re.compile(r"\.(?P<name>.+)\.[0-9]+\.tmp")


def journalled_moves(root: Path, record) -> list[tuple[Path, Path]]:
    """The moves of a journal, each checked to be what commit writes: a temporary file
    beside its target, named after it, both inside the package folder."""
    if not isinstance(record, dict) or record.get("state") not in ("writing", "renaming") or not isinstance(record.get("moves"), list):
        raise foreign(root / JOURNAL, "it does not hold a state ('writing' or 'renaming') and a list of moves", "journal-not-a-record")
    moves = []
    for number, move in enumerate(record["moves"], 1):
        pair = move if isinstance(move, list) and len(move) == 2 and all(isinstance(p, str) for p in move) else None
        match = pair and TEMPORARY.fullmatch(Path(pair[0]).name)
        if not pair or not match or Path(pair[0]).parent != Path(pair[1]).parent or match["name"] != Path(pair[1]).name:
            raise foreign(root / JOURNAL, f"move {number} is not from a temporary file to the file it stands for beside it", "journal-move-not-a-commit")
        try:
            moves.append((inside(root, pair[0]), inside(root, pair[1])))
        except UsageError:
            raise foreign(root / JOURNAL, f"move {number} leads outside the package folder", "journal-move-outside") from None
    return moves


def recover(root: Path) -> None:
    """Finish what a command killed while committing left: delete its temporary files if it
    was still writing them (every target keeps its old content), complete its renames if it
    had begun them (every target gets its new content). A journal that does not describe
    such a commit is refused (ForeignJournal) with nothing touched."""
    half_written = root / (JOURNAL + ".tmp")
    if half_written.is_symlink() or (half_written.exists() and not half_written.is_file()):
        raise foreign(half_written, "it is not a file", "journal-not-a-file")
    half_written.unlink(missing_ok=True)
    path = root / JOURNAL
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_file():
        raise foreign(path, "it is not a file", "journal-not-a-file")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        raise foreign(path, "it cannot be read as JSON", "journal-not-json") from None
    moves = journalled_moves(root, record)
    for source, destination in moves:
        if source.exists():
            if record["state"] == "renaming":
                os.replace(source, destination)
            else:
                source.unlink()
    path.unlink()


def inside(root: Path, rel) -> Path:
    """``root / rel`` if it stays inside the package folder once links are followed, and is
    not a folder or special file; otherwise UsageError, before anything is written."""
    # A path the user gives may be absolute: it counts as inside when it leads inside.
    target = within(root, os.path.relpath(rel, root) if Path(rel).is_absolute() else rel)
    if target is None:
        raise UsageError(f"{rel} is not a file inside the package folder ({root.resolve()}) — commands write only there; "
                         "choose a path inside it (links that lead out of it count as outside); nothing was written.", code="output-outside-package")
    return target


def replace_all(root: Path, files: dict[Path, bytes]) -> None:
    """Replace every file by its new bytes, through the journal (see commit)."""
    recover(root)
    moves = [(target.parent / f".{target.name}.{os.getpid()}.tmp", target) for target in files]
    try:
        journal(root, "writing", moves)
        for temporary, target in moves:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~UMASK)
            with os.fdopen(handle, "wb") as f:
                f.write(files[target])
        journal(root, "renaming", moves)
        for temporary, target in moves:
            os.replace(temporary, target)
        (root / JOURNAL).unlink()
    except BaseException:
        recover(root)
        raise


def commit(root: Path, outputs: dict[Path, bytes]) -> list[Path]:
    """Write every output or none; '-' is standard output. Returns the paths written.

    A journal (JOURNAL, in the package folder) lists every move from a temporary file to
    its target before the first rename. All temporary files are written first, so running
    out of space or permission leaves the targets untouched; then the journal is marked
    'renaming' and the renames, which need no space, follow. A kill at any point leaves
    either the journal in its 'writing' state (the next command deletes the temporary
    files: all old) or in its 'renaming' state (the next command completes the renames:
    all new); an exception or SIGTERM does the same at once.
    """
    files = {inside(root, rel): data for rel, data in outputs.items() if str(rel) != "-"}
    if files:
        replace_all(root, files)
    for rel, data in outputs.items():
        if str(rel) == "-":
            sys.stdout.write(data.decode("utf-8"))
    return [rel for rel in outputs if str(rel) != "-"]
