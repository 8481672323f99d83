"""Gunicorn settings from the same environment variables as ``antrian serve``.

    gunicorn -c python:queue_server.gunicorn_conf queue_server.wsgi:app   (make serve-prod)

The worker class follows ANTRIAN_ASYNC_MODE: ``gevent`` (the production
default, see docs/deployment.md), ``threading`` (gunicorn's gthread worker,
one thread per open WebSocket) or ``eventlet`` (only with a gunicorn older
than 26, which still has that worker; otherwise run ``antrian serve``).
Loaded by the gunicorn master; imports nothing from the application.
"""

from __future__ import annotations

import os

from gunicorn.workers import SUPPORTED_WORKERS

PRODUCTION_MODE = "gevent"
WORKER_CLASSES = {"gevent": "gevent", "threading": "gthread", "eventlet": "eventlet"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None


mode = os.environ.get("ANTRIAN_ASYNC_MODE") or PRODUCTION_MODE
if mode not in WORKER_CLASSES:
    raise SystemExit(f"ANTRIAN_ASYNC_MODE must be one of {', '.join(WORKER_CLASSES)}, not {mode!r}")
if WORKER_CLASSES[mode] not in SUPPORTED_WORKERS:
    raise SystemExit(f"this gunicorn has no {mode} worker (gunicorn 26 removed eventlet's): "
                     "set ANTRIAN_ASYNC_MODE=gevent, or serve with `antrian serve`")
# The workers read it again (wsgi.py, settings.py): they must agree with the worker class.
os.environ["ANTRIAN_ASYNC_MODE"] = mode

workers = _int("ANTRIAN_WORKERS", 1)
if workers > 1 and not os.environ.get("SOCKETIO_MESSAGE_QUEUE"):
    raise SystemExit("ANTRIAN_WORKERS > 1 needs SOCKETIO_MESSAGE_QUEUE (Redis): otherwise a call "
                     "made on one worker never reaches the displays connected to another")

bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{_int('PORT', 5000)}"]
worker_class = WORKER_CLASSES[mode]
worker_connections = _int("ANTRIAN_WORKER_CONNECTIONS", 1000)  # gevent: open connections per worker
threads = _int("ANTRIAN_THREADS", 200)  # gthread: each WebSocket holds one thread
# Socket.IO pings every 25 s; a worker silent for longer than this is restarted.
timeout = _int("ANTRIAN_WORKER_TIMEOUT", 60)
# A WebSocket never ends by itself: on restart, requests get this long, then clients reconnect.
graceful_timeout = _int("ANTRIAN_GRACEFUL_TIMEOUT", 5)
keepalive = 5
preload_app = False  # each worker builds the app and starts its own background tasks
# Trust X-Forwarded-* from the local nginx only.
forwarded_allow_ips = os.environ.get("ANTRIAN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("ANTRIAN_ACCESS_LOG") or None
errorlog = "-"
proc_name = "antrian"
# Several instances on one host (one per port behind nginx) would share ~/.gunicorn/gunicorn.ctl.
control_socket_disable = True
