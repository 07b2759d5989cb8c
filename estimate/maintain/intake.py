"""``python -m estimate new-source`` and ``new-claim``: the rows for a new article and its figures.

new-source archives a text byte for byte as the next data/texts/sNNN.txt, with its row
in sources.csv and its resource (hash, rights statement) in datapackage.json; without a
text, it records a reference source by its facts (URL, outlet, dates, date read).
new-claim fills a claim's row from a few facts: the next claim_id, the sentence of the
source that holds the phrase, the hedge whose wording the phrase uses, the numbers it
states, and the as-of dates (by default the source's publication dates).

Both print what they would add. With --append they add it, but only after the package
with the addition has passed the whole validation in a scratch copy: otherwise every
problem is listed and nothing is written.
"""

import csv
import hashlib
import io
import json
import re
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from estimate.package.integrity import contains_wording, precision_of, wordings
from estimate.package.numbers import UnreadableNumber, numerals_from_rows, read_numbers
from estimate.package.outputs import InvalidPackage, UsageError, cell, commit, refusal, valid_package
from estimate.package.problems import Problem
from estimate.package.tables import DESCRIPTOR, Loaded, descriptor_bytes
from estimate.package.validate import validate_package

SOURCES, CLAIMS, TEXTS = Path("data/sources.csv"), Path("data/claims.csv"), Path("data/texts")
# A sentence ends at . ! or ? followed by a space or a line end (so '3.500' stays whole), or at a line end.
SENTENCE_END = re.compile(r"(?<=[.!?])[ \t]+|\n+")
RIGHTS = {"name": "other-closed", "title": "Rights remain with the original publisher; archived only to verify quotations"}


def next_id(existing, prefix: str) -> str:
    numbers = [int(i[len(prefix):]) for i in existing if re.fullmatch(prefix + r"\d+", i)]
    return f"{prefix}{max(numbers, default=-1) + 1:03d}"


def csv_line(values: list[str]) -> str:
    stream = io.StringIO()
    csv.writer(stream, lineterminator="\n").writerow(values)
    return stream.getvalue()


def appended(root: Path, rel: Path, line: str) -> bytes:
    data = (root / rel).read_bytes()
    return data + (b"" if data.endswith(b"\n") else b"\n") + line.encode("utf-8")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


# ---------------------------------------------------------------- sources

def source_files(package: Loaded, args) -> dict[Path, bytes]:
    """An archived source (a text given): the text, sources.csv with the new row, and the
    descriptor with the new resource. A reference source (no text, --url and --read):
    sources.csv with the new row."""
    latest = args.published_latest or args.published
    if latest < args.published:
        raise UsageError(f"--published-latest {latest} is before --published {args.published} — swap them", code="intake-published-reversed")
    sources = package.tables["sources"]
    source_id = next_id(sources.by_key("source_id"), "s")
    values = {"source_id": source_id, "outlet": args.outlet or "", "language": args.language,
              "published_date_earliest": args.published.isoformat(), "published_date_latest": latest.isoformat(),
              "published_date_precision": precision_of(args.published, latest), "published_date_basis": args.basis,
              "published_date_evidence": args.evidence, "url": args.url or "", "note": args.note or ""}
    if args.text is None:
        return {SOURCES: appended(package.root, SOURCES, csv_line(row_of(sources, values | reference_values(args))))}
    values |= archived_values(args, sources, source_id)
    rel = Path(values["text_path"])
    descriptor = json.loads(json.dumps(package.descriptor))
    resource = {"name": f"text-{source_id}", "path": str(rel), "format": "txt", "mediatype": "text/plain", "encoding": "utf-8",
                "hash": f"sha256:{values['text_sha256']}", "title": f"Archived text of source {source_id}",
                "description": "Source text archived byte for byte so that every quote in data/claims.csv can be verified. Not "
                               "covered by the package's CC-BY-4.0 licence: rights remain with the original publisher.",
                "licenses": [RIGHTS]}
    descriptor["resources"].append(resource)
    descriptor.setdefault("sources", []).append({"title": values["title"], "path": str(rel)})
    return {rel: args.text.read_bytes(), SOURCES: appended(package.root, SOURCES, csv_line(row_of(sources, values))),
            Path(DESCRIPTOR): descriptor_bytes(descriptor)}


def row_of(table, values: dict) -> list[str]:
    """A row in the table's column order, from named values (empty where none is given)."""
    return [values.get(f["name"], "") for f in table.fields]


def reference_values(args) -> dict:
    if not args.url or not args.read or not args.outlet:
        raise UsageError("a reference source (no text given) needs --url (exactly as found), --read (the date you read "
                         "the page) and --outlet — or give the article's text to archive it", code="intake-reference-incomplete")
    return {"kind": "reference", "title": args.title or "", "title_kind": "headline" if args.title else "",
            "read_date": args.read.isoformat()}


