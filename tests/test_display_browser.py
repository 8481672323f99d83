"""The hall TV display (/display/<code>) in real Chromium against a real server.

Every test starts ``antrian serve`` (eventlet, fresh SQLite) and opens the
display at 1920x1080 the way a TV is set up: once with ``?key=``, then by the
session cookie. Calls are made through the REST API, as a counter client does.

Sound: most tests set the page's test hook
(``localStorage["antrian.display.testAudio"] = "record"``), so the announcer
records what it would play (``window.display.playback``: chime, clip URLs,
speech texts, each taking 40 ms) instead of playing it, and serve a voice clip
manifest through ``page.route`` so the clip engine is chosen whatever clips
exist on disk. One test plays real WAV clips (Chromium plays audio headless)
to cover the "ended"/error/timeout path. Headless Chromium has no speech voice;
tests that need one give the page fake voices (the recorder never speaks).

Waiting uses Playwright's auto-waiting ``expect`` and ``wait_for_function``.
The screenshot goes to ``test-artifacts/display-1920x1080.png``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import socketio
from browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, browser  # noqa: F401
from live_server import SMALL_CONFIG, LiveServer, live_server, live_server_factory  # noqa: F401
from playwright.sync_api import Page, Route, expect

from queue_server.domain.announce import vocabulary

pytestmark = pytest.mark.browser

TV1_KEY = "test-display-key-0001"  # TV-1, zone "Lantai 1": DUKCAPIL (Loket 1, Loket 2)
TV2_KEY = "test-display-key-0002"  # TV-2, zone "Lantai 2": SAMSAT (Loket 3)
KIOSK_KEY = "test-kiosk-key-0001"
PASSWORD = "petugas-demo"
KTP, KK, PKB = 1, 2, 3  # service ids of the small site
TV = {"width": 1920, "height": 1080}
JAKARTA = ZoneInfo("Asia/Jakarta")
CLIPS = "/display/static/voice/id/"
DUKCAPIL_NAME = "Dinas Kependudukan dan Pencatatan Sipil"
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]  # Python's weekday() order
MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
          "Oktober", "November", "Desember"]

# Every word the server can ask for, as a manifest the tests serve instead of the real one.
MANIFEST = {
    "format": "wav",
    "chime": {"file": "chime.wav", "ms": 300},
    "words": {w: {"file": f"{w}.wav", "ms": 300} for w in vocabulary()},
}
ID_AND_EN_VOICES = """
  (() => {
    const voices = [
      { name: "Uji Indonesia", lang: "id-ID", default: false, localService: true, voiceURI: "uji-id" },
      { name: "Test English", lang: "en-US", default: true, localService: true, voiceURI: "test-en" },
    ];
    Object.defineProperty(window.speechSynthesis, "getVoices", { value: () => voices });
  })();
"""
PLAY_LOG = """
  // Which clips real audio elements were asked to play, in order (path only).
  window.__played = [];
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    window.__played.push(new URL(this.src).pathname);
    return play.call(this);
  };
"""


# -- the site: REST calls as a kiosk and counter officers make them -------------


class Site:
    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.http = requests.Session()
        self.tokens: dict[str, str] = {}

    def request(self, method: str, path: str, user: str | None = None, key: str | None = None,
                **kw: Any) -> requests.Response:
        secret = self.token(user) if user else key
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return self.http.request(method, self.server.url(path), headers=headers, timeout=10, **kw)

    def token(self, user: str) -> str:
        if user not in self.tokens:
            res = self.http.post(self.server.url("/api/v1/auth/token"), timeout=10,
                                 json={"username": user, "password": PASSWORD})
            assert res.status_code == 201, res.text
            self.tokens[user] = res.json()["token"]
        return self.tokens[user]

    def issue(self, service_id: int) -> str:
        res = self.request("POST", "/api/v1/tickets", key=KIOSK_KEY, json={"service_id": service_id})
        assert res.status_code == 201, res.text
        return str(res.json()["number"])

    def open(self, user: str, counter_name: str) -> int:
        res = self.request("GET", "/api/v1/counters", user)
        assert res.status_code == 200, res.text
        counter = next(c["id"] for c in res.json()["counters"] if c["name"] == counter_name)
        res = self.request("POST", f"/api/v1/counters/{counter}/open", user)
        assert res.status_code == 200, res.text
        return int(counter)

    def act(self, user: str, counter: int, action: str) -> dict[str, Any]:
        res = self.request("POST", f"/api/v1/counters/{counter}/{action}", user)
        assert res.status_code == 200, res.text
        return dict(res.json())

    def call_next(self, user: str, counter: int) -> str:
        ticket = self.act(user, counter, "call-next")["ticket"]
        assert ticket is not None
        return str(ticket["number"])

    def serve(self, user: str, counter: int) -> None:
        """Start and finish the counter's current ticket, so it can call the next one."""
        self.act(user, counter, "start")
        self.act(user, counter, "finish")


