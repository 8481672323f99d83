"""Daily ticket numbers: prefix + zero-padded sequence, reset at local midnight.

The sequence row is incremented with a single ``UPDATE ... RETURNING`` inside
the issuing transaction, so concurrent kiosks serialise on that row (a row lock
on PostgreSQL, the write lock on SQLite) and a rolled-back issue gives its
number back: never duplicated, never skipped.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import NumberSequence

NUMBER_WIDTH = 3


def format_number(prefix: str, sequence: int) -> str:
    """A001 .. A999, then A1000: zero-padded to three digits, never truncated."""
    return f"{prefix}{sequence:0{NUMBER_WIDTH}d}"


def next_sequence(session: Session, prefix: str, day: dt.date) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(NumberSequence)
        .values(prefix=prefix, service_day=day, last_number=0)
        .on_conflict_do_nothing(index_elements=["prefix", "service_day"])
    )
    return session.execute(
        update(NumberSequence)
        .where(NumberSequence.prefix == prefix, NumberSequence.service_day == day)
        .values(last_number=NumberSequence.last_number + 1)
        .returning(NumberSequence.last_number)
    ).scalar_one()
