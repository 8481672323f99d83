"""The API's refusals: one JSON error shape, the right status, nothing half-written.

In-process (Flask test client) on SQLite and, when present, PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import (
    DISPLAY_KEY,
    KIOSK_KEY,
    bearer,
    counter_id,
    make_app,
    service_id,
    token_for,
)
from sqlalchemy import func, select

from queue_server.extensions import db
from queue_server.models import Counter, CounterEvent, Ticket, TicketEvent

MAX_BODY = 64 * 1024


def assert_error(res, status: int, code: str | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """``{"error": {"code", "message"[, "details"]}}`` with ``status``; returns the error."""
    assert res.status_code == status, (res.status_code, res.get_data(as_text=True)[:500])
    assert res.is_json, res.content_type
    body = res.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z_]+", error["code"]), error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    if "details" in error:
        assert isinstance(error["details"], dict), error
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def issue(client, sid: Any, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/tickets", json={"service_id": sid},
                       headers=bearer(KIOSK_KEY) if headers is None else headers)


def counts(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Row counts that must not move when an action is refused."""
    with app.app_context():
        return {
            "tickets": db.session.scalar(select(func.count()).select_from(Ticket)),
            "ticket_events": db.session.scalar(select(func.count()).select_from(TicketEvent)),
            "counter_events": db.session.scalar(select(func.count()).select_from(CounterEvent)),
        }


def ticket_row(app, token: str) -> tuple[str, int | None]:  # type: ignore[no-untyped-def]
    with app.app_context():
        t = db.session.execute(select(Ticket).where(Ticket.token == token)).scalar_one()
        return t.status, t.counter_id


def counter_row(app, cid: int) -> tuple[str, int | None, int | None]:  # type: ignore[no-untyped-def]
    with app.app_context():
        c = db.session.get(Counter, cid)
        assert c is not None
        return c.state, c.officer_id, c.current_ticket_id


@pytest.fixture
def ktp(app) -> int:  # type: ignore[no-untyped-def]
    return service_id(app, "DUKCAPIL", "KTP")


@pytest.fixture
def loket1(app) -> int:  # type: ignore[no-untyped-def]
    return counter_id(app, "DUK-1")


