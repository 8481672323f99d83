"""Printing end to end: a live server (eventlet), the real ``antrian-print-agent``
process, a real Socket.IO client as the kiosk, and fake printers on 127.0.0.1.

KIOSK-1 prints through the print agent AGENT-1 ("agent"); KIOSK-2 has a
network printer the server drives itself.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from conftest import SMALL_CONFIG
from escpos_parse import parse
from fake_printer import FakePrinter
from live_server import LiveServer, live_server_factory  # noqa: F401

AGENT_KEY = "test-agent-key-0001"
KIOSK2_KEY = "test-kiosk-key-0002"
AGENT_BIN = Path(sys.executable).parent / "antrian-print-agent"


def site_config(tmp_path: Path, direct_printer: str) -> Path:
    text = SMALL_CONFIG.read_text(encoding="utf-8").replace(
        'key = "test-kiosk-key-0001"\n', 'key = "test-kiosk-key-0001"\nprinter = "agent"\n')
    text += f"""
[[devices]]
code = "KIOSK-2"
kind = "kiosk"
key = "{KIOSK2_KEY}"
printer = "{direct_printer}"
paper_width = 58

[[devices]]
code = "AGENT-1"
kind = "print_agent"
key = "{AGENT_KEY}"
kiosk = "KIOSK-1"

[[devices]]
code = "AGENT-X"
kind = "print_agent"
key = "test-agent-key-0002"
kiosk = "KIOSK-2"
"""
    path = tmp_path / "print-site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def wait_until(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Agent:
    """The real print agent as a child process."""

    def __init__(self, server: LiveServer, printer: FakePrinter, log: Path) -> None:
        self.args = [str(AGENT_BIN), "--server", server.base_url, "--key", AGENT_KEY,
                     "--printer", printer.url, "--status-every", "1"]
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Agent:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        return self

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def printers() -> Iterator[tuple[FakePrinter, FakePrinter]]:
    with FakePrinter() as at_agent, FakePrinter() as direct:
        yield at_agent, direct


@pytest.fixture
def site(live_server_factory, printers, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    at_agent, direct = printers
    server = live_server_factory("print", config=site_config(tmp_path, direct.url))
    agents: list[Agent] = []

    def agent() -> Agent:
        agents.append(Agent(server, at_agent, tmp_path / "agent.log"))
        return agents[-1]

    yield server, at_agent, direct, agent
    for a in agents:
        a.kill()


def issue(server: LiveServer, key: str = "test-kiosk-key-0001") -> dict[str, Any]:
    agencies = requests.get(server.url("/api/v1/agencies"), timeout=5).json()["agencies"]
    ktp = next(s["id"] for a in agencies if a["code"] == "DUKCAPIL" for s in a["services"]
               if s["code"] == "KTP")
    res = requests.post(server.url("/api/v1/tickets"), json={"service_id": ktp},
                        headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert res.status_code == 201, res.text
    return res.json()


def jobs(server: LiveServer) -> list[tuple[int, str, int]]:
    """(ticket id, status, attempts) of every print job, read from the server's database."""
    path = server.database_url[len("sqlite:///"):]
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
        return conn.execute("SELECT ticket_id, status, attempts FROM print_jobs ORDER BY id").fetchall()


def printed_numbers(printer: FakePrinter) -> list[str]:
    return [r.text.strip() for job in printer.jobs for r in parse(job).styled
            if r.width_mult >= 2 and r.text.strip()]


def manager_devices(server: LiveServer) -> dict[str, Any]:
    token = requests.post(server.url("/api/v1/auth/token"),
                          json={"username": "manajer", "password": "manajer-demo"}, timeout=5).json()["token"]
    res = requests.get(server.url("/api/v1/devices"), headers={"Authorization": f"Bearer {token}"}, timeout=5)
    return {d["code"]: d for d in res.json()["devices"]}


def test_agent_prints_and_acknowledges_a_job(site) -> None:  # type: ignore[no-untyped-def]
    server, printer, _direct, agent = site
    agent().start()
    wait_until(lambda: manager_devices(server)["KIOSK-1"]["printer"]["state"] == "ok",
               what="the agent's first printer status report")
    ticket = issue(server)
    assert ticket["print"]["status"] == "pending"
    printer.wait_for_jobs(1)
    assert printed_numbers(printer) == ["A001"]
    assert parse(printer.jobs[0]).qr_data == [ticket["status_url"]]
    wait_until(lambda: jobs(server) == [(ticket["id"], "printed", 1)], what="the acknowledgement")


