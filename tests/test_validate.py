"""The shipped package validates; each broken copy of it is rejected at the right place."""

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, get_cell, read_rows, set_cell, write_rows
from estimate.package.validate import validate_package

CLAIMS, SOURCES, HEDGES, CLAIMANTS = "data/claims.csv", "data/sources.csv", "data/hedges.csv", "data/claimants.csv"


def test_shipped_package_is_valid():
    assert validate_package(REPO) == []


def test_frictionless_alone_accepts_the_package():
    frictionless = Path(sys.executable).parent / "frictionless"
    result = subprocess.run([frictionless, "validate", "datapackage.json"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# Each variant breaks a copy of the package in one way and says where the error must be
# reported: (file, spreadsheet row, column) and the problem's code (problems.Problem), never
# its wording, which may change.

def cell(table, key, column, value, code="", at=None):
    """Set one cell; the problem is expected in that row, at column ``at`` (default: the cell's)."""
    def mutate(root):
        row = set_cell(root, table, key, column, value)
        return f"data/{table}.csv", row, at or column, code
    return mutate


def cells(table, key, changes, at, code):
    """Set several cells of one row; the problem is expected in that row, at column ``at``."""
    def mutate(root):
        for column, value in changes.items():
            row = set_cell(root, table, key, column, value)
        return f"data/{table}.csv", row, at, code
    return mutate


def numeral_value(word, value, claim):
    """A wrong numeral shows first in a claim whose phrase uses it: the message names it."""
    def mutate(root):
        set_cell(root, "numerals", word, "value", value)
        row = next(i for i, r in enumerate(read_rows(root / "data/claims.csv"), 1) if r[0] == claim)
        return "data/claims.csv", row, "stated_value", "stated-value-disagrees"
    return mutate


def edit_csv(table, change, row, column, code="", reported_in=None):
    def mutate(root):
        path = root / "data" / f"{table}.csv"
        rows = read_rows(path)
        change(rows)
        write_rows(path, rows)
        return reported_in or f"data/{table}.csv", row, column, code
    return mutate


def edit_bytes(rel, change, row, column, code="", reported_in=None):
    def mutate(root):
        path = root / rel
        path.write_bytes(change(path.read_bytes()))
        return reported_in or rel, row, column, code
    return mutate


def drop_column(name):
    def change(rows):
        index = rows[0].index(name)
        for r in rows:
            del r[index]
    return change


def add_column(name):
    def change(rows):
        rows[0].append(name)
        for r in rows[1:]:
            r.append("x")
    return change


def remove_text(rel, row):
    def mutate(root):
        (root / rel).unlink()
        return SOURCES, row, "text_path", "text-missing"
    return mutate


def quote_edited(root):
    row = set_cell(root, "claims", "c007", "quote", get_cell(root, "claims", "c007", "quote").replace("300 muertos", "300 muertos confirmados"))
    return CLAIMS, row, "quote", "quote-not-in-text"


# A reference source and one claim from it, as the package records a public report it
# does not archive (a made-up report: these rows exist only in the test's copy).
REFERENCE_SOURCE = {
    "source_id": "s900", "kind": "reference", "outlet": "Example Wire", "language": "en",
    "published_date_earliest": "2025-04-30", "published_date_latest": "2025-04-30", "published_date_precision": "day",
    "published_date_basis": "printed", "published_date_evidence": "The page prints 30 April 2025.",
    "url": "https://example.org/news/2025/04/30/briefing", "read_date": "2026-12-03", "note": "A test row.",
}
REFERENCE_CLAIM = {
    "claim_id": "c900", "source_id": "s900", "claimant_id": "kor-nis", "attribution": "explicit", "origin_id": "c900",
    "subject_id": "dprk_forces", "quantity": "killed", "time_scope": "cumulative", "as_of_date_earliest": "2025-04-30",
    "as_of_date_latest": "2025-04-30", "as_of_date_precision": "day", "as_of_date_basis": "publication",
    "phrase": "about 600", "hedge_id": "about", "stated_value": "600", "unit": "persons",
    "paraphrase": "The intelligence service told lawmakers that about 600 soldiers had been killed.", "status": "active",
}


def with_reference(root: Path, source: dict | None = None, claim: dict | None = None) -> tuple[int, int]:
    """Append the reference source and its claim, changed as given; return their spreadsheet rows."""
    numbers = []
    for table, values in (("sources", REFERENCE_SOURCE | (source or {})), ("claims", REFERENCE_CLAIM | (claim or {}))):
        path = root / "data" / f"{table}.csv"
        rows = read_rows(path)
        rows.append([values.get(name, "") for name in rows[0]])
        write_rows(path, rows)
        numbers.append(len(rows))
    return numbers[0], numbers[1]


def reference(source=None, claim=None, at=("sources", ""), code=""):
    """The reference rows with one change; the problem is expected in the changed table's new row, at column at[1]."""
    def mutate(root):
        rows = dict(zip(("sources", "claims"), with_reference(root, source, claim)))
        return f"data/{at[0]}.csv", rows[at[0]], at[1], code
    return mutate


# Rows of data/claims.csv with its header: a row appended to it is the next one.
CLAIM_ROWS = len(read_rows(REPO / "data/claims.csv"))

VARIANTS = {
    "reference claim with a quote": reference(claim={"quote": "About 600 soldiers were killed."}, at=("claims", "quote"),
                                              code="quote-not-allowed"),
    "reference claim without a paraphrase": reference(claim={"paraphrase": ""}, at=("claims", "paraphrase"), code="paraphrase-missing"),
    "reference source without a URL": reference(source={"url": ""}, at=("sources", "url"), code="source-field-missing"),
    "reference source without the date it was read": reference(source={"read_date": ""}, at=("sources", "read_date"), code="source-field-missing"),
    "reference source read before it was published": reference(source={"read_date": "2025-04-01"}, at=("sources", "published_date_latest"),
                                                                code="published-after-read"),
    "reference source with an http URL": reference(source={"url": "http://example.org/news"}, at=("sources", "url"), code="constraint-error"),
    "reference source with an archived text": reference(source={"text_path": "data/texts/s001.txt"}, at=("sources", "text_path"),
                                                        code="source-field-not-allowed"),
    "reference source with a first-sentence title": reference(source={"title": "Spy agency briefs lawmakers", "title_kind": "first_sentence"},
                                                              at=("sources", "title_kind"), code="title-kind-mismatch"),
    "phrase longer than a figure's words": reference(claim={"phrase": "about 600 of the soldiers sent to the Kursk region"},
                                                     at=("claims", "phrase"), code="constraint-error"),
    "archived source without its text": cell("sources", "s001", "text_path", "", "source-field-missing"),
    "archived claim without a quote": cell("claims", "c007", "quote", "", "quote-missing"),
    "unknown kind of source": cell("sources", "s001", "kind", "webpage", "constraint-error"),
    "wrong type": cell("claims", "c002", "stated_value", "11k", "type-error"),
    "bad date": cell("sources", "s001", "published_date_latest", "2025-02-30", "type-error"),
    "negative number": cell("claims", "c007", "stated_value", "-300", "constraint-error"),
    "low above high": cell("claims", "c010", "stated_low", "60", "stated-range-reversed"),
    "duplicate id": cell("claims", "c003", "claim_id", "c002", "primary-key"),
    "dangling source": cell("claims", "c001", "source_id", "s999", "foreign-key"),
    "dangling claimant": cell("claims", "c001", "claimant_id", "nobody", "foreign-key"),
    "dangling origin": cell("claims", "c006", "origin_id", "c999", "foreign-key"),
    "dangling base": cell("claims", "c010", "base_claim_id", "c999", "foreign-key"),
    "unknown hedge": cell("claims", "c002", "hedge_id", "roughly", "foreign-key"),
    "quote not in text": quote_edited,
    "phrase not in quote": cell("claims", "c007", "phrase", "cerca de 300", "phrase-not-in-quote"),
    "stated number mismatch": cell("claims", "c018", "stated_value", "2500", "stated-value-disagrees"),
    "formula-leading cell": cell("claims", "c001", "note", "=HYPERLINK(\"http://x\")", "cell-formula"),
    "formula-leading minus": cell("claimants", "ukr-mod", "note", "-2+3", "cell-formula"),
    "a NUL inside a note": cell("claims", "c001", "note", "abc\x00def", "cell-invisible-character"),
    "a bell inside a note": cell("claims", "c002", "note", "abc\x07", "cell-invisible-character"),
    "an escape in a paraphrase": cell("claims", "c040", "paraphrase", "Said \x1b[31mred\x1b[0m.", "cell-invisible-character"),
    "a right-to-left override in a name": cell("claimants", "ukr-mod", "name", "Ministry \u202eecnefed", "cell-invisible-character"),
    "missing required column": edit_csv("claims", drop_column("quote"), 1, "quote", "column-missing"),
    "unexpected column": edit_csv("claims", add_column("comment"), 1, "comment", "column-unknown"),
    "columns out of order": edit_csv("hedges", lambda rows: [r.insert(0, r.pop(1)) for r in rows], 1, "rule", "columns-out-of-order"),
    "empty file": edit_bytes(CLAIMANTS, lambda b: b"", None, None, "table-empty"),
    "UTF-8 BOM": edit_bytes(CLAIMS, lambda b: b"\xef\xbb\xbf" + b, 1, "claim_id", "csv-byte-order-mark"),
    "Latin-1 file": edit_bytes(CLAIMS, lambda b: b.decode("utf-8").encode("latin-1"), 2, "quote", "csv-not-utf8"),
    "CRLF line endings": edit_bytes(SOURCES, lambda b: b.replace(b"\n", b"\r\n"), 1, "note", "csv-crlf"),
    "as-of after publication": cell("claims", "c019", "as_of_date_latest", "2025-09-30", "as-of-after-publication"),
    "tampered archived text": edit_bytes("data/texts/s003.txt", lambda b: b.replace(b"Kursk", b"Kursk.", 1), 5, "text_sha256", "text-hash-mismatch",
                                         reported_in=SOURCES),
    "enum": cell("claims", "c007", "quantity", "deaths", "constraint-error"),
    "required cell empty": cell("claims", "c007", "claimant_id", "", "constraint-error"),
    "pattern": cell("claims", "c007", "claim_id", "claim-7", "constraint-error"),
    "hedge wording mismatch": cell("claims", "c002", "hedge_id", "at_least", "hedge-wording-absent"),
    "hedge word in a bare phrase": cell("claims", "c015", "phrase", "más de 10.000", "hedge-wording-of-another", at="hedge_id"),
    "vague phrase with a number": cell("claims", "c016", "stated_value", "2000", "stated-number-not-allowed"),
    "range without its bounds": cell("claims", "c010", "stated_high", "", "stated-number-missing"),
    "relay differs from origin": cell("claims", "c027", "quantity", "killed", "relay-differs-from-origin", at="origin_id"),
    "relay of a relay": cell("claims", "c020", "origin_id", "c006", "origin-is-a-relay"),
    "origin printed later": cell("claims", "c002", "origin_id", "c006", "origin-is-a-relay"),
    "publication basis with other dates": cell("claims", "c002", "as_of_date_earliest", "2024-11-01", "as-of-basis-mismatch",
                                                at="as_of_date_basis"),
    "date precision mismatch": cell("sources", "s003", "published_date_precision", "month", "date-precision-mismatch"),
    "stated date without evidence": cell("claims", "c019", "as_of_date_evidence", "", "as-of-evidence-missing"),
    "window on a cumulative claim": cell("claims", "c007", "window_start_date_earliest", "2025-01-01", "window-not-allowed"),
    "window after as-of": cell("claims", "c015", "window_start_date_latest", "2025-06-01", "window-after-as-of"),
    "casualties without definition": cell("claims", "c001", "casualty_definition", "", "casualty-definition-missing"),
    "percent without base": cell("claims", "c010", "base_claim_id", "", "base-claim-missing"),
    "base is not a deployment": cell("claims", "c010", "base_claim_id", "c007", "base-claim-not-a-deployment"),
    "attribution disagrees with claimant": cell("claims", "c007", "attribution", "none", "attribution-mismatch"),
    "hedge rule missing a parameter": cell("hedges", "about", "low_factor", "", "hedge-parameter-missing"),
    "title not in text": cell("sources", "s004", "title", "Kim Jong-un reiteró su apoyo.", "title-not-in-text"),
    "archived text missing": remove_text("data/texts/s002.txt", 4),
    "extra cell": edit_bytes(CLAIMANTS, lambda b: b.replace(b"ukraine_and_backers,\n", b"ukraine_and_backers,,extra\n", 1), 6, None, "extra-cell"),
    "sensitivity parameter the rule ignores": cell("hedges_sensitivity", "more_than", "low_factor", "0.9", "hedge-parameter-not-allowed"),
    "unknown sensitivity lexicon": cell("hedges_sensitivity", "bare", "lexicon", "loose", "constraint-error"),
    "claimant kind without a reliability rank": edit_csv("reliability", lambda rows: rows.pop(1), 2, "kind",
                                                          "foreign-key", reported_in=CLAIMANTS),
    "text path outside the archive": cell("sources", "s001", "text_path", "../../../etc/passwd", "constraint-error"),
    "text path that is a sentence (found by fuzzing)": cell("sources", "s001", "text_path", "No date is printed. " * 40, "constraint-error"),
    "blank line at the end of a keyed table (found by fuzzing)": edit_bytes("data/numerals.csv", lambda b: b + b"\n", 11, None, "blank-row"),
    "low factor above 1 reverses intervals (found by fuzzing)": cell("hedges", "up_to", "low_factor", "2", "constraint-error"),
    "unknown status": cell("claims", "c007", "status", "deleted", "constraint-error"),
    "superseded without replacement": cells("claims", "c007", {"status": "superseded", "status_reason": "0.2.0: recoded"},
                                            "superseded_by", "replacement-missing"),
    "replacement named on an active claim": cell("claims", "c007", "superseded_by", "c008", "replacement-not-allowed"),
    "dangling replacement": cells("claims", "c007", {"status": "superseded", "superseded_by": "c999", "status_reason": "0.2.0: recoded"},
                                  "superseded_by", "foreign-key"),
    "claim superseded by itself": cells("claims", "c007", {"status": "superseded", "superseded_by": "c007", "status_reason": "0.2.0: x"},
                                        "superseded_by", "replacement-is-self"),
    "retracted without a reason": cell("claims", "c011", "status", "retracted", "status-reason-missing", at="status_reason"),
    "status reason on an active claim": cell("claims", "c011", "status_reason", "looks odd", "status-reason-not-allowed"),
    "active relay of a retracted origin": lambda root: (cells("claims", "c017", {"status": "retracted", "status_reason": "0.2.0: x"}, "", "")(root),
                                                        cell("claims", "c027", "status", "active", "points-to-withdrawn-claim", at="origin_id")(root))[1],
    "replacement withdrawn too": lambda root: (cells("claims", "c008", {"status": "retracted", "status_reason": "0.2.0: x"}, "", "")(root),
                                               cells("claims", "c007", {"status": "superseded", "superseded_by": "c008",
                                                                        "status_reason": "0.2.0: y"}, "superseded_by", "replacement-withdrawn")(root))[1],
    "repeated figure": edit_csv("claims", lambda rows: rows.append(["c999"] + rows[8][1:]), CLAIM_ROWS + 1, "phrase", "row-repeated"),
    "phrase cut from a longer number": cells("claims", "c007", {"phrase": "aproximadamente 30", "stated_value": "30"}, "phrase",
                                             "phrase-inside-longer-word"),
    "hedge wording left out of the phrase": cells("claims", "c019", {"phrase": "600", "hedge_id": "bare"}, "phrase",
                                                  "phrase-leaves-out-hedge"),
    "number with an exponent": cell("hedges", "about", "low_factor", "9e-1", "number-not-plain"),
    "infinite hedge parameter": cell("hedges", "about", "high_factor", "inf", "number-not-plain"),
    "huge hedge parameter": cell("hedges", "about", "high_factor", "1e400", "number-not-plain"),
    "Arabic-Indic digits": cell("claims", "c007", "stated_value", "\u0663\u0660\u0660", "number-not-plain"),
    "number with a leading space": cell("claims", "c007", "stated_value", " 300", "number-not-plain"),
    "percent above 100": cell("claims", "c010", "stated_high", "150", "percent-above-100"),
    "a word the lexicon does not know": cell("claims", "c093", "phrase", "reportedly 2,700", "phrase-unknown-word"),
    "an unknown word beside a hedge": cell("claims", "c090", "phrase", "Around 300 dead", "phrase-unknown-word"),
    "a phrase word in upper case": cell("phrase_words", "soldados", "word", "Soldados", "constraint-error"),
    "published in 2099": cell("sources", "s004", "published_date_latest", "2099-01-01", "published-in-future"),
    "dated before the full-scale invasion": cell("sources", "s000", "published_date_earliest", "2021-01-01", "constraint-error"),
    "bare CR line ending": edit_bytes("data/claims.csv", lambda b: b.replace(b"\n", b"\r", 1), 1, "status_reason", "csv-bare-cr"),
    "NFD duplicate of a wording": edit_csv("hedges", lambda rows: rows[3].__setitem__(rows[0].index("phrases_es"), rows[3][
        rows[0].index("phrases_es")] + "|ma\u0301s de"), 5, "phrases_es", "hedge-wording-repeated"),
    "share of a planned deployment": cell("claims", "c010", "base_claim_id", "c021", "base-claim-planned"),
    "share of a later figure": cell("claims", "c010", "base_claim_id", "c020", "base-claim-later"),
    "a numeral in capitals": cell("numerals", "dos", "word", "DOS", "constraint-error"),
    "a numeral again, its accent typed apart": edit_csv("numerals", lambda rows: rows.append(["millo\u0301n"] + rows[4][1:]), 11,
                                                        "word", "word-repeated"),
    "a wrong value for a numeral": numeral_value("dos", "5", "c017"),
    "a phrase longer than its limit": cell("claims", "c007", "phrase", "300" + " soldados" * 5, "constraint-error"),
    "a text path another source has": cell("sources", "s001", "text_path", "data/texts/s000.txt",
                                           "unique-error"),
    "a claim id of a thousand digits": cell("claims", "c007", "claim_id", "c" + "7" * 1000, "constraint-error"),
}


def test_a_reference_source_and_its_claim_are_valid_without_any_text(package):
    with_reference(package)
    assert validate_package(package) == []


@pytest.mark.parametrize("name", VARIANTS)
def test_broken_variant_is_rejected_where_it_is_broken(package, name):
    file, row, column, code = VARIANTS[name](package)
    problems = validate_package(package)
    located = [p for p in problems if (p.file, p.row, p.column) == (file, row, column)]
    assert located, f"expected a problem at {file} row {row}, column {column}; got:\n" + "\n".join(map(str, problems))
    assert any(p.code == code for p in located), "\n".join(map(str, located))


def test_a_text_path_borrowed_from_another_source_is_the_one_problem(package):
    """Not also a hash to restore, a title and nine quotes to recopy: all measured against
    the other source's text, they would send the reader to fix what is not broken."""
    set_cell(package, "sources", "s001", "text_path", "data/texts/s000.txt")
    assert [(p.file, p.column) for p in validate_package(package)] == [("data/sources.csv", "text_path")]


def test_catalogue_is_large_enough():
    assert len(VARIANTS) >= 20


def test_cli_lists_every_problem_exits_1_and_writes_nothing(package):
    set_cell(package, "claims", "c002", "hedge_id", "roughly")
    set_cell(package, "claims", "c026", "stated_value", "4500")
    before = {p: p.read_bytes() for p in package.rglob("*") if p.is_file()}
    result = subprocess.run([sys.executable, "-m", "estimate", "validate", "--root", str(package)],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert ("data/claims.csv row 3, column hedge_id: 'roughly' is not a hedge_id in data/hedges.csv — add it there or fix the "
            "spelling [foreign-key]") in lines
    assert any(line.startswith("data/claims.csv row 27, column stated_value: ") for line in lines)
    assert len(lines) == 4 and lines[-1].startswith("3 problem(s)")  # the relay c006 of c002 now differs too
    assert {p: p.read_bytes() for p in package.rglob("*") if p.is_file()} == before


def test_cli_reports_success(capsys):
    from estimate.cli import main
    assert main(["validate", "--root", str(REPO)]) == 0
    assert "The data package is valid" in capsys.readouterr().out


def test_invalid_descriptor_is_reported(package):
    (package / "datapackage.json").write_text("{", encoding="utf-8")
    [problem] = validate_package(package)
    assert problem.file == "datapackage.json" and "not valid JSON" in problem.message


def test_every_archived_text_is_hashed_in_the_descriptor():
    descriptor = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))
    texts = {r["path"]: r["hash"] for r in descriptor["resources"] if r["path"].startswith("data/texts/")}
    assert sorted(texts) == sorted(str(p.relative_to(REPO)) for p in (REPO / "data/texts").iterdir())
    for rel, recorded in texts.items():
        assert recorded == "sha256:" + hashlib.sha256((REPO / rel).read_bytes()).hexdigest()


TABLE_SCHEMA = "https://datapackage.org/profiles/2.0/tableschema.json"


def test_the_descriptor_is_in_data_package_v2_form():
    """Each table schema names its profile; a self-reference leaves out ``resource``; codes
    carry categories with labels in both languages (validation checks those); counts of
    people the fit and the baselines round are integers."""
    descriptor = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))
    tables = [r for r in descriptor["resources"] if "schema" in r]
    assert tables and all(r["schema"]["$schema"] == TABLE_SCHEMA for r in tables)
    references = [(r["name"], k["reference"]) for r in tables for k in r["schema"].get("foreignKeys", [])]
    assert all(ref.get("resource") != "" for _, ref in references)
    assert {name for name, ref in references if "resource" not in ref} == {"claims"}
    assert sum("categories" in f for r in tables for f in r["schema"]["fields"]) >= 20
    for name in ("estimates", "estimates_as_of", "baselines"):
        fields = {f["name"]: f["type"] for f in next(r for r in tables if r["name"] == name)["schema"]["fields"]}
        assert fields["value_low"] == fields["value_central"] == fields["value_high"] == "integer"


