"""Socket.IO end to end: a real ``antrian serve`` process, real Socket.IO
clients over websocket, actions through the REST API.

Every wait has a timeout (threading.Event); every server is stopped in
fixture teardown and every client disconnected, whatever the outcome. The
clients and the REST helper live in tests/realtime_client.py.
"""

from __future__ import annotations

import pytest
import requests
import socketio
from conftest import (
    DISPLAY2_KEY,
    DISPLAY_KEY,
    KIOSK_KEY,
    check_redis,
    postgres_url,
    redis_url,
    reset_postgres,
)
from live_server import live_server, live_server_factory  # noqa: F401
from realtime_client import (  # noqa: F401  (listeners: a fixture)
    GRACE,
    RECONNECT_TIMEOUT,
    Api,
    always_open_config,
    listeners,
    numbered,
    wait_past_jakarta_midnight,
)


@pytest.fixture(autouse=True)
def _not_at_jakarta_midnight() -> None:
    wait_past_jakarta_midnight()


# -- tests -------------------------------------------------------------------


def test_display_gets_snapshot_then_the_call(live_server, listeners) -> None:  # noqa: F811
    api = Api(live_server.base_url)
    display = listeners(live_server.base_url, {"key": DISPLAY_KEY})
    snapshot = display.log.expect("snapshot")
    assert snapshot["role"] == "display"
    assert snapshot["device"]["code"] == "TV-1"
    assert snapshot["calls"] == []

    ticket = api.issue(api.service_id("DUKCAPIL", "KTP"))
    assert ticket["number"] == "A001"
    officer = api.token("dukcapil1")
    loket1 = api.counter_id(officer, "DUK-1")
    called = api.open_and_call(officer, loket1)
    assert called["ticket"]["number"] == "A001"

    call = display.log.expect("ticket.called", numbered("A001"))
    assert call["kind"] == "called"
    assert call["counter"]["number"] == 1
    assert call["counter"]["id"] == loket1
    assert call["agency"]["code"] == "DUKCAPIL"
    assert call["service"]["id"] == ticket["service"]["id"]
    assert "token" not in call  # a display never sees a visitor's status token
    assert call["announcement"]["id"] == "Nomor antrean, A, nol nol satu, silakan menuju loket satu."
    assert call["announcement"]["words"][:2] == ["nomor-antrean", "a"]

    # A display that reconnects gets the same call, with the same call_id, so
    # it can tell calls it already announced from new ones.
    again = listeners(live_server.base_url, {"key": DISPLAY_KEY}).log.expect("snapshot")
    assert [(c["call_id"], c["number"]) for c in again["calls"]] == [(call["call_id"], "A001")]
    assert isinstance(call["call_id"], int)


def test_display_gets_only_its_own_agencies_calls(live_server_factory, listeners, tmp_path) -> None:  # noqa: F811
    server = live_server_factory("open", config=always_open_config(tmp_path))
    api = Api(server.base_url)
    floor1 = listeners(server.base_url, {"key": DISPLAY_KEY})
    floor2 = listeners(server.base_url, {"key": DISPLAY2_KEY})
    assert floor1.log.expect("snapshot")["device"]["code"] == "TV-1"
    snap2 = floor2.log.expect("snapshot")
    assert snap2["device"]["code"] == "TV-2"
    assert len(snap2["waiting"]) == 1  # Lantai 2 covers SAMSAT only

    # A DUKCAPIL call: Lantai 1 shows it, Lantai 2 does not.
    api.issue(api.service_id("DUKCAPIL", "KTP"))
    dukcapil = api.token("dukcapil1")
    api.open_and_call(dukcapil, api.counter_id(dukcapil, "DUK-1"))
    floor1.log.expect("ticket.called", numbered("A001"))
    assert floor2.log.wait_for("ticket.called", timeout=GRACE) is None, floor2.log.all("ticket.called")

    # A SAMSAT call: the other way round.
    ticket = api.issue(api.service_id("SAMSAT", "PKB"))
    assert ticket["number"] == "S001"
    samsat = api.token("samsat1")
    api.open_and_call(samsat, api.counter_id(samsat, "SAM-1"))
    call = floor2.log.expect("ticket.called", numbered("S001"))
    assert call["counter"]["number"] == 3
    assert call["agency"]["code"] == "SAMSAT"
    assert floor1.log.wait_for("ticket.called", numbered("S001"), timeout=GRACE) is None
    assert [c["number"] for c in floor1.log.all("ticket.called")] == ["A001"]
    assert [c["number"] for c in floor2.log.all("ticket.called")] == ["S001"]


def test_visitor_follows_only_its_own_ticket(live_server, listeners) -> None:  # noqa: F811
    api = Api(live_server.base_url)
    ktp = api.service_id("DUKCAPIL", "KTP")
    first, second = api.issue(ktp), api.issue(ktp)
    visitor1 = listeners(live_server.base_url, {"ticket": first["token"]})
    visitor2 = listeners(live_server.base_url, {"ticket": second["token"]})
    snap = visitor1.log.expect("snapshot")
    assert snap["role"] == "visitor"
    assert snap["ticket"]["number"] == "A001"
    assert snap["ticket"]["status"] == "waiting"
    assert snap["ticket"]["ahead"] == 0
    snap2 = visitor2.log.expect("snapshot")
    assert (snap2["ticket"]["number"], snap2["ticket"]["ahead"]) == ("A002", 1)

    officer = api.token("dukcapil1")
    api.open_and_call(officer, api.counter_id(officer, "DUK-1"))
    call = visitor1.log.expect("ticket.called", numbered("A001"))
    assert call["counter"]["number"] == 1
    # The second visitor hears that the queue moved, but never the other ticket's call.
    visitor2.log.expect("queue.moved")
    assert visitor2.log.wait_for("ticket.called", timeout=GRACE) is None
    assert visitor2.log.all("ticket.updated") == []  # staff-only events stay with staff


