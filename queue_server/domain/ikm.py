"""The satisfaction index (SKM/IKM) of PermenPANRB 14/2017, computed exactly.

Nine elements (unsur) are scored 1-4 by each respondent. Per element, the
NRR is the sum of its scores divided by the number of answers to it; the IKM
is the sum of NRR x 1/9 (exactly a ninth: a weight rounded to 0.111 would cap
the index at 99.9), and the unit's score is IKM x 25, on a 25-100 scale.
Fractions keep the arithmetic exact; the score is rounded to two decimals,
the precision the grade boundaries are written in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

ELEMENTS: tuple[tuple[str, str, str], ...] = (
    ("U1", "Persyaratan", "Requirements"),
    ("U2", "Sistem, mekanisme, dan prosedur", "System, mechanism and procedure"),
    ("U3", "Waktu penyelesaian", "Completion time"),
    ("U4", "Biaya/tarif", "Cost/tariff"),
    ("U5", "Produk spesifikasi jenis pelayanan", "Product specification"),
    ("U6", "Kompetensi pelaksana", "Officer competence"),
    ("U7", "Perilaku pelaksana", "Officer behaviour"),
    ("U8", "Penanganan pengaduan, saran, dan masukan", "Complaint, suggestion and feedback handling"),
    ("U9", "Sarana dan prasarana", "Facilities"),
)
CODES = tuple(code for code, _, _ in ELEMENTS)
WEIGHT = Fraction(1, len(ELEMENTS))

# (lowest score, grade, Indonesian label, English label), highest first.
GRADES = (
    (Decimal("88.31"), "A", "Sangat Baik", "Very good"),
    (Decimal("76.61"), "B", "Baik", "Good"),
    (Decimal("65.00"), "C", "Kurang Baik", "Fair"),
    (Decimal("25.00"), "D", "Tidak Baik", "Poor"),
)


@dataclass(frozen=True)
class IkmResult:
    respondents: int
    nrr: dict[str, Fraction | None]  # per element; None when nobody answered it
    ikm: Fraction | None  # 1-4
    score: Decimal | None  # 25-100, two decimals
    grade: str | None
    label_id: str | None
    label_en: str | None

    def as_dict(self) -> dict[str, object]:
        """Plain numbers for JSON, CSV and XLSX (NRR and IKM to four decimals)."""
        def four(value: Fraction | None) -> float | None:
            return None if value is None else round(float(value), 4)

        return {"respondents": self.respondents, "nrr": {k: four(v) for k, v in self.nrr.items()},
                "ikm": four(self.ikm), "score": None if self.score is None else float(self.score),
                "grade": self.grade, "label_id": self.label_id, "label_en": self.label_en}


def validate(response: Mapping[str, object]) -> dict[str, int]:
    """One respondent's answers: known elements only, each a whole score 1-4."""
    unknown = set(response) - set(CODES)
    if unknown:
        raise ValueError(f"unknown elements: {', '.join(sorted(unknown))}")
    out = {}
    for code, value in response.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
            raise ValueError(f"{code} must be a whole score from 1 to 4")
        out[code] = value
    if not out:
        raise ValueError("a response needs at least one element")
    return out


def grade_of(score: Decimal) -> tuple[str, str, str]:
    for lowest, grade, label_id, label_en in GRADES:
        if score >= lowest:
            return grade, label_id, label_en
    raise ValueError(f"score {score} is below 25")


def compute(responses: Iterable[Mapping[str, int]]) -> IkmResult:
    """IKM of a set of responses (each a mapping element code -> score)."""
    sums = dict.fromkeys(CODES, 0)
    counts = dict.fromkeys(CODES, 0)
    respondents = 0
    for response in responses:
        respondents += 1
        for code, value in validate(response).items():
            sums[code] += value
            counts[code] += 1
    return from_totals(respondents, sums, counts)


def from_totals(respondents: int, sums: Mapping[str, int], counts: Mapping[str, int]) -> IkmResult:
    """IKM from per-element sums and answer counts (what SQL aggregation gives)."""
    nrr = {c: (Fraction(sums[c], counts[c]) if counts[c] else None) for c in CODES}
    if respondents == 0 or any(v is None for v in nrr.values()):
        return IkmResult(respondents, nrr, None, None, None, None, None)
    ikm = sum((v * WEIGHT for v in nrr.values() if v is not None), Fraction(0))
    exact = ikm * 25
    score = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    grade, label_id, label_en = grade_of(score)
    return IkmResult(respondents, nrr, ikm, score, grade, label_id, label_en)
