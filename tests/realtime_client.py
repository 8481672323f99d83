"""Socket.IO and REST clients for end-to-end tests against a live server (not a test module).

Tests import what they need: ``from realtime_client import Api, listeners  # noqa: F401``.
Every wait has a timeout (threading.Event); every client opened through the
``listeners`` fixture is disconnected at teardown, whatever the outcome.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from conftest import DISPLAY_KEY, JAKARTA, KIOSK_KEY, SMALL_CONFIG

EVENT_TIMEOUT = 10.0  # an event the server should push "at once"
GRACE = 1.0  # how long we listen for an event that must NOT arrive
RECONNECT_TIMEOUT = 30.0
PASSWORD = "petugas-demo"
RECORDED = ("snapshot", "ticket.called", "ticket.updated", "ticket.status", "queue.changed",
            "queue.moved", "counter.updated", "resync")


class EventLog:
    """Thread-safe record of what a client received, with bounded waits.

    Payloads are never None (connect/disconnect record a dict), so None means "did not come".
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Event()
        self.events: list[tuple[str, Any]] = []
        self.times: list[float] = []  # time.monotonic() of each event, same order

    def record(self, name: str, payload: Any) -> None:
        with self._lock:
            self.events.append((name, payload))
            self.times.append(time.monotonic())
            self._arrived.set()

    def all(self, name: str) -> list[Any]:
        with self._lock:
            return [p for n, p in self.events if n == name]

    def arrivals(self, name: str, match: Callable[[Any], bool] = lambda _p: True) -> list[float]:
        """When each matching ``name`` event arrived (time.monotonic())."""
        with self._lock:
            return [t for (n, p), t in zip(self.events, self.times, strict=True) if n == name and match(p)]

    def wait_for(self, name: str, match: Callable[[Any], bool] = lambda _p: True,
                 timeout: float = EVENT_TIMEOUT, skip: int = 0) -> Any | None:
        """The (skip+1)-th ``name`` event that ``match``es, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._arrived.clear()
                found = [p for n, p in self.events if n == name and match(p)]
            if len(found) > skip:
                return found[skip]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._arrived.wait(left)

    def expect(self, name: str, match: Callable[[Any], bool] = lambda _p: True,
               timeout: float = EVENT_TIMEOUT, skip: int = 0) -> Any:
        payload = self.wait_for(name, match, timeout, skip)
        if payload is None:
            got = [(n, p) for n, p in self.events]
            raise AssertionError(f"no {name!r} event (#{skip + 1}) within {timeout} s; got {got!r}")
        return payload


class Listener:
    """A python-socketio client (websocket transport) recording every event.

    ``answer_resync``: when the server broadcasts ``resync`` (its message queue
    is back after an outage), ask for a fresh snapshot the way the browser
    clients do.
    """

    def __init__(self, base_url: str, auth: Any, reconnection: bool = False,
                 answer_resync: bool = False) -> None:
        self.base_url, self.auth = base_url, auth
        self.log = EventLog()
        self.client = socketio.Client(
            reconnection=reconnection,
            reconnection_delay=0.2,
            reconnection_delay_max=1,
            request_timeout=5,
        )
        for name in RECORDED:
            self.client.on(name, self._recorder(name))
        if answer_resync:
            self.client.on("resync", self._answer_resync)
        self.client.on("connect", lambda: self.log.record("connect", {}))
        self.client.on("disconnect", lambda *args: self.log.record("disconnect", {"args": args}))

    def _recorder(self, name: str) -> Callable[[Any], None]:
        return lambda payload=None: self.log.record(name, payload if payload is not None else {})

    def _answer_resync(self, payload: Any = None) -> None:
        self.log.record("resync", payload if payload is not None else {})
        self.client.emit("resync")

    def connect(self) -> Listener:
        self.client.connect(self.base_url, auth=self.auth, transports=["websocket"], wait_timeout=10)
        return self

    def close(self) -> None:
        with contextlib.suppress(Exception):  # teardown must not mask the test's outcome
            self.client.disconnect()


@pytest.fixture
def listeners() -> Iterator[Callable[..., Listener]]:
    """Connect listeners: ``listeners(base_url, auth, reconnection=False, answer_resync=False)``."""
    opened: list[Listener] = []

    def connect(base_url: str, auth: Any, reconnection: bool = False,
                answer_resync: bool = False) -> Listener:
        listener = Listener(base_url, auth, reconnection, answer_resync)
        opened.append(listener)
        return listener.connect()

    try:
        yield connect
    finally:
        for listener in opened:
            listener.close()


class Api:
    """The REST calls the tests make, each with a timeout."""

    def __init__(self, base_url: str, timeout: float = 10) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.http = requests.Session()

    def request(self, method: str, path: str, key: str | None = None, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        kw.setdefault("timeout", self.timeout)
        return self.http.request(method, self.base_url + path, headers=headers, **kw)

    def token(self, username: str, password: str = PASSWORD) -> str:
        res = self.request("POST", "/api/v1/auth/token", json={"username": username, "password": password})
        assert res.status_code == 201, res.text
        return str(res.json()["token"])

    def service_id(self, agency: str, code: str) -> int:
        res = self.request("GET", "/api/v1/agencies")
        assert res.status_code == 200, res.text
        for a in res.json()["agencies"]:
            for s in a["services"]:
                if a["code"] == agency and s["code"] == code:
                    return int(s["id"])
        raise AssertionError(f"no service {agency}/{code}")

    def counter_id(self, token: str, code: str) -> int:
        res = self.request("GET", "/api/v1/counters", token)
        assert res.status_code == 200, res.text
        return next(int(c["id"]) for c in res.json()["counters"] if c["code"] == code)

    def issue(self, service: int) -> dict[str, Any]:
        res = self.request("POST", "/api/v1/tickets", KIOSK_KEY, json={"service_id": service})
        assert res.status_code == 201, res.text
        return dict(res.json())

    def open_and_call(self, token: str, counter: int) -> dict[str, Any]:
        res = self.request("POST", f"/api/v1/counters/{counter}/open", token)
        assert res.status_code == 200, res.text
        return self.call_next(token, counter)

    def call_next(self, token: str, counter: int) -> dict[str, Any]:
        res = self.request("POST", f"/api/v1/counters/{counter}/call-next", token)
        assert res.status_code == 200, res.text
        body = dict(res.json())
        assert body["ticket"] is not None, body
        return body


def numbered(number: str) -> Callable[[Any], bool]:
    return lambda p: isinstance(p, dict) and p.get("number") == number


def display_hears_a_call(listeners: Callable[..., Listener], base_url: str) -> None:
    """A display connected over WebSocket to ``base_url`` gets its (empty) snapshot,
    then the call a counter makes through the API: the server's realtime path works."""
    display = listeners(base_url, {"key": DISPLAY_KEY})
    assert display.client.transport() == "websocket"
    assert display.log.expect("snapshot")["calls"] == []
    api = Api(base_url)
    ticket = api.issue(api.service_id("DUKCAPIL", "KTP"))
    officer = api.token("dukcapil1")
    api.open_and_call(officer, api.counter_id(officer, "DUK-1"))
    assert display.log.expect("ticket.called", numbered(ticket["number"]))["counter"]["number"] == 1


def always_open_config(directory: Path) -> Path:
    """The small test site with SAMSAT's office hours removed (the live server
    runs on the real clock, so a scheduled agency may be closed right now)."""
    text = SMALL_CONFIG.read_text()
    changed = text.replace('schedule = "kantor"\n', "")
    assert changed != text, "small_config.toml no longer gives SAMSAT a schedule line"
    path = directory / "always_open.toml"
    path.write_text(changed)
    return path


def wait_until(check: Callable[[], Any], timeout: float = EVENT_TIMEOUT, what: str = "condition",
               every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy (returned), else fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def wait_past_jakarta_midnight(margin: float = 45) -> None:
    """Tickets belong to the local day: do not issue at 23:59:50 and call at 00:00:01."""
    now = dt.datetime.now(JAKARTA)
    left = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
    if left < margin:
        time.sleep(left + 2)
