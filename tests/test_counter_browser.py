"""The counter officer's page (/counter) in real Chromium against a real server.

Every test starts ``antrian serve`` (eventlet, fresh SQLite, the small site
or a variant of it written into tmp_path), logs officers in through the
login form and drives the page with the mouse and the keyboard at 1366x768.
What the page did is checked from outside as well: through the JSON API and
through a display's python-socketio connection. Waiting is Playwright's
auto-waiting ``expect``/``wait_for_function``, never a sleep.

The screenshot goes to ``test-artifacts/counter-1366x768.png``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from browser import ARTIFACTS, browser  # noqa: F401
from live_server import SMALL_CONFIG, LiveServer, live_server, live_server_factory  # noqa: F401
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.browser

KIOSK_KEY = "test-kiosk-key-0001"
DISPLAY_KEY = "test-display-key-0001"
PASSWORD = "petugas-demo"
DESKTOP = {"width": 1366, "height": 768}
KTP, KK = 1, 2       # DUKCAPIL's services in the small site
DUK1, DUK2, SAM1 = 1, 2, 3  # counter ids
EVENT_TIMEOUT = 10.0


# -- helpers -------------------------------------------------------------------


class Officer:
    """A logged-in browser context on the counter page, with its page errors."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context = context
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))


@pytest.fixture
def login(browser) -> Iterator[Callable[..., Page]]:  # noqa: F811
    """Log a user in through /auth/login and land on /counter/; contexts closed at teardown."""
    officers: list[Officer] = []

    def login_(server: LiveServer, username: str = "dukcapil1", password: str = PASSWORD,
               query: str = "", viewport: dict[str, int] = DESKTOP) -> Page:
        context = browser.new_context(viewport=viewport, locale="id-ID")
        page = context.new_page()
        officer = Officer(context, page)
        officers.append(officer)
        page.goto(server.url(f"/counter/{query}"))
        expect(page).to_have_url(re.compile(r"/auth/login\?next="))
        page.locator("#username").fill(username)
        page.locator("#password").fill(password)
        page.locator("input[type=submit]").click()
        expect(page).to_have_url(re.compile(re.escape(server.url(f"/counter/{query}"))))
        return page

    yield login_
    errors = [(o.page.url, e) for o in officers for e in o.errors]
    for officer in officers:
        officer.context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def screen(page: Page, name: str) -> None:
    expect(page.locator("body")).to_have_attribute("data-screen", name)


def wait_connected(page: Page) -> None:
    page.wait_for_function("window.counterPage.connected === true")
    expect(page.locator("#offline")).to_be_hidden()


