// Gridline console: live updates (server-sent events: incidents, service orders, the points ledger), deadline
// countdowns, and partial reloads. The pages work without it (plain links and forms); this only keeps them
// current.
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : "" + n; }

  // Counts down to each deadline; the server already marked the overdue ones, this keeps the clock moving.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) return;
      var left = Math.round((due - now) / 1000), late = left < 0, s = Math.abs(left);
      var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
      var text = (d ? d + (el.dataset.dayUnit || "d") + " " : "") + pad(h) + ":" + pad(m) + ":" + pad(sec);
      // Past due beside the server's overdue badge, the time alone: the badge already says so.
      var badge = el.parentElement && el.parentElement.querySelector(".badge.overdue");
      var label = late ? (badge ? "" : el.dataset.overdueLabel + " ") : el.dataset.dueLabel + " ";
      el.textContent = label + text;
      el.classList.toggle("late", late);
    });
  }

  // What was typed or ticked in a part of the page, by control id, so that a live swap keeps it (the rows
  // ticked for a bulk action, a note half written).
  function controls(el) {
    var state = {};
    el.querySelectorAll("input[id], select[id], textarea[id]").forEach(function (c) {
      state[c.id] = (c.type === "checkbox" || c.type === "radio") ? c.checked : c.value;
    });
    return state;
  }

  function restore(el, state) {
    el.querySelectorAll("input[id], select[id], textarea[id]").forEach(function (c) {
      if (!Object.prototype.hasOwnProperty.call(state, c.id)) return;
      if (c.type === "checkbox" || c.type === "radio") c.checked = state[c.id]; else c.value = state[c.id];
    });
  }

  // Fetches a fragment and swaps it in, keeping focus where it was when the element survives.
  function swap(url, id) {
    var old = document.getElementById(id);
    if (!old) return Promise.resolve();
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (res) {
      if (res.redirected && res.url.indexOf("/console/login") >= 0) { window.location = res.url; return; }
      if (!res.ok) return;
      return res.text().then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(id);
        var cur = document.getElementById(id);
        if (!fresh || !cur) return;
        var focused = document.activeElement && document.activeElement.id;
        restore(fresh, controls(cur));
        cur.replaceWith(fresh);
        if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
        tick();
        document.dispatchEvent(new CustomEvent("gridline:updated", { detail: { id: id } }));
      });
    });
  }

  function reloadFor(ids) {
    var rows = document.getElementById("queue-rows");
    if (rows) {
      var q = rows.dataset.query || "";
      var page = rows.dataset.page || "1";
      return swap("/console/queue/rows?" + q + (q ? "&" : "") + "page=" + page, "queue-rows");
    }
    var inc = document.getElementById("incident");
    if (inc && (ids === "*" || ids.split(",").indexOf(inc.dataset.incident) >= 0)) {
      return swap(window.location.pathname, "incident");
    }
  }

  // The order queue's rows, an open order, or the supermarket's figures, when an order or the points
  // ledger changed (an evaluated order credits its volunteer, so the counter follows orders too).
  function reloadOrders(ids) {
    var rows = document.getElementById("order-rows");
    if (rows) {
      var q = rows.dataset.query || "";
      var page = rows.dataset.page || "1";
      return swap("/console/orders/rows?" + q + (q ? "&" : "") + "page=" + page, "order-rows");
    }
    var order = document.getElementById("order");
    if (order && (ids === "*" || ids.split(",").indexOf(order.dataset.order) >= 0)) {
      return swap(window.location.pathname, "order");
    }
    return reloadShop();
  }

  // The supermarket's figures, for the month the page shows.
  function reloadShop() {
    var figures = document.getElementById("shop-figures");
    if (!figures) return;
    return swap("/console/shop/figures?month=" + encodeURIComponent(figures.dataset.month || ""), "shop-figures");
  }

  function live() {
    if (!window.EventSource) return;
    var needs = document.getElementById("queue-rows") || document.getElementById("incident")
      || document.getElementById("order-rows") || document.getElementById("order")
      || document.getElementById("shop-figures") || document.querySelector("[data-live-reload]");
    if (!needs) return;
    var es = new EventSource("/console/events");
    var badge = document.querySelector("[data-live]");
    es.addEventListener("open", function () { if (badge) badge.hidden = false; document.body.dataset.live = "on"; });
    es.addEventListener("error", function () { if (badge) badge.hidden = true; document.body.dataset.live = "off"; });
    es.addEventListener("incidents", function (ev) { reloadFor(ev.data); });
    es.addEventListener("orders", function (ev) { reloadOrders(ev.data); });
    es.addEventListener("points", function () { reloadShop(); });
  }

  // A response template chosen on an incident fills the note in place (without script, the button beside
  // the choice reloads the page with the note filled). What the user wrote themselves is never replaced.
  var filled = {};
  document.addEventListener("change", function (ev) {
    var pick = ev.target;
    if (!pick.matches || !pick.matches("select[data-fills]")) return;
    var note = document.getElementById(pick.dataset.fills);
    var option = pick.options[pick.selectedIndex];
    if (!note || !option) return;
    if (note.value !== "" && note.value !== filled[note.id]) return;
    note.value = option.dataset.text || "";
    filled[note.id] = note.value;
  });

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    live();
  });
})();
