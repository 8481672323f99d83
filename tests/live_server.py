"""Run the real server (``antrian serve``) in a child process for end-to-end tests.

Not a test module: tests import :class:`LiveServer` and the fixtures at the
bottom (``from live_server import live_server  # noqa: F401``).

Each server gets a free port on 127.0.0.1 and a directory of its own holding
the SQLite database (unless DATABASE_URL is overridden, e.g. for PostgreSQL)
and ``server.log`` (init and serve output, kept across restarts). The server
runs in its own process group so :meth:`LiveServer.stop` can always take it
down, child processes included.

Environment given to the server: the test process's environment without
DATABASE_URL, SOCKETIO_MESSAGE_QUEUE, ANTRIAN_SOCKETIO_CHANNEL, ANTRIAN_ENV,
HOST and PORT (so a CI setting meant for the in-process tests cannot leak
in), then ANTRIAN_ASYNC_MODE (the caller's setting, else ``eventlet``), a
Redis channel of this test run's own (ANTRIAN_SOCKETIO_CHANNEL), then the
``env`` overrides of the caller (DATABASE_URL, SOCKETIO_MESSAGE_QUEUE, ...).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

HERE = Path(__file__).parent
SMALL_CONFIG = HERE / "small_config.toml"
BIN = Path(sys.executable).parent  # the venv's bin/, not the resolved interpreter
ANTRIAN = BIN / "antrian"
SECRET_KEY = "live-test-secret-key"
START_TIMEOUT = 20.0
INIT_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
LOG_TAIL = 6000  # characters of the log shown in a failure message
NOT_INHERITED = ("DATABASE_URL", "SOCKETIO_MESSAGE_QUEUE", "ANTRIAN_SOCKETIO_CHANNEL", "ANTRIAN_ENV",
                 "HOST", "PORT")
# Servers of this test run talk on their own Redis channel: two runs sharing one Redis
# (CI and a developer) must never get each other's events.
CHANNEL = f"antrian-test-{os.getpid()}"


_templates: dict[str, Path] = {}  # config digest -> SQLite file made by `antrian init`


def _template_dir() -> Path:
    if "dir" not in _templates:
        path = Path(tempfile.mkdtemp(prefix="antrian-live-init-"))
        atexit.register(shutil.rmtree, path, True)
        _templates["dir"] = path
    return _templates["dir"]


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServerError(RuntimeError):
    pass


class LiveServer:
    """One ``antrian serve`` process on a fixed port and database.

    ``init`` runs ``antrian init --config <config>`` once before the first
    start; give ``init=False`` for a second process sharing a database that
    another LiveServer already initialised. On SQLite, ``antrian init`` runs
    once per configuration (content) and test run: later servers get a copy of
    that freshly initialised file, which saves a few seconds per server.
    """

    def __init__(
        self,
        directory: Path,
        config: Path = SMALL_CONFIG,
        env: Mapping[str, str] | None = None,
        init: bool = True,
        port: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config = Path(config)
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.log_path = self.directory / "server.log"
        self._needs_init = init
        self._process: subprocess.Popen[bytes] | None = None
        self.env = self._environment(env or {})

    # -- set-up -----------------------------------------------------------

    def _environment(self, overrides: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env["ANTRIAN_ASYNC_MODE"] = os.environ.get("ANTRIAN_ASYNC_MODE") or "eventlet"
        env["ANTRIAN_SECRET_KEY"] = SECRET_KEY
        env["DATABASE_URL"] = f"sqlite:///{self.directory / 'antrian.db'}"
        env["PYTHONUNBUFFERED"] = "1"
        env["ANTRIAN_SOCKETIO_CHANNEL"] = CHANNEL
        env.update(overrides)
        return env

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        """The tail of the server log (init and every start so far)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log written)"
        return text[-LOG_TAIL:]

    def log_text(self) -> str:
        """The whole server log (init and every start so far)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _fail(self, what: str) -> LiveServerError:
        return LiveServerError(f"{what}\n--- {self.log_path} (tail) ---\n{self.log()}")

    def _sqlite_file(self) -> Path | None:
        url = self.database_url
        return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None

    def init_database(self) -> None:
        db_file = self._sqlite_file()
        key = hashlib.sha256(self.config.read_bytes()).hexdigest()
        template = _templates.get(key)
        if db_file is not None and template is not None and not db_file.exists():
            shutil.copyfile(template, db_file)
            with self.log_path.open("a") as log:
                log.write(f"\n=== database copied from a fresh `antrian init --config {self.config}`\n")
            self._needs_init = False
            return
        self._run_init()
        if db_file is not None and key not in _templates:
            copy = _template_dir() / f"{key}.db"
            # The backup API gives one consistent file, WAL contents included.
            with contextlib.closing(sqlite3.connect(db_file)) as src, \
                    contextlib.closing(sqlite3.connect(copy)) as dst:
                src.backup(dst)
            _templates[key] = copy

    def _run_init(self) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"\n=== antrian init --config {self.config}\n".encode())
            log.flush()
            try:
                result = subprocess.run(
                    [str(ANTRIAN), "init", "--config", str(self.config)],
                    env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    timeout=INIT_TIMEOUT, check=False, start_new_session=True,
                )
            except subprocess.TimeoutExpired:
                raise self._fail(f"antrian init did not finish within {INIT_TIMEOUT:.0f} s") from None
        if result.returncode != 0:
            raise self._fail(f"antrian init failed with exit code {result.returncode}")
        self._needs_init = False

    # -- life cycle -------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    name = "antrian serve"  # in the log, before each start

    def command(self) -> list[str]:
        return [str(ANTRIAN), "serve", "--host", self.host, "--port", str(self.port)]

    def start(self, timeout: float = START_TIMEOUT) -> LiveServer:
        if self.running:
            raise LiveServerError("the server is already running")
        if not ANTRIAN.exists():
            raise LiveServerError(f"{ANTRIAN} not found; install the project into the venv")
        if self._needs_init:
            self.init_database()
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {self.name} on {self.base_url}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                self.command(),
                env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # own process group: stop() kills it whole
            )
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise self._fail(f"antrian serve exited with code {code} before it was healthy")
            try:
                res = requests.get(self.url("/api/v1/health"), timeout=1)
                if res.status_code == 200:
                    return
                last = f"HTTP {res.status_code}: {res.text[:300]}"
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}"
            time.sleep(0.1)
        raise self._fail(f"GET /api/v1/health did not answer 200 within {timeout:.0f} s ({last})")

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left."""
        process, self._process = self._process, None
        if process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=STOP_TIMEOUT)
                break
            except subprocess.TimeoutExpired:
                continue
        # Anything else left in the group (the leader may have died first).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def kill(self) -> None:
        """Crash-stop: SIGKILL at once, no chance to clean up."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)

    def restart(self, hard: bool = True, timeout: float = START_TIMEOUT) -> LiveServer:
        """Kill the server (SIGKILL when ``hard``) and start it again on the same port and DB."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start(timeout)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


