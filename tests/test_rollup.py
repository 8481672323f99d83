"""The per-day roll-up of closed service days (queue_server/domain/rollup.py), on the
fixed data set of tests/report_data.py: which days are rolled, that reports read
the same figures through it as from the legs, and that open days stay live."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from report_data import END, START, load
from sqlalchemy import func, select

from queue_server import create_app
from queue_server.commands import cli
from queue_server.domain import reports, rollup
from queue_server.domain.clock import FixedClock
from queue_server.domain.expiry import expire_past_days
from queue_server.domain.reports import BREAKDOWNS, ReportFilter
from queue_server.extensions import db
from queue_server.models import Ticket, report_days, report_rollup

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
TUESDAY = dt.date(2026, 11, 24)


@pytest.fixture
def ids(app):  # type: ignore[no-untyped-def]
    return load(app)


def build(app, chosen: ReportFilter, by: str | None = None, today: dt.date | None = END):  # type: ignore[no-untyped-def]
    with app.app_context():
        return reports.build(db.session, chosen, "Asia/Jakarta", by, today=today, now=NOW).as_dict()


def rolled(app) -> list[dt.date]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return sorted(db.session.execute(select(report_days.c.service_day)).scalars())


def rollup_rows(app, level: int = rollup.DESK_LEVEL) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    columns = report_rollup.c
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(columns.service_day, columns.legs, columns.served, columns.wait_sum,
                   columns.arrivals_08, columns.arrivals_10)
            .where(columns.level == level)
            .order_by(columns.service_day, columns.legs, columns.wait_sum))]


def test_closed_days_are_rolled_once_and_today_stays_live(app, ids) -> None:  # type: ignore[no-untyped-def]
    build(app, ReportFilter(START, END))
    assert rolled(app) == [START + dt.timedelta(days=n) for n in range(7)]  # 16..22, not today (23rd)
    # 16th: KTP at DUK-1 (#1) and at DUK-2 (#2, #3); 17th: KK at DUK-1 (#4, #5),
    # KTP at DUK-2 (#6, a transfer's leg: no arrival), KTP never called (#7, 14:00)
    assert rollup_rows(app) == [
        (dt.date(2026, 11, 16), 1, 1, 300, 1, 0),
        (dt.date(2026, 11, 16), 2, 1, 2100, 1, 0),  # 08:40 and 09:05
        (dt.date(2026, 11, 17), 1, 0, 0, 0, 0),
        (dt.date(2026, 11, 17), 1, 1, 120, 0, 0),
        (dt.date(2026, 11, 17), 2, 1, 840, 0, 2),
    ]
    # Coarser levels sum those up: per service (KTP and KK on the 17th), per agency.
    assert rollup_rows(app, rollup.SERVICE_LEVEL) == [
        (dt.date(2026, 11, 16), 3, 2, 2400, 2, 0),
        (dt.date(2026, 11, 17), 2, 1, 120, 0, 0),
        (dt.date(2026, 11, 17), 2, 1, 840, 0, 2),
    ]
    assert rollup_rows(app, rollup.AGENCY_LEVEL) == [
        (dt.date(2026, 11, 16), 3, 2, 2400, 2, 0),
        (dt.date(2026, 11, 17), 4, 2, 960, 0, 2),
    ]
    before = build(app, ReportFilter(START, END))
    assert len(rollup_rows(app)) == 5  # a second report did not roll the days again

    # A visitor arriving today counts at once: today is read from the legs.
    with app.app_context():
        first = db.session.execute(select(Ticket).where(Ticket.service_day == END)).scalars().first()
        db.session.add(Ticket(token="today-extra", leg=1, number="Z001", prefix="Z", sequence=1,
                              service_day=END, agency_id=first.agency_id, service_id=first.service_id,
                              status="waiting", issued_at=NOW, arrived_at=NOW, queued_at=NOW))
        db.session.commit()
    after = build(app, ReportFilter(START, END))
    assert after["totals"]["issued"] == before["totals"]["issued"] + 1
    assert after["daily"][-1]["issued"] == before["daily"][-1]["issued"] + 1
    assert after["heatmap"][0][9] == before["heatmap"][0][9] + 1  # 02:00 UTC = 09:00 in Jakarta


@pytest.mark.parametrize("by", BREAKDOWNS)
def test_rolled_figures_equal_the_legs_for_every_breakdown_and_filter(app, ids, by) -> None:  # type: ignore[no-untyped-def]
    filters = [
        {},
        {"agency_ids": (ids["agency:DUKCAPIL"],)},
        {"service_ids": (ids["service:KTP"], ids["service:KK"])},
        {"counter_ids": (ids["counter:DUK-2"],)},
        {"officer_ids": (ids["officer:dukcapil1"], ids["officer:samsat1"])},
    ]
    for chosen in filters:
        report_filter = ReportFilter(START, END, **chosen)
        live = build(app, report_filter, by, today=None)
        assert build(app, report_filter, by) == live, chosen
    assert rolled(app)  # the comparison above did go through the roll-up


def test_a_day_with_open_legs_is_read_live_until_it_closes(app, ids) -> None:  # type: ignore[no-untyped-def]
    # On Tuesday the 23rd is past, but ticket #9 still waits: not closed, not rolled.
    report = build(app, ReportFilter(START, END), today=TUESDAY)
    assert END not in rolled(app)
    assert (report["totals"]["open"], report["totals"]["expired"]) == (1, 0)

    with app.app_context():
        tuesday_clock = FixedClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC))
        assert expire_past_days(db.session, tuesday_clock) == 1
        db.session.commit()
    report = build(app, ReportFilter(START, END), today=TUESDAY)
    assert END in rolled(app)
    assert (report["totals"]["open"], report["totals"]["expired"]) == (0, 1)
    assert report["totals"]["legs"] == 9


def test_days_before_the_first_ticket_are_not_stored(app, ids) -> None:  # type: ignore[no-untyped-def]
    early = ReportFilter(dt.date(2026, 10, 1), END)
    report = build(app, early)
    assert report["totals"]["legs"] == 9
    assert rolled(app)[0] == START  # nothing written for October, nothing was issued then


def same_site(app, clock: FixedClock):  # type: ignore[no-untyped-def]
    """Another app on ``app``'s database (another server process, or a command)."""
    return create_app({**{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "TESTING", "ASYNC_MODE")},
                       "SOCKETIO_MESSAGE_QUEUE": None}, clock=clock)