class CallListener:
    """A python-socketio client with TV-1's key: the ticket.called payloads the display gets."""

    def __init__(self, server: LiveServer, key: str = TV1_KEY) -> None:
        self.calls: list[dict[str, Any]] = []
        self.client = socketio.Client(reconnection=False)
        self.client.on("ticket.called", self.calls.append)
        self.client.connect(server.base_url, auth={"key": key}, transports=["websocket"], wait_timeout=10)

    def wait(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.calls) >= count, self.calls
        return self.calls

    def close(self) -> None:
        self.client.disconnect()


def site_config(tmp_path: Path, name: str = "site.toml", samsat_always_open: bool = True,
                replace: dict[str, str] | None = None, tv1: str = "") -> Path:
    """The small site, SAMSAT without office hours (the server runs on the real clock,
    so a scheduled agency may be closed now), with text replacements and TV-1 settings."""
    text = SMALL_CONFIG.read_text()
    if samsat_always_open:
        changed = text.replace('schedule = "kantor"\n', "")
        assert changed != text, "small_config.toml no longer gives SAMSAT a schedule line"
        text = changed
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    if tv1:
        line = f'key = "{TV1_KEY}"\n'
        text = text.replace(line, line + tv1)
    path = tmp_path / name
    path.write_text(text)
    return path


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


@pytest.fixture(autouse=True)
def _not_at_jakarta_midnight() -> None:
    """Calls belong to the local day: do not call at 23:59:55 and look at 00:00:05."""
    now = dt.datetime.now(JAKARTA)
    left = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
    if left < 60:
        time.sleep(left + 2)


# -- the page --------------------------------------------------------------------


@pytest.fixture
def open_display(browser) -> Iterator[Callable[..., Page]]:  # noqa: F811
    """Open a display in a fresh 1920x1080 browser context; closed at teardown.

    ``record``: the announcer records instead of playing; ``sound``: tap
    "Aktifkan suara" once loaded (Chromium's autoplay policy wants a gesture);
    ``manifest``: the clip manifest served to the page (None: missing, 404);
    ``init``: extra init scripts.
    """
    contexts = []

    def open_(server: LiveServer, key: str = TV1_KEY, code: str = "TV-1", record: bool = True,
              sound: bool = True, manifest: dict[str, Any] | None = MANIFEST,
              init: tuple[str, ...] = (), before: Callable[[Page], None] | None = None,
              chromium: Any = None) -> Page:
        context = (chromium or browser).new_context(viewport=TV, locale="id-ID")
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.errors = errors  # type: ignore[attr-defined]
        if record:
            page.add_init_script('localStorage.setItem("antrian.display.testAudio", "record");')
        for script in init:
            page.add_init_script(script)

        def serve_manifest(route: Route) -> None:
            if manifest is None:
                route.fulfill(status=404, body="not found")
            else:
                route.fulfill(json=manifest)

        page.route(f"**{CLIPS}manifest.json", serve_manifest)
        if before is not None:
            before(page)
        page.goto(server.url(f"/display/{code}?key={key}"))
        # The key is swapped for the session cookie and leaves the address bar.
        expect(page).to_have_url(server.url(f"/display/{code}"))
        wait_connected(page)
        if sound:
            page.get_by_role("button", name="Aktifkan suara").click()
            page.wait_for_function("window.display.soundEnabled === true")
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def tv_chromium(browser) -> Iterator[Any]:  # noqa: F811
    """Chromium as the display PC runs it: autoplay with sound allowed without a gesture."""
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
    yield chromium
    chromium.close()


def wait_connected(page: Page) -> None:
    page.wait_for_function("window.display.connected === true && window.display.snapshots > 0")
    expect(page.locator("body")).to_have_attribute("data-connected", "true")
    expect(page.locator("#offline")).to_be_hidden()


