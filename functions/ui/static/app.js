// Auto-refresh: every few seconds, fetch this same page and swap in its live part
// (the element with data-refresh="SECONDS"). Without JavaScript the page reloads itself instead
// (a <noscript> refresh). Paused while the tab is hidden or a form field has the focus.
(function () {
  "use strict";
  var live = document.querySelector("[data-refresh]");
  if (!live) return;
  var seconds = Math.max(2, parseInt(live.getAttribute("data-refresh"), 10) || 5);
  function busy() {
    var el = document.activeElement;
    return document.hidden || (el && live.contains(el) && /INPUT|SELECT|TEXTAREA/.test(el.tagName));
  }
  function refresh() {
    if (busy()) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Refresh": "1" } })
      .then(function (r) {
        if (r.redirected || !r.ok) return null; // logged out or failing: keep what is shown
        return r.text();
      })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(live.id);
        if (fresh) {
          live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes));
          live.setAttribute("data-refreshed", new Date().toISOString());
        }
      })
      .catch(function () {});
  }
  window.setInterval(refresh, seconds * 1000);
})();
