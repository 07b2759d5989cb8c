"""Integrity rules beyond types and keys, each a generator of Problems.

Frictionless checks types, required cells, enums, keys and references; these checks
assume nothing about cells it rejects: a cell that does not parse is skipped here.
"""

import calendar
import hashlib
import re
import unicodedata
from datetime import date
from itertools import chain

from estimate.package.numbers import TOKEN, UnreadableNumber, number_words, numerals_from_rows, read_numbers, word_key
from estimate.package.problems import Problem, shown
from estimate.package.tables import CELL_LIMIT, DESCRIPTOR, Loaded, Row, rule_columns

# Characters that make Excel, LibreOffice or Google Sheets read a cell as a formula.
FORMULA_STARTS = {"=": "'='", "+": "'+'", "-": "'-'", "@": "'@'", "\t": "a tab", "\r": "a carriage return"}

RULES_WITHOUT_WORDING = {"granular", "exact"}

# Fields a relay must repeat from the claim it relays.
RELAY_AGREES_ON = ("subject_id", "quantity", "time_scope", "hedge_id", "unit", "stated_value", "stated_low", "stated_high")


def check(package: Loaded) -> list[Problem]:
    """Every integrity problem in the package."""
    return list(chain(
        formula_cells(package),
        plain_numbers(package),
        cell_lengths(package),
        invisible_characters(package),
        unique_keys(package),
        hedge_rules(package),
        numeral_words(package),
        source_rows(package),
        claim_rows(package),
    ))


# ---------------------------------------------------------------- cell readers

def day(row: Row, column: str) -> date | None:
    try:
        return date.fromisoformat(row[column])
    except ValueError:
        return None


def number(row: Row, column: str) -> float | None:
    try:
        return float(row[column])
    except ValueError:
        return None


def wordings(hedge: Row) -> list[str]:
    """A hedge's wordings, compared as composed (NFC) lower-case text: 'más' typed with a
    combining accent is the same wording."""
    text = unicodedata.normalize("NFC", hedge["phrases_es"] + "|" + hedge["phrases_en"])
    return [w.strip().lower() for w in text.split("|") if w.strip()]


def contains_wording(phrase: str, wording: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(wording) + r"(?!\w)", unicodedata.normalize("NFC", phrase).lower()) is not None


# ---------------------------------------------------------------- every table

def formula_cells(package: Loaded):
    for table in package.tables.values():
        text_columns = [f["name"] for f in table.fields if f.get("type", "string") == "string"]
        for row in table.rows:
            for column in text_columns:
                value = row[column]
                if value and value[0] in FORMULA_STARTS:
                    yield Problem(table.path, row.number, column,
                                  f"the cell starts with {FORMULA_STARTS[value[0]]}, which a spreadsheet runs as a formula — "
                                  "rephrase it so it starts with a letter, digit or quotation mark", code="cell-formula")


# A number cell as the codebook asks for it: ASCII digits, '.' for decimals, an optional
# minus. Python (and frictionless) would also read '3e2', ' 300', 'inf', '1e400' or
# Arabic-Indic digits, and an infinite hedge parameter silently opens every interval.
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def plain_numbers(package: Loaded):
    for table in package.tables.values():
        columns = [f["name"] for f in table.fields if f["type"] in ("number", "integer")]
        for row in table.rows:
            for column in columns:
                if row[column] and not PLAIN_NUMBER.fullmatch(row[column]):
                    yield Problem(table.path, row.number, column, f"{shown(row[column])} is not a plain number — write digits with "
                                                                  "'.' as the decimal mark, e.g. 11000 or 0.85 (no exponent, "
                                                                  "spaces, infinity or other digits)", code="number-not-plain")


def cell_lengths(package: Loaded):
    for table in package.tables.values():
        for row in table.rows:
            for column, value in row.cells.items():
                if len(value) > CELL_LIMIT:
                    yield Problem(table.path, row.number, column, f"holds {len(value):,} characters, more than a spreadsheet cell can "
                                                                  f"({CELL_LIMIT:,}) — shorten it", code="cell-too-long")


