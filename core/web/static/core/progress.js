// Progress of background jobs: each element with data-job-url has its <progress> and
// [data-job-text] updated every second from the job's JSON; when the job ends, a page
// marked data-reload is reloaded to show the outcome.
(function () {
  "use strict";
  function watch(el) {
    var bar = el.querySelector("progress");
    var text = el.querySelector("[data-job-text]");
    function poll() {
      fetch(el.dataset.jobUrl, {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          if (bar) {
            if (job.percent === null) { bar.removeAttribute("value"); } else { bar.value = job.percent; }
          }
          if (text) { text.textContent = job.done + (job.total ? " / " + job.total : ""); }
          if (job.state === "done" || job.state === "failed") {
            if (el.dataset.reload) { window.location.reload(); }
            return;
          }
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 1000);
  }
  document.querySelectorAll("[data-job-url]").forEach(watch);
})();
