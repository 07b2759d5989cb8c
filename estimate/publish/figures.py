"""``python -m estimate figures``: who said what, and what range the claims support.

Every chart is drawn in English and Spanish, as PNG (2,048 px wide or more) and SVG with
real, editable text, in figures/, beside the exact data it draws (``<name>.csv``) and
figures/README.md with each chart's title and alt text in both languages. Plot functions
take an Axes and return it; ``save`` writes every file with a fixed size, style and
metadata, so two runs give the same bytes. Claimants are told apart by colour (Okabe–Ito,
safe for colour-blind readers), by marker shape, and on the "who said what" charts by a
label at the end of each claimant's line.
"""

import io
import math
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from estimate.publish import figure_words as fw  # noqa: E402
from estimate.wording.evidence import assertions  # noqa: E402
from estimate.package.outputs import DERIVED, derived_rows, run_writer, table  # noqa: E402
from estimate.package.tables import Loaded  # noqa: E402

FIGURES = Path("figures")
LANGUAGES = fw.LANGUAGES
FORMATS = ("png", "svg")
SUBJECT = "dprk_forces"
QUANTITIES = ("killed", "wounded", "casualties", "deployed")
PANEL_QUANTITIES = QUANTITIES + ("captured",)
OVERVIEW = ("deployed", "killed", "casualties")
# The y-axis reaches this far above the highest claim bound or fitted high; a sensitivity
# range that goes further is cut at the frame rather than flattening everything else.
HEADROOM = 1.15
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
# No triangles: pointing up or down, they would read as "at least" or "at most".
MARKERS = ["o", "s", "D", "P", "h", "p", "*"]
UNATTRIBUTED = ("#777777", "X")
FIT_COLOUR, BAND_COLOUR, SENSITIVITY_COLOUR, CONTEXT_COLOUR = "#0072B2", "#9ecae1", "#e5e5e5", "#cccccc"
# A "who said what" chart names at most this many claimants in one panel; more, and it has
# one panel per country group (seventeen names on one axis overlap whatever the placing).
ONE_PANEL = 6
LINE_STYLES = ["-", "--", "-.", ":", (0, (5, 1))]
# Text is drawn with the font matplotlib ships (the same pixels on every machine); the SVG
# names the fallbacks a desk's editor will find when it opens the file.
FONTS = ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"]
STYLE = {"font.family": "sans-serif", "font.sans-serif": FONTS, "font.size": 10, "svg.fonttype": "none",
         "svg.hashsalt": "dprk-troops-russia-claims", "axes.spines.top": False, "axes.spines.right": False,
         "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": 9.5, "ytick.labelsize": 9.5, "legend.fontsize": 9.5}
# Sizes in inches and points. A chart is drawn 6.4 in (16 cm) wide, a web article's text
# column, with no type under MIN_POINTS; at DPI its PNG is 2,048 px wide.
WIDTH, DPI, MIN_POINTS = 6.4, 320, 9
TITLE_POINTS, NOTE_POINTS, LABEL_POINTS = 13, 9, 9.5
WIDE = 11.0
# Margins around the plotting area, in inches: room for the y ticks on the left, and on a
# "who said what" chart for the claimants' names on the right.
LEFT, RIGHT, NAMES_RIGHT, BELOW_AXES = 0.8, 0.25, 1.75, 0.45
PANEL_HEIGHT = 1.75
# Without these, PNG and SVG files carry the software version and the time of drawing.
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
# Where a label may go around its point, in points, tried in this order.
NAME_SPOTS = [(7, 0, "left", "center"), (7, 10, "left", "bottom"), (7, -10, "left", "top"), (0, 10, "center", "bottom"),
              (0, -12, "center", "top"), (-7, 0, "right", "center")] + \
             [(dx, dy, "left", "bottom" if dy > 0 else "top") for dy in (22, -22, 34, -34, 46, -46) for dx in (12, 30)] + \
             [(-12, dy, "right", "bottom" if dy > 0 else "top") for dy in (22, -22, 34, -34)] + \
             [(dx, dy, "left", "center") for dx in (60, 110, 160, 210, 260) for dy in (0, 14, -14, 28, -28, 42, -42, 56, -56, 70, -70)]
# A label moved further than this from its point (in points) is tied to it by a thin line.
LEADER = 14
VALUE_SPOTS = [(0, 7, "center", "bottom"), (0, -9, "center", "top"), (6, 6, "left", "bottom"), (-6, 6, "right", "bottom"),
               (6, -6, "left", "top"), (-6, -6, "right", "top"), (7, 0, "left", "center"), (-7, 0, "right", "center")]
