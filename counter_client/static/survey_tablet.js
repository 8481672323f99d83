/*
 * The survey tablet of a counter (/counter/survey).
 *
 * Screens (body[data-screen]): choose (which counter) -> idle -> survey (the
 * ticket just finished here) -> thanks -> idle ...
 *
 * Which ticket to rate comes from GET /api/v1/counters/<id>/survey: asked on
 * every (re)connect, whenever Socket.IO reports a ticket finished at this
 * counter ("ticket.updated" after "subscribe_counter"), and every few seconds
 * as a safety net. The server offers only the latest ticket finished here in
 * the last minutes and not rated yet. Answers go to
 * POST /api/v1/counters/<id>/survey with the login session and CSRF token.
 * Texts come from the server (translated); data goes in with textContent.
 * window.surveyTablet is a read-only summary for tests.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($("tablet-config").textContent);
  const API = config.api || "/api/v1";
  const LANG = config.lang === "en" ? "en" : "id";
  const TEXT = config.texts || {};
  const STORE_KEY = "antrian.surveyTablet.counter";
  const { setText } = window.AntrianDom;

  const state = {
    screen: "choose",
    counterId: null,
    ticket: null,         // the ticket the survey screen is about
    skipped: new Set(),   // ticket ids the visitor chose not to rate
    connected: false,
  };
  let socket = null;
  let thanksTimer = null;
  let refreshTimer = null;
  let asking = 0;         // bumped per request: an older answer is ignored

  // --- screens ---------------------------------------------------------------

  function show(screen) {
    state.screen = screen;
    document.body.dataset.screen = screen;
    for (const section of document.querySelectorAll("[data-screen-id]")) {
      section.hidden = section.dataset.screenId !== screen;
    }
    $("switch-counter").hidden = screen === "choose";
    window.scrollTo(0, 0);
  }

  function counterById(id) {
    return (config.counters || []).find((c) => c.id === id) || null;
  }

  function chooseError(message) {
    setText($("choose-error"), message || "");
    $("choose-error").hidden = !message;
  }

  function toChoose(message) {
    state.counterId = null;
    state.ticket = null;
    try { window.localStorage.removeItem(STORE_KEY); } catch (_err) { /* private mode */ }
    history.replaceState(null, "", window.location.pathname + window.location.search);
    setText($("where"), "");
    chooseError(message);
    show("choose");
  }

  function enter(id) {
    const counter = counterById(id);
    if (!counter) { toChoose(TEXT.notYours); return; }
    state.counterId = id;
    state.ticket = null;
    try { window.localStorage.setItem(STORE_KEY, String(id)); } catch (_err) { /* private mode */ }
    history.replaceState(null, "", `#counter=${id}`);
    setText($("where"), [counter.name, counter.code, counter.zone].filter(Boolean).join(" · "));
    chooseError("");
    show("idle");
    subscribe();
    refresh();
  }

  function toIdle() {
    state.ticket = null;
    show("idle");
  }

  function offer(ticket) {
    state.ticket = ticket;
    form.reset();
    setText($("survey-number"), TEXT.ticket ? TEXT.ticket.replace("%(number)s", ticket.number) : ticket.number);
    setText($("survey-service"), ticket.service ? ticket.service.name : "");
    show("survey");
  }

  function thank(message) {
    state.ticket = null;
    setText($("thanks-text"), message || TEXT.thanks);
    show("thanks");
    clearTimeout(thanksTimer);
    thanksTimer = setTimeout(() => {
      thanksTimer = null;
      toIdle();
      refresh();  // a ticket finished meanwhile is offered at once
    }, (config.thanks_seconds || 8) * 1000);
  }

  // --- the server --------------------------------------------------------------

  async function refresh() {
    const id = state.counterId;
    if (id === null) return;
    const mine = ++asking;
    let res;
    try {
      res = await fetch(`${API}/counters/${id}/survey?lang=${LANG}`, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
    } catch (_err) {
      return;  // offline: the next event or poll tries again
    }
    if (mine !== asking || id !== state.counterId) return;
    if (res.status === 401) { window.location.reload(); return; }  // logged out: to the login form
    if (res.status === 403 || res.status === 404) { toChoose(TEXT.notYours); return; }
    if (!res.ok) return;
    let data = null;
    try { data = await res.json(); } catch (_err) { return; }
    apply(data && data.ticket);
  }

  function apply(ticket) {
    if (state.screen === "thanks" || state.screen === "choose") return;  // refreshed after the thanks
    const wanted = ticket && !state.skipped.has(ticket.id) ? ticket : null;
    if (wanted === null) {
      if (state.screen === "survey") toIdle();  // rated elsewhere, or too long ago
      return;
    }
    if (state.screen === "survey" && state.ticket && state.ticket.id === wanted.id) return;
    offer(wanted);  // a newer finish replaces an unanswered older one
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 200);
  }

  const form = window.AntrianSurvey.attach($("survey-form"), {
    texts: TEXT,
    send(payload) {
      const ticket = state.ticket;
      if (!ticket) return Promise.resolve({ ok: false, status: 409, code: "survey_closed", message: "" });
      return window.AntrianSurvey.postJson(
        `${API}/counters/${state.counterId}/survey?lang=${LANG}`,
        { ticket_id: ticket.id, scores: payload.scores, suggestion: payload.suggestion },
        { "X-CSRFToken": config.csrf_token }, "same-origin");
    },
    onSaved() { thank(TEXT.thanks); },
    onAnswered(message) { thank(message); },
  });

  // --- realtime ----------------------------------------------------------------

  function setConnected(value) {
    state.connected = value;
    document.body.dataset.connected = String(value);
    $("offline").hidden = value;
  }

  function subscribe() {
    if (!socket || !socket.connected || state.counterId === null) return;
    socket.emit("subscribe_counter", { counter_id: state.counterId });
  }

  function connect() {
    if (typeof window.io !== "function") return;  // polling alone still works
    socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", () => {
      setConnected(true);
      subscribe();
      refresh();
    });
    socket.on("disconnect", () => setConnected(false));
    socket.on("connect_error", () => {
      setConnected(false);
      if (!socket.active) setTimeout(() => socket.connect(), 5000);
    });
    // The servers' message queue is back after an outage: catch up as after a reconnect.
    socket.on("resync", () => setTimeout(() => {
      if (socket.connected) { subscribe(); refresh(); }
    }, Math.random() * 2000));
    socket.on("ticket.updated", (data) => {
      const ticket = data && data.ticket;
      if (!ticket || !ticket.counter || ticket.counter.id !== state.counterId) return;
      if (ticket.status === "done") scheduleRefresh();
    });
  }

  // --- start ---------------------------------------------------------------------

  for (const button of document.querySelectorAll("#counter-list [data-counter]")) {
    button.addEventListener("click", () => enter(Number(button.dataset.counter)));
  }
  $("switch-counter").addEventListener("click", () => toChoose(""));
  $("survey-skip").addEventListener("click", () => {
    if (state.ticket) state.skipped.add(state.ticket.id);
    toIdle();
  });
  setInterval(() => {
    if (state.counterId !== null && state.screen !== "thanks") refresh();
  }, (config.poll_seconds || 15) * 1000);

  Object.defineProperty(window, "surveyTablet", {
    configurable: false,
    writable: false,
    value: Object.freeze({
      get screen() { return state.screen; },
      get counterId() { return state.counterId; },
      get ticketNumber() { return state.ticket ? state.ticket.number : null; },
      get connected() { return state.connected; },
    }),
  });

  setConnected(false);
  connect();
  const fromHash = /^#counter=(\d+)$/.exec(window.location.hash || "");
  let saved = null;
  try { saved = window.localStorage.getItem(STORE_KEY); } catch (_err) { saved = null; }
  const start = fromHash ? Number(fromHash[1]) : (saved ? Number(saved) : null);
  if (start !== null && counterById(start)) enter(start);
  else show("choose");
})();
