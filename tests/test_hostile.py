"""Inputs no command should ever meet, met anyway: each gets a one-line sentence and a
non-zero exit, never a traceback, and no file changes.

(Paths that leave the package are in test_containment.py; kills and concurrent writers in
test_crash.py; broken cells in test_validate.py.)
"""

import errno
import json
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, copy_whole, read_rows, refusal_code, set_cell, write_rows
from estimate.cli import main
from estimate.maintain.diff import UNPACK_LIMIT


def snapshot(root: Path) -> dict:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def descriptor_of(root: Path) -> dict:
    return json.loads((root / "datapackage.json").read_text(encoding="utf-8"))


def write_descriptor(root: Path, content) -> None:
    (root / "datapackage.json").write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")


# ---------------------------------------------------------------- descriptors

def no_schema(root):
    d = descriptor_of(root)
    next(r for r in d["resources"] if r["name"] == "claims").pop("schema")
    write_descriptor(root, d)


def no_sensitivity_lexicon(root):
    d = descriptor_of(root)
    d["resources"] = [r for r in d["resources"] if r["name"] != "hedges_sensitivity"]
    write_descriptor(root, d)


def fields_as_strings(root):
    d = descriptor_of(root)
    next(r for r in d["resources"] if r["name"] == "claims")["schema"]["fields"] = ["claim_id"]
    write_descriptor(root, d)


def edited(change):
    def edit(root):
        d = descriptor_of(root)
        change(d)
        write_descriptor(root, d)
    return edit


def claims_resource(d: dict) -> dict:
    return next(r for r in d["resources"] if r["name"] == "claims")


def foreign_key(d: dict, resource: str, field: str) -> dict:
    keys = next(r for r in d["resources"] if r["name"] == resource)["schema"]["foreignKeys"]
    return next(k for k in keys if k["fields"] in (field, [field]))


def field_of(d: dict, resource: str, name: str) -> dict:
    return next(f for f in next(r for r in d["resources"] if r["name"] == resource)["schema"]["fields"] if f["name"] == name)


DESCRIPTORS = {
    "no version": (edited(lambda d: d.pop("version")), ("version", "version-invalid")),
    "a version that is not SemVer": (edited(lambda d: d.update(version="1")), ("version", "version-invalid")),
    "a version in other digits": (edited(lambda d: d.update(version="١.٠.٠")), ("version", "version-invalid")),
    "no licence": (edited(lambda d: d.pop("licenses")), ("licenses", "licences-missing")),
    "a resource name too long for a sheet": (edited(lambda d: claims_resource(d).update(name="c" * 32)),
                                             ("resources[7].name", "resource-name-invalid")),
    "a resource name with a slash": (edited(lambda d: claims_resource(d).update(name="claim/s")), ("resources[7].name", "resource-name-invalid")),
    "a field type frictionless lacks": (edited(lambda d: claims_resource(d)["schema"]["fields"][0].update(type="strng")),
                                        ("resources[7].schema.fields[0].type", "field-type-unknown")),
    "a description longer than a cell": (edited(lambda d: d.update(description="x" * 40_000)),
                                         ("description", "descriptor-text-too-long")),
    "a key given twice": (lambda root: write_descriptor(root, (root / "datapackage.json").read_text(encoding="utf-8").replace(
        '"version":', '"version": "0.0.1", "version":', 1)), ("version", "descriptor-key-repeated")),
    "nested a million deep": (lambda root: write_descriptor(root, "[" * 1_000_000 + "]" * 1_000_000), (None, "descriptor-too-deep")),
    "a list, not an object": (lambda root: write_descriptor(root, "[]"), (None, "descriptor-no-resources")),
    "a table without a schema": (no_schema, ("resources[7].schema", "schema-missing")),
    "fields given as strings": (fields_as_strings, ("resources[7].schema", "schema-missing")),
    "a missing lexicon": (no_sensitivity_lexicon, ("resources", "resource-missing")),
    "a foreign key to no resource": (edited(lambda d: foreign_key(d, "claims", "claimant_id")["reference"].update(resource="claimant")),
                                     ("resources[7].schema.foreignKeys[1].reference.resource", "foreign-key-no-resource")),
    "a foreign key to no field": (edited(lambda d: foreign_key(d, "claims", "claimant_id")["reference"].update(fields=["claimantid"])),
                                  ("resources[7].schema.foreignKeys[1].reference.fields", "foreign-key-no-field")),
    "codes without categories": (edited(lambda d: field_of(d, "claims", "quantity").pop("categories")),
                                 ("resources[7].schema.fields[7].categories", "categories-missing")),
    "categories that miss a code": (edited(lambda d: field_of(d, "claims", "quantity")["categories"].pop()),
                                    ("resources[7].schema.fields[7].categories", "categories-disagree-with-enum")),
    "a code without its Spanish label": (edited(lambda d: field_of(d, "claims", "time_scope")["categories"][0].pop("label_es")),
                                         ("resources[7].schema.fields[9].categories", "categories-label-missing")),
    "a rule that does not say what it reads": (edited(lambda d: field_of(d, "hedges", "rule")["categories"][0].pop("parameters")),
                                               ("resources[3].schema.fields[1].categories", "category-parameters-invalid")),
    "a rule that reads a text column": (edited(lambda d: field_of(d, "hedges", "rule")["categories"][2].update(parameters=["rationale"])),
                                        ("resources[3].schema.fields[1].categories", "category-parameters-invalid")),
    "a foreign key from no field": (edited(lambda d: foreign_key(d, "claims", "claimant_id").update(fields=["claimant"])),
                                    ("resources[7].schema.foreignKeys[1].fields", "foreign-key-no-field")),
}


