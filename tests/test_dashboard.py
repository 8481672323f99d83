"""The managers' live dashboard: the read model's figures on a small day
worked out by hand, device presence, who may open it, and presence pushed
over Socket.IO (in-process on SQLite and PostgreSQL, and against a real
``antrian serve`` with real python-socketio clients).

The day (Monday 2026-11-23, Asia/Jakarta; KK's target lowered to 10 min,
KTP and PKB keep 30):

    09:00 A001 KTP   09:02 A002 KTP   09:04 B001 KK   09:05 S001 PKB (SAMSAT)
    09:10 DUK-1 (dukcapil1) opens, calls A001   wait 10:00 =  600 s
    09:20 finishes A001, calls A002             wait 18:00 = 1080 s
    09:25 finishes A002, calls B001             wait 21:00 = 1260 s > 600 s: past target
    09:26 DUK-2 (dukcapil2) opens and pauses
    09:30 A003 KTP   09:31 B002 KK
    09:45 the snapshot:
      DUKCAPIL waiting A003 (15:00, target 30) and B002 (14:00, target 10: past it)
               served 2, called 3, average wait (600+1080+1260)/3 = 980 s, 1 called past target
      SAMSAT   waiting S001 40:00 (target 30: past it), nothing called
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio
from conftest import JAKARTA, KIOSK_KEY, bearer, counter_id, monday_at, service_id, token_for
from live_server import live_server  # noqa: F401
from sqlalchemy import select, update

from queue_server.dashboard import snapshot
from queue_server.domain.clock import FixedClock
from queue_server.domain.presence import ONLINE_SECONDS, is_online
from queue_server.extensions import db
from queue_server.extensions import socketio as server_socketio
from queue_server.models import Device, Service

MANAGER = ("manajer", "manajer-demo")


# -- helpers -----------------------------------------------------------------


def at(clock: FixedClock, hour: int, minute: int, second: int = 0) -> None:
    clock.set(monday_at(hour, minute) + dt.timedelta(seconds=second))


def issue(client, service: int) -> str:  # type: ignore[no-untyped-def]
    res = client.post("/api/v1/tickets", json={"service_id": service}, headers=bearer(KIOSK_KEY))
    assert res.status_code == 201, res.get_json()
    return str(res.get_json()["number"])


def act(client, headers: dict[str, str], counter: int, action: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    res = client.post(f"/api/v1/counters/{counter}/{action}", headers=headers)
    assert res.status_code == 200, res.get_json()
    return dict(res.get_json())


def login(client, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/auth/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) \
        or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert match, "no csrf_token in the login form"
    res = client.post("/auth/login", data={"username": username, "password": password,
                                           "csrf_token": match.group(1)})
    assert res.status_code == 302, res.get_data(as_text=True)[:300]


def set_target(app, agency: str, code: str, minutes: int) -> None:  # type: ignore[no-untyped-def]
    sid = service_id(app, agency, code)
    with app.app_context():
        db.session.execute(update(Service).where(Service.id == sid).values(target_wait_minutes=minutes))
        db.session.commit()


def seen(app, code: str, when: dt.datetime | None) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.execute(update(Device).where(Device.code == code).values(last_seen_at=when))
        db.session.commit()


def play_the_day(app, client, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    """The day of the module docstring, through the API, up to 09:45."""
    set_target(app, "DUKCAPIL", "KK", 10)
    ktp, kk, pkb = (service_id(app, "DUKCAPIL", "KTP"), service_id(app, "DUKCAPIL", "KK"),
                    service_id(app, "SAMSAT", "PKB"))
    for (h, m), service in (((9, 0), ktp), ((9, 2), ktp), ((9, 4), kk), ((9, 5), pkb)):
        at(clock, h, m)
        issue(client, service)
    duk1, duk2 = counter_id(app, "DUK-1"), counter_id(app, "DUK-2")
    officer1, officer2 = token_for(client, "dukcapil1"), token_for(client, "dukcapil2")
    at(clock, 9, 10)
    act(client, officer1, duk1, "open")
    assert act(client, officer1, duk1, "call-next")["ticket"]["number"] == "A001"
    at(clock, 9, 12)
    act(client, officer1, duk1, "start")
    at(clock, 9, 20)
    act(client, officer1, duk1, "finish")
    assert act(client, officer1, duk1, "call-next")["ticket"]["number"] == "A002"
    at(clock, 9, 25)
    act(client, officer1, duk1, "finish")
    called = act(client, officer1, duk1, "call-next")["ticket"]
    assert (called["number"], called["wait_seconds"]) == ("B001", 1260)
    at(clock, 9, 26)
    act(client, officer2, duk2, "open")
    act(client, officer2, duk2, "pause")
    at(clock, 9, 30)
    assert issue(client, ktp) == "A003"
    at(clock, 9, 31)
    assert issue(client, kk) == "B002"
    at(clock, 9, 45)


# -- the read model ----------------------------------------------------------------


def test_figures_of_a_small_day(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    play_the_day(app, client, clock)
    seen(app, "TV-1", monday_at(9, 44))                           # 60 s ago: online
    seen(app, "TV-2", monday_at(9, 43) + dt.timedelta(seconds=29))  # 91 s ago: offline
    with app.app_context():
        snap = snapshot(db.session, clock, "id")

    assert snap["service_day"] == "2026-11-23"
    assert snap["generated_at"] == "2026-11-23T02:45:00Z"
    # Both agencies have a ticket past its target; SAMSAT's waits longer, so it comes first.
    samsat, dukcapil = snap["agencies"]
    assert (samsat["code"], dukcapil["code"]) == ("SAMSAT", "DUKCAPIL")

    assert {k: dukcapil[k] for k in (
        "waiting", "longest_wait_seconds", "longest_wait_minutes", "longest_wait_service",
        "longest_wait_target_minutes", "target_wait_minutes", "waiting_over_target", "issued",
        "served", "no_show", "called", "average_wait_seconds", "called_over_target",
        "within_target_percent")} == {
        "waiting": 2, "longest_wait_seconds": 900, "longest_wait_minutes": 15,
        "longest_wait_service": "Perekaman KTP-el", "longest_wait_target_minutes": 30,
        "target_wait_minutes": 10, "waiting_over_target": 1, "issued": 5, "served": 2,
        "no_show": 0, "called": 3, "average_wait_seconds": 980, "called_over_target": 1,
        "within_target_percent": 67}
    # KK (1 late of 1) before KTP (0 late).
    assert [(s["code"], s["waiting"], s["longest_wait_seconds"], s["target_wait_minutes"],
             s["over_target"]) for s in dukcapil["services"]] == [
        ("KK", 1, 840, 10, 1), ("KTP", 1, 900, 30, 0)]
    assert dukcapil["counters"] == {
        "total": 2, "open": 1, "paused": 1,
        "working": [
            {"id": counter_id(app, "DUK-1"), "code": "DUK-1", "number": 1, "name": "Loket 1",
             "state": "open", "officer": "dukcapil1", "ticket": "B001",
             "since": "2026-11-23T02:10:00Z"},
            {"id": counter_id(app, "DUK-2"), "code": "DUK-2", "number": 2, "name": "Loket 2",
             "state": "paused", "officer": "dukcapil2", "ticket": None,
             "since": "2026-11-23T02:26:00Z"}]}

    assert {k: samsat[k] for k in ("waiting", "longest_wait_minutes", "waiting_over_target",
                                   "served", "called", "average_wait_seconds",
                                   "called_over_target", "within_target_percent")} == {
        "waiting": 1, "longest_wait_minutes": 40, "waiting_over_target": 1, "served": 0,
        "called": 0, "average_wait_seconds": None, "called_over_target": 0,
        "within_target_percent": None}
    assert samsat["counters"] == {"total": 1, "open": 0, "paused": 0, "working": []}
    assert samsat["open"] == {"serving": True, "can_issue": True, "reason": "open"}

    assert snap["totals"] == {
        "waiting": 3, "waiting_over_target": 2, "issued": 6, "served": 2, "no_show": 0,
        "called": 3, "average_wait_seconds": 980, "called_over_target": 1, "counters_open": 1,
        "counters_paused": 1, "counters_total": 3, "devices_online": 1, "devices_total": 3}

    devices = {d["code"]: d for d in snap["devices"]}
    assert [d["code"] for d in snap["devices"]] == ["TV-1", "TV-2", "KIOSK-1"]  # by kind, code
    assert (devices["TV-1"]["online"], devices["TV-1"]["seen_seconds_ago"]) == (True, 60)
    assert (devices["TV-2"]["online"], devices["TV-2"]["seen_seconds_ago"]) == (False, 91)
    assert (devices["KIOSK-1"]["online"], devices["KIOSK-1"]["last_seen_at"]) == (False, None)
    assert devices["KIOSK-1"]["printer"]["enabled"] is False  # the small site prints nowhere

    assert snap["alerts"] == [
        {"kind": "wait", "level": "danger",
         "agency": {"id": samsat["id"], "code": "SAMSAT", "name": "UPT Samsat"},
         "waiting_over_target": 1, "service": "Pembayaran Pajak Kendaraan Tahunan",
         "longest_wait_minutes": 40, "target_wait_minutes": 30},
        # The late service is KK (14 min, target 10), not the longer-waiting KTP.
        {"kind": "wait", "level": "danger",
         "agency": {"id": dukcapil["id"], "code": "DUKCAPIL",
                    "name": "Dinas Kependudukan dan Pencatatan Sipil"},
         "waiting_over_target": 1, "service": "Kartu Keluarga",
         "longest_wait_minutes": 14, "target_wait_minutes": 10},
        {"kind": "device_offline", "level": "danger",
         "device": {"id": devices["TV-2"]["id"], "code": "TV-2", "name": "TV-2", "kind": "display"},
         "last_seen_at": "2026-11-23T02:43:29Z"},
        {"kind": "device_offline", "level": "danger",
         "device": {"id": devices["KIOSK-1"]["id"], "code": "KIOSK-1", "name": "KIOSK-1",
                    "kind": "kiosk"},
         "last_seen_at": None}]


def test_target_is_strictly_passed_and_english_names(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    """A ticket waiting exactly its target is not late; one second more is."""
    at(clock, 9, 0)
    issue(client, service_id(app, "DUKCAPIL", "KTP"))
    at(clock, 9, 30)
    with app.app_context():
        exactly = snapshot(db.session, clock, "en")
    dukcapil = next(a for a in exactly["agencies"] if a["code"] == "DUKCAPIL")
    assert (dukcapil["name"], dukcapil["longest_wait_minutes"], dukcapil["waiting_over_target"]) == (
        "Civil Registration", 30, 0)
    assert [a for a in exactly["alerts"] if a["kind"] == "wait"] == []
    at(clock, 9, 30, 1)
    with app.app_context():
        later = snapshot(db.session, clock, "en")
    assert next(a for a in later["agencies"] if a["code"] == "DUKCAPIL")["waiting_over_target"] == 1
    assert [(a["agency"]["code"], a["service"]) for a in later["alerts"] if a["kind"] == "wait"] == [
        ("DUKCAPIL", "ID card recording")]


def test_yesterdays_tickets_do_not_count(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    issue(client, service_id(app, "DUKCAPIL", "KTP"))  # Monday 09:00
    clock.set(dt.datetime(2026, 11, 24, 8, 0, tzinfo=JAKARTA))
    with app.app_context():
        snap = snapshot(db.session, clock)
    assert (snap["totals"]["waiting"], snap["totals"]["issued"]) == (0, 0)
    assert [a for a in snap["alerts"] if a["kind"] == "wait"] == []


def test_printer_alerts(app, clock) -> None:  # type: ignore[no-untyped-def]
    """Paper out is an alarm, paper low a warning; a kiosk without a printer never alerts."""
    with app.app_context():
        kiosk = db.session.execute(select(Device).where(Device.code == "KIOSK-1")).scalar_one()
        kiosk.settings = {**kiosk.settings, "printer": "network://127.0.0.1:9100"}
        kiosk.printer_state, kiosk.printer_error = "paper_out", "no paper"
        kiosk.last_seen_at = clock.now()
        db.session.commit()
        out = [a for a in snapshot(db.session, clock)["alerts"] if a["kind"] == "printer"]
        kiosk.printer_state = "paper_low"
        db.session.commit()
        low = [a for a in snapshot(db.session, clock)["alerts"] if a["kind"] == "printer"]
        kiosk.settings = {k: v for k, v in kiosk.settings.items() if k != "printer"}
        kiosk.printer_state = "paper_out"
        db.session.commit()
        unset = [a for a in snapshot(db.session, clock)["alerts"] if a["kind"] == "printer"]
    assert [(a["level"], a["state"], a["error"], a["device"]["code"]) for a in out] == [
        ("danger", "paper_out", "no paper", "KIOSK-1")]
    assert [(a["level"], a["state"]) for a in low] == [("warning", "paper_low")]
    assert unset == []


def test_presence_rule() -> None:
    now = monday_at(10, 0)
    assert ONLINE_SECONDS == 90
    assert is_online(now - dt.timedelta(seconds=90), now) is True
    assert is_online(now - dt.timedelta(seconds=90, microseconds=1), now) is False
    assert is_online(now + dt.timedelta(seconds=5), now) is True  # a clock slightly ahead
    assert is_online(None, now) is False


# -- the pages ---------------------------------------------------------------------


def test_who_may_open_the_dashboard(app, client) -> None:  # type: ignore[no-untyped-def]
    res = client.get("/manager/")
    assert res.status_code == 302 and "/auth/login" in res.headers["Location"]
    res = client.get("/manager/dashboard.json")
    assert res.status_code == 302 and "/auth/login" in res.headers["Location"]

    login(client, "dukcapil1", "petugas-demo")
    assert client.get("/manager/").status_code == 403
    assert client.get("/manager/dashboard.json").status_code == 403

    for username, password in (MANAGER, ("admin", "admin-demo")):
        other = app.test_client()
        login(other, username, password)
        page = other.get("/manager/")
        assert page.status_code == 200
        assert "Dasbor langsung" in page.get_data(as_text=True)  # Indonesian by default
        res = other.get("/manager/dashboard.json")
        assert res.status_code == 200
        assert res.headers["Cache-Control"] == "no-store"
        assert {a["code"] for a in res.get_json()["agencies"]} == {"DUKCAPIL", "SAMSAT"}


def test_json_follows_the_day(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    play_the_day(app, client, clock)
    manager = app.test_client()
    login(manager, *MANAGER)
    body = manager.get("/manager/dashboard.json?lang=en").get_json()
    assert body["totals"]["waiting"] == 3
    assert body["totals"]["average_wait_seconds"] == 980
    assert [a["name"] for a in body["agencies"]] == ["UPT Samsat", "Civil Registration"]


# -- presence over Socket.IO, in process (SQLite and PostgreSQL) -----------------------


def received(client, name: str) -> list[Any]:  # type: ignore[no-untyped-def]
    return [e["args"][0] for e in client.get_received() if e["name"] == name]


def last_seen(app, code: str) -> dt.datetime | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.execute(select(Device.last_seen_at).where(Device.code == code)).scalar_one()


def test_devices_are_stamped_while_connected(app, clock) -> None:  # type: ignore[no-untyped-def]
    """Connect stamps and tells managers; the heartbeat keeps stamping while
    the connection lives; disconnect stamps once more and tells managers."""
    app.config["PRESENCE_HEARTBEAT_SECONDS"] = 0.1
    manager_http = app.test_client()
    login(manager_http, *MANAGER)
    manager = server_socketio.test_client(app, flask_test_client=manager_http)
    officer = server_socketio.test_client(app, auth={"token": token_for(app.test_client(), "dukcapil1")
                                                     ["Authorization"].split()[1]})
    assert manager.is_connected() and officer.is_connected()
    manager.get_received()
    officer.get_received()
    assert last_seen(app, "TV-1") is None

    display = server_socketio.test_client(app, auth={"key": "test-display-key-0001"})
    assert display.is_connected()
    assert last_seen(app, "TV-1") == clock.now()
    events = received(manager, "device.presence")
    assert events == [{"device_id": events[0]["device_id"], "code": "TV-1", "kind": "display",
                       "name": "TV-1", "event": "connected", "online": True,
                       "last_seen_at": "2026-11-23T02:00:00Z"}]
    assert received(officer, "device.presence") == []  # managers only

    clock.advance(minutes=5)  # the heartbeat stamps the new time within a few ticks
    deadline = time.monotonic() + 5
    while last_seen(app, "TV-1") != clock.now() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert last_seen(app, "TV-1") == monday_at(9, 5)

    clock.advance(seconds=30)
    display.disconnect()
    assert last_seen(app, "TV-1") == monday_at(9, 5) + dt.timedelta(seconds=30)
    gone = received(manager, "device.presence")
    assert [(e["code"], e["event"], e["online"]) for e in gone] == [("TV-1", "disconnected", True)]
    # Nothing connected: the heartbeat stops instead of stamping the old time forever.
    presence = app.extensions["antrian_presence"]
    deadline = time.monotonic() + 5
    while presence.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert presence.running is False
    clock.advance(seconds=ONLINE_SECONDS + 1)
    with app.app_context():
        tv1 = next(d for d in snapshot(db.session, clock)["devices"] if d["code"] == "TV-1")
    assert (tv1["online"], tv1["last_seen_at"]) == (False, "2026-11-23T02:05:30Z")
    manager.disconnect()
    officer.disconnect()


def test_two_connections_of_one_device(app, clock) -> None:  # type: ignore[no-untyped-def]
    """A kiosk open twice stays present until its last connection leaves."""
    first = server_socketio.test_client(app, auth={"key": KIOSK_KEY})
    second = server_socketio.test_client(app, auth={"key": KIOSK_KEY})
    clock.advance(minutes=1)
    first.disconnect()
    assert last_seen(app, "KIOSK-1") == monday_at(9, 0)  # the second connection still lives
    second.disconnect()
    assert last_seen(app, "KIOSK-1") == monday_at(9, 1)


# -- presence with a real server and real Socket.IO clients ---------------------------


class Recorder:
    def __init__(self, base_url: str, auth: dict[str, str]) -> None:
        self.events: list[tuple[str, Any]] = []
        self._changed = threading.Condition()
        self.client = socketio.Client(reconnection=False, request_timeout=5)
        for name in ("snapshot", "device.presence"):
            self.client.on(name, self._recorder(name))
        self.client.connect(base_url, auth=auth, transports=["websocket"], wait_timeout=10)

    def _recorder(self, name: str):  # type: ignore[no-untyped-def]
        def record(payload: Any = None) -> None:
            with self._changed:
                self.events.append((name, payload))
                self._changed.notify_all()
        return record

    def expect(self, name: str, match: Any = lambda _p: True, timeout: float = 10) -> Any:
        def found() -> Any:
            return next((p for n, p in self.events if n == name and match(p)), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None, timeout=timeout)
            payload = found()
        assert payload is not None, f"no {name}: {self.events}"
        return payload

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def recorders() -> Iterator[Any]:
    opened: list[Recorder] = []

    def connect(base_url: str, auth: dict[str, str]) -> Recorder:
        opened.append(Recorder(base_url, auth))
        return opened[-1]

    yield connect
    for recorder in opened:
        with contextlib.suppress(Exception):  # teardown must not hide the test's outcome
            recorder.close()


def session_login(base_url: str, username: str, password: str) -> requests.Session:
    http = requests.Session()
    page = http.get(base_url + "/auth/login", timeout=10).text
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) \
        or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert match
    res = http.post(base_url + "/auth/login", timeout=10, allow_redirects=False,
                    data={"username": username, "password": password, "csrf_token": match.group(1)})
    assert res.status_code == 302, res.text[:300]
    return http


def test_a_kiosk_connecting_is_online_for_managers(live_server, recorders) -> None:  # noqa: F811
    base = live_server.base_url
    token = requests.post(base + "/api/v1/auth/token", timeout=10,
                          json={"username": MANAGER[0], "password": MANAGER[1]}).json()["token"]
    manager = recorders(base, {"token": token})
    assert manager.expect("snapshot")["role"] == "manager"
    http = session_login(base, *MANAGER)

    def kiosk_entry() -> dict[str, Any]:
        body = http.get(base + "/manager/dashboard.json", timeout=10).json()
        return next(d for d in body["devices"] if d["code"] == "KIOSK-1")

    before = kiosk_entry()
    assert (before["online"], before["last_seen_at"]) == (False, None)
    assert any(a["kind"] == "device_offline" and a["device"]["code"] == "KIOSK-1"
               for a in http.get(base + "/manager/dashboard.json", timeout=10).json()["alerts"])

    started = dt.datetime.now(dt.UTC)
    kiosk = recorders(base, {"key": KIOSK_KEY})
    assert kiosk.expect("snapshot")["role"] == "kiosk"
    event = manager.expect("device.presence", lambda p: p["code"] == "KIOSK-1")
    assert (event["kind"], event["event"], event["online"]) == ("kiosk", "connected", True)
    stamped = dt.datetime.fromisoformat(event["last_seen_at"].replace("Z", "+00:00"))
    assert started - dt.timedelta(seconds=1) <= stamped <= dt.datetime.now(dt.UTC)

    after = kiosk_entry()
    assert (after["online"], after["last_seen_at"]) == (True, event["last_seen_at"])
    assert not any(a["kind"] == "device_offline" and a["device"]["code"] == "KIOSK-1"
                   for a in http.get(base + "/manager/dashboard.json", timeout=10).json()["alerts"])

    kiosk.close()
    left = manager.expect("device.presence", lambda p: p["event"] == "disconnected")
    assert (left["code"], left["online"]) == ("KIOSK-1", True)  # offline 90 s after leaving
