"""PostgreSQL drops every connection of a running server (as when it restarts).

The machine's PostgreSQL is shared with other test runs, so it is not
restarted: the test ends all of the server's connections with
``pg_terminate_backend``, which is what the server sees when PostgreSQL
restarts. The server must recover on its own: the next requests and Socket.IO
connections succeed (the pool pings a connection before using it), and its
background loops (printing, end-of-day expiry) keep running. A request caught
half-way by the cut may fail, but as a JSON 503 ``database_unavailable``,
never a 500.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from conftest import (
    DISPLAY_KEY,
    KIOSK_KEY,
    bearer,
    config_with_kiosk_printer,
    make_app,
    postgres_url,
    reset_postgres,
    service_id,
)
from escpos_parse import parse
from live_server import live_server_factory  # noqa: F401
from realtime_client import (  # noqa: F401  (listeners: a fixture)
    Api,
    listeners,
    numbered,
    wait_past_jakarta_midnight,
    wait_until,
)
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from queue_server import print_dispatch
from queue_server.domain import printing
from queue_server.extensions import db
from queue_server.models import PrintJob


@pytest.fixture(autouse=True)
def _not_at_jakarta_midnight() -> None:
    wait_past_jakarta_midnight()


def terminate_server_connections(url: str) -> int:
    """End every other connection to the test database; returns how many there were."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all())
    finally:
        engine.dispose()


def sql(url: str, statement: str, **params: Any) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
    finally:
        engine.dispose()


def printed(printer) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.text.strip() for job in printer.jobs for r in parse(job).styled
            if r.width_mult >= 2 and r.text.strip()]


@pytest.mark.postgres
def test_the_server_recovers_its_connections_after_postgres_drops_them(
        live_server_factory, listeners, fake_printer, tmp_path) -> None:  # noqa: F811
    database = postgres_url()
    reset_postgres(database)
    server = live_server_factory("pg", config=config_with_kiosk_printer(tmp_path, fake_printer.url),
                                 env={"DATABASE_URL": database, "ANTRIAN_EXPIRY_INTERVAL_SECONDS": "1",
                                      "ANTRIAN_RATELIMIT_ENABLED": "0"})
    api = Api(server.base_url)
    ktp = api.service_id("DUKCAPIL", "KTP")
    officer = api.token("dukcapil1")
    loket1 = api.counter_id(officer, "DUK-1")
    first = api.issue(ktp)
    api.open_and_call(officer, loket1)
    fake_printer.wait_for_jobs(1)
    display = listeners(server.base_url, {"key": DISPLAY_KEY})
    display.log.expect("snapshot")

    # 1. PostgreSQL drops everything while the server is idle: nothing fails afterwards.
    assert terminate_server_connections(database) >= 1
    answers = []
    for method, path, secret, body in (
            ("GET", "/api/v1/health", None, None),
            ("POST", "/api/v1/tickets", KIOSK_KEY, {"service_id": ktp}),
            ("POST", f"/api/v1/counters/{loket1}/finish", officer, None),
            ("POST", f"/api/v1/counters/{loket1}/call-next", officer, None),
            ("GET", f"/api/v1/counters/{loket1}/queue", officer, None),
            ("GET", f"/api/v1/tickets/{first['token']}", None, None)):
        answers.append(api.request(method, path, secret, json=body))
    assert [(a.url, a.status_code, a.text[:200]) for a in answers if a.status_code >= 300] == []
    assert answers[3].json()["ticket"]["number"] == "A002"
    display.log.expect("ticket.called", numbered("A002"))  # publishing reads fresh rows: it works too
    # A new connection authenticates and gets its snapshot.
    late = listeners(server.base_url, {"key": DISPLAY_KEY})
    assert [c["number"] for c in late.log.expect("snapshot")["calls"]][:1] == ["A002"]

    # 2. The background loops lost their connections too and still work: the print loop
    #    prints the ticket issued above, the expiry loop (every second here) ends a past day's ticket.
    fake_printer.wait_for_jobs(2, timeout=15)
    assert printed(fake_printer) == ["A001", "A002"]
    old = api.issue(ktp)
    assert terminate_server_connections(database) >= 1
    sql(database, "UPDATE tickets SET service_day = service_day - 1 WHERE id = :id", id=old["id"])
    wait_until(lambda: api.request("GET", f"/api/v1/tickets/{old['token']}").json()["status"] == "expired",
               timeout=15, what="the expiry loop to expire yesterday's ticket")
    fake_printer.wait_for_jobs(3, timeout=15)

    # 3. Dropped while requests are running: a request caught half-way may fail, as a JSON 503,
    #    never a 500; everything after it succeeds.
    outcomes: list[tuple[int, str]] = []
    stop = threading.Event()

    def busy() -> None:
        kiosk = Api(server.base_url)
        while not stop.is_set():
            res = kiosk.request("POST", "/api/v1/tickets", KIOSK_KEY, json={"service_id": ktp})
            try:
                code = res.json().get("error", {}).get("code", "") if res.status_code >= 400 else ""
            except ValueError:  # not JSON: a failure of its own
                code = f"not JSON: {res.headers.get('Content-Type')} {res.text[:300]!r}"
            outcomes.append((res.status_code, code))

    worker = threading.Thread(target=busy, daemon=True)
    worker.start()
    try:
        wait_until(lambda: len(outcomes) >= 3, what="the first tickets")
        assert terminate_server_connections(database) >= 1
        count = len(outcomes)
        wait_until(lambda: len(outcomes) >= count + 5, what="tickets after the cut")
    finally:
        stop.set()
        worker.join(15)
    assert {o for o in outcomes if o[0] != 201} <= {(503, "database_unavailable")}, outcomes
    assert all(status == 201 for status, _ in outcomes[count + 1:]), outcomes
    assert "Exception on /" not in server.log_text(), server.log()  # Flask's line for a 500


