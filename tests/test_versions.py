"""One version everywhere, every claim accounted for in the CHANGELOG, and citations that say it."""

import json
import shutil
import subprocess
import sys
from datetime import date

import jsonschema
import pytest
import yaml

from conftest import REPO, RELEASED, VERSION, NEXT_MINOR, NEXT_PATCH, CREATED, released_changelog, set_cell, refusal_code
from estimate.publish import citation
from estimate.package import versions
from estimate.package.tables import load

SCHEMA = json.loads((REPO / "tests/schemas/cff-1.2.0.json").read_text(encoding="utf-8"))


@pytest.fixture
def release(package):
    """The package copy with its CITATION.cff and CHANGELOG.md, as at its last release."""
    shutil.copy(REPO / versions.CITATION, package / versions.CITATION)
    (package / versions.CHANGELOG).write_text(released_changelog(), encoding="utf-8")
    return package


def problems(root):
    loaded, _ = load(root)
    return versions.check(root, loaded)


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_citation_file_follows_the_cff_schema():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(cff)] == []
    assert cff["type"] == "dataset"


def test_the_schema_check_can_fail():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    cff["type"] = "article"
    cff["date-released"] = "22/11/2026"
    del cff["authors"]
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert len(list(validator.iter_errors(cff))) >= 3


def test_descriptor_citation_and_changelog_agree():
    assert problems(REPO) == []


@pytest.mark.parametrize("file, old, new, problem", [
    ("CITATION.cff", f'version: "{VERSION}"', f'version: "{NEXT_PATCH}"', "citation-disagrees"),
    ("CITATION.cff", f'date-released: "{CREATED}"', 'date-released: "2099-01-01"', "citation-disagrees"),
    ("datapackage.json", f'"version": "{VERSION}"', f'"version": "{NEXT_MINOR}"', "citation-disagrees"),
    ("CHANGELOG.md", RELEASED, f"## {VERSION} — 2026-11-21", "version-disagrees-with-changelog"),
    ("CHANGELOG.md", RELEASED, f"## {VERSION}", "release-heading-undated"),
    ("CHANGELOG.md", RELEASED, "## Unreleased", "version-disagrees-with-changelog"),
    ("CHANGELOG.md", "- c001–c027:", "- c001–c026:", "claim-not-added-once"),
    ("CHANGELOG.md", "- c028–c170:", "- c028–c171:", "changelog-claim-unknown"),
])
def test_a_disagreement_is_named(release, file, old, new, problem):
    edit(release / file, old, new)
    found = problems(release)
    assert any(p.code == problem for p in found), "\n".join(map(str, found))


def test_unreleased_work_sits_above_the_latest_release(release):
    edit(release / "CHANGELOG.md", RELEASED, f"## Unreleased\n\n### Claims added\n- c027: moved here.\n\n{RELEASED}")
    edit(release / "CHANGELOG.md", "- c001–c027:", "- c001–c026:")
    assert problems(release) == []


def test_a_withdrawn_claim_must_be_listed(release):
    set_cell(release, "claims", "c018", "status", "retracted")
    set_cell(release, "claims", "c018", "status_reason", "0.1.1: test")
    assert any("c018 is retracted" in str(p) for p in problems(release))
    edit(release / "CHANGELOG.md", RELEASED, f"## Unreleased\n\n### Claims retracted or superseded\n- c018: test.\n\n{RELEASED}")
    assert problems(release) == []


def test_runs_of_claim_ids_are_spelled_out():
    assert versions.expand("- c001–c003 and c010, c0098-c0100.") == ["c001", "c002", "c003", "c010", "c0098", "c0099", "c0100"]


CFF = {"title": "Claims & counts_{2025}", "version": "1.2.3", "date-released": "2027-03-05", "type": "dataset",
       "license": "CC-BY-4.0", "doi": "10.5281/zenodo.123",
       "authors": [{"given-names": "Ana María", "family-names": "Pérez"}, {"name": "Open Data Team"},
                   {"given-names": "Jan", "name-particle": "van der", "family-names": "Berg"}]}