# An arrow for an open claim ("at least"), in points.
ARROW = 16
COLUMNS = ["layer", "quantity", "known_by", "claimant_id", "claimant", "claim_id", "figure", "date", "date_earliest",
           "date_latest", "value", "low", "high", "high_is_open", "sensitivity_low", "sensitivity_high", "projection"]


# ---------------------------------------------------------------- data

def marks(package: Loaded) -> list[dict]:
    """Each cumulative figure on the subject, counted once per origin (estimate.wording.evidence), as a
    mark to draw: at the number stated (the middle of a stated range; for a wording with no
    number, the middle of its interval on the log scale), or at the implied count of a share,
    drawn hollow; with its short wording in each language."""
    claims = package.tables["claims"].by_key("claim_id")
    hedges = package.tables["hedges"].by_key("hedge_id")
    result = []
    for f in assertions(package):
        if f.subject_id != SUBJECT or f.time_scope != "cumulative":
            continue
        claim = claims[f.claim_id]
        hedge = hedges[claim["hedge_id"]]
        low, high = f.count.low, None if f.count.is_open else f.count.high
        implied = claim["unit"] == "percent"
        if claim["stated_value"] and not implied:
            centre = float(claim["stated_value"])
        elif hedge["rule"] == "range" and not implied:
            centre = (float(claim["stated_low"]) + float(claim["stated_high"])) / 2
        else:
            centre = low if high is None else math.sqrt(max(low, 1) * max(high, 1))
        result.append({"claim_id": f.claim_id, "claimant_id": f.claimant_id, "quantity": f.quantity, "rule": hedge["rule"],
                       "earliest": f.earliest, "latest": f.latest, "middle": f.middle,
                       "low": low, "high": high, "centre": centre, "implied": implied,
                       "precision": f.precision, "words": {lang: fw.hedged(claim, hedge, lang) for lang in LANGUAGES},
                       "spoken": {lang: fw.spoken(claim, hedge, lang) for lang in LANGUAGES}})
    return sorted(result, key=lambda m: (m["middle"], m["claim_id"]))


class Style(NamedTuple):
    colour: str
    marker: str
    names: dict      # the claimant's short name, by language
    legend: dict     # what the model charts' legend calls its mark, by language


def styles(package: Loaded, drawn: list[dict]) -> dict[str, Style]:
    """For each claimant that has a mark, in the order of its country group ([groups] in
    figure_text.toml) and then its name: its group's colour and marker, its short name, and
    its group's name for the legend. Unattributed figures are grey."""
    claimants = package.tables["claimants"].by_key("claimant_id")
    text = fw.words()
    grouping = text["groups"]
    group = {c: grouping.get(claimants[c]["country"], "other") for c in {m["claimant_id"] for m in drawn}}
    result = {}
    for claimant_id in sorted(group, key=lambda c: (grouping["order"].index(group[c]), claimants[c]["name"])):
        row = claimants[claimant_id]
        names = {"en": row["label"], "es": row["label_es"]}
        if row["kind"] == "unattributed":
            result[claimant_id] = Style(*UNATTRIBUTED, names, names)
            continue
        i = grouping["order"].index(group[claimant_id])
        result[claimant_id] = Style(PALETTE[i], MARKERS[i], names, {lang: text[lang][f"group_{group[claimant_id]}"] for lang in LANGUAGES})
    return dict(sorted(result.items(), key=lambda item: item[1].colour == UNATTRIBUTED[0]))


def series(rows: list, quantity: str, known_by: str = "") -> list:
    return [r for r in rows if r["subject_id"] == SUBJECT and r["quantity"] == quantity and r["known_by"] == known_by]


def evidence_ends(package: Loaded, claim_fit: list) -> dict[str, date]:
    """The last day each quantity's evidence reaches: the latest as-of date of a claim the
    fit used. A fitted curve past it would be a projection, and is drawn as one."""
    claims = package.tables["claims"].by_key("claim_id")
    ends: dict[str, date] = {}
    for row in claim_fit:
        claim = claims[row["claim_id"]]
        if row["used_in_fit"] == "true" and claim["subject_id"] == SUBJECT:
            latest = date.fromisoformat(claim["as_of_date_latest"])
            ends[claim["quantity"]] = max(ends.get(claim["quantity"], latest), latest)
    return ends


# ---------------------------------------------------------------- plot functions (ax in, ax out)

def people_axis(ax, lang: str):
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: fw.people(y, lang)))
    return ax


def date_axis(ax, lang: str, months=(1, 4, 7, 10)):
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=months))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fw.month(mdates.num2date(x).date(), lang)))
    return ax


