"""``python -m estimate bump X.Y.Z``: give the changes under '## Unreleased' a version.

Writes the one version and its date into all three places at once (all or none):
``version`` and ``created`` in datapackage.json, ``version`` and ``date-released`` in
CITATION.cff, and the CHANGELOG heading '## Unreleased', which becomes '## X.Y.Z — DATE'.
"""

import re
import sys
from datetime import date
from pathlib import Path

from estimate.package.outputs import UsageError, commit, refusal
from estimate.package.tables import DESCRIPTOR, descriptor_bytes, read_descriptor
from estimate.package.versions import CHANGELOG, CITATION, parts, released

def replace_once(text: str, pattern: str, new: str, file: str, what: str) -> str:
    result, count = re.subn(pattern, new, text, count=1, flags=re.MULTILINE)
    if count != 1:
        raise UsageError(f"{file} has no {what} — add it, then run the command again", code="version-file-incomplete")
    return result


def bumped(root: Path, version: str, day: date) -> dict[Path, bytes]:
    """The three files with the new version and date."""
    descriptor, problems = read_descriptor(root)
    if problems:
        raise UsageError("; ".join(map(str, problems)), code="version-descriptor-invalid")
    current = str(descriptor.get("version", "0.0.0"))
    if parts(version) is None:
        raise UsageError(f"{version!r} is not a version — write it as MAJOR.MINOR.PATCH, e.g. 0.2.0", code="version-not-a-version")
    if parts(version) <= (parts(current) or (0, 0, 0)):
        raise UsageError(f"{version} is not after the current version {current} — choose a later one (see README, Versions)", code="version-not-later")
    if day > date.today():
        raise UsageError(f"{day} is in the future — a version is dated the day it is released (today, {date.today()}, by default)", code="version-date-in-future")
    if released(descriptor) and day < date.fromisoformat(released(descriptor)):
        raise UsageError(f"{day} is before {released(descriptor)}, the date of the current version {current} — date the new "
                         "one on or after it", code="version-date-before-current")
    descriptor["version"], descriptor["created"] = version, f"{day.isoformat()}T00:00:00Z"
    citation = (root / CITATION).read_text(encoding="utf-8")
    citation = replace_once(citation, r"^version: .*$", f'version: "{version}"', CITATION, "'version:' line")
    citation = replace_once(citation, r"^date-released: .*$", f'date-released: "{day.isoformat()}"', CITATION, "'date-released:' line")
    log = replace_once((root / CHANGELOG).read_text(encoding="utf-8"), r"^## Unreleased\s*$", f"## {version} — {day.isoformat()}",
                       CHANGELOG, "'## Unreleased' heading listing the changes")
    return {Path(DESCRIPTOR): descriptor_bytes(descriptor),
            Path(CITATION): citation.encode("utf-8"), Path(CHANGELOG): log.encode("utf-8")}


def main(args) -> int:
    try:
        files = bumped(args.root, args.version, args.date or date.today())
    except UsageError as error:
        print(refusal(f"{error.message}; nothing was changed.", error.code), file=sys.stderr)
        return 2
    except (OSError, ValueError) as error:
        print(refusal(f"{error}; nothing was changed.", "version-files-unreadable"), file=sys.stderr)
        return 2
    for path in commit(args.root, files):
        print(f"wrote {path}", file=sys.stderr)
    print(f"Version {args.version}. Next: make derived figures (the workbook and the charts show the version), "
          "make test, commit, then make release.", file=sys.stderr)
    return 0
