"""Up to date by content: what each command read and wrote when it last ran.

make decides by modification times. On a fresh clone every file has the time of the
checkout and the new virtual environment is newer than all of them, so make alone would
refit and rewrite every committed output — on another machine, with other last digits.
So each command's run is recorded in .stamps/COMMAND.json (committed): the SHA-256 of its
inputs (make's prerequisites) and of its outputs. The Makefile asks ``stamp check``
first and runs the command only when a content differs; when none does, the outputs are
touched so that make itself sees them as current from then on.

The benchmark's runs are stamped alike, in benchmarks/.stamps/ (``--folder``, with the
command line they stand for in ``--runs``): apart from the package's, so that a benchmark
not rerun since the code changed (hours of fits) is never reported as a stale table.

Run as ``python -m estimate.package.stamps`` (the Makefile does): it imports nothing heavy, so a
make with nothing to do is instant.
"""

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from estimate.package.tables import within

STAMPS = Path(".stamps")
BENCH_STAMPS = Path("benchmarks/.stamps")   # the Makefile's BENCH_STAMPS
USAGE = ("usage: python -m estimate.package.stamps check|record COMMAND [--folder DIR --runs LINE] INPUT... -- OUTPUT...\n"
         "  check: exit 0 (and touch the outputs) when every file's content is what COMMAND's last run recorded\n"
         "  record: record the files' contents after COMMAND ran\n"
         "  --folder: the stamps' folder (default .stamps); --runs: the command line COMMAND stands for")


def digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def stamp_path(root: Path, command: str, folder: Path = STAMPS) -> Path:
    return root / folder / f"{command}.json"


def contents(root: Path, inputs: list[str], outputs: list[str]) -> dict:
    return {"inputs": {p: digest(root / p) for p in sorted(set(inputs))},
            "outputs": {p: digest(root / p) for p in sorted(set(outputs))}}


def recorded(root: Path, command: str, folder: Path = STAMPS) -> dict | None:
    """The stamp of COMMAND's last run; None if there is none or it is not one this module
    wrote (a package received from someone else may hold anything in .stamps/: a stamp that
    names a file outside the package is never read, let alone hashed)."""
    try:
        stamp = json.loads(stamp_path(root, command, folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sides = [stamp.get(side) for side in ("inputs", "outputs")] if isinstance(stamp, dict) else [None]
    if not all(isinstance(side, dict) and all(within(root, rel) for rel in side) for side in sides):
        return None
    return stamp


def record(root: Path, command: str, inputs: list[str], outputs: list[str], folder: Path = STAMPS, runs: str | None = None) -> None:
    """Write the stamp whole or not at all (a temporary file renamed into place)."""
    target = stamp_path(root, command, folder)
    target.parent.mkdir(exist_ok=True)
    line = runs or f"python -m estimate {command}"
    text = json.dumps({"command": line} | contents(root, inputs, outputs), indent=2, sort_keys=True) + "\n"
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def refresh(root: Path, command: str, written: list, folder: Path = STAMPS) -> None:
    """After a command has written exactly the outputs its stamp lists, record their contents
    and its inputs' again: run directly rather than by make, it would otherwise leave a
    stamp that says its own outputs are stale, while their times tell make they are current."""
    stamp = recorded(root, command, folder)
    if stamp and set(stamp.get("outputs", {})) == {str(p) for p in written}:
        record(root, command, list(stamp["inputs"]), list(stamp["outputs"]), folder, stamp.get("command"))


def current(root: Path, command: str, inputs: list[str], outputs: list[str], folder: Path = STAMPS) -> bool:
    stamp = recorded(root, command, folder)
    if stamp is None:
        return False
    now = contents(root, inputs, outputs)
    return None not in now["outputs"].values() and all(stamp.get(k) == now[k] for k in ("inputs", "outputs"))


def changes(root: Path) -> list[tuple[str, str, str]]:
    """(command, path, 'input' or 'output') for every file whose content differs from what the
    command's last recorded run read or wrote."""
    result = []
    for path in sorted((root / STAMPS).glob("*.json")):
        stamp = recorded(root, path.stem)
        for side in ("inputs", "outputs"):
            for rel, sha in (stamp or {}).get(side, {}).items():
                if digest(root / rel) != sha:
                    result.append((path.stem, rel, side[:-1]))
    return result


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("check", "record") or "--" not in argv:
        print(USAGE, file=sys.stderr)
        return 2
    action, command, rest = argv[0], argv[1], argv[2:]
    options = {}
    while rest[:1] in (["--folder"], ["--runs"]) and len(rest) > 1:
        options[rest[0]], rest = rest[1], rest[2:]
    split = rest.index("--")
    inputs, outputs = rest[:split], rest[split + 1:]
    root, folder = Path("."), Path(options.get("--folder", STAMPS))
    if action == "record":
        record(root, command, inputs, outputs, folder, options.get("--runs"))
        return 0
    if not current(root, command, inputs, outputs, folder):
        return 1
    for output in outputs:
        os.utime(root / output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
