"""``python -m estimate xlsx``: every table of the package in one workbook for spreadsheet users.

A README sheet (what this is, the version, how to cite, the licence, how to read it, in
English and Spanish), a codebook sheet generated from datapackage.json, and one sheet per
table. Each cell is written with the type its schema gives, so numbers are numbers,
dates are dates and text is text (never parsed as a formula or a date); every sheet has a
frozen header and id column, filters and widths fitted to its contents. The file is
the same bytes for the same package: XlsxWriter stamps fixed times inside the zip, and
the document's creation time is the package's ``created``.
"""

import io
import math
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

from estimate.publish.citation import apa, bibtex
from estimate.package.outputs import DERIVED, derived_rows, run_writer
from estimate.package.tables import Loaded
from estimate.package.versions import citation, release_moment

WIDTH = {"min": 8, "max": 60, "date": 11}
README_WIDTH, DESCRIPTION_WIDTH = 110, 80
LINE_HEIGHT = 15  # points per line of 11-point text
CODEBOOK = ["table", "column", "title", "type", "required", "allowed values", "description", "example"]
TEXT, DATE = "@", "yyyy-mm-dd"


def path_for(descriptor: dict) -> Path:
    return DERIVED / f"{descriptor['name']}.xlsx"


def table_resources(descriptor: dict) -> list[dict]:
    """Every tabular resource, hand-maintained and derived, in the descriptor's order."""
    return [r for r in descriptor["resources"] if r.get("type") == "table"]


def typed(value: str, kind: str):
    """The Python value a CSV cell stands for under its Table Schema type ('' is no value)."""
    if value == "":
        return None
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "boolean":
        return value == "true"
    return value


def read_rows(package: Loaded, resource: dict) -> list[list[str]]:
    """A table's cells in its schema's order: hand-maintained tables as validated, derived ones
    checked against their schema before use."""
    table = package.tables.get(resource["name"])
    rows = table.rows if table else derived_rows(package, resource["path"])
    return [[row[f["name"]] for f in resource["schema"]["fields"]] for row in rows]


def width(header: str, values: list[str], kind: str) -> float:
    longest = max([len(header)] + [len(v) for v in values])
    if kind == "date":
        longest = max(len(header), WIDTH["date"])
    return min(max(longest + 2, WIDTH["min"]), WIDTH["max"])


class Formats:
    def __init__(self, book):
        self.header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#E8E8E8", "num_format": TEXT})
        self.by_type = {"string": book.add_format({"num_format": TEXT}), "date": book.add_format({"num_format": DATE}),
                        "integer": book.add_format({"num_format": "0"}), "number": book.add_format({"num_format": "General"}),
                        "boolean": book.add_format({})}
        self.title = book.add_format({"bold": True, "font_size": 14, "num_format": TEXT})
        self.heading = book.add_format({"bold": True, "num_format": TEXT})
        self.paragraph = book.add_format({"text_wrap": True, "valign": "top", "num_format": TEXT})


def write_cell(sheet, row: int, col: int, value, fmt) -> None:
    """Write one typed value; strings always as text, so '=...' or '2025-04' stay what they are."""
    if value is None:
        return
    if isinstance(value, bool):
        status = sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        status = sheet.write_number(row, col, value, fmt)
    elif isinstance(value, date):
        status = sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt)
    else:
        status = sheet.write_string(row, col, value, fmt)
    if status != 0:
        raise ValueError(f"cannot write {value!r} to row {row + 1}, column {col + 1} (XlsxWriter status {status})")


def wrapped_height(text: str, width: int) -> float:
    """Row height for wrapped text: spreadsheets do not grow a row for it when opening a file."""
    per_line = width - 6  # a column of width w holds about w characters; leave room for wide letters
    lines = sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))
    return lines * LINE_HEIGHT


def table_sheet(book, formats: Formats, resource: dict, rows: list[list[str]]) -> None:
    fields = resource["schema"]["fields"]
    sheet = book.add_worksheet(resource["name"])
    for col, f in enumerate(fields):
        fmt = formats.by_type.get(f["type"], formats.by_type["string"])
        sheet.set_column(col, col, width(f["name"], [r[col] for r in rows], f["type"]), fmt)
        sheet.write_string(0, col, f["name"], formats.header)
        for i, row in enumerate(rows, start=1):
            write_cell(sheet, i, col, typed(row[col], f["type"]), fmt)
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(len(rows), 1), len(fields) - 1)
    sheet.set_landscape()
    sheet.repeat_rows(0)


def allowed(field: dict) -> str:
    constraints = field.get("constraints", {})
    parts = []
    if "enum" in constraints:
        parts.append(", ".join(map(str, constraints["enum"])))
    for key, words in (("minimum", "at least"), ("maximum", "at most"), ("pattern", "matching")):
        if key in constraints:
            parts.append(f"{words} {constraints[key]}")
    if constraints.get("unique"):
        parts.append("unique")
    return "; ".join(parts)


def codebook_rows(descriptor: dict) -> list[list[str]]:
    rows = []
    for resource in table_resources(descriptor):
        for f in resource["schema"]["fields"]:
            rows.append([resource["name"], f["name"], f.get("title", ""), f["type"] + (f" ({f['format']})" if "format" in f else ""),
                         "yes" if f.get("constraints", {}).get("required") else "no",
                         allowed(f), f.get("description", ""), str(f.get("example", ""))])
    return rows


