"""``python -m estimate cite``: how to cite this version, in APA and BibTeX, from CITATION.cff."""

import json
import sys
from datetime import date


from estimate.package.outputs import UsageError, refusal
from estimate.package.tables import DESCRIPTOR
from estimate.package.versions import CITATION, citation

# Characters BibTeX treats as markup, and how to write them literally.
BIBTEX_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
                  "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def locator(cff: dict) -> str | None:
    """Where to find the work: a DOI first, then its landing page, then its code repository."""
    if cff.get("doi"):
        return f"https://doi.org/{cff['doi']}"
    return cff.get("url") or cff.get("repository-code")


def apa_author(author: dict) -> str:
    if "name" in author:
        return author["name"]
    initials = " ".join(f"{part[0]}." for part in author.get("given-names", "").split())
    family = " ".join(filter(None, (author.get("name-particle"), author.get("family-names"))))
    return f"{family}, {initials}".strip(", ")


def apa(cff: dict) -> str:
    """APA 7 reference for a dataset: Author. (Year). Title (Version x) [Data set]. Locator"""
    names = [apa_author(a) for a in cff["authors"]]
    authors = names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", & " + names[-1]
    year = str(cff["date-released"])[:4]
    kind = "Data set" if cff.get("type") == "dataset" else "Computer software"
    text = f"{authors}{'' if authors.endswith('.') else '.'} ({year}). {cff['title']} (Version {cff['version']}) [{kind}]."
    where = locator(cff)
    return f"{text} {where}" if where else text


def bibtex_text(text: str) -> str:
    return "".join(BIBTEX_ESCAPES.get(ch, ch) for ch in str(text))


def bibtex_author(author: dict) -> str:
    if "name" in author:
        return "{" + bibtex_text(author["name"]) + "}"  # braces keep an organisation's name whole
    family = " ".join(filter(None, (author.get("name-particle"), author.get("family-names"))))
    return bibtex_text(f"{family}, {author.get('given-names', '')}".strip(", "))


def bibtex(cff: dict, key: str) -> str:
    released = date.fromisoformat(str(cff["date-released"]))
    kind = "Data set" if cff.get("type") == "dataset" else "Software"
    fields = [
        ("author", " and ".join(bibtex_author(a) for a in cff["authors"])),
        ("title", "{" + bibtex_text(cff["title"]) + "}"),
        ("year", str(released.year)),
        ("month", MONTHS[released.month - 1]),
        ("version", bibtex_text(cff["version"])),
        ("howpublished", bibtex_text(f"{kind}, version {cff['version']}, released {released.isoformat()}")),
    ]
    if cff.get("doi"):
        fields.append(("doi", bibtex_text(cff["doi"])))
    if where := locator(cff):
        fields.append(("url", where))
    if cff.get("license"):
        fields.append(("note", bibtex_text(f"Licence: {cff['license']}")))
    body = ",\n".join(f"  {name:<12} = {value if name == 'month' else '{' + value + '}'}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}"


def main(args) -> int:
    try:
        cff = citation(args.root)
        name = json.loads((args.root / DESCRIPTOR).read_text(encoding="utf-8"))["name"]
    except UsageError as error:
        print(error, file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError) as error:
        print(refusal(f"cannot read {DESCRIPTOR} in {args.root} ({error}) — run the command from the package folder",
                      "citation-descriptor-unreadable"), file=sys.stderr)
        return 1
    print("APA:")
    print(apa(cff))
    print()
    print("BibTeX:")
    print(bibtex(cff, f"{name}-{cff['version']}"))
    return 0