# Characters a reader never sees: control characters (a spreadsheet shows NUL as _x0000_
# or nothing; ESC can recolour a terminal) and the marks that reverse the order in which
# text is displayed, so a cell could read otherwise than it is. Line breaks and tabs stay.
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def invisible_characters(package: Loaded):
    for table in package.tables.values():
        for row in table.rows:
            for column, value in row.cells.items():
                found = INVISIBLE.search(value)
                if found:
                    yield Problem(table.path, row.number, column, f"holds the invisible character U+{ord(found.group()):04X} at "
                                                                  f"character {found.start() + 1:,} — delete it: a reader cannot "
                                                                  "see it, and spreadsheets show it as a code or reorder the text", code="cell-invisible-character")


def unique_keys(package: Loaded):
    """The Data Package v2 uniqueKeys, which frictionless 5 does not enforce."""
    for resource in package.table_resources():
        table = package.tables[resource["name"]]
        for key in resource["schema"].get("uniqueKeys", []):
            seen: dict[tuple, int] = {}
            for row in table.rows:
                values = tuple(row[c] for c in key)
                if "" in values:
                    continue
                if values in seen:
                    yield Problem(table.path, row.number, key[-1],
                                  f"repeats row {seen[values]} in all of {', '.join(key)} — one row per figure: "
                                  "merge the two rows or correct one of them", code="row-repeated")
                seen.setdefault(values, row.number)


# ---------------------------------------------------------------- hedges

def every_parameter(rules: dict[str, tuple]) -> list[str]:
    """The columns some hedge rule reads."""
    return sorted({p for read in rules.values() for p in read})


def hedge_rules(package: Loaded):
    """Each hedge fills in exactly the parameters its rule reads (the codebook lists them)."""
    table = package.tables["hedges"]
    rules = rule_columns(package.descriptor)
    owner: dict[str, str] = {}
    for row in table.rows:
        rule = row["rule"]
        if rule not in rules:
            continue
        needed = rules[rule]
        for parameter in every_parameter(rules):
            if parameter in needed and not row[parameter]:
                yield Problem(table.path, row.number, parameter, f"is empty, but rule '{rule}' needs it — fill it in", code="hedge-parameter-missing")
            if parameter not in needed and row[parameter]:
                yield Problem(table.path, row.number, parameter, f"has no effect under rule '{rule}' — leave it empty", code="hedge-parameter-not-allowed")
        low, high = number(row, "vague_low"), number(row, "vague_high")
        if low is not None and high is not None and low > high:
            yield Problem(table.path, row.number, "vague_low", f"{number_words(low)} is above vague_high {number_words(high)} — swap them", code="vague-range-reversed")
        if rule in RULES_WITHOUT_WORDING and row["phrases_es"]:
            yield Problem(table.path, row.number, "phrases_es", f"a '{rule}' number has no hedge wording — leave it empty", code="hedge-wording-not-allowed")
        if rule not in RULES_WITHOUT_WORDING and not row["phrases_es"]:
            yield Problem(table.path, row.number, "phrases_es", f"is empty, but rule '{rule}' is recognised by its wording — list the Spanish wordings", code="hedge-wording-missing")
        for wording in wordings(row):
            if wording in owner and owner[wording] != row["hedge_id"]:
                yield Problem(table.path, row.number, "phrases_es",
                              f"'{wording}' is already a wording of hedge '{owner[wording]}' — one wording, one hedge", code="hedge-wording-repeated")
            owner.setdefault(wording, row["hedge_id"])
    yield from sensitivity_rules(package)


def numeral_words(package: Loaded):
    """Phrases are read without regard to case or accent encoding, so two numerals that
    differ only in those would give one word two values, of which the last would win."""
    table = package.tables["numerals"]
    first: dict[str, int] = {}
    for row in table.rows:
        key = word_key(row["word"])
        if key in first:
            yield Problem(table.path, row.number, "word", f"{shown(row['word'])} is the word of row {first[key]}: phrases are "
                                                          "read without regard to case — keep one of the two rows", code="word-repeated")
        first.setdefault(key, row.number)


