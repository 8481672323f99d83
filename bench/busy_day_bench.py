"""A simulated busy day: arrivals with a morning rush, counters calling and serving, one server.

Usage::

    .venv/bin/python bench/busy_day_bench.py                  # 1,500 tickets, 45 counters, 5 minutes
    .venv/bin/python bench/busy_day_bench.py --tickets 20000 --counters 200 --speed 10   # the full day
    .venv/bin/python bench/busy_day_bench.py --database postgresql://127.0.0.1:5432/test

The site is the 40 agencies of config.example.toml with --counters counters
and one officer per counter (bench/common.py), always open. The day runs from
07:30 to 17:30, --speed times faster than real time (120: the ten hours in five
minutes). --tickets visitors arrive on a morning-rush curve (a sixth of the
day's visitors in the hour after 08:30, a dip at lunch, a smaller afternoon
bump), at 20 kiosks, each for an agency picked in proportion to what its
counters can serve and a service of it; 8 % are priority visitors.

Every counter is one officer (a thread with its own login) who calls the next
ticket when the agency's waiting count (``queue.changed`` on a staff Socket.IO
connection per agency, as the counter page gets it) says someone waits,
serves for a time drawn around the service's avg_service_minutes and
finishes; 5 % of the called do not come: the officer recalls once, then marks
the no-show. Service times are scaled so the whole day would keep the
counters --utilisation busy (the example's times, made for ~400 visitors a
day, cannot serve 20,000 at 200 counters); the factor is printed. After 17:30
the counters serve whoever still waits, for at most --overtime minutes.

All times are compressed the same way, so every figure below is in simulated
minutes. The issuing rate limit is the shipped one per kiosk times --speed.
A server process's CPU and memory are sampled every second (from /proc). When
the server cannot keep up, arrivals are issued late: the "issue lag" shows it,
and the wait times then mean less; lower --speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import socketio
from common import (
    OFFICER_PASSWORD,
    ProcessSampler,
    Servers,
    bench_site,
    keep_logs,
    kiosk_key,
    load,
    machine,
    ms,
    officer_name,
    percentile,
    rate_limit_env,
    rss_mb,
    serving,
    stop_on_sigterm,
    table,
    write_site,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_server.models import Ticket

OPENS = dt.time(7, 30)
HOURS = 10
# Share of the day's arrivals in each hour from 07:30: early birds, the morning rush,
# the lunch dip, an afternoon bump, a quiet end.
CURVE = (0.06, 0.16, 0.18, 0.15, 0.12, 0.06, 0.10, 0.08, 0.06, 0.03)
KIOSKS = 20
PRIORITY_SHARE = 0.08
PRIORITIES = ("elderly", "disabled", "pregnant")


@dataclass(frozen=True)
class Arrival:
    at: float  # simulated seconds since opening
    service: int
    priority: str
    kiosk: int


@dataclass
class Desk:
    agency: int
    code: str
    username: str
    id: int = 0
    token: str = ""


@dataclass
class Tally:
    """What the clients saw, shared by every thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    lags: list[float] = field(default_factory=list)  # simulated seconds an issue came late
    empty_calls: int = 0

    def took(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.times[kind].append(seconds)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] += 1


