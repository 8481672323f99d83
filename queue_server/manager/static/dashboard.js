/* The managers' live dashboard (/manager/).
 *
 * Everything on the page is one snapshot, GET /manager/dashboard.json. The
 * page refetches it when the "managers" Socket.IO room reports a change
 * (tickets, counters, queues, printers, device presence), at most once per
 * throttle interval, and every refresh_seconds anyway: waits grow and devices
 * time out while nothing happens. All text from the server goes in as text
 * (AntrianDom), never as markup.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const T = config.texts;
  const { el, setText } = window.AntrianDom;
  const root = document.getElementById("dashboard");
  const EVENTS = ["ticket.updated", "counter.updated", "queue.changed", "print.updated",
                  "printer.updated", "device.presence"];

  const state = {
    connected: false,
    fetches: 0,        // snapshots rendered (tests watch this)
    snapshot: null,
    inFlight: false,
    again: false,      // an event arrived while a fetch was running
    timer: null,
    lastFetch: 0,
  };
  window.dashboardPage = state;

  const timeFormat = new Intl.DateTimeFormat(config.lang === "en" ? "en-GB" : "id-ID", {
    timeZone: config.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, (all, key) =>
      Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : all);
  }

  function clockTime(iso) {
    return iso ? timeFormat.format(new Date(iso)) : T.never;
  }

  function minutes(seconds, round) {
    if (seconds === null || seconds === undefined) return "\u2013";
    const n = round ? Math.round(seconds / 60) : Math.floor(seconds / 60);
    return fill(T.min, { n });
  }

  function deviceLabel(device) {
    return device.name && device.name !== device.code ? `${device.name} (${device.code})` : device.code;
  }

  // --- Rendering -------------------------------------------------------------------------------

  function alertText(alert) {
    if (alert.kind === "wait") {
      return fill(T.alertWait, {
        agency: alert.agency.name, count: alert.waiting_over_target, minutes: alert.longest_wait_minutes,
        service: alert.service, target: alert.target_wait_minutes,
      });
    }
    if (alert.kind === "device_offline") {
      const device = deviceLabel(alert.device);
      return alert.last_seen_at ? fill(T.alertOffline, { device, time: clockTime(alert.last_seen_at) })
                                : fill(T.alertNever, { device });
    }
    const printerState = T["printer." + alert.state] || alert.state;
    const text = fill(T.alertPrinter, { device: deviceLabel(alert.device), state: printerState });
    return alert.error ? `${text} ${alert.error}` : text;
  }

  function renderAlerts(alerts) {
    const list = document.getElementById("alerts");
    list.replaceChildren(...alerts.map((alert) => {
      const item = el("li", `alert ${alert.level}`, alertText(alert));
      item.dataset.kind = alert.kind;
      item.dataset.code = alert.agency ? alert.agency.code : alert.device.code;
      return item;
    }));
    document.getElementById("no-alerts").hidden = alerts.length > 0;
    const count = document.getElementById("alert-count");
    count.hidden = alerts.length === 0;
    setText(count, alerts.length);
  }

  function setTotal(name, text, bad) {
    const box = document.querySelector(`#totals [data-total="${name}"]`);
    setText(box.querySelector("dd"), text);
    box.classList.toggle("bad", Boolean(bad));
  }

  function renderTotals(t) {
    setTotal("waiting", t.waiting);
    setTotal("waiting_over_target", t.waiting_over_target, t.waiting_over_target > 0);
    setTotal("served", t.served);
    setTotal("average_wait", minutes(t.average_wait_seconds, true));
    setTotal("called_over_target", t.called_over_target, t.called_over_target > 0);
    setTotal("counters", `${t.counters_open} / ${t.counters_total}`);
    setTotal("devices", `${t.devices_online} / ${t.devices_total}`, t.devices_online < t.devices_total);
  }

  function numberCell(value, className, bad) {
    const cell = el("td", "num " + (className || ""), value);
    if (bad) cell.classList.add("bad");
    return cell;
  }

  function agencyCell(a) {
    const cell = el("th");
    cell.scope = "row";
    cell.append(el("span", "agency-name", a.name), " ", el("span", "muted", a.code));
    if (a.open.reason !== "open") {
      cell.append(" ", el("span", "tag", T["open." + a.open.reason] || a.open.reason));
    }
    const late = a.services.filter((s) => s.over_target > 0);
    if (late.length) {
      const list = el("ul", "late-services");
      for (const s of late) {
        list.append(el("li", null, `${s.name}: ${fill(T.overTarget, { n: s.over_target })}, ` +
                                   `${minutes(s.longest_wait_seconds)} / ${fill(T.min, { n: s.target_wait_minutes })}`));
      }
      cell.append(list);
    }
    return cell;
  }

  function countersCell(c) {
    const cell = el("td", "counters");
    cell.append(el("div", "muted", c.open || c.paused ? fill(T.ofOpen, { open: c.open, total: c.total })
                                                      : T.noCounter));
    if (c.working.length) {
      const list = el("ul", "working");
      for (const counter of c.working) {
        const item = el("li", `counter ${counter.state}`);
        item.dataset.counter = counter.code;
        item.append(el("strong", null, counter.name));
        if (counter.officer) item.append(" \u00b7 ", el("span", "officer", counter.officer));
        if (counter.state === "paused") item.append(" ", el("span", "tag", T.paused));
        else if (counter.ticket) item.append(" \u00b7 ", el("span", "muted", fill(T.serving, { number: counter.ticket })));
        list.append(item);
      }
      cell.append(list);
    }
    return cell;
  }

  function longestCell(a) {
    const cell = el("td", "num longest");
    if (a.longest_wait_seconds === null) {
      cell.textContent = "\u2013";
      return cell;
    }
    cell.append(el("span", "value", minutes(a.longest_wait_seconds)));
    cell.append(el("div", "muted target", fill(T.targetMin, { n: a.longest_wait_target_minutes })));
    if (a.longest_wait_seconds > a.longest_wait_target_minutes * 60) cell.classList.add("bad");
    return cell;
  }

  function renderAgencies(agencies) {
    const body = document.querySelector("#agencies tbody");
    body.replaceChildren(...agencies.map((a) => {
      const row = el("tr");
      row.dataset.agency = a.code;
      row.classList.toggle("problem", a.waiting_over_target > 0);
      const within = a.within_target_percent === null ? "" : fill(T.withinTarget, { n: a.within_target_percent });
      const breaches = el("td", "num called-over");
      breaches.append(el("span", "value", a.called_over_target));
      breaches.classList.toggle("bad", a.called_over_target > 0);
      if (within) breaches.append(el("div", "muted within", within));
      row.append(
        agencyCell(a),
        numberCell(a.waiting, "waiting"),
        longestCell(a),
        numberCell(a.waiting_over_target, "waiting-over", a.waiting_over_target > 0),
        countersCell(a.counters),
        numberCell(a.served, "served"),
        numberCell(minutes(a.average_wait_seconds, true), "average-wait"),
        breaches,
      );
      return row;
    }));
  }

  function printerText(device) {
    if (!device.printer) return "\u2013";
    if (!device.printer.enabled) return T.noPrinter;
    return T["printer." + device.printer.state] || device.printer.state;
  }

  function renderDevices(devices) {
    const body = document.querySelector("#devices tbody");
    body.replaceChildren(...devices.filter((d) => d.active).map((d) => {
      const row = el("tr", d.online ? "device-online" : "device-offline");
      row.dataset.device = d.code;
      const printer = el("td", "printer", printerText(d));
      if (d.printer && d.printer.enabled) printer.classList.add("state-" + d.printer.state);
      row.append(
        el("td", null, deviceLabel(d)),
        el("td", null, T["kind." + d.kind] || d.kind),
        el("td", "presence " + (d.online ? "state-ok" : "state-offline"), d.online ? T.online : T.offlineState),
        el("td", "last-seen", clockTime(d.last_seen_at)),
        printer,
      );
      return row;
    }));
  }

  function render(snapshot) {
    state.snapshot = snapshot;
    renderAlerts(snapshot.alerts);
    renderTotals(snapshot.totals);
    renderAgencies(snapshot.agencies);
    renderDevices(snapshot.devices);
    setText(document.getElementById("updated"), fill(T.updated, { time: clockTime(snapshot.generated_at) }));
    root.dataset.state = "ready";
    state.fetches += 1;
  }

  // --- Fetching --------------------------------------------------------------------------------

  async function refresh() {
    if (state.inFlight) {
      state.again = true;
      return;
    }
    state.inFlight = true;
    state.lastFetch = Date.now();
    try {
      const response = await fetch(config.snapshot_url, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok || !type.includes("application/json")) throw new Error(`HTTP ${response.status}`);
      render(await response.json());
      document.getElementById("load-error").hidden = true;
    } catch (err) {
      document.getElementById("load-error").hidden = false;  // e.g. the login session ended
    } finally {
      state.inFlight = false;
      if (state.again) {
        state.again = false;
        schedule();
      }
    }
  }

  /** Refetch soon, but never more than once per throttle interval. */
  function schedule() {
    if (state.timer !== null) return;
    const wait = Math.max(0, state.lastFetch + config.throttle_ms - Date.now());
    state.timer = setTimeout(() => {
      state.timer = null;
      refresh();
    }, wait);
  }

  function setConnected(connected) {
    state.connected = connected;
    document.getElementById("offline").hidden = connected;
  }

  function connectSocket() {
    if (typeof window.io !== "function") {
      setConnected(false);  // the page still refreshes on its timer
      return;
    }
    const socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", () => {
      setConnected(true);
      schedule();  // a reconnect may have missed events
    });
    socket.on("disconnect", () => setConnected(false));
    socket.on("connect_error", () => {
      setConnected(false);
      if (!socket.active) setTimeout(() => socket.connect(), 5000);
    });
    for (const name of EVENTS) socket.on(name, schedule);
    socket.on("resync", schedule);  // the message queue is back after an outage: fetch afresh
  }

  refresh();
  setInterval(schedule, config.refresh_seconds * 1000);
  connectSocket();
})();
