"""Applying an edit to a row and auditing exactly what changed."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from . import audit


@dataclass(frozen=True)
class Editor:
    """Who makes a change, and when (the audit entry's user and time)."""

    user_id: int | None
    at: dt.datetime


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """Copies of the fields' values (JSON columns are mutable)."""
    return {name: copy.deepcopy(getattr(obj, name)) for name in fields}


def apply(obj: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)


def audited(session: Session, editor: Editor, action: str, kind: str, obj: Any,
            code: str, before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Write the entry for a change; False (and no entry) when nothing changed."""
    old, new = audit.diff(before, after)
    if action == "create":
        old = {}
    elif action == "delete":
        new = {}
    if not new and action == "update":
        return False
    session.flush()
    audit.write(session, editor.at, editor.user_id, action, kind, getattr(obj, "id", None), code,
                old, new)
    return True
