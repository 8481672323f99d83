"""The Socket.IO message queue between server processes (Redis), watched.

python-socketio's own ``RedisManager`` delivers an emit to this process's
clients first and then publishes it for the other processes. When Redis is
down it logs two errors per emit (a flood: every call emits several events),
drops the event for the other processes without telling anyone, and its
listener backs off up to a minute. :class:`WatchedRedisManager` keeps the
local delivery and changes the rest:

* publishing never waits long: short socket timeouts, no hidden retries, and
  while the link is known to be down nothing is attempted at all, so issuing
  and calling go on at full speed (events reach this process's clients only);
* the outage is logged once when it starts and once when it ends, and
  :func:`link_state` lets ``/api/v1/health`` report it;
* the listener retries every few seconds, and when Redis is back every
  connected client, on every process, is sent a ``resync`` event: it asks for
  a fresh snapshot, so whatever it missed meanwhile is on screen again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import socketio

DEFAULT_CHANNEL = "flask-socketio"  # Flask-SocketIO's own default: old and new processes agree
CONNECT_TIMEOUT = 1.0  # seconds to open a connection to Redis
PUBLISH_TIMEOUT = 2.0  # seconds a publish may wait for Redis's answer
POLL_SECONDS = 1.0  # the listener looks at the link state at least this often
RETRY_MIN, RETRY_MAX = 0.5, 2.0  # listener reconnect back-off, seconds
HEALTH_CHECK_SECONDS = 10  # redis-py pings an idle subscription this often
RESYNC_EVENT = "resync"


@dataclass(frozen=True)
class LinkState:
    """What /health reports: is Redis carrying events between processes?"""

    ok: bool
    since: dt.datetime | None = None  # when the outage began
    error: str = ""  # the exception that showed it, e.g. "ConnectionError: ... refused"
    events_not_shared: int = 0  # emits other processes did not get during the outage


def safe_url(url: str) -> str:
    """The URL without its password, for logs and health output."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class WatchedRedisManager(socketio.RedisManager):
    """A RedisManager that never slows an emit down, reports outages, and resyncs clients."""

    name = "redis"

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL,
                 logger: logging.Logger | None = None) -> None:
        super().__init__(url, channel=channel, logger=logger)
        self._lock = threading.Lock()
        self._state = LinkState(ok=True)
        self._publisher: Any = None
        self._listening = False
        self._last_try = 0.0

    # -- state --------------------------------------------------------------

    @property
    def state(self) -> LinkState:
        with self._lock:
            return self._state

    def _went_down(self, where: str, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"[:300]
        with self._lock:
            was_ok = self._state.ok
            if was_ok:
                self._state = LinkState(ok=False, since=dt.datetime.now(dt.UTC), error=error)
        if was_ok:
            self._get_logger().error(
                "Redis message queue %s (channel %r) is unreachable (%s failed: %s). Issuing and "
                "calling go on, but events now reach only the clients of this process; clients "
                "are told to resync when Redis is back. /api/v1/health answers 503 meanwhile.",
                safe_url(self.redis_url), self.channel, where, error)

    def _came_back(self) -> None:
        with self._lock:
            old, self._state = self._state, LinkState(ok=True)
        if old.ok:
            return
        seconds = (dt.datetime.now(dt.UTC) - old.since).total_seconds() if old.since else 0.0
        self._get_logger().warning(
            "Redis message queue %s is reachable again after %.0f s (%d event(s) were not shared "
            "between processes); asking every client to resync.",
            safe_url(self.redis_url), seconds, old.events_not_shared)
        # Through the queue: the clients of every process, this one included.
        self.emit(RESYNC_EVENT, {"reason": "message_queue"}, namespace="/")

    def _count_dropped(self) -> None:
        with self._lock:
            s = self._state
            self._state = LinkState(s.ok, s.since, s.error, s.events_not_shared + 1)

    # -- Redis clients ------------------------------------------------------------

    def _client(self, read_timeout: float | None, **options: Any) -> Any:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        module = self._get_redis_module()
        return module.Redis.from_url(
            self.redis_url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=read_timeout,
            socket_keepalive=True, retry=Retry(NoBackoff(), 0), **{**self.redis_options, **options})

    def _publishing_client(self) -> Any:
        if self._publisher is None:
            self._publisher = self._client(read_timeout=PUBLISH_TIMEOUT)
        return self._publisher

    def _publish(self, data: Any) -> Any:
        """Publish for the other processes; give up at once while the link is down."""
        # While down, the listener notices when Redis is back; until it runs (no
        # client has connected to this process yet) try again at most once per RETRY_MAX.
        if not self.state.ok and (self._listening or time.monotonic() - self._last_try < RETRY_MAX):
            self._count_dropped()
            return None
        self._last_try = time.monotonic()
        try:
            result = self._publishing_client().publish(self.channel, self.json.dumps(data))
        except Exception as exc:  # noqa: BLE001 - any failure means "not shared"
            self._went_down("publishing", exc)
            self._count_dropped()
            return None
        if not self.state.ok and not self._listening:
            self._came_back()
        return result

    def _redis_listen_with_retries(self):  # type: ignore[no-untyped-def]
        """Yield messages forever; reconnect quickly, and report the link's state."""
        self._listening = True
        delay = RETRY_MIN
        pubsub = None
        while True:
            try:
                if pubsub is None:
                    pubsub = self._client(read_timeout=None, health_check_interval=HEALTH_CHECK_SECONDS
                                          ).pubsub(ignore_subscribe_messages=True)
                    pubsub.subscribe(self.channel)
                    self._publishing_client().ping()  # both directions work before "back"
                    delay = RETRY_MIN
                    self._came_back()
                message = pubsub.get_message(timeout=POLL_SECONDS)
                if message is not None:
                    yield message
                elif not self.state.ok:
                    # A publish failed while this subscription looks fine: check by
                    # subscribing afresh (it fails the same way if Redis is down).
                    raise ConnectionError("publishing failed; checking the subscription")
            except Exception as exc:  # noqa: BLE001 - keep listening whatever happened
                self._went_down("listening", exc)
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # the connection is gone anyway
                        pubsub.close()
                    pubsub = None
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)


def create_manager(url: str | None, channel: str, logger: logging.Logger) -> Any:
    """The client manager for ``socketio.init_app``: None (in-process) without a queue URL."""
    if not url:
        return None
    if url.startswith(("redis://", "rediss://", "unix://")):
        return WatchedRedisManager(url, channel=channel, logger=logger)
    # Other brokers as Flask-SocketIO would pick them (unwatched).
    if url.startswith("kafka://"):
        return socketio.KafkaManager(url, channel=channel)
    if url.startswith("zmq"):
        return socketio.ZmqManager(url, channel=channel)
    return socketio.KombuManager(url, channel=channel)


def link_state(sio: Any) -> LinkState | None:
    """The watched link of this process's Socket.IO server, if it has one."""
    manager = getattr(getattr(sio, "server", None), "manager", None)
    return manager.state if isinstance(manager, WatchedRedisManager) else None
