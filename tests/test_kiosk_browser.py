"""The kiosk touchscreen (/kiosk) in real Chromium against a real server.

Every test starts ``antrian serve`` (eventlet, fresh SQLite) and drives the
page with touch taps at the kiosk's screen sizes. Waiting uses Playwright's
auto-waiting ``expect`` and ``wait_for_*``; the two timeouts of the page (idle
and result) are tested with Playwright's fake clock (``page.clock``), which
fast-forwards the page's timers instead of sleeping, except once in the full
flow, where the real 10 s result time is awaited.

Screenshots go to ``test-artifacts/kiosk-*.png``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from browser import ARTIFACTS, browser  # noqa: F401
from fake_printer import FakePrinter
from live_server import SMALL_CONFIG, LiveServer, live_server, live_server_factory  # noqa: F401
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.browser

KIOSK_KEY = "test-kiosk-key-0001"
EXAMPLE_CONFIG = Path(__file__).parent.parent / "config.example.toml"
EXAMPLE_KIOSK_KEY = "demo-kiosk-lobi-1-key"
PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}
KTP, KK = 1, 2  # service ids of the small site
MIN_TOUCH = 64  # px, the smallest acceptable touch target


# -- helpers -------------------------------------------------------------------


@pytest.fixture
def open_kiosk(browser) -> Iterator[Callable[..., Page]]:  # noqa: F811
    """Open /kiosk/?key=... in a fresh touch-screen browser context; closed at teardown."""
    contexts = []

    def open_(server: LiveServer, viewport: dict[str, int] = PORTRAIT, key: str = KIOSK_KEY,
              before: Callable[[Page], None] | None = None) -> Page:
        context = browser.new_context(viewport=viewport, has_touch=True, locale="id-ID")
        contexts.append(context)
        page = context.new_page()
        if before is not None:
            before(page)
        page.goto(server.url(f"/kiosk/?key={key}"))
        # The key is swapped for the session cookie and leaves the address bar.
        expect(page).to_have_url(server.url("/kiosk/"))
        expect(page.locator("body")).to_have_attribute("data-screen", "language")
        return page

    yield open_
    for context in contexts:
        context.close()


def screen(page: Page, name: str) -> None:
    expect(page.locator("body")).to_have_attribute("data-screen", name)


def agency(page: Page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#agency-grid [data-agency-code='{code}']")


def service(page: Page, service_id: int):  # type: ignore[no-untyped-def]
    return page.locator(f"#service-list [data-service-id='{service_id}']")


def wait_connected(page: Page) -> None:
    page.wait_for_function("window.kiosk.connected === true")
    expect(page.locator("#offline")).to_be_hidden()


def issue(server: LiveServer, service_id: int, **fields: Any) -> dict[str, Any]:
    res = requests.post(server.url("/api/v1/tickets"), json={"service_id": service_id, **fields},
                        headers={"Authorization": f"Bearer {KIOSK_KEY}"}, timeout=10)
    assert res.status_code == 201, res.text
    return res.json()


def agencies(server: LiveServer) -> dict[str, dict[str, Any]]:
    res = requests.get(server.url("/api/v1/agencies"), timeout=10)
    assert res.status_code == 200
    return {a["code"]: a for a in res.json()["agencies"]}


def officer_headers(server: LiveServer) -> dict[str, str]:
    res = requests.post(server.url("/api/v1/auth/token"), timeout=10,
                        json={"username": "dukcapil1", "password": "petugas-demo"})
    assert res.status_code == 201, res.text
    return {"Authorization": f"Bearer {res.json()['token']}"}


def assert_touch_targets(page: Page) -> None:
    """Every visible button is at least 64 px in both directions."""
    small = page.evaluate(
        """(min) => Array.from(document.querySelectorAll('button'))
             .filter((b) => b.offsetParent !== null)
             .map((b) => [b.textContent.trim().slice(0, 30), b.getBoundingClientRect()])
             .filter(([, r]) => r.width < min || r.height < min)
             .map(([text, r]) => `${text}: ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        MIN_TOUCH,
    )
    assert small == []


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def closed_config(tmp_path: Path) -> Path:
    """The small site with SAMSAT's office schedule emptied: closed every day, whatever the time."""
    text = SMALL_CONFIG.read_text()
    text, days = re.subn(r'^(mon|tue|wed|thu|fri|sat|sun) = ".*"$', r'\1 = ""', text, flags=re.M)
    assert days == 7
    path = tmp_path / "closed_config.toml"
    path.write_text(text)
    return path


def printer_config(tmp_path: Path, printer: str) -> Path:
    """The small site with KIOSK-1 printing on ``printer`` (a fake network printer)."""
    line = f'key = "{KIOSK_KEY}"\n'
    text = SMALL_CONFIG.read_text()
    assert line in text
    path = tmp_path / "printer_config.toml"
    path.write_text(text.replace(line, f'{line}printer = "{printer}"\n'))
    return path


def take_ticket(page: Page, service_id: int = KTP, priority: str = "none") -> None:
    """From the start screen to the result, in Indonesian."""
    page.get_by_role("button", name="Bahasa Indonesia").tap()
    agency(page, "DUKCAPIL").tap()
    service(page, service_id).tap()
    page.locator(f"[data-priority='{priority}']").tap()
    screen(page, "result")


# -- (1) the whole flow --------------------------------------------------------


def test_full_flow_issues_an_elderly_ticket_shows_it_and_returns_to_start(
        open_kiosk, live_server) -> None:  # noqa: F811
    page = open_kiosk(live_server)
    assert page.evaluate("window.kiosk.lang") == "id"
    assert_touch_targets(page)

    page.get_by_role("button", name="Bahasa Indonesia").tap()
    screen(page, "agencies")
    expect(page.get_by_role("heading", name="Pilih instansi")).to_be_visible()
    expect(agency(page, "DUKCAPIL")).to_contain_text("Dinas Kependudukan dan Pencatatan Sipil")
    expect(agency(page, "DUKCAPIL")).to_be_enabled()
    wait_connected(page)
    assert_touch_targets(page)
    shot(page, "kiosk-agencies-1080x1920.png")

    agency(page, "DUKCAPIL").tap()
    screen(page, "services")
    expect(page.locator("#services-agency")).to_have_text("Dinas Kependudukan dan Pencatatan Sipil")
    expect(page.get_by_role("heading", name="Jam layanan")).to_be_visible()
    expect(service(page, KTP)).to_contain_text("Perekaman KTP-el")
    expect(service(page, KK)).to_contain_text("Sisa kuota hari ini: 3")
    assert_touch_targets(page)
    shot(page, "kiosk-services-1080x1920.png")

    service(page, KTP).tap()
    screen(page, "priority")
    for label in ("Lansia", "Penyandang disabilitas", "Ibu hamil atau membawa bayi", "Tidak"):
        expect(page.get_by_role("button", name=label)).to_be_visible()
    assert_touch_targets(page)
    page.get_by_role("button", name="Lansia").tap()

    screen(page, "result")
    expect(page.locator("#result-number")).to_have_text("A001")
    expect(page.locator("#result-service")).to_have_text("Perekaman KTP-el")
    expect(page.locator("#result-agency")).to_have_text("Dinas Kependudukan dan Pencatatan Sipil")
    expect(page.locator("#result-ahead")).to_have_text("Di depan Anda: 0 orang")
    expect(page.locator("#result-estimate")).to_contain_text("Perkiraan menunggu")
    expect(page.locator("#result-priority")).to_have_text("Prioritas: Lansia")
    expect(page.get_by_text("Pindai untuk memantau antrean")).to_be_visible()
    # KIOSK-1 has no printer: the ticket stays valid and the visitor is told to note it.
    expect(page.locator("#print-state")).to_have_text(
        "Tiket tidak tercetak - catat nomor Anda atau pindai kode QR")
    ticket = page.evaluate("window.kiosk.lastTicket")
    token = ticket["token"]
    expect(page.locator("#result-qr")).to_have_attribute("src", f"/t/{token}/qr.svg")
    expect(page.locator("#result-url")).to_have_text(re.compile(rf"/t/{re.escape(token)}$"))
    assert page.evaluate("window.kiosk.printState") == "none"
    assert_touch_targets(page)
    shot(page, "kiosk-result-1080x1920.png")

    res = requests.get(live_server.url(f"/api/v1/tickets/{token}"), timeout=10)
    assert res.status_code == 200
    body = res.json()
    assert (body["number"], body["priority"], body["status"]) == ("A001", "elderly", "waiting")
    assert body["service"]["code"] == "KTP"

    # Nobody taps "Selesai": after result_seconds (10) the kiosk is ready for the next visitor.
    screen_deadline_ms = (page.evaluate("JSON.parse(document.getElementById('kiosk-config')"
                                        ".textContent).result_seconds") + 5) * 1000
    expect(page.locator("body")).to_have_attribute("data-screen", "language",
                                                   timeout=screen_deadline_ms)
    expect(page.locator("#screen-language")).to_be_visible()


# -- (2) English ---------------------------------------------------------------


def test_english_labels_and_a_refusal_explained_in_english(open_kiosk, live_server) -> None:  # noqa: F811
    page = open_kiosk(live_server)
    page.get_by_role("button", name="English").tap()
    screen(page, "agencies")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Choose an agency")).to_be_visible()
    expect(page.locator("#back")).to_have_text("Back")
    expect(agency(page, "DUKCAPIL")).to_contain_text("Civil Registration")
    expect(agency(page, "DUKCAPIL")).to_contain_text("0 waiting")
    wait_connected(page)

    agency(page, "DUKCAPIL").tap()
    expect(page.get_by_role("heading", name="Opening hours")).to_be_visible()
    expect(service(page, KTP)).to_contain_text("ID card recording")
    expect(service(page, KK)).to_contain_text("Quota left today: 3")
    service(page, KK).tap()
    screen(page, "priority")
    expect(page.get_by_role("heading", name="Do you need priority service?")).to_be_visible()

    # While this visitor decides, others take the last KK numbers of the day.
    for _ in range(3):
        issue(live_server, KK)
    page.get_by_role("button", name="No").tap()

    # The server's refusal, in English, plainly on the service list.
    screen(page, "services")
    expect(page.get_by_role("alert")).to_have_text(
        "Today's quota for Kartu Keluarga is used up. Please come back tomorrow.")
    expect(service(page, KK)).to_be_disabled()
    expect(service(page, KK)).to_contain_text("Today's quota is used up")
    assert page.evaluate("window.kiosk.lastTicket") is None

    # Back to the start: the next visitor gets Indonesian again.
    page.get_by_role("button", name="Back").tap()
    screen(page, "agencies")
    page.get_by_role("button", name="Back").tap()
    screen(page, "language")
    assert page.evaluate("window.kiosk.lang") == "id"
    expect(page.locator("html")).to_have_attribute("lang", "id")


# -- (3) closed agency, used-up quota --------------------------------------------


def test_closed_agency_and_used_up_quota_are_greyed_with_reason_and_cannot_be_chosen(
        open_kiosk, live_server_factory, tmp_path) -> None:  # noqa: F811
    server = live_server_factory(config=closed_config(tmp_path))
    for _ in range(3):
        issue(server, KK)
    page = open_kiosk(server)
    page.get_by_role("button", name="Bahasa Indonesia").tap()

    samsat = agency(page, "SAMSAT")
    expect(samsat).to_be_disabled()
    expect(samsat).to_have_attribute("aria-disabled", "true")
    expect(samsat.locator(".state")).to_have_text("Tutup")
    expect(agency(page, "DUKCAPIL")).to_be_enabled()
    # A tap on the closed agency does nothing: the next tap still finds the agency grid.
    samsat.tap(force=True)
    agency(page, "DUKCAPIL").tap()
    screen(page, "services")
    expect(page.locator("#services-code")).to_have_text("DUKCAPIL")

    kk = service(page, KK)
    expect(kk).to_be_disabled()
    expect(kk).to_have_attribute("aria-disabled", "true")
    expect(kk.locator(".state")).to_have_text("Kuota hari ini habis")
    expect(service(page, KTP)).to_be_enabled()
    kk.tap(force=True)
    # Had the tap chosen KK, "Kembali" would lead to the service list, not the agencies.
    page.get_by_role("button", name="Kembali").tap()
    screen(page, "agencies")

    queue = requests.get(server.url("/api/v1/counters/1/queue"), headers=officer_headers(server),
                         timeout=10).json()
    b_numbers = sorted(t["number"] for t in queue["tickets"] if t["number"].startswith("B"))
    assert b_numbers == ["B001", "B002", "B003"]
    kk_now = next(s for s in agencies(server)["DUKCAPIL"]["services"] if s["id"] == KK)
    assert (kk_now["quota_left"], kk_now["waiting"]) == (0, 3)


# -- (4) live counts -------------------------------------------------------------


def test_waiting_counts_and_quota_follow_the_server_without_reload(open_kiosk, live_server) -> None:  # noqa: F811
    page = open_kiosk(live_server)
    page.get_by_role("button", name="Bahasa Indonesia").tap()
    wait_connected(page)
    expect(agency(page, "DUKCAPIL")).to_contain_text("0 orang menunggu")
    page.evaluate("window.__sameDocument = true")

    issue(live_server, KTP)
    expect(agency(page, "DUKCAPIL")).to_contain_text("1 orang menunggu")

    agency(page, "DUKCAPIL").tap()
    expect(service(page, KK)).to_contain_text("Sisa kuota hari ini: 3")
    issue(live_server, KK)
    issue(live_server, KTP)
    expect(service(page, KTP)).to_contain_text("2 orang menunggu")
    expect(service(page, KK)).to_contain_text("1 orang menunggu")
    # quota_left is not in queue.changed: it comes from the debounced GET /agencies.
    expect(service(page, KK)).to_contain_text("Sisa kuota hari ini: 2")
    assert page.evaluate("window.__sameDocument") is True


def test_the_list_is_fetched_again_only_when_more_than_the_counts_changed(
        open_kiosk, live_server) -> None:  # noqa: F811
    """A ticket of a service without a quota changes only counts, which the event
    carries: no GET /agencies follows. One of a quota's service does (its remainder
    is shown), once, after the debounce."""
    page = open_kiosk(live_server)
    page.get_by_role("button", name="Bahasa Indonesia").tap()
    wait_connected(page)
    fetched: list[str] = []
    page.on("request", lambda req: fetched.append(req.url) if "/api/v1/agencies" in req.url else None)
    agency(page, "DUKCAPIL").tap()

    issue(live_server, KTP)
    expect(service(page, KTP)).to_contain_text("1 orang menunggu")
    page.wait_for_timeout(2000)  # twice the kiosk's debounce
    assert fetched == []

    issue(live_server, KK)
    expect(service(page, KK)).to_contain_text("Sisa kuota hari ini: 2")
    assert len(fetched) == 1


# -- (5) not set up ----------------------------------------------------------------


def test_kiosk_without_key_explains_setup_and_a_wrong_key_is_refused(browser, live_server) -> None:  # noqa: F811
    context = browser.new_context(viewport=PORTRAIT)
    try:
        page = context.new_page()
        response = page.goto(live_server.url("/kiosk/"))
        assert response is not None and response.status == 401
        expect(page.locator("code")).to_contain_text("/kiosk/?key=")
        expect(page.locator("#kiosk-config")).to_have_count(0)  # no kiosk screen, no CSRF token

        response = page.goto(live_server.url("/kiosk/?key=not-a-real-kiosk-key"))
        assert response is not None and response.status == 403
        expect(page.get_by_role("alert")).to_be_visible()
        expect(page).to_have_url(re.compile(r"key=not-a-real-kiosk-key"))

        # A display's key is a valid key, but not for a kiosk.
        response = page.goto(live_server.url("/kiosk/?key=test-display-key-0001"))
        assert response is not None and response.status == 403
        response = page.goto(live_server.url("/kiosk/"))
        assert response is not None and response.status == 401
    finally:
        context.close()


# -- (6) many agencies, landscape, letter strip ------------------------------------


def test_forty_agencies_in_landscape_with_the_letter_strip(open_kiosk, live_server_factory) -> None:  # noqa: F811
    server = live_server_factory("example", config=EXAMPLE_CONFIG)
    codes = sorted(agencies(server))
    assert len(codes) == 40
    page = open_kiosk(server, viewport=LANDSCAPE, key=EXAMPLE_KIOSK_KEY)
    page.get_by_role("button", name="Bahasa Indonesia").tap()
    wait_connected(page)
    grid = page.locator("#agency-grid button")
    expect(grid).to_have_count(40)
    letters = page.locator("#letters button")
    expect(page.locator("#letters")).to_be_visible()
    expected_letters = sorted({c[0] for c in codes})
    expect(letters).to_have_text(["Semua", *expected_letters])
    assert_touch_targets(page)
    shot(page, "kiosk-agencies-1920x1080.png")

    page.locator("#letters [data-letter='P']").tap()
    p_codes = [c for c in codes if c.startswith("P")]
    expect(grid).to_have_count(len(p_codes))
    assert sorted(grid.evaluate_all("bs => bs.map(b => b.dataset.agencyCode)")) == p_codes
    expect(page.locator("#letters [data-letter='P']")).to_have_attribute("aria-pressed", "true")
    shot(page, "kiosk-agencies-letter-p-1920x1080.png")
    page.locator("#letters [data-letter='*']").tap()
    expect(grid).to_have_count(40)

    page.set_viewport_size(PORTRAIT)
    assert_touch_targets(page)
    shot(page, "kiosk-agencies-40-1080x1920.png")


# -- timeouts, "Selesai", retries --------------------------------------------------


def test_idle_and_result_timeouts_and_the_done_button(open_kiosk, live_server) -> None:  # noqa: F811
    """The page's timers run on Playwright's fake clock, fast-forwarded instead of awaited."""
    page = open_kiosk(live_server, before=lambda p: p.clock.install())
    settings = json.loads(page.locator("#kiosk-config").text_content() or "{}")
    idle_ms, result_ms = settings["idle_seconds"] * 1000, settings["result_seconds"] * 1000

    # An English visitor walks away on the service list: back to the start, in Indonesian.
    page.get_by_role("button", name="English").tap()
    agency(page, "DUKCAPIL").tap()
    screen(page, "services")
    page.clock.fast_forward(idle_ms - 2000)
    screen(page, "services")  # not yet
    page.locator("#main").dispatch_event("pointerdown")  # a touch restarts the idle time
    page.clock.fast_forward(idle_ms - 2000)
    screen(page, "services")
    page.clock.fast_forward(3000)
    screen(page, "language")
    assert page.evaluate("window.kiosk.lang") == "id"

    # The result screen: "Selesai" ends it at once.
    take_ticket(page)
    expect(page.locator("#result-number")).to_have_text("A001")
    expect(page.locator("#countdown")).to_contain_text("Kembali ke awal dalam")
    page.get_by_role("button", name="Selesai").tap()
    screen(page, "language")

    # Untouched, it stays exactly result_seconds (touching does not extend it).
    take_ticket(page)
    expect(page.locator("#result-number")).to_have_text("A002")
    page.clock.fast_forward(result_ms - 1500)
    page.locator("#main").dispatch_event("pointerdown")
    screen(page, "result")
    page.clock.fast_forward(2000)
    screen(page, "language")


def test_a_lost_answer_is_retried_with_the_same_request_id_and_gives_one_ticket(
        open_kiosk, live_server) -> None:  # noqa: F811
    page = open_kiosk(live_server)
    sent: list[dict[str, Any]] = []

    def lose_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        sent.append(route.request.post_data_json)
        if len(sent) == 1:
            route.fetch()  # the server issues the ticket...
            route.abort("connectionreset")  # ...but its answer never reaches the kiosk
        else:
            route.continue_()

    page.route(lambda url: "/api/v1/tickets" in url, lose_first_answer)
    page.get_by_role("button", name="Bahasa Indonesia").tap()
    agency(page, "DUKCAPIL").tap()
    service(page, KTP).tap()
    page.get_by_role("button", name="Ibu hamil atau membawa bayi").tap()
    screen(page, "result")
    expect(page.locator("#result-number")).to_have_text("A001")

    assert len(sent) == 2
    assert sent[0] == sent[1]
    assert sent[0]["service_id"] == KTP and sent[0]["priority"] == "pregnant"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        sent[0]["request_id"])
    ktp = next(s for s in agencies(live_server)["DUKCAPIL"]["services"] if s["id"] == KTP)
    assert ktp["waiting"] == 1  # one ticket, not two


# -- wording of every closed state, escaping, offline mark --------------------------


def _open(can_issue: bool, reason: str, next_open: str | None, serving: bool = False) -> dict[str, Any]:
    return {"can_issue": can_issue, "serving": serving, "reason": reason, "next_open": next_open}


def _agency(agency_id: int, code: str, open_: dict[str, Any], services: list[dict[str, Any]] | None = None,
            name: str | None = None, hours: dict[str, str] | None = None) -> dict[str, Any]:
    name = name or f"Instansi {code}"
    return {"id": agency_id, "code": code, "name": name, "name_id": name, "name_en": f"Agency {code}",
            "prefix": code[0], "zone": "Lantai 1", "active": True, "open": open_, "hours": hours,
            "waiting": 0, "services": services or []}


def _service(service_id: int, name: str, **fields: Any) -> dict[str, Any]:
    entry = {"id": service_id, "code": f"S{service_id}", "name": name, "name_id": name, "name_en": "",
             "prefix": "X", "active": True, "daily_quota": 0, "quota_left": None, "waiting": 0,
             "target_wait_minutes": 30, "documents": []}
    entry.update(fields)
    return entry


def test_reasons_in_words_escaping_and_the_offline_mark(open_kiosk, live_server) -> None:  # noqa: F811
    """GET /agencies answers crafted states; Socket.IO is cut off, so the page runs on REST alone."""
    today = dt.datetime.now(ZoneInfo("Asia/Jakarta")).date()
    markup = '<img src=x onerror="window.__xss=1">Dinas Uji'
    at = lambda day, hhmm: f"{day.isoformat()}T{hhmm}:00+07:00"  # noqa: E731
    hours = {"mon": "08:00-12:00, 13:00-15:30", "tue": "08:00-12:00, 13:00-15:30",
             "wed": "08:00-12:00, 13:00-15:30", "thu": "08:00-12:00, 13:00-15:30",
             "fri": "08:00-11:00, 13:00-15:30", "sat": "", "sun": ""}
    crafted = [
        _agency(1, "ABREAK", _open(False, "break", at(today, "13:00"))),
        _agency(2, "BEFORE", _open(False, "before_open", at(today, "08:00"))),
        _agency(3, "CUTOFF", _open(False, "after_cutoff", None, serving=True)),
        _agency(4, "HOLIDAY", _open(False, "holiday", at(today + dt.timedelta(days=1), "08:00"))),
        _agency(5, "NIGHT", _open(False, "closed", None)),
        _agency(6, "EARLY", _open(True, "before_open", at(today, "08:00"))),
        _agency(7, "OPEN", _open(True, "open", None, serving=True), hours=hours,
                name=markup, services=[
                    _service(11, "Layanan nonaktif", active=False),
                    _service(12, "Layanan berkuota", daily_quota=5, quota_left=0),
                    _service(13, "Layanan biasa", documents=["KTP asli", "<b>Kartu Keluarga</b>"]),
                ]),
    ]

    def before(page: Page) -> None:
        page.route_web_socket(re.compile(r"/socket\.io/"), lambda ws: ws.close())
        page.route("**/socket.io/**", lambda route: route.abort())  # the polling fallback
        page.route(lambda url: "/api/v1/agencies" in url,
                   lambda route: route.fulfill(json={"agencies": crafted}))

    page = open_kiosk(live_server, before=before)
    page.get_by_role("button", name="Bahasa Indonesia").tap()
    expect(page.locator("#offline")).to_be_visible()
    expect(page.locator("#offline")).to_have_text("Tidak terhubung")
    expected = {
        "ABREAK": "Istirahat sampai 13:00",
        "BEFORE": "Tutup - buka 08:00",
        "CUTOFF": "Pendaftaran ditutup",
        "HOLIDAY": "Libur - buka besok 08:00",
        "NIGHT": "Tutup",
    }
    for code, reason in expected.items():
        expect(agency(page, code).locator(".state")).to_have_text(reason)
        expect(agency(page, code)).to_be_disabled()
    expect(agency(page, "EARLY")).to_be_enabled()
    expect(agency(page, "EARLY").locator(".note")).to_have_text("Loket buka 08:00")

    # Names from the server are text, never markup.
    expect(agency(page, "OPEN").locator(".name")).to_have_text(markup)
    assert page.locator("#agency-grid img").count() == 0
    agency(page, "OPEN").tap()
    expect(service(page, 11).locator(".state")).to_have_text("Layanan sedang tidak tersedia")
    expect(service(page, 11)).to_be_disabled()
    expect(service(page, 12).locator(".state")).to_have_text("Kuota hari ini habis")
    expect(service(page, 12)).to_be_disabled()
    expect(service(page, 13)).to_be_enabled()
    expect(service(page, 13).locator(".doc")).to_have_text(["KTP asli", "<b>Kartu Keluarga</b>"])
    assert service(page, 13).locator("b").count() == 0
    expect(page.locator("#hours-days dd")).to_have_count(7)
    expect(page.locator("#hours-days")).to_contain_text("Senin")
    expect(page.locator("#hours-days")).to_contain_text("08:00-12:00, 13:00-15:30")
    expect(page.locator("#hours-days")).to_contain_text("Tutup")
    assert page.evaluate("window.__xss") is None

    # The same states in English.
    page.get_by_role("button", name="Kembali").tap()
    page.get_by_role("button", name="Kembali").tap()
    page.get_by_role("button", name="English").tap()
    expect(agency(page, "ABREAK").locator(".state")).to_have_text("On a break until 13:00")
    expect(agency(page, "HOLIDAY").locator(".state")).to_have_text("Holiday - opens tomorrow 08:00")
    expect(agency(page, "CUTOFF").locator(".state")).to_have_text("Registration closed")
    expect(agency(page, "ABREAK").locator(".name")).to_have_text("Agency ABREAK")
    expect(page.locator("#offline")).to_have_text("Offline")


# -- printing and connection state -----------------------------------------------


def test_print_result_and_printer_state_are_shown(open_kiosk, live_server_factory, tmp_path) -> None:  # noqa: F811
    with FakePrinter() as printer:
        server = live_server_factory(config=printer_config(tmp_path, printer.url))
        page = open_kiosk(server)
        take_ticket(page)
        expect(page.locator("#result-number")).to_have_text("A001")
        expect(page.locator("#print-state")).to_have_text("Silakan ambil tiket Anda", timeout=15000)
        assert page.evaluate("window.kiosk.printState") == "printed"
        assert len(printer.jobs) == 1
        expect(page.locator("#printer-banner")).to_be_hidden()

        # Printer switched off: the ticket is still issued and shown, and the visitor is told.
        printer.stop()
        page.get_by_role("button", name="Selesai").tap()
        take_ticket(page)
        expect(page.locator("#result-number")).to_have_text("A002")
        expect(page.locator("#print-state")).to_have_text(
            "Tiket tidak tercetak - catat nomor Anda atau pindai kode QR", timeout=15000)
        expect(page.locator("#printer-banner")).to_have_text(
            "Printer tiket tidak tersambung. Nomor antrean tetap ditampilkan di layar.")
        assert page.evaluate("window.kiosk.printerState") == "offline"
        shot(page, "kiosk-result-printer-offline-1080x1920.png")
        page.set_viewport_size(LANDSCAPE)
        shot(page, "kiosk-result-1920x1080.png")
        res = requests.get(server.url(f"/api/v1/tickets/{page.evaluate('window.kiosk.lastTicket.token')}"),
                           timeout=10)
        assert res.json()["status"] == "waiting"


def test_offline_mark_while_the_server_is_down_then_live_again(open_kiosk, live_server) -> None:  # noqa: F811
    page = open_kiosk(live_server)
    page.get_by_role("button", name="Bahasa Indonesia").tap()
    wait_connected(page)
    live_server.kill()
    expect(page.locator("#offline")).to_be_visible(timeout=15000)
    # The last data stays usable on screen.
    expect(agency(page, "DUKCAPIL")).to_be_enabled()
    agency(page, "DUKCAPIL").tap()
    screen(page, "services")

    live_server.start()
    expect(page.locator("#offline")).to_be_hidden(timeout=20000)
    assert page.evaluate("window.kiosk.connected") is True
    issue(live_server, KTP)  # counts flow again after the reconnect's snapshot
    expect(service(page, KTP)).to_contain_text("1 orang menunggu")