@pytest.fixture
def officer(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return token_for(client, "dukcapil1")


# -- bodies and fields -------------------------------------------------------


MALFORMED = [b"{bad json", b'{"service_id": 1', b"\xff\xfe\x00", b"nul", b"{'service_id': 1}"]
NOT_AN_OBJECT = [b"[]", b'[{"service_id": 1}]', b"null", b"1", b'"text"', b"true"]


def test_malformed_json_is_400_invalid_json(app, client) -> None:  # type: ignore[no-untyped-def]
    before = counts(app)
    for raw in MALFORMED:
        for content_type in ("application/json", None):  # the body is parsed whatever it claims
            res = client.post("/api/v1/tickets", data=raw, content_type=content_type,
                              headers=bearer(KIOSK_KEY))
            assert_error(res, 400, "invalid_json")
    assert counts(app) == before


def test_a_body_that_is_not_an_object_is_400(app, client) -> None:  # type: ignore[no-untyped-def]
    before = counts(app)
    for raw in NOT_AN_OBJECT:
        res = client.post("/api/v1/tickets", data=raw, content_type="application/json",
                          headers=bearer(KIOSK_KEY))
        assert_error(res, 400, "invalid_json")
    assert counts(app) == before


def test_counter_actions_reject_a_malformed_body_too(app, client, officer, loket1) -> None:  # type: ignore[no-untyped-def]
    for raw in (b"{oops", b"[1, 2]"):
        res = client.post(f"/api/v1/counters/{loket1}/open", data=raw, headers=officer,
                          content_type="application/json")
        assert_error(res, 400, "invalid_json")
    assert counter_row(app, loket1)[0] == "closed"


BAD_SERVICE_IDS: list[dict[str, Any]] = [
    {}, {"service_id": None}, {"service_id": "1"}, {"service_id": -1}, {"service_id": 0},
    {"service_id": True}, {"service_id": False}, {"service_id": 1.5}, {"service_id": [1]},
    {"service_id": {"id": 1}}, {"service_id": 2**31}, {"service_id": 10**30},
]


def test_bad_service_id_is_422_invalid_field(app, client) -> None:  # type: ignore[no-untyped-def]
    before = counts(app)
    for body in BAD_SERVICE_IDS:
        res = client.post("/api/v1/tickets", json=body, headers=bearer(KIOSK_KEY))
        error = assert_error(res, 422, "invalid_field")
        assert "service_id" in error["message"], body
    assert counts(app) == before


def test_unknown_service_is_404_and_takes_no_number(app, client, ktp) -> None:  # type: ignore[no-untyped-def]
    assert_error(issue(client, 999_999), 404, "service_not_found")
    assert counts(app)["tickets"] == 0
    # The refusal did not use up a number (nor leave SQLite's write lock taken).
    res = issue(client, ktp)
    assert res.status_code == 201, res.get_json()
    assert res.get_json()["number"] == "A001"


def test_oversize_body_is_413_with_the_error_shape(app, client, officer, loket1) -> None:  # type: ignore[no-untyped-def]
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_BODY
    big = b'{"service_id": 1, "pad": "' + b"x" * MAX_BODY + b'"}'
    before = counts(app)
    res = client.post("/api/v1/tickets", data=big, content_type="application/json",
                      headers=bearer(KIOSK_KEY))
    assert_error(res, 413, "body_too_large")
    res = client.post(f"/api/v1/counters/{loket1}/open", data=big, content_type="application/json",
                      headers=officer)
    assert_error(res, 413, "body_too_large")
    assert counts(app) == before
    assert counter_row(app, loket1)[0] == "closed"


# -- not found ---------------------------------------------------------------


def test_unknown_counter_is_404(client, officer) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/counters/999999", "/api/v1/counters/999999/queue"):
        assert_error(client.get(path, headers=officer), 404, "counter_not_found")
    for action in ("open", "call-next", "finish", "close"):
        assert_error(client.post(f"/api/v1/counters/999999/{action}", headers=officer), 404,
                     "counter_not_found")


def test_unknown_ticket_token_is_404(client) -> None:  # type: ignore[no-untyped-def]
    for token in ("no-such-ticket", "x" * 33, "x" * 200):
        assert_error(client.get(f"/api/v1/tickets/{token}"), 404, "ticket_not_found")
        assert_error(client.post(f"/api/v1/tickets/{token}/cancel"), 404, "ticket_not_found")


def test_unknown_api_route_and_wrong_method_answer_json(client) -> None:  # type: ignore[no-untyped-def]
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_error(client.post("/api/v1/counters/abc/open"), 404, "not_found")
    res = client.delete("/api/v1/tickets")
    assert_error(res, 405, "method_not_allowed")
    assert "POST" in res.headers.get("Allow", "")
    # Pages outside the API keep their HTML error pages.
    page = client.get("/no-such-page")
    assert page.status_code == 404 and not page.is_json


# -- who may do what -----------------------------------------------------------


def test_no_auth_is_401_unauthorized(client, ktp, loket1) -> None:  # type: ignore[no-untyped-def]
    assert_error(issue(client, ktp, headers={}), 401, "unauthorized")
    for headers in ({}, bearer("not-a-real-key"), {"Authorization": "Basic Zm9vOmJhcg=="},
                    {"Authorization": "Bearer "}):
        assert_error(client.post(f"/api/v1/counters/{loket1}/call-next", headers=headers), 401,
                     "unauthorized")
    assert_error(client.get("/api/v1/counters"), 401, "unauthorized")


def test_devices_are_403_on_officer_actions_and_displays_cannot_issue(app, client, ktp, loket1) -> None:  # type: ignore[no-untyped-def]
    for key in (KIOSK_KEY, DISPLAY_KEY):
        assert_error(client.post(f"/api/v1/counters/{loket1}/open", headers=bearer(key)), 403,
                     "forbidden")
        assert_error(client.post(f"/api/v1/counters/{loket1}/call-next", headers=bearer(key)), 403,
                     "forbidden")
    assert_error(issue(client, ktp, headers=bearer(DISPLAY_KEY)), 403, "forbidden")
    officer = token_for(client, "dukcapil1")
    assert_error(issue(client, ktp, headers=officer), 403, "forbidden")  # only kiosks issue
    assert counts(app)["tickets"] == 0


def test_officer_of_another_agency_may_not_open_the_counter(app, client, loket1) -> None:  # type: ignore[no-untyped-def]
    samsat = token_for(client, "samsat1")
    before = counts(app)
    error = assert_error(client.post(f"/api/v1/counters/{loket1}/open", headers=samsat), 403,
                         "not_your_counter")
    assert "Loket 1" in error["message"]
    assert counter_row(app, loket1) == ("closed", None, None)
    assert counts(app) == before
    # ... nor sees it.
    assert_error(client.get(f"/api/v1/counters/{loket1}", headers=samsat), 404, "counter_not_found")


def test_wrong_password_is_401(client) -> None:  # type: ignore[no-untyped-def]
    for body in ({"username": "dukcapil1", "password": "wrong-password"},
                 {"username": "nobody", "password": "petugas-demo"},
                 {"username": "dukcapil1", "password": ""},
                 {"username": "dukcapil1"}):
        assert_error(client.post("/api/v1/auth/token", json=body), 401, "bad_credentials")


def test_demo_kiosk_key_is_refused_in_production(sqlite_url, clock) -> None:  # type: ignore[no-untyped-def]
    app = make_app(sqlite_url, clock, ANTRIAN_ENV="production")
    try:
        client = app.test_client()
        ktp = service_id(app, "DUKCAPIL", "KTP")
        assert_error(issue(client, ktp), 401, "demo_credential")
        # Demo passwords too: no token for the example officer.
        assert_error(client.post("/api/v1/auth/token",
                                 json={"username": "dukcapil1", "password": "petugas-demo"}),
                     401, "bad_credentials")
        assert counts(app)["tickets"] == 0
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- illegal transitions: 409 and nothing written ------------------------------------


def test_finish_or_start_with_no_current_ticket_is_409(app, client, officer, loket1, ktp) -> None:  # type: ignore[no-untyped-def]
    waiting = issue(client, ktp).get_json()
    assert client.post(f"/api/v1/counters/{loket1}/open", headers=officer).status_code == 200
    before = counts(app)
    for action in ("finish", "start", "recall", "no-show"):
        assert_error(client.post(f"/api/v1/counters/{loket1}/{action}", headers=officer), 409,
                     "no_current_ticket")
    res = client.post(f"/api/v1/counters/{loket1}/transfer", json={"service_id": ktp}, headers=officer)
    assert_error(res, 409, "no_current_ticket")
    assert counts(app) == before
    assert ticket_row(app, waiting["token"]) == ("waiting", None)
    assert counter_row(app, loket1)[2] is None


def test_call_next_on_a_closed_counter_is_409(app, client, officer, loket1, ktp) -> None:  # type: ignore[no-untyped-def]
    waiting = issue(client, ktp).get_json()
    before = counts(app)
    assert_error(client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer), 409,
                 "counter_closed")
    assert counts(app) == before
    assert ticket_row(app, waiting["token"]) == ("waiting", None)
    assert counter_row(app, loket1) == ("closed", None, None)
    # Pausing first: still refused, with its own code.
    assert client.post(f"/api/v1/counters/{loket1}/open", headers=officer).status_code == 200
    assert client.post(f"/api/v1/counters/{loket1}/pause", headers=officer).status_code == 200
    before = counts(app)
    assert_error(client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer), 409,
                 "counter_paused")
    assert counts(app) == before
    assert ticket_row(app, waiting["token"]) == ("waiting", None)


