// Small enhancements of the console; every page works without them.

document.addEventListener("click", (event) => {
  // Print buttons on the pick list and the packing slip.
  if (event.target.closest("[data-print]")) {
    window.print();
    return;
  }
  // "Add a line" on the new-order form: a copy of the formset's empty row, numbered next.
  const addLine = event.target.closest("[data-add-line]");
  if (addLine) {
    const prefix = addLine.dataset.addLine;
    const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
    const maximum = document.getElementById(`id_${prefix}-MAX_NUM_FORMS`);
    const index = Number(total.value);
    if (maximum && index >= Number(maximum.value)) {
      return;
    }
    const template = document.getElementById("oc-line-template");
    const row = template.content.firstElementChild.cloneNode(true);
    row.innerHTML = row.innerHTML.replaceAll("__prefix__", String(index));
    row.querySelector("td").textContent = String(index + 1);
    template.parentElement.querySelector("tbody").appendChild(row);
    total.value = String(index + 1);
    row.querySelector("input").focus();
  }
});
