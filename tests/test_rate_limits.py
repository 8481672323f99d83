"""Rate limits: kiosk issuing, logins, the public status page (queue_server/ratelimit.py).

In-process (Flask test client, SQLite) with short limits set per app; Redis
for the counter shared by two app instances (@pytest.mark.redis); one real
Chromium kiosk for the message a visitor sees. Windows that must pass are
short (seconds) and awaited by polling, never by a fixed sleep.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import browser  # noqa: F401
from conftest import KIOSK_KEY, bearer, check_redis, make_app, redis_url, service_id
from live_server import free_port, live_server_factory  # noqa: F401
from playwright.sync_api import expect
from sqlalchemy import func, select
from test_api_errors import assert_error

from queue_server import create_app
from queue_server.extensions import db
from queue_server.models import Device, DeviceKind, Ticket
from queue_server.ratelimit import storage_uri
from queue_server.security import hash_key
from queue_server.settings import from_environment

KIOSK2_KEY = "test-kiosk-key-0002"
PASSWORD = "petugas-demo"
ISSUE_REFUSED_ID = re.compile(
    r"Kios ini mengeluarkan terlalu banyak tiket dalam waktu singkat\. "
    r"Silakan tunggu (\d+) detik lalu coba lagi\.")


# -- helpers -------------------------------------------------------------------


@pytest.fixture
def limited(sqlite_url: str, clock) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    """make(**config): the small site with these limit settings, plus a second kiosk."""
    made = []

    def make(url: str = sqlite_url, **config: Any):  # type: ignore[no-untyped-def]
        app = make_app(url, clock, **config)
        with app.app_context():
            if db.session.execute(select(Device).where(Device.code == "KIOSK-2")).scalar() is None:
                db.session.add(Device(code="KIOSK-2", kind=DeviceKind.KIOSK, name="Kios 2",
                                      key_hash=hash_key(KIOSK2_KEY)))
                db.session.commit()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def issue(client, sid: int, key: str = KIOSK_KEY, lang: str = ""):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/tickets{lang}", json={"service_id": sid}, headers=bearer(key))


def ticket_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Ticket)))


def assert_limited(res, message: re.Pattern[str] | None = None) -> int:  # type: ignore[no-untyped-def]
    """A 429 in the API's error shape with a matching Retry-After; returns the seconds."""
    error = assert_error(res, 429, "rate_limited")
    seconds = int(res.headers["Retry-After"])
    assert error["details"] == {"retry_after": seconds}
    if message is not None:
        found = message.fullmatch(error["message"])
        assert found, error["message"]
        assert int(found.group(1)) == seconds
    return seconds


