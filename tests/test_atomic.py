"""A failure in any stage leaves every earlier output exactly as it was.

Each stage runs on a complete copy of the package (tables, derived tables, workbook,
figures, an earlier release zip) three times, each time failing differently: bad data,
an exception late in its computation, and a full disk while writing its last output.
Afterwards every file of the copy must be byte for byte what it was, with no temporary
file left behind.
"""

import dataclasses
import errno
import os
from datetime import date
from pathlib import Path

import pytest

from conftest import REPO, VERSION, committed, copy_whole, set_cell
from estimate.cli import main

# stage: (extra arguments, a function it calls late, the last file it writes)
STAGES = {
    "ranges": ([], "estimate.wording.ranges.claim_ranges", "ranges.csv"),
    "fit": ([], "estimate.model.fit.claim_rows", "fit.json"),
    "conflicts": ([], "estimate.compare.conflicts.model_conflicts", "conflicts.csv"),
    "baselines": ([], "estimate.compare.baselines.baseline_rows", "baselines.csv"),
    "xlsx": ([], "estimate.publish.workbook.table_sheet", "dprk-troops-russia-claims.xlsx"),
    "figures": ([], "estimate.publish.figures.overview_figure", "overview.es.svg"),
    "release": ([], "estimate.publish.release.zip_bytes", f"dprk-troops-russia-claims-{VERSION}.zip"),
}


@pytest.fixture
def built(tmp_path) -> Path:
    """A complete copy of the package with every output in place, and an earlier release."""
    root = copy_whole(tmp_path / "package")
    (root / "dist").mkdir()
    (root / "dist/dprk-troops-russia-claims-0.0.9.zip").write_bytes(b"an earlier release")
    return committed(root)  # a release is built from a commit


@pytest.fixture(scope="module")
def fit_runs(real_main):
    """What is tested is how the fit stage writes, not what it samples: its runs are the
    session's main posterior, moved a little so that every output differs from the
    committed one (an output replaced too early shows), standing in for every run. Every
    claim is left out by importance sampling alone (no Pareto k is too high), which takes
    seconds where the exact refits take minutes; the tables are written the same way."""
    from estimate.model import fit
    from estimate.package.outputs import valid_package
    config = fit.load_config()
    moved = dataclasses.replace(real_main, chains=dataclasses.replace(real_main.chains, draws=real_main.chains.draws + 0.01))
    sampled_only = config | {"loo": config["loo"] | {"pareto_k_max": float("inf")}}
    left_out = fit.leave_one_out(fit.built_for(valid_package(REPO), config), real_main, sampled_only)
    return fit.Runs(moved, [moved] * len(fit.sensitivity_runs(fit.load_config())), [(date(2025, 12, 31), moved)], left_out)


@pytest.fixture(autouse=True)
def sampled_once(request, monkeypatch):
    if getattr(request.node, "callspec", None) is None or request.node.callspec.params.get("stage") != "fit":
        return
    runs = request.getfixturevalue("fit_runs")
    monkeypatch.setattr("estimate.model.fit.runs_for", lambda package, config: runs)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the package (git's own records, which git status refreshes, aside)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts}


def run(stage: str, root: Path) -> int:
    return main([stage, "--root", str(root), *STAGES[stage][0]])


@pytest.mark.parametrize("stage", STAGES)
def test_bad_data_changes_nothing(built, stage, capsys):
    set_cell(built, "claims", "c007", "stated_value", "trescientos")
    before = snapshot(built)
    assert run(stage, built) == 1
    assert any(line.startswith("data/claims.csv row 8, column stated_value: ") for line in capsys.readouterr().err.splitlines())
    assert snapshot(built) == before


@pytest.mark.parametrize("stage", STAGES)
def test_an_exception_in_the_stage_changes_nothing(built, stage, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("injected failure")
    monkeypatch.setattr(STAGES[stage][1], fail)
    before = snapshot(built)
    with pytest.raises(RuntimeError, match="injected failure"):
        run(stage, built)
    assert snapshot(built) == before


@pytest.mark.parametrize("stage", STAGES)
def test_a_full_disk_while_writing_the_last_output_changes_nothing(built, stage, monkeypatch, capsys):
    last = STAGES[stage][2]
    real_fdopen = os.fdopen
    refused = []

    class FullDisk:
        """A temporary file that accepts nothing: the disk filled up while writing it."""
        def __init__(self, handle, path):
            self.handle, self.path = handle, path
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.handle.close()
        def write(self, data):
            refused.append(self.path)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.path)
        def fileno(self):
            return self.handle.fileno()

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        path = os.readlink(f"/proc/self/fd/{fd}")
        return FullDisk(handle, path) if Path(path).name.startswith(f".{last}.") else handle

    # A valid change that moves every output, so that an output replaced early (before the
    # disk filled up) would differ from the one it replaced.
    set_cell(built, "hedges", "about", "low_factor", "0.78")
    committed(built)
    monkeypatch.setattr(os, "fdopen", fdopen)
    before = snapshot(built)
    assert run(stage, built) == 1
    assert refused, f"the stage never wrote {last}"
    err = capsys.readouterr().err
    assert err.endswith("[output-not-written]\n") and "No space left on device" in err
    assert snapshot(built) == before


def test_a_row_named_otherwise_than_its_table_is_never_written():
    """Rows are built by column name; one that lacks a column or names another is a mistake
    in the code that built it, refused before anything is written."""
    from estimate.package.outputs import table
    assert table(["a", "b"], [{"b": None, "a": 1}]) == b"a,b\n1,\n"
    for wrong in ({"a": 1}, {"a": 1, "b": 2, "c": 3}, {"a": 1, "B": 2}):
        with pytest.raises(ValueError, match="build it with exactly the columns of its schema"):
            table(["a", "b"], [{"a": 0, "b": 0}, wrong])
