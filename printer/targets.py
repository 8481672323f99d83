"""Printer targets: where ticket bytes go, and what the printer says about its paper.

A target is a URL kept in the configuration:

* ``network://host[:port]`` - raw TCP ("port 9100", JetDirect), the usual LAN printer;
* ``usb://VID:PID[?in_ep=0x82&out_ep=0x01]`` - vendor and product id in hex (needs pyusb);
* ``serial:///dev/ttyS0[?baudrate=19200&...]`` or ``serial://COM3`` (needs pyserial);
* ``file:///dev/usb/lp0`` - a device node or file, bytes appended;
* ``agent`` - a print agent next to the kiosk prints; ``none`` (or empty) - no printer.

Network printing uses a plain socket rather than ``escpos.printer.Network``:
python-escpos reads status with ``recv(16)`` under the whole connection
timeout (60 s by default) and reads "no answer" as "paper ok", while here a
silent printer must cost at most a second and be reported as "unknown".
USB and serial reuse python-escpos for opening the device (driver detach,
port settings) and read the status reply directly with a short timeout.

Status: before the ticket, ``DLE EOT 4`` (paper roll sensor) is sent on the
same connection and one status byte is awaited briefly. A reply is a byte
with bits 1 and 4 set and bits 0 and 7 clear; bits 5/6 mean paper out,
bits 2/3 paper near its end. Many cheap printers never answer: then the
state is "unknown" and the ticket is printed anyway. When the paper is out,
nothing of the ticket is sent, so it cannot be lost in a printer's buffer.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

STATUS_PAPER_QUERY = b"\x10\x04\x04"  # DLE EOT 4: transmit paper roll sensor status
STATUS_TIMEOUT = 0.8  # seconds to wait for a status reply, taken from the caller's timeout
PAPER_OUT_BITS = 0x60
PAPER_NEAR_END_BITS = 0x0C

DIRECT_SCHEMES = ("network", "usb", "serial", "file")
SCHEMES = (*DIRECT_SCHEMES, "agent", "none")
ERROR_CODES = ("offline", "paper_out", "config", "error")

_OPTIONS: dict[str, tuple[str, ...]] = {
    "network": (),
    "file": (),
    "usb": ("in_ep", "out_ep"),
    "serial": ("baudrate", "bytesize", "parity", "stopbits", "xonxoff", "dsrdtr"),
    "agent": (),
    "none": (),
}


class PrinterError(Exception):
    """A ticket could not be printed; ``code`` says why in a word callers can branch on."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)  # both in args, so the error pickles and compares sanely
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class Target:
    """A parsed target URL."""

    scheme: str
    host: str = ""
    port: int = 9100
    vendor_id: int = 0
    product_id: int = 0
    path: str = ""
    options: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def direct(self) -> bool:
        """True when this process (server or agent) drives the printer itself."""
        return self.scheme in DIRECT_SCHEMES


# -- parsing -------------------------------------------------------------------


def _hex_id(text: str, what: str, url: str) -> int:
    digits = text[2:] if text.lower().startswith("0x") else text
    if not 1 <= len(digits) <= 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError(f"{what} must be 1-4 hex digits in {url!r}, e.g. usb://04b8:0e15")
    value = int(digits, 16)
    if value == 0:
        raise ValueError(f"{what} must not be 0 in {url!r}")
    return value


def _int_option(options: dict[str, str], name: str, url: str, lo: int, hi: int) -> None:
    if name not in options:
        return
    raw = options[name]
    try:
        value = int(raw, 0)
    except ValueError:
        raise ValueError(f"option {name}={raw!r} in {url!r} is not a number") from None
    if not lo <= value <= hi:
        raise ValueError(f"option {name}={raw!r} in {url!r} must be between {lo} and {hi}")


def _check_options(scheme: str, options: dict[str, str], url: str) -> None:
    unknown = sorted(set(options) - set(_OPTIONS[scheme]))
    if unknown:
        allowed = ", ".join(_OPTIONS[scheme]) or "none"
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} in {url!r}; allowed for {scheme}: {allowed}")
    _int_option(options, "in_ep", url, 0, 255)
    _int_option(options, "out_ep", url, 0, 255)
    _int_option(options, "baudrate", url, 50, 4_000_000)
    _int_option(options, "bytesize", url, 5, 8)
    _int_option(options, "stopbits", url, 1, 2)
    if "parity" in options and options["parity"].upper() not in ("N", "E", "O", "M", "S"):
        raise ValueError(f"option parity={options['parity']!r} in {url!r} must be one of N, E, O, M, S")
    for flag in ("xonxoff", "dsrdtr"):
        if flag in options and options[flag].lower() not in ("0", "1", "true", "false", "yes", "no"):
            raise ValueError(f"option {flag}={options[flag]!r} in {url!r} must be true or false")


