"""``python -m estimate diff OLD NEW``: what changed between two versions of the package.

OLD and NEW are package folders or release zips. The report lists sources and claims
added, removed (which the versioning policy forbids) and changed, field by field; the
columns added or removed; the estimates whose low, median or high moved by more than
``--threshold`` (0.1 or 10%), grouped by quantity with the largest move; and the
version change the differences call for. Exit status as diff(1): 0 no differences,
1 differences, 2 trouble. Tables are read as plain CSV through each
side's own descriptor, so versions with different columns still compare.
"""

import csv
import json
import sys
import tempfile
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from estimate.package.outputs import UsageError, refusal
from estimate.package.tables import DESCRIPTOR, within
from estimate.package.versions import parts

SHOWN = 100  # characters of a changed value shown in the report
ESTIMATE_KEY = ("subject_id", "quantity", "date")
ESTIMATE_VALUES = ("value_low", "value_central", "value_high")


@dataclass
class Side:
    label: str
    root: Path
    descriptor: dict

    @property
    def version(self) -> str:
        return str(self.descriptor.get("version", "?"))

    def table(self, name: str) -> tuple[list[str], dict[str, dict]] | None:
        """A table's columns and its rows by first-column key, or None if this side has no such table."""
        resource = next((r for r in self.descriptor.get("resources", []) if isinstance(r, dict) and r.get("name") == name), None)
        path = contained(self.root, resource.get("path") if resource else None)
        if path is None:
            return None
        try:
            with open(path, encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f)
                rows = list(reader)
                columns = list(reader.fieldnames or [])
        except (UnicodeDecodeError, csv.Error) as error:
            raise UsageError(f"{resource['path']} in {self.label} cannot be read as a UTF-8 CSV file ({error}) — "
                             "compare versions whose tables pass 'make validate'", code="diff-table-unreadable") from None
        key = ESTIMATE_KEY if name == "estimates" else (columns[0],)
        return columns, {"|".join(row[k] for k in key): row for row in rows}


def contained(root: Path, rel) -> Path | None:
    """``root / rel`` when it is a file inside ``root``, else None: a version under comparison
    may name any path, and nothing outside it is ever read."""
    path = within(root, rel) if isinstance(rel, str) else None
    return path if path is not None and path.is_file() else None


# The most one file of a release may unpack to: the package's largest file is well under
# 1 MB, and a zip crafted to unpack to gigabytes must not fill the disk.
UNPACK_LIMIT = 64 * 2**20


def no_room(folder: Path, error: OSError) -> str:
    return (f"cannot unpack the release zip into the temporary folder {folder} ({error.strerror or error}) — free space "
            "there, or set TMPDIR to a folder with room")


