"""antrian-counter, the command-line counter client, run as a real executable.

Each test starts ``antrian serve`` (eventlet, fresh SQLite, the small site)
and runs the installed ``antrian-counter`` script next to the test's Python
as a subprocess, with HOME pointing at a temporary directory so the token
cache is the test's own.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from live_server import LiveServer, live_server  # noqa: F401

CLI = Path(sys.executable).parent / "antrian-counter"
KIOSK_KEY = "test-kiosk-key-0001"
PASSWORD = "petugas-demo"
KTP = 1


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def run(server: LiveServer, home: Path, *args: str, user: str = "dukcapil1", counter: str = "DUK-1",
        password: str | None = PASSWORD, extra: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """``antrian-counter --server ... --user ... --counter ... <args>``; the password through the env."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ANTRIAN_") and k != "XDG_CACHE_HOME"}
    env["HOME"] = str(home)
    if password is not None:
        env["ANTRIAN_PASSWORD"] = password
    command = [str(CLI), "--server", server.base_url, "--user", user, "--counter", counter,
               *(extra or []), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout.strip()


def issue(server: LiveServer, service_id: int = KTP, **fields: Any) -> dict[str, Any]:
    res = requests.post(server.url("/api/v1/tickets"), json={"service_id": service_id, **fields},
                        headers={"Authorization": f"Bearer {KIOSK_KEY}"}, timeout=10)
    assert res.status_code == 201, res.text
    return dict(res.json())


def token_file(home: Path, server: LiveServer, user: str = "dukcapil1") -> Path:
    return home / ".cache" / "antrian-counter" / f"token-127.0.0.1_{server.port}-{user}"


def test_open_call_recall_start_finish_status_and_queue(live_server, home) -> None:  # noqa: F811
    first = issue(live_server)
    issue(live_server, priority="none")

    assert run(live_server, home, "--help").returncode == 0
    assert ok(run(live_server, home, "open")) == "Loket 1: dibuka, petugas dukcapil1"
    assert ok(run(live_server, home, "call-next")) == "Loket 1: memanggil A001 (Perekaman KTP-el)"
    # The call is real: the visitor's status shows the counter.
    status = requests.get(live_server.url(f"/api/v1/tickets/{first['token']}"), timeout=10).json()
    assert (status["status"], status["counter"]["name"]) == ("called", "Loket 1")

    assert ok(run(live_server, home, "recall")) == "Loket 1: memanggil ulang A001 (panggilan ulang ke-1)"
    line = ok(run(live_server, home, "status"))
    assert line.startswith("Loket 1 (DUK-1): buka, petugas dukcapil1; tiket A001 dipanggil (Perekaman KTP-el")
    assert line.endswith("; 1 menunggu")
    lines = ok(run(live_server, home, "queue")).splitlines()
    assert lines[0] == "Loket 1: 1 menunggu"
    assert lines[1].startswith("A002") and "Perekaman KTP-el" in lines[1] and "menunggu 00:" in lines[1]

    assert ok(run(live_server, home, "start")) == "Loket 1: melayani A001 (Perekaman KTP-el)"
    assert ok(run(live_server, home, "finish", "--note", "KTP-el direkam")).startswith(
        "Loket 1: A001 selesai (dilayani 00:")
    status = requests.get(live_server.url(f"/api/v1/tickets/{first['token']}"), timeout=10).json()
    assert status["status"] == "done"

    # A code, a name or an id designate the same counter.
    assert ok(run(live_server, home, "status", counter="1")).startswith("Loket 1 (DUK-1): buka")
    assert ok(run(live_server, home, "status", counter="loket 1")).startswith("Loket 1 (DUK-1): buka")
    assert ok(run(live_server, home, "pause")) == "Loket 1: istirahat"
    assert ok(run(live_server, home, "close")) == "Loket 1: ditutup"
    assert ok(run(live_server, home, "status")) == "Loket 1 (DUK-1): tutup; 1 menunggu"


def test_json_output_parses_before_or_after_the_command(live_server, home) -> None:  # noqa: F811
    issue(live_server, priority="elderly")
    opened = json.loads(ok(run(live_server, home, "open", "--json")))
    assert (opened["code"], opened["state"], opened["officer"]["name"]) == ("DUK-1", "open", "dukcapil1")
    called = json.loads(ok(run(live_server, home, "call-next", extra=["--json"])))
    assert called["ticket"]["number"] == "A001"
    assert called["ticket"]["priority"] == "elderly"
    assert called["queue_empty"] is False
    status = json.loads(ok(run(live_server, home, "status", "--json")))
    assert status["current_ticket"]["number"] == "A001" and status["waiting"] == 0
    queue = json.loads(ok(run(live_server, home, "queue", "--json")))
    assert queue == {"count": 0, "counter_id": 1, "tickets": []}
    # Nobody else waiting: call-next after finishing says so, and exits 0.
    ok(run(live_server, home, "finish"))
    empty = json.loads(ok(run(live_server, home, "call-next", "--json")))
    assert empty["queue_empty"] is True and empty["ticket"] is None
    assert ok(run(live_server, home, "call-next")) == "Loket 1: tidak ada yang menunggu"
    # A priority ticket is said so.
    issue(live_server, priority="pregnant")
    assert ok(run(live_server, home, "call-next")) == (
        "Loket 1: memanggil A002 (Perekaman KTP-el, prioritas: ibu hamil/bayi)")


def test_refused_actions_exit_1_with_the_servers_message(live_server, home) -> None:  # noqa: F811
    closed = run(live_server, home, "call-next")
    assert closed.returncode == 1
    assert closed.stdout == ""
    assert closed.stderr.strip() == "antrian-counter: Loket 1 sedang tutup. Buka loket terlebih dahulu."

    ok(run(live_server, home, "open"))
    nothing = run(live_server, home, "recall", "--json")
    assert nothing.returncode == 1
    assert "Loket 1 tidak sedang melayani tiket." in nothing.stderr
    assert json.loads(nothing.stdout)["error"]["code"] == "no_current_ticket"

    english = run(live_server, home, "finish", extra=["--lang", "en"])
    assert english.returncode == 1
    assert "Loket 1 has no ticket being served." in english.stderr

    # Another agency's counter: not in the officer's list by code, refused by id.
    other = run(live_server, home, "open", counter="SAM-1")
    assert other.returncode == 2
    assert "SAM-1" in other.stderr and "DUK-1, DUK-2" in other.stderr
    forbidden = run(live_server, home, "open", counter="3")
    assert forbidden.returncode == 1
    assert "Anda tidak berwenang mengoperasikan Loket 3." in forbidden.stderr

    # A second officer cannot take over a staffed counter.
    taken = run(live_server, home, "call-next", user="dukcapil2")
    assert taken.returncode == 1
    assert "Loket 1 sedang digunakan petugas lain." in taken.stderr


def test_transfer_and_call_a_number(live_server, home) -> None:  # noqa: F811
    issue(live_server)
    issue(live_server)
    ok(run(live_server, home, "open"))
    assert ok(run(live_server, home, "call-next")).startswith("Loket 1: memanggil A001")
    assert ok(run(live_server, home, "transfer", "KK", "--note", "Ganti KK")) == (
        "Loket 1: A001 dialihkan ke Kartu Keluarga (DUKCAPIL)")
    lines = ok(run(live_server, home, "queue")).splitlines()
    assert lines[0] == "Loket 1: 2 menunggu"
    # A001 kept its arrival and is first again, now in KK.
    assert lines[1].startswith("A001") and "Kartu Keluarga" in lines[1]

    missing = run(live_server, home, "call", "A099")
    assert missing.returncode == 1
    assert "Loket 1: nomor A099 tidak ada di antrean loket ini" in missing.stderr
    assert run(live_server, home, "call", "not-a-number").returncode == 2
    unknown_service = run(live_server, home, "transfer", "NOPE")
    assert unknown_service.returncode == 2 and "NOPE" in unknown_service.stderr

    assert ok(run(live_server, home, "call", "a2")) == "Loket 1: memanggil A002 (Perekaman KTP-el)"
    assert ok(run(live_server, home, "no-show")) == "Loket 1: A002 tidak hadir"


def test_bad_password_and_unreachable_server_exit_2_with_a_clear_message(live_server, home) -> None:  # noqa: F811
    bad = run(live_server, home, "status", password="wrong-password")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "antrian-counter: Nama pengguna atau kata sandi salah."
    assert not token_file(home, live_server).exists()

    nobody = LiveServer(home / "unused")  # a free port where nothing listens
    down = run(nobody, home, "status")
    assert down.returncode == 2
    assert f"Server {nobody.base_url} tidak dapat dihubungi" in down.stderr

    usage = subprocess.run([str(CLI), "status"], capture_output=True, text=True, timeout=30, check=False,
                           env={"PATH": os.environ.get("PATH", ""), "HOME": str(home)})
    assert usage.returncode == 2 and "--server, --user, --counter" in usage.stderr


def test_the_token_is_cached_0600_and_reused_until_refused(live_server, home) -> None:  # noqa: F811
    ok(run(live_server, home, "open"))
    cache = token_file(home, live_server)
    assert cache.exists()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    first = json.loads(cache.read_text())
    assert first["user"] == "dukcapil1" and len(first["token"]) > 20

    # No password anywhere and no terminal: only the cached token can work.
    issue(live_server)
    called = ok(run(live_server, home, "call-next", password=None))
    assert called == "Loket 1: memanggil A001 (Perekaman KTP-el)"
    assert json.loads(cache.read_text())["token"] == first["token"]  # no new login

    # A token the server no longer accepts is replaced with one login...
    cache.write_text(json.dumps({**first, "token": "revoked-token-value"}))
    assert ok(run(live_server, home, "status")).startswith("Loket 1 (DUK-1): buka")
    renewed = json.loads(cache.read_text())["token"]
    assert renewed not in (first["token"], "revoked-token-value")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    # ...and without a password that login cannot happen: a clear message, exit 2.
    cache.write_text(json.dumps({**first, "token": "revoked-token-value"}))
    stuck = run(live_server, home, "status", password=None)
    assert stuck.returncode == 2
    assert "Kata sandi diperlukan" in stuck.stderr