def test_call_next_while_a_ticket_is_active_is_409(app, client, officer, loket1, ktp) -> None:  # type: ignore[no-untyped-def]
    first = issue(client, ktp).get_json()
    second = issue(client, ktp).get_json()
    assert client.post(f"/api/v1/counters/{loket1}/open", headers=officer).status_code == 200
    called = client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer).get_json()
    assert called["ticket"]["number"] == "A001"
    current = counter_row(app, loket1)
    before = counts(app)
    error = assert_error(client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer), 409,
                         "counter_busy")
    assert error["details"]["number"] == "A001"
    second_id = called["ticket"]["id"] + 1
    assert_error(client.post(f"/api/v1/counters/{loket1}/call", json={"ticket_id": second_id},
                             headers=officer), 409, "counter_busy")
    assert_error(client.post(f"/api/v1/counters/{loket1}/close", headers=officer), 409, "counter_busy")
    assert counts(app) == before
    assert counter_row(app, loket1) == current
    assert ticket_row(app, first["token"]) == ("called", loket1)
    assert ticket_row(app, second["token"]) == ("waiting", None)

    # Serving, then a second start is an illegal transition, still nothing written.
    assert client.post(f"/api/v1/counters/{loket1}/start", headers=officer).status_code == 200
    before = counts(app)
    assert_error(client.post(f"/api/v1/counters/{loket1}/start", headers=officer), 409,
                 "illegal_transition")
    assert_error(client.post(f"/api/v1/counters/{loket1}/recall", headers=officer), 409,
                 "illegal_transition")
    assert counts(app) == before
    assert ticket_row(app, first["token"]) == ("serving", loket1)

    # After all those refusals the counter still works normally.
    assert client.post(f"/api/v1/counters/{loket1}/finish", headers=officer).status_code == 200
    nxt = client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer).get_json()
    assert nxt["ticket"]["number"] == "A002"


