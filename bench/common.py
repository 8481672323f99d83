"""Shared pieces of the load benchmarks (not a benchmark itself).

* :func:`bench_config`: the 40 agencies of config.example.toml turned into a
  site a benchmark can load at any hour: no opening hours, holidays or quotas
  (the servers run on the real clock), ``counters`` counters with one officer
  each, ``kiosks`` kiosks (each its own key, as in a real MPP) and a display
  covering both floors.
* :func:`serving`: real ``antrian serve`` processes, started the way the tests
  start them (tests/live_server.py), on SQLite or a fresh PostgreSQL database.
* :class:`ProcessSampler`: CPU% and RSS of the server process from /proc.
* :func:`machine`: what the numbers were measured on.

``python bench/common.py --postgres-reachable URL`` prints URL when a
PostgreSQL server answers there (the Makefile's ``bench`` target uses it), and
``--redis-reachable URL`` the same for Redis; ``--write-config FILE`` writes
the generated site for a look.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import live_server  # noqa: E402
from live_server import GunicornServer, LiveServer  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from queue_server.toml_writer import pairs  # noqa: E402

EXAMPLE = ROOT / "config.example.toml"
OFFICER_PASSWORD = "bench-petugas"
DISPLAY_KEY = "bench-display-all-floors-key"
ADMIN = ("admin", "admin-demo")
POSTGRES_DATABASE = "antrian_bench_live"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# `antrian init` of the 200-officer site hashes 200 passwords: slower than the tests' tiny site,
# and slower still while other work shares the two cores.
live_server.INIT_TIMEOUT = 600.0
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- the benchmark site ---------------------------------------------------------


def kiosk_key(index: int) -> str:
    return f"bench-kiosk-{index:02d}-key"


def _spread(counts: Sequence[int], total: int) -> list[int]:
    """``counts`` scaled to add up to ``total`` (largest remainder), at least one each."""
    if total < len(counts):
        raise SystemExit(f"at least {len(counts)} counters: one per agency")
    base = sum(counts)
    exact = [c * total / base for c in counts]
    out = [max(1, int(x)) for x in exact]
    order = sorted(range(len(counts)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    i = 0
    while sum(out) < total:
        out[order[i % len(order)]] += 1
        i += 1
    while sum(out) > total:  # the "at least one" pushed it over: take from the largest
        out[max(range(len(out)), key=lambda k: out[k])] -= 1
    return out


def load_example() -> dict[str, Any]:
    with EXAMPLE.open("rb") as handle:
        return tomllib.load(handle)


def bench_site(counters: int = 200, kiosks: int = 20, officers: int | None = None) -> dict[str, Any]:
    """The example MPP as a dict of the configuration's shape, ready for the load benches.

    The example's 90 counters are scaled to ``counters`` in proportion, at
    least one per agency; every counter serves every active service of its
    agency, so they share the load evenly. One officer per counter, or at most ``officers`` per
    agency (each password hash costs ``antrian init`` a tenth of a second).
    """
    example = load_example()
    agencies = example["agencies"]
    per_agency = _spread([len(a.get("counters", [])) for a in agencies], counters)
    site = {"site": {k: v for k, v in example["site"].items() if k != "closed_dates"},
            "calling": dict(example["calling"]), "agencies": [], "users": [], "devices": []}
    site["users"] += [{"username": ADMIN[0], "password": ADMIN[1], "role": "admin", "name": "Admin"}]
    number = 0
    for agency, count in zip(agencies, per_agency, strict=True):
        services = [{**s, "daily_quota": 0} for s in agency["services"]]
        active = [s["code"] for s in services if s.get("active", True)]
        desks = []
        for n in range(1, count + 1):
            number += 1
            desks.append({"code": f"{agency['code']}-{n}", "number": number, "name": f"Loket {number}",
                          "services": active})
            if officers is not None and n > officers:
                continue
            site["users"].append({"username": officer_name(agency["code"], n), "password": OFFICER_PASSWORD,
                                  "role": "officer", "name": f"Petugas {agency['code']} {n}",
                                  "agency": agency["code"]})
        plain = {k: v for k, v in agency.items() if k not in ("services", "counters", "schedule", "hours")}
        site["agencies"].append({**plain, "services": services, "counters": desks})
    for n in range(1, kiosks + 1):
        site["devices"].append({"code": f"BENCH-KIOSK-{n:02d}", "kind": "kiosk", "name": f"Kiosk {n}",
                                "key": kiosk_key(n), "printer": "none"})
    site["devices"].append({"code": "BENCH-TV", "kind": "display", "name": "Layar Lobi",
                            "key": DISPLAY_KEY, "zones": ["Lantai 1", "Lantai 2"]})
    return site


def officer_name(agency_code: str, n: int) -> str:
    return f"{re.sub('[^a-z0-9]', '', agency_code.lower())}-{n}"


def write_site(site: Mapping[str, Any], path: Path) -> Path:
    """The site dict as TOML that ``antrian init`` reads (tables, then arrays of tables)."""
    lines = ["# Generated by bench/common.py from config.example.toml; do not edit.", ""]
    for table in ("site", "calling"):
        lines += [f"[{table}]", *pairs(site[table]), ""]
    for agency in site["agencies"]:
        lines += ["[[agencies]]", *pairs({k: v for k, v in agency.items()
                                          if k not in ("services", "counters")}), ""]
        for kind in ("services", "counters"):
            for item in agency[kind]:
                lines += [f"  [[agencies.{kind}]]", *pairs(item, "  "), ""]
    for kind in ("users", "devices"):
        for item in site[kind]:
            lines += [f"[[{kind}]]", *pairs(item), ""]
    path.write_text("\n".join(lines))
    return path


def bench_config(directory: Path, counters: int = 200, kiosks: int = 20, officers: int | None = None) -> Path:
    name = f"mpp-{counters}-counters-{kiosks}-kiosks-{officers or 'all'}-officers.toml"
    return write_site(bench_site(counters, kiosks, officers), directory / name)


# -- servers --------------------------------------------------------------------


def rate_limit_env(mode: str, speed: float = 1.0) -> dict[str, str]:
    """The server's rate-limit settings for a benchmark (see ratelimit.py).

    ``default``: the shipped limits, ``off``: ANTRIAN_RATELIMIT_ENABLED=0;
    ``raised``: limits on (their cost is measured) but too high to refuse a
    benchmark client: every client is 127.0.0.1, so the per-address status
    limit would otherwise count a whole hall of phones as one; ``scaled``:
    the shipped issuing limit per kiosk times ``speed`` (time runs ``speed``
    times faster in a simulated day), the per-address limits raised.
    """
    if mode == "off":
        return {"ANTRIAN_RATELIMIT_ENABLED": "0"}
    if mode == "default":
        return {}
    high = {"ANTRIAN_RATELIMIT_STATUS": "1000000/minute", "ANTRIAN_RATELIMIT_LOGIN_IP": "1000000/minute"}
    if mode == "raised":
        return {**high, "ANTRIAN_RATELIMIT_ISSUE": "1000000/minute"}
    if mode == "scaled":
        return {**high, "ANTRIAN_RATELIMIT_ISSUE": f"{round(30 * speed)}/minute;{round(300 * speed)}/hour"}
    raise ValueError(f"unknown rate-limit mode {mode!r}")


def postgres_database(url: str, name: str = POSTGRES_DATABASE) -> str:
    """A fresh, empty database ``name`` on the server of ``url``; returns its URL."""
    admin_url = make_url(url).set(drivername="postgresql+psycopg2")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


@dataclass
class Servers:
    """Running servers of one benchmark setup; ``servers[0]`` receives the API calls."""

    servers: list[LiveServer]
    database_url: str
    label: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.servers[0].base_url

    def pid(self, index: int = 0) -> int:
        """The process that serves: ``antrian serve`` itself, or gunicorn's (one) worker."""
        server = self.servers[index]
        if isinstance(server, GunicornServer):
            return server.workers()[0]
        # LiveServer keeps its Popen private; the sampler needs the process id.
        process = server._process  # noqa: SLF001
        assert process is not None, "server not running"
        return process.pid

    def engine(self) -> Engine:
        return create_engine(self.database_url)


