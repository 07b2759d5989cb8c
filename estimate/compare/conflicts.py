"""``python -m estimate conflicts``: pairs of claims that cannot both hold as worded.

Literal conflicts, found before any model, and model conflicts, read from the fit's
diagnostics (data/derived/claim_fit.csv, claimant_bias.csv), in data/derived/conflicts.csv.
Literal conflicts are over figures counted once per origin and read with the main lexicon. A literal conflict is certain:
two figures are compared in time only when their order is certain (one's as-of interval
ends before the other's starts, or both are dated by the same article's publication),
and "within N days" ([conflicts] near_days in estimate/model/model.toml) means however
the uncertain dates fall.
"""

import math
from itertools import permutations

from estimate.wording.evidence import Assertion, assertions
from estimate.model.settings import load_config
from estimate.package.outputs import DERIVED, derived_rows, run_writer, table
from estimate.package.tables import Loaded, columns

OUTPUT = DERIVED / "conflicts.csv"
# What each casualty definition certainly includes: killed always; wounded only when
# the text says so, since 'bajas' alone is sometimes used for deaths.
COMPONENTS = {
    "unspecified": {"killed"},
    "killed_wounded": {"killed", "wounded"},
    "killed_wounded_missing_captured": {"killed", "wounded", "missing", "captured"},
}
CLAIM_FIT, CLAIMANT_BIAS = DERIVED / "claim_fit.csv", DERIVED / "claimant_bias.csv"


def same_moment(a: Assertion, b: Assertion) -> bool:
    return a.source_id == b.source_id and (a.earliest, a.latest) == (b.earliest, b.latest)


def later(b: Assertion, a: Assertion) -> bool:
    """b is certainly dated after a."""
    return b.earliest >= a.latest and not same_moment(a, b)


def not_before(b: Assertion, a: Assertion) -> bool:
    return later(b, a) or same_moment(a, b)


def widest_gap_days(a: Assertion, b: Assertion) -> int:
    """The most days that can separate the two as-of dates."""
    return max((b.latest - a.earliest).days, (a.latest - b.earliest).days)


def above(a: Assertion, b: Assertion) -> bool:
    """a's lowest reading exceeds b's highest."""
    return a.count.low > b.count.high


def who(figure: Assertion) -> str:
    return "an unattributed report" if figure.claimant_kind == "unattributed" else figure.claimant


def read(figure: Assertion) -> str:
    """The figure's words and how the lexicon reads them."""
    high = "open" if math.isinf(figure.count.high) else f"{figure.count.high:,.0f}"
    return f"{figure.words} (read as {figure.count.low:,.0f}–{high})"


def sentence(kind: str, a: Assertion, b: Assertion, gap: float, near_days: int) -> str:
    subject, gap_words = a.subject, f"gap factor {gap:.2f}: {a.count.low:,.0f} / {b.count.high:,.0f}"
    text = {
        "decrease": f"{who(a)} put {subject} {a.quantity} at {read(a)} as of {a.when} ({a.source_id}), but {who(b)} later "
                    f"put them at {read(b)} as of {b.when} ({b.source_id}), although a cumulative count cannot fall; {gap_words}.",
        "increment_above_total": f"{who(a)} put {subject} {a.quantity} in a period ending {a.when} at {read(a)} ({a.source_id}), "
                                 f"more than the total of {read(b)} that {who(b)} gave as of {b.when} ({b.source_id}); {gap_words}.",
        "component_above_total": f"{who(a)} put {subject} {a.quantity} at {read(a)} as of {a.when} ({a.source_id}), more than the "
                                 f"total of {read(b)} casualties that {who(b)} gave as of {b.when} ({b.source_id}); {gap_words}.",
        "casualties_above_deployed": f"{who(a)} put {subject} casualties at {read(a)} as of {a.when} ({a.source_id}), more than the "
                                     f"{read(b)} deployed that {who(b)} gave as of {b.when} ({b.source_id}); {gap_words}.",
        "disjoint": f"{who(a)} put {subject} {a.quantity} at {read(a)} and {who(b)} at {read(b)}, within {near_days} days of each "
                    f"other ({a.when}, {a.source_id}; {b.when}, {b.source_id}), and the ranges these wordings allow do not overlap; {gap_words}.",
    }[kind]
    return text[0].upper() + text[1:]


def conflict_type(a: Assertion, b: Assertion, near_days: int) -> str | None:
    """Why a (the higher figure) and b cannot both hold, or None; figures of one quantity
    at most ``near_days`` apart must overlap."""
    if a.subject_id != b.subject_id or not above(a, b) or b.time_scope != "cumulative":
        return None
    same_quantity = a.quantity == b.quantity
    if a.time_scope == "increment":
        return "increment_above_total" if same_quantity and not_before(b, a) else None
    if a.time_scope != "cumulative":
        return None
    if same_quantity and later(b, a):
        return "decrease"
    if same_quantity and widest_gap_days(a, b) <= near_days:
        return "disjoint"
    if b.quantity == "casualties" and a.quantity in COMPONENTS[b.casualty_definition] and not_before(b, a):
        return "component_above_total"
    if (a.quantity, b.quantity) == ("casualties", "deployed") and not_before(b, a):
        return "casualties_above_deployed"
    return None


