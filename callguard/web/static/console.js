// The staff console: keeps the live calls current without a reload, and sends the two
// controls without leaving the page. Without this file every form still works by posting.
(function () {
  "use strict";

  var container = document.getElementById("live-calls");
  if (!container) {
    return;
  }
  var empty = document.getElementById("no-live-calls");
  var result = document.getElementById("control-result");
  var updated = document.getElementById("live-updated");
  var pollUrl = container.getAttribute("data-poll-url");
  var pollMs = parseInt(container.getAttribute("data-poll-ms"), 10) || 3000;
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = tokenMeta ? tokenMeta.getAttribute("content") : "";
  var busy = false;
  // Live calls that cannot be shown, and the file notes and messages beneath the calls,
  // kept as current as the calls.
  var sections = {
    left_out: document.getElementById("live-left-out"),
    notes: document.getElementById("my-notes"),
    messages: document.getElementById("messages")
  };

  function shownVersions() {
    return Object.keys(sections).map(function (name) {
      var section = sections[name];
      var version = section ? section.getAttribute("data-version") || "" : "";
      return "&" + name + "=" + encodeURIComponent(version);
    }).join("");
  }

  function cards() {
    return Array.prototype.slice.call(container.querySelectorAll("article[data-sid]"));
  }

  function fromHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function showResult(ok, message, link) {
    result.textContent = "";
    var box = document.createElement("div");
    box.className = "cg-result__box " + (ok ? "cg-result__box--ok" : "cg-result__box--error");
    var title = document.createElement("p");
    title.className = "govuk-body govuk-!-font-weight-bold govuk-!-margin-bottom-1";
    title.textContent = ok ? "Done" : "Not done";
    var text = document.createElement("p");
    text.className = "govuk-body govuk-!-margin-bottom-0";
    text.textContent = message;
    box.appendChild(title);
    box.appendChild(text);
    if (link) {
      var a = document.createElement("a");
      a.className = "govuk-link";
      a.href = link.href;
      a.textContent = link.text;
      var p = document.createElement("p");
      p.className = "govuk-body govuk-!-margin-top-2 govuk-!-margin-bottom-0";
      p.appendChild(a);
      box.appendChild(p);
    }
    result.appendChild(box);
  }

  // "5:58pm", as every date and time on CallGuard's pages (the GOV.UK style).
  function clockTime(when) {
    var hours = when.getHours();
    var minutes = when.getMinutes();
    var seconds = ("0" + when.getSeconds()).slice(-2);
    return (hours % 12 || 12) + ":" + ("0" + minutes).slice(-2) + ":" + seconds +
      (hours < 12 ? "am" : "pm");
  }

  function apply(data) {
    var live = {};
    data.live.forEach(function (sid) { live[sid] = true; });
    var focused = document.activeElement;
    cards().forEach(function (card) {
      if (!live[card.getAttribute("data-sid")]) {
        card.remove();
      }
    });
    data.changed.forEach(function (item) {
      var fresh = fromHtml(item.html);
      var existing = container.querySelector('article[data-sid="' + item.sid + '"]');
      if (existing) {
        if (existing.contains(focused)) {
          return; // never pull a control from under someone using it; next poll redraws
        }
        existing.replaceWith(fresh);
      } else {
        container.appendChild(fresh);
      }
    });
    empty.hidden = cards().length > 0;
    Object.keys(sections).forEach(function (name) {
      var part = data[name];
      var section = sections[name];
      if (!part || !section || section.contains(focused)) {
        return; // unchanged, or someone is using it: the next poll redraws
      }
      section.innerHTML = part.html;
      section.setAttribute("data-version", part.version);
    });
    var now = new Date();
    updated.textContent = "This list updates by itself every few seconds. Last checked at " +
      clockTime(now) + ".";
  }

  function poll() {
    if (busy || document.hidden) {
      return;
    }
    var have = cards().map(function (card) {
      return card.getAttribute("data-sid") + ":" + card.getAttribute("data-version");
    }).join(",");
    busy = true;
    fetch(pollUrl + "?have=" + encodeURIComponent(have) + shownVersions(), {
      headers: { Accept: "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      if (response.redirected || !response.ok) {
        throw new Error("poll failed: " + response.status);
      }
      return response.json();
    }).then(apply).catch(function () {
      updated.textContent = "Could not update the list of live calls. Reload the page if this continues.";
    }).finally(function () {
      busy = false;
    });
  }

  container.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-control]")) {
      return;
    }
    event.preventDefault();
    var select = form.querySelector("select[name=reason]");
    if (select && !select.value) {
      showResult(false, "Choose a reason first.");
      select.focus();
      return;
    }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken },
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (body) {
        return { ok: response.ok && body.ok, body: body };
      });
    }).then(function (answer) {
      var link = answer.body.note_url ? { href: answer.body.note_url, text: "Complete the file note now" } : null;
      showResult(answer.ok, answer.body.message, link);
    }).catch(function () {
      showResult(false, "CallGuard could not be reached. Try again, or use your phone's controls.");
    }).finally(function () {
      button.disabled = false;
      poll();
    });
  });

  window.setInterval(poll, pollMs);
})();