def shown(page: Page) -> list[str]:
    return list(page.evaluate("window.display.calls"))


def announced(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate("window.display.announced"))


def playback(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate("window.display.playback"))


def wait_announced(page: Page, count: int, timeout: float = 10000) -> list[dict[str, Any]]:
    """Wait until `count` announcements have finished playing (and nothing is pending)."""
    page.wait_for_function(
        """(n) => { const a = window.display.announced;
                    return a.length >= n && a.every((x) => x.status === "done" || x.status === "dropped")
                           && window.display.queue.length === 0; }""",
        arg=count, timeout=timeout)
    return announced(page)


def clip_sequence(words: list[str]) -> list[tuple[str, str]]:
    """What the recorder should hold for one call with the test manifest."""
    return [("chime", CLIPS + "chime.wav")] + [("clip", f"{CLIPS}{w}.wav") for w in words]


def sequence(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(p["type"], p.get("src") or p.get("text") or "") for p in items]


def assert_one_after_another(items: list[dict[str, Any]]) -> None:
    """No item starts before the one before it has ended: nothing is cut off."""
    for before, after in zip(items, items[1:], strict=False):
        assert before["end"] is not None
        assert after["start"] >= before["end"], (before, after)


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def indonesian_date(day: dt.datetime) -> str:
    return f"{DAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


def silent_wav(ms: int = 120) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * (8 * ms))
    return buffer.getvalue()


# -- (1) a call shows within a second -------------------------------------------------


def test_a_call_shows_within_a_second_with_counter_agency_and_counts(open_display, live_server) -> None:  # noqa: F811
    site = Site(live_server)
    page = open_display(live_server)
    expect(page.locator("#current-agency")).to_have_text("Belum ada panggilan")
    expect(page.locator("#sound-overlay")).to_be_hidden()
    assert page.evaluate("window.display.engine") == "clips"

    number = site.issue(KTP)
    # The waiting count follows queue.changed; only TV-1's agency (DUKCAPIL) is listed.
    counts = page.locator("#waiting-list .agency-count")
    expect(counts).to_have_count(1)
    expect(counts.first.locator(".code")).to_have_text("DUKCAPIL")
    expect(counts.first.locator(".name")).to_have_text(DUKCAPIL_NAME)
    expect(counts.first.locator(".count")).to_have_text("1")

    loket1 = site.open("dukcapil1", "Loket 1")
    called = site.call_next("dukcapil1", loket1)
    answered = time.monotonic()
    expect(page.locator("#current-number")).to_have_text(number)
    elapsed = time.monotonic() - answered
    assert called == number == "A001"
    assert elapsed < 1.0, f"the call took {elapsed:.2f} s to show"

    expect(page.locator("#current-counter")).to_have_text("Loket 1")
    expect(page.locator("#current-agency")).to_have_text(DUKCAPIL_NAME)
    expect(page.locator("#current-service")).to_have_text("Perekaman KTP-el")
    expect(page.locator("#current-label")).to_have_text("Nomor Antrean")
    expect(page.locator("#current")).to_have_class("current flash")  # a new call blinks...
    expect(counts.first.locator(".count")).to_have_text("0")
    current = page.evaluate("window.display.current")
    assert (current["number"], current["counter"], current["kind"]) == ("A001", "Loket 1", "called")
    done = wait_announced(page, 1)
    assert [(a["number"], a["kind"], a["engine"]) for a in done] == [("A001", "called", "clips")]
    assert done[0]["text"] == "Nomor antrean, A, nol nol satu, silakan menuju loket satu."
    # ...for flash_seconds (6), then stays on the board.
    expect(page.locator("#current")).to_have_class("current", timeout=9000)
    expect(page.locator("#current-number")).to_have_text("A001")
    assert page.errors == []  # type: ignore[attr-defined]


# -- (2) each display shows its own zone ------------------------------------------------


