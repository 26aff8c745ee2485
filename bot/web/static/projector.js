// Live updates of the projector page: the server pushes the live part as HTML (SSE) when it
// changed; the session's end reloads the page (which then says so). No other scripts.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) {
    return;
  }
  var source = new EventSource(live.getAttribute("data-events"));
  source.onmessage = function (event) {
    live.innerHTML = JSON.parse(event.data).html;
    document.body.setAttribute("data-updated", String(Date.now()));
  };
  source.addEventListener("end", function () {
    source.close();
    window.location.reload();
  });
})();