def unpack(path: Path, where: Path) -> Path | None:
    """From a release zip, only what diff reads: the descriptor and the CSV tables it lists,
    each refused beyond UNPACK_LIMIT. Returns the folder that holds the descriptor."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            if len(infos) < len(archive.infolist()):
                twice = next(n for n in infos if sum(i.filename == n for i in archive.infolist()) > 1)
                raise UsageError(f"{path} holds {twice} twice — a release zip holds each file once; compare release zips made "
                                 "by 'make release'", code="diff-zip-file-repeated")
            found = sorted((n for n in infos if n.rsplit("/", 1)[-1] == DESCRIPTOR and n.count("/") <= 1 and within(where, n)), key=len)
            if not found:
                return None
            if len(found) > 1:
                raise UsageError(f"{path} holds {len(found)} descriptors ({', '.join(found)}) — a release zip holds one package; "
                                 "compare release zips made by 'make release'", code="diff-zip-descriptors-many")
            top = found[0][: -len(DESCRIPTOR)]

            def take(name: str) -> None:
                with archive.open(infos[name]) as member:
                    data = member.read(UNPACK_LIMIT + 1)
                if len(data) > UNPACK_LIMIT:
                    raise UsageError(f"{name} in {path} unpacks to more than {UNPACK_LIMIT // 2**20} MB — not a release of "
                                     "this package; compare release zips made by 'make release'", code="diff-zip-too-large")
                target = where / name
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                except OSError as error:
                    raise UsageError(no_room(where.parent, error), code="diff-no-room") from None

            take(found[0])
            descriptor = json.loads((where / found[0]).read_text(encoding="utf-8"))
            for resource in descriptor.get("resources", []) if isinstance(descriptor, dict) else []:
                rel = resource.get("path") if isinstance(resource, dict) else None
                if isinstance(rel, str) and rel.endswith(".csv") and within(where, top + rel):
                    if top + rel not in infos:
                        raise UsageError(f"{path} lists {rel} in its descriptor but does not hold it — not a whole release; "
                                         "compare release zips made by 'make release'", code="diff-zip-file-missing")
                    take(top + rel)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as error:
        raise UsageError(f"{path} cannot be read as a release zip ({error}) — give a zip made by 'make release'", code="diff-zip-unreadable") from None
    return where / top


def open_side(path: Path, stack: ExitStack) -> Side:
    """A package folder as it is, or what diff needs of a release zip, unpacked into a
    temporary folder."""
    if zipfile.is_zipfile(path):
        try:
            where = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="estimate-diff-")))
        except OSError as error:
            raise UsageError(no_room(Path(tempfile.gettempdir()), error), code="diff-no-room") from None
        root = unpack(path, where)
    elif path.is_dir():
        root = path if (path / DESCRIPTOR).is_file() else None
    else:
        raise UsageError(f"{path} is neither a folder nor a zip file — give a package folder or a release zip", code="diff-not-a-package")
    if root is None:
        raise UsageError(f"{path} holds no {DESCRIPTOR} — give a package folder or a release zip made by 'make release'", code="diff-descriptor-missing")
    try:
        descriptor = json.loads((root / DESCRIPTOR).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise UsageError(f"cannot read {DESCRIPTOR} in {path} ({str(error)[:200]}) — give a package folder or release zip "
                         "that passes 'make validate'", code="diff-descriptor-unreadable") from None
    if not isinstance(descriptor, dict):
        raise UsageError(f"{DESCRIPTOR} in {path} is not a data package descriptor — give one that passes 'make validate'", code="diff-descriptor-invalid")
    return Side(str(path), root, descriptor)


def quoted(value: str) -> str:
    """A cell as the report quotes it: on one line, cut short when long."""
    value = value.replace("\n", " ")
    return repr(value if len(value) <= SHOWN else value[:SHOWN - 1] + "…")


def changed_fields(old: dict, new: dict) -> list[str]:
    return [f"{c}: {quoted(old.get(c, ''))} → {quoted(new.get(c, ''))}"
            for c in list(old) + [c for c in new if c not in old] if old.get(c, "") != new.get(c, "")]


@dataclass
class Comparison:
    lines: list[str]
    bump: int = 0  # 0 none, 1 patch, 2 minor, 3 major: what the differences call for
    reasons: list[str] = field(default_factory=list)

    def need(self, level: int, reason: str) -> None:
        self.bump = max(self.bump, level)
        self.reasons.append(reason)


def compare_records(name: str, old: Side, new: Side, describe, report: Comparison) -> None:
    """Rows added, removed and changed in one keyed table, and columns added or removed."""
    before, after = old.table(name), new.table(name)
    if before is None and after is None:
        return
    (old_columns, old_rows), (new_columns, new_rows) = before or ([], {}), after or ([], {})
    added = [k for k in new_rows if k not in old_rows]
    removed = [k for k in old_rows if k not in new_rows]
    # A new, empty column alone changes no row: cells compare with '' where a side lacks the column.
    changed = [k for k in old_rows if k in new_rows and changed_fields(old_rows[k], new_rows[k])]
    report.lines.append(f"{name.capitalize()}: {len(added)} added, {len(removed)} removed, {len(changed)} changed")
    for column in (c for c in new_columns if c not in old_columns):
        report.lines.append(f"  column added: {column}")
        report.need(2, f"a column added to {name}")
    for column in (c for c in old_columns if c not in new_columns):
        report.lines.append(f"  column removed: {column}")
        report.need(3, f"a column removed from {name}")
    for key in added:
        report.lines.append(f"  + {key} {describe(new_rows[key])}")
        report.need(2, f"{name} added")
    for key in removed:
        report.lines.append(f"  - {key} {describe(old_rows[key])} — REMOVED: the versioning policy keeps every row; "
                            "restore it with a status (retracted or superseded) instead")
        report.need(3, f"{name} removed")
    for key in changed:
        fields = changed_fields(old_rows[key], new_rows[key])
        report.lines.append(f"  ~ {key} {describe(new_rows[key])}")
        report.lines += [f"      {f}" for f in fields]
        report.need(1, f"{name} corrected")


def claim_words(row: dict) -> str:
    status = "" if row.get("status", "active") == "active" else f" [{row['status']}]"
    return f"({row.get('source_id', '')}, {row.get('claimant_id', '')}, {row.get('quantity', '')}): {quoted(row.get('phrase', ''))}{status}"


def source_words(row: dict) -> str:
    return quoted(row.get("title", ""))


LABELS = {"value_low": "low", "value_central": "median", "value_high": "high"}


def moves(old: dict, new: dict, threshold: float) -> list[tuple[str, str, str, float]]:
    """The low, median and high values that moved by more than ``threshold`` (relative to the
    old value, or to 1 for values below 1), as (label, old, new, relative move); a bound that
    opened or closed counts as an infinite move."""
    result = []
    for column, label in LABELS.items():
        a, b = old.get(column, ""), new.get(column, "")
        if a == b:
            continue
        size = float("inf") if "" in (a, b) else abs(float(b) - float(a)) / max(abs(float(a)), 1.0)
        if size > threshold:
            result.append((label, a, b, size))
    return result


def as_count(value: str) -> str:
    """An estimate's cell as a count of people; empty is an open bound."""
    return "open" if value == "" else f"{float(value):,.0f}"


