"""Reading the package: its descriptor and its hand-maintained CSV tables.

Files are checked before anything parses them, so that a BOM, a Latin-1 export, Windows
line endings or a changed header are reported as such, not as a cascade of cell errors.
"""

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from estimate.package.problems import Problem, shown

DESCRIPTOR = "datapackage.json"
BOM = b"\xef\xbb\xbf"
# Derived tables are written by make and checked by the tests, not validated as input:
# a stale derived file must never stop its own rebuild.
DERIVED_PREFIX = "data/derived/"


@dataclass(frozen=True)
class Row:
    """One record of a table: its spreadsheet row number and its cells as text."""

    number: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass(frozen=True)
class Table:
    name: str
    path: str
    fields: list[dict]
    rows: list[Row]

    def by_key(self, column: str) -> dict[str, Row]:
        """Rows indexed by a key column (the first row wins on duplicates)."""
        index: dict[str, Row] = {}
        for row in self.rows:
            index.setdefault(row[column], row)
        return index


@dataclass
class Loaded:
    """The package as read from disk: descriptor, tables by resource name, root folder."""

    root: Path
    descriptor: dict
    tables: dict[str, Table] = field(default_factory=dict)

    def files(self) -> set[Path]:
        """Every file the package consists of (descriptor and resources), resolved."""
        return {(self.root / p).resolve() for p in [DESCRIPTOR] + [r["path"] for r in self.descriptor["resources"]]}

    def table_resources(self) -> list[dict]:
        """The hand-maintained tables."""
        return [r for r in self.descriptor.get("resources", [])
                if r.get("type") == "table" and not r.get("path", "").startswith(DERIVED_PREFIX)]


def descriptor_bytes(descriptor: dict) -> bytes:
    """The descriptor as every command writes it: two-space indent, UTF-8 as is, final newline."""
    return (json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def load(root: Path) -> tuple[Loaded | None, list[Problem]]:
    """Read the descriptor and every table, or say why they cannot be read."""
    descriptor, problems = read_descriptor(root)
    if descriptor is None:
        return None, problems
    loaded = Loaded(root=root, descriptor=descriptor)
    for resource in loaded.table_resources():
        table, table_problems = read_table(root, resource)
        problems += table_problems
        if table is not None:
            loaded.tables[resource["name"]] = table
    return loaded, problems


def read_descriptor(root: Path) -> tuple[dict | None, list[Problem]]:
    path = root / DESCRIPTOR
    if not path.is_file():
        return None, [Problem(DESCRIPTOR, None, None, f"is missing from {root} — run the command from the package folder", code="descriptor-missing")]
    repeated = []

    def unique_keys(pairs: list) -> dict:
        keys = [key for key, _ in pairs]
        repeated.extend(sorted({key for key in keys if keys.count(key) > 1}))
        return dict(pairs)
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=unique_keys)
    except UnicodeDecodeError:
        return None, [Problem(DESCRIPTOR, None, None, "is not UTF-8 — save it as UTF-8", code="descriptor-not-utf8")]
    except json.JSONDecodeError as error:
        return None, [Problem(DESCRIPTOR, None, None,
                              f"is not valid JSON ({error.msg} at line {error.lineno}, character {error.colno}) — fix the syntax there", code="descriptor-not-json")]
    except RecursionError:
        return None, [Problem(DESCRIPTOR, None, None, "is nested too deeply to be a data package descriptor — restore it from git", code="descriptor-too-deep")]
    if repeated:
        # JSON readers disagree on which of two equal keys wins: frictionless and a spreadsheet
        # tool could each read another version or licence.
        return None, [Problem(DESCRIPTOR, None, key, "the key appears twice in one object — keep one", code="descriptor-key-repeated") for key in repeated]
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        return None, [Problem(DESCRIPTOR, None, None, "has no list of resources — restore it from git", code="descriptor-no-resources")]
    problems = containment(root, descriptor) + essentials(descriptor)
    names = {r.get("name") for r in descriptor["resources"] if isinstance(r, dict)}
    problems += [Problem(DESCRIPTOR, None, "resources", f"has no resource '{name}' — every command needs data/{name}.csv: "
                                                        "restore it from git", code="resource-missing") for name in TABLES if name not in names]
    return (None, problems) if problems else (descriptor, [])


