"""Ticket prefixes belong to one agency: a display never shows two different
"A012"s. Services of an agency may share its prefix or have their own."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Agency, Service


def owners(session: Session) -> dict[str, set[int]]:
    """Each prefix in use and the agencies using it (agency or service prefix)."""
    out: dict[str, set[int]] = {}
    for prefix, agency_id in session.execute(select(Agency.prefix, Agency.id)):
        out.setdefault(prefix, set()).add(agency_id)
    for prefix, agency_id in session.execute(select(Service.prefix, Service.agency_id)):
        out.setdefault(prefix, set()).add(agency_id)
    return out


def other_owner(session: Session, prefix: str, agency_id: int | None) -> Agency | None:
    """Another agency already using ``prefix``, or None when it is free for this one."""
    others = owners(session).get(prefix, set()) - {agency_id}
    return session.get(Agency, min(others)) if others else None


def clashes(session: Session) -> dict[str, list[str]]:
    """Prefixes used by more than one agency, with the agency codes (for imports)."""
    codes = {i: code for i, code in session.execute(select(Agency.id, Agency.code))}
    return {prefix: sorted(codes[a] for a in ids)
            for prefix, ids in sorted(owners(session).items()) if len(ids) > 1}