def parse_target(url: str) -> Target:
    """Parse a target URL; raise ValueError saying what is wrong and what is expected."""
    text = (url or "").strip()
    if text.lower() in ("", "none", "none://"):
        return Target(scheme="none")
    if text.lower() in ("agent", "agent://"):
        return Target(scheme="agent")
    if "://" not in text:
        raise ValueError(f"printer target {url!r} is not a URL; expected one of: {', '.join(SCHEMES)}, "
                         "e.g. network://192.168.1.50:9100")
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # e.g. an unclosed [IPv6 bracket
        raise ValueError(f"malformed printer target {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DIRECT_SCHEMES:
        raise ValueError(
            f"unknown printer scheme {parts.scheme!r} in {url!r}; expected one of: {', '.join(SCHEMES)}")
    if parts.fragment:
        raise ValueError(f"printer target {url!r} must not have a #fragment")
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError(f"malformed query string in {url!r}") from None
    options = dict(pairs)
    if len(options) != len(pairs):
        raise ValueError(f"repeated option in {url!r}")
    _check_options(scheme, options, url)

    if scheme == "network":
        return _parse_network(parts.netloc, parts.path, url, options)
    if scheme == "usb":
        if parts.path not in ("", "/") or ":" not in parts.netloc:
            raise ValueError(f"usb target {url!r} must be usb://VID:PID in hex, e.g. usb://04b8:0e15")
        vid, pid = parts.netloc.split(":", 1)
        return Target(scheme="usb", vendor_id=_hex_id(vid, "vendor id", url),
                      product_id=_hex_id(pid, "product id", url), options=options)
    if scheme == "serial":
        if parts.netloc and parts.path:
            raise ValueError(f"serial target {url!r} must be serial:///dev/ttyXXX or serial://COMn")
        path = unquote(parts.path or parts.netloc)
        if not path:
            raise ValueError(f"serial target {url!r} has no device, e.g. serial:///dev/ttyS0")
        return Target(scheme="serial", path=path, options=options)
    # file
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"file target {url!r} must be file:///absolute/path, e.g. file:///dev/usb/lp0")
    path = unquote(parts.path)
    if not path.startswith("/") or path == "/":
        raise ValueError(f"file target {url!r} needs an absolute path, e.g. file:///dev/usb/lp0")
    return Target(scheme="file", path=path, options=options)


def _parse_network(netloc: str, path: str, url: str, options: dict[str, str]) -> Target:
    if path not in ("", "/"):
        raise ValueError(f"network target {url!r} must be network://host[:port] without a path")
    if "@" in netloc:
        raise ValueError(f"network target {url!r} must not contain a user name")
    host, port_text = netloc, ""
    if netloc.startswith("["):  # [IPv6]:port
        end = netloc.find("]")
        if end < 0:
            raise ValueError(f"unclosed [ in {url!r}")
        host, rest = netloc[1:end], netloc[end + 1:]
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after the address in {url!r}")
        port_text = rest[1:]
    elif ":" in netloc:
        host, port_text = netloc.rsplit(":", 1)
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"network target {url!r} has no valid host, e.g. network://192.168.1.50:9100")
    port = 9100
    if port_text or netloc.endswith(":"):
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"port {port_text!r} in {url!r} must be a number from 1 to 65535")
        port = int(port_text)
    return Target(scheme="network", host=host, port=port, options=options)