def archived_values(args, sources, source_id: str) -> dict:
    if args.read:
        raise UsageError("--read is for reference sources: an archived text is in the package — leave it out", code="intake-read-not-allowed")
    if not args.text.is_file():
        raise UsageError(f"{args.text} is not a file — give the article's text, saved as a UTF-8 .txt file", code="intake-text-not-a-file")
    data = args.text.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{args.text} is not UTF-8 — convert it first (e.g. iconv -f windows-1252 -t utf-8)", code="intake-text-not-utf8") from None
    if not text.strip():
        raise UsageError(f"{args.text} is empty — save the article's whole text in it", code="intake-text-empty")
    digest = hashlib.sha256(data).hexdigest()
    same = next((r["source_id"] for r in sources.rows if r["text_sha256"] == digest), None)
    if same:
        raise UsageError(f"{args.text} is already archived as {same} — add its claims to that source", code="intake-text-already-archived")
    title = args.title or sentences(text)[0]
    if title not in text:
        raise UsageError(f"the title {title!r} does not occur in {args.text} — copy the headline verbatim", code="intake-title-not-in-text")
    return {"kind": "archived", "title": title, "title_kind": "headline" if args.title else "first_sentence",
            "text_path": str(TEXTS / f"{source_id}.txt"), "text_sha256": digest, "archived_from": args.text.name}


# ---------------------------------------------------------------- claims

def find_quote(text: str, phrase: str, source_id: str) -> str:
    holding = [s for s in sentences(text) if phrase in s]
    if len(holding) != 1:
        where = "no sentence" if not holding else f"{len(holding)} sentences"
        raise UsageError(f"the phrase {phrase!r} is in {where} of {source_id} — copy it verbatim, or give the sentence with --quote", code="intake-phrase-not-in-one-sentence")
    return holding[0]


def find_hedge(package: Loaded, phrase: str) -> str:
    """The hedge whose wording the phrase uses (the longest wording wins), else 'bare'."""
    found = [(len(w), h["hedge_id"]) for h in package.tables["hedges"].rows for w in wordings(h) if contains_wording(phrase, w)]
    if found:
        return max(found)[1]
    return "bare"


def stated(package: Loaded, phrase: str, rule: str) -> tuple[str, str, str]:
    numerals = numerals_from_rows(package.tables["numerals"].rows)
    try:
        numbers = read_numbers(phrase, numerals)
    except UnreadableNumber as error:
        raise UsageError(f"the phrase {phrase!r} cannot be read: {error}", code="intake-phrase-unreadable") from None
    if rule == "range" and len(numbers) == 2:
        return "", cell(numbers[0]), cell(numbers[1])
    if rule == "vague" and not numbers:
        return "", "", ""
    if len(numbers) == 1 and rule not in ("range", "vague"):
        return cell(numbers[0]), "", ""
    raise UsageError(f"the phrase {phrase!r} states {len(numbers)} number(s), which a '{rule}' wording cannot take — "
                  "check the phrase, or choose the hedge with --hedge", code="intake-phrase-numbers-mismatch")


def claim_row(package: Loaded, args) -> list[str]:
    sources = package.tables["sources"].by_key("source_id")
    source = sources.get(args.source)
    if source is None:
        raise UsageError(f"there is no source {args.source!r} in {SOURCES} — add it first with new-source", code="intake-source-unknown")
    claimants = package.tables["claimants"].by_key("claimant_id")
    if args.claimant not in claimants:
        raise UsageError(f"there is no claimant {args.claimant!r} in data/claimants.csv — add a row for it there first", code="intake-claimant-unknown")
    if source["kind"] == "reference":
        if args.quote:
            raise UsageError(f"{args.source} is a reference source: its claims carry no quote — say what was claimed in "
                             "your own words with --paraphrase", code="intake-quote-not-allowed")
        if not args.paraphrase:
            raise UsageError(f"{args.source} is a reference source: give --paraphrase, what was claimed, by whom and about "
                             "what period, in your own words", code="intake-paraphrase-missing")
        quote = ""
    else:
        text = (package.root / source["text_path"]).read_text(encoding="utf-8")
        quote = args.quote or find_quote(text, args.phrase, args.source)
        if quote not in text:
            raise UsageError(f"the quote does not occur in {source['text_path']} — copy it verbatim (same accents and quotation marks)", code="intake-quote-not-in-text")
    hedges = package.tables["hedges"].by_key("hedge_id")
    hedge = args.hedge or find_hedge(package, args.phrase)
    if hedge not in hedges:
        raise UsageError(f"there is no hedge {hedge!r} in data/hedges.csv — use one of: {', '.join(hedges)}", code="intake-hedge-unknown")
    value, low, high = stated(package, args.phrase, hedges[hedge]["rule"])
    if args.as_of:
        earliest, latest = args.as_of, args.as_of_latest or args.as_of
        basis, evidence = "stated", args.evidence or ""
        if not evidence:
            raise UsageError("--as-of needs --evidence: the words of the text that date the figure", code="intake-as-of-evidence-missing")
    else:
        earliest, latest = (date.fromisoformat(source[c]) for c in ("published_date_earliest", "published_date_latest"))
        basis, evidence = "publication", ""
    claim_id = next_id(package.tables["claims"].by_key("claim_id"), "c")
    attribution = "none" if claimants[args.claimant]["kind"] == "unattributed" else args.attribution
    values = {
        "claim_id": claim_id, "source_id": args.source, "claimant_id": args.claimant, "attribution": attribution,
        "via": args.via or "", "origin_id": args.origin or claim_id, "subject_id": args.subject, "quantity": args.quantity,
        "casualty_definition": args.casualty_definition or ("unspecified" if args.quantity == "casualties" else ""),
        "time_scope": args.time_scope, "as_of_date_earliest": earliest.isoformat(), "as_of_date_latest": latest.isoformat(),
        "as_of_date_precision": precision_of(earliest, latest), "as_of_date_basis": basis, "as_of_date_evidence": evidence,
        "phrase": args.phrase, "hedge_id": hedge, "stated_value": value, "stated_low": low, "stated_high": high,
        "unit": args.unit, "quote": quote, "paraphrase": args.paraphrase or "", "note": args.note or "", "status": "active",
    }
    return row_of(package.tables["claims"], values)


