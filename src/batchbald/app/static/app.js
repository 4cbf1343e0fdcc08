// batchbald label: the page. Plain JavaScript, no library, no network but
// this server. Every text from the data is set with textContent (it is
// never parsed as HTML), so cells such as "=HYPERLINK(...)" show as typed.
"use strict";

(function () {
  const token = document.querySelector('meta[name="batchbald-token"]').content;
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  let state = null;
  let focus = null; // index of the highlighted item
  const pending = new Set(); // items whose answer is on its way
  const cards = new Map(); // item index -> card element (kept across renders)
  let queue = Promise.resolve();
  let inFlight = 0;
  let pollTimer = null;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  async function api(path, body) {
    const opts = { headers: { "X-Batchbald-Token": token }, cache: "no-store" };
    if (body !== undefined) {
      opts.method = "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const response = await fetch(path, opts);
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      throw new Error((data && data.error) || "HTTP " + response.status);
    }
    return data;
  }

  // -- saving ---------------------------------------------------------------
  function setSaveStatus(kind, text) {
    const s = $("save-status");
    s.dataset.state = kind;
    s.textContent = text;
  }

  function send(path, body, items) {
    inFlight += 1;
    setSaveStatus("saving", "saving…");
    queue = queue.then(async () => {
      try {
        const next = await api(path, body);
        items.forEach((i) => pending.delete(i));
        inFlight -= 1;
        hideError();
        render(next);
        if (inFlight === 0) {
          setSaveStatus("saved", "saved ✓ " + next.n_saved + " answer" +
            (next.n_saved === 1 ? "" : "s") + " this session");
        }
      } catch (err) {
        items.forEach((i) => pending.delete(i));
        inFlight -= 1;
        setSaveStatus("error", "not saved");
        showError(err.message);
        refresh();
      }
    });
    return queue;
  }

  function releaseButtonFocus() {
    // A clicked button keeps the focus; Enter or Space would click it again.
    const active = document.activeElement;
    if (active && active.tagName === "BUTTON") active.blur();
  }

  function answer(label) {
    releaseButtonFocus();
    const item = focusedItem();
    if (!item || label === undefined || label === null) return;
    const text = String(label).trim();
    if (!text) return;
    pending.add(item.index);
    markCard(item.index, "pending", text);
    moveToNextOpen(item.index);
    send("/api/label", { item: item.index, label: text }, [item.index]);
  }

  function skip() {
    releaseButtonFocus();
    const item = focusedItem();
    if (!item || item.status === "saved") return;
    pending.add(item.index);
    markCard(item.index, "pending", "skipping");
    moveToNextOpen(item.index);
    send("/api/skip", { item: item.index }, [item.index]);
  }

  function undo() {
    releaseButtonFocus();
    if (!state || (!state.can_undo && inFlight === 0)) return;
    send("/api/undo", {}, []).then(() => {
      const first = openItems()[0];
      if (first) setFocus(first.index);
    });
  }

  // -- focus ------------------------------------------------------------------
  function openItems() {
    if (!state) return [];
    return state.batch.filter((it) => it.status === "open" && !pending.has(it.index));
  }

  function focusedItem() {
    if (!state) return null;
    return state.batch.find((it) => it.index === focus && !pending.has(it.index)) || null;
  }

  function setFocus(index) {
    focus = index;
    for (const [i, card] of cards) card.classList.toggle("focused", i === focus);
    const card = cards.get(focus);
    if (card) card.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function moveToNextOpen(fromIndex) {
    const items = state.batch;
    const start = items.findIndex((it) => it.index === fromIndex);
    for (let k = 1; k <= items.length; k++) {
      const it = items[(start + k) % items.length];
      if (it.status === "open" && !pending.has(it.index) && it.index !== fromIndex) {
        setFocus(it.index);
        return;
      }
    }
    setFocus(null);
  }

  function moveFocus(step) {
    if (!state || !state.batch.length) return;
    const items = state.batch;
    let k = items.findIndex((it) => it.index === focus);
    k = k < 0 ? 0 : (k + step + items.length) % items.length;
    setFocus(items[k].index);
  }

  // -- rendering --------------------------------------------------------------
  function fmt(x, digits) {
    return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
  }

  function buildCard(it) {
    const card = el("li", "item");
    card.dataset.index = it.index;
    const head = el("div", "item-head");
    head.append(el("span", "rank", "#" + it.rank));
    head.append(el("span", "item-title", it.view.title));
    if (it.view.detail) head.append(el("span", "muted", it.view.detail));
    card.append(head);
    if (it.view.image) {
      const img = el("img", "thumb");
      img.alt = it.view.title;
      img.src = it.view.image + "?token=" + encodeURIComponent(token);
      card.append(img);
    } else {
      const table = el("table", "cells");
      for (const [col, value] of it.view.cells) {
        const tr = el("tr");
        tr.append(el("th", null, col), el("td", null, value));
        table.append(tr);
      }
      card.append(table);
    }
    const model = el("div", "model");
    if (it.predicted !== null) {
      const pred = el("span", "pred");
      pred.append(el("span", "muted", "predicted "), el("strong", null, it.predicted));
      pred.append(el("span", "muted", " · " + fmt(100 * it.probability, 0) + "%"));
      model.append(pred);
    } else {
      model.append(el("span", "muted", "no model yet"));
    }
    if (it.gain !== null) model.append(el("span", "gain", "gain " + fmt(it.gain, 3) + " nats"));
    if (it.drawn_bald !== null && it.drawn_bald !== undefined) {
      model.append(el("span", "muted", " · drawn for its BALD score " + fmt(it.drawn_bald, 3) + " nats"));
    }
    else model.append(el("span", "gain", "diverse pick"));
    card.append(model);
    const status = el("div", "status");
    card.append(status);
    card.addEventListener("click", () => setFocus(it.index));
    return card;
  }

  function markCard(index, kind, text) {
    const card = cards.get(index);
    if (!card) return;
    card.dataset.status = kind;
    const status = card.querySelector(".status");
    status.textContent = "";
    if (kind === "saved") {
      status.append(el("span", "badge saved", "saved ✓"), el("strong", null, text));
    } else if (kind === "skipped") {
      status.append(el("span", "badge skipped", "skipped"));
    } else if (kind === "pending") {
      status.append(el("span", "badge pending", "saving…"), el("span", null, text));
    } else {
      status.append(el("span", "muted", "choose a class"));
    }
  }

  function renderItems() {
    const list = $("items");
    const keep = new Set(state.batch.map((it) => it.index));
    for (const [i, card] of cards) {
      if (!keep.has(i)) {
        card.remove();
        cards.delete(i);
      }
    }
    for (const it of state.batch) {
      let card = cards.get(it.index);
      if (!card) {
        card = buildCard(it);
        cards.set(it.index, card);
      }
      list.append(card); // (re)ordered as the batch is
      if (!pending.has(it.index)) markCard(it.index, it.status, it.label);
    }
    const current = state.batch.find((it) => it.index === focus);
    if (!current) {
      const first = openItems()[0];
      focus = first ? first.index : null;
    }
    setFocus(focus);
  }

  function renderClasses() {
    const bar = $("classbar");
    bar.textContent = "";
    state.classes.forEach((c, k) => {
      const b = el("button", "class-button");
      b.type = "button";
      if (k < 9) b.append(el("kbd", null, String(k + 1)));
      b.append(el("span", null, c));
      b.addEventListener("click", () => answer(c));
      bar.append(b);
    });
    const add = el("button", "class-button add", "+ new class");
    add.type = "button";
    add.addEventListener("click", () => openTypeahead(""));
    bar.append(add);
  }

  function renderProgress() {
    $("n-labeled").textContent = state.n_labeled;
    $("n-items").textContent = state.n_items;
    $("labeled-fill").style.width = (100 * state.n_labeled / Math.max(1, state.n_items)) + "%";
    $("session-line").textContent = state.n_saved + " answer(s) saved this session" +
      (state.backup ? " · backup: " + state.backup : "");
    const counts = $("counts");
    counts.textContent = "";
    const max = Math.max(1, ...Object.values(state.counts));
    for (const [c, n] of Object.entries(state.counts)) {
      const li = el("li");
      li.append(el("span", "count-name", c), el("span", "count-n", n));
      const bar = el("div", "count-bar");
      const fill = el("div", "count-fill");
      fill.style.width = (100 * n / max) + "%";
      bar.append(fill);
      li.append(bar);
      counts.append(li);
    }
    $("model-line").textContent = state.model + " · " + state.method +
      " · batches of " + state.batch_size;
  }

  function renderChart() {
    const box = $("chart");
    box.textContent = "";
    const hist = state.history;
    const W = 300, H = 150, L = 34, R = 34, T = 12, B = 24;
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg" });
    s.append(svg("title", {}, "cross-validated accuracy and information per batch"));
    const n = Math.max(hist.length, 1);
    const x = (k) => L + (W - L - R) * (k + 0.5) / n;
    const yA = (a) => T + (H - T - B) * (1 - a);
    const info = hist.map((h) => (h.information !== null ? h.information : h.score || 0));
    const maxI = Math.max(1e-9, ...info);
    const yI = (v) => T + (H - T - B) * (1 - v / maxI);
    for (const a of [0, 0.5, 1]) {
      s.append(svg("line", { x1: L, x2: W - R, y1: yA(a), y2: yA(a), class: "grid" }));
      s.append(svg("text", { x: L - 4, y: yA(a) + 3, class: "axis acc", "text-anchor": "end" },
        Math.round(a * 100) + "%"));
    }
    s.append(svg("text", { x: W - R + 4, y: yI(maxI) + 3, class: "axis info" }, maxI.toFixed(2)));
    s.append(svg("text", { x: W - R + 4, y: yI(0) + 3, class: "axis info" }, "0"));
    const bw = Math.max(4, Math.min(18, (W - L - R) / n * 0.5));
    hist.forEach((h, k) => {
      const r = svg("rect", { x: x(k) - bw / 2, y: yI(info[k]), width: bw,
        height: Math.max(0, yI(0) - yI(info[k])), class: "bar" });
      r.append(svg("title", {}, "batch " + h.batch + ": " + info[k].toFixed(3) + " nats"));
      s.append(r);
      s.append(svg("text", { x: x(k), y: H - 8, class: "axis", "text-anchor": "middle" }, h.batch));
    });
    const pts = hist.map((h, k) => [k, h.accuracy]).filter((p) => p[1] !== null && p[1] !== undefined);
    if (pts.length > 1) {
      s.append(svg("polyline", { points: pts.map(([k, a]) => x(k) + "," + yA(a)).join(" "), class: "line" }));
    }
    for (const [k, a] of pts) {
      const c = svg("circle", { cx: x(k), cy: yA(a), r: 3.5, class: "dot" });
      c.append(svg("title", {}, "batch " + hist[k].batch + ": accuracy " + (100 * a).toFixed(1) + "% on " + hist[k].n_labels + " labels"));
      s.append(c);
    }
    box.append(s);
    const legend = el("div", "legend");
    legend.append(el("span", "key acc", "cross-validated accuracy"), el("span", "key info",
      state.method === "batchbald" ? "batch information (nats)" : "batch score (nats)"));
    box.append(legend);
    if (!hist.length) box.append(el("p", "muted", "The chart fills in as batches are labeled."));
  }

  function render(next) {
    if (state && next.session === state.session && next.revision < state.revision) {
      return; // a reply older than the one shown
    }
    state = next;
    $("items").classList.toggle("images", state.kind === "images");
    $("source").textContent = state.name + (state.kind === "table" ? " · table" : " · images");
    const open = state.batch.filter((it) => it.status === "open").length;
    $("batch-title").textContent = state.batch_number
      ? "Batch " + state.batch_number + " · " + open + " of " + state.batch.length + " to label"
      : "Preparing the first batch…";
    $("batch-note").textContent = state.batch_note;
    $("batch-note").classList.toggle("cold", /^cold start/.test(state.batch_note));
    $("undo-button").disabled = !state.can_undo;
    const w = state.worker;
    $("worker").hidden = !w;
    if (w) {
      $("worker-text").textContent = "Retraining and choosing the next batch: " + w.stage +
        " (" + w.seconds.toFixed(0) + " s). You can review and undo meanwhile.";
      $("worker-fill").style.width = (100 * w.fraction) + "%";
    }
    if (state.error) showError(state.error);
    $("done").hidden = !state.finished;
    renderItems();
    renderClasses();
    renderProgress();
    renderChart();
    schedulePoll();
  }

  function showError(text) {
    const e = $("error");
    e.textContent = text;
    e.hidden = false;
  }

  function hideError() {
    if (!state || !state.error) $("error").hidden = true;
  }

  async function refresh() {
    try {
      render(await api("/api/state"));
      if ($("save-status").dataset.state === "idle") setSaveStatus("idle", "all answers saved");
    } catch (err) {
      setSaveStatus("error", "server unreachable");
      schedulePoll(2000);
    }
  }

  function schedulePoll(ms) {
    clearTimeout(pollTimer);
    const busy = state && (state.worker || state.history.some((h) => h.accuracy_pending));
    pollTimer = setTimeout(() => { if (inFlight === 0) refresh(); else schedulePoll(); },
      ms || (busy ? 400 : 3000));
  }

  // -- type-ahead ---------------------------------------------------------------
  let choices = [];
  let choice = 0;

  function openTypeahead(text) {
    if (!focusedItem()) return;
    $("typeahead").hidden = false;
    const input = $("typeahead-input");
    input.value = text;
    input.focus();
    updateTypeahead();
  }

  function closeTypeahead() {
    $("typeahead").hidden = true;
    $("typeahead-input").value = "";
    $("typeahead-input").blur();
  }

  function updateTypeahead() {
    const text = $("typeahead-input").value.trim();
    const low = text.toLowerCase();
    const known = state.classes;
    const starts = known.filter((c) => c.toLowerCase().startsWith(low));
    const inside = known.filter((c) => !c.toLowerCase().startsWith(low) && c.toLowerCase().includes(low));
    choices = starts.concat(inside).map((c) => ({ label: c, isNew: false }));
    if (text && !known.includes(text)) choices.push({ label: text, isNew: true });
    choice = 0;
    drawChoices();
  }

  function drawChoices() {
    const list = $("typeahead-list");
    list.textContent = "";
    choices.forEach((c, k) => {
      const li = el("li", k === choice ? "active" : "");
      if (c.isNew) li.append(el("span", "muted", "new class "));
      li.append(el("span", null, c.label));
      li.addEventListener("mousedown", (e) => { e.preventDefault(); pick(k); });
      list.append(li);
    });
  }

  function pick(k) {
    const c = choices[k];
    closeTypeahead();
    if (c) answer(c.label);
  }

  $("typeahead-input").addEventListener("input", updateTypeahead);
  $("typeahead-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); pick(choice); }
    else if (e.key === "Escape") { e.preventDefault(); closeTypeahead(); }
    else if (e.key === "ArrowDown") { e.preventDefault(); choice = Math.min(choices.length - 1, choice + 1); drawChoices(); }
    else if (e.key === "ArrowUp") { e.preventDefault(); choice = Math.max(0, choice - 1); drawChoices(); }
  });

  // -- keys -------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (e.target === $("typeahead-input") || e.ctrlKey || e.metaKey || e.altKey) {
      if ((e.ctrlKey || e.metaKey) && e.key === "z" && e.target !== $("typeahead-input")) {
        e.preventDefault();
        undo();
      }
      return;
    }
    if (!state) return;
    if (/^[1-9]$/.test(e.key)) {
      const c = state.classes[Number(e.key) - 1];
      if (c !== undefined) { e.preventDefault(); answer(c); }
    } else if (e.key === " ") {
      e.preventDefault();
      skip();
    } else if (e.key === "Backspace") {
      e.preventDefault();
      undo();
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      moveFocus(1);
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      moveFocus(-1);
    } else if (e.key.length === 1 && /\S/.test(e.key) && !/[0-9]/.test(e.key)) {
      e.preventDefault();
      openTypeahead(e.key);
    }
  });

  $("skip-button").addEventListener("click", skip);
  $("undo-button").addEventListener("click", undo);
  refresh();
})();
