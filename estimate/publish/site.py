"""``python -m estimate site``: the package as a static website in site/, in English and Spanish.

English pages are at the top of site/, Spanish ones under site/es/, each linking to the
other. Every link is relative and nothing is loaded from the network, so the folder works
from ``file://`` and from any static host. Pages: a home page (headline charts, the
model's estimates at the last claim, caveats), a claims browser filterable by claimant,
quantity, subject, kind of source and dates, a page per claimant (its figures over time)
and per source (its facts, its claims and, for an archived source, its text with each
quote highlighted), downloads, the changelog and how to cite.

The charts are those of figures/ (the same files) plus one per claimant drawn by the same
code (``figures.claimant_charts``); the downloads are the package's own files and what
``make sqlite`` and ``make release`` write, built here by the same functions. Pages are
rendered by Jinja2 templates in estimate/publish/web/ with HTML escaping on, so that no text in
the data can become markup. The only script is the filter (web/claims.js, ours).
"""

import re
import tomllib
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from estimate.publish import database, figure_words as fw, release
from estimate.publish.figures import FIGURES, SUBJECT, PANEL_QUANTITIES, charts, claimant_charts, evidence_ends
from estimate.model.settings import load_config, not_used
from estimate.package.outputs import DERIVED, UsageError, derived_rows, run_writer
from estimate.package.tables import DESCRIPTOR, Loaded, descriptor_bytes
from estimate.package.versions import citation
from estimate.publish.citation import apa, bibtex
from estimate.publish.workbook import path_for

SITE = Path("site")
WEB = Path(__file__).with_name("web")
LANGUAGES = fw.LANGUAGES
# Where each language's pages live inside site/.
PREFIX = {"en": "", "es": "es/"}
# Charts of figures/ on the home page: who said what first, the model's range second.
HEADLINE = ("who_said_killed", "who_said_casualties")
MODEL = ("killed", "overview")
ASSETS = ("style.css", "claims.js")
DOWNLOADS = Path("downloads")


@cache
def words() -> dict:
    with open(WEB / "words.toml", "rb") as f:
        return tomllib.load(f)


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(WEB), autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=False, lstrip_blocks=False)


def labels(package: Loaded, resource: str, field: str, lang: str) -> dict[str, str]:
    """What each code of a field is called in a language: its categories in datapackage.json."""
    schema = next(r["schema"] for r in package.descriptor["resources"] if r["name"] == resource)
    key = "label" if lang == "en" else f"label_{lang}"
    return {c["value"]: c[key] for c in next(f for f in schema["fields"] if f["name"] == field)["categories"]}


def svg_size(data: bytes) -> tuple[int, int]:
    """An SVG's width and height in CSS pixels (matplotlib writes them in points)."""
    head = data[:2000].decode("utf-8", "replace")
    width, height = (float(re.search(rf'{side}="([0-9.]+)pt"', head).group(1)) for side in ("width", "height"))
    return round(width * 4 / 3), round(height * 4 / 3)


def size(n: int, lang: str) -> str:
    if n < 1024 * 1024:
        return f"{fw.people(n / 1024, lang)} KB" if n >= 1024 else words()[lang]["bytes"].format(n=n)
    return f"{fw.share(round(n / 1024 / 1024, 1), lang)} MB"


# ---------------------------------------------------------------- what each page shows

def interval(r: dict, lang: str) -> tuple[str, str]:
    """A claim's interval as read by the lexicon (ranges.csv), and the implied count of a share."""
    w = words()[lang]
    number = (lambda v: fw.share(float(v), lang) + "%") if r["unit"] == "percent" else (lambda v: fw.people(float(v), lang))
    said = w["open_high"].format(low=number(r["value_low"])) if r["high_is_open"] == "true" else \
        (number(r["value_low"]) if r["value_low"] == r["value_high"] else f"{number(r['value_low'])}–{number(r['value_high'])}")
    implied = ""
    if r["implied_count_low"]:
        high = "…" if r["implied_count_high_is_open"] == "true" else fw.people(float(r["implied_count_high"]), lang)
        implied = w["implied"].format(low=fw.people(float(r["implied_count_low"]), lang), high=high)
    return said, implied