def test_jobs_wait_for_the_agent_and_are_printed_once_across_restarts(site) -> None:  # type: ignore[no-untyped-def]
    server, printer, _direct, agent = site
    first = issue(server)  # no agent running yet
    time.sleep(1.5)
    assert printer.jobs == [] and jobs(server)[0][1] in ("pending", "printing")

    running = agent().start()
    printer.wait_for_jobs(1)
    wait_until(lambda: jobs(server) == [(first["id"], "printed", jobs(server)[0][2])], what="printed")
    running.kill()
    wait_until(lambda: manager_devices(server)["KIOSK-1"]["printer"]["state"] == "offline",
               what="the agent's disconnect to show as an offline printer")

    second = issue(server)
    agent().start()
    printer.wait_for_jobs(2)
    wait_until(lambda: [j[1] for j in jobs(server)] == ["printed", "printed"], what="both printed")
    time.sleep(2)  # a duplicate would arrive within the retry delays
    assert printed_numbers(printer) == [first["number"], second["number"]]


def test_agent_printer_down_then_back_prints_exactly_once(site) -> None:  # type: ignore[no-untyped-def]
    server, printer, _direct, agent = site
    printer.stop()
    agent().start()
    ticket = issue(server)
    wait_until(lambda: jobs(server) and jobs(server)[0][1] == "pending" and jobs(server)[0][2] >= 1,
               what="a failed first attempt")
    assert manager_devices(server)["KIOSK-1"]["printer"]["state"] == "offline"
    printer.start()
    printer.wait_for_jobs(1, timeout=20)
    wait_until(lambda: jobs(server)[0][1] == "printed", what="the retry to be acknowledged")
    time.sleep(2)
    assert printed_numbers(printer) == [ticket["number"]]


def test_server_prints_on_a_network_printer_and_tells_the_kiosk(site) -> None:  # type: ignore[no-untyped-def]
    """Printer off when the ticket is issued: the kiosk hears 'retrying', then
    'printed' once the printer is back, and the paper comes out exactly once."""
    server, _at_agent, printer, _agent = site
    printer.stop()
    events: list[dict[str, Any]] = []
    got = threading.Condition()
    kiosk = socketio.Client(reconnection=False)

    @kiosk.on("print.updated")
    def _on_print(data: dict[str, Any]) -> None:
        with got:
            events.append(data)
            got.notify_all()

    snapshots: list[dict[str, Any]] = []
    kiosk.on("snapshot", snapshots.append)
    kiosk.connect(server.base_url, auth={"key": KIOSK2_KEY}, transports=["websocket"], wait_timeout=10)
    try:
        wait_until(lambda: snapshots, what="the kiosk snapshot")
        assert snapshots[0]["printer"]["target"] == printer.url  # a reloaded kiosk knows its printer
        ticket = issue(server, KIOSK2_KEY)
        wait_until(lambda: any(e["status"] == "retrying" for e in events), what="a retrying event")
        assert events[0]["number"] == ticket["number"] and events[0]["error_code"] == "offline"
        printer.start()
        wait_until(lambda: any(e["status"] == "printed" for e in events), timeout=20, what="printed")
        time.sleep(2)
        assert printed_numbers(printer) == [ticket["number"]]
        assert len(parse(printer.jobs[0]).printed[0].text) <= 32  # KIOSK-2 has 58 mm paper
    finally:
        kiosk.disconnect()


def test_only_the_right_agent_may_report_a_job(site) -> None:  # type: ignore[no-untyped-def]
    server, _printer, _direct, _agent = site
    ticket = issue(server)  # a KIOSK-1 job, printed by AGENT-1
    job_id = ticket["print"]["job_id"]
    other = socketio.Client(reconnection=False)
    other.connect(server.base_url, auth={"key": "test-agent-key-0002"}, transports=["websocket"],
                  wait_timeout=10)
    display = socketio.Client(reconnection=False)
    display.connect(server.base_url, auth={"key": "test-display-key-0001"}, transports=["websocket"],
                    wait_timeout=10)
    try:
        assert other.call("print.result", {"job_id": job_id, "ok": True}, timeout=5) == {
            "ok": False, "error": "job_not_found"}
        assert display.call("print.result", {"job_id": job_id, "ok": True}, timeout=5) == {
            "ok": False, "error": "forbidden"}
        assert other.call("print.result", {"job_id": "1"}, timeout=5)["ok"] is False
    finally:
        other.disconnect()
        display.disconnect()
    assert jobs(server)[0][1] != "printed"
