// innerspace portal, the job pages: live phase and progress from the job's event stream
// (server-sent events) and the live tail of its stdout and stderr while it runs (bounded,
// following the end unless the reader scrolled up), a reload when the job ends (to show
// its results and complete output), copy buttons for the snippets, and "select all" on
// the jobs list. Without script, the page's Refresh link reloads it and the snippets stay
// selectable text.
"use strict";

(function () {
  // The live tail of the output: at most this much of each stream stays in the page.
  const MAX_LINES = 1000;
  const MAX_CHARS = 256 * 1024;

  function LivePane(pane) {
    this.pane = pane;
    this.sizes = [];  // characters of each line in the pane, oldest first
    this.chars = 0;
  }

  LivePane.prototype.append = function (texts) {
    const pane = this.pane;
    // Follow the end unless the reader scrolled up to read something.
    const atEnd = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 8;
    const bits = document.createDocumentFragment();
    texts.forEach(function (text) {
      bits.appendChild(document.createTextNode(text + "\n"));  // text only, never markup
      this.sizes.push(text.length + 1);
      this.chars += text.length + 1;
    }, this);
    pane.appendChild(bits);
    while (this.sizes.length > 1 &&
           (this.sizes.length > MAX_LINES || this.chars > MAX_CHARS)) {
      this.chars -= this.sizes.shift();
      pane.removeChild(pane.firstChild);
    }
    if (atEnd) { pane.scrollTop = pane.scrollHeight; }
  };

  function liveOutput() {
    const box = document.getElementById("live-output");
    if (!box) { return null; }
    const panes = {};
    box.querySelectorAll("pre[data-stream]").forEach(function (pane) {
      panes[pane.dataset.stream] = new LivePane(pane);
    });
    return function (event) {
      const batch = JSON.parse(event.data);
      const byStream = {};
      if (batch.skipped > 0 && batch.lines.length) {
        byStream[batch.lines[0][0]] = ["[... " + batch.skipped + " earlier lines not kept ...]"];
      }
      batch.lines.forEach(function (line) {
        (byStream[line[0]] = byStream[line[0]] || []).push(line[1]);
      });
      Object.keys(byStream).forEach(function (name) {
        if (panes[name]) { panes[name].append(byStream[name]); }
      });
      box.hidden = false;
      const note = document.getElementById("live-note");
      if (note) {
        note.textContent = "The last lines of the app's output, as it writes them; " +
          "the complete output appears here when it ends.";
      }
    };
  }

  function live(box) {
    if (!window.EventSource || box.dataset.final === "true") { return; }
    const phase = document.getElementById("job-phase");
    const message = document.getElementById("job-message");
    const reload = document.getElementById("job-reload");
    const output = liveOutput();
    let cursor = "";  // the number of the last line of output received
    if (reload) { reload.hidden = true; }

    function open() {
      const url = box.dataset.events + (cursor ? "?since=" + encodeURIComponent(cursor) : "");
      const source = new EventSource(url);
      source.addEventListener("state", function (event) {
        const state = JSON.parse(event.data);
        if (phase && phase.textContent !== state.phase) {
          phase.textContent = state.phase;
          phase.className = "phase phase-" + state.phase.toLowerCase();
        }
        if (message) { message.textContent = state.message || ""; }
      });
      source.addEventListener("output", function (event) {
        cursor = event.lastEventId || cursor;
        if (output) { output(event); }
      });
      source.addEventListener("end", function () {
        source.close();
        window.location.reload();
      });
      source.addEventListener("timeout", function () {
        source.close();
        open();  // a stream lasts ten minutes at most: go on from the last line
      });
      source.addEventListener("gone", function () {
        source.close();
        if (reload) { reload.hidden = false; }
      });
    }
    open();
  }

  function copyButton(button) {
    const target = document.getElementById(button.dataset.copy);
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent).then(function () {
        const label = button.firstChild;
        label.textContent = "Copied";
        window.setTimeout(function () { label.textContent = "Copy"; }, 2000);
      }, function () { /* the text stays selectable */ });
    });
  }

  function selectAll(form) {
    const boxes = Array.from(form.querySelectorAll("input[type=checkbox][name=job]"));
    const head = form.querySelector("thead th");
    if (!boxes.length || !head) { return; }
    const all = document.createElement("input");
    all.type = "checkbox";
    all.setAttribute("aria-label", "Select every job on this page");
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
    });
    head.appendChild(all);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const status = document.getElementById("job-status");
    if (status) { live(status); }
    document.querySelectorAll("button.copy[data-copy]").forEach(copyButton);
    document.querySelectorAll("form.bulk").forEach(selectAll);
  });
}());
