"""``python -m estimate figures``: how each source's figures moved, with the fitted ranges.

Every chart is drawn in English and Spanish, as PNG (for the README) and SVG, in
figures/. Plot functions take an Axes and return it; ``save`` writes every file with a
fixed size, style and metadata, so two runs give the same bytes. Claimants are told
apart by colour (Okabe–Ito, safe for colour-blind readers) and by marker shape.
"""

import io
import math
import textwrap
import tomllib
from datetime import date
from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator  # noqa: E402

from estimate.evidence import figures  # noqa: E402
from estimate.outputs import DERIVED, derived_rows, run_writer  # noqa: E402
from estimate.tables import Loaded  # noqa: E402

FIGURES = Path("figures")
TEXT = Path(__file__).with_name("figure_text.toml")
LANGUAGES = ("en", "es")
FORMATS = ("png", "svg")
SUBJECT = "dprk_forces"
QUANTITIES = ("killed", "wounded", "casualties", "deployed")
PANEL_QUANTITIES = QUANTITIES + ("captured",)
# The y-axis reaches this far above the highest claim bound or fitted high; a sensitivity
# range that goes further is cut at the frame rather than flattening everything else.
HEADROOM = 1.3
OVERVIEW = ("deployed", "killed", "casualties")
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
# No triangles: pointing up or down, they would read as "at least" or "at most".
MARKERS = ["o", "s", "D", "P", "h", "p", "*"]
PEOPLE = FuncFormatter(lambda y, _: f"{y:,.0f}".replace(",", "\u202f"))
UNATTRIBUTED = ("#777777", "X")
FIT_COLOUR, BAND_COLOUR, SENSITIVITY_COLOUR = "#0072B2", "#9ecae1", "#e5e5e5"
LINE_STYLES = ["-", "--", "-.", ":", (0, (5, 1))]
STYLE = {"font.family": "DejaVu Sans", "font.size": 9, "svg.hashsalt": "dprk-troops-russia-claims",
         "svg.fonttype": "path", "axes.spines.top": False, "axes.spines.right": False}
SIZE, WIDE, DPI = (9, 6), (13, 6.5), 110
# The claimants chart: inches per row of panels, and for the title, legend and footer.
PANEL_HEIGHT, CLAIMANTS_MARGINS = 1.9, 2.3
# Without these, PNG and SVG files carry the software version and the time of drawing.
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
MONTHS = {"en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(),
          "es": "ene feb mar abr may jun jul ago sep oct nov dic".split()}


# ---------------------------------------------------------------- data

def texts(package: Loaded) -> dict:
    with open(TEXT, "rb") as f:
        words = tomllib.load(f)
    sources = sorted(r["source_id"] for r in package.tables["sources"].rows)
    fill = {"version": package.descriptor["version"], "sources": f"{sources[0]}–{sources[-1]} (data/sources.csv)"}
    return {lang: {k: v.format(**fill) if isinstance(v, str) and "{version}" in v else v for k, v in words[lang].items()}
            for lang in LANGUAGES}


def marks(package: Loaded) -> list[dict]:
    """Each cumulative figure on the subject, counted once per origin (estimate.evidence), as a
    mark to draw: at the number stated (the middle of the interval, on the log scale, for a
    wording with no number), or at the implied count of a share, drawn hollow."""
    claims = package.tables["claims"].by_key("claim_id")
    result = []
    for f in figures(package):
        if f.subject_id != SUBJECT or f.time_scope != "cumulative":
            continue
        claim = claims[f.claim_id]
        low, high = f.count.low, None if f.count.is_open else f.count.high
        implied = claim["unit"] == "percent"
        centre = (float(claim["stated_value"]) if claim["stated_value"] and not implied
                  else low if high is None else math.sqrt(max(low, 1) * max(high, 1)))
        result.append({"claim_id": f.claim_id, "claimant_id": f.claimant_id, "quantity": f.quantity,
                       "earliest": f.earliest, "latest": f.latest, "middle": f.middle,
                       "low": low, "high": high, "centre": centre, "implied": implied})
    return sorted(result, key=lambda m: (m["middle"], m["claim_id"]))