@pytest.mark.parametrize("case", DESCRIPTORS)
@pytest.mark.parametrize("command", ["validate", "ranges", "xlsx", "bump"])
def test_a_broken_descriptor_is_a_sentence(package, case, command, capsys):
    breaks, (column, problem) = DESCRIPTORS[case]
    breaks(package)
    before = snapshot(package)
    argv = [command, "--root", str(package)] + (["9.9.9"] if command == "bump" else [])
    code, err = run(argv, capsys)
    where = "datapackage.json" + (f" column {column}" if column else "") + ":"
    assert code in (1, 2) and any(line.startswith(where) and f"[{problem}]" in line for line in err.splitlines()), err
    assert snapshot(package) == before


def test_a_note_longer_than_a_spreadsheet_cell_is_refused_before_the_workbook(package, capsys):
    set_cell(package, "claims", "c011", "note", "x" * 40_000)
    code, err = run(["xlsx", "--root", str(package)], capsys)
    assert code == 1 and any(line.startswith("data/claims.csv row 12, column note: ") and line.endswith("[cell-too-long]")
                             for line in err.splitlines())


# ---------------------------------------------------------------- new-source

@pytest.mark.parametrize("make, refused", [
    (lambda d: d / "missing.txt", "intake-text-not-a-file"),
    (lambda d: d, "intake-text-not-a-file"),
    (lambda d: (d / "empty.txt", (d / "empty.txt").write_bytes(b""))[0], "intake-text-empty"),
    (lambda d: (d / "blank.txt", (d / "blank.txt").write_text(" \n\t\n", encoding="utf-8"))[0], "intake-text-empty"),
])
def test_new_source_on_something_that_is_not_an_article(package, tmp_path, make, refused, capsys):
    where = tmp_path / "articles"
    where.mkdir()
    article = make(where)
    before = snapshot(package)
    code, err = run(["new-source", str(article), "--published", "2025-12-02", "--basis", "inferred", "--evidence", "x",
                     "--root", str(package)], capsys)
    assert (code, refusal_code(err)) == (2, refused)
    assert snapshot(package) == before


