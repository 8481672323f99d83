"""Print jobs through the real app and a fake network printer on 127.0.0.1.

The server's print loop is driven one pass at a time (``print_direct``) with
the fixed clock, so retries are deterministic; the live loop and the print
agent are exercised end to end in test_print_agent.py.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from conftest import (
    DISPLAY_KEY,
    KIOSK_KEY,
    SMALL_CONFIG,
    bearer,
    make_app,
    service_id,
    token_for,
)
from escpos_parse import parse
from sqlalchemy import func, select

from queue_server import print_dispatch
from queue_server.config_import import import_config, load_toml
from queue_server.domain.errors import InvalidInput
from queue_server.extensions import db
from queue_server.models import Device, PrintJob, Ticket


@pytest.fixture
def app(printing_app, database_url):  # type: ignore[no-untyped-def]
    return printing_app(database_url)


def issue(client, sid: int, **extra):  # type: ignore[no-untyped-def]
    res = client.post("/api/v1/tickets", json={"service_id": sid, **extra}, headers=bearer(KIOSK_KEY))
    assert res.status_code in (200, 201), res.get_json()
    return res.get_json()


def big_number(paper: bytes) -> str:
    """The ticket number: the one run printed at double size or more."""
    [number] = [r.text.strip() for r in parse(paper).styled if r.width_mult >= 2 and r.text.strip()]
    return number


def job_of(app, ticket_id: int) -> PrintJob:  # type: ignore[no-untyped-def]
    with app.app_context():
        job = db.session.execute(select(PrintJob).where(PrintJob.ticket_id == ticket_id)).scalar_one()
        db.session.expunge(job)
        return job


def kiosk(app) -> Device:  # type: ignore[no-untyped-def]
    with app.app_context():
        device = db.session.execute(select(Device).where(Device.code == "KIOSK-1")).scalar_one()
        db.session.expunge(device)
        return device


def test_issued_ticket_is_printed_with_number_qr_and_cut(app, client, fake_printer) -> None:  # type: ignore[no-untyped-def]
    ticket = issue(client, service_id(app, "DUKCAPIL", "KTP"), priority="elderly")
    assert ticket["print"]["status"] == "pending"
    assert ticket["status_url"] == f"http://localhost/t/{ticket['token']}"
    assert fake_printer.jobs == []  # printing never delays the answer to the kiosk

    assert print_dispatch.print_direct(app) == 1
    [paper] = fake_printer.wait_for_jobs(1)
    receipt = parse(paper)
    assert any(r.text.strip() == "A001" and r.width_mult >= 2 and r.height_mult >= 2
               for r in receipt.styled)
    assert receipt.qr_data == [ticket["status_url"]] and receipt.qr_printed == 1
    assert receipt.cuts == 1 and receipt.commands[-1].startswith("GS V")
    text = receipt.text()
    assert "MPP Uji" in text and "Perekaman KTP-el" in text and "Prioritas: Lansia" in text

    job = job_of(app, ticket["id"])
    assert (job.status, job.attempts, job.last_error) == ("printed", 1, "")
    assert kiosk(app).printer_state == "ok"
    assert print_dispatch.print_direct(app) == 0
    assert len(fake_printer.jobs) == 1


def test_printer_down_keeps_the_ticket_and_prints_it_once_when_back(app, client, clock, fake_printer) -> None:  # type: ignore[no-untyped-def]
    fake_printer.stop()
    sid = service_id(app, "DUKCAPIL", "KTP")
    ticket = issue(client, sid)
    assert ticket["number"] == "A001"

    assert print_dispatch.print_direct(app) == 1
    job = job_of(app, ticket["id"])
    assert (job.status, job.attempts) == ("pending", 1)
    assert job.last_error.startswith("offline")
    assert kiosk(app).printer_state == "offline"
    # The ticket is valid and queued all the same, and the next visitor is not held up.
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["status"] == "waiting"
    assert issue(client, sid)["number"] == "A002"

    assert print_dispatch.print_direct(app) == 1  # A002's first attempt; A001 waits for its delay
    assert job_of(app, ticket["id"]).attempts == 1
    clock.advance(seconds=1)
    assert print_dispatch.print_direct(app) == 0  # nothing is due yet: back-off, not a busy loop
    clock.advance(seconds=1)
    fake_printer.start()
    assert print_dispatch.print_direct(app) == 2  # both retried once the delay has passed
    clock.advance(minutes=5)
    assert print_dispatch.print_direct(app) == 0

    papers = fake_printer.wait_for_jobs(2)
    assert sorted(big_number(p) for p in papers) == ["A001", "A002"]
    assert len(fake_printer.jobs) == 2
    assert job_of(app, ticket["id"]).status == "printed"
    assert kiosk(app).printer_state == "ok"


def test_paper_out_prints_nothing_and_says_so(app, client, fake_printer) -> None:  # type: ignore[no-untyped-def]
    fake_printer.paper = "out"
    ticket = issue(client, service_id(app, "DUKCAPIL", "KTP"))
    print_dispatch.print_direct(app)
    fake_printer.wait_for_connections(1)
    assert fake_printer.jobs == []
    job = job_of(app, ticket["id"])
    assert job.status == "pending" and job.last_error.startswith("paper_out")
    assert kiosk(app).printer_state == "paper_out"


def test_gives_up_after_two_minutes_then_staff_reprint(app, client, clock, fake_printer) -> None:  # type: ignore[no-untyped-def]
    fake_printer.stop()
    ticket = issue(client, service_id(app, "DUKCAPIL", "KTP"))
    for _ in range(70):
        print_dispatch.print_direct(app)
        clock.advance(seconds=2)
    job = job_of(app, ticket["id"])
    assert job.status == "failed"
    assert 5 <= job.attempts <= 9  # 0, 2, 7, 17, 37, 67, 97 s ...: back-off, not every pass

    fake_printer.start()
    print_dispatch.print_direct(app)
    assert fake_printer.jobs == []  # a given-up job is not printed behind the visitor's back

    officer = token_for(client, "dukcapil1")
    res = client.post(f"/api/v1/tickets/{ticket['id']}/reprint", headers=officer)
    assert res.status_code == 201, res.get_json()
    assert res.get_json()["print"]["status"] == "pending"
    print_dispatch.print_direct(app)
    [paper] = fake_printer.wait_for_jobs(1)
    assert "CETAK ULANG" in parse(paper).text()


def test_reprint_is_for_staff_of_the_ticket_agency(app, client) -> None:  # type: ignore[no-untyped-def]
    ticket = issue(client, service_id(app, "DUKCAPIL", "KTP"))
    url = f"/api/v1/tickets/{ticket['id']}/reprint"
    assert client.post(url).status_code == 401
    assert client.post(url, headers=bearer(KIOSK_KEY)).status_code == 403
    assert client.post(url, headers=bearer(DISPLAY_KEY)).status_code == 403
    other = client.post(url, headers=token_for(client, "samsat1"))
    assert (other.status_code, other.get_json()["error"]["code"]) == (403, "not_your_ticket")
    manager = token_for(client, "manajer", "manajer-demo")
    assert client.post(url, headers=manager).status_code == 201
    missing = client.post("/api/v1/tickets/999999/reprint", headers=manager)
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "ticket_not_found")
    bad_kiosk = client.post(url, json={"kiosk": "TV-1"}, headers=manager)
    assert (bad_kiosk.status_code, bad_kiosk.get_json()["error"]["code"]) == (422, "no_kiosk")


def test_a_retried_request_makes_no_second_print_job(app, client) -> None:  # type: ignore[no-untyped-def]
    sid = service_id(app, "DUKCAPIL", "KTP")
    first = issue(client, sid, request_id="kiosk-1-r1")
    again = issue(client, sid, request_id="kiosk-1-r1")
    assert again["id"] == first["id"] and again["print"]["job_id"] == first["print"]["job_id"]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(PrintJob)).scalar_one() == 1


def test_two_dispatchers_never_print_a_job_twice(app, client, fake_printer) -> None:  # type: ignore[no-untyped-def]
    """Several server processes (gunicorn workers) run the loop: claims decide."""
    sid = service_id(app, "DUKCAPIL", "KTP")
    tickets = [issue(client, sid) for _ in range(12)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def dispatch() -> None:
        try:
            barrier.wait()
            while print_dispatch.print_direct(app):
                pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=dispatch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    papers = fake_printer.wait_for_jobs(12)
    assert sorted(big_number(p) for p in papers) == sorted(t["number"] for t in tickets)
    with app.app_context():
        assert set(db.session.execute(select(PrintJob.status)).scalars()) == {"printed"}
        assert db.session.execute(select(func.sum(PrintJob.attempts))).scalar_one() == 12


def test_kiosk_without_printer_issues_without_a_job(database_url, clock) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, clock)
    client = app.test_client()
    ticket = issue(client, service_id(app, "DUKCAPIL", "KTP"))
    assert ticket["print"] == {"job_id": None, "status": "none", "attempts": 0, "error": ""}
    manager = token_for(client, "manajer", "manajer-demo")
    res = client.post(f"/api/v1/tickets/{ticket['id']}/reprint", headers=manager)
    assert (res.status_code, res.get_json()["error"]["code"]) == (409, "no_printer")
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
        db.session.remove()
        db.engine.dispose()


def test_managers_see_printer_state_officers_do_not(app, client, fake_printer) -> None:  # type: ignore[no-untyped-def]
    fake_printer.stop()
    issue(client, service_id(app, "DUKCAPIL", "KTP"))
    print_dispatch.print_direct(app)
    manager = token_for(client, "manajer", "manajer-demo")
    devices = {d["code"]: d for d in client.get("/api/v1/devices", headers=manager).get_json()["devices"]}
    printer = devices["KIOSK-1"]["printer"]
    assert (printer["target"], printer["state"], printer["open_jobs"]) == (fake_printer.url, "offline", 1)
    assert "printer" not in devices["TV-1"]
    assert client.get("/api/v1/devices", headers=token_for(client, "dukcapil1")).status_code == 403


@pytest.mark.parametrize(("settings", "fragment"), [
    ({"printer": "lpt://1"}, "lpt"),
    ({"printer": "network://"}, "host"),
    ({"printer": "none", "paper_width": 70}, "58 or 80"),
])
def test_bad_printer_settings_are_refused_on_import(sqlite_url, clock, settings, fragment) -> None:  # type: ignore[no-untyped-def]
    app = make_app(sqlite_url, clock)
    raw = load_toml(SMALL_CONFIG)
    raw["devices"][0].update(settings)
    with app.app_context(), pytest.raises(InvalidInput) as refused:
        import_config(db.session, raw)
    assert "KIOSK-1" in refused.value.message and fragment in refused.value.message.lower()


def test_stale_claim_of_a_crashed_attempt_is_retried(app, client, clock, fake_printer) -> None:  # type: ignore[no-untyped-def]
    """A server killed between claiming and printing: after the lease the job
    is attempted again instead of hanging in 'printing' forever."""
    from queue_server.domain import printing

    ticket = issue(client, service_id(app, "DUKCAPIL", "KTP"))
    with app.app_context():
        [claimed] = printing.claim_due(db.session, clock, agent=False)
        claimed_id = claimed.id
        db.session.commit()  # ... and the process dies here
    assert print_dispatch.print_direct(app) == 0
    clock.advance(seconds=printing.CLAIM_LEASE.total_seconds() + 1)
    assert print_dispatch.print_direct(app) == 1
    fake_printer.wait_for_jobs(1)
    job = job_of(app, ticket["id"])
    assert (job.id, job.status, job.attempts) == (claimed_id, "printed", 2)
    assert dt.timedelta(0) < job.printed_at - job.created_at


def test_kiosk_ticket_logo_is_printed_at_the_top(app, client, tmp_path, fake_printer) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    logo = tmp_path / "logo-mpp.png"
    Image.new("1", (300, 120), 0).save(logo)
    with app.app_context():
        device = db.session.execute(select(Device).where(Device.code == "KIOSK-1")).scalar_one()
        device.settings = {**device.settings, "ticket_logo": str(logo)}
        db.session.commit()
    issue(client, service_id(app, "DUKCAPIL", "KTP"))
    print_dispatch.print_direct(app)
    receipt = parse(fake_printer.wait_for_jobs(1)[0])
    assert len(receipt.images) == 1 and receipt.images[0][0] <= 576  # fits 80 mm (576 dots)
    assert receipt.commands.index(next(c for c in receipt.commands if "GS v" in c or "GS ( L" in c)) < \
        receipt.commands.index(next(c for c in receipt.commands if c.startswith("GS ( k")))
