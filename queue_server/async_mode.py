"""Make the standard library and psycopg2 cooperate with the async mode.

Eventlet and gevent run every request on one OS thread. Blocking calls the
library cannot see (a socket made before the patch, or psycopg2's C code
waiting on PostgreSQL) would stop the whole server, so this runs before Flask,
SQLAlchemy, redis or psycopg2 users are imported: first by ``antrian serve``
(cli.py) and by the WSGI entry point (wsgi.py). It imports nothing else from
the package for that reason.
"""

from __future__ import annotations

import os
import warnings

from .settings import ASYNC_MODES

DEFAULT_MODE = "eventlet"


def configured_mode() -> str:
    """ANTRIAN_ASYNC_MODE, checked here so a typo fails before anything starts."""
    mode = os.environ.get("ANTRIAN_ASYNC_MODE") or DEFAULT_MODE
    if mode not in ASYNC_MODES:
        raise SystemExit(f"ANTRIAN_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}, not {mode!r}")
    return mode


def patch(mode: str) -> None:
    """Monkey-patch for ``mode`` and make psycopg2 yield while it waits.

    psycogreen installs a psycopg2 wait callback, so a slow query or a row
    lock held elsewhere parks one green thread instead of the event loop.
    gevent needs it (without it one waiting query freezes every request);
    eventlet's monkey_patch() installs an equivalent callback of its own, which
    psycogreen's replaces so the behaviour does not rest on that default.
    Threading mode needs neither: the OS schedules its threads.
    """
    if mode == "eventlet":
        # Eventlet warns on import that it is in maintenance mode; the choice
        # is explained in docs/deployment.md, so do not repeat it every start.
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
    elif mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()


def patch_from_environment() -> str:
    """Patch for ANTRIAN_ASYNC_MODE; returns the mode."""
    mode = configured_mode()
    patch(mode)
    return mode
