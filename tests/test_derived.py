"""Committed derived tables are exactly what the code produces from the committed data."""

import shutil
import subprocess
import sys

import pytest

from conftest import REPO

COMMANDS = ["ranges", "fit", "conflicts", "baselines", "xlsx"]  # in dependency order
TABLES = ["ranges.csv", "estimates.csv", "estimates_as_of.csv", "claimant_bias.csv", "claim_fit.csv", "fit.json", "conflicts.csv", "baselines.csv"]
# The workbook is rebuilt here at another time than it was committed: equal bytes show that
# nothing in it depends on when it was made.
DERIVED = TABLES + ["dprk-troops-russia-claims.xlsx"]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    root = tmp_path_factory.mktemp("rebuild")
    shutil.copy(REPO / "datapackage.json", root / "datapackage.json")
    shutil.copy(REPO / "CITATION.cff", root / "CITATION.cff")
    shutil.copytree(REPO / "data", root / "data", ignore=shutil.ignore_patterns("derived"))
    for command in COMMANDS:
        subprocess.run([sys.executable, "-m", "estimate", command, "--root", str(root)], cwd=REPO, check=True, capture_output=True)
    return root


@pytest.mark.parametrize("name", DERIVED)
def test_committed_table_is_byte_for_byte_the_rebuilt_one(rebuilt, name):
    path = f"data/derived/{name}"
    assert (rebuilt / path).read_bytes() == (REPO / path).read_bytes(), f"{path} is stale: run `make derived xlsx` and commit it"


@pytest.mark.parametrize("name", TABLES)
def test_derived_tables_are_canonical_csv(name):
    data = (REPO / f"data/derived/{name}").read_bytes()
    assert b"\r" not in data and not data.startswith(b"\xef\xbb\xbf")
    data.decode("utf-8")
