"""The administration pages (/admin): who may open them, creating and editing
each kind of row with valid and invalid input, device keys shown once and
rotated, the audit trail, and changes taking effect without a restart."""

from __future__ import annotations

import hashlib
import io
import json
import re
from typing import Any

import pytest
from admin_pages import audit_entries, csrf_of, field_errors, log_in, submit
from conftest import KIOSK_KEY, bearer, config_with_kiosk_printer, make_app, service_id, token_for
from sqlalchemy import func, select

from queue_server.domain.admin import audit
from queue_server.extensions import db
from queue_server.models import (
    Agency,
    AuditEntry,
    Counter,
    Device,
    PrintJob,
    Service,
    User,
)
from queue_server.security import verify_password

KANTOR = {"mon": "08:00-12:00, 13:00-15:30", "tue": "08:00-12:00, 13:00-15:30",
          "wed": "08:00-12:00, 13:00-15:30", "thu": "08:00-12:00, 13:00-15:30",
          "fri": "08:00-11:00, 13:00-15:30", "sat": "", "sun": ""}


@pytest.fixture
def admin(app):  # type: ignore[no-untyped-def]
    """A browser logged in as the administrator of the small test site."""
    client = app.test_client()
    log_in(client)
    return client


def count(app, model: type) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def row(app, model: type, **where: Any) -> Any:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = db.session.execute(select(model).filter_by(**where)).scalar_one()
        if isinstance(found, Counter):
            found.service_codes = sorted(s.code for s in found.services)  # type: ignore[attr-defined]
        db.session.expunge_all()
        return found


def issue(client, sid: int, key: str = KIOSK_KEY):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/tickets", json={"service_id": sid}, headers=bearer(key))


def samsat_form(**changes: str) -> dict[str, str]:
    """SAMSAT's edit form exactly as stored (issue_during_breaks unticked)."""
    return {"name": "UPT Samsat", "name_en": "", "prefix": "S", "zone": "Lantai 2",
            "active": "y", **KANTOR, "cutoff_minutes": "30", "issue_before_open_minutes": "30",
            **changes}


def kk_form(**changes: str) -> dict[str, str]:
    """KK's edit form exactly as stored."""
    return {"name": "Kartu Keluarga", "name_en": "", "prefix": "B", "daily_quota": "3",
            "target_wait_minutes": "30", "avg_service_minutes": "6", "documents": "",
            "active": "y", **changes}


# -- who may enter ------------------------------------------------------------------


def test_only_administrators_may_open_the_admin_pages(app, client) -> None:  # type: ignore[no-untyped-def]
    res = client.get("/admin/agencies")
    assert res.status_code == 302
    assert "/auth/login" in res.headers["Location"]
    for username, password in (("dukcapil1", "petugas-demo"), ("manajer", "manajer-demo")):
        staff = app.test_client()
        log_in(staff, username, password)
        assert staff.get("/admin/").status_code == 403
        assert staff.get("/admin/config.toml").status_code == 403
        token = csrf_of(staff.get("/printers").get_data(as_text=True))
        res = staff.post("/admin/agencies/new", data={
            "code": "X", "name": "X", "prefix": "X", "always_open": "y", "csrf_token": token})
        assert res.status_code == 403
    assert count(app, Agency) == 2
    admin = app.test_client()
    log_in(admin)
    assert admin.get("/admin/").status_code == 200


def test_a_post_without_the_csrf_token_is_refused(app, admin) -> None:  # type: ignore[no-untyped-def]
    res = admin.post("/admin/agencies/new", data={
        "code": "BPJS", "name": "BPJS", "prefix": "K", "always_open": "y"})
    assert res.status_code == 400
    kiosk = row(app, Device, code="KIOSK-1")
    assert admin.post(f"/admin/devices/{kiosk.id}/rotate-key").status_code == 400
    res = admin.post("/admin/import", data={"file": (io.BytesIO(b"[site]\n"), "x.toml")},
                     content_type="multipart/form-data")
    assert res.status_code == 400
    assert count(app, Agency) == 2
    assert count(app, AuditEntry) == 0
    assert issue(admin, service_id(app, "DUKCAPIL", "KTP")).status_code == 201  # key unchanged


# -- agencies -----------------------------------------------------------------------


