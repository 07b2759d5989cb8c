"""Typed pandas tables of the package: ``from estimate import load; load("claims")``.

Each table is read as the package's own commands read it (validated first, so a broken
table is refused with the problems listed, never half-read), then typed by its schema in
datapackage.json: dates as datetime64, whole numbers as nullable integers, other numbers
as nullable floats, yes/no columns as nullable booleans, coded columns (those whose
schema lists their values) as categories in the codebook's order, and text as strings.
An empty cell is missing (<NA> or NaT): an open upper bound is an empty ``value_high``
beside ``high_is_open`` = True. Each column's title and description are in
``frame.attrs["fields"]``, the table's in ``frame.attrs["title"]`` and ``["description"]``.
"""

from pathlib import Path

import pandas as pd

from estimate.package.outputs import InvalidPackage, UsageError, derived_rows, valid_package
from estimate.package.tables import DERIVED_PREFIX

# The package this module belongs to: load() reads it unless given another folder.
HOME = Path(__file__).resolve().parents[2]


class LoadError(UsageError, ValueError):
    """A table that cannot be loaded: the message says which and what to do, the code what
    kind of refusal it is."""


def tables(root: Path | str | None = None) -> list[str]:
    """The names of the package's tables, as load() takes them."""
    package = package_at(root)
    return [r["name"] for r in package.descriptor["resources"] if "schema" in r]


def package_at(root):
    try:
        return valid_package(Path(root or HOME))
    except InvalidPackage as error:
        raise LoadError("\n".join(map(str, error.problems)) + f"\n{len(error.problems)} problem(s) in the data package at "
                        f"{root or HOME}: fix them (python -m estimate validate lists them) and load again",
                        code="package-invalid") from None


def load(name: str, root: Path | str | None = None) -> pd.DataFrame:
    """The table ``name`` (a resource of datapackage.json: claims, sources, estimates, …) as a
    typed DataFrame, from the package at ``root`` (default: the one this module is in)."""
    package = package_at(root)
    resource = next((r for r in package.descriptor["resources"] if r["name"] == name and "schema" in r), None)
    if resource is None:
        names = ", ".join(r["name"] for r in package.descriptor["resources"] if "schema" in r)
        raise LoadError(f"there is no table {name!r} in the package — use one of: {names}", code="table-unknown")
    if resource["path"].startswith(DERIVED_PREFIX):
        try:
            rows = derived_rows(package, resource["path"])
        except UsageError as error:
            raise LoadError(error.message, code=error.code) from None
    else:
        rows = package.tables[name].rows
    fields = resource["schema"]["fields"]
    frame = pd.DataFrame({f["name"]: typed([row[f["name"]] for row in rows], f) for f in fields}, index=pd.RangeIndex(len(rows)))
    frame.attrs.update(name=name, title=resource.get("title", ""), description=resource.get("description", ""),
                       fields={f["name"]: {"title": f.get("title", ""), "description": f.get("description", "")} for f in fields})
    return frame


def typed(cells: list[str], field: dict) -> pd.Series:
    """One column's text cells as its schema's type; an empty cell is missing."""
    kind = field["type"]
    text = pd.Series(cells, dtype="string").replace("", pd.NA)
    if kind == "date":
        return pd.to_datetime(text, format="%Y-%m-%d").astype("datetime64[s]")
    if kind == "integer":
        return pd.to_numeric(text).astype("Int64")
    if kind == "number":
        return pd.to_numeric(text).astype("Float64")
    if kind == "boolean":
        truth = {v: True for v in field.get("trueValues", ["true"])} | {v: False for v in field.get("falseValues", ["false"])}
        return text.map(truth, na_action="ignore").astype("boolean")
    values = field.get("constraints", {}).get("enum")
    if values:
        return text.astype(pd.CategoricalDtype(values))
    return text
