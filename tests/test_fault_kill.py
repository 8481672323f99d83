"""SIGKILL the server in the middle of a busy run, then start it again on the same port and database.

Kiosk threads issue tickets (each with a ``request_id``) and counter threads
call and finish them, through the REST API of a real ``antrian serve``. When
enough has happened the whole process group is killed with SIGKILL: no
clean-up, requests cut off half-way. After the restart:

* every ticket whose issue was answered 2xx is there, with its number, day and
  token, and in the state its last answered action left it in (or the next
  one, when that action's request was cut off without an answer);
* a ticket nobody was told about belongs to a cut-off issue request, and
  retrying that request (same ``request_id``) returns that very ticket;
* numbers per prefix and day are 1..N without a gap or a repeat, and the next
  ticket gets N+1: no number is ever reused.

Then one test with every kind of client at once (real Chromium on the display
and the counter page, a python-socketio display, the real print agent with a
fake TCP printer): after the kill they reconnect by themselves and show what
the server holds.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from browser import browser  # noqa: F401
from conftest import DISPLAY_KEY, KIOSK_KEY, postgres_url, reset_postgres
from live_server import LiveServer, live_server_factory  # noqa: F401
from playwright.sync_api import expect
from realtime_client import (  # noqa: F401  (listeners: a fixture)
    RECONNECT_TIMEOUT,
    Api,
    always_open_config,
    listeners,
    numbered,
    wait_past_jakarta_midnight,
    wait_until,
)
from sqlalchemy import create_engine, text
from test_counter_browser import current, login, open_counter, queue_numbers  # noqa: F401
from test_display_browser import open_display  # noqa: F401
from test_print_agent import Agent, printed_numbers, site_config

NO_LIMITS = {"ANTRIAN_RATELIMIT_ENABLED": "0"}  # the load below is far above a real kiosk's pace
KIOSK_THREADS = 4
COUNTERS = (("dukcapil1", "DUK-1"), ("dukcapil2", "DUK-2"), ("samsat1", "SAM-1"))
KILL_AFTER_ISSUED, KILL_AFTER_DONE = 30, 5
REQUEST_TIMEOUT = 15.0
# Keeps every Socket.IO client a page creates in window.__sockets, so the test can play the
# server's "resync" broadcast (sent when the message queue is back after an outage) to it.
KEEP_SOCKETS = """
(() => {
  let real = null;
  window.__sockets = [];
  Object.defineProperty(window, "io", {
    configurable: true,
    set(value) { real = value; },
    get() {
      return real && function (...args) { const s = real(...args); window.__sockets.push(s); return s; };
    },
  });
})();
"""
RESYNC = """window.__sockets.map((s) => {
  s.listeners("resync").forEach((handler) => handler({}));
  return s.listeners("resync").length;
})"""


@pytest.fixture(autouse=True)
def _not_at_jakarta_midnight() -> None:
    wait_past_jakarta_midnight(margin=90)


# -- the busy run ------------------------------------------------------------------


@dataclass
class Ledger:
    """What the server acknowledged, and the requests it never answered (thread-safe)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> issue answer
    state: dict[int, str] = field(default_factory=dict)  # id -> status after the last 2xx action
    cut_off: list[tuple[str, Any]] = field(default_factory=list)  # (action, request_id/counter/ticket)
    refused: list[str] = field(default_factory=list)  # any other answer: a failure of the test

    def issued(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.tickets[int(body["id"])] = body
            self.state[int(body["id"])] = "waiting"

    def moved(self, ticket_id: int, status: str) -> None:
        with self.lock:
            self.state[ticket_id] = status

    def counts(self) -> tuple[int, int]:
        with self.lock:
            return len(self.tickets), sum(s == "done" for s in self.state.values())


class Run:
    """Kiosk and counter threads against one server until it dies."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.api = Api(server.base_url)
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.services = [self.api.service_id("DUKCAPIL", "KTP"), self.api.service_id("SAMSAT", "PKB")]
        self.officers = {user: self.api.token(user) for user, _ in COUNTERS}
        self.counters = {code: self.api.counter_id(self.officers[user], code) for user, code in COUNTERS}
        self.threads: list[threading.Thread] = []

    def _post(self, http: requests.Session, path: str, secret: str, **kw: Any) -> requests.Response | None:
        """POST; None when the server did not answer (it died before or while handling it)."""
        try:
            return http.post(self.server.url(path), headers={"Authorization": f"Bearer {secret}"},
                             timeout=REQUEST_TIMEOUT, **kw)
        except requests.RequestException:
            return None

    def _kiosk(self, i: int) -> None:
        http = requests.Session()
        n = 0
        while not self.stop.is_set():
            n += 1
            request = {"service_id": self.services[n % 2], "request_id": f"kiosk{i}-{n}"}
            res = self._post(http, "/api/v1/tickets", KIOSK_KEY, json=request)
            if res is None:
                self.ledger.cut_off.append(("issue", request))
                return
            if res.status_code != 201:
                self.ledger.refused.append(f"issue: {res.status_code} {res.text[:200]}")
                return
            self.ledger.issued(res.json())

    def _counter(self, user: str, code: str) -> None:
        http, secret, counter = requests.Session(), self.officers[user], self.counters[code]
        res = self._post(http, f"/api/v1/counters/{counter}/open", secret)
        if res is None or res.status_code != 200:
            self.ledger.refused.append(f"open {code}: {res and res.status_code}")
            return
        while not self.stop.is_set():
            res = self._post(http, f"/api/v1/counters/{counter}/call-next", secret)
            if res is None:
                self.ledger.cut_off.append(("call-next", counter))
                return
            ticket = res.json().get("ticket") if res.status_code == 200 else None
            if res.status_code != 200:
                self.ledger.refused.append(f"call-next {code}: {res.status_code} {res.text[:200]}")
                return
            if ticket is None:  # nobody waiting yet: let the kiosks catch up
                self.stop.wait(0.02)
                continue
            self.ledger.moved(ticket["id"], "called")
            res = self._post(http, f"/api/v1/counters/{counter}/finish", secret)
            if res is None:
                self.ledger.cut_off.append(("finish", ticket["id"]))
                return
            if res.status_code != 200:
                self.ledger.refused.append(f"finish {code}: {res.status_code} {res.text[:200]}")
                return
            self.ledger.moved(ticket["id"], "done")

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._kiosk, args=(i,), daemon=True)
                        for i in range(KIOSK_THREADS)]
        self.threads += [threading.Thread(target=self._counter, args=pair, daemon=True) for pair in COUNTERS]
        for thread in self.threads:
            thread.start()

    def _busy_enough(self) -> bool:
        issued, done = self.ledger.counts()
        return issued >= KILL_AFTER_ISSUED and done >= KILL_AFTER_DONE

    def kill_when_busy(self) -> None:
        """SIGKILL the server once enough has happened, while every thread is still sending."""
        try:
            wait_until(self._busy_enough, timeout=60, what="the busy run to get going", every=0.02)
            assert all(t.is_alive() for t in self.threads), self.ledger.refused
        finally:
            self.server.kill()
            self.stop.set()
            for thread in self.threads:
                thread.join(REQUEST_TIMEOUT + 5)
        assert not any(t.is_alive() for t in self.threads), "a client thread is stuck"
        assert self.ledger.refused == []


def prefix_of(number: str) -> str:
    return number.rstrip("0123456789")


def stored_tickets(server: LiveServer) -> dict[int, dict[str, Any]]:
    """Every ticket row, read straight from the server's database."""
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT id, number, prefix, sequence, service_day, status, counter_id, token, request_id "
                "FROM tickets ORDER BY id")).mappings().all()
            sequences = conn.execute(text(
                "SELECT prefix, service_day, last_number FROM number_sequences")).all()
    finally:
        engine.dispose()
    stored = {int(r["id"]): {**r, "service_day": str(r["service_day"])} for r in rows}
    by_prefix = defaultdict(list)
    for row in stored.values():
        by_prefix[(row["prefix"], row["service_day"])].append(row["sequence"])
    for prefix, day, last in sequences:
        numbers = sorted(by_prefix.get((prefix, str(day)), []))
        # Never duplicated, never skipped, and the counter row agrees.
        assert numbers == list(range(1, last + 1)), (prefix, day, numbers, last)
    return stored


