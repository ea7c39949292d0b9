// assay review: the page. Every string from the data is put in the page as text
// (textContent, attribute values); the frame drawings are SVG built by assay.report.draw,
// which escapes every string it draws.
"use strict";
(() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  const token = document.querySelector('meta[name="assay-token"]').content;
  // names this tab to the server (which shows two tabs different items); kept over reloads
  const tabId = (() => {
    const fresh = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2);
    try {
      const kept = sessionStorage.getItem("assay-review-tab");
      if (kept) return kept;
      sessionStorage.setItem("assay-review-tab", fresh);
    } catch (e) { /* storage refused: a new name per load */ }
    return fresh;
  })();
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null) continue;
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function status(text, kind = "info") {
    const s = $("#status");
    s.textContent = text;
    s.dataset.kind = kind;
  }

  async function api(path, { method = "GET", body = null, params = null } = {}) {
    const url = new URL(path, location.origin);
    if (params) {
      for (const [k, v] of Object.entries(params)) {
        if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
      }
    }
    url.searchParams.set("tab", tabId);
    const opts = { method, headers: { "X-Assay-Token": token } };
    if (body) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify({ ...body, tab: tabId });
    }
    const r = await fetch(url, opts);
    let data;
    try { data = await r.json(); } catch (e) { data = { error: r.statusText }; }
    if (!r.ok) {
      const err = new Error(data.error || r.statusText);
      err.status = r.status;
      throw err;
    }
    return data;
  }

  const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));

  // ------------------------------------------------------------------ views

  const state = {
    view: null, filters: { findings: {}, audit: {}, curation: {} }, offset: 0, shown: 0,
    item: null, mode: null, edits: new Map(), added: [], busy: false, drag: null, asked: 0,
  };
  const REVIEW = ["findings", "audit", "curation"];

  async function show(view) {
    state.view = view;
    cancelEdit(false);
    for (const b of $$("#tabs button")) b.classList.toggle("active", b.dataset.view === view);
    $("#review-pane").hidden = !REVIEW.includes(view);
    $("#query-pane").hidden = view !== "queries";
    $("#keys-pane").hidden = view !== "keys";
    document.body.dataset.view = view;
    if (REVIEW.includes(view)) {
      state.offset = 0;
      await loadOptions(view);
      await loadItem();
    } else if (view === "queries") {
      await loadQuery();
    }
  }

  // ------------------------------------------------------------------ review queues

  async function refreshCounts() {
    for (const kind of REVIEW) {
      try {
        const o = await api("/api/options", { params: { kind } });
        const span = $(`[data-left="${kind}"]`);
        span.textContent = o.total ? `(${o.left})` : "";
      } catch (e) { /* the count is a courtesy */ }
    }
  }

  async function loadOptions(kind) {
    const o = await api("/api/options", { params: { kind } });
    const form = $("#filters");
    form.replaceChildren();
    const chosen = state.filters[kind];
    for (const f of o.filters) {
      const label = el("label", { text: f.replace("_", " ") + " " });
      let input;
      if (f === "min_severity") {
        input = el("input", { type: "number", step: "any", name: f, placeholder: "any" });
        input.value = chosen[f] ?? "";
      } else {
        input = el("select", { name: f });
        input.append(el("option", { value: "all", text: "all" }));
        for (const v of o.options[f] || []) input.append(el("option", { value: v, text: v }));
        input.value = chosen[f] ?? o.defaults[f] ?? "all";
      }
      input.addEventListener("change", () => {
        chosen[f] = input.value;
        state.offset = 0;
        loadItem();
      });
      label.append(input);
      form.append(label);
    }
    const span = $(`[data-left="${kind}"]`);
    span.textContent = o.total ? `(${o.left})` : "";
  }

  function filterParams(kind) {
    const out = {};
    for (const input of $$("#filters [name]")) out[input.name] = input.value;
    return { ...out, ...state.filters[kind] };
  }

  async function loadItem() {
    const kind = state.view;
    if (!REVIEW.includes(kind)) return;
    cancelEdit(false);
    const asked = ++state.asked; // only the latest request's answer is shown
    let got;
    try {
      got = await api("/api/item", { params: { kind, offset: state.offset, ...filterParams(kind) } });
    } catch (e) {
      if (asked === state.asked) status(`could not load the next item: ${e.message}`, "error");
      return;
    }
    if (state.view !== kind || asked !== state.asked) return;
    state.item = got.item;
    state.offset = got.position || 0;
    state.shown = got.shown || 0;
    const span = $(`[data-left="${kind}"]`);
    if (span) span.textContent = `(${got.left})`;
    renderItem(got);
  }

  function renderItem(got) {
    const item = got.item;
    const head = $("#item-head");
    const frames = $("#frames");
    const details = $("#details");
    head.replaceChildren();
    frames.replaceChildren();
    details.replaceChildren();
    for (const b of $$("#actions button")) b.disabled = !item;
    if (!item) {
      frames.append(el("p", { class: "empty", text: got.left ? "Every item left is open in another tab." : "Nothing left to review here." }));
      return;
    }
    const title = item.kind === "curation"
      ? `queued frame: ${item.details.arm || item.details.reason || "queued"}`
      : `${item.details.assertion}`;
    head.append(
      el("h2", { text: title }),
      el("p", { class: "where", text: `${item.stream}, frame${item.frame_start === item.frame_end ? ` ${item.frame_start}` : `s ${item.frame_start}\u2013${item.frame_end}`}` + (item.severity === null ? "" : `, severity ${fmt(item.severity)}`) }),
      el("p", { class: "position", text: `item ${got.position + 1} of ${got.shown} shown here (${got.left} left)` }),
    );
    const subjects = new Set(item.subjects);
    for (const f of item.frames) {
      const fig = el("figure", { "data-frame": String(f.frame) });
      // SVG from assay.report.draw: every string in it is escaped there
      fig.innerHTML = f.svg;
      for (const r of $$("rect.box[data-obs]:not(.near)", fig)) {
        if (subjects.has(Number(r.dataset.obs))) r.classList.add("subject");
      }
      frames.append(fig);
    }
    const pairs = [["kind", item.kind], ["table", item.table], ["stream", item.stream],
      ["boxes judged", String(item.subjects.length)]];
    if (item.track !== null && item.track !== undefined) pairs.push(["track", String(item.track)]);
    for (const [k, v] of Object.entries(item.details || {})) {
      if (v === null || v === undefined) continue;
      pairs.push([k, typeof v === "object" ? JSON.stringify(v) : String(v)]);
    }
    for (const [k, v] of pairs) details.append(el("dt", { text: k }), el("dd", { text: v }));
    const sel = $("#add-class");
    sel.replaceChildren();
    for (const c of item.classes) sel.append(el("option", { value: c, text: c }));
    sel.value = item.default_class;
  }

  async function send(answer) {
    if (!state.item || state.busy) return;
    state.busy = true;
    const item = state.item;
    try {
      const got = await api("/api/answer", { method: "POST", body: { kind: item.kind, key: item.key, answer } });
      const said = ["accepted", "rejected", "corrected", "added"].filter((k) => got[k]).map((k) => `${got[k]} ${k}`);
      if (got.labels) said.push(`${got.labels} label${got.labels > 1 ? "s" : ""} added`);
      status(`saved: ${said.join(", ") || "nothing to judge"}`, "ok");
    } catch (e) {
      if (e.status === 409) status(`${e.message} Showing the next item.`, "warn");
      else { status(`not saved: ${e.message}`, "error"); state.busy = false; return; }
    }
    state.busy = false;
    await loadItem();
  }

  function startEdit(mode) {
    if (!state.item || state.busy) return;
    state.mode = mode;
    document.body.classList.add("editing");
    status(mode === "correct"
      ? "Drag a box to where the object is (its lower-right corner resizes it); click a box to mark it wrong. Enter saves, Esc cancels."
      : "Drag on the frame to draw the missing box. Enter saves, Esc cancels.");
  }

  function cancelEdit(reload = true) {
    const had = state.mode !== null || state.edits.size || state.added.length;
    state.mode = null;
    state.edits = new Map();
    state.added = [];
    state.drag = null;
    document.body.classList.remove("editing");
    if (had && reload && state.item) renderItem({ item: state.item, position: state.offset, shown: state.shown, left: state.shown });
  }

  function saveEdit() {
    if (!state.mode) return;
    const boxes = [];
    for (const [obs, e] of state.edits) {
      if (e.verdict === "rejected") boxes.push({ obs_id: obs, verdict: "rejected" });
      else boxes.push({ obs_id: obs, verdict: "corrected", box: corners(e.rect) });
    }
    const cls = $("#add-class").value;
    const added = state.added.map((a) => ({ frame: a.frame, box: corners(a.rect), cls }));
    const answer = { action: "edit", boxes, added };
    state.mode = null;
    document.body.classList.remove("editing");
    send(answer);
  }

  const num = (r, a) => parseFloat(r.getAttribute(a));
  const corners = (r) => [num(r, "x"), num(r, "y"), num(r, "x") + num(r, "width"), num(r, "y") + num(r, "height")];

  function place(r, x, y, w, h) {
    r.setAttribute("x", x.toFixed(1));
    r.setAttribute("y", y.toFixed(1));
    r.setAttribute("width", Math.max(w, 0).toFixed(1));
    r.setAttribute("height", Math.max(h, 0).toFixed(1));
  }

  function toSvg(svg, e) {
    const m = svg.getScreenCTM().inverse();
    const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m);
    return { x: p.x, y: p.y };
  }

  function unitsPerPixel(svg) {
    const m = svg.getScreenCTM();
    return 1 / Math.max(m.a, 1e-9);
  }

  function onPointerDown(e) {
    if (!state.mode || e.button !== 0) return;
    const svg = e.target.closest("svg.frame");
    if (!svg) return;
    const frame = Number(svg.closest("figure").dataset.frame);
    const p = toSvg(svg, e);
    const upp = unitsPerPixel(svg);
    e.preventDefault();
    const rect = e.target.closest("rect.subject");
    if (rect && state.mode === "correct") {
      const b = { x: num(rect, "x"), y: num(rect, "y"), w: num(rect, "width"), h: num(rect, "height") };
      const grip = 10 * upp;
      const corner = Math.abs(p.x - (b.x + b.w)) < grip && Math.abs(p.y - (b.y + b.h)) < grip;
      state.drag = { type: corner ? "resize" : "move", rect, start: p, orig: b, moved: false, upp };
    } else {
      const r = document.createElementNS(SVGNS, "rect");
      r.setAttribute("class", "box added");
      r.setAttribute("stroke-width", (2.5 * upp).toFixed(2));
      place(r, p.x, p.y, 0, 0);
      svg.append(r);
      state.drag = { type: "draw", rect: r, start: p, frame, moved: false, upp };
    }
    svg.setPointerCapture(e.pointerId);
  }

  function onPointerMove(e) {
    const d = state.drag;
    if (!d) return;
    const svg = d.rect.ownerSVGElement;
    const p = toSvg(svg, e);
    const dx = p.x - d.start.x, dy = p.y - d.start.y;
    if (Math.abs(dx) + Math.abs(dy) > 2 * d.upp) d.moved = true;
    if (d.type === "move") place(d.rect, d.orig.x + dx, d.orig.y + dy, d.orig.w, d.orig.h);
    else if (d.type === "resize") place(d.rect, d.orig.x, d.orig.y, Math.max(d.orig.w + dx, d.upp), Math.max(d.orig.h + dy, d.upp));
    else place(d.rect, Math.min(d.start.x, p.x), Math.min(d.start.y, p.y), Math.abs(dx), Math.abs(dy));
  }

  function onPointerUp() {
    const d = state.drag;
    if (!d) return;
    state.drag = null;
    if (d.type === "draw") {
      if (!d.moved || num(d.rect, "width") < 3 * d.upp || num(d.rect, "height") < 3 * d.upp) d.rect.remove();
      else state.added.push({ frame: d.frame, rect: d.rect });
      return;
    }
    const obs = Number(d.rect.dataset.obs);
    if (d.moved) {
      state.edits.set(obs, { verdict: "corrected", rect: d.rect });
      d.rect.classList.add("corrected");
      d.rect.classList.remove("rejected");
    } else if (state.edits.get(obs) && state.edits.get(obs).verdict === "rejected") {
      state.edits.delete(obs);
      d.rect.classList.remove("rejected");
    } else {
      state.edits.set(obs, { verdict: "rejected", rect: d.rect });
      d.rect.classList.add("rejected");
    }
  }

  function move(step) {
    const next = state.offset + step;
    if (next < 0 || next >= state.shown) return;
    state.offset = next;
    loadItem();
  }

  function act(action) {
    if (action === "accept") send({ action: "accept" });
    else if (action === "reject") send({ action: "reject" });
    else if (action === "correct") startEdit("correct");
    else if (action === "add") startEdit("add");
    else if (action === "save") saveEdit();
    else if (action === "cancel") { cancelEdit(); status("changes dropped"); }
    else if (action === "prev") move(-1);
    else if (action === "next") move(1);
  }

  // ------------------------------------------------------------------ queries

  const query = { batch: null, number: null, timer: null, answering: false, asked: 0 };

  async function loadQuery() {
    clearTimeout(query.timer);
    const asked = ++query.asked; // a slower, older answer is dropped
    let data;
    try { data = await api("/api/query"); } catch (e) { status(`could not read the query: ${e.message}`, "error"); return; }
    if (asked !== query.asked) return;
    renderQuery(data);
    const job = data.job;
    if (job && (job.state === "running" || job.state === "starting") && state.view === "queries") {
      query.timer = setTimeout(loadQuery, 700);
    }
  }

  function fillSelect(select, values, blank) {
    const was = select.value;
    select.replaceChildren();
    if (blank !== undefined) select.append(el("option", { value: "", text: blank }));
    for (const v of values) select.append(el("option", { value: v, text: v }));
    if (values.includes(was)) select.value = was;
  }

  function renderQuery(data) {
    const job = data.job;
    const running = job && (job.state === "running" || job.state === "starting");
    $("#query-running").hidden = !running;
    $("#query-form").hidden = running;
    const form = $("#query-form");
    if (data.tables) {
      fillSelect(form.elements.records, data.tables.records);
      fillSelect(form.elements.boxes, data.tables.observations, "(none)");
    }
    renderResult(job);
    if (!running) { renderBatch(null); return; }
    $("#query-question").textContent = job.question;
    $("#query-sql").hidden = !job.sql;
    $("#query-sql").textContent = job.sql || "";
    const progress = job.verb === "aggregate"
      ? `${job.answers} answers stored, ${job.batches} batches done` + (job.budget ? ` (budget ${job.budget})` : "")
      : `${job.answers} answers stored of at most ${job.budget} labels, ${job.batches} batches done`;
    $("#query-progress").textContent = progress + (job.stop_requested ? "; stops when this batch is answered" : "");
    renderInterval(job);
    const stop = $("#query-stop");
    stop.hidden = !job.anytime;
    stop.disabled = job.stop_requested;
    stop.textContent = job.stop_requested ? "Stopping after this batch" : "Stop here (after this batch; the interval holds)";
    renderBatch(data.batch);
  }

  function renderResult(job) {
    const box = $("#query-result");
    box.replaceChildren();
    if (!job || job.state === "running" || job.state === "starting") { box.hidden = true; return; }
    box.hidden = false;
    if (job.state === "done" && job.result) {
      const r = job.result;
      const text = job.verb === "aggregate"
        ? `${job.question}: ${r.stat} ${fmt(r.estimate)}, interval [${fmt(r.lower)}, ${fmt(r.upper)}] at ${fmt(1 - r.delta)} (${r.guarantee.kind}${r.guarantee.anytime ? ", anytime-valid" : ""}); stopped on ${r.stopped} after ${r.oracle_calls} labels; run ${r.run_id}`
        : `${job.question}: ${r.selected} records selected, ${Object.entries(job.target).map(([k, v]) => `${k} \u2265 ${fmt(v)}`).join(" and ")} with probability \u2265 ${fmt(1 - r.guarantee.delta)} (${r.guarantee.kind}); ${r.oracle_calls} labels; run ${r.run_id}`;
      box.append(el("h2", { text: "Result" }), el("p", { class: "result", text }));
      renderInterval(job, box);
    } else {
      box.append(el("p", { class: "error", text: `The query ${job.state}: ${job.error || ""}` }));
    }
  }

  function renderInterval(job, target) {
    const box = target || $("#query-interval");
    if (!target) box.replaceChildren();
    const path = job.path || [];
    if (!path.length) {
      if (!target && job.verb === "aggregate") box.append(el("p", { text: "The interval appears after the first batch." }));
      return;
    }
    const last = path[path.length - 1];
    box.append(el("p", { class: "interval", text: `after ${last.labels} labels: estimate ${fmt(last.estimate)}, interval [${fmt(last.lower)}, ${fmt(last.upper)}]` }));
    const W = 360, H = 120, pad = 6;
    const xs = path.map((p) => p.labels), lo = Math.min(...path.map((p) => p.lower)), hi = Math.max(...path.map((p) => p.upper));
    const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
    const sx = (x) => pad + (W - 2 * pad) * (x - x0) / (x1 - x0);
    const sy = (y) => H - pad - (H - 2 * pad) * (y - lo) / Math.max(hi - lo, 1e-12);
    const svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("class", "interval-path");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("width", String(W));
    svg.setAttribute("height", String(H));
    for (const [key, cls] of [["lower", "bound"], ["upper", "bound"], ["estimate", "estimate"]]) {
      const line = document.createElementNS(SVGNS, "polyline");
      line.setAttribute("class", cls);
      line.setAttribute("points", path.map((p) => `${sx(p.labels).toFixed(1)},${sy(p[key]).toFixed(1)}`).join(" "));
      svg.append(line);
    }
    box.append(svg);
  }

  // Cards are kept while their record is open (with what the person typed); answered ones go.
  function renderBatch(batch) {
    const box = $("#query-batch");
    query.batch = batch;
    if (!batch) {
      if (query.number !== "none") {
        box.replaceChildren(el("p", { class: "hint", text: "Waiting for the query's next batch\u2026" }));
        query.number = "none";
      }
      return;
    }
    if (batch.number !== query.number) {
      box.replaceChildren(el("h3"));
      query.number = batch.number;
    }
    $("h3", box).textContent = `batch ${batch.number}: ${batch.records.length} of ${batch.size} records left`;
    const open = new Set(batch.records.map((r) => r.position));
    for (const card of $$(".record", box)) {
      if (!open.has(Number(card.dataset.position))) card.remove();
    }
    for (const rec of batch.records) {
      if (!$(`.record[data-position="${rec.position}"]`, box)) box.append(recordCard(batch, rec));
    }
    const first = $("input[name=value]", box);
    if (first && !box.contains(document.activeElement)) first.focus();
  }

  function recordCard(batch, rec) {
    const card = el("div", { class: "record", "data-position": String(rec.position) });
    const dl = el("dl");
    dl.append(el("dt", { text: "id" }), el("dd", { text: String(rec.id) }));
    for (const [k, v] of Object.entries(rec.fields)) dl.append(el("dt", { text: k }), el("dd", { text: v === null ? "" : String(v) }));
    if (rec.frame) {
      const fig = el("figure");
      fig.innerHTML = rec.frame; // SVG from assay.report.draw (escaped there)
      card.append(fig);
    }
    card.append(dl);
    const controls = el("div", { class: "answer" });
    if (batch.yes_no) {
      for (const [value, text] of [[1, "Yes (1)"], [0, "No (0)"]]) {
        const b = el("button", { type: "button", text });
        b.addEventListener("click", () => answerRecord(batch, rec.position, value));
        controls.append(b);
      }
    } else {
      const input = el("input", { type: "number", step: "any", name: "value", "aria-label": batch.question });
      if (batch.range) { input.min = String(batch.range[0]); input.max = String(batch.range[1]); }
      const save = el("button", { type: "button", text: "Save" });
      const go = () => { if (input.value !== "") answerRecord(batch, rec.position, Number(input.value)); };
      save.addEventListener("click", go);
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); go(); } });
      controls.append(el("label", { text: `${batch.question} ` }, input), save);
    }
    card.append(controls);
    return card;
  }

  async function answerRecord(batch, position, value) {
    if (query.answering) return;
    query.answering = true;
    try {
      await api("/api/query/answer", { method: "POST", body: { batch: batch.number, position, value } });
      status(`saved: ${value}`, "ok");
      const card = $(`#query-batch .record[data-position="${position}"]`);
      if (card) card.remove();
    } catch (e) {
      status(e.status === 409 ? `${e.message}` : `not saved: ${e.message}`, e.status === 409 ? "warn" : "error");
    } finally {
      query.answering = false;
    }
    await loadQuery();
  }

  async function startQuery(ev) {
    ev.preventDefault();
    const f = ev.target.elements;
    const verb = f.verb.value;
    const spec = `review:${f.question.value.trim()}` + (f.label_set.value.trim() && f.label_set.value.trim() !== "default" ? `#${f.label_set.value.trim()}` : "");
    const numberOr = (v) => (v === "" ? null : Number(v));
    const params = {
      records: f.records.value, proxy: f.proxy.value || null, oracle: spec, delta: numberOr(f.delta.value),
      budget: numberOr(f.budget.value), batch_size: numberOr(f.batch_size.value), seed: numberOr(f.seed.value),
    };
    if (verb === "aggregate") {
      Object.assign(params, { stat: f.stat.value, error: numberOr(f.error.value), value_range: [Number(f.lo.value), Number(f.hi.value)] });
    } else {
      params[f.target.value] = numberOr(f.value.value);
    }
    try {
      await api("/api/query", { method: "POST", body: { verb, params, boxes: f.boxes.value || null } });
      status("query started", "ok");
    } catch (e) {
      status(`not started: ${e.message}`, "error");
    }
    await loadQuery();
  }

  function syncVerb() {
    const verb = $("#query-form").elements.verb.value;
    for (const fs of $$("#query-form fieldset[data-verb]")) fs.hidden = fs.dataset.verb !== verb;
  }

  // ------------------------------------------------------------------ wiring

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = e.target.closest("input, select, textarea");
    if (state.view === "queries") {
      if (typing || !query.batch || !query.batch.yes_no || !query.batch.records.length) return;
      if (e.key === "1" || e.key === "0") {
        e.preventDefault();
        answerRecord(query.batch, query.batch.records[0].position, Number(e.key));
      }
      return;
    }
    if (!REVIEW.includes(state.view) || typing) return;
    const keys = state.mode
      ? { Enter: "save", Escape: "cancel" }
      : { a: "accept", r: "reject", c: "correct", n: "add", ArrowLeft: "prev", ArrowRight: "next" };
    const action = keys[e.key];
    if (action) {
      e.preventDefault();
      act(action);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const b of $$("#tabs button")) b.addEventListener("click", () => show(b.dataset.view));
    for (const b of $$("#actions button")) b.addEventListener("click", () => act(b.dataset.action));
    const frames = $("#frames");
    frames.addEventListener("pointerdown", onPointerDown);
    frames.addEventListener("pointermove", onPointerMove);
    frames.addEventListener("pointerup", onPointerUp);
    frames.addEventListener("pointercancel", onPointerUp);
    document.addEventListener("keydown", onKey);
    $("#query-form").addEventListener("submit", startQuery);
    $("#query-form").elements.verb.addEventListener("change", syncVerb);
    syncVerb();
    $("#query-stop").addEventListener("click", async () => {
      try { await api("/api/query/stop", { method: "POST", body: {} }); status("the query stops when this batch is answered", "ok"); } catch (e) { status(e.message, "error"); }
      loadQuery();
    });
    $("#query-cancel").addEventListener("click", async () => {
      try { await api("/api/query/stop", { method: "POST", body: { cancel: true } }); status("query cancelled: the answers given are kept", "ok"); } catch (e) { status(e.message, "error"); }
      loadQuery();
    });
    const start = location.hash.slice(1);
    show(["findings", "audit", "curation", "queries", "keys"].includes(start) ? start : "findings");
    refreshCounts();
  });
})();
