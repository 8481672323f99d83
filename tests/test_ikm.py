"""SKM/IKM (PermenPANRB 14/2017) against values worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from queue_server.domain.ikm import CODES, compute, grade_of


def everyone(score: int, **overrides: int) -> dict[str, int]:
    return {code: overrides.get(code, score) for code in CODES}


def test_all_fours_is_exactly_100_not_99_9() -> None:
    result = compute([everyone(4)] * 5)
    assert (result.ikm, result.score, result.grade, result.label_id) == (
        Fraction(4), Decimal("100.00"), "A", "Sangat Baik")


def test_all_ones_is_25_and_grade_d() -> None:
    result = compute([everyone(1)])
    assert (result.score, result.grade, result.label_id) == (Decimal("25.00"), "D", "Tidak Baik")


def test_a_small_survey_by_hand() -> None:
    """U1 = (4+3+4)/3 = 11/3; U2..U8 = (3+3+4)/3 = 10/3; U9 = (3+3+2)/3 = 8/3.
    Sum of NRR = (11 + 7*10 + 8)/3 = 89/3; IKM = 89/27 = 3.2963;
    score = 89*25/27 = 82.407... -> 82.41, grade B (Baik)."""
    result = compute([everyone(3, U1=4), everyone(3), everyone(4, U9=2)])
    assert result.respondents == 3
    assert result.nrr["U1"] == Fraction(11, 3) and result.nrr["U5"] == Fraction(10, 3)
    assert result.nrr["U9"] == Fraction(8, 3)
    assert result.ikm == Fraction(89, 27)
    assert (result.score, result.grade, result.label_id, result.label_en) == (
        Decimal("82.41"), "B", "Baik", "Good")
    assert result.as_dict()["nrr"]["U1"] == 3.6667 and result.as_dict()["ikm"] == 3.2963


def test_each_element_is_averaged_over_its_own_answers() -> None:
    """The second respondent skipped U3: U3's NRR is 2/1, not (2+0)/2."""
    partial = everyone(4)
    del partial["U3"]
    result = compute([everyone(2), partial])
    assert result.nrr["U3"] == Fraction(2) and result.nrr["U1"] == Fraction(3)
    # (8 * 3 + 2) / 9 * 25 = 72.222... -> 72.22, grade C
    assert (result.score, result.grade) == (Decimal("72.22"), "C")


@pytest.mark.parametrize(("score", "grade"), [
    ("100.00", "A"), ("88.31", "A"), ("88.30", "B"), ("76.61", "B"), ("76.60", "C"),
    ("65.00", "C"), ("64.99", "D"), ("25.00", "D"),
])
def test_grade_boundaries(score: str, grade: str) -> None:
    assert grade_of(Decimal(score))[0] == grade


def test_no_answers_gives_no_index() -> None:
    assert compute([]).score is None
    assert compute([{"U1": 4}]).grade is None  # eight elements nobody answered


@pytest.mark.parametrize("bad", [{"U1": 5}, {"U1": 0}, {"U1": 2.5}, {"U1": True}, {"U10": 3}, {}])
def test_bad_responses_are_refused(bad: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        compute([bad])
