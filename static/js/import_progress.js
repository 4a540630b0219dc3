// The progress of a background import: asks the job's status every second and shows it; when the
// job has finished, the page is loaded again to show the outcome. Without JavaScript the page
// refreshes itself instead.
(() => {
  const card = document.querySelector("[data-status-url]");
  if (!card) {
    return;
  }
  const bar = card.querySelector("[data-progress]");
  const phase = card.querySelector("[data-phase]");
  const count = card.querySelector("[data-count]");
  const poll = async () => {
    let status;
    try {
      const response = await fetch(card.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      status = await response.json();
    } catch (error) {
      window.setTimeout(poll, 3000);
      return;
    }
    if (status.finished) {
      window.location.reload();
      return;
    }
    bar.value = status.percent;
    bar.textContent = `${status.percent}%`;
    if (status.phase_label) {
      phase.textContent = status.phase_label;
    }
    count.textContent = status.total && status.status === "running" ? `${status.processed.toLocaleString()} / ${status.total.toLocaleString()}` : "";
    window.setTimeout(poll, 1000);
  };
  window.setTimeout(poll, 1000);
})();