@contextlib.contextmanager
def serving(config: Path, workdir: Path, *, processes: int = 1, postgres: str | None = None,
            redis: str | None = None, env: Mapping[str, str] | None = None,
            label: str = "", gunicorn: bool = False) -> Iterator[Servers]:
    """``processes`` ``antrian serve`` (or gunicorn) processes sharing one database (and Redis when several).

    SQLite unless ``postgres`` (a server URL: the bench database on it is
    recreated). Every process is stopped on the way out, failure or not.
    """
    if processes > 1 and not (postgres and redis):
        raise SystemExit("several processes need --postgres and --redis")
    directory = Path(tempfile.mkdtemp(prefix="server-", dir=workdir))
    overrides = {"ANTRIAN_EXPIRY_INTERVAL_SECONDS": "3600", **(env or {})}
    if postgres:
        overrides["DATABASE_URL"] = postgres_database(postgres)
    if redis:
        overrides["SOCKETIO_MESSAGE_QUEUE"] = redis
    started: list[LiveServer] = []
    try:
        for n in range(processes):
            # gunicorn: the production command, one worker per process (mode from env).
            kind = GunicornServer if gunicorn else LiveServer
            server = kind(directory / f"p{n}", config=config, env=overrides, init=n == 0)
            started.append(server)
            server.start(timeout=120)
        yield Servers(started, started[0].database_url, label)
    finally:
        for server in reversed(started):
            server.stop()


