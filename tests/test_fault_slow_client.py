"""A display that stops reading, and one that vanishes without closing, never slow the others down.

Against a real ``antrian serve`` (eventlet): healthy python-socketio displays,
one raw websocket display that asks for snapshot after snapshot and never reads
them (until the TCP window to it is shut and the server's send buffer for it is
full), and one display client in a child process that is SIGSTOPped (its
connection stays open, nothing is read or answered, as with a frozen TV).
A counter then calls ticket after ticket: every call still answers promptly and
reaches every healthy display promptly.

Why it holds: python-engineio gives each connection its own outgoing queue and
writer (a green thread under eventlet), so an emit only enqueues; a writer
blocked on a full socket blocks nobody else. A client that never answers the
server's pings is dropped after ping_interval + ping_timeout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket
from conftest import DISPLAY_KEY
from live_server import LiveServer, live_server_factory  # noqa: F401
from realtime_client import (  # noqa: F401  (listeners: a fixture)
    Api,
    listeners,
    numbered,
    wait_past_jakarta_midnight,
    wait_until,
)

HEALTHY = 6
CALLS = 20
PROMPT = 2.0  # seconds: generous for a loaded CI machine; a blocked server would take far longer
RESYNCS = 150  # snapshots asked for by the stuck display: far more than its buffers take

FROZEN_DISPLAY = """
import sys, threading, socketio
client = socketio.Client(reconnection=False)
client.on("snapshot", lambda data: print("ready", flush=True))
client.connect(sys.argv[1], auth={"key": sys.argv[2]}, transports=["websocket"], wait_timeout=10)
threading.Event().wait()
"""


@pytest.fixture(autouse=True)
def _not_at_jakarta_midnight() -> None:
    wait_past_jakarta_midnight()


def send_queue(server_port: int, client_port: int) -> int | None:
    """Bytes the server has written to this connection that the client has not taken (Linux)."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        if int(local, 16) == server_port and int(remote, 16) == client_port:
            return int(fields[4].split(":")[0], 16)
    return None


@pytest.fixture
def stuck_display(live_server_factory) -> Iterator[tuple[LiveServer, websocket.WebSocket]]:  # noqa: F811
    """A server, and a raw Socket.IO display on it that stops reading with its buffers full."""
    server = live_server_factory("slow", env={"ANTRIAN_RATELIMIT_ENABLED": "0"})
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", timeout=10,
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))  # a small window fills fast
    try:
        assert ws.recv().startswith("0{")  # Engine.IO open
        ws.send("40" + json.dumps({"key": DISPLAY_KEY}))  # Socket.IO connect as TV-1
        connected = [ws.recv(), ws.recv()]
        assert any(m.startswith("40{") for m in connected), connected
        for _ in range(RESYNCS):
            ws.send('42["resync"]')  # each answered with a full snapshot it never reads
        yield server, ws
    finally:
        ws.shutdown()


@pytest.fixture
def frozen_display(stuck_display) -> Iterator[subprocess.Popen[str]]:
    """A display client in its own process, stopped with SIGSTOP after its snapshot."""
    server, _ = stuck_display
    process = subprocess.Popen([sys.executable, "-c", FROZEN_DISPLAY, server.base_url, DISPLAY_KEY],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        os.kill(process.pid, signal.SIGSTOP)
        yield process
    finally:
        process.kill()  # SIGKILL ends a stopped process too
        process.wait(10)


def test_a_stuck_and_a_frozen_display_do_not_delay_calls_to_the_others(
        stuck_display, frozen_display, listeners) -> None:  # noqa: F811
    server, ws = stuck_display
    stuck_port = ws.sock.getsockname()[1]
    if send_queue(server.port, stuck_port) is not None:
        # The stuck display's connection really is full: the server holds bytes it cannot send.
        wait_until(lambda: (send_queue(server.port, stuck_port) or 0) > 0, timeout=30,
                   what="the server's send buffer to the stuck display to fill")
    healthy = [listeners(server.base_url, {"key": DISPLAY_KEY}) for _ in range(HEALTHY)]
    for display in healthy:
        display.log.expect("snapshot")

    api = Api(server.base_url)
    ktp = api.service_id("DUKCAPIL", "KTP")
    numbers = [api.issue(ktp)["number"] for _ in range(CALLS)]
    officer = api.token("dukcapil1")
    loket1 = api.counter_id(officer, "DUK-1")
    assert api.request("POST", f"/api/v1/counters/{loket1}/open", officer).status_code == 200

    answer_times, delivery_times = [], []
    for number in numbers:
        started = time.monotonic()
        called = api.call_next(officer, loket1)
        answer_times.append(time.monotonic() - started)
        assert called["ticket"]["number"] == number
        for display in healthy:
            display.log.expect("ticket.called", numbered(number), timeout=PROMPT + 5)
            delivery_times.append(display.log.arrivals("ticket.called", numbered(number))[0] - started)
        assert api.request("POST", f"/api/v1/counters/{loket1}/finish", officer).status_code == 200

    assert max(answer_times) < PROMPT, answer_times
    assert max(delivery_times) < PROMPT, sorted(delivery_times)[-5:]
    assert frozen_display.poll() is None  # still there, still silent: nothing was waiting for it
    if send_queue(server.port, stuck_port) is not None:
        assert (send_queue(server.port, stuck_port) or 0) > 0  # and the stuck one never caught up