def codebook_sheet(book, formats: Formats, descriptor: dict) -> None:
    rows = codebook_rows(descriptor)
    sheet = book.add_worksheet("codebook")
    for col, name in enumerate(CODEBOOK):
        values = [r[col] for r in rows]
        fmt = formats.paragraph if name == "description" else formats.by_type["string"]
        sheet.set_column(col, col, DESCRIPTION_WIDTH if name == "description" else width(name, values, "string"), fmt)
        sheet.write_string(0, col, name, formats.header)
        for i, value in enumerate(values, start=1):
            write_cell(sheet, i, col, value or None, fmt)
    for i, row in enumerate(rows, start=1):
        sheet.set_row(i, wrapped_height(row[CODEBOOK.index("description")], DESCRIPTION_WIDTH))
    sheet.freeze_panes(1, 2)
    sheet.autofilter(0, 0, len(rows), len(CODEBOOK) - 1)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)


def readme_lines(descriptor: dict, cff: dict) -> list[tuple[str, str]]:
    """The README sheet as (style, text) lines: title, heading, paragraph or blank."""
    licence = descriptor["licenses"][0]
    lines = [
        ("title", descriptor["title"]),
        ("paragraph", f"Version {descriptor['version']}, released {cff['date-released']}. "
                      f"Versión {descriptor['version']}, publicada el {cff['date-released']}."),
        ("blank", ""),
        ("paragraph", descriptor["description"]),
        ("blank", ""),
        ("heading", "How to cite / Cómo citar"),
        ("paragraph", apa(cff)),
        ("paragraph", bibtex(cff, f"{descriptor['name']}-{descriptor['version']}")),
        ("paragraph", "The same in Citation File Format: CITATION.cff, beside datapackage.json."),
        ("blank", ""),
        ("heading", "Licence / Licencia"),
        ("paragraph", f"Tables and documentation: {licence['title']} ({licence['path']}). The archived source texts in "
                      "data/texts/ are not included here and are not covered by it: their rights remain with the publishers."),
        ("paragraph", f"Tablas y documentación: {licence['name']}. Los textos de las fuentes archivados en data/texts/ no se "
                      "incluyen aquí y no están cubiertos por esa licencia: sus derechos son de los editores."),
        ("blank", ""),
        ("heading", "How to read this workbook"),
        ("paragraph", "One sheet per table of the data package, with the same rows and columns as its CSV file. The CSV "
                      "files are the canonical data; this workbook is generated from them by 'make xlsx'. Each column's "
                      "meaning, type and allowed values are in the sheet 'codebook'."),
        ("paragraph", "A claim is a figure as it appears in one source (sheet 'claims'), with the verbatim quote. "
                      "'ranges' reads each claim's wording ('al menos 600', 'varios cientos') as an interval; "
                      "'estimates' is the fitted model's median and bands for each quantity and date; 'conflicts' lists "
                      "claims that cannot both hold as worded. Claims are claims: they record what was asserted, not "
                      "what is true. Dates are calendar dates; an empty cell means no value (for example an open upper bound)."),
        ("blank", ""),
        ("heading", "Cómo leer este libro"),
        ("paragraph", "Una hoja por tabla del paquete de datos, con las mismas filas y columnas que su archivo CSV. Los "
                      "CSV son los datos canónicos; este libro se genera a partir de ellos con 'make xlsx'. El significado, "
                      "el tipo y los valores permitidos de cada columna están en la hoja 'codebook'."),
        ("paragraph", "Una afirmación (claim) es una cifra tal como aparece en una fuente (hoja 'claims'), con la cita "
                      "literal. 'ranges' traduce cada formulación ('al menos 600', 'varios cientos') a un intervalo; "
                      "'estimates' da la mediana y las bandas del modelo para cada cantidad y fecha; 'conflicts' lista "
                      "afirmaciones que no pueden ser ciertas a la vez tal como están formuladas. Las afirmaciones son "
                      "afirmaciones: registran lo que se dijo, no lo que es cierto. Una celda vacía significa que no hay "
                      "valor (por ejemplo, un límite superior abierto)."),
        ("blank", ""),
        ("heading", "Sheets / Hojas"),
    ]
    for resource in table_resources(descriptor):
        lines.append(("paragraph", f"{resource['name']} ({resource['path']}): {resource.get('description', '')}"))
    return lines


def readme_sheet(book, formats: Formats, descriptor: dict, cff: dict) -> None:
    sheet = book.add_worksheet("README")
    sheet.set_column(0, 0, README_WIDTH, formats.paragraph)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    styles = {"title": formats.title, "heading": formats.heading, "paragraph": formats.paragraph}
    for row, (style, text) in enumerate(readme_lines(descriptor, cff)):
        if style == "paragraph":
            sheet.set_row(row, wrapped_height(text, README_WIDTH))
        if style != "blank":
            write_cell(sheet, row, 0, text, styles[style])


def workbook_bytes(package: Loaded, cff: dict) -> bytes:
    descriptor = package.descriptor
    stream = io.BytesIO()
    book = xlsxwriter.Workbook(stream, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": descriptor["title"], "subject": f"Version {descriptor['version']}",
                         "author": cff["authors"][0].get("name", ""), "keywords": ", ".join(descriptor.get("keywords", [])),
                         "comments": "Generated by 'make xlsx' from the CSV files of the data package.",
                         "created": release_moment(descriptor)})
    formats = Formats(book)
    readme_sheet(book, formats, descriptor, cff)
    codebook_sheet(book, formats, descriptor)
    for resource in table_resources(descriptor):
        table_sheet(book, formats, resource, read_rows(package, resource))
    book.close()
    return stream.getvalue()


def build(package: Loaded, args) -> dict[Path, bytes]:
    return {path_for(package.descriptor): workbook_bytes(package, citation(args.root))}


def main(args) -> int:
    return run_writer(args, build)
