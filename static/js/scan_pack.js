// Scan to pack at a barcode scanner's speed. A scanner types a code and presses Enter in tens of
// milliseconds, and a packer scans identical units one after another, faster than a page reloads.
// So on a parcel each item scan is taken out of the input the moment Enter is pressed, queued, and
// sent to the parcel's JSON answer (data-scan-url) one at a time, in the order scanned: the next
// leaves only when the previous was answered, so the server counts them in that order. Each answer
// updates the page in place and plays its sound. Without this file every step is a form post.
//
// The scan input keeps the focus: after the last unit further scans still go to the server, which
// answers "already complete", and the weight is only ever typed on purpose. Should a scanner's burst
// land in the weight or packages field anyway (the packer clicked there, then scanned), it is
// taken back out of the field and sent as a scan.

(() => {
  const input = document.querySelector("[data-scan-focus]");
  if (!input) {
    return;
  }
  window.OrderCycleScanning.keepFocus(input);
  input.select();

  const form = input.form;
  const answerUrl = form.dataset.scanUrl;
  if (!answerUrl) {
    // The order-number step: a plain post, which a scanner's doubled Enter must not send twice.
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "true";
    });
    return;
  }

  const answerBox = document.querySelector("[data-scan-answer]");
  const missingBox = document.querySelector("[data-scan-missing]");
  const missingList = document.querySelector("[data-scan-missing-list]");
  const finishForm = document.querySelector("[data-scan-finish]");
  const progress = document.querySelector(".oc-scan-progress");
  const csrfToken = form.querySelector("[name=csrfmiddlewaretoken]").value;

  // Sounds: generated tones, told apart by pitch and rhythm rather than loudness.
  const TONES = {
    accepted: [[880, 0, 0.08]],
    refused: [
      [220, 0, 0.16],
      [220, 0.22, 0.16],
    ],
    complete: [
      [660, 0, 0.1],
      [880, 0.12, 0.1],
      [1320, 0.24, 0.2],
    ],
  };
  let audio = null;
  const play = (sound) => {
    form.dataset.lastSound = sound;
    const AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext || !TONES[sound]) {
      return;
    }
    audio = audio || new AudioContext();
    const start = audio.currentTime;
    for (const [frequency, offset, length] of TONES[sound]) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = sound === "refused" ? "square" : "sine";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.25, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.001, start + offset + length);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + length);
    }
  };

  const say = (accepted, message) => {
    let shown;
    if (accepted) {
      shown = document.createElement("p");
      shown.className = "oc-scan-ok";
      shown.setAttribute("role", "status");
      shown.textContent = message;
    } else {
      shown = document.createElement("div");
      shown.className = "oc-scan-error";
      shown.setAttribute("role", "alert");
      const label = document.createElement("strong");
      label.textContent = answerBox.dataset.refusedLabel;
      const text = document.createElement("span");
      text.textContent = message;
      shown.append(label, text);
    }
    answerBox.replaceChildren(shown);
    input.setAttribute("aria-invalid", accepted ? "false" : "true");
  };

  const showLines = (answer) => {
    const missing = [];
    for (const line of answer.lines) {
      const row = document.querySelector(`tr[data-line="${line.id}"]`);
      const left = line.quantity - line.packed;
      if (left) {
        missing.push(`${left} × ${line.sku}`);
      }
      if (!row) {
        continue;
      }
      row.querySelector("[data-packed]").textContent = line.packed;
      const cell = row.querySelector("[data-missing]");
      if (left) {
        const count = document.createElement("strong");
        count.textContent = left;
        cell.replaceChildren(count);
      } else {
        cell.textContent = "✓";
      }
      row.classList.toggle("oc-scan-open", left > 0);
      row.classList.toggle("oc-scan-complete", left === 0);
      row.classList.toggle("oc-scan-just", line.id === answer.scanned_line);
    }
    missingList.replaceChildren(
      ...missing.flatMap((text, index) => {
        const item = document.createElement("span");
        item.className = "oc-mono";
        item.textContent = text;
        return index ? [" · ", item] : [item];
      }),
    );
    missingBox.hidden = missing.length === 0;
    progress.textContent = answer.progress;
    if (finishForm) {
      // Shown once the parcel is complete, never focused: the weight is typed on purpose.
      finishForm.hidden = !(answer.complete && answer.packing);
    }
  };

  const show = (answer) => {
    if (answer.lines) {
      showLines(answer);
    }
    say(answer.accepted, answer.message);
    play(answer.sound);
    form.dataset.answered = String(Number(form.dataset.answered) + 1);
  };

  const send = async (code) => {
    const body = new FormData();
    body.append("code", code);
    try {
      const response = await fetch(answerUrl, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.headers.get("Content-Type")?.startsWith("application/json")) {
        return await response.json();
      }
    } catch {
      // Not answered: said below, and the packer checks the counts before scanning it again.
    }
    return { accepted: false, sound: "refused", message: `${code}: ${answerBox.dataset.notSent}` };
  };

  const enqueue = window.OrderCycleScanning.inOrder(send, show);

  form.noValidate = true;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = input.value;
    input.value = "";
    enqueue(code);
  });

  // A scanner types far faster than a person: keys under SCANNER_GAP_MS apart, ended by Enter, in a
  // finishing field are a scan that landed in the wrong place.
  const SCANNER_GAP_MS = 35;
  const SCANNER_MIN_LENGTH = 4;
  for (const field of document.querySelectorAll("[data-scan-guard]")) {
    let burst = "";
    let before = field.value;
    let last = -Infinity;
    field.addEventListener("keydown", (event) => {
      const gap = event.timeStamp - last;
      if (event.key === "Enter") {
        if (burst.length >= SCANNER_MIN_LENGTH && gap < SCANNER_GAP_MS) {
          event.preventDefault();
          field.value = before;
          input.focus();
          enqueue(burst);
        }
        burst = "";
        return;
      }
      if (event.key.length !== 1) {
        return;
      }
      if (gap >= SCANNER_GAP_MS) {
        burst = "";
        before = field.value;
      }
      burst += event.key;
      last = event.timeStamp;
    });
  }
})();
