"""The configuration as a TOML file: export, import of an export into a fresh
database, refused uploads that change nothing, and the TOML writer itself."""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from admin_pages import audit_entries, csrf_of, log_in
from conftest import bearer, make_app, service_id
from sqlalchemy import select

from queue_server import toml_writer
from queue_server.config_export import export_config
from queue_server.extensions import db
from queue_server.models import Agency, AuditEntry, Counter, Device, Service, User
from queue_server.security import hash_password

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


@pytest.fixture
def admin(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    log_in(client)
    return client


def upload(client, data: bytes, filename: str = "site.toml"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/admin/import").get_data(as_text=True))
    return client.post("/admin/import", data={"file": (io.BytesIO(data), filename),
                                              "csrf_token": token},
                       content_type="multipart/form-data")


def exported(client) -> str:  # type: ignore[no-untyped-def]
    res = client.get("/admin/config.toml")
    assert res.status_code == 200
    assert res.headers["Content-Type"].startswith("application/toml")
    assert res.headers["Content-Disposition"].startswith("attachment;")
    return res.get_data(as_text=True)


def body(text: str) -> str:
    """The export without its first comment line (it holds the time)."""
    return text.split("\n", 1)[1]


def problems(html: str) -> list[str]:
    import html as markup

    listed = re.search(r'<ul class="problems">(.*?)</ul>', html, re.S)
    return [markup.unescape(p) for p in re.findall(r"<li>(.*?)</li>", listed.group(1))] if listed else []


def snapshot(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Everything an import sets, keyed by code (ids differ between databases)."""
    with app.app_context():
        s = db.session
        agencies = {a.code: (a.name, a.name_en, a.prefix, a.zone, a.active, a.hours)
                    for a in s.execute(select(Agency)).scalars()}
        services = {(sv.agency.code, sv.code): (
            sv.name, sv.name_en, sv.prefix, sv.daily_quota, sv.target_wait_minutes,
            sv.avg_service_minutes, sv.documents, sv.active, sv.note_required)
            for sv in s.execute(select(Service)).scalars()}
        counters = {c.code: (c.number, c.name, c.zone, c.agency.code,
                             sorted(sv.code for sv in c.services))
                    for c in s.execute(select(Counter)).scalars()}
        devices = {d.code: (d.kind, d.name, d.active, d.settings)
                   for d in s.execute(select(Device)).scalars()}
        users = {u.username: (u.name, u.role, u.agency.code if u.agency else None, u.active)
                 for u in s.execute(select(User)).scalars()}
        return {"agencies": agencies, "services": services, "counters": counters,
                "devices": devices, "users": users}


def empty_database(app, admin_name: str = "root") -> None:  # type: ignore[no-untyped-def]
    """Drop everything and keep one administrator, as on a new server."""
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.create_all()
        db.session.add(User(username=admin_name, name="Root", role="admin",
                            password_hash=hash_password("root-password-1")))
        db.session.commit()


def test_export_then_import_into_a_fresh_database_gives_the_same_site(app, admin) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        samsat = db.session.execute(select(Agency).where(Agency.code == "SAMSAT")).scalar_one()
        samsat.name = 'UPT "Samsat" \\ Sragen\nLantai 2\ttengah'  # text that needs escaping
        kiosk = db.session.execute(select(Device).where(Device.code == "KIOSK-1")).scalar_one()
        kiosk.settings = {"agencies": ["SAMSAT"], "printer": "network://10.0.0.9:9100",
                          "paper_width": 58, "idle_seconds": 45}
        tv = db.session.execute(select(Device).where(Device.code == "TV-2")).scalar_one()
        tv.active = False
        db.session.commit()
    before = snapshot(app)
    text = exported(admin)
    parsed = tomllib.loads(text)
    assert [u for u in parsed["users"] if "password" in u] == []  # no secrets of any kind
    assert [d for d in parsed["devices"] if "key" in d] == []
    assert "test-kiosk-key-0001" not in text and "demo" not in text

    empty_database(app)
    fresh = app.test_client()
    log_in(fresh, "root", "root-password-1")
    res = upload(fresh, text.encode(), "antrian.toml")
    assert res.status_code == 200, problems(res.get_data(as_text=True))
    page = res.get_data(as_text=True)
    after = snapshot(app)
    after["users"].pop("root")
    assert after == before
    root = '[[users]]\nusername = "root"\nname = "Root"\nrole = "admin"\nactive = true\n\n'
    assert body(exported(fresh)).replace(root, "") == body(text)

    # New devices got keys, shown once on the result page; they work at once.
    keys = dict(re.findall(r'data-key="([A-Z0-9-]+)">([^<]+)<', page))
    assert sorted(keys) == ["KIOSK-1", "TV-1", "TV-2"]
    res = fresh.post("/api/v1/tickets", json={"service_id": service_id(app, "SAMSAT", "PKB")},
                     headers=bearer(keys["KIOSK-1"]))
    assert res.status_code == 201
    assert "admin, dukcapil1, dukcapil2, manajer, samsat1" in page  # need a password
    [entry] = audit_entries(app)
    assert (entry.action, entry.entity_kind, entry.entity_code) == ("import", "config", "antrian.toml")
    assert entry.after["created"] == {"site": 1, "agencies": 2, "services": 3, "counters": 3,
                                      "users": 5, "devices": 3}
    assert keys["KIOSK-1"] not in str(entry.after)


def test_reimporting_an_export_keeps_keys_and_passwords(app, admin) -> None:  # type: ignore[no-untyped-def]
    text = exported(admin)
    res = upload(admin, text.encode())
    assert res.status_code == 200
    [entry] = audit_entries(app)
    assert entry.after["created"] == {} and entry.after["updated"] == {}
    assert admin.post("/api/v1/tickets", json={"service_id": service_id(app, "DUKCAPIL", "KTP")},
                      headers=bearer("test-kiosk-key-0001")).status_code == 201
    log_in(app.test_client(), "dukcapil1", "petugas-demo")


def test_an_upload_changes_rows_in_place_and_is_audited(app, admin) -> None:  # type: ignore[no-untyped-def]
    text = exported(admin).replace("daily_quota = 3", "daily_quota = 9")
    res = upload(admin, text.encode())
    assert res.status_code == 200
    assert "Konfigurasi berhasil diimpor." in res.get_data(as_text=True)
    with app.app_context():
        kk = db.session.execute(select(Service).where(Service.code == "KK")).scalar_one()
        assert kk.daily_quota == 9
    [entry] = audit_entries(app)
    assert entry.after["updated"] == {"services": 1}


def test_broken_toml_is_refused_with_the_reason_and_changes_nothing(app, admin) -> None:  # type: ignore[no-untyped-def]
    before = body(exported(admin))
    res = upload(admin, b'[site]\nname = "MPP\n')
    assert res.status_code == 400
    [problem] = problems(res.get_data(as_text=True))
    assert problem.startswith("site.toml: berkas bukan TOML yang sah: ")
    assert "line 2" in problem
    assert body(exported(admin)) == before
    assert audit_entries(app) == []


def test_every_problem_of_a_file_is_listed_and_nothing_changes(app, admin) -> None:  # type: ignore[no-untyped-def]
    before = body(exported(admin))
    text = before.replace('prefix = "S"', 'prefix = "s1"').replace(
        'services = ["PKB"]', 'services = ["PKB", "STNK"]').replace(
        'daily_quota = 3', 'daily_quota = -3')
    res = upload(admin, text.encode())
    assert res.status_code == 400
    assert problems(res.get_data(as_text=True)) == [
        "agency DUKCAPIL, service KK: daily_quota harus bilangan bulat paling sedikit 0",
        "agency SAMSAT: prefiks ‘s1’ harus 1 sampai 3 huruf kapital",
        "agency SAMSAT, counter SAM-1: layanan tidak dikenal: STNK",
    ]
    assert body(exported(admin)) == before
    assert audit_entries(app) == []


def test_a_prefix_taken_by_an_agency_missing_from_the_file_is_refused(app, admin) -> None:  # type: ignore[no-untyped-def]
    before = body(exported(admin))
    text = b'[[agencies]]\ncode = "BPJS"\nname = "BPJS Kesehatan"\nprefix = "S"\n'
    res = upload(admin, text)
    assert res.status_code == 400
    assert problems(res.get_data(as_text=True)) == [
        "prefix S: prefiks dipakai oleh beberapa instansi: BPJS, SAMSAT"]
    assert body(exported(admin)) == before
    with app.app_context():
        assert db.session.execute(select(AuditEntry)).first() is None


def test_the_example_site_round_trips_through_the_web(database_url, clock) -> None:  # type: ignore[no-untyped-def]
    """The 40-agency example (about 200 KB, over the usual body limit) imports
    through the page; its export imported into a fresh database exports the same."""
    app = make_app(database_url, clock)
    try:
        empty_database(app)
        client = app.test_client()
        log_in(client, "root", "root-password-1")
        res = upload(client, EXAMPLE.read_bytes(), "config.example.toml")
        assert res.status_code == 200, problems(res.get_data(as_text=True))
        first = exported(client)
        counts = {k: len(v) for k, v in snapshot(app).items()}
        assert counts == {"agencies": 40, "services": 405, "counters": 90, "devices": 7,
                          "users": 48}
        parsed = tomllib.loads(first)
        assert len(parsed["agencies"]) == 40

        empty_database(app)
        res = upload(client, first.encode(), "export.toml")
        assert res.status_code == 200, problems(res.get_data(as_text=True))
        assert body(exported(client)) == body(first)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_export_function_without_a_site_or_hours(sqlite_url, clock) -> None:  # type: ignore[no-untyped-def]
    app = make_app(sqlite_url, clock)
    with app.app_context():
        text = export_config(db.session)
        parsed = tomllib.loads(text)
        dukcapil, samsat = parsed["agencies"]
        assert "hours" not in dukcapil  # always open
        assert samsat["hours"]["fri"] == "08:00-11:00, 13:00-15:30"
        assert [s.get("prefix") for s in dukcapil["services"]] == [None, "B"]
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("text", [
    'plain', 'quote " and backslash \\ ', "new\nline\ttab\r\x00\x1f\x7f", "Ünïcode ✓ 😀",
    "'single' \"\"\" triple", "",
])
def test_the_toml_writer_round_trips_any_text(text: str) -> None:
    document = "\n".join(toml_writer.pairs({"value": text, text or "empty": [text, 1, 2.5, True],
                                           "table": {"k": text}}))
    parsed = tomllib.loads(document)
    assert parsed["value"] == text
    assert parsed[text or "empty"] == [text, 1, 2.5, True]
    assert parsed["table"] == {"k": text}