class Day:
    """The simulated clock and the waiting counts the staff connections report."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.start = time.monotonic()
        self.waiting: dict[int, int] = defaultdict(int)
        self.changed = threading.Condition()
        self.arrivals_done = False
        self.closing = math.inf  # simulated second after which counters go home

    def begin(self) -> None:
        """07:30 is now."""
        self.start = time.monotonic()
        self.wall = dt.datetime.now(dt.UTC)

    def now(self) -> float:
        return (time.monotonic() - self.start) * self.speed

    def sleep_until(self, sim: float) -> None:
        left = (sim - self.now()) / self.speed
        if left > 0:
            time.sleep(left)

    def sleep(self, sim_seconds: float) -> None:
        time.sleep(sim_seconds / self.speed)

    def queue_changed(self, payload: Any) -> None:
        with self.changed:
            self.waiting[int(payload["agency_id"])] = int(payload["waiting"])
            self.changed.notify_all()

    def over(self) -> bool:
        return self.now() > self.closing or (self.arrivals_done and not any(self.waiting.values()))


def arrivals(count: int, weights: dict[int, float], services: dict[int, list[int]],
             seed: int) -> list[Arrival]:
    """``count`` arrivals on the CURVE (uniform within each hour), agencies by ``weights``."""
    rng = random.Random(seed)
    agencies = sorted(weights)
    hours = rng.choices(range(HOURS), weights=CURVE, k=count)
    picked = rng.choices(agencies, weights=[weights[a] for a in agencies], k=count)
    out = []
    for n, (hour, agency) in enumerate(zip(hours, picked, strict=True)):
        priority = rng.choice(PRIORITIES) if rng.random() < PRIORITY_SHARE else "none"
        out.append(Arrival(hour * 3600 + rng.random() * 3600, rng.choice(services[agency]), priority,
                           n % KIOSKS + 1))
    return sorted(out, key=lambda a: a.at)


# -- the people ----------------------------------------------------------------------------


def kiosk(base: str, index: int, queue: list[Arrival], day: Day, tally: Tally) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {kiosk_key(index)}"
    for arrival in queue:
        day.sleep_until(arrival.at)
        with tally.lock:
            tally.lags.append(max(0.0, day.now() - arrival.at))
        started = time.perf_counter()
        try:
            res = http.post(base + "/api/v1/tickets", json={"service_id": arrival.service,
                                                             "priority": arrival.priority}, timeout=120)
        except requests.RequestException as exc:
            tally.error(f"issue {type(exc).__name__}")
            continue
        tally.took("issue", time.perf_counter() - started)
        if res.status_code != 201:
            tally.error(f"issue {res.status_code} {res.text[:80]}")


class Officer:
    """One counter's officer: call when someone waits, serve, finish (or recall, then no-show)."""

    def __init__(self, base: str, desk: Desk, day: Day, tally: Tally, service_minutes: dict[int, float],
                 no_show: float, seed: int) -> None:
        self.base, self.desk, self.day, self.tally = base, desk, day, tally
        self.service_minutes, self.no_show = service_minutes, no_show
        self.rng = random.Random(seed)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {desk.token}"

    def post(self, action: str) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            res = self.http.post(f"{self.base}/api/v1/counters/{self.desk.id}/{action}", timeout=120)
        except requests.RequestException as exc:
            self.tally.error(f"{action} {type(exc).__name__}")
            return None
        self.tally.took(action, time.perf_counter() - started)
        if res.status_code != 200:
            self.tally.error(f"{action} {res.status_code} {res.text[:80]}")
            return None
        return dict(res.json())

    def serve_time(self, service: int) -> float:
        """Simulated seconds at the counter: lognormal around the service's (scaled) mean."""
        mean = self.service_minutes[service] * 60
        sigma = 0.5
        return self.rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)

    def run(self) -> None:
        day, agency = self.day, self.desk.agency
        while not day.over():
            with day.changed:
                if not day.waiting[agency]:
                    day.changed.wait(timeout=max(0.05, 300 / day.speed))  # or look again every 5 minutes
                    continue
            body = self.post("call-next")
            ticket = body and body.get("ticket")
            if not ticket:
                with self.tally.lock:
                    self.tally.empty_calls += 1
                with day.changed:  # a colleague was faster: wait for the next change
                    day.changed.wait(timeout=max(0.05, 300 / day.speed))
                continue
            if self.rng.random() < self.no_show:
                day.sleep(60)
                self.post("recall")
                day.sleep(120)
                self.post("no-show")
                continue
            day.sleep(self.rng.uniform(20, 90) + self.serve_time(ticket["service"]["id"]))  # walk + serve
            self.post("finish")


# -- setting up -------------------------------------------------------------------------------


def desks_for(site: dict[str, Any], agency_ids: dict[str, int]) -> list[Desk]:
    out = []
    for agency in site["agencies"]:
        for n, counter in enumerate(agency["counters"], start=1):
            out.append(Desk(agency_ids[agency["code"]], counter["code"], officer_name(agency["code"], n)))
    return out


def log_in(base: str, desks: list[Desk]) -> None:
    """Every officer gets a token, finds its counter and opens it (before the day starts)."""
    ids: dict[str, int] = {}

    def one(desk: Desk) -> None:
        http = requests.Session()
        res = http.post(base + "/api/v1/auth/token", json={"username": desk.username,
                                                             "password": OFFICER_PASSWORD}, timeout=300)
        res.raise_for_status()
        desk.token = res.json()["token"]
        http.headers["Authorization"] = f"Bearer {desk.token}"
        if desk.code not in ids:
            for counter in http.get(base + "/api/v1/counters", timeout=300).json()["counters"]:
                ids[counter["code"]] = counter["id"]
        desk.id = ids[desk.code]
        http.post(f"{base}/api/v1/counters/{desk.id}/open", timeout=300).raise_for_status()

    firsts = {d.agency: d for d in reversed(desks)}  # one per agency first: they fill ``ids``
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(one, firsts.values()))
        list(pool.map(one, [d for d in desks if d not in firsts.values()]))


def staff_listeners(base: str, desks: list[Desk], day: Day) -> list[socketio.Client]:
    """One staff connection per agency, feeding the waiting counts to its officers."""
    clients = []
    for desk in {d.agency: d for d in desks}.values():
        client = socketio.Client(reconnection=True, request_timeout=60)
        client.on("queue.changed", day.queue_changed)
        client.connect(base, auth={"token": desk.token}, transports=["websocket"], wait_timeout=60)
        clients.append(client)
    return clients