def claim_files(package: Loaded, args) -> dict[Path, bytes]:
    return {CLAIMS: appended(package.root, CLAIMS, csv_line(claim_row(package, args)))}


# ---------------------------------------------------------------- both

def checked(root: Path, files: dict[Path, bytes]) -> list:
    """The problems of the package with ``files`` in place, found in a scratch copy."""
    with tempfile.TemporaryDirectory(prefix="estimate-intake-") as scratch:
        copy = Path(scratch)
        shutil.copy(root / DESCRIPTOR, copy / DESCRIPTOR)
        shutil.copytree(root / "data", copy / "data", ignore=shutil.ignore_patterns("derived"))
        for rel, data in files.items():
            (copy / rel).write_bytes(data)
        return validate_package(copy)


# The option each column of a new row comes from: a problem in that column is the option's.
SOURCE_OPTIONS = {"outlet": "--outlet", "language": "--language", "published_date_earliest": "--published",
                  "published_date_latest": "--published-latest", "published_date_basis": "--basis",
                  "published_date_evidence": "--evidence", "url": "--url", "note": "--note", "title": "--title",
                  "read_date": "--read"}
CLAIM_OPTIONS = {"source_id": "--source", "claimant_id": "--claimant", "attribution": "--attribution", "via": "--via",
                 "origin_id": "--origin", "subject_id": "--subject", "quantity": "--quantity",
                 "casualty_definition": "--casualty-definition", "time_scope": "--time-scope",
                 "as_of_date_earliest": "--as-of", "as_of_date_latest": "--as-of-latest", "as_of_date_evidence": "--evidence",
                 "phrase": "--phrase", "hedge_id": "--hedge", "unit": "--unit", "quote": "--quote",
                 "paraphrase": "--paraphrase", "note": "--note"}


def located(problem, table: Path, new_row: int, options: dict[str, str]) -> str:
    """A problem of the new row names the option to change; one elsewhere, its file and row."""
    if problem.file != table.as_posix() or problem.row != new_row:
        return str(problem)
    if problem.column in options:
        return str(Problem(options[problem.column], None, None, problem.message, code=problem.code))
    return str(problem).replace(f" row {new_row},", " (the new row),", 1)


def run(args, make, table: Path, adds: str, options: dict[str, str]) -> int:
    try:
        package = valid_package(args.root)
        files = make(package, args)
    except InvalidPackage as error:
        print("\n".join(map(str, error.problems)), file=sys.stderr)
        print("The package has problems already; fix them first (make validate).", file=sys.stderr)
        return 1
    except UsageError as error:
        print(refusal(f"{error.message}; nothing was written.", error.code), file=sys.stderr)
        return 2
    line = files[table].decode("utf-8").rstrip("\n").rsplit("\n", 1)[-1]
    print(line)
    problems = checked(args.root, files)
    if problems:
        new_row = files[table].decode("utf-8").rstrip("\n").count("\n") + 1  # the header is row 1
        print("\n".join(located(p, table, new_row, options) for p in problems), file=sys.stderr)
        print(f"With this row the package would have {len(problems)} problem(s); nothing was written. "
              "Fix the arguments (or the row, by hand) and run the command again.", file=sys.stderr)
        return 1
    if not args.append:
        print(f"The row above is valid. Run the command again with --append to {adds}.", file=sys.stderr)
        return 0
    for path in commit(args.root, files):
        print(f"wrote {path}", file=sys.stderr)
    print("Next: list it in CHANGELOG.md under '## Unreleased', then make figures.", file=sys.stderr)
    return 0


def source_main(args) -> int:
    return run(args, source_files, SOURCES, "archive the text and add this row and its resource in datapackage.json",
               SOURCE_OPTIONS)


def claim_main(args) -> int:
    return run(args, claim_files, CLAIMS, "add it to data/claims.csv (or paste it there yourself)", CLAIM_OPTIONS)
