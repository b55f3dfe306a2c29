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
