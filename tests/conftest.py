"""Shared fixtures: a real database (SQLite file, and PostgreSQL when present),
a fixed clock, the small test site, and helpers for logging in.

PostgreSQL/Redis tests skip with the reason when the server is absent, unless
ANTRIAN_REQUIRE_SERVICES=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, make_url, text

os.environ.setdefault("ANTRIAN_SECRET_KEY", "test-secret-key")

from queue_server import create_app  # noqa: E402
from queue_server.config_import import import_config, load_toml  # noqa: E402
from queue_server.domain.clock import FixedClock  # noqa: E402
from queue_server.extensions import db  # noqa: E402

HERE = Path(__file__).parent
SMALL_CONFIG = HERE / "small_config.toml"
JAKARTA = ZoneInfo("Asia/Jakarta")
KIOSK_KEY = "test-kiosk-key-0001"
DISPLAY_KEY = "test-display-key-0001"
DISPLAY2_KEY = "test-display-key-0002"


def require_services() -> bool:
    return os.environ.get("ANTRIAN_REQUIRE_SERVICES") == "1"


def configured_postgres_url() -> str:
    url = os.environ.get("ANTRIAN_TEST_POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgresql", "postgres:")):
        url = "postgresql://127.0.0.1:5432/test"
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            url = "postgresql+psycopg2://" + url[len(plain):]
    return url


_own_database: dict[str, str] = {}


def postgres_url() -> str:
    """A database of this test run's own on the configured server.

    Tests reset the schema before each test, so two runs sharing one database
    (CI and a developer, or two developers) would wipe each other's tables.
    Each pytest process creates ``antrian_test_<pid>`` and drops it at the
    end; where the role may not create databases, the configured one is used.
    """
    if "url" in _own_database:
        return _own_database["url"]
    url = configured_postgres_url()
    name = f"antrian_test_{os.getpid()}"
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        own = make_url(url).set(database=name).render_as_string(hide_password=False)
        _own_database.update(url=own, admin=url, name=name)
    except Exception:  # noqa: BLE001  (server down, or no CREATEDB right: reset_postgres reports)
        _own_database["url"] = url
    return _own_database["url"]


def drop_own_postgres_database() -> None:
    if "name" not in _own_database:
        return
    try:
        engine = create_engine(_own_database["admin"], isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {_own_database['name']} WITH (FORCE)"))
        engine.dispose()
    except Exception:  # noqa: BLE001  (best effort: a leftover database does no harm)
        pass


def redis_url() -> str:
    return os.environ.get("SOCKETIO_MESSAGE_QUEUE") or os.environ.get(
        "ANTRIAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unavailable(what: str, reason: str) -> None:
    message = f"{what} not reachable ({reason}); set it up or unset ANTRIAN_REQUIRE_SERVICES"
    if require_services():
        pytest.fail(f"{what} is required here (ANTRIAN_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(f"{what} not reachable: {reason}" if message else "")


def reset_postgres(url: str) -> None:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        unavailable("PostgreSQL", f"{type(exc).__name__}: {str(exc).splitlines()[0]}")


def check_redis(url: str) -> None:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        unavailable("Redis", f"{type(exc).__name__}: {exc}")


def monday_at(hour: int, minute: int = 0) -> dt.datetime:
    """A Monday (2026-11-23) at local Jakarta time."""
    return dt.datetime(2026, 11, 23, hour, minute, tzinfo=JAKARTA)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'antrian.db'}"
    url = postgres_url()
    reset_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'antrian.db'}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(monday_at(9, 0))


def make_app(url: str, clock: FixedClock, config_path: Path = SMALL_CONFIG, **extra):  # type: ignore[no-untyped-def]
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "ASYNC_MODE": "threading",
            "SOCKETIO_MESSAGE_QUEUE": None,
            **extra,
        },
        clock=clock,
    )
    with app.app_context():
        db.create_all()
        import_config(db.session, load_toml(config_path))
        db.session.commit()
    return app


def config_with_kiosk_printer(tmp_path: Path, printer: str, paper_width: int = 80) -> Path:
    """The small test site with KIOSK-1 printing on ``printer``."""
    text = SMALL_CONFIG.read_text(encoding="utf-8").replace(
        'key = "test-kiosk-key-0001"\n',
        f'key = "test-kiosk-key-0001"\nprinter = "{printer}"\npaper_width = {paper_width}\n')
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def fake_printer() -> Iterator:  # type: ignore[type-arg]
    """A network thermal printer on 127.0.0.1 (tests/fake_printer.py)."""
    from fake_printer import FakePrinter

    with FakePrinter() as printer:
        yield printer


@pytest.fixture
def printing_app(clock, tmp_path, fake_printer):  # type: ignore[no-untyped-def]
    """Make the small site with KIOSK-1 printing on the fake printer: call it with a database URL."""
    made = []

    def make(url: str):  # type: ignore[no-untyped-def]
        made.append(make_app(url, clock, config_with_kiosk_printer(tmp_path, fake_printer.url)))
        return made[-1]

    yield make
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(database_url: str, clock: FixedClock) -> Iterator:  # type: ignore[type-arg]
    application = make_app(database_url, clock)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def token_for(client, username: str, password: str = "petugas-demo") -> dict[str, str]:  # type: ignore[no-untyped-def]
    res = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert res.status_code == 201, res.get_json()
    return bearer(res.get_json()["token"])


def service_id(app, agency: str, code: str) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from queue_server.models import Agency, Service

    with app.app_context():
        return db.session.execute(
            select(Service.id).join(Agency).where(Agency.code == agency, Service.code == code)
        ).scalar_one()


def counter_id(app, code: str) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from queue_server.models import Counter

    with app.app_context():
        return db.session.execute(select(Counter.id).where(Counter.code == code)).scalar_one()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import browser

    browser.shutdown()
    drop_own_postgres_database()
