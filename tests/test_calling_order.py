"""Who is called next: the priority rule, FIFO by arrival, the counter's
services, transfers and no-shows, through the JSON API on SQLite and PostgreSQL.

Every ticket is issued a minute after the previous one, so arrival order is
unambiguous. Numbers: KTP tickets are A..., KK tickets B..., PKB (SAMSAT) S....
"""

from __future__ import annotations

import pytest
from conftest import KIOSK_KEY, bearer, counter_id, service_id, token_for
from sqlalchemy import func, select

from queue_server.extensions import db
from queue_server.models import Counter, Service, Site, Ticket, TicketEvent

# -- helpers -----------------------------------------------------------------


def configure_site(app, **values) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        site = db.session.execute(select(Site)).scalar_one()
        for name, value in values.items():
            setattr(site, name, value)
        db.session.commit()


def serve_only(app, counter_code: str, *service_codes: str) -> None:  # type: ignore[no-untyped-def]
    """Change which services a counter serves."""
    with app.app_context():
        counter = db.session.execute(select(Counter).where(Counter.code == counter_code)).scalar_one()
        counter.services = list(db.session.execute(
            select(Service).where(Service.agency_id == counter.agency_id,
                                  Service.code.in_(service_codes))
        ).scalars())
        db.session.commit()


class Desk:
    """One officer at one counter, driven through the API."""

    def __init__(self, app, client, counter_code: str, username: str) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.id = counter_id(app, counter_code)
        self.headers = token_for(client, username)
        res = self.post("open")
        assert res.status_code == 200, res.get_json()

    def post(self, action: str, **body):  # type: ignore[no-untyped-def]
        return self.client.post(f"/api/v1/counters/{self.id}/{action}", json=body or None,
                                headers=self.headers)

    def call_next(self) -> str | None:
        res = self.post("call-next")
        assert res.status_code == 200, res.get_json()
        ticket = res.get_json()["ticket"]
        return None if ticket is None else ticket["number"]

    def serve_next(self) -> str | None:
        """Call the next ticket and finish it; its number, or None if nobody waits."""
        number = self.call_next()
        if number is not None:
            res = self.post("finish")
            assert res.status_code == 200, res.get_json()
        return number

    def serve_all(self) -> list[str]:
        called = []
        while (number := self.serve_next()) is not None:
            called.append(number)
        return called

    def queue(self) -> list[str]:
        res = self.client.get(f"/api/v1/counters/{self.id}/queue", headers=self.headers)
        assert res.status_code == 200, res.get_json()
        return [t["number"] for t in res.get_json()["tickets"]]


class Kiosk:
    """Issues tickets a minute apart."""

    def __init__(self, app, client, clock) -> None:  # type: ignore[no-untyped-def]
        self.client, self.clock = client, clock
        self.services = {code: service_id(app, agency, code)
                         for agency, code in (("DUKCAPIL", "KTP"), ("DUKCAPIL", "KK"),
                                              ("SAMSAT", "PKB"))}

    def issue(self, code: str, priority: str | None = None) -> dict:
        res = self.client.post("/api/v1/tickets", headers=bearer(KIOSK_KEY),
                               json={"service_id": self.services[code], "priority": priority})
        assert res.status_code == 201, res.get_json()
        self.clock.advance(minutes=1)
        return res.get_json()


@pytest.fixture
def kiosk(app, client, clock) -> Kiosk:  # type: ignore[no-untyped-def]
    return Kiosk(app, client, clock)


@pytest.fixture
def desk1(app, client) -> Desk:  # type: ignore[no-untyped-def]
    return Desk(app, client, "DUK-1", "dukcapil1")


# -- the priority rule -------------------------------------------------------


def test_strict_mode_calls_every_waiting_priority_ticket_first(app, kiosk, desk1) -> None:  # type: ignore[no-untyped-def]
    """priority_mode "strict": a waiting priority ticket always beats a normal
    one, even one that arrived later; FIFO within each class."""
    configure_site(app, priority_mode="strict")
    kiosk.issue("KTP")  # A001
    kiosk.issue("KTP")  # A002
    kiosk.issue("KTP", "elderly")  # A003
    assert desk1.serve_next() == "A003"
    kiosk.issue("KTP", "disabled")  # A004
    kiosk.issue("KTP")  # A005
    kiosk.issue("KTP", "pregnant")  # A006
    assert desk1.serve_all() == ["A004", "A006", "A001", "A002", "A005"]


