"""Report pages: /manager/reports (filter, tables, charts), its CSV and XLSX
exports, and the printable weekly summary. Figures come from
:mod:`queue_server.domain.reports`; tables from :mod:`queue_server.report_tables`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from .. import report_args, report_export, report_tables
from ..api.messages import translate
from ..domain import reports, survey
from ..domain.errors import InvalidInput
from ..domain.ikm import ELEMENTS
from ..domain.site import get_site, today
from ..extensions import db
from ..models import Agency, Counter, Role, Service, User
from . import bp


def _today() -> dt.date:
    return today(db.session, current_app.extensions["antrian_clock"])


def _choices(agency_ids: tuple[int, ...]) -> dict[str, list[tuple[int, str]]]:
    """Filter choices; services, counters and officers only of one chosen agency
    (a big MPP has 1,000+ services: one list of all would be unusable)."""
    agencies = [(a.id, f"{a.code} - {a.name}") for a in
                db.session.execute(select(Agency).order_by(Agency.code)).scalars()]
    out: dict[str, list[tuple[int, str]]] = {"agency": agencies, "service": [], "counter": [], "officer": []}
    if len(agency_ids) == 1:
        agency = agency_ids[0]
        out["service"] = [(s.id, f"{s.code} - {s.name}") for s in db.session.execute(
            select(Service).where(Service.agency_id == agency).order_by(Service.code)).scalars()]
        out["counter"] = [(c.id, c.name) for c in db.session.execute(
            select(Counter).where(Counter.agency_id == agency).order_by(Counter.number)).scalars()]
        out["officer"] = [(u.id, u.name or u.username) for u in db.session.execute(
            select(User).where(User.agency_id == agency, User.role == Role.OFFICER)
            .order_by(User.name)).scalars()]
    return out


def _parse(args: MultiDict[str, str]) -> tuple[reports.ReportFilter, str | None, str | None]:
    """The filter, the breakdown and an error message (the default filter is used on error)."""
    try:
        return report_args.report_filter(args, _today()), report_args.breakdown(args), None
    except InvalidInput as exc:
        message = translate(exc.code, exc.message, exc.params)
        return report_args.report_filter(MultiDict(), _today()), None, message


def _build(chosen: reports.ReportFilter, by: str | None) -> reports.Report:
    clock = current_app.extensions["antrian_clock"]
    return reports.build(db.session, chosen, get_site(db.session).timezone, by,
                         today=today(db.session, clock), now=clock.now())


def _chart_data(report: reports.Report) -> dict[str, Any]:
    """What reports.js draws: plain numbers and labels only."""

    def series(rows: list[reports.Row]) -> dict[str, Any]:
        return {"labels": [row.label for row in rows],
                "issued": [row.counts.issued for row in rows],
                "served": [row.counts.served for row in rows],
                "no_show": [row.counts.no_show for row in rows],
                "avg_wait": [report_tables.minutes(row.counts.avg_wait) for row in rows]}

    return {"daily": series(report.daily), "weekly": series(report.weekly),
            "text": {"issued": _("Issued"), "served": _("Served"), "no_show": _("No-show"),
                     "avg_wait": _("Average wait (min)"), "visitors": _("Visitors"),
                     "minutes": _("Minutes")}}


def _heat_levels(grid: list[list[int]]) -> list[list[int]]:
    """Each cell's shade 0..5 relative to the busiest cell."""
    peak = max((max(row) for row in grid), default=0)
    return [[0 if not peak or not value else 1 + (4 * value) // peak for value in row] for row in grid]


@bp.get("/reports")
def reports_page():  # type: ignore[no-untyped-def]
    chosen, by, error = _parse(request.args)
    report = _build(chosen, by)
    tables = report_tables.all_tables(report)
    query = request.query_string.decode()
    return render_template(
        "manager/reports.html", report=report, tables=tables, error=error,
        choices=_choices(chosen.agency_ids), chosen=chosen, breakdowns=report_tables.BREAKDOWN_TITLES,
        chart_data=_chart_data(report),
        heat=_heat_levels(report.heatmap), weekdays=report_tables.WEEKDAYS, query=query,
        week=reports.week_start(chosen.end).isoformat(), minutes=report_tables.minutes,
        percent=report_tables.percent,
    ), 400 if error else 200


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _valid_or_400() -> tuple[reports.ReportFilter, str | None] | Response:
    chosen, by, error = _parse(request.args)
    if error:
        return Response(error, status=400, mimetype="text/plain")
    return chosen, by


@bp.get("/reports.csv")
def reports_csv():  # type: ignore[no-untyped-def]
    """One table as CSV: ``table`` = summary, breakdown, daily, weekly or arrivals."""
    parsed = _valid_or_400()
    if isinstance(parsed, Response):
        return parsed
    chosen, by = parsed
    tables = {table.name: table for table in report_tables.all_tables(_build(chosen, by))}
    name = request.args.get("table", "breakdown")
    if name not in tables:
        return Response(_("Unknown table."), status=400, mimetype="text/plain")
    return _download(report_export.to_csv(tables[name]), "text/csv",
                     f"antrian-{name}-{chosen.start}-{chosen.end}.csv")


@bp.get("/reports.xlsx")
def reports_xlsx():  # type: ignore[no-untyped-def]
    """Every table of the report, one sheet each."""
    parsed = _valid_or_400()
    if isinstance(parsed, Response):
        return parsed
    chosen, by = parsed
    title = f"{get_site(db.session).name}: {chosen.start} - {chosen.end}"
    data = report_export.to_xlsx(report_tables.all_tables(_build(chosen, by)), title)
    return _download(data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     f"antrian-report-{chosen.start}-{chosen.end}.xlsx")


@bp.get("/reports/weekly")
def weekly_summary():  # type: ignore[no-untyped-def]
    """A printable one-week summary (Monday to Sunday) for the ministry's weekly report."""
    try:
        day = dt.date.fromisoformat(request.args.get("week") or _today().isoformat())
    except ValueError:
        day, error = _today(), _("Write the week as a date YYYY-MM-DD.")
    else:
        error = None
    monday = reports.week_start(day)
    chosen = reports.ReportFilter(monday, monday + dt.timedelta(days=6))
    report = _build(chosen, "agency")
    satisfaction = survey.index(db.session, chosen.start, chosen.end)
    iso = monday.isocalendar()
    return render_template(
        "manager/weekly.html", report=report, site=get_site(db.session), monday=monday,
        sunday=chosen.end, week_label=f"{iso.year}-W{iso.week:02d}", error=error,
        summary=report_tables.summary(report), breakdown=report_tables.breakdown(report),
        daily=report_tables.daily(report), ikm=satisfaction, elements=ELEMENTS,
        previous=(monday - dt.timedelta(days=7)).isoformat(),
        next=(monday + dt.timedelta(days=7)).isoformat(),
    ), 400 if error else 200
