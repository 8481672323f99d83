"""The whole ticket lifecycle through the JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

from conftest import KIOSK_KEY, bearer, counter_id, service_id, token_for


def issue(client, sid: int, **extra):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/tickets", json={"service_id": sid, **extra}, headers=bearer(KIOSK_KEY))


def test_issue_call_start_finish(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    ktp = service_id(app, "DUKCAPIL", "KTP")
    first = issue(client, ktp)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["number"] == "A001"
    assert body["status"] == "waiting"
    assert body["ahead"] == 0
    assert len(body["token"]) >= 20
    second = issue(client, ktp).get_json()
    assert second["number"] == "A002"
    assert second["ahead"] == 1
    assert second["estimated_wait_minutes"] == 5  # 1 ahead x 10 min / 2 counters

    officer = token_for(client, "dukcapil1")
    loket1 = counter_id(app, "DUK-1")
    opened = client.post(f"/api/v1/counters/{loket1}/open", headers=officer)
    assert opened.status_code == 200 and opened.get_json()["state"] == "open"

    clock.advance(minutes=4)
    called = client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer).get_json()
    assert called["ticket"]["number"] == "A001"
    assert called["ticket"]["status"] == "called"
    assert called["ticket"]["wait_seconds"] == 240
    status = client.get(f"/api/v1/tickets/{body['token']}").get_json()
    assert status["status"] == "called"
    assert status["counter"]["number"] == 1

    clock.advance(seconds=30)
    started = client.post(f"/api/v1/counters/{loket1}/start", headers=officer).get_json()
    assert started["ticket"]["status"] == "serving"
    assert started["ticket"]["walk_seconds"] == 30
    clock.advance(minutes=7)
    done = client.post(f"/api/v1/counters/{loket1}/finish", headers=officer).get_json()
    assert done["ticket"]["status"] == "done"
    assert done["ticket"]["service_seconds"] == 420
    assert done["ticket"]["total_seconds"] == 240 + 30 + 420
    assert done["current_ticket"] is None

    # The second visitor is now first in line.
    status2 = client.get(f"/api/v1/tickets/{second['token']}").get_json()
    assert status2["ahead"] == 0


def test_a_service_that_wants_a_note_refuses_a_bare_finish(app, client) -> None:  # type: ignore[no-untyped-def]
    from queue_server.extensions import db
    from queue_server.models import Service

    kk = service_id(app, "DUKCAPIL", "KK")
    with app.app_context():
        db.session.get(Service, kk).note_required = True
        db.session.commit()
    assert issue(client, kk).status_code == 201
    officer = token_for(client, "dukcapil1")
    loket1 = counter_id(app, "DUK-1")
    client.post(f"/api/v1/counters/{loket1}/open", headers=officer)
    client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer)
    bare = client.post(f"/api/v1/counters/{loket1}/finish", headers=officer)
    assert (bare.status_code, bare.get_json()["error"]["code"]) == (422, "note_required")
    assert "catatan" in bare.get_json()["error"]["message"].lower()
    done = client.post(f"/api/v1/counters/{loket1}/finish", json={"note": "KK no. 3314"}, headers=officer)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["ticket"]["note"] == "KK no. 3314"


def test_officer_sees_their_own_day(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    ktp = service_id(app, "DUKCAPIL", "KTP")
    for _ in range(4):
        issue(client, ktp)
    officer, other = token_for(client, "dukcapil1"), token_for(client, "dukcapil2")
    loket1, loket2 = counter_id(app, "DUK-1"), counter_id(app, "DUK-2")
    client.post(f"/api/v1/counters/{loket1}/open", headers=officer)
    client.post(f"/api/v1/counters/{loket2}/open", headers=other)
    for minutes in (4, 6):  # two visitors served by dukcapil1: waits 1 and 6 min, service 4 and 6
        clock.advance(minutes=1)
        client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer)
        client.post(f"/api/v1/counters/{loket1}/start", headers=officer)
        clock.advance(minutes=minutes)
        client.post(f"/api/v1/counters/{loket1}/finish", headers=officer)
    client.post(f"/api/v1/counters/{loket2}/call-next", headers=other)  # not dukcapil1's
    client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer)
    client.post(f"/api/v1/counters/{loket1}/recall", headers=officer)
    client.post(f"/api/v1/counters/{loket1}/no-show", headers=officer)

    mine = client.get("/api/v1/me/today", headers=officer).get_json()
    assert mine == {"day": "2026-11-23", "served": 2, "no_show": 1, "transferred": 0,
                    "average_service_seconds": 300, "average_wait_seconds": 210}
    assert client.get("/api/v1/me/today", headers=bearer(KIOSK_KEY)).status_code == 403