def test_ratio_two_lets_a_normal_ticket_in_after_two_priority_calls(app, kiosk, desk1) -> None:  # type: ignore[no-untyped-def]
    """priority_mode "ratio", N=2: with P1 P2 P3 and N1 N2 waiting, the calls
    go P, P, N, P, N, each class in arrival order."""
    configure_site(app, priority_mode="ratio", priority_ratio=2)
    kiosk.issue("KTP")  # A001 N1
    kiosk.issue("KTP", "elderly")  # A002 P1
    kiosk.issue("KTP")  # A003 N2
    kiosk.issue("KTP", "pregnant")  # A004 P2
    kiosk.issue("KTP", "disabled")  # A005 P3
    assert desk1.serve_all() == ["A002", "A004", "A001", "A005", "A003"]


def test_ratio_streak_is_counted_per_counter(app, client, kiosk, desk1) -> None:  # type: ignore[no-untyped-def]
    """Two priority calls at Loket 1 do not make Loket 2 skip its own priority
    turn: each counter counts its own streak."""
    configure_site(app, priority_mode="ratio", priority_ratio=2)
    desk2 = Desk(app, client, "DUK-2", "dukcapil2")
    kiosk.issue("KTP")  # A001
    for _ in range(4):
        kiosk.issue("KTP", "elderly")  # A002..A005
    assert [desk1.serve_next(), desk1.serve_next()] == ["A002", "A003"]
    assert desk2.serve_next() == "A004"  # Loket 2's streak is 0: priority first
    assert desk1.serve_next() == "A001"  # Loket 1's streak is 2: the normal ticket
    assert desk1.serve_next() == "A005"


def test_fifo_by_arrival_across_the_services_of_a_counter(app, kiosk, desk1) -> None:  # type: ignore[no-untyped-def]
    """A counter serving KTP and KK merges both queues by arrival time, not by
    service or number; priority first (ratio 2), then normals oldest first."""
    configure_site(app, priority_mode="ratio", priority_ratio=2)
    kiosk.issue("KTP")  # A001
    kiosk.issue("KK")  # B001
    kiosk.issue("KTP")  # A002
    kiosk.issue("KK")  # B002
    kiosk.issue("KK", "elderly")  # B003
    kiosk.issue("KTP", "disabled")  # A003
    assert desk1.serve_all() == ["B003", "A003", "A001", "B001", "A002", "B002"]


@pytest.mark.parametrize(("mode", "ratio"), [("strict", 2), ("ratio", 1), ("ratio", 2), ("ratio", 3)])
def test_counter_queue_is_exactly_the_order_call_next_follows(  # type: ignore[no-untyped-def]
    app, kiosk, desk1, mode: str, ratio: int
) -> None:
    """GET /counters/<id>/queue, read before each call, always starts with the
    ticket call-next then calls and continues with the rest of the earlier
    list, including when the counter is in the middle of a priority streak."""
    configure_site(app, priority_mode=mode, priority_ratio=ratio)
    pattern = [("KTP", None), ("KTP", "elderly"), ("KK", None), ("KTP", None), ("KK", "pregnant"),
               ("KTP", "disabled"), ("KTP", None), ("KK", None), ("KTP", "elderly"), ("KTP", None),
               ("KTP", "elderly")]
    for code, priority in pattern:
        kiosk.issue(code, priority)
    assert desk1.serve_next() == "A002"  # the first priority ticket; the streak is now 1

    expected = desk1.queue()
    assert len(expected) == len(pattern) - 1
    called = []
    for k in range(len(expected)):
        assert desk1.queue() == expected[k:]
        called.append(desk1.serve_next())
    assert called == expected
    assert desk1.queue() == []
    assert desk1.call_next() is None


