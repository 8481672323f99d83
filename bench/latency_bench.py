"""Call-to-display latency: from a counter's API call to the event at every connected client.

Usage::

    .venv/bin/python bench/latency_bench.py                     # SQLite, one process only
    .venv/bin/python bench/latency_bench.py --postgres postgresql://127.0.0.1:5432/test \\
        --redis redis://127.0.0.1:6379/0                       # + two processes sharing them
    .venv/bin/python bench/latency_bench.py --clients 200 --calls 100   # one size, more calls

For each setup (one ``antrian serve`` process on SQLite; with --postgres and
--redis also two processes on PostgreSQL with Redis as the Socket.IO message
queue) and each number of clients (--clients, default 50, 200 and 1,000):

* the clients connect over WebSocket: half (--visitors) are visitor status
  pages following a waiting ticket of the DUKCAPIL service being called
  (each call moves them all up one place: the worst case, since only the
  called line's visitors hear of a call), the rest hall displays. With
  two processes they are split evenly between them; the counter's calls go to
  the first, so half the clients get their events through Redis;
* an officer at DUKCAPIL's first counter finishes the current ticket and calls
  the next one, --calls times. Latency is the time from just before sending
  ``call-next`` to a display receiving ``ticket.called`` for that number, or a
  visitor page receiving ``queue.moved`` (its place changed). The next call
  comes once every client has its event, plus --gap seconds;
* like the real page, a visitor client reads its place from the line that
  ``queue.moved`` carries, and only when its ticket is not listed there (too
  far back) fetches ``GET /api/v1/tickets/<token>``, 0.5-3 s later
  (--no-refetch to never fetch). Before 2026-12-07 the page fetched after
  every ``queue.moved``; the "refetches" column of the tables measured then
  in docs/performance.md counts that load.

The clients are python-socketio AsyncClients in --client-processes processes
(default: one per 250 clients), so no thread per client. They run on the same
two cores as the server: the table shows the CPU both sides used; a client
process near 100 % would be the bottleneck, not the server. Rate limits stay
on but raised, since every client comes from 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
from common import (
    DISPLAY_KEY,
    OFFICER_PASSWORD,
    ProcessSampler,
    Servers,
    bench_config,
    keep_logs,
    kiosk_key,
    load,
    machine,
    ms,
    officer_name,
    percentile,
    rate_limit_env,
    serving,
    stop_on_sigterm,
    table,
)

AGENCY = "DUKCAPIL"
REFETCH_NOTE = {True: "read their place from queue.moved, refetch when not listed",
                False: "never refetch"}
KIOSKS = 20
EVENT_TIMEOUT = 15.0
PER_PROCESS = 250


# -- the client processes ---------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One client to open: a display (``token`` None) or a visitor following ``token``."""

    url: str
    token: str | None
    ticket_id: int | None = None  # the visitor's ticket, as queue.moved lists it


