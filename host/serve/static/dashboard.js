// zynpu serve dashboard: polls /dashboard/stats and redraws. No framework, no build step.
"use strict";

const POLL_MS = 500;
const HISTORY = 120;
const tpsHistory = [];
let key = sessionStorage.getItem("zynpu-key") || "";

const $ = (id) => document.getElementById(id);
const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
const fix = (n, d = 1) => (n === null || n === undefined ? "–" : Number(n).toFixed(d));

function setText(id, text) {
  const el = $(id);
  if (el && el.textContent !== String(text)) el.textContent = text;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
}

function drawChart() {
  const c = $("tps-chart");
  const ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  const max = Math.max(1, ...tpsHistory);
  ctx.strokeStyle = "#3b82f6";
  ctx.lineWidth = 2;
  ctx.beginPath();
  const n = tpsHistory.length;
  tpsHistory.forEach((v, i) => {
    const x = c.width - ((n - 1 - i) / (HISTORY - 1)) * c.width;  // newest at the right edge
    const y = c.height - (v / max) * (c.height - 8) - 4;
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = "#56607a";
  ctx.font = "20px system-ui";
  ctx.fillText(`max ${max.toFixed(1)} tokens/s, last ${(HISTORY * POLL_MS) / 1000} s`, 6, 22);
}

function renderNpu(s) {
  const n = s.npu;
  if (n) {
    setText("npu-jobs", fmt(n.jobs));
    setText("npu-cycles", fmt(n.cycles));
    setText("npu-busy", fmt(n.active));
    setText("npu-starved", fmt(n.starved));
    setText("npu-stalled", fmt(n.stalled));
    setText("dma-bytes", `${fmt(n.bytes_in)} / ${fmt(n.bytes_out)}`);
    setText("npu-note", `device ${s.device}: counters read from the tile`);
  } else if (s.engine) {
    const e = s.engine;
    setText("npu-jobs", fmt(e.jobs));
    setText("dma-bytes", `${fmt(e.weight_bytes + e.act_in_bytes)} / ${fmt(e.act_out_bytes)}`);
    setText("npu-note", `device ${s.device}: host int8 engine, no tile counters; bytes are what the tile's DMA would move`);
  }
}

function renderRecent(s) {
  const body = $("recent").querySelector("tbody");
  body.replaceChildren();
  const rows = s.active ? [{ ...s.active, finish_reason: "running…" }, ...s.recent] : s.recent;
  for (const r of rows.slice(0, 12)) {
    const tr = document.createElement("tr");
    const secs = r.seconds || (Date.now() / 1000 - r.start);
    const npu = r.npu || {};
    const eng = r.engine || {};
    const bytes = r.npu ? npu.bytes_in + npu.bytes_out
      : (r.engine ? eng.weight_bytes + eng.act_in_bytes + eng.act_out_bytes : null);
    [r.id.slice(-8), r.finish_reason, fmt(r.prompt_tokens), fmt(r.completion_tokens), fix(r.ttft_s, 3),
      fix(r.completion_tokens / Math.max(secs, 1e-9)), fmt(r.npu ? npu.jobs : eng.jobs),
      fix(npu.active_per_job, 0), fix(npu.starved_per_job, 0), fix(npu.stalled_per_job, 0), fmt(bytes)]
      .forEach((t) => cell(tr, t));
    body.appendChild(tr);
  }
}

function renderRadio(s) {
  const table = $("radio-table");
  table.replaceChildren();
  if (!s.radio) {
    setText("radio-note", "no radio attached to this server");
    return;
  }
  setText("radio-note", s.radio.up ? "link up" : "link down");
  const names = { rx_delivered: "messages received", tx_frames: "frames sent", tx_retransmits: "retransmits",
    rx_errors: "receive errors", naks_sent: "NAKs sent", peer_restarts: "resets (ESP32 restarts)",
    transactions: "SPI transactions", handshake_timeouts: "handshake timeouts" };
  for (const [k, label] of Object.entries(names)) {
    const tr = document.createElement("tr");
    cell(tr, label);
    cell(tr, fmt(s.radio[k]));
    table.appendChild(tr);
  }
}

function renderSessions(s) {
  const box = $("sessions");
  const sessions = s.agent.sessions;
  box.replaceChildren();
  if (!sessions.length) {
    const p = document.createElement("span");
    p.className = "muted";
    p.textContent = `no sessions in ${s.agent.home}`;
    box.appendChild(p);
    return;
  }
  for (const sess of sessions) {
    const div = document.createElement("div");
    div.className = "session";
    const head = document.createElement("div");
    head.className = "head";
    const when = new Date(sess.updated * 1000).toLocaleTimeString();
    head.textContent = `${sess.id} · ${sess.origin} · ${when} · ${sess.end_reason || sess.status}` +
      (sess.answer ? ` · "${sess.answer}"` : "");
    div.appendChild(head);
    const total = Math.max(1, ...sess.timeline.map((t) => t.start_ms + t.duration_ms));
    for (const t of sess.timeline) {
      const row = document.createElement("div");
      row.className = "bar-row";
      const label = document.createElement("span");
      label.className = "bar-label";
      label.textContent = `${t.op} ${t.duration_ms.toFixed(1)} ms`;
      label.title = t.detail + (t.npu_cycles ? ` (${t.npu_cycles} tile cycles)` : "");
      const track = document.createElement("span");
      track.className = "bar-track";
      const bar = document.createElement("span");
      bar.className = `bar op-${t.op}` + (t.status === "OK" ? "" : " err");
      bar.style.left = `${(100 * t.start_ms) / total}%`;
      bar.style.width = `${(100 * t.duration_ms) / total}%`;
      bar.title = label.title;
      track.appendChild(bar);
      row.append(label, track);
      div.appendChild(row);
    }
    box.appendChild(div);
  }
}

function render(s) {
  setText("model", `${s.model} on ${s.device} · context ${s.context}`);
  setText("tokens-per-s", fix(s.tokens_per_s));
  setText("completion-tokens", fmt(s.counts.completion_tokens));
  setText("prompt-tokens", fmt(s.counts.prompt_tokens));
  setText("completed", fmt(s.counts.completed));
  setText("queue", `${s.queue.busy ? 1 : 0} / ${s.queue.waiting} / ${s.queue.bound}`);
  setText("rejects", `${s.counts.rejected} / ${s.counts.cancelled} / ${s.counts.bad_requests}`);
  tpsHistory.push(s.tokens_per_s);
  while (tpsHistory.length > HISTORY) tpsHistory.shift();
  drawChart();
  renderNpu(s);
  renderRecent(s);
  renderRadio(s);
  renderSessions(s);
  setText("status", `updated ${new Date(s.time * 1000).toLocaleTimeString()} · up ${Math.round(s.uptime_s)} s`);
}

async function poll() {
  try {
    const headers = key ? { Authorization: `Bearer ${key}` } : {};
    const r = await fetch("dashboard/stats", { headers, cache: "no-store" });
    if (r.status === 401) {
      $("key-form").style.display = "block";
      setText("status", "API key needed");
    } else if (r.ok) {
      render(await r.json());
    } else {
      setText("status", `server answered ${r.status}`);
    }
  } catch (e) {
    setText("status", "server unreachable; retrying");
  }
  setTimeout(poll, POLL_MS);
}

$("key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  key = $("key-input").value;
  sessionStorage.setItem("zynpu-key", key);
  $("key-form").style.display = "none";
});

poll();