def test_create_an_agency_with_opening_hours(app, admin) -> None:  # type: ignore[no-untyped-def]
    res = submit(admin, "/admin/agencies/new", {
        "code": " bpjs-kes ", "name": "BPJS Kesehatan", "name_en": "Health insurance",
        "prefix": "k", "zone": "Lantai 2", "active": "y",
        "mon": "08:00-12:00, 13:00-15:00", "tue": "08:00-15:00", "wed": "08:00-15:00",
        "thu": "08:00-15:00", "fri": "08:00-15:00", "sat": "", "sun": "",
        "cutoff_minutes": "15", "issue_before_open_minutes": "0"})
    assert res.status_code == 302, res.get_data(as_text=True)
    agency = row(app, Agency, code="BPJS-KES")
    assert res.headers["Location"].endswith(f"/admin/agencies/{agency.id}")
    assert (agency.name, agency.name_en, agency.prefix, agency.zone, agency.active) == (
        "BPJS Kesehatan", "Health insurance", "K", "Lantai 2", True)
    assert agency.hours == {
        "days": {"mon": [[480, 720], [780, 900]], "tue": [[480, 900]], "wed": [[480, 900]],
                 "thu": [[480, 900]], "fri": [[480, 900]], "sat": [], "sun": []},
        "cutoff_minutes": 15, "issue_before_open_minutes": 0, "issue_during_breaks": False}
    [entry] = audit_entries(app)
    admin_id = row(app, User, username="admin").id
    assert (entry.action, entry.entity_kind, entry.entity_code, entry.entity_id, entry.user_id) == (
        "create", "agency", "BPJS-KES", agency.id, admin_id)
    assert entry.before == {}
    assert entry.after["prefix"] == "K" and entry.after["hours"] == agency.hours


AGENCY_REFUSALS = [
    ({"prefix": "A"}, "prefix", "Prefiks A sudah dipakai oleh instansi DUKCAPIL."),
    ({"prefix": "B"}, "prefix", "Prefiks B sudah dipakai oleh instansi DUKCAPIL."),  # KK's own
    ({"prefix": "K1"}, "prefix", "Satu sampai tiga huruf kapital A-Z."),
    ({"code": "DUKCAPIL"}, "code",
     "Kode DUKCAPIL sudah dipakai oleh Dinas Kependudukan dan Pencatatan Sipil."),
    ({"code": "BPJS KES"}, "code", "Gunakan huruf kapital A-Z, angka dan '-', misalnya DUK-1."),
    ({"name": ""}, "name", "Wajib diisi."),
    ({"mon": "8-12"}, "mon", "Tulis jam seperti 08:00-12:00, 13:00-15:30 (format 24 jam, berurutan)."),
    ({"tue": "13:00-15:00, 08:00-12:00"}, "tue",
     "Tulis jam seperti 08:00-12:00, 13:00-15:30 (format 24 jam, berurutan)."),
    ({"cutoff_minutes": "700"}, "cutoff_minutes", "Masukkan angka dari 0 sampai 600."),
    ({"cutoff_minutes": "tiga"}, "cutoff_minutes", "Masukkan bilangan bulat."),
]


def test_an_invalid_agency_is_refused_next_to_the_field(app, admin) -> None:  # type: ignore[no-untyped-def]
    for changes, field, message in AGENCY_REFUSALS:
        data = {"code": "BPJS", "name": "BPJS Kesehatan", "prefix": "K", "active": "y", **KANTOR,
                "cutoff_minutes": "0", "issue_before_open_minutes": "0", **changes}
        res = submit(admin, "/admin/agencies/new", data)
        assert res.status_code == 400, changes
        assert field_errors(res.get_data(as_text=True), field) == [message], changes
    assert count(app, Agency) == 2
    assert count(app, AuditEntry) == 0


def test_new_opening_hours_apply_to_the_next_ticket(app, admin) -> None:  # type: ignore[no-untyped-def]
    """Monday 09:00: SAMSAT is open; moved to open at 13:00 it refuses at once."""
    pkb = service_id(app, "SAMSAT", "PKB")
    samsat = row(app, Agency, code="SAMSAT")
    assert issue(admin, pkb).get_json()["number"] == "S001"

    res = submit(admin, f"/admin/agencies/{samsat.id}", samsat_form(mon="13:00-15:30"))
    assert res.status_code == 302
    refused = issue(admin, pkb)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "agency_before_open"
    [entry] = audit_entries(app)
    assert entry.action == "update" and set(entry.after) == {"hours"}
    assert entry.before["hours"]["days"]["mon"] == [[480, 720], [780, 930]]
    assert entry.after["hours"]["days"]["mon"] == [[780, 930]]

    assert submit(admin, f"/admin/agencies/{samsat.id}",
                  samsat_form(always_open="y")).status_code == 302
    assert row(app, Agency, code="SAMSAT").hours == {}
    assert issue(admin, pkb).get_json()["number"] == "S002"


