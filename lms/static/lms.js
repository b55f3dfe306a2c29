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
