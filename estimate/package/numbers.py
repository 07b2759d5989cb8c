"""Reading the numbers a phrase states ('al menos 14 mil' → 14000), using data/numerals.csv.

Digits: a ',' or '.' followed by exactly three digits groups thousands ('11,000',
'10.000'); any other ',' or '.' between digits is a decimal mark ('2,5').
"""

import re
import unicodedata
from dataclasses import dataclass

TOKEN = re.compile(r"(\d+(?:[.,]\d+)*)|([^\W\d_]+)")
GROUPED = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
DECIMAL = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Numeral:
    value: float
    multiplier: bool
    stands_alone: bool


class UnreadableNumber(ValueError):
    pass


def word_key(text: str) -> str:
    """Words are matched composed (NFC) and in lower case: 'Dieciséis' typed with a
    combining accent is 'dieciséis'."""
    return unicodedata.normalize("NFC", text).strip().lower()


def numerals_from_rows(rows) -> dict[str, Numeral]:
    """Number words from the rows of data/numerals.csv (validation refuses two rows with one key)."""
    return {
        word_key(row["word"]): Numeral(float(row["value"]), row["role"] == "multiplier", row["stands_alone"] == "true")
        for row in rows
    }


def parse_digits(token: str) -> float:
    if GROUPED.fullmatch(token):
        return float(re.sub(r"[.,]", "", token))
    if DECIMAL.fullmatch(token):
        return float(token.replace(",", "."))
    raise UnreadableNumber(f"'{token}' mixes thousands and decimal marks")


def read_numbers(phrase: str, numerals: dict[str, Numeral]) -> list[float]:
    """Every number stated in ``phrase``, in order; words that are not numbers are skipped."""
    numbers: list[float] = []
    after_number = False
    for match in TOKEN.finditer(word_key(phrase)):
        digits, word = match.groups()
        if digits:
            numbers.append(parse_digits(digits))
            after_number = True
            continue
        numeral = numerals.get(word)
        if numeral is None:
            after_number = False
        elif numeral.multiplier and after_number:
            numbers[-1] *= numeral.value
        elif not numeral.multiplier or numeral.stands_alone:
            numbers.append(numeral.value)
            after_number = True
        else:
            after_number = False
    return numbers


def number_words(x: float) -> str:
    """A number as messages and sentences print it: 2,000 or 2.5."""
    return f"{x:,.0f}" if x == round(x) else f"{x:,}"
