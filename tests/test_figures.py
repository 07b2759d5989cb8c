"""Figures: what the plot functions draw. That the files are the same bytes on any machine is
held by the reproducibility comparison (tests/test_reproduce.py)."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Annotation

from conftest import REPO
from estimate.figures import FIGURES, FORMATS, LANGUAGES, PALETTE, marks, plot_as_of, plot_quantity, styles, texts
from estimate.outputs import derived_rows
from estimate.tables import load

PACKAGE, _ = load(REPO)
ESTIMATES = derived_rows(PACKAGE, "data/derived/estimates.csv")
DRAWN = marks(PACKAGE)
STYLE = styles(PACKAGE, DRAWN)
WORDS = texts(PACKAGE)
NAMES = ["killed", "wounded", "casualties", "deployed", "claimants", "as_of_killed", "overview"]


@pytest.fixture
def ax():
    figure, axes = plt.subplots()
    yield axes
    plt.close(figure)


def test_killed_shows_each_nis_claim_and_the_fit(ax):
    returned = plot_quantity(ax, ESTIMATES, DRAWN, STYLE, WORDS["en"], "en", "killed")
    assert returned is ax
    labels = ax.get_legend_handles_labels()[1]
    assert "South Korea" in labels and "Fitted (median)" in labels and "90% band" in labels
    nis = [m["claim_id"] for m in DRAWN if m["quantity"] == "killed" and m["claimant_id"] == "kor-nis"]
    # ~300 -> at least 600 -> ~2,000, in date order, each drawn once (c007, the archived ~300, relays c090)
    assert nis.index("c090") < nis.index("c019") < nis.index("c018") and "c007" not in nis
    open_claims = [m for m in DRAWN if m["quantity"] == "killed" and m["high"] is None]
    assert "c019" in {m["claim_id"] for m in open_claims}  # "al menos 600"
    assert sum(isinstance(child, Annotation) for child in ax.get_children()) == len(open_claims)


def test_deployed_names_each_claimant_group_in_spanish(ax):
    plot_quantity(ax, ESTIMATES, DRAWN, STYLE, WORDS["es"], "es", "deployed")
    labels = ax.get_legend_handles_labels()[1]
    assert {"Corea del Sur", "Ucrania", "Estados Unidos"} <= set(labels)
    assert {STYLE[m["claimant_id"]].legend["es"] for m in DRAWN if m["quantity"] == "deployed"} <= set(labels)
    assert ax.get_ylabel() == "Personas"


def test_claimant_groups_differ_in_colour_and_marker_and_share_them_within():
    by_group = {}
    for style in STYLE.values():
        by_group.setdefault(style.legend["en"], set()).add((style.colour, style.marker))
    assert all(len(pairs) == 1 for pairs in by_group.values())
    pairs = [next(iter(p)) for p in by_group.values()]
    assert len(set(pairs)) == len(pairs) and len({m for _, m in pairs}) == len(pairs)
    assert all(colour in PALETTE or colour == "#777777" for colour, _ in pairs)
    assert STYLE["kor-nis"].legend == STYLE["kor-jcs"].legend != STYLE["ukr-hur"].legend


def test_as_of_view_draws_one_line_per_date(ax):
    rows = derived_rows(PACKAGE, "data/derived/estimates_as_of.csv")
    plot_as_of(ax, rows, WORDS["en"], "en")
    known = {r["known_by"] for r in rows if r["quantity"] == "killed"}
    assert len(ax.get_lines()) == len(known) >= 2


def test_every_figure_exists_and_is_listed():
    listing = (REPO / "figures/README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"`{name}`" in listing
        for lang in LANGUAGES:
            for fmt in FORMATS:
                assert (REPO / FIGURES / f"{name}.{lang}.{fmt}").is_file()