def compare_estimates(old: Side, new: Side, threshold: float, report: Comparison) -> None:
    before, after = old.table("estimates"), new.table("estimates")
    if before is None or after is None:
        return
    old_rows, new_rows = before[1], after[1]
    groups: dict[tuple, list] = {}
    for key, row in new_rows.items():
        if key in old_rows and (moved := moves(old_rows[key], row, threshold)):
            groups.setdefault((row["subject_id"], row["quantity"]), []).append((max(m[3] for m in moved), row["date"], moved))
    only_old, only_new = len(set(old_rows) - set(new_rows)), len(set(new_rows) - set(old_rows))
    total = sum(len(g) for g in groups.values())
    report.lines.append(f"Estimates: {total} of {len(set(old_rows) & set(new_rows))} shared dates moved by more than "
                        f"{threshold:.0%}; {only_new} dates only in NEW, {only_old} only in OLD")
    if total or only_old or only_new:
        # Moved estimates with unchanged claims mean a changed model or lexicon: a patch at
        # least, and a major version if the estimates now mean something else.
        report.need(1, "estimates moved")
    for (subject, quantity), rows in sorted(groups.items()):
        _, day, moved = max(rows, key=lambda r: (r[0], r[1]))
        what = "; ".join(f"{label} {as_count(a)} → {as_count(b)}" + ("" if size == float("inf") else f" ({'+' if float(b) > float(a) else '−'}{size:.0%})")
                         for label, a, b, size in moved)
        report.lines.append(f"  {subject} {quantity}: {len(rows)} dates; the largest move, at {day}: {what}")


def report_for(old: Side, new: Side, threshold: float) -> list[str]:
    report = Comparison(lines=[f"OLD: {old.descriptor.get('name', '?')} {old.version} ({old.label})",
                               f"NEW: {new.descriptor.get('name', '?')} {new.version} ({new.label})", ""])
    compare_records("sources", old, new, source_words, report)
    compare_records("claims", old, new, claim_words, report)
    compare_estimates(old, new, threshold, report)
    report.lines.append("")
    if report.bump == 0:
        report.lines.append("No differences in sources, claims or estimates.")
    else:
        report.lines.append(version_advice(old.version, new.version, report))
    return report.lines


def version_advice(old: str, new: str, report: Comparison) -> str:
    """Whether the version step matches what the differences call for (see README, Versions)."""
    names = {1: "patch", 2: "minor", 3: "major"}
    need = f"the differences ({', '.join(dict.fromkeys(report.reasons))}) call for a {names[report.bump]} version"
    a, b = parts(old), parts(new)
    if a is None or b is None:
        return f"Version {old} → {new}: {need}."
    if b < a:
        return f"Version {old} → {new}: NEW is older than OLD — give the older version first."
    if b == a:
        return f"Version unchanged at {old}, but {need}."
    step = next(3 - i for i in range(3) if b[i] != a[i])  # 3 major, 2 minor, 1 patch
    return f"Version {old} → {new}: a {names[step]} step; {need}{'' if step >= report.bump else ' at least'}."


def main(args) -> int:
    with ExitStack() as stack:
        try:
            old, new = open_side(args.old, stack), open_side(args.new, stack)
            lines = report_for(old, new, args.threshold)
        except UsageError as error:
            print(error, file=sys.stderr)
            return 2
        except (ValueError, KeyError, TypeError) as error:
            # A table whose values are not what make writes (a word where a number belongs).
            print(refusal(f"cannot compare {args.old} with {args.new}: a table holds a value of the wrong kind ({str(error)[:200]}) — "
                          "compare versions that pass 'make validate' and 'make reproduce'", "diff-value-wrong-kind"), file=sys.stderr)
            return 2
        print("\n".join(lines))
    # As diff(1) does: 0 when the versions do not differ, 1 when they do, 2 for trouble.
    return 0 if lines[-1].startswith("No differences") else 1