def test_each_display_shows_only_the_calls_of_its_zone(open_display, live_server_factory, tmp_path) -> None:  # noqa: F811
    server = live_server_factory(config=site_config(tmp_path))
    site = Site(server)
    tv1 = open_display(server, TV1_KEY, "TV-1")
    tv2 = open_display(server, TV2_KEY, "TV-2")
    expect(tv1.locator("#waiting-list .code")).to_have_text(["DUKCAPIL"])
    expect(tv2.locator("#waiting-list .code")).to_have_text(["SAMSAT"])

    samsat = site.issue(PKB)
    dukcapil = site.issue(KTP)
    loket3 = site.open("samsat1", "Loket 3")
    loket1 = site.open("dukcapil1", "Loket 1")
    # SAMSAT first: once TV-1 shows the later DUKCAPIL call, a leaked SAMSAT call would be there too.
    assert site.call_next("samsat1", loket3) == samsat == "S001"
    assert site.call_next("dukcapil1", loket1) == dukcapil == "A001"

    expect(tv2.locator("#current-number")).to_have_text("S001")
    expect(tv2.locator("#current-counter")).to_have_text("Loket 3")
    expect(tv2.locator("#current-agency")).to_have_text("UPT Samsat")
    expect(tv1.locator("#current-number")).to_have_text("A001")
    wait_announced(tv1, 1)
    wait_announced(tv2, 1)
    assert shown(tv1) == ["A001"]
    assert shown(tv2) == ["S001"]
    assert [a["number"] for a in announced(tv1)] == ["A001"]
    assert [a["number"] for a in announced(tv2)] == ["S001"]
    assert "S001" not in tv1.locator("body").inner_text()
    assert "A001" not in tv2.locator("body").inner_text()


# -- (3) announcements are queued, never cut off ------------------------------------------


def test_two_calls_close_together_are_announced_in_order_and_a_recall_again(
        open_display, live_server) -> None:  # noqa: F811
    site = Site(live_server)
    listener = CallListener(live_server)
    try:
        page = open_display(live_server)
        first, second = site.issue(KTP), site.issue(KTP)
        loket1 = site.open("dukcapil1", "Loket 1")
        loket2 = site.open("dukcapil2", "Loket 2")

        assert site.call_next("dukcapil1", loket1) == first
        time.sleep(0.1)
        assert site.call_next("dukcapil2", loket2) == second
        events = listener.wait(2)
        expect(page.locator("#current-number")).to_have_text(second)
        expect(page.locator("#history-list .row .num")).to_have_text([first])

        done = wait_announced(page, 2)
        assert [(a["number"], a["call_id"], a["status"]) for a in done] == [
            (first, events[0]["call_id"], "done"), (second, events[1]["call_id"], "done")]
        words = [e["announcement"]["words"] for e in events]
        assert words[0] == ["nomor-antrean", "a", "nol", "nol", "satu", "silakan-menuju-loket", "satu"]
        assert words[1] == ["nomor-antrean", "a", "nol", "nol", "dua", "silakan-menuju-loket", "dua"]
        played = playback(page)
        assert sequence(played) == clip_sequence(words[0]) + clip_sequence(words[1])
        assert_one_after_another(played)

        # A recall is announced again (a new call_id), and the number is not listed twice.
        site.act("dukcapil1", loket1, "recall")
        recall = listener.wait(3)[2]
        assert recall["kind"] == "recalled" and recall["call_id"] > events[1]["call_id"]
        done = wait_announced(page, 3)
        assert [(a["number"], a["kind"]) for a in done] == [
            (first, "called"), (second, "called"), (first, "recalled")]
        played = playback(page)
        assert sequence(played) == (clip_sequence(words[0]) + clip_sequence(words[1])
                                    + clip_sequence(recall["announcement"]["words"]))
        assert_one_after_another(played)
        expect(page.locator("#current-number")).to_have_text(first)
        expect(page.locator("#current-label")).to_have_text("Panggilan Ulang")
        assert shown(page) == [first, second]
    finally:
        listener.close()


def test_without_clips_the_call_is_spoken_and_without_any_voice_the_chime_still_sounds(
        open_display, live_server_factory, tmp_path) -> None:  # noqa: F811
    server = live_server_factory(config=site_config(tmp_path, tv1="announce_english = true\n"))
    site = Site(server)
    voiced = open_display(server, manifest=None, init=(ID_AND_EN_VOICES,))
    mute = open_display(server, manifest=None)
    assert voiced.evaluate("window.display.manifestLoaded") is False
    assert voiced.evaluate("window.display.engine") == "speech"
    assert mute.evaluate("window.display.engine") == "chime"

    site.issue(KTP)
    loket1 = site.open("dukcapil1", "Loket 1")
    site.call_next("dukcapil1", loket1)

    done = wait_announced(voiced, 1)
    assert [(a["number"], a["engine"]) for a in done] == [("A001", "speech")]
    played = playback(voiced)
    # No manifest, so no chime file: the beep made in the page, then Indonesian, then English.
    assert [(p["type"], p.get("lang"), p.get("voice")) for p in played] == [
        ("beep", None, None), ("speech", "id-ID", "Uji Indonesia"), ("speech", "en-US", "Test English")]
    assert played[1]["text"] == "Nomor antrean, A, nol nol satu, silakan menuju loket satu."
    assert played[2]["text"] == "Number A, zero zero one, please go to counter one."
    assert_one_after_another(played)

    done = wait_announced(mute, 1)
    assert [(a["number"], a["engine"]) for a in done] == [("A001", "chime")]
    assert sequence(playback(mute)) == [("beep", "")]


