"""Keep Python's full garbage collections short in a long-running server.

A full (oldest-generation) collection walks every object the process keeps:
the app, SQLAlchemy's mappers and caches, the site's agencies and services,
every open Socket.IO connection. Measured on a server with 200 connected
clients (docs/performance.md), each one stopped the whole process for 30-150 ms,
every half minute or so: every call announced in that moment waited for it.
Objects alive once the server has started and warmed up stay alive until it
stops, so they are moved out of the collector's sight (``gc.freeze``): the full
collections then only walk what came later.

A request allocates thousands of short-lived objects that reference counting
frees at once; at Python's default (a young collection every 700 net
allocations, an older one every tenth of those) a single call set off several
collections while it was being announced. Collecting the young generation
every 50,000 allocations instead made the slowest announcements of a
100-call run 50-67 ms rather than 89-108 ms (docs/performance.md); cyclic
garbage waits a little longer, a few megabytes at most.
"""

from __future__ import annotations

import gc
import threading

WARM_UP_SECONDS = 60.0  # lazily built caches (compiled SQL, templates) settle by then
YOUNG_THRESHOLD = 50_000  # allocations between collections of the youngest generation


def freeze_long_lived() -> None:
    """Collect what is garbage now, then exempt everything left from later collections."""
    gc.collect()
    gc.freeze()


def settle(after_warm_up: float | None = WARM_UP_SECONDS) -> None:
    """Freeze the started app's objects now, and once more after the first requests
    built the caches they fill lazily (None: only now). Called by ``antrian serve`` and
    by each gunicorn worker, after the app is created.

    The second time without collecting first: a full collection then would be
    the very pause this avoids, in the middle of the day's first calls. What is
    garbage at that instant stays (a few requests' worth, once)."""
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    freeze_long_lived()
    if after_warm_up:
        timer = threading.Timer(after_warm_up, gc.freeze)
        timer.daemon = True
        timer.start()
