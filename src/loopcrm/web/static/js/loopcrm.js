/* LoopCRM's own few lines of script. Every page works without them; they add:
 * - the collapsible navigation on narrow screens (the menu button),
 * - confirmation before destructive forms (data-confirm="question"),
 * - copy-to-clipboard buttons (data-copy="#selector"),
 * - focus on the error summary of a form that came back with errors.
 * No inline handlers: the Content-Security-Policy allows scripts from this site only. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function setNavigation(open) {
    var toggle = document.querySelector(".nav-toggle");
    if (!toggle) return;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    document.body.classList.toggle("nav-open", open);
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (toggle) {
      setNavigation(toggle.getAttribute("aria-expanded") !== "true");
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          copy.lastChild.textContent = copy.getAttribute("data-copied") || copy.lastChild.textContent;
        });
      }
      return;
    }
    // A click outside an open user menu closes it.
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
    if (document.body.classList.contains("nav-open")) {
      setNavigation(false);
      var toggle = document.querySelector(".nav-toggle");
      if (toggle) toggle.focus();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-autofocus]");
    if (!summary) return;
    var firstInvalid = document.querySelector("input[aria-invalid=true], select[aria-invalid=true], textarea[aria-invalid=true]");
    (firstInvalid || summary).focus();
  });
})();