def test_real_clips_play_one_after_another_and_a_missing_or_stuck_clip_does_not_block(
        open_display, live_server) -> None:  # noqa: F811
    """Real audio elements (not the recorder): "ended" chains the clips; a 404 or a
    clip that never loads falls back (no voice here: the chime alone) and the queue goes on."""
    site = Site(live_server)
    missing, stuck = "dua", "tiga"

    def clips(route: Route) -> None:
        name = route.request.url.rsplit("/", 1)[1]
        if name == f"{missing}.wav":
            route.fulfill(status=404, body="")
        elif name == f"{stuck}.wav":
            pass  # never answered: the clip neither plays nor fails
        else:
            route.fulfill(body=silent_wav(), content_type="audio/wav")

    manifest = {**MANIFEST, "words": {w: {"file": f"{w}.wav", "ms": 120} for w in vocabulary()}}
    page = open_display(live_server, record=False, manifest=manifest, init=(PLAY_LOG,),
                        before=lambda p: p.route(f"**{CLIPS}*.wav", clips))
    assert page.evaluate("window.display.record") is False
    loket1 = site.open("dukcapil1", "Loket 1")
    for _ in range(4):
        site.issue(KTP)

    site.call_next("dukcapil1", loket1)  # A001 at Loket 1: every clip there
    done = wait_announced(page, 1)
    assert [(a["number"], a["engine"], a["fallback"]) for a in done] == [("A001", "clips", None)]
    assert page.evaluate("window.__played") == [f"{CLIPS}{name}.wav" for name in (
        "chime", "nomor-antrean", "a", "nol", "nol", "satu", "silakan-menuju-loket", "satu")]

    # A002 needs "dua" (404), A003 needs "tiga" (never answers); A004 comes after both.
    for _ in range(3):
        site.serve("dukcapil1", loket1)
        site.call_next("dukcapil1", loket1)
    done = wait_announced(page, 4, timeout=30000)
    assert [(a["number"], a["engine"], a["fallback"]) for a in done] == [
        ("A001", "clips", None), ("A002", "chime", "clips"), ("A003", "chime", "clips"),
        ("A004", "clips", None)]


# -- (4) server restart: offline mark, reconnect, resync -------------------------------------


def test_after_a_server_restart_the_display_reconnects_and_resyncs_without_duplicates(
        open_display, live_server) -> None:  # noqa: F811
    site = Site(live_server)
    page = open_display(live_server)
    first, second = site.issue(KTP), site.issue(KTP)
    loket1 = site.open("dukcapil1", "Loket 1")
    loket2 = site.open("dukcapil2", "Loket 2")
    site.call_next("dukcapil1", loket1)
    expect(page.locator("#current-number")).to_have_text(first)
    wait_announced(page, 1)

    restart = threading.Thread(target=live_server.restart)
    restart.start()
    try:
        expect(page.locator("#offline")).to_be_visible(timeout=15000)
        expect(page.locator("#offline")).to_have_text("Tidak terhubung")
        expect(page.locator("body")).to_have_attribute("data-connected", "false")
        assert page.evaluate("window.display.connected") is False
        expect(page.locator("#current-number")).to_have_text(first)  # the board stays meanwhile
    finally:
        restart.join()
    site.http = requests.Session()  # the old keep-alive connections died with the server

    # Right after the restart, maybe before the display is back: it must not be lost.
    assert site.call_next("dukcapil2", loket2) == second
    expect(page.locator("#offline")).to_be_hidden(timeout=20000)
    page.wait_for_function("window.display.connected && window.display.snapshots >= 2")
    expect(page.locator("#current-number")).to_have_text(second)
    expect(page.locator("#current-counter")).to_have_text("Loket 2")
    expect(page.locator("#history-list .row .num")).to_have_text([first])
    assert shown(page) == [second, first]
    ids = page.evaluate("window.display.callIds")
    assert len(set(ids)) == len(ids) == 2
    # Each call announced exactly once, the one made during the outage included.
    done = wait_announced(page, 2)
    assert [a["number"] for a in done] == [first, second]

    # The waiting counts are the server's again, and live events flow.
    site.issue(KTP)
    expect(page.locator("#waiting-list .count")).to_have_text(["1"])


