"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from queue_server import create_app
from queue_server.extensions import db
from queue_server.models import Base


def test_upgrade_matches_models_and_downgrades(database_url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "ASYNC_MODE": "threading"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert "tickets" in inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert "tickets" not in inspect(db.engine).get_table_names()
        db.engine.dispose()
