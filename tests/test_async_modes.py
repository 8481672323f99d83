"""The server in each async mode (ANTRIAN_ASYNC_MODE): eventlet, gevent, threading.

A real ``antrian serve`` per mode, a real Socket.IO display over websocket,
calls through the REST API. On PostgreSQL the green modes must not let a
waiting query stop the event loop (psycogreen's wait callback): a row lock
held by the test makes one request wait in PostgreSQL while other requests
and a display's connection are still answered.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import requests
from conftest import DISPLAY_KEY, KIOSK_KEY, postgres_url, reset_postgres
from live_server import LiveServer, live_server_factory  # noqa: F401
from realtime_client import (  # noqa: F401
    Api,
    display_hears_a_call,
    listeners,
    numbered,
    wait_past_jakarta_midnight,
    wait_until,
)
from sqlalchemy import create_engine, text

MODES = ("eventlet", "gevent", "threading")
LOCK_WAIT_TIMEOUT = 10.0


@pytest.fixture(autouse=True)
def _not_at_jakarta_midnight() -> None:
    wait_past_jakarta_midnight()


def _server_pid(server: LiveServer) -> int:
    assert server._process is not None
    return server._process.pid


def _os_threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _gevent_loaded(pid: int) -> bool:
    """gevent's compiled modules are mapped into the process (eventlet has none)."""
    return any("/gevent/" in line for line in Path(f"/proc/{pid}/maps").read_text().splitlines())


@pytest.mark.parametrize("mode", MODES)
def test_display_hears_a_call_in_each_async_mode(mode, live_server_factory, listeners) -> None:  # noqa: F811
    server = live_server_factory(mode, env={"ANTRIAN_ASYNC_MODE": mode})
    display_hears_a_call(listeners, server.base_url)

    # The process really runs that mode: the green modes serve the background
    # loops and the open websocket on one OS thread, threading gives each its own.
    pid = _server_pid(server)
    assert _gevent_loaded(pid) == (mode == "gevent")
    if mode == "eventlet":
        assert _os_threads(pid) == 1
    if mode == "threading":
        assert _os_threads(pid) >= 3


def _lock_waiters(engine) -> int:  # type: ignore[no-untyped-def]
    """Backends of this database waiting on a lock (the server's issuing request)."""
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'")).scalar_one())


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ("eventlet", "gevent"))
def test_a_query_waiting_in_postgres_does_not_block_the_server(mode, live_server_factory, listeners) -> None:  # noqa: F811
    url = postgres_url()
    reset_postgres(url)
    server = live_server_factory(f"pg-{mode}", env={"DATABASE_URL": url, "ANTRIAN_ASYNC_MODE": mode})
    api = Api(server.base_url)
    service = api.service_id("DUKCAPIL", "KTP")
    engine = create_engine(url)
    outcome: dict[str, requests.Response | BaseException] = {}

    def issue() -> None:
        try:
            outcome["response"] = requests.post(
                server.url("/api/v1/tickets"), json={"service_id": service},
                headers={"Authorization": f"Bearer {KIOSK_KEY}"}, timeout=30)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            outcome["response"] = exc

    holder = engine.connect()
    try:
        # Issuing locks the service row (SELECT ... FOR UPDATE): hold it first.
        holder.execute(text("SELECT id FROM services WHERE id = :id FOR UPDATE"), {"id": service})
        issuing = threading.Thread(target=issue, daemon=True)
        issuing.start()
        wait_until(lambda: _lock_waiters(engine), LOCK_WAIT_TIMEOUT, "a request waiting on the row lock")

        # The issuing request now sits in PostgreSQL; the server still answers.
        health = requests.get(server.url("/api/v1/health"), timeout=5)
        assert health.status_code == 200 and health.json()["database"]["ok"] is True
        display = listeners(server.base_url, {"key": DISPLAY_KEY})
        assert display.log.expect("snapshot", timeout=5)["role"] == "display"
        assert issuing.is_alive() and "response" not in outcome  # still waiting on the lock
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    issuing.join(30)
    response = outcome.get("response")
    assert isinstance(response, requests.Response), response
    assert response.status_code == 201, response.text
    assert response.json()["number"] == "A001"
