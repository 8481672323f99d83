"""A fake raw-TCP ("port 9100") thermal printer for tests (not a test module).

It listens on 127.0.0.1, answers DLE EOT status queries the way real
printers do, and records what each connection sent. Stopping it closes the
listener, so connecting is refused just as with a printer switched off;
starting it again reuses the same port.

Status queries are recognised at the start of a connection, before the job's
first byte, which is where clients send them. (A real printer also reacts to
the byte sequence DLE EOT n inside image data; this fake does not, so that a
recorded job is byte for byte what was sent.)
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType

DLE_EOT = b"\x10\x04"
STATUS_BASE = 0x12  # bits 1 and 4 are always set in a real-time status byte
PAPER_BITS = {"ok": 0x00, "near_end": 0x0C, "out": 0x60}


class FakePrinter:
    """A thermal printer on 127.0.0.1 speaking raw TCP like port 9100."""

    def __init__(self, port: int = 0, paper: str = "ok", answers_status: bool = True) -> None:
        if paper not in PAPER_BITS:
            raise ValueError(f"paper must be one of {sorted(PAPER_BITS)}")
        self.port = port
        self.paper = paper
        self.answers_status = answers_status
        self.jobs: list[bytes] = []
        self.received: list[bytes] = []
        self._changed = threading.Condition()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- lifecycle ------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"network://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(self) -> FakePrinter:
        """Listen (again) on ``self.port``; the first start picks a free port when it is 0."""
        if self._listener is not None:
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        listener.settimeout(0.2)  # lets the accept loop notice stop() even if shutdown() does not wake it
        self.port = listener.getsockname()[1]
        self._stopping.clear()
        self._listener = listener
        self._accept_thread = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True,
                                               name=f"fake-printer-{self.port}")
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Close the listener and every connection: from now on connecting is refused."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        with self._changed:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        threads = [self._accept_thread, *self._threads] if self._accept_thread else list(self._threads)
        for thread in threads:
            thread.join(timeout=5)
        self._threads = []
        self._accept_thread = None

    def __enter__(self) -> FakePrinter:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- waiting --------------------------------------------------------------
    def wait_for_jobs(self, n: int, timeout: float = 10.0) -> list[bytes]:
        """Block until at least ``n`` jobs are complete; AssertionError (with what there is) if not."""
        self._wait(lambda: len(self.jobs) >= n, timeout, f"{n} job(s)")
        return list(self.jobs)

    def wait_for_connections(self, n: int, timeout: float = 10.0) -> list[bytes]:
        """Block until ``n`` connections have ended (jobs or status-only); returns ``received``.

        Lets a test assert that nothing was printed only after the printer saw the client go.
        """
        self._wait(lambda: len(self.received) >= n, timeout, f"{n} finished connection(s)")
        return list(self.received)

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        with self._changed:
            if not self._changed.wait_for(done, timeout):
                raise AssertionError(f"fake printer: waited {timeout}s for {what}; "
                                     f"jobs={self.jobs!r} received={self.received!r}")

    # -- serving --------------------------------------------------------------
    def status_byte(self, n: int) -> int:
        """What DLE EOT n answers now."""
        out = self.paper == "out"
        if n == 1:  # printer status: bit 3 = offline (a printer without paper stops)
            return STATUS_BASE | (0x08 if out else 0)
        if n == 2:  # offline cause: bit 5 = stopped by paper end
            return STATUS_BASE | (0x20 if out else 0)
        if n == 4:  # paper roll sensor
            return STATUS_BASE | PAPER_BITS[self.paper]
        return STATUS_BASE  # n == 3, error cause: none

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._changed:
                self._connections.add(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        raw = bytearray()
        job = bytearray()
        pending = bytearray()  # bytes that may still turn out to be a status query
        in_job = False
        client_closed = False
        try:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    break
                if not chunk:
                    client_closed = not self._stopping.is_set()  # stop() also ends recv() this way
                    break
                raw += chunk
                if in_job:
                    job += chunk
                    continue
                pending += chunk
                while pending and not in_job:
                    if len(pending) < 3 and DLE_EOT.startswith(bytes(pending[:2])):
                        break  # an incomplete query: wait for its last byte(s)
                    if pending[:2] == DLE_EOT and pending[2] in (1, 2, 3, 4):
                        if self.answers_status:
                            with contextlib.suppress(OSError):
                                conn.sendall(bytes([self.status_byte(pending[2])]))
                        del pending[:3]
                    else:
                        in_job = True
                        job += pending
                        pending.clear()
        finally:
            job += pending  # a half-received query at the end is data like any other
            with contextlib.suppress(OSError):
                conn.close()
            with self._changed:
                self._connections.discard(conn)
                self.received.append(bytes(raw))
                if client_closed and job:
                    self.jobs.append(bytes(job))
                self._changed.notify_all()

