"""The server freezes its long-lived objects so full collections stay short."""

from __future__ import annotations

import gc
import time

from queue_server import heap


def test_settle_freezes_now_and_again_after_warm_up() -> None:
    threshold = gc.get_threshold()
    try:
        heap.settle(after_warm_up=0.2)
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, *threshold[1:])
        frozen = gc.get_freeze_count()
        assert frozen > 0
        kept = [[n] for n in range(5000)]  # built "while warming up": lists are tracked
        deadline = time.monotonic() + 5
        while gc.get_freeze_count() < frozen + len(kept) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gc.get_freeze_count() >= frozen + len(kept)
        # What is frozen is out of the collector's sight: a full collection walks less.
        assert all(gc.is_tracked(item) for item in kept)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)