def check_after_restart(run: Run) -> None:
    ledger, server = run.ledger, run.server
    stored = stored_tickets(server)
    # 1. Every acknowledged ticket is there, as it was given out.
    for ticket_id, answer in ledger.tickets.items():
        row = stored.get(ticket_id)
        assert row is not None, f"ticket {answer['number']} (id {ticket_id}) was acknowledged, then lost"
        assert (row["number"], row["service_day"], row["token"]) == (
            answer["number"], answer["service_day"], answer["token"])

    # 2. Each in the state its last acknowledged action gave it, or the next one when the
    #    request for that next action was cut off (it may or may not have committed).
    cut_calls = {counter for action, counter in ledger.cut_off if action == "call-next"}
    cut_finishes = {ticket for action, ticket in ledger.cut_off if action == "finish"}
    called_unseen = []
    for ticket_id, acknowledged in ledger.state.items():
        status = stored[ticket_id]["status"]
        if status == acknowledged:
            continue
        if acknowledged == "called" and ticket_id in cut_finishes:
            assert status == "done", (stored[ticket_id], acknowledged)
        else:
            assert (acknowledged, status) == ("waiting", "called"), (stored[ticket_id], acknowledged)
            assert stored[ticket_id]["counter_id"] in cut_calls, stored[ticket_id]
            called_unseen.append(stored[ticket_id]["counter_id"])
    assert len(called_unseen) == len(set(called_unseen)), "a counter called twice in one cut-off request"

    # 3. A ticket nobody was told about comes from a cut-off issue request; retrying every
    #    cut-off request (same request_id) gives that ticket back, or a new number after the rest.
    cut_issues = {req["request_id"]: req for action, req in ledger.cut_off if action == "issue"}
    unseen = {row["request_id"]: row for tid, row in stored.items() if tid not in ledger.tickets}
    assert set(unseen) <= set(cut_issues), (unseen, cut_issues)
    highest = {row["prefix"]: max(r["sequence"] for r in stored.values() if r["prefix"] == row["prefix"])
               for row in stored.values()}
    for request_id, request in cut_issues.items():
        res = run.api.request("POST", "/api/v1/tickets", KIOSK_KEY, json=request)
        if request_id in unseen:
            assert res.status_code == 200, res.text  # replayed, not issued again
            assert res.json()["id"] == unseen[request_id]["id"]
        else:
            assert res.status_code == 201, res.text
            prefix = prefix_of(res.json()["number"])
            highest[prefix] += 1
            assert res.json()["number"] == f"{prefix}{highest[prefix]:03d}"

    # 4. The next number continues after the highest one ever issued.
    for service in run.services:
        number = run.api.issue(service)["number"]
        prefix = prefix_of(number)
        highest[prefix] += 1
        assert number == f"{prefix}{highest[prefix]:03d}", (number, highest)
    stored_tickets(server)  # still gapless with the retries and new tickets

    # 5. The server answers with the same states (each counter's current ticket too).
    for ticket_id, answer in list(ledger.tickets.items())[:: max(1, len(ledger.tickets) // 15)]:
        res = run.api.request("GET", f"/api/v1/tickets/{answer['token']}")
        assert res.status_code == 200 and res.json()["status"] == stored[ticket_id]["status"], res.text
    officer = run.officers["dukcapil1"]
    for counter in run.api.request("GET", "/api/v1/counters", officer).json()["counters"]:
        holding = [t for t in stored.values() if t["counter_id"] == counter["id"] and t["status"] == "called"]
        shown = counter["current_ticket"]["id"] if counter.get("current_ticket") else None
        assert shown == (holding[0]["id"] if holding else None), (counter, holding)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "sqlite":
        return {}  # LiveServer's own SQLite file
    url = postgres_url()
    reset_postgres(url)
    return {"DATABASE_URL": url}


def test_sigkill_in_a_busy_run_loses_and_reuses_nothing(
        live_server_factory, database_env, tmp_path) -> None:  # noqa: F811
    server = live_server_factory("busy", config=always_open_config(tmp_path),
                                 env={**NO_LIMITS, **database_env})
    run = Run(server)
    run.start()
    run.kill_when_busy()
    issued, done = run.ledger.counts()
    assert issued >= KILL_AFTER_ISSUED and done >= KILL_AFTER_DONE

    server.start()  # same port, same database
    run.api = Api(server.base_url)  # the old keep-alive connections died with the server
    check_after_restart(run)


# -- every kind of client reconnects by itself ----------------------------------------


@pytest.fixture
def agent_site(tmp_path: Path, fake_printer,  # type: ignore[no-untyped-def]
               live_server_factory) -> Iterator[tuple[LiveServer, Callable[[], Agent]]]:  # noqa: F811
    """KIOSK-1 prints through the print agent AGENT-1 on the fake TCP printer."""
    server = live_server_factory("clients", config=site_config(tmp_path, "none"), env=NO_LIMITS)
    agents: list[Agent] = []

    def start_agent() -> Agent:
        agents.append(Agent(server, fake_printer, tmp_path / "agent.log").start())
        return agents[-1]

    yield server, start_agent
    for agent in agents:
        agent.kill()


@pytest.mark.browser
def test_every_client_reconnects_by_itself_after_a_sigkill(
        agent_site, fake_printer, open_display, login, listeners) -> None:  # noqa: F811
    server, start_agent = agent_site
    api = Api(server.base_url)
    start_agent()
    first = api.issue(api.service_id("DUKCAPIL", "KTP"))
    fake_printer.wait_for_jobs(1, timeout=15)
    assert printed_numbers(fake_printer) == [first["number"]] == ["A001"]

    hall = listeners(server.base_url, {"key": DISPLAY_KEY}, reconnection=True)
    hall.log.expect("snapshot")
    tv = open_display(server, init=(KEEP_SOCKETS,))
    officer = login(server)
    officer.context.add_init_script(KEEP_SOCKETS)
    officer.reload()
    open_counter(officer, "DUK-1")
    counter_id = api.counter_id(api.token("dukcapil1"), "DUK-1")
    officer.keyboard.press("Space")  # call A001 from the counter page
    expect(current(officer)).to_have_text("A001")
    expect(tv.locator("#current-number")).to_have_text("A001")
    hall.log.expect("ticket.called", numbered("A001"))
    second = api.issue(api.service_id("DUKCAPIL", "KTP"))
    expect(queue_numbers(officer)).to_have_text([second["number"]])

    server.kill()
    hall.log.expect("disconnect")
    tv.wait_for_function("window.display.connected === false")
    expect(officer.locator("#offline")).to_be_visible(timeout=15000)
    server.start()
    api = Api(server.base_url)

    # Nobody reloads anything: each client comes back and shows the server's state.
    snapshot = hall.log.expect("snapshot", skip=1, timeout=RECONNECT_TIMEOUT)
    assert [(c["number"], c["counter"]["number"]) for c in snapshot["calls"]] == [("A001", 1)]
    assert snapshot["waiting"] == {"1": 1}
    tv.wait_for_function("window.display.connected && window.display.snapshots >= 2",
                         timeout=RECONNECT_TIMEOUT * 1000)
    expect(tv.locator("#current-number")).to_have_text("A001")
    expect(officer.locator("#offline")).to_be_hidden(timeout=RECONNECT_TIMEOUT * 1000)
    officer.wait_for_function("window.counterPage.connected === true")
    expect(current(officer)).to_have_text("A001")
    expect(queue_numbers(officer)).to_have_text([second["number"]])

    # A "resync" from the server (its message queue is back) makes the pages catch up:
    # the display asks for a fresh snapshot, the counter page reloads its counter.
    seen = tv.evaluate("window.display.snapshots")
    assert tv.evaluate(RESYNC) == [1]
    tv.wait_for_function(f"window.display.snapshots > {seen}", timeout=10000)
    counter_url = server.url(f"/api/v1/counters/{counter_id}?")
    with officer.expect_request(lambda r: r.url.startswith(counter_url), timeout=10000):
        assert officer.evaluate(RESYNC) == [1]

    # The print agent is back too: a ticket issued now is printed, and nothing twice.
    third = api.issue(api.service_id("DUKCAPIL", "KTP"))
    fake_printer.wait_for_jobs(3, timeout=RECONNECT_TIMEOUT)
    assert third["number"] == "A003"
    assert sorted(printed_numbers(fake_printer)) == ["A001", "A002", "A003"]

    # And live events reach everyone again: finish A001 and call A002 from the page.
    officer.keyboard.press("f")
    expect(current(officer)).to_have_text("—")
    officer.keyboard.press("Space")
    expect(current(officer)).to_have_text(second["number"])
    expect(tv.locator("#current-number")).to_have_text(second["number"])
    hall.log.expect("ticket.called", numbered(second["number"]))
    assert api.request("GET", f"/api/v1/tickets/{first['token']}").json()["status"] == "done"
