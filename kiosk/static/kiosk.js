/*
 * Antrian kiosk: the touchscreen where visitors take a queue number.
 *
 * Screens (named in body[data-screen]):
 *   language -> agencies -> services -> priority -> result -> (back to) language
 *
 * Data: GET /api/v1/agencies, the Socket.IO "snapshot" (on every connect) and
 * "queue.changed" events; tickets come from POST /api/v1/tickets. The browser
 * is bound to its kiosk device by the session cookie, so no key is sent here.
 *
 * Everything shown comes from the configuration or the server and goes into
 * the page with textContent/createElement only, never as HTML.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("kiosk-config").textContent);
  const API = config.api || "/api/v1";
  const IDLE_MS = Math.max(5, Number(config.idle_seconds) || 30) * 1000;
  const RESULT_MS = Math.max(3, Number(config.result_seconds) || 10) * 1000;
  const LETTER_STRIP_MIN = 13;          // up to 12 agencies fit one screen: no strip needed
  const REFRESH_MS = 60 * 1000;         // opening hours change with the clock, not with events
  const DEBOUNCE_MS = 1000;             // a burst of queue.changed costs one refetch
  const RETRY_DELAYS_MS = [400, 1000, 2000];  // after the first try of POST /tickets
  const REQUEST_TIMEOUT_MS = 6000;      // a hung request is a lost answer: retry it
  // "retrying": an attempt failed; the server keeps trying, but the visitor leaves in seconds.
  const FAILED_PRINT = ["failed", "none", "retrying"];
  const PRINTER_ALARMS = ["offline", "paper_out", "error"];
  const START_LANG = config.default_lang === "en" ? "en" : "id";

  // --- Texts ----------------------------------------------------------------
  // The kiosk switches language per visitor without a reload, so its texts live
  // here rather than in the server's gettext catalogue.

  const TEXT = {
    id: {
      back: "Kembali",
      offline: "Tidak terhubung",
      loading: "Memuat data layanan...",
      noAgencies: "Belum ada instansi yang dapat dipilih.",
      chooseAgency: "Pilih instansi",
      byLetter: "Cari berdasarkan huruf awal",
      allLetters: "Semua",
      waiting: (n) => `${n} orang menunggu`,
      opensAt: (when) => `Loket buka ${when}`,
      closed: "Tutup",
      closedOpens: (when) => `Tutup - buka ${when}`,
      breakUntil: (when) => `Istirahat sampai ${when}`,
      onBreak: "Istirahat",
      registrationClosed: "Pendaftaran ditutup",
      holiday: "Libur",
      holidayOpens: (when) => `Libur - buka ${when}`,
      inactive: "Tidak melayani",
      tomorrowAt: (time) => `besok ${time}`,
      dayAt: (day, time) => `${day} ${time}`,
      days: ["Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"],
      hours: "Jam layanan",
      hoursNone: "Tidak ada jadwal khusus: buka selama MPP buka.",
      dayClosed: "Tutup",
      today: "hari ini",
      chooseService: "Pilih layanan",
      noServices: "Instansi ini belum memiliki layanan.",
      quotaLeft: (n) => `Sisa kuota hari ini: ${n}`,
      quotaExhausted: "Kuota hari ini habis",
      serviceInactive: "Layanan sedang tidak tersedia",
      documents: "Persyaratan:",
      choosePriority: "Apakah Anda memerlukan layanan prioritas?",
      prioElderly: "Lansia",
      prioElderlyHint: "60 tahun ke atas",
      prioDisabled: "Penyandang disabilitas",
      prioPregnant: "Ibu hamil atau membawa bayi",
      prioNone: "Tidak",
      prioNoneHint: "Antrean biasa",
      priorityIs: (p) => `Prioritas: ${p}`,
      issuing: "Mengambil nomor antrean...",
      yourNumber: "Nomor antrean Anda",
      ahead: (n) => `Di depan Anda: ${n} orang`,
      estimate: (m) => (m > 0 ? `Perkiraan menunggu: ± ${m} menit` : "Perkiraan menunggu: segera dipanggil"),
      scanToFollow: "Pindai untuk memantau antrean",
      printing: "Mencetak tiket...",
      printed: "Silakan ambil tiket Anda",
      notPrinted: "Tiket tidak tercetak - catat nomor Anda atau pindai kode QR",
      done: "Selesai",
      backIn: (s) => `Kembali ke awal dalam ${s} detik`,
      printerOffline: "Printer tiket tidak tersambung. Nomor antrean tetap ditampilkan di layar.",
      printerPaperOut: "Kertas tiket habis. Nomor antrean tetap ditampilkan di layar.",
      networkError: "Server tidak dapat dihubungi. Silakan coba lagi sebentar lagi.",
    },
    en: {
      back: "Back",
      offline: "Offline",
      loading: "Loading services...",
      noAgencies: "No agencies to choose from yet.",
      chooseAgency: "Choose an agency",
      byLetter: "Search by first letter",
      allLetters: "All",
      waiting: (n) => `${n} waiting`,
      opensAt: (when) => `Counters open ${when}`,
      closed: "Closed",
      closedOpens: (when) => `Closed - opens ${when}`,
      breakUntil: (when) => `On a break until ${when}`,
      onBreak: "On a break",
      registrationClosed: "Registration closed",
      holiday: "Holiday",
      holidayOpens: (when) => `Holiday - opens ${when}`,
      inactive: "Not in service",
      tomorrowAt: (time) => `tomorrow ${time}`,
      dayAt: (day, time) => `${day} ${time}`,
      days: ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
      hours: "Opening hours",
      hoursNone: "No schedule of its own: open whenever the MPP is open.",
      dayClosed: "Closed",
      today: "today",
      chooseService: "Choose a service",
      noServices: "This agency has no services yet.",
      quotaLeft: (n) => `Quota left today: ${n}`,
      quotaExhausted: "Today's quota is used up",
      serviceInactive: "Service not available",
      documents: "Required documents:",
      choosePriority: "Do you need priority service?",
      prioElderly: "Elderly",
      prioElderlyHint: "60 years and over",
      prioDisabled: "Person with a disability",
      prioPregnant: "Pregnant or with a baby",
      prioNone: "No",
      prioNoneHint: "Regular queue",
      priorityIs: (p) => `Priority: ${p}`,
      issuing: "Getting your number...",
      yourNumber: "Your queue number",
      ahead: (n) => (n === 1 ? "1 person ahead of you" : `${n} people ahead of you`),
      estimate: (m) => (m > 0 ? `Estimated wait: about ${m} min` : "Estimated wait: you are next"),
      scanToFollow: "Scan to follow your queue",
      printing: "Printing your ticket...",
      printed: "Please take your ticket",
      notPrinted: "The ticket was not printed - note your number or scan the QR code",
      done: "Done",
      backIn: (s) => `Back to the start in ${s} s`,
      printerOffline: "The ticket printer is not connected. Your number is still shown on screen.",
      printerPaperOut: "The ticket printer is out of paper. Your number is still shown on screen.",
      networkError: "The server cannot be reached. Please try again in a moment.",
    },
  };

  const PRIORITY_KEYS = { elderly: "prioElderly", disabled: "prioDisabled", pregnant: "prioPregnant" };
  const WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const WEEKDAY_INDEX = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

  // --- State ------------------------------------------------------------------

  const state = {
    screen: "language",
    lang: START_LANG,
    agencies: [],          // as GET /agencies, narrowed to this kiosk's agencies
    covered: null,         // Set of agency ids from the snapshot; null = unknown, show all
    loaded: false,
    agencyId: null,
    serviceId: null,
    letter: null,          // filter of the letter strip, null = all
    error: null,           // a refusal shown on the service list
    busy: false,           // a ticket request is under way
    connected: false,
    lastTicket: null,
    printState: null,      // pending | printing | retrying | printed | failed | none
    printer: { state: "unknown", message: "" },
    reloadOnStart: false,  // the session went stale (CSRF, key rotated): reload when idle
  };
  const earlyPrintUpdates = new Map();  // ticket id -> print.updated that beat the POST answer
  let fetchSeq = 0;
  let refreshTimer = null;
  let screenTimer = null;
  let countdownTimer = null;

  const $ = (id) => document.getElementById(id);

  function t(key, ...args) {
    const entry = key in TEXT[state.lang] ? TEXT[state.lang][key] : TEXT.id[key];
    return typeof entry === "function" ? entry(...args) : entry;
  }

  /** The name in the chosen language; socket payloads carry both. */
  function nameOf(item) {
    if (state.lang === "en" && item.name_en) return item.name_en;
    return item.name_id || item.name || "";
  }

  const { el, setText, setAvailable } = window.AntrianDom;  // queue_server/static/dom.js

  // --- Site-local time --------------------------------------------------------
  // The browser may not run in the site's time zone; "today" and "tomorrow"
  // must be the site's, like the opening hours the server evaluates.

  function siteDate(offsetDays) {
    const at = new Date(Date.now() + offsetDays * 86400000);
    try {
      const parts = new Intl.DateTimeFormat("en-CA", {
        timeZone: config.site.timezone || undefined, year: "numeric", month: "2-digit", day: "2-digit",
      }).formatToParts(at);
      const get = (type) => parts.find((p) => p.type === type).value;
      return `${get("year")}-${get("month")}-${get("day")}`;
    } catch (_err) {
      return at.toISOString().slice(0, 10);
    }
  }

  function weekdayOf(isoDate) {
    const [y, m, d] = isoDate.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  }

  /** "08:00" today, "besok 08:00", or "Senin 08:00" from next_open (local time with offset). */
  function describeWhen(nextOpen) {
    const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(nextOpen || "");
    if (!match) return null;
    const [, date, time] = match;
    if (date === siteDate(0)) return time;
    if (date === siteDate(1)) return t("tomorrowAt", time);
    return t("dayAt", t("days")[weekdayOf(date)], time);
  }

  // --- Availability in words ---------------------------------------------------

  /** Why an agency cannot issue now ("Tutup - buka 08:00"), or null when it can. */
  function agencyRefusal(agency) {
    const open = agency.open || {};
    if (open.can_issue) return null;
    const when = describeWhen(open.next_open);
    switch (open.reason) {
      case "break": return when ? t("breakUntil", when) : t("onBreak");
      case "after_cutoff": return t("registrationClosed");
      case "holiday": return when ? t("holidayOpens", when) : t("holiday");
      case "inactive": return t("inactive");
      default: return when ? t("closedOpens", when) : t("closed");  // closed, before_open
    }
  }

  /** Issuing but counters not working yet (early issuing, break): say when they start. */
  function agencyNote(agency) {
    const open = agency.open || {};
    if (!open.can_issue || open.serving) return "";
    const when = describeWhen(open.next_open);
    return when ? t("opensAt", when) : "";
  }

  function serviceRefusal(agency, service) {
    const closed = agencyRefusal(agency);
    if (closed) return closed;
    if (!service.active) return t("serviceInactive");
    if (service.quota_left !== null && service.quota_left !== undefined && service.quota_left <= 0) {
      return t("quotaExhausted");
    }
    return null;
  }

  // --- Data -------------------------------------------------------------------

  function currentAgency() {
    return state.agencies.find((a) => a.id === state.agencyId) || null;
  }

  function currentService() {
    const agency = currentAgency();
    return agency ? agency.services.find((s) => s.id === state.serviceId) || null : null;
  }

  function setAgencies(list) {
    state.agencies = state.covered ? list.filter((a) => state.covered.has(a.id)) : list;
    state.loaded = true;
    renderCurrent();
  }

  /** Fetch the agencies again; only the newest of overlapping requests is used. */
  async function refreshAgencies() {
    const seq = ++fetchSeq;
    try {
      const res = await fetch(`${API}/agencies?lang=${state.lang}`, {
        credentials: "same-origin", cache: "no-store",
      });
      if (!res.ok) return;  // keep the last data; the next event or tick tries again
      const body = await res.json();
      if (seq === fetchSeq && Array.isArray(body.agencies)) setAgencies(body.agencies);
    } catch (_err) {
      // Network down: keep working from the last data.
    }
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshAgencies, DEBOUNCE_MS);
  }

  // --- Rendering ----------------------------------------------------------------

  /**
   * Show `items` in `container`, one element each. When the same items are
   * already there (same keys, same order) they are updated in place: a live
   * count must not replace a button under a visitor's finger.
   */
  function syncList(container, items, keyOf, create, update) {
    const children = Array.from(container.children);
    const same = children.length === items.length
      && children.every((child, i) => child.dataset.key === String(keyOf(items[i])));
    if (same) {
      items.forEach((item, i) => update(children[i], item));
      return;
    }
    container.replaceChildren(...items.map((item) => {
      const node = create(item);
      node.dataset.key = String(keyOf(item));
      update(node, item);
      return node;
    }));
  }

  function choiceButton(parts) {
    const button = el("button", "choice");
    button.type = "button";
    for (const part of parts) button.append(el("span", part));
    return button;
  }

  function createAgencyButton(agency) {
    const button = choiceButton(["code", "name", "meta", "note", "state"]);
    button.dataset.agencyCode = agency.code;
    button.dataset.agencyId = agency.id;
    return button;
  }

  function updateAgencyButton(button, agency) {
    const refusal = agencyRefusal(agency);
    setText(button.querySelector(".code"), agency.code);
    setText(button.querySelector(".name"), nameOf(agency));
    const meta = [agency.zone, t("waiting", agency.waiting || 0)].filter(Boolean).join(" · ");
    setText(button.querySelector(".meta"), meta);
    setText(button.querySelector(".note"), refusal ? "" : agencyNote(agency));
    setText(button.querySelector(".state"), refusal || "");
    setAvailable(button, !refusal);
  }

  function initialOf(agency) {
    return (agency.code || nameOf(agency) || "?").charAt(0).toUpperCase();
  }

  function renderLetters(letters) {
    const strip = $("letters");
    strip.hidden = state.agencies.length < LETTER_STRIP_MIN;
    strip.setAttribute("aria-label", t("byLetter"));
    if (strip.hidden) return;
    const keys = ["*", ...letters];
    syncList(strip, keys, (k) => k, (key) => {
      const button = el("button", key === "*" ? "all" : "letter");
      button.type = "button";
      button.dataset.letter = key;
      return button;
    }, (button, key) => {
      setText(button, key === "*" ? t("allLetters") : key);
      const pressed = key === "*" ? state.letter === null : state.letter === key;
      button.setAttribute("aria-pressed", String(pressed));
    });
  }

  function renderAgencies() {
    const letters = [...new Set(state.agencies.map(initialOf))].sort();
    if (state.letter && !letters.includes(state.letter)) state.letter = null;
    renderLetters(letters);
    const shown = state.letter ? state.agencies.filter((a) => initialOf(a) === state.letter) : state.agencies;
    syncList($("agency-grid"), shown, (a) => a.id, createAgencyButton, updateAgencyButton);
    const empty = $("agency-empty");
    empty.hidden = shown.length > 0;
    setText(empty, state.loaded ? t("noAgencies") : t("loading"));
  }

  function createServiceButton(service) {
    const button = choiceButton(["name", "meta", "state", "docs"]);
    button.dataset.serviceId = service.id;
    button.dataset.serviceCode = service.code;
    return button;
  }

  function updateDocuments(box, documents) {
    const list = Array.isArray(documents) ? documents : [];
    const signature = state.lang + "|" + list.join("\n");
    if (box.dataset.signature === signature) return;
    box.dataset.signature = signature;
    box.replaceChildren();
    if (!list.length) return;
    box.append(el("span", "label", t("documents")));
    for (const doc of list) box.append(el("span", "doc", doc));
  }

  function updateServiceButton(button, service) {
    const agency = currentAgency();
    const refusal = serviceRefusal(agency, service);
    setText(button.querySelector(".name"), nameOf(service));
    const meta = [t("waiting", service.waiting || 0)];
    if (service.quota_left !== null && service.quota_left !== undefined && service.quota_left > 0) {
      meta.push(t("quotaLeft", service.quota_left));
    }
    setText(button.querySelector(".meta"), meta.join(" · "));
    setText(button.querySelector(".state"), refusal || "");
    updateDocuments(button.querySelector(".docs"), service.documents);
    setAvailable(button, !refusal);
  }

  function renderHours(agency) {
    const days = $("hours-days");
    const hours = agency.hours;
    $("hours-none").hidden = !!hours;
    days.hidden = !hours;
    if (!hours) {
      days.replaceChildren();
      return;
    }
    const today = weekdayOf(siteDate(0));
    const rows = [];
    for (const day of WEEK) {
      const isToday = WEEKDAY_INDEX[day] === today;
      const name = t("days")[WEEKDAY_INDEX[day]] + (isToday ? ` (${t("today")})` : "");
      const dt = el("dt", isToday ? "today" : "", name);
      const dd = el("dd", isToday ? "today" : "", hours[day] || t("dayClosed"));
      rows.push(dt, dd);
    }
    days.replaceChildren(...rows);
  }

  function renderServices() {
    const agency = currentAgency();
    if (!agency) {
      // The agency left this kiosk's list (configuration changed): start over.
      show("agencies");
      return;
    }
    setText($("services-code"), agency.code);
    setText($("services-agency"), nameOf(agency));
    setText($("services-zone"), agency.zone || "");
    const error = $("service-error");
    error.hidden = !state.error;
    setText(error, state.error || "");
    renderHours(agency);
    syncList($("service-list"), agency.services, (s) => s.id, createServiceButton, updateServiceButton);
    $("service-empty").hidden = agency.services.length > 0;
  }

  function renderPriority() {
    const agency = currentAgency();
    const service = currentService();
    if (!agency || !service) return;
    setText($("priority-for"), `${nameOf(service)} · ${agency.code}`);
  }

  function printText(status) {
    if (status === "printed") return { text: t("printed"), kind: "ok" };
    if (FAILED_PRINT.includes(status)) return { text: t("notPrinted"), kind: "failed" };
    return { text: t("printing"), kind: "pending" };  // pending, printing, retrying
  }

  function renderPrintState() {
    const box = $("print-state");
    const { text, kind } = printText(state.printState);
    setText(box, text);
    box.className = `print-state ${kind}`;
  }

  function renderResult() {
    const ticket = state.lastTicket;
    if (!ticket) return;
    setText($("result-number"), ticket.number);
    setText($("result-agency"), ticket.agencyName);
    setText($("result-service"), ticket.serviceName);
    setText($("result-ahead"), ticket.ahead === null ? "" : t("ahead", ticket.ahead));
    setText($("result-estimate"),
      ticket.estimated_wait_minutes === null ? "" : t("estimate", ticket.estimated_wait_minutes));
    const priority = PRIORITY_KEYS[ticket.priority];
    setText($("result-priority"), priority ? t("priorityIs", t(priority)) : "");
    const img = $("result-qr");
    if (img.getAttribute("src") !== ticket.qr_url) {
      $("result-qr-box").classList.remove("missing");
      img.setAttribute("src", ticket.qr_url);
    }
    setText($("result-url"), ticket.status_url);
    renderPrintState();
  }

  function renderPrinterBanner() {
    const banner = $("printer-banner");
    const alarm = PRINTER_ALARMS.includes(state.printer.state);
    banner.hidden = !alarm;
    if (alarm) setText(banner, state.printer.state === "paper_out" ? t("printerPaperOut") : t("printerOffline"));
  }

  /** Texts that do not depend on data: every element with data-t. */
  function renderStaticTexts() {
    document.documentElement.lang = state.lang;
    for (const node of document.querySelectorAll("[data-t]")) setText(node, t(node.dataset.t));
  }

  function renderCurrent() {
    if (state.screen === "agencies") renderAgencies();
    else if (state.screen === "services") renderServices();
    else if (state.screen === "priority") renderPriority();
    else if (state.screen === "result") renderResult();
  }

  // --- Screens and timers ---------------------------------------------------------

  function show(screen) {
    state.screen = screen;
    document.body.dataset.screen = screen;
    for (const section of document.querySelectorAll("[data-screen-id]")) {
      section.hidden = section.dataset.screenId !== screen;
    }
    $("back").hidden = screen === "language" || screen === "result";
    $("main").scrollTop = 0;
    renderCurrent();
    armTimers();
  }

  function clearTimers() {
    clearTimeout(screenTimer);
    clearInterval(countdownTimer);
    screenTimer = countdownTimer = null;
  }

  /**
   * The result screen stays a fixed time (touching it does not extend it, so
   * the next visitor is not kept waiting); the choice screens go back to the
   * start after a while without a touch; the start screen waits forever.
   */
  function armTimers() {
    clearTimers();
    if (state.screen === "result") {
      const deadline = Date.now() + RESULT_MS;
      const tick = () => setText($("countdown"), t("backIn", Math.max(0, Math.ceil((deadline - Date.now()) / 1000))));
      tick();
      countdownTimer = setInterval(tick, 1000);
      screenTimer = setTimeout(goStart, RESULT_MS);
    } else if (state.screen !== "language") {
      screenTimer = setTimeout(onIdle, IDLE_MS);
    }
  }

  function onIdle() {
    if (state.busy) {
      armTimers();  // never abandon a ticket request half-way
      return;
    }
    goStart();
  }

  function onActivity() {
    if (state.screen !== "result" && state.screen !== "language") armTimers();
  }

  /** Back to the language screen, in the site's language (Indonesian), with nothing chosen. */
  function goStart() {
    if (state.reloadOnStart) {
      window.location.reload();  // fresh CSRF token, or the setup page if the key was revoked
      return;
    }
    state.agencyId = state.serviceId = state.letter = state.error = null;
    state.lang = START_LANG;
    renderStaticTexts();
    show("language");
  }

  // --- Choices -----------------------------------------------------------------

  function chooseLanguage(lang) {
    state.lang = lang === "en" ? "en" : "id";
    renderStaticTexts();
    show("agencies");
    refreshAgencies();  // quota and hours may have changed since the last visitor
  }

  function chooseAgency(id) {
    const agency = state.agencies.find((a) => a.id === id);
    if (!agency || agencyRefusal(agency)) return;  // disabled buttons do not fire, but data may just have changed
    state.agencyId = id;
    state.error = null;
    show("services");
  }

  function chooseService(id) {
    const agency = currentAgency();
    const service = agency && agency.services.find((s) => s.id === id);
    if (!service || serviceRefusal(agency, service)) return;
    state.serviceId = id;
    state.error = null;
    show("priority");
  }

  function goBack() {
    if (state.screen === "priority") show("services");
    else if (state.screen === "services") show("agencies");
    else goStart();
  }

  // --- Issuing -------------------------------------------------------------------

  /** A UUID v4. crypto.randomUUID exists only on https/localhost; a LAN kiosk may be plain http. */
  function newRequestId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function postOnce(url, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const res = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrf_token },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      let data = null;
      try { data = await res.json(); } catch (_err) { data = null; }
      return { status: res.status, data };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * POST with retries on a lost answer (network error, timeout, 5xx). The body,
   * and so its request_id, stays the same: the server answers a retry with the
   * ticket it already issued instead of issuing a second one.
   */
  async function postWithRetry(url, body) {
    let last = null;
    for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
      if (attempt > 0) await sleep(RETRY_DELAYS_MS[attempt - 1]);
      try {
        last = await postOnce(url, body);
        if (last.status < 500) return last;
      } catch (_err) {
        last = null;  // no answer at all
      }
    }
    return last || { status: 0, data: null };
  }

  function errorOf(answer) {
    const error = answer.data && answer.data.error;
    if (error && error.message) return { code: error.code || "", message: error.message };
    return { code: "network", message: t("networkError") };
  }

  async function issueTicket(priority) {
    const service = currentService();
    if (state.busy || !service) return;
    state.busy = true;
    $("busy").hidden = false;
    const body = { service_id: service.id, request_id: newRequestId() };
    if (priority && priority !== "none") body.priority = priority;
    try {
      const answer = await postWithRetry(`${API}/tickets?lang=${state.lang}`, body);
      if (answer.status === 200 || answer.status === 201) {
        showTicket(answer.data);
      } else {
        refuse(errorOf(answer));
      }
    } finally {
      state.busy = false;
      $("busy").hidden = true;
    }
  }

  /** A refusal (quota used up, agency closed, ...): say it plainly on the service list. */
  function refuse(error) {
    if (error.code === "csrf_failed" || error.code === "unauthorized") state.reloadOnStart = true;
    state.error = error.message;
    state.serviceId = null;
    show("services");
    refreshAgencies();  // so the service that refused is greyed with its reason
  }

  function firstPrintState(ticket) {
    if (ticket.print && ticket.print.status) return ticket.print.status;
    // Older servers do not say; without a printer nothing will come out.
    return (config.printer && config.printer.target) === "none" ? "none" : "pending";
  }

  function showTicket(ticket) {
    const agency = state.agencies.find((a) => ticket.agency && a.id === ticket.agency.id);
    const service = agency && agency.services.find((s) => ticket.service && s.id === ticket.service.id);
    const token = String(ticket.token || "");
    state.lastTicket = Object.freeze({
      id: ticket.id,
      number: ticket.number,
      token,
      priority: ticket.priority || "none",
      ahead: ticket.ahead === undefined ? null : ticket.ahead,
      estimated_wait_minutes: ticket.estimated_wait_minutes === undefined ? null : ticket.estimated_wait_minutes,
      agency: ticket.agency ? { ...ticket.agency } : null,
      service: ticket.service ? { ...ticket.service } : null,
      agencyName: agency ? nameOf(agency) : (ticket.agency || {}).name,
      serviceName: service ? nameOf(service) : (ticket.service || {}).name,
      status_url: ticket.status_url || `${config.public_url || window.location.origin}/t/${encodeURIComponent(token)}`,
      qr_url: `/t/${encodeURIComponent(token)}/qr.svg`,
      print_job_id: ticket.print ? ticket.print.job_id : null,
    });
    state.printState = firstPrintState(ticket);
    const early = earlyPrintUpdates.get(ticket.id);
    if (early) applyPrintUpdate(early);
    earlyPrintUpdates.clear();
    show("result");
  }

  // --- Realtime --------------------------------------------------------------------

  function setConnected(connected) {
    state.connected = connected;
    $("offline").hidden = connected;
  }

  function onSnapshot(data) {
    if (!data || !Array.isArray(data.agencies)) return;
    // The snapshot lists exactly the agencies this kiosk covers; GET /agencies lists all.
    state.covered = new Set(data.agencies.map((a) => a.id));
    setAgencies(data.agencies);
    if (data.printer) onPrinterUpdated(data.printer);
  }

  /** Counts arrive as totals: show them at once, then refetch for quota and hours. */
  function onQueueChanged(data) {
    const agency = data && state.agencies.find((a) => a.id === data.agency_id);
    if (agency) {
      agency.waiting = data.waiting;
      for (const service of agency.services) {
        const waiting = data.services && data.services[String(service.id)];
        if (waiting !== undefined) service.waiting = waiting;
      }
      renderCurrent();
    }
    // The counts are all most events change. The server says when more did (a
    // quota's remainder, the configuration, the day's end): only then fetch the
    // whole list (20 kiosks refetching after every call is a load of its own).
    if (!data || data.refresh !== false) scheduleRefresh();
  }

  function applyPrintUpdate(data) {
    const status = data.status === "pending" && data.attempts ? "retrying" : data.status;
    state.printState = status;
    if (state.screen === "result") renderPrintState();
  }

  function onPrintUpdated(data) {
    if (!data) return;
    const ticket = state.lastTicket;
    const mine = ticket && (data.ticket_id === ticket.id
      || (data.job_id !== null && data.job_id !== undefined && data.job_id === ticket.print_job_id));
    if (mine) {
      applyPrintUpdate(data);
    } else if (state.busy && data.ticket_id !== undefined) {
      // The print result can overtake the POST answer of the ticket it belongs to.
      earlyPrintUpdates.set(data.ticket_id, data);
    }
  }

  function onPrinterUpdated(data) {
    if (!data) return;
    state.printer = { state: data.state || "unknown", message: data.message || data.error || "" };
    renderPrinterBanner();
  }

  function connectSocket() {
    if (typeof window.io !== "function") {
      setConnected(false);  // the page still works from REST
      return;
    }
    const socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", () => setConnected(true));
    socket.on("disconnect", () => setConnected(false));
    socket.on("connect_error", () => {
      setConnected(false);
      // A refusal by the server is not retried by the client itself.
      if (!socket.active) setTimeout(() => socket.connect(), 5000);
    });
    // A connection that never opens reports no connect_error; the manager sees every try.
    socket.io.on("reconnect_attempt", () => setConnected(false));
    socket.io.on("error", () => setConnected(false));
    // Not connected shortly after start: say so (not at once, to avoid a flash on every load).
    setTimeout(() => setConnected(socket.connected), 3000);
    socket.on("snapshot", onSnapshot);
    // The servers' message queue is back after an outage: ask for a fresh snapshot (at a
    // random moment within two seconds, so every kiosk and TV does not ask at once).
    socket.on("resync", () => setTimeout(() => {
      if (socket.connected) socket.emit("resync");
    }, Math.random() * 2000));
    socket.on("queue.changed", onQueueChanged);
    socket.on("print.updated", onPrintUpdated);
    socket.on("printer.updated", onPrinterUpdated);
  }

  // --- Wiring ----------------------------------------------------------------------

  /** One delegated listener per area: buttons are rebuilt as data changes. */
  function onTap(container, selector, handler) {
    container.addEventListener("click", (event) => {
      const button = event.target.closest(selector);
      if (button && container.contains(button) && !button.disabled) handler(button);
    });
  }

  function wire() {
    onTap($("screen-language"), "button[data-lang]", (b) => chooseLanguage(b.dataset.lang));
    onTap($("letters"), "button[data-letter]", (b) => {
      state.letter = b.dataset.letter === "*" ? null : b.dataset.letter;
      renderAgencies();
      $("main").scrollTop = 0;
    });
    onTap($("agency-grid"), "button[data-agency-id]", (b) => chooseAgency(Number(b.dataset.agencyId)));
    onTap($("service-list"), "button[data-service-id]", (b) => chooseService(Number(b.dataset.serviceId)));
    onTap($("screen-priority"), "button[data-priority]", (b) => issueTicket(b.dataset.priority));
    $("back").addEventListener("click", goBack);
    $("done").addEventListener("click", goStart);
    $("result-qr").addEventListener("error", () => $("result-qr-box").classList.add("missing"));
    for (const type of ["pointerdown", "touchstart", "keydown", "wheel", "scroll"]) {
      document.addEventListener(type, onActivity, { capture: true, passive: true });
    }
    // Long presses would open a context menu in kiosk mode; nothing here needs one.
    document.addEventListener("contextmenu", (event) => event.preventDefault());
  }

  /** Read-only summary for tests and diagnostics (copies, never the live state). */
  function exposeState() {
    const summary = {};
    const getters = {
      screen: () => state.screen,
      lang: () => state.lang,
      connected: () => state.connected,
      busy: () => state.busy,
      agencyCount: () => state.agencies.length,
      lastTicket: () => (state.lastTicket ? JSON.parse(JSON.stringify(state.lastTicket)) : null),
      printState: () => state.printState,
      printerState: () => state.printer.state,
      error: () => state.error,
    };
    for (const [key, get] of Object.entries(getters)) {
      Object.defineProperty(summary, key, { get, enumerable: true });
    }
    Object.defineProperty(window, "kiosk", { value: Object.freeze(summary), writable: false });
  }

  wire();
  exposeState();
  renderStaticTexts();
  show("language");
  refreshAgencies();
  connectSocket();
  setInterval(refreshAgencies, REFRESH_MS);
})();