def card(page: Page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#counter-list [data-code='{code}']")


def action(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#actions [data-action='{name}']")


def open_counter(page: Page, code: str = "DUK-1") -> None:
    """From the choice screen to the work screen of a counter (opening it)."""
    screen(page, "choose")
    card(page, code).click()
    screen(page, "work")
    expect(page.locator("#counter-state")).to_have_text("Buka")
    wait_connected(page)


def current(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#current-number")


def queue_numbers(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#queue-list .q-number")


def issue(server: LiveServer, service_id: int = KTP, **fields: Any) -> dict[str, Any]:
    res = requests.post(server.url("/api/v1/tickets"), json={"service_id": service_id, **fields},
                        headers={"Authorization": f"Bearer {KIOSK_KEY}"}, timeout=10)
    assert res.status_code == 201, res.text
    return dict(res.json())


def bearer(server: LiveServer, username: str) -> dict[str, str]:
    res = requests.post(server.url("/api/v1/auth/token"), json={"username": username, "password": PASSWORD},
                        timeout=10)
    assert res.status_code == 201, res.text
    return {"Authorization": f"Bearer {res.json()['token']}"}


def api(server: LiveServer, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    res = requests.request(method, server.url(f"/api/v1{path}"), headers=headers, timeout=10, **kw)
    assert res.status_code < 400, res.text
    return res.json()


def ticket_status(server: LiveServer, token: str) -> dict[str, Any]:
    res = requests.get(server.url(f"/api/v1/tickets/{token}"), timeout=10)
    assert res.status_code == 200, res.text
    return dict(res.json())


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def config_variant(tmp_path: Path, name: str, edit: Callable[[str], str]) -> Path:
    text = SMALL_CONFIG.read_text()
    changed = edit(text)
    assert changed != text, f"{name}: small_config.toml no longer has what the edit expects"
    path = tmp_path / f"{name}.toml"
    path.write_text(changed)
    return path


def always_open(text: str) -> str:
    """SAMSAT without office hours (the live server runs on the real clock)."""
    return text.replace('schedule = "kantor"\n', "")


class Display:
    """A hall display's Socket.IO connection, recording ticket.called."""

    def __init__(self, server: LiveServer) -> None:
        self.calls: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self.client = socketio.Client(reconnection=False, request_timeout=5)
        self.client.on("ticket.called", self._record)
        self.client.connect(server.base_url, auth={"key": DISPLAY_KEY}, transports=["websocket"],
                            wait_timeout=10)

    def _record(self, payload: dict[str, Any]) -> None:
        with self._changed:
            self.calls.append(payload)
            self._changed.notify_all()

    def expect_call(self, number: str, kind: str = "called") -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((c for c in self.calls if c.get("number") == number and c.get("kind") == kind), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None, timeout=EVENT_TIMEOUT)
            call = found()
        assert call is not None, f"the display saw no {kind} call of {number}: {self.calls}"
        return call

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def display() -> Iterator[Callable[[LiveServer], Display]]:
    opened: list[Display] = []

    def connect(server: LiveServer) -> Display:
        opened.append(Display(server))
        return opened[-1]

    yield connect
    for item in opened:
        item.close()


# -- the officer's day -----------------------------------------------------------------


def test_login_open_call_by_button_and_shortcuts_serve_finish_and_figures(
        login, live_server, display) -> None:  # noqa: F811
    first = issue(live_server, priority="elderly")
    second = issue(live_server)
    issue(live_server)
    issue(live_server)
    hall = display(live_server)

    page = login(live_server)
    screen(page, "choose")
    expect(page.get_by_role("heading", name="Pilih loket")).to_be_visible()
    # Only the officer's own agency's counters are offered.
    expect(page.locator("#counter-list button")).to_have_count(2)
    expect(card(page, "SAM-1")).to_have_count(0)
    expect(card(page, "DUK-1")).to_contain_text("Loket 1")
    expect(card(page, "DUK-1").locator(".state")).to_have_text("Tutup")

    open_counter(page, "DUK-1")
    expect(page.locator("#where")).to_have_text("Loket 1 · DUK-1 · Lantai 1")
    expect(queue_numbers(page)).to_have_text(["A001", "A002", "A003", "A004"])
    expect(page.locator("#queue-list [data-number='A001']")).to_have_class(re.compile(r"\bpriority\b"))
    expect(page.locator("#queue-list [data-number='A001'] .q-tags")).to_have_text("Lansia")
    expect(page.locator("#queue-count")).to_have_text("4 menunggu")
    expect(page.locator("#queue-longest")).to_have_text(re.compile(r"^terlama \d\d:\d\d$"))
    expect(current(page)).to_have_text("—")
    for name in ("recall", "start", "finish", "no-show", "transfer"):
        expect(action(page, name)).to_be_disabled()
    expect(action(page, "call-next")).to_be_enabled()
    expect(action(page, "call-next").locator("kbd")).to_have_text("Spasi / F1")

    # Call next by the button.
    action(page, "call-next").click()
    expect(current(page)).to_have_text("A001")
    expect(page.locator("#current-service")).to_have_text("Perekaman KTP-el")
    expect(page.locator("#current-priority")).to_have_text("Prioritas: Lansia")
    expect(page.locator("#current-status")).to_have_text("Dipanggil")
    expect(page.locator("#notice")).to_have_text("A001 dipanggil ke Loket 1.")
    expect(page.locator("#current-waited")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    expect(page.locator("#current-timer")).to_have_text(re.compile(r"^00:0[1-9]$"))  # it runs
    expect(queue_numbers(page)).to_have_text(["A002", "A003", "A004"])
    # Only one active ticket per counter: calling again is not offered.
    expect(action(page, "call-next")).to_be_disabled()
    expect(action(page, "pause")).to_be_disabled()
    expect(action(page, "close")).to_be_disabled()
    call = hall.expect_call("A001")
    assert call["counter"]["name"] == "Loket 1"
    seen = ticket_status(live_server, first["token"])
    assert (seen["status"], seen["counter"]["name"]) == ("called", "Loket 1")
    shot(page, "counter-1366x768.png")

    # Start (S) and finish (F) by shortcut; the figures follow.
    page.keyboard.press("s")
    expect(page.locator("#current-status")).to_have_text("Sedang dilayani")
    expect(page.locator("#current-serving-box")).to_be_visible()
    expect(action(page, "recall")).to_be_disabled()
    page.keyboard.press("f")
    expect(current(page)).to_have_text("—")
    expect(page.locator("#notice")).to_have_text("A001 selesai dilayani.")
    expect(page.locator("#fig-served")).to_have_text("1")
    expect(page.locator("#fig-avg-service")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    assert ticket_status(live_server, first["token"])["status"] == "done"

    # Call next by the shortcut (Space), recall (R): the display hears both.
    page.keyboard.press("Space")
    expect(current(page)).to_have_text("A002")
    assert hall.expect_call("A002")["counter"]["number"] == 1
    assert ticket_status(live_server, second["token"])["status"] == "called"
    page.keyboard.press("r")
    recalls = page.locator("#current-recalls")
    expect(recalls).to_have_text("dipanggil ulang 1×")
    hall.expect_call("A002", kind="recalled")
    action(page, "recall").click()
    expect(recalls).to_have_text("dipanggil ulang 2×")
    expect(action(page, "recall")).to_be_focused()
    # Space with the focus on Recall: calling next does not apply while A002 is
    # active, and the key does not press the focused button either.
    page.keyboard.press("Space")
    page.keyboard.press("s")
    expect(page.locator("#current-status")).to_have_text("Sedang dilayani")
    counter = api(live_server, "GET", f"/counters/{DUK1}", bearer(live_server, "dukcapil1"))
    assert (counter["current_ticket"]["number"], counter["current_ticket"]["recall_count"]) == ("A002", 2)

    # Finish by the button, then call next by F1.
    action(page, "finish").click()
    expect(current(page)).to_have_text("—")
    expect(page.locator("#fig-served")).to_have_text("2")
    page.keyboard.press("F1")
    expect(current(page)).to_have_text("A003")
    page.keyboard.press("f")  # a called ticket may be finished at once
    expect(current(page)).to_have_text("—")
    expect(page.locator("#fig-served")).to_have_text("3")
    page.keyboard.press("Space")
    expect(current(page)).to_have_text("A004")
    expect(page.locator("#queue-empty")).to_be_visible()
    expect(action(page, "call-next")).to_be_disabled()

    # Shortcuts do nothing while typing: X in the reprint field is a letter, not "close".
    page.locator("#reprint-number").click()
    page.keyboard.type("xn")
    expect(page.locator("#reprint-number")).to_have_value("xn")
    expect(page.locator("dialog[open]")).to_have_count(0)
    page.keyboard.press("Escape")  # leaves the field
    expect(page.locator("#reprint-number")).not_to_be_focused()

    # Reprint the current ticket: KIOSK-1 has no printer, and the page says so plainly.
    page.locator("#reprint-number").fill("")
    page.locator("#reprint-button").click()
    expect(page.locator("#message-text")).to_have_text("KIOSK-1 tidak memiliki printer tiket.")
    expect(page.get_by_role("alert")).to_be_visible()

    summary = page.evaluate("({...window.counterPage})")
    assert summary["counterId"] == DUK1 and summary["state"] == "open"
    assert summary["current"] == "A004" and summary["queue"] == [] and summary["connected"] is True
    assert page.evaluate("window.counterPage.figures.served") == 3


def test_transfer_to_another_agency_keeps_the_number_and_the_arrival(
        login, live_server_factory, tmp_path) -> None:  # noqa: F811
    server = live_server_factory(config=config_variant(tmp_path, "always_open", always_open))
    issue(server)
    issue(server)
    duk = bearer(server, "dukcapil1")
    arrived = {t["number"]: t["arrived_at"] for t in api(server, "GET", "/counters/1/queue", duk)["tickets"]}

    # SAMSAT's officer watches their own queue in another browser.
    samsat = login(server, "samsat1")
    samsat_cards = samsat.locator("#counter-list button")
    expect(samsat_cards).to_have_count(1)
    expect(samsat_cards).to_have_attribute("data-code", "SAM-1")
    open_counter(samsat, "SAM-1")
    expect(samsat.locator("#queue-empty")).to_be_visible()

    page = login(server)
    open_counter(page)
    page.keyboard.press("Space")
    expect(current(page)).to_have_text("A001")
    page.keyboard.press("t")
    dialog = page.locator("#transfer-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#transfer-lead")).to_contain_text("A001")
    # Shortcuts sleep while a dialog is open: typing "p" and "x" only searches.
    page.keyboard.type("px")
    expect(page.locator("#transfer-search")).to_have_value("px")
    assert page.evaluate("window.counterPage.state") == "open"
    page.locator("#transfer-search").fill("pajak kendaraan")
    option = page.locator("#transfer-list [data-code='PKB']")
    expect(option).to_contain_text("Pembayaran Pajak Kendaraan Tahunan")
    expect(option).to_contain_text("SAMSAT")
    expect(option.locator("input")).to_be_checked()  # the only match is chosen
    # The ticket's own service is not offered.
    page.locator("#transfer-search").fill("KTP")
    expect(page.locator("#transfer-list [data-code='KTP']")).to_have_count(0)
    page.locator("#transfer-search").fill("")
    page.locator("#transfer-list [data-code='PKB']").click()
    page.locator("#transfer-note").fill("Bayar pajak kendaraan")
    page.locator("#transfer-ok").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#notice")).to_have_text(
        "A001 dialihkan ke Pembayaran Pajak Kendaraan Tahunan (SAMSAT).")
    expect(current(page)).to_have_text("—")
    expect(page.locator("#fig-transferred")).to_have_text("1")
    expect(queue_numbers(page)).to_have_text(["A002"])

    # It appears in SAM-1's queue at once, with its number and original arrival.
    expect(queue_numbers(samsat)).to_have_text(["A001"])
    expect(samsat.locator("#queue-list [data-number='A001'] .q-tags")).to_have_text("dialihkan")
    sam = api(server, "GET", f"/counters/{SAM1}/queue", bearer(server, "samsat1"))
    assert [t["number"] for t in sam["tickets"]] == ["A001"]
    moved = sam["tickets"][0]
    assert moved["arrived_at"] == arrived["A001"]
    assert (moved["service"]["code"], moved["leg"], moved["note"]) == ("PKB", 2, "Bayar pajak kendaraan")

    # SAMSAT calls it: the note of the transfer is shown to the next officer.
    samsat.keyboard.press("Space")
    expect(current(samsat)).to_have_text("A001")
    expect(samsat.locator("#current-service")).to_have_text("Pembayaran Pajak Kendaraan Tahunan")
    expect(samsat.locator("#current-note")).to_have_text("Catatan: Bayar pajak kendaraan")
    expect(samsat.locator("#current-transferred")).to_be_visible()


def test_no_show_needs_a_recall_within_the_grace_time_and_can_be_called_back(
        login, live_server_factory, tmp_path) -> None:  # noqa: F811
    config = config_variant(tmp_path, "grace", lambda text: text.replace(
        "no_show_grace_seconds = 0", "no_show_grace_seconds = 120"))
    server = live_server_factory(config=config)
    issue(server)
    issue(server)
    page = login(server)
    open_counter(page)
    page.keyboard.press("Space")
    expect(current(page)).to_have_text("A001")

    # Escape cancels the confirmation: nothing happens.
    page.keyboard.press("n")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    expect(page.locator("#confirm-title")).to_have_text("Tandai tidak hadir?")
    page.keyboard.press("Escape")
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    expect(current(page)).to_have_text("A001")

    # Enter confirms; the server refuses before a recall, and the page says why.
    page.keyboard.press("n")
    expect(page.locator("#confirm-ok")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#message-text")).to_have_text(re.compile(
        r"^Panggil ulang tiket A001 terlebih dahulu, atau tunggu 1[0-2]\d detik lagi\.$"))
    expect(current(page)).to_have_text("A001")
    expect(page.locator("#current-status")).to_have_text("Dipanggil")

    page.keyboard.press("r")
    expect(page.locator("#current-recalls")).to_have_text("dipanggil ulang 1×")
    expect(page.locator("#message")).to_be_hidden()
    action(page, "no-show").click()
    page.get_by_role("button", name="Ya, tidak hadir").click()
    expect(page.locator("#notice")).to_have_text("A001 ditandai tidak hadir.")
    expect(current(page)).to_have_text("—")
    expect(page.locator("#fig-no-show")).to_have_text("1")

    # Call a specific number: one not waiting here is refused with a message...
    page.keyboard.press("c")
    expect(page.locator("#call-dialog")).to_be_visible()
    page.locator("#call-number").fill("A099")
    page.keyboard.press("Enter")
    expect(page.locator("#call-error")).to_have_text("Nomor A099 tidak ada di antrean Loket 1.")
    # ...a waiting one is called out of turn ("a2" is A002)...
    page.locator("#call-number").fill("a2")
    page.keyboard.press("Enter")
    expect(page.locator("#call-dialog")).to_be_hidden()
    expect(current(page)).to_have_text("A002")
    expect(page.locator("#queue-empty")).to_be_visible()
    page.keyboard.press("f")
    expect(current(page)).to_have_text("—")
    # ...and the visitor marked absent who comes back is called by number again.
    action(page, "call").click()
    page.locator("#call-number").fill("A001")
    page.locator("#call-ok").click()
    expect(current(page)).to_have_text("A001")
    expect(page.locator("#current-recalls")).to_be_hidden()


def test_a_note_required_service_asks_for_the_note_and_names_are_text(
        login, live_server_factory, tmp_path) -> None:  # noqa: F811
    markup = '<img src=x onerror="window.__xss=1">Kartu Keluarga'

    def edit(text: str) -> str:
        ktp = "avg_service_minutes = 10\n"
        text = text.replace(ktp, f"{ktp}  note_required = true\n")
        return text.replace('name = "Kartu Keluarga"', f"name = '{markup}'")

    server = live_server_factory(config=config_variant(tmp_path, "note", edit))
    issue(server, KTP)
    issue(server, KK)
    page = login(server)
    open_counter(page)
    expect(page.locator("#queue-list [data-number='B001'] .q-service")).to_have_text(markup)
    assert page.locator("#queue-list img").count() == 0

    page.keyboard.press("Space")
    expect(current(page)).to_have_text("A001")
    page.keyboard.press("f")
    dialog = page.locator("#finish-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#finish-lead")).to_have_text(
        "Layanan Perekaman KTP-el memerlukan catatan sebelum diselesaikan.")
    page.locator("#finish-ok").click()
    expect(page.locator("#finish-error")).to_have_text("Catatan wajib diisi.")
    expect(current(page)).to_have_text("A001")
    page.locator("#finish-note").fill("KTP-el direkam, <b>tanda tangan</b> lengkap")
    with page.expect_response(lambda r: r.url.endswith("/finish?lang=id")) as answer:
        page.locator("#finish-ok").click()
    body = answer.value.json()
    assert answer.value.status == 200
    assert body["ticket"]["status"] == "done"
    assert body["ticket"]["note"] == "KTP-el direkam, <b>tanda tangan</b> lengkap"
    expect(dialog).to_be_hidden()
    expect(current(page)).to_have_text("—")

    # A service without the rule finishes with no question; the markup name stays text.
    page.keyboard.press("Space")
    expect(current(page)).to_have_text("B001")
    expect(page.locator("#current-service")).to_have_text(markup)
    page.keyboard.press("f")
    expect(current(page)).to_have_text("—")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert page.evaluate("window.__xss") is None


# -- who may do what -----------------------------------------------------------------------


def test_an_officer_cannot_open_another_agencys_counter(login, live_server) -> None:  # noqa: F811
    page = login(live_server)
    screen(page, "choose")
    codes = page.locator("#counter-list button").evaluate_all("bs => bs.map(b => b.dataset.code)")
    assert codes == ["DUK-1", "DUK-2"]

    # The page's own session, straight at the API: refused by the server.
    answer = page.evaluate("""async () => {
        const config = JSON.parse(document.getElementById('counter-config').textContent);
        const res = await fetch('/api/v1/counters/3/open', {method: 'POST', credentials: 'same-origin',
            headers: {'X-CSRFToken': config.csrf_token, 'Content-Type': 'application/json'}, body: '{}'});
        return {status: res.status, body: await res.json()};
    }""")
    assert answer["status"] == 403
    assert answer["body"]["error"]["code"] == "not_your_counter"

    # Forced through the address: the page shows the server's refusal and stays on the choice.
    page.goto(live_server.url("/counter/#counter=3"))
    page.reload()  # the hash alone does not load the page again
    expect(page.locator("#message-text")).to_have_text("Anda tidak berwenang mengoperasikan Loket 3.")
    screen(page, "choose")
    samsat = api(live_server, "GET", "/counters", bearer(live_server, "samsat1"))["counters"][0]
    assert (samsat["code"], samsat["state"], samsat["officer"]) == ("SAM-1", "closed", None)

    # In English the same refusal is in English.
    english = login(live_server, "dukcapil2", query="?lang=en")
    expect(english.locator("html")).to_have_attribute("lang", "en")
    expect(english.get_by_role("heading", name="Choose a counter")).to_be_visible()
    english.goto(live_server.url("/counter/?lang=en#counter=3"))
    english.reload()
    expect(english.locator("#message-text")).to_have_text("You may not operate Loket 3.")

    # A counter staffed by another officer of the same agency is refused too.
    page.goto(live_server.url("/counter/"))
    open_counter(page, "DUK-1")
    english.goto(live_server.url("/counter/?lang=en"))
    expect(card(english, "DUK-1").locator(".staff")).to_have_text("by dukcapil1")
    card(english, "DUK-1").click()
    expect(english.locator("#message-text")).to_have_text("Loket 1 is being used by another officer.")
    screen(english, "choose")


def test_two_officers_calling_at_the_same_moment_get_different_tickets(login, live_server) -> None:  # noqa: F811
    for _ in range(4):
        issue(live_server)
    one = login(live_server, "dukcapil1")
    open_counter(one, "DUK-1")
    two = login(live_server, "dukcapil2")
    open_counter(two, "DUK-2")
    for page in (one, two):
        expect(queue_numbers(page)).to_have_text(["A001", "A002", "A003", "A004"])
        expect(action(page, "call-next")).to_be_enabled()

    # Both press Space at the same instant (one shared deadline on this machine's clock).
    at = one.evaluate("Date.now()") + 800
    press = """(at) => setTimeout(() => document.dispatchEvent(
        new KeyboardEvent('keydown', {key: ' ', bubbles: true})), at - Date.now())"""
    for page in (one, two):
        page.evaluate(press, at)
    expect(current(one)).to_have_text(re.compile(r"^A00[12]$"))
    expect(current(two)).to_have_text(re.compile(r"^A00[12]$"))
    called = {one.evaluate("window.counterPage.current"), two.evaluate("window.counterPage.current")}
    assert called == {"A001", "A002"}

    # Each list lost both tickets at once, the other counter's call included.
    for page in (one, two):
        expect(queue_numbers(page)).to_have_text(["A003", "A004"])
    counters = api(live_server, "GET", "/counters", bearer(live_server, "dukcapil1"))["counters"]
    assert {c["current_ticket"]["number"] for c in counters} == {"A001", "A002"}


def test_two_browsers_on_the_same_counter_stay_in_step(login, live_server) -> None:  # noqa: F811
    issue(live_server)
    issue(live_server)
    a = login(live_server)
    open_counter(a, "DUK-1")
    # The second browser of the same officer goes straight to the counter they staff.
    b = login(live_server)
    screen(b, "work")
    expect(b.locator("#where")).to_have_text("Loket 1 · DUK-1 · Lantai 1")
    wait_connected(b)

    a.keyboard.press("Space")
    expect(current(a)).to_have_text("A001")
    expect(current(b)).to_have_text("A001")
    expect(queue_numbers(b)).to_have_text(["A002"])
    expect(action(b, "call-next")).to_be_disabled()

    b.keyboard.press("s")
    expect(a.locator("#current-status")).to_have_text("Sedang dilayani")
    a.keyboard.press("f")
    expect(current(b)).to_have_text("—")
    expect(b.locator("#fig-served")).to_have_text("1")

    b.keyboard.press("p")
    expect(a.locator("#counter-state")).to_have_text("Istirahat")
    expect(a.locator("#pause-label")).to_have_text("Lanjutkan")
    expect(action(a, "call-next")).to_be_disabled()
    expect(a.locator("#current-empty")).to_contain_text("istirahat")
    a.keyboard.press("p")
    expect(b.locator("#counter-state")).to_have_text("Buka")
    expect(action(b, "call-next")).to_be_enabled()

    # Close (X, confirmed) in one browser: the other shows the closed counter.
    a.keyboard.press("x")
    expect(a.locator("#confirm-title")).to_have_text("Tutup loket?")
    a.get_by_role("button", name="Ya, tutup loket").click()
    expect(b.locator("#counter-state")).to_have_text("Tutup")
    expect(b.locator("#pause-label")).to_have_text("Buka loket")
    expect(action(b, "call-next")).to_be_disabled()
    b.locator("#switch-counter").click()
    screen(b, "choose")
    expect(card(b, "DUK-1").locator(".state")).to_have_text("Tutup")


def test_the_page_recovers_after_the_server_restarts(login, live_server, display) -> None:  # noqa: F811
    issue(live_server)
    issue(live_server)
    issue(live_server)
    page = login(live_server)
    open_counter(page)
    page.keyboard.press("Space")
    expect(current(page)).to_have_text("A001")

    live_server.kill()
    expect(page.locator("#offline")).to_be_visible(timeout=15000)
    expect(page.locator("#offline")).to_have_text("Tidak terhubung")
    # An action while the server is away says so and changes nothing on screen.
    page.keyboard.press("s")
    expect(page.locator("#message-text")).to_have_text(
        "Server tidak dapat dihubungi. Periksa jaringan lalu coba lagi.", timeout=15000)
    expect(current(page)).to_have_text("A001")

    live_server.start()
    expect(page.locator("#offline")).to_be_hidden(timeout=20000)
    assert page.evaluate("window.counterPage.connected") is True
    # Something changed while the page was away: it shows the server's state now.
    duk = bearer(live_server, "dukcapil1")
    api(live_server, "POST", f"/counters/{DUK1}/finish", duk)
    expect(current(page)).to_have_text("—")
    expect(queue_numbers(page)).to_have_text(["A002", "A003"])

    # The page subscribed again: calls are live and reach the hall.
    hall = display(live_server)
    page.keyboard.press("Space")
    expect(current(page)).to_have_text("A002")
    assert hall.expect_call("A002")["counter"]["name"] == "Loket 1"

    # A plain restart too (kill and start in one go): state restored, calling works.
    page.evaluate("""() => {
        window.__offlineSeen = false;
        new MutationObserver(() => {
            if (!document.getElementById('offline').hidden) window.__offlineSeen = true;
        }).observe(document.getElementById('offline'), {attributes: true});
    }""")
    live_server.restart()
    page.wait_for_function("window.__offlineSeen === true", timeout=15000)
    expect(page.locator("#offline")).to_be_hidden(timeout=20000)
    expect(current(page)).to_have_text("A002")
    page.keyboard.press("f")
    expect(current(page)).to_have_text("—")
    page.keyboard.press("Space")
    expect(current(page)).to_have_text("A003")
    assert api(live_server, "GET", f"/counters/{DUK1}", duk)["current_ticket"]["number"] == "A003"
