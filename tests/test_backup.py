"""`antrian backup` while the server keeps issuing tickets, and the documented restores.

SQLite: the copy is taken by a separate `antrian backup` process while a
live server commits tickets; it must pass the integrity check, hold every
ticket acknowledged before the backup began, be one consistent moment (the
number sequence agrees with the tickets), and serve them once a server runs on
it. PostgreSQL: `antrian backup` (pg_dump) and the documented pg_restore
round-trip the tickets.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import KIOSK_KEY, postgres_url, reset_postgres
from live_server import ANTRIAN, LiveServer, live_server_factory  # noqa: F401
from realtime_client import Api, wait_past_jakarta_midnight, wait_until
from sqlalchemy import create_engine, make_url, text

NO_LIMITS = {"ANTRIAN_RATELIMIT_ENABLED": "0"}  # the issuing loop goes faster than a kiosk may


@pytest.fixture(autouse=True)
def _not_at_jakarta_midnight() -> None:
    wait_past_jakarta_midnight()


class Issuer:
    """Issues tickets in a thread until stopped; remembers every acknowledged one."""

    def __init__(self, server: LiveServer, service: int) -> None:
        self.server, self.service = server, service
        self.issued: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        http = requests.Session()
        while not self._stop.is_set():
            res = http.post(self.server.url("/api/v1/tickets"), json={"service_id": self.service},
                            headers={"Authorization": f"Bearer {KIOSK_KEY}"}, timeout=30)
            with self._lock:
                if res.status_code == 201:
                    self.issued.append(res.json())
                else:
                    self.errors.append(f"{res.status_code} {res.text[:200]}")

    def count(self) -> int:
        with self._lock:
            return len(self.issued)

    def acknowledged(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.issued)

    def __enter__(self) -> Issuer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def run_backup(env: dict[str, str], dest: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(ANTRIAN), "backup", str(dest)], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_sqlite_backup_while_issuing_is_consistent_and_restores(live_server_factory, tmp_path) -> None:  # noqa: F811
    server = live_server_factory("source", env=NO_LIMITS)
    service = Api(server.base_url).service_id("DUKCAPIL", "KTP")
    dest = tmp_path / "backup.db"
    with Issuer(server, service) as issuer:
        wait_until(lambda: issuer.count() >= 10, 60, "10 tickets issued")
        before = issuer.acknowledged()  # committed: their 201 came back
        done = run_backup(server.env, dest)
        after_backup = issuer.count()
        wait_until(lambda: issuer.count() >= after_backup + 5, 30, "issuing to go on after the backup")
    assert not issuer.errors, issuer.errors[:3]
    assert f"Backup written to {dest}" in done.stdout

    with contextlib.closing(sqlite3.connect(dest)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = dict(copy.execute("SELECT token, number FROM tickets WHERE leg = 1").fetchall())
        [(last,)] = copy.execute("SELECT last_number FROM number_sequences WHERE prefix = 'A'").fetchall()
    assert {t["token"]: t["number"] for t in before}.items() <= rows.items()
    everything = {t["token"]: t["number"] for t in issuer.acknowledged()}
    assert rows.items() <= everything.items()
    assert len(rows) < len(everything)  # the issuing went on past the copy
    # One moment: the numbers are A001..A<last>, no gap, and the sequence agrees.
    assert sorted(rows.values()) == [f"A{n:03d}" for n in range(1, last + 1)]

    # Restore (docs/deployment.md): a stopped server's file replaced by the copy.
    server.stop()
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    shutil.copyfile(dest, restored_dir / "antrian.db")
    restored = live_server_factory("restored", init=False, env=NO_LIMITS)
    for token, number in rows.items():
        res = requests.get(restored.url(f"/api/v1/tickets/{token}"), timeout=10)
        assert res.status_code == 200, res.text
        assert res.json()["number"] == number
    nxt = Api(restored.base_url).issue(service)
    assert nxt["number"] == f"A{last + 1:03d}"


@pytest.mark.postgres
def test_postgres_backup_round_trips_with_pg_restore(live_server_factory, tmp_path) -> None:  # noqa: F811
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore not installed")
    url = postgres_url()
    reset_postgres(url)
    env = {"DATABASE_URL": url, **NO_LIMITS}
    server = live_server_factory("pg", env=env)
    api = Api(server.base_url)
    service = api.service_id("DUKCAPIL", "KTP")
    tickets = [api.issue(service) for _ in range(5)]
    dest = tmp_path / "antrian.dump"
    run_backup(server.env, dest)
    server.stop()

    # The documented restore: an empty database, then pg_restore.
    reset_postgres(url)
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={plain}", str(dest)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT token, number FROM tickets")).all())
    finally:
        engine.dispose()
    assert rows == {t["token"]: t["number"] for t in tickets}

    restored = live_server_factory("pg-restored", init=False, env=env)
    res = requests.get(restored.url(f"/api/v1/tickets/{tickets[-1]['token']}"), timeout=10)
    assert res.status_code == 200 and res.json()["number"] == tickets[-1]["number"]
    assert Api(restored.base_url).issue(service)["number"] == f"A{len(tickets) + 1:03d}"