def keep_logs(workdir: Path, target: Path) -> None:
    """Copy every server.log under ``workdir`` to ``target`` (for a look after a failed run)."""
    target.mkdir(parents=True, exist_ok=True)
    for log in workdir.rglob("server.log"):
        shutil.copyfile(log, target / ("-".join(log.relative_to(workdir).parts[:-1]) + ".log"))


# -- measuring ------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


def rss_mb(pid: int) -> float:
    """Resident memory of a process now, in MiB."""
    return _rss_bytes(pid) / 2**20


class ProcessSampler:
    """Samples a process's CPU use and resident memory every ``interval`` seconds.

    CPU% is of one core (200% = both cores of this machine busy). Reads /proc,
    so nothing beyond the standard library is needed.
    """

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid, self.interval = pid, interval
        self.cpu: list[float] = []
        self.rss: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._first = (time.monotonic(), _cpu_ticks(pid))

    def _run(self) -> None:
        last_time, last_ticks = self._first
        while not self._stop.wait(self.interval):
            try:
                ticks, rss = _cpu_ticks(self.pid), _rss_bytes(self.pid)
            except (OSError, IndexError, ValueError):
                return  # the process is gone
            now = time.monotonic()
            self.cpu.append(100.0 * (ticks - last_ticks) / CLK_TCK / (now - last_time))
            self.rss.append(rss)
            last_time, last_ticks = now, ticks

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(OSError, IndexError, ValueError):
            self.rss.append(_rss_bytes(self.pid))
        now, ticks = time.monotonic(), None
        with contextlib.suppress(OSError, IndexError, ValueError):
            ticks = _cpu_ticks(self.pid)
        if ticks is not None:
            self.total_cpu_seconds = (ticks - self._first[1]) / CLK_TCK
            self.wall_seconds = now - self._first[0]

    @property
    def mean_cpu(self) -> float:
        wall = getattr(self, "wall_seconds", 0)
        return 100.0 * self.total_cpu_seconds / wall if wall else float("nan")

    @property
    def peak_cpu(self) -> float:
        return max(self.cpu, default=float("nan"))

    @property
    def peak_rss_mb(self) -> float:
        return max(self.rss, default=0) / 2**20


def own_cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all threads)."""
    times = os.times()
    return times.user + times.system


def stop_on_sigterm() -> None:
    """SIGTERM (a timeout, Ctrl-C in make) unwinds like an exception, so servers are stopped."""
    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)


# -- the machine ----------------------------------------------------------------


def machine() -> str:
    """One line: cores, CPU model, memory, load average now."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) // 1024
    return (f"{os.cpu_count()} cores ({model}), {memory / 1024:.0f} GiB RAM, "
            f"load average {load()} (1, 5, 15 min)")


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[bool] | None = None) -> str:
    """A Markdown table (pastes into docs/performance.md as it is)."""
    right = right or [i > 0 for i in range(len(headers))]
    cells = [[str(c) for c in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.1f}"  # NaN: nothing measured


# -- command line (for the Makefile) ----------------------------------------------


def _reachable_postgres(url: str) -> bool:
    try:
        engine = create_engine(make_url(url).set(drivername="postgresql+psycopg2"),
                               connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001  (any failure means: not usable here)
        return False


def _reachable_redis(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except Exception:  # noqa: BLE001
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-reachable", metavar="URL")
    parser.add_argument("--redis-reachable", metavar="URL")
    parser.add_argument("--write-config", metavar="FILE", type=Path)
    parser.add_argument("--counters", type=int, default=200)
    parser.add_argument("--kiosks", type=int, default=20)
    args = parser.parse_args()
    if args.postgres_reachable and _reachable_postgres(args.postgres_reachable):
        print(args.postgres_reachable)
    if args.redis_reachable and _reachable_redis(args.redis_reachable):
        print(args.redis_reachable)
    if args.write_config:
        write_site(bench_site(args.counters, args.kiosks), args.write_config)


if __name__ == "__main__":
    main()
