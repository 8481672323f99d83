"""People's login and logout (Flask-Login sessions)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import select

from ..extensions import db, login_manager
from ..models import User
from ..ratelimit import rate_limited
from ..security import verify_password
from .forms import LoginForm
from .principal import password_login_allowed

bp = Blueprint("auth", __name__)
login_manager.login_view = "auth.login"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def check_credentials(username: str, password: str) -> User | None:
    if "\x00" in username:  # no username holds NUL, and PostgreSQL cannot even compare it
        return None
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not verify_password(user.password_hash, password):
        return None
    return user if password_login_allowed(user) else None


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a fresh login to another host."""
    if not target:
        return url_for("main.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("main.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@rate_limited("login")  # failed POSTs only
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = check_credentials(form.username.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        flash(_("The form expired or was incomplete; please try again."), "error")
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    return redirect(url_for("main.index"))
