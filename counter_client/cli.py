"""antrian-counter: operate a counter from a shell, a script or a USB button.

Same JSON API as the counter page, authenticated by a bearer token from
``POST /api/v1/auth/token``. The token is cached (0600) in
``~/.cache/antrian-counter/token-<server>-<user>`` and reused until the
server refuses it, so a button press costs one request.

Exit codes: 0 done; 1 the server refused the action (its message is printed,
e.g. "Loket 1 masih melayani tiket A002..."), or the number to call is not
waiting; 2 usage, login, connection or server errors.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests

PROG = "antrian-counter"
TIMEOUT = 10.0
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2

TEXT: dict[str, dict[str, str]] = {
    "id": {
        "opened": "{counter}: dibuka, petugas {officer}",
        "paused": "{counter}: istirahat",
        "closed": "{counter}: ditutup",
        "called": "{counter}: memanggil {number} ({service})",
        "called_priority": "{counter}: memanggil {number} ({service}, prioritas: {priority})",
        "queue_empty": "{counter}: tidak ada yang menunggu",
        "recalled": "{counter}: memanggil ulang {number} (panggilan ulang ke-{recalls})",
        "started": "{counter}: melayani {number} ({service})",
        "finished": "{counter}: {number} selesai",
        "finished_time": "{counter}: {number} selesai (dilayani {duration})",
        "no_show": "{counter}: {number} tidak hadir",
        "transferred": "{counter}: {number} dialihkan ke {service} ({agency})",
        "status": "{counter} ({code}): {state}",
        "status_officer": ", petugas {officer}",
        "status_ticket": "; tiket {number} {status} ({service}, sejak dipanggil {since})",
        "status_waiting": "; {waiting} menunggu",
        "queue_head": "{counter}: {waiting} menunggu",
        "queue_line": "{number:<7} {service}{priority}  menunggu {waited}",
        "not_waiting": "{counter}: nomor {number} tidak ada di antrean loket ini",
        "bad_number": "Nomor tiket tidak valid: {number} (contoh: A012)",
        "unknown_counter": "Loket {counter} tidak ditemukan di antara loket Anda ({known}).",
        "unknown_service": "Layanan {service} tidak ditemukan.",
        "ambiguous_service": "Kode layanan {service} ada di beberapa instansi ({agencies}); "
                             "pilih dengan --agency.",
        "unreachable": "Server {server} tidak dapat dihubungi ({error}).",
        "need_password": "Kata sandi diperlukan: pakai --password, variabel ANTRIAN_PASSWORD, "
                         "atau jalankan di terminal.",
        "bad_answer": "Jawaban server tidak dapat dibaca (HTTP {status}).",
        "missing": "wajib diisi: {names}",
        "prompt": "Kata sandi {user} di {server}: ",
        "open": "buka", "paused_state": "istirahat", "closed_state": "tutup",
        "called_status": "dipanggil", "serving_status": "sedang dilayani",
        "elderly": "lansia", "disabled": "disabilitas", "pregnant": "ibu hamil/bayi",
        "none_officer": "-",
    },
    "en": {
        "opened": "{counter}: open, officer {officer}",
        "paused": "{counter}: on a break",
        "closed": "{counter}: closed",
        "called": "{counter}: calling {number} ({service})",
        "called_priority": "{counter}: calling {number} ({service}, priority: {priority})",
        "queue_empty": "{counter}: nobody is waiting",
        "recalled": "{counter}: calling {number} again (recall {recalls})",
        "started": "{counter}: serving {number} ({service})",
        "finished": "{counter}: {number} finished",
        "finished_time": "{counter}: {number} finished (served in {duration})",
        "no_show": "{counter}: {number} did not come",
        "transferred": "{counter}: {number} transferred to {service} ({agency})",
        "status": "{counter} ({code}): {state}",
        "status_officer": ", officer {officer}",
        "status_ticket": "; ticket {number} {status} ({service}, called {since} ago)",
        "status_waiting": "; {waiting} waiting",
        "queue_head": "{counter}: {waiting} waiting",
        "queue_line": "{number:<7} {service}{priority}  waited {waited}",
        "not_waiting": "{counter}: number {number} is not waiting at this counter",
        "bad_number": "Not a ticket number: {number} (e.g. A012)",
        "unknown_counter": "Counter {counter} is not one of your counters ({known}).",
        "unknown_service": "No service {service}.",
        "ambiguous_service": "Service code {service} exists in several agencies ({agencies}); "
                             "choose with --agency.",
        "unreachable": "Cannot reach the server {server} ({error}).",
        "need_password": "A password is needed: use --password, ANTRIAN_PASSWORD, or run it in a terminal.",
        "bad_answer": "Unreadable answer from the server (HTTP {status}).",
        "missing": "required: {names}",
        "prompt": "Password of {user} on {server}: ",
        "open": "open", "paused_state": "on a break", "closed_state": "closed",
        "called_status": "called", "serving_status": "being served",
        "elderly": "elderly", "disabled": "disability", "pregnant": "pregnant/baby",
        "none_officer": "-",
    },
}


class Failure(Exception):
    """Stop with a message and an exit code (and the server's error body, for --json)."""

    def __init__(self, message: str, code: int = EXIT_USAGE, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.body = body


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def since(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        at = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (dt.datetime.now(dt.UTC) - at).total_seconds()


def normal_number(text: str) -> str | None:
    """"a 12", "A-012" and "A012" are the same ticket number."""
    compact = re.sub(r"[\s\-_.]", "", text or "").upper()
    match = re.fullmatch(r"([A-Z]*)(\d+)", compact)
    return f"{match.group(1)}{int(match.group(2))}" if match else None


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "antrian-counter"


class Client:
    """The API with a cached bearer token; a refused token is replaced once."""

    def __init__(self, server: str, user: str, password: str | None, lang: str) -> None:
        server = server.strip().rstrip("/")
        self.server = server if "://" in server else f"http://{server}"
        self.user = user
        self._password = password
        self.lang = lang
        self.http = requests.Session()
        self.http.headers["User-Agent"] = PROG
        host = urlsplit(self.server).netloc or self.server
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", f"{host}-{user}")
        self.cache_file = cache_dir() / f"token-{safe}"
        self._token: str | None = None

    def t(self, key: str, **values: Any) -> str:
        return TEXT[self.lang][key].format(**values)

    # -- token ---------------------------------------------------------------

    def _cached_token(self) -> str | None:
        try:
            data = json.loads(self.cache_file.read_text())
        except (OSError, ValueError):
            return None
        token = data.get("token") if isinstance(data, dict) else None
        expires = data.get("expires_at") if isinstance(data, dict) else None
        left = since(expires)
        if not isinstance(token, str) or (left is not None and left > -60):
            return None  # missing, or expired (or about to)
        return token

    def _save_token(self, body: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # no cache is slower, not wrong
            self.cache_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.cache_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                os.fchmod(handle.fileno(), 0o600)
                json.dump({"token": body["token"], "expires_at": body.get("expires_at"),
                           "server": self.server, "user": self.user}, handle)

    def _forget_token(self) -> None:
        self._token = None
        with contextlib.suppress(OSError):
            self.cache_file.unlink()

    def _password_now(self) -> str:
        if self._password:
            return self._password
        if sys.stdin is not None and sys.stdin.isatty():
            self._password = getpass.getpass(self.t("prompt", user=self.user, server=self.server))
            return self._password
        raise Failure(self.t("need_password"), EXIT_USAGE)

    def login(self) -> str:
        status, body = self._send("POST", "/auth/token",
                                  {"username": self.user, "password": self._password_now()}, token=None)
        if status != 201 or not isinstance(body, dict) or "token" not in body:
            raise self._error(status, body, EXIT_USAGE)
        self._save_token(body)
        self._token = str(body["token"])
        return self._token

    def token(self) -> tuple[str, bool]:
        """The token and whether it came from the cache (and so may be stale)."""
        if self._token:
            return self._token, False
        cached = self._cached_token()
        if cached:
            self._token = cached
            return cached, True
        return self.login(), False

    # -- requests ------------------------------------------------------------

    def _send(self, method: str, path: str, body: Any, token: str | None) -> tuple[int, Any]:
        url = f"{self.server}/api/v1{path}"
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            res = self.http.request(method, url, params={"lang": self.lang}, json=body,
                                    headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise Failure(self.t("unreachable", server=self.server, error=type(exc).__name__),
                          EXIT_USAGE) from None
        try:
            data = res.json()
        except ValueError:
            data = None
        if data is None and res.status_code != 204:
            raise Failure(self.t("bad_answer", status=res.status_code), EXIT_USAGE)
        return res.status_code, data

    def _error(self, status: int, body: Any, code: int | None = None) -> Failure:
        error = body.get("error") if isinstance(body, dict) else None
        message = (error or {}).get("message") or self.t("bad_answer", status=status)
        if code is None:
            code = EXIT_USAGE if status >= 500 or status == 401 else EXIT_REFUSED
        return Failure(str(message), code, body)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        token, cached = self.token()
        status, data = self._send(method, path, body if method != "GET" else None, token)
        if status == 401 and cached:
            self._forget_token()  # expired or revoked: log in again, once
            status, data = self._send(method, path, body if method != "GET" else None, self.login())
        if status >= 400:
            raise self._error(status, data)
        return data


# -- commands -------------------------------------------------------------------


def resolve_counter(client: Client, wanted: str) -> int:
    """A counter id, from an id, a code (DUK-1) or a name (Loket 1)."""
    if wanted.isdigit():
        return int(wanted)
    counters = client.call("GET", "/counters").get("counters", [])
    folded = wanted.strip().casefold()
    for key in ("code", "name"):
        for counter in counters:
            if str(counter.get(key, "")).casefold() == folded:
                return int(counter["id"])
    known = ", ".join(str(c.get("code")) for c in counters) or "-"
    raise Failure(client.t("unknown_counter", counter=wanted, known=known), EXIT_USAGE)


def resolve_service(client: Client, code: str, agency: str | None) -> int:
    if code.isdigit():
        return int(code)
    agencies = client.call("GET", "/agencies").get("agencies", [])
    found = [(a, s) for a in agencies for s in a.get("services", [])
             if str(s.get("code", "")).casefold() == code.casefold()
             and (agency is None or str(a.get("code", "")).casefold() == agency.casefold())]
    if not found:
        raise Failure(client.t("unknown_service", service=code), EXIT_USAGE)
    if len(found) > 1:
        names = ", ".join(str(a.get("code")) for a, _s in found)
        raise Failure(client.t("ambiguous_service", service=code, agencies=names), EXIT_USAGE)
    return int(found[0][1]["id"])


def _priority(client: Client, ticket: dict[str, Any]) -> str | None:
    priority = ticket.get("priority") or "none"
    return TEXT[client.lang].get(priority) if priority != "none" else None


def _service(ticket: dict[str, Any]) -> str:
    return str((ticket.get("service") or {}).get("name") or "")


def describe(client: Client, command: str, body: dict[str, Any]) -> str:
    """The one line printed for a successful action."""
    counter = body.get("name") or body.get("code") or ""
    ticket = body.get("ticket") or {}
    number = ticket.get("number") or ""
    if command == "open":
        return client.t("opened", counter=counter, officer=(body.get("officer") or {}).get("name", "-"))
    if command == "pause":
        return client.t("paused", counter=counter)
    if command == "close":
        return client.t("closed", counter=counter)
    if command in ("call-next", "call"):
        if not ticket:
            return client.t("queue_empty", counter=counter)
        priority = _priority(client, ticket)
        key = "called_priority" if priority else "called"
        return client.t(key, counter=counter, number=number, service=_service(ticket), priority=priority)
    if command == "recall":
        return client.t("recalled", counter=counter, number=number, recalls=ticket.get("recall_count", 0))
    if command == "start":
        return client.t("started", counter=counter, number=number, service=_service(ticket))
    if command == "finish":
        seconds = ticket.get("service_seconds")
        if seconds is not None:
            return client.t("finished_time", counter=counter, number=number, duration=duration(seconds))
        return client.t("finished", counter=counter, number=number)
    if command == "no-show":
        return client.t("no_show", counter=counter, number=number)
    if command == "transfer":
        agency = (ticket.get("agency") or {}).get("code", "")
        return client.t("transferred", counter=counter, number=number, service=_service(ticket),
                        agency=agency)
    return counter


def describe_status(client: Client, counter: dict[str, Any], waiting: int) -> str:
    states = {"open": "open", "paused": "paused_state", "closed": "closed_state"}
    line = client.t("status", counter=counter.get("name", ""), code=counter.get("code", ""),
                    state=client.t(states.get(str(counter.get("state")), "closed_state")))
    officer = counter.get("officer")
    if officer and counter.get("state") != "closed":
        line += client.t("status_officer", officer=officer.get("name", ""))
    ticket = counter.get("current_ticket")
    if ticket:
        status = client.t("serving_status" if ticket.get("status") == "serving" else "called_status")
        line += client.t("status_ticket", number=ticket.get("number"), status=status,
                         service=_service(ticket), since=duration(since(ticket.get("called_at"))))
    return line + client.t("status_waiting", waiting=waiting)


def describe_queue(client: Client, counter: dict[str, Any], queue: dict[str, Any]) -> list[str]:
    tickets = queue.get("tickets", [])
    waiting = queue.get("count", len(tickets))
    lines = [client.t("queue_head", counter=counter.get("name", ""), waiting=waiting)]
    for ticket in tickets:
        priority = _priority(client, ticket)
        lines.append(client.t("queue_line", number=ticket.get("number", ""), service=_service(ticket),
                              priority=f"  [{priority}]" if priority else "",
                              waited=duration(since(ticket.get("queued_at") or ticket.get("arrived_at")))))
    return lines


def run(client: Client, args: argparse.Namespace) -> tuple[Any, list[str]]:
    """Do the command; returns (JSON for --json, lines for people)."""
    counter_id = resolve_counter(client, args.counter)
    base = f"/counters/{counter_id}"
    command = args.command
    if command == "status":
        counter = client.call("GET", base)
        queue = client.call("GET", f"{base}/queue")
        counter["waiting"] = queue.get("count", len(queue.get("tickets", [])))
        return counter, [describe_status(client, counter, counter["waiting"])]
    if command == "queue":
        counter = client.call("GET", base)
        queue = client.call("GET", f"{base}/queue")
        return queue, describe_queue(client, counter, queue)
    body: dict[str, Any] = {}
    if command == "call":
        wanted = normal_number(args.number)
        if wanted is None:
            raise Failure(client.t("bad_number", number=args.number), EXIT_USAGE)
        queue = client.call("GET", f"{base}/queue")
        match = next((tk for tk in queue.get("tickets", []) if normal_number(tk.get("number", "")) == wanted),
                     None)
        if match is None:
            counter = client.call("GET", base)
            message = client.t("not_waiting", counter=counter.get("name", ""), number=args.number.upper())
            raise Failure(message, EXIT_REFUSED)
        body = {"ticket_id": int(match["id"])}
    elif command == "finish" and args.note:
        body = {"note": args.note}
    elif command == "transfer":
        body = {"service_id": resolve_service(client, args.service, args.agency)}
        if args.note:
            body["note"] = args.note
    # Every action answers with the ticket it touched (a transfer: the new leg, same number).
    answer = client.call("POST", f"{base}/{command}", body)
    return answer, [describe(client, command, answer)]


# -- arguments -------------------------------------------------------------------


COMMANDS = {
    "open": "open the counter (staff it)",
    "call-next": "call the next ticket",
    "recall": "announce the current ticket again",
    "start": "start serving the called ticket",
    "finish": "finish the current ticket",
    "no-show": "mark the called ticket as absent",
    "transfer": "send the current ticket to another service",
    "call": "call a specific waiting ticket by its number",
    "pause": "take a break",
    "close": "close the counter",
    "status": "show the counter's state",
    "queue": "list the tickets waiting for this counter",
}


def _globals(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The shared options, accepted before or after the command."""
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    env = os.environ.get
    parser.add_argument("--server", default=default(env("ANTRIAN_SERVER")),
                        help="the Antrian server, e.g. http://192.168.1.10:5000 ($ANTRIAN_SERVER)")
    parser.add_argument("--user", default=default(env("ANTRIAN_USER")), help="username ($ANTRIAN_USER)")
    parser.add_argument("--password", default=default(None),
                        help="password (better: $ANTRIAN_PASSWORD, or typed at the prompt)")
    parser.add_argument("--counter", default=default(env("ANTRIAN_COUNTER")),
                        help="counter code (DUK-1), name or id ($ANTRIAN_COUNTER)")
    parser.add_argument("--lang", choices=("id", "en"), default=default(env("ANTRIAN_LANG") or "id"),
                        help="language of the messages (default id)")
    parser.add_argument("--json", action="store_true", default=default(False),
                        help="print the server's JSON answer instead of a sentence")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Operate an Antrian counter from a shell, a script or a USB button.",
        epilog="Exit codes: 0 done, 1 refused by the server, 2 usage, login or connection error.")
    _globals(parser, suppress=False)
    shared = argparse.ArgumentParser(add_help=False)
    _globals(shared, suppress=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    subs = {name: commands.add_parser(name, help=help_, parents=[shared]) for name, help_ in COMMANDS.items()}
    subs["finish"].add_argument("--note", help="note stored on the ticket (required by some services)")
    subs["transfer"].add_argument("service", help="target service code (e.g. PKB) or id")
    subs["transfer"].add_argument("--agency", help="agency code, when the service code is not unique")
    subs["transfer"].add_argument("--note", help="note for the next counter")
    subs["call"].add_argument("number", help="ticket number, e.g. A012")
    return parser


def _fail(failure: Failure, as_json: bool) -> NoReturn:
    if as_json:
        body = failure.body if isinstance(failure.body, dict) and "error" in failure.body else {
            "error": {"code": "client_error", "message": failure.message}}
        print(json.dumps(body, ensure_ascii=False))
    print(f"{PROG}: {failure.message}", file=sys.stderr)
    sys.exit(failure.code)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    missing = [f"--{name}" for name in ("server", "user", "counter") if not getattr(args, name)]
    if missing:
        parser.error(TEXT[args.lang]["missing"].format(names=", ".join(missing)))
    password = args.password or os.environ.get("ANTRIAN_PASSWORD") or None
    client = Client(args.server, args.user, password, args.lang)
    try:
        result, lines = run(client, args)
    except Failure as failure:
        _fail(failure, args.json)
    except KeyboardInterrupt:
        sys.exit(130)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=None))
    else:
        for line in lines:
            print(line)
    sys.exit(EXIT_OK)


if __name__ == "__main__":
    main()
