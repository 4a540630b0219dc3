// What every scanning page shares (the packing station, the handover station). A barcode scanner
// types a whole code and Enter in tens of milliseconds, faster than a page reloads or a server
// answers, and its operator never looks at the screen to click back into the scan field. So:
// - keepFocus(input): the scan field takes the focus back whenever it drifts off the controls;
// - inOrder(send, show): a queue that sends each scan only when the one before was answered, so the
//   server counts them in the order scanned and none is lost; `show` gets each answer. It returns
//   the function that queues a scan (a doubled Enter, or Enter on nothing, is no scan).

window.OrderCycleScanning = (() => {
  // Only another control keeps the focus (a choice, a link, the weight field); the admin's
  // focusable <main> and the page itself hand it back.
  const CONTROLS = "input, select, textarea, button, a[href], summary";

  const keepFocus = (input) => {
    const reclaim = () => {
      const active = document.activeElement;
      if (!active || !active.matches(CONTROLS)) {
        input.focus();
      }
    };
    document.addEventListener("focusout", () => window.setTimeout(reclaim, 0));
    document.addEventListener("click", () => window.setTimeout(reclaim, 0));
    window.addEventListener("focus", reclaim);
  };

  const inOrder = (send, show) => {
    const queue = [];
    let sending = false;
    const drain = async () => {
      if (sending) {
        return;
      }
      sending = true;
      try {
        while (queue.length) {
          show(await send(queue.shift()));
        }
      } finally {
        // Whatever went wrong showing an answer, the next scan must still be sent.
        sending = false;
      }
    };
    return (scanned) => {
      const typed = scanned.trim();
      if (typed) {
        queue.push(typed);
        drain();
      }
    };
  };

  return { keepFocus, inOrder };
})();