def test_a_new_agency_prefix_moves_the_services_sharing_it(app, admin) -> None:  # type: ignore[no-untyped-def]
    dukcapil = row(app, Agency, code="DUKCAPIL")
    res = submit(admin, f"/admin/agencies/{dukcapil.id}", {
        "name": dukcapil.name, "name_en": dukcapil.name_en, "prefix": "D", "zone": "Lantai 1",
        "active": "y", "always_open": "y"})
    assert res.status_code == 302
    assert row(app, Service, code="KTP").prefix == "D"
    assert row(app, Service, code="KK").prefix == "B"  # had its own queue
    assert issue(admin, service_id(app, "DUKCAPIL", "KTP")).get_json()["number"] == "D001"
    [entry] = audit_entries(app)
    assert (entry.before, entry.after) == ({"prefix": "A"}, {"prefix": "D"})


def test_deactivating_an_agency_stops_its_tickets(app, admin) -> None:  # type: ignore[no-untyped-def]
    samsat = row(app, Agency, code="SAMSAT")
    form = samsat_form()
    del form["active"]
    assert submit(admin, f"/admin/agencies/{samsat.id}", form).status_code == 302
    refused = issue(admin, service_id(app, "SAMSAT", "PKB"))
    assert refused.get_json()["error"]["code"] == "agency_inactive"
    assert row(app, Agency, code="SAMSAT").active is False


# -- services -----------------------------------------------------------------------


def test_a_smaller_quota_applies_to_the_next_ticket(app, admin) -> None:  # type: ignore[no-untyped-def]
    kk = service_id(app, "DUKCAPIL", "KK")
    res = submit(admin, f"/admin/services/{kk}", kk_form(daily_quota="1"))
    assert res.status_code == 302
    assert issue(admin, kk).get_json()["number"] == "B001"
    refused = issue(admin, kk)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "quota_exhausted"
    [entry] = audit_entries(app)
    assert (entry.action, entry.entity_code) == ("update", "DUKCAPIL/KK")
    assert (entry.before, entry.after) == ({"daily_quota": 3}, {"daily_quota": 1})

    assert submit(admin, f"/admin/services/{kk}", kk_form(daily_quota="0")).status_code == 302
    assert issue(admin, kk).get_json()["number"] == "B002"


def test_saving_an_unchanged_service_writes_no_audit_entry(app, admin) -> None:  # type: ignore[no-untyped-def]
    kk = service_id(app, "DUKCAPIL", "KK")
    assert submit(admin, f"/admin/services/{kk}", kk_form()).status_code == 302
    assert audit_entries(app) == []


def test_create_a_service_in_the_agency_queue(app, admin) -> None:  # type: ignore[no-untyped-def]
    dukcapil = row(app, Agency, code="DUKCAPIL")
    res = submit(admin, f"/admin/agencies/{dukcapil.id}/services/new", {
        "code": "akta", "name": "Akta Kelahiran", "name_en": "Birth certificate", "prefix": "",
        "daily_quota": "50", "target_wait_minutes": "20", "avg_service_minutes": "7.5",
        "documents": "KK; KTP orang tua", "active": "y", "note_required": "y"})
    assert res.status_code == 302, res.get_data(as_text=True)
    akta = row(app, Service, code="AKTA")
    assert (akta.agency_id, akta.name, akta.name_en, akta.prefix, akta.daily_quota,
            akta.target_wait_minutes, akta.avg_service_minutes, akta.documents, akta.active,
            akta.note_required) == (dukcapil.id, "Akta Kelahiran", "Birth certificate", "A", 50,
                                    20, 7.5, "KK; KTP orang tua", True, True)
    # It shares the agency's sequence: KTP took A001, so AKTA gets A002.
    assert issue(admin, service_id(app, "DUKCAPIL", "KTP")).get_json()["number"] == "A001"
    assert issue(admin, akta.id).get_json()["number"] == "A002"