# ---------------------------------------------------------------- diff

@pytest.fixture
def folder(tmp_path) -> Path:
    return copy_whole(tmp_path / "version")


def zipped(where: Path, entries: dict[str, bytes]) -> Path:
    path = where / "release.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_diff_of_a_corrupted_zip(folder, tmp_path, capsys):
    path = tmp_path / "broken.zip"
    good = zipped(tmp_path, {"v/datapackage.json": (REPO / "datapackage.json").read_bytes()}).read_bytes()
    path.write_bytes(good[:-30] + b"\0" * 30)  # the central directory damaged
    code, err = run(["diff", str(path), str(folder)], capsys)
    assert (code, refusal_code(err)) == (2, "diff-not-a-package") and err.count("\n") == 1


def test_diff_unpacks_only_what_it_reads_and_never_a_bomb(folder, tmp_path, capsys):
    tables = {f"v/{r['path']}": (folder / r["path"]).read_bytes() for r in descriptor_of(folder)["resources"]
              if r["path"].endswith(".csv")}
    bomb = zipped(tmp_path, {"v/datapackage.json": (folder / "datapackage.json").read_bytes(), **tables,
                             "v/data/claims.csv": b"0" * (UNPACK_LIMIT + 1), "v/../../escaped.txt": b"outside"})
    code, err = run(["diff", str(bomb), str(folder)], capsys)
    assert (code, refusal_code(err)) == (2, "diff-zip-too-large")
    assert not (tmp_path.parent / "escaped.txt").exists()


@pytest.mark.parametrize("entries, refused, names", [
    (lambda d, c: {"a/datapackage.json": d, "b/datapackage.json": d}, "diff-zip-descriptors-many", "b/datapackage.json"),
    (lambda d, c: {"a/datapackage.json": d, "a/data/claims.csv": c}, "diff-zip-file-missing", "data/sources.csv"),
])
def test_diff_of_a_zip_that_is_not_one_whole_release(folder, tmp_path, entries, refused, names, capsys):
    release = zipped(tmp_path, entries((folder / "datapackage.json").read_bytes(), (folder / "data/claims.csv").read_bytes()))
    code, err = run(["diff", str(release), str(folder)], capsys)
    assert (code, refusal_code(err)) == (2, refused) and names in err and err.count("\n") == 1


def test_diff_of_a_zip_with_one_entry_twice(folder, tmp_path, capsys):
    release = tmp_path / "twice.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(release, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate it is told to write
        for _ in range(2):
            archive.writestr("a/datapackage.json", (folder / "datapackage.json").read_bytes())
    code, err = run(["diff", str(release), str(folder)], capsys)
    assert (code, refusal_code(err)) == (2, "diff-zip-file-repeated") and "a/datapackage.json" in err


def test_diff_never_reads_a_file_outside_the_version(folder, tmp_path, capsys):
    secret = tmp_path / "secret.csv"
    secret.write_text("claim_id,note\nc001,THE SECRET\n", encoding="utf-8")
    d = descriptor_of(folder)
    next(r for r in d["resources"] if r["name"] == "claims")["path"] = str(secret)
    write_descriptor(folder, d)
    code = main(["diff", str(REPO), str(folder)])
    captured = capsys.readouterr()
    assert "THE SECRET" not in captured.out + captured.err and "Traceback" not in captured.err
    assert code in (1, 2)


def test_diff_with_a_full_temporary_disk_says_where_to_make_room(folder, tmp_path, monkeypatch, capsys):
    release = zipped(tmp_path, {"v/datapackage.json": (folder / "datapackage.json").read_bytes(),
                                "v/data/claims.csv": (folder / "data/claims.csv").read_bytes()})
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))

    def full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(Path, "write_bytes", full)
    code, err = run(["diff", str(release), str(folder)], capsys)
    assert (code, refusal_code(err)) == (2, "diff-no-room") and str(temporary) in err and err.count("\n") == 1
    assert list(temporary.iterdir()) == []


