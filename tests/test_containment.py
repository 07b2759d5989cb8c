"""Nothing is read from or written to outside the package folder, and nothing is fetched.

A package received from someone else may name any path or URL in its descriptor: each is
refused before anything is read, with a located sentence and exit 1, and no file changes.
Outputs are written only inside the folder, never over an input.
"""

import json
import os
import socket
from pathlib import Path

import pytest

from conftest import copy_whole, refusal_code
from estimate.cli import main

OUTSIDE = "../outside.csv"


def files(root: Path, also: Path) -> dict:
    """Every file of the copy and of the folder around it, by path: nothing may change."""
    return {p: p.read_bytes() for p in also.rglob("*") if p.is_file()}


def edit_descriptor(root: Path, change) -> None:
    path = root / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    change(descriptor)
    path.write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def claims(descriptor: dict) -> dict:
    return next(r for r in descriptor["resources"] if r["name"] == "claims")


HOSTILE = {
    "name leaving the folder": (lambda d: d.update(name="../../../tmp/x"), ("name", "package-name-invalid")),
    "name with a slash": (lambda d: d.update(name="a/b"), ("name", "package-name-invalid")),
    "absolute resource path": (lambda d: claims(d).update(path="/etc/passwd"), ("resources[7].path", "resource-path-outside")),
    "resource path with ..": (lambda d: claims(d).update(path=OUTSIDE), ("resources[7].path", "resource-path-outside")),
    "resource path as URL": (lambda d: claims(d).update(path="https://example.org/claims.csv"), ("resources[7].path", "resource-path-outside")),
    "resource path to /proc": (lambda d: claims(d).update(path="/proc/self/environ"), ("resources[7].path", "resource-path-outside")),
    "resource path to a folder": (lambda d: claims(d).update(path="data/texts"), ("resources[7].path", "resource-path-folder")),
    "schema by URL": (lambda d: claims(d).update(schema="https://example.org/schema.json"), ("resources[7].schema", "resource-not-inline")),
    "dialect by URL": (lambda d: claims(d).update(dialect="https://example.org/dialect.json"), ("resources[7].dialect", "resource-not-inline")),
    "another profile": (lambda d: d.update({"$schema": "https://example.org/profile.json"}), ("$schema", "profile-not-v2")),
    "resource as a string": (lambda d: d["resources"].append("data/claims.csv"), ("resources[22]", "resource-invalid")),
    "dialect hiding rows": (lambda d: claims(d)["dialect"].update(commentRows=[2, 3]), ("resources[7].dialect", "dialect-not-allowed")),
}


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("command", ["validate", "ranges", "xlsx", "figures"])
def test_a_hostile_descriptor_is_refused_before_anything_is_read_or_written(package, case, command, capsys):
    change, (column, problem) = HOSTILE[case]
    (package.parent / "outside.csv").write_text("claim_id\nc999\n", encoding="utf-8")
    edit_descriptor(package, change)
    before = files(package, package.parent)
    assert main([command, "--root", str(package)]) == 1
    err = capsys.readouterr().err
    assert f"datapackage.json column {column}: " in err and f"[{problem}]" in err and "Traceback" not in err
    assert files(package, package.parent) == before


def test_a_folder_in_place_of_a_table_is_named_as_such(package, capsys):
    (package / "data/hedges.csv").unlink()
    (package / "data/hedges.csv").mkdir()
    assert main(["validate", "--root", str(package)]) == 1
    assert any(line.startswith("datapackage.json column resources[") and ".path: 'data/hedges.csv'" in line
               and line.endswith("[resource-path-folder]") for line in capsys.readouterr().err.splitlines())


def test_a_symlink_that_leaves_the_folder_is_refused(package, capsys):
    target = package.parent / "elsewhere.csv"
    target.write_bytes((package / "data/claims.csv").read_bytes())
    (package / "data/claims.csv").unlink()
    os.symlink(target, package / "data/claims.csv")
    assert main(["validate", "--root", str(package)]) == 1
    assert any(".path: 'data/claims.csv'" in line and line.endswith("[resource-path-outside]")
               for line in capsys.readouterr().err.splitlines())


