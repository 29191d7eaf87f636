/* The kanban board's drag and drop (SortableJS). A card dropped into another column posts the
 * move; the answer updates the columns' totals, or the card snaps back and the refusal is shown.
 * A drop into a lost stage first asks for the lost reason in a dialog; cancelling snaps back.
 * Without this script the board still works: every card links to its deal's page. */
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (error) {
      return "";
    }
  }

  function setup() {
    var board = document.getElementById("kanban");
    if (!board || typeof Sortable === "undefined" || board.getAttribute("data-may-move") !== "true") return;
    var status = document.getElementById("kanban-status");
    var dialog = document.getElementById("lost-dialog");
    var lostForm = document.getElementById("lost-form");
    var query = board.getAttribute("data-move-query");

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("is-error", !!isError);
    }

    function snapBack(event) {
      var reference = event.from.children[event.oldIndex] || null;
      event.from.insertBefore(event.item, reference);
    }

    function updateTotals(totals) {
      Object.keys(totals).forEach(function (stageId) {
        var box = board.querySelector('[data-totals="' + stageId + '"]');
        if (!box) return;
        box.querySelector(".kanban-count").textContent = totals[stageId].count;
        box.querySelector(".kanban-amount").textContent = totals[stageId].amount;
        box.querySelector(".kanban-weighted").textContent = totals[stageId].weighted;
      });
    }

    function post(event, extra) {
      var card = event.item;
      var body = new URLSearchParams();
      body.set("stage_id", event.to.getAttribute("data-stage-id"));
      body.set("version", card.getAttribute("data-version"));
      Object.keys(extra || {}).forEach(function (name) { body.set(name, extra[name]); });
      card.classList.add("is-moving");
      fetch("/sales/opportunities/" + card.getAttribute("data-id") + "/stage" + (query ? "?" + query : ""), {
        method: "POST",
        headers: { "X-CSRF-Token": csrfToken(), "Accept": "application/json" },
        body: body,
        credentials: "same-origin"
      }).then(function (response) {
        return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
      }).then(function (result) {
        card.classList.remove("is-moving");
        if (!result.ok || !result.answer.ok) {
          snapBack(event);
          say(result.answer.error || board.getAttribute("data-error") || "✗", true);
          return;
        }
        card.setAttribute("data-version", result.answer.version);
        updateTotals(result.answer.totals);
        say(card.querySelector(".kanban-card-name").textContent + " → " + event.to.getAttribute("data-stage-name"), false);
      }).catch(function () {
        card.classList.remove("is-moving");
        snapBack(event);
        say(board.getAttribute("data-error") || "✗", true);
      });
    }

    function askWhyLost(event) {
      lostForm.reset();
      dialog.returnValue = "";
      var onClose = function () {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue !== "confirm") {
          snapBack(event);
          return;
        }
        post(event, {
          lost_reason_id: lostForm.elements.lost_reason_id.value,
          lost_note: lostForm.elements.lost_note.value
        });
      };
      dialog.addEventListener("close", onClose);
      dialog.showModal();
    }

    lostForm.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (submitter && submitter.value === "confirm" && !lostForm.elements.lost_reason_id.value) {
        event.preventDefault();
        lostForm.elements.lost_reason_id.focus();
      }
    });

    board.querySelectorAll(".kanban-cards").forEach(function (list) {
      Sortable.create(list, {
        group: "kanban",
        animation: 120,
        ghostClass: "is-ghost",
        forceFallback: true,
        onEnd: function (event) {
          if (event.from === event.to) return;
          say("", false);
          if (event.to.getAttribute("data-kind") === "lost") {
            askWhyLost(event);
          } else {
            post(event, {});
          }
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
