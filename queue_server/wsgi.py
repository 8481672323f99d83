"""The WSGI entry point for gunicorn: ``gunicorn -c python:queue_server.gunicorn_conf queue_server.wsgi:app``.

Gunicorn imports this module in each worker after forking (never with
``--preload``: the background tasks must start in the worker that runs them).
The worker class patches first already; patching again here is harmless and
keeps this module right for any other WSGI server too.
"""

from __future__ import annotations

from .async_mode import patch_from_environment

patch_from_environment()

from .app import create_app  # noqa: E402  (after the patch, on purpose)
from .background import start_background_tasks  # noqa: E402
from .heap import settle  # noqa: E402

app = create_app()
start_background_tasks(app)
settle()
