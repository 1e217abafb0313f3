// flowlens web console: plain JavaScript, no dependencies, no external URL.
// It talks to the JSON API of the same origin (docs/server.md) and builds
// every element with the DOM and textContent (no HTML parsing), so query results can hold
// any text.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const TOKEN_KEY = "flowlens.token";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, String(v));
  }
  return e;
}

// ---- API ----

let authRequired = false;

class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || { message: "HTTP " + status, kind: "internal" };
    super(e.message);
    this.status = status;
    this.detail = e;
  }
}

async function api(path, opts = {}) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, {
    method: opts.method || "GET",
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: opts.signal,
    credentials: "omit",
  });
  let body = null;
  try { body = await resp.json(); } catch (_) { /* not JSON */ }
  if (resp.status === 401) {
    showToken("The server refused the token: " + ((body && body.error && body.error.message) || "unauthorized"));
    throw new APIError(resp.status, body);
  }
  if (!resp.ok) throw new APIError(resp.status, body);
  return body;
}

// ---- routing ----

const pages = ["token", "query", "alerts", "status"];
let current = "";

function show(page) {
  for (const p of pages) $("page-" + p).hidden = p !== page;
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.page === page);
  current = page;
}

function route() {
  const page = (location.hash.replace(/^#\/?/, "") || "query").split("?")[0];
  if (authRequired && !sessionStorage.getItem(TOKEN_KEY)) {
    showToken("");
    return;
  }
  const known = ["query", "alerts", "status"].includes(page) ? page : "query";
  show(known);
  if (known === "alerts") loadAlerts();
  if (known === "status") loadStatus();
  if (known === "query") $("query").focus();
}

function showToken(message) {
  show("token");
  $("token-error").hidden = !message;
  $("token-error").textContent = message;
  $("token-input").focus();
}

function updateAuthState() {
  const has = !!sessionStorage.getItem(TOKEN_KEY);
  $("auth-state").textContent = authRequired ? (has ? "token set" : "token required") : "loopback, no token";
  $("token-forget").hidden = !has;
}

// ---- query page ----

let lang = "insights";
let lastResult = null;
let running = null;

const examples = [
  ["Top talkers (accepted bytes)", "insights", 'fields @timestamp, srcaddr, dstaddr, bytes\n| filter action = "ACCEPT"\n| stats sum(bytes) as total_bytes by srcaddr, dstaddr\n| sort total_bytes desc\n| limit 20'],
  ["Rejected connections", "insights", 'fields @timestamp, srcaddr, dstaddr, srcport, dstport, action\n| filter action = "REJECT"\n| stats count() as rejected_count by srcaddr, dstaddr, dstport\n| sort rejected_count desc\n| limit 50'],
  ["Port scanners", "insights", 'fields @timestamp, srcaddr, dstaddr, dstport\n| filter action = "REJECT"\n| stats dc(dstport) as unique_ports, count() as attempts by srcaddr\n| where unique_ports > 10 and attempts > 50\n| sort attempts desc'],
  ["Rejected flows per hour (chart)", "insights", 'filter action = "REJECT"\n| stats count(*) as rejected by bin(1h)'],
  ["Flows per hour by action (chart)", "insights", "stats count(*) as flows by bin(1h), action"],
  ["SQL: top talkers of March 2024", "sql", "SELECT srcaddr, dstaddr, SUM(bytes) as total_bytes, COUNT(*) as flow_count\nFROM vpc_flow_logs WHERE year = '2024' AND month = '03' AND action = 'ACCEPT'\nGROUP BY srcaddr, dstaddr ORDER BY total_bytes DESC LIMIT 100"],
  ["SQL: mining pool ports", "sql", "SELECT srcaddr, dstaddr, dstport, COUNT(*) as connections FROM vpc_flow_logs\nWHERE dstport IN (4444, 8333, 9999, 14444) AND action = 'ACCEPT'\nGROUP BY srcaddr, dstaddr, dstport ORDER BY connections DESC"],
];

function setLang(l) {
  lang = l;
  $("lang-insights").setAttribute("aria-pressed", String(l === "insights"));
  $("lang-sql").setAttribute("aria-pressed", String(l === "sql"));
}

// byteToIndex turns a byte offset of the UTF-8 text (the API's positions)
// into an index of the JavaScript string.
function byteToIndex(s, off) {
  let bytes = 0;
  for (let i = 0; i < s.length;) {
    if (bytes >= off) return i;
    const cp = s.codePointAt(i);
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp > 0xffff ? 2 : 1;
  }
  return s.length;
}

// mirror draws the query behind the transparent textarea, with the error's
// range marked.
function mirror(range) {
  const text = $("query").value;
  const m = $("query-mirror");
  m.textContent = "";
  if (!range) {
    m.append(text + "\n");
    return;
  }
  const [a, b] = range;
  const mark = el("mark", { id: "error-mark" }, text.slice(a, Math.max(b, a + 1)) || " ");
  m.append(text.slice(0, a), mark, text.slice(Math.max(b, a + 1)) + "\n");
  m.scrollTop = $("query").scrollTop;
}

function clearError() {
  $("query-error").hidden = true;
  mirror(null);
}

function showQueryError(err) {
  const d = err.detail || { message: String(err.message || err) };
  const box = $("query-error");
  box.hidden = false;
  const where = d.position ? `line ${d.position.line}, column ${d.position.column}: ` : "";
  $("error-message").textContent = (err.status ? err.status + " " : "") + where + d.message;
  $("error-hint").textContent = d.hint ? "hint: " + d.hint : "";
  const ctx = $("error-context");
  ctx.textContent = "";
  ctx.hidden = true;
  if (d.position) {
    const text = $("query").value;
    const a = byteToIndex(text, d.position.start);
    const b = byteToIndex(text, d.position.end);
    mirror([a, b]);
    const ls = text.lastIndexOf("\n", a - 1) + 1;
    let le = text.indexOf("\n", a);
    if (le < 0) le = text.length;
    const end = Math.min(Math.max(b, a + 1), le);
    ctx.append(text.slice(ls, a), el("mark", { id: "error-context-mark" }, text.slice(a, end) || " "), text.slice(end, le));
    ctx.hidden = false;
    $("query").setSelectionRange(a, Math.max(b, a));
  } else if (d.sql && d.sql_position) {
    const s = d.sql, a = byteToIndex(s, d.sql_position.start), b = byteToIndex(s, d.sql_position.end);
    const ls = s.lastIndexOf("\n", a - 1) + 1;
    let le = s.indexOf("\n", a);
    if (le < 0) le = s.length;
    ctx.append("compiled SQL: " + s.slice(ls, a), el("mark", {}, s.slice(a, Math.max(b, a + 1))), s.slice(Math.max(b, a + 1), le));
    ctx.hidden = false;
    mirror(null);
  } else {
    mirror(null);
  }
}

function rangeBody() {
  const r = $("range").value;
  if (r === "all") return {};
  if (r === "custom") {
    const out = {};
    if ($("range-from").value.trim()) out.from = $("range-from").value.trim();
    if ($("range-to").value.trim()) out.to = $("range-to").value.trim();
    return out;
  }
  const ms = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 }[r];
  return { from: Math.floor((Date.now() - ms) / 1000) };
}

async function runQuery() {
  if (running) running.abort();
  const ctl = new AbortController();
  running = ctl;
  clearError();
  $("run").disabled = true;
  $("result-summary").textContent = "running…";
  $("query-meta").hidden = false;
  const body = { query: $("query").value, lang, ...rangeBody() };
  const limit = parseInt($("limit").value, 10);
  if (limit > 0) body.limit = limit;
  try {
    const res = await api("/api/v1/query", { method: "POST", body, signal: ctl.signal });
    lastResult = res;
    renderResult(res);
  } catch (err) {
    if (err.name === "AbortError") return;
    lastResult = null;
    $("query-meta").hidden = true;
    $("results").textContent = "";
    $("chart").hidden = true;
    $("compiled").hidden = true;
    showQueryError(err);
  } finally {
    if (running === ctl) {
      running = null;
      $("run").disabled = false;
    }
  }
}

const numericType = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL)/i;