def treatment(fit: dict, claim: dict, source, config: dict, lang: str) -> str:
    """How the fit uses a claim, in a sentence (claim_fit.csv); why not, in the page's language
    (the reason claim_fit.csv gives in English, from the same words)."""
    w = words()[lang]
    if fit is None:
        return ""
    if fit["used_in_fit"] != "true":
        why = not_used(claim, config, source)
        return w["not_used"].format(reason=why.sentence(lang) if why else fit["reason"])
    parts = [w["used"].format(low=fw.people(float(fit["fitted_low"]), lang), high=fw.people(float(fit["fitted_high"]), lang))
             if fit["fitted_high"] else w["used_open"]]
    if fit["bias_factor"]:
        parts.append(w["bias"].format(factor=fw.share(round(float(fit["bias_factor"]), 2), lang)))
    if fit["outlier_probability"]:
        parts.append(w["outlier"].format(p=fw.share(round(float(fit["outlier_probability"]), 2), lang)))
    return "; ".join(parts)


def claim_rows(package: Loaded, lang: str) -> list[dict]:
    """Every claim as the browser's row shows it, by date."""
    w = words()[lang]
    tables = package.tables
    claimants = tables["claimants"].by_key("claimant_id")
    sources = tables["sources"].by_key("source_id")
    subjects = tables["subjects"].by_key("subject_id")
    ranges = {r["claim_id"]: r for r in derived_rows(package, DERIVED / "ranges.csv")}
    fits = {r["claim_id"]: r for r in derived_rows(package, DERIVED / "claim_fit.csv")}
    config = load_config()
    # A conflict between two claims links each to the other; one the model found in a claim
    # alone (an outlier, a claimant's bias) is named by its kind.
    conflicts: dict[str, list[str]] = {}
    flagged: dict[str, list[str]] = {}
    conflict_kinds = labels(package, "conflicts", "conflict_type", lang)
    for r in derived_rows(package, DERIVED / "conflicts.csv"):
        if r["other_claim_id"]:
            conflicts.setdefault(r["claim_id"], []).append(r["other_claim_id"])
            conflicts.setdefault(r["other_claim_id"], []).append(r["claim_id"])
        else:
            flagged.setdefault(r["claim_id"], []).append(conflict_kinds[r["conflict_type"]])
    name, label = ("name", "label") if lang == "en" else ("name_es", "label_es")
    quantities, scopes, kinds = (labels(package, "claims", "quantity", lang), labels(package, "claims", "time_scope", lang),
                                 labels(package, "sources", "kind", lang))
    rows = []
    for claim in tables["claims"].rows:
        source = sources[claim["source_id"]]
        said, implied = interval(ranges[claim["claim_id"]], lang) if claim["claim_id"] in ranges else ("", "")
        archived = source["kind"] == "archived"
        rows.append({
            "id": claim["claim_id"], "claimant_id": claim["claimant_id"], "claimant": claimants[claim["claimant_id"]][label],
            "via": w["via"].format(via=claim["via"]) if claim["via"] else "",
            "quantity_id": claim["quantity"], "quantity": quantities[claim["quantity"]],
            "subject_id": claim["subject_id"], "subject": subjects[claim["subject_id"]][name], "scope": scopes[claim["time_scope"]],
            "earliest": claim["as_of_date_earliest"], "latest": claim["as_of_date_latest"],
            "date": fw.span(date.fromisoformat(claim["as_of_date_earliest"]), date.fromisoformat(claim["as_of_date_latest"]),
                            claim["as_of_date_precision"], lang),
            "phrase": claim["phrase"], "phrase_lang": source["language"], "interval": said, "implied": implied,
            "source_id": claim["source_id"], "kind": source["kind"], "source_kind": kinds[source["kind"]], "archived": archived,
            "source": source["outlet"] or w["archived_text"].format(id=claim["source_id"]),
            "url": source["url"], "host": urlsplit(source["url"]).hostname or "" if source["url"] else "",
            "said_kind": w["quote"] if claim["quote"] else w["paraphrase"], "said": claim["quote"] or claim["paraphrase"],
            "said_lang": source["language"] if claim["quote"] else "en",
            "fit": "; ".join([treatment(fits.get(claim["claim_id"]), claim, source, config, lang)] + flagged.get(claim["claim_id"], [])),
            "conflicts": sorted(set(conflicts.get(claim["claim_id"], []))),
        })
    return sorted(rows, key=lambda r: (r["earliest"], r["latest"], r["id"]))