def _short(exc: BaseException) -> str:
    """One log line from an exception whose text may span several (python-escpos' do)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _target(target: Target | str) -> Target:
    if isinstance(target, Target):
        return target
    try:
        return parse_target(target)
    except ValueError as exc:
        raise PrinterError("config", str(exc)) from None


# -- status --------------------------------------------------------------------


def is_status_reply(byte: int) -> bool:
    """A real-time status byte has bits 1 and 4 set, bits 0 and 7 clear (ASB blocks do not)."""
    return byte & 0x93 == 0x12


def paper_state(byte: int) -> str:
    """'paper_out', 'paper_low' or 'ok' from a DLE EOT 4 reply."""
    if byte & PAPER_OUT_BITS:
        return "paper_out"
    if byte & PAPER_NEAR_END_BITS:
        return "paper_low"
    return "ok"


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + max(0.0, seconds)

    def left(self, floor: float = 0.05) -> float:
        return max(floor, self.end - time.monotonic())


def _status_wait(deadline: _Deadline) -> float:
    return min(STATUS_TIMEOUT, deadline.left())


# -- network -------------------------------------------------------------------


def _connect(t: Target, deadline: _Deadline) -> socket.socket:
    try:
        sock = socket.create_connection((t.host, t.port), timeout=deadline.left())
    except OSError as exc:
        raise PrinterError("offline", f"cannot connect to {t.host}:{t.port}: {_short(exc)}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _network_status(sock: socket.socket, wait: float) -> str:
    """Ask DLE EOT 4 and wait up to ``wait`` s; skip unsolicited bytes (ASB) that are not a reply."""
    try:
        sock.sendall(STATUS_PAPER_QUERY)
    except OSError as exc:
        raise PrinterError("offline", f"cannot send the status query: {_short(exc)}") from None
    end = time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(64)
        except TimeoutError:
            return "unknown"
        except OSError as exc:
            raise PrinterError("offline", f"connection lost during the status query: {_short(exc)}") from None
        if not chunk:
            return "unknown"  # the printer closed its sending side; the write decides
        replies = [b for b in chunk if is_status_reply(b)]
        if replies:
            return paper_state(replies[-1])
    return "unknown"


def _close(sock: socket.socket) -> None:
    """Half-close first so the printer sees the end of the job, then drop any late reply unread."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(False)
        while sock.recv(4096):
            pass
    sock.close()


def _send_network(t: Target, data: bytes, deadline: _Deadline, check_status: bool) -> str:
    sock = _connect(t, deadline)
    try:
        state = _network_status(sock, _status_wait(deadline)) if check_status else "unknown"
        if state == "paper_out":
            raise PrinterError("paper_out", f"printer {t.host}:{t.port} reports no paper")
        sock.settimeout(deadline.left())
        try:
            sock.sendall(data)
        except OSError as exc:
            raise PrinterError("offline", f"write to {t.host}:{t.port} failed: {_short(exc)}") from None
        return state
    finally:
        _close(sock)


def _probe_network(t: Target, deadline: _Deadline) -> str:
    sock = _connect(t, deadline)
    try:
        return _network_status(sock, _status_wait(deadline))
    finally:
        _close(sock)


# -- file ----------------------------------------------------------------------


def _is_device_path(path: str) -> bool:
    return path.startswith("/dev/")


def _send_file(t: Target, data: bytes) -> str:
    """Append the bytes: a device node takes them as a job, a regular file collects jobs.

    A missing /dev node means the printer is unplugged: it is never created as a plain file.
    """
    flags = os.O_WRONLY | os.O_APPEND | (0 if _is_device_path(t.path) else os.O_CREAT)
    try:
        fd = os.open(t.path, flags, 0o644)
    except OSError as exc:
        raise PrinterError("offline", f"cannot open {t.path}: {exc.strerror}") from None
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError as exc:
        raise PrinterError("offline", f"write to {t.path} failed: {exc.strerror}") from None
    finally:
        os.close(fd)
    return "unknown"


def _probe_file(t: Target) -> str:
    if os.path.isdir(t.path):
        return "offline"
    if os.path.exists(t.path):
        return "unknown" if os.access(t.path, os.W_OK) else "offline"
    if _is_device_path(t.path):
        return "offline"
    parent = os.path.dirname(t.path) or "/"
    return "unknown" if os.access(parent, os.W_OK) else "offline"


# -- usb and serial (through python-escpos; not testable without hardware) -------


def _truthy(text: str) -> bool:
    return text.lower() in ("1", "true", "yes")


def _open_usb(t: Target, deadline: _Deadline) -> Any:
    from escpos.exceptions import DeviceNotFoundError
    from escpos.printer import Usb

    if not Usb.is_usable():
        raise PrinterError("config", "USB printing needs pyusb: install python-escpos[usb]")
    name = f"{t.vendor_id:04x}:{t.product_id:04x}"
    printer = Usb(
        t.vendor_id,
        t.product_id,
        timeout=int(deadline.left() * 1000),  # pyusb timeouts are milliseconds
        in_ep=int(t.options.get("in_ep", "0x82"), 0),
        out_ep=int(t.options.get("out_ep", "0x01"), 0),
    )
    try:
        printer.open()
    except (DeviceNotFoundError, OSError) as exc:
        raise PrinterError("offline", f"USB printer {name}: {_short(exc)}") from None
    except Exception as exc:
        if type(exc).__name__ == "NoBackendError":  # pyusb is there, libusb itself is not
            raise PrinterError("config", f"USB printing needs libusb-1.0 installed: {_short(exc)}") from None
        raise PrinterError("error", f"USB printer {name}: {_short(exc)}") from None
    return printer


