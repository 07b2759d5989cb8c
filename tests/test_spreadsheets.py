"""The tables as spreadsheet users meet them: the workbook, and each CSV opened in LibreOffice.

LibreOffice converts each file to flat OpenDocument (.fods), whose cells carry their type
(float, date, string, boolean) and any formula, and every value is compared with the CSV
read under its Table Schema: numbers numeric and equal, dates as dates, text identical
(accents included), no formulas. The test runs wherever ``soffice`` is installed; CI
installs it and sets REQUIRE_SOFFICE=1, which turns its absence into a failure.
"""

import csv
import json
import math
import os
import re
import shutil
import subprocess
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import REPO
from estimate.publish.workbook import codebook_rows, path_for, table_resources

DESCRIPTOR = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))
RESOURCES = table_resources(DESCRIPTOR)
WORKBOOK = REPO / path_for(DESCRIPTOR)
NS = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
      "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
      "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0"}
T, O, X = ("{%s}" % NS[k] for k in ("table", "office", "text"))
# LibreOffice has no boolean cell of its own: a boolean from a workbook comes back as the
# constant formula TRUE() or FALSE(). Those two are the only formulas allowed.
BOOLEAN_FORMULAS = {"of:=TRUE()": "true", "of:=FALSE()": "false"}
# The import settings the README recommends: comma, double quote, UTF-8 (76), from line 1,
# column types, English (USA) (1033) so '.' is the decimal mark, detect special numbers.
CSV_FILTER = "CSV:44,34,76,1,{columns},1033,false,true"
COLUMN_TYPE = {"string": 2}  # Text; every other type is read as Standard


@pytest.fixture(scope="module")
def soffice():
    found = shutil.which("soffice")
    if found is None:
        if os.environ.get("REQUIRE_SOFFICE") == "1":
            pytest.fail("REQUIRE_SOFFICE=1 but soffice is not installed — install the Debian package libreoffice-calc-nogui")
        pytest.skip("LibreOffice (soffice) is not installed; CI installs it and requires these tests")
    return found


def convert(soffice: str, files: list[Path], out: Path, infilter: str | None = None) -> list[Path]:
    """Each file as LibreOffice reads it, saved as flat OpenDocument."""
    command = [soffice, f"-env:UserInstallation={(out / 'profile').as_uri()}", "--headless"]
    if infilter:
        command.append(f"--infilter={infilter}")
    result = subprocess.run(command + ["--convert-to", "fods", "--outdir", str(out)] + [str(f) for f in files],
                            capture_output=True, text=True, timeout=600)
    converted = [out / f"{f.stem}.fods" for f in files]
    missing = [p.name for p in converted if not p.is_file()]
    assert not missing, f"LibreOffice did not convert {missing}: {result.stdout} {result.stderr}"
    return converted


def cell_text(cell: ET.Element) -> str:
    """A cell's text as displayed: paragraphs joined by newlines, <text:s/> spaces expanded."""
    def inline(element):
        parts = [element.text or ""]
        for child in element:
            if child.tag == X + "s":
                parts.append(" " * int(child.get(X + "c", "1")))
            elif child.tag == X + "tab":
                parts.append("\t")
            elif child.tag == X + "line-break":
                parts.append("\n")
            else:
                parts.append(inline(child))
            parts.append(child.tail or "")
        return "".join(parts)
    return "\n".join(inline(p) for p in cell.findall(X + "p"))


def sheets(path: Path) -> dict[str, list[list[dict]]]:
    """Every sheet of a .fods file as rows of cells: type, value, text and formula."""
    result = {}
    for table in ET.parse(path).iter(T + "table"):
        rows = []
        for row in table.iter(T + "table-row"):
            cells = []
            for cell in row:
                if cell.tag not in (T + "table-cell", T + "covered-table-cell"):
                    continue
                kind = cell.get(O + "value-type")
                value = cell.get(O + "value") or cell.get(O + "date-value") or cell.get(O + "boolean-value")
                entry = {"type": kind, "value": value, "text": cell_text(cell), "formula": cell.get(T + "formula")}
                cells += [entry] * int(cell.get(T + "number-columns-repeated", "1"))
            rows += [cells] * int(row.get(T + "number-rows-repeated", "1"))
        result[table.get(T + "name")] = rows
    return result