# The hand-maintained tables every command reads.
TABLES = ("sources", "claimants", "subjects", "hedges", "hedges_sensitivity", "numerals", "claims", "reliability")
# Names become file names (the workbook, the release zip): Data Package names, nothing else.
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
# How every CSV of the package is written; any other dialect would be read differently by
# frictionless (comment or header rows hidden from validation) than by the commands.
DIALECT = {"delimiter": ",", "lineTerminator": "\n", "quoteChar": "\"", "header": True}
# The one profile this package declares; frictionless would fetch any other over the network.
PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"


# A version as SemVer's three numbers (README, "Versions"), in ASCII digits.
VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
# Resource names become worksheet names in the workbook: at most 31 characters, no '/'.
RESOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,30}")
# The field types of Table Schema; frictionless refuses any other with an exception.
FIELD_TYPES = {"string", "number", "integer", "boolean", "object", "array", "list", "date", "time", "datetime", "year",
               "yearmonth", "duration", "geopoint", "geojson", "any"}
# The most characters a spreadsheet cell holds (Excel, LibreOffice): every text of the
# descriptor is written into one in the workbook's codebook.
CELL_LIMIT = 32767


def long_texts(value, where: str = ""):
    """(JSON path, length) of every string in the descriptor longer than a spreadsheet cell."""
    if isinstance(value, str) and len(value) > CELL_LIMIT:
        yield where or "(descriptor)", len(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from long_texts(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from long_texts(item, f"{where}[{index}]")


def essentials(descriptor: dict) -> list[Problem]:
    """What every command takes from the descriptor besides its paths: the version, the
    licences, resource names, field types, and texts a spreadsheet cell can hold."""
    problems = []
    version = descriptor.get("version")
    if not (isinstance(version, str) and VERSION.fullmatch(version)):
        what = "is missing" if version is None else f"{shown(version)} is not a version such as 0.2.0"
        problems.append(Problem(DESCRIPTOR, None, "version", f"{what} — write the released version, three numbers such as "
                                                             "0.2.0 ('make bump' writes it everywhere)", code="version-invalid"))
    licences = descriptor.get("licenses")
    if not (isinstance(licences, list) and licences and all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in licences)):
        problems.append(Problem(DESCRIPTOR, None, "licenses", "a list of licences, each with a name (CC-BY-4.0), is required — "
                                                              "restore it from git", code="licences-missing"))
    for number, resource in enumerate(descriptor["resources"]):
        if not isinstance(resource, dict):
            continue
        name = resource.get("name")
        if isinstance(name, str) and not RESOURCE_NAME.fullmatch(name):
            problems.append(Problem(DESCRIPTOR, None, f"resources[{number}].name",
                                    f"{shown(name)} is not a resource name: up to 31 lower-case letters, digits, '_' and '-' — "
                                    "it names a sheet of the workbook", code="resource-name-invalid"))
        fields = resource.get("schema", {}).get("fields", []) if isinstance(resource.get("schema"), dict) else []
        for index, field in enumerate(fields if isinstance(fields, list) else []):
            if isinstance(field, dict) and isinstance(field.get("type"), str) and field["type"] not in FIELD_TYPES:
                problems.append(Problem(DESCRIPTOR, None, f"resources[{number}].schema.fields[{index}].type",
                                        f"{shown(field['type'])} is not a Table Schema type — write one of "
                                        + ", ".join(sorted(FIELD_TYPES)), code="field-type-unknown"))
    problems += foreign_keys(descriptor) + categories(descriptor)
    problems += [Problem(DESCRIPTOR, None, where, f"the text has {length:,} characters, more than a spreadsheet cell holds "
                                                  f"({CELL_LIMIT:,}) — shorten it", code="descriptor-text-too-long") for where, length in long_texts(descriptor)]
    return problems


def columns(descriptor: dict, name: str) -> list[str]:
    """The columns of the table ``name``, in order, as its schema in the descriptor lists
    them: what a derived table is written with (the codebook is their one home)."""
    resource = next(r for r in descriptor["resources"] if r["name"] == name)
    return [f["name"] for f in resource["schema"]["fields"]]


def field_names(resource) -> set:
    schema = resource.get("schema") if isinstance(resource, dict) else None
    fields = schema.get("fields") if isinstance(schema, dict) else None
    return {f.get("name") for f in fields if isinstance(f, dict)} if isinstance(fields, list) else set()


def referenced(reference: dict, resource: dict) -> str:
    """The resource a foreign key refers to: its own when the reference names none (Data
    Package v2 leaves ``resource`` out of a self-reference; v1 wrote it as "")."""
    return reference.get("resource") or resource["name"]


def frictionless_view(descriptor: dict) -> dict:
    """The descriptor as frictionless-py 5 validates it: every self-reference written as
    ``"resource": ""``, the v1 form its metadata profile still requires (the package
    itself uses the v2 form, which frictionless reads the same way once it has loaded it)."""
    copy = json.loads(json.dumps(descriptor))
    for resource in copy.get("resources", []):
        for key in (resource.get("schema") or {}).get("foreignKeys", []) if isinstance(resource, dict) else []:
            if isinstance(key, dict) and isinstance(key.get("reference"), dict):
                key["reference"].setdefault("resource", "")
    return copy


def address(descriptor: dict) -> str:
    """Where a reader finds the package: its ``id`` when that is a DOI or a URL (the slot for
    the DOI once one is minted), else its ``homepage``, else nothing."""
    identifier = str(descriptor.get("id", ""))
    if identifier.startswith("10."):
        return f"https://doi.org/{identifier}"
    if identifier.startswith("https://"):
        return identifier
    return descriptor.get("homepage", "")


# The field whose codes say which columns of their row they read (``parameters``): the
# lexicon's rules, whose formulas the field's description gives.
PARAMETERISED = ("hedges", "rule")


def rule_columns(descriptor: dict) -> dict[str, tuple[str, ...]]:
    """For each hedge rule, the columns of data/hedges.csv its formula reads, as the codebook
    lists them (``parameters`` of each code of the rule field; checked by ``categories``)."""
    hedges = next(r for r in descriptor["resources"] if r.get("name") == PARAMETERISED[0])
    rule = next(f for f in hedges["schema"]["fields"] if f.get("name") == PARAMETERISED[1])
    return {c["value"]: tuple(c["parameters"]) for c in rule["categories"]}


def categories(descriptor: dict) -> list[Problem]:
    """A field's ``categories`` name exactly the codes its ``enum`` allows, in the same order,
    each with a label in English and in Spanish (``label``, ``label_es``): readers of the
    website, the workbook and the loader see the codes by these labels. Each hedge rule
    lists the number columns of its table it reads (``parameters``)."""
    problems = []
    for number, resource in enumerate(descriptor["resources"]):
        schema = resource.get("schema") if isinstance(resource, dict) else None
        fields = schema.get("fields", []) if isinstance(schema, dict) else []
        numbers = {f.get("name") for f in fields if isinstance(f, dict) and f.get("type") == "number"} \
            if isinstance(fields, list) else set()
        for index, field in enumerate(fields if isinstance(fields, list) else []):
            if not isinstance(field, dict):
                continue
            enum = (field.get("constraints") or {}).get("enum")
            listed = field.get("categories")
            where = f"resources[{number}].schema.fields[{index}].categories"
            if enum and listed is None:
                problems.append(Problem(DESCRIPTOR, None, where, f"field {shown(field.get('name'))} has codes (enum) but no "
                                                                 "categories — give each code a label and label_es", code="categories-missing"))
                continue
            if listed is None:
                continue
            values = [c.get("value") if isinstance(c, dict) else None for c in listed] if isinstance(listed, list) else None
            if values != enum:
                problems.append(Problem(DESCRIPTOR, None, where, f"the categories' values {shown(values)} are not the codes the "
                                                                 f"enum allows, in its order ({shown(enum)}) — list each code once", code="categories-disagree-with-enum"))
                continue
            for c in listed:
                if not all(isinstance(c.get(k), str) and c[k].strip() for k in ("label", "label_es")):
                    problems.append(Problem(DESCRIPTOR, None, where, f"the code {shown(c['value'])} needs a label in English "
                                                                     "(label) and in Spanish (label_es)", code="categories-label-missing"))
                read = c.get("parameters")
                if ((resource.get("name"), field.get("name")) == PARAMETERISED or "parameters" in c) and not (
                        isinstance(read, list) and all(isinstance(p, str) and p in numbers for p in read)):
                    problems.append(Problem(DESCRIPTOR, None, where, f"the code {shown(c['value'])} needs its parameters: a list "
                                                                     "of the number columns of its table that its formula reads "
                                                                     "(see the field's description)", code="category-parameters-invalid"))
    return problems


def foreign_keys(descriptor: dict) -> list[Problem]:
    """Each foreign key links fields of its table to fields of a resource that exists: a
    link to nothing would leave the values it should check unchecked."""
    problems = []
    resources = {r.get("name"): r for r in descriptor["resources"] if isinstance(r, dict)}
    for number, resource in enumerate(descriptor["resources"]):
        schema = resource.get("schema") if isinstance(resource, dict) else None
        keys = schema.get("foreignKeys", []) if isinstance(schema, dict) else []
        for index, key in enumerate(keys if isinstance(keys, list) else [keys]):
            where = f"resources[{number}].schema.foreignKeys[{index}]"
            reference = key.get("reference") if isinstance(key, dict) else None
            if not isinstance(reference, dict):
                problems.append(Problem(DESCRIPTOR, None, where, "is not a foreign key with fields and a reference — restore it from git", code="foreign-key-invalid"))
                continue
            target = resources.get(referenced(reference, resource))
            if target is None:
                problems.append(Problem(DESCRIPTOR, None, f"{where}.reference.resource",
                                        f"{shown(reference.get('resource'))} is not a resource of the package — write one of: "
                                        + ", ".join(sorted(str(n) for n, r in resources.items() if field_names(r))), code="foreign-key-no-resource"))
                continue
            for side, owner, names in (("fields", resource, key.get("fields")), ("reference.fields", target, reference.get("fields"))):
                names = [names] if isinstance(names, str) else names
                missing = [n for n in names if n not in field_names(owner)] if isinstance(names, list) and names else [names]
                if missing:
                    problems.append(Problem(DESCRIPTOR, None, f"{where}.{side}",
                                            f"{shown(missing[0])} is not a field of resource {shown(owner.get('name'))} — "
                                            "correct the spelling", code="foreign-key-no-field"))
    return problems


def within(root: Path, rel) -> Path | None:
    """``root / rel`` resolved, if ``rel`` is a relative path (no '..', URL, drive or
    backslash) that stays inside ``root`` once links are followed and names no folder or
    special file; otherwise None. Every path a package, a zip or a user names passes here."""
    text = str(rel)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text) or text.startswith(("/", "\\")) or "\\" in text or ".." in Path(text).parts:
        return None
    target = (root / text).resolve()
    if not target.is_relative_to(root.resolve()) or (target.exists() and not target.is_file()):
        return None
    return target


