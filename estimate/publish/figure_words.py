"""Every word the figures print, and what is written beside them: numbers and dates in
each language, the figures' short wordings of claims, the reader-facing footer, the alt
texts and figures/README.md.

Pure functions of the package and of what was drawn; the wording itself is data, in
figure_text.toml.
"""

import textwrap
import tomllib
from collections import Counter
from functools import cache
from datetime import date
from pathlib import Path

from estimate.package import tables
from estimate.package.tables import Loaded

TEXT = Path(__file__).with_name("figure_text.toml")
LANGUAGES = ("en", "es")
# The thousands separator of each language: "10,000" in English, "10.000" in Spanish.
THOUSANDS = {"en": ",", "es": "."}
DECIMAL = {"en": ".", "es": ","}
# A footer names this many outlets by name, then counts the rest.
OUTLETS_NAMED = 4


@cache
def words() -> dict:
    with open(TEXT, "rb") as f:
        return tomllib.load(f)


def people(x: float, lang: str) -> str:
    """A count of people as a reader of the language writes it: 10,000 / 10.000."""
    whole = f"{round(x):,}"
    return whole.replace(",", THOUSANDS[lang])


def share(x: float, lang: str) -> str:
    text = f"{x:g}"
    return text.replace(".", DECIMAL[lang])


def month(d: date, lang: str) -> str:
    return f"{words()[lang]['months'][d.month - 1]} {d.year}"


def day(d: date, lang: str) -> str:
    return f"{d.day} {month(d, lang)}"


def span(earliest: date, latest: date, precision: str, lang: str) -> str:
    """A claim's date as a reader would say it: a day, a month, a year, or the range it may fall in."""
    if precision == "month":
        return month(earliest, lang)
    if precision == "year":
        return str(earliest.year)
    return day(earliest, lang) if earliest == latest else f"{day(earliest, lang)}–{day(latest, lang)}"


def hedged(claim, hedge, lang: str) -> str:
    """A claim's figure in a few characters: '~300', '≥600', '1,000–1,500', 'several hundred'."""
    templates = words()[lang]["hedged"]
    unit = "%" if claim["unit"] == "percent" else ""
    number = (lambda v: share(float(v), lang)) if unit else (lambda v: people(float(v), lang))
    if hedge["rule"] == "vague":
        return hedge[f"phrases_{lang}"].split("|")[0]
    if hedge["rule"] == "range":
        return templates["range"].format(low=number(claim["stated_low"]), high=number(claim["stated_high"])) + unit
    template = templates.get(claim["hedge_id"], templates.get(hedge["rule"], "{n}"))
    return template.format(n=number(claim["stated_value"])) + unit


def spoken(claim, hedge, lang: str) -> str:
    """A claim's figure in words a screen reader says well: 'about 300', 'at least 600',
    'between 1,000 and 1,500' — the lexicon's first wording of its hedge in the language."""
    unit = "%" if claim["unit"] == "percent" else ""
    number = (lambda v: share(float(v), lang) + unit) if unit else (lambda v: people(float(v), lang))
    if hedge["rule"] == "vague":
        return hedge[f"phrases_{lang}"].split("|")[0]
    if hedge["rule"] == "range":
        return words()[lang]["spoken_range"].format(low=number(claim["stated_low"]), high=number(claim["stated_high"]))
    said = hedge[f"phrases_{lang}"].split("|")[0]
    return f"{said} {number(claim['stated_value'])}".strip()


def wrap(text: str, width_inches: float, points: float, bold: bool = False) -> str:
    """Text broken into lines that fit a width, at about 0.55 em per character (0.65 in
    bold); a line break in the text starts a new line."""
    width = max(int(width_inches * 72 / (points * (0.65 if bold else 0.55))), 20)
    return "\n".join(line for paragraph in text.split("\n") for line in textwrap.wrap(paragraph, width))


def footer(package: Loaded, claim_ids: set[str], lang: str) -> str:
    """Who the drawn figures come from and where they were printed, in reader terms, then
    the dataset, its version and licence, and its address where the descriptor gives one."""
    text = words()[lang]
    claims = package.tables["claims"].by_key("claim_id")
    claimants = package.tables["claimants"].by_key("claimant_id")
    sources = package.tables["sources"].by_key("source_id")
    kinds = Counter(claimants[claims[c]["claimant_id"]]["kind"] for c in claim_ids)
    said = ", ".join(f"{text['kinds'][kind]} ({n})" for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    reports = {r["source_id"] for r in package.tables["claims"].rows if r["origin_id"] in claim_ids and r["status"] == "active"}
    outlets = Counter(sources[s]["outlet"] or text["archived_outlet"] for s in reports)
    ranked = sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0]))
    named = ", ".join(f"{outlet} ({n})" for outlet, n in ranked[:OUTLETS_NAMED])
    rest = len(ranked) - OUTLETS_NAMED
    printed = text["printed_in"].format(outlets=named) + (text["more_outlets"].format(n=rest) if rest > 0 else "")
    descriptor = package.descriptor
    address = tables.address(descriptor)
    credit = text["credit"].format(name=descriptor["name"], version=descriptor["version"],
                                   licence=descriptor["licenses"][0]["name"]) + (f" · {address}" if address else "")
    return "\n".join([text["figures_from"].format(n=len(claim_ids), kinds=said) + " · " + printed, credit])


