"""The staff printers page in Chromium: printer state per kiosk and reprinting
a ticket by its number, with the paper checked at a fake network printer."""

from __future__ import annotations

import pytest
from browser import ARTIFACTS, browser, served  # noqa: F401
from conftest import KIOSK_KEY, bearer, service_id
from escpos_parse import parse

from queue_server import print_dispatch

pytestmark = pytest.mark.browser


@pytest.fixture
def app(printing_app, sqlite_url):  # type: ignore[no-untyped-def]
    return printing_app(sqlite_url)


def log_in(page, base: str, username: str, password: str = "petugas-demo") -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/auth/login?next=/printers")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    page.wait_for_url(base + "/printers")


def test_officer_reprints_a_ticket_by_number(app, browser, served, fake_printer) -> None:  # noqa: F811
    client = app.test_client()
    ktp = service_id(app, "DUKCAPIL", "KTP")
    issued = [client.post("/api/v1/tickets", json={"service_id": ktp}, headers=bearer(KIOSK_KEY))
              for _ in range(2)]
    assert [r.status_code for r in issued] == [201, 201]
    print_dispatch.print_direct(app)
    fake_printer.wait_for_jobs(2)

    page = browser.new_page()
    log_in(page, served, "dukcapil1")
    row = page.locator("tr[data-kiosk='KIOSK-1']")
    assert "siap" in row.inner_text()  # the printer answered: ready
    page.fill("input[name=number]", "a-2")
    page.click("input[type=submit]")
    assert "A002 sedang dicetak ulang" in page.get_by_role("alert").inner_text()
    print_dispatch.print_direct(app)
    papers = fake_printer.wait_for_jobs(3)
    reprint = parse(papers[2])
    assert "CETAK ULANG" in reprint.text()
    assert any(r.text.strip() == "A002" and r.width_mult >= 2 for r in reprint.styled)

    page.fill("input[name=number]", "A099")
    page.click("input[type=submit]")
    assert "Tidak ada tiket A099 hari ini" in page.get_by_role("alert").inner_text()
    page.fill("input[name=number]", "<b>x</b>")
    page.click("input[type=submit]")
    assert "A012" in page.get_by_role("alert").first.inner_text()
    assert len(fake_printer.jobs) == 3
    page.close()


def test_other_agency_may_not_reprint_and_managers_see_a_dead_printer(app, browser, served, fake_printer) -> None:  # noqa: F811,E501
    client = app.test_client()
    res = client.post("/api/v1/tickets", json={"service_id": service_id(app, "DUKCAPIL", "KTP")},
                      headers=bearer(KIOSK_KEY))
    assert res.status_code == 201
    fake_printer.stop()
    print_dispatch.print_direct(app)

    page = browser.new_page()
    log_in(page, served, "samsat1")
    page.fill("input[name=number]", "A001")
    page.click("input[type=submit]")
    assert "milik instansi lain" in page.get_by_role("alert").inner_text()
    page.close()

    page = browser.new_page()
    log_in(page, served, "manajer", "manajer-demo")
    row = page.locator("tr[data-kiosk='KIOSK-1']")
    assert "tidak terhubung" in row.inner_text()
    assert row.locator("td").nth(3).inner_text() == "1"  # the ticket still waits for paper
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "printers-page.png"), full_page=True)
    page.close()


def test_printers_page_needs_a_login(browser, served) -> None:  # noqa: F811
    page = browser.new_page()
    page.goto(served + "/printers")
    assert "/auth/login" in page.url
    page.close()
