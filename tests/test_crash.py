"""Killed at any rename, every writer leaves all its old files or all its new ones.

Each writer runs in a child process that kills itself (SIGKILL: nothing of it runs
afterwards) at its k-th rename, for every k; the next command finishes or undoes its
work. SIGTERM is cleaned up at once. A second writer waits its turn or refuses.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest

from conftest import REPO, NEXT_PATCH, RELEASED, committed, copy_whole, read_rows, set_cell
from estimate.package.outputs import JOURNAL, UsageError, exclusive

ARTICLE = REPO / "tests/fixtures/article_s_test.txt"
# writer: (arguments, a change to the package that gives the writer new contents to write)
WRITERS = {
    "ranges": (["ranges"], lambda root: set_cell(root, "hedges", "about", "low_factor", "0.78")),
    "fit": (["fit"], None),  # the fit's outputs are replaced by marked copies in the child (FAKE_FIT)
    "bump": (["bump", NEXT_PATCH, "--date", date.today().isoformat()], lambda root: edit_changelog(root)),
    "conflicts": (["conflicts"], lambda root: set_cell(root, "hedges", "about", "low_factor", "0.78")),
    "baselines": (["baselines"], lambda root: set_cell(root, "hedges", "about", "low_factor", "0.78")),
    "xlsx": (["xlsx"], lambda root: set_cell(root, "claims", "c001", "note", "A note changed for the test.")),
    "figures": (["figures"], None),  # the drawing is replaced by marked copies in the child (FAKE_FIGURES)
    "release": (["release"], None),  # from a clean commit (prepared)
    "new-source": (["new-source", str(ARTICLE), "--published", "2025-12-02", "--basis", "inferred",
                    "--title", "Seúl eleva su estimación de soldados norcoreanos muertos en Rusia.",
                    "--evidence", "Test fixture.", "--append"], None),
}
# The child: os.replace counted; at the k-th call the process kills itself (or is sent
# SIGTERM). With FAKE_FIT the fit, and with FAKE_FIGURES the drawing, returns its committed
# outputs, each with a line added: the renames are the same, in a second instead of a
# minute (the fit) or several seconds (44 charts drawn before the first rename).
CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    kill_at, how = int(sys.argv[1]), getattr(signal, sys.argv[2])
    real, count = os.replace, [0]
    def replace(source, target):
        count[0] += 1
        if count[0] == kill_at:
            os.kill(os.getpid(), how)
        real(source, target)
    os.replace = replace
    if os.environ.get("FAKE_FIT"):
        from estimate.model import fit
        def fitted(package, config=None):
            paths = [fit.DERIVED / n for n in ("estimates.csv", "estimates_as_of.csv", "claimant_bias.csv", "claim_fit.csv", "fit.json")]
            return fit.Fitted({p: (package.root / p).read_bytes() + b"changed\\n" for p in paths}, {})
        fit.fitted = fitted
    if os.environ.get("FAKE_FIGURES"):
        from estimate.publish import figures
        figures.build = lambda package, args: {p.relative_to(package.root): p.read_bytes() + b"changed\\n"
                                               for p in sorted((package.root / figures.FIGURES).iterdir())}
    from estimate.cli import main
    sys.exit(main(sys.argv[3:]))
""")


def edit_changelog(root: Path) -> None:
    log = root / "CHANGELOG.md"
    log.write_text(log.read_text(encoding="utf-8").replace(RELEASED, f"## Unreleased\n\n- A note.\n\n{RELEASED}"),
                   encoding="utf-8")


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts}


def child(root: Path, writer: str, kill_at: int, how: str = "SIGKILL") -> subprocess.CompletedProcess:
    argv = WRITERS[writer][0]
    env = os.environ | {f"FAKE_{writer.upper()}": "1"}
    return subprocess.run([sys.executable, "-c", CHILD, str(kill_at), how, *argv, "--root", str(root)], cwd=REPO, env=env,
                          capture_output=True, text=True)


def prepared(where: Path, writer: str) -> Path:
    root = copy_whole(where)
    change = WRITERS[writer][1]
    if change:
        change(root)
    return committed(root) if writer in ("bump", "release") else root


