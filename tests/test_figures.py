"""Figures: what the charts draw, read off the drawn matplotlib objects — labels, tick
formats, date spans, type sizes, what a model curve may cover. That the files are the same
bytes on any machine is held by the reproducibility comparison (tests/test_reproduce.py)."""

import csv
import io
import re
import struct
from datetime import date, timedelta

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.text import Annotation

from conftest import REPO
from estimate.publish import figure_words as fw
from estimate.publish.figures import (FIGURES, FORMATS, LANGUAGES, MIN_POINTS, OVERVIEW, PALETTE, STYLE, charts, distance, evidence_ends,
                              marks, plot_as_of, plot_quantity, quantity_figure, series, styles)
from estimate.package.outputs import derived_rows
from estimate.package.tables import load

PACKAGE, _ = load(REPO)
ESTIMATES = derived_rows(PACKAGE, "data/derived/estimates.csv")
ENDS = evidence_ends(PACKAGE, derived_rows(PACKAGE, "data/derived/claim_fit.csv"))
DRAWN = marks(PACKAGE)
STYLE_OF = styles(PACKAGE, DRAWN)
WORDS = fw.words()
CHARTS = {c.name: c for c in charts(PACKAGE)}
NAMES = [f"who_said_{q}" for q in ("killed", "wounded", "casualties", "deployed")] + \
    ["killed", "wounded", "casualties", "deployed", "claimants", "as_of_killed", "overview"]


@pytest.fixture
def ax():
    figure, axes = plt.subplots()
    yield axes
    plt.close(figure)


@pytest.fixture
def drawn():
    """Each chart as drawn, by (name, language), closed afterwards."""
    made = {}

    def draw(name: str, lang: str):
        with plt.rc_context(STYLE):
            made[name, lang] = CHARTS[name].draw(lang)
        return made[name, lang]
    yield draw
    for fig in made.values():
        plt.close(fig)


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontsize")) if t.get_text()]


def date_of(x) -> date:
    return mdates.num2date(x).date()


# ---------------------------------------------------------------- who said what

def test_the_intelligence_service_killed_line_reads_300_then_at_least_600_then_2000(drawn):
    fig = drawn("who_said_killed", "en")
    ax = fig.axes[0]
    shown = [t.get_text() for t in ax.texts]
    assert "South Korea's NIS" in shown
    assert {"~300", "≥600", "~2,000"} <= set(shown)
    nis = [m for m in DRAWN if m["quantity"] == "killed" and m["claimant_id"] == "kor-nis"]
    line = max((ln for ln in ax.get_lines() if len(ln.get_xdata()) == len(nis)), key=lambda ln: ln.get_linewidth())
    assert list(line.get_ydata()) == [m["centre"] for m in nis]
    assert [m["words"]["en"] for m in nis] == ["≥100", "~300", "≥600", "600", "~2,000"]  # relays drawn once


def test_a_who_said_chart_draws_claims_only_and_names_every_claimant_once(drawn):
    for quantity in ("killed", "deployed"):
        fig = drawn(f"who_said_{quantity}", "es")
        names = [t.get_text() for ax in fig.axes for t in ax.texts]
        speakers = {m["claimant_id"] for m in DRAWN if m["quantity"] == quantity}
        for claimant_id in speakers:
            assert names.count(STYLE_OF[claimant_id].names["es"]) == 1, claimant_id
        assert not any(isinstance(c, PolyCollection) for ax in fig.axes for c in ax.collections)  # no band
        labels = [label for ax in fig.axes for label in ax.get_legend_handles_labels()[1]]
        assert WORDS["es"]["fitted"] not in labels


def test_a_crowded_who_said_chart_has_a_panel_per_country_group_on_one_date_axis(drawn):
    fig = drawn("who_said_deployed", "en")
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[:3] == ["South Korea", "Ukraine", "United States"]
    assert len({ax.get_xlim() for ax in fig.axes}) == 1 and len({ax.get_ylim() for ax in fig.axes}) == 1
    killed = drawn("who_said_killed", "en")
    assert len(killed.axes) == 1


def test_a_label_is_tied_by_a_line_unless_it_is_nearest_its_own_figure(drawn):
    """A reader pairs a figure's words with the nearest point: where that point is another's,
    a thin line ties the words to their own."""
    checked = 0
    for quantity in ("killed", "wounded", "casualties", "deployed"):
        for lang in ("en", "es"):
            fig = drawn(f"who_said_{quantity}", lang)
            fig.canvas.draw()
            for ax in fig.axes:
                notes = [t for t in ax.texts if isinstance(t, Annotation) and t.get_text()]
                points = {tuple(ax.transData.transform((mdates.date2num(t.xy[0]), t.xy[1]))) for t in notes}
                for note in notes:
                    if note.arrow_patch is not None:
                        continue
                    box = note.get_window_extent().padded(2)
                    own = tuple(ax.transData.transform((mdates.date2num(note.xy[0]), note.xy[1])))
                    assert all(distance(box, own) <= distance(box, p) for p in points), (quantity, lang, note.get_text())
                    checked += 1
    assert checked > 50