def test_diff_of_a_version_with_no_claims_lists_every_claim_as_removed(folder, capsys):
    rows = read_rows(folder / "data/claims.csv")
    write_rows(folder / "data/claims.csv", rows[:1])
    code = main(["diff", str(REPO), str(folder)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.count("REMOVED: the versioning policy keeps every row") == len(rows) - 1


def word_for_a_number(root: Path) -> None:
    path = root / "data/derived/estimates.csv"
    rows = read_rows(path)
    rows[1][rows[0].index("value_central")] = "lots"
    write_rows(path, rows)


@pytest.mark.parametrize("damage, refused", [
    (lambda root: (root / "data/claims.csv").write_bytes("claim_id,note\nc001,caf\xe9\n".encode("latin-1")), "diff-table-unreadable"),
    (word_for_a_number, "diff-value-wrong-kind"),
])
def test_diff_of_a_damaged_table_is_a_sentence(folder, damage, refused, capsys):
    damage(folder)
    code, err = run(["diff", str(REPO), str(folder)], capsys)
    assert (code, refusal_code(err)) == (2, refused) and err.count("\n") == 1


def test_a_row_of_thirty_thousand_commas_is_one_problem(package, capsys):
    """Reported once, for its row, by the file layer (frictionless would copy the row once per
    extra cell: minutes of work for one bad line)."""
    columns = len((package / "data/claims.csv").read_text(encoding="utf-8").splitlines()[0].split(","))
    with open(package / "data/claims.csv", "a", encoding="utf-8") as f:
        f.write("c999" + "," * 30_000 + "\n")
    code, err = run(["validate", "--root", str(package)], capsys)
    assert code == 1
    rows = len((package / "data/claims.csv").read_text(encoding="utf-8").splitlines())  # the appended row is the last
    line = err.splitlines()[0]
    assert line.startswith(f"data/claims.csv row {rows}: ") and line.endswith("[extra-cell]") and f"{30_001 - columns:,}" in line
    assert len(err.splitlines()) == 2


# ---------------------------------------------------------------- CITATION.cff and README.md

def citation_edited(old: str, new: str):
    def edit(root):
        path = root / "CITATION.cff"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return edit


CITATIONS = {
    "an impossible date": (lambda root: (root / "CITATION.cff").write_text(re.sub(
        r"(?m)^date-released: .*$", 'date-released: "2026-13-45"', (root / "CITATION.cff").read_text(encoding="utf-8")),
        encoding="utf-8"), "date-released"),
    "no authors": (citation_edited("authors:", "writers:"), "authors"),
    "broken YAML": (citation_edited("authors:", "authors: ["), "line"),
    "not UTF-8": (lambda root: (root / "CITATION.cff").write_bytes((root / "CITATION.cff").read_bytes() + b"\xe9\xff"), "UTF-8"),
    "missing": (lambda root: (root / "CITATION.cff").unlink(), "CITATION.cff"),
}


@pytest.mark.parametrize("case", CITATIONS)
@pytest.mark.parametrize("command", ["cite", "xlsx"])
def test_a_broken_citation_file_is_a_sentence(folder, case, command, capsys):
    damage, names = CITATIONS[case]
    damage(folder)
    before = snapshot(folder)
    code, err = run([command, "--root", str(folder)], capsys)
    assert code in (1, 2) and refusal_code(err) == "citation-unreadable" and names in err and err.count("\n") == 1
    assert snapshot(folder) == before


def test_a_readme_that_is_not_utf8_is_a_sentence_to_coverage(folder, capsys):
    (folder / "README.md").write_bytes((folder / "README.md").read_bytes() + b"\xe9\xff")
    before = snapshot(folder)
    code, err = run(["coverage", "--root", str(folder)], capsys)
    assert (code, refusal_code(err)) == (2, "readme-unreadable") and err.count("\n") == 1
    assert snapshot(folder) == before