def sensitivity_rules(package: Loaded):
    """A sensitivity lexicon only changes parameters its hedge's rule uses."""
    table = package.tables["hedges_sensitivity"]
    hedges = package.tables["hedges"].by_key("hedge_id")
    rules = rule_columns(package.descriptor)
    for row in table.rows:
        hedge = hedges.get(row["hedge_id"])
        if hedge is None or hedge["rule"] not in rules:
            continue
        for parameter in every_parameter(rules):
            if row[parameter] and parameter not in rules[hedge["rule"]]:
                yield Problem(table.path, row.number, parameter,
                              f"hedge '{row['hedge_id']}' follows rule '{hedge['rule']}', which does not use {parameter} — leave it empty", code="hedge-parameter-not-allowed")
        low = number(row, "vague_low") if row["vague_low"] else number(hedge, "vague_low")
        high = number(row, "vague_high") if row["vague_high"] else number(hedge, "vague_high")
        if low is not None and high is not None and low > high:
            yield Problem(table.path, row.number, "vague_low", f"{number_words(low)} is above the vague_high {number_words(high)} of this lexicon — correct one", code="vague-range-reversed")


# ---------------------------------------------------------------- dates

def precision_of(earliest: date, latest: date) -> str:
    if earliest == latest:
        return "day"
    if (earliest.year, earliest.month) == (latest.year, latest.month) and earliest.day == 1 \
            and latest.day == calendar.monthrange(latest.year, latest.month)[1]:
        return "month"
    if earliest.year == latest.year and (earliest.month, earliest.day, latest.month, latest.day) == (1, 1, 12, 31):
        return "year"
    return "range"


def date_span(path: str, row: Row, prefix: str):
    """Earliest ≤ latest, and the precision column agrees with the span."""
    earliest, latest = day(row, prefix + "_earliest"), day(row, prefix + "_latest")
    if earliest is None or latest is None:
        return
    if earliest > latest:
        yield Problem(path, row.number, prefix + "_latest",
                      f"{latest} is before {prefix}_earliest {earliest} — swap them or correct one", code="date-span-reversed")
        return
    precision = precision_of(earliest, latest)
    if row[prefix + "_precision"] and row[prefix + "_precision"] != precision:
        yield Problem(path, row.number, prefix + "_precision",
                      f"says '{row[prefix + '_precision']}' but {earliest} to {latest} is a {precision} — "
                      f"set it to '{precision}' or correct the dates", code="date-precision-mismatch")


# ---------------------------------------------------------------- sources

def text_path_ok(package: Loaded, rel: str) -> bool:
    """Whether a text_path has the form the codebook allows. Frictionless reports one that
    does not; it is never opened, since it could name any file (or be no file name at all)."""
    field = next(f for f in package.tables["sources"].fields if f["name"] == "text_path")
    return re.fullmatch(field["constraints"]["pattern"], rel) is not None


def borrowed_texts(package: Loaded) -> set[str]:
    """Sources whose text_path is an earlier source's: validation reports the repeat, and
    nothing is checked against the other source's text, where it could only mislead."""
    first, borrowed = set(), set()
    for row in package.tables["sources"].rows:
        if row["text_path"] in first:
            borrowed.add(row["source_id"])
        first.add(row["text_path"] or None)
    return borrowed


def source_rows(package: Loaded):
    table = package.tables["sources"]
    resources = {r.get("path"): r for r in package.descriptor["resources"]}
    borrowed = borrowed_texts(package)
    for row in table.rows:
        yield from date_span(table.path, row, "published_date")
        latest = day(row, "published_date_latest")
        if latest and latest > date.today():
            yield Problem(table.path, row.number, "published_date_latest",
                          f"{latest} is after today — a source cannot have been published in the future; correct the date", code="published-in-future")
        if row["kind"] == "archived":
            yield from (kind_columns(table.path, row) if row["source_id"] in borrowed
                        else archived_source(package, table.path, row, resources))
        elif row["kind"] == "reference":
            yield from reference_source(table.path, row)


# What each kind of source must fill in, and must leave empty (the codebook says why).
KIND_COLUMNS = {
    "archived": {"required": ("title", "title_kind", "text_path", "text_sha256", "archived_from"), "empty": ("read_date",)},
    "reference": {"required": ("outlet", "url", "read_date"), "empty": ("text_path", "text_sha256", "archived_from")},
}