def test_rollup_command_rolls_every_closed_day_and_rebuilds(app, ids) -> None:  # type: ignore[no-untyped-def]
    tuesday = same_site(app, FixedClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))
    runner = CliRunner()
    command = ScriptInfo(create_app=lambda: tuesday)
    result = runner.invoke(cli, ["rollup"], obj=command, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # On Tuesday the 23rd is past, but its ticket #9 still waits: 16..22 are done.
    assert "7 closed service days are rolled up." in result.output
    assert "Not closed yet" in result.output and "2026-11-23" in result.output
    rows = rollup_rows(app)
    assert len(rows) == 5

    with app.app_context():  # a stale row, as a changed target would leave
        db.session.execute(report_rollup.update().values(served=99))
        db.session.commit()
    result = runner.invoke(cli, ["rollup", "--rebuild"], obj=command, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Forgot the roll-up of 7 days." in result.output
    assert rollup_rows(app) == rows
    with tuesday.app_context():
        db.engine.dispose()


def test_a_day_rolled_by_another_report_meanwhile_is_kept_once(app, ids, clock) -> None:  # type: ignore[no-untyped-def]
    """Two servers rolling the same day: the second finds it done and adds nothing."""
    other = same_site(app, clock)
    day = dt.date(2026, 11, 16)
    with other.app_context():
        assert rollup.roll_up_day(db.session, day, "Asia/Jakarta", NOW)
        db.session.remove()
        db.engine.dispose()
    with app.app_context():
        assert rollup.roll_up_day(db.session, day, "Asia/Jakarta", NOW)
        count = db.session.execute(select(func.count()).select_from(report_rollup)).scalar()
        assert count == 2 + 1 + 1  # two desks, one service, one agency
