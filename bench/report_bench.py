"""Report speed on a year of a large MPP: 2 million generated tickets.

Usage::

    .venv/bin/python bench/report_bench.py                 # SQLite only
    .venv/bin/python bench/report_bench.py --postgres postgresql://127.0.0.1:5432/test

The site is config.example.toml (40 agencies, 406 services). Tickets are spread
over the 365 days before 2026-11-23, weighted by agency, with realistic end
states and exponential wait and service times. The SQLite file is kept in
bench/.data/ and reused when it already holds the same number of tickets;
PostgreSQL gets a database of its own (antrian_bench), dropped with --drop.

Before timing, every closed day (all but the last) is rolled up, as the first
report or ``antrian rollup`` would do; that one-off time is printed. Then one
table: each report (period x filter) and how long reports.build took (closed
days from the roll-up, the last day and the percentiles from the tickets),
best of three runs after one warm-up.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import secrets
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, make_url, select, text  # noqa: E402

from queue_server import create_app  # noqa: E402
from queue_server.config_import import import_config, load_toml  # noqa: E402
from queue_server.domain import reports, rollup  # noqa: E402
from queue_server.extensions import db  # noqa: E402
from queue_server.models import Counter, Service, Ticket, User, counter_services  # noqa: E402

LAST_DAY = dt.date(2026, 11, 23)  # "today" of the reports: read live, the days before from the roll-up
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DAYS = 365
JAKARTA = dt.timezone(dt.timedelta(hours=7))
STATUSES = (("done", 0.85), ("no_show", 0.05), ("cancelled", 0.03), ("expired", 0.02), ("transferred", 0.05))
COLUMNS = ("token", "leg", "number", "prefix", "sequence", "service_day", "agency_id", "service_id",
           "priority", "status", "note", "issued_at", "arrived_at", "queued_at", "first_called_at",
           "called_at", "started_at", "finished_at", "recall_count", "wait_seconds", "service_seconds",
           "counter_id", "officer_id")


def generate(services: list[tuple[int, int, str]], desks: dict[int, list[tuple[int, int | None]]],
             total: int, seed: int = 7) -> Any:
    """Yield ticket rows (dicts) day by day; ``services`` = (id, agency_id, prefix),
    ``desks`` = the (counter, officer) pairs that serve each service."""
    rng = random.Random(seed)
    agencies = sorted({agency for _, agency, _ in services})
    weights = {agency: rng.choice((1, 2, 4, 8)) for agency in agencies}  # a few busy agencies
    by_agency: dict[int, list[tuple[int, int, str]]] = {}
    for service in services:
        by_agency.setdefault(service[1], []).append(service)
    per_day = total // DAYS
    statuses, status_weights = zip(*STATUSES, strict=True)
    produced = 0
    for day_index in range(DAYS):
        day = LAST_DAY - dt.timedelta(days=DAYS - 1 - day_index)
        count = per_day if day_index < DAYS - 1 else total - produced
        picked = rng.choices(agencies, weights=[weights[a] for a in agencies], k=count)
        sequences: dict[str, int] = {}
        for agency in picked:
            service_id, agency_id, prefix = rng.choice(by_agency[agency])
            sequences[prefix] = sequences.get(prefix, 0) + 1
            issued = dt.datetime.combine(day, dt.time(7, 30), JAKARTA) + dt.timedelta(
                seconds=rng.randrange(8 * 3600))
            issued_utc = issued.astimezone(dt.UTC)
            status = rng.choices(statuses, weights=status_weights)[0]
            wait = service = None
            called = started = finished = None
            counter = officer = None
            if status in ("done", "no_show", "transferred"):
                wait = min(int(rng.expovariate(1 / 900)), 4 * 3600)
                called = issued_utc + dt.timedelta(seconds=wait)
                counter, officer = rng.choice(desks[service_id])
            if status in ("done", "transferred"):
                service = min(int(rng.expovariate(1 / 480)) + 30, 2 * 3600)
                started = called + dt.timedelta(seconds=20)
                finished = started + dt.timedelta(seconds=service)
            elif status in ("cancelled", "expired", "no_show"):
                finished = issued_utc + dt.timedelta(seconds=rng.randrange(60, 3 * 3600))
            yield {
                "token": secrets.token_urlsafe(16), "leg": 1, "number": f"{prefix}{sequences[prefix]:03d}",
                "prefix": prefix, "sequence": sequences[prefix], "service_day": day,
                "agency_id": agency_id, "service_id": service_id, "priority": "none", "status": status,
                "note": "", "issued_at": issued_utc, "arrived_at": issued_utc, "queued_at": issued_utc,
                "first_called_at": called, "called_at": called, "started_at": started,
                "finished_at": finished, "recall_count": 0, "wait_seconds": wait, "service_seconds": service,
                "counter_id": counter, "officer_id": officer,
            }
            produced += 1


def make_site(url: str) -> Any:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ASYNC_MODE": "threading",
                      "SOCKETIO_MESSAGE_QUEUE": None})
    with app.app_context():
        db.create_all()
        if not db.session.execute(select(func.count()).select_from(Service)).scalar():
            import_config(db.session, load_toml(ROOT / "config.example.toml"))
            db.session.commit()
    return app


def fill(app: Any, total: int) -> float:
    """Insert ``total`` tickets unless already there; returns the seconds it took."""
    with app.app_context():
        have = db.session.execute(select(func.count()).select_from(Ticket)).scalar()
        if have == total:
            return 0.0
        if have:
            raise SystemExit(f"the database holds {have} tickets, not {total}: remove it or use --drop")
        services = [tuple(row) for row in db.session.execute(
            select(Service.id, Service.agency_id, Service.prefix).order_by(Service.id))]
        rows = generate(services, desks(), total)
        started = time.perf_counter()
        if db.engine.dialect.name == "postgresql":
            _copy_postgres(rows, total)
        else:
            _insert_sqlite(rows)
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        return time.perf_counter() - started


def prepare(app: Any) -> tuple[float, float]:
    """Indexes added since the data was generated (create_all skips existing tables),
    then the roll-up of every closed day; returns the seconds each took."""
    with app.app_context():
        started = time.perf_counter()
        for index in Ticket.__table__.indexes:
            index.create(db.engine, checkfirst=True)
        # Statistics (and on PostgreSQL the visibility map for index-only scans), as
        # autovacuum would have them on a server running for a year.
        analyze = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(analyze))
        indexed = time.perf_counter() - started
        started = time.perf_counter()
        rollup.ensure_all(db.session, LAST_DAY, "Asia/Jakarta", NOW)
        return indexed, time.perf_counter() - started


def desks() -> dict[int, list[tuple[int, int | None]]]:
    """For each service, the counters that serve it (any counter of its agency when
    none is named), each staffed by one of the agency's officers."""
    officers: dict[int, list[int]] = {}
    for user_id, agency_id in db.session.execute(
            select(User.id, User.agency_id).where(User.role == "officer").order_by(User.id)):
        officers.setdefault(agency_id, []).append(user_id)
    counters: dict[int, list[int]] = {}
    for counter_id, agency_id in db.session.execute(
            select(Counter.id, Counter.agency_id).order_by(Counter.id)):
        counters.setdefault(agency_id, []).append(counter_id)
    staffed: dict[int, int | None] = {}
    for agency_id, ids in counters.items():
        people: list[int | None] = list(officers.get(agency_id, [])) or [None]
        for index, counter_id in enumerate(ids):
            staffed[counter_id] = people[index % len(people)]
    served: dict[int, list[int]] = {}
    for counter_id, service_id in db.session.execute(select(counter_services)):
        served.setdefault(service_id, []).append(counter_id)
    out = {}
    for service_id, agency_id in db.session.execute(select(Service.id, Service.agency_id)):
        ids = served.get(service_id) or counters.get(agency_id) or [None]
        out[service_id] = [(counter_id, staffed.get(counter_id)) for counter_id in ids]
    return out


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it on SQLite: naive UTC text with microseconds."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _insert_sqlite(rows: Any) -> None:
    """Plain executemany of tuples: ten times faster than ORM dicts for 2M rows."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        sql = f"INSERT INTO tickets ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(tuple(_sqlite_value(row[c]) for c in COLUMNS))
            if len(batch) == 100_000:
                cursor.executemany(sql, batch)
                batch.clear()
        cursor.executemany(sql, batch)
        cursor.execute("COMMIT")
    finally:
        raw.close()


def _copy_postgres(rows: Any, total: int) -> None:
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        copy = f"COPY tickets ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        for written, row in enumerate(rows, start=1):
            writer.writerow([r"\N" if row[c] is None else row[c] for c in COLUMNS])
            if written % 200_000 == 0 or written == total:
                buffer.seek(0)
                cursor.copy_expert(copy, buffer)
                buffer = io.StringIO()
                writer = csv.writer(buffer)
        raw.commit()
    finally:
        raw.close()


def cases(app: Any) -> list[tuple[str, reports.ReportFilter, str | None]]:
    with app.app_context():
        busiest = db.session.execute(
            select(Ticket.agency_id).group_by(Ticket.agency_id).order_by(func.count().desc()).limit(1)
        ).scalar_one()
        service = db.session.execute(
            select(Ticket.service_id).where(Ticket.agency_id == busiest).limit(1)).scalar_one()
    year = LAST_DAY - dt.timedelta(days=DAYS - 1)
    month = LAST_DAY - dt.timedelta(days=29)
    week = LAST_DAY - dt.timedelta(days=6)
    return [
        ("year, whole MPP, per agency", reports.ReportFilter(year, LAST_DAY), None),
        ("year, busiest agency, per service",
         reports.ReportFilter(year, LAST_DAY, agency_ids=(busiest,)), None),
        ("year, one service", reports.ReportFilter(year, LAST_DAY, service_ids=(service,)), None),
        ("year, whole MPP, per officer", reports.ReportFilter(year, LAST_DAY), "officer"),
        ("month, whole MPP", reports.ReportFilter(month, LAST_DAY), None),
        ("week, whole MPP", reports.ReportFilter(week, LAST_DAY), None),
    ]


def time_reports(app: Any, label: str) -> list[tuple[str, str, float, int]]:
    out = []
    for name, chosen, by in cases(app):
        with app.app_context():
            reports.build(db.session, chosen, "Asia/Jakarta", by, today=LAST_DAY, now=NOW)  # warm-up
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                report = reports.build(db.session, chosen, "Asia/Jakarta", by, today=LAST_DAY, now=NOW)
                best = min(best, time.perf_counter() - started)
                db.session.rollback()
            out.append((label, name, best, report.totals.legs))
    return out


def postgres_database(url: str, drop: bool) -> str:
    url = make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'antrian_bench'")).first()
        if exists and drop:
            conn.execute(text("DROP DATABASE antrian_bench WITH (FORCE)"))
            exists = None
        if not exists:
            conn.execute(text("CREATE DATABASE antrian_bench"))
    admin.dispose()
    return make_url(url).set(database="antrian_bench", drivername="postgresql+psycopg2").render_as_string(
        hide_password=False)


def print_prepared(label: str, indexed: float, rolled: float) -> None:
    print(f"{label}: indexes ready in {indexed:.0f} s; closed days rolled up in {rolled:.1f} s "
          "(0 when done by an earlier run)", flush=True)


def print_table(results: list[tuple[str, str, float, int]]) -> None:
    print()
    print(f"{'database':<11} {'report':<36} {'legs':>10} {'seconds':>8}")
    print("-" * 68)
    for label, name, seconds, legs in results:
        print(f"{label:<11} {name:<36} {legs:>10,} {seconds:>8.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=2_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (any database on it)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--drop", action="store_true", help="start from empty databases")
    args = parser.parse_args()

    if not args.no_sqlite:
        data = ROOT / "bench" / ".data"
        data.mkdir(exist_ok=True)
        path = data / f"reports-{args.tickets}.db"
        if args.drop:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        app = make_site(f"sqlite:///{path}")
        took = fill(app, args.tickets)
        if took:
            print(f"SQLite: inserted {args.tickets:,} tickets in {took:.0f} s")
        print_prepared("SQLite", *prepare(app))
        print_table(time_reports(app, "SQLite"))
    if args.postgres:
        app = make_site(postgres_database(args.postgres, args.drop))
        took = fill(app, args.tickets)
        if took:
            print(f"PostgreSQL: inserted {args.tickets:,} tickets in {took:.0f} s")
        print_prepared("PostgreSQL", *prepare(app))
        print_table(time_reports(app, "PostgreSQL"))

if __name__ == "__main__":
    main()