class Style(NamedTuple):
    colour: str
    marker: str
    names: dict      # the claimant's name, by language
    legend: dict     # what the model charts' legend calls its mark, by language


def groups() -> dict:
    with open(TEXT, "rb") as f:
        return tomllib.load(f)["groups"]


def styles(package: Loaded, drawn: list[dict]) -> dict[str, Style]:
    """For each claimant that has a mark, in the order of its country group ([groups] in
    figure_text.toml) and then its name: its group's colour and marker, its name, and its
    group's name for the legend. Unattributed figures are grey."""
    claimants = package.tables["claimants"].by_key("claimant_id")
    words, grouping = texts(package), groups()
    group = {c: grouping.get(claimants[c]["country"], "other") for c in {m["claimant_id"] for m in drawn}}
    result = {}
    for claimant_id in sorted(group, key=lambda c: (grouping["order"].index(group[c]), claimants[c]["name"])):
        row = claimants[claimant_id]
        names = {"en": row["name"], "es": row["name_es"]}
        if row["kind"] == "unattributed":
            result[claimant_id] = Style(*UNATTRIBUTED, names, names)
            continue
        i = grouping["order"].index(group[claimant_id])
        result[claimant_id] = Style(PALETTE[i], MARKERS[i], names, {lang: words[lang][f"group_{group[claimant_id]}"] for lang in LANGUAGES})
    return dict(sorted(result.items(), key=lambda item: item[1].colour == UNATTRIBUTED[0]))


def series(rows: list[dict], quantity: str, known_by: str = "") -> list[dict]:
    return [r for r in rows if r["subject_id"] == SUBJECT and r["quantity"] == quantity and r["known_by"] == known_by]


# ---------------------------------------------------------------- plot functions (ax in, ax out)

def date_axis(ax, lang: str, months=(1, 4, 7, 10)):
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=months))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{MONTHS[lang][mdates.num2date(x).month - 1]} {mdates.num2date(x).year}"))
    return ax


def plot_band(ax, rows: list[dict], words: dict):
    """The fitted median with its 90% band, and the sensitivity range lighter behind it."""
    if not rows:
        return ax
    days = [date.fromisoformat(r["date"]) for r in rows]
    value = lambda column: [float(r[column]) if r[column] else math.nan for r in rows]
    ax.fill_between(days, value("sensitivity_low"), value("sensitivity_high"), color=SENSITIVITY_COLOUR, lw=0, label=words["sensitivity"])
    ax.fill_between(days, value("value_low"), value("value_high"), color=BAND_COLOUR, lw=0, alpha=0.8, label=words["band"])
    ax.plot(days, value("value_central"), color=FIT_COLOUR, lw=2, label=words["fitted"])
    return ax


def plot_claims(ax, drawn: list[dict], style: dict, lang: str):
    """Each claim: a marker with its interval as a bar (an arrow when open, a point when
    exact) and its date span as a horizontal bar; a line joins a claimant's successive claims."""
    for claimant_id, (colour, marker, _, labels) in style.items():
        mine = [m for m in drawn if m["claimant_id"] == claimant_id]
        if not mine:
            continue
        if len(mine) > 1:
            ax.plot([m["middle"] for m in mine], [m["centre"] for m in mine], color=colour, lw=1, alpha=0.7)
        for m in mine:
            below = m["centre"] - m["low"]
            above = 0 if m["high"] is None else m["high"] - m["centre"]
            half = (m["latest"] - m["earliest"]) / 2
            ax.errorbar([m["middle"]], [m["centre"]], yerr=[[below], [above]], xerr=[[half], [half]] if half else None,
                        fmt=marker, color=colour, markersize=7, capsize=3, lw=1.2, zorder=3,
                        markerfacecolor="white" if m["implied"] else colour, markeredgecolor=colour if m["implied"] else "white")
            if m["high"] is None:
                ax.annotate("", xy=(m["middle"], m["low"] * 1.8), xytext=(m["middle"], m["low"]),
                            arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.2}, zorder=3)
        ax.plot([], [], marker, color=colour, label=labels[lang], linestyle="none", markersize=7)
    return ax


