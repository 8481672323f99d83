"""The managers' live dashboard (/manager/) in real Chromium.

The app is served in process (``browser.served``) so the tests drive a
FixedClock: the day of tests/test_dashboard.py is played through the API,
the page is opened as a manager (login form), and the figures, live updates
(a ticket issued, a display connecting, both without reload) and alerts (a
wait passing its target, a device going silent) are checked in the page.
The page's own timers run on Playwright's clock, fast-forwarded past the 30 s
refresh instead of waited for. SQLite only: the figures themselves are
checked on PostgreSQL too, in tests/test_dashboard.py.

The screenshot goes to ``test-artifacts/dashboard-1366x768.png``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import socketio
from browser import ARTIFACTS, browser, served  # noqa: F401
from conftest import DISPLAY_KEY, KIOSK_KEY, bearer, make_app, monday_at, service_id
from playwright.sync_api import Page, expect
from test_dashboard import MANAGER, play_the_day, seen

from queue_server.domain.clock import FixedClock
from queue_server.extensions import db

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
DEVICES = ("KIOSK-1", "TV-1", "TV-2")


@pytest.fixture
def app(tmp_path: Path, clock: FixedClock) -> Iterator:  # type: ignore[type-arg]
    """The small site on SQLite, overriding conftest's two-database ``app``."""
    application = make_app(f"sqlite:///{tmp_path / 'antrian.db'}", clock)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def open_dashboard(browser, served) -> Iterator[Callable[[], Page]]:  # noqa: F811
    """Log the manager in through the form and land on /manager/ (with Playwright's clock)."""
    contexts, errors = [], []

    def open_() -> Page:
        context = browser.new_context(viewport=DESKTOP, locale="id-ID")
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.clock.install()
        page.goto(served + "/manager/")
        expect(page).to_have_url(re.compile(r"/auth/login\?next="))
        page.locator("#username").fill(MANAGER[0])
        page.locator("#password").fill(MANAGER[1])
        page.locator("input[type=submit]").click()
        expect(page).to_have_url(served + "/manager/")
        expect(page.locator("#dashboard")).to_have_attribute("data-state", "ready")
        page.wait_for_function("window.dashboardPage.connected === true")
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def row(page: Page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#agencies tr[data-agency='{code}']")


def refresh_by_timer(page: Page) -> None:
    """Let the page's 30 s refresh run now and wait for the snapshot it fetches."""
    before = page.evaluate("window.dashboardPage.fetches")
    page.clock.fast_forward(31_000)
    page.wait_for_function(f"window.dashboardPage.fetches > {before}")


def test_the_day_on_the_dashboard_and_a_ticket_live(app, served, open_dashboard, clock) -> None:  # noqa: F811
    play_the_day(app, app.test_client(), clock)
    page = open_dashboard()

    # SAMSAT's ticket waits longest past its target: first row.
    expect(page.locator("#agencies tbody tr").first).to_have_attribute("data-agency", "SAMSAT")
    duk = row(page, "DUKCAPIL")
    expect(duk.locator("td.waiting")).to_have_text("2")
    expect(duk.locator("td.longest .value")).to_have_text("15 menit")
    expect(duk.locator("td.longest .target")).to_have_text("target 30 menit")
    expect(duk.locator("td.waiting-over")).to_have_text("1")
    expect(duk.locator("td.served")).to_have_text("2")
    expect(duk.locator("td.average-wait")).to_have_text("16 menit")  # 980 s
    expect(duk.locator("td.called-over .value")).to_have_text("1")
    expect(duk.locator("td.called-over .within")).to_have_text("67% dalam target")
    expect(duk.locator("[data-counter='DUK-1']")).to_have_text("Loket 1 · dukcapil1 · melayani B001")
    expect(duk.locator("[data-counter='DUK-2']")).to_have_text("Loket 2 · dukcapil2 istirahat")
    expect(duk.locator(".late-services")).to_have_text(
        "Kartu Keluarga: 1 melewati target, 14 menit / 10 menit")
    expect(row(page, "SAMSAT").locator("td.counters")).to_have_text("Tidak ada loket buka")
    expect(page.locator("#totals [data-total='waiting'] dd")).to_have_text("3")
    expect(page.locator("#totals [data-total='counters'] dd")).to_have_text("1 / 3")
    expect(page.locator("#totals [data-total='devices'] dd")).to_have_text("0 / 3")

    alerts = page.locator("#alerts li")
    expect(alerts).to_have_text([
        "UPT Samsat: 1 pengunjung menunggu melewati target; yang terlama sudah menunggu 40 menit "
        "(Pembayaran Pajak Kendaraan Tahunan, target 30 menit).",
        "Dinas Kependudukan dan Pencatatan Sipil: 1 pengunjung menunggu melewati target; yang terlama "
        "sudah menunggu 14 menit (Kartu Keluarga, target 10 menit).",
        "TV-1 tidak terhubung; belum pernah tersambung.",
        "TV-2 tidak terhubung; belum pernah tersambung.",
        "KIOSK-1 tidak terhubung; belum pernah tersambung.",
    ])
    expect(page.locator("#alert-count")).to_have_text("5")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-1366x768.png"), full_page=True)

    # A kiosk issues a ticket: the count moves on the open page, no reload.
    page.evaluate("window.__sameDocument = true")
    res = app.test_client().post("/api/v1/tickets", headers=bearer(KIOSK_KEY),
                                 json={"service_id": service_id(app, "DUKCAPIL", "KTP")})
    assert res.status_code == 201
    expect(duk.locator("td.waiting")).to_have_text("3")
    expect(page.locator("#totals [data-total='waiting'] dd")).to_have_text("4")
    assert page.evaluate("window.__sameDocument") is True


def test_a_display_connecting_shows_online_live(app, served, open_dashboard) -> None:  # noqa: F811
    page = open_dashboard()
    tv1 = page.locator("#devices tr[data-device='TV-1']")
    expect(tv1.locator(".presence")).to_have_text("tidak terhubung")
    expect(tv1.locator(".last-seen")).to_have_text("belum pernah")
    display = socketio.Client(reconnection=False)
    try:
        display.connect(served, auth={"key": DISPLAY_KEY}, transports=["websocket"], wait_timeout=10)
        expect(tv1.locator(".presence")).to_have_text("terhubung")
        expect(tv1.locator(".last-seen")).to_have_text("09.00.00")
        expect(page.locator("#alerts li[data-code='TV-1']")).to_have_count(0)
    finally:
        display.disconnect()


def test_alerts_when_a_wait_passes_its_target_or_a_device_goes_silent(
        app, served, open_dashboard, clock) -> None:  # noqa: F811
    app.test_client().post("/api/v1/tickets", headers=bearer(KIOSK_KEY),
                           json={"service_id": service_id(app, "DUKCAPIL", "KTP")})  # A001, 09:00
    for code in DEVICES:
        seen(app, code, clock.now())
    page = open_dashboard()
    expect(page.locator("#no-alerts")).to_be_visible()
    expect(page.locator("#alerts li")).to_have_count(0)

    # 09:30:01, devices still reporting: A001 has waited one second past KTP's 30 min.
    clock.set(monday_at(9, 30) + dt.timedelta(seconds=1))
    for code in DEVICES:
        seen(app, code, clock.now())
    refresh_by_timer(page)
    expect(page.locator("#alerts li")).to_have_text([
        "Dinas Kependudukan dan Pencatatan Sipil: 1 pengunjung menunggu melewati target; yang "
        "terlama sudah menunggu 30 menit (Perekaman KTP-el, target 30 menit)."])
    expect(page.locator("#no-alerts")).to_be_hidden()
    expect(row(page, "DUKCAPIL")).to_have_class(re.compile(r"\bproblem\b"))

    # 91 s later only the kiosk has reported: the displays are offline.
    clock.advance(seconds=91)
    seen(app, "KIOSK-1", clock.now())
    refresh_by_timer(page)
    expect(page.locator("#alerts li[data-kind='device_offline']")).to_have_text([
        "TV-1 tidak terhubung; terakhir terlihat pukul 09.30.01.",
        "TV-2 tidak terhubung; terakhir terlihat pukul 09.30.01."])
    expect(page.locator("#devices tr[data-device='TV-2'] .presence")).to_have_text("tidak terhubung")
    expect(page.locator("#devices tr[data-device='KIOSK-1'] .presence")).to_have_text("terhubung")