function cell(v, type) {
  if (v === null || v === undefined) return el("td", { class: "null", text: "null" });
  if (typeof v === "object") return el("td", { text: JSON.stringify(v) });
  const td = el("td", { text: String(v) });
  if (typeof v === "number" || numericType.test(type || "")) td.className = "num";
  return td;
}

function renderTable(table, columns, rows, types) {
  table.textContent = "";
  const head = el("tr");
  for (const c of columns) head.append(el("th", { text: c }));
  table.append(el("thead", {}, head));
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr");
    row.forEach((v, i) => tr.append(cell(v, types && types[i])));
    body.append(tr);
  }
  table.append(body);
}

function renderResult(res) {
  const s = res.stats;
  $("result-summary").textContent = `${s.rows} ${s.rows === 1 ? "row" : "rows"} in ${s.seconds} s` +
    (s.truncated ? " — truncated at the limit; raise it or add a limit to the query" : "");
  $("query-meta").hidden = false;
  renderTable($("results"), res.columns, res.rows, res.types);
  $("compiled").hidden = !res.sql;
  $("compiled-sql").textContent = res.sql || "";
  drawTimeChart(res);
}

// ---- completion (Ctrl+Space), from the Insights parser via /api/v1/complete ----

let completions = [];
let completionIndex = 0;

