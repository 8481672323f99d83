"""The async modes side by side: issuing throughput and call-to-display latency.

Usage::

    .venv/bin/python bench/async_modes_bench.py                     # every server below
    .venv/bin/python bench/async_modes_bench.py --clients 20 --displays 100 --calls 30

For each way of serving (eventlet and gevent under ``antrian serve``, gevent
and threading under gunicorn with queue_server.gunicorn_conf, one process
each, SQLite, rate limits off) on a fresh copy of the small test site:

* issue: ``--clients`` threads POST /api/v1/tickets for ``--seconds``;
  tickets per second and the request time p50/p99;
* call: ``--displays`` Socket.IO clients (websocket) connected as the hall
  display, an officer calls ``--calls`` tickets one after another; the time
  from sending call-next to each display receiving ``ticket.called``, p50/p99
  over every display and call, and how many of those events arrived.

The clients run on the same machine as the server, so they share its cores:
compare the rows with each other, not with another machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONFIG = ROOT / "tests" / "small_config.toml"  # DUKCAPIL has no opening hours: it issues at any time
KIOSK_KEY = "test-kiosk-key-0001"
DISPLAY_KEY = "test-display-key-0001"
OFFICER = ("dukcapil1", "petugas-demo")
GUNICORN = [str(BIN / "gunicorn"), "-c", "python:queue_server.gunicorn_conf", "queue_server.wsgi:app"]
SERVE = [str(BIN / "antrian"), "serve"]


@dataclass(frozen=True)
class Setup:
    mode: str
    server: str
    command: list[str]


SETUPS = [
    Setup("eventlet", "antrian serve", SERVE),
    Setup("gevent", "antrian serve", SERVE),
    Setup("gevent", "gunicorn -k gevent", GUNICORN),
    Setup("threading", "gunicorn -k gthread", GUNICORN),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.contextmanager
def running(setup: Setup, template: Path, workdir: Path) -> Iterator[str]:
    """A server of ``setup`` on a copy of the initialised database; yields its base URL."""
    directory = Path(tempfile.mkdtemp(dir=workdir))
    shutil.copyfile(template, directory / "antrian.db")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{directory / 'antrian.db'}",
           "ANTRIAN_ASYNC_MODE": setup.mode, "ANTRIAN_SECRET_KEY": "bench", "HOST": "127.0.0.1",
           "PORT": str(port), "ANTRIAN_RATELIMIT_ENABLED": "0", "ANTRIAN_THREADS": "300"}
    env.pop("SOCKETIO_MESSAGE_QUEUE", None)
    log = (directory / "server.log").open("wb")
    process = subprocess.Popen(setup.command, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{setup.mode}/{setup.server} did not start; see {directory}/server.log")
            time.sleep(0.2)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def service_id(base: str) -> int:
    agencies = requests.get(base + "/api/v1/agencies", timeout=10).json()["agencies"]
    return next(s["id"] for a in agencies if a["code"] == "DUKCAPIL" for s in a["services"]
                if s["code"] == "KTP")


def issue_load(base: str, service: int, clients: int, seconds: float) -> tuple[int, list[float], int]:
    """Tickets issued, request times (s) and failures with ``clients`` threads for ``seconds``."""
    times: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        http = requests.Session()
        headers = {"Authorization": f"Bearer {KIOSK_KEY}"}
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                ok = http.post(base + "/api/v1/tickets", json={"service_id": service}, headers=headers,
                               timeout=30).status_code == 201
            except requests.RequestException:
                ok = False
            with lock:
                if ok:
                    times.append(time.perf_counter() - started)
                else:
                    failures[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(times), times, failures[0]


class Display:
    """A Socket.IO client recording when each called number arrived."""

    def __init__(self, base: str) -> None:
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        self.dropped = False
        self.client = socketio.Client(reconnection=False, request_timeout=30)
        self.client.on("snapshot", lambda _data: self.ready.set())
        self.client.on("disconnect", self._dropped)
        self.client.on("ticket.called", self._called)
        self.client.connect(base, auth={"key": DISPLAY_KEY}, transports=["websocket"], wait_timeout=30)

    def _dropped(self, *_reason: object) -> None:
        self.dropped = True

    def _called(self, data: dict) -> None:  # type: ignore[type-arg]
        self.arrived.setdefault(data["number"], time.perf_counter())


def call_latency(base: str, displays: int, calls: int) -> tuple[list[float], int, int, int]:
    """Call-to-event times (s) over every display and call; events received; expected;
    displays the server dropped (they do not reconnect here, so their events go missing)."""
    screens = [Display(base) for _ in range(displays)]
    try:
        for screen in screens:
            if not screen.ready.wait(30):
                raise SystemExit("a display got no snapshot within 30 s")
        http = requests.Session()
        login = {"username": OFFICER[0], "password": OFFICER[1]}
        token = http.post(base + "/api/v1/auth/token", json=login, timeout=30).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        counters = http.get(base + "/api/v1/counters", headers=auth, timeout=30).json()["counters"]
        counter = next(c["id"] for c in counters if c["code"] == "DUK-1")
        http.post(f"{base}/api/v1/counters/{counter}/open", headers=auth, timeout=30).raise_for_status()
        sent: dict[str, float] = {}
        for n in range(calls):
            if n:
                done = http.post(f"{base}/api/v1/counters/{counter}/finish", headers=auth, timeout=30)
                done.raise_for_status()
            started = time.perf_counter()
            res = http.post(f"{base}/api/v1/counters/{counter}/call-next", headers=auth, timeout=30)
            res.raise_for_status()
            number = res.json()["ticket"]["number"]
            sent[number] = started
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(number in s.arrived or s.dropped
                                                          for s in screens):
                time.sleep(0.005)
        latencies = [s.arrived[number] - at for number, at in sent.items() for s in screens
                     if number in s.arrived]
        return latencies, len(latencies), len(sent) * len(screens), sum(s.dropped for s in screens)
    finally:
        # In parallel: a server that never completes the close handshake (gevent's
        # pywsgi under `antrian serve`) would otherwise cost a timeout per display.
        closing = [threading.Thread(target=_close, args=(s,), daemon=True) for s in screens]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join(15)


def _close(screen: Display) -> None:
    with contextlib.suppress(Exception):
        screen.client.disconnect()


def initialise(workdir: Path) -> Path:
    template = workdir / "template.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{template}", "ANTRIAN_SECRET_KEY": "bench"}
    subprocess.run([str(BIN / "antrian"), "init", "--config", str(CONFIG)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20, help="concurrent issuing clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="issuing time per server")
    parser.add_argument("--displays", type=int, default=100, help="connected Socket.IO displays")
    parser.add_argument("--calls", type=int, default=30, help="calls made while they listen")
    parser.add_argument("--only", default="", help="run only the setups whose 'mode/server' contains this")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="antrian-bench-") as tmp:
        workdir = Path(tmp)
        template = initialise(workdir)
        print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} at start; "
              f"{args.clients} issuing clients for {args.seconds:.0f} s; "
              f"{args.displays} displays x {args.calls} calls\n")
        print("| mode | server | tickets/s | issue p50 ms | issue p99 ms | failed "
              "| call->display p50 ms | p99 ms | events | dropped displays |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for setup in SETUPS:
            if args.only not in f"{setup.mode}/{setup.server}":
                continue
            with running(setup, template, workdir) as base:
                service = service_id(base)
                issued, times, failed = issue_load(base, service, args.clients, args.seconds)
                latencies, received, expected, dropped = call_latency(base, args.displays, args.calls)
            print(f"| {setup.mode} | {setup.server} | {issued / args.seconds:.0f} "
                  f"| {statistics.median(times) * 1000:.0f} | {percentile(times, 0.99) * 1000:.0f} "
                  f"| {failed} | {percentile(latencies, 0.5) * 1000:.0f} "
                  f"| {percentile(latencies, 0.99) * 1000:.0f} | {received}/{expected} | {dropped} |",
                  flush=True)


if __name__ == "__main__":
    main()
