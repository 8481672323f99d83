"""The print agent: runs on the kiosk PC that has the (USB) ticket printer.

It connects to the server over Socket.IO with its device key, receives the
print jobs of its kiosk, prints them one at a time and acknowledges each.
The server re-sends every unacknowledged job when the agent (re)connects, so
a job is never lost; the agent remembers the jobs it printed, so a job whose
acknowledgement was lost is acknowledged again instead of printed twice.

    antrian-print-agent --server http://192.168.1.10:5000 --key KEY --printer usb://04b8:0e15
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import logging
import os
import queue
import threading
import time
from collections import OrderedDict
from typing import Any

import socketio

from .targets import PrinterError, parse_target, probe, send

log = logging.getLogger("antrian.print_agent")
REMEMBERED_JOBS = 1000
STATUS_EVERY = 30.0  # seconds between printer status reports
FLUSH: dict[str, Any] = {}  # queue marker: resend postponed acknowledgements


class PrintAgent:
    """Receives jobs, prints them in order, acknowledges them."""

    def __init__(self, server: str, key: str, printer: str, status_every: float = STATUS_EVERY) -> None:
        parse_target(printer)  # fail at start-up on a bad printer URL
        self.server, self.key, self.printer = server.rstrip("/"), key, printer
        self.status_every = status_every
        self.jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.printed: OrderedDict[int, str] = OrderedDict()  # job id -> printer state after it
        self.unacknowledged: dict[int, dict[str, Any]] = {}
        self.stopping = threading.Event()
        self.sio = socketio.Client(reconnection=True, reconnection_delay_max=5)
        self.sio.on("connect", self._on_connect)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("snapshot", self._on_snapshot)
        self.sio.on("print.job", self._on_job)

    # -- Socket.IO callbacks (run on the client's thread: only enqueue) --------

    def _on_connect(self) -> None:
        log.info("connected to %s", self.server)
        # The snapshot (with its jobs) can arrive just before the connection
        # counts as established; acknowledgements tried then are sent now.
        self.jobs.put(FLUSH)

    def _on_connect_error(self, data: Any) -> None:
        log.warning("connection refused: %s", data)

    def _on_snapshot(self, data: dict[str, Any]) -> None:
        log.info("printing for %s; %d job(s) waiting", ", ".join(data.get("kiosks", [])),
                 len(data.get("jobs", [])))
        for job in data.get("jobs", []):
            self.jobs.put(job)
        self.jobs.put(FLUSH)  # acknowledgements lost while offline: resend (not on this thread)


    def _on_job(self, job: dict[str, Any]) -> None:
        self.jobs.put(job)

    # -- work ---------------------------------------------------------------------

    def handle(self, job: dict[str, Any]) -> dict[str, Any]:
        """Print one job (unless already printed) and return its result."""
        job_id = int(job["job_id"])
        if job_id in self.printed:
            return {"job_id": job_id, "ok": True, "printer_state": self.printed[job_id]}
        try:
            state = send(self.printer, base64.b64decode(job["data"]))
        except PrinterError as exc:
            log.warning("job %s (%s) failed: %s", job_id, job.get("number"), exc)
            return {"job_id": job_id, "ok": False, "error_code": exc.code, "message": exc.message}
        self.printed[job_id] = state
        while len(self.printed) > REMEMBERED_JOBS:
            self.printed.popitem(last=False)
        log.info("printed job %s (%s)", job_id, job.get("number"))
        return {"job_id": job_id, "ok": True, "printer_state": state}

    def _acknowledge(self, result: dict[str, Any]) -> None:
        self.unacknowledged[result["job_id"]] = result
        self._flush_acks()

    def _flush_acks(self) -> None:
        for job_id, result in list(self.unacknowledged.items()):
            try:
                self.sio.call("print.result", result, timeout=10)
            except (socketio.exceptions.SocketIOError, OSError) as exc:
                log.info("acknowledgement of job %s postponed: %s", job_id, exc)
                return
            self.unacknowledged.pop(job_id, None)

    def _work(self) -> None:
        while not self.stopping.is_set():
            job = self.jobs.get()
            if job is None:
                return
            if job is FLUSH:
                self._flush_acks()
            else:
                self._acknowledge(self.handle(job))

    def _report_status(self) -> None:
        while not self.stopping.wait(self.status_every):
            if not self.sio.connected:
                continue
            if self.unacknowledged:
                self.jobs.put(FLUSH)
            state = probe(self.printer)
            with contextlib.suppress(socketio.exceptions.SocketIOError):
                self.sio.emit("printer.status", {"state": state,
                                                 "message": "" if state != "offline" else self.printer})

    def _connect(self) -> None:
        """Connect, retrying forever: the agent starts before the server does."""
        while not self.stopping.is_set():
            try:
                self.sio.connect(self.server, auth={"key": self.key}, transports=["websocket", "polling"],
                                 wait_timeout=10)
                return
            except socketio.exceptions.ConnectionError as exc:
                log.warning("cannot connect to %s (%s); retrying", self.server, exc)
                self.stopping.wait(3)

    def run(self) -> None:
        threading.Thread(target=self._work, daemon=True, name="print-worker").start()
        threading.Thread(target=self._report_status, daemon=True, name="printer-status").start()
        self._connect()
        while not self.stopping.is_set():
            self.stopping.wait(1)

    def stop(self) -> None:
        self.stopping.set()
        self.jobs.put(None)
        self.sio.disconnect()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="antrian-print-agent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=os.environ.get("ANTRIAN_SERVER", "http://127.0.0.1:5000"),
                        help="the Antrian server (default $ANTRIAN_SERVER or http://127.0.0.1:5000)")
    parser.add_argument("--key", default=os.environ.get("ANTRIAN_AGENT_KEY"),
                        help="this print agent's device key (default $ANTRIAN_AGENT_KEY)")
    parser.add_argument("--printer", default=os.environ.get("ANTRIAN_PRINTER"),
                        help="usb://VID:PID, serial:///dev/ttyS0, file:///dev/usb/lp0 or network://host:9100 "
                             "(default $ANTRIAN_PRINTER)")
    parser.add_argument("--status-every", type=float, default=STATUS_EVERY,
                        help="seconds between printer status reports")
    args = parser.parse_args(argv)
    if not args.key or not args.printer:
        parser.error("--key and --printer are required (or ANTRIAN_AGENT_KEY and ANTRIAN_PRINTER)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        target = parse_target(args.printer)
    except ValueError as exc:
        parser.error(str(exc))
    if not target.direct:
        parser.error("--printer must be a printer the agent can drive (usb, serial, file or network)")
    agent = PrintAgent(args.server, args.key, args.printer, args.status_every)
    try:
        agent.run()
    except KeyboardInterrupt:
        agent.stop()
        time.sleep(0.2)


if __name__ == "__main__":
    main()
