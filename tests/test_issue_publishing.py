"""What issuing publishes, now that it reuses what the issue computed.

Issuing computes the place in line and the estimate once, in its transaction,
and hands them to the published ``ticket.status``; the waiting counts of
``queue.changed`` come from one grouped read of the touched agencies' legs of
the day. These tests pin both to what a fresh read of the database says.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import KIOSK_KEY, bearer, counter_id, service_id, token_for
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from queue_server.domain.site import get_site
from queue_server.extensions import db, socketio
from queue_server.models import Agency, Ticket
from queue_server.realtime import publish


def issue(client, sid: int, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    res = client.post("/api/v1/tickets", json={"service_id": sid, **extra}, headers=bearer(KIOSK_KEY))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def agency_id(app, code: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.query(Agency.id).filter(Agency.code == code).scalar()


def queue_changed(display) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [e["args"][0] for e in display.get_received() if e["name"] == "queue.changed"]


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any], list[str]]]:
    """Every event publish() emits, with its rooms (the visitor's room has no
    member yet when the ticket is issued, so a client could not hear it)."""
    seen: list[tuple[str, dict[str, Any], list[str]]] = []
    real = publish.emit

    def record(event: str, payload: dict[str, Any], to) -> None:  # type: ignore[no-untyped-def]
        rooms = sorted(set(to))
        seen.append((event, payload, rooms))
        real(event, payload, rooms)

    monkeypatch.setattr(publish, "emit", record)
    return seen


@pytest.mark.parametrize("mode", ["ratio", "strict"])
def test_published_status_of_an_issued_ticket_is_what_a_fresh_read_says(
        app, client, emitted, mode: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        get_site(db.session).priority_mode = mode
        db.session.commit()
    ktp = service_id(app, "DUKCAPIL", "KTP")
    officer = token_for(client, "dukcapil1")
    assert client.post(f"/api/v1/counters/{counter_id(app, 'DUK-1')}/open",
                       headers=officer).status_code == 200
    tickets = []
    for priority in ("none", "none", "none", "elderly"):
        ticket = issue(client, ktp, priority=priority)
        published = [p["ticket"] for e, p, rooms in emitted
                     if e == "ticket.status" and rooms == [f"ticket:{ticket['token']}"]]
        fresh = client.get(f"/api/v1/tickets/{ticket['token']}").get_json()
        assert published == [fresh]
        assert (fresh["ahead"], fresh["estimated_wait_minutes"]) == (
            ticket["ahead"], ticket["estimated_wait_minutes"])
        tickets.append(ticket)
    ahead = [t["ahead"] for t in tickets]
    # One counter open, 10 minutes a KTP visitor; strict lets the elderly visitor go first.
    assert ahead == ([0, 1, 2, 3] if mode == "ratio" else [0, 1, 2, 0])
    assert [t["estimated_wait_minutes"] for t in tickets] == [n * 10 for n in ahead]


def test_queue_changed_counts_each_service_of_the_touched_agencies(app, client) -> None:  # type: ignore[no-untyped-def]
    """TV-1 shows DUKCAPIL (Lantai 1), TV-2 SAMSAT (Lantai 2). A service with
    legs today stays listed with 0 once none of them waits."""
    duk, samsat = agency_id(app, "DUKCAPIL"), agency_id(app, "SAMSAT")
    ktp, kk = service_id(app, "DUKCAPIL", "KTP"), service_id(app, "DUKCAPIL", "KK")
    pkb = service_id(app, "SAMSAT", "PKB")
    tv1 = socketio.test_client(app, auth={"key": "test-display-key-0001"})
    tv2 = socketio.test_client(app, auth={"key": "test-display-key-0002"})
    assert tv1.is_connected() and tv2.is_connected()
    try:
        tv1.get_received()
        tv2.get_received()
        issue(client, ktp)
        issue(client, ktp)
        kk_ticket = issue(client, kk)
        assert queue_changed(tv1)[-1] == {"agency_id": duk, "waiting": 3,
                                          "services": {str(ktp): 2, str(kk): 1},
                                          "refresh": True}  # KK has a daily quota
        assert queue_changed(tv2) == []

        officer = token_for(client, "dukcapil1")
        loket1 = counter_id(app, "DUK-1")
        assert client.post(f"/api/v1/counters/{loket1}/open", headers=officer).status_code == 200
        assert client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer).status_code == 200
        assert queue_changed(tv1)[-1] == {"agency_id": duk, "waiting": 2,
                                          "services": {str(ktp): 1, str(kk): 1}, "refresh": False}

        # A transfer touches both agencies: each display hears its own.
        res = client.post(f"/api/v1/counters/{loket1}/transfer", json={"service_id": pkb},
                          headers=officer)
        assert res.status_code == 200, res.get_json()
        assert queue_changed(tv1)[-1] == {"agency_id": duk, "waiting": 2,
                                          "services": {str(ktp): 1, str(kk): 1}, "refresh": False}
        assert queue_changed(tv2)[-1] == {"agency_id": samsat, "waiting": 1,
                                          "services": {str(pkb): 1}, "refresh": False}

        assert client.post(f"/api/v1/tickets/{kk_ticket['token']}/cancel").status_code == 200
        assert queue_changed(tv1)[-1] == {"agency_id": duk, "waiting": 1,
                                          "services": {str(ktp): 1, str(kk): 0}, "refresh": False}
    finally:
        tv1.disconnect()
        tv2.disconnect()


def moved_rooms(emitted) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(room for event, _payload, rooms in emitted if event == "queue.moved" for room in rooms)


def test_queue_moved_reaches_only_the_lines_that_moved(app, client, emitted) -> None:  # type: ignore[no-untyped-def]
    """Each queue.moved reaches every phone following a ticket of that line: a
    ticket's event goes to its own service's room, a counter opening (which
    changes every estimate of the agency) to each of the agency's lines, and a
    plain new ticket, joining the end of its line, moves nobody."""
    ktp, kk = service_id(app, "DUKCAPIL", "KTP"), service_id(app, "DUKCAPIL", "KK")
    issue(client, ktp)
    issue(client, kk)
    emitted.clear()
    issue(client, ktp)
    assert moved_rooms(emitted) == []
    issue(client, ktp, priority="elderly")
    assert moved_rooms(emitted) == [f"service:{ktp}"]

    officer = token_for(client, "dukcapil1")
    loket1 = counter_id(app, "DUK-1")
    emitted.clear()
    assert client.post(f"/api/v1/counters/{loket1}/open", headers=officer).status_code == 200
    assert moved_rooms(emitted) == sorted([f"service:{ktp}", f"service:{kk}"])

    emitted.clear()
    called = client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer).get_json()
    called_service = called["ticket"]["service"]["id"]
    assert moved_rooms(emitted) == [f"service:{called_service}"]


@pytest.mark.parametrize("mode", ["ratio", "strict"])
def test_each_visitor_reads_the_same_place_from_queue_moved_as_from_the_api(
        app, client, emitted, mode: str) -> None:  # type: ignore[no-untyped-def]
    """The line in queue.moved is what the visitor page shows without asking:
    for every waiting ticket, its index and the estimate computed from the
    event's numbers must be what GET /api/v1/tickets/<token> answers."""
    with app.app_context():
        get_site(db.session).priority_mode = mode
        db.session.commit()
    ktp, pkb = service_id(app, "DUKCAPIL", "KTP"), service_id(app, "SAMSAT", "PKB")
    officer = token_for(client, "dukcapil1")
    loket1 = counter_id(app, "DUK-1")
    priorities = ("none", "none", "pregnant", "none", "elderly", "none")
    tickets = [issue(client, ktp, priority=p) for p in priorities]
    samsat = [issue(client, pkb) for _ in range(2)]
    assert client.post(f"/api/v1/counters/{loket1}/open", headers=officer).status_code == 200

    def check(service: int, followed: list[dict[str, Any]]) -> None:
        line = [p for e, p, rooms in emitted if e == "queue.moved" and rooms == [f"service:{service}"]][-1]
        assert line["complete"] is True and line["counters"] >= 1
        listed = 0
        for ticket in followed:
            fresh = client.get(f"/api/v1/tickets/{ticket['token']}").get_json()
            if fresh["status"] != "waiting" or fresh["service"]["id"] != service:
                assert fresh["id"] not in line["waiting"]
                continue
            place = line["waiting"].index(fresh["id"])
            listed += 1
            assert place == fresh["ahead"]
            assert math.ceil(place * line["minutes"] / line["counters"]) == fresh["estimated_wait_minutes"]
        assert listed == len(line["waiting"])

    check(ktp, tickets)
    for _ in range(2):
        emitted.clear()
        assert client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer).status_code == 200
        check(ktp, tickets)
        emitted.clear()
        assert client.post(f"/api/v1/counters/{loket1}/finish", headers=officer).status_code == 200
        check(ktp, tickets)  # a finished visit changes the average: the estimate inputs move
    # A transferred visitor keeps their first arrival: they go ahead of later SAMSAT tickets.
    assert client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer).status_code == 200
    emitted.clear()
    res = client.post(f"/api/v1/counters/{loket1}/transfer", json={"service_id": pkb}, headers=officer)
    assert res.status_code == 200, res.get_json()
    check(pkb, tickets + samsat)
    line = [p for e, p, rooms in emitted if e == "queue.moved" and rooms == [f"service:{pkb}"]][-1]
    assert len(line["waiting"]) == 3