def token(client, username: str, password: str, **kw: Any):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}, **kw)


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> float:
    """Poll ``condition`` until it holds; returns the seconds it took (fails after ``timeout``)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"still not true after {timeout} s"
        time.sleep(step)
    return time.monotonic() - start


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


# -- issuing -------------------------------------------------------------------


def test_default_limit_is_on_and_allows_a_morning_rush_burst(limited) -> None:  # type: ignore[no-untyped-def]
    """No setting given: 30 tickets a minute per kiosk pass, the 31st is refused."""
    app = limited()
    assert app.config["RATELIMIT_ENABLED"] is True
    assert app.config["RATELIMIT_ISSUE"] == "30/minute;300/hour"
    client = app.test_client()
    ktp = service_id(app, "DUKCAPIL", "KTP")
    assert [issue(client, ktp).status_code for _ in range(30)] == [201] * 30
    seconds = assert_limited(issue(client, ktp), ISSUE_REFUSED_ID)
    assert 1 <= seconds <= 60
    assert ticket_count(app) == 30


def test_kiosk_over_its_limit_gets_429_and_no_ticket_another_kiosk_is_unaffected(limited) -> None:  # type: ignore[no-untyped-def]
    app = limited(RATELIMIT_ISSUE="4/minute")
    client = app.test_client()
    ktp = service_id(app, "DUKCAPIL", "KTP")
    assert [issue(client, ktp).status_code for _ in range(4)] == [201] * 4

    for _ in range(3):
        assert_limited(issue(client, ktp), ISSUE_REFUSED_ID)
    english = issue(client, ktp, lang="?lang=en")
    assert_limited(english)
    assert english.get_json()["error"]["message"].startswith(
        "This kiosk has issued too many tickets in a short time. Please wait ")
    assert ticket_count(app) == 4  # the refused requests made nothing, took no number

    other = issue(client, ktp, key=KIOSK2_KEY)
    assert other.status_code == 201, other.get_json()
    assert other.get_json()["number"] == "A005"  # no number was used up by the refusals
    assert ticket_count(app) == 5


def test_the_kiosk_page_cookie_and_its_key_share_one_counter(limited) -> None:  # type: ignore[no-untyped-def]
    """The touchscreen issues with its bound cookie (and CSRF token), scripts with the key:
    both are the same kiosk, so both draw on the same allowance."""
    app = limited(RATELIMIT_ISSUE="3/minute")
    ktp = service_id(app, "DUKCAPIL", "KTP")
    browser_client = app.test_client()
    assert browser_client.get(f"/kiosk/?key={KIOSK_KEY}").status_code == 302
    page = browser_client.get("/kiosk/").get_data(as_text=True)
    config = json.loads(re.search(r'id="kiosk-config">(.*?)</script>', page, re.S).group(1))
    headers = {"X-CSRFToken": config["csrf_token"]}

    def by_cookie():  # type: ignore[no-untyped-def]
        return browser_client.post("/api/v1/tickets", json={"service_id": ktp}, headers=headers)

    script = app.test_client()
    assert issue(script, ktp).status_code == 201
    assert issue(script, ktp).status_code == 201
    assert by_cookie().status_code == 201
    assert_limited(by_cookie(), ISSUE_REFUSED_ID)
    assert_limited(issue(script, ktp), ISSUE_REFUSED_ID)
    assert ticket_count(app) == 3


def test_requests_without_a_kiosk_are_counted_by_address_and_still_refused_properly(limited) -> None:  # type: ignore[no-untyped-def]
    """A wrong key is a 401 while under the limit; the real kiosk keeps its own allowance."""
    app = limited(RATELIMIT_ISSUE="2/minute")
    client = app.test_client()
    ktp = service_id(app, "DUKCAPIL", "KTP")
    assert_error(issue(client, ktp, key="no-such-key-000000"), 401, "unauthorized")
    assert_error(issue(client, ktp, key="no-such-key-000001"), 401, "unauthorized")
    assert_limited(issue(client, ktp, key="no-such-key-000002"))
    assert issue(client, ktp).status_code == 201
    assert ticket_count(app) == 1


def test_an_empty_rule_or_the_switch_turns_limits_off(limited) -> None:  # type: ignore[no-untyped-def]
    for config in ({"RATELIMIT_ISSUE": ""}, {"RATELIMIT_ENABLED": False, "RATELIMIT_ISSUE": "1/minute"}):
        app = limited(**config)
        client = app.test_client()
        ktp = service_id(app, "DUKCAPIL", "KTP")
        assert [issue(client, ktp).status_code for _ in range(5)] == [201] * 5, config


def test_settings_from_the_environment(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTRIAN_RATELIMIT_ISSUE", "12/minute;100/hour")
    monkeypatch.setenv("ANTRIAN_RATELIMIT_LOGIN", "5/minute")
    monkeypatch.setenv("ANTRIAN_RATELIMIT_STATUS", "")
    monkeypatch.setenv("ANTRIAN_RATELIMIT_ENABLED", "off")
    monkeypatch.setenv("ANTRIAN_RATELIMIT_STORAGE", "redis://10.9.9.9:6379/3")
    settings = from_environment(str(tmp_path))
    assert (settings["RATELIMIT_ISSUE"], settings["RATELIMIT_LOGIN"], settings["RATELIMIT_STATUS"]) == (
        "12/minute;100/hour", "5/minute", "")
    assert settings["RATELIMIT_ENABLED"] is False
    assert storage_uri(settings) == "redis://10.9.9.9:6379/3"
    # Without its own storage the limiter follows the Socket.IO message queue, else memory.
    assert storage_uri({"SOCKETIO_MESSAGE_QUEUE": "redis://10.0.0.5:6379/0"}) == "redis://10.0.0.5:6379/0"
    assert storage_uri({"SOCKETIO_MESSAGE_QUEUE": None}) == "memory://"


def test_a_mistyped_limit_stops_the_server_at_start(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="RATELIMIT_ISSUE = '30 a minute'"):
        create_app({"SQLALCHEMY_DATABASE_URI": sqlite_url, "ASYNC_MODE": "threading",
                    "RATELIMIT_ISSUE": "30 a minute"})


# -- logins --------------------------------------------------------------------


def test_login_brute_force_is_refused_even_with_the_right_password_until_the_window_passes(limited) -> None:  # type: ignore[no-untyped-def]
    app = limited(RATELIMIT_LOGIN="3 per 4 seconds")
    client = app.test_client()
    assert [token(client, "dukcapil1", f"guess-{i}").status_code for i in range(3)] == [401] * 3
    seconds = assert_limited(token(client, "dukcapil1", PASSWORD))
    assert 1 <= seconds <= 4
    refused = token(client, "dukcapil1", PASSWORD, query_string={"lang": "id"})
    assert_limited(refused)
    assert refused.get_json()["error"]["message"].startswith(
        "Terlalu banyak percobaan masuk yang gagal. Silakan tunggu ")

    # Another account from the same desk, and the same account from another address, are not blocked.
    assert token(client, "dukcapil2", PASSWORD).status_code == 201
    other_desk = {"environ_base": {"REMOTE_ADDR": "10.1.2.3"}}
    assert token(client, "dukcapil1", PASSWORD, **other_desk).status_code == 201

    # Refused attempts do not extend the block: once the window has passed, the password works.
    waited = wait_until(lambda: token(client, "dukcapil1", PASSWORD).status_code == 201, timeout=10)
    assert waited > 0


def test_successful_logins_never_count(limited) -> None:  # type: ignore[no-untyped-def]
    app = limited(RATELIMIT_LOGIN="2/minute", RATELIMIT_LOGIN_IP="2/minute")
    client = app.test_client()
    assert [token(client, "dukcapil1", PASSWORD).status_code for _ in range(6)] == [201] * 6


def test_web_login_form_shares_the_login_limit_and_answers_with_the_form(limited) -> None:  # type: ignore[no-untyped-def]
    app = limited(RATELIMIT_LOGIN="2/minute")
    client = app.test_client()

    def post(password: str):  # type: ignore[no-untyped-def]
        csrf = csrf_from(client.get("/auth/login").get_data(as_text=True))
        return client.post("/auth/login", data={"username": "dukcapil1", "password": password,
                                                "csrf_token": csrf})

    assert post("wrong-1").status_code == 401
    assert post("wrong-2").status_code == 401
    page = post(PASSWORD)
    assert page.status_code == 429
    seconds = int(page.headers["Retry-After"])
    html = page.get_data(as_text=True)
    assert (f"Terlalu banyak percobaan masuk yang gagal. Silakan tunggu {seconds} detik lalu coba lagi."
            in html)
    assert 'name="password"' in html  # the form again, not an error page
    assert client.get("/auth/login").status_code == 200  # showing the form is never limited
    # The API door to the same account is closed too (one "login" counter).
    assert_limited(token(client, "dukcapil1", PASSWORD))
    # Not logged in: the refused right password did not open a session.
    assert client.get("/manager/").status_code in (302, 401)


def test_password_spraying_from_one_address_is_capped(limited) -> None:  # type: ignore[no-untyped-def]
    """One wrong guess each for many usernames still meets the per-address limit."""
    app = limited(RATELIMIT_LOGIN="10/minute", RATELIMIT_LOGIN_IP="4/minute")
    client = app.test_client()
    names = ["admin", "dukcapil1", "dukcapil2", "samsat1"]
    assert [token(client, name, "Password1").status_code for name in names] == [401] * 4
    assert_limited(token(client, "manajer", "manajer-demo"))
    assert token(client, "manajer", "manajer-demo",
                 environ_base={"REMOTE_ADDR": "10.1.2.4"}).status_code == 201


# -- the public status page ------------------------------------------------------


def test_status_page_and_json_share_a_per_address_limit(limited) -> None:  # type: ignore[no-untyped-def]
    app = limited(RATELIMIT_STATUS="5/minute")
    client = app.test_client()
    ticket = issue(client, service_id(app, "DUKCAPIL", "KTP")).get_json()
    path = f"/api/v1/tickets/{ticket['token']}"
    assert [client.get(f"/t/{ticket['token']}").status_code for _ in range(3)] == [200] * 3
    assert client.get(f"/t/{ticket['token']}/qr.svg").status_code == 200
    assert client.get(path).status_code == 200

    assert_limited(client.get(path))
    page = client.get(f"/t/{ticket['token']}")
    assert page.status_code == 429 and page.mimetype == "text/html"
    seconds = int(page.headers["Retry-After"])
    assert (f"Terlalu banyak permintaan. Silakan tunggu {seconds} detik lalu coba lagi."
            in page.get_data(as_text=True))
    # Guessing tokens is refused the same way, before any lookup.
    assert client.get("/t/guessed-token-123").status_code == 429

    phone = {"environ_base": {"REMOTE_ADDR": "192.168.10.77"}}
    assert client.get(path, **phone).status_code == 200
    # Other doors keep their own counters: the kiosk still issues.
    assert issue(client, service_id(app, "DUKCAPIL", "KTP")).status_code == 201


def test_behind_a_proxy_each_visitor_address_counts_only_when_the_proxy_is_trusted(limited) -> None:  # type: ignore[no-untyped-def]
    def phones(app) -> list[int]:  # type: ignore[no-untyped-def]
        """Two phones behind nginx (both reach the server from 127.0.0.1), 3 requests each."""
        client = app.test_client()
        token = issue(client, service_id(app, "DUKCAPIL", "KTP")).get_json()["token"]
        return [client.get(f"/api/v1/tickets/{token}", headers={"X-Forwarded-For": phone}).status_code
                for phone in ("10.0.0.7", "10.0.0.8") for _ in range(3)]

    assert phones(limited(RATELIMIT_STATUS="3/minute")) == [200] * 3 + [429] * 3  # one address
    trusted = limited(RATELIMIT_STATUS="3/minute", PROXY_COUNT=1)
    assert phones(trusted) == [200] * 6


# -- storage ---------------------------------------------------------------------


@pytest.mark.redis
def test_two_app_instances_share_the_kiosk_counter_through_redis(limited, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = redis_url()
    check_redis(url)
    shared_db = f"sqlite:///{tmp_path / 'shared.db'}"  # a fresh path: a fresh Redis key prefix
    first = limited(shared_db, RATELIMIT_STORAGE_URI=url, RATELIMIT_ISSUE="4/minute")
    second = limited(shared_db, RATELIMIT_STORAGE_URI=url, RATELIMIT_ISSUE="4/minute")
    for app in (first, second):
        assert type(app.extensions["antrian_limiter"].storage).__name__ == "RedisStorage"
    a, b = first.test_client(), second.test_client()
    ktp = service_id(first, "DUKCAPIL", "KTP")
    assert [issue(c, ktp).status_code for c in (a, b, a, b)] == [201] * 4
    assert_limited(issue(a, ktp))
    assert_limited(issue(b, ktp))
    assert issue(b, ktp, key=KIOSK2_KEY).status_code == 201
    assert ticket_count(first) == 5


def test_redis_down_fails_open_and_counts_in_memory(limited) -> None:  # type: ignore[no-untyped-def]
    """Nothing listens on the Redis port: issuing goes on, each process counts for itself."""
    app = limited(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0", RATELIMIT_ISSUE="3/minute")
    client = app.test_client()
    ktp = service_id(app, "DUKCAPIL", "KTP")
    assert [issue(client, ktp).status_code for _ in range(3)] == [201] * 3
    assert_limited(issue(client, ktp))
    assert ticket_count(app) == 3


# -- what the visitor sees at the kiosk ---------------------------------------------


@pytest.mark.browser
def test_kiosk_shows_the_refusal_in_plain_indonesian(browser, live_server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import requests

    server = live_server_factory(env={"ANTRIAN_RATELIMIT_ISSUE": "1/minute"})
    first = requests.post(server.url("/api/v1/tickets"), json={"service_id": 1},
                          headers=bearer(KIOSK_KEY), timeout=10)
    assert first.status_code == 201, first.text
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, has_touch=True, locale="id-ID")
    try:
        page = context.new_page()
        page.goto(server.url(f"/kiosk/?key={KIOSK_KEY}"))
        expect(page.locator("body")).to_have_attribute("data-screen", "language")
        page.get_by_role("button", name="Bahasa Indonesia").tap()
        page.locator("#agency-grid [data-agency-code='DUKCAPIL']").tap()
        page.locator("#service-list [data-service-id='1']").tap()
        expect(page.locator("body")).to_have_attribute("data-screen", "priority")
        page.get_by_role("button", name="Tidak").tap()
        expect(page.locator("body")).to_have_attribute("data-screen", "services")
        expect(page.get_by_role("alert")).to_have_text(ISSUE_REFUSED_ID)
        assert page.evaluate("window.kiosk.lastTicket") is None
    finally:
        context.close()
    res = requests.get(server.url("/api/v1/agencies"), timeout=10)
    dukcapil = next(a for a in res.json()["agencies"] if a["code"] == "DUKCAPIL")
    assert sum(s["waiting"] for s in dukcapil["services"]) == 1  # only the first ticket exists
