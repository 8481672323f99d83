"""The application factory.

``create_app`` wires the extensions, the blueprints (API, auth, main pages)
and the Socket.IO handlers. Domain logic lives in :mod:`queue_server.domain`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Flask, request

from .domain.clock import Clock, SystemClock
from .extensions import babel, csrf, db, login_manager, migrate, socketio
from .settings import ASYNC_MODES, from_environment

LANGUAGES = ("id", "en")
log = logging.getLogger(__name__)


def select_locale() -> str:
    """?lang=, then a cookie the pages set; Indonesian by default.

    Only API callers are also heard through Accept-Language: a kiosk, TV or
    office PC with an English browser must still greet people in Indonesian.
    """
    for candidate in (request.args.get("lang"), request.cookies.get("lang")):
        if candidate in LANGUAGES:
            return candidate
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(LANGUAGES) or "id"
    return "id"


def create_app(config: dict[str, Any] | None = None, clock: Clock | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(from_environment(app.instance_path))
    if config:
        app.config.update(config)
    if app.config["ASYNC_MODE"] not in ASYNC_MODES:
        raise ValueError(f"ANTRIAN_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}")
    app.extensions["antrian_clock"] = clock or SystemClock()
    from .database import engine_options

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(app.config["SQLALCHEMY_DATABASE_URI"], app.config.get("DB_POOL_SIZE"),
                         app.config.get("DB_MAX_OVERFLOW")),
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    }
    db.init_app(app)
    with app.app_context():
        from .database import configure_engine

        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True,
                     compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    from .realtime.message_queue import DEFAULT_CHANNEL, create_manager

    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
        # Always given (None = in-process), so an earlier app's manager is never reused.
        client_manager=create_manager(app.config["SOCKETIO_MESSAGE_QUEUE"],
                                      app.config.get("SOCKETIO_CHANNEL") or DEFAULT_CHANNEL, app.logger),
        # None = same origin only ([] would switch the Origin check off).
        cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS"),
        logger=False,
        engineio_logger=False,
    )

    from counter_client.pages import bp as counter_bp
    from display import bp as display_bp
    from kiosk import bp as kiosk_bp

    from . import realtime
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .main import bp as main_bp
    from .manager import bp as manager_bp
    from .visitor import bp as visitor_bp

    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(main_bp)
    app.register_blueprint(manager_bp, url_prefix="/manager")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(visitor_bp)
    app.register_blueprint(kiosk_bp, url_prefix="/kiosk")
    app.register_blueprint(display_bp, url_prefix="/display")
    app.register_blueprint(counter_bp, url_prefix="/counter")
    realtime.register(socketio)

    from .ratelimit import init_app as init_rate_limits

    init_rate_limits(app)  # after the blueprints: it wraps the views marked @rate_limited

    if app.config.get("PROXY_COUNT"):
        # Behind nginx the peer is the proxy: per-address rate limits and logs need the visitor's.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from flask_babel import get_locale

    app.jinja_env.globals["get_locale"] = get_locale

    @app.after_request
    def _remember_language(response):  # type: ignore[no-untyped-def]
        """A ?lang= choice sticks for the browser (kiosk, display, pages)."""
        chosen = request.args.get("lang")
        if chosen in LANGUAGES and request.cookies.get("lang") != chosen:
            response.set_cookie("lang", chosen, max_age=365 * 86400, samesite="Lax", httponly=True)
        return response

    @app.teardown_appcontext
    def _forget_events(_exc: BaseException | None) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from .domain.events import discard

        discard(db.session)
        # End the transaction quietly (this runs before Flask-SQLAlchemy's clean-up): if the
        # database dropped the connection after the answer was ready (PostgreSQL restarted),
        # that clean-up would raise and turn a committed request into a bare 500.
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()

    return app


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).parent / "migrations"