@pytest.fixture(scope="module")
def states(tmp_path_factory) -> dict:
    """Per writer: the package before it ran, after it ran whole, and its number of renames."""
    result = {}
    for writer in WRITERS:
        root = prepared(tmp_path_factory.mktemp(writer) / "package", writer)
        before = snapshot(root)
        done = child(root, writer, 0)
        assert done.returncode == 0, done.stderr
        after = snapshot(root)
        changed = [p for p in after if before.get(p) != after[p]]
        assert changed, f"{writer} changed nothing"
        result[writer] = (before, after, len(changed) + 2)  # + the journal's two states
    return result


# Renames per writer: its outputs, its stamp, and the journal's two states (states() checks them).
RENAMES = {"ranges": 3, "conflicts": 3, "baselines": 3, "xlsx": 3, "fit": 7, "bump": 5, "new-source": 5, "release": 4,
           "figures": 58}
CASES = [(writer, k) for writer, renames in RENAMES.items() for k in range(1, renames + 1)]


@pytest.mark.parametrize("writer, kill_at", CASES)
def test_a_kill_at_any_rename_leaves_all_old_or_all_new_files(states, tmp_path, writer, kill_at):
    before, after, renames = states[writer]
    assert renames == RENAMES[writer], f"{writer} now renames {renames} times: list them all in RENAMES"
    root = prepared(tmp_path / "package", writer)
    killed = child(root, writer, kill_at)
    assert killed.returncode == -signal.SIGKILL
    validate = subprocess.run([sys.executable, "-m", "estimate", "validate", "--root", str(root)], cwd=REPO, capture_output=True, text=True)
    assert validate.returncode == 0, validate.stderr  # the next command recovers first
    state = snapshot(root)
    assert state in (before, after), sorted(p for p in set(state) | set(after) if state.get(p) != after.get(p))
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(JOURNAL)]


@pytest.mark.parametrize("kill_at", [1, 2, 3, 5])
def test_sigterm_cleans_up_at_once(states, tmp_path, kill_at):
    before, after, _ = states["fit"]
    root = prepared(tmp_path / "package", "fit")
    stopped = child(root, "fit", kill_at, "SIGTERM")
    assert stopped.returncode == 128 + signal.SIGTERM and "Traceback" not in stopped.stderr
    assert snapshot(root) in (before, after)  # no further command needed
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(JOURNAL)]


# The ids the next two claims get: one and two past the package's highest.
LAST = max(int(r[0][1:]) for r in read_rows(REPO / "data/claims.csv")[1:])
NEXT, AFTER = f"c{LAST + 1:03d}", f"c{LAST + 2:03d}"


def new_claim(root: Path, phrase: str) -> subprocess.Popen:
    # Figures of s001 attributed to a claimant that has none of them yet: valid new rows.
    return subprocess.Popen([sys.executable, "-m", "estimate", "new-claim", "--source", "s001", "--claimant", "ukr-mod",
                             "--quantity", "killed", "--phrase", phrase, "--append", "--root", str(root)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_writer_waits_for_the_first(tmp_path):
    root = copy_whole(tmp_path / "package")
    before = snapshot(root)
    with exclusive(root):
        waiting = new_claim(root, "aproximadamente 300")
        time.sleep(3)
        assert waiting.poll() is None and snapshot(root) == before  # still waiting, nothing written
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "waiting for another command that is changing the package" in err
    assert [r[0] for r in read_rows(root / "data/claims.csv")][-1] == NEXT


def test_two_appends_at_once_give_two_claims_with_two_ids(tmp_path):
    root = copy_whole(tmp_path / "package")
    first, second = new_claim(root, "aproximadamente 300"), new_claim(root, "hasta 1,000")
    for process in (first, second):
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
    rows = read_rows(root / "data/claims.csv")
    added = {r[0]: r[rows[0].index("phrase")] for r in rows[1:] if r[0] in (NEXT, AFTER)}
    assert sorted(added.values()) == ["aproximadamente 300", "hasta 1,000"]


def test_a_writer_gives_up_with_a_sentence_when_the_wait_is_over(tmp_path):
    root = copy_whole(tmp_path / "package")
    with exclusive(root):
        with pytest.raises(UsageError) as refused:
            with exclusive(root, wait=0.3):
                pass
    assert refused.value.code == "package-busy"


def test_readers_do_not_wait_for_a_writer(tmp_path):
    root = copy_whole(tmp_path / "package")
    with exclusive(root):
        result = subprocess.run([sys.executable, "-m", "estimate", "validate", "--root", str(root)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
