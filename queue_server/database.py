"""Engine set-up shared by every database: SQLite pragmas and write locking.

SQLite allows one writer at a time. A deferred transaction that reads first and
writes later can fail with "database is locked" when another writer got in
between, so writing operations start with ``BEGIN IMMEDIATE`` (they queue on
``busy_timeout`` instead of failing). PostgreSQL uses row locks instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

WRITE_OPTION = "antrian_write"

# Connections kept open per process. Every request holds one from its first
# statement to its end, across the moments it waits on the network; when more
# requests are in flight than the pool keeps, the extra connections are closed
# on return and opened again by the next request (with SQLite's pragmas: a
# tenth of what issuing a ticket costs). SQLite connections are cheap to keep;
# PostgreSQL's count against the server's max_connections for every process.
POOL_SIZES = {"sqlite": (32, 32), "postgresql": (10, 20)}


def engine_options(url: str, pool_size: int | None = None,
                   max_overflow: int | None = None) -> dict[str, Any]:
    """Pool settings for ``url``: per-dialect defaults, or the ones given."""
    parsed = make_url(url)
    dialect = parsed.get_backend_name()
    if dialect == "sqlite" and (parsed.database in (None, "", ":memory:")
                                or parsed.query.get("mode") == "memory"):
        return {}  # one in-memory database per connection: SQLAlchemy's own pool for it
    size, overflow = POOL_SIZES.get(dialect, (5, 10))
    return {"pool_size": size if pool_size is None else pool_size,
            "max_overflow": overflow if max_overflow is None else max_overflow,
            # A server's connections die when it restarts: test each before lending it.
            # A SQLite file's cannot, and the test would cost every request a statement.
            "pool_pre_ping": dialect != "sqlite"}


def configure_engine(engine: Engine) -> None:
    """Install the SQLite pragmas and begin handling; a no-op for other dialects."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: a request begins two or three transactions, and
        # SQLAlchemy's statement machinery costs more than SQLite's BEGIN.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write(session: Session) -> None:
    """Mark the session's coming transaction as a writer.

    Call before the first statement of a writing operation. On SQLite it takes
    the write lock up front; elsewhere it does nothing. If the session already
    holds a read transaction (a request authenticated its caller), that one is
    ended and the write transaction begun on the same connection: every loaded
    row is expired, as a rollback would (callers only read before this point,
    so nothing is lost, and what they read is read again under the lock), but
    the connection stays checked out (a rollback and a new transaction cost
    more than the issue's insert).
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.connection(execution_options={WRITE_OPTION: True})
        return
    conn = session.connection()
    if conn.get_execution_options().get(WRITE_OPTION):
        return
    session.expire_all()
    driver = conn.connection.driver_connection
    driver.execute("ROLLBACK")
    driver.execute("BEGIN IMMEDIATE")
    conn.execution_options(**{WRITE_OPTION: True})  # in place (SQLAlchemy 2): later calls see it


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