# -- which counter may call what ---------------------------------------------


def test_counter_calls_only_from_the_services_it_serves(app, client, kiosk, desk1) -> None:  # type: ignore[no-untyped-def]
    """A counter never calls another service's or another agency's ticket, even
    one that has waited longer."""
    serve_only(app, "DUK-2", "KK")
    desk2 = Desk(app, client, "DUK-2", "dukcapil2")
    samsat = Desk(app, client, "SAM-1", "samsat1")
    kiosk.issue("KTP")  # A001
    kiosk.issue("PKB")  # S001
    kiosk.issue("KK")  # B001

    assert desk2.queue() == ["B001"]
    assert desk1.queue() == ["A001", "B001"]
    assert samsat.queue() == ["S001"]
    assert desk2.serve_all() == ["B001"]
    assert desk1.serve_all() == ["A001"]
    assert samsat.serve_all() == ["S001"]


def test_two_counters_never_get_the_same_ticket(app, client, kiosk, desk1) -> None:  # type: ignore[no-untyped-def]
    """A ticket held by one counter is neither called next nor callable by
    number at another counter."""
    desk2 = Desk(app, client, "DUK-2", "dukcapil2")
    first = kiosk.issue("KTP")
    second = kiosk.issue("KTP")
    assert desk1.call_next() == "A001"
    assert desk2.call_next() == "A002"
    assert desk1.post("finish").status_code == 200
    assert desk1.call_next() is None  # A002 is busy at Loket 2

    stolen = desk1.post("call", ticket_id=second["id"])
    assert stolen.status_code == 409
    assert stolen.get_json()["error"]["code"] == "illegal_transition"
    again = desk2.post("call", ticket_id=first["id"])
    assert again.status_code == 409  # Loket 2 still holds A002
    assert again.get_json()["error"]["code"] == "counter_busy"
    with app.app_context():
        assert db.session.get(Counter, desk2.id).current_ticket_id == second["id"]
        assert db.session.get(Ticket, second["id"]).counter_id == desk2.id


# -- transfers ---------------------------------------------------------------


def test_transfer_keeps_number_and_arrival_so_it_queues_by_arrival(app, client, kiosk, desk1) -> None:  # type: ignore[no-untyped-def]
    """A ticket transferred from KTP to KK keeps its number and its original
    arrival time, so in the KK queue it stands between the KK tickets that
    arrived before and after it, not at the end."""
    kk = kiosk.services["KK"]
    serve_only(app, "DUK-2", "KK")
    desk2 = Desk(app, client, "DUK-2", "dukcapil2")
    kiosk.issue("KK")  # B001
    a001 = kiosk.issue("KTP")  # A001
    kiosk.issue("KK")  # B002

    called = desk1.post("call", ticket_id=a001["id"])
    assert called.get_json()["ticket"]["number"] == "A001"
    kiosk.clock.advance(minutes=10)
    moved = desk1.post("transfer", service_id=kk)
    assert moved.status_code == 200, moved.get_json()
    leg = moved.get_json()["ticket"]
    assert moved.get_json()["current_ticket"] is None
    assert (leg["number"], leg["status"], leg["leg"], leg["previous_id"]) == (
        "A001", "waiting", 2, a001["id"])
    assert leg["service"]["id"] == kk
    assert leg["issued_at"] == a001["issued_at"]

    with app.app_context():
        old, new = db.session.get(Ticket, a001["id"]), db.session.get(Ticket, leg["id"])
        assert old.status == "transferred"
        assert new.arrived_at == old.arrived_at
        assert new.queued_at > old.arrived_at
    status = client.get(f"/api/v1/tickets/{a001['token']}").get_json()
    assert (status["number"], status["service"]["id"], status["transferred"]) == ("A001", kk, True)
    assert status["ahead"] == 1  # B001 arrived earlier

    assert desk2.queue() == ["B001", "A001", "B002"]
    assert desk2.serve_all() == ["B001", "A001", "B002"]