# -- session login and CSRF ------------------------------------------------------


def _login(client, username: str, password: str = "petugas-demo") -> str:  # type: ignore[no-untyped-def]
    page = client.get("/auth/login")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)) \
        or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page.get_data(as_text=True))
    assert match, "no csrf_token field in the login form"
    token = match.group(1)
    res = client.post("/auth/login", data={"username": username, "password": password, "csrf_token": token})
    assert res.status_code == 302, res.get_data(as_text=True)[:500]
    return token


def test_session_login_needs_the_csrf_token_for_api_writes(app, client, loket1) -> None:  # type: ignore[no-untyped-def]
    token = _login(client, "dukcapil1")
    # Reads need no token.
    assert client.get(f"/api/v1/counters/{loket1}").status_code == 200
    before = counts(app)
    assert_error(client.post(f"/api/v1/counters/{loket1}/open"), 400, "csrf_failed")
    assert_error(client.post(f"/api/v1/counters/{loket1}/open", headers={"X-CSRFToken": "forged"}),
                 400, "csrf_failed")
    assert counts(app) == before
    assert counter_row(app, loket1)[0] == "closed"
    res = client.post(f"/api/v1/counters/{loket1}/open", headers={"X-CSRFToken": token})
    assert res.status_code == 200, res.get_json()
    assert res.get_json()["state"] == "open"


def test_login_form_without_csrf_token_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    res = client.post("/auth/login", data={"username": "dukcapil1", "password": "petugas-demo"})
    assert res.status_code == 400
    assert_error(client.get("/api/v1/counters"), 401, "unauthorized")  # not logged in


# -- a sweep: no bad request ever gets a 500 -------------------------------------


BAD_BODIES: list[Any] = [
    b"{bad", b"[]", b"null", b'"x"', b"1e999", b"\xff\xfe",
    {"service_id": "x"}, {"service_id": -5}, {"service_id": True}, {"service_id": 2**63},
    {"ticket_id": None}, {"ticket_id": "1"}, {"ticket_id": 2**31}, {"ticket_id": 999_999},
    {"note": 5}, {"note": "x" * 3000}, {"priority": "vip", "service_id": 1},
    {"priority": ["elderly"], "service_id": 1}, {"request_id": "", "service_id": 1},
    {"request_id": 7, "service_id": 1}, {"request_id": "r" * 65, "service_id": 1},
    {"username": ["a"], "password": {"b": 1}}, {"username": "u" * 61, "password": "p"},
]
ACTIONS = ("open", "pause", "close", "call-next", "call", "recall", "start", "finish", "no-show",
           "transfer")


@pytest.fixture
def sweep_targets(app, client, loket1) -> Iterator[list[tuple[str, dict[str, str]]]]:  # type: ignore[no-untyped-def]
    officer = token_for(client, "dukcapil1")
    targets = [("/api/v1/tickets", bearer(KIOSK_KEY)), ("/api/v1/auth/token", {}),
               ("/api/v1/tickets/abc/cancel", {})]
    targets += [(f"/api/v1/counters/{loket1}/{a}", officer) for a in ACTIONS]
    targets += [(f"/api/v1/counters/999999/{a}", officer) for a in ACTIONS]
    yield targets


def test_no_bad_request_gets_a_500(client, sweep_targets) -> None:  # type: ignore[no-untyped-def]
    for path, headers in sweep_targets:
        for body in BAD_BODIES:
            if isinstance(body, bytes):
                res = client.post(path, data=body, content_type="application/json", headers=headers)
            else:
                res = client.post(path, json=body, headers=headers)
            assert res.status_code < 500, (path, body, res.get_data(as_text=True)[:300])
            if res.status_code >= 400:
                assert_error(res, res.status_code)
