// EONPRO web app behaviour: CSRF header for htmx, automatic sign-out after
// the clinic's idle timeout (with a warning a minute before), and small
// progressive enhancements. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.dataset.csrf || "";

  // htmx requests carry the session's CSRF token.
  document.addEventListener("htmx:configRequest", function (e) {
    if (csrf) e.detail.headers["X-CSRF-Token"] = csrf;
  });

  // A page that answers a form it must not repeat (a new API key) turns
  // its history entry into a plain GET: reloading shows that URL instead
  // of sending the form again.
  var replace = document.querySelector("[data-replace-url]");
  if (replace && window.history && history.replaceState) history.replaceState(null, "", replace.dataset.replaceUrl);

  // A select marked data-autosubmit submits its form when changed.
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("select[data-autosubmit]")) e.target.form.requestSubmit();
  });

  // Idle sign-out. window.eonproIdle.deadline is when the server ends the
  // session; activity with the server (any htmx request, or a keep-alive
  // sent on user activity at most once a minute) moves it.
  var idleSeconds = parseInt(body.dataset.idleSeconds || "0", 10);
  if (!idleSeconds) return;
  var idle = (window.eonproIdle = { deadline: Date.now() + idleSeconds * 1000, lastPing: Date.now() });
  var dialog = document.getElementById("idle-warning");
  var countdown = document.getElementById("idle-countdown");

  function extend() { idle.deadline = Date.now() + idleSeconds * 1000; }
  function ping() {
    idle.lastPing = Date.now();
    return fetch("/api/v1/me", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (res) {
        if (res.status === 401) { signOut(); return; }
        extend();
      });
  }
  function signOut() {
    idle.signingOut = true;
    var done = function () { window.location.assign("/login?expired=1"); };
    fetch("/logout", { method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "X-CSRF-Token": csrf } }).then(done, done);
  }
  document.addEventListener("htmx:afterRequest", extend);
  ["keydown", "pointerdown", "scroll"].forEach(function (type) {
    document.addEventListener(type, function () {
      if (dialog && dialog.open) return; // only the button keeps the session
      if (Date.now() - idle.lastPing > 60000 && idle.deadline - Date.now() > 1000) ping();
    }, { passive: true });
  });
  if (dialog) {
    document.getElementById("idle-stay").addEventListener("click", function () {
      ping().then(function () { dialog.close(); });
    });
  }
  setInterval(function () {
    if (idle.signingOut) return;
    var left = idle.deadline - Date.now();
    if (left <= 0) { signOut(); return; }
    if (left <= 60000 && dialog) {
      if (!dialog.open) dialog.showModal();
      countdown.textContent = String(Math.ceil(left / 1000));
    }
  }, 500);
})();
