/**
 * The dashboard's HTML page: one self-contained document (inline style and script, allowed by
 * a per-response nonce), which polls `data` next to its own URL and renders with textContent
 * only, so nothing from the data is ever parsed as HTML.
 * @module
 */

/** Builds the page. */
export function dashboardPage(options: { title: string; interval: number; history: number; nonce: string }): string {
  const title = escapeHtml(options.title)
  const config = JSON.stringify({ interval: options.interval, history: options.history }).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — cache dashboard</title>
<style nonce="${options.nonce}">
  :root { --fg: #1d232a; --muted: #66707a; --line: #d9dee3; --bg: #f6f7f9; --card: #fff; --ok: #1a7f37; --warn: #b35900; --bad: #c62828; --a: #2f6fdf; --b: #1a7f37; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.2rem; background: var(--card); border-bottom: 1px solid var(--line); }
  header h1 { font-size: 1.1rem; margin: 0; }
  #status { font-size: .85rem; color: var(--muted); }
  #status.live::before { content: "● "; color: var(--ok); }
  #status.offline::before { content: "● "; color: var(--bad); }
  main { padding: 1rem 1.2rem; display: grid; gap: 1rem; }
  section.cache { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
  section.cache h2 { margin: 0 0 .8rem; font-size: 1rem; }
  .kpis { display: flex; flex-wrap: wrap; gap: 1.5rem; margin-bottom: .8rem; }
  .kpi .v { font-size: 1.6rem; font-variant-numeric: tabular-nums; }
  .kpi .l { font-size: .75rem; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 1rem; }
  h3 { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: .2rem 0 .4rem; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: .15rem .4rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  th { font-weight: 600; color: var(--muted); font-size: .8rem; }
  dl { display: grid; grid-template-columns: 1fr auto; margin: 0; }
  dt { color: var(--muted); } dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
  .bad { color: var(--bad); } .warn { color: var(--warn); } .ok { color: var(--ok); }
  svg.chart { width: 100%; height: 120px; background: #fbfcfd; border: 1px solid var(--line); border-radius: 4px; }
  .legend { font-size: .8rem; color: var(--muted); }
  .legend .a { color: var(--a); } .legend .b { color: var(--b); }
  details pre { font-size: .75rem; overflow: auto; max-height: 24rem; background: #fbfcfd; padding: .5rem; border: 1px solid var(--line); }
</style>
</head>
<body>
<header><h1>${title}</h1><span id="status">connecting…</span><span id="updated" class="legend"></span></header>
<main id="caches"></main>
<template id="cache-template">
  <section class="cache">
    <h2 data-field="name"></h2>
    <div class="kpis">
      <div class="kpi"><div class="v" data-field="requests">0</div><div class="l">requests</div></div>
      <div class="kpi"><div class="v" data-field="hitRate">–</div><div class="l">hit rate</div></div>
      <div class="kpi"><div class="v" data-field="rps">0</div><div class="l">requests/s</div></div>
      <div class="kpi"><div class="v" data-field="recentHitRate">–</div><div class="l">hit rate, last interval</div></div>
      <div class="kpi"><div class="v" data-field="loads">0</div><div class="l">loads</div></div>
      <div class="kpi"><div class="v" data-field="readP50">–</div><div class="l">read p50</div></div>
    </div>
    <div class="grid">
      <div>
        <h3>Tiers</h3>
        <table><thead><tr><th>tier</th><th>store</th><th>hits</th><th>misses</th><th>hit rate</th><th>circuit</th></tr></thead><tbody data-field="tiers"></tbody></table>
        <h3>Requests/s and hit rate</h3>
        <svg class="chart" data-field="chart" viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-label="requests per second and hit rate over time">
          <polyline data-field="rpsLine" fill="none" stroke="#2f6fdf" stroke-width="1.5" vector-effect="non-scaling-stroke" points=""></polyline>
          <polyline data-field="hitLine" fill="none" stroke="#1a7f37" stroke-width="1.5" vector-effect="non-scaling-stroke" points=""></polyline>
        </svg>
        <div class="legend"><span class="a">━ requests/s</span> (max <span data-field="rpsMax">0</span>) · <span class="b">━ hit rate</span> (0–100 %)</div>
      </div>
      <div>
        <h3>Loader</h3>
        <dl>
          <dt>loads</dt><dd data-field="loads2">0</dd>
          <dt>errors</dt><dd data-field="loadErrors">0</dd>
          <dt>timeouts</dt><dd data-field="loadTimeouts">0</dd>
          <dt>in flight</dt><dd data-field="inflightLoads">0</dd>
          <dt>coalesced requests</dt><dd data-field="coalesced">0</dd>
          <dt>stale served</dt><dd data-field="staleServed">0</dd>
          <dt>refreshes (ok / failed / started)</dt><dd data-field="refreshes">0</dd>
          <dt>promotions</dt><dd data-field="promotions">0</dd>
        </dl>
        <h3>Shared tiers</h3>
        <dl>
          <dt>errors</dt><dd data-field="l2Errors">0</dd>
          <dt>timeouts</dt><dd data-field="l2Timeouts">0</dd>
          <dt>skipped (circuit open)</dt><dd data-field="l2Skipped">0</dd>
          <dt>failed writes</dt><dd data-field="l2WriteErrors">0</dd>
          <dt>corrupt entries</dt><dd data-field="corrupt">0</dd>
        </dl>
      </div>
      <div>
        <h3>Latency</h3>
        <table><thead><tr><th>operation</th><th>count</th><th>p50</th><th>p95</th><th>p99</th></tr></thead><tbody data-field="latency"></tbody></table>
        <h3>Invalidation</h3>
        <dl>
          <dt>transport</dt><dd data-field="transport">off</dd>
          <dt>listener</dt><dd data-field="listening">–</dd>
          <dt>published</dt><dd data-field="published">0</dd>
          <dt>publish failures</dt><dd data-field="publishFailures">0</dd>
          <dt>received</dt><dd data-field="received">0</dd>
          <dt>applied</dt><dd data-field="applied">0</dd>
          <dt>receive failures</dt><dd data-field="receiveFailures">0</dd>
          <dt>L1 flushes</dt><dd data-field="flushes">0</dd>
          <dt>cursor lag</dt><dd data-field="cursorLag">0</dd>
        </dl>
      </div>
    </div>
    <details><summary>diagnostics</summary><pre data-field="diagnostics"></pre></details>
  </section>
</template>
<script nonce="${options.nonce}">
"use strict";
const CONFIG = ${config};
const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
const sections = new Map();
let previous;

function quantile(bounds, counts, q) {
  let total = 0;
  for (const n of counts) total += n;
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i];
    if (seen + n >= rank && n > 0) {
      const lower = i === 0 ? 0 : bounds[i - 1];
      const upper = i < bounds.length ? bounds[i] : lower * 2;
      return lower + (upper - lower) * Math.min(1, Math.max(0, (rank - seen) / n));
    }
    seen += n;
  }
  return bounds[bounds.length - 1];
}
const int = (n) => Math.round(n).toLocaleString("en-US");
const pct = (r) => (r === undefined ? "–" : (r * 100).toFixed(1) + " %");
function secs(s) {
  if (s === undefined) return "–";
  if (s === 0) return "0";
  if (s < 0.001) return (s * 1e6).toFixed(s < 0.0001 ? 1 : 0) + " µs";
  if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : 1) + " ms";
  return s.toFixed(2) + " s";
}
function set(root, field, text, cls) {
  const el = root.querySelector('[data-field="' + field + '"]');
  if (!el) return;
  el.textContent = text;
  if (cls !== undefined) el.className = cls;
}
function row(cells) {
  const tr = document.createElement("tr");
  for (const [text, cls] of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  return tr;
}
function sectionFor(name) {
  let entry = sections.get(name);
  if (entry) return entry;
  const node = document.getElementById("cache-template").content.firstElementChild.cloneNode(true);
  node.dataset.cache = name;
  set(node, "name", name);
  document.getElementById("caches").appendChild(node);
  entry = { node, history: [] };
  sections.set(name, entry);
  return entry;
}
function drawChart(entry) {
  const h = entry.history;
  const max = Math.max(1, ...h.map((p) => p.rps));
  const step = 300 / Math.max(1, CONFIG.history - 1);
  const x0 = 300 - (h.length - 1) * step;
  const pts = (f) => h.map((p, i) => (x0 + i * step).toFixed(1) + "," + (100 - f(p) * 96 - 2).toFixed(1)).join(" ");
  entry.node.querySelector('[data-field="rpsLine"]').setAttribute("points", pts((p) => p.rps / max));
  entry.node.querySelector('[data-field="hitLine"]').setAttribute("points", pts((p) => p.hitRate ?? 0));
  set(entry.node, "rpsMax", max < 10 ? max.toFixed(1) : int(max));
}
function render(data) {
  const before = previous;
  previous = data;
  const elapsed = before ? Math.max(0.001, (data.time - before.time) / 1000) : undefined;
  for (const cache of data.caches) {
    const entry = sectionFor(cache.name);
    const root = entry.node;
    const s = cache.stats;
    const old = before && before.caches.find((c) => c.name === cache.name);
    const dReq = old ? s.requests - old.stats.requests : 0;
    const dHits = old ? s.hits - old.stats.hits : 0;
    const rps = elapsed ? dReq / elapsed : 0;
    const recent = dReq > 0 ? dHits / dReq : undefined;
    set(root, "requests", int(s.requests));
    set(root, "hitRate", s.requests > 0 ? pct(s.hitRate) : "–");
    set(root, "rps", rps < 10 ? rps.toFixed(1) : int(rps));
    set(root, "recentHitRate", pct(recent));
    set(root, "loads", int(s.loads));
    set(root, "loads2", int(s.loads));
    set(root, "loadErrors", int(s.loadErrors), s.loadErrors > 0 ? "bad" : "");
    set(root, "loadTimeouts", int(s.loadTimeouts), s.loadTimeouts > 0 ? "warn" : "");
    set(root, "inflightLoads", int(s.inflightLoads));
    set(root, "coalesced", int(s.coalesced));
    set(root, "staleServed", int(s.staleServed));
    set(root, "refreshes", int(s.refreshes.successes) + " / " + int(s.refreshes.failures) + " / " + int(s.refreshes.attempts), s.refreshes.failures > 0 ? "warn" : "");
    set(root, "promotions", int(s.promotions));
    set(root, "l2Errors", int(s.l2Errors), s.l2Errors > 0 ? "bad" : "");
    set(root, "l2Timeouts", int(s.l2Timeouts), s.l2Timeouts > 0 ? "warn" : "");
    set(root, "l2Skipped", int(s.l2Skipped), s.l2Skipped > 0 ? "warn" : "");
    set(root, "l2WriteErrors", int(s.l2WriteErrors), s.l2WriteErrors > 0 ? "bad" : "");
    set(root, "corrupt", int(s.corrupt), s.corrupt > 0 ? "warn" : "");
    const inv = s.invalidation;
    const diag = cache.diagnostics;
    set(root, "transport", inv.transport);
    set(root, "listening", inv.transport === "pubsub" ? (inv.listening ? "listening" : "not listening") : inv.transport === "stream" ? "polling" : "–",
      inv.transport === "pubsub" && !inv.listening && diag.invalidation.listens ? "bad" : "");
    set(root, "published", int(inv.published));
    set(root, "publishFailures", int(inv.publishFailures), inv.publishFailures > 0 ? "bad" : "");
    set(root, "received", int(inv.received));
    set(root, "applied", int(inv.applied));
    set(root, "receiveFailures", int(inv.receiveFailures), inv.receiveFailures > 0 ? "warn" : "");
    set(root, "flushes", int(inv.flushes), inv.flushes > 0 ? "warn" : "");
    set(root, "cursorLag", secs(inv.cursorLagMs / 1000), inv.cursorLagMs > 10000 ? "bad" : "");

    const tiers = root.querySelector('[data-field="tiers"]');
    tiers.replaceChildren(...Object.entries(s.tiers).map(([label, t]) => {
      const tr = row([[label], [t.name], [int(t.hits)], [int(t.misses)], [pct(s.requests > 0 ? t.hitRate : undefined)], [t.circuit, t.circuit === "closed" ? "ok" : "bad"]]);
      tr.dataset.tier = label;
      return tr;
    }));

    let readCounts;
    const latency = root.querySelector('[data-field="latency"]');
    latency.replaceChildren(...cache.latency.map((g) => {
      if (g.group.startsWith("read ") && !g.group.endsWith(" error")) {
        readCounts = readCounts ? readCounts.map((n, i) => n + g.counts[i]) : g.counts.slice();
      }
      const tr = row([[g.group], [int(g.count)], [secs(quantile(data.buckets, g.counts, 0.5))], [secs(quantile(data.buckets, g.counts, 0.95))], [secs(quantile(data.buckets, g.counts, 0.99))]]);
      tr.dataset.group = g.group;
      return tr;
    }));
    set(root, "readP50", readCounts ? secs(quantile(data.buckets, readCounts, 0.5)) : "–");
    set(root, "diagnostics", JSON.stringify(diag, null, 2));

    if (elapsed !== undefined) {
      entry.history.push({ rps, hitRate: recent });
      if (entry.history.length > CONFIG.history) entry.history.shift();
      drawChart(entry);
    }
  }
  document.getElementById("updated").textContent = "updated " + new Date(data.time).toLocaleTimeString();
}
async function tick() {
  const status = document.getElementById("status");
  try {
    const res = await fetch(base + "data", { cache: "no-store", headers: { accept: "application/json" } });
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
    status.textContent = "live";
    status.className = "live";
  } catch (error) {
    status.textContent = "offline (" + (error && error.message ? error.message : "error") + ")";
    status.className = "offline";
  } finally {
    setTimeout(tick, CONFIG.interval);
  }
}
tick();
</script>
</body>
</html>
`
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}
