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
    assert "National Intelligence Service of South Korea (NIS)" in labels and "Fitted (median)" in labels and "90% band" in labels
    nis = [m for m in DRAWN if m["quantity"] == "killed" and m["claimant_id"] == "kor-nis"]
    assert [m["claim_id"] for m in nis] == ["c007", "c019", "c018"]  # ~300 -> at least 600 -> ~2,000, in date order
    assert sum(isinstance(child, Annotation) for child in ax.get_children()) == 1  # the open "al menos 600"


def test_deployed_has_a_marker_per_claimant_in_spanish(ax):
    plot_quantity(ax, ESTIMATES, DRAWN, STYLE, WORDS["es"], "es", "deployed")
    labels = ax.get_legend_handles_labels()[1]
    for claimant in ("kor-gov", "ukr-mod", "unattributed"):
        assert STYLE[claimant][2]["es"] in labels
    assert ax.get_ylabel() == "Personas"


def test_claimants_differ_in_colour_and_marker():
    pairs = [(colour, marker) for colour, marker, _ in STYLE.values()]
    assert len(set(pairs)) == len(pairs) and len({m for _, m in pairs}) == len(pairs)
    assert all(colour in PALETTE or colour == "#777777" for colour, _ in pairs)


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