def current_estimates(package: Loaded, lang: str) -> list[dict]:
    """Each quantity's estimate on the last day its evidence reaches: nothing past the claims."""
    ends = evidence_ends(package, derived_rows(package, DERIVED / "claim_fit.csv"))
    estimates = derived_rows(package, DERIVED / "estimates.csv")
    quantities = labels(package, "claims", "quantity", lang)
    result = []
    for quantity in PANEL_QUANTITIES:
        rows = [r for r in estimates if r["subject_id"] == SUBJECT and r["quantity"] == quantity and not r["known_by"]
                and quantity in ends and date.fromisoformat(r["date"]) <= ends[quantity]]
        if not rows:
            continue
        r = rows[-1]
        high = "…" if r["high_is_open"] == "true" else fw.people(float(r["value_high"]), lang)
        result.append({"quantity": quantities[quantity], "date": fw.day(date.fromisoformat(r["date"]), lang),
                       "median": fw.people(float(r["value_central"]), lang),
                       "band": f"{fw.people(float(r['value_low']), lang)}–{high}", "origins": r["origins_used"],
                       "claimants": r["claimants_used"]})
    return result


def highlighted(text: str, quotes: list[tuple[str, str]]) -> Markup:
    """An archived text, escaped, with each claim's quote marked where it first occurs; the
    first mark of each claim carries the claim's anchor (#c001-quote)."""
    spans = []
    for claim_id, quote in quotes:
        start = text.find(quote) if quote else -1
        if start >= 0:
            spans.append((start, start + len(quote), claim_id))
    out, at, anchored = [], 0, set()
    for start, end, claim_id in sorted(spans):
        start = max(start, at)
        if start >= end:
            # The same sentence quoted by several claims: one mark, and an anchor for each.
            out.append(Markup('<span id="{}-quote"></span>').format(claim_id))
            continue
        out.append(escape(text[at:start]))
        out.append(Markup('<mark id="{}-quote">{}</mark>').format(claim_id, text[start:end]))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


# ---------------------------------------------------------------- the files

def chart_files(package: Loaded) -> tuple[dict[Path, bytes], dict, dict]:
    """Every chart of figures/ and every claimant's chart, as SVG under site/charts/, with
    what the pages say of each: {(name, lang): {src, title, alt, width, height}}."""
    files, shown = {}, {}
    for chart in charts(package):
        for lang in LANGUAGES:
            origin = package.root / FIGURES / f"{chart.name}.{lang}.svg"
            if not origin.is_file():
                raise UsageError(f"{FIGURES / origin.name} is missing — run 'make figures' (or 'make site', which draws them "
                                 "first); nothing was written.", code="site-figure-missing")
            data = origin.read_bytes()
            src = f"charts/{chart.name}.{lang}.svg"
            files[SITE / src] = data
            shown[chart.name, lang] = dict(src=src, width=svg_size(data)[0], height=svg_size(data)[1], **chart.words[lang])
    claimant_shown = {}
    for (claimant_id, lang), (data, alt) in claimant_charts(package).items():
        src = f"charts/claimant-{claimant_id}.{lang}.svg"
        files[SITE / src] = data
        width, height = svg_size(data)
        claimant_shown[claimant_id, lang] = {"src": src, "alt": alt, "title": "", "width": width, "height": height}
    return files, shown, claimant_shown


