/* The visitor's status page: follows one ticket over Socket.IO.
 *
 * The server renders the first state; this script keeps the same elements up
 * to date. Every value is written with textContent (never innerHTML). Events:
 *   snapshot       on every (re)connect and after resync: the whole ticket
 *   ticket.called  a call or recall of this ticket: show the counter, vibrate, beep
 *   ticket.status  any other change; after a transfer, resync to follow the new service
 *   queue.moved    the line moved: the event lists its waiting tickets (ids, in calling
 *                  order) and the estimate's inputs, so the page reads its own place; a
 *                  ticket too far back to be listed refetches GET /api/v1/tickets/<token>
 * Once the ticket is done and its "survey" is "open", the satisfaction survey
 * (templates/survey/form.html, static/survey.js) is shown until it is sent.
 * window.visitor is a read-only summary for tests and integrations.
 */
(function () {
  "use strict";

  var body = document.body;
  var token = body.getAttribute("data-token");
  var lang = body.getAttribute("data-lang") === "en" ? "en" : "id";
  var SOUND_KEY = "antrian.visitor.sound";
  var FINAL = { done: 1, no_show: 1, transferred: 1, cancelled: 1, expired: 1 };

  // The few strings this script writes; they mirror the server's catalogue.
  var STRINGS = {
    id: {
      states: {
        waiting: "Menunggu", called: "Dipanggil", serving: "Sedang dilayani", done: "Selesai",
        no_show: "Tidak hadir", transferred: "Dialihkan", cancelled: "Dibatalkan", expired: "Kedaluwarsa"
      },
      finals: {
        done: "Terima kasih atas kunjungan Anda.",
        no_show: "Anda dipanggil tetapi tidak hadir. Silakan hubungi petugas di loket.",
        transferred: "Tiket Anda sedang dialihkan ke layanan lain.",
        cancelled: "Tiket ini telah dibatalkan.",
        expired: "Tiket ini sudah tidak berlaku karena hari layanannya telah berakhir."
      },
      next: "Anda nomor berikutnya",
      ahead: function (n) { return "Di depan Anda: " + n + " orang"; },
      estimate: function (m) { return "Perkiraan: \u00b1 " + m + " menit"; },
      servingAt: function (c) { return "Anda sedang dilayani di " + c; },
      transferredTo: function (s) { return "Dialihkan ke " + s; },
      soundOn: "Suara aktif",
      soundOff: "Aktifkan suara"
    },
    en: {
      states: {
        waiting: "Waiting", called: "Called", serving: "Being served", done: "Done",
        no_show: "Did not show up", transferred: "Transferred", cancelled: "Cancelled", expired: "Expired"
      },
      finals: {
        done: "Thank you for your visit.",
        no_show: "You were called but did not come. Please ask the officer at the counter.",
        transferred: "Your ticket is being moved to another service.",
        cancelled: "This ticket was cancelled.",
        expired: "This ticket is no longer valid: its service day has ended."
      },
      next: "You are next",
      ahead: function (n) { return "Ahead of you: " + n + (n === 1 ? " person" : " people"); },
      estimate: function (m) { return "Estimated wait: about " + m + " min"; },
      servingAt: function (c) { return "You are being served at " + c; },
      transferredTo: function (s) { return "Transferred to " + s; },
      soundOn: "Sound on",
      soundOff: "Enable sound"
    }
  };
  var S = STRINGS[lang];

  function $(id) { return document.getElementById(id); }
  function show(el, visible) { el.hidden = !visible; }
  function text(el, value) { el.textContent = value == null ? "" : String(value); }

  var state = JSON.parse($("ticket-data").textContent);
  var connected = false;
  var recalled = false;
  var epoch = 0;           // bumped by every socket event; a fetch started earlier is stale
  var socket = null;
  var surveyAnswered = false;  // sent from this page (or refused as already answered)

  // Names in the page's language. Socket.IO payloads are always Indonesian, so
  // an English page keeps the names it got over HTTP, keyed by id.
  var names = { service: {}, agency: {} };

  function learnNames(t) {
    if (t.service) { names.service[t.service.id] = t.service.name; }
    if (t.agency) { names.agency[t.agency.id] = t.agency.name; }
  }

  function copy(t) {
    var out = {};
    for (var k in t) { if (Object.prototype.hasOwnProperty.call(t, k)) { out[k] = t[k]; } }
    return out;
  }

  function fromSocket(t) {
    t = copy(t);
    if (lang === "id") { return t; }
    var missing = false;
    ["service", "agency"].forEach(function (kind) {
      var item = t[kind];
      if (!item) { return; }
      var known = names[kind][item.id];
      if (known === undefined) { missing = true; return; }
      item = copy(item);
      item.name = known;
      t[kind] = item;
    });
    if (missing) { scheduleFetch(0); }
    return t;
  }

  // -- rendering ---------------------------------------------------------

  function render() {
    var t = state;
    var status = t.status;
    var counter = t.counter || null;
    body.setAttribute("data-status", status);
    text($("number"), t.number);
    text($("service"), t.service && t.service.name);
    text($("agency"), t.agency && t.agency.name);
    show($("priority"), !!t.priority && t.priority !== "none");
    var moved = !!t.transferred && status !== "transferred";
    show($("transferred"), moved);
    text($("transferred"), moved ? S.transferredTo(t.service.name) : "");
    text($("state"), S.states[status] || status);

    var waiting = status === "waiting";
    show($("panel-waiting"), waiting);
    var ahead = waiting && typeof t.ahead === "number" ? t.ahead : null;
    show($("ahead"), ahead !== null);
    text($("ahead"), ahead === null ? "" : (ahead === 0 ? S.next : S.ahead(ahead)));
    var minutes = t.estimated_wait_minutes;
    var estimate = ahead !== null && ahead > 0 && typeof minutes === "number" && minutes > 0;
    show($("estimate"), estimate);
    text($("estimate"), estimate ? S.estimate(minutes) : "");

    var called = status === "called";
    show($("panel-called"), called);
    show($("recalled"), called && recalled);
    text($("counter"), called && counter ? counter.name : "");
    show($("zone"), called && !!(counter && counter.zone));
    text($("zone"), called && counter ? counter.zone : "");

    show($("panel-serving"), status === "serving");
    text($("serving-text"), status === "serving" && counter ? S.servingAt(counter.name) : "");

    show($("panel-final"), !!FINAL[status]);
    text($("final-text"), FINAL[status] ? S.finals[status] : "");

    var survey = surveyState();
    show($("panel-survey"), survey === "open");
    show($("panel-thanks"), survey === "answered");

    document.title = (called && counter ? "\u25b6 " + counter.name + " \u00b7 " : "") +
      t.number + " \u00b7 " + (S.states[status] || status);
  }

  function surveyState() {
    if (state.status !== "done") { return null; }
    return surveyAnswered ? "answered" : (state.survey || null);
  }

  function setupSurvey() {
    var form = $("survey-form");
    if (!form || !window.AntrianSurvey) { return; }
    var texts = JSON.parse($("survey-text").textContent);
    function finished(message) {
      surveyAnswered = true;
      text($("thanks-text"), message);
      render();
      $("panel-thanks").focus();
    }
    window.AntrianSurvey.attach(form, {
      texts: texts,
      send: function (payload) {
        return window.AntrianSurvey.postJson(
          "/api/v1/tickets/" + encodeURIComponent(token) + "/survey?lang=" + lang, payload);
      },
      onSaved: function () { finished(texts.thanks); },
      onAnswered: function (message) { finished(message); }
    });
  }

  function update(next, cue) {
    var before = state.status;
    state = next;
    if (next.status !== "called") { recalled = false; }
    render();
    if (next.status === "called" && (cue || before !== "called")) { alertVisitor(); }
  }

  // -- the place in line ------------------------------------------------------

  /* This ticket's place in a queue.moved line, or null when the event does not tell. */
  function placeIn(line) {
    if (!line || !Array.isArray(line.waiting) || typeof line.minutes !== "number" ||
        typeof line.counters !== "number" || line.counters < 1 || typeof state.id !== "number" ||
        !state.service || line.service_id !== state.service.id) {
      return null;
    }
    var place = line.waiting.indexOf(state.id);
    return place < 0 ? null : place;
  }

  var fetchTimer = null;

  function scheduleFetch(delay) {
    if (fetchTimer !== null) { return; }
    fetchTimer = setTimeout(fetchTicket, delay);
  }

  function fetchTicket() {
    fetchTimer = null;
    var started = epoch;
    var url = "/api/v1/tickets/" + encodeURIComponent(token) + "?lang=" + lang;
    fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (t) {
        if (!t || !t.status) { return; }
        learnNames(t);
        if (epoch !== started) { scheduleFetch(500); return; }  // an event overtook it
        var movedService = state.service && t.service && state.service.id !== t.service.id;
        update(t, false);
        // Transferred without this page hearing of it: follow the new service's queue.
        if (movedService && socket && socket.connected) { socket.emit("resync"); }
      })
      .catch(function () { /* the socket's next snapshot will catch up */ });
  }

  // -- call cue: vibration and a short beep --------------------------------

  var audio = null;

  function soundWanted() {
    try { return window.localStorage.getItem(SOUND_KEY) === "on"; } catch (e) { return false; }
  }

  function rememberSound(on) {
    try { window.localStorage.setItem(SOUND_KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }

  function audioContext() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) { return null; }
    if (!audio) {
      try { audio = new AC(); } catch (e) { return null; }
    }
    if (audio.state === "suspended" && audio.resume) {
      var resumed = audio.resume();
      if (resumed && resumed.catch) { resumed.catch(function () {}); }
    }
    return audio;
  }

  function beep() {
    var ctx = audioContext();
    if (!ctx) { return; }
    var now = ctx.currentTime;
    [[880, 0], [660, 0.28], [880, 0.56]].forEach(function (tone) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, now + tone[1]);
      gain.gain.exponentialRampToValueAtTime(0.35, now + tone[1] + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + tone[1] + 0.24);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(now + tone[1]);
      osc.stop(now + tone[1] + 0.26);
    });
  }

  function alertVisitor() {
    if (navigator.vibrate) {
      try { navigator.vibrate([400, 200, 400]); } catch (e) { /* not allowed here */ }
    }
    if (soundWanted()) {
      try { beep(); } catch (e) { /* audio blocked */ }
    }
  }

  function setupSound() {
    var button = $("sound");
    if (!(window.AudioContext || window.webkitAudioContext)) { return; }
    function paint() {
      var on = soundWanted();
      button.setAttribute("aria-pressed", on ? "true" : "false");
      text(button, on ? S.soundOn : S.soundOff);
    }
    button.addEventListener("click", function () {
      var on = !soundWanted();
      rememberSound(on);
      paint();
      if (on) { try { beep(); } catch (e) { /* audio blocked */ } }
    });
    // Sound chosen on an earlier visit: the browser still wants one gesture to unlock audio.
    function unlock() {
      if (soundWanted()) { audioContext(); }
      document.removeEventListener("pointerdown", unlock, true);
      document.removeEventListener("keydown", unlock, true);
    }
    document.addEventListener("pointerdown", unlock, true);
    document.addEventListener("keydown", unlock, true);
    paint();
    show(button, true);
  }

  // -- connection ------------------------------------------------------------

  var markTimer = null;

  function setConnected(value) {
    connected = value;
    body.setAttribute("data-connected", value ? "true" : "false");
    if (value) {
      if (markTimer !== null) { clearTimeout(markTimer); markTimer = null; }
      show($("reconnecting"), false);
    } else if (markTimer === null) {
      // Discreet, and not for a blink: only after a second without a connection.
      markTimer = setTimeout(function () {
        markTimer = null;
        if (!connected) { show($("reconnecting"), true); }
      }, 1000);
    }
  }

  function connect() {
    if (typeof window.io !== "function") { setConnected(false); return; }
    socket = window.io({ auth: { ticket: token }, transports: ["websocket", "polling"] });
    socket.on("connect", function () { setConnected(true); });
    socket.on("disconnect", function () { setConnected(false); });
    socket.on("connect_error", function () {
      setConnected(false);
      // A refusal by the server stops the automatic retries; keep trying, slowly.
      if (!socket.active) { setTimeout(function () { socket.connect(); }, 5000); }
    });
    // The servers' message queue is back after an outage: ask for a fresh snapshot
    // (at a random moment within two seconds, so every phone does not ask at once).
    socket.on("resync", function () {
      setTimeout(function () { if (socket.connected) { socket.emit("resync"); } }, Math.random() * 2000);
    });
    socket.on("snapshot", function (data) {
      if (!data || data.role !== "visitor" || !data.ticket) { return; }
      epoch += 1;
      update(fromSocket(data.ticket), false);
    });
    socket.on("ticket.called", function (call) {
      if (!call || !call.counter) { return; }
      epoch += 1;
      var next = copy(state);
      next.status = "called";
      next.counter = call.counter;
      next.called_at = call.at;
      next.ahead = next.position = next.estimated_wait_minutes = null;
      recalled = call.kind === "recalled";
      update(next, true);
    });
    socket.on("ticket.status", function (msg) {
      if (!msg || !msg.ticket) { return; }
      epoch += 1;
      var next = fromSocket(msg.ticket);
      // The public view has no place in line and no transfer flag: keep or refetch them.
      next.transferred = msg.event === "ticket.issued" ? true : !!state.transferred;
      next.ahead = next.position = next.estimated_wait_minutes = null;
      update(next, false);
      if (msg.event === "ticket.transferred" || msg.event === "ticket.issued") {
        socket.emit("resync");  // the server moves this socket to the new service's room
      } else if (next.status === "waiting") {
        scheduleFetch(0);
      }
    });
    socket.on("queue.moved", function (line) {
      epoch += 1;
      if (state.status !== "waiting") { return; }
      var place = placeIn(line);
      if (place === null) {
        // Not listed (far back in a long line): ask, at a random moment within a few
        // seconds so the phones of a long line do not all ask at once.
        scheduleFetch(500 + Math.random() * 2500);
        return;
      }
      var next = copy(state);
      next.ahead = place;
      next.position = place + 1;
      // The server's own formula (queries.wait_minutes), on the same numbers.
      next.estimated_wait_minutes = Math.ceil(place * line.minutes / line.counters);
      update(next, false);
    });
  }

  // A phone wakes the tab up: make sure the place in line is current.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !FINAL[state.status]) { scheduleFetch(0); }
  });
  // Safety net for what is never pushed (the end-of-day expiry) and for a slow estimate.
  setInterval(function () {
    if (!FINAL[state.status] && document.visibilityState !== "hidden") { scheduleFetch(0); }
  }, 60000);

  Object.defineProperty(window, "visitor", {
    configurable: false,
    writable: false,
    value: Object.freeze({
      get status() { return state.status; },
      get number() { return state.number; },
      get ahead() { return state.status === "waiting" && typeof state.ahead === "number" ? state.ahead : null; },
      get estimatedWaitMinutes() {
        return state.status === "waiting" ? state.estimated_wait_minutes : null;
      },
      get counter() {
        var c = state.counter;
        return c && (state.status === "called" || state.status === "serving")
          ? Object.freeze({ name: c.name, number: c.number, zone: c.zone }) : null;
      },
      get service() { return state.service ? state.service.name : null; },
      get transferred() { return !!state.transferred; },
      get survey() { return surveyState(); },
      get connected() { return connected; }
    })
  });

  learnNames(state);
  setupSurvey();
  render();
  setupSound();
  setConnected(false);
  connect();
})();
