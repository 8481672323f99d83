/*
 * Antrian hall display: the TV (1920x1080) that shows and announces calls.
 *
 * Data: the Socket.IO "snapshot" (on every connect: today's last calls of the
 * display's agencies and their waiting counts), then "ticket.called" and
 * "queue.changed". Agency names come from GET /api/v1/agencies. The browser is
 * bound to its display device by the session cookie, so no key is sent here.
 *
 * Announcements: every call is queued and spoken after the previous one has
 * finished (chime, then the call as recorded clips or with the browser's
 * speech voice), each call_id once. See "Announcer" below.
 *
 * Sound needs one user gesture in a normal browser (autoplay policy). A TV
 * PC running Chromium in kiosk mode can skip it:
 *   chromium --kiosk --autoplay-policy=no-user-gesture-required http://server:5000/display/TV-1
 * Otherwise the page asks once ("Aktifkan suara") and remembers the answer.
 *
 * Everything shown comes from the configuration or the server and goes into
 * the page with textContent/createElement only, never as HTML.
 *
 * Test hook: localStorage["antrian.display.testAudio"] = "record" makes the
 * announcer record what it would play (window.display.playback) instead of
 * playing it, each item taking TEST_ITEM_MS.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("display-config").textContent);
  const API = "/api/v1";
  const HISTORY = clamp(Number(config.history) || 8, 1, 20);   // calls listed besides the current one
  const FLASH_MS = clamp(Number(config.flash_seconds) || 6, 1, 60) * 1000;
  const MAX_AGE_MS = 2 * 60 * 1000;     // an announcement older than this is news nobody waits for
  const MAX_QUEUE = 30;                 // a safety cap on top of the age limit
  const KEEP_CALLS = 60;                // calls remembered for the list (the snapshot holds 10)
  const OFFLINE_MARK_MS = 1000;         // a blink of the network is not worth a mark
  const GAP_MS = 700;                   // silence between two announcements
  const CLIP_MS = 3000;                 // assumed clip length when the manifest does not say
  const CLIP_SLACK_MS = 2500;           // a clip still playing this long after its length is stuck
  const BEEP_MS = 1000;
  const AGENCY_RETRY_MS = 30 * 1000;    // GET /agencies failed: try again
  const RESUME_WAIT_MS = 400;           // how long an AudioContext may take to resume
  const VOICES_WAIT_MS = 1500;          // Chromium lists speech voices asynchronously
  const SKEW_MS = 2000;                 // trust the TV's clock unless it is off by more than this
  const FETCH_TIMEOUT_MS = 6000;
  const RESYNC_SPREAD_MS = 2000;        // "resync" from the server: ask within this, at random
  const TEST_ITEM_MS = 40;

  const KEYS = {
    sound: "antrian.display.sound",
    testAudio: "antrian.display.testAudio",
    lastCall: `antrian.display.lastCall.${(config.device && config.device.code) || ""}`,
  };
  const RECORD = storageGet(KEYS.testAudio) === "record";

  const DAYS = ["Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"];
  const MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
    "September", "Oktober", "November", "Desember"];
  const ZONE_ABBR = {
    "Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT",
  };

  // Results of one played item.
  const OK = "ok";
  const FAILED = "failed";     // could not be played (missing file, no voice, stuck): fall back
  const BLOCKED = "blocked";   // the browser refuses sound until a user gesture

  // --- Small helpers ---------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (_err) { return null; }
  }

  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch (_err) { /* private mode: not remembered */ }
  }

  const { el, setText } = window.AntrianDom;  // queue_server/static/dom.js

  /** GET with a time limit: a hung request must not hold up the announcements. */
  async function fetchWithTimeout(url) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    try {
      return await fetch(url, { cache: "no-store", credentials: "same-origin", signal: controller.signal });
    } finally {
      clearTimeout(timer);
    }
  }

  // --- Server time -------------------------------------------------------------
  // A TV PC on a LAN without internet may have a wrong clock. The server's
  // clock decides how old a call is and what the on-screen clock says; its
  // offset comes from the Date header of our requests and from live calls.

  let clockOffset = 0;

  function noteServerTime(serverMs) {
    if (!Number.isFinite(serverMs)) return;
    const offset = serverMs - Date.now();
    clockOffset = Math.abs(offset) > SKEW_MS ? offset : 0;
  }

  function noteDateHeader(res) {
    const date = res.headers.get("Date");
    if (date) noteServerTime(Date.parse(date));
  }

  const serverNow = () => Date.now() + clockOffset;

  // --- State -----------------------------------------------------------------

  const state = {
    calls: new Map(),        // call key -> call (today's, from snapshots and events)
    agencies: new Map(),     // agency id -> {code, name, zone}, from GET /agencies
    agencyOrder: [],         // agency ids in the order GET /agencies lists them
    waiting: new Map(),      // agency id -> waiting tickets; the keys are this display's agencies
    connected: false,
    snapshots: 0,
    firstSnapshot: true,
    seen: new Set(),         // call keys this page has already taken in: never announced twice
    // The newest call_id an earlier load of this page took in: a reload does
    // not announce those calls again.
    horizon: Number.parseInt(storageGet(KEYS.lastCall), 10) || null,
    siteDay: null,
  };
  let socket = null;
  let offlineTimer = null;
  let flashTimer = null;
  let agencyTimer = null;

  /** A call's identity: its event id (a call and its recalls differ). */
  function callKey(call) {
    return Number.isInteger(call.call_id) ? `c${call.call_id}` : `t${call.ticket_id}@${call.at}`;
  }

  function isCall(call) {
    return !!call && typeof call === "object" && typeof call.number === "string" && call.number !== "";
  }

  /** Newest first: event ids grow with every call; the time decides without them. */
  function newestFirst(a, b) {
    if (Number.isInteger(a.call_id) && Number.isInteger(b.call_id)) return b.call_id - a.call_id;
    return (Date.parse(b.at) || 0) - (Date.parse(a.at) || 0);
  }

  /**
   * What the board shows: the newest call of each ticket, newest first (a
   * recall moves the number to the top instead of listing it twice).
   */
  function shownCalls() {
    const out = [];
    const tickets = new Set();
    for (const call of [...state.calls.values()].sort(newestFirst)) {
      const ticket = call.ticket_id !== undefined && call.ticket_id !== null ? call.ticket_id : call.number;
      if (tickets.has(ticket)) continue;
      tickets.add(ticket);
      out.push(call);
      if (out.length > HISTORY) break;
    }
    return out;
  }

  function rememberCall(call) {
    state.calls.set(callKey(call), call);
    if (state.calls.size > KEEP_CALLS) {
      const oldest = [...state.calls.values()].sort(newestFirst).slice(KEEP_CALLS);
      for (const old of oldest) state.calls.delete(callKey(old));
    }
  }

  /** Mark a call as taken in; returns false when it already was. */
  function takeIn(call) {
    const key = callKey(call);
    if (state.seen.has(key)) return false;
    state.seen.add(key);
    if (Number.isInteger(call.call_id) && call.call_id > (state.horizon || 0)) {
      state.horizon = call.call_id;
      storageSet(KEYS.lastCall, String(call.call_id));
    }
    return true;
  }

  // --- Rendering -------------------------------------------------------------

  function counterLabel(counter) {
    if (!counter) return "";
    if (counter.number !== undefined && counter.number !== null) return `Loket ${counter.number}`;
    return counter.name || "";
  }

  /** The counter's own name when it says more than "Loket 3", and its zone. */
  function counterDetail(counter) {
    if (!counter) return "";
    const label = counterLabel(counter);
    const name = counter.name && counter.name.trim().toLowerCase() !== label.toLowerCase() ? counter.name : "";
    return [name, counter.zone].filter(Boolean).join(" · ");
  }

  function agencyName(call) {
    const agency = call.agency || {};
    const known = state.agencies.get(agency.id);
    return agency.name || (known && known.name) || agency.code || "";
  }

  function renderCurrent(call) {
    const box = $("current");
    box.classList.toggle("empty", !call);
    box.classList.toggle("recalled", !!call && call.kind === "recalled");
    box.dataset.callId = call && Number.isInteger(call.call_id) ? String(call.call_id) : "";
    if (!call) {
      setText($("current-label"), "Nomor Antrean");
      setText($("current-number"), "\u2013");
      setText($("current-counter"), "");
      setText($("current-place"), "");
      setText($("current-agency"), "Belum ada panggilan");
      setText($("current-service"), "");
      return;
    }
    setText($("current-label"), call.kind === "recalled" ? "Panggilan Ulang" : "Nomor Antrean");
    setText($("current-number"), call.number);
    setText($("current-counter"), counterLabel(call.counter));
    setText($("current-place"), counterDetail(call.counter));
    setText($("current-agency"), agencyName(call));
    setText($("current-service"), (call.service && call.service.name) || "");
  }

  function historyRow(call) {
    const row = el("li", call.kind === "recalled" ? "row recalled" : "row");
    row.dataset.key = callKey(call);
    row.dataset.number = call.number;
    row.append(el("span", "num", call.number));
    row.append(el("span", "to", counterLabel(call.counter)));
    // The agency's code: a long name cut short helps nobody at a distance.
    const who = el("span", "who");
    who.append(el("span", "agency", (call.agency && call.agency.code) || agencyName(call)));
    if (call.service && call.service.name) who.append(el("span", "service", call.service.name));
    row.append(who);
    if (call.kind === "recalled") row.append(el("span", "again", "Ulang"));
    return row;
  }

  function renderHistory(calls) {
    const list = $("history-list");
    const keys = calls.map(callKey).join("|");
    // Rebuilt only when the list changed, so rows do not flicker on count updates.
    if (list.dataset.keys !== keys || list.dataset.names !== String(state.agencies.size)) {
      list.replaceChildren(...calls.map(historyRow));
      list.dataset.keys = keys;
      list.dataset.names = String(state.agencies.size);
    }
    $("history-empty").hidden = calls.length > 0;
  }

  function renderWaiting() {
    const ids = [...state.waiting.keys()];
    const order = new Map(state.agencyOrder.map((id, i) => [id, i]));
    const known = ids.filter((id) => state.agencies.has(id))
      .sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    const list = $("waiting-list");
    list.dataset.size = known.length > 12 ? "many" : known.length > 5 ? "some" : "few";
    list.replaceChildren(...known.map((id) => {
      const agency = state.agencies.get(id);
      const row = el("li", "agency-count");
      row.dataset.agencyId = String(id);
      row.dataset.agencyCode = agency.code;
      row.append(el("span", "code", agency.code));
      row.append(el("span", "name", agency.name));
      row.append(el("span", "count", state.waiting.get(id)));
      return row;
    }));
  }

  function render() {
    const calls = shownCalls();
    renderCurrent(calls[0] || null);
    renderHistory(calls.slice(1));
    renderWaiting();
  }

  /** The current call blinks for flash_seconds when it is new. */
  function flash() {
    const box = $("current");
    box.classList.remove("flash");
    void box.offsetWidth;  // restart the CSS animation when a second call comes quickly
    box.classList.add("flash");
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => box.classList.remove("flash"), FLASH_MS);
  }

  // --- Date and clock ------------------------------------------------------------

  function siteParts(ms) {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone: config.site.timezone || undefined, hourCycle: "h23",
      year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric",
    });
    const parts = {};
    for (const part of format.formatToParts(new Date(ms))) parts[part.type] = Number(part.value);
    return parts;
  }

  function tick() {
    const now = serverNow();
    let parts;
    try {
      parts = siteParts(now);
    } catch (_err) {
      const local = new Date(now);  // unknown time zone: the TV's own
      parts = { year: local.getFullYear(), month: local.getMonth() + 1, day: local.getDate(),
        hour: local.getHours(), minute: local.getMinutes() };
    }
    const weekday = new Date(Date.UTC(parts.year, parts.month - 1, parts.day)).getUTCDay();
    setText($("date"), `${DAYS[weekday]}, ${parts.day} ${MONTHS[parts.month - 1]} ${parts.year}`);
    const pad = (n) => String(n).padStart(2, "0");
    const zone = ZONE_ABBR[config.site.timezone] || "";
    setText($("clock"), `${pad(parts.hour % 24)}:${pad(parts.minute)}${zone ? " " + zone : ""}`);
    // A new day: yesterday's calls leave the board (the server's snapshot is per day).
    const day = `${parts.year}-${parts.month}-${parts.day}`;
    if (state.siteDay && state.siteDay !== day && socket && socket.connected) socket.emit("resync");
    state.siteDay = day;
    setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  }

  // --- Running text ---------------------------------------------------------------
  // The ticker is a CSS animation; the script only sets its duration once, so
  // the speed is the same for a short and a long text.

  function setupTicker() {
    const track = $("ticker-track");
    const item = track.querySelector(".ticker-item");
    if (!item || !item.textContent.trim()) {
      track.parentElement.hidden = true;
      return;
    }
    const pxPerSecond = Math.max(60, window.innerWidth / 14);
    const seconds = Math.max(10, item.getBoundingClientRect().width / pxPerSecond);
    track.style.setProperty("--ticker-seconds", `${seconds.toFixed(1)}s`);
  }

  // --- Announcer -------------------------------------------------------------------
  //
  // One queue, one announcement at a time: chime, the call in Indonesian
  // (recorded clips, else speech), optionally English speech. Each step waits
  // for its clip's "ended" / the utterance's "end", with a safety timeout so a
  // stuck engine never blocks the queue. Engines, in the order "auto" tries
  // them: clips (manifest loaded and every word recorded), speech with an
  // id-ID voice, speech with any voice, and at least the chime (a WebAudio
  // beep when even the chime file fails): a call is never silent.

  const announcer = {
    queue: [],          // items not yet started
    log: [],            // every announcement queued or started, oldest first
    busy: false,
    manifest: null,     // voice/id/manifest.json, or null when missing
    playback: [],       // record mode: what would have been played
  };
  const sound = {
    enabled: false,
    remembered: storageGet(KEYS.sound) === "on",
  };
  let audioContext = null;
  let ready = Promise.resolve();  // set at start: the manifest loaded and the voices listed
  let liveUtterance = null;  // Chromium drops an utterance nobody references before it ends

  async function loadManifest() {
    try {
      const res = await fetchWithTimeout(`${config.clips}manifest.json`);
      if (!res.ok) return;
      const body = await res.json();
      if (body && typeof body.words === "object" && body.words !== null) {
        announcer.manifest = { format: String(body.format || "wav"), words: body.words, chime: body.chime || null };
      }
    } catch (_err) {
      // No clips (yet): speech and the beep carry the announcements.
    }
  }

  function clipUrl(name, entry) {
    const file = entry && typeof entry.file === "string" && entry.file ? entry.file
      : `${name}.${announcer.manifest.format}`;
    return config.clips + file;
  }

  function allVoices() {
    try { return window.speechSynthesis ? window.speechSynthesis.getVoices() : []; } catch (_err) { return []; }
  }

  /** The voice for a language ("id" or "en"), or null. */
  function voiceFor(lang) {
    const pattern = lang === "id" ? /^(id|in)([-_]|$)/i : /^en([-_]|$)/i;
    return allVoices().find((v) => pattern.test(v.lang || "")) || null;
  }

  function hasClips(words) {
    const manifest = announcer.manifest;
    return !!manifest && Array.isArray(words) && words.length > 0
      && words.every((w) => Object.prototype.hasOwnProperty.call(manifest.words, w));
  }

  /** The engine for the Indonesian part: "clips", "speech" or "chime" (nothing else works). */
  function chooseEngine(clips) {
    const speech = allVoices().length > 0;
    if (config.voice === "speech") return speech ? "speech" : clips ? "clips" : "chime";
    if (config.voice === "clips") return clips ? "clips" : speech ? "speech" : "chime";
    if (clips) return "clips";
    return speech ? "speech" : "chime";
  }

  function announcementOf(call) {
    const a = call.announcement && typeof call.announcement === "object" ? call.announcement : {};
    const counter = counterLabel(call.counter);
    return {
      text: a.id || `Nomor antrean ${call.number}, silakan menuju ${counter || "loket"}.`,
      en: a.en || "",
      words: Array.isArray(a.words) ? a.words.map(String) : null,
    };
  }

  function enqueue(call, bornAt) {
    const spoken = announcementOf(call);
    const item = {
      call_id: Number.isInteger(call.call_id) ? call.call_id : null,
      number: call.number,
      kind: call.kind || "called",
      text: spoken.text,
      en: spoken.en,
      words: spoken.words,
      engine: chooseEngine(hasClips(spoken.words)),  // planned; replaced by what was used
      status: "queued",
      bornAt,
    };
    announcer.log.push(item);
    if (announcer.log.length > 200) announcer.log.splice(0, announcer.log.length - 200);
    announcer.queue.push(item);
    pruneQueue();
    pump();
  }

  /** Without sound, calls pile up: drop what is too old to be useful. */
  function pruneQueue() {
    const now = Date.now();
    const keep = [];
    for (const item of announcer.queue) {
      if (item.status === "queued" && now - item.bornAt > MAX_AGE_MS) item.status = "dropped";
      else keep.push(item);
    }
    // Over the cap the oldest waiting ones go; the one being played stays.
    const first = keep.length && keep[0].status === "playing" ? 1 : 0;
    while (keep.length > MAX_QUEUE) keep.splice(first, 1)[0].status = "dropped";
    announcer.queue = keep;
  }

  /** Announce queued calls one after the other while sound is on. */
  async function pump() {
    if (announcer.busy) return;
    announcer.busy = true;
    try {
      await ready;  // the manifest and the voices decide the engine
      while (sound.enabled && announcer.queue.length) {
        pruneQueue();
        const item = announcer.queue[0];
        if (!item) break;
        item.status = "playing";
        markSpeaking(item);
        const result = await announce(item);
        markSpeaking(null);
        if (result === BLOCKED) {
          item.status = "queued";  // stays first in line until sound is allowed
          soundBlocked();
          break;
        }
        announcer.queue = announcer.queue.filter((queued) => queued !== item);
        item.status = "done";
        if (announcer.queue.length) await sleep(RECORD ? 0 : GAP_MS);
      }
    } finally {
      announcer.busy = false;
    }
  }

  /** body[data-speaking]: the call_id being announced (for diagnostics). */
  function markSpeaking(item) {
    document.body.dataset.speaking = item && item.call_id !== null ? String(item.call_id) : "";
  }

  async function announce(item) {
    item.engine = chooseEngine(hasClips(item.words));
    const chime = await playChime();
    if (chime === BLOCKED) return BLOCKED;
    if (item.engine === "clips") {
      const result = await player().clips(item.words.map((w) => clipUrl(w, announcer.manifest.words[w])),
        item.words.map((w) => announcer.manifest.words[w].ms));
      if (result === OK) return announceEnglish(item);
      if (result === BLOCKED && chime !== OK) return BLOCKED;
      item.fallback = "clips";
      item.engine = allVoices().length ? "speech" : "chime";
    }
    if (item.engine === "speech") {
      const result = await player().speak(item.text, "id-ID", voiceFor("id"));
      if (result !== OK) {
        item.fallback = "speech";
        item.engine = "chime";  // the chime was all that was heard
        if (result === BLOCKED && chime !== OK) return BLOCKED;
        if (result === BLOCKED) soundBlocked();
        return OK;
      }
    }
    return item.engine === "chime" ? OK : announceEnglish(item);
  }

  /** The optional English repeat, only with an English voice (an Indonesian one would garble it). */
  async function announceEnglish(item) {
    if (!config.announce_english || !item.en) return OK;
    const voice = voiceFor("en");
    if (!voice) return OK;
    await sleep(RECORD ? 0 : 300);
    await player().speak(item.en, voice.lang || "en-US", voice);
    return OK;
  }

  async function playChime() {
    const chime = announcer.manifest && announcer.manifest.chime;
    if (chime) {
      const result = await player().clip(clipUrl("chime", chime), chime.ms, "chime");
      if (result !== FAILED) return result;
    }
    return player().beep();
  }

  // --- Players: real audio, or the test recorder ------------------------------------

  function player() {
    return RECORD ? recordPlayer : realPlayer;
  }

  function getAudioContext() {
    if (audioContext) return audioContext;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    try { audioContext = new Context(); } catch (_err) { audioContext = null; }
    return audioContext;
  }

  /** Resolve `result` once: on the event, on failure, or at the safety timeout. */
  function settle(limitMs, start, cleanup) {
    return new Promise((resolve) => {
      let done = false;
      const finish = (result) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        cleanup(result);
        resolve(result);
      };
      const timer = setTimeout(() => finish(FAILED), limitMs);
      start(finish);
    });
  }

  function playAudio(audio, ms) {
    const limit = (Number(ms) > 0 ? Number(ms) : CLIP_MS) + CLIP_SLACK_MS;
    return settle(limit, (finish) => {
      audio.onended = () => finish(OK);
      audio.onerror = () => finish(FAILED);
      if (audio.error) {  // a preloaded clip that already failed (missing file)
        finish(FAILED);
        return;
      }
      let started;
      try { started = audio.play(); } catch (_err) { finish(FAILED); return; }
      if (started && typeof started.catch === "function") {
        started.catch((err) => finish(err && err.name === "NotAllowedError" ? BLOCKED : FAILED));
      }
    }, (result) => {
      audio.onended = audio.onerror = null;
      if (result !== OK) audio.pause();
    });
  }

  const realPlayer = {
    clip(url, ms) {
      const audio = new Audio(url);
      audio.preload = "auto";
      return playAudio(audio, ms);
    },

    /** Words in order; all loaded at once so there is no gap between them. */
    async clips(urls, msList) {
      const audios = urls.map((url) => {
        const audio = new Audio(url);
        audio.preload = "auto";
        return audio;
      });
      for (let i = 0; i < audios.length; i++) {
        const result = await playAudio(audios[i], msList[i]);
        if (result !== OK) {
          // Stop the downloads of this sentence: a hung request must not linger.
          for (const audio of audios) {
            audio.removeAttribute("src");
            audio.load();
          }
          return result;
        }
      }
      return OK;
    },

    /** Two tones made in the page: the chime when no chime file plays. */
    async beep() {
      const ctx = getAudioContext();
      if (!ctx) return FAILED;
      if (ctx.state !== "running") {
        await Promise.race([ctx.resume().catch(() => {}), sleep(RESUME_WAIT_MS)]);
        if (ctx.state !== "running") return BLOCKED;
      }
      const start = ctx.currentTime + 0.02;
      [[880, 0], [660, 0.45]].forEach(([freq, at]) => {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "sine";
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, start + at);
        gain.gain.exponentialRampToValueAtTime(0.5, start + at + 0.03);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.42);
        osc.connect(gain).connect(ctx.destination);
        osc.start(start + at);
        osc.stop(start + at + 0.45);
      });
      await sleep(BEEP_MS);
      return OK;
    },

    speak(text, lang, voice) {
      const synth = window.speechSynthesis;
      if (!synth || typeof window.SpeechSynthesisUtterance !== "function") return Promise.resolve(FAILED);
      if (!allVoices().length) return Promise.resolve(FAILED);
      // Long enough for a slow voice; Chromium sometimes never fires "end".
      const limit = Math.min(30000, 4000 + text.length * 120);
      return settle(limit, (finish) => {
        const utterance = new SpeechSynthesisUtterance(text);
        utterance.lang = lang;
        if (voice) utterance.voice = voice;
        utterance.rate = 0.9;
        utterance.onend = () => finish(OK);
        utterance.onerror = (event) => finish(event && event.error === "not-allowed" ? BLOCKED : FAILED);
        liveUtterance = utterance;
        if (synth.speaking || synth.pending) synth.cancel();  // nothing of ours is playing: a leftover
        synth.speak(utterance);
      }, (result) => {
        if (result === FAILED) synth.cancel();
        liveUtterance = null;
      });
    },
  };

  const recordStart = performance.now();
  const recordPlayer = {
    async record(entry) {
      const start = Math.round(performance.now() - recordStart);
      const item = { ...entry, start, end: null };
      announcer.playback.push(item);
      await sleep(TEST_ITEM_MS);
      item.end = Math.round(performance.now() - recordStart);
      return OK;
    },
    clip(url, _ms, kind) {
      return this.record({ type: kind || "clip", src: url });
    },
    async clips(urls) {
      for (const url of urls) await this.record({ type: "clip", src: url });
      return OK;
    },
    beep() {
      return this.record({ type: "beep" });
    },
    speak(text, lang, voice) {
      if (!allVoices().length) return Promise.resolve(FAILED);
      return this.record({ type: "speech", text, lang, voice: voice ? voice.name : null });
    },
  };

  // --- Sound permission ---------------------------------------------------------------

  function showOverlay(show) {
    $("sound-overlay").hidden = !show;
    if (show) $("sound-enable").focus();
  }

  function setSound(enabled) {
    sound.enabled = enabled;
    document.body.dataset.sound = enabled ? "on" : "off";
  }

  /** Played once before: if the browser lets us play without a gesture, start at once. */
  async function autoplayAllowed() {
    const ctx = getAudioContext();
    if (!ctx) return true;  // no WebAudio: the first play() will tell
    if (ctx.state === "running") return true;
    await Promise.race([ctx.resume().catch(() => {}), sleep(RESUME_WAIT_MS)]);
    return ctx.state === "running";
  }

  async function initSound() {
    if (!sound.remembered) {
      showOverlay(true);
      return;
    }
    if (await autoplayAllowed()) {
      setSound(true);
      pump();
    } else {
      showOverlay(true);
    }
  }

  /** The tap: a user gesture unlocks audio for this page; remember it for later loads. */
  function enableSound() {
    const ctx = getAudioContext();
    if (ctx && ctx.state !== "running") ctx.resume().catch(() => {});
    storageSet(KEYS.sound, "on");
    sound.remembered = true;
    showOverlay(false);
    setSound(true);
    pump();
  }

  /** The browser refused to play: ask for a tap again; the call waits in the queue. */
  function soundBlocked() {
    setSound(false);
    showOverlay(true);
  }

  // --- Data ----------------------------------------------------------------------------

  async function refreshAgencies() {
    clearTimeout(agencyTimer);
    try {
      const res = await fetchWithTimeout(`${API}/agencies`);
      noteDateHeader(res);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      const list = Array.isArray(body.agencies) ? body.agencies : [];
      state.agencies = new Map(list.map((a) => [a.id, {
        code: String(a.code || ""), name: String(a.name_id || a.name || a.code || ""), zone: a.zone || "",
      }]));
      state.agencyOrder = list.map((a) => a.id);
      render();
    } catch (_err) {
      agencyTimer = setTimeout(refreshAgencies, AGENCY_RETRY_MS);
    }
  }

  /** When a call happened, in this browser's clock (the server's clock says how long ago). */
  function bornAt(call) {
    const at = Date.parse(call.at);
    if (!Number.isFinite(at)) return Date.now();
    return Date.now() - Math.max(0, serverNow() - at);
  }

  /**
   * Snapshot calls are shown as the server has them. Of those this page has
   * not taken in yet, the recent ones are announced, oldest first: calls made
   * while the display was offline are not lost, and none is said twice.
   */
  function onSnapshot(data) {
    if (!data || typeof data !== "object") return;
    const calls = (Array.isArray(data.calls) ? data.calls : []).filter(isCall);
    const ids = calls.map((c) => c.call_id).filter(Number.isInteger);
    if (state.firstSnapshot && state.horizon !== null && ids.length && Math.max(...ids) < state.horizon) {
      state.horizon = null;  // the server's history restarted (new database): ours means nothing
    }
    const horizon = state.firstSnapshot ? state.horizon : null;
    state.firstSnapshot = false;
    state.snapshots += 1;

    state.calls = new Map();
    for (const call of calls) rememberCall(call);
    state.waiting = new Map(Object.entries(data.waiting || {}).map(([id, n]) => [Number(id), Number(n) || 0]));

    const fresh = calls.filter((call) => takeIn(call)).sort((a, b) => newestFirst(b, a));
    const announced = new Set();
    for (const call of fresh) {
      const born = bornAt(call);
      if (Date.now() - born > MAX_AGE_MS) continue;
      if (horizon !== null && Number.isInteger(call.call_id) && call.call_id <= horizon) continue;
      enqueue(call, born);
      announced.add(callKey(call));
    }
    render();
    const top = shownCalls()[0];
    if (top && announced.has(callKey(top))) flash();
    if (!announcer.manifest) loadManifest();
    refreshAgencies();
  }

  function onCalled(call) {
    if (!isCall(call)) return;
    noteServerTime(Date.parse(call.at));
    if (!takeIn(call)) return;  // delivered twice (or already in a snapshot)
    rememberCall(call);
    render();
    if (callKey(shownCalls()[0]) === callKey(call)) flash();
    enqueue(call, Date.now());
  }

  function onQueueChanged(data) {
    if (!data || !Number.isInteger(data.agency_id)) return;
    state.waiting.set(data.agency_id, Number(data.waiting) || 0);
    if (!state.agencies.has(data.agency_id)) refreshAgencies();  // a new agency in our zone
    renderWaiting();
  }

  // --- Connection --------------------------------------------------------------------

  /** The mark shows after OFFLINE_MARK_MS of disconnection (counted from the first failure, not the last retry). */
  function setConnected(connected) {
    state.connected = connected;
    document.body.dataset.connected = String(connected);
    if (connected) {
      clearTimeout(offlineTimer);
      offlineTimer = null;
      $("offline").hidden = true;
    } else if (offlineTimer === null && $("offline").hidden) {
      offlineTimer = setTimeout(() => {
        offlineTimer = null;
        $("offline").hidden = state.connected;
      }, OFFLINE_MARK_MS);
    }
  }

  function connectSocket() {
    setConnected(false);
    if (typeof window.io !== "function") return;
    // No auth payload: the session cookie names the display. Reconnection is
    // socket.io's own; the delays are short because a hall waits for calls.
    socket = window.io({ transports: ["websocket", "polling"], reconnectionDelay: 500, reconnectionDelayMax: 3000 });
    socket.on("connect", () => setConnected(true));
    socket.on("disconnect", (reason) => {
      setConnected(false);
      // The server closed us on purpose (e.g. restarting): the client does not retry by itself then.
      if (reason === "io server disconnect") setTimeout(() => socket.connect(), 2000);
    });
    socket.on("connect_error", () => {
      setConnected(false);
      if (!socket.active) setTimeout(() => socket.connect(), 5000);  // refused: try again later
    });
    socket.on("snapshot", onSnapshot);
    // Sent when the servers' message queue is back after an outage: calls made on another
    // server process meanwhile never reached us. A fresh snapshot shows (and announces) them;
    // asking at a random moment spreads the load of every TV asking at once.
    socket.on("resync", () => setTimeout(() => {
      if (socket.connected) socket.emit("resync");
    }, Math.random() * RESYNC_SPREAD_MS));
    socket.on("ticket.called", onCalled);
    socket.on("queue.changed", onQueueChanged);
  }

  // --- For tests and diagnostics ---------------------------------------------------------

  function publicItem(item) {
    return { call_id: item.call_id, number: item.number, kind: item.kind, text: item.text,
      engine: item.engine, status: item.status, fallback: item.fallback || null };
  }

  /** window.display: a read-only summary (copies, never the live state). */
  function exposeState() {
    const summary = {};
    const getters = {
      current: () => {
        const call = shownCalls()[0];
        return call ? { number: call.number, counter: counterLabel(call.counter), call_id: call.call_id,
          kind: call.kind, agency: agencyName(call) } : null;
      },
      calls: () => shownCalls().map((c) => c.number),
      callIds: () => shownCalls().map((c) => c.call_id),
      announced: () => announcer.log.map(publicItem),
      queue: () => announcer.queue.map(publicItem),
      playback: () => announcer.playback.map((p) => ({ ...p })),
      connected: () => state.connected,
      snapshots: () => state.snapshots,
      soundEnabled: () => sound.enabled,
      engine: () => chooseEngine(announcer.manifest !== null),
      manifestLoaded: () => announcer.manifest !== null,
      waiting: () => Object.fromEntries([...state.waiting].map(([id, n]) => [
        state.agencies.has(id) ? state.agencies.get(id).code : String(id), n])),
      record: () => RECORD,
    };
    for (const [key, get] of Object.entries(getters)) {
      Object.defineProperty(summary, key, { get, enumerable: true });
    }
    Object.defineProperty(window, "display", { value: Object.freeze(summary), writable: false });
  }

  // --- Start -----------------------------------------------------------------------------

  function waitForVoices() {
    const synth = window.speechSynthesis;
    if (!synth || allVoices().length) return Promise.resolve();
    return new Promise((resolve) => {
      synth.addEventListener("voiceschanged", resolve, { once: true });
      setTimeout(resolve, VOICES_WAIT_MS);
    });
  }

  exposeState();
  $("history-list").style.setProperty("--rows", String(HISTORY));
  ready = Promise.all([loadManifest(), waitForVoices()]);
  $("sound-enable").addEventListener("click", (event) => {
    event.stopPropagation();
    enableSound();
  });
  $("sound-overlay").addEventListener("click", enableSound);  // any tap on it is the gesture we need
  tick();
  setupTicker();
  window.addEventListener("resize", setupTicker);
  render();
  initSound();
  refreshAgencies();
  connectSocket();
  setInterval(pruneQueue, 30 * 1000);
})();