def download_files(package: Loaded) -> tuple[dict[Path, bytes], list[dict]]:
    """The package's files under site/downloads/, in the folders datapackage.json names them
    by (so that the descriptor there resolves), with the workbook, the release zips and the
    SQLite database with its Datasette metadata (as 'make release' and 'make sqlite' write
    them); and what the downloads page lists, in that order."""
    root, descriptor = package.root, package.descriptor
    here = SITE / DOWNLOADS
    database_files = database.build(package, SimpleNamespace(output=here))
    listed = {here / path_for(descriptor): "workbook"}
    files = {here / path_for(descriptor): (root / path_for(descriptor)).read_bytes()}
    for public in (True, False):
        zip_name, files[here / zip_name] = release.archive(package, public)
        listed[here / zip_name] = "release_public" if public else "release"
    for path in sorted(database_files, key=lambda p: p.suffix != ".sqlite"):
        files[path], listed[path] = database_files[path], "database" if path.suffix == ".sqlite" else "database_meta"
    files[here / DESCRIPTOR], listed[here / DESCRIPTOR] = descriptor_bytes(release.stamped(descriptor, root)), "descriptor"
    for resource in descriptor["resources"]:
        files[here / resource["path"]], listed[here / resource["path"]] = (root / resource["path"]).read_bytes(), resource
    entries = [{"href": str(path.relative_to(SITE)), "name": path.name, "bytes": len(files[path]), "sha": release.sha256(files[path]),
                "what": what} for path, what in listed.items()]
    return files, entries


# ---------------------------------------------------------------- the pages

class Pages:
    """Renders each page in each language, with the links every page needs."""

    def __init__(self, package: Loaded):
        self.package = package
        descriptor = package.descriptor
        self.footer = {lang: words()[lang]["footer"].format(name=descriptor["name"], version=descriptor["version"],
                                                             licence=descriptor["licenses"][0]["name"]) for lang in LANGUAGES}
        self.files: dict[Path, bytes] = {}

    def render(self, lang: str, rel: str, template: str, title: str, page: str = "", **context):
        depth = rel.count("/") + (lang != "en")
        to_site = "../" * depth
        other = next(o for o in LANGUAGES if o != lang)
        html = environment().get_template(template).render(
            lang=lang, w=words()[lang], title=title, page=page, footer=self.footer[lang], to_site=to_site,
            to_lang=to_site + PREFIX[lang], other=to_site + PREFIX[other] + rel, other_lang=other, **context)
        self.files[SITE / (PREFIX[lang] + rel)] = html.encode("utf-8")


def downloads_context(entries: list[dict], lang: str) -> list[dict]:
    w = words()[lang]
    result = []
    for e in entries:
        what, what_lang = (e["what"].get("title", e["what"]["name"]), "en") if isinstance(e["what"], dict) else (w[e["what"]], "")
        if e["what"] == "database_meta":
            what = w["database_meta"].format(database=e["name"].replace(".datasette.json", ".sqlite"), meta=e["name"])
        result.append({**e, "what": what, "what_lang": what_lang, "size": size(e["bytes"], lang)})
    return result