# -- (5) the one-time sound button ------------------------------------------------------------


def test_sound_button_on_first_use_then_remembered_on_a_tv_and_asked_again_where_blocked(
        open_display, tv_chromium, live_server) -> None:  # noqa: F811
    site = Site(live_server)
    loket1 = site.open("dukcapil1", "Loket 1")
    page = open_display(live_server, sound=False, chromium=tv_chromium)
    overlay = page.locator("#sound-overlay")
    button = page.get_by_role("button", name="Aktifkan suara")
    expect(overlay).to_be_visible()  # first use: asked even where autoplay would work
    expect(button).to_be_visible()
    assert page.evaluate("window.display.soundEnabled") is False

    # Before the tap a call is shown and waits for its announcement.
    first = site.issue(KTP)
    site.call_next("dukcapil1", loket1)
    expect(page.locator("#current-number")).to_have_text(first)
    page.wait_for_function("window.display.queue.length === 1")
    assert [a["status"] for a in announced(page)] == ["queued"]
    assert playback(page) == []

    button.click()
    expect(overlay).to_be_hidden()
    assert page.evaluate("window.display.soundEnabled") is True
    assert page.evaluate("localStorage.getItem('antrian.display.sound')") == "on"
    done = wait_announced(page, 1)
    assert [(a["number"], a["status"]) for a in done] == [(first, "done")]

    # Later loads on the TV (--autoplay-policy=no-user-gesture-required) play at
    # once, and do not announce again what this display already announced.
    page.reload()
    wait_connected(page)
    page.wait_for_function("window.display.soundEnabled === true")
    expect(overlay).to_be_hidden()
    expect(page.locator("#current-number")).to_have_text(first)
    assert announced(page) == []
    site.serve("dukcapil1", loket1)
    second = site.issue(KTP)
    site.call_next("dukcapil1", loket1)
    done = wait_announced(page, 1)
    assert [(a["number"], a["status"]) for a in done] == [(second, "done")]

    # A browser whose autoplay policy still wants a gesture (Chromium's default)
    # gets the button again after a reload; calls wait for it.
    desktop = open_display(live_server)  # tapped once
    assert desktop.evaluate("window.display.soundEnabled") is True
    desktop.reload()
    wait_connected(desktop)
    expect(desktop.locator("#sound-overlay")).to_be_visible()
    assert desktop.evaluate("window.display.soundEnabled") is False
    site.serve("dukcapil1", loket1)
    third = site.issue(KTP)
    site.call_next("dukcapil1", loket1)
    desktop.wait_for_function("window.display.queue.length === 1")
    desktop.get_by_role("button", name="Aktifkan suara").click()
    done = wait_announced(desktop, 1)
    assert [(a["number"], a["status"]) for a in done] == [(third, "done")]


def test_announcements_wait_for_sound_and_old_ones_are_dropped(open_display, live_server) -> None:  # noqa: F811
    site = Site(live_server)
    start = dt.datetime.now(dt.UTC)
    page = open_display(live_server, sound=False, before=lambda p: p.clock.set_fixed_time(start))
    loket1 = site.open("dukcapil1", "Loket 1")
    site.issue(KTP)
    site.issue(KTP)
    site.call_next("dukcapil1", loket1)
    page.wait_for_function("window.display.queue.length === 1")

    # Nobody enabled the sound for three minutes: that call is old news, the next one is not.
    page.clock.set_fixed_time(start + dt.timedelta(minutes=3))
    site.serve("dukcapil1", loket1)
    site.call_next("dukcapil1", loket1)
    page.wait_for_function("window.display.announced.length === 2")
    page.get_by_role("button", name="Aktifkan suara").click()
    done = wait_announced(page, 2)
    assert [(a["number"], a["status"]) for a in done] == [("A001", "dropped"), ("A002", "done")]
    assert [p["src"] for p in playback(page) if p["type"] == "clip"][4] == f"{CLIPS}dua.wav"
    assert shown(page) == ["A002", "A001"]  # shown all the same


