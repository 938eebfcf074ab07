// Frontline pages: refresh live fragments without reloading, keep countdowns ticking, print button.
// No dependencies: fetch() polling of a server-rendered fragment.
(function () {
  "use strict";

  function span(minutes) {
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    if (hours >= 24) {
      return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
    }
    return hours ? hours + " h " + (rest < 10 ? "0" : "") + rest + " min" : rest + " min";
  }

  // The server's clock minus this browser's: countdowns and "last refreshed" follow the server, whose clock
  // made the promise, not a desk PC's, which may be minutes off. Every page and fragment carries the server's
  // time of rendering (data-server-now); the offset is taken again at each refresh.
  var clockOffset = 0;

  function readServerClock(root) {
    var el = root.hasAttribute && root.hasAttribute("data-server-now") ? root : root.querySelector("[data-server-now]");
    var server = el ? Date.parse(el.getAttribute("data-server-now")) : NaN;
    if (!isNaN(server)) clockOffset = server - Date.now();
  }

  function serverNow() {
    return new Date(Date.now() + clockOffset);
  }

  function tickCountdowns(root) {
    var now = serverNow().getTime();
    (root || document).querySelectorAll("[data-countdown]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-countdown"));
      if (isNaN(due)) return;
      var seconds = (due - now) / 1000;
      var overdue = seconds < 0;
      var text = overdue ? "⚠ overdue by " + span(Math.floor(-seconds / 60)) : "in " + span(Math.floor(seconds / 60));
      if (el.textContent !== text) el.textContent = text;
      el.classList.toggle("countdown--overdue", overdue);
      var row = el.closest("tr");
      if (row) row.classList.toggle("is-overdue", overdue);
    });
  }

  function clock(date) {
    return date.toISOString().substring(11, 19) + " UTC";
  }

  // When a fragment was rendered, on the clock the page tells its times by (the station's on a briefing, UTC on
  // the board): the server writes it (data-server-clock), so the script needs no time-zone rules of its own.
  function renderedAt(root, date) {
    var el = root.querySelector("[data-server-clock]");
    return (el && el.getAttribute("data-server-clock")) || clock(date);
  }

  function startRefreshing(container) {
    var url = container.getAttribute("data-refresh-url");
    var seconds = parseInt(container.getAttribute("data-refresh-seconds"), 10) || 15;
    var message = container.getAttribute("data-refresh-message") || "The page changed.";
    var status = document.querySelector("[data-refresh-status]");
    var announce = document.querySelector("[data-announce]");
    var busy = false;

    function signature() {
      var el = container.querySelector("[data-signature]");
      return el ? el.getAttribute("data-signature") : "";
    }

    function refresh() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin", cache: "no-store", redirect: "manual" })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.text();
        })
        .then(function (html) {
          var before = signature();
          var focused = document.activeElement && container.contains(document.activeElement);
          container.innerHTML = html;
          readServerClock(container);
          tickCountdowns(container);
          if (signature() !== before && announce) {
            announce.textContent = message + " " + renderedAt(container, serverNow());
          }
          if (focused) container.focus();
          if (status) {
            status.classList.remove("is-stale");
            status.innerHTML = "";
            status.appendChild(document.createTextNode("Last refreshed at "));
            var time = document.createElement("time");
            var now = serverNow();
            time.setAttribute("data-refreshed", "");
            time.setAttribute("datetime", now.toISOString());
            time.textContent = renderedAt(container, now);
            status.appendChild(time);
            status.appendChild(document.createTextNode("; refreshes every " + seconds + (seconds === 1 ? " second." : " seconds.")));
          }
        })
        .catch(function () {
          if (status) {
            status.classList.add("is-stale");
            status.textContent = "Could not refresh (you may need to log in again). Showing what we had; retrying.";
          }
        })
        .finally(function () {
          busy = false;
        });
    }

    container.setAttribute("tabindex", "-1");
    window.setInterval(refresh, seconds * 1000);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) refresh();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    readServerClock(document.body);
    document.querySelectorAll("[data-refresh-url]").forEach(startRefreshing);
    tickCountdowns(document);
    window.setInterval(function () { tickCountdowns(document); }, 15000);
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
