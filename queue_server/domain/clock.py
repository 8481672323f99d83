"""Injectable time source, so day rollover and opening hours can be tested."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Current time as an aware UTC datetime."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock tests set and advance by hand."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._at.astimezone(dt.UTC)

    def set(self, at: dt.datetime) -> None:
        with self._lock:
            self._at = at

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._at = self._at + dt.timedelta(**delta)


def local_now(clock: Clock, timezone: str) -> dt.datetime:
    return clock.now().astimezone(ZoneInfo(timezone))


def service_day(clock: Clock, timezone: str) -> dt.date:
    """The local calendar day numbers belong to: it turns at local midnight."""
    return local_now(clock, timezone).date()