def _open_serial(t: Target, deadline: _Deadline) -> Any:
    from escpos.exceptions import DeviceNotFoundError
    from escpos.printer import Serial

    if not Serial.is_usable():
        raise PrinterError("config", "serial printing needs pyserial: install python-escpos[serial]")
    o = t.options
    printer = Serial(
        t.path,
        baudrate=int(o.get("baudrate", "9600"), 0),
        bytesize=int(o.get("bytesize", "8"), 0),
        timeout=_status_wait(deadline),  # read timeout: the status reply wait
        parity=o.get("parity", "N").upper(),
        stopbits=int(o.get("stopbits", "1"), 0),
        xonxoff=_truthy(o.get("xonxoff", "false")),
        dsrdtr=_truthy(o.get("dsrdtr", "true")),
    )
    try:
        printer.open()
    except (DeviceNotFoundError, OSError) as exc:
        raise PrinterError("offline", f"serial printer {t.path}: {_short(exc)}") from None
    printer.device.write_timeout = deadline.left()
    return printer


def _device_status(t: Target, printer: Any, deadline: _Deadline) -> str:
    """DLE EOT 4 over USB/serial; read errors and silence both mean 'unknown'."""
    wait = _status_wait(deadline)
    try:
        printer._raw(STATUS_PAPER_QUERY)
    except Exception as exc:  # pyusb/pyserial raise their own error types
        raise PrinterError("offline", f"cannot send the status query: {_short(exc)}") from None
    try:
        if t.scheme == "usb":
            reply = bytes(printer.device.read(printer.in_ep, 16, int(wait * 1000)))
        else:
            reply = printer.device.read(1)
    except Exception:
        return "unknown"
    replies = [b for b in reply if is_status_reply(b)]
    return paper_state(replies[-1]) if replies else "unknown"


def _with_device(t: Target, deadline: _Deadline, data: bytes | None, check_status: bool) -> str:
    printer = _open_usb(t, deadline) if t.scheme == "usb" else _open_serial(t, deadline)
    try:
        state = _device_status(t, printer, deadline) if check_status else "unknown"
        if data is None:
            return state
        if state == "paper_out":
            raise PrinterError("paper_out", f"{t.scheme} printer reports no paper")
        try:
            printer._raw(data)
            if t.scheme == "serial":
                printer.device.flush()
        except Exception as exc:
            raise PrinterError("offline", f"write to the {t.scheme} printer failed: {_short(exc)}") from None
        return state
    finally:
        with contextlib.suppress(Exception):
            printer.close()


# -- public --------------------------------------------------------------------


def send(target: Target | str, data: bytes, timeout: float = 5.0, check_status: bool = True) -> str:
    """Send ``data`` once; return the paper state seen ('ok', 'paper_low' or 'unknown').

    Raises PrinterError: 'offline' (cannot open or write), 'paper_out' (nothing was sent),
    'config' (agent/none target, bad URL, missing USB/serial library).
    """
    t = _target(target)
    if not t.direct:
        raise PrinterError("config", f"target {t.scheme!r} is not a printer this process can drive")
    deadline = _Deadline(timeout)
    if t.scheme == "network":
        return _send_network(t, data, deadline, check_status)
    if t.scheme == "file":
        return _send_file(t, data)
    return _with_device(t, deadline, data, check_status)


def probe(target: Target | str, timeout: float = 2.0) -> str:
    """'ok', 'paper_low', 'paper_out', 'offline' or 'unknown'; never raises.

    'unknown' for agent/none targets (nothing here to ask) and for a printer that
    does not answer; 'offline' also when the URL is bad or the USB/serial library
    is missing, since nothing can be printed through it.
    """
    try:
        t = _target(target)
        if not t.direct:
            return "unknown"
        deadline = _Deadline(timeout)
        if t.scheme == "network":
            return _probe_network(t, deadline)
        if t.scheme == "file":
            return _probe_file(t)
        return _with_device(t, deadline, None, True)
    except PrinterError:
        return "offline"  # offline, or config: a bad URL or a missing library prints nothing either
    except Exception:
        return "unknown"