def test_a_long_line_lists_its_head_and_says_it_is_cut(app, client, emitted,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Visitors behind the listed places (LINE_LIMIT) are told the list is cut, so
    their page asks the server instead of reading a place that is not there."""
    from queue_server.domain import queries

    monkeypatch.setattr(queries, "LINE_LIMIT", 3)
    queries._line_stmt.cache_clear()  # noqa: SLF001  (built with the limit)
    try:
        ktp = service_id(app, "DUKCAPIL", "KTP")
        tickets = [issue(client, ktp) for _ in range(5)]
        officer = token_for(client, "dukcapil1")
        emitted.clear()
        assert client.post(f"/api/v1/counters/{counter_id(app, 'DUK-1')}/open",
                           headers=officer).status_code == 200
        line = [p for e, p, rooms in emitted if e == "queue.moved" and rooms == [f"service:{ktp}"]][-1]
        assert line["waiting"] == [t["id"] for t in tickets[:3]]
        assert line["complete"] is False
    finally:
        monkeypatch.undo()
        queries._line_stmt.cache_clear()  # noqa: SLF001


def test_an_issue_is_one_transaction_and_a_call_goes_out_before_the_rest_is_read(
        app, client, emitted) -> None:  # type: ignore[no-untyped-def]
    """Authenticating the caller, the work and the reads that publishing needs share
    one database transaction: the read that found the key is upgraded to the write
    (SQLite), and the payloads are read before the commit, not after it. A call is
    the exception: it is sent as soon as it is committed, and what follows it (the
    moved line, the counts) is read in a second transaction."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    officer = token_for(client, "dukcapil1")
    counter = counter_id(app, "DUK-1")
    begun: list[object] = []
    with app.app_context():
        engine = db.engine
    listen = lambda conn: begun.append(conn)  # noqa: E731
    committed = lambda conn: emitted.append(("(commit)", {}, []))  # noqa: E731
    event.listen(engine, "begin", listen)
    try:
        assert client.post(f"/api/v1/counters/{counter}/open", headers=officer).status_code == 200
        assert len(begun) == 1
        begun.clear()
        issue(client, ktp)
        issue(client, ktp)
        assert len(begun) == 2
        begun.clear()
        emitted.clear()
        event.listen(engine, "commit", committed)
        assert client.post(f"/api/v1/counters/{counter}/call-next", headers=officer).status_code == 200
        assert len(begun) == 2
    finally:
        event.remove(engine, "begin", listen)
        if event.contains(engine, "commit", committed):
            event.remove(engine, "commit", committed)
    order = [name for name, _payload, _rooms in emitted]
    assert order.index("(commit)") < order.index("ticket.called") < order.index("queue.moved")


def test_nothing_is_announced_when_the_commit_fails(app, client, emitted) -> None:  # type: ignore[no-untyped-def]
    """The messages are built before the commit; if the commit then fails, none is
    sent and no ticket exists."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    with app.app_context():
        before = db.session.execute(select(func.count()).select_from(Ticket)).scalar_one()

    def refuse(_session) -> None:  # type: ignore[no-untyped-def]
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(Session, "before_commit", refuse)
    try:
        res = client.post("/api/v1/tickets", json={"service_id": ktp}, headers=bearer(KIOSK_KEY))
    finally:
        event.remove(Session, "before_commit", refuse)
    assert res.status_code == 503, res.get_data(as_text=True)
    assert res.get_json()["error"]["code"] == "database_unavailable"
    assert emitted == []
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Ticket)).scalar_one() == before


def test_queue_changed_says_when_kiosks_must_fetch_their_list_again(app, client, emitted) -> None:  # type: ignore[no-untyped-def]
    """`refresh` is true only when more than the counts changed: a ticket of a
    service with a daily quota (KK: 3 a day), not one without (KTP), nor a
    counter opening or a call."""
    ktp, kk = service_id(app, "DUKCAPIL", "KTP"), service_id(app, "DUKCAPIL", "KK")
    officer = token_for(client, "dukcapil1")

    def refresh_flags() -> list[bool]:
        flags = [p["refresh"] for e, p, _rooms in emitted if e == "queue.changed"]
        emitted.clear()
        return flags

    assert client.post(f"/api/v1/counters/{counter_id(app, 'DUK-1')}/open",
                       headers=officer).status_code == 200
    assert refresh_flags() == [False]
    issue(client, ktp)
    assert refresh_flags() == [False]
    issue(client, kk)
    assert refresh_flags() == [True]
    assert client.post(f"/api/v1/counters/{counter_id(app, 'DUK-1')}/call-next",
                       headers=officer).status_code == 200
    assert refresh_flags() == [False]
