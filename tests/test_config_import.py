"""Importing the site configuration: complete, validated, and idempotent."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import SMALL_CONFIG
from sqlalchemy import func, select

from queue_server.config_import import import_config, load_toml
from queue_server.domain.errors import InvalidInput
from queue_server.extensions import db
from queue_server.models import Agency, Counter, Device, Service, User, counter_services
from queue_server.security import verify_password

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


def counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (Agency, Service, Counter, User, Device)
    }


def test_second_import_changes_nothing(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        before = counts()
        report = import_config(db.session, load_toml(SMALL_CONFIG))
        db.session.commit()
        assert not report.changed
        assert counts() == before


def test_reimport_keeps_a_changed_password(app) -> None:  # type: ignore[no-untyped-def]
    from queue_server.security import hash_password

    with app.app_context():
        user = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
        user.password_hash = hash_password("a-new-secret")
        db.session.commit()
        import_config(db.session, load_toml(SMALL_CONFIG))
        db.session.commit()
        assert verify_password(user.password_hash, "a-new-secret")


def test_changed_values_are_updated_in_place(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = SMALL_CONFIG.read_text().replace("daily_quota = 3", "daily_quota = 9")
    changed = tmp_path / "changed.toml"
    changed.write_text(text)
    with app.app_context():
        report = import_config(db.session, load_toml(changed))
        db.session.commit()
        assert report.updated == {"services": 1}
        kk = db.session.execute(select(Service).where(Service.code == "KK")).scalar_one()
        assert kk.daily_quota == 9


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ('prefix = "S"', 'prefix = "A"', "prefix A is already used"),
        ('services = ["PKB"]', 'services = ["NOPE"]', "unknown services NOPE"),
        ('schedule = "kantor"', 'schedule = "libur"', "unknown schedule"),
        ('key = "test-kiosk-key-0001"', 'key = "short"', "at least 16"),
        ('priority_mode = "ratio"', 'priority_mode = "random"', "priority_mode"),
    ],
)
def test_invalid_config_is_refused_with_a_clear_reason(
    app, tmp_path: Path, old: str, new: str, fragment: str  # type: ignore[no-untyped-def]
) -> None:
    text = SMALL_CONFIG.read_text()
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1))
    with app.app_context():
        with pytest.raises(InvalidInput) as info:
            import_config(db.session, load_toml(bad))
        db.session.rollback()
        assert fragment in info.value.message


def test_example_config_is_a_realistic_forty_agency_mpp(sqlite_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    from conftest import make_app

    raw = tomllib.loads(EXAMPLE.read_text())
    assert len(raw["agencies"]) == 40
    app = make_app(sqlite_url, clock, config_path=EXAMPLE)
    with app.app_context():
        n = counts()
        assert n["agencies"] == 40
        assert n["services"] >= 400
        assert n["counters"] >= 40
        # Every active service can be called at some counter.
        served = select(counter_services.c.service_id)
        orphans = db.session.execute(
            select(Service.code).where(Service.active.is_(True), Service.id.not_in(served))
        ).scalars().all()
        assert orphans == []
        again = import_config(db.session, load_toml(EXAMPLE))
        db.session.commit()
        assert not again.changed
