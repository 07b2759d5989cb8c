"""One version everywhere: datapackage.json, CITATION.cff and the CHANGELOG must agree.

datapackage.json is the source of truth: its ``version`` and the date of its ``created``
are the release. CITATION.cff repeats them for citation tools, and the CHANGELOG's latest
release heading repeats them for readers. The CHANGELOG also accounts for every claim:
each claim_id is listed as added in exactly one version, and each superseded or
retracted claim in a "Claims retracted or superseded" section, so none changes silently.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import yaml

from estimate.package.outputs import UsageError
from estimate.package.problems import Problem
from estimate.package.tables import DESCRIPTOR, VERSION, Loaded

CITATION = "CITATION.cff"
CHANGELOG = "CHANGELOG.md"
HEADING = re.compile(r"^## (?P<version>\d+\.\d+\.\d+|Unreleased)(?: — (?P<date>\d{4}-\d{2}-\d{2}))?\s*$")
SECTION = re.compile(r"^### (?P<title>.+?)\s*$")
# A claim id, or a run of them written first–last (an en dash or a hyphen).
CLAIM_IDS = re.compile(r"\b(c)(\d+)(?:\s*[–-]\s*c(\d+))?\b")
SECTIONS = {"Claims added": "added", "Claims corrected": "corrected", "Claims retracted or superseded": "withdrawn"}


@dataclass
class Release:
    """One heading of the CHANGELOG: a version (or Unreleased), its date, and the claims it lists."""

    version: str
    released: date | None
    line: int
    claims: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in SECTIONS.values()})
    entries: int = 0  # bullet lines under the heading


def expand(text: str) -> list[str]:
    """Claim ids named in a line of text, with runs such as c001–c027 spelled out."""
    ids = []
    for prefix, first, last in CLAIM_IDS.findall(text):
        width = len(first)
        for n in range(int(first), int(last or first) + 1):
            ids.append(f"{prefix}{n:0{width}d}")
    return ids


def changelog(text: str) -> list[Release]:
    """The releases of a CHANGELOG, newest first, as written."""
    releases: list[Release] = []
    kind = None
    for number, line in enumerate(text.splitlines(), start=1):
        if heading := HEADING.match(line):
            released = date.fromisoformat(heading["date"]) if heading["date"] else None
            releases.append(Release(heading["version"], released, number))
            kind = None
        elif section := SECTION.match(line):
            kind = SECTIONS.get(section["title"])
        elif releases and line.startswith("- "):
            releases[-1].entries += 1
            if kind:
                releases[-1].claims[kind] += expand(line)
    return releases


def citation(root: Path) -> dict:
    """CITATION.cff, with what the citation, the workbook and a release take from it checked:
    UsageError with a sentence otherwise."""
    def refused(why: str) -> UsageError:
        return UsageError(f"{CITATION} in {root}: {why} — restore it (git checkout {CITATION}) or fix it; nothing was written.", code="citation-unreadable")
    try:
        cff = yaml.safe_load((root / CITATION).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise refused("is missing") from None
    except UnicodeDecodeError as error:
        raise refused(f"byte {error.start:,} is not UTF-8: save it as UTF-8") from None
    except OSError as error:
        raise refused(f"cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise refused("is not valid YAML" + (f" (line {mark.line + 1}, column {mark.column + 1})" if mark else "")) from None
    if not isinstance(cff, dict):
        raise refused("is not a mapping of keys to values")
    for key in ("title", "version", "date-released", "authors"):
        if key not in cff:
            raise refused(f"has no {key}")
    try:
        date.fromisoformat(str(cff["date-released"]))
    except ValueError:
        raise refused(f"date-released {str(cff['date-released'])!r} is not a date: write it as YYYY-MM-DD") from None
    if not (isinstance(cff["authors"], list) and cff["authors"]
            and all(isinstance(a, dict) and ("name" in a or "family-names" in a) for a in cff["authors"])):
        raise refused("authors must be a list, each with a name or family-names")
    return cff




def parts(version: str) -> tuple[int, int, int] | None:
    """MAJOR.MINOR.PATCH as numbers, or None if ``version`` is not written that way."""
    match = VERSION.fullmatch(str(version))
    return tuple(int(p) for p in match.groups()) if match else None


def released(descriptor: dict) -> str:
    """The release date: the date part of the descriptor's ``created``."""
    return str(descriptor.get("created", ""))[:10]


