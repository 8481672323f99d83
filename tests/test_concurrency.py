"""Simultaneous kiosks and counters, on SQLite and PostgreSQL.

Threads are released together by a ``threading.Barrier`` and talk to the real
app through their own test client (each request has its own app context and
session), so the database's locking is what keeps the numbers and calls right.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Callable
from typing import Any

import pytest
from conftest import KIOSK_KEY, bearer, service_id
from sqlalchemy import func, select

from queue_server.auth.principal import issue_api_token
from queue_server.domain import counters
from queue_server.extensions import db
from queue_server.models import (
    Agency,
    Counter,
    NumberSequence,
    Role,
    Service,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
)
from queue_server.security import hash_password

JOIN_TIMEOUT = 120.0


# -- helpers -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_issuing_limit(app) -> None:  # type: ignore[no-untyped-def]
    """The threads stand for 20 kiosks but share one key: lift its per-kiosk issuing
    limit (tests/test_rate_limits.py covers the limit itself)."""
    app.config["RATELIMIT_ISSUE"] = ""


def run_together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` for i in 0..n-1 in n threads released at the same
    instant; return the results in thread order, re-raising a thread's error."""
    barrier = threading.Barrier(n, timeout=30)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    if errors:
        raise errors[0]
    return results


def issue(client, sid: int, **extra):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/tickets", json={"service_id": sid, **extra},
                       headers=bearer(KIOSK_KEY))


def add_service(app, code: str, prefix: str) -> int:  # type: ignore[no-untyped-def]
    """A DUKCAPIL service created for the test, with the given number prefix."""
    with app.app_context():
        agency = db.session.execute(select(Agency).where(Agency.code == "DUKCAPIL")).scalar_one()
        service = Service(agency_id=agency.id, code=code, name=f"Layanan {code}", prefix=prefix)
        db.session.add(service)
        db.session.commit()
        return service.id


def staff_counters(app, clock, n: int) -> list[tuple[int, dict[str, str]]]:  # type: ignore[no-untyped-def]
    """n extra DUKCAPIL counters serving KTP and KK, each opened by its own new
    officer (an officer sits at one counter); returns (counter id, auth headers)."""
    with app.app_context():
        agency = db.session.execute(select(Agency).where(Agency.code == "DUKCAPIL")).scalar_one()
        services = list(agency.services)
        password_hash = hash_password("petugas-uji")
        pairs = []
        for i in range(n):
            user = User(username=f"petugas{i}", name=f"Petugas {i}", password_hash=password_hash,
                        role=Role.OFFICER, agency_id=agency.id)
            counter = Counter(code=f"DUK-X{i}", number=100 + i, name=f"Loket {100 + i}",
                              agency_id=agency.id, zone=agency.zone, services=services)
            db.session.add_all([user, counter])
            pairs.append((counter, user))
        db.session.commit()
        out = []
        for counter, user in pairs:
            counters.open_counter(db.session, clock, counter.id, user)
            secret, _ = issue_api_token(db.session, user, clock.now(), 8)
            out.append((counter.id, bearer(secret)))
        db.session.commit()
        return out


def called_events_per_ticket() -> Tally[int]:
    rows = db.session.execute(
        select(TicketEvent.ticket_id).where(TicketEvent.kind == "called")
    ).scalars()
    return Tally(rows)


# -- issuing -----------------------------------------------------------------


def test_simultaneous_kiosks_get_unique_contiguous_numbers(app) -> None:  # type: ignore[no-untyped-def]
    """20 kiosks x 15 tickets at once over KTP and AKTA (both prefix A, so only
    the number sequence serialises them) and PKB (another agency, prefix S):
    per prefix and day the numbers are exactly 1..N, none twice, none skipped,
    and every ticket a kiosk was given is in the database."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    akta = add_service(app, "AKTA", "A")
    pkb = service_id(app, "SAMSAT", "PKB")
    plan = [ktp, akta, pkb]
    threads, per_thread = 20, 15

    def kiosk(i: int) -> list[tuple[int, dict]]:
        client = app.test_client()
        out = []
        for k in range(per_thread):
            res = issue(client, plan[(i + k) % len(plan)])
            out.append((res.status_code, res.get_json()))
        return out

    answers = [a for batch in run_together(threads, kiosk) for a in batch]
    assert len(answers) == threads * per_thread
    assert [status for status, _ in answers] == [201] * len(answers), [
        a for a in answers if a[0] != 201][:3]

    given = {body["id"]: body for _, body in answers}
    assert len(given) == len(answers), "two kiosks were handed the same ticket row"
    wanted = Tally("S" if body["service"]["id"] == pkb else "A" for body in given.values())
    assert wanted == {"A": 200, "S": 100}
    for prefix, n in wanted.items():
        numbers = sorted(b["number"] for b in given.values() if b["number"].startswith(prefix))
        assert numbers == [f"{prefix}{k:03d}" for k in range(1, n + 1)]

    with app.app_context():
        rows = db.session.execute(select(Ticket)).scalars().all()
        assert {t.id for t in rows} == set(given)
        for t in rows:
            assert (t.number, t.token, t.status) == (
                given[t.id]["number"], given[t.id]["token"], TicketStatus.WAITING)
        for prefix, n in wanted.items():
            sequences = sorted(t.sequence for t in rows if t.prefix == prefix)
            assert sequences == list(range(1, n + 1))
            last = db.session.execute(
                select(NumberSequence.last_number).where(NumberSequence.prefix == prefix)
            ).scalar_one()
            assert last == n
        issued = db.session.execute(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "issued")
        ).scalar_one()
        assert issued == len(rows)


def test_retried_request_gets_the_same_ticket(app, client) -> None:  # type: ignore[no-untyped-def]
    """A kiosk that resends a request (same request_id) after a lost answer
    gets its ticket back with 200 instead of a second ticket, and the next
    visitor's number follows without a gap."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    first = issue(client, ktp, request_id="kiosk-1-req-1")
    again = issue(client, ktp, request_id="kiosk-1-req-1")
    assert (first.status_code, again.status_code) == (201, 200)
    a, b = first.get_json(), again.get_json()
    assert (b["id"], b["number"], b["token"]) == (a["id"], "A001", a["token"])

    other = issue(client, ktp, request_id="kiosk-1-req-2")
    assert other.status_code == 201
    assert other.get_json()["number"] == "A002"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 2


