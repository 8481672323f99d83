"""The background tasks every server process runs (queue_server/background.py).

Several gunicorn workers each run the expiry loop; on PostgreSQL an advisory
lock lets only one of them expire at a time, so a ticket is expired (and
logged and announced) once. Checked by holding that lock from the test as a
second worker would.
"""

from __future__ import annotations

import pytest
from conftest import JAKARTA, KIOSK_KEY, bearer, make_app, postgres_url, reset_postgres, service_id
from sqlalchemy import create_engine, func, select, text

from queue_server import background
from queue_server.extensions import db
from queue_server.models import Ticket, TicketEvent, report_days, report_rollup


def _issue_two(app, client) -> None:  # type: ignore[no-untyped-def]
    sid = service_id(app, "DUKCAPIL", "KTP")
    for _ in range(2):
        res = client.post("/api/v1/tickets", json={"service_id": sid}, headers=bearer(KIOSK_KEY))
        assert res.status_code == 201, res.get_json()


def _statuses(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.execute(select(Ticket.status).order_by(Ticket.id)).scalars())


def _expired_events(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return int(db.session.execute(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.to_status == "expired")
        ).scalar_one())


def test_expire_once_ends_yesterdays_tickets_once(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    _issue_two(app, client)
    assert background.expire_once(app) == 0  # still their day
    clock.advance(days=1)
    assert background.expire_once(app) == 2
    assert background.expire_once(app) == 0
    assert _statuses(app) == ["expired", "expired"]
    assert _expired_events(app) == 2


def test_closed_days_are_rolled_up_after_the_expiry(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    _issue_two(app, client)
    issued_on = clock.now().astimezone(JAKARTA).date()
    assert background.roll_up_recent_days(app) == 0  # today is never rolled up
    clock.advance(days=1)
    assert background.roll_up_recent_days(app) == 0  # both tickets still wait: not closed
    assert background.expire_once(app) == 2
    assert background.roll_up_recent_days(app) == 1
    assert background.roll_up_recent_days(app) == 0
    with app.app_context():
        assert list(db.session.execute(select(report_days.c.service_day)).scalars()) == [issued_on]
        expired = db.session.execute(select(report_rollup.c.expired).where(
            report_rollup.c.level == 0)).scalar_one()
    assert expired == 2


@pytest.fixture
def pg_app(clock):  # type: ignore[no-untyped-def]
    url = postgres_url()
    reset_postgres(url)
    application = make_app(url, clock)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.postgres
def test_expiry_waits_while_another_process_holds_the_lock(pg_app, clock) -> None:  # type: ignore[no-untyped-def]
    app = pg_app
    _issue_two(app, app.test_client())
    clock.advance(days=1)
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with other.connect() as worker:  # "another worker" in the middle of its expiry run
            assert worker.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                  {"k": background.EXPIRY_LOCK}).scalar_one() is True
            assert background.expire_once(app) == 0
            assert _statuses(app) == ["waiting", "waiting"]
            worker.rollback()
    finally:
        other.dispose()
    assert background.expire_once(app) == 2
    assert _expired_events(app) == 2
