// Typing a first or last day means a custom period: choose "Custom" so the dates are used.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("dashboard-filters");
  const custom = form && form.querySelector('input[name="range"][value="custom"]');
  if (!custom) return;
  for (const input of form.querySelectorAll('input[type="date"]')) {
    input.addEventListener("change", () => { custom.checked = true; });
  }
});
