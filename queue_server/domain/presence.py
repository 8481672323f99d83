"""Whether a kiosk, display or print agent is online: plain rules over
``devices.last_seen_at``.

The Socket.IO layer stamps ``last_seen_at`` when a device connects, every
:data:`HEARTBEAT_SECONDS` while its connection lives, and when it leaves.
Keeping presence in the database (not in one process's memory) lets every
server process behind a load balancer answer the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import update
from sqlalchemy.orm import Session

from ..models import Device

HEARTBEAT_SECONDS = 30
# Three missed heartbeats: a device that reconnects after a network blip or a
# server restart never shows as offline in between.
ONLINE_SECONDS = 90


def is_online(last_seen_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Seen within the last ONLINE_SECONDS (a clock a little ahead still counts)."""
    if last_seen_at is None:
        return False
    return now - last_seen_at <= dt.timedelta(seconds=ONLINE_SECONDS)


def touch(session: Session, device_ids: Collection[int], now: dt.datetime) -> int:
    """Stamp devices as seen now; returns how many rows changed. The caller commits."""
    if not device_ids:
        return 0
    result = session.execute(
        update(Device).where(Device.id.in_(sorted(device_ids))).values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