@pytest.mark.parametrize("form", ["v2: no resource", "v1: resource \"\""])
def test_a_self_reference_holds_in_either_form(package, form):
    """A claim's origin must be a claim of the same table, whichever way the key is written."""
    path = package / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    claims = next(r for r in descriptor["resources"] if r["name"] == "claims")
    key = next(k for k in claims["schema"]["foreignKeys"] if k["fields"] == ["origin_id"])
    if form.startswith("v1"):
        key["reference"]["resource"] = ""
    path.write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert validate_package(package) == []
    row = set_cell(package, "claims", "c006", "origin_id", "c999")
    problems = validate_package(package)
    assert any(p.file == "data/claims.csv" and p.row == row and p.column == "origin_id" and "not a claim_id" in p.message
               for p in problems), problems


def test_validate_json_gives_machines_each_problem_as_a_record(package):
    """`validate --json`: every problem with its file, row, column and code on standard
    output, the same exit codes, nothing written."""
    valid = subprocess.run([sys.executable, "-m", "estimate", "validate", "--root", str(package), "--json"],
                           cwd=REPO, capture_output=True, text=True)
    assert valid.returncode == 0 and json.loads(valid.stdout) == {"valid": True, "problems": []}
    row = set_cell(package, "claims", "c002", "hedge_id", "roughly")
    before = {p: p.read_bytes() for p in package.rglob("*") if p.is_file()}
    result = subprocess.run([sys.executable, "-m", "estimate", "validate", "--root", str(package), "--json"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr == ""
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert {"file": "data/claims.csv", "row": row, "column": "hedge_id", "code": "foreign-key"} in \
        [{k: r[k] for k in ("file", "row", "column", "code")} for r in report["problems"]]
    assert all(r["message"] and r["code"] for r in report["problems"])
    assert {p: p.read_bytes() for p in package.rglob("*") if p.is_file()} == before


def literal_codes(kinds: dict[str, int | str]) -> dict[str, list[str]]:
    """Each code estimate/ and the benchmarks pass to a constructor in ``kinds`` (its name →
    the position or keyword of the code), with where: every call must pass one, and a
    literal code is lower-case words joined by hyphens."""
    import ast
    seen = {}
    for path in sorted([*(REPO / "estimate").rglob("*.py"), *(REPO / "benchmarks").glob("*.py")]):
        where = path.relative_to(REPO)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node, "func", None) and (getattr(node.func, "id", None) or getattr(node.func, "attr", None))
            if not isinstance(node, ast.Call) or name not in kinds:
                continue
            slot = kinds[name]
            code = next((k.value for k in node.keywords if k.arg == slot), None) if isinstance(slot, str) \
                else (node.args[slot] if len(node.args) > slot else None)
            assert code is not None, f"{where} line {node.lineno}: a {name}(...) without a code"
            if isinstance(code, ast.Constant):
                assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code.value), (str(where), node.lineno, code.value)
                seen.setdefault(code.value, []).append(f"{where}:{node.lineno}")
    return seen


def test_every_problem_the_code_can_report_has_a_stable_code():
    """Each Problem built in estimate/ names its kind with a literal code (or passes on one
    it was given), in lower-case words joined by hyphens, listed in README, Validation."""
    seen = literal_codes({"Problem": "code"})
    assert len(seen) >= 100
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    validation = readme.split("## Validation")[1].split("\n## ")[0]
    assert [c for c in seen if f"`{c}`" not in validation] == [], "list the new codes in README, Validation"


def test_every_refusal_of_a_command_has_a_stable_code():
    """What a command refuses to do (a wrong argument, a missing derived table, a journal it
    did not write, a release not ready…) carries a literal code too, listed in README,
    Refusals; scripts and the tests match on it, never on the wording."""
    seen = literal_codes({"UsageError": "code", "LoadError": "code", "foreign": 2, "refusal": 1})
    assert len(seen) >= 60
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    refusals = readme.split("### Refusals")[1].split("\n## ")[0]
    assert [c for c in seen if f"`{c}`" not in refusals] == [], "list the new codes in README, Refusals"
    assert not set(seen) & set(literal_codes({"Problem": "code"})), "a refusal's code is not also a problem's"
