"""The model's settings (model.toml), and the claims they leave out: which active troop
figures the model cannot read, and why (the other reasons are evidence.not_evidence's).

Kept apart from the fit so that what reads the settings (conflicts, the website) does not
load JAX.
"""

import tomllib
from datetime import date
from pathlib import Path

from estimate.wording.evidence import Reason, not_evidence

CONFIG = Path(__file__).with_name("model.toml")


def load_config(path: Path = CONFIG) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def window_days(claim) -> int:
    """The longest an increment's window can be: from its earliest start to its latest end."""
    return (date.fromisoformat(claim["as_of_date_latest"]) - date.fromisoformat(claim["window_start_date_earliest"])).days


def not_modelled(claim, config: dict, source, known_by: date | None = None) -> Reason | None:
    """Why the model cannot read a figure (see evidence.not_evidence for what is one), or None."""
    if known_by and date.fromisoformat(source["published_date_latest"]) > known_by:
        return Reason("not_yet_published", {"known_by": known_by})
    if claim["time_scope"] in ("planned", "present"):
        return Reason(claim["time_scope"], {})
    if claim["quantity"] not in config["quantities"]["base"] and claim["quantity"] != "casualties":
        return Reason("no_curve", {"quantity": claim["quantity"]})
    if claim["subject_id"] not in config["start"]:
        return Reason("no_start", {"subject": claim["subject_id"]})
    if claim["time_scope"] == "increment" and not claim["window_start_date_earliest"]:
        return Reason("window_unstated", {})
    if claim["time_scope"] == "increment" and window_days(claim) < config["knot_days"]:
        return Reason("rise_too_short", {"days": window_days(claim), "knot_days": config["knot_days"]})
    return None


def not_used(claim, config: dict, source, known_by: date | None = None) -> Reason | None:
    """Why the fit does not use a claim, or None when it does."""
    return not_evidence(claim) or not_modelled(claim, config, source, known_by)