@pytest.mark.parametrize("output, refused", [
    ("data/claims.csv", "output-is-an-input"),
    ("datapackage.json", "output-not-csv"),
    ("CITATION.cff", "output-not-csv"),
    (".stamps/fit.json", "output-not-csv"),
    ("data/derived/estimates.csv", "output-is-an-input"),
    (OUTSIDE, "output-outside-package"),
    ("/tmp/ranges-anywhere.csv", "output-outside-package"),
    ("data", "output-outside-package"),
])
def test_an_output_is_never_an_input_nor_outside_the_folder(package, output, refused, capsys):
    before = files(package, package.parent)
    assert main(["ranges", "--lexicon", "wide", "--output", output, "--root", str(package)]) == 2
    err = capsys.readouterr().err
    assert refusal_code(err) == refused and output in err and err.count("\n") == 1
    assert files(package, package.parent) == before and not Path("/tmp/ranges-anywhere.csv").exists()


def test_the_wide_lexicon_never_replaces_the_main_ranges(package, capsys):
    before = files(package, package.parent)
    assert main(["ranges", "--lexicon", "wide", "--output", "data/derived/ranges.csv", "--root", str(package)]) == 2
    assert refusal_code(capsys.readouterr().err) == "output-is-an-input"
    assert files(package, package.parent) == before


def test_an_output_through_a_link_that_leaves_the_folder_is_refused(package, capsys):
    away = package.parent / f"{package.name}-away"
    away.mkdir()
    os.symlink(away, package / "data/derived/linked")
    assert main(["ranges", "--lexicon", "wide", "--output", "data/derived/linked/r.csv", "--root", str(package)]) == 2
    assert refusal_code(capsys.readouterr().err) == "output-outside-package"
    assert not any(away.iterdir())


def test_no_test_opens_a_socket():
    """The guard in conftest: any connection attempt fails the test that makes it."""
    with pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("example.org", 80), timeout=1)


# ---------------------------------------------------------------- derived tables are checked before use

