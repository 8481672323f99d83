"""Redis (the Socket.IO message queue) goes down under two server processes and comes back.

Two ``antrian serve`` processes share PostgreSQL and a private ``redis-server``
started on a free port for this module (the machine's shared Redis is never
stopped), on a channel of their own. While Redis is down, issuing and calling
through either process keep answering at once, each process's own clients
still get its events, ``/api/v1/health`` answers 503 naming the message
queue, and each server log says so once. When Redis is back, every client is
told to ``resync`` and its fresh snapshot holds what it missed; events flow
between the processes again.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from conftest import DISPLAY_KEY, postgres_url, reset_postgres, unavailable
from live_server import LiveServer, free_port, live_server_factory  # noqa: F401
from realtime_client import (  # noqa: F401  (listeners: a fixture)
    Api,
    listeners,
    numbered,
    wait_past_jakarta_midnight,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
QUICK = 3.0  # seconds: an API request during the outage must answer well within this
RECOVERY = 20.0  # seconds for the processes to notice Redis is back and resync clients
DOWN_LINE = "is unreachable"
BACK_LINE = "is reachable again"


class PrivateRedis:
    """A throw-away redis-server on 127.0.0.1 that a test may kill and start again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_until(lambda: self._pings(client), timeout=10, what=f"redis-server on port {self.port}")
        return self

    def _pings(self, client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            assert self.process is not None and self.process.poll() is None, "redis-server exited"
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if not Path(REDIS_SERVER).exists():
        unavailable("Redis", f"{REDIS_SERVER} not installed")
    server = PrivateRedis(tmp_path)
    try:
        yield server.start()
    finally:
        server.kill()


@pytest.fixture(autouse=True)
def _not_at_jakarta_midnight() -> None:
    wait_past_jakarta_midnight()


def timed(api: Api, method: str, path: str, key: str | None = None, **kw: Any) -> requests.Response:
    """One API request that must succeed and must not hang."""
    started = time.monotonic()
    res = api.request(method, path, key, **kw)
    took = time.monotonic() - started
    assert res.status_code < 300, (method, path, res.status_code, res.text)
    assert took < QUICK, f"{method} {path} took {took:.1f} s while Redis was down"
    return res


def health(server: LiveServer) -> tuple[int, dict[str, Any]]:
    res = requests.get(server.url("/api/v1/health"), timeout=5)
    return res.status_code, res.json()


def log_count(server: LiveServer, text: str) -> int:
    return sum(text in line for line in server.log_text().splitlines())


def test_redis_outage_keeps_the_counters_working_and_clients_resync(
        live_server_factory, listeners, private_redis) -> None:  # noqa: F811
    database = postgres_url()
    reset_postgres(database)
    env = {"DATABASE_URL": database, "SOCKETIO_MESSAGE_QUEUE": private_redis.url,
           "ANTRIAN_SOCKETIO_CHANNEL": f"antrian-fault-{uuid.uuid4().hex[:12]}"}
    server_a = live_server_factory("a", env=env)
    server_b = live_server_factory("b", env=env, init=False)
    api_a, api_b = Api(server_a.base_url, timeout=QUICK + 2), Api(server_b.base_url, timeout=QUICK + 2)
    display_a = listeners(server_a.base_url, {"key": DISPLAY_KEY}, answer_resync=True)
    display_b = listeners(server_b.base_url, {"key": DISPLAY_KEY}, answer_resync=True)
    assert display_b.log.expect("snapshot")["calls"] == []
    display_a.log.expect("snapshot")

    ktp = api_a.service_id("DUKCAPIL", "KTP")
    officer1, officer2 = api_a.token("dukcapil1"), api_b.token("dukcapil2")
    loket1, loket2 = api_a.counter_id(officer1, "DUK-1"), api_b.counter_id(officer2, "DUK-2")
    for api, officer, counter in ((api_a, officer1, loket1), (api_b, officer2, loket2)):
        assert api.request("POST", f"/api/v1/counters/{counter}/open", officer).status_code == 200
    tickets = [api_a.issue(ktp)["number"] for _ in range(5)]
    assert tickets == ["A001", "A002", "A003", "A004", "A005"]

    # Redis up: a call made through A reaches B's display.
    assert api_a.call_next(officer1, loket1)["ticket"]["number"] == "A001"
    display_b.log.expect("ticket.called", numbered("A001"))

    private_redis.kill()

    # Issuing and calling through both processes go on, quickly.
    issued = [timed(api, "POST", "/api/v1/tickets", "test-kiosk-key-0001", json={"service_id": ktp})
              .json()["number"] for api in (api_a, api_b, api_a)]
    assert issued == ["A006", "A007", "A008"]
    timed(api_a, "POST", f"/api/v1/counters/{loket1}/finish", officer1)
    called_a = timed(api_a, "POST", f"/api/v1/counters/{loket1}/call-next", officer1).json()
    called_b = timed(api_b, "POST", f"/api/v1/counters/{loket2}/call-next", officer2).json()
    assert (called_a["ticket"]["number"], called_b["ticket"]["number"]) == ("A002", "A003")
    # Each process's own clients still hear its calls at once ...
    display_a.log.expect("ticket.called", numbered("A002"))
    display_b.log.expect("ticket.called", numbered("A003"))
    # ... but not the other process's: those wait for the resync below.
    assert display_b.log.wait_for("ticket.called", numbered("A002"), timeout=1) is None

    # Both processes say what is wrong: health names the message queue, the log says it once.
    for server in (server_a, server_b):
        status, body = wait_until(lambda s=server: (h := health(s))[0] == 503 and h, timeout=5,
                                  what=f"{server.base_url} health to turn 503")
        assert body["status"] == "degraded" and body["problems"] == ["message_queue"]
        assert body["database"]["ok"] is True
        queue = body["message_queue"]
        assert (queue["ok"], queue["mode"], queue["error"]) == (False, "redis", "redis_unreachable")
        assert queue["url"] == private_redis.url
    wait_until(lambda: all(log_count(s, DOWN_LINE) for s in (server_a, server_b)), timeout=5,
               what="the outage line in both logs")
    for _ in range(3):  # more events while down: still no flood in the log
        timed(api_b, "POST", "/api/v1/tickets", "test-kiosk-key-0001", json={"service_id": ktp})
    assert [log_count(s, DOWN_LINE) for s in (server_a, server_b)] == [1, 1], server_a.log()
    assert "Cannot publish to redis" not in server_a.log_text() + server_b.log_text()

    private_redis.start()  # the same port, empty: nothing was kept in Redis

    # Every client is asked to resync and its snapshot has what it missed.
    display_b.log.expect("resync", timeout=RECOVERY)
    fresh = display_b.log.expect("snapshot", lambda s: "A002" in [c["number"] for c in s["calls"]],
                                 timeout=RECOVERY)
    assert {c["number"]: c["counter"]["number"] for c in fresh["calls"]} == {"A001": 1, "A002": 1, "A003": 2}
    assert fresh["waiting"] == {"1": 8}  # A004..A011 wait for DUKCAPIL (agency 1)
    display_a.log.expect("resync", timeout=RECOVERY)
    for server in (server_a, server_b):
        wait_until(lambda s=server: health(s)[0] == 200, timeout=RECOVERY,
                   what=f"{server.base_url} healthy")
        assert log_count(server, BACK_LINE) == 1, server.log()

    # Events flow between the processes again.
    timed(api_b, "POST", f"/api/v1/counters/{loket2}/finish", officer2)
    assert api_b.call_next(officer2, loket2)["ticket"]["number"] == "A004"
    display_a.log.expect("ticket.called", numbered("A004"))
    display_b.log.expect("ticket.called", numbered("A004"))
