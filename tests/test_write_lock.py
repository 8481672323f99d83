"""database.begin_write on SQLite: the write lock up front, also after a request has read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import make_app

from queue_server.database import WRITE_OPTION, begin_write
from queue_server.extensions import db
from queue_server.models import Service


@pytest.fixture()
def sqlite_app(tmp_path: Path, clock):  # type: ignore[no-untyped-def]
    app = make_app(f"sqlite:///{tmp_path / 'lock.db'}", clock)
    yield app, tmp_path / "lock.db"
    with app.app_context():
        db.engine.dispose()


def other_writer(path: Path) -> sqlite3.Connection:
    """Another connection that gives up at once instead of waiting for the lock."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    return conn


def test_after_a_read_the_same_connection_takes_the_write_lock_and_reads_again(sqlite_app) -> None:  # type: ignore[no-untyped-def]
    """A request reads (as authentication does), another connection then changes a row
    it read, and begin_write follows: the request now holds the write lock (the
    other connection is refused), it sees the other's change instead of its stale
    copy, and what it writes is committed."""
    app, path = sqlite_app
    with app.app_context():
        service = db.session.execute(db.select(Service).order_by(Service.id)).scalars().first()
        connection_before = db.session.connection()
        first_name = service.name

        other = other_writer(path)
        other.execute("UPDATE services SET name = 'Renamed meanwhile' WHERE id = ?", (service.id,))

        begin_write(db.session)
        assert db.session.connection() is connection_before  # upgraded in place
        assert connection_before.get_execution_options()[WRITE_OPTION] is True
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        assert service.name == "Renamed meanwhile" != first_name  # read again under the lock

        service.name = "Written under the lock"
        begin_write(db.session)  # a second call keeps the transaction
        db.session.commit()
        other.execute("BEGIN IMMEDIATE")  # the lock is free again
        assert other.execute("SELECT name FROM services WHERE id = ?",
                             (service.id,)).fetchone() == ("Written under the lock",)
        other.execute("ROLLBACK")
        other.close()


def test_a_fresh_session_begins_as_a_writer(sqlite_app) -> None:  # type: ignore[no-untyped-def]
    app, path = sqlite_app
    with app.app_context():
        begin_write(db.session)
        other = other_writer(path)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        db.session.rollback()
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        other.close()
