"""Reading stated numbers from phrases, with the real number-word table."""

import pytest

from conftest import REPO, read_rows
from estimate.package.numbers import UnreadableNumber, numerals_from_rows, read_numbers

rows = read_rows(REPO / "data/numerals.csv")
NUMERALS = numerals_from_rows(dict(zip(rows[0], r)) for r in rows[1:])


@pytest.mark.parametrize("phrase, numbers", [
    ("aproximadamente 11,000", [11000]),
    ("más de 10.000", [10000]),
    ("45,100", [45100]),
    ("hasta 350,000", [350000]),
    ("alrededor de 2 mil", [2000]),
    ("al menos 14 mil", [14000]),
    ("mil nuevos soldados", [1000]),
    ("dos soldados", [2]),
    ("entre un 30% y un 50%", [30, 50]),
    ("varios cientos", []),
    ("miles", []),
    ("millones", []),
    ("2,5 millones", [2_500_000]),
    ("1.5 million", [1_500_000]),
    ("dos mil", [2000]),
])
def test_reads_the_numbers_a_phrase_states(phrase, numbers):
    assert read_numbers(phrase, NUMERALS) == numbers


def test_mixed_separators_are_refused_not_guessed():
    with pytest.raises(UnreadableNumber):
        read_numbers("1.000,5", NUMERALS)
