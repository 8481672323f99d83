"""The audit trail of administrative changes.

Only the fields that changed are kept, before and after, so the log reads as
"quota 3 -> 5". Secrets are never written: a password or key hash that
changed is recorded as "(changed)" on both sides.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ...models import AuditEntry

SECRET_FIELDS = frozenset({"password_hash", "key_hash", "password", "key"})
CHANGED = "(changed)"


def _plain(value: Any) -> Any:
    """JSON-safe copies: sets and tuples become sorted lists."""
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose value differs, as (before, after) dicts with secrets masked."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        a, b = _plain(before.get(key)), _plain(after.get(key))
        if a == b:
            continue
        if key in SECRET_FIELDS:
            old[key] = CHANGED if key in before else None
            new[key] = CHANGED
        else:
            old[key], new[key] = a, b
    return old, new


def write(session: Session, at: dt.datetime, user_id: int | None, action: str, kind: str,
          entity_id: int | None, code: str, before: dict[str, Any],
          after: dict[str, Any]) -> AuditEntry:
    """Add one audit entry for a change (fields already diffed or summarised)."""
    for key in SECRET_FIELDS:
        for side in (before, after):
            if side.get(key) not in (None, CHANGED):
                side[key] = CHANGED
    entry = AuditEntry(at=at, user_id=user_id, action=action, entity_kind=kind,
                       entity_id=entity_id, entity_code=code[:80], before=before, after=after)
    session.add(entry)
    return entry
