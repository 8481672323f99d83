"""Issuing throughput: tickets per second from concurrent kiosks against a live server.

Usage::

    .venv/bin/python bench/issue_bench.py                       # SQLite, 20 kiosks, 30 s
    .venv/bin/python bench/issue_bench.py --postgres postgresql://127.0.0.1:5432/test
    .venv/bin/python bench/issue_bench.py --postgres postgresql://127.0.0.1:5432/test \
        --redis redis://127.0.0.1:6379/0                   # + two processes sharing PostgreSQL
    .venv/bin/python bench/issue_bench.py --clients 40 --seconds 60 --rate-limit off

The site is the 40 agencies of config.example.toml without opening hours or
quotas (bench/common.py), served by one ``antrian serve`` process (eventlet
unless --async-mode), or with --server gunicorn by the production command
(one gevent worker); with --postgres and --redis also by two processes
sharing the PostgreSQL database, Redis carrying their Socket.IO events.
Each of the --clients threads is one kiosk with its own key and HTTP
connection (to one of the processes, in turn), issuing tickets for random
services as fast as the server answers, each request with its own request_id
as the kiosk page sends.
Every client issues one ticket before the clock starts (connections and
caches warm).

Rate limits stay on (their cost is part of issuing) but raised: the shipped
limit is 30 tickets a minute per kiosk, so 20 kiosks could never pass 10
tickets/s; --rate-limit off or default to change that.

After the run the database is checked: as many first legs as 201 answers,
the same tokens, no number given twice and no number skipped (every prefix
counts 1..n on its day). A run that fails the check prints FAILED.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from common import (
    ProcessSampler,
    bench_config,
    keep_logs,
    kiosk_key,
    load,
    machine,
    ms,
    own_cpu_seconds,
    percentile,
    rate_limit_env,
    serving,
    stop_on_sigterm,
    table,
)
from sqlalchemy import text


@dataclass
class Outcome:
    """What the kiosks saw: per issued ticket its token and request time; refusals by reason."""

    tokens: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issued(self, token: str, seconds: float | None) -> None:
        with self.lock:
            self.tokens.append(token)
            if seconds is not None:
                self.times.append(seconds)

    def failed(self, why: str) -> None:
        with self.lock:
            self.errors[why] += 1


def services(base: str) -> list[int]:
    agencies = requests.get(base + "/api/v1/agencies", timeout=30).json()["agencies"]
    ids = [s["id"] for a in agencies if a["open"]["can_issue"] for s in a["services"] if s["active"]]
    if not ids:
        raise SystemExit("no service can issue right now")
    return ids


def kiosk(base: str, index: int, ids: list[int], start: threading.Barrier, stop_at: list[float],
          outcome: Outcome) -> None:
    """One kiosk: a warm-up ticket, then tickets until the deadline."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {kiosk_key(index)}"
    rng = random.Random(index)

    def issue(timed: bool) -> None:
        body = {"service_id": rng.choice(ids), "request_id": uuid.uuid4().hex}
        started = time.perf_counter()
        try:
            res = http.post(base + "/api/v1/tickets", json=body, timeout=60)
        except requests.RequestException as exc:
            outcome.failed(type(exc).__name__)
            return
        took = time.perf_counter() - started
        if res.status_code == 201:
            outcome.issued(res.json()["token"], took if timed else None)
        else:
            try:
                code = res.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
            outcome.failed(f"{res.status_code} {code}")

    issue(False)
    start.wait()
    while time.perf_counter() < stop_at[0]:
        issue(True)


def verify(servers, outcome: Outcome) -> str:  # type: ignore[no-untyped-def]
    """'ok', or what is wrong between the answers and the database."""
    engine = servers.engine()
    try:
        with engine.connect() as conn:
            stored = {row[0] for row in conn.execute(text("SELECT token FROM tickets WHERE leg = 1"))}
            doubles = conn.execute(text(
                "SELECT count(*) FROM (SELECT prefix, service_day, sequence FROM tickets WHERE leg = 1 "
                "GROUP BY prefix, service_day, sequence HAVING count(*) > 1) AS d")).scalar_one()
            gaps = conn.execute(text(
                "SELECT count(*) FROM (SELECT prefix, service_day FROM tickets WHERE leg = 1 "
                "GROUP BY prefix, service_day HAVING count(*) <> max(sequence) OR min(sequence) <> 1) AS g")
            ).scalar_one()
    finally:
        engine.dispose()
    answered = set(outcome.tokens)
    problems = []
    if len(stored) != len(outcome.tokens):
        problems.append(f"{len(stored)} tickets stored, {len(outcome.tokens)} answered 201")
    if answered - stored:
        problems.append(f"{len(answered - stored)} answered tickets missing")
    if stored - answered:
        problems.append(f"{len(stored - answered)} stored tickets nobody got")
    if doubles:
        problems.append(f"{doubles} numbers given twice")
    if gaps:
        problems.append(f"{gaps} prefixes with skipped numbers")
    return "ok: " + f"{len(stored):,} stored = answered, unique, no gaps" if not problems \
        else "FAILED: " + "; ".join(problems)