SERVICE_REFUSALS = [
    ({"code": "KK"}, "code", "Kode KK sudah dipakai oleh Kartu Keluarga."),
    ({"prefix": "S"}, "prefix", "Prefiks S sudah dipakai oleh instansi SAMSAT."),
    ({"daily_quota": "-1"}, "daily_quota", "Masukkan angka dari 0 sampai 100000."),
    ({"avg_service_minutes": "lama"}, "avg_service_minutes", "Masukkan angka, misalnya 7.5."),
    ({"target_wait_minutes": "0"}, "target_wait_minutes", "Masukkan angka dari 1 sampai 1440."),
]


def test_an_invalid_service_is_refused_next_to_the_field(app, admin) -> None:  # type: ignore[no-untyped-def]
    dukcapil = row(app, Agency, code="DUKCAPIL")
    for changes, field, message in SERVICE_REFUSALS:
        data = {"code": "AKTA", "name": "Akta", "daily_quota": "0", "target_wait_minutes": "30",
                "avg_service_minutes": "10", "active": "y", **changes}
        res = submit(admin, f"/admin/agencies/{dukcapil.id}/services/new", data)
        assert res.status_code == 400, changes
        assert field_errors(res.get_data(as_text=True), field) == [message], changes
    assert count(app, Service) == 3


# -- counters -----------------------------------------------------------------------


def test_create_edit_and_delete_counters(app, admin) -> None:  # type: ignore[no-untyped-def]
    dukcapil = row(app, Agency, code="DUKCAPIL")
    ktp, kk = service_id(app, "DUKCAPIL", "KTP"), service_id(app, "DUKCAPIL", "KK")
    pkb = service_id(app, "SAMSAT", "PKB")
    new = f"/admin/agencies/{dukcapil.id}/counters/new"
    base = {"code": "duk-3", "number": "4", "name": "Loket 4", "zone": "Lantai 1"}

    for changes, field, message in (
            ({"number": "3"}, "number", "Nomor loket 3 sudah dipakai oleh SAM-1."),
            ({"code": "DUK-1"}, "code", "Kode DUK-1 sudah dipakai oleh Loket 1."),
            ({"services": [str(pkb)]}, "services", "Pilih hanya dari daftar."),
            ({"number": "0"}, "number", "Masukkan angka dari 1 sampai 9999.")):
        res = submit(admin, new, {**base, "services": [str(ktp)], **changes})
        assert res.status_code == 400, changes
        assert field_errors(res.get_data(as_text=True), field) == [message]
    assert count(app, Counter) == 3

    assert submit(admin, new, {**base, "services": [str(ktp)]}).status_code == 302
    duk3 = row(app, Counter, code="DUK-3")
    assert (duk3.number, duk3.name, duk3.zone, duk3.agency_id, duk3.service_codes) == (
        4, "Loket 4", "Lantai 1", dukcapil.id, ["KTP"])

    # DUK-2 now calls only KK: with A001 (KTP) first in line it calls B001.
    duk2 = row(app, Counter, code="DUK-2")
    res = submit(admin, f"/admin/counters/{duk2.id}",
                 {"number": "2", "name": "Loket 2", "zone": "Lantai 1", "services": [str(kk)]})
    assert res.status_code == 302
    assert row(app, Counter, code="DUK-2").service_codes == ["KK"]
    entry = audit_entries(app, "counter")[-1]
    assert (entry.before, entry.after) == ({"services": ["KK", "KTP"]}, {"services": ["KK"]})
    assert issue(admin, ktp).status_code == 201 and issue(admin, kk).status_code == 201
    officer = token_for(admin, "dukcapil2")
    assert admin.post(f"/api/v1/counters/{duk2.id}/open", headers=officer).status_code == 200
    called = admin.post(f"/api/v1/counters/{duk2.id}/call-next", headers=officer).get_json()
    assert called["ticket"]["number"] == "B001"

    res = submit(admin, f"/admin/counters/{duk2.id}/delete", {}, page=f"/admin/counters/{duk2.id}")
    assert res.status_code == 409
    assert "DUK-2 sedang buka. Tutup dulu." in res.get_data(as_text=True)
    admin.post(f"/api/v1/counters/{duk2.id}/finish", headers=officer)
    assert admin.post(f"/api/v1/counters/{duk2.id}/close", headers=officer).status_code == 200
    res = submit(admin, f"/admin/counters/{duk2.id}/delete", {}, page=f"/admin/counters/{duk2.id}")
    assert res.status_code == 409
    assert "DUK-2 sudah melayani tiket dan tidak dapat dihapus." in res.get_data(as_text=True)

    res = submit(admin, f"/admin/counters/{duk3.id}/delete", {}, page=f"/admin/counters/{duk3.id}")
    assert res.status_code == 302
    assert count(app, Counter) == 3
    entry = audit_entries(app, "counter")[-1]
    assert (entry.action, entry.entity_code, entry.after) == ("delete", "DUK-3", {})
    assert entry.before["number"] == 4 and entry.before["services"] == ["KTP"]