function hideCompletions() {
  completions = [];
  $("completions").hidden = true;
  $("completions").textContent = "";
}

async function complete() {
  const ta = $("query");
  const text = ta.value;
  const cursor = new TextEncoder().encode(text.slice(0, ta.selectionStart)).length;
  let res;
  try {
    res = await api("/api/v1/complete", { method: "POST", body: { query: text, cursor } });
  } catch (_) {
    return;
  }
  completions = res.completions.slice(0, 12);
  completionIndex = 0;
  const list = $("completions");
  list.textContent = "";
  completions.forEach((c, i) => {
    const li = el("li", { "data-i": String(i), onmousedown: (e) => { e.preventDefault(); applyCompletion(i); } },
      el("b", { text: c.label }), el("span", { text: " " + c.kind + (c.detail ? " — " + c.detail : "") }));
    list.append(li);
  });
  list.hidden = completions.length === 0;
  markCompletion();
}

function markCompletion() {
  [...$("completions").children].forEach((li, i) => li.classList.toggle("selected", i === completionIndex));
}

function applyCompletion(i) {
  const c = completions[i];
  if (!c) return;
  const ta = $("query");
  const text = ta.value;
  const a = byteToIndex(text, c.replace.start), b = byteToIndex(text, c.replace.end);
  ta.value = text.slice(0, a) + c.insert + text.slice(b);
  const at = a + c.insert.length;
  ta.setSelectionRange(at, at);
  hideCompletions();
  mirror(null);
  ta.focus();
}

// ---- charts (inline SVG) ----

