#include "search/search_page.h"

namespace peft::search {

namespace {

// Kept as one literal so the binary carries the page (no files to install).
// Every string that came from the index is put into the DOM with
// textContent or createTextNode; there is no innerHTML anywhere.
const char kPage[] = R"PAGE(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>peft search</title>
<link rel="icon" href="data:,">
<style>
  :root { color-scheme: light; --fg: #1d232b; --muted: #5f6b7a; --line: #dde3ea; --accent: #2358c9; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: #f6f8fa; }
  main { max-width: 860px; margin: 0 auto; padding: 28px 20px 40px; }
  h1 { font-size: 22px; margin: 0 0 2px; letter-spacing: -0.01em; }
  #status { color: var(--muted); font-size: 13px; margin-bottom: 16px; min-height: 1.2em; }
  form { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; background: #fff; border: 1px solid var(--line);
         border-radius: 10px; padding: 12px; }
  #q { flex: 1 1 320px; font: inherit; padding: 8px 10px; border: 1px solid #b9c3cf; border-radius: 7px; }
  #q:focus { outline: 2px solid var(--accent); outline-offset: 0; border-color: transparent; }
  fieldset { border: 0; margin: 0; padding: 0; display: flex; gap: 2px; background: #eef1f5; border-radius: 7px; }
  fieldset label { padding: 6px 10px; border-radius: 6px; cursor: pointer; font-size: 14px; }
  fieldset input { position: absolute; opacity: 0; pointer-events: none; }
  fieldset label:has(input:checked) { background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.15); font-weight: 600; }
  button { font: inherit; padding: 8px 16px; border: 0; border-radius: 7px; background: var(--accent); color: #fff; cursor: pointer; }
  #message { color: var(--muted); font-size: 13px; margin: 14px 2px 6px; min-height: 1.2em; }
  #message.error { color: #b3261e; }
  ol { list-style: none; margin: 0; padding: 0; }
  li.result { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; margin-bottom: 10px; }
  .head { display: flex; justify-content: space-between; gap: 12px; align-items: baseline; }
  .title { font-weight: 600; font-size: 16px; color: var(--accent); overflow-wrap: anywhere; }
  .score { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; color: var(--muted); white-space: nowrap; }
  .id { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; color: var(--muted); margin-top: 1px; overflow-wrap: anywhere; }
  .snippet { margin: 6px 0 0; overflow-wrap: anywhere; }
  mark { background: #ffe58a; color: inherit; border-radius: 2px; padding: 0 1px; }
</style>
</head>
<body>
<main>
  <h1>peft search</h1>
  <div id="status"></div>
  <form id="search" role="search">
    <input id="q" name="q" type="search" placeholder="Search the index" autocomplete="off" autofocus aria-label="query">
    <fieldset id="modes" aria-label="mode">
      <label><input type="radio" name="mode" value="hybrid" checked>hybrid</label>
      <label><input type="radio" name="mode" value="vector">vector</label>
      <label><input type="radio" name="mode" value="bm25">BM25</label>
    </fieldset>
    <button type="submit">Search</button>
  </form>
  <div id="message"></div>
  <ol id="results" data-state="idle"></ol>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let latest = 0;

function mode() { return document.querySelector('input[name="mode"]:checked').value; }

// The snippet with its highlights, [begin, end) in code points, as <mark>s.
function snippet(text, highlights) {
  const p = document.createElement("p");
  p.className = "snippet";
  const cps = Array.from(text);
  let pos = 0;
  for (const [a, b] of highlights) {
    if (!(a >= pos && b > a && b <= cps.length)) continue;
    if (a > pos) p.appendChild(document.createTextNode(cps.slice(pos, a).join("")));
    const m = document.createElement("mark");
    m.textContent = cps.slice(a, b).join("");
    p.appendChild(m);
    pos = b;
  }
  if (pos < cps.length) p.appendChild(document.createTextNode(cps.slice(pos).join("")));
  return p;
}

function result(h) {
  const li = document.createElement("li");
  li.className = "result";
  const head = document.createElement("div");
  head.className = "head";
  const title = document.createElement("span");
  title.className = "title";
  title.textContent = h.title || h.id;
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = Number(h.score).toPrecision(4);
  head.append(title, score);
  li.append(head);
  if (h.title) {  // else the title line already shows the id
    const id = document.createElement("div");
    id.className = "id";
    id.textContent = h.id;
    li.append(id);
  }
  li.append(snippet(h.snippet || "", h.highlights || []));
  return li;
}

async function search(q, m) {
  const seq = ++latest;
  const list = $("results"), msg = $("message");
  list.dataset.state = "loading";
  msg.className = "";
  msg.textContent = "Searching\u2026";
  history.replaceState(null, "", "?" + new URLSearchParams({ q, mode: m }));
  try {
    const r = await fetch("/search?" + new URLSearchParams({ q, mode: m, k: "10" }));
    const j = await r.json();
    if (seq !== latest) return;  // a newer search is under way
    if (!r.ok) throw new Error(j.error || r.statusText);
    list.replaceChildren(...j.results.map(result));
    msg.textContent = j.results.length + (j.results.length === 1 ? " result" : " results") +
                      " \u00b7 " + j.mode + " \u00b7 " + j.took_ms + " ms";
    list.dataset.state = "done";
  } catch (e) {
    if (seq !== latest) return;
    list.replaceChildren();
    msg.className = "error";
    msg.textContent = "Error: " + e.message;
    list.dataset.state = "error";
  }
}

$("search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = $("q").value.trim();
  if (q) search(q, mode());
});
for (const r of document.querySelectorAll('input[name="mode"]'))
  r.addEventListener("change", () => { const q = $("q").value.trim(); if (q) search(q, mode()); });

fetch("/health").then((r) => r.json()).then((h) => {
  $("status").textContent = h.documents + " documents \u00b7 " + h.model + (h.adapter ? " + " + h.adapter : "") +
                            " \u00b7 " + h.dims + " dimensions";
}).catch(() => { $("status").textContent = "the service does not answer"; });

const params = new URLSearchParams(location.search);
const m0 = params.get("mode");
if (m0) for (const r of document.querySelectorAll('input[name="mode"]')) r.checked = r.value === m0;
if (params.get("q")) { $("q").value = params.get("q"); search(params.get("q"), mode()); }
</script>
</body>
</html>
)PAGE";

}  // namespace

const std::string& search_page_html() {
  static const std::string page(kPage);
  return page;
}

}  // namespace peft::search