def release_moment(descriptor: dict) -> datetime:
    """The descriptor's ``created`` in UTC, without a zone: the fixed time inside the zip and the workbook."""
    return datetime.fromisoformat(descriptor["created"].replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)


def check(root: Path, package: Loaded) -> list[Problem]:
    """Every disagreement between the descriptor, CITATION.cff, the CHANGELOG and the claims."""
    descriptor = json.loads((root / DESCRIPTOR).read_text(encoding="utf-8"))
    version, day = descriptor.get("version"), released(descriptor)
    problems = []
    cff = citation(root)
    for key, expected, what in (("version", version, "version"), ("date-released", day, "created date"),
                                ("title", descriptor.get("title"), "title")):
        if str(cff.get(key)) != str(expected):
            problems.append(Problem(CITATION, None, None, f"{key} is {cff.get(key)!r} but datapackage.json's {what} is {expected!r} — "
                                                         "make them the same (datapackage.json is the source of truth)", code="citation-disagrees"))
    releases = changelog((root / CHANGELOG).read_text(encoding="utf-8"))
    dated = [r for r in releases if r.version != "Unreleased"]
    if not dated:
        problems.append(Problem(CHANGELOG, None, None, f"has no release heading such as '## {version} — {day}' — add one", code="release-heading-missing"))
    elif dated[0].released is None:
        problems.append(Problem(CHANGELOG, dated[0].line, None,
                                f"the heading '## {dated[0].version}' has no date — write it as '## {dated[0].version} — YYYY-MM-DD', "
                                "or '## Unreleased' until the release", code="release-heading-undated"))
    elif (dated[0].version, str(dated[0].released)) != (version, day):
        problems.append(Problem(CHANGELOG, dated[0].line, None,
                                f"the latest release is '## {dated[0].version} — {dated[0].released}' but datapackage.json says "
                                f"{version} of {day} — write '## {version} — {day}' above it, with what changed", code="version-disagrees-with-changelog"))
    problems += claim_accounts(package, releases)
    return problems


def unreleased(root: Path) -> list[Problem]:
    """Changes listed under '## Unreleased', which a release of the current version would hide."""
    releases = changelog((root / CHANGELOG).read_text(encoding="utf-8"))
    return [Problem(CHANGELOG, r.line, None, f"'## Unreleased' lists {r.entries} change(s) that no version holds yet — "
                                             "give them a version first: python -m estimate bump X.Y.Z", code="unreleased-changes")
            for r in releases if r.version == "Unreleased" and r.entries]


def claim_accounts(package: Loaded, releases: list[Release]) -> list[Problem]:
    """Each claim added once; each withdrawn claim listed as such; no listed claim missing."""
    claims = package.tables["claims"].by_key("claim_id")
    added: dict[str, list[str]] = {}
    withdrawn = set()
    problems = []
    for release in releases:
        for claim_id in release.claims["added"]:
            added.setdefault(claim_id, []).append(release.version)
        withdrawn.update(release.claims["withdrawn"])
        for kind, ids in release.claims.items():
            for claim_id in ids:
                if claim_id not in claims:
                    problems.append(Problem(CHANGELOG, release.line, None,
                                            f"{release.version} lists {claim_id} as {kind}, but data/claims.csv has no such claim — "
                                            "claims are never deleted: restore its row with a status, or correct the id", code="changelog-claim-unknown"))
    for claim_id, row in claims.items():
        versions = added.get(claim_id, [])
        if len(versions) != 1:
            said = "under no version" if not versions else "under " + " and ".join(versions)
            problems.append(Problem(CHANGELOG, None, None,
                                    f"{claim_id} is listed as added {said} — list it under 'Claims added' of exactly one version", code="claim-not-added-once"))
        if row["status"] != "active" and claim_id not in withdrawn:
            problems.append(Problem(CHANGELOG, None, None,
                                    f"{claim_id} is {row['status']} in data/claims.csv but no version lists it under "
                                    "'Claims retracted or superseded' — add it, with the reason", code="withdrawn-claim-unlisted"))
    return problems