def title(kind: str, lang: str, quantity: str = "") -> str:
    """A chart's title: kind is who_said, model, claimants, as_of or overview."""
    text = words()[lang]
    key = {"who_said": "who_said_title", "model": "title", "claimants": "claimants_title", "as_of": "as_of_title",
           "overview": "overview_title"}[kind]
    said = text[key].format(subject=text["headline"][quantity]) if quantity else text[key]
    return said[0].upper() + said[1:]


def figure_list(mine: list[dict], lang: str) -> str:
    alt = words()[lang]["alt"]
    return ", ".join(alt["figure"].format(figure=m["spoken"][lang], date=span(m["earliest"], m["latest"], m["precision"], lang)) for m in mine)


def who_said_words(drawn: list[dict], style: dict, quantity: str) -> dict:
    """Title and alt text of a "who said what" chart: every claimant's figures, in order."""
    result = {}
    for lang in LANGUAGES:
        text = words()[lang]
        lines = []
        for claimant_id in sorted(style, key=lambda c: -sum(m["claimant_id"] == c for m in drawn)):
            mine = [m for m in drawn if m["claimant_id"] == claimant_id]
            if mine:
                lines.append(text["alt"]["claimant"].format(claimant=style[claimant_id].names[lang], figures=figure_list(mine, lang)))
        first, last = min(m["earliest"] for m in drawn), max(m["latest"] for m in drawn)
        result[lang] = {"title": title("who_said", lang, quantity),
                        "alt": text["alt"]["who_said"].format(subject=text["headline"][quantity], first=month(first, lang),
                                                              last=month(last, lang), lines="; ".join(lines))}
    return result


def last_values(rows: list, lang: str) -> dict:
    """The last row of a fitted curve, in words: its date, median and 90% band."""
    row = rows[-1]
    high = people(float(row["value_high"]), lang) if row["value_high"] else "?"
    return {"last": day(date.fromisoformat(row["date"]), lang), "central": people(float(row["value_central"]), lang),
            "low": people(float(row["value_low"]), lang), "high": high}


def model_words(rows: list, drawn: list[dict], quantity: str) -> dict:
    result = {}
    for lang in LANGUAGES:
        text = words()[lang]
        result[lang] = {"title": title("model", lang, quantity),
                        "alt": text["alt"]["model"].format(subject=text["headline"][quantity], n=len(drawn),
                                                           first=day(date.fromisoformat(rows[0]["date"]), lang), **last_values(rows, lang))}
    return result


def claimants_words(drawn: list[dict], style: dict) -> dict:
    result = {}
    for lang in LANGUAGES:
        names = [style[c].names[lang] for c in style if any(m["claimant_id"] == c for m in drawn)]
        result[lang] = {"title": title("claimants", lang), "alt": words()[lang]["alt"]["claimants"].format(names=", ".join(names))}
    return result


def as_of_words(rows: list) -> dict:
    result = {}
    for lang in LANGUAGES:
        alt = words()[lang]["alt"]
        lines = [alt["as_of_line"].format(known=day(date.fromisoformat(known), lang), **last_values([r for r in rows if r["known_by"] == known], lang))
                 for known in sorted({r["known_by"] for r in rows})]
        result[lang] = {"title": title("as_of", lang), "alt": alt["as_of"].format(lines="; ".join(lines))}
    return result


def overview_words(rows: list) -> dict:
    result = {}
    quantities = list(dict.fromkeys(r["quantity"] for r in rows))
    for lang in LANGUAGES:
        text = words()[lang]
        parts = [text["alt"]["overview_part"].format(subject=text["headline"][q], **last_values([r for r in rows if r["quantity"] == q], lang))
                 for q in quantities]
        result[lang] = {"title": title("overview", lang), "alt": text["alt"]["overview"].format(parts="; ".join(parts))}
    return result


def readme(charts: list[tuple[str, dict]], columns: list[str]) -> str:
    """figures/README.md: what the folder holds, then each chart's files, title and alt text."""
    text = words()["readme"]
    parts = [text["intro"].strip(), ""]
    for name, said in charts:
        files = " · ".join(f"[{lang.upper()} {fmt.upper()}]({name}.{lang}.{fmt})" for lang in LANGUAGES for fmt in ("png", "svg"))
        parts += [f"## `{name}`", "", f"**{said['en']['title']}** / **{said['es']['title']}**", "",
                  f"{files} · [data drawn]({name}.csv)", "",
                  f"- Alt text: {said['en']['alt']}", f"- Texto alternativo: {said['es']['alt']}", ""]
    parts += [text["columns"].strip(), "", "| column | meaning |", "|---|---|"]
    parts += [f"| `{c}` | {text['column'][c]} |" for c in columns]
    return "\n".join(parts) + "\n"
