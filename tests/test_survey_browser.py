"""The satisfaction survey in real Chromium against the real server (``antrian
serve``, eventlet, the small test site): on the visitor's phone once the
ticket is finished, and on a counter's tablet. Officers act through the JSON
API; what was stored is read back from the server's SQLite file.

Screenshots: test-artifacts/survey-phone-390x844.png, survey-tablet-1024x768.png.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from browser import ARTIFACTS, browser  # noqa: F401
from live_server import LiveServer, live_server  # noqa: F401
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

KIOSK = {"Authorization": "Bearer test-kiosk-key-0001"}
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 768}
LIVE = 3000  # ms for a push to reach a page
CODES = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")
THANKS = "Terima kasih! Jawaban Anda membantu kami meningkatkan pelayanan."
ALREADY = "Survei untuk tiket ini sudah pernah diisi. Terima kasih!"
CHOOSE_ONE = "Silakan pilih jawaban untuk setidaknya satu pertanyaan."
OFFLINE = re.compile(r"^Jawaban Anda belum terkirim karena tidak ada koneksi ke server\.")


class Site:
    """Kiosk and officers through the JSON API."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.tokens: dict[str, dict[str, str]] = {}

    def issue(self) -> dict[str, Any]:
        res = requests.post(self.server.url("/api/v1/tickets"), json={"service_id": 1}, headers=KIOSK,
                            timeout=10)  # 1 = DUKCAPIL's KTP, always open
        assert res.status_code == 201, res.text
        return dict(res.json())

    def officer(self, username: str = "dukcapil1") -> dict[str, str]:
        if username not in self.tokens:
            res = requests.post(self.server.url("/api/v1/auth/token"),
                                json={"username": username, "password": "petugas-demo"}, timeout=10)
            assert res.status_code == 201, res.text
            self.tokens[username] = {"Authorization": f"Bearer {res.json()['token']}"}
        return self.tokens[username]

    def serve_next(self, counter: int = 1) -> dict[str, Any]:
        """Open the counter if needed, call the next ticket and finish it."""
        for action in ("open", "call-next", "finish"):
            res = requests.post(self.server.url(f"/api/v1/counters/{counter}/{action}"),
                                headers=self.officer(), timeout=10)
            assert res.status_code == 200 or (action == "open" and res.status_code == 409), res.text
        return dict(res.json()["ticket"])

    def responses(self) -> list[dict[str, Any]]:
        path = self.server.database_url[len("sqlite:///"):]
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM survey_responses ORDER BY id").fetchall()
        return [dict(r) for r in rows]


@pytest.fixture
def site(live_server: LiveServer) -> Site:  # noqa: F811
    return Site(live_server)