function fmtNum(n) {
  const a = Math.abs(n);
  if (a >= 1e12) return (n / 1e12).toFixed(1) + "T";
  if (a >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (a >= 1e3) return (n / 1e3).toFixed(1) + "k";
  return String(Math.round(n * 100) / 100);
}

function fmtTime(ms, spanMs) {
  const d = new Date(ms).toISOString();
  return spanMs > 2 * 86400e3 ? d.slice(0, 10) + " " + d.slice(11, 16) : d.slice(11, 16);
}

// drawTimeChart draws a line per series when the result is a time series:
// a TIMESTAMP column and number columns (one line each), or one number
// column split by one text column (one line per value, the 8 largest).
function drawTimeChart(res) {
  const box = $("chart");
  box.textContent = "";
  box.hidden = true;
  const t = res.types.findIndex((ty) => /^TIMESTAMP/i.test(ty));
  if (t < 0 || res.rows.length < 2) return;
  const nums = [], texts = [];
  res.types.forEach((ty, i) => {
    if (i === t) return;
    if (numericType.test(ty)) nums.push(i);
    else texts.push(i);
  });
  if (nums.length === 0) return;
  const series = new Map();
  const add = (name, x, y) => {
    if (!series.has(name)) series.set(name, []);
    series.get(name).push([x, y]);
  };
  for (const row of res.rows) {
    const x = Date.parse(row[t]);
    if (Number.isNaN(x)) continue;
    if (texts.length === 1) {
      const y = Number(row[nums[0]]);
      if (row[nums[0]] !== null && Number.isFinite(y)) add(String(row[texts[0]]), x, y);
    } else {
      for (const i of nums.slice(0, 8)) {
        const y = Number(row[i]);
        if (row[i] !== null && Number.isFinite(y)) add(res.columns[i], x, y);
      }
    }
  }
  let list = [...series.entries()].map(([name, pts]) => ({ name, pts: pts.sort((a, b) => a[0] - b[0]) }));
  list.sort((a, b) => b.pts.reduce((s, p) => s + p[1], 0) - a.pts.reduce((s, p) => s + p[1], 0));
  list = list.slice(0, 8);
  const all = list.flatMap((s) => s.pts);
  if (all.length < 2) return;
  const W = 900, H = 240, L = 56, R = 12, T = 12, B = 28;
  const x0 = Math.min(...all.map((p) => p[0])), x1 = Math.max(...all.map((p) => p[0]));
  const y1 = Math.max(0, ...all.map((p) => p[1])), y0 = Math.min(0, ...all.map((p) => p[1]));
  const sx = (x) => L + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (y1 === y0 ? 0.5 : (y - y0) / (y1 - y0))) * (H - T - B);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "time series chart", id: "time-chart" });
  for (let i = 0; i <= 4; i++) {
    const y = y0 + (y1 - y0) * i / 4;
    root.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: sy(y), y2: sy(y) }));
    root.append(svg("text", { x: L - 6, y: sy(y) + 4, "text-anchor": "end", text: fmtNum(y) }));
  }
  for (let i = 0; i <= 5; i++) {
    const x = x0 + (x1 - x0) * i / 5;
    root.append(svg("text", { x: sx(x), y: H - 8, "text-anchor": i === 0 ? "start" : i === 5 ? "end" : "middle", text: fmtTime(x, x1 - x0) }));
  }
  root.append(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
  root.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  const legend = el("div", { class: "legend" });
  list.forEach((s, i) => {
    const pts = s.pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
    const line = svg("polyline", { class: `series c${i}`, points: pts });
    line.append(svg("title", { text: s.name }));
    root.append(line);
    legend.append(el("span", {}, el("i", { class: `c${i}` }), s.name));
  });
  box.append(root, legend);
  box.hidden = false;
}

// drawBars draws one bar per item: [label, value].
function drawBars(box, items, ylabel) {
  box.textContent = "";
  if (items.length === 0) {
    box.append(el("p", { class: "meta", text: "no data" }));
    return;
  }
  const W = 900, H = 220, L = 64, R = 12, T = 12, B = 36;
  const max = Math.max(...items.map((d) => d[1]), 1);
  const bw = (W - L - R) / items.length;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": ylabel, id: "days-svg" });
  for (let i = 0; i <= 4; i++) {
    const v = max * i / 4, y = T + (1 - v / max) * (H - T - B);
    root.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: y, y2: y }));
    root.append(svg("text", { x: L - 6, y: y + 4, "text-anchor": "end", text: fmtNum(v) }));
  }
  const every = Math.ceil(items.length / 12);
  items.forEach(([label, v], i) => {
    const h = (v / max) * (H - T - B);
    const w = Math.min(Math.max(bw * 0.8, 1), 64);
    const bar = svg("rect", { class: "bar", x: L + i * bw + (bw - w) / 2, y: H - B - h, width: w, height: h });
    bar.append(svg("title", { text: `${label}: ${v}` }));
    root.append(bar);
    if (i % every === 0) root.append(svg("text", { x: L + i * bw + bw / 2, y: H - 14, "text-anchor": "middle", text: label }));
  });
  root.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  box.append(root);
}

