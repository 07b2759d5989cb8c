"""``python -m estimate conflicts``: pairs of claims that cannot both hold as worded.

Literal conflicts, found before any model (data/derived/conflicts.csv), over figures
counted once per origin and read with the main lexicon. A literal conflict is certain:
two figures are compared in time only when their order is certain (one's as-of interval
ends before the other's starts, or both are dated by the same article's publication),
and "within 14 days" means however the uncertain dates fall.
"""

import math
from itertools import permutations

from estimate.evidence import Figure, figures
from estimate.outputs import DERIVED, run_writer, write_table
from estimate.tables import Loaded

OUTPUT = DERIVED / "conflicts.csv"
NEAR_DAYS = 14
# What each casualty definition certainly includes: killed always; wounded only when
# the text says so, since 'bajas' alone is sometimes used for deaths.
COMPONENTS = {
    "unspecified": {"killed"},
    "killed_wounded": {"killed", "wounded"},
    "killed_wounded_missing_captured": {"killed", "wounded", "missing", "captured"},
}
COLUMNS = ["conflict_type", "claim_id", "other_claim_id", "subject_id", "quantity", "other_quantity",
           "gap_factor", "detected_by", "sentence"]


def same_moment(a: Figure, b: Figure) -> bool:
    return a.source_id == b.source_id and (a.earliest, a.latest) == (b.earliest, b.latest)


def later(b: Figure, a: Figure) -> bool:
    """b is certainly dated after a."""
    return b.earliest >= a.latest and not same_moment(a, b)


def not_before(b: Figure, a: Figure) -> bool:
    return later(b, a) or same_moment(a, b)


def widest_gap_days(a: Figure, b: Figure) -> int:
    """The most days that can separate the two as-of dates."""
    return max((b.latest - a.earliest).days, (a.latest - b.earliest).days)


def above(a: Figure, b: Figure) -> bool:
    """a's lowest reading exceeds b's highest."""
    return a.count.low > b.count.high


def who(figure: Figure) -> str:
    return "an unattributed report" if figure.claimant_kind == "unattributed" else figure.claimant


def sentence(kind: str, a: Figure, b: Figure, gap: float) -> str:
    subject, gap_words = a.subject, f"gap factor {gap:.2f}"
    text = {
        "decrease": f"{who(a)} put {subject} {a.quantity} at {a.words} as of {a.when} ({a.source_id}), but {who(b)} later "
                    f"put them at {b.words} as of {b.when} ({b.source_id}), although a cumulative count cannot fall; {gap_words}.",
        "increment_above_total": f"{who(a)} put {subject} {a.quantity} in a period ending {a.when} at {a.words} ({a.source_id}), "
                                 f"more than the total of {b.words} that {who(b)} gave as of {b.when} ({b.source_id}); {gap_words}.",
        "component_above_total": f"{who(a)} put {subject} {a.quantity} at {a.words} as of {a.when} ({a.source_id}), more than the "
                                 f"total of {b.words} casualties that {who(b)} gave as of {b.when} ({b.source_id}); {gap_words}.",
        "casualties_above_deployed": f"{who(a)} put {subject} casualties at {a.words} as of {a.when} ({a.source_id}), more than the "
                                     f"{b.words} deployed that {who(b)} gave as of {b.when} ({b.source_id}); {gap_words}.",
        "disjoint": f"{who(a)} put {subject} {a.quantity} at {a.words} and {who(b)} at {b.words}, within {NEAR_DAYS} days of each "
                    f"other ({a.when}, {a.source_id}; {b.when}, {b.source_id}), and the ranges these wordings allow do not overlap; {gap_words}.",
    }[kind]
    return text[0].upper() + text[1:]


def conflict_type(a: Figure, b: Figure) -> str | None:
    """Why a (the higher figure) and b cannot both hold, or None."""
    if a.subject_id != b.subject_id or not above(a, b) or b.time_scope != "cumulative":
        return None
    same_quantity = a.quantity == b.quantity
    if a.time_scope == "increment":
        return "increment_above_total" if same_quantity and not_before(b, a) else None
    if a.time_scope != "cumulative":
        return None
    if same_quantity and later(b, a):
        return "decrease"
    if same_quantity and widest_gap_days(a, b) <= NEAR_DAYS:
        return "disjoint"
    if b.quantity == "casualties" and a.quantity in COMPONENTS[b.casualty_definition] and not_before(b, a):
        return "component_above_total"
    if (a.quantity, b.quantity) == ("casualties", "deployed") and not_before(b, a):
        return "casualties_above_deployed"
    return None


def literal_conflicts(evidence: list[Figure]) -> list[list]:
    """One row per conflicting ordered pair, sorted by type and claim ids."""
    rows = []
    for a, b in permutations(evidence, 2):
        kind = conflict_type(a, b)
        if kind:
            gap = a.count.low / b.count.high if b.count.high > 0 else math.inf
            rows.append([kind, a.claim_id, b.claim_id, a.subject_id, a.quantity, b.quantity,
                         round(gap, 2), "literal", sentence(kind, a, b, gap)])
    return sorted(rows, key=lambda r: (r[0], r[1], r[2]))


def build(package: Loaded, args):
    return write_table(package.root, OUTPUT, COLUMNS, literal_conflicts(figures(package)))


def main(args) -> int:
    return run_writer(args, build)
