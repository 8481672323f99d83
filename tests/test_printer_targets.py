"""Printer targets: URL parsing, sending to a fake network printer, status handling, file targets."""

from __future__ import annotations

import datetime as dt
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from escpos.printer import Serial, Usb
from escpos_parse import parse
from fake_printer import FakePrinter

from printer.layout import TicketContent, render_ticket
from printer.targets import PrinterError, Target, is_status_reply, paper_state, parse_target, probe, send

URL = "http://192.168.1.10:5000/t/4MfVbsZE79E6NlT309xQVg"
QUERY = b"\x10\x04\x04"
TICKET = render_ticket(TicketContent(
    site_name="Mal Pelayanan Publik Kabupaten Contoh",
    agency_name="Kantor Imigrasi Kelas I",
    service_name="Paspor Baru",
    number="B007",
    issued_at=dt.datetime(2026, 11, 23, 9, 5, tzinfo=ZoneInfo("Asia/Jakarta")),
    ahead=2,
    estimated_wait_minutes=10,
    status_url=URL,
), 80)


@pytest.fixture
def printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


# -- parse_target ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("network://192.168.1.50", Target("network", host="192.168.1.50", port=9100)),
    ("network://printer-lobi.local:9101", Target("network", host="printer-lobi.local", port=9101)),
    ("NETWORK://10.0.0.7:9100/", Target("network", host="10.0.0.7", port=9100)),
    ("network://[fe80::1]:9100", Target("network", host="fe80::1", port=9100)),
    ("usb://04b8:0e15", Target("usb", vendor_id=0x04B8, product_id=0x0E15)),
    ("usb://0x0416:0x5011?in_ep=0x81&out_ep=0x03",
     Target("usb", vendor_id=0x0416, product_id=0x5011, options={"in_ep": "0x81", "out_ep": "0x03"})),
    ("serial:///dev/ttyS0", Target("serial", path="/dev/ttyS0")),
    ("serial:///dev/ttyUSB0?baudrate=19200",
     Target("serial", path="/dev/ttyUSB0", options={"baudrate": "19200"})),
    ("serial://COM3?baudrate=115200&parity=N&xonxoff=true",
     Target("serial", path="COM3", options={"baudrate": "115200", "parity": "N", "xonxoff": "true"})),
    ("file:///dev/usb/lp0", Target("file", path="/dev/usb/lp0")),
    ("file:///var/spool/antrian%20tiket.bin", Target("file", path="/var/spool/antrian tiket.bin")),
    ("agent", Target("agent")),
    ("  Agent ", Target("agent")),
    ("none", Target("none")),
    ("", Target("none")),
    ("   ", Target("none")),
])
def test_parse_target(url: str, expected: Target) -> None:
    assert parse_target(url) == expected


def test_direct_targets() -> None:
    direct = {url.split(":")[0]: parse_target(url).direct for url in (
        "network://h", "usb://1:2", "serial:///dev/ttyS0", "file:///tmp/x", "agent", "none")}
    assert direct == {"network": True, "usb": True, "serial": True, "file": True,
                      "agent": False, "none": False}


