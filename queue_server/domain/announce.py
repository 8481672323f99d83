"""What a hall display says when a ticket is called.

"Nomor antrean, A, nol dua belas, silakan menuju loket tiga": the prefix is
spelled letter by letter, leading zeros are read as "nol" (so the visitor
hears the same digits printed on the ticket), the rest as a number in words.
Built here, in Python, so the reading is unit-tested and every display says
the same; the display page either speaks the text with an id-ID voice or
plays the ``words`` as recorded clips, one file per word.
"""

from __future__ import annotations

ONES = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")
LETTERS = {
    "A": "a", "B": "be", "C": "ce", "D": "de", "E": "e", "F": "ef", "G": "ge", "H": "ha", "I": "i",
    "J": "je", "K": "ka", "L": "el", "M": "em", "N": "en", "O": "o", "P": "pe", "Q": "ki", "R": "er",
    "S": "es", "T": "te", "U": "u", "V": "ve", "W": "we", "X": "eks", "Y": "ye", "Z": "zet",
}
OPENING = "nomor-antrean"
TO_COUNTER = "silakan-menuju-loket"
EN_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
EN_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
            "eighteen", "nineteen")
EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_words(n: int) -> list[str]:
    """0 <= n < 1,000,000 in Indonesian words: 12 -> ["dua", "belas"], 100 -> ["seratus"]."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"cannot read {n}")
    if n < 10:
        return [ONES[n]]
    if n == 10:
        return ["sepuluh"]
    if n == 11:
        return ["sebelas"]
    if n < 20:
        return [ONES[n - 10], "belas"]
    if n < 100:
        tens, rest = divmod(n, 10)
        return [ONES[tens], "puluh"] + (number_words(rest) if rest else [])
    for size, one, many in ((1000, "seribu", "ribu"), (100, "seratus", "ratus")):
        if n >= size:
            head, rest = divmod(n, size)
            words = [one] if head == 1 else number_words(head) + [many]
            return words + (number_words(rest) if rest else [])
    raise AssertionError("unreachable")


def ticket_words(number: str) -> list[str]:
    """ "A012" -> ["a", "nol", "dua", "belas"]; "C112" -> ["ce", "seratus", "dua", "belas"]."""
    letters = [c for c in number if c.isalpha()]
    digits = "".join(c for c in number if c.isdigit())
    words = [LETTERS[c.upper()] for c in letters]  # prefixes are A-Z (checked on import)
    stripped = digits.lstrip("0")
    words += ["nol"] * (len(digits) - len(stripped))
    if stripped:
        words += number_words(int(stripped))
    return words


def spoken_words(number: str, counter_number: int) -> list[str]:
    """The clip sequence of a call (each entry is one recorded word or phrase)."""
    return [OPENING, *ticket_words(number), TO_COUNTER, *number_words(counter_number)]


def text_id(number: str, counter_number: int) -> str:
    """The call as an Indonesian sentence, for a speech voice and for captions."""
    letters = "".join(f"{c.upper()}, " for c in number if c.isalpha())
    words = ticket_words(number)[sum(1 for c in number if c.isalpha()):]
    counter = " ".join(number_words(counter_number))
    return f"Nomor antrean, {letters}{' '.join(words)}, silakan menuju loket {counter}."


def _english_number(n: int) -> str:
    if n < 10:
        return EN_ONES[n]
    if n < 20:
        return EN_TEENS[n - 10]
    if n < 100:
        tens, rest = divmod(n, 10)
        return EN_TENS[tens] + (f"-{EN_ONES[rest]}" if rest else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{EN_ONES[hundreds]} hundred" + (f" {_english_number(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    return f"{_english_number(thousands)} thousand" + (f" {_english_number(rest)}" if rest else "")


def text_en(number: str, counter_number: int) -> str:
    """English, digit by digit as printed: "Number A, zero one two, please go to counter three." """
    letters = "".join(f"{c.upper()}, " for c in number if c.isalpha())
    digits = " ".join(EN_ONES[int(c)] for c in number if c.isdigit())
    return f"Number {letters}{digits}, please go to counter {_english_number(counter_number)}."


def announcement(number: str, counter_number: int | None) -> dict[str, object]:
    """The ``announcement`` of a ``ticket.called`` event (None without a counter)."""
    if counter_number is None:
        return {}
    return {"id": text_id(number, counter_number), "en": text_en(number, counter_number),
            "words": spoken_words(number, counter_number)}


def vocabulary() -> list[str]:
    """Every clip a call can need: the display's voice files must cover these."""
    words = {OPENING, TO_COUNTER, *LETTERS.values(), *ONES, "sepuluh", "sebelas", "belas", "puluh",
             "seratus", "ratus", "seribu", "ribu"}
    return sorted(words)
