/*
 * Antrian counter page: the officer's screen at a service counter.
 *
 * Screens (named in body[data-screen]):
 *   loading -> choose (the counters the officer may operate) -> work (one counter)
 *
 * Everything goes through the JSON API with the login session (writes carry
 * the page's CSRF token in X-CSRFToken); the server enforces every rule and
 * this page only shows its answers, errors included (error.message, in the
 * page's language). Socket.IO keeps the page live: after each (re)connect the
 * page sends "subscribe_counter" and fetches the counter, its queue and the
 * officer's figures again (the server forgets rooms when it restarts); then
 * "ticket.updated", "counter.updated" and "queue.changed" keep it in step, so
 * two browsers on the same counter show the same thing.
 *
 * Everything shown comes from the configuration or the server and goes into
 * the page with textContent/createElement only, never as HTML.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($("counter-config").textContent);
  const API = config.api || "/api/v1";
  const LANG = document.documentElement.lang === "en" ? "en" : "id";
  const ME = config.user || {};
  const IS_ADMIN = ME.role === "admin";
  const ACTIVE = ["called", "serving"];
  const ENDED = ["done", "no_show", "transferred"];
  const REQUEST_TIMEOUT_MS = 10000;
  const EVENT_DEBOUNCE_MS = 250;        // a burst of events costs one refetch
  const SAFETY_REFRESH_MS = 30000;      // belt and braces: refetch now and then anyway
  const NOTICE_MS = 6000;
  const TRANSFER_LIST_MAX = 60;

  // --- Texts ----------------------------------------------------------------

  const TEXT = {
    id: {
      loading: "Memuat...",
      offline: "Tidak terhubung",
      switchCounter: "Ganti loket",
      logout: "Keluar",
      dismiss: "Tutup pesan",
      chooseCounter: "Pilih loket",
      chooseLead: "Pilih loket tempat Anda bertugas. Loket yang tutup akan dibuka atas nama Anda.",
      noCounters: "Tidak ada loket untuk instansi Anda.",
      stateOpen: "Buka",
      statePaused: "Istirahat",
      stateClosed: "Tutup",
      by: (name) => `oleh ${name}`,
      byYou: "oleh Anda",
      serving: (number) => `melayani ${number}`,
      current: "Tiket saat ini",
      noTicket: "Belum ada tiket yang dipanggil.",
      hintCall: "Tekan Spasi atau F1 untuk memanggil pengunjung berikutnya.",
      hintEmpty: "Belum ada yang menunggu. Tombol panggil aktif lagi saat ada pengunjung.",
      hintClosed: "Loket tutup. Tekan P atau \"Buka loket\" untuk mulai melayani.",
      hintPaused: "Loket sedang istirahat. Tekan P atau \"Lanjutkan\" untuk melayani lagi.",
      hintTaken: (name) => `Loket ini sedang digunakan ${name}.`,
      statusCalled: "Dipanggil",
      statusServing: "Sedang dilayani",
      recalls: (n) => `dipanggil ulang ${n}×`,
      transferredMark: "dialihkan",
      waited: "Lama menunggu",
      sinceCall: "Sejak dipanggil",
      servingFor: "Lama dilayani",
      note: (text) => `Catatan: ${text}`,
      prio: { elderly: "Lansia", disabled: "Disabilitas", pregnant: "Ibu hamil / bayi" },
      priorityBadge: (p) => `Prioritas: ${p}`,
      actCallNext: "Panggil berikutnya",
      keyCallNext: "Spasi / F1",
      actRecall: "Panggil ulang",
      actStart: "Mulai layani",
      actFinish: "Selesai",
      actNoShow: "Tidak hadir",
      actTransfer: "Alihkan",
      actCall: "Panggil nomor",
      actPause: "Istirahat",
      actResume: "Lanjutkan",
      actOpen: "Buka loket",
      actClose: "Tutup loket",
      actions: "Tindakan",
      queueTitle: "Antrean menunggu",
      queueCount: (n) => `${n} menunggu`,
      queueLongest: (d) => `terlama ${d}`,
      queueEmpty: "Belum ada yang menunggu.",
      mineTitle: "Kinerja saya hari ini",
      served: "Dilayani",
      avgService: "Rata-rata layanan",
      noShows: "Tidak hadir",
      transferred: "Dialihkan",
      reprintLabel: "Cetak ulang tiket",
      reprintButton: "Cetak ulang",
      reprintWhich: "Ketik nomor tiket yang akan dicetak ulang.",
      reprinted: (n) => `Tiket ${n} dikirim ke printer untuk dicetak ulang.`,
      reprintUnknown: (n) => `Tiket ${n} tidak ditemukan di antrean loket ini hari ini.`,
      called: (n, c) => `${n} dipanggil ke ${c}.`,
      queueEmptyNotice: "Tidak ada pengunjung yang menunggu.",
      recalled: (n) => `${n} dipanggil ulang.`,
      started: (n) => `Melayani ${n}.`,
      finished: (n) => `${n} selesai dilayani.`,
      noShowDone: (n) => `${n} ditandai tidak hadir.`,
      transferredTo: (n, s) => `${n} dialihkan ke ${s}.`,
      pausedNotice: (c) => `${c} istirahat.`,
      openedNotice: (c) => `${c} dibuka.`,
      closedNotice: (c) => `${c} ditutup.`,
      cancel: "Batal",
      confirmNoShowTitle: "Tandai tidak hadir?",
      confirmNoShowText: (n) => `Tiket ${n} ditandai tidak hadir. Nomor ini masih dapat dipanggil lagi hari ini.`,
      confirmNoShowOk: "Ya, tidak hadir",
      confirmCloseTitle: "Tutup loket?",
      confirmCloseText: (c) => `${c} ditutup dan tidak memanggil antrean lagi sampai dibuka kembali.`,
      confirmCloseOk: "Ya, tutup loket",
      transferTitle: "Alihkan tiket",
      transferLead: (n) => `Alihkan ${n} ke layanan lain, di instansi mana pun. Pengunjung tetap memakai nomornya dan urutan kedatangannya.`,
      transferSearch: "Cari layanan (nama atau kode)",
      transferNote: "Catatan (opsional)",
      transferOk: "Alihkan",
      transferNone: "Tidak ada layanan yang cocok.",
      transferLoading: "Memuat daftar layanan...",
      transferPick: "Pilih layanan tujuan.",
      callTitle: "Panggil nomor tertentu",
      callLabel: "Nomor tiket",
      callOk: "Panggil",
      callInvalid: "Ketik nomor tiket, misalnya A012.",
      callNotFound: (n, c) => `Nomor ${n} tidak ada di antrean ${c}.`,
      finishTitle: "Catatan penyelesaian",
      finishLead: (s) => `Layanan ${s} memerlukan catatan sebelum diselesaikan.`,
      finishNote: "Catatan",
      finishOk: "Selesai",
      finishEmpty: "Catatan wajib diisi.",
      networkError: "Server tidak dapat dihubungi. Periksa jaringan lalu coba lagi.",
      serverError: "Terjadi kesalahan di server. Silakan coba lagi.",
      subscribe: {
        counter_not_found: "Loket itu tidak ditemukan.",
        not_your_counter: "Anda tidak boleh mengoperasikan loket itu.",
      },
    },
    en: {
      loading: "Loading...",
      offline: "Offline",
      switchCounter: "Change counter",
      logout: "Log out",
      dismiss: "Dismiss",
      chooseCounter: "Choose a counter",
      chooseLead: "Choose the counter you work at. A closed counter is opened in your name.",
      noCounters: "Your agency has no counters.",
      stateOpen: "Open",
      statePaused: "On a break",
      stateClosed: "Closed",
      by: (name) => `by ${name}`,
      byYou: "by you",
      serving: (number) => `serving ${number}`,
      current: "Current ticket",
      noTicket: "No ticket called yet.",
      hintCall: "Press Space or F1 to call the next visitor.",
      hintEmpty: "Nobody is waiting. Calling is possible again as soon as someone arrives.",
      hintClosed: "The counter is closed. Press P or \"Open counter\" to start serving.",
      hintPaused: "The counter is on a break. Press P or \"Resume\" to serve again.",
      hintTaken: (name) => `This counter is being used by ${name}.`,
      statusCalled: "Called",
      statusServing: "Being served",
      recalls: (n) => `recalled ${n}×`,
      transferredMark: "transferred",
      waited: "Waited",
      sinceCall: "Since the call",
      servingFor: "Serving for",
      note: (text) => `Note: ${text}`,
      prio: { elderly: "Elderly", disabled: "Disability", pregnant: "Pregnant / baby" },
      priorityBadge: (p) => `Priority: ${p}`,
      actCallNext: "Call next",
      keyCallNext: "Space / F1",
      actRecall: "Recall",
      actStart: "Start serving",
      actFinish: "Finish",
      actNoShow: "No-show",
      actTransfer: "Transfer",
      actCall: "Call a number",
      actPause: "Pause",
      actResume: "Resume",
      actOpen: "Open counter",
      actClose: "Close counter",
      actions: "Actions",
      queueTitle: "Waiting",
      queueCount: (n) => `${n} waiting`,
      queueLongest: (d) => `longest ${d}`,
      queueEmpty: "Nobody is waiting.",
      mineTitle: "My figures today",
      served: "Served",
      avgService: "Average service",
      noShows: "No-shows",
      transferred: "Transferred",
      reprintLabel: "Reprint a ticket",
      reprintButton: "Reprint",
      reprintWhich: "Type the number of the ticket to reprint.",
      reprinted: (n) => `Ticket ${n} was sent to the printer again.`,
      reprintUnknown: (n) => `Ticket ${n} is not in this counter's queue today.`,
      called: (n, c) => `${n} called to ${c}.`,
      queueEmptyNotice: "Nobody is waiting.",
      recalled: (n) => `${n} called again.`,
      started: (n) => `Serving ${n}.`,
      finished: (n) => `${n} finished.`,
      noShowDone: (n) => `${n} marked as no-show.`,
      transferredTo: (n, s) => `${n} transferred to ${s}.`,
      pausedNotice: (c) => `${c} is on a break.`,
      openedNotice: (c) => `${c} is open.`,
      closedNotice: (c) => `${c} is closed.`,
      cancel: "Cancel",
      confirmNoShowTitle: "Mark as no-show?",
      confirmNoShowText: (n) => `Ticket ${n} is marked as absent. The number can still be called again today.`,
      confirmNoShowOk: "Yes, no-show",
      confirmCloseTitle: "Close the counter?",
      confirmCloseText: (c) => `${c} is closed and calls nobody until it is opened again.`,
      confirmCloseOk: "Yes, close it",
      transferTitle: "Transfer the ticket",
      transferLead: (n) => `Send ${n} to another service of any agency. The visitor keeps the number and the place by arrival.`,
      transferSearch: "Search a service (name or code)",
      transferNote: "Note (optional)",
      transferOk: "Transfer",
      transferNone: "No service matches.",
      transferLoading: "Loading services...",
      transferPick: "Choose the target service.",
      callTitle: "Call a specific number",
      callLabel: "Ticket number",
      callOk: "Call",
      callInvalid: "Type a ticket number, e.g. A012.",
      callNotFound: (n, c) => `Number ${n} is not waiting at ${c}.`,
      finishTitle: "Finishing note",
      finishLead: (s) => `${s} needs a note before it is finished.`,
      finishNote: "Note",
      finishOk: "Finish",
      finishEmpty: "A note is required.",
      networkError: "The server cannot be reached. Check the network and try again.",
      serverError: "The server had a problem. Please try again.",
      subscribe: {
        counter_not_found: "That counter does not exist.",
        not_your_counter: "You may not operate that counter.",
      },
    },
  };

  function t(key, ...args) {
    const entry = key in TEXT[LANG] ? TEXT[LANG][key] : TEXT.id[key];
    return typeof entry === "function" ? entry(...args) : entry;
  }

  // --- State ------------------------------------------------------------------

  const state = {
    screen: "loading",
    counters: new Map(),   // id -> counter (config entry, completed by GET /counters and events)
    counterId: null,       // the counter on the work screen
    counter: null,         // as GET /counters/<id>
    queue: null,           // waiting tickets (staff view) in calling order; null = unknown
    services: new Map(),   // service id -> {id, code, name, agency, note_required, active, search}
    servicesLoaded: false,
    figures: null,         // GET /me/today
    seen: new Map(),       // normalised number -> newest staff view seen (calls of no-shows, reprints)
    connected: false,
    busy: false,
    message: null,
    notice: null,
    clockOffset: 0,        // server time - local time (ms), from the Date header of answers
  };
  let socket = null;
  let counterSeq = 0;
  let queueSeq = 0;
  let counterTimer = null;
  let queueTimer = null;
  let figuresTimer = null;
  let countersTimer = null;
  let noticeTimer = null;
  let spaceHandled = false;
  let pendingAction = null;

  for (const c of config.counters || []) state.counters.set(c.id, { ...c, state: null, officer: null });

  // --- Small helpers ------------------------------------------------------------

  const { el, setText, setAvailable } = window.AntrianDom;  // queue_server/static/dom.js

  /** ISO time with microseconds ("...T09:10:03.707972Z") to epoch ms. */
  function parseTime(iso) {
    if (!iso) return null;
    const trimmed = String(iso).replace(/(\.\d{3})\d+/, "$1");
    const ms = Date.parse(trimmed);
    return Number.isNaN(ms) ? null : ms;
  }

  function serverNow() {
    return Date.now() + state.clockOffset;
  }

  function secondsSince(iso) {
    const at = parseTime(iso);
    return at === null ? null : Math.max(0, Math.floor((serverNow() - at) / 1000));
  }

  /** 75 -> "01:15", 3700 -> "1:01:40". */
  function duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    const mm = String(m).padStart(2, "0");
    const ss = String(sec).padStart(2, "0");
    return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  /** "a 12", "A-012" and "A012" are the same ticket number. */
  function normalNumber(text) {
    const compact = String(text || "").toUpperCase().replace(/[\s\-_.]/g, "");
    const match = /^([A-Z]*)(\d+)$/.exec(compact);
    return match ? `${match[1]}${Number(match[2])}` : null;
  }

  function priorityLabel(priority) {
    const names = t("prio");
    return names[priority] || null;
  }

  function serviceName(ticket) {
    const service = ticket && ticket.service ? state.services.get(ticket.service.id) : null;
    if (service) return service.name;
    return ticket && ticket.service ? ticket.service.name : "";
  }

  function counterLabel(counter) {
    return counter ? counter.name || counter.code || "" : "";
  }

  // --- Server clock ----------------------------------------------------------------
  // Timers count from server times; a PC clock that is minutes off must not
  // show a visitor waiting -3:00. The Date header has whole seconds, so small
  // differences are ignored.

  function noteServerClock(res) {
    const header = res.headers.get("Date");
    const at = header ? Date.parse(header) : NaN;
    if (Number.isNaN(at)) return;
    const offset = at + 500 - Date.now();
    state.clockOffset = Math.abs(offset) > 2000 ? offset : 0;
  }

  // --- API ------------------------------------------------------------------------

  async function api(method, path, body) {
    const url = `${API}${path}${path.includes("?") ? "&" : "?"}lang=${LANG}`;
    const headers = { Accept: "application/json" };
    const options = { method, credentials: "same-origin", cache: "no-store", headers };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = config.csrf_token;
      options.body = JSON.stringify(body || {});
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    options.signal = controller.signal;
    let res;
    try {
      res = await fetch(url, options);
    } catch (_err) {
      return { ok: false, status: 0, code: "network", message: t("networkError"), data: null };
    } finally {
      clearTimeout(timer);
    }
    noteServerClock(res);
    let data = null;
    try { data = await res.json(); } catch (_err) { data = null; }
    if (res.ok) return { ok: true, status: res.status, data };
    const error = (data && data.error) || {};
    const answer = {
      ok: false, status: res.status, code: error.code || `http_${res.status}`,
      message: error.message || (res.status >= 500 ? t("serverError") : t("networkError")),
      details: error.details || {}, data,
    };
    if (answer.code === "unauthorized" || answer.code === "csrf_failed") {
      // Logged out elsewhere or a stale page: a reload leads to the login form or a fresh token.
      setTimeout(() => window.location.reload(), 2500);
    }
    return answer;
  }

  // --- Messages ---------------------------------------------------------------------

  function showError(text) {
    state.message = text || null;
    $("message").hidden = !state.message;
    setText($("message-text"), state.message || "");
  }

  function clearError() {
    showError(null);
  }

  function showNotice(text) {
    state.notice = text || null;
    $("notice").hidden = !state.notice;
    setText($("notice"), state.notice || "");
    clearTimeout(noticeTimer);
    if (state.notice) noticeTimer = setTimeout(() => showNotice(null), NOTICE_MS);
  }

  // --- Data -------------------------------------------------------------------------

  function remember(ticket) {
    if (!ticket || !ticket.number) return;
    const key = normalNumber(ticket.number);
    if (!key) return;
    const known = state.seen.get(key);
    // The newest leg wins: a transfer's new leg has a higher id than the old one.
    if (!known || known.id <= ticket.id) state.seen.set(key, ticket);
  }

  function storeCounter(counter) {
    if (!counter || counter.id === undefined) return;
    const known = state.counters.get(counter.id) || {};
    state.counters.set(counter.id, { ...known, ...counter });
  }

  function applyCounter(counter) {
    if (!counter) return;
    storeCounter(counter);
    if (counter.id !== state.counterId) return;
    state.counter = { ...counter };
    delete state.counter.ticket;
    delete state.counter.queue_empty;
    if (counter.current_ticket) remember(counter.current_ticket);
  }

  function applyQueue(tickets) {
    state.queue = Array.isArray(tickets) ? tickets.slice() : null;
    for (const ticket of state.queue || []) remember(ticket);
  }

  async function loadServices() {
    const res = await api("GET", "/agencies");
    if (!res.ok || !res.data || !Array.isArray(res.data.agencies)) return;
    state.services.clear();
    for (const agency of res.data.agencies) {
      for (const service of agency.services || []) {
        const search = [service.name, service.name_id, service.name_en, service.code,
          agency.code, agency.name, agency.name_id, agency.name_en].filter(Boolean).join(" ").toLowerCase();
        state.services.set(service.id, {
          id: service.id, code: service.code, name: service.name || service.name_id || service.code,
          agency: { id: agency.id, code: agency.code, name: agency.name || agency.name_id },
          note_required: Boolean(service.note_required),
          active: service.active !== false && agency.active !== false,
          search,
        });
      }
    }
    state.servicesLoaded = true;
    render();
  }

  async function refreshCounters() {
    const res = await api("GET", "/counters");
    if (!res.ok || !res.data || !Array.isArray(res.data.counters)) return false;
    for (const counter of res.data.counters) storeCounter(counter);
    if (state.screen === "choose") renderChoose();
    return true;
  }

  async function refreshCounter() {
    const id = state.counterId;
    if (id === null) return;
    const seq = ++counterSeq;
    const res = await api("GET", `/counters/${id}`);
    if (seq !== counterSeq || id !== state.counterId) return;
    if (res.ok) {
      applyCounter(res.data);
    } else if (res.status === 404 || res.status === 403) {
      showError(res.message);
      leaveCounter();
      return;
    }
    render();
  }

  async function refreshQueue() {
    const id = state.counterId;
    if (id === null) return;
    const seq = ++queueSeq;
    const res = await api("GET", `/counters/${id}/queue`);
    if (seq !== queueSeq || id !== state.counterId) return;
    if (res.ok && res.data && Array.isArray(res.data.tickets)) {
      applyQueue(res.data.tickets);
      render();
    }
  }

  async function refreshFigures() {
    const res = await api("GET", "/me/today");
    if (res.ok && res.data) {
      state.figures = res.data;
      renderFigures();
    }
  }

  function refreshWork() {
    refreshCounter();
    refreshQueue();
    refreshFigures();
  }

  function scheduleCounterRefresh() {
    clearTimeout(counterTimer);
    counterTimer = setTimeout(refreshCounter, EVENT_DEBOUNCE_MS);
  }

  function scheduleFiguresRefresh() {
    clearTimeout(figuresTimer);
    figuresTimer = setTimeout(refreshFigures, EVENT_DEBOUNCE_MS * 2);
  }

  function scheduleQueueRefresh() {
    clearTimeout(queueTimer);
    queueTimer = setTimeout(refreshQueue, EVENT_DEBOUNCE_MS);
  }

  // --- Screens ----------------------------------------------------------------------

  function show(screen) {
    state.screen = screen;
    document.body.dataset.screen = screen;
    for (const section of document.querySelectorAll("[data-screen-id]")) {
      section.hidden = section.dataset.screenId !== screen;
    }
    $("switch-counter").hidden = screen !== "work";
    render();
  }

  function enterCounter(counter) {
    state.counterId = counter.id;
    state.counter = null;
    state.queue = null;
    applyCounter(counter);
    if (window.location.hash !== `#counter=${counter.id}`) {
      window.history.replaceState(null, "", `#counter=${counter.id}`);
    }
    show("work");
    subscribe();
    refreshWork();
  }

  function leaveCounter() {
    state.counterId = null;
    state.counter = null;
    state.queue = null;
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    show("choose");
    refreshCounters();
  }

  /** Choose a counter: a closed one is opened in the officer's name first. */
  async function chooseCounter(id) {
    if (state.busy) return;
    const known = state.counters.get(id);
    const mine = known && known.officer && known.officer.id === ME.id && known.state !== "closed";
    if (mine) {
      clearError();
      enterCounter(known);
      return;
    }
    state.busy = true;
    renderChoose();
    const res = await api("POST", `/counters/${id}/open`);
    state.busy = false;
    if (res.ok) {
      clearError();
      enterCounter(res.data);
      showNotice(t("openedNotice", counterLabel(res.data)));
    } else {
      showError(res.message);
      renderChoose();
      refreshCounters();
    }
  }

  // --- Rendering: choice screen ---------------------------------------------------------

  function stateText(counter) {
    if (counter.state === "open") return t("stateOpen");
    if (counter.state === "paused") return t("statePaused");
    if (counter.state === "closed") return t("stateClosed");
    return "";
  }

  function staffText(counter) {
    if (!counter.officer || counter.state === "closed") return "";
    return counter.officer.id === ME.id ? t("byYou") : t("by", counter.officer.name);
  }

  function renderChoose() {
    const list = $("counter-list");
    const counters = Array.from(state.counters.values())
      .filter((c) => (config.counters || []).some((k) => k.id === c.id))
      .sort((a, b) => (a.number - b.number) || (a.id - b.id));
    $("counter-empty").hidden = counters.length > 0;
    const keys = counters.map((c) => String(c.id));
    const same = list.children.length === keys.length
      && Array.from(list.children).every((child, i) => child.dataset.counterId === keys[i]);
    if (!same) {
      list.replaceChildren(...counters.map((c) => {
        const button = el("button", "counter-card");
        button.type = "button";
        button.dataset.counterId = String(c.id);
        for (const part of ["num", "name", "meta", "state", "staff", "ticket"]) button.append(el("span", part));
        return button;
      }));
    }
    counters.forEach((c, i) => {
      const button = list.children[i];
      button.dataset.state = c.state || "unknown";
      button.dataset.code = c.code;
      const mine = c.officer && c.officer.id === ME.id && c.state !== "closed";
      const taken = c.officer && c.officer.id !== ME.id && c.state !== "closed";
      button.classList.toggle("mine", Boolean(mine));
      button.classList.toggle("taken", Boolean(taken));
      setText(button.querySelector(".num"), c.number);
      setText(button.querySelector(".name"), c.name);
      setText(button.querySelector(".meta"), [c.code, c.zone].filter(Boolean).join(" · "));
      setText(button.querySelector(".state"), stateText(c));
      setText(button.querySelector(".staff"), staffText(c));
      const current = c.current_ticket;
      setText(button.querySelector(".ticket"), current ? t("serving", current.number) : "");
      setAvailable(button, !state.busy);
    });
  }

  // --- Rendering: work screen -----------------------------------------------------------

  function current() {
    const ticket = state.counter && state.counter.current_ticket;
    return ticket && ACTIVE.includes(ticket.status) ? ticket : null;
  }

  /** Staffed by somebody else (an admin may still act on it). */
  function takenBy() {
    const counter = state.counter;
    if (!counter || counter.state === "closed" || !counter.officer) return null;
    return counter.officer.id === ME.id ? null : counter.officer;
  }

  function canOperate() {
    return Boolean(state.counter) && (!takenBy() || IS_ADMIN);
  }

  /** Whether an action can apply now; the server decides in the end. */
  function available(action) {
    const counter = state.counter;
    if (!counter || !canOperate()) return false;
    const ticket = current();
    const open = counter.state === "open";
    switch (action) {
      case "call-next": return open && !ticket && (state.queue === null || state.queue.length > 0);
      case "call": return open && !ticket;
      case "recall":
      case "start":
      case "no-show": return open && Boolean(ticket) && ticket.status === "called";
      case "finish":
      case "transfer": return open && Boolean(ticket);
      case "pause":
        if (counter.state === "open") return !ticket;
        return !(takenBy() && IS_ADMIN);  // an admin cannot open a counter someone else staffs
      case "close": return counter.state !== "closed" && !ticket;
      default: return false;
    }
  }

  function pauseLabel() {
    const s = state.counter ? state.counter.state : "closed";
    if (s === "open") return t("actPause");
    if (s === "paused") return t("actResume");
    return t("actOpen");
  }

  function renderHeader() {
    const where = $("where");
    if (state.screen === "work" && state.counter) {
      const c = state.counter;
      setText(where, [c.name, c.code, c.zone].filter(Boolean).join(" · "));
    } else {
      setText(where, "");
    }
  }

  function renderCurrent() {
    const counter = state.counter;
    const ticket = current();
    const panel = $("current");
    panel.dataset.status = ticket ? ticket.status : "none";
    panel.dataset.counterState = counter ? counter.state : "unknown";
    const badge = $("counter-state");
    setText(badge, counter ? stateText(counter) : "");
    badge.dataset.state = counter ? counter.state : "";

    setText($("current-number"), ticket ? ticket.number : "—");
    setText($("current-service"), ticket ? serviceName(ticket) : "");
    setText($("current-status"), ticket ? t(ticket.status === "serving" ? "statusServing" : "statusCalled") : "");
    const prio = ticket ? priorityLabel(ticket.priority) : null;
    $("current-priority").hidden = !prio;
    setText($("current-priority"), prio ? t("priorityBadge", prio) : "");
    $("current-transferred").hidden = !(ticket && ticket.leg > 1);
    const recalls = ticket ? ticket.recall_count || 0 : 0;
    $("current-recalls").hidden = !(ticket && recalls > 0);
    setText($("current-recalls"), recalls > 0 ? t("recalls", recalls) : "");
    $("current-times").hidden = !ticket;
    $("current-note").hidden = !(ticket && ticket.note);
    setText($("current-note"), ticket && ticket.note ? t("note", ticket.note) : "");

    let hint = "";
    if (!ticket && counter) {
      const taken = takenBy();
      if (taken && !IS_ADMIN) hint = t("hintTaken", taken.name);
      else if (counter.state === "closed") hint = t("hintClosed");
      else if (counter.state === "paused") hint = t("hintPaused");
      else if (state.queue && state.queue.length === 0) hint = `${t("noTicket")} ${t("hintEmpty")}`;
      else hint = `${t("noTicket")} ${t("hintCall")}`;
    }
    $("current-empty").hidden = Boolean(ticket);
    setText($("current-empty"), hint);
    renderTimes();
  }

  function renderTimes() {
    const ticket = current();
    if (ticket) {
      let waited = ticket.wait_seconds;
      if (waited === null || waited === undefined) {
        const from = parseTime(ticket.queued_at);
        const to = parseTime(ticket.called_at);
        waited = from !== null && to !== null ? Math.max(0, (to - from) / 1000) : null;
      }
      setText($("current-waited"), duration(waited));
      setText($("current-timer"), duration(secondsSince(ticket.called_at)));
      const serving = ticket.status === "serving" && ticket.started_at;
      $("current-serving-box").hidden = !serving;
      setText($("current-serving"), serving ? duration(secondsSince(ticket.started_at)) : "");
    }
    renderQueueTimes();
  }

  function renderActions() {
    // Not disabled while a request is under way (run() ignores presses then):
    // a disabled button would lose the keyboard focus and flicker on every action.
    for (const button of document.querySelectorAll("#actions [data-action]")) {
      setAvailable(button, available(button.dataset.action));
    }
    setText($("pause-label"), pauseLabel());
    $("actions").setAttribute("aria-busy", String(state.busy));
  }

  function createQueueItem() {
    const item = el("li", "queue-item");
    item.append(el("span", "q-number"), el("span", "q-service"), el("span", "q-tags"), el("span", "q-waited"));
    return item;
  }

  function renderQueue() {
    const list = $("queue-list");
    const tickets = state.queue || [];
    const keys = tickets.map((tk) => String(tk.id));
    const same = list.children.length === keys.length
      && Array.from(list.children).every((child, i) => child.dataset.ticketId === keys[i]);
    if (!same) list.replaceChildren(...tickets.map(() => createQueueItem()));
    tickets.forEach((ticket, i) => {
      const item = list.children[i];
      item.dataset.ticketId = String(ticket.id);
      item.dataset.number = ticket.number;
      const prio = priorityLabel(ticket.priority);
      item.classList.toggle("priority", Boolean(prio));
      setText(item.querySelector(".q-number"), ticket.number);
      setText(item.querySelector(".q-service"), serviceName(ticket));
      const tags = item.querySelector(".q-tags");
      const tagTexts = [];
      if (prio) tagTexts.push(prio);
      if (ticket.leg > 1) tagTexts.push(t("transferredMark"));
      setText(tags, tagTexts.join(" · "));
      tags.hidden = tagTexts.length === 0;
    });
    $("queue-empty").hidden = state.queue === null || tickets.length > 0;
    renderQueueTimes();
  }

  function waitedOf(ticket) {
    return secondsSince(ticket.queued_at || ticket.arrived_at);
  }

  function renderQueueTimes() {
    const tickets = state.queue || [];
    const list = $("queue-list");
    let longest = null;
    tickets.forEach((ticket, i) => {
      const waited = waitedOf(ticket);
      if (waited !== null && (longest === null || waited > longest)) longest = waited;
      const item = list.children[i];
      if (item) setText(item.querySelector(".q-waited"), duration(waited));
    });
    setText($("queue-count"), state.queue === null ? "" : t("queueCount", tickets.length));
    setText($("queue-longest"), longest === null ? "" : t("queueLongest", duration(longest)));
  }

  function renderFigures() {
    const f = state.figures;
    setText($("fig-served"), f ? f.served : "–");
    setText($("fig-avg-service"), f ? duration(f.average_service_seconds) : "–");
    setText($("fig-no-show"), f ? f.no_show : "–");
    setText($("fig-transferred"), f ? f.transferred : "–");
  }

  function renderReprint() {
    const ticket = current();
    $("reprint-number").placeholder = ticket ? ticket.number : "A012";
  }

  function renderWork() {
    renderCurrent();
    renderActions();
    renderQueue();
    renderFigures();
    renderReprint();
  }

  function renderStaticTexts() {
    for (const node of document.querySelectorAll("[data-t]")) setText(node, t(node.dataset.t));
    for (const node of document.querySelectorAll("[data-t-label]")) {
      node.setAttribute("aria-label", t(node.dataset.tLabel));
    }
    $("actions").setAttribute("aria-label", t("actions"));
  }

  function render() {
    renderHeader();
    if (state.screen === "choose") renderChoose();
    else if (state.screen === "work") renderWork();
  }

  // --- Actions ------------------------------------------------------------------------

  /** POST one counter action; shows the server's message when refused. */
  async function act(action, body) {
    if (state.busy || state.counterId === null) return null;
    state.busy = true;
    renderActions();
    const res = await api("POST", `/counters/${state.counterId}/${action}`, body);
    state.busy = false;
    runPending();
    if (res.ok) {
      clearError();
      counterSeq++;  // a GET of the counter sent before this answer is older than it
      if (res.data && res.data.ticket) remember(res.data.ticket);
      applyCounter(res.data);
    } else {
      showError(res.message);
      if (res.status === 409 || res.status === 403) {
        refreshCounter();
        refreshQueue();
      }
    }
    render();
    return res;
  }

  async function callNext() {
    const res = await act("call-next");
    if (!res || !res.ok) return;
    if (res.data.queue_empty || !res.data.ticket) {
      showNotice(t("queueEmptyNotice"));
    } else {
      const ticket = res.data.ticket;
      if (state.queue) state.queue = state.queue.filter((q) => q.id !== ticket.id);
      showNotice(t("called", ticket.number, counterLabel(state.counter)));
    }
    render();
    scheduleQueueRefresh();
  }

  async function recall() {
    const res = await act("recall");
    if (res && res.ok && res.data.ticket) showNotice(t("recalled", res.data.ticket.number));
  }

  async function start() {
    const res = await act("start");
    if (res && res.ok && res.data.ticket) showNotice(t("started", res.data.ticket.number));
  }

  function needsNote(ticket) {
    const service = ticket && ticket.service ? state.services.get(ticket.service.id) : null;
    return Boolean(service && service.note_required);
  }

  async function finish(note) {
    const ticket = current();
    if (!ticket) return;
    if (note === undefined && needsNote(ticket)) {
      openFinishDialog(ticket);
      return;
    }
    const res = await act("finish", note === undefined ? {} : { note });
    if (!res) return;
    if (res.ok) {
      showNotice(t("finished", res.data.ticket ? res.data.ticket.number : ticket.number));
      refreshFigures();
    } else if (res.code === "note_required") {
      clearError();
      openFinishDialog(ticket, res.message);  // the service's rule changed since the page loaded
    }
  }

  async function noShow() {
    const ticket = current();
    if (!ticket) return;
    const ok = await confirmDialog(t("confirmNoShowTitle"), t("confirmNoShowText", ticket.number),
      t("confirmNoShowOk"));
    if (!ok) return;
    const res = await act("no-show");
    if (res && res.ok) {
      showNotice(t("noShowDone", ticket.number));
      refreshFigures();
    }
  }

  async function pauseOrOpen() {
    const counter = state.counter;
    if (!counter) return;
    const res = await act(counter.state === "open" ? "pause" : "open");
    if (res && res.ok) {
      const label = counterLabel(res.data);
      showNotice(res.data.state === "paused" ? t("pausedNotice", label) : t("openedNotice", label));
      scheduleQueueRefresh();
    }
  }

  async function closeCounter() {
    const counter = state.counter;
    if (!counter) return;
    const ok = await confirmDialog(t("confirmCloseTitle"), t("confirmCloseText", counterLabel(counter)),
      t("confirmCloseOk"));
    if (!ok) return;
    const res = await act("close");
    if (res && res.ok) showNotice(t("closedNotice", counterLabel(res.data)));
  }

  async function reprint(event) {
    event.preventDefault();
    const input = $("reprint-number");
    const typed = input.value.trim();
    let ticket = null;
    if (!typed) {
      ticket = current();
      if (!ticket) {
        showError(t("reprintWhich"));
        return;
      }
    } else {
      ticket = findTicket(typed);
      if (!ticket) {
        showError(t("reprintUnknown", typed.toUpperCase()));
        return;
      }
    }
    const button = $("reprint-button");
    button.disabled = true;
    const res = await api("POST", `/tickets/${ticket.id}/reprint`, {});
    button.disabled = false;
    if (res.ok) {
      clearError();
      input.value = "";
      showNotice(t("reprinted", (res.data && res.data.number) || ticket.number));
    } else {
      showError(res.message);
    }
  }

  /** A ticket this page knows by number: current, waiting here, or seen today. */
  function findTicket(number, inQueueOnly) {
    const key = normalNumber(number);
    if (!key) return null;
    const ticket = current();
    if (!inQueueOnly && ticket && normalNumber(ticket.number) === key) return ticket;
    const waiting = (state.queue || []).find((q) => normalNumber(q.number) === key);
    if (waiting || inQueueOnly) return waiting || null;
    return state.seen.get(key) || null;
  }

  const ACTIONS = {
    "call-next": callNext,
    recall,
    start,
    finish: () => finish(),
    "no-show": noShow,
    transfer: () => openTransferDialog(),
    call: () => openCallDialog(),
    pause: pauseOrOpen,
    close: closeCounter,
  };

  /**
   * Do an action if it applies now. A press during a request (the event of a
   * call can show the new ticket before the call's own answer is in) waits
   * for that answer and is then checked again, so "F" right after a call
   * finishes the ticket, and a double press of Space calls only once.
   */
  function run(action) {
    if (state.screen !== "work") return;
    if (state.busy) {
      pendingAction = action;
      return;
    }
    if (available(action)) ACTIONS[action]();
  }

  function runPending() {
    const action = pendingAction;
    pendingAction = null;
    if (action) setTimeout(() => run(action), 0);
  }

  // --- Dialogs ------------------------------------------------------------------------

  function anyDialogOpen() {
    return Boolean(document.querySelector("dialog[open]"));
  }

  function openDialog(dialog) {
    if (!dialog.open) dialog.showModal();
  }

  function closeDialog(dialog) {
    if (dialog.open) dialog.close();
  }

  function inlineError(id, text) {
    const node = $(id);
    node.hidden = !text;
    setText(node, text || "");
  }

  let confirmResolve = null;

  /** A yes/no question; Enter confirms (the confirm button has the focus), Escape cancels. */
  function confirmDialog(title, text, okLabel) {
    const dialog = $("confirm-dialog");
    setText($("confirm-title"), title);
    setText($("confirm-text"), text);
    setText($("confirm-ok"), okLabel);
    if (confirmResolve) confirmResolve(false);
    return new Promise((resolve) => {
      confirmResolve = resolve;
      dialog.returnValue = "";
      openDialog(dialog);
      $("confirm-ok").focus();
    });
  }

  function onConfirmClosed() {
    const resolve = confirmResolve;
    confirmResolve = null;
    if (resolve) resolve($("confirm-dialog").returnValue === "ok");
  }

  // Transfer: every active service of every agency except the ticket's own.

  let transferChoice = null;

  function transferCandidates() {
    const ticket = current();
    const own = ticket && ticket.service ? ticket.service.id : null;
    const words = $("transfer-search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    return Array.from(state.services.values())
      .filter((s) => s.active && s.id !== own)
      .filter((s) => words.every((w) => s.search.includes(w)))
      .sort((a, b) => (a.agency.code || "").localeCompare(b.agency.code || "") || a.name.localeCompare(b.name));
  }

  function renderTransferList() {
    const list = $("transfer-list");
    const all = transferCandidates();
    const shown = all.slice(0, TRANSFER_LIST_MAX);
    const searching = $("transfer-search").value.trim() !== "";
    if (!shown.some((s) => s.id === transferChoice)) transferChoice = searching && shown.length ? shown[0].id : null;
    list.replaceChildren(...shown.map((service) => {
      const label = el("label", "service-option");
      label.dataset.serviceId = String(service.id);
      label.dataset.code = service.code;
      const radio = el("input");
      radio.type = "radio";
      radio.name = "transfer-service";
      radio.value = String(service.id);
      radio.checked = service.id === transferChoice;
      const text = el("span", "option-text");
      text.append(el("span", "option-name", service.name),
        el("span", "option-meta", `${service.code} · ${service.agency.code} · ${service.agency.name}`));
      label.append(radio, text);
      label.classList.toggle("chosen", radio.checked);
      return label;
    }));
    const empty = $("transfer-empty");
    empty.hidden = shown.length > 0;
    setText(empty, state.servicesLoaded ? t("transferNone") : t("transferLoading"));
    setAvailable($("transfer-ok"), transferChoice !== null);
  }

  function openTransferDialog() {
    const ticket = current();
    if (!ticket) return;
    transferChoice = null;
    $("transfer-search").value = "";
    $("transfer-note").value = "";
    setText($("transfer-lead"), t("transferLead", ticket.number));
    inlineError("transfer-error", null);
    if (!state.servicesLoaded) loadServices().then(renderTransferList);
    renderTransferList();
    openDialog($("transfer-dialog"));
    $("transfer-search").focus();
  }

  async function submitTransfer(event) {
    event.preventDefault();
    if (transferChoice === null) {
      inlineError("transfer-error", t("transferPick"));
      return;
    }
    const ticket = current();
    const target = state.services.get(transferChoice);
    const body = { service_id: transferChoice };
    const note = $("transfer-note").value.trim();
    if (note) body.note = note;
    closeDialog($("transfer-dialog"));
    const res = await act("transfer", body);
    if (res && res.ok) {
      const name = target ? `${target.name} (${target.agency.code})` : "";
      showNotice(t("transferredTo", (ticket && ticket.number) || "", name));
      refreshFigures();
      scheduleQueueRefresh();
    }
  }

  // Call a specific number: it must be waiting in this counter's queue
  // (or be a no-show of today this page has seen).

  function openCallDialog() {
    $("call-number").value = "";
    inlineError("call-error", null);
    openDialog($("call-dialog"));
    $("call-number").focus();
  }

  async function submitCall(event) {
    event.preventDefault();
    const typed = $("call-number").value.trim();
    if (!normalNumber(typed)) {
      inlineError("call-error", t("callInvalid"));
      return;
    }
    $("call-ok").disabled = true;
    await refreshQueue();  // the list on screen may be a moment old
    $("call-ok").disabled = false;
    let ticket = findTicket(typed, true);
    if (!ticket) {
      const seen = state.seen.get(normalNumber(typed));
      if (seen && seen.status === "no_show") ticket = seen;
    }
    if (!ticket) {
      inlineError("call-error", t("callNotFound", typed.toUpperCase(), counterLabel(state.counter)));
      return;
    }
    closeDialog($("call-dialog"));
    const res = await act("call", { ticket_id: ticket.id });
    if (res && res.ok && res.data.ticket) {
      showNotice(t("called", res.data.ticket.number, counterLabel(state.counter)));
      scheduleQueueRefresh();
    }
  }

  // Finish with a note (services with note_required).

  function openFinishDialog(ticket, message) {
    const service = ticket && ticket.service ? state.services.get(ticket.service.id) : null;
    setText($("finish-lead"), t("finishLead", service ? service.name : serviceName(ticket)));
    $("finish-note").value = "";
    inlineError("finish-error", message || null);
    openDialog($("finish-dialog"));
    $("finish-note").focus();
  }

  async function submitFinish(event) {
    event.preventDefault();
    const note = $("finish-note").value.trim();
    if (!note) {
      inlineError("finish-error", t("finishEmpty"));
      return;
    }
    closeDialog($("finish-dialog"));
    await finish(note);
  }

  // --- Keyboard -------------------------------------------------------------------------

  const KEYS = {
    " ": "call-next", F1: "call-next",
    r: "recall", s: "start", f: "finish", n: "no-show", t: "transfer", c: "call", p: "pause", x: "close",
  };

  function isTyping(target) {
    if (!target || !(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    const tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    return !["button", "submit", "reset", "checkbox", "radio"].includes((target.type || "").toLowerCase());
  }

  function onKeyDown(event) {
    spaceHandled = false;
    if (state.screen !== "work" || event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.key === "Escape" && isTyping(event.target)) {
      event.target.blur();
      return;
    }
    if (anyDialogOpen() || isTyping(event.target)) return;
    const key = event.key && event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const action = KEYS[key];
    if (!action) return;
    event.preventDefault();  // no page scroll on Space, no browser help on F1
    if (key === " ") spaceHandled = true;
    if (event.repeat) return;  // a held key is one press
    run(action);
  }

  function onKeyUp(event) {
    // A focused button would also "click" on the Space key's release.
    if (event.key === " " && spaceHandled) event.preventDefault();
    spaceHandled = false;
  }

  // --- Realtime ---------------------------------------------------------------------------

  function setConnected(connected) {
    state.connected = connected;
    $("offline").hidden = connected;
  }

  function subscribe() {
    const id = state.counterId;
    if (!socket || !socket.connected || id === null) return;
    socket.timeout(8000).emit("subscribe_counter", { counter_id: id }, (err, ack) => {
      if (err || id !== state.counterId) return;  // no answer: the next (re)connect tries again
      if (!ack || !ack.ok) {
        const reasons = t("subscribe");
        showError((ack && reasons[ack.error]) || reasons.counter_not_found);
        return;
      }
      applyCounter(ack.counter);
      if (state.queue === null) applyQueue(ack.queue);
      render();
      // The acknowledgement is in Indonesian and holds at most 50 tickets: fetch the full list.
      scheduleQueueRefresh();
    });
  }

  function onConnect() {
    setConnected(true);
    if (!state.servicesLoaded) loadServices();
    if (state.screen === "work") {
      subscribe();
      refreshWork();
    } else {
      refreshCounters();
    }
  }

  function servesService(serviceId) {
    return Boolean(state.counter && (state.counter.service_ids || []).includes(serviceId));
  }

  function onTicketUpdated(data) {
    const ticket = data && data.ticket;
    if (!ticket) return;
    remember(ticket);
    if (state.screen === "choose") {
      // The cards say which ticket each counter serves; counter.updated does not carry calls.
      clearTimeout(countersTimer);
      countersTimer = setTimeout(refreshCounters, EVENT_DEBOUNCE_MS);
      return;
    }
    if (state.screen !== "work" || !state.counter) return;
    const mine = ticket.counter && ticket.counter.id === state.counterId;
    const shown = current();
    let touched = false;
    if (mine && ACTIVE.includes(ticket.status)) {
      state.counter.current_ticket = ticket;
      touched = true;
    } else if (shown && shown.id === ticket.id) {
      state.counter.current_ticket = null;  // done, no-show, transferred
      touched = true;
    }
    // A ticket called elsewhere (or cancelled) leaves the list at once.
    if (state.queue && ticket.status !== "waiting") {
      const before = state.queue.length;
      state.queue = state.queue.filter((q) => q.id !== ticket.id);
      if (state.queue.length !== before) touched = true;
    }
    if (touched) render();
    if (mine || (shown && shown.id === ticket.id)) scheduleCounterRefresh();
    // Finished here (maybe in another browser of the same counter): the day's figures moved.
    if (mine && ENDED.includes(ticket.status)) scheduleFiguresRefresh();
    if (servesService(ticket.service && ticket.service.id) || touched) scheduleQueueRefresh();
  }

  function onCounterUpdated(counter) {
    if (!counter || counter.id === undefined) return;
    const wasState = state.counter ? state.counter.state : null;
    storeCounter(counter);
    if (counter.id === state.counterId) {
      applyCounter(counter);
      if (wasState !== counter.state) scheduleQueueRefresh();
    }
    render();
  }

  function onQueueChanged(data) {
    if (state.screen !== "work" || !state.counter || !data) return;
    const services = Object.keys(data.services || {}).map(Number);
    const ours = state.counter.agency && data.agency_id === state.counter.agency.id;
    if (ours || services.some(servesService)) scheduleQueueRefresh();
  }

  function connectSocket() {
    if (typeof window.io !== "function") {
      setConnected(false);  // the page still works from REST alone
      return;
    }
    socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", onConnect);
    socket.on("disconnect", () => setConnected(false));
    socket.on("connect_error", () => {
      setConnected(false);
      // A refusal by the server is not retried by the client itself.
      if (!socket.active) setTimeout(() => socket.connect(), 5000);
    });
    socket.io.on("reconnect_attempt", () => setConnected(false));
    socket.io.on("error", () => setConnected(false));
    setTimeout(() => setConnected(socket.connected), 3000);
    // The servers' message queue is back after an outage: events may have been missed, so
    // reload as after a reconnect (at a random moment within two seconds, to spread the load).
    socket.on("resync", () => setTimeout(() => {
      if (socket.connected) onConnect();
    }, Math.random() * 2000));
    socket.on("ticket.updated", onTicketUpdated);
    socket.on("counter.updated", onCounterUpdated);
    socket.on("queue.changed", onQueueChanged);
  }

  // --- Start -------------------------------------------------------------------------------

  function counterFromHash() {
    const match = /^#counter=(\d+)$/.exec(window.location.hash || "");
    return match ? Number(match[1]) : null;
  }

  /**
   * Where to start: the counter in the address (#counter=<id>) if this
   * officer staffs it, else the counter the officer staffs (a reload or a
   * second browser goes straight back to it), else the choice screen. A
   * counter in the address that this officer may not see is tried once, so
   * the server's refusal is shown.
   */
  async function start0() {
    await refreshCounters();
    const wanted = counterFromHash();
    const visible = (id) => (config.counters || []).some((c) => c.id === id);
    const staffed = (c) => c && c.officer && c.officer.id === ME.id && c.state !== "closed";
    if (wanted !== null && !visible(wanted)) {
      show("choose");
      await chooseCounter(wanted);
      return;
    }
    if (wanted !== null && staffed(state.counters.get(wanted))) {
      enterCounter(state.counters.get(wanted));
      return;
    }
    const own = Array.from(state.counters.values()).filter(staffed);
    if (wanted === null && own.length === 1 && visible(own[0].id)) {
      enterCounter(own[0]);
      return;
    }
    if (wanted !== null) window.history.replaceState(null, "", window.location.pathname + window.location.search);
    show("choose");
  }

  function wire() {
    $("counter-list").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-counter-id]");
      if (button && !button.disabled) chooseCounter(Number(button.dataset.counterId));
    });
    $("actions").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (button && !button.disabled) run(button.dataset.action);
    });
    $("switch-counter").addEventListener("click", () => {
      clearError();
      leaveCounter();
    });
    $("message-close").addEventListener("click", clearError);
    $("reprint-form").addEventListener("submit", reprint);

    $("confirm-dialog").addEventListener("close", onConfirmClosed);
    $("confirm-form").addEventListener("submit", (event) => {
      event.preventDefault();
      $("confirm-dialog").close("ok");
    });
    $("transfer-form").addEventListener("submit", submitTransfer);
    $("transfer-search").addEventListener("input", renderTransferList);
    $("transfer-list").addEventListener("change", (event) => {
      if (event.target.name === "transfer-service") {
        transferChoice = Number(event.target.value);
        for (const label of $("transfer-list").children) {
          label.classList.toggle("chosen", label.dataset.serviceId === String(transferChoice));
        }
        setAvailable($("transfer-ok"), true);
        inlineError("transfer-error", null);
      }
    });
    $("call-form").addEventListener("submit", submitCall);
    $("call-number").addEventListener("input", () => inlineError("call-error", null));
    $("finish-form").addEventListener("submit", submitFinish);
    for (const button of document.querySelectorAll("dialog [data-close]")) {
      button.addEventListener("click", () => closeDialog(button.closest("dialog")));
    }
    document.addEventListener("keydown", onKeyDown);
    document.addEventListener("keyup", onKeyUp);
  }

  /** Read-only summary for tests and diagnostics (copies, never the live state). */
  function exposeState() {
    const summary = {};
    const getters = {
      screen: () => state.screen,
      lang: () => LANG,
      connected: () => state.connected,
      busy: () => state.busy,
      counterId: () => state.counterId,
      counterCode: () => (state.counter ? state.counter.code : null),
      state: () => (state.counter ? state.counter.state : null),
      officer: () => (state.counter && state.counter.officer ? state.counter.officer.name : null),
      current: () => (current() ? current().number : null),
      currentStatus: () => (current() ? current().status : null),
      currentId: () => (current() ? current().id : null),
      queue: () => (state.queue ? state.queue.map((q) => q.number) : null),
      figures: () => (state.figures ? JSON.parse(JSON.stringify(state.figures)) : null),
      message: () => state.message,
      notice: () => state.notice,
    };
    for (const [key, get] of Object.entries(getters)) {
      Object.defineProperty(summary, key, { get, enumerable: true });
    }
    Object.defineProperty(window, "counterPage", { value: Object.freeze(summary), writable: false });
  }

  wire();
  exposeState();
  renderStaticTexts();
  renderFigures();
  connectSocket();
  start0();
  setInterval(() => {
    if (state.screen === "work") renderTimes();
  }, 1000);
  setInterval(() => {
    if (state.screen === "work") {
      refreshCounter();
      refreshQueue();
    } else if (state.screen === "choose") {
      refreshCounters();
    }
  }, SAFETY_REFRESH_MS);
})();