def plot_quantity(ax, rows: list[dict], drawn: list[dict], style: dict, words: dict, lang: str, quantity: str):
    """Claims on one quantity over the fitted range."""
    band = series(rows, quantity)
    mine = [m for m in drawn if m["quantity"] == quantity]
    plot_band(ax, band, words)
    plot_claims(ax, mine, style, lang)
    ax.set_title(words[quantity], loc="left", fontsize=10)
    ax.set_ylabel(words["persons"])
    tops = [float(r["value_high"]) for r in band if r["value_high"]] + [m["high"] or 1.8 * m["low"] for m in mine]
    ax.set_ylim(0, HEADROOM * max(tops)) if tops else ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(PEOPLE)
    return date_axis(ax, lang)


def plot_claimant(ax, drawn: list[dict], words: dict, lang: str, label: str, colour: str):
    """One claimant's claims on every quantity: the claimant's colour, one marker per quantity, log scale."""
    for i, quantity in enumerate(PANEL_QUANTITIES):
        mine = [m for m in drawn if m["quantity"] == quantity]
        if mine:
            plot_claims(ax, mine, {mine[0]["claimant_id"]: Style(colour, MARKERS[i], {}, {lang: words[quantity]})}, lang)
    ax.set_ylabel(words["persons_log"], fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(PEOPLE)
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))
    ax.set_title("\n".join(textwrap.wrap(label, 38)), loc="left", fontsize=8.5)
    return date_axis(ax, lang, months=(1, 7))


def plot_as_of(ax, rows: list[dict], words: dict, lang: str, quantity: str = "killed"):
    """The fitted median and band as each successive date could have known them."""
    known = sorted({r["known_by"] for r in rows if r["quantity"] == quantity and r["subject_id"] == SUBJECT})
    for i, known_by in enumerate(known):
        mine = series(rows, quantity, known_by)
        days = [date.fromisoformat(r["date"]) for r in mine]
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(days, [float(r["value_low"]) for r in mine], [float(r["value_high"]) if r["value_high"] else math.nan for r in mine],
                        color=colour, alpha=0.12, lw=0)
        when = date.fromisoformat(known_by)
        ax.plot(days, [float(r["value_central"]) for r in mine], color=colour, lw=2, linestyle=LINE_STYLES[i % len(LINE_STYLES)],
                label=words["as_of_label"].format(date=f"{when.day} {MONTHS[lang][when.month - 1]} {when.year}"))
    ax.set_ylabel(words["persons"])
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(PEOPLE)
    return date_axis(ax, lang)


# ---------------------------------------------------------------- figures

def finish(fig, words: dict, title: str, handles=None, labels=None, ncol: int = 3):
    """Title, one legend below the plot, and the caveat and credits at the foot."""
    fig.suptitle(title, x=0.02, ha="left", fontsize=12, fontweight="bold")
    if handles:
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.075), ncol=ncol, frameon=False, fontsize=8)
    fig.text(0.02, 0.035, words["caveat"], fontsize=8, style="italic")
    fig.text(0.02, 0.01, words["credit"], fontsize=7, color="#444444")
    return fig


def legend_entries(axes, words: dict | None = None, drawn: list[dict] = ()) -> tuple[list, list]:
    """Handles of every Axes once each, then what the open arrows and hollow markers mean."""
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle), labels.append(label)
    if words and any(m["high"] is None for m in drawn):
        handles.append(Line2D([], [], marker="$\\uparrow$", color="#444444", linestyle="none", markersize=9)), labels.append(words["open_claim"])
    if words and any(m["implied"] for m in drawn):
        handles.append(Line2D([], [], marker="o", markerfacecolor="white", color="#444444", linestyle="none")), labels.append(words["implied"])
    return handles, labels