def test_transfer_to_another_agency_appears_in_its_queue(app, client, kiosk, desk1) -> None:  # type: ignore[no-untyped-def]
    """Transferred to SAMSAT's PKB, the ticket leaves DUKCAPIL's queue and
    joins SAMSAT's with its number, priority and arrival time."""
    samsat = Desk(app, client, "SAM-1", "samsat1")
    kiosk.issue("PKB")  # S001
    a001 = kiosk.issue("KTP", "elderly")  # A001
    kiosk.issue("PKB")  # S002
    assert desk1.call_next() == "A001"
    leg = desk1.post("transfer", service_id=kiosk.services["PKB"]).get_json()["ticket"]
    assert (leg["number"], leg["priority"], leg["agency"]["code"]) == ("A001", "elderly", "SAMSAT")
    assert leg["arrived_at"] == a001["issued_at"]

    assert desk1.queue() == []
    assert samsat.queue() == ["A001", "S001", "S002"]  # priority first, then by arrival
    agencies = {a["code"]: a for a in client.get("/api/v1/agencies").get_json()["agencies"]}
    assert agencies["SAMSAT"]["services"][0]["waiting"] == 3
    assert agencies["DUKCAPIL"]["waiting"] == 0
    assert samsat.call_next() == "A001"


# -- no-show -----------------------------------------------------------------


def test_no_show_needs_a_recall_or_the_grace_time(app, kiosk, desk1) -> None:  # type: ignore[no-untyped-def]
    """With a grace time, marking the visitor absent right after the call is
    refused (422 no_show_too_early) until the ticket was recalled once or the
    grace time has passed since the call."""
    configure_site(app, no_show_grace_seconds=60)
    kiosk.issue("KTP")
    kiosk.issue("KTP")
    assert desk1.call_next() == "A001"

    early = desk1.post("no-show")
    assert early.status_code == 422
    error = early.get_json()["error"]
    assert error["code"] == "no_show_too_early"
    assert error["details"]["seconds"] == 60
    kiosk.clock.advance(seconds=30)
    still = desk1.post("no-show")
    assert (still.status_code, still.get_json()["error"]["details"]["seconds"]) == (422, 30)

    assert desk1.post("recall").status_code == 200
    after_recall = desk1.post("no-show")
    assert after_recall.status_code == 200
    assert after_recall.get_json()["ticket"]["status"] == "no_show"
    assert after_recall.get_json()["current_ticket"] is None

    assert desk1.call_next() == "A002"
    kiosk.clock.advance(seconds=59)
    assert desk1.post("no-show").status_code == 422
    kiosk.clock.advance(seconds=1)
    late = desk1.post("no-show")
    assert late.status_code == 200
    assert late.get_json()["ticket"]["status"] == "no_show"


def test_a_no_show_is_not_requeued_but_can_be_called_again(app, client, kiosk, desk1) -> None:  # type: ignore[no-untyped-def]
    """An absent visitor leaves the queue (call-next skips them); when they
    turn up, any counter of the agency calls them by id."""
    a001 = kiosk.issue("KTP")
    kiosk.issue("KTP")
    assert desk1.call_next() == "A001"
    assert desk1.post("no-show").status_code == 200  # grace 0 in the test site
    assert desk1.queue() == ["A002"]
    assert desk1.serve_all() == ["A002"]

    desk2 = Desk(app, client, "DUK-2", "dukcapil2")
    back = desk2.post("call", ticket_id=a001["id"])
    assert back.status_code == 200, back.get_json()
    ticket = back.get_json()["ticket"]
    assert (ticket["number"], ticket["status"], ticket["recall_count"]) == ("A001", "called", 0)
    assert ticket["counter"]["id"] == desk2.id
    assert back.get_json()["current_ticket"]["id"] == a001["id"]
    assert desk2.post("finish").get_json()["ticket"]["status"] == "done"

    with app.app_context():
        kinds = db.session.execute(
            select(TicketEvent.kind, func.count()).where(TicketEvent.ticket_id == a001["id"])
            .group_by(TicketEvent.kind)
        ).all()
        assert dict(kinds) == {"issued": 1, "called": 2, "no_show": 1, "serving": 1, "done": 1}
