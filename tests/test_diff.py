"""`python -m estimate diff OLD NEW` names what changed between two versions."""

import csv
import json
import subprocess
import sys

import pytest

from conftest import REPO, VERSION, NEXT_MINOR, committed, copy_whole, read_rows, set_cell, write_rows, refusal_code


def diff(old, new, *options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "estimate", "diff", str(old), str(new), *options],
                          cwd=REPO, capture_output=True, text=True)


def scale_estimates(root, quantity, factor, dates=None):
    path = root / "data/derived/estimates.csv"
    rows = read_rows(path)
    header = rows[0]
    for row in rows[1:]:
        if row[header.index("quantity")] == quantity and (dates is None or row[header.index("date")] in dates):
            i = header.index("value_central")
            row[i] = str(float(row[i]) * factor)
    write_rows(path, rows)


@pytest.fixture(scope="module")
def release_zip(tmp_path_factory):
    source = committed(copy_whole(tmp_path_factory.mktemp("checkout") / "package"))
    out = source / "dist"  # commands write only inside the package folder
    subprocess.run([sys.executable, "-m", "estimate", "release", "--root", str(source), "--output", str(out)], cwd=REPO, check=True,
                   capture_output=True)
    [path] = [p for p in out.glob("*.zip") if not p.stem.endswith("-public")]
    return path


def test_a_release_and_its_own_folder_do_not_differ(release_zip):
    result = diff(release_zip, REPO)
    assert result.returncode == 0, result.stderr  # as diff(1): 0 when nothing differs
    assert "No differences in sources, claims or estimates." in result.stdout


def test_one_changed_claim_is_named_with_its_field(release_zip, package):
    set_cell(package, "claims", "c018", "stated_value", "2100")
    result = diff(release_zip, package)
    assert result.returncode == 1, result.stderr  # as diff(1): 1 when something differs
    assert "Claims: 0 added, 0 removed, 1 changed" in result.stdout
    assert "~ c018 (s003, kor-nis, killed): 'alrededor de 2 mil'" in result.stdout
    assert "stated_value: '2000' → '2100'" in result.stdout
    assert f"Version unchanged at {VERSION}, but the differences (claims corrected) call for a patch version." in result.stdout


def test_added_removed_and_retracted_claims(package):
    old = REPO
    path = package / "data/claims.csv"
    rows = read_rows(path)
    rows.append(["c999"] + rows[19][1:])
    rows = [r for r in rows if r[0] != "c003"]
    write_rows(path, rows)
    set_cell(package, "claims", "c011", "status", "retracted")
    out = diff(old, package).stdout
    assert "Claims: 1 added, 1 removed, 1 changed" in out
    assert "+ c999 " in out
    assert "- c003 (s000, unattributed, surrendered): 'más de 300' — REMOVED" in out
    assert "~ c011 (s001, unattributed, casualties): 'cientos' [retracted]" in out and "status: 'active' → 'retracted'" in out


def test_estimates_that_moved_beyond_the_threshold_are_grouped_by_quantity(package):
    scale_estimates(package, "killed", 1.3)
    scale_estimates(package, "wounded", 1.05)
    out = diff(REPO, package).stdout
    with open(REPO / "data/derived/estimates.csv", encoding="utf-8") as f:
        killed = sum(1 for r in csv.DictReader(f) if r["quantity"] == "killed" and float(r["value_central"]) > 0)
    assert f"dprk_forces killed: {killed} dates; the largest move, at " in out
    line = next(l for l in out.splitlines() if "dprk_forces killed:" in l)
    assert ": median " in line and line.endswith("(+30%)") and "low" not in line  # only the median moved
    assert "wounded" not in out
    assert "the differences (estimates moved) call for a patch version" in out
    assert "dprk_forces wounded:" in diff(REPO, package, "--threshold", "0.01").stdout
    assert "dprk_forces wounded:" in diff(REPO, package, "--threshold", "1%").stdout


@pytest.mark.parametrize("threshold", ["10", "-0.1", "0", "ten"])
def test_a_threshold_that_is_not_a_share_is_refused(threshold):
    result = diff(REPO, REPO, "--threshold", threshold)
    assert (result.returncode, refusal_code(result.stderr)) == (2, "argument-not-a-share") and "--threshold" in result.stderr


def test_a_new_column_is_named_and_calls_for_a_minor_version(package):
    path = package / "data/sources.csv"
    rows = read_rows(path)
    write_rows(path, [r + (["archived_on"] if i == 0 else [""]) for i, r in enumerate(rows)])
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["version"] = NEXT_MINOR
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    out = diff(REPO, package).stdout
    assert "column added: archived_on" in out
    assert f"Version {VERSION} → {NEXT_MINOR}: a minor step; the differences (a column added to sources) call for a minor version." in out


def test_something_that_is_not_a_package_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    result = diff(tmp_path / "notes.txt", REPO)
    assert (result.returncode, refusal_code(result.stderr)) == (2, "diff-not-a-package")
    result = diff(tmp_path, REPO)
    assert (result.returncode, refusal_code(result.stderr)) == (2, "diff-descriptor-missing")