def quantity_figure(rows, drawn, style, words, lang, quantity):
    fig, ax = plt.subplots(figsize=SIZE)
    plot_quantity(ax, rows, drawn, style, words, lang, quantity)
    ax.set_title("", loc="left")
    ax.set_xlabel(words["date"])
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.3)
    return finish(fig, words, words["title"].format(quantity=words[quantity]),
                  *legend_entries([ax], words, [m for m in drawn if m["quantity"] == quantity]), ncol=2)


def overview_figure(rows, drawn, style, words, lang):
    fig, axes = plt.subplots(1, len(OVERVIEW), figsize=WIDE)
    for ax, quantity in zip(axes, OVERVIEW):
        date_axis(plot_quantity(ax, rows, drawn, style, words, lang, quantity), lang, months=(1, 7))
    fig.subplots_adjust(left=0.06, right=0.99, top=0.86, bottom=0.3, wspace=0.25)
    return finish(fig, words, words["overview_title"], *legend_entries(axes, words, [m for m in drawn if m["quantity"] in OVERVIEW]), ncol=4)


def claimants_figure(drawn, style, words, lang):
    """One panel per claimant with at least two figures (one figure cannot move), the figure
    growing a row at a time so that each panel keeps its height."""
    moved = [c for c in style if sum(m["claimant_id"] == c for m in drawn) >= 2]
    columns, rows = 4, math.ceil(len(moved) / 4)
    height = PANEL_HEIGHT * rows + CLAIMANTS_MARGINS
    fig, axes = plt.subplots(rows, columns, figsize=(WIDE[0], height), sharex=True, squeeze=False)
    for ax, claimant_id in zip(axes.flat, moved):
        plot_claimant(ax, [m for m in drawn if m["claimant_id"] == claimant_id], words, lang, style[claimant_id].names[lang], style[claimant_id].colour)
    for ax in list(axes.flat)[len(moved):]:
        ax.set_visible(False)
    handles = [Line2D([], [], marker=MARKERS[i], color="#444444", linestyle="none", label=words[q]) for i, q in enumerate(PANEL_QUANTITIES)]
    fig.subplots_adjust(left=0.06, right=0.99, top=1 - 1.0 / height, bottom=1.3 / height, wspace=0.35, hspace=0.65)
    return finish(fig, words, words["claimants_title"], handles, [h.get_label() for h in handles], ncol=5)


def as_of_figure(rows, words, lang):
    fig, ax = plt.subplots(figsize=SIZE)
    plot_as_of(ax, rows, words, lang)
    ax.set_xlabel(words["date"])
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.3)
    handles, labels = legend_entries([ax])
    handles.append(Patch(color=PALETTE[0], alpha=0.12)), labels.append(words["band"])
    return finish(fig, words, words["as_of_title"], handles, labels, ncol=3)


def save(fig, name: str, lang: str) -> dict[Path, bytes]:
    """The figure as PNG and SVG bytes, with no date or version inside."""
    files = {}
    for fmt in FORMATS:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=DPI, metadata=METADATA[fmt])
        files[FIGURES / f"{name}.{lang}.{fmt}"] = buffer.getvalue()
    plt.close(fig)
    return files


def build(package: Loaded, args) -> dict[Path, bytes]:
    estimates, as_of = derived_rows(package, DERIVED / "estimates.csv"), derived_rows(package, DERIVED / "estimates_as_of.csv")
    drawn = marks(package)
    style = styles(package, drawn)
    words = texts(package)
    files = {}
    with plt.rc_context(STYLE):
        for lang in LANGUAGES:
            for quantity in QUANTITIES:
                files |= save(quantity_figure(estimates, drawn, style, words[lang], lang, quantity), quantity, lang)
            files |= save(claimants_figure(drawn, style, words[lang], lang), "claimants", lang)
            files |= save(as_of_figure(as_of, words[lang], lang), "as_of_killed", lang)
            files |= save(overview_figure(estimates, drawn, style, words[lang], lang), "overview", lang)
    return files


def main(args) -> int:
    return run_writer(args, build)
