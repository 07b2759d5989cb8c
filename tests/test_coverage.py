"""The README's coverage table is the claims' own count, so it cannot fall behind them."""

import shutil

import pytest

from conftest import REPO, refusal_code, set_cell
from estimate.maintain import coverage
from estimate.cli import main
from estimate.package.tables import load


def block(readme: str) -> str:
    return readme.split(coverage.START + "\n")[1].split(coverage.END)[0]


def test_the_readme_holds_the_table_of_the_committed_claims():
    loaded, _ = load(REPO)
    assert block((REPO / "README.md").read_text(encoding="utf-8")) == coverage.table(loaded), \
        "README.md's coverage table is behind data/claims.csv: run .venv/bin/python -m estimate coverage"


def test_a_relay_or_a_retracted_claim_is_not_an_assertion_and_the_command_rewrites_only_the_table(package):
    shutil.copy(REPO / "README.md", package / "README.md")
    before = (package / "README.md").read_text(encoding="utf-8")
    loaded, _ = load(package)
    total = len(coverage.assertions(loaded))
    set_cell(package, "claims", "c145", "status", "retracted")  # KCNA's 101 portraits of the dead
    set_cell(package, "claims", "c145", "status_reason", "test")
    assert main(["coverage", "--root", str(package)]) == 0
    after = (package / "README.md").read_text(encoding="utf-8")
    loaded, _ = load(package)
    assert len(coverage.assertions(loaded)) == total - 1
    assert f"| **{total - 1}** |" in block(after) and f"| **{total}** |" in block(before)
    assert after.split(coverage.START)[0] == before.split(coverage.START)[0]
    assert after.split(coverage.END)[1] == before.split(coverage.END)[1]


def test_a_readme_without_its_markers_is_left_as_it_is(package, capsys):
    (package / "README.md").write_text("# A README with no table\n", encoding="utf-8")
    assert main(["coverage", "--root", str(package)]) == 2
    assert refusal_code(capsys.readouterr().err) == "readme-markers-missing"
    assert (package / "README.md").read_text(encoding="utf-8") == "# A README with no table\n"


@pytest.mark.parametrize("claim, column", [("c018", "killed"), ("c021", "planned")])
def test_each_claim_lands_in_its_quantity_column(claim, column):
    loaded, _ = load(REPO)
    row = next(c for c in loaded.tables["claims"].rows if c["claim_id"] == claim)
    assert coverage.COLUMNS[coverage.column_of(row)].heading == column
