"""The release zip: complete, self-checking, valid when unpacked, and the same bytes every time."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from argparse import Namespace
from pathlib import Path

import pytest

from conftest import REPO, CREATED, RELEASED, VERSION, NEXT_MINOR, committed, copy_whole, set_cell, refusal_code
from estimate.publish import release
from estimate.package.tables import load

DESCRIPTOR = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))
FOLDER = f"{DESCRIPTOR['name']}-{DESCRIPTOR['version']}"
FRICTIONLESS = Path(sys.executable).parent / "frictionless"


def build(root: Path, output: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "estimate", "release", "--root", str(root), "--output", str(output)],
                          cwd=REPO, capture_output=True, text=True)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A clean checkout of everything a release holds: a release is built from a commit."""
    return committed(copy_whole(tmp_path_factory.mktemp("checkout") / "package"))


@pytest.fixture(scope="module")
def zip_path(source) -> Path:
    out = source / "dist"  # commands write only inside the package folder
    result = build(source, out)
    assert result.returncode == 0, result.stderr
    return out / f"{FOLDER}.zip"


@pytest.fixture(scope="module")
def unpacked(zip_path, tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(where)
    return where / FOLDER


def test_built_again_later_it_is_the_same_bytes(source, zip_path, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # another day, years later
    package, _ = load(source)
    built = release.build(package, Namespace(root=source, output=Path("dist")))
    assert set(built) == {Path("dist") / f"{FOLDER}.zip", Path("dist") / f"{FOLDER}-public.zip"}
    for path, data in built.items():
        assert data == (source / path).read_bytes()


def test_entries_are_sorted_stamped_and_under_one_folder(zip_path):
    with zipfile.ZipFile(zip_path) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) and all(n.startswith(FOLDER + "/") for n in names)
    assert {i.date_time for i in infos} == {(*map(int, CREATED.split("-")), 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o644}


def test_it_holds_the_data_documents_workbook_and_figures(unpacked):
    files = {str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()}
    expected = {r["path"] for r in DESCRIPTOR["resources"]} | {"datapackage.json", "SHA256SUMS", "README.md", "LICENSE",
                                                                "CITATION.cff", "CHANGELOG.md",
                                                                "data/derived/dprk-troops-russia-claims.xlsx"}
    expected |= {str(p.relative_to(REPO)) for p in (REPO / "figures").iterdir()}
    assert files == expected


def test_every_resource_carries_its_size_and_hash(unpacked):
    descriptor = json.loads((unpacked / "datapackage.json").read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        data = (unpacked / resource["path"]).read_bytes()
        assert resource["bytes"] == len(data)
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert {k: v for k, v in descriptor.items() if k != "resources"} == {k: v for k, v in DESCRIPTOR.items() if k != "resources"}


def test_sha256sums_covers_every_other_file(unpacked):
    lines = (unpacked / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    listed = {}
    for line in lines:
        digest, path = line.split("  ", 1)
        listed[path] = digest
    files = {str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(listed) == files
    assert all(hashlib.sha256((unpacked / p).read_bytes()).hexdigest() == d for p, d in listed.items())


def test_unpacked_it_passes_frictionless_validate(unpacked):
    result = subprocess.run([FRICTIONLESS, "validate", "datapackage.json"], cwd=unpacked, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_a_changed_byte_fails_frictionless_validate(unpacked, tmp_path):
    copy = tmp_path / FOLDER
    shutil.copytree(unpacked, copy)
    path = copy / "data/derived/conflicts.csv"
    data = path.read_bytes()
    assert b",c0" in data
    path.write_bytes(data.replace(b",c0", b",c9", 1))
    result = subprocess.run([FRICTIONLESS, "validate", "datapackage.json"], cwd=copy, capture_output=True, text=True)
    assert result.returncode != 0 and "hash-count" in result.stdout


@pytest.fixture
def built_copy(tmp_path) -> Path:
    return committed(copy_whole(tmp_path / "package"))


def test_a_working_tree_that_differs_from_its_commit_is_not_released(built_copy, tmp_path):
    set_cell(built_copy, "claims", "c011", "note", "A corrected note.")
    (built_copy / "figures/extra.png").write_bytes(b"not committed")
    result = build(built_copy, tmp_path / "dist")
    assert (result.returncode, refusal_code(result.stderr)) == (2, "release-uncommitted-changes")
    assert "(data/claims.csv, figures/extra.png)" in result.stderr
    assert not (tmp_path / "dist").exists()


def test_a_link_among_the_figures_never_reaches_the_zip(built_copy, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not part of the package", encoding="utf-8")
    os.symlink(secret, built_copy / "figures/secret.png")
    committed(built_copy)
    result = build(built_copy, built_copy / "dist")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(built_copy / f"dist/{FOLDER}.zip") as archive:
        assert not [n for n in archive.namelist() if "secret" in n]
        assert all(b"not part of the package" not in archive.read(n) for n in archive.namelist())


def test_a_release_is_written_only_inside_the_package_folder(built_copy, tmp_path):
    result = build(built_copy, tmp_path / "elsewhere")
    assert (result.returncode, refusal_code(result.stderr)) == (2, "output-outside-package")
    assert not (tmp_path / "elsewhere").exists()


def test_a_folder_that_is_not_a_checkout_is_not_released(tmp_path):
    root = copy_whole(tmp_path / "package")
    result = build(root, tmp_path / "dist")
    assert (result.returncode, refusal_code(result.stderr)) == (2, "release-not-a-git-checkout")


def test_a_version_that_disagrees_is_not_released(built_copy, tmp_path):
    cff = built_copy / "CITATION.cff"
    cff.write_text(cff.read_text(encoding="utf-8").replace(f'version: "{VERSION}"', f'version: "{NEXT_MINOR}"'), encoding="utf-8")
    committed(built_copy)
    result = build(built_copy, tmp_path / "dist")
    assert (result.returncode, refusal_code(result.stderr)) == (2, "release-not-ready")
    assert any(line.startswith("CITATION.cff: version ") and line.endswith("[citation-disagrees]")
               for line in result.stderr.splitlines())
    assert not (tmp_path / "dist").exists()


def test_changes_waiting_under_unreleased_are_not_released_as_the_old_version(built_copy):
    log = built_copy / "CHANGELOG.md"
    log.write_text(log.read_text(encoding="utf-8").replace(RELEASED, f"## Unreleased\n\n- A note.\n\n{RELEASED}"),
                   encoding="utf-8")
    committed(built_copy)
    result = build(built_copy, built_copy / "dist")
    assert (result.returncode, refusal_code(result.stderr)) == (2, "release-not-ready") and "[unreleased-changes]" in result.stderr


def test_a_released_version_is_never_rebuilt_with_other_contents(built_copy):
    assert build(built_copy, built_copy / "dist").returncode == 0
    assert build(built_copy, built_copy / "dist").returncode == 0  # the same bytes again: fine
    set_cell(built_copy, "claims", "c011", "note", "A corrected note.")
    committed(built_copy)
    result = build(built_copy, built_copy / "dist")
    assert (result.returncode, refusal_code(result.stderr)) == (2, "release-version-changed")


# ---------------------------------------------------------------- the public zip, without the archived texts

@pytest.fixture(scope="module")
def public_unpacked(zip_path, tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("public")
    with zipfile.ZipFile(zip_path.with_name(f"{FOLDER}-public.zip")) as archive:
        archive.extractall(where)
    return where / FOLDER


def test_the_public_zip_holds_everything_but_the_archived_texts(unpacked, public_unpacked):
    complete = {str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()}
    public = {str(p.relative_to(public_unpacked)) for p in public_unpacked.rglob("*") if p.is_file()}
    texts = {p for p in complete if p.startswith("data/texts/")}
    assert len(texts) == len(list((REPO / "data" / "texts").iterdir())) > 0
    assert public == (complete - texts) | {"TEXTS.SHA256", "TEXTS.md"}
    assert (public_unpacked / "datapackage.json").read_bytes() == (unpacked / "datapackage.json").read_bytes()


def test_the_public_zip_says_how_to_verify_a_copy_of_the_texts(unpacked, public_unpacked, tmp_path):
    """Its TEXTS.SHA256 is in sha256sum's format and names every text by the hash the
    descriptor gives; put back, the texts make the folder a valid package again; one byte
    changed in a text is caught."""
    listed = dict(line.split("  ")[::-1] for line in (public_unpacked / "TEXTS.SHA256").read_text(encoding="utf-8").splitlines())
    descriptor = json.loads((public_unpacked / "datapackage.json").read_text(encoding="utf-8"))
    hashes = {r["path"]: r["hash"].removeprefix("sha256:") for r in descriptor["resources"] if r["path"].startswith("data/texts/")}
    assert listed == hashes
    note = (public_unpacked / "TEXTS.md").read_text(encoding="utf-8")
    assert all(f"`{path}`" in note and digest in note for path, digest in listed.items()) and "sha256sum -c TEXTS.SHA256" in note
    sums = dict(line.split("  ")[::-1] for line in (public_unpacked / "SHA256SUMS").read_text(encoding="utf-8").splitlines())
    assert {"TEXTS.SHA256", "TEXTS.md"} <= set(sums) and not any(p.startswith("data/texts/") for p in sums)
    restored = tmp_path / FOLDER
    shutil.copytree(public_unpacked, restored)
    shutil.copytree(unpacked / "data" / "texts", restored / "data" / "texts")
    result = subprocess.run([FRICTIONLESS, "validate", "datapackage.json"], cwd=restored, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    check = subprocess.run(["sha256sum", "-c", "TEXTS.SHA256"], cwd=restored, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == len(listed), check.stdout
    text = restored / next(iter(listed))
    text.write_bytes(text.read_bytes().replace(b"a", b"o", 1))
    assert subprocess.run(["sha256sum", "-c", "TEXTS.SHA256"], cwd=restored, capture_output=True).returncode != 0