def kind_columns(path: str, row: Row):
    rules = KIND_COLUMNS[row["kind"]]
    for column in rules["required"]:
        if not row[column]:
            yield Problem(path, row.number, column, f"is empty, but a source of kind '{row['kind']}' needs it — fill it in, "
                                                    "or correct the kind", code="source-field-missing")
    for column in rules["empty"]:
        if row[column]:
            yield Problem(path, row.number, column, f"is for the other kind of source, not '{row['kind']}' — empty it, "
                                                    "or correct the kind", code="source-field-not-allowed")


def reference_source(path: str, row: Row):
    """A public report recorded by its facts: no text of it is in the package."""
    yield from kind_columns(path, row)
    if bool(row["title"]) != bool(row["title_kind"]):
        yield Problem(path, row.number, "title_kind", "is 'headline' exactly when a reference source has a title — set it "
                                                      "to headline, or empty both", code="title-kind-mismatch")
    elif row["title_kind"] == "first_sentence":
        yield Problem(path, row.number, "title_kind", "cannot be 'first_sentence' for a reference source, whose text is not "
                                                      "in the package — give the headline as printed (headline), or none", code="title-kind-mismatch")
    read, published = day(row, "read_date"), day(row, "published_date_latest")
    if read and read > date.today():
        yield Problem(path, row.number, "read_date", f"{read} is after today — give the date you read the page", code="read-date-in-future")
    if read and published and published > read:
        yield Problem(path, row.number, "published_date_latest",
                      f"{published} is after the page was read ({read}) — a page cannot be read before it was published; "
                      "correct one of the dates", code="published-after-read")


def archived_source(package: Loaded, path: str, row: Row, resources: dict):
    """A text archived byte for byte: it is where it says, with the hash it says."""
    yield from kind_columns(path, row)
    rel = row["text_path"]
    if not rel or not text_path_ok(package, rel):
        return
    text_file = package.root / rel
    if not text_file.is_file():
        yield Problem(path, row.number, "text_path", f"{rel} does not exist — archive the source text there, byte for byte", code="text-missing")
        return
    data = text_file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != row["text_sha256"]:
        yield Problem(path, row.number, "text_sha256",
                      f"{rel} has SHA-256 {digest[:12]}…, not the recorded {row['text_sha256'][:12]}… — archived texts are never edited: "
                      f"restore it (git checkout -- {rel}); if the archive itself was wrong, archive the new text under a new source id", code="text-hash-mismatch")
    resource = resources.get(rel)
    if resource is None:
        yield Problem(path, row.number, "text_path",
                      f"{rel} is not a resource in {DESCRIPTOR} — add it there with its hash and rights statement", code="text-not-a-resource")
    elif resource.get("hash") != "sha256:" + row["text_sha256"]:
        yield Problem(path, row.number, "text_sha256",
                      f"differs from the hash of {rel} in {DESCRIPTOR} — make them the same", code="text-hash-disagrees-with-descriptor")
    text = source_text(package, row)
    if text is None:
        yield Problem(path, row.number, "text_path", f"{rel} is not UTF-8 text — archive it as UTF-8", code="text-not-utf8")
    elif row["title"] and row["title"] not in text:
        yield Problem(path, row.number, "title", f"does not occur in {rel} — copy the headline or first sentence verbatim", code="title-not-in-text")


def source_text(package: Loaded, source: Row) -> str | None:
    """An archived source's text (None for a reference source, or a text that cannot be read)."""
    if source["kind"] != "archived" or not text_path_ok(package, source["text_path"]):
        return None
    try:
        return (package.root / source["text_path"]).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


# ---------------------------------------------------------------- claims

