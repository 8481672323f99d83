"""Report figures on the fixed data set of tests/report_data.py, worked out by hand there."""

from __future__ import annotations

import datetime as dt

import pytest
from report_data import END, START, load

from queue_server.domain import reports
from queue_server.domain.reports import ReportFilter, distribution, percentile
from queue_server.extensions import db

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["rolled", "live"])
def loaded(app, request):  # type: ignore[no-untyped-def]
    """The data set, read through the roll-up of closed days (as the pages do, with
    today = END) or from the ticket legs alone: the figures must be the same."""
    app.config["REPORT_TODAY"] = END if request.param == "rolled" else None
    return app, load(app)


def build(app, by: str | None = None, **filters: tuple[int, ...]) -> reports.Report:  # type: ignore[no-untyped-def]
    with app.app_context():
        return reports.build(db.session, ReportFilter(START, END, **filters), "Asia/Jakarta", by,
                             today=app.config.get("REPORT_TODAY"), now=NOW)


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([(10, 1)], 0.9) == 10
    # 10, 20, 20, 40: median at rank 1.5 = 20; p90 at rank 2.7 = 20 + 0.7 * 20
    histogram = [(10, 1), (20, 2), (40, 1)]
    assert percentile(histogram, 0.5) == 20
    assert percentile(histogram, 0.9) == pytest.approx(34.0)
    assert percentile(histogram, 0.0) == 10 and percentile(histogram, 1.0) == 40
    spread = distribution(histogram)
    assert (spread.count, spread.mean) == (4, 22.5)


def test_filter_refuses_a_backwards_or_huge_range() -> None:
    with pytest.raises(ValueError, match="before"):
        ReportFilter(END, START)
    with pytest.raises(ValueError, match="at most"):
        ReportFilter(dt.date(2024, 1, 1), dt.date(2026, 1, 1))


def test_totals_and_durations(loaded) -> None:  # type: ignore[no-untyped-def]
    app, _ = loaded
    report = build(app)
    totals = report.totals
    assert (totals.legs, totals.issued, totals.transferred_in) == (9, 8, 1)
    assert (totals.served, totals.no_show, totals.cancelled, totals.expired, totals.transferred,
            totals.open) == (5, 1, 1, 0, 1, 1)
    # waits 120 240 300 600 900 1200 1500: mean 4860/7, median 600, p90 at rank 5.4 = 1200 + 0.4 * 300
    assert report.wait.count == 7
    assert report.wait.mean == pytest.approx(4860 / 7)
    assert (report.wait.median, report.wait.p90) == (600, pytest.approx(1320))
    # services 60 120 200 300 480 600: median (200+300)/2, p90 at rank 4.5 = 480 + 0.5 * 120
    assert (report.service.count, report.service.mean) == (6, pytest.approx(1760 / 6))
    assert (report.service.median, report.service.p90) == (250, pytest.approx(540))
    # within target: #1 (300 <= 600), #4 (240 <= 300), #6 (120 <= 600), #8 (1500 <= 1800)
    assert (totals.within_target, totals.wait_count) == (4, 7)
    assert totals.sla_share == pytest.approx(4 / 7)


def test_breakdown_by_agency_then_service(loaded) -> None:  # type: ignore[no-untyped-def]
    app, ids = loaded
    by_agency = {row.key: row.counts for row in build(app).breakdown}
    dukcapil, samsat = by_agency[ids["agency:DUKCAPIL"]], by_agency[ids["agency:SAMSAT"]]
    assert (dukcapil.legs, dukcapil.issued, dukcapil.served) == (8, 7, 4)
    assert (dukcapil.wait_count, dukcapil.avg_wait, dukcapil.sla_share) == (6, 560, 0.5)
    assert (samsat.legs, samsat.served, samsat.avg_wait, samsat.sla_share) == (1, 1, 1500, 1.0)

    report = build(app, agency_ids=(ids["agency:DUKCAPIL"],))
    assert report.breakdown_by == "service"
    by_service = {row.key: row for row in report.breakdown}
    ktp, kk = by_service[ids["service:KTP"]], by_service[ids["service:KK"]]
    assert ktp.label == "DUKCAPIL/KTP - Perekaman KTP-el"
    assert (ktp.counts.legs, ktp.counts.issued, ktp.counts.transferred_in) == (6, 5, 1)
    assert (kk.counts.legs, kk.counts.served, kk.counts.transferred) == (2, 1, 1)
    assert kk.counts.avg_wait == 420 and kk.counts.sla_share == 0.5
    assert report.wait.median == pytest.approx(450)  # 120 240 300 600 900 1200


def test_filters_by_service_counter_and_officer(loaded) -> None:  # type: ignore[no-untyped-def]
    app, ids = loaded
    ktp = build(app, service_ids=(ids["service:KTP"],))
    assert (ktp.wait.count, ktp.wait.median) == (4, 600)  # 120 300 900 1200: (300+900)/2
    counter = build(app, counter_ids=(ids["counter:DUK-1"],))
    assert (counter.totals.legs, counter.wait.mean, counter.wait.median) == (3, 380, 300)
    officer = build(app, "officer", officer_ids=(ids["officer:dukcapil2"],))
    assert [(row.label, row.counts.legs) for row in officer.breakdown] == [("dukcapil2 (dukcapil2)", 3)]
    assert (officer.service.count, officer.service.mean) == (2, 390)  # 300 and 480


def test_heatmap_counts_new_visitors_by_local_weekday_and_hour(loaded) -> None:  # type: ignore[no-untyped-def]
    app, _ = loaded
    grid = build(app).heatmap
    assert grid[0][8] == 4  # Mondays 08:10 08:40 (16th), 08:30 08:50 (23rd)
    assert grid[0][9] == 1
    assert grid[1][10] == 2  # Tuesday 10:15, 10:20 (the transfer's second leg is not an arrival)
    assert grid[1][14] == 1
    assert sum(map(sum, grid)) == 8


def test_daily_and_weekly_trends_cover_every_day(loaded) -> None:  # type: ignore[no-untyped-def]
    app, _ = loaded
    report = build(app)
    assert [row.key for row in report.daily] == [START + dt.timedelta(days=n) for n in range(8)]
    daily = {row.key.day: (row.counts.issued, row.counts.served) for row in report.daily}
    assert daily == {16: (3, 2), 17: (3, 2), 18: (0, 0), 19: (0, 0), 20: (0, 0), 21: (0, 0),
                     22: (0, 0), 23: (2, 1)}
    weekly = [(row.label, row.counts.issued, row.counts.served) for row in report.weekly]
    assert weekly == [("2026-W47", 6, 4), ("2026-W48", 2, 1)]


def test_empty_range_has_no_averages(app) -> None:  # type: ignore[no-untyped-def]
    report = build(app)
    assert report.totals.legs == 0
    assert report.totals.avg_wait is None and report.totals.sla_share is None
    assert report.wait.median is None and report.breakdown == []
    assert report.as_dict()["wait"] == {"count": 0, "mean": None, "median": None, "p90": None}
