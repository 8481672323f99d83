"""The service day turns at local midnight (Asia/Jakarta, UTC+7), and tickets
left over from a past day expire and can no longer be called.

Local midnight is 17:00 UTC of the previous UTC day, so tickets issued at
16:59 and 17:01 UTC share a UTC date but belong to different service days.
DUKCAPIL has no schedule in the test site, so it issues tickets at any hour.
"""

from __future__ import annotations

import datetime as dt

from conftest import JAKARTA, KIOSK_KEY, bearer, counter_id, service_id, token_for
from sqlalchemy import select

from queue_server.domain.expiry import expire_past_days
from queue_server.extensions import db
from queue_server.models import Counter, NumberSequence, Ticket, TicketEvent

UTC = dt.UTC
MONDAY = dt.date(2026, 11, 23)
TUESDAY = dt.date(2026, 11, 24)


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def issue(client, sid: int):  # type: ignore[no-untyped-def]
    res = client.post("/api/v1/tickets", json={"service_id": sid}, headers=bearer(KIOSK_KEY))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def counter_post(client, cid: int, headers, action: str, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/counters/{cid}/{action}", json=body or None, headers=headers)


def test_numbers_restart_at_local_midnight_not_utc_midnight(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    """16:58 and 16:59 UTC (23:58, 23:59 Monday in Jakarta) give A001, A002 of
    Monday; 17:00:30 UTC, the same UTC date, is 00:00:30 Tuesday and gives A001
    again. The UTC date changing later that night does not restart anything."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    clock.set(utc(23, 16, 58))
    first_monday = issue(client, ktp)
    assert (first_monday["number"], first_monday["service_day"]) == ("A001", MONDAY.isoformat())
    clock.set(utc(23, 16, 59))
    assert [issue(client, ktp)["number"] for _ in range(2)] == ["A002", "A003"]

    clock.set(utc(23, 17, 0, 30))
    first = issue(client, ktp)
    assert (first["number"], first["service_day"]) == ("A001", TUESDAY.isoformat())
    assert first["ahead"] == 0  # Monday's waiting tickets are not ahead of it

    clock.set(utc(23, 23, 50))  # 06:50 Tuesday in Jakarta
    assert issue(client, ktp)["number"] == "A002"
    clock.set(utc(24, 0, 10))  # a new UTC date, still Tuesday 07:10 in Jakarta
    after_utc_midnight = issue(client, ktp)
    assert (after_utc_midnight["number"], after_utc_midnight["service_day"]) == (
        "A003", TUESDAY.isoformat())

    with app.app_context():
        sequences = db.session.execute(
            select(NumberSequence.service_day, NumberSequence.last_number)
            .where(NumberSequence.prefix == "A").order_by(NumberSequence.service_day)
        ).all()
        assert [tuple(row) for row in sequences] == [(MONDAY, 3), (TUESDAY, 3)]
        numbers = db.session.execute(
            select(Ticket.service_day, Ticket.number).order_by(Ticket.id)
        ).all()
        assert [tuple(row) for row in numbers] == [
            (MONDAY, "A001"), (MONDAY, "A002"), (MONDAY, "A003"),
            (TUESDAY, "A001"), (TUESDAY, "A002"), (TUESDAY, "A003"),
        ]


def test_daily_quota_resets_at_local_midnight(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    """KK's quota of 3 used up at 23:59 Monday is whole again at 00:00:30."""
    kk = service_id(app, "DUKCAPIL", "KK")
    clock.set(utc(23, 16, 59))
    assert [issue(client, kk)["number"] for _ in range(3)] == ["B001", "B002", "B003"]
    refused = client.post("/api/v1/tickets", json={"service_id": kk}, headers=bearer(KIOSK_KEY))
    assert refused.get_json()["error"]["code"] == "quota_exhausted"

    clock.set(utc(23, 17, 0, 30))
    assert issue(client, kk)["number"] == "B001"
    agencies = client.get("/api/v1/agencies").get_json()["agencies"]
    kk_entry = next(s for a in agencies for s in a["services"] if s["id"] == kk)
    assert kk_entry["quota_left"] == 2


def test_yesterdays_waiting_ticket_is_not_called_today(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    """Even before the expiry job ran, call-next ignores Monday's waiting
    ticket on Tuesday and calling it by id is refused (ticket_not_today)."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    monday = issue(client, ktp)
    loket1 = counter_id(app, "DUK-1")
    clock.set(dt.datetime(2026, 11, 24, 8, 0, tzinfo=JAKARTA))
    officer = token_for(client, "dukcapil1")
    assert counter_post(client, loket1, officer, "open").status_code == 200

    nothing = counter_post(client, loket1, officer, "call-next").get_json()
    assert nothing["queue_empty"] is True and nothing["ticket"] is None
    queue = client.get(f"/api/v1/counters/{loket1}/queue", headers=officer).get_json()
    assert queue["tickets"] == []
    by_id = counter_post(client, loket1, officer, "call", ticket_id=monday["id"])
    assert by_id.status_code == 409
    assert by_id.get_json()["error"]["code"] == "ticket_not_today"


def test_expiry_ends_past_days_and_frees_the_counters(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    """expire_past_days turns Monday's waiting, called and serving tickets into
    'expired', clears the counters holding them, leaves finished tickets and
    today's tickets alone, and is a no-op when run again."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    kk = service_id(app, "DUKCAPIL", "KK")
    loket1, loket2 = counter_id(app, "DUK-1"), counter_id(app, "DUK-2")
    officer1, officer2 = token_for(client, "dukcapil1"), token_for(client, "dukcapil2")
    assert counter_post(client, loket1, officer1, "open").status_code == 200
    assert counter_post(client, loket2, officer2, "open").status_code == 200

    # Monday 09:00 local.
    t = {n: issue(client, ktp) for n in ("A001", "A002", "A003", "A004", "A005")}
    t["B001"] = issue(client, kk)
    assert counter_post(client, loket1, officer1, "call-next").get_json()["ticket"]["number"] == "A001"
    assert counter_post(client, loket1, officer1, "finish").status_code == 200  # done
    assert counter_post(client, loket1, officer1, "call-next").get_json()["ticket"]["number"] == "A002"
    assert counter_post(client, loket2, officer2, "call-next").get_json()["ticket"]["number"] == "A003"
    assert counter_post(client, loket2, officer2, "start").status_code == 200  # serving
    assert client.post(f"/api/v1/tickets/{t['A005']['token']}/cancel").status_code == 200
    # A004 and B001 are still waiting.

    clock.set(dt.datetime(2026, 11, 24, 8, 0, tzinfo=JAKARTA))
    officer1, officer2 = token_for(client, "dukcapil1"), token_for(client, "dukcapil2")  # new shift
    today = issue(client, ktp)
    assert today["number"] == "A001"
    busy = counter_post(client, loket1, officer1, "call-next")
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "counter_busy"

    with app.app_context():
        assert expire_past_days(db.session, clock) == 4
        db.session.commit()
    with app.app_context():
        status = {n: db.session.get(Ticket, t[n]["id"]).status for n in t}
        assert status == {"A001": "done", "A002": "expired", "A003": "expired",
                          "A004": "expired", "A005": "cancelled", "B001": "expired"}
        assert db.session.get(Ticket, today["id"]).status == "waiting"
        assert db.session.get(Counter, loket1).current_ticket_id is None
        assert db.session.get(Counter, loket2).current_ticket_id is None
        expired = db.session.execute(
            select(TicketEvent.ticket_id, TicketEvent.from_status)
            .where(TicketEvent.kind == "expired").order_by(TicketEvent.ticket_id)
        ).all()
        assert [tuple(row) for row in expired] == [
            (t["A002"]["id"], "called"), (t["A003"]["id"], "serving"),
            (t["A004"]["id"], "waiting"), (t["B001"]["id"], "waiting"),
        ]
        assert expire_past_days(db.session, clock) == 0
        db.session.commit()

    stale = counter_post(client, loket1, officer1, "call", ticket_id=t["A004"]["id"])
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "ticket_not_today"
    called = counter_post(client, loket1, officer1, "call-next").get_json()
    assert (called["ticket"]["id"], called["ticket"]["number"]) == (today["id"], "A001")
    assert counter_post(client, loket2, officer2, "call-next").get_json()["queue_empty"] is True
