"""``python -m estimate sqlite``: every table in one SQLite database, with its keys, and a
Datasette metadata file built from the codebook.

``dist/<name>.sqlite`` holds each table of datapackage.json with typed columns
(INTEGER, REAL, ISO dates as TEXT checked by pattern, booleans as 0/1), its primary key
and foreign keys, and views that read like one flat table (``claims_flat``: a claim with
its claimant, source, interval and how the fit treats it). Beside it,
``<name>.datasette.json`` gives Datasette the titles, descriptions, licence and
source, so that ``datasette <file>.sqlite -m <file>.datasette.json`` serves a documented,
browsable database (the version is in its ``source``). The file is built in memory and written whole; it is not committed
(its header records the SQLite library's version, which differs between machines).
"""

import json
import sqlite3
from pathlib import Path

from estimate.package.outputs import run_writer
from estimate.package.tables import Loaded, address, referenced
from estimate.publish.workbook import read_rows, table_resources, typed

SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "date": "TEXT"}
ISO_DATE = "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]"
# One row per claim, with what a reader needs beside it: who said it, where it was printed,
# its interval under the main lexicon and how the fit used it.
VIEWS = {
    "claims_flat": """
        SELECT c.claim_id, c.subject_id, c.quantity, c.time_scope, c.as_of_date_earliest, c.as_of_date_latest,
               c.phrase, c.hedge_id, c.stated_value, c.stated_low, c.stated_high, c.unit, c.status,
               c.claimant_id, cl.name AS claimant, cl.name_es AS claimant_es, cl.kind AS claimant_kind,
               cl.country AS claimant_country, c.attribution, c.origin_id, c.origin_id = c.claim_id AS is_origin,
               c.source_id, s.kind AS source_kind, s.outlet, s.url, s.title AS source_title,
               s.published_date_earliest, s.published_date_latest, s.language AS source_language,
               r.value_low, r.value_high, r.high_is_open, r.implied_count_low, r.implied_count_high,
               f.used_in_fit, f.reason AS not_used_because, f.fitted_low, f.fitted_central, f.fitted_high,
               f.loo_tail_probability, f.bias_explains,
               c.quote, c.paraphrase, c.note
        FROM claims AS c
        JOIN claimants AS cl ON cl.claimant_id = c.claimant_id
        JOIN sources AS s ON s.source_id = c.source_id
        LEFT JOIN ranges AS r ON r.claim_id = c.claim_id AND r.lexicon = 'main'
        LEFT JOIN claim_fit AS f ON f.claim_id = c.claim_id
        ORDER BY c.claim_id""",
    "estimates_flat": """
        SELECT e.*, s.name AS subject, s.name_es AS subject_es
        FROM estimates AS e JOIN subjects AS s ON s.subject_id = e.subject_id
        ORDER BY e.subject_id, e.quantity, e.date""",
}
VIEW_TEXT = {
    "claims_flat": ("Claims, one row each, with their claimant, source and interval",
                    "Each claim with its claimant's name and kind, the source's outlet, link and dates, its interval under "
                    "the main lexicon (ranges) and how the fit used it (claim_fit)."),
    "estimates_flat": ("Estimates with the subject's name", "The fitted estimates (estimates) with the subject's name."),
}


def column(field: dict) -> str:
    name = quoted(field["name"])
    parts = [name, SQL_TYPES[field["type"]]]
    if field.get("constraints", {}).get("required"):
        parts.append("NOT NULL")
    if field["type"] == "boolean":
        parts.append(f"CHECK ({name} IN (0, 1))")
    if field["type"] == "date":
        parts.append(f"CHECK ({name} GLOB '{ISO_DATE}')")
    return " ".join(parts)


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def create(resource: dict) -> str:
    """CREATE TABLE with the schema's columns, primary key and foreign keys."""
    schema = resource["schema"]
    lines = [column(f) for f in schema["fields"]]
    if schema.get("primaryKey"):
        lines.append(f"PRIMARY KEY ({', '.join(map(quoted, schema['primaryKey']))})")
    for key in schema.get("foreignKeys", []):
        target = referenced(key["reference"], resource)
        lines.append(f"FOREIGN KEY ({', '.join(map(quoted, key['fields']))}) "
                     f"REFERENCES {quoted(target)} ({', '.join(map(quoted, key['reference']['fields']))})")
    return f"CREATE TABLE {quoted(resource['name'])} (\n  " + ",\n  ".join(lines) + "\n) STRICT"


def cell(value):
    """A typed CSV value as SQLite stores it: dates as ISO text, booleans as 0 or 1."""
    if isinstance(value, bool):
        return int(value)
    return value.isoformat() if hasattr(value, "isoformat") else value


def database(package: Loaded) -> bytes:
    """The database's bytes: every table filled, its keys checked, the views created."""
    connection = sqlite3.connect(":memory:")
    try:
        for resource in table_resources(package.descriptor):
            fields = resource["schema"]["fields"]
            connection.execute(create(resource))
            marks = ", ".join("?" for _ in fields)
            connection.executemany(f"INSERT INTO {quoted(resource['name'])} VALUES ({marks})",
                                   [[cell(typed(v, f["type"])) for v, f in zip(row, fields)] for row in read_rows(package, resource)])
        broken = connection.execute("PRAGMA foreign_key_check").fetchall()
        assert not broken, f"foreign keys the validation passed are broken in the database: {broken[:3]}"
        for name, select in VIEWS.items():
            connection.execute(f"CREATE VIEW {quoted(name)} AS {select}")
        connection.commit()
        connection.execute("VACUUM")
        return connection.serialize()
    finally:
        connection.close()


def metadata(package: Loaded, database_name: str) -> dict:
    """Datasette's metadata: the package's title, licence and source, and each table's and
    column's title and description from the codebook."""
    descriptor = package.descriptor
    licence = descriptor["licenses"][0]
    result = {"title": descriptor["title"], "description": descriptor.get("description", ""),
              "license": licence["name"], "license_url": licence.get("path", ""),
              "source": descriptor["name"] + " v" + descriptor["version"], "databases": {database_name: {"tables": {}}}}
    if address(descriptor):
        result["source_url"] = address(descriptor)
    tables = result["databases"][database_name]["tables"]
    for resource in table_resources(descriptor):
        tables[resource["name"]] = {"title": resource.get("title", resource["name"]), "description": resource.get("description", ""),
                                    "columns": {f["name"]: f.get("description", "") for f in resource["schema"]["fields"]}}
    for name, (title, description) in VIEW_TEXT.items():
        tables[name] = {"title": title, "description": description}
    return result


def build(package: Loaded, args) -> dict[Path, bytes]:
    # Named without the version: Datasette takes the database's name, used in every URL,
    # from the file's, and a dot there would be escaped; the version is in the metadata.
    stem = package.descriptor["name"]
    meta = json.dumps(metadata(package, stem), ensure_ascii=False, indent=2) + "\n"
    return {args.output / f"{stem}.sqlite": database(package), args.output / f"{stem}.datasette.json": meta.encode("utf-8")}


def main(args) -> int:
    return run_writer(args, build)
