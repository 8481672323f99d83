"""Script injection through names an administrator types: shown as text, never run.

The site's name, an agency, a service, its required documents, a counter and
the hall display's running text all hold HTML and script payloads (and a
``</script>`` that would end a JSON block early). A real ``antrian serve``
shows them on the hall display, the kiosk and the visitor's status page in
real Chromium: each payload must appear literally, no payload may set its
window flag or open a dialog, and no element the payloads describe may exist.
The printed ticket carries the names as plain text.

One server for the module: it is only read from, apart from the one ticket
issued and called in the fixture and the one the kiosk test takes.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from browser import browser  # noqa: F401
from escpos_parse import parse
from live_server import LiveServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

KIOSK_KEY = "inject-kiosk-key-0001"
DISPLAY_KEY = "inject-display-key-0001"
SITE = "MPP </script><script>window.__xss='site'</script> Uji"
AGENCY = "<img src=x onerror=\"window.__xss='agency'\">Dinas Uji"
SERVICE = "<script>window.__xss='service'</script>Layanan <b>Uji</b>"
DOCUMENT = "<svg onload=\"window.__xss='document'\"></svg>KTP asli"
COUNTER = "<img src=x onerror=window.__xss=1>L1"  # counter names are at most 60 characters
RUNNING = "<marquee><img src=x onerror=\"window.__xss='running'\">Selamat datang</marquee>"
CONFIG = f"""
[site]
name = {json.dumps(SITE)}
timezone = "Asia/Jakarta"

[[agencies]]
code = "UJI"
name = {json.dumps(AGENCY)}
prefix = "U"
zone = "Lantai 1"

  [[agencies.services]]
  code = "LAYANAN"
  name = {json.dumps(SERVICE)}
  documents = {json.dumps(DOCUMENT + "; Kartu Keluarga")}

  [[agencies.counters]]
  code = "UJI-1"
  number = 1
  name = {json.dumps(COUNTER)}
  services = ["LAYANAN"]

[[users]]
username = "petugas"
password = "petugas-demo"
role = "officer"
agency = "UJI"

[[devices]]
code = "KIOSK-1"
kind = "kiosk"
key = "{KIOSK_KEY}"
printer = "file:///dev/null"

[[devices]]
code = "TV-1"
kind = "display"
key = "{DISPLAY_KEY}"
running_text = {json.dumps(RUNNING)}
"""
# Anything the payloads would create if they were parsed as HTML.
INJECTED = ("img[src='x'], svg, marquee, b, [onerror], [onload], "
            "script:not([src]):not([type='application/json'])")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The server, with one ticket issued at the kiosk and called to counter UJI-1."""
    directory = tmp_path_factory.mktemp("injection")
    config = directory / "site.toml"
    config.write_text(CONFIG, encoding="utf-8")
    server = LiveServer(directory / "live", config=config)
    server.start()
    try:
        http = requests.Session()
        ticket = http.post(server.url("/api/v1/tickets"), json={"service_id": 1}, timeout=10,
                           headers={"Authorization": f"Bearer {KIOSK_KEY}"})
        assert ticket.status_code == 201, ticket.text
        login = http.post(server.url("/api/v1/auth/token"), timeout=10,
                          json={"username": "petugas", "password": "petugas-demo"})
        officer = {"Authorization": f"Bearer {login.json()['token']}"}
        for action in ("open", "call-next"):
            res = http.post(server.url(f"/api/v1/counters/1/{action}"), headers=officer, timeout=10)
            assert res.status_code == 200, res.text
        yield {"server": server, "ticket": ticket.json()}
    finally:
        server.stop()


@pytest.fixture
def open_page(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]  # noqa: F811
    """open(url, **context options): a fresh context that records dialogs and page errors."""
    contexts = []

    def open_(url: str, **options: Any) -> Page:
        context = browser.new_context(locale="id-ID", **options)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []  # type: ignore[attr-defined]
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
        page.add_init_script('localStorage.setItem("antrian.display.testAudio", "record");')
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        context.close()


