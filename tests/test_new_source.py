"""The new-user path end to end: archive an article, add its claims, rebuild, see them counted.

The article is an invented test text (tests/fixtures/article_s_test.txt), added to a copy
of the package with the commands the README gives; every stage then runs on the copy.
"""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, copy_whole, refusal_code

ARTICLE = REPO / "tests/fixtures/article_s_test.txt"
TITLE = "Seúl eleva su estimación de soldados norcoreanos muertos en Rusia."
STAGES = ["ranges", "fit", "conflicts", "baselines", "xlsx", "figures"]


def estimate(root: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "estimate", *argv, "--root", str(root)], cwd=REPO, capture_output=True, text=True)


def rows(root: Path, rel: str) -> list[dict]:
    with open(root / rel, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def next_id(rel: str, column: str) -> str:
    """The id the intake gives the next row: one past the package's highest."""
    ids = [r[column] for r in rows(REPO, rel)]
    return f"{ids[0][0]}{max(int(i[1:]) for i in ids) + 1:03d}"


SOURCE, CLAIM = next_id("data/sources.csv", "source_id"), next_id("data/claims.csv", "claim_id")


# Every test of the grown package is marked refit: its fixture runs the whole pipeline, the
# fit included (about 5 minutes), so make check runs them and make test leaves them out.
@pytest.fixture(scope="module")
def grown(tmp_path_factory) -> Path:
    """The package after the README's workflow: new-source, new-claim, then every stage."""
    root = copy_whole(tmp_path_factory.mktemp("new") / "package")
    steps = [
        ["new-source", str(ARTICLE), "--published", "2025-12-02", "--basis", "inferred", "--title", TITLE,
         "--evidence", "Test fixture: 'este martes', dated for the test.", "--append"],
        ["new-claim", "--source", SOURCE, "--claimant", "kor-nis", "--quantity", "killed", "--phrase", "al menos 3.500", "--append"],
        ["validate"],
    ] + [[stage] for stage in STAGES]
    for step in steps:
        result = estimate(root, *step)
        assert result.returncode == 0, f"{step}: {result.stderr}"
    return root


@pytest.mark.refit
def test_the_source_is_archived_byte_for_byte_with_its_hash(grown):
    assert (grown / f"data/texts/{SOURCE}.txt").read_bytes() == ARTICLE.read_bytes()
    [source] = [r for r in rows(grown, "data/sources.csv") if r["source_id"] == SOURCE]
    assert source["title"] == TITLE and source["title_kind"] == "headline" and source["published_date_precision"] == "day"


@pytest.mark.refit
def test_the_claim_row_is_filled_from_the_text(grown):
    [claim] = [r for r in rows(grown, "data/claims.csv") if r["claim_id"] == CLAIM]
    assert claim["quote"].startswith("La Agencia Nacional de Inteligencia de Corea del Sur estimó este martes que al menos 3.500")
    assert (claim["hedge_id"], claim["stated_value"], claim["origin_id"]) == ("at_least", "3500", CLAIM)
    assert (claim["as_of_date_earliest"], claim["as_of_date_basis"]) == ("2025-12-02", "publication")


@pytest.mark.refit
def test_its_range_is_an_open_interval_from_the_stated_number(grown):
    [r] = [r for r in rows(grown, "data/derived/ranges.csv") if r["claim_id"] == CLAIM]
    assert float(r["value_low"]) == 3500 and r["high_is_open"] == "true"


@pytest.mark.refit
def test_the_fit_uses_it_and_killed_rises_to_it(grown):
    [used] = [r for r in rows(grown, "data/derived/claim_fit.csv") if r["claim_id"] == CLAIM]
    assert used["used_in_fit"] == "true"
    before = {r["date"]: float(r["value_central"]) for r in rows(REPO, "data/derived/estimates.csv") if r["quantity"] == "killed"}
    after = {r["date"]: float(r["value_central"]) for r in rows(grown, "data/derived/estimates.csv") if r["quantity"] == "killed"}
    last = max(after)
    assert last >= "2025-12-02" and after[last] >= 3000
    shared = max(set(before) & set(after))
    assert after[shared] > before[shared]


@pytest.mark.refit
def test_the_figures_and_the_workbook_change(grown):
    for rel in ("figures/killed.en.png", "figures/killed.es.svg", "figures/claimants.en.png",
                "data/derived/dprk-troops-russia-claims.xlsx"):
        assert (grown / rel).read_bytes() != (REPO / rel).read_bytes(), rel


def test_a_claim_that_would_break_the_package_is_not_added(tmp_path):
    root = copy_whole(tmp_path / "package")
    before = (root / "data/claims.csv").read_bytes()
    # Dated after its source was printed: the row is made, but the package would be invalid.
    result = estimate(root, "new-claim", "--source", "s003", "--claimant", "kor-nis", "--quantity", "killed",
                      "--phrase", "alrededor de 2 mil", "--as-of", "2026-01-01", "--evidence", "x", "--append")
    assert result.returncode == 1 and any(line.startswith("--as-of-latest: ") and line.endswith("[as-of-after-publication]")
                                          for line in result.stderr.splitlines())
    assert (root / "data/claims.csv").read_bytes() == before


@pytest.mark.parametrize("argv, code", [
    (["--source", "s999", "--claimant", "kor-nis", "--quantity", "killed", "--phrase", "600"], "intake-source-unknown"),
    (["--source", "s001", "--claimant", "nobody", "--quantity", "killed", "--phrase", "600"], "intake-claimant-unknown"),
    (["--source", "s001", "--claimant", "kor-nis", "--quantity", "killed", "--phrase", "al menos 9.999"],
     "intake-phrase-not-in-one-sentence"),
])
def test_new_claim_refuses_with_a_sentence(argv, code):
    result = estimate(REPO, "new-claim", *argv)
    assert (result.returncode, refusal_code(result.stderr)) == (2, code) and result.stderr.count("\n") == 1


@pytest.mark.parametrize("option, value, code", [
    ("--quantity", "deployd", "constraint-error"),
    ("--subject", "martians", "foreign-key"),
    ("--unit", "people", "constraint-error"),
])
def test_a_refused_row_names_the_option_to_change(option, value, code):
    """Not 'data/claims.csv row 172', a row the user never saw: the option that filled it."""
    argv = {"--source": "s003", "--claimant": "kor-nis", "--quantity": "killed", "--phrase": "alrededor de 2 mil"} | {option: value}
    result = estimate(REPO, "new-claim", *[x for pair in argv.items() for x in pair])
    assert result.returncode == 1 and "data/claims.csv row" not in result.stderr
    assert any(line.startswith(f"{option}: {value!r} ") and line.endswith(f"[{code}]") for line in result.stderr.splitlines()), \
        result.stderr


def test_an_article_already_archived_is_refused():
    result = estimate(REPO, "new-source", str(REPO / "data/texts/s001.txt"), "--published", "2025-01-01",
                      "--basis", "inferred", "--evidence", "x")
    assert (result.returncode, refusal_code(result.stderr)) == (2, "intake-text-already-archived")


def test_a_reference_source_and_its_claim_are_added_without_any_text(tmp_path):
    """The README's path for a public report that is not archived: new-source with --url and
    --read, then new-claim with a paraphrase; the package stays valid, and nothing of the
    page's text is stored."""
    root = copy_whole(tmp_path / "package")
    texts = sorted((root / "data/texts").iterdir())
    for step in (["new-source", "--url", "https://example.org/news/2025/04/30/briefing", "--read", "2026-12-03",
                  "--outlet", "Example Wire", "--language", "en", "--published", "2025-04-30", "--basis", "printed",
                  "--evidence", "The page prints 30 April 2025.", "--append"],
                 ["new-claim", "--source", SOURCE, "--claimant", "kor-nis", "--quantity", "killed", "--phrase", "about 600",
                  "--paraphrase", "The intelligence service told lawmakers about 600 soldiers had been killed.", "--append"]):
        result = estimate(root, *step)
        assert result.returncode == 0, f"{step}: {result.stderr}"
    source, claim = rows(root, "data/sources.csv")[-1], rows(root, "data/claims.csv")[-1]
    assert (source["kind"], source["text_path"], source["read_date"]) == ("reference", "", "2026-12-03")
    assert (claim["source_id"], claim["quote"], claim["hedge_id"], claim["stated_value"]) == (SOURCE, "", "about", "600")
    assert sorted((root / "data/texts").iterdir()) == texts
    quoted = estimate(root, "new-claim", "--source", SOURCE, "--claimant", "kor-nis", "--quantity", "wounded",
                      "--phrase", "about 4,100", "--paraphrase", "x", "--quote", "About 4,100 were wounded.")
    assert (quoted.returncode, refusal_code(quoted.stderr)) == (2, "intake-quote-not-allowed")


@pytest.mark.parametrize("argv, code", [
    (["new-source", "--url", "https://example.org/x", "--outlet", "Example Wire", "--published", "2025-04-30",
      "--basis", "printed", "--evidence", "x"], "intake-reference-incomplete"),
])
def test_reference_intake_refuses_with_a_sentence(argv, code):
    result = estimate(REPO, *argv)
    assert (result.returncode, refusal_code(result.stderr)) == (2, code) and result.stderr.count("\n") == 1