def claim_rows(package: Loaded):
    table = package.tables["claims"]
    sources = package.tables["sources"].by_key("source_id")
    claimants = package.tables["claimants"].by_key("claimant_id")
    hedges = package.tables["hedges"].by_key("hedge_id")
    claims = table.by_key("claim_id")
    numerals = numerals_from_rows(r for r in package.tables["numerals"].rows if number(r, "value") is not None)
    known = known_words(hedges, numerals, package.tables["phrase_words"].rows)
    borrowed = borrowed_texts(package)
    texts = {sid: source_text(package, s) for sid, s in sources.items() if sid not in borrowed}
    for row in table.rows:
        source = sources.get(row["source_id"])
        yield from quote_and_phrase(table.path, row, texts.get(row["source_id"]), source)
        hedge = hedges.get(row["hedge_id"])
        if hedge is not None:
            yield from hedge_wording(table.path, row, hedge, hedges)
            yield from stated_numbers(table.path, row, hedge["rule"], numerals)
        yield from unknown_words(table.path, row, known)
        yield from date_span(table.path, row, "as_of_date")
        if source is not None:
            yield from as_of_vs_publication(table.path, row, source)
        yield from window(table.path, row)
        yield from definitions(table.path, row, claims)
        yield from later_base(table.path, row, claims, sources)
        yield from relay(table.path, row, claims, sources)
        yield from status(table.path, row, claims)
        claimant = claimants.get(row["claimant_id"])
        if claimant is not None and (claimant["kind"] == "unattributed") != (row["attribution"] == "none"):
            yield Problem(table.path, row.number, "attribution",
                          "is 'none' exactly when the claimant is unattributed — set attribution to match the claimant", code="attribution-mismatch")


def quote_and_phrase(path: str, row: Row, text: str | None, source: Row | None):
    """Archived sources: the quote is in the text and the phrase in the quote. Reference
    sources: no quote (none of their text is in the package), a paraphrase instead."""
    if source is None:
        return
    if source["kind"] == "reference":
        if row["quote"]:
            yield Problem(path, row.number, "quote", f"must be empty: {source['source_id']} is a reference source, whose text is "
                                                     "not in the package — say what was claimed in your own words in paraphrase", code="quote-not-allowed")
        if not row["paraphrase"]:
            yield Problem(path, row.number, "paraphrase", f"is empty, but {source['source_id']} is a reference source — say in "
                                                          "your own words what was claimed, by whom and about what period", code="paraphrase-missing")
        return
    if not row["quote"]:
        yield Problem(path, row.number, "quote", f"is empty, but {source['source_id']} is archived — copy the sentence that "
                                                 "holds the phrase verbatim from its text", code="quote-missing")
        return
    if text is not None and row["quote"] not in text:
        yield Problem(path, row.number, "quote",
                      f"does not occur in {source['text_path']} — copy the sentence verbatim from the archived text "
                      "(same accents, quotation marks and spaces)", code="quote-not-in-text")
    if row["phrase"] not in row["quote"]:
        yield Problem(path, row.number, "phrase", f"'{row['phrase']}' does not occur in the quote — copy the phrase verbatim from it", code="phrase-not-in-quote")
    elif whole(row["phrase"], row["quote"]) is None:
        yield Problem(path, row.number, "phrase", f"'{row['phrase']}' occurs in the quote only as part of a longer word or number — "
                                                  "copy the whole figure as printed", code="phrase-inside-longer-word")


def whole(phrase: str, quote: str) -> re.Match | None:
    """The first occurrence of the phrase in the quote that is not cut out of a longer word or
    number ('aproximadamente 30' in 'aproximadamente 300', '11' in '11,000')."""
    return re.search(r"(?<!\w)(?<!\d[.,])" + re.escape(phrase) + r"(?!\w)(?![.,]\d)", quote)


def known_words(hedges: dict[str, Row], numerals: dict, phrase_words) -> list[str]:
    """Every wording a phrase may hold besides digits, longest first (so that 'a total of'
    goes before 'a'): the hedges', the number words and the listed other words."""
    words = {w for hedge in hedges.values() for w in wordings(hedge)} | set(numerals)
    words |= {unicodedata.normalize("NFC", r["word"]).strip().lower() for r in phrase_words}
    return sorted(words, key=len, reverse=True)