# -- (6) escaping -------------------------------------------------------------------------------


def test_names_and_running_text_with_markup_are_shown_as_text(
        open_display, live_server_factory, tmp_path) -> None:  # noqa: F811
    agency = '<img src=x onerror="window.__xss=1">Dukcapil <b>Uji</b>'
    service = "<script>window.__xss=2</script>KTP & KK"
    ticker = '<i>Info</i> <img src=y onerror="window.__xss=3"> selesai'
    config = site_config(tmp_path, replace={
        f'name = "{DUKCAPIL_NAME}"': f"name = {toml_string(agency)}",
        'name = "Perekaman KTP-el"': f"name = {toml_string(service)}",
    }, tv1=f"running_text = {toml_string(ticker)}\n")
    server = live_server_factory(config=config)
    site = Site(server)
    page = open_display(server)
    site.issue(KTP)
    loket1 = site.open("dukcapil1", "Loket 1")
    site.call_next("dukcapil1", loket1)

    expect(page.locator("#current-agency")).to_have_text(agency)
    expect(page.locator("#current-service")).to_have_text(service)
    expect(page.locator("#waiting-list .name")).to_have_text([agency])
    expect(page.locator(".ticker-item").first).to_have_text(ticker)
    site.serve("dukcapil1", loket1)
    site.issue(KTP)
    site.call_next("dukcapil1", loket1)
    expect(page.locator("#history-list .row .agency")).to_have_text(["DUKCAPIL"])
    expect(page.locator("#history-list .row .service")).to_have_text([service])
    assert page.locator("img, b, i, main script, footer script").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.title() == "Layar Antrean - MPP Uji"


# -- (7) the whole board, and its clock -----------------------------------------------------------


def test_board_at_1920x1080_with_history_date_and_clock(open_display, live_server) -> None:  # noqa: F811
    site = Site(live_server)
    page = open_display(live_server)
    loket1 = site.open("dukcapil1", "Loket 1")
    loket2 = site.open("dukcapil2", "Loket 2")
    numbers = [site.issue(KTP) for _ in range(8)] + [site.issue(KK) for _ in range(3)]
    called = []
    for i in range(6):
        user, counter = ("dukcapil1", loket1) if i % 2 == 0 else ("dukcapil2", loket2)
        if i >= 2:
            site.serve(user, counter)
        called.append(site.call_next(user, counter))
    expect(page.locator("#current-number")).to_have_text(called[-1])
    expect(page.locator("#history-list .row .num")).to_have_text(list(reversed(called[:-1])))
    expect(page.locator("#history-list .row .to").first).to_have_text("Loket 1")
    expect(page.locator("#waiting-list .count")).to_have_text([str(len(numbers) - len(called))])
    assert page.evaluate("window.display.calls") == list(reversed(called))

    # The date and time of the site, in Indonesian.
    now = dt.datetime.now(JAKARTA)
    expect(page.locator("#date")).to_have_text(indonesian_date(now))
    clock = page.locator("#clock").inner_text()
    assert clock.endswith(" WIB")
    shown_time = dt.datetime.strptime(clock[:5], "%H:%M").time()
    assert abs((now.hour * 60 + now.minute) - (shown_time.hour * 60 + shown_time.minute)) <= 1
    expect(page.locator(".ticker-item").first).to_contain_text("Selamat datang di MPP Uji")
    expect(page.locator(".bar .site")).to_have_text("MPP Uji")

    # Everything fits the screen: nothing scrolls, the number is large.
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    height = page.locator("#current-number").bounding_box()["height"]  # type: ignore[index]
    assert height > 200, height
    wait_announced(page, 6, timeout=20000)
    path = shot(page, "display-1920x1080.png")
    assert path.stat().st_size > 10000


def test_a_tv_with_a_wrong_clock_shows_the_server_date(open_display, live_server) -> None:  # noqa: F811
    wrong = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    page = open_display(live_server, before=lambda p: p.clock.set_fixed_time(wrong))
    expect(page.locator("#date")).to_have_text(indonesian_date(dt.datetime.now(JAKARTA)))
