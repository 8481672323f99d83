"""A report as tables of plain values: what the report page shows and what the
CSV and XLSX exports hold, built once so the three always agree.

Durations are minutes with one decimal, shares are percentages with one
decimal; a figure that does not exist (no called ticket) is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from .domain.reports import Counts, Distribution, Report, Row

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))


@dataclass
class Table:
    name: str  # file-safe: CSV file and XLSX sheet name
    title: str
    header: list[str]
    rows: list[list[Any]]


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


COUNT_COLUMNS = (
    ("issued", _l("Issued")), ("transferred_in", _l("Transferred in")), ("served", _l("Served")),
    ("no_show", _l("No-show")), ("cancelled", _l("Cancelled")), ("expired", _l("Expired")),
    ("transferred", _l("Transferred out")), ("open", _l("Still open")),
)


def _row_values(counts: Counts) -> list[Any]:
    return [getattr(counts, name) for name, _ in COUNT_COLUMNS] + [
        minutes(counts.avg_wait), percent(counts.sla_share), minutes(counts.avg_service)]


def _row_header(first: str) -> list[str]:
    return [first] + [str(label) for _, label in COUNT_COLUMNS] + [
        str(_l("Average wait (min)")), str(_l("Within target (%)")), str(_l("Average service (min)"))]


def summary(report: Report) -> Table:
    totals = report.totals
    rows: list[list[Any]] = [[str(label), getattr(totals, name)] for name, label in COUNT_COLUMNS]

    def spread(label: str, values: Distribution) -> list[list[Any]]:
        average, median, p90 = _l("average (min)"), _l("median (min)"), _l("90th percentile (min)")
        return [[f"{label}: {average}", minutes(values.mean)], [f"{label}: {median}", minutes(values.median)],
                [f"{label}: {p90}", minutes(values.p90)]]

    rows += spread(str(_l("Wait")), report.wait)
    rows += spread(str(_l("Service")), report.service)
    rows.append([str(_l("Within target wait (%)")), percent(totals.sla_share)])
    return Table("summary", str(_l("Summary")), [str(_l("Figure")), str(_l("Value"))], rows)


def _rows(name: str, title: str, first: str, rows: list[Row]) -> Table:
    return Table(name, title, _row_header(first), [[row.label] + _row_values(row.counts) for row in rows])


BREAKDOWN_TITLES = {"agency": _l("Agency"), "service": _l("Service"), "counter": _l("Counter"),
                    "officer": _l("Officer")}


PER = {"agency": _l("Per agency"), "service": _l("Per service"), "counter": _l("Per counter"),
       "officer": _l("Per officer")}


def breakdown(report: Report) -> Table:
    by = report.breakdown_by
    return _rows("breakdown", str(PER[by]), str(BREAKDOWN_TITLES[by]), report.breakdown)


def daily(report: Report) -> Table:
    return _rows("daily", str(_l("Per day")), str(_l("Date")), report.daily)


def weekly(report: Report) -> Table:
    return _rows("weekly", str(_l("Per week")), str(_l("Week")), report.weekly)


def heatmap(report: Report) -> Table:
    header = [str(_l("Day"))] + [f"{hour:02d}" for hour in range(24)]
    rows = [[str(WEEKDAYS[day])] + list(report.heatmap[day]) for day in range(7)]
    return Table("arrivals", str(_l("Arrivals by weekday and hour")), header, rows)


def all_tables(report: Report) -> list[Table]:
    return [summary(report), breakdown(report), daily(report), weekly(report), heatmap(report)]
