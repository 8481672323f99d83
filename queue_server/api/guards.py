"""Request plumbing for the thin API: who is calling, the JSON body, fields,
and committing with the domain events published afterwards."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request
from werkzeug.exceptions import BadRequest

from ..auth.principal import Principal, current
from ..domain.clock import Clock
from ..domain.events import drain
from ..extensions import db
from ..models import Role
from .errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])


def clock() -> Clock:
    return current_app.extensions["antrian_clock"]


def principal() -> Principal:
    """Who is calling, once the CSRF check a cookie-authenticated write needs has
    passed (remembered only then: a refused check is refused again next time)."""
    if "principal" not in g:
        caller = current(db.session, clock().now())
        if caller.via in ("session", "device_session") and request.method not in ("GET", "HEAD", "OPTIONS"):
            # Cookie-authenticated writes need the CSRF token; bearer callers do not.
            from ..extensions import csrf

            csrf.protect()
        g.principal = caller
    return g.principal  # type: ignore[no-any-return]


def _refuse_anonymous(p: Principal) -> None:
    if p.demo_refused:
        raise ApiError(401, "demo_credential", "demo credentials are refused in production")
    if p.is_anonymous:
        raise ApiError(401, "unauthorized", "log in or send a valid key")


def require_device(*kinds: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            p = principal()
            _refuse_anonymous(p)
            if p.device is None or p.device.kind not in kinds:
                raise ApiError(403, "forbidden", f"only a {' or '.join(kinds)} may do this")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def require_user(*roles: Role) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            p = principal()
            _refuse_anonymous(p)
            if p.user is None or (roles and p.user.role not in roles):
                raise ApiError(403, "forbidden", "this needs an officer, manager or admin login")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def json_body() -> dict[str, Any]:
    """The request's JSON object; a clear 400 for anything else."""
    try:
        data = request.get_json(force=True, silent=False, cache=True)
    except (BadRequest, RecursionError):  # RecursionError: JSON nested thousands deep
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    if holds_nul(data):
        raise ApiError(400, "bad_request", "text must not contain NUL characters")
    return data


def holds_nul(value: Any) -> bool:
    """Whether any text in a parsed JSON value holds NUL: PostgreSQL refuses it (a 500 otherwise).

    Iterative, so JSON nested hundreds deep cannot exhaust the stack here.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def optional_body() -> dict[str, Any]:
    """Actions like call-next take no body; accept none, {} or an object."""
    if not request.get_data(cache=True):
        return {}
    return json_body()


def int_field(body: dict[str, Any], name: str, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise ApiError(422, "invalid_field", f"{name} must be a positive whole number",
                       field=name, reason="positive whole number")
    return value


def str_field(body: dict[str, Any], name: str, max_length: int = 2000) -> str:
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_length:
        raise ApiError(422, "invalid_field", f"{name} must be text of at most {max_length} "
                       "characters", field=name, reason=f"text, at most {max_length} characters")
    return value


def commit_and_publish() -> None:
    """Commit, then push what the domain recorded: never announce a rolled-back call.

    The messages are read in the same transaction, just before the commit
    (realtime.publish.prepare), and sent after it succeeded: one transaction
    for the whole request. Except for a call: the hall hears it the moment it
    is committed, and the rest is read afterwards (publishing it first would
    hold the call back by those reads). Views whose answer shows the rows they
    changed build it before calling this, for the same reason: what the
    transaction holds is what it commits, and reading it again afterwards
    would cost a second transaction.
    """
    from ..realtime.publish import announces_call, prepare, publish

    session = db.session()
    events = drain(session)
    if events and announces_call(events):
        # Committed without expiring: the call's message is built from the rows as
        # this transaction wrote or read them under its lock, not read again.
        session.expire_on_commit = False
        try:
            session.commit()
        finally:
            session.expire_on_commit = True
        publish(session, clock(), events)
        return
    outbox = None
    if events:
        session.flush()
        outbox = prepare(session, clock(), events)
    session.commit()
    if outbox is not None:
        outbox.send()