def test_a_printed_ticket_whose_result_meets_a_dropped_connection_is_recorded_not_printed_again(
        printing_app, sqlite_url, fake_printer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The connection dies in the instant between the paper coming out and the result being
    stored (the window the live test above can only hit by chance). The print loop stores the
    result on a fresh connection; left to the claim's lease the ticket would print twice."""
    app = printing_app(sqlite_url)
    client = app.test_client()
    res = client.post("/api/v1/tickets", json={"service_id": service_id(app, "DUKCAPIL", "KTP")},
                      headers=bearer(KIOSK_KEY))
    assert res.status_code == 201, res.get_json()
    real, attempts = printing.record_result, []

    def connection_dropped_once(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args[2])
        if len(attempts) == 1:
            raise OperationalError("UPDATE print_jobs ...", {}, Exception(
                "FATAL: terminating connection due to administrator command"))
        return real(*args, **kwargs)

    monkeypatch.setattr(printing, "record_result", connection_dropped_once)
    assert print_dispatch.print_direct(app) == 1
    assert len(fake_printer.wait_for_jobs(1)) == 1
    assert attempts == [res.get_json()["print"]["job_id"]] * 2
    with app.app_context():
        assert db.session.execute(db.select(PrintJob.status)).scalars().all() == ["printed"]
    assert print_dispatch.print_direct(app) == 0
    assert len(fake_printer.jobs) == 1


@pytest.mark.postgres
def test_a_connection_dropped_after_the_answer_is_ready_does_not_turn_it_into_an_error(clock) -> None:
    """PostgreSQL goes away between a request's last query and the end of the request:
    the answer (a committed ticket) must still go out, not a 500 from the clean-up."""
    database = postgres_url()
    reset_postgres(database)
    app = make_app(database, clock, RATELIMIT_ENABLED=False)

    @app.after_request
    def postgres_restarts_now(response):  # type: ignore[no-untyped-def]
        assert terminate_server_connections(database) >= 1
        return response

    client = app.test_client()
    res = client.post("/api/v1/tickets", json={"service_id": service_id(app, "DUKCAPIL", "KTP")},
                      headers=bearer(KIOSK_KEY))
    assert res.status_code == 201, res.get_data(as_text=True)
    assert client.get(f"/api/v1/tickets/{res.get_json()['token']}").get_json()["status"] == "waiting"
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