// ---- downloads ----

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function csvField(v) {
  if (v === null || v === undefined) return "";
  const s = typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

function toCSV(res) {
  const lines = [res.columns.map(csvField).join(",")];
  for (const row of res.rows) lines.push(row.map(csvField).join(","));
  return lines.join("\r\n") + "\r\n";
}

// ---- alerts page ----

let alertsOffset = 0;
const alertsLimit = 50;

function alertsQuery() {
  const p = new URLSearchParams();
  p.set("status", $("alert-status").value);
  if ($("alert-severity").value) p.set("severity", $("alert-severity").value);
  if ($("alert-category").value) p.set("category", $("alert-category").value);
  if ($("alert-since").value.trim()) p.set("since", $("alert-since").value.trim());
  p.set("offset", String(alertsOffset));
  p.set("limit", String(alertsLimit));
  return p.toString();
}

async function loadAlerts() {
  $("alerts-error").hidden = true;
  let res;
  try {
    res = await api("/api/v1/alerts?" + alertsQuery());
  } catch (err) {
    $("alerts-error").hidden = false;
    $("alerts-error").textContent = err.message;
    return;
  }
  const c = res.counts;
  const last = Math.min(res.offset + res.alerts.length, res.total);
  $("alerts-summary").textContent = res.total === 0 ? `no alerts match (${c.open} open, ${c.acked} acked, ${c.suppressed} suppressed)` :
    `${res.offset + 1}–${last} of ${res.total} (${c.open} open, ${c.acked} acked, ${c.suppressed} suppressed)`;
  $("alerts-prev").disabled = res.offset === 0;
  $("alerts-next").disabled = res.next_offset === undefined;
  const table = $("alerts-table");
  table.textContent = "";
  if (res.alerts.length === 0) return;
  const head = el("tr");
  for (const h of ["severity", "title", "category", "src", "dst", "first seen", "last seen", "count", "status", ""]) head.append(el("th", { text: h }));
  table.append(el("thead", {}, head));
  const body = el("tbody");
  for (const a of res.alerts) {
    const ev = Object.entries(a.evidence || {}).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
    const title = el("td", { class: "wrap" }, a.title, el("span", { class: "evidence", text: ev + (a.note ? " — note: " + a.note : "") }));
    const action = el("td");
    if (a.status === "acked") {
      action.append(el("button", { type: "button", class: "unack", text: "Unack", onclick: () => changeAlert(a.id, "unack") }));
    } else {
      action.append(el("button", { type: "button", class: "ack", text: "Ack", onclick: () => changeAlert(a.id, "ack") }));
    }
    const tr = el("tr", { "data-id": a.id },
      el("td", {}, el("span", { class: "sev sev-" + a.severity, text: a.severity })), title,
      el("td", { text: a.category }), cell(a.src), cell(a.dst),
      el("td", { text: a.first_seen }), el("td", { text: a.last_seen }), cell(a.count),
      el("td", { class: "status status-" + a.status, text: a.status + (a.acked_by ? " by " + a.acked_by : "") }), action);
    body.append(tr);
  }
  table.append(body);
}

async function changeAlert(id, verb) {
  const body = verb === "ack" && $("alert-note").value.trim() ? { note: $("alert-note").value.trim() } : {};
  try {
    await api(`/api/v1/alerts/${encodeURIComponent(id)}/${verb}`, { method: "POST", body });
  } catch (err) {
    $("alerts-error").hidden = false;
    $("alerts-error").textContent = err.message;
    return;
  }
  loadAlerts();
}

// ---- status page ----

function fmtBytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
}