def plot_band(ax, rows: list, words: dict, evidence_end: date | None):
    """The fitted median with its 90% band and the sensitivity range lighter behind it, over
    the span the evidence covers; any part past ``evidence_end`` hatched, as a projection."""
    if not rows:
        return ax
    value = lambda part, column: [float(r[column]) if r[column] else math.nan for r in part]
    days = lambda part: [date.fromisoformat(r["date"]) for r in part]
    end = evidence_end or date.max
    seen = [r for r in rows if date.fromisoformat(r["date"]) <= end]
    ahead = [r for r in rows if date.fromisoformat(r["date"]) >= end] if evidence_end else []
    ax.fill_between(days(seen), value(seen, "sensitivity_low"), value(seen, "sensitivity_high"), color=SENSITIVITY_COLOUR, lw=0,
                    label=words["sensitivity"])
    ax.fill_between(days(seen), value(seen, "value_low"), value(seen, "value_high"), color=BAND_COLOUR, lw=0, alpha=0.8, label=words["band"])
    ax.plot(days(seen), value(seen, "value_central"), color=FIT_COLOUR, lw=2, label=words["fitted"])
    if len(ahead) > 1:
        ax.fill_between(days(ahead), value(ahead, "value_low"), value(ahead, "value_high"), facecolor="none", edgecolor=BAND_COLOUR,
                        hatch="///", lw=0, label=words["projection"], gid="projection")
        ax.plot(days(ahead), value(ahead, "value_central"), color=FIT_COLOUR, lw=1.5, linestyle="--", gid="projection")
    return ax


def open_arrow(ax, x, y, colour: str, upward: bool = True):
    """An arrow from a point, of a fixed length on the page: the claim has no bound that way."""
    ax.annotate("", xy=(x, y), xytext=(0, ARROW if upward else -ARROW), textcoords="offset points",
                arrowprops={"arrowstyle": "<|-", "color": colour, "lw": 1.4, "shrinkA": 0, "shrinkB": 0}, zorder=3, gid="open")


def plot_claims(ax, drawn: list[dict], style: dict, lang: str, joined: bool = True, lw: float = 1.0):
    """Each claim: a marker at its figure, a vertical bar for a stated or vague range, an
    arrow when it is open ("at least") or only bounded above ("up to"), and a thin
    horizontal bar for the span of an uncertain date; a line joins a claimant's figures."""
    for claimant_id, (colour, marker, _, labels) in style.items():
        mine = sorted((m for m in drawn if m["claimant_id"] == claimant_id), key=lambda m: (m["middle"], m["claim_id"]))
        if not mine:
            continue
        if joined and len(mine) > 1:
            ax.plot([m["middle"] for m in mine], [m["centre"] for m in mine], color=colour, lw=lw, alpha=0.85, zorder=2)
        for m in mine:
            if m["earliest"] != m["latest"]:
                ax.plot([m["earliest"], m["latest"] + timedelta(days=1)], [m["centre"]] * 2, color=colour, lw=1, alpha=0.5, zorder=2)
            if m["high"] is not None and (m["rule"] in ("range", "vague") or m["implied"]):
                ax.errorbar([m["middle"]], [m["centre"]], yerr=[[m["centre"] - m["low"]], [m["high"] - m["centre"]]], fmt="none",
                            ecolor=colour, capsize=3, lw=1.2, zorder=3)
            if m["high"] is None or m["rule"] == "below":
                open_arrow(ax, m["middle"], m["centre"], colour, upward=m["high"] is None)
            ax.plot([m["middle"]], [m["centre"]], marker, color=colour, markersize=6.5, zorder=4,
                    markerfacecolor="white" if m["implied"] else colour, markeredgecolor=colour if m["implied"] else "white")
        ax.plot([], [], marker, color=colour, label=labels[lang], linestyle="none", markersize=7)
    return ax


def claim_top(m: dict) -> float:
    return m["high"] if m["high"] is not None else m["centre"] * 1.25


def plot_quantity(ax, rows: list, drawn: list[dict], style: dict, words: dict, lang: str, quantity: str,
                  evidence_end: date | None = None):
    """Claims on one quantity over the fitted range."""
    band = series(rows, quantity)
    mine = [m for m in drawn if m["quantity"] == quantity]
    plot_band(ax, band, words, evidence_end)
    plot_claims(ax, mine, style, lang)
    ax.set_title(words[quantity], loc="left")
    ax.set_ylabel(words["persons"])
    tops = [float(r["value_high"]) for r in band if r["value_high"]] + [claim_top(m) for m in mine]
    ax.set_ylim(0, HEADROOM * max(tops)) if tops else ax.set_ylim(bottom=0)
    return date_axis(people_axis(ax, lang), lang)


