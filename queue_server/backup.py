"""Online backups: a consistent copy of the database taken while the server runs.

SQLite: the sqlite3 online backup API copies every page in one step inside a
read transaction, so the copy is one moment of the database (WAL contents
included) while the server keeps writing; it is checked with
``PRAGMA integrity_check`` before it takes its final name.

PostgreSQL: ``pg_dump`` (custom format, restored with ``pg_restore``) is run
when it is installed: it is the tool that knows the server's version and
takes a consistent snapshot; without it the command refuses and names the
documented command (docs/deployment.md).

A backup is written beside its destination as ``*.partial`` and renamed only
when complete, so an interrupted run never leaves a file that looks good.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.engine import URL


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    tickets: int | None  # ticket rows in the copy (SQLite), None when not counted


def _destination(dest: Path, suffix: str, now: dt.datetime) -> Path:
    """A directory gets a time-stamped file; an existing file is never overwritten."""
    if dest.is_dir():
        dest = dest / f"antrian-{now:%Y%m%d-%H%M%S}{suffix}"
    if dest.exists():
        raise BackupError(f"{dest} already exists; choose another name or a directory")
    if not dest.parent.is_dir():
        raise BackupError(f"directory {dest.parent} does not exist")
    return dest


def _finish(partial: Path, dest: Path) -> None:
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, dest)


def backup_sqlite(database: Path, dest: Path) -> Backup:
    """Copy a live SQLite database into ``dest`` with the online backup API."""
    if not database.is_file():
        raise BackupError(f"no SQLite database at {database}")
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(database)) as source, \
                contextlib.closing(sqlite3.connect(partial)) as copy:
            source.execute("PRAGMA busy_timeout=30000")
            source.backup(copy)  # pages=-1: all pages in one step, one consistent moment
            check = copy.execute("PRAGMA integrity_check").fetchall()
            if check != [("ok",)]:
                raise BackupError(f"the copy failed its integrity check: {check[:5]}")
            tickets = copy.execute("SELECT count(*) FROM tickets").fetchone()[0]
        _finish(partial, dest)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Backup(dest, dest.stat().st_size, int(tickets))


def pg_dump_command(url: URL, dest: Path) -> tuple[list[str], dict[str, str]]:
    """The pg_dump call and its environment (the password goes there, not on the command line)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return ["pg_dump", "--format=custom", "--no-owner", f"--file={dest}", f"--dbname={plain}"], env


def backup_postgres(url: URL, dest: Path) -> Backup:
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed here. Install the PostgreSQL client of the "
                          "server's version (apt install postgresql-client) or run on the database "
                          "host: pg_dump --format=custom --no-owner --file=antrian.dump DBNAME "
                          "(see docs/deployment.md, Backups)")
    partial = dest.with_name(dest.name + ".partial")
    command, env = pg_dump_command(url, partial)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        _finish(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(dest, dest.stat().st_size, None)


def backup(database_url: str, dest: Path, now: dt.datetime | None = None) -> Backup:
    """Back up the database at ``database_url`` to ``dest`` (a new file or a directory)."""
    url = make_url(database_url)
    now = now or dt.datetime.now()
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        return backup_sqlite(Path(url.database), _destination(dest, ".db", now))
    if url.get_backend_name() == "postgresql":
        return backup_postgres(url, _destination(dest, ".dump", now))
    raise BackupError(f"no backup method for {url.get_backend_name()} databases")
