// Scan to pack works without this file. A barcode scanner types into whatever has the focus, so
// the page's scan input takes the focus back whenever it drifts off the controls (a click on the
// page, a window switch), and a scanner's doubled Enter cannot post the same scan twice.

(() => {
  const input = document.querySelector("[data-scan-focus]");
  if (!input) {
    return;
  }
  // Only another control keeps the focus (the warehouse choice, a link, the packages field); the
  // admin's focusable <main> and the page itself hand it back.
  const CONTROLS = "input, select, textarea, button, a[href], summary";
  const reclaim = () => {
    const active = document.activeElement;
    if (!active || !active.matches(CONTROLS)) {
      input.focus();
    }
  };
  document.addEventListener("focusout", () => window.setTimeout(reclaim, 0));
  document.addEventListener("click", () => window.setTimeout(reclaim, 0));
  window.addEventListener("focus", reclaim);
  input.form.addEventListener("submit", (event) => {
    if (input.form.dataset.sent) {
      event.preventDefault();
      return;
    }
    input.form.dataset.sent = "true";
  });
  input.select();
})();