def test_a_retry_refused_meanwhile_still_gets_its_ticket(app, client) -> None:  # type: ignore[no-untyped-def]
    """The answer to a kiosk's request was lost, and before its retry the quota ran
    out and then the service was switched off: the retry still gets the ticket it
    was issued (200), while a new request is refused with the reason."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    first = issue(client, ktp, request_id="kiosk-1-req-9")
    assert first.status_code == 201
    with app.app_context():
        db.session.get(Service, ktp).daily_quota = 1
        db.session.commit()
    fresh = issue(client, ktp, request_id="kiosk-1-req-10")
    assert fresh.get_json()["error"]["code"] == "quota_exhausted"
    retry = issue(client, ktp, request_id="kiosk-1-req-9")
    assert (retry.status_code, retry.get_json()["token"]) == (200, first.get_json()["token"])
    with app.app_context():
        db.session.get(Service, ktp).active = False
        db.session.commit()
    retry = issue(client, ktp, request_id="kiosk-1-req-9")
    assert (retry.status_code, retry.get_json()["number"]) == (200, first.get_json()["number"])
    assert issue(client, ktp, request_id="kiosk-1-req-11").get_json()["error"]["code"] == "service_inactive"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1


def test_simultaneous_retries_get_one_ticket_and_leave_no_gap(app, client) -> None:  # type: ignore[no-untyped-def]
    """Eight copies of one request arriving at once: exactly one creates the
    ticket (201), the others get that same ticket (200); the loser's number is
    given back, so the next ticket is numbered without a gap."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    assert issue(client, ktp).get_json()["number"] == "A001"

    def retry(_i: int) -> tuple[int, dict]:
        res = issue(app.test_client(), ktp, request_id="kiosk-1-req-77")
        return res.status_code, res.get_json()

    answers = run_together(8, retry)
    assert sorted(status for status, _ in answers) == [200] * 7 + [201], answers
    assert {(body["id"], body["number"]) for _, body in answers} == {(answers[0][1]["id"], "A002")}

    after = issue(client, ktp)
    assert after.status_code == 201
    assert after.get_json()["number"] == "A003"
    with app.app_context():
        sequences = db.session.execute(select(Ticket.sequence).order_by(Ticket.sequence)).scalars()
        assert list(sequences) == [1, 2, 3]
        same_request = db.session.execute(
            select(func.count()).select_from(Ticket).where(Ticket.request_id == "kiosk-1-req-77")
        ).scalar_one()
        assert same_request == 1


# -- calling -----------------------------------------------------------------


