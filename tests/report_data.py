"""A small fixed set of ticket legs whose report figures are worked out by hand
in tests/test_reports.py (and reused by the export and page tests).

Targets: KTP 10 min, KK 5 min, PKB 30 min. Days: Monday 2026-11-16, Tuesday
2026-11-17 (ISO week 47) and Monday 2026-11-23 (week 48, "today" of the
FixedClock). Times are local (Asia/Jakarta, UTC+7).

| # | day | issued | service | leg | status      | wait | service | counter | officer   |
|---|-----|--------|---------|-----|-------------|------|---------|---------|-----------|
| 1 | 16  | 08:10  | KTP     | 1   | done        | 300  | 600     | DUK-1   | dukcapil1 |
| 2 | 16  | 08:40  | KTP     | 1   | done        | 900  | 300     | DUK-2   | dukcapil2 |
| 3 | 16  | 09:05  | KTP     | 1   | no_show     | 1200 | -       | DUK-2   | dukcapil2 |
| 4 | 17  | 10:15  | KK      | 1   | done        | 240  | 120     | DUK-1   | dukcapil1 |
| 5 | 17  | 10:20  | KK      | 1   | transferred | 600  | 60      | DUK-1   | dukcapil1 |
| 6 | 17  | 10:20  | KTP     | 2   | done        | 120  | 480     | DUK-2   | dukcapil2 |
| 7 | 17  | 14:00  | KTP     | 1   | cancelled   | -    | -       | -       | -         |
| 8 | 23  | 08:30  | PKB     | 1   | done        | 1500 | 200     | SAM-1   | samsat1   |
| 9 | 23  | 08:50  | KTP     | 1   | waiting     | -    | -       | -       | -         |
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from typing import Any

from conftest import make_app
from sqlalchemy import select

from queue_server.extensions import db
from queue_server.models import Agency, Counter, Service, Ticket, User

JAKARTA = dt.timezone(dt.timedelta(hours=7))
START, END = dt.date(2026, 11, 16), dt.date(2026, 11, 23)

LEGS = [
    # day, hh:mm, service, leg, status, wait, service, counter, officer
    (16, "08:10", "KTP", 1, "done", 300, 600, "DUK-1", "dukcapil1"),
    (16, "08:40", "KTP", 1, "done", 900, 300, "DUK-2", "dukcapil2"),
    (16, "09:05", "KTP", 1, "no_show", 1200, None, "DUK-2", "dukcapil2"),
    (17, "10:15", "KK", 1, "done", 240, 120, "DUK-1", "dukcapil1"),
    (17, "10:20", "KK", 1, "transferred", 600, 60, "DUK-1", "dukcapil1"),
    (17, "10:20", "KTP", 2, "done", 120, 480, "DUK-2", "dukcapil2"),
    (17, "14:00", "KTP", 1, "cancelled", None, None, None, None),
    (23, "08:30", "PKB", 1, "done", 1500, 200, "SAM-1", "samsat1"),
    (23, "08:50", "KTP", 1, "waiting", None, None, None, None),
]
TARGETS = {"KTP": 10, "KK": 5, "PKB": 30}


def load(app: Any) -> dict[str, int]:
    """Insert the legs above; returns ids by name (services, counters, officers, agencies)."""
    with app.app_context():
        session = db.session
        services = {s.code: s for s in session.execute(select(Service)).scalars()}
        for code, minutes in TARGETS.items():
            services[code].target_wait_minutes = minutes
        counters = {c.code: c.id for c in session.execute(select(Counter)).scalars()}
        users = {u.username: u.id for u in session.execute(select(User)).scalars()}
        agencies = {a.code: a.id for a in session.execute(select(Agency)).scalars()}
        sequence: dict[tuple[str, int], int] = {}
        token, prefix, number = "", "", 0
        for day, clock, code, leg, status, wait, service, counter, officer in LEGS:
            svc = services[code]
            hour, minute = (int(part) for part in clock.split(":"))
            issued = dt.datetime(2026, 11, day, hour, minute, tzinfo=JAKARTA).astimezone(dt.UTC)
            if leg == 1:  # a new visitor; a transfer's leg keeps the visitor's token and number
                token, prefix = secrets.token_urlsafe(16), svc.prefix
                sequence[(prefix, day)] = sequence.get((prefix, day), 0) + 1
                number = sequence[(prefix, day)]
            session.add(Ticket(
                token=token, leg=leg, number=f"{prefix}{number:03d}", prefix=prefix,
                sequence=number, service_day=dt.date(2026, 11, day), agency_id=svc.agency_id,
                service_id=svc.id, status=status, issued_at=issued, arrived_at=issued, queued_at=issued,
                wait_seconds=wait, service_seconds=service,
                counter_id=counters.get(counter) if counter else None,
                officer_id=users.get(officer) if officer else None,
            ))
        session.commit()
        return {**{f"service:{k}": v.id for k, v in services.items()},
                **{f"counter:{k}": v for k, v in counters.items()},
                **{f"officer:{k}": v for k, v in users.items()},
                **{f"agency:{k}": v for k, v in agencies.items()}}


def loaded_app(url: str, clock: Any) -> Iterator[Any]:
    """A fixture body: the small site holding these legs (CSRF off, so the test client can
    log in with a plain form post), its connections closed afterwards."""
    application = make_app(url, clock, WTF_CSRF_ENABLED=False)
    load(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
