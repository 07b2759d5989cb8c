"""``python -m estimate validate``: check the data package and list every problem.

Three layers, each reported as ``file row N, column C: what is wrong — what to do``:
1. the files themselves (encoding, BOM, line endings, header) — if these fail, the
   other layers would only echo them, so the run stops there;
2. frictionless on the table schemas (types, required, enums, keys, references);
3. the integrity rules of estimate.package.integrity (quotes, phrases, numbers, dates, hashes).
Validation writes nothing.
"""

import json
import re
from pathlib import Path

from frictionless import Package, Resource

from estimate.package import integrity
from estimate.package.problems import Problem, report, shown, sort_key
from estimate.package.tables import DESCRIPTOR, Loaded, frictionless_view, load, referenced

TYPE_HINTS = {
    "date": "write it as YYYY-MM-DD (ISO 8601), e.g. 2025-04-30",
    "number": "write digits with '.' as the decimal mark and no thousands separator, e.g. 11000 or 0.85",
    "integer": "write digits only, e.g. 11000",
    "boolean": "write true or false",
}


def validate_package(root: Path) -> list[Problem]:
    """Every problem in the package at ``root``, sorted by file, row and column."""
    package, problems = load(root)
    if package is None or problems:
        return sorted(set(problems), key=sort_key)
    problems = schema_problems(package) + integrity.check(package)
    return sorted(set(problems), key=sort_key)


def schema_problems(package: Loaded) -> list[Problem]:
    """Frictionless validation of the tables, with messages that say what to do."""
    # Archived texts are checked by integrity.source_rows, against sources.csv and the
    # descriptor both; frictionless would only repeat those findings less precisely.
    descriptor = frictionless_view({**package.descriptor, "resources": package.table_resources()})
    meta = [Problem(DESCRIPTOR, None, None, f"{error.note} — fix {DESCRIPTOR}", code="descriptor-invalid") for error in Package.metadata_validate(descriptor)]
    if meta:
        return meta
    report = Package(descriptor, basepath=str(package.root)).validate()
    resources = {r["name"]: r for r in package.descriptor["resources"]}
    problems = [Problem(DESCRIPTOR, None, None, error.message, code=error.type) for error in report.errors]
    for task in report.tasks:
        resource = resources[task.name]
        problems += [describe(resource, resources, error) for error in task.errors]
    return problems


def table_problems(package: Loaded, resource: dict) -> list[Problem]:
    """Frictionless validation of one table against its schema (types, constraints, keys;
    references to other tables aside: a derived table is checked for what it holds)."""
    schema = {k: v for k, v in resource["schema"].items() if k != "foreignKeys"}
    report = Resource({**resource, "schema": schema}, basepath=str(package.root)).validate()
    resources = {r["name"]: r for r in package.descriptor["resources"]}
    return [describe(resource, resources, error) for task in report.tasks for error in task.errors]


def describe(resource: dict, resources: dict, error) -> Problem:
    """Our sentence for a frictionless error, or frictionless's own when the error has an
    unforeseen shape (a damaged file can produce any), so that validation never crashes."""
    try:
        return rephrase(resource, resources, error)
    except (IndexError, KeyError, ValueError, StopIteration):
        return Problem(resource["path"], getattr(error, "row_number", None), None, error.message, code=error.type)


def rephrase(resource: dict, resources: dict, error) -> Problem:
    path = resource["path"]
    row = getattr(error, "row_number", None)
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    column = getattr(error, "field_name", None)
    cell = getattr(error, "cell", None)
    kind = error.type
    if kind == "foreign-key":
        column = error.field_names[0]
        value = error.cells[list(fields).index(column)]
        target = next(fk["reference"] for fk in resource["schema"]["foreignKeys"] if fk["fields"][0] == column)
        target_path = resources[referenced(target, resource)]["path"]
        message = f"{shown(value)} is not a {target['fields'][0]} in {target_path} — add it there or fix the spelling"
    elif kind == "type-error":
        field = fields[column]
        message = f"{shown(cell)} is not a valid {field['type']} — {TYPE_HINTS.get(field['type'], 'see ' + DESCRIPTOR)}"
    elif kind == "constraint-error":
        message = constraint_message(fields[column], cell, error.note)
    elif kind in ("unique-error", "primary-key"):
        primary = resource["schema"].get("primaryKey", [])
        primary = [primary] if isinstance(primary, str) else primary
        column = column or primary[0]
        first = re.search(r'position "(\d+)"', error.note)
        where = f" in row {first.group(1)}" if first else ""
        value = cell if cell is not None else next(iter(error.cells), "")
        advice = ("give this row a new id" if [column] == primary
                  else f"each row needs its own {column}: correct one of the two")
        message = (f"{shown(value)} is already used{where} — it must be unique: {advice}" if value not in (None, "")
                   else "the key is empty — fill it in, or delete the row if it is blank")
    elif kind == "blank-row":
        message = "the row is blank — delete it"
    elif kind == "missing-cell":
        message = "the row has fewer cells than the header has columns — add the missing cells (empty ones are fine)"
    else:
        message = error.message
    return Problem(path, row, column, message, code=kind)


def constraint_message(field: dict, cell, note: str) -> str:
    constraint = re.search(r'constraint "(\w+)"', note)
    name = constraint.group(1) if constraint else ""
    rules = field.get("constraints", {})
    if name == "required":
        return "is empty, but required — fill it in"
    if name == "enum":
        return f"{shown(cell)} is not one of: {', '.join(rules['enum'])} — use one of these"
    if name in ("minimum", "maximum"):
        word = "below the minimum" if name == "minimum" else "above the maximum"
        return f"{cell} is {word} {rules[name]} — correct it"
    if name == "pattern":
        return f"{shown(cell)} is not of the expected form (like '{field.get('example', '')}') — correct it"
    if name == "unique":
        return f"{shown(cell)} is already used — it must be unique"
    if name in ("minLength", "maxLength"):
        word = "fewer than the" if name == "minLength" else "more than the"
        return f"{shown(cell)} has {len(str(cell)):,} characters, {word} {rules[name]:,} allowed — correct it"
    return f"{shown(cell)} breaks the constraint {note} — see {DESCRIPTOR}"


def main(args) -> int:
    problems = validate_package(args.root)
    if args.json:
        # For machines: every problem as a record, on standard output; the exit code as below.
        records = [{"file": p.file, "row": p.row, "column": p.column, "code": p.code, "message": p.message} for p in problems]
        print(json.dumps({"valid": not problems, "problems": records}, ensure_ascii=False, indent=1))
        return 1 if problems else 0
    if problems:
        return report(problems, "; nothing was written. Fix them and run 'make validate' again.")
    package, _ = load(args.root)
    counts = ", ".join(f"{len(t.rows)} {name}" for name, t in package.tables.items())
    print(f"The data package is valid: {counts}.")
    return 0