class Clients:
    """Runs in a child process: opens its clients, then answers the parent's commands."""

    def __init__(self, conn: Connection, specs: list[Spec], refetch: bool) -> None:
        self.conn, self.specs, self.refetch = conn, specs, refetch
        self.displays: list[dict[str, float]] = []  # per display: number -> arrival
        self.visitors: list[list[float]] = []  # per visitor: queue.moved arrivals
        self.sockets: list[Any] = []
        self.dropped = 0
        self.fetches = 0
        self.fetch_errors: dict[str, int] = {}
        self.arrived = asyncio.Event()
        self.timers: set[asyncio.TimerHandle] = set()  # refetches still to come
        self.fetching: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        import aiohttp

        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        try:
            failed = 0
            for start in range(0, len(self.specs), 25):
                results = await asyncio.gather(*(self.open(s) for s in self.specs[start:start + 25]),
                                               return_exceptions=True)
                failed += sum(isinstance(r, BaseException) for r in results)
            self.conn.send(("ready", len(self.sockets), failed))
            loop = asyncio.get_running_loop()
            while True:
                command, *args = await loop.run_in_executor(None, self.conn.recv)
                if command == "start":
                    self.cpu = os.times()
                    self.conn.send(("started",))
                elif command == "wait":
                    self.conn.send(("done", await self.wait(*args)))
                elif command == "collect":
                    self.conn.send(("results", self.collect(*args)))
                elif command == "close":
                    for timer in self.timers:
                        timer.cancel()
                    await asyncio.gather(*self.fetching, return_exceptions=True)
                    await asyncio.gather(*(self.close(s) for s in self.sockets))
                    self.conn.send(("closed",))
                    return
        finally:
            await self.http.close()

    async def open(self, spec: Spec) -> None:
        import socketio

        client = socketio.AsyncClient(reconnection=False, request_timeout=30)
        ready = asyncio.Event()
        client.on("snapshot", lambda _data=None: ready.set())
        client.on("disconnect", self._dropped)
        if spec.token is None:
            arrivals: dict[str, float] = {}
            client.on("ticket.called", lambda call: self._called(arrivals, call))
            auth: dict[str, str] = {"key": DISPLAY_KEY}
        else:
            moved: list[float] = []
            pending: list[asyncio.TimerHandle | None] = [None]
            client.on("queue.moved", lambda line=None: self._moved(moved, pending, spec, line))
            auth = {"ticket": spec.token}
        await client.connect(spec.url, auth=auth, transports=["websocket"], wait_timeout=60)
        await asyncio.wait_for(ready.wait(), 60)
        self.sockets.append(client)
        if spec.token is None:
            self.displays.append(arrivals)
        else:
            self.visitors.append(moved)

    def _dropped(self, *_args: object) -> None:
        self.dropped += 1

    def _called(self, arrivals: dict[str, float], call: Any) -> None:
        arrivals.setdefault(call["number"], time.monotonic())
        self.arrived.set()

    def _moved(self, moved: list[float], pending: list[asyncio.TimerHandle | None], spec: Spec,
               line: Any) -> None:
        moved.append(time.monotonic())
        self.arrived.set()
        listed = isinstance(line, dict) and spec.ticket_id in (line.get("waiting") or [])
        if self.refetch and not listed and pending[0] is None:
            def fire() -> None:  # the page's scheduleFetch(500 + Math.random() * 2500)
                pending[0] = None
                self.timers.discard(timer)
                task = asyncio.ensure_future(self.fetch(spec))
                self.fetching.add(task)
                task.add_done_callback(self.fetching.discard)
            timer = asyncio.get_running_loop().call_later(0.5 + random.random() * 2.5, fire)
            pending[0] = timer
            self.timers.add(timer)

    async def fetch(self, spec: Spec) -> None:
        try:
            async with self.http.get(f"{spec.url}/api/v1/tickets/{spec.token}?lang=id") as res:
                await res.read()
                self.fetches += 1
                if res.status != 200:
                    self.failed(f"HTTP {res.status}")
        except Exception as exc:  # noqa: BLE001  (counted; a bench must not die on one failed fetch)
            self.failed(type(exc).__name__)

    def failed(self, why: str) -> None:
        self.fetch_errors[why] = self.fetch_errors.get(why, 0) + 1

    def _missing(self, since: float, number: str | None) -> int:
        missing = sum(1 for v in self.visitors if not v or v[-1] < since)
        if number is not None:
            missing += sum(1 for d in self.displays if number not in d)
        return missing

    async def wait(self, since: float, number: str | None, timeout: float) -> int:
        """Until every client has the event of the action sent at ``since``; how many did not."""
        deadline = time.monotonic() + timeout
        while (missing := self._missing(since, number)) and time.monotonic() < deadline:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), deadline - time.monotonic())
        return missing

    def collect(self, calls: list[tuple[float, str]]) -> dict[str, Any]:
        display, visitor = [], []
        for at, number in calls:
            display += [d[number] - at for d in self.displays if number in d]
            for moved in self.visitors:
                after = [t for t in moved if t >= at]
                if after:
                    visitor.append(after[0] - at)
        end = os.times()
        cpu = (end.user + end.system) - (self.cpu.user + self.cpu.system)
        return {"display": display, "visitor": visitor, "cpu": cpu, "wall": end.elapsed - self.cpu.elapsed,
                "dropped": self.dropped, "fetches": self.fetches, "fetch_errors": self.fetch_errors}

    async def close(self, client: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), 10)


def client_process(conn: Connection, specs: list[Spec], refetch: bool) -> None:
    asyncio.run(Clients(conn, specs, refetch).run())