def run(label: str, config: Path, workdir: Path, args: argparse.Namespace,
        postgres: str | None, redis: str | None = None, processes: int = 1) -> list[object]:
    mode = args.async_mode or ("gevent" if args.server == "gunicorn" else "eventlet")
    env = {**rate_limit_env(args.rate_limit), "ANTRIAN_ASYNC_MODE": mode}
    with serving(config, workdir, processes=processes, postgres=postgres, redis=redis, env=env,
                 label=label, gunicorn=args.server == "gunicorn") as servers:
        urls = [s.base_url for s in servers.servers]
        ids = services(urls[0])
        outcome = Outcome()
        start = threading.Barrier(args.clients + 1)
        stop_at = [float("inf")]
        threads = [threading.Thread(target=kiosk,
                                    args=(urls[n % len(urls)], n, ids, start, stop_at, outcome))
                   for n in range(1, args.clients + 1)]
        for thread in threads:
            thread.start()
        start.wait()  # every kiosk has its warm-up ticket
        warm = len(outcome.tokens)
        cpu_before = own_cpu_seconds()
        samplers = [ProcessSampler(servers.pid(n)) for n in range(processes)]
        for sampler in samplers:
            sampler.__enter__()
        began = time.perf_counter()
        stop_at[0] = began + args.seconds
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        for sampler in samplers:
            sampler.stop()
        client_cpu = 100 * (own_cpu_seconds() - cpu_before) / elapsed
        check = verify(servers, outcome)
    issued = len(outcome.tokens) - warm
    errors = ", ".join(f"{n} x {why}" for why, n in outcome.errors.most_common()) or "0"
    return [label, args.clients, f"{elapsed:.0f}", f"{issued:,}", f"{issued / elapsed:.0f}",
            ms(percentile(outcome.times, 0.5)), ms(percentile(outcome.times, 0.99)),
            ms(max(outcome.times, default=float("nan"))), errors,
            " + ".join(f"{x.mean_cpu:.0f}" for x in samplers), f"{client_cpu:.0f}",
            " + ".join(f"{x.peak_rss_mb:.0f}" for x in samplers), check]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20, help="concurrent kiosks, each with its own key")
    parser.add_argument("--seconds", type=float, default=30.0, help="issuing time per database")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (the database antrian_bench_live "
                                           "on it is recreated)")
    parser.add_argument("--redis", help="a Redis URL: with --postgres, also two server processes "
                                        "sharing the database, each kiosk talking to one of them")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--rate-limit", choices=("raised", "off", "default"), default="raised")
    parser.add_argument("--server", choices=("serve", "gunicorn"), default="serve",
                        help="antrian serve (make run), or the production command (one gunicorn "
                             "worker per process)")
    parser.add_argument("--async-mode", choices=("eventlet", "gevent", "threading"),
                        help="default: eventlet under antrian serve, gevent under gunicorn")
    parser.add_argument("--keep-logs", type=Path, help="copy the server logs here")
    args = parser.parse_args()
    stop_on_sigterm()

    print(f"Machine: {machine()}")
    server = "gunicorn" if args.server == "gunicorn" else "antrian serve"
    mode = args.async_mode or ("gevent" if args.server == "gunicorn" else "eventlet")
    print(f"{args.clients} kiosks for {args.seconds:.0f} s per database; {server} ({mode}); "
          f"rate limits {args.rate_limit}\n", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="antrian-issue-bench-") as tmp:
        workdir = Path(tmp)
        config = bench_config(workdir, counters=90, kiosks=args.clients, officers=1)
        try:
            if not args.no_sqlite:
                rows.append(run("SQLite", config, workdir, args, None))
            if args.postgres:
                rows.append(run("PostgreSQL", config, workdir, args, args.postgres))
            if args.postgres and args.redis:
                rows.append(run("PostgreSQL, 2 processes + Redis", config, workdir, args, args.postgres,
                                args.redis, processes=2))
        finally:
            if args.keep_logs:
                keep_logs(workdir, args.keep_logs)
    print(table(["setup", "kiosks", "s", "tickets", "tickets/s", "p50 ms", "p99 ms", "max ms",
                 "errors", "server CPU %", "client CPU %", "server RSS MB", "database check"], rows,
                [False, True, True, True, True, True, True, True, False, True, True, True, False]))
    print(f"\nLoad average at the end: {load()}. CPU % is of one core (200 % = both cores).")
    if any(str(row[-1]).startswith("FAILED") for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
