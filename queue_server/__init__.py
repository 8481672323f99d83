"""Antrian queue server.

Kept free of imports on purpose: ``antrian serve`` must let eventlet or gevent
patch the standard library before Flask or SQLAlchemy are imported, and every
``queue_server.*`` import runs this file first. The factory lives in
:mod:`queue_server.app`.
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`queue_server.app.create_app`."""
    from .app import create_app as factory

    return factory(*args, **kwargs)