@pytest.mark.parametrize(("url", "message"), [
    ("192.168.1.50", "not a URL"),
    ("ftp://192.168.1.50", "unknown printer scheme"),
    ("tcp://192.168.1.50:9100", "unknown printer scheme"),
    ("network://", "no valid host"),
    ("network://:9100", "no valid host"),
    ("network://printer:0", "1 to 65535"),
    ("network://printer:70000", "1 to 65535"),
    ("network://printer:abc", "1 to 65535"),
    ("network://printer:", "1 to 65535"),
    ("network://printer/queue", "without a path"),
    ("network://user@printer", "user name"),
    ("network://[fe80::1", "malformed printer target"),
    ("network://printer?timeout=3", "unknown option"),
    ("usb://04b8", "usb://VID:PID"),
    ("usb://zzzz:0e15", "hex digits"),
    ("usb://04b8:12345", "hex digits"),
    ("usb://0000:0e15", "must not be 0"),
    ("usb://04b8:0e15/extra", "usb://VID:PID"),
    ("usb://04b8:0e15?in_ep=300", "between 0 and 255"),
    ("serial://", "no device"),
    ("serial://dev/ttyS0", "serial:///dev/ttyXXX"),
    ("serial:///dev/ttyS0?baudrate=fast", "not a number"),
    ("serial:///dev/ttyS0?baud=9600", "unknown option"),
    ("serial:///dev/ttyS0?parity=X", "parity"),
    ("serial:///dev/ttyS0?baudrate=9600&baudrate=19200", "repeated option"),
    ("file://", "absolute path"),
    ("file:///", "absolute path"),
    ("file://printer/dev/lp0", "file:///absolute/path"),
    ("network://printer#frag", "fragment"),
])
def test_parse_target_refuses_malformed(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_target(url)
    assert repr(url) in str(info.value) or url.strip() == ""


# -- sending to a network printer ------------------------------------------------------------------


def test_send_prints_the_ticket(printer: FakePrinter) -> None:
    assert send(printer.url, TICKET) == "ok"
    [job] = printer.wait_for_jobs(1)
    assert job == TICKET
    assert printer.received == [QUERY + TICKET]  # the status query came first, on the same connection
    receipt = parse(job)
    assert receipt.qr_data == [URL] and receipt.cuts == 1
    assert "B007" in receipt.lines and "Paspor Baru" in receipt.lines


def test_send_accepts_a_parsed_target_and_no_status_check(printer: FakePrinter) -> None:
    assert send(parse_target(printer.url), TICKET, check_status=False) == "unknown"
    assert printer.wait_for_jobs(1) == [TICKET]
    assert printer.received == [TICKET]  # no status query at all


def test_printer_off_is_offline_quickly(printer: FakePrinter) -> None:
    printer.stop()
    started = time.monotonic()
    with pytest.raises(PrinterError) as info:
        send(printer.url, TICKET, timeout=5.0)
    assert time.monotonic() - started < 1.0
    assert info.value.code == "offline"
    assert str(printer.port) in info.value.message
    assert probe(printer.url) == "offline"


def test_paper_out_sends_nothing(printer: FakePrinter) -> None:
    printer.paper = "out"
    with pytest.raises(PrinterError) as info:
        send(printer.url, TICKET)
    assert info.value.code == "paper_out"
    assert printer.wait_for_connections(1) == [QUERY]
    assert printer.jobs == []


def test_paper_near_end_prints_and_says_so(printer: FakePrinter) -> None:
    printer.paper = "near_end"
    assert send(printer.url, TICKET) == "paper_low"
    assert printer.wait_for_jobs(1) == [TICKET]


def test_silent_printer_prints_after_a_short_wait() -> None:
    with FakePrinter(answers_status=False) as silent:
        started = time.monotonic()
        assert send(silent.url, TICKET, timeout=5.0) == "unknown"
        elapsed = time.monotonic() - started
        assert silent.wait_for_jobs(1) == [TICKET]
    assert elapsed < 2.0


def test_printer_back_on_the_same_port(printer: FakePrinter) -> None:
    port = printer.port
    printer.stop()
    with pytest.raises(PrinterError):
        send(printer.url, TICKET)
    printer.start()
    assert printer.port == port
    assert send(printer.url, TICKET) == "ok"
    assert printer.wait_for_jobs(1) == [TICKET]


def test_several_tickets_are_separate_jobs(printer: FakePrinter) -> None:
    second = TICKET.replace(b"B007", b"B008")
    send(printer.url, TICKET)
    send(printer.url, second)
    assert printer.wait_for_jobs(2) == [TICKET, second]


def test_fake_printer_answers_like_a_real_one(printer: FakePrinter) -> None:
    """The helper itself: every DLE EOT n is answered at once, even split across packets."""
    printer.paper = "out"
    with socket.create_connection(("127.0.0.1", printer.port), timeout=2) as conn:
        replies = []
        for query in (b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x03"):
            conn.sendall(query)
            replies.append(conn.recv(1)[0])
        conn.sendall(b"\x10")
        time.sleep(0.05)  # the query's last bytes arrive in a later packet
        conn.sendall(b"\x04\x04")
        replies.append(conn.recv(1)[0])
        conn.sendall(b"job \x10\x04\x04 data")  # inside a job the bytes are data, not a query
    assert replies == [0x1A, 0x32, 0x12, 0x72]  # offline, stopped by paper end, no error, paper out
    assert printer.wait_for_jobs(1) == [b"job \x10\x04\x04 data"]


@pytest.mark.parametrize(("paper", "answers", "expected"), [
    ("ok", True, "ok"),
    ("near_end", True, "paper_low"),
    ("out", True, "paper_out"),
    ("ok", False, "unknown"),
])
def test_probe(paper: str, answers: bool, expected: str) -> None:
    with FakePrinter(paper=paper, answers_status=answers) as fake:
        started = time.monotonic()
        assert probe(fake.url, timeout=2.0) == expected
        assert time.monotonic() - started < 1.5
        assert fake.wait_for_connections(1) == [QUERY]
        assert fake.jobs == []  # a probe prints nothing


@pytest.mark.parametrize("url", ["agent", "none", "", "bogus://x", "network://"])
def test_send_refuses_non_printers_and_bad_urls(url: str) -> None:
    with pytest.raises(PrinterError) as info:
        send(url, TICKET)
    assert info.value.code == "config"


def test_probe_never_raises() -> None:
    assert probe("agent") == "unknown"
    assert probe("none") == "unknown"
    assert probe("bogus://x") == "offline"  # nothing can print through a bad URL


def test_status_byte_decoding() -> None:
    assert paper_state(0x12) == "ok"
    assert paper_state(0x1E) == "paper_low"
    assert paper_state(0x72) == "paper_out"
    assert paper_state(0x7E) == "paper_out"
    assert is_status_reply(0x12) and is_status_reply(0x72)
    assert not is_status_reply(0x10)  # first byte of an automatic status back block
    assert not is_status_reply(0x00) and not is_status_reply(0xFF)


def test_printer_error_fields() -> None:
    error = PrinterError("paper_out", "no paper")
    assert (error.code, error.message, str(error)) == ("paper_out", "no paper", "paper_out: no paper")


# -- file, usb, serial --------------------------------------------------------------------------------


def test_file_target_appends_exact_bytes(tmp_path: Path) -> None:
    path = tmp_path / "lp0"
    url = f"file://{path}"
    assert probe(url) == "unknown"
    assert send(url, TICKET) == "unknown"
    assert path.read_bytes() == TICKET
    assert send(url, b"\x1b@second") == "unknown"
    assert path.read_bytes() == TICKET + b"\x1b@second"


def test_file_target_unwritable_is_offline(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/no-such-dir/lp0"
    with pytest.raises(PrinterError) as info:
        send(url, TICKET)
    assert info.value.code == "offline"
    assert probe(url) == "offline"
    assert probe(f"file://{tmp_path}") == "offline"  # a directory


def test_missing_device_node_is_not_created() -> None:
    path = Path("/dev/antrian-test-no-such-printer")
    assert not path.exists()
    with pytest.raises(PrinterError) as info:
        send(f"file://{path}", TICKET)
    assert info.value.code == "offline"
    assert not path.exists()
    assert probe(f"file://{path}") == "offline"


@pytest.mark.skipif(Usb.is_usable(), reason="pyusb is installed, so the missing-library error cannot happen")
def test_usb_without_pyusb_is_a_config_error() -> None:
    with pytest.raises(PrinterError) as info:
        send("usb://04b8:0e15", TICKET)
    assert info.value.code == "config"
    assert "python-escpos[usb]" in info.value.message
    assert probe("usb://04b8:0e15") == "offline"


@pytest.mark.skipif(Serial.is_usable(),
                    reason="pyserial is installed, so the missing-library error cannot happen")
def test_serial_without_pyserial_is_a_config_error() -> None:
    with pytest.raises(PrinterError) as info:
        send("serial:///dev/ttyS0?baudrate=19200", TICKET)
    assert info.value.code == "config"
    assert "python-escpos[serial]" in info.value.message
    assert probe("serial:///dev/ttyS0") == "offline"


class PtyPrinter:
    """A serial printer on a pseudo-terminal: answers DLE EOT 4 with ``status`` (None = silent).

    ``close`` stops and joins the reader thread before closing the descriptors: the kernel reuses
    fd numbers at once, and a reader still looping on a closed number would read (and answer) the
    next test's pseudo-terminal.
    """

    def __init__(self, status: int | None) -> None:
        self.status = status
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self.master], [], [], 0.05)
            if not readable:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            self.received += chunk
            if QUERY in chunk and self.status is not None:
                os.write(self.master, bytes([self.status]))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self._slave)
        os.close(self.master)