# -- users --------------------------------------------------------------------------


def test_create_an_officer_who_can_then_log_in(app, admin) -> None:  # type: ignore[no-untyped-def]
    samsat = row(app, Agency, code="SAMSAT")
    base = {"username": "Budi.S", "name": "Budi Santoso", "role": "officer",
            "agency_id": str(samsat.id), "active": "y", "password": "rahasia-budi-1"}
    for changes, field, message in (
            ({"agency_id": ""}, "agency_id", "Petugas harus terdaftar pada satu instansi."),
            ({"username": "dukcapil1"}, "username", "Nama pengguna dukcapil1 sudah dipakai."),
            ({"username": "budi santoso"}, "username",
             "2 sampai 60 huruf kecil, angka, '.', '_' atau '-'."),
            ({"password": "pendek"}, "password", "Kata sandi harus 8 sampai 200 karakter."),
            ({"password": ""}, "password", "Kata sandi harus paling sedikit 8 karakter.")):
        res = submit(admin, "/admin/users/new", {**base, **changes})
        assert res.status_code == 400, changes
        assert field_errors(res.get_data(as_text=True), field) == [message]
    assert count(app, User) == 5

    assert submit(admin, "/admin/users/new", base).status_code == 302
    budi = row(app, User, username="budi.s")
    assert (budi.name, budi.role, budi.agency_id, budi.active, budi.demo_credential) == (
        "Budi Santoso", "officer", samsat.id, True, False)
    assert budi.password_hash != "rahasia-budi-1"
    assert verify_password(budi.password_hash, "rahasia-budi-1")
    token_for(admin, "budi.s", "rahasia-budi-1")
    [entry] = audit_entries(app)
    assert entry.after["password_hash"] == "(changed)"
    assert entry.after["agency_id"] == samsat.id


def test_reset_a_password_and_deactivate_a_user(app, admin) -> None:  # type: ignore[no-untyped-def]
    duk1 = row(app, User, username="dukcapil1")
    old_token = token_for(admin, "dukcapil1")
    agency = str(duk1.agency_id)
    res = submit(admin, f"/admin/users/{duk1.id}", {
        "name": "dukcapil1", "role": "officer", "agency_id": agency, "active": "y",
        "password": "baru-sekali-99"})
    assert res.status_code == 302
    refused = admin.post("/api/v1/auth/token",
                         json={"username": "dukcapil1", "password": "petugas-demo"})
    assert refused.status_code == 401
    token_for(admin, "dukcapil1", "baru-sekali-99")
    assert admin.get("/api/v1/counters", headers=old_token).status_code == 401  # tokens ended
    [entry] = audit_entries(app)
    assert entry.before == {"password_hash": "(changed)", "demo_credential": True}
    assert entry.after == {"password_hash": "(changed)", "demo_credential": False}

    samsat1 = row(app, User, username="samsat1")
    assert submit(admin, f"/admin/users/{samsat1.id}", {
        "name": "samsat1", "role": "officer", "agency_id": str(samsat1.agency_id),
        "password": ""}).status_code == 302
    assert admin.post("/api/v1/auth/token", json={
        "username": "samsat1", "password": "petugas-demo"}).status_code == 401
    entry = audit_entries(app)[-1]
    assert (entry.before, entry.after) == ({"active": True}, {"active": False})
    dumped = json.dumps([[e.before, e.after] for e in audit_entries(app)])
    assert "baru-sekali-99" not in dumped
    assert row(app, User, username="dukcapil1").password_hash not in dumped