def plot_who_said(ax, drawn: list[dict], style: dict, lang: str, context: list[dict] = ()):
    """Claimants' figures on one quantity, claims only, on a linear axis: a line per claimant
    through its own successive figures, over every other claimant's figures (``context``) as
    grey dots. Labels are placed afterwards (``label``); limits are set by the figure."""
    ax.plot([m["middle"] for m in context], [m["centre"] for m in context], "o", color=CONTEXT_COLOUR, markersize=4, zorder=1,
            gid="context")
    plot_claims(ax, drawn, style, lang, lw=2)
    return date_axis(people_axis(ax, lang), lang)


def plot_claimant(ax, drawn: list[dict], words: dict, lang: str, label: str, colour: str):
    """One claimant's claims on every quantity: the claimant's colour, one marker per quantity, log scale."""
    for i, quantity in enumerate(PANEL_QUANTITIES):
        mine = [m for m in drawn if m["quantity"] == quantity]
        if mine:
            plot_claims(ax, mine, {mine[0]["claimant_id"]: Style(colour, MARKERS[i], {}, {lang: words[quantity]})}, lang)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    people_axis(ax, lang)
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))
    ax.set_title(label, loc="left", fontsize=NOTE_POINTS + 0.5, color=colour)
    return date_axis(ax, lang, months=(1, 7))


def plot_as_of(ax, rows: list, words: dict, lang: str, quantity: str = "killed"):
    """The fitted median and band as each successive date could have known them."""
    known = sorted({r["known_by"] for r in rows if r["quantity"] == quantity and r["subject_id"] == SUBJECT})
    for i, known_by in enumerate(known):
        mine = series(rows, quantity, known_by)
        days = [date.fromisoformat(r["date"]) for r in mine]
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(days, [float(r["value_low"]) for r in mine], [float(r["value_high"]) if r["value_high"] else math.nan for r in mine],
                        color=colour, alpha=0.12, lw=0)
        ax.plot(days, [float(r["value_central"]) for r in mine], color=colour, lw=2, linestyle=LINE_STYLES[i % len(LINE_STYLES)],
                label=words["as_of_label"].format(date=fw.day(date.fromisoformat(known_by), lang)))
    ax.set_ylabel(words["persons"])
    ax.set_ylim(bottom=0)
    return date_axis(people_axis(ax, lang), lang)


# ---------------------------------------------------------------- labels placed where they fit

class Label(NamedTuple):
    text: str
    x: date
    y: float
    colour: str
    spots: list
    required: bool
    weight: str = "normal"


def distance(box: Bbox, point) -> float:
    """Pixels from a point to the nearest edge of a box (0 inside it)."""
    x, y = point
    return math.hypot(max(box.x0 - x, 0, x - box.x1), max(box.y0 - y, 0, y - box.y1))


def label(fig, ax, labels: list[Label]) -> list:
    """Each label at the first of its spots where it overlaps no point, line or earlier label,
    stays inside the figure and right of the y axis, and is nearer its own point than any
    other; a label with no spot free of overlaps is left out unless required (a claimant's
    name), which then takes the spot that overlaps least. A label placed away from its point,
    or nearer another point than its own, is tied to its point by a thin line."""
    renderer = fig.canvas.get_renderer()
    taken = obstacles(ax, renderer)
    where = {(item.x, item.y): ax.transData.transform((mdates.date2num(item.x), item.y)) for item in labels}
    page = Bbox.from_extents(ax.bbox.x0 + 2, ax.bbox.y0 + 2, fig.bbox.x1 - 4, ax.bbox.y1 + 0.6 * fig.dpi * LABEL_POINTS / 72)

    def draw(item: Label, spot: tuple, leader: bool):
        dx, dy, ha, va = spot
        line = {"arrowstyle": "-", "color": item.colour, "lw": 0.6, "shrinkA": 1, "shrinkB": 4} if leader else None
        return ax.annotate(item.text, (item.x, item.y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                           fontsize=LABEL_POINTS, color=item.colour, fontweight=item.weight, annotation_clip=False, zorder=5,
                           arrowprops=line, path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])

    placed = []
    for item in labels:
        best = None
        for spot in item.spots:
            text = draw(item, spot, leader=False)
            box = text.get_window_extent(renderer).padded(2)
            text.remove()
            inside = page.contains(box.x0, box.y0) and page.contains(box.x1, box.y1)
            own = distance(box, where[item.x, item.y])
            ambiguous = any(distance(box, p) < own for at, p in where.items() if at != (item.x, item.y))
            # Overlaps count whole; nearness to another point only breaks ties, since a line can tie it.
            clashes = sum(box.overlaps(o) for o in taken) + (0 if inside else len(taken) + 1) + 0.5 * ambiguous
            if best is None or clashes < best[0]:
                best = (clashes, spot, box, ambiguous)
            if clashes == 0:
                break
        if best[0] >= 1 and not item.required:
            continue
        taken.append(best[2])
        placed.append(draw(item, best[1], leader=math.hypot(*best[1][:2]) > LEADER or best[3]))
    return placed