@pytest.mark.parametrize(("status", "expected"), [(0x12, "ok"), (0x1E, "paper_low"), (None, "unknown")])
def test_serial_on_a_pty(status: int | None, expected: str) -> None:
    """Runs only where pyserial is installed (python-escpos[serial]); a pty stands in for the port."""
    pytest.importorskip("serial", reason="pyserial is not installed")
    fake = PtyPrinter(status)
    try:
        url = f"serial://{fake.path}?baudrate=19200&dsrdtr=false"
        started = time.monotonic()
        assert send(url, TICKET) == expected
        assert time.monotonic() - started < 2.0
        assert wait_for(lambda: bytes(fake.received) == QUERY + TICKET)
        assert probe(url) == expected
    finally:
        fake.close()


def test_serial_paper_out_on_a_pty() -> None:
    pytest.importorskip("serial", reason="pyserial is not installed")
    fake = PtyPrinter(0x72)
    try:
        with pytest.raises(PrinterError) as info:
            send(f"serial://{fake.path}?dsrdtr=false", TICKET)
        assert info.value.code == "paper_out"
        assert wait_for(lambda: bytes(fake.received) == QUERY)
        with pytest.raises(PrinterError) as missing:
            send("serial:///dev/antrian-no-such-tty", TICKET)
        assert missing.value.code == "offline"
    finally:
        fake.close()


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True