def assert_inert(page: Page) -> None:
    """No payload ran (flag, dialog) and none became an element."""
    page.wait_for_load_state("load")  # an <img src=x> would have failed, and fired, by now
    assert page.evaluate("typeof window.__xss") == "undefined", page.evaluate("window.__xss")
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.locator(INJECTED).count() == 0, page.locator(INJECTED).evaluate_all(
        "els => els.map(e => e.outerHTML)")


def test_display_shows_names_and_running_text_as_text(site, open_page) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = site["server"]
    page = open_page(server.url(f"/display/TV-1?key={DISPLAY_KEY}"), viewport={"width": 1920, "height": 1080})
    expect(page.locator("#current-number")).to_have_text(site["ticket"]["number"])
    expect(page.locator("#current-agency")).to_have_text(AGENCY)
    expect(page.locator("#current-service")).to_have_text(SERVICE)
    expect(page.locator(".site")).to_have_text(SITE)
    expect(page.locator(".ticker-item").first).to_have_text(RUNNING)
    expect(page.locator("#waiting-list .name")).to_have_text([AGENCY])
    assert SITE in page.title()
    assert_inert(page)


def test_kiosk_shows_names_and_documents_as_text_and_issues(site, open_page) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = site["server"]
    page = open_page(server.url(f"/kiosk/?key={KIOSK_KEY}"), viewport={"width": 1080, "height": 1920},
                     has_touch=True)
    expect(page.locator("body")).to_have_attribute("data-screen", "language")
    page.get_by_role("button", name="Bahasa Indonesia").tap()
    agency = page.locator("#agency-grid [data-agency-code='UJI']")
    expect(agency.locator(".name")).to_have_text(AGENCY)
    agency.tap()
    service = page.locator("#service-list [data-service-id='1']")
    expect(service).to_contain_text(SERVICE)
    expect(service.locator(".doc")).to_have_text([DOCUMENT, "Kartu Keluarga"])
    assert_inert(page)

    service.tap()
    page.get_by_role("button", name="Tidak").tap()
    expect(page.locator("body")).to_have_attribute("data-screen", "result")
    expect(page.locator("#result-agency")).to_have_text(AGENCY)
    expect(page.locator("#result-service")).to_have_text(SERVICE)
    assert_inert(page)


def test_status_page_shows_names_as_text(site, open_page) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = site["server"]
    page = open_page(server.url(f"/t/{site['ticket']['token']}"), viewport={"width": 390, "height": 844},
                     is_mobile=True, has_touch=True)
    expect(page.locator("body")).to_have_attribute("data-connected", "true")  # visitor.js re-rendered
    expect(page.locator("body")).to_have_attribute("data-status", "called")
    expect(page.locator("#service")).to_have_text(SERVICE)
    expect(page.locator("#agency")).to_have_text(AGENCY)
    expect(page.locator("#counter")).to_have_text(COUNTER)
    assert_inert(page)


def _words(text: str) -> str:
    return " ".join(text.split())


def test_printed_ticket_carries_the_names_as_plain_text(site) -> None:  # type: ignore[no-untyped-def]
    """The print job made with the ticket, parsed the way a printer reads it (strictly:
    an unknown command byte would raise)."""
    server: LiveServer = site["server"]
    db_file = Path(server.database_url[len("sqlite:///"):])
    with sqlite3.connect(db_file) as conn:
        (payload,) = conn.execute("SELECT payload FROM print_jobs JOIN tickets ON tickets.id = ticket_id "
                                  "WHERE tickets.token = ?", (site["ticket"]["token"],)).fetchone()
    printed = _words(" ".join(parse(bytes(payload)).lines))
    for name in (SITE, AGENCY, SERVICE):
        assert _words(name) in printed, (name, printed)
    assert re.search(r"\bU001\b", printed), printed
