// The LMS's only script: no inline script anywhere (the Content-Security-Policy forbids it).
(function () {
  "use strict";

  // Job pages poll their JSON and show progress until the job finishes, then reload once.
  function watchJob(card) {
    var url = card.getAttribute("data-job-url");
    var bar = card.querySelector("progress");
    var status = card.querySelector("[data-job-status]");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          if (job.percent !== null && bar) { bar.value = job.percent; }
          if (status) { status.textContent = job.state + (job.message ? " · " + job.message : ""); }
          if (job.finished) { window.location.reload(); } else { setTimeout(poll, 700); }
        })
        .catch(function () { setTimeout(poll, 2000); });
    }
    setTimeout(poll, 300);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-job-url]").forEach(function (card) {
      if (card.getAttribute("data-job-finished") !== "true") { watchJob(card); }
    });
    // Ask before destructive actions: <button data-confirm="...">.
    document.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (event) {
        if (!window.confirm(el.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();

// Lesson pages: study time is credited on the server from heartbeats, sent every few seconds
// only while the page is visible (document.visibilityState). Hiding the page sends one last
// beat (the time up to now was visible) and stops; showing it again restarts the clock on the
// server without credit ({"resume": true}) and beats again. The element carrying
// data-heartbeat-url also names the interval (data-heartbeat-seconds) and the CSRF token.
(function () {
  "use strict";

  function duration(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var rest = s % 60;
    return Math.floor(s / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function studyHeartbeat(card) {
    var url = card.getAttribute("data-heartbeat-url");
    var every = Math.max(1, parseInt(card.getAttribute("data-heartbeat-seconds"), 10) || 15) * 1000;
    var token = card.getAttribute("data-csrf-token");
    var timer = null;
    var finished = false; // the run was completed elsewhere, or the lesson is not ours

    function show(state) {
      var time = card.querySelector("[data-lesson-time]");
      if (time) { time.textContent = duration(state.seconds); }
      var bar = card.querySelector("[data-lesson-progress]");
      if (bar) { bar.value = Math.min(state.seconds, Number(bar.max)); }
      var label = card.querySelector("[data-lesson-state]");
      if (label && state.done && label.getAttribute("data-done") !== "true") {
        label.setAttribute("data-done", "true");
        label.textContent = label.getAttribute("data-done-text");
      }
      var done = card.querySelector("[data-lessons-done]");
      if (done && typeof state.lessons_done === "number") { done.textContent = state.lessons_done; }
      var all = card.querySelector("[data-all-done]");
      if (all && state.all_done) { all.hidden = false; }
    }

    function beat(resume, leaving) {
      if (finished) { return; }
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        keepalive: !!leaving,
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ resume: !!resume })
      })
        .then(function (r) {
          if (r.status >= 400 && r.status < 500) { finished = true; stop(); }
          if (!r.ok) { throw new Error("heartbeat " + r.status); }
          return r.json();
        })
        .then(show)
        .catch(function () { /* the next beat tries again */ });
    }

    function start() {
      if (timer === null && !finished) {
        timer = window.setInterval(function () {
          if (document.visibilityState === "visible") { beat(false, false); } else { stop(); }
        }, every);
      }
    }

    function stop() {
      if (timer !== null) { window.clearInterval(timer); timer = null; }
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        beat(true, false);
        start();
      } else if (timer !== null) {
        stop();
        beat(false, true);
      }
    });
    if (document.visibilityState === "visible") { start(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-heartbeat-url]").forEach(studyHeartbeat);
  });
})();