def csv_rows(resource: dict) -> list[list[str]]:
    with open(REPO / resource["path"], encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def mismatch(expected: str, kind: str, got: dict) -> str | None:
    """Why a cell read back does not hold the CSV value under its schema type, or None."""
    formula = got["formula"]
    if formula and not (kind == "boolean" and formula in BOOLEAN_FORMULAS):
        return f"a formula {formula!r}"
    if expected == "":
        return None if got["type"] is None else f"a {got['type']} where the CSV is empty"
    if kind in ("number", "integer"):
        if got["type"] != "float" or not math.isclose(float(got["value"]), float(expected), rel_tol=1e-12):
            return f"{got['type']} {got['value']!r}, not the number {expected}"
    elif kind == "date":
        if got["type"] != "date" or not got["value"].startswith(expected):
            return f"{got['type']} {got['value'] or got['text']!r}, not the date {expected}"
    elif kind == "boolean":
        value = BOOLEAN_FORMULAS.get(formula) if formula else got["value"]
        if got["type"] not in ("boolean", "float") or value != expected:
            return f"{got['type']} {got['value']!r}, not the boolean {expected}"
    elif got["type"] != "string" or got["text"] != expected:
        return f"{got['type']} {got['text']!r}, not the text {expected!r}"
    return None


def compare(resource: dict, rows: list[list[dict]]) -> list[str]:
    """Every cell of a table that did not come back as its CSV value, located."""
    expected = csv_rows(resource)
    fields = resource["schema"]["fields"]
    problems = []
    for r, line in enumerate(expected):
        got_row = rows[r] if r < len(rows) else []
        for c, value in enumerate(line):
            got = got_row[c] if c < len(got_row) else {"type": None, "value": None, "text": "", "formula": None}
            kind = "string" if r == 0 else fields[c]["type"]
            why = mismatch(value, kind, got)
            if why:
                problems.append(f"{resource['path']} row {r + 1}, column {fields[c]['name']}: {why}")
    return problems


@pytest.fixture(scope="module")
def workbook_sheets(soffice, tmp_path_factory):
    [fods] = convert(soffice, [WORKBOOK], tmp_path_factory.mktemp("xlsx"))
    return sheets(fods)


@pytest.mark.parametrize("resource", RESOURCES, ids=[r["name"] for r in RESOURCES])
def test_each_workbook_sheet_reads_back_as_its_csv(workbook_sheets, resource):
    assert compare(resource, workbook_sheets[resource["name"]]) == []


def test_workbook_has_readme_and_codebook_first(workbook_sheets):
    assert list(workbook_sheets)[:2] == ["README", "codebook"]
    assert list(workbook_sheets)[2:] == [r["name"] for r in RESOURCES]
    readme = "\n".join(row[0]["text"] for row in workbook_sheets["README"] if row)
    for words in (DESCRIPTOR["title"], f"Version {DESCRIPTOR['version']}", f"(Version {DESCRIPTOR['version']}) [Data set]",
                  "CC-BY-4.0", "How to read this workbook", "Cómo leer este libro"):
        assert words in readme
    codebook = [[c["text"] for c in row[:8]] for row in workbook_sheets["codebook"][1:] if row and row[0]["text"]]
    assert codebook == [[v for v in row] for row in codebook_rows(DESCRIPTOR)]
    assert all(c["formula"] is None for sheet in ("README", "codebook") for row in workbook_sheets[sheet] for c in row)


def test_accented_text_is_exercised(workbook_sheets):
    header = [c["text"] for c in workbook_sheets["claims"][0]]
    quotes = [row[header.index("quote")]["text"] for row in workbook_sheets["claims"][1:] if len(row) > header.index("quote")]
    assert any(ch in q for q in quotes for ch in "áéíóúñü")


@pytest.fixture(scope="module")
def csv_sheets(soffice, tmp_path_factory):
    """Each CSV as LibreOffice opens it with the README's settings, text columns typed Text."""
    out = tmp_path_factory.mktemp("csv")
    result = {}
    for resource in RESOURCES:
        columns = "/".join(f"{i}/{COLUMN_TYPE.get(f['type'], 1)}" for i, f in enumerate(resource["schema"]["fields"], start=1))
        copy = out / f"{resource['name']}.csv"  # derived and hand tables share no names, but the stem must be unique
        shutil.copy(REPO / resource["path"], copy)
        [fods] = convert(soffice, [copy], out, CSV_FILTER.format(columns=columns))
        result[resource["name"]] = next(iter(sheets(fods).values()))
    return result


@pytest.mark.parametrize("resource", RESOURCES, ids=[r["name"] for r in RESOURCES])
def test_each_csv_opens_in_libreoffice_with_the_readme_settings(csv_sheets, resource):
    assert compare(resource, csv_sheets[resource["name"]]) == []


def test_the_readme_names_every_text_column_that_looks_like_a_number(soffice, tmp_path):
    """Opened without column types, LibreOffice turns text such as '45,100' or '1.0' into numbers:
    the README must warn about each column where that happens."""
    files = []
    for resource in RESOURCES:
        files.append(tmp_path / f"{resource['name']}.csv")
        shutil.copy(REPO / resource["path"], files[-1])
    converted = convert(soffice, files, tmp_path, CSV_FILTER.format(columns=""))
    misread = set()
    for resource, fods in zip(RESOURCES, converted):
        rows = next(iter(sheets(fods).values()))
        for problem in compare(resource, rows):
            misread.add(re.search(r"column (\w+):", problem).group(1))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Open in Excel"):]
    section = section[:section.index("\n## ", 1)]
    assert misread, "expected LibreOffice to misread some text column without column types"
    assert {c for c in misread if f"`{c}`" not in section} == set()


def test_workbook_cells_are_typed_in_the_file_itself():
    """Without LibreOffice: the sheet XML holds numbers as <v>, dates as numbers with a date
    style, text as inline or shared strings, and no <f> formula anywhere."""
    with zipfile.ZipFile(WORKBOOK) as book:
        names = book.namelist()
        sheets_xml = [book.read(n).decode("utf-8") for n in names if n.startswith("xl/worksheets/sheet")]
    assert len(sheets_xml) == 2 + len(RESOURCES)
    assert not any("<f>" in x or "<f " in x for x in sheets_xml)
    assert all('ySplit="1"' in x and "<autoFilter" in x for x in sheets_xml[1:])


def test_wrapped_readme_rows_are_tall_enough_to_show_their_text():
    """Spreadsheets do not grow a row for wrapped text when opening a file: each paragraph's
    row must be tall enough for its lines, counting a column of width w as w characters."""
    from estimate.publish.workbook import LINE_HEIGHT, README_WIDTH
    with zipfile.ZipFile(WORKBOOK) as book:
        readme = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
        shared = ET.fromstring(book.read("xl/sharedStrings.xml"))
    strings = ["".join(si.itertext()) for si in shared]
    checked = 0
    for number, attributes, body in re.findall(r'<row r="(\d+)"([^>]*)>(.*?)</row>', readme):
        cell = re.search(r't="s"[^>]*><v>(\d+)</v>', body)
        if not cell:
            continue
        text = strings[int(cell.group(1))]
        lines = sum(max(1, math.ceil(len(part) / README_WIDTH)) for part in text.split("\n"))
        height = re.search(r'ht="([\d.]+)"', attributes)
        if lines > 1:
            assert height and float(height.group(1)) >= lines * LINE_HEIGHT, f"README row {number} is too short for {text[:40]!r}"
            checked += 1
    assert checked >= 5
