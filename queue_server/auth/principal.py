"""Who is calling: a device (by key), a person (by bearer token or login
session), or nobody. Shared by the JSON API and the Socket.IO handlers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiToken, Device, User
from ..security import hash_key, new_key


@dataclass(frozen=True)
class Principal:
    user: User | None = None
    device: Device | None = None
    via: str = "none"  # "session", "bearer", "device" or "none"
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


def from_secret(session: Session, secret: str, now: dt.datetime) -> Principal:
    """Resolve a bearer secret: a device key first, then a person's API token."""
    digest = hash_key(secret)
    device = session.execute(
        select(Device).where(Device.key_hash == digest, Device.active.is_(True))
    ).scalar_one_or_none()
    if device is not None:
        if device.demo_credential and _production():
            return Principal(demo_refused=True)
        return Principal(device=device, via="device")
    token = session.execute(
        select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.expires_at > now)
    ).scalar_one_or_none()
    if token is not None and token.user.active:
        return Principal(user=token.user, via="bearer")
    return ANONYMOUS


def from_request(session: Session, now: dt.datetime) -> Principal:
    secret = bearer_from_header()
    if secret is not None:
        return from_secret(session, secret, now)
    if current_user.is_authenticated:
        return Principal(user=current_user._get_current_object(), via="session")
    return ANONYMOUS


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