// Exam attempt pages: each changed answer is saved at once (POST JSON to the item's
// data-save-url with the CSRF token); a refused save (409: time is up) shows the server's
// message. The countdown to data-deadline is decoration only: the server's clock decides.
(function () {
  "use strict";

  // The response of one item, from its inputs, in the form the server expects per type.
  function responseOf(item) {
    var type = item.getAttribute("data-type");
    var inputs = Array.prototype.slice.call(item.querySelectorAll("input, select, textarea"));
    if (type === "single_choice") {
      var picked = inputs.filter(function (i) { return i.checked; })[0];
      return picked ? parseInt(picked.value, 10) : null;
    }
    if (type === "multiple_choice") {
      return inputs.filter(function (i) { return i.checked; })
        .map(function (i) { return parseInt(i.value, 10); });
    }
    if (type === "true_false") {
      var tf = inputs.filter(function (i) { return i.checked; })[0];
      return tf ? tf.value === "true" : null;
    }
    if (type === "fill_in" || type === "matching") {
      return inputs.map(function (i) { return i.value; });
    }
    return inputs.length ? inputs[0].value : null;
  }

  function attemptPage(card) {
    var token = card.getAttribute("data-csrf-token");
    var errorBox = card.querySelector("[data-exam-error]");
    var closed = false;

    function showError(text) {
      if (errorBox) { errorBox.textContent = text; errorBox.hidden = false; }
    }

    // An answer that could not be sent (no connection, a server error) stays "dirty" and is sent
    // again: with a growing pause, at once when the browser is back online, and before the form
    // is submitted. A refusal (400, 409) is not retried: the server has said no.
    var retryTimer = null;
    var retryPause = 1000;
    var connectionError = false;

    function dirtyItems() {
      return Array.prototype.filter.call(document.querySelectorAll("[data-exam-item]"),
        function (item) { return item.lmsDirty; });
    }

    function retrySoon() {
      if (retryTimer !== null || closed) { return; }
      retryTimer = window.setTimeout(function () {
        retryTimer = null;
        retryPause = Math.min(retryPause * 2, 30000);
        dirtyItems().forEach(save);
      }, retryPause);
    }

    function save(item) {
      if (closed) { return Promise.resolve(false); }
      var state = item.querySelector("[data-save-state]");
      var sent = ++item.lmsSaves;
      item.lmsDirty = true;
      if (state) { state.textContent = card.getAttribute("data-saving-text"); }
      return fetch(item.getAttribute("data-save-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ response: responseOf(item) })
      })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (body) {
            if (r.status === 409) { closed = true; }
            if (!r.ok) {
              var refused = r.status < 500;
              if (refused && sent === item.lmsSaves) { item.lmsDirty = false; }
              var error = new Error(body.error || card.getAttribute("data-failed-text"));
              error.retry = !refused;
              throw error;
            }
            return body;
          });
        })
        .then(function () {
          if (sent !== item.lmsSaves) { return true; }
          item.lmsDirty = false;
          if (state) { state.textContent = card.getAttribute("data-saved-text"); }
          if (connectionError && !dirtyItems().length && errorBox) {
            connectionError = false;
            errorBox.hidden = true;
            retryPause = 1000;
          }
          return true;
        })
        .catch(function (error) {
          if (state && sent === item.lmsSaves) { state.textContent = ""; }
          var retry = !error || error.retry !== false;
          if (retry) {
            connectionError = true;
            showError(card.getAttribute("data-failed-text"));
            retrySoon();
          } else {
            showError(error.message);
          }
          return false;
        });
    }

    document.querySelectorAll("[data-exam-item]").forEach(function (item) {
      var typing = null;
      item.lmsSaves = 0;
      item.addEventListener("change", function () {
        if (typing !== null) { window.clearTimeout(typing); typing = null; }
        save(item);
      });
      item.addEventListener("input", function (event) {
        if (event.target.type === "radio" || event.target.type === "checkbox") { return; }
        if (typing !== null) { window.clearTimeout(typing); }
        typing = window.setTimeout(function () { typing = null; save(item); }, 800);
      });
    });
    window.addEventListener("online", function () { dirtyItems().forEach(save); });

    // Submitting sends the unsaved answers first; if they still cannot be sent, the form stays
    // (the candidate sees why and can try again; at the deadline the server finishes the
    // attempt with what it has).
    var form = card.querySelector("form.exam-form") || document.querySelector("form.exam-form");
    if (form) {
      form.addEventListener("submit", function (event) {
        var dirty = dirtyItems();
        if (!dirty.length || closed) { return; }
        event.preventDefault();
        Promise.all(dirty.map(save)).then(function (results) {
          if (results.every(Boolean)) { leaving = true; form.submit(); }
        });
      });
    }

    // Switching away: the page becoming hidden is reported, but not when this page itself is
    // left (submitting, reloading or following a link fire beforeunload/pagehide first). Back on
    // the page the count is shown; an attempt the switch submitted goes to its result.
    var awayUrl = card.getAttribute("data-away-url");
    var awayBox = card.querySelector("[data-exam-away]");
    var leaving = false;
    var awayReply = null;
    var awaySeen = null;

    function showAway(body) {
      if (body.submitted && body.result_url) { leaving = true; window.location.assign(body.result_url); return; }
      if (!awayBox || !body.switches) { return; }
      var text = card.getAttribute(body.limit ? "data-away-limit-text" : "data-away-text") || "";
      awayBox.textContent = text.split("{switches}").join(String(body.switches))
        .split("{limit}").join(String(body.limit));
      awayBox.hidden = false;
    }

    function reportAway() {
      awayReply = fetch(awayUrl, {
        method: "POST",
        credentials: "same-origin",
        keepalive: true,
        headers: { Accept: "application/json", "X-CSRFToken": token }
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; });
    }

    if (awayUrl) {
      window.addEventListener("beforeunload", function () { leaving = true; });
      window.addEventListener("pagehide", function () { leaving = true; });
      window.addEventListener("pageshow", function (event) { if (event.persisted) { leaving = false; } });
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState === "hidden") {
          if (!leaving && !closed) { reportAway(); }
        } else if (awayReply !== null) {
          var reply = awayReply;
          awaySeen = reply;
          reply.then(function (body) { if (body && awaySeen === reply) { showAway(body); } });
        }
      });
    }

    var deadline = card.getAttribute("data-deadline");
    var countdown = card.querySelector("[data-exam-countdown]");
    if (deadline && countdown) {
      var end = Date.parse(deadline);
      var tick = function () {
        var left = Math.max(0, Math.floor((end - Date.now()) / 1000));
        var h = Math.floor(left / 3600);
        var m = Math.floor((left % 3600) / 60);
        var s = left % 60;
        countdown.textContent = (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (s < 10 ? "0" : "") + s;
        if (left === 0) {
          window.clearInterval(timer);
          showError(card.getAttribute("data-time-up-text"));
        }
      };
      var timer = window.setInterval(tick, 1000);
      tick();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-exam-attempt]").forEach(attemptPage);
  });
})();

// The trainer's check-in screen: the QR code changes every minute, so the screen fetches the
// current one (and the count of people checked in) every 15 seconds.
(function () {
  "use strict";
  function refreshQr(card) {
    var url = card.getAttribute("data-qr-url");
    var image = card.querySelector("[data-qr-image]");
    var count = card.querySelector("[data-qr-present]");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          // the SVG is made by the server (segno) from our own URL: no user text in it
          if (image) { image.innerHTML = data.svg; }
          if (count) { count.textContent = data.present; }
          setTimeout(poll, 15000);
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 15000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-qr-url]").forEach(refreshQr);
  });
})();