def test_an_administrator_cannot_lock_themselves_out(app, admin) -> None:  # type: ignore[no-untyped-def]
    me = row(app, User, username="admin")
    res = submit(admin, f"/admin/users/{me.id}", {
        "name": "admin", "role": "manager", "agency_id": "", "active": "y"})
    assert res.status_code == 400
    assert field_errors(res.get_data(as_text=True), "role") == [
        "Anda tidak dapat mencabut akses administrator Anda sendiri."]
    assert row(app, User, username="admin").role == "admin"


# -- devices ------------------------------------------------------------------------

KEY = re.compile(r'<p class="key" data-key>([^<]+)</p>')


def test_a_new_kiosk_key_is_shown_once_and_works(app, admin) -> None:  # type: ignore[no-untyped-def]
    res = submit(admin, "/admin/devices/new", {
        "code": "kiosk-2", "kind": "kiosk", "name": "Kios Lantai 2", "active": "y",
        "agencies": "samsat", "printer": "network://192.168.1.60:9100", "paper_width": "58",
        "voice": "auto"})
    assert res.status_code == 200, res.get_data(as_text=True)
    assert res.headers["Cache-Control"] == "no-store"
    key = KEY.search(res.get_data(as_text=True)).group(1)
    kiosk = row(app, Device, code="KIOSK-2")
    assert kiosk.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert (kiosk.kind, kiosk.name, kiosk.active, kiosk.demo_credential) == (
        "kiosk", "Kios Lantai 2", True, False)
    assert kiosk.settings == {"agencies": ["SAMSAT"], "printer": "network://192.168.1.60:9100",
                              "paper_width": 58}
    agencies = admin.get("/api/v1/agencies", headers=bearer(key)).get_json()["agencies"]
    assert [a["code"] for a in agencies] == ["SAMSAT"]  # the kiosk's scope
    assert issue(admin, service_id(app, "SAMSAT", "PKB"), key).status_code == 201
    assert key not in admin.get(f"/admin/devices/{kiosk.id}").get_data(as_text=True)
    [entry] = audit_entries(app)
    assert (entry.action, entry.entity_code) == ("create", "KIOSK-2")
    assert entry.after["key_hash"] == "(changed)"
    assert kiosk.key_hash not in json.dumps(entry.after) and key not in json.dumps(entry.after)


def test_rotating_a_key_ends_the_old_one_at_once(app, admin) -> None:  # type: ignore[no-untyped-def]
    kiosk = row(app, Device, code="KIOSK-1")
    pkb = service_id(app, "SAMSAT", "PKB")
    assert issue(admin, pkb).status_code == 201
    res = submit(admin, f"/admin/devices/{kiosk.id}/rotate-key", {},
                 page=f"/admin/devices/{kiosk.id}")
    assert res.status_code == 200
    key = KEY.search(res.get_data(as_text=True)).group(1)
    assert key != KIOSK_KEY
    refused = issue(admin, pkb)
    assert refused.status_code == 401
    assert issue(admin, pkb, key).get_json()["number"] == "S002"
    [entry] = audit_entries(app)
    assert (entry.action, entry.entity_code) == ("rotate_key", "KIOSK-1")
    assert entry.before == {"key_hash": "(changed)", "demo_credential": True}
    assert entry.after == {"key_hash": "(changed)", "demo_credential": False}


DEVICE_REFUSALS = [
    ({"code": "KIOSK-1"}, "code", "Kode KIOSK-1 sudah dipakai oleh KIOSK-1."),
    ({"printer": "ftp://printer"}, "printer",
     "Alamat printer ini tidak sah: unknown printer scheme 'ftp' in 'ftp://printer'; "
     "expected one of: network, usb, serial, file, agent, none"),
    ({"agencies": "NOPE, DUKCAPIL"}, "agencies", "Kode instansi tidak dikenal: NOPE."),
    ({"idle_seconds": "2"}, "idle_seconds", "Masukkan angka dari 5 sampai 3600."),
    ({"kind": "print_agent", "kiosks": "TV-1"}, "kiosks", "Kode kios tidak dikenal: TV-1."),
]