def cut_to_two_columns(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("".join(",".join(line.split(",")[:2]) + "\n" for line in lines), encoding="utf-8")


def truncate_mid_row(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def not_a_number(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[1].rstrip("\n").split(",")
    cells[header.index("value_low")] = "many"
    path.write_text(lines[0] + ",".join(cells) + "\n" + "".join(lines[2:]), encoding="utf-8")


@pytest.mark.parametrize("table, damage, command, problem, refused", [
    ("claim_fit.csv", truncate_mid_row, "conflicts", ("data/derived/claim_fit.csv row", None), "derived-table-not-ours"),
    ("claim_fit.csv", cut_to_two_columns, "conflicts", ("data/derived/claim_fit.csv row 1, column used_in_fit:", "column-missing"),
     "derived-table-not-ours"),
    ("claimant_bias.csv", lambda p: p.unlink(), "conflicts", None, "derived-table-missing"),
    ("estimates.csv", cut_to_two_columns, "figures", ("data/derived/estimates.csv row 1, column date:", "column-missing"),
     "derived-table-not-ours"),
    ("estimates.csv", not_a_number, "figures", ("data/derived/estimates.csv row 2, column value_low:", "type-error"),
     "derived-table-not-ours"),
    ("estimates_as_of.csv", truncate_mid_row, "xlsx", ("data/derived/estimates_as_of.csv row", None), "derived-table-not-ours"),
    ("estimates.csv", not_a_number, "xlsx", ("data/derived/estimates.csv row 2, column value_low:", "type-error"),
     "derived-table-not-ours"),
])
def test_a_damaged_derived_table_is_refused_by_the_stage_that_reads_it(tmp_path, table, damage, command, problem, refused, capsys):
    root = copy_whole(tmp_path / "package")
    damage(root / "data/derived" / table)
    before = files(root, root)
    assert main([command, "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert refusal_code(err) == refused and "Traceback" not in err
    if problem:
        where, code = problem
        assert any(line.startswith(where) and (code is None or line.endswith(f"[{code}]")) for line in err.splitlines()), err
    assert files(root, root) == before


# ---------------------------------------------------------------- a journal the toolkit did not write

def planted(root: Path, record) -> None:
    (root / ".estimate-journal.json").write_text(record if isinstance(record, str) else json.dumps(record), encoding="utf-8")


def temporary_link_out(root: Path) -> None:
    os.symlink("/etc/hostname", root / "data/.claims.csv.12.tmp")
    planted(root, {"state": "renaming", "moves": [["data/.claims.csv.12.tmp", "data/claims.csv"]]})


JOURNALS = {
    "writing: deletes an input": (lambda r: planted(r, {"state": "writing", "moves": [["data/claims.csv", "data/derived/ranges.csv"]]}),
                                  "journal-move-not-a-commit"),
    "renaming: one input over another": (lambda r: planted(r, {"state": "renaming", "moves": [["README.md", "datapackage.json"]]}),
                                         "journal-move-not-a-commit"),
    "renaming: a temporary of another file": (lambda r: planted(r, {"state": "renaming", "moves": [["data/.hedges.csv.1.tmp", "data/claims.csv"]]}),
                                              "journal-move-not-a-commit"),
    "a temporary that links out": (temporary_link_out, "journal-move-outside"),
    "not a record": (lambda r: planted(r, [1, 2]), "journal-not-a-record"),
    "an unknown state": (lambda r: planted(r, {"state": "done", "moves": []}), "journal-not-a-record"),
    "not JSON": (lambda r: planted(r, "{"), "journal-not-json"),
    "a folder": (lambda r: (r / ".estimate-journal.json").mkdir(), "journal-not-a-file"),
    "a folder for its temporary": (lambda r: (r / ".estimate-journal.json.tmp").mkdir(), "journal-not-a-file"),
}


@pytest.mark.parametrize("case", JOURNALS)
@pytest.mark.parametrize("command", ["validate", "cite", "ranges"])
def test_a_journal_the_toolkit_did_not_write_is_refused_with_nothing_touched(package, case, command, capsys):
    """A package from someone else may hold a file by the journal's name: followed, it would
    rename or delete the package's own files, even under a command that only reads."""
    plant, refused = JOURNALS[case]
    plant(package)
    before = files(package, package.parent)
    assert main([command, "--root", str(package)]) == 2
    err = capsys.readouterr().err
    assert refusal_code(err) == refused and err.startswith(str(package / ".estimate-journal.json")) and err.count("\n") == 1
    assert files(package, package.parent) == before


def test_a_file_given_as_the_package_folder_is_a_sentence(package, capsys):
    assert main(["validate", "--root", str(package / "datapackage.json")]) == 2
    err = capsys.readouterr().err
    assert refusal_code(err) == "root-is-a-file" and str(package / "datapackage.json") in err and err.count("\n") == 1


@pytest.mark.parametrize("name, rel", [("outside", "../../../etc/hostname"), ("absolute", "/etc/hostname"), ("a folder", "data"),
                                       ("not a stamp", None)])
def test_a_stamp_that_names_files_outside_the_package_is_never_read(package, name, rel, capsys):
    """.stamps/ comes with a package from someone else: a run refreshes its stamp by hashing
    the inputs it lists, which must never reach a file outside the package."""
    (package / ".stamps").mkdir()
    stamp = package / ".stamps/ranges.json"
    content = {"inputs": {"data/claims.csv": "0", rel: "0"}, "outputs": {"data/derived/ranges.csv": "0"}} if rel else [1]
    stamp.write_text(json.dumps(content), encoding="utf-8")
    before = stamp.read_bytes()
    assert main(["ranges", "--root", str(package)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert stamp.read_bytes() == before  # not refreshed: a hash of the outside file would be in it