def test_open_claims_have_an_arrow_and_stated_ranges_a_bar(ax):
    from estimate.publish.figures import plot_claims
    mine = DRAWN
    plot_claims(ax, mine, STYLE_OF, "en")
    arrows = [c for c in ax.get_children() if isinstance(c, Annotation) and c.get_gid() == "open"]
    assert len(arrows) == sum(m["high"] is None or m["rule"] == "below" for m in mine) > 0
    bars = sum(len(c.get_segments()) for c in ax.collections if hasattr(c, "get_segments"))
    assert bars == sum(m["high"] is not None and (m["rule"] in ("range", "vague") or m["implied"]) for m in mine) > 0


# ---------------------------------------------------------------- model charts

def test_a_model_chart_shows_the_claims_over_the_band_only_where_evidence_reaches(drawn):
    fig = drawn("killed", "en")
    ax = fig.axes[0]
    polys = [c for c in ax.collections if isinstance(c, PolyCollection)]
    reach = max(date_of(x) for p in polys for path in p.get_paths() for x, _ in path.vertices)
    assert reach <= ENDS["killed"]
    assert not [c for c in ax.collections if c.get_gid() == "projection"]
    assert any(WORDS["en"]["caption"][:40] in t for t in texts(fig))
    labels = fig.legends[0].get_texts()
    assert {"Model median", "90% band", "South Korea"} <= {t.get_text() for t in labels}


def test_a_curve_past_its_evidence_is_hatched_and_labelled_a_projection():
    rows = series(ESTIMATES, "killed")
    end = date.fromisoformat(rows[-1]["date"])
    later = [r.__class__(r.number, dict(r.cells, date=(end + timedelta(days=28 * k)).isoformat())) for k, r in
             enumerate([rows[-1]] * 4, start=1)]
    with plt.rc_context(STYLE):
        fig = quantity_figure(PACKAGE, ESTIMATES + later, DRAWN, STYLE_OF, WORDS["en"], "en", "killed", {"killed": end})
    ax = fig.axes[0]
    hatched = [c for c in ax.collections if c.get_gid() == "projection"]
    assert hatched and hatched[0].get_hatch() == "///"
    solid = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_gid() != "projection"]
    assert max(date_of(x) for p in solid for path in p.get_paths() for x, _ in path.vertices) == end
    assert min(date_of(x) for p in hatched for path in p.get_paths() for x, _ in path.vertices) == end
    assert "Projection past the last claim" in [t.get_text() for t in fig.legends[0].get_texts()]
    plt.close(fig)


def test_the_overview_shares_one_date_axis(drawn):
    fig = drawn("overview", "es")
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in panels] == [WORDS["es"][q] for q in OVERVIEW]
    assert len({ax.get_xlim() for ax in panels}) == 1


def test_killed_shows_each_nis_claim_and_the_fit(ax):
    returned = plot_quantity(ax, ESTIMATES, DRAWN, STYLE_OF, WORDS["en"], "en", "killed", ENDS["killed"])
    assert returned is ax
    labels = ax.get_legend_handles_labels()[1]
    assert "South Korea" in labels and "Model median" in labels and "90% band" in labels
    nis = [m["claim_id"] for m in DRAWN if m["quantity"] == "killed" and m["claimant_id"] == "kor-nis"]
    assert nis.index("c090") < nis.index("c019") < nis.index("c018") and "c007" not in nis


def test_as_of_view_draws_one_line_per_date(ax):
    rows = derived_rows(PACKAGE, "data/derived/estimates_as_of.csv")
    plot_as_of(ax, rows, WORDS["en"], "en")
    known = {r["known_by"] for r in rows if r["quantity"] == "killed"}
    assert len(ax.get_lines()) == len(known) >= 2


# ---------------------------------------------------------------- typography

@pytest.mark.parametrize("lang, ten_thousand, month", [("en", "10,000", "Jan 2025"), ("es", "10.000", "ene 2025")])
def test_numbers_and_dates_are_written_as_each_language_writes_them(drawn, lang, ten_thousand, month):
    fig = drawn("who_said_deployed", lang)
    fig.canvas.draw()
    ax = fig.axes[-1]
    assert ten_thousand in [t.get_text() for t in ax.get_yticklabels()]
    assert month in [t.get_text() for t in ax.get_xticklabels()]
    assert fw.people(1234567, lang) == ("1,234,567" if lang == "en" else "1.234.567")


@pytest.mark.parametrize("name", ["who_said_killed", "killed", "overview", "claimants", "as_of_killed"])
def test_no_type_is_smaller_than_the_minimum(drawn, name):
    fig = drawn(name, "es")
    fig.canvas.draw()
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if t.get_text() and t.get_visible()]
    assert min(sizes) >= MIN_POINTS


