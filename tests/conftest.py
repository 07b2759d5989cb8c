"""Fixtures: a temporary copy of the real package, and helpers to break it.

Broken variants are always made in a copy; tests never edit the repository's data/.
"""

import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests: the same examples on every CI run (a failure there is never luck), new
# ones on every local run, and a long search with HYPOTHESIS_PROFILE=deep.
settings.register_profile("ci", derandomize=True)
settings.register_profile("deep", max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))

REPO = Path(__file__).resolve().parent.parent
# The current release, as datapackage.json gives it, and versions after it: tests of the
# version checks name these, so they need no editing at each release.
DESCRIPTOR = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))
VERSION, CREATED = DESCRIPTOR["version"], DESCRIPTOR["created"][:10]
RELEASED = f"## {VERSION} — {CREATED}"
_major, _minor, _patch = map(int, VERSION.split("."))
NEXT_PATCH, NEXT_MINOR = f"{_major}.{_minor}.{_patch + 1}", f"{_major}.{_minor + 1}.0"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Nothing is fetched at run time: a test whose code opens a connection fails."""
    def refuse(*args, **kwargs):
        raise RuntimeError("a network connection was attempted; nothing may be fetched at run time")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A fresh copy of datapackage.json and data/ in a temporary folder."""
    shutil.copy(REPO / "datapackage.json", tmp_path / "datapackage.json")
    shutil.copytree(REPO / "data", tmp_path / "data")
    return tmp_path


@pytest.fixture(scope="session")
def real_main():
    """The main posterior of the committed package, sampled once per test session (about 40 s)."""
    from estimate.model import fit
    from estimate.package.outputs import valid_package
    config = fit.load_config()
    return fit.posterior(fit.built_for(valid_package(REPO), config), config)


def copy_whole(where: Path) -> Path:
    """A copy of everything a release holds: descriptor, documents, data, derived tables and
    figures — as at a release, so without changes waiting under '## Unreleased' in the
    changelog (a release refuses to hide them; tests that need them write their own)."""
    where.mkdir()
    for name in ("datapackage.json", "CITATION.cff", "CHANGELOG.md", "README.md", "LICENSE"):
        shutil.copy(REPO / name, where / name)
    for folder in ("data", "figures"):
        shutil.copytree(REPO / folder, where / folder)
    (where / "CHANGELOG.md").write_text(released_changelog(), encoding="utf-8")
    return where


def released_changelog() -> str:
    """The repository's CHANGELOG.md as at its last release: without '## Unreleased'."""
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.sub(r"## Unreleased\n.*?(?=^## )", "", text, flags=re.S | re.M)


def committed(root: Path) -> Path:
    """``root`` made a git checkout whose files are all in its one commit: what a release is
    built from."""
    git = lambda *argv: subprocess.run(["git", "-C", str(root), *argv], check=True, capture_output=True)
    git("init", "--quiet")
    git("add", "--all")
    git("-c", "user.name=tests", "-c", "user.email=tests@example.org", "commit", "--quiet", "-m", "the package")
    return root


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def set_cell(root: Path, table: str, key: str, column: str, value: str) -> int:
    """Set one cell, found by the row's first-column key; return its spreadsheet row."""
    path = root / "data" / f"{table}.csv"
    rows = read_rows(path)
    index = next(i for i, r in enumerate(rows) if r[0] == key)
    rows[index][rows[0].index(column)] = value
    write_rows(path, rows)
    return index + 1


def get_cell(root: Path, table: str, key: str, column: str) -> str:
    rows = read_rows(root / "data" / f"{table}.csv")
    return next(r for r in rows if r[0] == key)[rows[0].index(column)]


def refusal_code(stderr: str) -> str | None:
    """The code a command's refusal ends with ('… nothing was written. [output-not-csv]'):
    tests match on it, never on the sentence, which may be reworded."""
    found = re.search(r" \[([a-z0-9]+(?:-[a-z0-9]+)*)\]\n?\Z", stderr)
    return found and found.group(1)
