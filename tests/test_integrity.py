"""Small pure helpers of the integrity rules, on hand-computed cases."""

from datetime import date

import pytest

from estimate.package.integrity import contains_wording, precision_of


@pytest.mark.parametrize("earliest, latest, precision", [
    ("2025-09-02", "2025-09-02", "day"),
    ("2025-04-01", "2025-04-30", "month"),
    ("2024-02-01", "2024-02-29", "month"),
    ("2024-01-01", "2024-12-31", "year"),
    ("2025-04-01", "2025-04-29", "range"),
    ("2024-10-01", "2025-01-31", "range"),
])
def test_precision_of_a_date_span(earliest, latest, precision):
    assert precision_of(date.fromisoformat(earliest), date.fromisoformat(latest)) == precision


@pytest.mark.parametrize("phrase, wording, found", [
    ("unos 4 mil", "unos", True),
    ("algunos 4 mil", "unos", False),
    ("varios cientos", "cientos", True),
    ("Aproximadamente 11,000", "aproximadamente", True),
    ("más de 300", "más de", True),
])
def test_wordings_match_whole_words_ignoring_case(phrase, wording, found):
    assert contains_wording(phrase, wording) is found
