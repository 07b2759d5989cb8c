"""The website (python -m estimate site): its files read as HTML, then its pages in a real
browser. The site is built once, by the command, in a copy of the package.

The browser tests drive Debian's Chromium through Playwright. When Chromium is missing they
are skipped, except in CI: .ci/run installs it and sets REQUIRE_CHROMIUM=1, which turns
its absence into a failure.
"""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markupsafe import escape

from conftest import REPO, copy_whole
from estimate.publish.site import highlighted

STEM = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))["name"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = copy_whole(tmp_path_factory.mktemp("site") / "package")
    done = subprocess.run([sys.executable, "-m", "estimate", "site", "--root", str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root / "site"


def claims() -> list[dict]:
    return list(csv.DictReader(io.StringIO((REPO / "data" / "claims.csv").read_text(encoding="utf-8"))))


class Links(HTMLParser):
    """Every link, source and id of a page, and its language."""

    def __init__(self):
        super().__init__()
        self.links, self.resources, self.ids, self.lang = [], [], set(), None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if tag in ("img", "script") and "src" in attrs:
            self.resources.append(attrs["src"])
        if tag == "link" and "href" in attrs:
            self.resources.append(attrs["href"])


def parsed(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# ---------------------------------------------------------------- the files

def test_every_page_is_in_both_languages(site):
    english = {p.relative_to(site) for p in pages(site) if p.relative_to(site).parts[0] != "es"}
    spanish = {p.relative_to(site / "es") for p in (site / "es").rglob("*.html")}
    assert english == spanish
    ids = {r["claimant_id"] for r in csv.DictReader(open(REPO / "data" / "claimants.csv", encoding="utf-8"))}
    sources = {r["source_id"] for r in csv.DictReader(open(REPO / "data" / "sources.csv", encoding="utf-8"))}
    assert {p.stem for p in (site / "claimants").iterdir()} == ids
    assert {p.stem for p in (site / "sources").iterdir()} == sources
    for name in ("index", "claims", "sources", "downloads", "changelog", "cite"):
        assert Path(f"{name}.html") in english
    for page in pages(site):
        assert parsed(page).lang == ("es" if page.relative_to(site).parts[0] == "es" else "en"), page


def test_every_link_resolves_and_nothing_comes_from_the_network(site):
    """Each relative link and source names a file of the site (and an id on it, for an
    anchor); every stylesheet, script and image is local; only links to the sources' own
    pages leave the site."""
    texts = {p: parsed(p) for p in pages(site)}
    external = set()
    for page, found in texts.items():
        for resource in found.resources:
            assert not urlsplit(resource).scheme, f"{page.relative_to(site)} loads {resource} from the network"
            assert (page.parent / resource).resolve().is_file(), f"{page.relative_to(site)}: {resource} is missing"
        for link in found.links:
            assert not link.endswith("#"), f"{page.relative_to(site)}: a link to nothing ({link})"
            parts = urlsplit(link)
            if parts.scheme:
                assert parts.scheme == "https", link
                external.add(link)
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            assert target.is_relative_to(site.resolve()) and target.is_file(), f"{page.relative_to(site)}: broken link {link}"
            if parts.fragment and "=" not in parts.fragment and target.suffix == ".html":
                assert parts.fragment in texts[target].ids, f"{page.relative_to(site)}: {link} names no element"
    urls = {r["url"] for r in csv.DictReader(open(REPO / "data" / "sources.csv", encoding="utf-8")) if r["url"]}
    assert external - urls <= {"https://creativecommons.org/licenses/by/4.0/"}
    assert external & urls == urls


def test_the_downloads_are_a_valid_package_with_the_database_and_the_release(site):
    from frictionless import Package
    downloads = site / "downloads"
    assert (downloads / "data" / "claims.csv").read_bytes() == (REPO / "data" / "claims.csv").read_bytes()
    report = Package(str(downloads / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type"])[:5]
    assert (downloads / f"{STEM}.sqlite").read_bytes()[:16] == b"SQLite format 3\x00"
    assert list(downloads.glob(f"{STEM}-*.zip"))
    listed = (site / "downloads.html").read_text(encoding="utf-8")
    for path in downloads.rglob("*"):
        if path.is_file():
            assert f'href="{path.relative_to(site)}"' in listed, f"{path.relative_to(site)} is not on the downloads page"


def test_an_archived_source_shows_its_text_with_each_quote_marked(site):
    page = (site / "sources" / "s003.html").read_text(encoding="utf-8")
    quoted = [c for c in claims() if c["source_id"] == "s003" and c["quote"]]
    assert quoted
    for claim in quoted:
        assert f'id="{claim["claim_id"]}-quote"' in page
    text = (REPO / "data" / "texts" / "s003.txt").read_text(encoding="utf-8")
    assert "De acuerdo con el legislador Lee Seong-Kweun" in text and page.count("<mark") >= 1


def test_text_from_the_data_never_becomes_markup():
    marked = highlighted('say <script>alert("x")</script> & more', [("c001", '<script>alert("x")</script>')])
    assert "<script>" not in marked
    assert '<mark id="c001-quote">&lt;script&gt;' in marked and "&amp; more" in marked


def test_hostile_words_in_the_package_are_shown_as_text(tmp_path):
    """A paraphrase with markup in it is printed as the characters it is, through the command."""
    root = copy_whole(tmp_path / "package")
    path = root / "data" / "claims.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    target = next(r for r in rows if r["paraphrase"])
    target["paraphrase"] = 'An official said <img src=x onerror="alert(1)"> many'
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "estimate", "site", "--root", str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = (root / "site" / "claims.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page and "<img src=x" not in page


def test_the_estimates_table_stops_at_the_evidence(site):
    from estimate.publish.figures import evidence_ends
    from estimate.package.outputs import valid_package
    package = valid_package(REPO)
    fits = list(csv.DictReader(open(REPO / "data" / "derived" / "claim_fit.csv", encoding="utf-8")))
    ends = evidence_ends(package, fits)
    page = (site / "index.html").read_text(encoding="utf-8")
    from estimate.publish import figure_words as fw
    for quantity in ("killed", "deployed"):
        assert fw.day(ends[quantity], "en") in page


# ---------------------------------------------------------------- in a browser

@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("REQUIRE_CHROMIUM") == "1":
            pytest.fail("REQUIRE_CHROMIUM=1 but Chromium is not installed — install the Debian package chromium")
        pytest.skip("Chromium is not installed; CI installs it and requires these tests")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


class Visit:
    """A page opened from file://, with every console error, script error and request that
    failed or left the file system."""

    def __init__(self, browser, url: str):
        self.problems = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.problems.append(f"console {m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.route("**/*", self.only_files)
        self.page.goto(url, wait_until="load")

    def only_files(self, route):
        if urlsplit(route.request.url).scheme == "file":
            route.continue_()
        else:
            self.problems.append(f"network: {route.request.url}")
            route.abort()


def test_every_page_loads_in_chromium_without_errors(site, browser):
    visit = Visit(browser, (site / "index.html").as_uri())
    for page in pages(site):
        visit.problems.clear()
        visit.page.goto(page.as_uri(), wait_until="load")
        broken = visit.page.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
        assert not visit.problems and not broken, (page.relative_to(site), visit.problems, broken)
    visit.page.close()


def visible_claims(visit) -> set[str]:
    return set(visit.page.evaluate("Array.from(document.querySelectorAll('table.claims tbody tr')).filter(r => !r.hidden).map(r => r.id)"))


def test_a_filter_shows_exactly_the_matching_claims(site, browser):
    every = claims()
    nis_killed = {c["claim_id"] for c in every if c["claimant_id"] == "kor-nis" and c["quantity"] == "killed"}
    assert len(nis_killed) >= 3
    visit = Visit(browser, (site / "claims.html").as_uri())
    assert len(visible_claims(visit)) == len(every)
    visit.page.select_option("select[name=claimant]", "kor-nis")
    visit.page.select_option("select[name=quantity]", "killed")
    assert visible_claims(visit) == nis_killed
    assert visit.page.inner_text("#shown") == f"{len(nis_killed)} of {len(every)} claims shown"
    assert visit.page.evaluate("location.hash") == "#claimant=kor-nis&quantity=killed"
    # A claim dated to a span is kept when the span reaches into the chosen dates.
    visit.page.fill("input[name=from]", "2025-03-01")
    visit.page.dispatch_event("input[name=from]", "change")
    later = [c for c in every if c["claim_id"] in nis_killed and c["as_of_date_latest"] >= "2025-03-01"]
    assert any(c["as_of_date_earliest"] < "2025-03-01" for c in later) and len(later) < len(nis_killed)
    assert visible_claims(visit) == {c["claim_id"] for c in later}
    visit.page.click("#show-all")
    assert len(visible_claims(visit)) == len(every)
    assert not visit.problems
    visit.page.close()


def test_a_shared_link_opens_the_filtered_view_in_spanish(site, browser):
    every = claims()
    archived = {c["claim_id"] for c in every if c["source_id"] in {"s000", "s001", "s002", "s003", "s004"} and c["quantity"] == "deployed"}
    visit = Visit(browser, (site / "es" / "claims.html").as_uri() + "#quantity=deployed&kind=archived")
    assert visible_claims(visit) == archived
    assert visit.page.inner_text("#shown") == f"{len(archived)} de {len(every)} cifras"
    assert visit.page.evaluate("document.documentElement.lang") == "es"
    nav = visit.page.inner_text("nav")
    for word in ("Inicio", "Cifras", "Fuentes", "Descargas", "Cómo citar"):
        assert word in nav
    assert "Claims" not in nav and "Downloads" not in nav
    visit.page.close()


def test_the_home_page_shows_a_rendered_chart(site, browser, tmp_path):
    """A screenshot of the home page's first chart holds the intelligence service's blue
    and enough ink to be a chart, not an empty frame."""
    import numpy as np
    from PIL import Image
    visit = Visit(browser, (site / "index.html").as_uri())
    shot = tmp_path / "chart.png"
    visit.page.locator("figure.chart img").first.screenshot(path=str(shot))
    image = Image.open(shot).convert("RGB")
    pixels = np.asarray(image, dtype=int)
    inked = (pixels.sum(axis=2) < 600).mean()
    blue = (np.abs(pixels - [0x00, 0x72, 0xB2]).max(axis=2) < 40).sum()
    assert image.width > 500 and inked > 0.01 and blue > 200, (image.size, inked, blue)
    assert not visit.problems
    visit.page.close()


def test_a_rebuild_removes_what_an_earlier_build_left_and_keeps_the_rest(site):
    """A page of a claimant since removed goes; the site's own files stay, the same bytes;
    nothing outside site/ is touched."""
    root = site.parent
    (site / "claimants" / "gone.html").write_text("old", encoding="utf-8")
    (site / "old").mkdir()
    (site / "old" / "page.html").write_text("old", encoding="utf-8")
    (root / "notes.txt").write_text("mine", encoding="utf-8")
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file() and p.parent.name != "old" and p.name != "gone.html"}
    done = subprocess.run([sys.executable, "-m", "estimate", "site", "--root", str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not (site / "claimants" / "gone.html").exists() and not (site / "old").exists()
    assert (root / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert {p for p in site.rglob("*") if p.is_file()} == set(before)
    assert [p for p in before if p.read_bytes() != before[p]] == [], "a second build on the same machine changed bytes"


def test_a_claim_the_model_flags_on_its_own_says_so(site):
    """A model outlier has no other claim to link to: its row names the kind of conflict."""
    flagged = {r["claim_id"] for r in csv.DictReader(open(REPO / "data" / "derived" / "conflicts.csv", encoding="utf-8"))
               if r["conflict_type"] == "model_outlier"}
    assert flagged
    page = (site / "claims.html").read_text(encoding="utf-8")
    for claim_id in flagged:
        row = page[page.index(f'<tr id="{claim_id}"'):]
        row = row[:row.index("</tr>")]
        assert "an outlier for the model" in row, claim_id


def test_why_a_claim_is_not_used_reads_in_the_pages_language(site):
    """claim_fit.csv gives its reasons in English; the Spanish page gives the same ones in Spanish."""
    from estimate.wording.evidence import reason_words
    unused = [r for r in csv.DictReader(open(REPO / "data" / "derived" / "claim_fit.csv", encoding="utf-8"))
              if r["used_in_fit"] == "false"]
    english, spanish = ((site / p / "claims.html").read_text(encoding="utf-8") for p in (".", "es"))
    for r in unused:
        assert escape(r["reason"]) in english and escape(r["reason"]) not in spanish, r["claim_id"]
    planned = escape(reason_words()["es"]["planned"])
    assert spanish.count(planned) == sum(r["reason"] == reason_words()["en"]["planned"] for r in unused) > 0
