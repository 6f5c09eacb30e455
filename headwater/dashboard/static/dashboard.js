// Headwater dashboard: action buttons (JSON API), live refresh while a run is active,
// and opening the task a timeline bar points at. No dependencies.
(function () {
  "use strict";

  var POLL_MS = 2500;
  var timer = null;

  function toast(message, isError) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.className = "toast" + (isError ? " toast-error" : "");
    el.hidden = false;
    clearTimeout(el._hide);
    el._hide = setTimeout(function () { el.hidden = true; }, isError ? 8000 : 3000);
  }

  function detail(body, status) {
    if (body && typeof body.detail === "string") return body.detail;
    if (body && Array.isArray(body.detail)) return body.detail.map(function (d) { return d.msg; }).join("; ");
    return "request failed (HTTP " + status + ")";
  }

  function queued(body) {
    return body.coalesced ? "Joined run #" + body.run_id + " already queued" : "Run #" + body.run_id + " queued";
  }

  function post(url, button, busyLabel, said) {
    var label = button.textContent;
    button.disabled = true;
    button.textContent = busyLabel;
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (body) {
          if (!resp.ok) throw new Error(detail(body, resp.status));
          return body;
        });
      })
      .then(function (body) {
        var runId = body.run_id || body.id;
        toast((said || queued)(body));
        if (runId) {
          window.location.assign("/runs/" + runId);
        } else {  // nothing to follow (a reset): the button is ready again
          button.disabled = false;
          button.textContent = label;
        }
      })
      .catch(function (err) {
        toast(err.message, true);
        button.disabled = false;
        button.textContent = label;
      });
  }

  function openTarget() {
    var id = window.location.hash.slice(1);
    if (!/^task-\d+$/.test(id)) return;
    var el = document.getElementById(id);
    if (el && el.tagName === "DETAILS") el.open = true;
    document.querySelectorAll(".lane-task.is-selected").forEach(function (x) { x.classList.remove("is-selected"); });
    var lane = document.querySelector('.lane-task[data-task="' + id.slice(5) + '"]');
    if (lane) lane.classList.add("is-selected");
  }

  document.addEventListener("click", function (ev) {
    var target = ev.target instanceof Element ? ev.target : null;
    if (!target) return;
    var button = target.closest("button[data-action]");
    if (button) {
      ev.preventDefault();
      if (button.dataset.action === "refresh") {
        post("/api/tenants/" + encodeURIComponent(button.dataset.tenant) + "/refresh", button, "Queuing…");
      } else if (button.dataset.action === "retry") {
        post("/api/runs/" + encodeURIComponent(button.dataset.run) + "/retry", button, "Retrying…");
      } else if (button.dataset.action === "reset") {
        var source = button.dataset.source;
        if (!window.confirm("Reset source #" + source + "'s cursors and ETags? Its next run reads everything again.")) return;
        post(
          "/api/tenants/" + encodeURIComponent(button.dataset.tenant) + "/sources/" + encodeURIComponent(source) + "/reset",
          button,
          "Resetting…",
          function (body) {
            return "Source #" + body.source_id + ": " + body.cursors_cleared + " cursors and " + body.etags_cleared +
              " ETags cleared; its next run reads everything again";
          }
        );
      } else if (button.dataset.action === "cancel") {
        post("/api/runs/" + encodeURIComponent(button.dataset.run) + "/cancel", button, "Cancelling…", function (body) {
          return "Run #" + body.id + " cancelled";
        });
      }
      return;
    }
    var row = target.closest("tr[data-href]");
    if (row && !target.closest("a")) window.location.assign(row.dataset.href);
  });

  // -- reconnect a source: new secrets, checked by the API before anything is stored ----------
  document.addEventListener("submit", function (ev) {
    var form = ev.target instanceof HTMLFormElement ? ev.target : null;
    if (!form || form.dataset.action !== "reconnect") return;
    ev.preventDefault();
    var secrets = {};
    form.querySelectorAll("input[name]").forEach(function (input) {
      if (input.value !== "") secrets[input.name] = input.value;
    });
    var button = form.querySelector("button[type=submit]");
    var label = button.textContent;
    button.disabled = true;
    button.textContent = "Checking…";
    var url = "/api/tenants/" + encodeURIComponent(form.dataset.tenant) + "/sources/" + encodeURIComponent(form.dataset.source);
    fetch(url, {
      method: "PATCH",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ secrets: secrets }),
    })
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (body) {
          if (!resp.ok) throw new Error(detail(body, resp.status));
          return body;
        });
      })
      .then(function (body) {
        toast("Source #" + body.source.id + " reconnected: check passed");
        window.location.reload();
      })
      .catch(function (err) {
        toast(err.message, true);
        button.disabled = false;
        button.textContent = label;
      });
  });

  window.addEventListener("hashchange", openTarget);

  // -- live refresh: swap #live with a fresh render, keeping what the reader opened ------------
  function isActive(root) {
    return root && root.getAttribute("data-active") === "true";
  }

  function refreshLive() {
    var live = document.getElementById("live");
    if (!live) return;
    fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      cache: "no-store",
    })
      .then(function (resp) {
        if (!resp.ok || resp.redirected) throw new Error("stop");
        return resp.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("live");
        if (!fresh) throw new Error("stop");
        var open = {};
        live.querySelectorAll("details[id]").forEach(function (d) { open[d.id] = d.open; });
        live.innerHTML = fresh.innerHTML;
        live.setAttribute("data-active", fresh.getAttribute("data-active") || "false");
        live.querySelectorAll("details[id]").forEach(function (d) {
          if (Object.prototype.hasOwnProperty.call(open, d.id)) d.open = open[d.id];
        });
        document.title = doc.title;
        openTarget();
        schedule();
      })
      .catch(function () { timer = null; });
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (isActive(document.getElementById("live"))) timer = setTimeout(refreshLive, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    openTarget();
    schedule();
  });
})();