class ClientPool:
    """The parent's handle on the client processes."""

    def __init__(self, specs: list[Spec], processes: int, refetch: bool) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        for n in range(processes):
            parent, child = context.Pipe()
            proc = context.Process(target=client_process, args=(child, specs[n::processes], refetch),
                                   daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def ask(self, *command: Any, timeout: float = 600) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        answers = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise SystemExit(f"a client process did not answer {command[0]!r} within {timeout:.0f} s")
            answers.append(pipe.recv())
        return answers

    def ready(self) -> tuple[int, int]:
        answers = []
        for pipe in self.pipes:
            if not pipe.poll(600):
                raise SystemExit("the clients did not connect within 600 s")
            answers.append(pipe.recv())
        return sum(a[1] for a in answers), sum(a[2] for a in answers)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("close", timeout=60)
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


# -- the counter ---------------------------------------------------------------------


class Counter:
    """The officer at the agency's first counter, over the REST API."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        login = {"username": officer_name(AGENCY, 1), "password": OFFICER_PASSWORD}
        res = self.http.post(base + "/api/v1/auth/token", json=login, timeout=60)
        res.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {res.json()['token']}"
        counters = self.http.get(base + "/api/v1/counters", timeout=60).json()["counters"]
        self.id = next(c["id"] for c in counters if c["code"] == f"{AGENCY}-1")

    def post(self, action: str) -> dict[str, Any]:
        res = self.http.post(f"{self.base}/api/v1/counters/{self.id}/{action}", timeout=60)
        if res.status_code != 200:
            raise SystemExit(f"{action}: HTTP {res.status_code} {res.text[:300]}")
        return dict(res.json())


def issue(base: str, service: int, count: int) -> list[tuple[str, int]]:
    """``count`` tickets from the 20 kiosks, in parallel; their tokens and ids."""
    lock = threading.Lock()
    tokens: list[tuple[str, int]] = []
    sessions = [requests.Session() for _ in range(KIOSKS)]
    for n, session in enumerate(sessions, start=1):
        session.headers["Authorization"] = f"Bearer {kiosk_key(n)}"

    def one(n: int) -> None:
        res = sessions[n % KIOSKS].post(base + "/api/v1/tickets", json={"service_id": service}, timeout=60)
        if res.status_code != 201:
            raise SystemExit(f"issuing: HTTP {res.status_code} {res.text[:300]}")
        with lock:
            tokens.append((res.json()["token"], res.json()["id"]))

    with ThreadPoolExecutor(KIOSKS) as pool:
        list(pool.map(one, range(count)))
    return tokens


def first_service(base: str) -> int:
    agencies = requests.get(base + "/api/v1/agencies", timeout=60).json()["agencies"]
    return next(s["id"] for a in agencies if a["code"] == AGENCY for s in a["services"] if s["active"])


# -- one measurement ---------------------------------------------------------------------


def measure(servers: Servers, counter: Counter, clients: int, args: argparse.Namespace) -> list[object]:
    service = first_service(servers.base_url)
    visitors = round(clients * args.visitors)
    # Calls take the oldest waiting tickets, so the visitors' own come after them: every
    # call moves every visitor one place up (only the called line's room hears queue.moved).
    issue(servers.base_url, service, args.calls)
    tokens = issue(servers.base_url, service, visitors)
    urls = [s.base_url for s in servers.servers]
    specs = [Spec(urls[n % len(urls)], *tokens[n]) if n < visitors else Spec(urls[n % len(urls)], None)
             for n in range(clients)]
    processes = args.client_processes or max(1, math.ceil(clients / PER_PROCESS))
    pool = ClientPool(specs, processes, args.refetch)
    try:
        began = time.monotonic()
        connected, failed = pool.ready()
        connect_seconds = time.monotonic() - began
        samplers = [ProcessSampler(servers.pid(n)) for n in range(len(servers.servers))]
        for sampler in samplers:
            sampler.__enter__()
        pool.ask("start")
        calls: list[tuple[float, str]] = []
        answered: list[float] = []  # how long call-next itself took
        for n in range(args.calls):
            if n:
                before = time.monotonic()
                counter.post("finish")
                pool.ask("wait", before, None, EVENT_TIMEOUT)  # the visitors' queue.moved of it
            at = time.monotonic()
            number = counter.post("call-next")["ticket"]["number"]
            answered.append(time.monotonic() - at)
            calls.append((at, number))
            pool.ask("wait", at, number, EVENT_TIMEOUT)
            time.sleep(args.gap)
        results = [a[1] for a in pool.ask("collect", calls)]
        for sampler in samplers:
            sampler.stop()
    finally:
        pool.close()
    counter.post("finish")
    display = [x for r in results for x in r["display"]]
    visitor = [x for r in results for x in r["visitor"]]
    both = display + visitor
    wall = max(r["wall"] for r in results)
    client_cpu = " + ".join(f"{100 * r['cpu'] / wall:.0f}" for r in results)
    server_cpu = " + ".join(f"{s.mean_cpu:.0f}" for s in samplers)
    fetches = sum(r["fetches"] for r in results)
    fetch_errors: dict[str, int] = {}
    for r in results:
        for why, n in r["fetch_errors"].items():
            fetch_errors[why] = fetch_errors.get(why, 0) + n
    failures = ", ".join(f"{n} {why}" for why, n in sorted(fetch_errors.items(), key=lambda x: -x[1]))
    expected = len(calls) * clients
    dropped = sum(r["dropped"] for r in results)
    return [servers.label, f"{clients} ({clients - visitors} + {visitors})", processes, len(calls),
            f"{connect_seconds:.0f}", ms(percentile(answered, 0.5)), ms(max(answered, default=float("nan"))),
            ms(percentile(display, 0.5)),
            ms(percentile(display, 0.99)),
            ms(percentile(visitor, 0.5)), ms(percentile(visitor, 0.99)), ms(percentile(both, 0.5)),
            ms(percentile(both, 0.99)), ms(max(both, default=float("nan"))),
            f"{len(both):,}/{expected:,}" + (f" ({failed} not connected)" if failed else "")
            + (f" ({dropped} dropped)" if dropped else ""),
            f"{fetches:,}" + (f" (failed: {failures})" if failures else ""),
            server_cpu, client_cpu, load().split(",")[0]]


def run_setup(label: str, config: Path, workdir: Path, args: argparse.Namespace, processes: int,
              postgres: str | None, redis: str | None) -> list[list[object]]:
    env = {**rate_limit_env("raised"), "ANTRIAN_ASYNC_MODE": args.async_mode}
    rows = []
    with serving(config, workdir, processes=processes, postgres=postgres, redis=redis, env=env,
                 label=label) as servers:
        counter = Counter(servers.base_url)
        counter.post("open")
        for clients in args.clients:
            row = measure(servers, counter, clients, args)
            print(table(HEADERS, [row], RIGHT).splitlines()[-1], flush=True)
            rows.append(row)
    return rows


HEADERS = ["setup", "clients (displays + visitors)", "client procs", "calls", "connect s",
           "call-next answer p50 ms", "answer max ms", "display p50 ms", "display p99 ms", "visitor p50 ms",
           "visitor p99 ms", "all p50 ms", "all p99 ms", "max ms", "events", "refetches", "server CPU %",
           "client CPU %", "load"]
RIGHT = [False] + [True] * (len(HEADERS) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--calls", type=int, default=30, help="calls per number of clients")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between a call's last event "
                                                               "and the next finish")
    parser.add_argument("--visitors", type=float, default=0.5, help="share of clients that are visitor pages")
    parser.add_argument("--no-refetch", dest="refetch", action="store_false")
    parser.add_argument("--client-processes", type=int, default=0, help="0: one per 250 clients")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (for the two-process setup)")
    parser.add_argument("--redis", help="a Redis URL (for the two-process setup)")
    parser.add_argument("--no-single", action="store_true", help="skip the one-process SQLite setup")
    parser.add_argument("--async-mode", default="eventlet", choices=("eventlet", "gevent", "threading"))
    parser.add_argument("--keep-logs", type=Path, help="copy the server logs here")
    args = parser.parse_args()
    stop_on_sigterm()

    print(f"Machine: {machine()}")
    print(f"antrian serve ({args.async_mode}); {args.calls} calls per size, {args.gap} s apart; "
          f"visitor pages {REFETCH_NOTE[args.refetch]}\n")
    print(table(HEADERS, [], RIGHT), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="antrian-latency-bench-") as tmp:
        workdir = Path(tmp)
        config = bench_config(workdir, counters=90, kiosks=KIOSKS, officers=1)
        try:
            if not args.no_single:
                rows += run_setup("1 process, SQLite", config, workdir, args, 1, None, None)
            if args.postgres and args.redis:
                rows += run_setup("2 processes, PostgreSQL + Redis", config, workdir, args, 2,
                                  args.postgres, args.redis)
            elif args.postgres or args.redis:
                print("\n(the two-process setup needs both --postgres and --redis)")
        finally:
            if args.keep_logs:
                keep_logs(workdir, args.keep_logs)
    print(f"\nLoad average at the end: {load()}. CPU % is of one core (200 % = both cores); "
          "client CPU per client process.")


if __name__ == "__main__":
    main()