def obstacles(ax, renderer) -> list[Bbox]:
    """Small boxes over every drawn point and along every line and bar of the axes, and the
    arrows' own boxes, in pixels; not over the grey figures of other panels, which a label may
    cover (its white outline keeps it legible)."""
    lines = [line for line in ax.get_lines() if line.get_gid() != "context"]
    paths = [ax.transData.transform(line.get_xydata()) for line in lines if line.get_linestyle() != "None"]
    paths += [[point] for line in lines if line.get_linestyle() == "None" for point in ax.transData.transform(line.get_xydata())]
    paths += [ax.transData.transform(segment) for collection in ax.collections if hasattr(collection, "get_segments")
              for segment in collection.get_segments()]
    arrows = [child for child in ax.texts if getattr(child, "arrow_patch", None)]
    for arrow in arrows:
        arrow.update_positions(renderer)  # an arrow's path is laid out only when drawn
    boxes = [arrow.arrow_patch.get_window_extent(renderer) for arrow in arrows]
    for points in paths:
        for (x0, y0), (x1, y1) in zip(points, points[1:]) if len(points) > 1 else [(points[0], points[0])] if len(points) else []:
            steps = max(int(math.hypot(x1 - x0, y1 - y0) // 6), 1)
            boxes += [Bbox.from_extents(x - 6, y - 6, x + 6, y + 6) for x, y in
                      ((x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps) for i in range(steps + 1))]
    return boxes


def who_said_labels(drawn: list[dict], style: dict, lang: str) -> list[Label]:
    """A claimant's name at its last figure, and each figure's words beside it; claimants with
    more figures first, since their lines carry the story."""
    order = sorted(style, key=lambda c: -sum(m["claimant_id"] == c for m in drawn))
    names, values = [], []
    for claimant_id in order:
        mine = sorted((m for m in drawn if m["claimant_id"] == claimant_id), key=lambda m: (m["middle"], m["claim_id"]))
        if not mine:
            continue
        colour = style[claimant_id].colour
        names.append(Label(style[claimant_id].names[lang], mine[-1]["middle"], mine[-1]["centre"], colour, NAME_SPOTS, True, "bold"))
        values += [Label(m["words"][lang], m["middle"], m["centre"], colour, VALUE_SPOTS, False) for m in mine]
    return names + values


# ---------------------------------------------------------------- figures

class Block(NamedTuple):
    text: str
    points: float
    options: dict = {}


def compose(fig, head: list[Block], foot: list[Block], legend: tuple | None = None, right: float = RIGHT, ncol: int = 2,
            panels_below: float = BELOW_AXES, panels_above: float = 0.12):
    """Title and notes above the plot, legend and footer below it, each wrapped to the
    figure's width; the plotting area takes what is left."""
    width, height = fig.get_figwidth(), fig.get_figheight()
    margin = 0.15
    y = height - margin
    for block in head:
        text = fw.wrap(block.text, width - 2 * margin, block.points, bold="fontweight" in block.options)
        fig.text(margin / width, y / height, text, va="top", ha="left", fontsize=block.points, **block.options)
        y -= (text.count("\n") + 1) * block.points * 1.25 / 72 + 0.05
    top = y - panels_above
    y = 0.08
    for block in reversed(foot):
        text = fw.wrap(block.text, width - 2 * margin, block.points)
        fig.text(margin / width, y / height, text, va="bottom", ha="left", fontsize=block.points, **block.options)
        y += (text.count("\n") + 1) * block.points * 1.25 / 72 + 0.07
    if legend and legend[0]:
        rows = math.ceil(len(legend[0]) / ncol)
        fig.legend(*legend, loc="lower left", bbox_to_anchor=(margin / width, y / height), ncol=ncol, frameon=False,
                   fontsize=NOTE_POINTS + 0.5, borderaxespad=0, handlelength=1.6, columnspacing=1.2)
        y += rows * (NOTE_POINTS + 0.5) * 1.45 / 72 + 0.05
    fig.subplots_adjust(left=LEFT / width, right=1 - right / width, top=top / height, bottom=(y + panels_below) / height)
    return fig


def legend_entries(axes, words: dict | None = None, drawn: list[dict] = ()) -> tuple[list, list]:
    """Handles of every Axes once each, then what the open arrows and hollow markers mean."""
    handles, labels = [], []
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            if text not in labels:
                handles.append(handle), labels.append(text)
    if words and any(m["high"] is None for m in drawn):
        handles.append(Line2D([], [], marker="$\\uparrow$", color="#444444", linestyle="none", markersize=9)), labels.append(words["open_claim"])
    if words and any(m["implied"] for m in drawn):
        handles.append(Line2D([], [], marker="o", markerfacecolor="white", color="#444444", linestyle="none")), labels.append(words["implied"])
    return handles, labels


def claim_ids(drawn: list[dict]) -> set[str]:
    return {m["claim_id"] for m in drawn}


def who_said_figure(package, drawn, style, words, lang, quantity):
    """One panel, or where more claimants spoke than one panel can name legibly, one panel
    per country group, stacked over a shared date axis, each over the others' figures in grey."""
    mine = [m for m in drawn if m["quantity"] == quantity]
    speakers = {c: s for c, s in style.items() if any(m["claimant_id"] == c for m in mine)}
    panels = [speakers] if len(speakers) <= ONE_PANEL else \
        [{c: s for c, s in speakers.items() if s.legend["en"] == group} for group in dict.fromkeys(s.legend["en"] for s in speakers.values())]
    height = (4.2 if len(panels) == 1 else PANEL_HEIGHT * len(panels)) + 2.2
    fig, axes = plt.subplots(len(panels), 1, figsize=(WIDTH, height), sharex=True, sharey=True, squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        plot_who_said(ax, [m for m in mine if m["claimant_id"] in panel], panel, lang,
                      [m for m in mine if m["claimant_id"] not in panel])
        if len(panels) > 1:
            ax.set_title(next(iter(panel.values())).legend[lang], loc="left", fontweight="bold", color=next(iter(panel.values())).colour)
    axes[0, 0].set_ylim(0, HEADROOM * max(claim_top(m) for m in mine))
    first, last = min(m["earliest"] for m in mine), max(m["latest"] for m in mine)
    pad = timedelta(days=max((last - first).days // 40, 5))
    axes[0, 0].set_xlim(first - pad, last + pad)
    axes[len(panels) // 2, 0].set_ylabel(words["persons"])
    compose(fig, [Block(fw.title("who_said", lang, quantity), TITLE_POINTS, {"fontweight": "bold"}),
                  Block(words["who_said_key"], NOTE_POINTS, {"color": "#333333"})],
            [Block(fw.footer(package, claim_ids(mine), lang), NOTE_POINTS, {"color": "#444444"})], right=NAMES_RIGHT,
            panels_above=0.35 if len(panels) > 1 else 0.12)
    fig.subplots_adjust(hspace=0.35)
    for ax, panel in zip(axes.flat, panels):
        label(fig, ax, who_said_labels([m for m in mine if m["claimant_id"] in panel], panel, lang))
    return fig


def quantity_figure(package, rows, drawn, style, words, lang, quantity, ends):
    mine = [m for m in drawn if m["quantity"] == quantity]
    fig, ax = plt.subplots(figsize=(WIDTH, 6.2))
    plot_quantity(ax, rows, drawn, style, words, lang, quantity, ends.get(quantity))
    ax.set_title("", loc="left")
    compose(fig, [Block(fw.title("model", lang, quantity), TITLE_POINTS, {"fontweight": "bold"}),
                  Block(words["caption"], NOTE_POINTS + 0.5, {"color": "#333333"})],
            [Block(words["caveat"], NOTE_POINTS, {"style": "italic"}), Block(fw.footer(package, claim_ids(mine), lang), NOTE_POINTS, {"color": "#444444"})],
            legend_entries([ax], words, mine))
    return fig


def overview_figure(package, rows, drawn, style, words, lang, ends):
    """Deployed, killed and casualties side by side, over one shared date axis."""
    fig, axes = plt.subplots(1, len(OVERVIEW), figsize=(WIDE, 6.0), sharex=True)
    shown = [m for m in drawn if m["quantity"] in OVERVIEW]
    for ax, quantity in zip(axes, OVERVIEW):
        date_axis(plot_quantity(ax, rows, drawn, style, words, lang, quantity, ends.get(quantity)), lang, months=(1, 7))
        ax.set_ylabel("")
    axes[0].set_ylabel(words["persons"])
    days = [date.fromisoformat(r["date"]) for q in OVERVIEW for r in series(rows, q)] + [m[k] for m in shown for k in ("earliest", "latest")]
    axes[0].set_xlim(min(days) - timedelta(days=7), max(days) + timedelta(days=7))
    compose(fig, [Block(fw.title("overview", lang), TITLE_POINTS, {"fontweight": "bold"}), Block(words["caption"], NOTE_POINTS + 0.5, {"color": "#333333"})],
            [Block(words["caveat"], NOTE_POINTS, {"style": "italic"}), Block(fw.footer(package, claim_ids(shown), lang), NOTE_POINTS, {"color": "#444444"})],
            legend_entries(axes, words, shown), ncol=4, panels_above=0.35)
    fig.subplots_adjust(wspace=0.28)
    return fig


def claimants_figure(package, drawn, style, words, lang):
    """One panel per claimant with at least two figures (one figure cannot move), the figure
    growing a row at a time so that each panel keeps its height."""
    moved = [c for c in style if sum(m["claimant_id"] == c for m in drawn) >= 2]
    columns, rows = 4, math.ceil(len(moved) / 4)
    fig, axes = plt.subplots(rows, columns, figsize=(WIDE, PANEL_HEIGHT * rows + 2.6), sharex=True, squeeze=False)
    for ax, claimant_id in zip(axes.flat, moved):
        plot_claimant(ax, [m for m in drawn if m["claimant_id"] == claimant_id], words, lang, style[claimant_id].names[lang], style[claimant_id].colour)
    for ax in list(axes.flat)[len(moved):]:
        ax.set_visible(False)
    handles = [Line2D([], [], marker=MARKERS[i], color="#444444", linestyle="none", label=words[q]) for i, q in enumerate(PANEL_QUANTITIES)]
    shown = [m for m in drawn if m["claimant_id"] in moved]
    compose(fig, [Block(fw.title("claimants", lang), TITLE_POINTS, {"fontweight": "bold"}), Block(words["persons_log"], NOTE_POINTS + 0.5, {"color": "#333333"})],
            [Block(fw.footer(package, claim_ids(shown), lang), NOTE_POINTS, {"color": "#444444"})],
            (handles, [h.get_label() for h in handles]), ncol=5, panels_above=0.35)
    fig.subplots_adjust(wspace=0.3, hspace=0.45)
    return fig


def claimant_figure(package, drawn, style, words, lang, claimant_id):
    """One claimant's figures on every quantity, for its page on the website (estimate.publish.site)."""
    mine = [m for m in drawn if m["claimant_id"] == claimant_id]
    fig, ax = plt.subplots(figsize=(WIDTH, 4.6))
    plot_claimant(ax, mine, words, lang, "", style[claimant_id].colour)
    quantities = [q for q in PANEL_QUANTITIES if any(m["quantity"] == q for m in mine)]
    handles = [Line2D([], [], marker=MARKERS[PANEL_QUANTITIES.index(q)], color=style[claimant_id].colour, linestyle="none", label=words[q])
               for q in quantities]
    extra = legend_entries([], words, mine)
    compose(fig, [Block(style[claimant_id].names[lang], TITLE_POINTS, {"fontweight": "bold"}),
                  Block(words["persons_log"], NOTE_POINTS + 0.5, {"color": "#333333"})],
            [Block(fw.footer(package, claim_ids(mine), lang), NOTE_POINTS, {"color": "#444444"})],
            (handles + extra[0], [h.get_label() for h in handles] + extra[1]), ncol=3)
    return fig


def as_of_figure(package, rows, drawn, words, lang):
    fig, ax = plt.subplots(figsize=(WIDTH, 5.6))
    plot_as_of(ax, rows, words, lang)
    handles, labels = legend_entries([ax])
    handles.append(Patch(color=PALETTE[0], alpha=0.12)), labels.append(words["band"])
    killed = [m for m in drawn if m["quantity"] == "killed"]
    compose(fig, [Block(fw.title("as_of", lang), TITLE_POINTS, {"fontweight": "bold"}), Block(words["caption"], NOTE_POINTS + 0.5, {"color": "#333333"})],
            [Block(fw.footer(package, claim_ids(killed), lang), NOTE_POINTS, {"color": "#444444"})], (handles, labels))
    return fig


def save(fig, name: str, lang: str) -> dict[Path, bytes]:
    """The figure as PNG and SVG bytes, with no date or version inside."""
    files = {}
    for fmt in FORMATS:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=DPI, metadata=METADATA[fmt])
        files[FIGURES / f"{name}.{lang}.{fmt}"] = buffer.getvalue()
    plt.close(fig)
    return files


def claimant_charts(package: Loaded) -> dict[tuple[str, str], tuple[bytes, str]]:
    """For each claimant with a figure drawn, in each language: its chart as SVG and the
    chart's alt text (the website's claimant pages)."""
    drawn = marks(package)
    style = styles(package, drawn)
    text = fw.words()
    result = {}
    with plt.rc_context(STYLE):
        for claimant_id, look in style.items():
            mine = [m for m in drawn if m["claimant_id"] == claimant_id]
            for lang in LANGUAGES:
                buffer = io.BytesIO()
                fig = claimant_figure(package, drawn, style, text[lang], lang, claimant_id)
                fig.savefig(buffer, format="svg", metadata=METADATA["svg"])
                plt.close(fig)
                said = "; ".join(f"{text[lang][q]}: {fw.figure_list([m for m in mine if m['quantity'] == q], lang)}"
                                 for q in PANEL_QUANTITIES if any(m["quantity"] == q for m in mine))
                alt = text[lang]["alt"]["claimant"].format(claimant=look.names[lang], figures=said)
                result[claimant_id, lang] = (buffer.getvalue(), alt)
    return result


# ---------------------------------------------------------------- the data beside each figure

def claim_records(drawn: list[dict], style: dict) -> list[dict]:
    return [{"layer": "claim", "quantity": m["quantity"], "claimant_id": m["claimant_id"], "claimant": style[m["claimant_id"]].names["en"],
             "claim_id": m["claim_id"], "figure": m["words"]["en"], "date": m["middle"], "date_earliest": m["earliest"],
             "date_latest": m["latest"], "value": m["centre"], "low": m["low"], "high": m["high"], "high_is_open": m["high"] is None}
            for m in drawn]


def model_records(rows: list, ends: dict[str, date]) -> list[dict]:
    return [{"layer": "model", "quantity": r["quantity"], "known_by": r["known_by"], "date": r["date"], "value": r["value_central"],
             "low": r["value_low"], "high": r["value_high"], "high_is_open": r["high_is_open"] == "true",
             "sensitivity_low": r["sensitivity_low"], "sensitivity_high": r["sensitivity_high"],
             "projection": r["quantity"] in ends and date.fromisoformat(r["date"]) > ends[r["quantity"]]} for r in rows]


def data_file(name: str, records: list[dict]) -> dict[Path, bytes]:
    return {FIGURES / f"{name}.csv": table(COLUMNS, [{c: str(r[c]) if isinstance(r.get(c), date) else r.get(c) for c in COLUMNS} for r in records])}


# ---------------------------------------------------------------- all of it

class Chart(NamedTuple):
    name: str
    draw: object       # language -> Figure
    records: list      # the data drawn
    words: dict        # language -> {"title": ..., "alt": ...}


def charts(package: Loaded) -> list[Chart]:
    estimates = derived_rows(package, DERIVED / "estimates.csv")
    as_of = derived_rows(package, DERIVED / "estimates_as_of.csv")
    ends = evidence_ends(package, derived_rows(package, DERIVED / "claim_fit.csv"))
    drawn = marks(package)
    style = styles(package, drawn)
    text = fw.words()
    result = []
    for quantity in QUANTITIES:
        mine = [m for m in drawn if m["quantity"] == quantity]
        result.append(Chart(f"who_said_{quantity}", lambda lang, q=quantity: who_said_figure(package, drawn, style, text[lang], lang, q),
                            claim_records(mine, style), fw.who_said_words(mine, style, quantity)))
    for quantity in QUANTITIES:
        mine = [m for m in drawn if m["quantity"] == quantity]
        result.append(Chart(quantity, lambda lang, q=quantity: quantity_figure(package, estimates, drawn, style, text[lang], lang, q, ends),
                            model_records(series(estimates, quantity), ends) + claim_records(mine, style),
                            fw.model_words(series(estimates, quantity), mine, quantity)))
    moved = [m for m in drawn if sum(n["claimant_id"] == m["claimant_id"] for n in drawn) >= 2]
    result.append(Chart("claimants", lambda lang: claimants_figure(package, drawn, style, text[lang], lang),
                        claim_records(moved, style), fw.claimants_words(moved, style)))
    killed_as_of = [r for r in as_of if r["quantity"] == "killed" and r["subject_id"] == SUBJECT]
    result.append(Chart("as_of_killed", lambda lang: as_of_figure(package, as_of, drawn, text[lang], lang),
                        model_records(killed_as_of, {}), fw.as_of_words(killed_as_of)))
    overview_rows = [r for q in OVERVIEW for r in series(estimates, q)]
    result.append(Chart("overview", lambda lang: overview_figure(package, estimates, drawn, style, text[lang], lang, ends),
                        model_records(overview_rows, ends) + claim_records([m for m in drawn if m["quantity"] in OVERVIEW], style),
                        fw.overview_words(overview_rows)))
    return result


def build(package: Loaded, args) -> dict[Path, bytes]:
    made = charts(package)
    files = {FIGURES / "README.md": fw.readme([(c.name, c.words) for c in made], COLUMNS).encode("utf-8")}
    for chart in made:
        files |= data_file(chart.name, chart.records)
    with plt.rc_context(STYLE):
        for chart in made:
            for lang in LANGUAGES:
                files |= save(chart.draw(lang), chart.name, lang)
    return files


def main(args) -> int:
    return run_writer(args, build)