def test_apa_lists_people_and_organisations_with_version_and_doi():
    assert citation.apa(CFF) == ("Pérez, A. M., Open Data Team, & van der Berg, J. (2027). Claims & counts_{2025} "
                                 "(Version 1.2.3) [Data set]. https://doi.org/10.5281/zenodo.123")


def test_bibtex_escapes_markup_and_keeps_organisations_whole():
    entry = citation.bibtex(CFF, "key-1.2.3")
    assert entry.startswith("@misc{key-1.2.3,\n") and entry.endswith("\n}")
    assert r"title        = {{Claims \& counts\_\{2025\}}}" in entry
    assert "author       = {Pérez, Ana María and {Open Data Team} and van der Berg, Jan}" in entry
    assert "month        = mar," in entry and "doi          = {10.5281/zenodo.123}" in entry


def test_make_cite_prints_the_current_version():
    result = subprocess.run([sys.executable, "-m", "estimate", "cite"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    version = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))["version"]
    assert f"(Version {version}) [Data set]." in result.stdout
    assert f"@misc{{dprk-troops-russia-claims-{version}," in result.stdout


def test_bump_writes_the_version_and_date_in_all_three_places(release):
    from estimate.cli import main
    edit(release / "CHANGELOG.md", RELEASED, f"## Unreleased\n\n### Claims corrected\n- c011: note.\n\n{RELEASED}")
    today = date.today().isoformat()
    assert main(["bump", NEXT_PATCH, "--date", today, "--root", str(release)]) == 0
    descriptor = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    assert (descriptor["version"], descriptor["created"]) == (NEXT_PATCH, f"{today}T00:00:00Z")
    assert f"## {NEXT_PATCH} — {today}\n" in (release / "CHANGELOG.md").read_text(encoding="utf-8")
    cff = yaml.safe_load((release / "CITATION.cff").read_text(encoding="utf-8"))
    assert (cff["version"], cff["date-released"]) == (NEXT_PATCH, today)
    assert problems(release) == []


@pytest.mark.parametrize("version, when, refused", [
    (VERSION, None, "version-not-later"),
    ("1.0", None, "version-not-a-version"),
    (NEXT_MINOR + "\n", None, "version-not-a-version"),
    ("١.٠.٠", None, "version-not-a-version"),
    (NEXT_MINOR, None, "version-file-incomplete"),
    (NEXT_MINOR, "2020-01-01", "version-date-before-current"),
    (NEXT_MINOR, "9999-12-31", "version-date-in-future"),
])
def test_bump_refuses_and_changes_nothing(release, version, when, refused, capsys):
    from estimate.cli import main
    before = {p: p.read_bytes() for p in release.rglob("*") if p.is_file()}
    assert main(["bump", version, "--root", str(release)] + (["--date", when] if when else [])) == 2
    err = capsys.readouterr().err
    assert refusal_code(err) == refused and err.count("\n") == 1
    assert {p: p.read_bytes() for p in release.rglob("*") if p.is_file()} == before


def test_zenodo_metadata_agrees_with_the_citation_file():
    """Zenodo reads .zenodo.json, GitHub and reference managers CITATION.cff: they must say
    the same title, abstract, creators, licence and keywords (the version and date Zenodo
    takes from the release itself)."""
    zenodo = json.loads((REPO / ".zenodo.json").read_text(encoding="utf-8"))
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert zenodo["upload_type"] == "dataset" and zenodo["title"] == cff["title"]
    assert zenodo["description"] == cff["abstract"].strip()
    assert [c["name"] for c in zenodo["creators"]] == [a.get("name") or f"{a['family-names']}, {a['given-names']}" for a in cff["authors"]]
    assert zenodo["license"] == cff["license"].lower() and zenodo["keywords"] == cff["keywords"]
    assert "version" not in zenodo or zenodo["version"] == VERSION
