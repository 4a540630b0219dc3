// The handover station works without this file (each scan is then a form post). A barcode scanner
// types a whole tracking number and Enter faster than a page reloads, so here every scan is queued
// at once, the field is emptied for the next one, and the queue is posted one scan at a time as
// JSON (scan_station.js): two quick scans are both sent, in the order they were scanned. The scan
// field takes the focus back whenever it drifts off the controls.

(() => {
  const form = document.querySelector("[data-handover-scan]");
  if (!form) {
    return;
  }
  const input = form.querySelector("[data-scan-focus]");
  const log = document.querySelector("[data-handover-log]");
  const rows = document.querySelector("[data-handover-rows]");
  const count = document.querySelector("[data-handover-count]");
  const confirmation = document.querySelector("[data-handover-confirm-form]");

  const say = (text, accepted) => {
    const line = document.createElement("li");
    line.className = accepted ? "success" : "error";
    line.textContent = text;
    log.prepend(line);
  };

  const send = async (number) => {
    const body = new FormData(form);
    body.set("tracking_number", number);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) {
        return await response.json();
      }
    } catch {
      // Not answered: said below.
    }
    // The scan may or may not have reached the server: reload to see the batch as it is.
    return { accepted: false, message: `${number}: ${form.dataset.failed}` };
  };

  const show = (answer) => {
    say(answer.message, answer.accepted);
    if (answer.accepted) {
      rows.insertAdjacentHTML("beforeend", answer.row);
      count.textContent = String(answer.count);
      if (confirmation) {
        confirmation.hidden = false;
      }
    }
  };

  const enqueue = window.OrderCycleScanning.inOrder(send, show);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const number = input.value;
    input.value = "";
    input.focus();
    enqueue(number);
  });

  window.OrderCycleScanning.keepFocus(input);
  input.focus();
})();