def containment(root: Path, descriptor: dict) -> list[Problem]:
    """The descriptor may name only files inside the package: every command reads what it
    lists and writes what its name builds, so a path or name that leaves the folder (or a
    schema or dialect given by URL, which frictionless would fetch) is refused before
    anything is read."""
    problems = []
    name = descriptor.get("name")
    if not (isinstance(name, str) and NAME.fullmatch(name) and ".." not in name):
        problems.append(Problem(DESCRIPTOR, None, "name", f"{shown(name)} is not a package name: lower-case letters, digits, "
                                                          "'.', '-' and '_' only — it names the workbook and the release zip", code="package-name-invalid"))
    if descriptor.get("$schema", PROFILE) != PROFILE:
        problems.append(Problem(DESCRIPTOR, None, "$schema", f"{shown(descriptor['$schema'])} is not the Data Package 2.0 profile — "
                                                             f"write {PROFILE}; no other is fetched", code="profile-not-v2"))
    for number, resource in enumerate(descriptor["resources"]):
        label = f"resources[{number}]"  # as a JSON path: counted from 0
        if not isinstance(resource, dict) or not isinstance(resource.get("name"), str) or not isinstance(resource.get("path"), str):
            problems.append(Problem(DESCRIPTOR, None, label, "is not a resource with a name and a path — restore it from git", code="resource-invalid"))
            continue
        rel = resource["path"]
        # A folder in place of a table (rel/x inside the package exactly when the folder is).
        if within(root, rel) is None and within(root, rel.rstrip("/") + "/x") is not None and (root / rel).is_dir():
            problems.append(Problem(DESCRIPTOR, None, f"{label}.path", f"{shown(rel)} is a folder, not a file — name the "
                                                                        "table's file, or restore it if a folder took its place", code="resource-path-folder"))
        elif within(root, rel) is None:
            problems.append(Problem(DESCRIPTOR, None, f"{label}.path", f"{shown(rel)} is not a file inside the package folder — "
                                                                        "give a relative path such as data/claims.csv, with no '..', "
                                                                        "URL or link that leaves the folder", code="resource-path-outside"))
        if isinstance(resource.get("dialect"), dict) and resource["dialect"] != DIALECT:
            problems.append(Problem(DESCRIPTOR, None, f"{label}.dialect", f"is not this package's CSV dialect — write "
                                                                         f"{json.dumps(DIALECT)}: another (comment rows, "
                                                                         "skipped rows, other separators) would hide rows from validation", code="dialect-not-allowed"))
        if resource.get("type") == "table" and isinstance(resource.get("schema", {}), dict) and not (
                isinstance(resource.get("schema"), dict) and isinstance(resource["schema"].get("fields"), list)
                and all(isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("type"), str)
                        for f in resource["schema"]["fields"])):
            problems.append(Problem(DESCRIPTOR, None, f"{label}.schema", "a table needs a schema with its list of fields, each with "
                                                                        "a name and a type — restore it from git", code="schema-missing"))
        for key in ("schema", "dialect"):
            if key in resource and not isinstance(resource[key], dict):
                problems.append(Problem(DESCRIPTOR, None, f"{label}.{key}", f"{shown(resource[key])} is not written out — give the "
                                                                           f"{key} itself in {DESCRIPTOR}; nothing is fetched", code="resource-not-inline"))
    return problems