def unknown_words(path: str, row: Row, known: list[str]):
    """A word the lexicon does not know would be read as if it were not there: 'reportedly
    2,700' as a bare 2,700. Each word of a phrase is a number, a hedge's wording or a listed
    word that changes neither."""
    rest = unicodedata.normalize("NFC", row["phrase"]).lower()
    for word in known:
        rest = re.sub(r"(?<!\w)" + re.escape(word) + r"(?!\w)", " ", rest)
    left = re.findall(r"[^\W\d_]+", rest)
    if left:
        yield Problem(path, row.number, "phrase",
                      f"'{row['phrase']}' holds '{left[0]}', which is not a number, a hedge's wording or a word in "
                      "data/phrase_words.csv — if it changes what the figure says, add it to a hedge's wording in "
                      "data/hedges.csv; if it does not, add it to data/phrase_words.csv with the reason", code="phrase-unknown-word")


def hedge_wording(path: str, row: Row, hedge: Row, hedges: dict[str, Row]):
    phrase = row["phrase"]
    own = wordings(hedge)
    if own and not any(contains_wording(phrase, w) for w in own):
        yield Problem(path, row.number, "hedge_id",
                      f"hedge '{hedge['hedge_id']}' is worded {' / '.join(own)}, and the phrase '{phrase}' uses none of these — "
                      "choose the hedge that matches the wording, or add this wording to data/hedges.csv", code="hedge-wording-absent")
    if not own:
        for other in hedges.values():
            found = next((w for w in wordings(other) if contains_wording(phrase, w)), None)
            if found:
                yield Problem(path, row.number, "hedge_id",
                              f"the phrase '{phrase}' contains '{found}', the wording of hedge '{other['hedge_id']}' — use that hedge", code="hedge-wording-of-another")
                return
        place = whole(phrase, row["quote"])
        before = unicodedata.normalize("NFC", row["quote"][: place.start()] if place else "").lower().rstrip()
        for other in hedges.values():
            found = next((w for w in wordings(other) if re.search(r"(?<!\w)" + re.escape(w) + r"$", before)), None)
            if found:
                yield Problem(path, row.number, "phrase", f"the quote says '{found} {phrase}', but the phrase leaves out '{found}' — "
                                                          f"include the hedge wording in the phrase and use hedge '{other['hedge_id']}'", code="phrase-leaves-out-hedge")
                return


def stated_numbers(path: str, row: Row, rule: str, numerals):
    """The stated value(s) fit the rule and equal what the phrase says."""
    expected = {"range": ("stated_low", "stated_high"), "vague": ()}.get(rule, ("stated_value",))
    for column in ("stated_value", "stated_low", "stated_high"):
        if column in expected and not row[column]:
            yield Problem(path, row.number, column, f"is empty, but a '{rule}' phrase states it — fill it in", code="stated-number-missing")
        if column not in expected and row[column]:
            yield Problem(path, row.number, column, f"must be empty for a '{rule}' phrase — " +
                          ("put a single number in stated_value" if rule != "range" else "use stated_low and stated_high"), code="stated-number-not-allowed")
    low, high = number(row, "stated_low"), number(row, "stated_high")
    if row["unit"] == "percent":
        for column in ("stated_value", "stated_low", "stated_high"):
            if (number(row, column) or 0) > 100:
                yield Problem(path, row.number, column, f"{row[column]} is above 100 for a percent — correct the number or the unit", code="percent-above-100")
    if low is not None and high is not None and low > high:
        yield Problem(path, row.number, "stated_low", f"{number_words(low)} is above stated_high {number_words(high)} — swap them", code="stated-range-reversed")
    try:
        said = read_numbers(row["phrase"], numerals)
    except UnreadableNumber as error:
        yield Problem(path, row.number, "phrase", f"cannot be read: {error} — write the number as printed, e.g. '11,000' or '2,5'", code="phrase-unreadable")
        return
    stated = [number(row, c) for c in expected]
    if None in stated or len(stated) != len(expected):
        return
    if said != stated:
        column = expected[0] if expected else "phrase"
        says = " and ".join(number_words(n) for n in said) or "no number"
        wrote = " and ".join(number_words(n) for n in stated) or "no number"
        # A wrong value in data/numerals.csv shows here first: name the words it read.
        words = [w for w in (m.group(2) for m in TOKEN.finditer(word_key(row["phrase"]))) if w in numerals]
        read = "".join(f", reading '{w}' as {number_words(numerals[w].value)} by data/numerals.csv" for w in words)
        yield Problem(path, row.number, column,
                      f"is {wrote}, but the phrase '{row['phrase']}' says {says}{read} — make them agree"
                      + (" (or correct the numeral)" if words else ""), code="stated-value-disagrees")


