"""Daily ticket numbers: prefix + zero-padded sequence, reset at local midnight.

The sequence row is created or incremented with a single ``INSERT ... ON
CONFLICT DO UPDATE ... RETURNING`` inside the issuing transaction, so
concurrent kiosks serialise on that row (a row lock on PostgreSQL, the write
lock on SQLite) and a rolled-back issue gives its number back: never
duplicated, never skipped.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Insert, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import NumberSequence

NUMBER_WIDTH = 3


def format_number(prefix: str, sequence: int) -> str:
    """A001 .. A999, then A1000: zero-padded to three digits, never truncated."""
    return f"{prefix}{sequence:0{NUMBER_WIDTH}d}"


def _upsert(insert: type) -> Insert:
    table = NumberSequence.__table__
    stmt = insert(table).values(prefix=bindparam("prefix"), service_day=bindparam("day"),
                                         last_number=1)
    return stmt.on_conflict_do_update(
        index_elements=["prefix", "service_day"],
        set_={"last_number": table.c.last_number + 1},
    ).returning(table.c.last_number)


# Built once per dialect: every issue runs it.
_NEXT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def next_sequence(session: Session, prefix: str, day: dt.date) -> int:
    """The day's next number of ``prefix`` (1 for the first), in one statement."""
    stmt = _NEXT[session.get_bind().dialect.name]
    # On the session's connection, past the ORM: it has no object to track here.
    return session.connection().execute(stmt, {"prefix": prefix, "day": day}).scalar_one()
