"""Rate limits (Flask-Limiter) on the three doors a machine could hammer.

* Issuing tickets, per kiosk: a stuck touchscreen, a broken retry loop or a
  script holding a kiosk key must not empty a service's daily quota.
* Logins (``/auth/login`` and ``POST /api/v1/auth/token``), per address and
  username and per address: passwords must not be guessed at machine speed.
  Only failed attempts count, so staff who log in often are never stopped.
* The public ticket status (``/t/<token>``, its QR code, its JSON), per
  address: anyone may ask, so nobody may ask without end.

The numbers are settings (``RATELIMIT_*``, see settings.py and
docs/security.md), read on every request, so an empty rule switches one limit
off. Counters live in memory in one process, or in Redis when several
processes serve (``SOCKETIO_MESSAGE_QUEUE`` or ``ANTRIAN_RATELIMIT_STORAGE``)
so the limits hold across them. A limiter must never stop the MPP: when Redis
does not answer, each process counts in memory instead (fail open).

Views are marked with :func:`rate_limited`; :func:`init_app` gives every app
its own limiter and wraps the marked views, so apps (and tests) never share
counters by accident.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, Response, current_app, flash, g, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter, RateLimitExceeded, RouteLimit
from limits import parse_many

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
MARK = "_antrian_rate_limit"
EXTENSION = "antrian_limiter"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# A limiter that waits on a dead Redis would stall every kiosk: give up fast on connecting,
# then count in memory. An answer gets longer: a busy process may read a live Redis's
# reply late (1,000 clients on one process timed out at 0.5 s, docs/performance.md).
REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 2.0}

MESSAGES: dict[str, Any] = {
    "issue": _l("This kiosk has issued too many tickets in a short time. Please wait %(seconds)s "
                "seconds and try again."),
    "login": _l("Too many failed logins. Please wait %(seconds)s seconds and try again."),
    "status": _l("Too many requests. Please wait %(seconds)s seconds and try again."),
}


# -- who is counted ------------------------------------------------------------


def client_ip() -> str:
    """The caller's address (behind a reverse proxy, configure ProxyFix so this is the visitor's)."""
    return request.remote_addr or "unknown"


def kiosk_identity() -> str:
    """The device sending the request (by key or by its bound cookie), else the address.

    Resolved without the API's CSRF check: the limiter runs before the guards,
    which still refuse the request properly afterwards.
    """
    if "rate_limit_device" not in g:
        from .auth.principal import current
        from .extensions import db

        try:
            device = current(db.session, current_app.extensions["antrian_clock"].now()).device
        except Exception:  # noqa: BLE001  (database trouble: the guards answer 503 right after)
            db.session.rollback()
            device = None
        g.rate_limit_device = f"device:{device.id}" if device is not None else f"ip:{client_ip()}"
    return str(g.rate_limit_device)


def login_username() -> str:
    """The username a login attempt names, from the form or the JSON body."""
    if request.mimetype in FORM_TYPES:
        name: Any = request.form.get("username", "")
    else:
        try:
            body = request.get_json(force=True, silent=True)
        except RecursionError:  # nested thousands deep; the view answers invalid_json
            body = None
        name = body.get("username", "") if isinstance(body, dict) else ""
    return str(name)[:60].strip().lower()


def login_identity() -> str:
    return f"{client_ip()}|{login_username()}"


def failed_login(response: Response) -> bool:
    return response.status_code == 401


# -- the rules -----------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    setting: str  # app.config key holding "N/period[;N/period...]"; empty = off
    scope: str  # views sharing a scope share the counter
    key: Callable[[], str]
    count_only: Callable[[Response], bool] | None = None  # None: every request counts
    methods: tuple[str, ...] | None = None  # None: every method


RULES: dict[str, tuple[Rule, ...]] = {
    "issue": (Rule("RATELIMIT_ISSUE", "issue", kiosk_identity),),
    "login": (
        Rule("RATELIMIT_LOGIN", "login", login_identity, failed_login, ("POST",)),
        Rule("RATELIMIT_LOGIN_IP", "login-ip", client_ip, failed_login, ("POST",)),
    ),
    "status": (Rule("RATELIMIT_STATUS", "status", client_ip),),
}


def rate_limited(kind: str) -> Callable[[F], F]:
    """Mark a view for the limits named ``kind`` (a key of RULES); init_app applies them."""
    if kind not in RULES:
        raise ValueError(f"unknown rate limit {kind!r}")

    def mark(view: F) -> F:
        setattr(view, MARK, kind)
        return view

    return mark


def _configured(setting: str) -> Callable[[], str]:
    return lambda: str(current_app.config.get(setting) or "")


def check_rules(config: dict[str, Any]) -> None:
    """Refuse a mistyped limit at start-up (Flask-Limiter would skip it silently)."""
    for rules in RULES.values():
        for rule in rules:
            value = config.get(rule.setting) or ""
            try:
                parse_many(value) if value else None
            except ValueError:
                raise ValueError(f"{rule.setting} = {value!r} is not a rate limit such as "
                                 "'30/minute' or '30/minute;300/hour'") from None


def storage_uri(config: dict[str, Any]) -> str:
    """ANTRIAN_RATELIMIT_STORAGE, else the Socket.IO message queue's Redis, else memory."""
    return str(config.get("RATELIMIT_STORAGE_URI") or config.get("SOCKETIO_MESSAGE_QUEUE")
               or "memory://")


