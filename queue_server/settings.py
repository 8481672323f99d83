"""Server settings from the environment, with safe defaults for a LAN box.

Every setting is an environment variable so the same code serves `make run`,
systemd units and CI; see docs/deployment notes in README.md.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

ASYNC_MODES = ("eventlet", "gevent", "threading")


def _secret_key(instance: Path) -> str:
    """ANTRIAN_SECRET_KEY, else a random key kept in instance/ across restarts."""
    if os.environ.get("ANTRIAN_SECRET_KEY"):
        return os.environ["ANTRIAN_SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _optional_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def from_environment(instance_path: str) -> dict[str, Any]:
    instance = Path(instance_path)
    env = os.environ.get("ANTRIAN_ENV", "development")
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'antrian.db'}"
    for plain in ("postgres://", "postgresql://"):
        # psycopg2 is the driver we ship (psycogreen can make it cooperate with eventlet).
        if database_url.startswith(plain):
            database_url = "postgresql+psycopg2://" + database_url[len(plain):]
    return {
        "ANTRIAN_ENV": env,
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Database connections kept per process (database.POOL_SIZES: the defaults per database).
        "DB_POOL_SIZE": _optional_int("ANTRIAN_DB_POOL_SIZE"),
        "DB_MAX_OVERFLOW": _optional_int("ANTRIAN_DB_MAX_OVERFLOW"),
        "SOCKETIO_MESSAGE_QUEUE": os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None,
        # The Redis channel of the processes of one site: two sites (or test runs) sharing one
        # Redis need different channels, else each would get the other's events.
        "SOCKETIO_CHANNEL": os.environ.get("ANTRIAN_SOCKETIO_CHANNEL") or "flask-socketio",
        "ASYNC_MODE": os.environ.get("ANTRIAN_ASYNC_MODE", "eventlet"),
        "MAX_CONTENT_LENGTH": int(os.environ.get("ANTRIAN_MAX_BODY", 64 * 1024)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # A kiosk or display is bound to its device once (see auth.principal.remember_device).
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(days=400),
        # Base of the visitor status link in QR codes; default: the address the kiosk used.
        "PUBLIC_URL": os.environ.get("ANTRIAN_PUBLIC_URL", ""),
        "SESSION_COOKIE_SECURE": env == "production" and os.environ.get("ANTRIAN_HTTPS") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": env == "production" and os.environ.get("ANTRIAN_HTTPS") == "1",
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # counter pages stay open all day
        "BABEL_DEFAULT_LOCALE": "id",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "API_TOKEN_HOURS": int(os.environ.get("ANTRIAN_TOKEN_HOURS", 12)),
        "EXPIRY_INTERVAL_SECONDS": float(os.environ.get("ANTRIAN_EXPIRY_INTERVAL_SECONDS", 60)),
        # Rate limits (queue_server/ratelimit.py, docs/security.md): "N/period" rules joined
        # by ";"; an empty rule switches that limit off, ANTRIAN_RATELIMIT_ENABLED=0 all of them.
        "RATELIMIT_ENABLED": os.environ.get("ANTRIAN_RATELIMIT_ENABLED", "1").lower()
        not in ("0", "false", "off", "no"),
        # Counters shared by several processes: this Redis, else SOCKETIO_MESSAGE_QUEUE's, else memory.
        "RATELIMIT_STORAGE_URI": os.environ.get("ANTRIAN_RATELIMIT_STORAGE") or None,
        "RATELIMIT_ISSUE": os.environ.get("ANTRIAN_RATELIMIT_ISSUE", "30/minute;300/hour"),
        "RATELIMIT_LOGIN": os.environ.get("ANTRIAN_RATELIMIT_LOGIN", "10/minute"),
        "RATELIMIT_LOGIN_IP": os.environ.get("ANTRIAN_RATELIMIT_LOGIN_IP", "30/minute"),
        "RATELIMIT_STATUS": os.environ.get("ANTRIAN_RATELIMIT_STATUS", "300/minute"),
        # Reverse proxies in front of the server (nginx: 1) whose X-Forwarded-For/-Proto/-Host
        # are trusted; 0 (direct, `antrian serve` on the LAN) ignores those headers.
        "PROXY_COUNT": int(os.environ.get("ANTRIAN_PROXY_COUNT", 0)),
    }