def test_connection_without_valid_auth_is_refused(live_server) -> None:  # noqa: F811
    for auth in (None, {}, {"key": "no-such-key"}, {"token": "no-such-token"},
                 {"ticket": "no-such-ticket"}, {"ticket": "x" * 40}, {"key": 12}, "just-a-string"):
        client = socketio.Client(reconnection=False)
        try:
            with pytest.raises(socketio.exceptions.ConnectionError):
                client.connect(live_server.base_url, auth=auth, transports=["websocket"],
                               wait_timeout=10)
            assert not client.connected, auth
        finally:
            client.disconnect()
    # ... while a valid key still gets in.
    client = socketio.Client(reconnection=False)
    try:
        client.connect(live_server.base_url, auth={"key": DISPLAY_KEY}, transports=["websocket"],
                       wait_timeout=10)
        assert client.connected
    finally:
        client.disconnect()


def _assert_forbidden(res: requests.Response) -> None:
    assert res.status_code == 403, res.text
    body = res.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "forbidden"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_devices_may_not_call_and_displays_may_not_issue(live_server) -> None:  # noqa: F811
    api = Api(live_server.base_url)
    ktp = api.service_id("DUKCAPIL", "KTP")
    ticket = api.issue(ktp)
    officer = api.token("dukcapil1")
    loket1 = api.counter_id(officer, "DUK-1")
    assert api.request("POST", f"/api/v1/counters/{loket1}/open", officer).status_code == 200

    for key in (DISPLAY_KEY, DISPLAY2_KEY, KIOSK_KEY):
        _assert_forbidden(api.request("POST", f"/api/v1/counters/{loket1}/call-next", key))
    _assert_forbidden(api.request("POST", "/api/v1/tickets", DISPLAY_KEY, json={"service_id": ktp}))

    # Nothing happened: the ticket still waits and is the only one.
    status = api.request("GET", f"/api/v1/tickets/{ticket['token']}").json()
    assert status["status"] == "waiting"
    queue = api.request("GET", f"/api/v1/counters/{loket1}/queue", officer).json()
    assert [t["number"] for t in queue["tickets"]] == ["A001"]


def test_clients_reconnect_after_restart_and_get_a_fresh_snapshot(live_server, listeners) -> None:  # noqa: F811
    api = Api(live_server.base_url)
    ticket = api.issue(api.service_id("DUKCAPIL", "KTP"))
    display = listeners(live_server.base_url, {"key": DISPLAY_KEY}, reconnection=True)
    visitor = listeners(live_server.base_url, {"ticket": ticket["token"]}, reconnection=True)
    assert display.log.expect("snapshot")["calls"] == []
    assert visitor.log.expect("snapshot")["ticket"]["status"] == "waiting"
    officer = api.token("dukcapil1")
    loket1 = api.counter_id(officer, "DUK-1")
    api.open_and_call(officer, loket1)
    display.log.expect("ticket.called", numbered("A001"))

    live_server.restart()  # SIGKILL, then the same port and database

    display.log.expect("disconnect")
    fresh = display.log.expect("snapshot", skip=1, timeout=RECONNECT_TIMEOUT)
    assert [(c["number"], c["counter"]["number"], c["kind"]) for c in fresh["calls"]] == [
        ("A001", 1, "called")]
    again = visitor.log.expect("snapshot", skip=1, timeout=RECONNECT_TIMEOUT)
    assert again["ticket"]["status"] == "called"
    assert again["ticket"]["counter"]["number"] == 1
    display.log.expect("connect", skip=1)
    visitor.log.expect("connect", skip=1)

    # Pushes work on the new process too.
    api.issue(api.service_id("DUKCAPIL", "KTP"))
    finish = api.request("POST", f"/api/v1/counters/{loket1}/finish", officer)
    assert finish.status_code == 200, finish.text
    api.call_next(officer, loket1)
    display.log.expect("ticket.called", numbered("A002"))


@pytest.mark.postgres
@pytest.mark.redis
def test_redis_message_queue_carries_calls_between_processes(live_server_factory, listeners) -> None:  # noqa: F811
    queue_url = redis_url()
    check_redis(queue_url)
    database = postgres_url()
    reset_postgres(database)
    env = {"DATABASE_URL": database, "SOCKETIO_MESSAGE_QUEUE": queue_url}
    server_a = live_server_factory("a", env=env)
    server_b = live_server_factory("b", env=env, init=False)
    for server in (server_a, server_b):
        health = requests.get(server.url("/api/v1/health"), timeout=5).json()
        assert health["database"]["dialect"] == "postgresql"
        assert health["message_queue"] == {"configured": True, "ok": True, "mode": "redis"}

    display_b = listeners(server_b.base_url, {"key": DISPLAY_KEY})
    assert display_b.log.expect("snapshot")["calls"] == []
    api_a = Api(server_a.base_url)
    ticket = api_a.issue(api_a.service_id("DUKCAPIL", "KTP"))
    officer = api_a.token("dukcapil1")
    api_a.open_and_call(officer, api_a.counter_id(officer, "DUK-1"))

    call = display_b.log.expect("ticket.called", numbered(ticket["number"]))
    assert call["counter"]["number"] == 1
    assert call["agency"]["code"] == "DUKCAPIL"