def as_of_vs_publication(path: str, row: Row, source: Row):
    as_of_latest, published_latest = day(row, "as_of_date_latest"), day(source, "published_date_latest")
    if as_of_latest and published_latest and as_of_latest > published_latest:
        yield Problem(path, row.number, "as_of_date_latest",
                      f"{as_of_latest} is after source {source['source_id']} was published (by {published_latest}) — "
                      "a figure cannot be dated after it was printed; correct the date", code="as-of-after-publication")
    basis = row["as_of_date_basis"]
    if basis == "publication":
        as_of = (day(row, "as_of_date_earliest"), as_of_latest)
        published = (day(source, "published_date_earliest"), published_latest)
        if None not in as_of and None not in published and as_of != published:
            yield Problem(path, row.number, "as_of_date_basis",
                          f"is 'publication', but the as-of dates differ from the publication dates of {source['source_id']} "
                          f"({source['published_date_earliest']} to {source['published_date_latest']}) — copy those, or say 'stated' or 'inferred'", code="as-of-basis-mismatch")
    elif basis in ("stated", "inferred") and not row["as_of_date_evidence"]:
        yield Problem(path, row.number, "as_of_date_evidence", f"is empty, but the as-of date is {basis} — quote the words that date the figure", code="as-of-evidence-missing")


def window(path: str, row: Row):
    earliest, latest = row["window_start_date_earliest"], row["window_start_date_latest"]
    if row["time_scope"] != "increment":
        for column in ("window_start_date_earliest", "window_start_date_latest"):
            if row[column]:
                yield Problem(path, row.number, column, f"only increments have a window; this claim is '{row['time_scope']}' — leave it empty", code="window-not-allowed")
        return
    if bool(earliest) != bool(latest):
        missing = "window_start_date_latest" if earliest else "window_start_date_earliest"
        yield Problem(path, row.number, missing, "fill in both window start dates, or neither when the text does not say since when", code="window-half-given")
        return
    yield from date_span_pair(path, row, "window_start_date_earliest", "window_start_date_latest")
    start, as_of = day(row, "window_start_date_latest"), day(row, "as_of_date_latest")
    if start and as_of and start > as_of:
        yield Problem(path, row.number, "window_start_date_latest", f"{start} is after the as-of date {as_of} — a window ends at its as-of date", code="window-after-as-of")


def date_span_pair(path: str, row: Row, first: str, second: str):
    earliest, latest = day(row, first), day(row, second)
    if earliest and latest and earliest > latest:
        yield Problem(path, row.number, second, f"{latest} is before {first} {earliest} — swap them or correct one", code="window-reversed")


def definitions(path: str, row: Row, claims: dict[str, Row]):
    """Casualty definitions and share bases appear exactly where they mean something."""
    if row["quantity"] == "casualties" and not row["casualty_definition"]:
        yield Problem(path, row.number, "casualty_definition", "is empty for a casualties figure — say what the text counts as casualties, or 'unspecified'", code="casualty-definition-missing")
    if row["quantity"] != "casualties" and row["casualty_definition"]:
        yield Problem(path, row.number, "casualty_definition", f"only casualties figures have one; this is '{row['quantity']}' — leave it empty", code="casualty-definition-not-allowed")
    base_id = row["base_claim_id"]
    if row["unit"] == "percent" and not base_id:
        yield Problem(path, row.number, "base_claim_id", "is empty, but a percent figure needs the claim that gives the count it is a share of", code="base-claim-missing")
    if row["unit"] != "percent" and base_id:
        yield Problem(path, row.number, "base_claim_id", f"only percent figures have a base; this one is in {row['unit']} — leave it empty", code="base-claim-not-allowed")
    base = claims.get(base_id)
    if base_id and base is not None:
        if (base["unit"], base["quantity"], base["subject_id"]) != ("persons", "deployed", row["subject_id"]):
            yield Problem(path, row.number, "base_claim_id",
                          f"{base_id} is not a deployment count in persons of {row['subject_id']} — point to the figure the share is of", code="base-claim-not-a-deployment")
        elif base["time_scope"] == "planned":
            yield Problem(path, row.number, "base_claim_id",
                          f"{base_id} is a planned deployment — a share of the force is of troops sent, not planned: point to a count of them", code="base-claim-planned")


