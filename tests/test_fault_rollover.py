"""Local midnight passes while kiosks are issuing, on SQLite and PostgreSQL.

tests/test_day_rollover.py moves a fixed clock across midnight between single
requests. Here the clock runs by itself across Asia/Jakarta midnight while
kiosk threads issue through the API, so requests are in flight at the very
moment the day turns: every ticket must get the service day of its own issue
time, and the numbers of each day run 001, 002, ... with no gap and no repeat.
A second test puts midnight between any two clock readings of one request,
which catches code that asks the clock twice and mixes the answers.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from typing import Any

from conftest import JAKARTA, KIOSK_KEY, bearer, make_app, service_id
from sqlalchemy import select

from queue_server.extensions import db
from queue_server.models import NumberSequence, Ticket

MIDNIGHT = dt.datetime(2026, 11, 24, 0, 0, tzinfo=JAKARTA)  # Monday -> Tuesday, local
MONDAY, TUESDAY = dt.date(2026, 11, 23), dt.date(2026, 11, 24)
KIOSKS = 6
BEFORE, AFTER = dt.timedelta(seconds=0.6), dt.timedelta(seconds=0.8)  # of running clock time


class RunningClock:
    """Site time that runs like a real clock from ``start``: every reading is later."""

    def __init__(self, start: dt.datetime) -> None:
        self.start, self.began = start, time.monotonic()

    def restart(self) -> None:
        """Run from ``start`` again, counting from now."""
        self.began = time.monotonic()

    def now(self) -> dt.datetime:
        return (self.start + dt.timedelta(seconds=time.monotonic() - self.began)).astimezone(dt.UTC)


class SteppingClock:
    """Each reading is ``step`` later than the one before: a request that reads the
    clock n times sees n different times, and midnight can be put between any two."""

    def __init__(self, start: dt.datetime, step: dt.timedelta) -> None:
        self.start, self.step, self.readings = start, step, 0
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            self.readings += 1
            return (self.start + self.step * (self.readings - 1)).astimezone(dt.UTC)


def stored(app) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.execute(select(Ticket).order_by(Ticket.id)).scalars().all()
        tickets = [{"id": t.id, "number": t.number, "prefix": t.prefix, "sequence": t.sequence,
                    "service_day": t.service_day, "issued_at": t.issued_at} for t in rows]
        sequences = {(p, d): n for p, d, n in db.session.execute(
            select(NumberSequence.prefix, NumberSequence.service_day, NumberSequence.last_number))}
        db.session.rollback()
    by_day: dict[tuple[str, dt.date], list[int]] = defaultdict(list)
    for t in tickets:
        # The day of the ticket is the local day of its own issue time.
        assert t["service_day"] == t["issued_at"].astimezone(JAKARTA).date(), t
        by_day[(t["prefix"], t["service_day"])].append(t["sequence"])
    for key, numbers in by_day.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), (key, sorted(numbers))
        assert sequences[key] == len(numbers), key
    return tickets


def test_tickets_issued_while_midnight_passes_get_their_own_days_numbers(database_url) -> None:
    clock = RunningClock(MIDNIGHT - BEFORE)
    app = make_app(database_url, clock, RATELIMIT_ENABLED=False)  # type: ignore[arg-type]
    ktp = service_id(app, "DUKCAPIL", "KTP")  # DUKCAPIL has no office hours in the test site
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def kiosk(i: int) -> None:
        client = app.test_client()
        try:
            while clock.now() < (MIDNIGHT + AFTER).astimezone(dt.UTC):
                res = client.post("/api/v1/tickets", json={"service_id": ktp},
                                  headers=bearer(KIOSK_KEY))
                with lock:
                    answers.append((res.status_code, res.get_json()))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            failures.append(exc)

    threads = [threading.Thread(target=kiosk, args=(i,), daemon=True) for i in range(KIOSKS)]
    clock.restart()  # setting the site up took a while
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads) and not failures, failures
    assert [a for a in answers if a[0] != 201] == []

    tickets = stored(app)
    assert {a[1]["id"] for a in answers} == {t["id"] for t in tickets}
    days = defaultdict(list)
    for t in tickets:
        days[t["service_day"]].append(t["sequence"])
    # Midnight passed under load: both days have tickets, Tuesday's numbers start again at 001.
    assert set(days) == {MONDAY, TUESDAY}, days
    assert min(days[TUESDAY]) == 1 and len(days[MONDAY]) >= 2 and len(days[TUESDAY]) >= 2, days
    for _, body in answers:  # what each kiosk printed is what was stored
        assert body["service_day"] == next(t["service_day"] for t in tickets
                                           if t["id"] == body["id"]).isoformat()


def test_midnight_between_any_two_clock_readings_of_one_issue(sqlite_url) -> None:
    step = dt.timedelta(milliseconds=1)
    clock = SteppingClock(MIDNIGHT - dt.timedelta(hours=1), step)
    app = make_app(sqlite_url, clock, RATELIMIT_ENABLED=False)  # type: ignore[arg-type]
    ktp = service_id(app, "DUKCAPIL", "KTP")
    client = app.test_client()
    clock.readings = 0
    first = client.post("/api/v1/tickets", json={"service_id": ktp}, headers=bearer(KIOSK_KEY))
    assert first.status_code == 201, first.get_json()
    readings = clock.readings  # how often one issue request asks for the time
    assert readings >= 1
    for k in range(readings + 1):  # midnight after the k-th reading of the request
        with clock._lock:
            clock.start, clock.readings = MIDNIGHT - step * k + step / 2, 0
        res = client.post("/api/v1/tickets", json={"service_id": ktp}, headers=bearer(KIOSK_KEY))
        assert res.status_code == 201, res.get_json()
    stored(app)  # each ticket's day is the local day of its issue time, numbers gapless per day
