/* The satisfaction survey form (templates/survey/form.html), shared by the
 * visitor's status page and a counter's tablet.
 *
 *   const form = AntrianSurvey.attach(formElement, {
 *     texts,                       // survey_form.texts(): translated by the server
 *     send(payload) -> Promise<{ok, status, code, message}>,
 *     onSaved(),                   // 201: the answers are stored
 *     onAnswered(message),         // 409 survey_exists: somebody already answered
 *   });
 *   form.reset();                  // empty again (the tablet reuses it)
 *
 * An element may be left out (the domain's rule), but at least one must be
 * answered. Every text goes in with textContent.
 */
(function () {
  "use strict";

  const CODES = ["U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9"];

  function attach(form, options) {
    const texts = options.texts || {};
    const error = form.querySelector("#survey-error");
    const send = form.querySelector("#survey-send");
    const suggestion = form.querySelector("#survey-suggestion");
    const left = form.querySelector("#survey-left");
    const max = Number(suggestion.getAttribute("data-max")) || 2000;
    let busy = false;

    function showError(message) {
      error.textContent = message || "";
      error.hidden = !message;
      if (message) error.scrollIntoView({ block: "nearest" });
    }

    function paintLeft() {
      if (suggestion.value.length > max) suggestion.value = suggestion.value.slice(0, max);
      const remaining = max - suggestion.value.length;
      // Only near the limit: a counter from the first letter is noise.
      left.textContent = remaining <= 200 ? (texts.left || "%(num)s").replace("%(num)s", String(remaining)) : "";
    }

    function scores() {
      const out = {};
      CODES.forEach((code) => {
        const chosen = form.querySelector(`input[name="${code}"]:checked`);
        if (chosen) out[code] = Number(chosen.value);
      });
      return out;
    }

    function setBusy(value) {
      busy = value;
      send.disabled = value;
      send.textContent = value ? texts.sending : texts.send;
    }

    form.addEventListener("change", (event) => {
      if (event.target && event.target.type === "radio") showError("");
    });
    suggestion.addEventListener("input", paintLeft);

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      const given = scores();
      if (Object.keys(given).length === 0) {
        showError(texts.chooseOne);
        return;
      }
      showError("");
      setBusy(true);
      let answer;
      try {
        answer = await options.send({ scores: given, suggestion: suggestion.value.trim().slice(0, max) });
      } catch (_err) {
        answer = { ok: false, status: 0, code: "network" };
      }
      setBusy(false);
      if (answer.ok) {
        options.onSaved();
      } else if (answer.code === "survey_exists") {
        options.onAnswered(texts.answered);
      } else if (answer.status === 0) {
        showError(texts.network);
      } else if (answer.status >= 500 || !answer.message) {
        showError(texts.server);
      } else {
        showError(answer.message);  // the server's own text, in the page's language
      }
    });

    function reset() {
      form.reset();
      showError("");
      setBusy(false);
      paintLeft();
    }

    paintLeft();
    return Object.freeze({ reset, scores });
  }

  /** POST JSON and turn any outcome into {ok, status, code, message}. */
  async function postJson(url, body, headers, credentials) {
    let res;
    try {
      res = await fetch(url, {
        method: "POST", cache: "no-store", credentials: credentials || "omit",
        headers: Object.assign({ "Content-Type": "application/json", Accept: "application/json" }, headers || {}),
        body: JSON.stringify(body),
      });
    } catch (_err) {
      return { ok: false, status: 0, code: "network", message: "" };
    }
    let data = null;
    try { data = await res.json(); } catch (_err) { data = null; }
    const err = (data && data.error) || {};
    return { ok: res.ok, status: res.status, code: err.code || "", message: err.message || "", data };
  }

  window.AntrianSurvey = Object.freeze({ attach, postJson, CODES });
})();