# -- pytest fixtures (import them into the test module) -----------------------


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A started server on a fresh SQLite database with the small test site (eventlet)."""
    server = LiveServer(tmp_path / "live")
    try:
        server.start()
        yield server
    finally:
        server.stop()


GUNICORN_COMMAND = [str(BIN / "gunicorn"), "-c", "python:queue_server.gunicorn_conf", "queue_server.wsgi:app"]


class GunicornServer(LiveServer):
    """A LiveServer running the production command instead of ``antrian serve``.

    ``mode=None`` leaves ANTRIAN_ASYNC_MODE unset, as in production, so the
    gunicorn configuration picks its default.
    """

    def __init__(self, directory: Path, workers: int = 1, mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(directory, **kwargs)
        self.env.update(HOST=self.host, PORT=str(self.port), ANTRIAN_WORKERS=str(workers),
                        ANTRIAN_GRACEFUL_TIMEOUT="1")  # stop() allows 5 s before SIGKILL
        if mode is None:
            self.env.pop("ANTRIAN_ASYNC_MODE", None)
        else:
            self.env["ANTRIAN_ASYNC_MODE"] = mode

    name = "gunicorn"

    def command(self) -> list[str]:
        return GUNICORN_COMMAND

    def workers(self) -> list[int]:
        """Process ids of the master's children (the workers)."""
        assert self._process is not None
        master = self._process.pid
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    children.append(int(entry))
        return children


def server_factory(tmp_path: Path, kind: type[LiveServer] = LiveServer,
                   default_name: str = "live") -> Iterator[Callable[..., Any]]:
    """A fixture body: ``make(name, **kwargs)`` starts a ``kind`` server in its own
    directory; every server started through it is stopped at teardown, failed test or not."""
    servers: list[LiveServer] = []

    def make(name: str = default_name, **kwargs: Any) -> LiveServer:
        server = kind(tmp_path / name, **kwargs)
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture
def live_server_factory(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers with other settings: ``make(name, config=..., env=..., init=...)``."""
    yield from server_factory(tmp_path)
