"""Cookies and logs: what a stolen cookie jar or server log would give away.

* The session cookie (people's logins and the kiosk/display binding), the
  remember-me cookie and the language cookie are HttpOnly and SameSite=Lax,
  and Secure once ``ANTRIAN_ENV=production`` runs behind HTTPS (``ANTRIAN_HTTPS=1``).
* A real ``antrian serve`` taken through logins (right and wrong), a kiosk
  binding its browser with ``?key=`` and issuing with its key, a display
  connecting over Socket.IO, API tokens being requested and used, a refused
  (rate-limited) login and an unreachable Redis holding a password never
  writes a key, password, token, session cookie or the secret key to its log.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import pytest
import requests
import socketio
from conftest import DISPLAY_KEY, KIOSK_KEY, make_app
from flask_login import login_user
from live_server import SECRET_KEY, free_port, live_server_factory  # noqa: F401
from sqlalchemy import select

from queue_server.extensions import db
from queue_server.models import User

PASSWORD = "petugas-demo"
WRONG_PASSWORD = "Salah-Sandi-7781"
REDIS_PASSWORD = "redis-sandi-rahasia-4411"


def cookies_set(response: Any) -> dict[str, dict[str, Any]]:
    """name -> attributes of every Set-Cookie in a Flask test response."""
    found: dict[str, dict[str, Any]] = {}
    for header in response.headers.getlist("Set-Cookie"):
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            lowered = header.lower()
            found[name] = {"value": morsel.value, "httponly": "; httponly" in lowered,
                           "secure": "; secure" in lowered, "samesite": morsel["samesite"]}
    return found


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _app_with_remember_route(url: str, clock, **config: Any):  # type: ignore[no-untyped-def]
    """The app, plus a test-only view that logs the officer in with "remember me"
    (no page offers it yet; the cookie's settings must be right when one does)."""
    app = make_app(url, clock, **config)

    def remember():  # type: ignore[no-untyped-def]
        user = db.session.execute(select(User).where(User.username == "dukcapil1")).scalar_one()
        user.demo_credential = False  # production refuses demo accounts
        login_user(user, remember=True)
        return "ok"

    app.add_url_rule("/_test/remember", view_func=remember)
    return app


def test_cookies_are_httponly_and_samesite_lax(sqlite_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    app = _app_with_remember_route(sqlite_url, clock)
    client = app.test_client()
    page = client.get("/auth/login?lang=en")
    form = {"username": "dukcapil1", "password": PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True))}
    login = client.post("/auth/login", data=form)
    assert login.status_code == 302
    kiosk = app.test_client().get(f"/kiosk/?key={KIOSK_KEY}")
    assert kiosk.status_code == 302
    remember = app.test_client().get("/_test/remember")

    seen = {**cookies_set(page), **cookies_set(remember)}
    seen["session (login)"] = cookies_set(login)["session"]
    seen["session (kiosk)"] = cookies_set(kiosk)["session"]
    assert {"lang", "remember_token", "session (login)", "session (kiosk)"} <= set(seen)
    for name, cookie in seen.items():
        assert cookie["httponly"], name
        assert cookie["samesite"] == "Lax", name
        assert not cookie["secure"], name  # plain http on a LAN: a Secure cookie would never come back


def test_production_over_https_marks_cookies_secure(sqlite_url: str, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTRIAN_ENV", "production")
    monkeypatch.setenv("ANTRIAN_HTTPS", "1")
    app = _app_with_remember_route(sqlite_url, clock)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    res = app.test_client().get("/_test/remember", base_url="https://antrian.mpp.test")
    cookies = cookies_set(res)
    for name in ("session", "remember_token"):
        assert cookies[name]["secure"] and cookies[name]["httponly"], name
        assert cookies[name]["samesite"] == "Lax", name


def test_production_without_https_keeps_cookies_usable_over_http(sqlite_url: str, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTRIAN_ENV", "production")
    monkeypatch.delenv("ANTRIAN_HTTPS", raising=False)
    app = make_app(sqlite_url, clock)
    assert not app.config["SESSION_COOKIE_SECURE"] and not app.config["REMEMBER_COOKIE_SECURE"]


def test_no_secret_reaches_the_server_log(live_server_factory) -> None:  # noqa: F811
    # Redis "down" with a password in its URL: the limiter logs its fallback, never the URL's password.
    redis = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"
    server = live_server_factory(env={"ANTRIAN_RATELIMIT_STORAGE": redis,
                                      "ANTRIAN_RATELIMIT_LOGIN": "2/minute"})
    secrets = {"kiosk key": KIOSK_KEY, "display key": DISPLAY_KEY, "password": PASSWORD,
               "wrong password": WRONG_PASSWORD, "secret key": SECRET_KEY, "redis password": REDIS_PASSWORD}

    # A person logs in on the web form, once wrongly, then rightly.
    person = requests.Session()
    for password, status in ((WRONG_PASSWORD, 401), (PASSWORD, 200)):
        form = {"username": "dukcapil1", "password": password,
                "csrf_token": csrf_from(person.get(server.url("/auth/login"), timeout=10).text)}
        assert person.post(server.url("/auth/login"), data=form, timeout=10).status_code == status
    secrets["login session cookie"] = person.cookies["session"]

    # The kiosk browser is bound with ?key=, then a script issues with the key.
    kiosk = requests.Session()
    assert kiosk.get(server.url(f"/kiosk/?key={KIOSK_KEY}"), timeout=10).status_code == 200
    secrets["kiosk session cookie"] = kiosk.cookies["session"]
    issued = requests.post(server.url("/api/v1/tickets"), json={"service_id": 1}, timeout=10,
                           headers={"Authorization": f"Bearer {KIOSK_KEY}"})
    assert issued.status_code == 201, issued.text

    # API tokens: refused, granted, used; then the login limit refuses the right password.
    api = server.url("/api/v1/auth/token")
    assert requests.post(api, json={"username": "dukcapil2", "password": WRONG_PASSWORD},
                         timeout=10).status_code == 401
    granted = requests.post(api, json={"username": "dukcapil1", "password": PASSWORD}, timeout=10)
    assert granted.status_code == 201, granted.text
    secrets["API token"] = granted.json()["token"]
    used = requests.get(server.url("/api/v1/counters"), timeout=10,
                        headers={"Authorization": f"Bearer {secrets['API token']}"})
    assert used.status_code == 200
    assert requests.post(api, json={"username": "dukcapil2", "password": WRONG_PASSWORD},
                         timeout=10).status_code == 401
    limited = requests.post(api, json={"username": "dukcapil2", "password": PASSWORD}, timeout=10)
    assert limited.status_code == 429, limited.text

    # A display connects over Socket.IO with its key; a wrong key is refused.
    display = socketio.Client(reconnection=False)
    try:
        display.connect(server.base_url, auth={"key": DISPLAY_KEY}, transports=["websocket"], wait_timeout=10)
        assert display.connected
    finally:
        display.disconnect()
    intruder = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        intruder.connect(server.base_url, auth={"key": "not-" + DISPLAY_KEY}, transports=["websocket"],
                         wait_timeout=10)

    server.stop()  # flush everything the process had to say
    log = server.log_path.read_text(errors="replace")
    served = log[log.index("=== antrian serve on"):]  # `antrian init` may show keys once, by design
    assert "Antrian is serving on" in served
    assert "storage unreachable" in served  # the limiter's fallback was logged: the log was exercised
    leaked = {what: value for what, value in secrets.items() if value in served}
    assert leaked == {}, f"in {server.log_path}: {sorted(leaked)}"
