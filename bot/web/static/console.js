// Parts of a console page marked data-live="URL" are fetched again every few seconds and
// replaced in place (the dashboard's response rates fill up without a reload).
(function () {
  "use strict";
  function refresh(el) {
    fetch(el.dataset.live, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        el.innerHTML = html;
        document.body.dataset.updated = String(Date.now());
      })
      .catch(function (status) {
        if (status === 401) { window.location.reload(); }
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var every = parseInt(el.dataset.every || "2000", 10);
      setInterval(function () { refresh(el); }, every);
    });
    // A button that asks first (cancel a campaign): confirm in the browser too.
    document.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (e) {
        if (!window.confirm(el.dataset.confirm)) { e.preventDefault(); }
      });
    });
  });
})();
