"""The satisfaction index page (/manager/ikm) and its CSV export.

For a period of service days (default: this month so far) and optionally one
agency: per agency and overall, the number of respondents, the NRR of each
element U1..U9, the IKM, the unit's score (IKM x 25) and its grade, plus the
newest suggestions. Sums and counts come from one grouped SQL query
(:func:`queue_server.domain.survey.index_by_agency`) and one for the overall
row; the arithmetic is :mod:`queue_server.domain.ikm`'s, exact.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from flask import Response, current_app, render_template, request
from flask_babel import format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..domain import ikm, survey
from ..domain.site import today
from ..extensions import db
from ..models import Agency
from . import bp

SUGGESTIONS_SHOWN = 20


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    agency: Agency | None
    errors: list[str]


def _parse_date(name: str, default: dt.date, errors: list[str]) -> dt.date:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.append(str(_l("'%(value)s' is not a date; the default period is shown.", value=raw)))
        return default


def _filters(agencies: list[Agency]) -> Filters:
    """Period and agency from the query string; bad input is reported, not fatal."""
    errors: list[str] = []
    day = today(db.session, current_app.extensions["antrian_clock"])
    first = day.replace(day=1)
    start, end = _parse_date("from", first, errors), _parse_date("to", day, errors)
    if start > end:
        errors.append(str(_l("The period starts after it ends; this month is shown instead.")))
        start, end = first, day
    agency = None
    raw = (request.args.get("agency") or "").strip()
    if raw:
        agency = next((a for a in agencies if str(a.id) == raw), None)
        if agency is None:
            errors.append(str(_l("There is no such agency; all agencies are shown.")))
    return Filters(start, end, agency, errors)


def _name(agency: Agency, lang: str) -> str:
    return (agency.name_en or agency.name) if lang == "en" else agency.name


def _fixed(value: Fraction | Decimal | None, places: int) -> Decimal | None:
    """Rounded half-up, as the regulation's tables are."""
    if value is None:
        return None
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else value
    return exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _row(label: str, code: str, result: ikm.IkmResult, lang: str) -> dict[str, Any]:
    return {
        "label": label, "code": code, "respondents": result.respondents,
        "nrr": {c: _fixed(result.nrr.get(c), 2) for c in ikm.CODES},
        "nrr_exact": {c: _fixed(result.nrr.get(c), 4) for c in ikm.CODES},
        "ikm": _fixed(result.ikm, 4), "score": result.score, "grade": result.grade,
        "grade_label": result.label_en if lang == "en" else result.label_id,
    }


def _report() -> dict[str, Any]:
    """Everything the page and the CSV show, for the request's filters."""
    lang = str(get_locale() or "id")
    agencies = list(db.session.execute(select(Agency).order_by(Agency.code)).scalars())
    f = _filters(agencies)
    only = [f.agency.id] if f.agency is not None else None
    per_agency = survey.index_by_agency(db.session, f.start, f.end, only)
    overall = survey.index(db.session, f.start, f.end, only)
    shown = [f.agency] if f.agency is not None else agencies
    empty = ikm.from_totals(0, dict.fromkeys(ikm.CODES, 0), dict.fromkeys(ikm.CODES, 0))
    rows = [_row(_name(a, lang), a.code, per_agency.get(a.id, empty), lang) for a in shown]
    names = {a.id: _name(a, lang) for a in agencies}
    suggestions = [
        {"day": s.service_day, "agency": names.get(s.agency_id, ""), "service": s.service_name,
         "text": s.text}
        for s in survey.latest_suggestions(db.session, f.start, f.end, only, SUGGESTIONS_SHOWN)
    ]
    db.session.rollback()  # end the read transaction
    return {
        "filters": f, "agencies": agencies, "rows": rows, "lang": lang,
        "overall": _row(str(_l("All agencies")) if f.agency is None else _name(f.agency, lang), "",
                        overall, lang),
        "suggestions": suggestions,
        "elements": [{"code": c, "name": name_en if lang == "en" else name_id}
                     for c, name_id, name_en in ikm.ELEMENTS],
        "grades": [{"grade": g, "label": en if lang == "en" else id_, "low": low,
                    "high": ikm.GRADES[i - 1][0] - Decimal("0.01") if i else Decimal("100.00")}
                   for i, (low, g, id_, en) in enumerate(ikm.GRADES)],
    }


def number(value: Decimal | None) -> str:
    """A fixed-point number in the page's language (3,67 in Indonesian); "-" when absent."""
    if value is None:
        return "–"
    places = -value.as_tuple().exponent if isinstance(value.as_tuple().exponent, int) else 0
    return format_decimal(value, format="0." + "0" * places if places else "0")


@bp.get("/ikm")
def ikm_page():  # type: ignore[no-untyped-def]
    report = _report()
    return render_template("manager/ikm.html", number=number, **report)


_CSV_RISKY = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """Text a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_CSV_RISKY):
        return "'" + value
    return "" if value is None else value


@bp.get("/ikm.csv")
def ikm_csv():  # type: ignore[no-untyped-def]
    """The same table as the page, numbers with a dot, for spreadsheets."""
    report = _report()
    f: Filters = report["filters"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["from", "to", "agency_code", "agency", "respondents", *ikm.CODES, "ikm", "score",
                     "grade", "grade_label"])
    for row in [*report["rows"], report["overall"]]:
        writer.writerow([_cell(v) for v in [
            f.start.isoformat(), f.end.isoformat(), row["code"] or "ALL", row["label"], row["respondents"],
            *[row["nrr_exact"][c] for c in ikm.CODES], row["ikm"], row["score"], row["grade"],
            row["grade_label"]]])
    name = f"ikm-{f.start.isoformat()}-{f.end.isoformat()}.csv"
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")  # BOM: Excel reads UTF-8
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