def build(package: Loaded, args) -> dict[Path, bytes]:
    tables = package.tables
    chart_out, shown, claimant_shown = chart_files(package)
    download_out, entries = download_files(package)
    pages = Pages(package)
    pages.files |= {SITE / "assets" / name: (WEB / name).read_bytes() for name in ASSETS}
    pages.files |= chart_out | download_out
    changelog = Markup(MarkdownIt("commonmark").render((package.root / "CHANGELOG.md").read_text(encoding="utf-8")))
    cff = citation(package.root)
    cited = f"{apa(cff)}\n\n{bibtex(cff, package.descriptor['name'] + '-' + cff['version'])}"
    sources = tables["sources"].by_key("source_id")
    claimants = tables["claimants"].rows
    for lang in LANGUAGES:
        w = words()[lang]
        rows = claim_rows(package, lang)
        count = Counter(r["claimant_id"] for r in rows)
        name = "name" if lang == "en" else "name_es"
        claimant_list = sorted(({"id": c["claimant_id"], "name": c[name], "count": count[c["claimant_id"]]} for c in claimants
                                if count[c["claimant_id"]]), key=lambda c: (-c["count"], c["name"]))
        every = [chart for (_, language), chart in shown.items() if language == lang]
        pages.render(lang, "index.html", "index.html", w["site_title"], "home",
                     headline=[shown[n, lang] for n in HEADLINE], model=[shown[n, lang] for n in MODEL], every=every,
                     estimates=current_estimates(package, lang), claimant_list=claimant_list)
        filters = [
            {"name": "claimant", "label": w["filter_claimant"], "options": [(c["id"], c["name"]) for c in sorted(claimant_list, key=lambda c: c["name"])]},
            {"name": "quantity", "label": w["filter_quantity"], "options": [(q, quantity) for q, quantity in labels(package, "claims", "quantity", lang).items() if any(r["quantity_id"] == q for r in rows)]},
            {"name": "subject", "label": w["filter_subject"], "options": sorted({(r["subject_id"], r["subject"]) for r in rows}, key=lambda o: (o[0] != SUBJECT, o[1]))},
            {"name": "kind", "label": w["filter_kind"], "options": list(labels(package, "sources", "kind", lang).items())},
        ]
        pages.render(lang, "claims.html", "claims.html", w["claims_heading"], "claims", rows=rows, filters=filters)
        for c in claimants:
            mine = [r for r in rows if r["claimant_id"] == c["claimant_id"]]
            pages.render(lang, f"claimants/{c['claimant_id']}.html", "claimant.html", c[name], rows=mine,
                         chart=claimant_shown.get((c["claimant_id"], lang)), kind=labels(package, "claimants", "kind", lang)[c["kind"]],
                         country=c["country"], note=c["note"])
        source_list = []
        for s in tables["sources"].rows:
            mine = [r for r in rows if r["source_id"] == s["source_id"]]
            published = fw.span(date.fromisoformat(s["published_date_earliest"]), date.fromisoformat(s["published_date_latest"]),
                                s["published_date_precision"], lang)
            outlet = s["outlet"] or w["archived_text"].format(id=s["source_id"])
            source_list.append({"id": s["source_id"], "date": published, "outlet": outlet, "title": s["title"], "lang": s["language"],
                                "count": len(mine)})
            facts = [(w["source_outlet"], outlet, ""), (w["source_title"], s["title"], s["language"]), (w["source_published"], published, ""),
                     (w["source_kind"], labels(package, "sources", "kind", lang)[s["kind"]], ""),
                     (w["source_language"], s["language"], "")]
            if s["read_date"]:
                facts.append((w["source_read"], fw.day(date.fromisoformat(s["read_date"]), lang), ""))
            if s["note"]:
                facts.append((w["source_note"], s["note"], "en"))
            text = ""
            if s["kind"] == "archived":
                text = highlighted((package.root / s["text_path"]).read_text(encoding="utf-8"),
                                   [(r["id"], r["said"]) for r in mine if r["said_kind"] == w["quote"]])
            pages.render(lang, f"sources/{s['source_id']}.html", "source.html", outlet, rows=mine, facts=facts, url=s["url"],
                         text=text, text_lang=s["language"], sha=s["text_sha256"])
        pages.render(lang, "sources.html", "sources.html", w["sources"], "sources", source_list=source_list)
        pages.render(lang, "downloads.html", "downloads.html", w["downloads_heading"], "downloads",
                     files=downloads_context(entries, lang), version=package.descriptor["version"])
        pages.render(lang, "changelog.html", "document.html", w["changelog_heading"], "changelog", intro="", body=changelog,
                     body_lang="en")
        pages.render(lang, "cite.html", "document.html", w["cite_heading"], "cite", intro=w["cite_intro"],
                     body=Markup("<pre>{}</pre>").format(cited), body_lang="en")
    return pages.files


def main(args) -> int:
    """Build the site; once every page is in place, delete what an earlier build left that
    this one did not write (the page of a claimant since removed, say)."""
    made: set[Path] = set()

    def building(package: Loaded, args) -> dict[Path, bytes]:
        files = build(package, args)
        made.update(files)
        return files

    status = run_writer(args, building)
    if status == 0:
        folder = args.root / SITE
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_file() and path.relative_to(args.root) not in made:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return status