def plan(site: dict[str, Any], agencies: list[dict[str, Any]], args: argparse.Namespace
         ) -> tuple[dict[int, float], dict[int, list[int]], dict[int, float], dict[int, int], float]:
    """Agency weights, services per agency, scaled mean service minutes and target wait per service,
    and the scaling factor."""
    by_code = {a["code"]: a for a in site["agencies"]}
    weights: dict[int, float] = {}
    services: dict[int, list[int]] = {}
    minutes: dict[int, float] = {}
    targets: dict[int, int] = {}
    for agency in agencies:
        configured = {s["code"]: s for s in by_code[agency["code"]]["services"]}
        ids = [s["id"] for s in agency["services"] if s["active"]]
        services[agency["id"]] = ids
        for s in agency["services"]:
            minutes[s["id"]] = float(configured[s["code"]].get("avg_service_minutes", 10))
            targets[s["id"]] = int(configured[s["code"]].get("target_wait_minutes", 30))
        mean = sum(minutes[i] for i in ids) / len(ids)
        weights[agency["id"]] = len(by_code[agency["code"]]["counters"]) / mean
    # Expected counter-minutes the day asks for, against what the counters have.
    total_weight = sum(weights.values())
    demand = sum(args.tickets * w / total_weight * sum(minutes[i] for i in services[a]) / len(services[a])
                 for a, w in weights.items())
    capacity = args.counters * HOURS * 60
    factor = args.utilisation * capacity / demand
    return weights, services, {k: v * factor for k, v in minutes.items()}, targets, factor


# -- what happened ---------------------------------------------------------------------------------