@pytest.fixture
def pages(browser) -> Iterator[Callable[..., Page]]:  # noqa: F811
    """New pages in their own contexts; any script error in them fails the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_page(url: str, viewport: dict[str, int] = PHONE, **options: Any) -> Page:
        context = browser.new_context(viewport=viewport, locale="id-ID", **options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], errors


def choose(page: Page, code: str, score: int) -> None:
    page.locator(f"fieldset[data-code='{code}'] label[data-score='{score}']").click()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_visitor_answers_on_the_status_page_once(site: Site, pages) -> None:
    ticket = site.issue()
    page = pages(site.server.url(f"/t/{ticket['token']}"), is_mobile=True, has_touch=True)
    expect(page.locator("body")).to_have_attribute("data-connected", "true")
    expect(page.locator("#panel-survey")).to_be_hidden()
    assert page.evaluate("window.visitor.survey") is None

    # Finished while the page is open: the survey appears without a reload.
    page.evaluate("window.__sameDocument = true")
    site.serve_next()
    expect(page.locator("#panel-survey")).to_be_visible(timeout=LIVE)
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("#state")).to_have_text("Selesai")
    expect(page.locator("#survey-title")).to_have_text("Bagaimana pelayanan kami?")
    expect(page.locator("fieldset.survey-q")).to_have_count(9)
    u1 = page.locator("fieldset[data-code='U1']")
    expect(u1.locator(".survey-element")).to_have_text("U1 Persyaratan")
    expect(u1.locator(".survey-label")).to_have_text(
        ["Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"])
    expect(page.locator("fieldset[data-code='U8'] .survey-element")).to_have_text(
        "U8 Penanganan pengaduan, saran, dan masukan")
    assert page.evaluate("window.visitor.survey") == "open"
    # Big enough for a thumb, and nothing wider than the phone.
    box = u1.locator("label[data-score='4']").bounding_box()
    assert box is not None and box["height"] >= 48 and box["width"] >= 140
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Nothing chosen: a clear message, nothing sent.
    page.locator("#survey-send").click()
    expect(page.locator("#survey-error")).to_have_text(CHOOSE_ONE)

    choose(page, "U1", 4)
    for code in ("U2", "U3", "U4", "U5", "U6", "U7"):
        choose(page, code, 3)
    choose(page, "U9", 2)  # U8 left out: allowed
    expect(page.locator("#survey-error")).to_be_hidden()
    # The suggestion stops at 2,000 characters.
    page.locator("#survey-suggestion").fill("x" * 2100)
    assert page.evaluate("document.getElementById('survey-suggestion').value.length") == 2000
    expect(page.locator("#survey-left")).to_have_text("Sisa 0 karakter")
    page.locator("#survey-suggestion").fill("Ruang tunggu <b>panas</b>")
    expect(page.locator("#survey-left")).to_have_text("")
    shot(page, "survey-phone-390x844.png")

    # No network: said plainly, the answers stay on the page.
    page.route(re.compile(r".*/survey(\?.*)?$"), lambda route: route.abort())
    page.locator("#survey-send").click()
    expect(page.locator("#survey-error")).to_have_text(OFFLINE)
    assert site.responses() == []
    page.unroute(re.compile(r".*/survey(\?.*)?$"))

    page.locator("#survey-send").click()
    expect(page.locator("#thanks-text")).to_have_text(THANKS)
    expect(page.locator("#panel-survey")).to_be_hidden()
    assert page.evaluate("window.visitor.survey") == "answered"
    [row] = site.responses()
    assert [row[c.lower()] for c in CODES] == [4, 3, 3, 3, 3, 3, 3, None, 2]
    assert (row["token"], row["counter_id"], row["suggestion"]) == (
        ticket["token"], 1, "Ruang tunggu <b>panas</b>")

    # Never again for this ticket.
    page.reload()
    expect(page.locator("#panel-thanks")).to_be_visible()
    expect(page.locator("#thanks-text")).to_have_text("Terima kasih telah mengisi survei kepuasan.")
    expect(page.locator("#panel-survey")).to_be_hidden()
    expect(page.locator("body")).to_have_attribute("data-connected", "true")
    expect(page.locator("#panel-survey")).to_be_hidden()  # the socket's snapshot agrees


def test_a_second_page_learns_the_ticket_was_already_rated(site: Site, pages) -> None:
    ticket = site.issue()
    site.serve_next()
    first = pages(site.server.url(f"/t/{ticket['token']}"))
    second = pages(site.server.url(f"/t/{ticket['token']}"))
    for page in (first, second):
        expect(page.locator("#panel-survey")).to_be_visible()
    choose(first, "U1", 4)
    first.locator("#survey-send").click()
    expect(first.locator("#panel-thanks")).to_be_visible()
    choose(second, "U1", 1)
    second.locator("#survey-send").click()
    expect(second.locator("#thanks-text")).to_have_text(ALREADY)
    expect(second.locator("#panel-survey")).to_be_hidden()
    assert [r["u1"] for r in site.responses()] == [4]  # the first answer counts


def log_in(page: Page, server: LiveServer, username: str = "dukcapil2") -> None:
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    page.locator("#username").fill(username)
    page.locator("#password").fill("petugas-demo")
    page.locator("input[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(server.url("/counter/survey"))))


def screen(page: Page, name: str, timeout: int = LIVE) -> None:
    expect(page.locator("body")).to_have_attribute("data-screen", name, timeout=timeout)


def test_tablet_offers_the_survey_of_each_finished_ticket(site: Site, pages) -> None:
    for _ in range(3):
        site.issue()
    tablet = pages(site.server.url("/counter/survey"), viewport=TABLET, has_touch=True)
    log_in(tablet, site.server)
    screen(tablet, "choose")
    expect(tablet.locator("#counter-list button")).to_have_count(2)  # DUKCAPIL's counters only
    tablet.locator("#counter-list [data-code='DUK-1']").click()
    screen(tablet, "idle")
    expect(tablet.locator("#where")).to_have_text("Loket 1 · DUK-1 · Lantai 1")
    tablet.wait_for_function("window.surveyTablet.connected === true")

    # Loket 1 finishes A001: the tablet asks its visitor at once.
    first = site.serve_next()
    screen(tablet, "survey")
    expect(tablet.locator("#survey-number")).to_have_text(f"Tiket {first['number']}")
    expect(tablet.locator("#survey-service")).to_have_text("Perekaman KTP-el")
    for code in CODES:
        choose(tablet, code, 4)
    tablet.locator("#survey-suggestion").fill("Petugas ramah")
    shot(tablet, "survey-tablet-1024x768.png")
    tablet.locator("#survey-send").click()
    screen(tablet, "thanks")
    expect(tablet.locator("#thanks-text")).to_have_text(THANKS)
    [row] = site.responses()
    assert [row[c.lower()] for c in CODES] == [4] * 9
    assert (row["counter_id"], row["suggestion"]) == (1, "Petugas ramah")
    screen(tablet, "idle", timeout=12000)  # back after the thank-you

    # The visitor's phone knows it was answered on the tablet.
    phone = pages(site.server.url(f"/t/{requests_token(site, first)}"))
    expect(phone.locator("#panel-thanks")).to_be_visible()
    expect(phone.locator("#panel-survey")).to_be_hidden()

    # A002: the visitor does not want to answer.
    second = site.serve_next()
    screen(tablet, "survey")
    expect(tablet.locator("#survey-number")).to_have_text(f"Tiket {second['number']}")
    tablet.locator("#survey-skip").click()
    screen(tablet, "idle")

    # A003 answers on the phone first; the tablet's answer is then refused kindly.
    third = site.serve_next()
    screen(tablet, "survey")
    expect(tablet.locator("#survey-number")).to_have_text(f"Tiket {third['number']}")
    res = requests.post(site.server.url(f"/api/v1/tickets/{requests_token(site, third)}/survey"),
                        json={"scores": {"U1": 2}}, timeout=10)
    assert res.status_code == 201, res.text
    choose(tablet, "U1", 1)
    tablet.locator("#survey-send").click()
    screen(tablet, "thanks")
    expect(tablet.locator("#thanks-text")).to_have_text(ALREADY)
    assert [r["u1"] for r in site.responses()] == [4, 2]


def requests_token(site: Site, ticket: dict[str, Any]) -> str:
    """The visitor's token of a ticket the API returned to the officer (by id, from the database)."""
    path = site.server.database_url[len("sqlite:///"):]
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("SELECT token FROM tickets WHERE id = ?", (ticket["id"],)).fetchone()[0])