def read_table(root: Path, resource: dict) -> tuple[Table | None, list[Problem]]:
    """Check one CSV file's bytes and header, then return its rows."""
    rel = resource["path"]
    names = [f["name"] for f in resource["schema"]["fields"]]
    path = root / rel
    if not path.is_file():
        return None, [Problem(rel, None, None, f"is missing — restore it (git checkout -- {rel}) or remove its resource from {DESCRIPTOR}", code="table-missing")]
    data = path.read_bytes()
    if not data.strip():
        return None, [Problem(rel, None, None, "is empty — it needs at least its header row: " + ",".join(names), code="table-empty")]
    if data.startswith(BOM):
        return None, [Problem(rel, 1, names[0], "the file starts with a UTF-8 byte-order mark (BOM), as Excel's 'CSV UTF-8' adds — "
                              "save it as UTF-8 without BOM (LibreOffice: Text CSV, UTF-8) or remove the first three bytes", code="csv-byte-order-mark")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        row, column = locate(data[: error.start].decode("utf-8", errors="replace"), names)
        byte = data[error.start]
        return None, [Problem(rel, row, column,
                              f"byte 0x{byte:02x} is not UTF-8; the file was probably saved as Latin-1 or Windows-1252 — "
                              f"re-save it as UTF-8 (e.g. iconv -f windows-1252 -t utf-8)", code="csv-not-utf8")]
    if "\r\n" in text:
        row, _ = locate(text[: text.index("\r\n")], names)
        return None, [Problem(rel, row, names[-1], "the line ends with CR LF (Windows line endings); this package's CSVs use LF only — "
                              "re-save with Unix (LF) line endings or run: sed -i 's/\\r$//' " + rel, code="csv-crlf")]
    if "\r" in text:
        row, _ = locate(text[: text.index("\r")], names)
        return None, [Problem(rel, row, names[-1], "the line ends with a bare CR (old Mac line endings, or a pasted character); this "
                              "package's CSVs use LF only — re-save with Unix (LF) line endings", code="csv-bare-cr")]
    # A cell may be as long as the file (a note's length has its own rule, with its row);
    # the csv module's default limit would refuse the whole file without saying where.
    csv.field_size_limit(max(len(text), 131072))
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        return None, [Problem(rel, None, None, f"cannot be read as CSV ({error}) — check the quoting", code="csv-unreadable")]
    header_problems = check_header(rel, records[0], names)
    if header_problems:
        return None, header_problems
    # Caught here, one problem per row: frictionless would report every extra cell with a
    # copy of the whole row, which takes minutes for a row of 10,000 stray commas.
    extra = [Problem(rel, number, None, f"the row has {len(record) - len(names):,} more cell(s) than the header has columns — "
                                        "remove them, or quote a value that contains a comma", code="extra-cell")
             for number, record in enumerate(records[1:], start=2) if len(record) > len(names)]
    # A blank line would be a row whose every key is empty, which every empty reference
    # in the table would then point to: one problem, not one per reference.
    extra += [Problem(rel, number, None, "the row is blank — delete it", code="blank-row")
              for number, record in enumerate(records[1:], start=2) if not any(cell.strip() for cell in record)]
    if extra:
        return None, extra
    rows = [Row(number, dict(zip(names, record))) for number, record in enumerate(records[1:], start=2)]
    return Table(resource["name"], rel, resource["schema"]["fields"], rows), []


def check_header(rel: str, header: list[str], names: list[str]) -> list[Problem]:
    problems = []
    for name in names:
        if name not in header:
            problems.append(Problem(rel, 1, name, f"the required column '{name}' is missing — add it (see its description in {DESCRIPTOR})", code="column-missing"))
    if any("\n" in name for name in header):
        return [Problem(rel, 1, None, "a quotation mark in the header row is never closed, so the rest of the file reads as one "
                                      "cell — remove the stray \" or close it", code="header-quote-unclosed")]
    for name in header:
        if name not in names:
            column = name if name.isprintable() and len(name) <= 30 else shown(name, 30)
            problems.append(Problem(rel, 1, column or "(blank)",
                                    f"{shown(name)} is not a column of this table — remove it, or add it to the schema in {DESCRIPTOR} with a title and description", code="column-unknown"))
    seen = set()
    for name in header:
        if name in seen:
            problems.append(Problem(rel, 1, name, f"the column '{name}' appears twice — keep one", code="column-repeated"))
        seen.add(name)
    if not problems and header != names:
        first = next(h for h, n in zip(header, names) if h != n)
        problems.append(Problem(rel, 1, first, "the columns are out of order — put them in the order of " + DESCRIPTOR + ": " + ",".join(names), code="columns-out-of-order"))
    return problems


def locate(prefix: str, names: list[str]) -> tuple[int, str]:
    """Spreadsheet row and column of the position right after ``prefix``."""
    records = list(csv.reader(io.StringIO(prefix, newline=""))) or [[""]]
    if prefix.endswith("\n"):
        records.append([""])
    index = max(len(records[-1]) - 1, 0)
    return len(records), names[min(index, len(names) - 1)]
