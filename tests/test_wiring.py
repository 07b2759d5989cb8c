"""Every command the README names and every Makefile target exists and runs (dry-run where slow)."""

import contextlib
import os
import signal
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import REPO
from estimate.cli import COMMANDS

README = (REPO / "README.md").read_text(encoding="utf-8")
MAKEFILE = (REPO / "Makefile").read_text(encoding="utf-8")
PHONY = re.search(r"^\.PHONY: (.+)$", MAKEFILE, re.MULTILINE).group(1).split()
DOCUMENTED = re.findall(r"^([a-z][a-z_-]*):.*## ", MAKEFILE, re.MULTILINE)
# In code: `make x …` spans, and lines of code blocks that start with make.
CODE_BLOCKS = "\n".join(re.findall(r"^```[a-z]*\n(.*?)^```", README, re.MULTILINE | re.DOTALL))
README_TARGETS = set(re.findall(r"`make ([a-z][a-z_-]*)", README) + re.findall(r"^make ([a-z][a-z_-]*)", CODE_BLOCKS, re.MULTILINE))
README_COMMANDS = set(re.findall(r"python -m estimate ([a-z][a-z-]*)", README))


def test_every_phony_target_has_a_help_line_and_every_help_line_is_phony():
    assert sorted(PHONY) == sorted(DOCUMENTED)


@pytest.mark.parametrize("target", PHONY)
def test_every_make_target_runs_as_a_dry_run(target):
    result = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_make_target_in_the_readme_exists_and_every_target_is_documented():
    assert README_TARGETS - set(PHONY) == set()
    assert set(PHONY) - README_TARGETS - {"help"} == set()


def test_every_estimate_command_in_the_readme_exists_and_every_command_is_documented():
    assert README_COMMANDS - set(COMMANDS) == set()
    assert set(COMMANDS) - README_COMMANDS == set()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_estimate_command_answers_help(command):
    result = subprocess.run([sys.executable, "-m", "estimate", command, "--help"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0 and "usage: python -m estimate " + command in result.stdout


@pytest.mark.parametrize("argv, says", [
    (["validate"], "The data package is valid"),
    (["cite"], "BibTeX:"),
    (["ranges", "--lexicon", "wide"], "claim_id,"),
    (["diff", ".", "."], "No differences"),
])
def test_the_quick_readme_commands_run_for_real(argv, says):
    result = subprocess.run([sys.executable, "-m", "estimate", *argv], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert says in result.stdout


def test_a_failed_run_leaves_every_committed_output_in_place(tmp_path):
    """make fit that fails (here its Python is 'false') must not delete the last good outputs."""
    copy = tmp_path / "package"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".venv", ".git", "dist", "__pycache__"))
    (copy / ".venv").mkdir()
    (copy / ".venv/.installed").touch()
    outputs = sorted((copy / "data/derived").iterdir())
    before = {p.name: p.read_bytes() for p in outputs}
    stale = os.stat(copy / "estimate/fit.py").st_mtime + 10
    os.utime(copy / "estimate/fit.py", (stale, stale))   # newer than every output: the fit must run
    result = subprocess.run(["make", "fit", "PY=false"], cwd=copy, capture_output=True, text=True)
    assert result.returncode != 0
    assert {p.name: p.read_bytes() for p in sorted((copy / "data/derived").iterdir())} == before


def test_an_interrupted_run_leaves_every_committed_output_in_place(tmp_path):
    """Ctrl-C or a kill during make fit: make deletes a target whose file changed while its
    recipe ran, unless the target is precious; the command's own writes are all or none, so
    make must leave the files alone. Here the 'Python' touches the outputs, then waits."""
    copy = tmp_path / "package"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".venv", ".git", "dist", "__pycache__"))
    (copy / ".venv").mkdir()
    (copy / ".venv/.installed").touch()
    slow = tmp_path / "slow-python"
    slow.write_text("#!/bin/sh\ntouch data/derived/*\nsleep 60\n", encoding="utf-8")
    slow.chmod(0o755)
    before = {p.name: p.read_bytes() for p in sorted((copy / "data/derived").iterdir())}
    for p in (copy / "data/derived").iterdir():
        os.utime(p, (1e9, 1e9))   # long ago: the fit must run, and the touch is seen
    # SIGINT as a terminal's Ctrl-C finds it: under a non-interactive shell's `&` (as in
    # `nohup bash .ci/run &`) it is inherited ignored, and make keeps an ignored SIGINT ignored.
    # make's stderr goes to a file and only make is waited for; what is left of its group is
    # killed after, so no stray process outlives the test.
    with open(tmp_path / "make.err", "w", encoding="utf-8") as err_file:
        make = subprocess.Popen(["make", "fit", f"PY={slow}"], cwd=copy, stdout=subprocess.DEVNULL, stderr=err_file,
                                start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 20
    while os.stat(copy / "data/derived/fit.json").st_mtime == 1e9 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(make.pid, signal.SIGINT)   # as Ctrl-C does: make and the command it runs
    try:
        make.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)   # whatever is left of the group
    err = (tmp_path / "make.err").read_text(encoding="utf-8")
    assert make.returncode != 0 and "Deleting file" not in err, err
    assert {p.name: p.read_bytes() for p in sorted((copy / "data/derived").iterdir())} == before