def figures(servers: Servers, opened: dt.datetime, speed: float, targets: dict[int, int]) -> dict[str, Any]:
    """Wait times and counts from the database (simulated minutes)."""
    engine = servers.engine()
    with Session(engine) as session:
        rows = session.execute(select(Ticket.queued_at, Ticket.first_called_at, Ticket.status,
                                      Ticket.service_id).where(Ticket.leg == 1)).all()
    engine.dispose()
    def sim(at: dt.datetime) -> float:
        """Simulated seconds since 07:30 of a stored (real) time."""
        return (at - opened).total_seconds() * speed

    waits, within, by_hour = [], 0, defaultdict(list)
    changes: list[tuple[float, int]] = []
    for r in rows:
        start = sim(r.queued_at)
        changes.append((start, 1))
        if r.first_called_at is not None:
            wait = sim(r.first_called_at) - start
            waits.append(wait / 60)
            within += wait <= targets[r.service_id] * 60
            by_hour[int(start // 3600)].append(wait / 60)
            changes.append((sim(r.first_called_at), -1))
    changes.sort()
    waiting, peak, peak_at = 0, 0, 0.0
    for at, step in changes:
        waiting += step
        if waiting > peak:
            peak, peak_at = waiting, at
    statuses = Counter(r.status for r in rows)
    return {"issued": len(rows), "statuses": statuses, "waits": waits, "within": within,
            "peak": peak, "peak_at": peak_at, "by_hour": by_hour}


def clock_time(sim_seconds: float) -> str:
    base = dt.datetime.combine(dt.date(2026, 1, 1), OPENS)
    return (base + dt.timedelta(seconds=sim_seconds)).strftime("%H:%M")


def report(f: dict[str, Any], tally: Tally, sampler: ProcessSampler, args: argparse.Namespace,
           factor: float, label: str, real_seconds: float, rss_idle: float) -> None:
    waits = f["waits"]
    s = f["statuses"]
    print(f"\nService times scaled by {factor:.2f} to keep the counters {args.utilisation:.0%} busy "
          f"over the day. Real duration {real_seconds / 60:.1f} min; load average now {load()}.\n")
    print(table(
        ["database", "tickets", "served", "no-shows", "left waiting", "wait mean min", "median",
         "p90", "max", "within target", "peak waiting", "issue lag p99 min", "errors"],
        [[label, f"{f['issued']:,}", f"{s.get('done', 0):,}", f"{s.get('no_show', 0):,}",
          f"{s.get('waiting', 0) + s.get('called', 0) + s.get('serving', 0):,}",
          f"{sum(waits) / len(waits):.1f}" if waits else "-", f"{percentile(waits, 0.5):.1f}",
          f"{percentile(waits, 0.9):.1f}", f"{max(waits, default=0):.1f}",
          f"{f['within'] / len(waits):.0%}" if waits else "-",
          f"{f['peak']:,} at {clock_time(f['peak_at'])}",
          f"{percentile(tally.lags, 0.99) / 60:.1f}", sum(tally.errors.values())]],
        [False] + [True] * 12))
    print()
    print(table(["server process", "CPU % mean", "CPU % peak (1 s)", "RSS MB before the day",
                 "RSS MB peak", "requests"],
                [[label, f"{sampler.mean_cpu:.0f}", f"{sampler.peak_cpu:.0f}", f"{rss_idle:.0f}",
                  f"{sampler.peak_rss_mb:.0f}", f"{sum(len(v) for v in tally.times.values()):,}"]]))
    print()
    kinds = sorted(tally.times)
    print(table(["request", "count", "p50 ms", "p99 ms", "max ms"],
                [[k, f"{len(tally.times[k]):,}", ms(percentile(tally.times[k], 0.5)),
                  ms(percentile(tally.times[k], 0.99)), ms(max(tally.times[k]))] for k in kinds]
                + [["call-next that found nobody (a colleague was faster)", f"{tally.empty_calls:,}",
                    "", "", ""]]))
    print()
    rows = []
    for hour in range(HOURS):
        hour_waits = f["by_hour"].get(hour, [])
        rows.append([f"{clock_time(hour * 3600)}-{clock_time((hour + 1) * 3600)}", len(hour_waits),
                     f"{sum(hour_waits) / len(hour_waits):.1f}" if hour_waits else "-",
                     f"{percentile(hour_waits, 0.9):.1f}" if hour_waits else "-"])
    print(table(["arrived", "called", "wait mean min", "wait p90 min"], rows))
    if tally.errors:
        print("\nErrors: " + "; ".join(f"{n} x {what}" for what, n in tally.errors.most_common(8)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1500)
    parser.add_argument("--counters", type=int, default=45, help="at least 40, one per agency")
    parser.add_argument("--speed", type=float, default=120, help="simulated seconds per real second")
    parser.add_argument("--utilisation", type=float, default=0.7,
                        help="share of the day the counters would be busy (the rush hours exceed it)")
    parser.add_argument("--no-show", type=float, default=0.05)
    parser.add_argument("--overtime", type=float, default=60, help="simulated minutes after 17:30")
    parser.add_argument("--database", metavar="POSTGRESQL_URL",
                        help="run on this PostgreSQL server instead of SQLite (the database "
                             "antrian_bench_live on it is recreated)")
    parser.add_argument("--async-mode", default="eventlet", choices=("eventlet", "gevent", "threading"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-logs", type=Path, help="copy the server log here")
    args = parser.parse_args()
    stop_on_sigterm()

    label = "PostgreSQL" if args.database else "SQLite"
    print(f"Machine: {machine()}")
    print(f"{args.tickets:,} tickets, {args.counters} counters, {HOURS} h at {args.speed:g}x "
          f"({HOURS * 3600 / args.speed / 60:.1f} min), {label}, antrian serve ({args.async_mode})",
          flush=True)
    site = bench_site(args.counters, KIOSKS)
    env = {**rate_limit_env("scaled", args.speed), "ANTRIAN_ASYNC_MODE": args.async_mode}
    with tempfile.TemporaryDirectory(prefix="antrian-busy-day-") as tmp:
        workdir = Path(tmp)
        config = write_site(site, workdir / "site.toml")
        try:
            with serving(config, workdir, postgres=args.database, env=env, label=label) as servers:
                base = servers.base_url
                agencies = requests.get(base + "/api/v1/agencies", timeout=60).json()["agencies"]
                weights, services, minutes, targets, factor = plan(site, agencies, args)
                desks = desks_for(site, {a["code"]: a["id"] for a in agencies})
                print(f"Logging in {len(desks)} officers and opening their counters...", flush=True)
                log_in(base, desks)
                day = Day(args.speed)
                listeners = staff_listeners(base, desks, day)
                schedule = arrivals(args.tickets, weights, services, args.seed)
                tally = Tally()
                rss_idle = rss_mb(servers.pid())
                with ProcessSampler(servers.pid()) as sampler:
                    kiosks = [threading.Thread(target=kiosk, args=(base, k, schedule[k - 1::KIOSKS], day,
                                                                   tally)) for k in range(1, KIOSKS + 1)]
                    officers = [threading.Thread(target=Officer(base, d, day, tally, minutes, args.no_show,
                                                                args.seed + n).run)
                                for n, d in enumerate(desks)]
                    day.begin()
                    for thread in kiosks + officers:
                        thread.start()
                    for thread in kiosks:
                        thread.join()
                    day.arrivals_done = True
                    day.closing = HOURS * 3600 + args.overtime * 60
                    for thread in officers:
                        thread.join()
                    real_seconds = time.monotonic() - day.start
                for client in listeners:
                    client.disconnect()
                report(figures(servers, day.wall, args.speed, targets), tally, sampler, args, factor,
                       label, real_seconds, rss_idle)
        finally:
            if args.keep_logs:
                keep_logs(workdir, args.keep_logs)


if __name__ == "__main__":
    main()
