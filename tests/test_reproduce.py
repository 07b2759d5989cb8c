"""The reproducibility contract (estimate/model/reproducibility.toml; README, "Reproducibility").

Committed outputs are what the code makes from the committed inputs: the same bytes, or
the fit's numbers within each one's tolerance — here, with other CPU kernels and another
seed (which also starts every chain elsewhere). A changed input is stale; a moved number is named by
file, row and column; and make goes by content, not by the clock.
"""

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, read_rows, set_cell, write_rows
from estimate.model import fit, tolerances
from estimate.package import stamps
from estimate.maintain.reproduce import compare_bytes, compare_fitted, reproduce, stale

TABLES = ["ranges.csv", "estimates.csv", "estimates_as_of.csv", "claimant_bias.csv", "claim_fit.csv", "fit.json", "conflicts.csv",
          "baselines.csv"]
IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", "dist")


@pytest.mark.refit
def test_the_committed_outputs_are_what_the_code_makes():
    assert [str(d) for d in reproduce(REPO)] == []


def other_kernels() -> dict[str, str]:
    """Environment that makes numpy, OpenBLAS and XLA run other kernels than they choose here:
    numpy's dispatch targets found on this CPU disabled (AVX2 here, AVX-512 on a newer CPU),
    OpenBLAS held to a core older than this one, and the sampler's code compiled for SSE4.2."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    found = [target for target in __cpu_dispatch__ if __cpu_features__.get(target)]
    core = subprocess.run([sys.executable, "-c", "import numpy; numpy.ones((2, 2)) @ numpy.ones((2, 2))"],
                          env=os.environ | {"OPENBLAS_VERBOSE": "2"}, capture_output=True, text=True).stderr
    other_core = "Sandybridge" if "Core: Nehalem" in core else "Nehalem"
    xla = {"XLA_FLAGS": "--xla_cpu_max_isa=SSE4_2"}
    return xla | ({"NPY_DISABLE_CPU_FEATURES": ",".join(found), "OPENBLAS_CORETYPE": other_core} if found else {"OPENBLAS_CORETYPE": other_core})


def test_other_cpu_kernels_are_really_used_by_the_emulation():
    env = os.environ | other_kernels() | {"OPENBLAS_VERBOSE": "2"}
    probe = ("from numpy._core._multiarray_umath import __cpu_features__ as f; import numpy, os; "
             "numpy.ones((2, 2)) @ numpy.ones((2, 2)); "
             "print([t for t in os.environ.get('NPY_DISABLE_CPU_FEATURES', '').split(',') if t and f[t]])")
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("[]")  # every target found here is off
    assert f"Core: {env['OPENBLAS_CORETYPE']}" in result.stderr
    jax = subprocess.run([sys.executable, "-c", "import jax; jax.numpy.ones(3).sum().block_until_ready()"], env=env,
                         capture_output=True, text=True)
    assert jax.returncode == 0 and "xla_cpu_max_isa" not in jax.stderr, jax.stderr  # XLA knows the flag and keeps it


@pytest.mark.refit
def test_another_machine_and_another_seed_stay_within_the_tolerance():
    """The fit as a CPU with other kernels would run it, with another seed: every committed
    number of the fit within its tolerance, and everything else the same bytes."""
    result = subprocess.run([sys.executable, "-m", "estimate", "reproduce", "--seed", "7"], cwd=REPO,
                            env=os.environ | other_kernels(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_tolerances_are_written_into_fit_json_for_every_compared_number():
    measured = json.loads((REPO / "data/derived/fit.json").read_text(encoding="utf-8"))["reproducibility"]
    compared = sum(tolerances.compared(rule, (REPO / path).read_bytes()) for path, rule in tolerances.rules().items()
                   if path.endswith(".csv"))
    assert measured["numbers_compared"] == compared > 1000
    assert measured["standard_errors"] == round(tolerances.standard_errors(compared), 2)
    for path, rule in tolerances.rules().items():
        assert set(measured["columns"].get(path.split("/")[-1], {})) == set(rule.numbers)


def test_honest_reruns_cross_some_tolerance_only_as_often_as_the_contract_allows():
    """Many numbers compared at once: k grows with their count, so that runs differing by
    chance alone cross any tolerance in about false_alarm of comparisons (a fixed 4 would
    fail one in five at the package's ~3,800 numbers)."""
    alarm, n, trials = tolerances.contract()["false_alarm"], 2000, 4000
    k = tolerances.standard_errors(n)
    crossed = np.mean(np.abs(np.random.default_rng(3).standard_normal((trials, n))).max(axis=1) > k)
    assert abs(crossed - alarm) < 4 * math.sqrt(alarm / trials)
    assert np.mean(np.abs(np.random.default_rng(4).standard_normal((trials, n))).max(axis=1) > 4) > 0.1


# ---------------------------------------------------------------- the comparer names what moved

RULE = tolerances.rules()["data/derived/estimates.csv"]
HEADER = "subject_id,quantity,date,value_low,value_central,value_high,high_is_open,sensitivity_low,sensitivity_high,known_by,caveat\n"
ROW = "dprk_forces,killed,2025-09-30,{low},2000,{high},false,1000,6000,,\n"


def table(low=1000, high=5411) -> bytes:
    return (HEADER + ROW.format(low=low, high=high)).encode()


KEY = ("dprk_forces", "killed", "2025-09-30", "")


def test_a_number_within_its_tolerance_is_the_same():
    assert compare_fitted(RULE, table(), table(high=5455), {(KEY, "value_high"): 60.0}, 0.05) == []


def test_a_number_beyond_its_tolerance_is_named_by_file_row_column_and_size():
    [difference] = compare_fitted(RULE, table(), table(high=5455), {(KEY, "value_high"): 30.0}, 0.05)
    assert difference.code == "beyond_tolerance"
    assert str(difference).startswith("data/derived/estimates.csv row 2 (dprk_forces, killed, 2025-09-30), column value_high: "
                                      "committed 5411, rebuilt 5455: moved 44, beyond its tolerance of 30")


def test_a_text_column_must_be_equal_and_a_missing_row_is_named():
    other = table().replace(b"false", b"true")
    assert [d.code for d in compare_fitted(RULE, table(), other, {}, 0.05)] == ["value"]
    missing = compare_fitted(RULE, table(), HEADER.encode(), {}, 0.05)
    assert [d.code for d in missing] == ["row_missing"] and "row 2 (dprk_forces, killed, 2025-09-30)" in str(missing[0])


def test_a_flag_may_differ_only_where_its_probability_is_within_tolerance_of_the_threshold():
    rule = tolerances.rules()["data/derived/claim_fit.csv"]
    header = "claim_id,tail_probability,tail_probability_without_bias,bias_explains\n"
    old = (header + "c001,0.42,0.06,false\n").encode()
    new = (header + "c001,0.42,0.04,true\n").encode()
    near = {(("c001",), "tail_probability_without_bias"): 0.02, (("c001",), "tail_probability"): 0.05}
    assert compare_fitted(rule, old, new, near, 0.05) == []
    far = {(("c001",), "tail_probability_without_bias"): 0.02, (("c001",), "tail_probability"): 0.05}
    far_old = (header + "c001,0.42,0.2,false\n").encode()
    far_new = (header + "c001,0.42,0.2,true\n").encode()
    assert [d.code for d in compare_fitted(rule, far_old, far_new, far, 0.05)] == ["value"]


def test_bytes_differences_name_the_first_row_and_column_that_differ():
    [difference] = compare_bytes("data/derived/ranges.csv", b"claim_id,value_low\nc001,300\n", b"claim_id,value_low\nc001,301\n")
    assert difference.code == "bytes"
    assert "row 2, column value_low: committed '300', rebuilt '301'" in str(difference)


# ---------------------------------------------------------------- stale only when an input changed

@pytest.fixture
def tree(tmp_path):
    """A copy of the whole working tree, stamps included, with every file's time in the past."""
    root = tmp_path / "tree"
    shutil.copytree(REPO, root, ignore=IGNORED)
    for path in root.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    return root


def change_a_claims_number(root):
    """c008's 'cerca de 2,700' wounded becomes 2,800 everywhere it is written: archived text,
    quote, phrase and number, and the text's hash — a valid package with one claim changed."""
    text = root / "data/texts/s001.txt"
    old_digest = hashlib.sha256(text.read_bytes()).hexdigest()
    text.write_bytes(text.read_bytes().replace(b"2,700", b"2,800"))
    new_digest = hashlib.sha256(text.read_bytes()).hexdigest()
    claims = root / "data/claims.csv"
    rows = read_rows(claims)
    quote, phrase, value = (rows[0].index(c) for c in ("quote", "phrase", "stated_value"))
    for row in rows[1:]:
        row[quote] = row[quote].replace("2,700", "2,800")  # c007 quotes the same sentence
        if row[0] == "c008":
            row[phrase], row[value] = row[phrase].replace("2,700", "2,800"), "2800"
    write_rows(claims, rows)
    for rel in ("data/sources.csv", "datapackage.json"):
        (root / rel).write_text((root / rel).read_text(encoding="utf-8").replace(old_digest, new_digest), encoding="utf-8")


def test_a_changed_claim_number_is_stale_for_every_command_that_reads_it(tree):
    change_a_claims_number(tree)
    result = subprocess.run([sys.executable, "-m", "estimate", "validate", "--root", str(tree)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    differences = reproduce(tree)
    stale = {re.search(r"'python -m estimate (\w+)'", d.message).group(1) for d in differences if d.code == "stale"}
    assert stale == {"ranges", "fit", "conflicts", "baselines", "xlsx", "figures"}
    assert all("data/claims.csv" in d.file for d in differences)


def test_an_output_edited_by_hand_is_named(tree):
    path = tree / "data/derived/baselines.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n", 1))
    _, differences = stale(tree)
    [difference] = [d for d in differences if d.code == "edited"]
    assert difference.file == "data/derived/baselines.csv" and "python -m estimate baselines" in difference.message


def test_make_on_a_fresh_clone_rebuilds_nothing_and_writes_nothing(tree):
    """Every file as old as a checkout, the virtual environment newer: make runs each stage's
    check, finds every content as recorded, and only touches the outputs."""
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    venv = REPO / ".venv"
    result = subprocess.run(["make", "--no-print-directory", f"VENV={venv}", "figures", "derived"], cwd=tree,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "python -m estimate " not in result.stdout  # no stage ran
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before
    again = subprocess.run(["make", f"VENV={venv}", "figures", "derived"], cwd=tree, capture_output=True, text=True)
    assert "Nothing to be done for 'figures'" in again.stdout


def test_make_bench_on_a_fresh_clone_refits_no_seed_until_its_code_changes(tree, tmp_path):
    """The benchmark's seeds are stamped like the tables (benchmarks/.stamps/): on a fresh
    clone make finds them current and runs nothing, an hour of fits per seed; after an edit
    to the code that fits them, it would refit. Python here runs only the stamp checks: any
    other script it is asked to run fails, and says which."""
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\n[ "$1 $2" = "-m estimate.package.stamps" ] && exec {sys.executable} "$@"\n'
                      'echo "would run: $*" >&2; exit 3\n', encoding="utf-8")
    python.chmod(0o755)
    make = ["make", "--no-print-directory", f"VENV={REPO / '.venv'}", f"PY={python}", "benchmarks/results.md"]
    fresh = subprocess.run(make, cwd=tree, capture_output=True, text=True)
    assert fresh.returncode == 0 and "would run" not in fresh.stderr, fresh.stdout + fresh.stderr
    with (tree / "benchmarks/run.py").open("a", encoding="utf-8") as stream:
        stream.write("# an edit\n")
    edited = subprocess.run(make, cwd=tree, capture_output=True, text=True)
    assert edited.returncode != 0 and "would run: benchmarks/run.py replicate --seed" in edited.stderr


def test_a_stamp_is_current_only_while_every_content_is_the_recorded_one(tree):
    recorded = json.loads((tree / stamps.STAMPS / "ranges.json").read_text(encoding="utf-8"))
    inputs, outputs = list(recorded["inputs"]), list(recorded["outputs"])
    assert stamps.current(tree, "ranges", inputs, outputs)
    assert not stamps.current(tree, "ranges", inputs + ["data/claimants.csv"] if "data/claimants.csv" not in inputs else inputs[1:], outputs)
    (tree / "data/claims.csv").write_bytes((tree / "data/claims.csv").read_bytes() + b"\n")
    assert not stamps.current(tree, "ranges", inputs, outputs)


@pytest.mark.parametrize("name", TABLES)
def test_derived_tables_are_canonical_csv(name):
    data = (REPO / f"data/derived/{name}").read_bytes()
    assert b"\r" not in data and not data.startswith(b"\xef\xbb\xbf")
    data.decode("utf-8")


def test_a_command_run_directly_keeps_its_stamp_current(tree):
    """Run without make (after an edit), the command records its inputs and outputs again:
    otherwise the stamp would call its fresh output stale while make, going by times, would
    see nothing to do."""
    set_cell(tree, "hedges", "about", "low_factor", "0.78")
    recorded = json.loads((tree / stamps.STAMPS / "ranges.json").read_text(encoding="utf-8"))
    inputs, outputs = list(recorded["inputs"]), list(recorded["outputs"])
    assert not stamps.current(tree, "ranges", inputs, outputs)
    result = subprocess.run([sys.executable, "-m", "estimate", "ranges", "--root", str(tree)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert stamps.current(tree, "ranges", inputs, outputs)
    refreshed = (tree / stamps.STAMPS / "ranges.json").read_bytes()
    wide = subprocess.run([sys.executable, "-m", "estimate", "ranges", "--lexicon", "wide", "--output", "wide.csv", "--root", str(tree)],
                          cwd=REPO, capture_output=True, text=True)
    assert wide.returncode == 0 and (tree / stamps.STAMPS / "ranges.json").read_bytes() == refreshed  # not its outputs