def conflict(kind: str, figure: Assertion, gap: float, sentence: str, other: Assertion | None = None, detected_by: str = "literal",
             outlier: float | None = None, tail: float | None = None, explains: bool | None = None) -> dict:
    """One row of conflicts.csv: a claim (and the other claim it conflicts with, if any)."""
    return {"conflict_id": "/".join([kind, figure.claim_id] + ([other.claim_id] if other else [])), "conflict_type": kind,
            "claim_id": figure.claim_id, "other_claim_id": other and other.claim_id, "subject_id": figure.subject_id,
            "quantity": figure.quantity, "other_quantity": other and other.quantity, "gap_factor": round(gap, 2),
            "detected_by": detected_by, "outlier_probability": outlier, "tail_probability": tail, "bias_explains": explains,
            "sentence": sentence}


def literal_conflicts(evidence: list[Assertion], near_days: int) -> list[dict]:
    """One row per conflicting ordered pair, sorted by type and claim ids."""
    # Only figures on the same subject can conflict: pairing within subjects saves the rest.
    subjects: dict[str, list[Assertion]] = {}
    for figure in evidence:
        subjects.setdefault(figure.subject_id, []).append(figure)
    rows = []
    for a, b in (pair for group in subjects.values() for pair in permutations(group, 2)):
        kind = conflict_type(a, b, near_days)
        if kind:
            gap = a.count.low / b.count.high if b.count.high > 0 else math.inf
            rows.append(conflict(kind, a, gap, sentence(kind, a, b, gap, near_days), other=b))
    return sorted(rows, key=lambda row: row["conflict_id"])


# ---------------------------------------------------------------- model conflicts

def model_conflicts(evidence: list[Assertion], claim_fit: list[dict], biases: list[dict], claimants: dict,
                    config: dict) -> list[dict]:
    """Claims the fit finds unlikely ([flags] in estimate/model/model.toml), and claimants whose
    figures of a class of quantities ([bias_class]) sit apart from the others'."""
    flags, classes = config["flags"], config["bias_class"]
    by_id = {f.claim_id: f for f in evidence}
    rows = []
    for diag in claim_fit:
        figure = by_id.get(diag["claim_id"])
        if diag["used_in_fit"] != "true" or figure is None:
            continue
        # The leave-one-out tail: a claim judged by the other claims, not by a fit it is part of.
        outlier, tail = float(diag["outlier_probability"]), float(diag["loo_tail_probability"])
        if outlier < flags["outlier"] and tail >= flags["tail"]:
            continue
        central = float(diag["fitted_central"])
        low, high = figure.count.low, figure.count.high
        gap = max(low / central if central > 0 else math.inf, central / high if high > 0 else math.inf, 1.0)
        explains = diag["bias_explains"] == "true"
        reason = ("the claimant's estimated bias accounts for the gap" if explains
                  else "the claimant's estimated bias does not account for the gap")
        text = (f"{who(figure)} put {figure.subject} {figure.quantity} at {figure.words} as of {figure.when} ({figure.source_id}); "
                f"the fit of all claims puts it near {float(diag['fitted_central']):,.0f}, with outlier probability {outlier:.2f}; "
                f"fitted without it, the other claims leave {tail:.2f} of their predictive mass beyond it; {reason}.")
        rows.append(conflict("model_outlier", figure, gap, text[0].upper() + text[1:], detected_by="model", outlier=outlier,
                             tail=tail, explains=explains))
    for bias in biases:
        low, central, high = (float(bias[c]) for c in ("factor_low", "factor_central", "factor_high"))
        if low <= 1 <= high:
            continue
        claims = [f for f in evidence if f.claimant_id == bias["claimant_id"]]
        name = claimants[bias["claimant_id"]]["name"]
        direction = "below" if high < 1 else "above"
        text = (f"Relative to the other claimants, the {bias['quantity_class']} figures from claimant {name} sit {direction} the fitted curves, "
                f"at about {central:.2f} times their level (90% interval {low:.2f}–{high:.2f}), from {bias['claims_used']} claim(s). "
                "Only relative biases can be estimated: this says the claimant differs from the others, not which of them is right.")
        for figure in claims:
            if classes.get(figure.quantity) == bias["quantity_class"]:
                rows.append(conflict("claimant_bias", figure, max(central, 1 / central), text, detected_by="model"))
    return sorted(rows, key=lambda row: row["conflict_id"])


def build(package: Loaded, args):
    evidence = assertions(package)
    claimants = package.tables["claimants"].by_key("claimant_id")
    config = load_config()
    rows = literal_conflicts(evidence, config["conflicts"]["near_days"]) + model_conflicts(
        evidence, derived_rows(package, CLAIM_FIT), derived_rows(package, CLAIMANT_BIAS), claimants, config)
    return {OUTPUT: table(columns(package.descriptor, "conflicts"), rows)}


def main(args) -> int:
    return run_writer(args, build)