def test_colours_are_okabe_ito_and_groups_share_colour_and_marker():
    by_group = {}
    for style in STYLE_OF.values():
        by_group.setdefault(style.legend["en"], set()).add((style.colour, style.marker))
    assert all(len(pairs) == 1 for pairs in by_group.values())
    pairs = [next(iter(p)) for p in by_group.values()]
    assert len(set(pairs)) == len(pairs) and len({m for _, m in pairs}) == len(pairs)
    assert all(colour in PALETTE or colour == "#777777" for colour, _ in pairs)


def png_width(path) -> int:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", header[16:20])[0]


def test_committed_pngs_are_print_sized_and_svgs_hold_editable_text():
    for name in NAMES:
        for lang in LANGUAGES:
            assert png_width(REPO / FIGURES / f"{name}.{lang}.png") >= 2000
            svg = (REPO / FIGURES / f"{name}.{lang}.svg").read_text(encoding="utf-8")
            assert "<text" in svg and "font-family: 'DejaVu Sans', 'Arial', 'Helvetica'" in svg
            assert " ".join(CHARTS[name].words[lang]["title"].split()[:4]) in svg  # as text, not paths


# ---------------------------------------------------------------- footer, README and data beside each figure

def test_the_footer_names_kinds_of_claimant_and_outlets_with_counts_and_the_dataset():
    killed = {m["claim_id"] for m in DRAWN if m["quantity"] == "killed"}
    text = fw.footer(PACKAGE, killed, "en")
    assert text.startswith(f"{len(killed)} figures, from intelligence services (")
    assert re.search(r"reported by [^·]+\(\d+\)", text)
    assert f"v{PACKAGE.descriptor['version']} (CC-BY-4.0)" in text and "s000" not in text
    spanish = fw.footer(PACKAGE, killed, "es")
    assert spanish.startswith(f"{len(killed)} cifras, de servicios de inteligencia (") and "medios más" in spanish


@pytest.mark.parametrize("slot, value", [("id", "10.5281/zenodo.0000000"), ("id", "https://doi.org/10.5281/zenodo.0000000"),
                                         ("homepage", "https://doi.org/10.5281/zenodo.0000000")])
def test_the_footer_prints_the_package_address_once_the_descriptor_gives_one(slot, value):
    """The DOI goes in ``id`` once minted (bare or as a URL); a homepage serves until then."""
    killed = {m["claim_id"] for m in DRAWN if m["quantity"] == "killed"}
    assert "https://" not in fw.footer(PACKAGE, killed, "en")
    before = PACKAGE.descriptor.get(slot)
    PACKAGE.descriptor[slot] = value
    try:
        assert fw.footer(PACKAGE, killed, "en").endswith(" · https://doi.org/10.5281/zenodo.0000000")
    finally:
        if before is None:
            del PACKAGE.descriptor[slot]
        else:
            PACKAGE.descriptor[slot] = before


def test_the_readme_gives_each_figure_a_title_and_alt_text_in_both_languages_and_its_data():
    listing = (REPO / FIGURES / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"## `{name}`" in listing
        chart = CHARTS[name]
        for lang in LANGUAGES:
            assert chart.words[lang]["title"] in listing and chart.words[lang]["alt"] in listing
            for fmt in FORMATS:
                assert (REPO / FIGURES / f"{name}.{lang}.{fmt}").is_file()
        assert (REPO / FIGURES / f"{name}.csv").is_file()
    nis = CHARTS["who_said_killed"].words
    assert ("South Korea's NIS: at least 100 (19 Dec 2024), about 300 (13 Jan 2025), at least 600 (Apr 2025), "
            "600 (30 Apr 2025), about 2,000 (2 Sep 2025);") in nis["en"]["alt"]
    assert "NIS de Corea del Sur: al menos 100 (19 dic 2024), aproximadamente 300 (13 ene 2025)" in nis["es"]["alt"]


def test_the_data_beside_a_figure_is_what_it_draws():
    rows = list(csv.DictReader(io.StringIO((REPO / FIGURES / "who_said_killed.csv").read_text(encoding="utf-8"))))
    killed = [m for m in DRAWN if m["quantity"] == "killed"]
    assert [r["claim_id"] for r in rows] == [m["claim_id"] for m in killed]
    assert {r["layer"] for r in rows} == {"claim"}
    nis = [r for r in rows if r["claimant_id"] == "kor-nis"]
    assert [r["figure"] for r in nis][-1] == "~2,000" and nis[0]["high_is_open"] == "true" and nis[0]["high"] == ""
    model = list(csv.DictReader(io.StringIO((REPO / FIGURES / "killed.csv").read_text(encoding="utf-8"))))
    band = [r for r in model if r["layer"] == "model"]
    assert [r["date"] for r in band] == [r["date"] for r in series(ESTIMATES, "killed")]
    assert all(r["projection"] == "false" for r in band)
