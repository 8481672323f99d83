"""Domain events collected on the session and published after commit.

Publishing before commit could announce a call that is then rolled back;
keeping the events on ``session.info`` lets the caller publish only what
really happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

_KEY = "antrian_domain_events"


@dataclass(frozen=True)
class DomainEvent:
    kind: str  # e.g. "ticket.issued", "ticket.called", "counter.updated"
    ticket_id: int | None = None
    counter_id: int | None = None
    agency_ids: tuple[int, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)


def record(session: Session, event: DomainEvent) -> None:
    session.info.setdefault(_KEY, []).append(event)


def drain(session: Session) -> list[DomainEvent]:
    """Take the recorded events off the session (call after commit)."""
    return session.info.pop(_KEY, [])


def discard(session: Session) -> None:
    """Forget recorded events (call after rollback)."""
    session.info.pop(_KEY, None)
