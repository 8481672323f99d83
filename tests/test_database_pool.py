"""Connection pools sized per database, and overridable from the environment."""

from __future__ import annotations

import pytest

from queue_server import create_app
from queue_server.database import POOL_SIZES, engine_options
from queue_server.extensions import db


def test_defaults_per_database() -> None:
    assert engine_options("sqlite:////srv/antrian.db") == {
        "pool_size": POOL_SIZES["sqlite"][0], "max_overflow": POOL_SIZES["sqlite"][1],
        "pool_pre_ping": False}  # a file's connection cannot drop
    assert engine_options("postgresql+psycopg2://db/antrian") == {
        "pool_size": POOL_SIZES["postgresql"][0], "max_overflow": POOL_SIZES["postgresql"][1],
        "pool_pre_ping": True}  # a restarted server's can
    assert engine_options("sqlite://") == {}  # in memory: SQLAlchemy's own pool
    assert engine_options("sqlite:///:memory:") == {}
    assert engine_options("postgresql://db/x", 3, 0) == {"pool_size": 3, "max_overflow": 0,
                                                         "pool_pre_ping": True}


def test_environment_sets_the_pool(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTRIAN_DB_POOL_SIZE", "7")
    monkeypatch.setenv("ANTRIAN_DB_MAX_OVERFLOW", "2")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}",
                      "ASYNC_MODE": "threading"})
    with app.app_context():
        assert db.engine.pool.size() == 7
        assert db.engine.pool._max_overflow == 2  # noqa: SLF001
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
        db.engine.dispose()


def test_a_bad_pool_size_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTRIAN_DB_POOL_SIZE", "lots")
    with pytest.raises(ValueError, match="ANTRIAN_DB_POOL_SIZE must be a whole number"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}"})
