"""Who is calling: a device (by key), a person (by bearer token or login
session), or nobody. Shared by the JSON API and the Socket.IO handlers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, g, request
from flask import session as cookie_session
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..models import ApiToken, Device, User
from ..security import hash_key, new_key


@dataclass(frozen=True)
class Principal:
    user: User | None = None
    device: Device | None = None
    via: str = "none"  # "session", "bearer", "device", "device_session" or "none"
    demo_refused: bool = False  # a demo credential presented in production

    @property
    def is_anonymous(self) -> bool:
        return self.user is None and self.device is None


ANONYMOUS = Principal()


def bearer_from_header() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _production() -> bool:
    return current_app.config.get("ANTRIAN_ENV") == "production"


# Built once: every kiosk, display and agent request runs it.
_ACTIVE_DEVICE = select(Device).where(Device.key_hash == bindparam("digest"), Device.active.is_(True))


def from_secret(session: Session, secret: str, now: dt.datetime) -> Principal:
    """Resolve a bearer secret: a device key first, then a person's API token."""
    digest = hash_key(secret)
    device = session.execute(_ACTIVE_DEVICE, {"digest": digest}).scalar_one_or_none()
    if device is not None:
        if device.demo_credential and _production():
            return Principal(demo_refused=True)
        return Principal(device=device, via="device")
    token = session.execute(
        select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.expires_at > now)
    ).scalar_one_or_none()
    if token is not None and token.user.active:
        if token.user.demo_credential and _production():
            return Principal(demo_refused=True)
        return Principal(user=token.user, via="bearer")
    return ANONYMOUS


DEVICE_SESSION_KEY = "antrian_device"


def remember_device(device: Device) -> None:
    """Bind a kiosk/display browser to its device after it showed the key once.

    The signed session cookie keeps the device id and the key's hash, so the
    key leaves the address bar and rotating the key logs the browser out.
    """
    cookie_session[DEVICE_SESSION_KEY] = {"id": device.id, "key": device.key_hash}
    cookie_session.permanent = True


def device_from_cookie(session: Session) -> Principal:
    remembered = cookie_session.get(DEVICE_SESSION_KEY)
    if not isinstance(remembered, dict):
        return ANONYMOUS
    device = session.get(Device, remembered.get("id"))
    if device is None or not device.active or device.key_hash != remembered.get("key"):
        return ANONYMOUS
    if device.demo_credential and _production():
        return Principal(demo_refused=True)
    return Principal(device=device, via="device_session")


def from_cookies(session: Session) -> Principal:
    """A logged-in person first, then a browser bound to a device."""
    if current_user.is_authenticated:
        return Principal(user=current_user._get_current_object(), via="session")
    return device_from_cookie(session)


def from_request(session: Session, now: dt.datetime) -> Principal:
    secret = bearer_from_header()
    if secret is not None:
        return from_secret(session, secret, now)
    return from_cookies(session)


def issue_api_token(session: Session, user: User, now: dt.datetime, hours: int) -> tuple[str, ApiToken]:
    """Create a bearer token for a person; only its hash is stored."""
    secret = new_key()
    token = ApiToken(
        user_id=user.id,
        token_hash=hash_key(secret),
        created_at=now,
        expires_at=now + dt.timedelta(hours=hours),
    )
    session.add(token)
    return secret, token


def password_login_allowed(user: User | None) -> bool:
    """Demo passwords from the example config are refused in production."""
    return user is not None and user.active and not (user.demo_credential and _production())


def current(session: Session, now: dt.datetime) -> Principal:
    """:func:`from_request`, looked up once per request: the rate limiter (keyed by the
    kiosk) and the API guards both ask who is calling."""
    if "resolved_principal" not in g:
        g.resolved_principal = from_request(session, now)
    return g.resolved_principal  # type: ignore[no-any-return]
