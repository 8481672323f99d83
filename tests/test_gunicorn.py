"""The production command: gunicorn with queue_server.gunicorn_conf and queue_server.wsgi.

Real gunicorn processes (master and workers), real Socket.IO clients over
websocket, actions through the REST API. With two workers, the test finds out
which worker holds each TCP connection (from /proc), so "a call made on one
worker reaches a display on the other" is checked, not hoped for.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import (
    DISPLAY_KEY,
    KIOSK_KEY,
    check_redis,
    config_with_kiosk_printer,
    postgres_url,
    redis_url,
    reset_postgres,
)
from live_server import GUNICORN_COMMAND as COMMAND
from live_server import GunicornServer, server_factory
from realtime_client import (  # noqa: F401
    Api,
    display_hears_a_call,
    listeners,
    numbered,
    wait_past_jakarta_midnight,
    wait_until,
)
from sqlalchemy import create_engine, text
from test_async_modes import _gevent_loaded
from test_printing import big_number


@pytest.fixture
def gunicorn_factory(tmp_path: Path) -> Iterator[Callable[..., GunicornServer]]:
    yield from server_factory(tmp_path, GunicornServer, "gunicorn")


@pytest.fixture(autouse=True)
def _not_at_jakarta_midnight() -> None:
    wait_past_jakarta_midnight()


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(int(target[len("socket:["):-1]))
    return inodes


def _server_side_inode(server_port: int, client_port: int) -> int:
    """The inode of the server's end of the TCP connection from ``client_port`` (0: not accepted yet)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return int(fields[9])
    return 0


def worker_of(server: GunicornServer, client_port: int) -> int | None:
    """The worker that accepted the connection from ``client_port``, once one has."""
    inode = _server_side_inode(server.port, client_port)
    if not inode:
        return None
    for pid in server.workers():
        with contextlib.suppress(OSError):
            if inode in _socket_inodes(pid):
                return pid
    return None


def connection_on_another_worker(server: GunicornServer,
                                 avoid: int) -> tuple[http.client.HTTPConnection, int]:
    """A keep-alive HTTP connection that a worker other than ``avoid`` accepted."""
    for _ in range(50):
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        conn.connect()
        port = conn.sock.getsockname()[1]
        pid = wait_until(lambda port=port: worker_of(server, port), 5, "a worker to accept")
        if pid != avoid:
            return conn, pid
        conn.close()
    raise AssertionError(f"50 connections in a row went to worker {avoid}")


def _post(conn: http.client.HTTPConnection, path: str, token: str) -> dict[str, Any]:
    conn.request("POST", path, headers={"Authorization": f"Bearer {token}", "Content-Length": "0"})
    res = conn.getresponse()
    body = res.read()
    assert res.status == 200, body
    return dict(json.loads(body))


# -- tests -------------------------------------------------------------------


@pytest.mark.parametrize("mode", [None, "threading"], ids=["default", "threading"])
def test_gunicorn_serves_http_and_socketio(mode, gunicorn_factory, listeners) -> None:  # noqa: F811
    server = gunicorn_factory(mode=mode)
    health = requests.get(server.url("/api/v1/health"), timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    [worker] = server.workers()
    # The default worker is gevent's; threading runs on gunicorn's gthread worker.
    assert _gevent_loaded(worker) == (mode is None)
    assert ("Using worker: gevent" in server.log_text()) == (mode is None)

    display_hears_a_call(listeners, server.base_url)


def test_gunicorn_refuses_settings_that_cannot_work(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCKETIO_MESSAGE_QUEUE", "ANTRIAN_ASYNC_MODE")}
    env.update(PORT="1", DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}")
    cases = [
        ({"ANTRIAN_WORKERS": "2"}, "needs SOCKETIO_MESSAGE_QUEUE"),
        ({"ANTRIAN_ASYNC_MODE": "eventlet"}, "no eventlet worker"),
        ({"ANTRIAN_ASYNC_MODE": "asyncio"}, "ANTRIAN_ASYNC_MODE must be one of"),
    ]
    for extra, message in cases:
        done = subprocess.run(COMMAND, env={**env, **extra}, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, check=False)
        assert done.returncode != 0, (extra, done.stderr)
        assert message in done.stderr, (extra, done.stderr)
    assert not (tmp_path / "none.db").exists()  # refused before any worker touched the database


@pytest.mark.postgres
@pytest.mark.redis
def test_two_workers_share_calls_and_print_each_ticket_once(gunicorn_factory, listeners, tmp_path,  # noqa: F811
                                                            fake_printer) -> None:
    queue = redis_url()
    check_redis(queue)
    database = postgres_url()
    reset_postgres(database)
    server = gunicorn_factory(
        workers=2, config=config_with_kiosk_printer(tmp_path, fake_printer.url),
        env={"DATABASE_URL": database, "SOCKETIO_MESSAGE_QUEUE": queue, "ANTRIAN_RATELIMIT_ENABLED": "0"})
    assert wait_until(lambda: len(server.workers()) == 2, 10, "two workers")

    # A display on one worker...
    display = listeners(server.base_url, {"key": DISPLAY_KEY})
    assert display.log.expect("snapshot")["calls"] == []
    display_port = display.client.eio.ws.sock.getsockname()[1]
    display_worker = wait_until(lambda: worker_of(server, display_port), 5, "the display's worker")

    # ... tickets issued on fresh connections (both workers issue, both print loops run) ...
    api = Api(server.base_url)
    service = api.service_id("DUKCAPIL", "KTP")
    issued = []
    for _ in range(16):
        res = requests.post(server.url("/api/v1/tickets"), json={"service_id": service},
                            headers={"Authorization": f"Bearer {KIOSK_KEY}"}, timeout=10)
        assert res.status_code == 201, res.text
        issued.append(res.json()["number"])

    # ... and the call made on the other worker.
    officer = api.token("dukcapil1")
    counter = api.counter_id(officer, "DUK-1")
    assert api.request("POST", f"/api/v1/counters/{counter}/open", officer).status_code == 200
    conn, caller_worker = connection_on_another_worker(server, display_worker)
    with contextlib.closing(conn):
        called = _post(conn, f"/api/v1/counters/{counter}/call-next", officer)
    assert caller_worker != display_worker
    assert called["ticket"]["number"] == "A001"
    call = display.log.expect("ticket.called", numbered("A001"))
    assert call["counter"]["number"] == 1

    # Each ticket came out of the printer exactly once, after one attempt.
    papers = fake_printer.wait_for_jobs(len(issued), timeout=30)
    assert sorted(big_number(p) for p in papers) == sorted(issued)
    engine = create_engine(database)
    try:
        with engine.connect() as db:
            jobs = db.execute(text("SELECT status, attempts FROM print_jobs")).all()
    finally:
        engine.dispose()
    assert sorted(jobs) == [("printed", 1)] * len(issued)