async function loadStatus() {
  $("status-error").hidden = true;
  let st;
  try {
    st = await api("/api/v1/status");
  } catch (err) {
    $("status-error").hidden = false;
    $("status-error").textContent = err.message;
    return;
  }
  const dl = $("status-summary");
  dl.textContent = "";
  const rows = [
    ["data", st.data], ["partitions", st.partitions], ["files", st.files], ["records", st.records.toLocaleString("en-US")],
    ["bytes", fmtBytes(st.bytes)], ["days", st.first_day ? `${st.first_day} to ${st.last_day}` : "—"],
    ["first start", st.first_start || "—"], ["last start", st.last_start || "—"], ["sources", st.sources],
    ["quarantined", st.quarantined], ["last ingest", st.last_ingest || "—"],
    ["queries", `${st.queries.served} served, ${st.queries.failed} failed, ${st.queries.timed_out} timed out, ${st.queries.cancelled} cancelled, ${st.queries.running} running`],
  ];
  for (const [k, v] of rows) dl.append(el("dt", { text: k }), el("dd", { id: "status-" + k.replace(/ /g, "-"), text: String(v) }));
  drawBars($("days-chart"), st.days.map((d) => [d.day, d.records]), "records per day");
  renderTable($("days-table"), ["day", "records", "files", "bytes"], st.days.map((d) => [d.day, d.records, d.files, d.bytes]), ["", "BIGINT", "BIGINT", "BIGINT"]);
  renderTable($("jobs-table"), ["job", "every", "runs", "last run", "summary", "last error"],
    st.jobs.map((j) => [j.name, j.interval, j.runs, j.last_run || null, j.summary || "", j.last_error || ""]), ["", "", "BIGINT"]);
}

// ---- start ----

async function start() {
  for (const [name, l, q] of examples) $("examples").append(el("option", { value: q, "data-lang": l, text: name }));
  $("examples").addEventListener("change", (e) => {
    const o = e.target.selectedOptions[0];
    if (!o.value) return;
    $("query").value = o.value;
    setLang(o.dataset.lang);
    e.target.value = "";
    clearError();
  });
  $("lang-insights").addEventListener("click", () => setLang("insights"));
  $("lang-sql").addEventListener("click", () => setLang("sql"));
  $("range").addEventListener("change", () => { $("custom-range").hidden = $("range").value !== "custom"; });
  $("run").addEventListener("click", runQuery);
  $("query").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      hideCompletions();
      runQuery();
    } else if (e.key === " " && e.ctrlKey && lang === "insights") {
      e.preventDefault();
      complete();
    } else if (completions.length > 0) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        completionIndex = (completionIndex + (e.key === "ArrowDown" ? 1 : completions.length - 1)) % completions.length;
        markCompletion();
      } else if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        applyCompletion(completionIndex);
      } else if (e.key === "Escape") {
        hideCompletions();
      }
    }
  });
  $("query").addEventListener("blur", hideCompletions);
  $("query").addEventListener("input", () => { if (!$("query-error").hidden) clearError(); else mirror(null); });
  $("query").addEventListener("scroll", () => { $("query-mirror").scrollTop = $("query").scrollTop; });
  $("download-csv").addEventListener("click", () => lastResult && download("flowlens.csv", "text/csv", toCSV(lastResult)));
  $("download-json").addEventListener("click", () => lastResult && download("flowlens.json", "application/json", JSON.stringify(lastResult, null, 2)));
  for (const id of ["alert-status", "alert-severity", "alert-category"]) $(id).addEventListener("change", () => { alertsOffset = 0; loadAlerts(); });
  $("alert-since").addEventListener("change", () => { alertsOffset = 0; loadAlerts(); });
  $("alerts-refresh").addEventListener("click", loadAlerts);
  $("alerts-prev").addEventListener("click", () => { alertsOffset = Math.max(0, alertsOffset - alertsLimit); loadAlerts(); });
  $("alerts-next").addEventListener("click", () => { alertsOffset += alertsLimit; loadAlerts(); });
  for (const c of ["port-scan", "port-sweep", "brute-force", "data-exfiltration", "crypto-mining", "lateral-movement", "c2-beaconing",
    "threat-intel", "exposed-service", "rejected-spike", "unusual-port", "flow-log-health"]) $("alert-category").append(el("option", { text: c }));
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    $("token-input").value = "";
    updateAuthState();
    if (!location.hash || location.hash === "#/token") location.hash = "#/query";
    route();
  });
  $("token-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    updateAuthState();
    route();
  });
  window.addEventListener("hashchange", route);
  mirror(null);
  try {
    const h = await (await fetch("/healthz", { credentials: "omit" })).json();
    authRequired = !!h.auth;
  } catch (_) { /* the API calls will say what is wrong */ }
  updateAuthState();
  route();
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", start);