def later_base(path: str, row: Row, claims: dict[str, Row], sources: dict[str, Row]):
    """A share's base must have been published when the share was: a figure cannot rest on
    one printed after it."""
    base = claims.get(row["base_claim_id"])
    own, theirs = sources.get(row["source_id"]), sources.get(base["source_id"]) if base is not None else None
    if own is not None and theirs is not None:
        printed, base_printed = day(own, "published_date_latest"), day(theirs, "published_date_earliest")
        if printed and base_printed and base_printed > printed:
            yield Problem(path, row.number, "base_claim_id",
                          f"{base['claim_id']} was published ({base_printed}) after this claim's source ({printed}) — point to a "
                          "count published by then", code="base-claim-later")


def relay(path: str, row: Row, claims: dict[str, Row], sources: dict[str, Row]):
    """A relay repeats its origin's figure, and the origin came first."""
    origin_id = row["origin_id"]
    origin = claims.get(origin_id)
    if origin is None or origin_id == row["claim_id"]:
        return
    if origin["origin_id"] != origin_id:
        yield Problem(path, row.number, "origin_id",
                      f"{origin_id} is itself a relay of {origin['origin_id']} — point to the first report, {origin['origin_id']}", code="origin-is-a-relay")
        return
    for column in RELAY_AGREES_ON:
        if row[column] != origin[column]:
            yield Problem(path, row.number, "origin_id",
                          f"relays {origin_id} but its {column} is '{row[column]}', not '{origin[column]}' — a relay repeats the same figure; "
                          f"if this is a new assertion, make it its own origin ({row['claim_id']})", code="relay-differs-from-origin")
            return
    mine, theirs = sources.get(row["source_id"]), sources.get(origin["source_id"])
    if mine and theirs:
        first, this = day(theirs, "published_date_earliest"), day(mine, "published_date_latest")
        if first and this and first > this:
            yield Problem(path, row.number, "origin_id",
                          f"{origin_id} was printed after this claim's source — the origin is the first report: make this row the origin instead", code="origin-printed-later")


def status(path: str, row: Row, claims: dict[str, Row]):
    """A withdrawn claim says why and, when replaced, by what; an active claim leans only on active ones."""
    state, replacement = row["status"], row["superseded_by"]
    if state == "superseded" and not replacement:
        yield Problem(path, row.number, "superseded_by", "is empty for a superseded claim — name the claim_id that replaces it", code="replacement-missing")
    if state != "superseded" and replacement:
        yield Problem(path, row.number, "superseded_by",
                      f"only a superseded claim names a replacement; this one is '{state}' — leave it empty or set status to superseded", code="replacement-not-allowed")
    if replacement == row["claim_id"]:
        yield Problem(path, row.number, "superseded_by", "names the claim itself — name the new claim that replaces it", code="replacement-is-self")
    elif state == "superseded" and replacement in claims and claims[replacement]["status"] != "active":
        yield Problem(path, row.number, "superseded_by",
                      f"{replacement} is itself {claims[replacement]['status']} — name the active claim that replaces this one", code="replacement-withdrawn")
    if state in ("superseded", "retracted") and not row["status_reason"].strip():
        yield Problem(path, row.number, "status_reason",
                      f"is empty for a {state} claim — say what was wrong and in which version the status changed", code="status-reason-missing")
    if state == "active" and row["status_reason"]:
        yield Problem(path, row.number, "status_reason", "is only for a superseded or retracted claim — leave it empty, or put the remark in note", code="status-reason-not-allowed")
    if state != "active":
        return
    for column in ("origin_id", "base_claim_id"):
        other = claims.get(row[column])
        if other is not None and other["claim_id"] != row["claim_id"] and other["status"] != "active":
            yield Problem(path, row.number, column,
                          f"points to {other['claim_id']}, which is {other['status']} — point to the claim that replaces it, "
                          "or withdraw this claim too", code="points-to-withdrawn-claim")