def key_prefix(config: dict[str, Any]) -> str:
    """Counters are per database: two sites (or test runs) sharing one Redis never mix."""
    database = str(config.get("SQLALCHEMY_DATABASE_URI", ""))
    return "antrian-" + hashlib.sha256(database.encode()).hexdigest()[:12]


# -- wiring --------------------------------------------------------------------


def init_app(app: Flask) -> Limiter:
    """Create this app's limiter and wrap the marked views (after every blueprint is registered)."""
    config = app.config
    check_rules(config)
    uri = storage_uri(config)
    limiter = Limiter(
        client_ip,
        strategy="moving-window",  # exact: no double burst at a window's edge
        storage_uri=uri,
        storage_options=REDIS_OPTIONS if uri.startswith(("redis", "rediss")) else {},
        key_prefix=key_prefix(config),
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        headers_enabled=False,  # Retry-After is set on the 429 only
        enabled=bool(config.get("RATELIMIT_ENABLED", True)),
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(RateLimitExceeded, _refused)
    if not limiter.enabled:
        return limiter
    limits = {kind: [_route_limit(limiter, rule) for rule in rules] for kind, rules in RULES.items()}
    for endpoint, view in list(app.view_functions.items()):
        kind = getattr(view, MARK, None)
        if kind is None:
            continue
        for limit in limits[kind]:
            view = limit(view)
        app.view_functions[endpoint] = view
    return limiter


def _route_limit(limiter: Limiter, rule: Rule) -> RouteLimit:
    return limiter.shared_limit(
        _configured(rule.setting), scope=rule.scope, key_func=rule.key,
        deduct_when=rule.count_only, methods=list(rule.methods) if rule.methods else None,
    )


# -- the refusal ---------------------------------------------------------------


def retry_after(exc: RateLimitExceeded) -> int:
    """Whole seconds until the breached limit lets the next request through."""
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    try:
        current = limiter.current_limit if limiter is not None else None
        if current is not None and current.breached:
            return max(1, math.ceil(current.window[0] - time.time()))
    except Exception:  # noqa: BLE001  (storage gone meanwhile: the window length is a safe answer)
        log.warning("rate limit storage did not answer while computing Retry-After")
    return max(1, int(exc.limit.limit.get_expiry()))


def _refused(exc: RateLimitExceeded) -> Response:
    """429 with Retry-After: the API's error shape, the login form, or a short page."""
    seconds = retry_after(exc)
    scope = str(exc.limit.scope or "")
    message = str(MESSAGES.get(scope.split("-")[0], MESSAGES["status"]) % {"seconds": seconds})
    if request.path.startswith("/api/"):
        from .api.errors import error_response

        response, _status = error_response(429, "rate_limited", message, retry_after=seconds)
    elif request.endpoint == "auth.login":
        from .auth.forms import LoginForm

        flash(message, "error")
        response = make_response(render_template("auth/login.html", form=LoginForm()))
    else:
        response = make_response(render_template("rate_limited.html", message=message))
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"  # the address holds a ticket token
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return response