def test_simultaneous_counters_never_share_a_ticket(app, clock) -> None:  # type: ignore[no-untyped-def]
    """Ten counters press call-next at the same instant, then keep calling
    until the queue is empty: every ticket is called exactly once, each counter
    holds a different ticket, and the first simultaneous round takes exactly
    the ten priority tickets at the head of the queue (nobody is skipped)."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    kk = service_id(app, "DUKCAPIL", "KK")
    with app.app_context():
        db.session.get(Service, kk).daily_quota = 0  # unlimited for this test
        db.session.commit()
    kiosk = app.test_client()
    issued = []
    for i in range(40):
        body = issue(kiosk, ktp if i % 2 == 0 else kk, priority="elderly" if i % 3 == 0 else None)
        assert body.status_code == 201, body.get_json()
        issued.append(body.get_json())
        clock.advance(seconds=20)
    priority_head = {t["id"] for t in issued if t["priority"] != "none"}
    assert len(priority_head) == 14
    priority_head = set(sorted(priority_head)[:10])  # issued in id order

    desks = staff_counters(app, clock, 10)

    def call_once(i: int) -> tuple[int, int]:
        counter, headers = desks[i]
        res = app.test_client().post(f"/api/v1/counters/{counter}/call-next", headers=headers)
        assert res.status_code == 200, res.get_json()
        body = res.get_json()
        assert body["queue_empty"] is False
        return counter, body["ticket"]["id"]

    first_round = run_together(10, call_once)
    taken = [ticket for _, ticket in first_round]
    assert len(set(taken)) == 10
    assert set(taken) == priority_head
    with app.app_context():
        for counter_id, ticket_id in first_round:
            counter = db.session.get(Counter, counter_id)
            assert counter.current_ticket_id == ticket_id
            ticket = db.session.get(Ticket, ticket_id)
            assert (ticket.status, ticket.counter_id) == (TicketStatus.CALLED, counter_id)
        assert called_events_per_ticket() == Tally(taken)

    def serve_until_empty(i: int) -> list[tuple[int, int]]:
        counter, headers = desks[i]
        client = app.test_client()
        calls = []
        while True:
            done = client.post(f"/api/v1/counters/{counter}/finish", headers=headers)
            assert done.status_code == 200, done.get_json()
            res = client.post(f"/api/v1/counters/{counter}/call-next", headers=headers)
            assert res.status_code == 200, res.get_json()
            if res.get_json()["queue_empty"]:
                return calls
            calls.append((counter, res.get_json()["ticket"]["id"]))

    rest = [c for calls in run_together(10, serve_until_empty) for c in calls]
    every_call = first_round + rest
    assert sorted(ticket for _, ticket in every_call) == sorted(t["id"] for t in issued)

    with app.app_context():
        assert called_events_per_ticket() == Tally({t["id"]: 1 for t in issued})
        for counter_id, ticket_id in every_call:
            ticket = db.session.get(Ticket, ticket_id)
            assert (ticket.status, ticket.counter_id) == (TicketStatus.DONE, counter_id)
            event_counter = db.session.execute(
                select(TicketEvent.counter_id).where(
                    TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "called")
            ).scalar_one()
            assert event_counter == counter_id
        for counter_id, _ in desks:
            assert db.session.get(Counter, counter_id).current_ticket_id is None


# -- both at once ------------------------------------------------------------


def test_twenty_kiosks_and_ten_counters_at_once(app, clock) -> None:  # type: ignore[no-untyped-def]
    """20 kiosks issue while 10 counters call and finish, all at the same
    time: every number is issued once with no gap, and every ticket issued is
    called exactly once, by one counter, and finished there."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    desks = staff_counters(app, clock, 10)
    kiosks, per_kiosk = 20, 8
    kiosks_done = threading.Event()
    finished_kiosks = Tally[str]()
    lock = threading.Lock()

    def kiosk(client) -> list[dict]:  # type: ignore[no-untyped-def]
        out = []
        for k in range(per_kiosk):
            res = issue(client, ktp, priority="disabled" if k % 4 == 0 else None)
            assert res.status_code == 201, res.get_json()
            out.append(res.get_json())
        with lock:
            finished_kiosks["done"] += 1
            if finished_kiosks["done"] == kiosks:
                kiosks_done.set()
        return out

    def desk(i: int) -> list[tuple[int, int]]:
        counter, headers = desks[i]
        client = app.test_client()
        calls = []
        while True:
            drained = kiosks_done.is_set()  # read before calling: no ticket can slip past
            res = client.post(f"/api/v1/counters/{counter}/call-next", headers=headers)
            assert res.status_code == 200, res.get_json()
            if res.get_json()["queue_empty"]:
                if drained:
                    return calls
                continue
            calls.append((counter, res.get_json()["ticket"]["id"]))
            done = client.post(f"/api/v1/counters/{counter}/finish", headers=headers)
            assert done.status_code == 200, done.get_json()

    def work(i: int) -> list:  # type: ignore[type-arg]
        return kiosk(app.test_client()) if i < kiosks else desk(i - kiosks)

    results = run_together(kiosks + len(desks), work)
    issued = [t for batch in results[:kiosks] for t in batch]
    calls = [c for batch in results[kiosks:] for c in batch]

    total = kiosks * per_kiosk
    assert sorted(t["number"] for t in issued) == [f"A{k:03d}" for k in range(1, total + 1)]
    assert sorted(ticket for _, ticket in calls) == sorted(t["id"] for t in issued)
    with app.app_context():
        assert called_events_per_ticket() == Tally({t["id"]: 1 for t in issued})
        for counter_id, ticket_id in calls:
            ticket = db.session.get(Ticket, ticket_id)
            assert (ticket.status, ticket.counter_id) == (TicketStatus.DONE, counter_id)
