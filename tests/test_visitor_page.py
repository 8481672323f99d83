"""The visitor's status page (/t/<token>) and its QR code, in real Chromium
against the real server (``antrian serve`` with eventlet, small test site).

The page is opened as a phone would (390x844, touch); officers act through
the JSON API, and the page must follow without a reload.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
import qrcode
import qrcode.image.svg
import requests
from browser import ARTIFACTS, browser  # noqa: F401
from live_server import live_server, live_server_factory  # noqa: F401
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

KIOSK = {"Authorization": "Bearer test-kiosk-key-0001"}
PHONE = {"width": 390, "height": 844}
LIVE = 2000  # ms: a push must reach the page within this after the API call returned

# navigator.vibrate is recorded instead of needing a real phone (and a user gesture).
RECORD_VIBRATIONS = """
window.__vibrations = [];
Object.defineProperty(Navigator.prototype, "vibrate", {
  configurable: true,
  value: function (pattern) { window.__vibrations.push(pattern); return true; },
});
"""


class Site:
    """The small test site through its JSON API, as kiosks and officers use it."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.tokens: dict[str, dict[str, str]] = {}

    def url(self, path: str) -> str:
        return self.server.url(path)

    def services(self) -> dict[str, int]:
        res = requests.get(self.url("/api/v1/agencies"), timeout=10)
        assert res.status_code == 200, res.text
        return {s["code"]: s["id"] for a in res.json()["agencies"] for s in a["services"]}

    def issue(self, service: str) -> dict[str, Any]:
        res = requests.post(self.url("/api/v1/tickets"), json={"service_id": self.services()[service]},
                            headers=KIOSK, timeout=10)
        assert res.status_code == 201, res.text
        return res.json()

    def status(self, token: str) -> dict[str, Any]:
        res = requests.get(self.url(f"/api/v1/tickets/{token}"), timeout=10)
        assert res.status_code == 200, res.text
        return res.json()

    def officer(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            res = requests.post(self.url("/api/v1/auth/token"),
                                json={"username": username, "password": "petugas-demo"}, timeout=10)
            assert res.status_code == 201, res.text
            self.tokens[username] = {"Authorization": f"Bearer {res.json()['token']}"}
        return self.tokens[username]

    def counter(self, username: str, code: str) -> int:
        res = requests.get(self.url("/api/v1/counters"), headers=self.officer(username), timeout=10)
        assert res.status_code == 200, res.text
        return next(c["id"] for c in res.json()["counters"] if c["code"] == code)

    def act(self, username: str, counter_id: int, action: str, body: dict | None = None) -> dict:
        res = requests.post(self.url(f"/api/v1/counters/{counter_id}/{action}"), json=body or {},
                            headers=self.officer(username), timeout=10)
        assert res.status_code == 200, f"{action}: {res.status_code} {res.text}"
        return res.json()


@pytest.fixture
def site(live_server) -> Site:  # noqa: F811
    return Site(live_server)


@pytest.fixture
def phone(browser):  # type: ignore[no-untyped-def]  # noqa: F811
    """A phone-sized browser context; fails the test on any script error in the page."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="id-ID")  # an Indonesian phone (Accept-Language: id-ID)
    context.add_init_script(RECORD_VIBRATIONS)
    errors: list[str] = []

    def open_page(url: str) -> Page:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        return page

    yield open_page
    context.close()
    assert errors == [], errors


def connected(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-connected", "true")


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_waiting_ticket_shows_its_place_and_it_drops_live(site: Site, phone) -> None:
    ahead = site.issue("KTP")
    mine = site.issue("KTP")
    estimate = site.status(mine["token"])["estimated_wait_minutes"]
    assert estimate and estimate > 0

    # Rendered by the server, before any script or socket.
    html = requests.get(site.url(f"/t/{mine['token']}"), timeout=10)
    assert html.status_code == 200
    assert "Di depan Anda: 1 orang" in html.text and mine["number"] in html.text

    page = phone(site.url(f"/t/{mine['token']}"))
    expect(page.locator("#number")).to_have_text(mine["number"])
    expect(page.locator("#service")).to_have_text("Perekaman KTP-el")
    expect(page.locator("#agency")).to_have_text("Dinas Kependudukan dan Pencatatan Sipil")
    expect(page.locator("#state")).to_have_text("Menunggu")
    expect(page.locator("#ahead")).to_have_text("Di depan Anda: 1 orang")
    expect(page.locator("#estimate")).to_have_text(f"Perkiraan: ± {estimate} menit")
    expect(page.locator("#panel-called")).to_be_hidden()
    expect(page.locator("#reconnecting")).to_be_hidden()
    connected(page)
    assert page.evaluate("window.visitor.ahead") == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    screenshot(page, "visitor-waiting-390x844.png")

    # The ticket ahead is called: this page moves up without a reload, and without
    # asking the server either: queue.moved carries the line.
    page.evaluate("window.__sameDocument = true")
    counter = site.counter("dukcapil1", "DUK-1")
    site.act("dukcapil1", counter, "open")
    # One counter of the two configured is open now: the estimate doubles, on the page too.
    assert site.status(mine["token"])["estimated_wait_minutes"] == 2 * estimate
    expect(page.locator("#estimate")).to_have_text(f"Perkiraan: ± {2 * estimate} menit")
    asked: list[str] = []
    page.on("request", lambda req: asked.append(req.url) if "/api/v1/tickets/" in req.url else None)
    called = site.act("dukcapil1", counter, "call-next")
    assert called["ticket"]["number"] == ahead["number"]
    expect(page.locator("#ahead")).to_have_text("Anda nomor berikutnya", timeout=LIVE + 1000)
    expect(page.locator("#estimate")).to_be_hidden()
    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("window.visitor.ahead") == 0
    assert site.status(mine["token"])["ahead"] == 0
    page.wait_for_timeout(1000)  # a refetch would have gone out 0.5 s after the event
    assert asked == []
    expect(page.locator("body")).to_have_attribute("data-status", "waiting")

    # Nothing about the other visitor: not their number, anywhere in the page or its markup.
    assert ahead["number"] not in page.inner_text("body")
    assert ahead["number"] not in page.content()
    assert page.title().startswith(mine["number"])


def test_call_reaches_the_page_with_counter_and_vibration(site: Site, phone) -> None:
    mine = site.issue("KTP")
    page = phone(site.url(f"/t/{mine['token']}"))
    expect(page.locator("#ahead")).to_have_text("Anda nomor berikutnya")
    expect(page.locator("#estimate")).to_be_hidden()
    connected(page)
    assert page.evaluate("window.__vibrations") == []

    counter = site.counter("dukcapil1", "DUK-1")
    site.act("dukcapil1", counter, "open")
    site.act("dukcapil1", counter, "call-next")
    expect(page.locator("#counter")).to_have_text("Loket 1", timeout=LIVE)
    expect(page.locator("body")).to_have_attribute("data-status", "called")
    expect(page.locator("#state")).to_have_text("Dipanggil")
    expect(page.locator("#panel-called")).to_contain_text("Silakan menuju")
    expect(page.locator("#zone")).to_have_text("Lantai 1")
    expect(page.locator("#panel-waiting")).to_be_hidden()
    assert len(page.evaluate("window.__vibrations")) == 1
    assert page.evaluate("window.visitor.status") == "called"
    assert page.evaluate("window.visitor.counter") == {"name": "Loket 1", "number": 1, "zone": "Lantai 1"}
    assert "Loket 1" in page.title()
    # The summary is read-only.
    page.evaluate("window.visitor.status = 'done'; try { window.visitor = null } catch (e) {}")
    assert page.evaluate("window.visitor.status") == "called"
    # The counter is the biggest text on the page after the number: readable from arm's length.
    size = page.eval_on_selector("#counter", "el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 48
    screenshot(page, "visitor-called-390x844.png")

    # A recall is announced again and marked as such.
    site.act("dukcapil1", counter, "recall")
    expect(page.locator("#recalled")).to_have_text("Panggilan ulang", timeout=LIVE)
    assert len(page.evaluate("window.__vibrations")) == 2

    site.act("dukcapil1", counter, "start")
    expect(page.locator("#state")).to_have_text("Sedang dilayani", timeout=LIVE)
    expect(page.locator("#serving-text")).to_have_text("Anda sedang dilayani di Loket 1")
    expect(page.locator("#panel-called")).to_be_hidden()

    site.act("dukcapil1", counter, "finish")
    expect(page.locator("#state")).to_have_text("Selesai", timeout=LIVE)
    expect(page.locator("body")).to_have_attribute("data-status", "done")
    expect(page.locator("#final-text")).to_have_text("Terima kasih atas kunjungan Anda.")
    assert page.evaluate("window.visitor.counter") is None

    # A reload shows the same final state, rendered by the server.
    page.reload()
    expect(page.locator("#state")).to_have_text("Selesai")
    expect(page.locator("#number")).to_have_text(mine["number"])


def test_transfer_keeps_the_number_and_follows_the_new_service(site: Site, phone) -> None:
    pkb = site.services()["PKB"]
    other = site.issue("KTP")
    mine = site.issue("KTP")
    page = phone(site.url(f"/t/{mine['token']}"))
    expect(page.locator("#ahead")).to_have_text("Di depan Anda: 1 orang")
    connected(page)

    # The other visitor goes to SAMSAT first (earlier arrival, so ahead of us there too).
    duk = site.counter("dukcapil1", "DUK-1")
    site.act("dukcapil1", duk, "open")
    assert site.act("dukcapil1", duk, "call-next")["ticket"]["number"] == other["number"]
    site.act("dukcapil1", duk, "transfer", {"service_id": pkb})

    assert site.act("dukcapil1", duk, "call-next")["ticket"]["number"] == mine["number"]
    expect(page.locator("#counter")).to_have_text("Loket 1", timeout=LIVE)
    site.act("dukcapil1", duk, "start")
    expect(page.locator("#state")).to_have_text("Sedang dilayani", timeout=LIVE)

    site.act("dukcapil1", duk, "transfer", {"service_id": pkb, "note": "pajak kendaraan"})
    expect(page.locator("#transferred")).to_have_text("Dialihkan ke Pembayaran Pajak Kendaraan Tahunan",
                                                      timeout=LIVE)
    expect(page.locator("#number")).to_have_text(mine["number"])
    expect(page.locator("#service")).to_have_text("Pembayaran Pajak Kendaraan Tahunan")
    expect(page.locator("#agency")).to_have_text("UPT Samsat")
    expect(page.locator("#state")).to_have_text("Menunggu")
    expect(page.locator("#ahead")).to_have_text("Di depan Anda: 1 orang")
    assert page.evaluate("window.visitor.transferred") is True

    # SAMSAT calls the other visitor: only the new service's room hears that the queue moved.
    sam = site.counter("samsat1", "SAM-1")
    site.act("samsat1", sam, "open")
    assert site.act("samsat1", sam, "call-next")["ticket"]["number"] == other["number"]
    expect(page.locator("#ahead")).to_have_text("Anda nomor berikutnya", timeout=LIVE + 1000)

    # A later call in the new service reaches the page, with the new counter and zone.
    site.act("samsat1", sam, "finish")
    assert site.act("samsat1", sam, "call-next")["ticket"]["number"] == mine["number"]
    expect(page.locator("#counter")).to_have_text("Loket 3", timeout=LIVE)
    expect(page.locator("#zone")).to_have_text("Lantai 2")
    expect(page.locator("#number")).to_have_text(mine["number"])
    expect(page.locator("#transferred")).to_be_visible()

    site.act("samsat1", sam, "finish")
    expect(page.locator("#state")).to_have_text("Selesai", timeout=LIVE)
    assert other["number"] not in page.content()


def test_page_reconnects_after_a_server_restart(site: Site, phone) -> None:
    mine = site.issue("KTP")
    page = phone(site.url(f"/t/{mine['token']}"))
    connected(page)
    expect(page.locator("#reconnecting")).to_be_hidden()

    site.server.kill()
    expect(page.locator("#reconnecting")).to_have_text("menyambung ulang…", timeout=10000)
    expect(page.locator("body")).to_have_attribute("data-connected", "false")

    site.server.start()
    # The client reconnects by itself (its retries back off up to 5 s apart).
    expect(page.locator("body")).to_have_attribute("data-connected", "true", timeout=15000)
    expect(page.locator("#reconnecting")).to_be_hidden()
    counter = site.counter("dukcapil1", "DUK-1")
    site.act("dukcapil1", counter, "open")
    site.act("dukcapil1", counter, "call-next")
    expect(page.locator("#counter")).to_have_text("Loket 1", timeout=LIVE)


def test_sound_is_offered_once_and_remembered(site: Site, phone) -> None:
    mine = site.issue("KTP")
    page = phone(site.url(f"/t/{mine['token']}"))
    button = page.locator("#sound")
    expect(button).to_have_text("Aktifkan suara")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.tap()
    expect(button).to_have_text("Suara aktif")
    assert page.evaluate("localStorage.getItem('antrian.visitor.sound')") == "on"
    page.reload()
    expect(page.locator("#sound")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#sound")).to_have_text("Suara aktif")


def test_unknown_and_malformed_tokens_get_a_friendly_404(site: Site, phone) -> None:
    for token in ("AAAAAAAAAAAAAAAAAAAAAA", "x" * 200, "bad.token!", "%00"):
        res = requests.get(site.url(f"/t/{token}"), timeout=10)
        assert res.status_code == 404, token
        assert res.headers["Content-Type"].startswith("text/html")
        assert "Tiket tidak ditemukan" in res.text
        assert requests.get(site.url(f"/t/{token}/qr.svg"), timeout=10).status_code == 404

    res = requests.get(site.url("/t/AAAAAAAAAAAAAAAAAAAAAA?lang=en"), timeout=10)
    assert res.status_code == 404 and "Ticket not found" in res.text

    page = phone(site.url("/t/AAAAAAAAAAAAAAAAAAAAAA"))
    expect(page.locator("h1")).to_have_text("Tiket tidak ditemukan")


def expected_qr(url: str) -> bytes:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="utf-8")


def check_qr(base_url: str, token: str, status_url: str) -> None:
    res = requests.get(f"{base_url}/t/{token}/qr.svg", timeout=10)
    assert res.status_code == 200
    assert res.headers["Content-Type"].split(";")[0] == "image/svg+xml"
    assert "max-age" in res.headers["Cache-Control"] and "no-store" not in res.headers["Cache-Control"]
    root = ET.fromstring(res.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert res.content == expected_qr(status_url)
    assert res.content != expected_qr(status_url + "x")  # the comparison does tell URLs apart
    again = requests.get(f"{base_url}/t/{token}/qr.svg", headers={"If-None-Match": res.headers["ETag"]},
                         timeout=10)
    assert again.status_code == 304


def test_qr_code_encodes_the_status_url(site: Site, live_server_factory) -> None:  # noqa: F811
    mine = site.issue("KTP")
    token = mine["token"]
    check_qr(site.server.base_url, token, f"{site.server.base_url}/t/{token}")
    assert mine["status_url"] == f"{site.server.base_url}/t/{token}"  # the same link as printed

    lan = live_server_factory("lan", env={"ANTRIAN_PUBLIC_URL": "http://192.168.1.10:5000/"})
    theirs = Site(lan).issue("KTP")
    check_qr(lan.base_url, theirs["token"], f"http://192.168.1.10:5000/t/{theirs['token']}")
    assert theirs["status_url"] == f"http://192.168.1.10:5000/t/{theirs['token']}"


def test_english_page(site: Site, phone) -> None:
    mine = site.issue("KTP")
    page = phone(site.url(f"/t/{mine['token']}?lang=en"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#state")).to_have_text("Waiting")
    expect(page.locator("#ahead")).to_have_text("You are next")
    expect(page.locator("#service")).to_have_text("ID card recording")
    expect(page.locator("#agency")).to_have_text("Civil Registration")
    expect(page.locator("#sound")).to_have_text("Enable sound")
    connected(page)
    # The socket snapshot is in Indonesian; the page keeps the English names.
    expect(page.locator("#service")).to_have_text("ID card recording")

    counter = site.counter("dukcapil1", "DUK-1")
    site.act("dukcapil1", counter, "open")
    site.act("dukcapil1", counter, "call-next")
    expect(page.locator("#counter")).to_have_text("Loket 1", timeout=LIVE)
    expect(page.locator("#state")).to_have_text("Called")
    expect(page.locator("#panel-called")).to_contain_text("Please go to")
    expect(page.locator("#agency")).to_have_text("Civil Registration")

    # The choice sticks (cookie): the same address without ?lang= stays English.
    page.goto(site.url(f"/t/{mine['token']}"))
    expect(page.locator("#state")).to_have_text("Called")
    expect(page.locator("#number-label")).to_have_text("Your queue number")