def test_an_invalid_device_is_refused_next_to_the_field(app, admin) -> None:  # type: ignore[no-untyped-def]
    for changes, field, message in DEVICE_REFUSALS:
        data = {"code": "KIOSK-2", "kind": "kiosk", "name": "Kios 2", "active": "y",
                "paper_width": "80", "voice": "auto", **changes}
        res = submit(admin, "/admin/devices/new", data)
        assert res.status_code == 400, changes
        assert field_errors(res.get_data(as_text=True), field) == [message], changes
    assert count(app, Device) == 3


def test_a_new_printer_takes_the_tickets_still_waiting_for_paper(database_url, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Nothing listens on port 9: the ticket's paper waits; after the change
    it goes to the new printer, and a new paper width gives the old job up."""
    app = make_app(database_url, clock, config_with_kiosk_printer(tmp_path, "network://127.0.0.1:9"))
    try:
        admin = app.test_client()
        log_in(admin)
        assert issue(admin, service_id(app, "DUKCAPIL", "KTP")).status_code == 201
        kiosk = row(app, Device, code="KIOSK-1")
        form = {"name": "KIOSK-1", "active": "y", "printer": "network://127.0.0.1:9101",
                "paper_width": "80", "voice": "auto"}
        assert submit(admin, f"/admin/devices/{kiosk.id}", form).status_code == 302
        job = row(app, PrintJob, device_id=kiosk.id)
        assert (job.target, job.status) == ("network://127.0.0.1:9101", "pending")
        assert row(app, Device, code="KIOSK-1").printer_state == "unknown"
        assert submit(admin, f"/admin/devices/{kiosk.id}",
                      {**form, "paper_width": "58"}).status_code == 302
        job = row(app, PrintJob, device_id=kiosk.id)
        assert (job.status, job.last_error) == ("failed", "printer changed")
        [first, second] = audit_entries(app)
        assert first.after == {"settings": {"printer": "network://127.0.0.1:9101",
                                            "paper_width": 80}}
        assert second.after == {"settings": {"printer": "network://127.0.0.1:9101",
                                             "paper_width": 58}}
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- the audit page -----------------------------------------------------------------


def test_the_audit_page_lists_the_latest_changes_fifty_a_page(app, admin) -> None:  # type: ignore[no-untyped-def]
    kk = service_id(app, "DUKCAPIL", "KK")
    assert submit(admin, f"/admin/services/{kk}", kk_form(daily_quota="5")).status_code == 302
    with app.app_context():
        for n in range(50):
            audit.write(db.session, app.extensions["antrian_clock"].now(), None, "update",
                        "agency", None, f"X{n}", {}, {})
        db.session.commit()
    first = admin.get("/admin/audit").get_data(as_text=True)
    assert first.count("data-audit=") == 50
    assert "X49" in first and "DUKCAPIL/KK" not in first  # newest first
    assert "Halaman 1 dari 2" in first
    second = admin.get("/admin/audit?page=2").get_data(as_text=True)
    assert second.count("data-audit=") == 1
    assert "DUKCAPIL/KK" in second
    assert "<strong>daily_quota</strong>: <code>3</code> → <code>5</code>" in second
    assert "admin" in second and "09:00:00" in second  # by whom, local time


def test_kiosks_and_displays_of_the_agency_are_told_to_refresh(app, admin) -> None:  # type: ignore[no-untyped-def]
    """TV-1 shows Lantai 1 (DUKCAPIL): a DUKCAPIL service change reaches it as
    queue.changed, so it reloads; TV-2 (Lantai 2) hears nothing."""
    from queue_server.extensions import socketio

    tv1 = socketio.test_client(app, auth={"key": "test-display-key-0001"})
    tv2 = socketio.test_client(app, auth={"key": "test-display-key-0002"})
    assert tv1.is_connected() and tv2.is_connected()
    tv1.get_received()
    tv2.get_received()
    kk = service_id(app, "DUKCAPIL", "KK")
    assert submit(admin, f"/admin/services/{kk}", kk_form(daily_quota="5")).status_code == 302
    dukcapil = row(app, Agency, code="DUKCAPIL")
    changed = [e["args"][0] for e in tv1.get_received() if e["name"] == "queue.changed"]
    assert [(c["agency_id"], c["refresh"]) for c in changed] == [(dukcapil.id, True)]
    assert [e for e in tv2.get_received() if e["name"] == "queue.changed"] == []
    tv1.disconnect()
    tv2.disconnect()
