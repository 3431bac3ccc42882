// Lucid's web UI (docs/web.md): Model Hub, explorer, verify. Plain JS over the node's JSON
// API; hash routes (#/model/NAME, #/block/H, ...). Text goes in through textContent; only
// the markdown renderer (markdown.js, escapes first) produces HTML.
"use strict";

const app = () => document.getElementById("app");
let STATUS = null;  // GET /status, refreshed on each route

// el("div", {class: "x", onclick: f}, child, "text", ...)
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
const link = (href, text, cls) => el("a", { href, class: cls }, text);
const mono = (t) => el("span", { class: "mono" }, t);
const strip0x = (h) => String(h || "").replace(/^0x/, "");
const short = (h, n = 10) => { const s = strip0x(h); return s.length > 2 * n ? s.slice(0, n) + "…" + s.slice(-6) : s; };
const fmtBytes = (n) => n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KiB" : (n / 1048576).toFixed(2) + " MiB";
const fmtTime = (ms) => new Date(Number(ms)).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");

class ApiError extends Error {
  constructor(status, body) {
    const msg = body && body.error ? (body.error.code ? body.error.code + ": " : "") + body.error.message : "HTTP " + status;
    super(msg);
    this.status = status;
    this.body = body;
  }
}

async function api(path, opts = {}) {
  const init = { method: opts.method || "GET", headers: Object.assign({}, opts.headers || {}) };
  if (opts.body !== undefined) {
    init.body = JSON.stringify(opts.body);
    init.headers["Content-Type"] = "application/json";
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = { error: { message: text.slice(0, 200) } }; }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

function errorBox(e) { return el("div", { class: "error", role: "alert" }, String(e.message || e)); }

function kv(pairs) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.append(el("dt", {}, k), el("dd", {}, v));
  }
  return dl;
}

function table(headers, rows, attrs) {
  return el("table", attrs || {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c))))));
}

const addrLink = (a) => link("#/account/" + strip0x(a), mono(short(a)));
const receiptLink = (id) => link("#/receipt/" + strip0x(id), mono(short(id)));

// ---------------- Model Hub ----------------

async function pageHub(params) {
  const q = params.get("q") || "";
  const search = el("input", { type: "search", id: "hub-search", placeholder: "Search models by name, task, tag…", value: q, "aria-label": "search models" });
  const form = el("form", { class: "row", onsubmit: (ev) => { ev.preventDefault(); location.hash = "#/?q=" + encodeURIComponent(search.value.trim()); } },
    search, el("button", { type: "submit", id: "hub-search-button" }, "Search"));
  const list = el("div", { class: "cards", id: "model-list" });
  app().replaceChildren(el("h1", {}, "Model Hub"), form, list);
  const data = await api("/hub/repos" + (q ? "?q=" + encodeURIComponent(q) : ""));
  if (!data.repos.length) { list.replaceWith(el("p", { class: "muted", id: "model-list" }, q ? "No model matches “" + q + "”." : "No models published yet.")); return; }
  for (const r of data.repos) {
    const latest = r.versions.length ? r.versions[r.versions.length - 1].version : "—";
    list.append(el("div", { class: "card model-card", "data-model": r.name },
      el("h2", {}, link("#/model/" + encodeURIComponent(r.name), r.name)),
      el("div", { class: "muted" }, (r.task || "no task") + " · " + (r.license || "no license") + " · " + r.versions.length + " version(s), latest " + latest),
      el("div", {}, (r.tags || []).map((t) => el("span", { class: "tag" }, t)))));
  }
}

async function pageModel(name, version) {
  const repo = await api("/hub/repos/" + encodeURIComponent(name));
  const versions = repo.versions || [];
  const chosen = versions.find((v) => v.version === version) || versions[versions.length - 1];
  const root = el("div", {});
  app().replaceChildren(root);
  root.append(el("h1", {}, repo.name),
    kv([["task", repo.task || "—"], ["license", repo.license || "—"],
      ["tags", el("span", {}, (repo.tags || []).map((t) => el("span", { class: "tag" }, t)))],
      ["owner", addrLink(repo.owner)], ["created at block", link("#/block/" + repo.created_height, String(repo.created_height))]]));
  const md = el("div", { class: "markdown", id: "model-description" });
  md.innerHTML = Markdown.render(repo.description || "*No description.*");
  root.append(el("h2", {}, "Description"), md);
  root.append(el("h2", {}, "Versions"), table(["version", "manifest CID", "price", "published at block"],
    versions.map((v) => [link("#/model/" + encodeURIComponent(name) + "/" + v.version, v.version + (v === chosen ? " (shown)" : "")),
      mono(v.manifest), String(v.price), link("#/block/" + v.height, String(v.height))]), { id: "versions" }));
  if (!chosen) return;
  const manifest = await api("/hub/manifests/" + chosen.manifest);
  root.append(el("h2", {}, "Files of " + name + "@" + chosen.version),
    kv([["format", manifest.format], ["model file", manifest.model_file], ["engine", manifest.engine],
      ["quantization", manifest.quantization || "none"], ["zkml", manifest.zkml ? "yes (commitment " + short(manifest.zkml.model_commitment) + ")" : "no"]]),
    table(["path", "CID", "size"], (manifest.files || []).map((f) => [f.path, link("/hub/files/" + f.cid, mono(f.cid)), fmtBytes(f.size) + " (" + f.size + " bytes)"]), { id: "files" }));
  // Where the version lives (docs/ipfs.md "Replication"): the hubs that announced it on chain.
  const repl = await api("/chain/replication/" + chosen.manifest);
  root.append(el("h2", {}, "Replication"),
    el("p", { id: "replication-summary", class: repl.under_replicated ? "fail" : "ok" },
      "pinned by " + repl.replicas + " of R=" + repl.min_replicas + " hub(s)" + (repl.under_replicated ? " — under-replicated" : "")),
    table(["hub", "IPFS peer", "endpoint", "since block"], (repl.pinned_by || []).map((h) =>
      [mono(h.address), mono(h.ipfs_peer), h.endpoint || "—", link("#/block/" + h.pinned_height, String(h.pinned_height))]), { id: "replication" }));
  if (manifest.inputs || manifest.outputs) {
    const spec = (t) => [t.name, t.dtype, JSON.stringify(t.shape)];
    root.append(el("h2", {}, "Signature"), table(["", "name", "dtype", "shape"],
      [...(manifest.inputs || []).map((t) => ["input", ...spec(t)]), ...(manifest.outputs || []).map((t) => ["output", ...spec(t)])]));
  }
  let vectors = null;
  if (manifest.test_vectors && manifest.test_vectors.cid) {
    const box = el("div", { id: "test-vectors" });
    root.append(el("h2", {}, "Test vectors"), box);
    try {
      vectors = await api("/hub/files/" + manifest.test_vectors.cid);
      box.append(kv([["file", link("/hub/files/" + manifest.test_vectors.cid, mono(manifest.test_vectors.cid))],
        ["vectors", String(vectors.length)],
        ["match", manifest.test_vectors.match === "tolerance" ? "tolerance (abs " + manifest.test_vectors.abs_tolerance + ", rel " + manifest.test_vectors.rel_tolerance + ")" : manifest.test_vectors.match],
        ["output hashes", el("div", {}, (manifest.test_vectors.output_hashes || []).map((h) => el("div", { class: "mono" }, h)))]]),
        table(["#", "inputs", "expected outputs"], vectors.slice(0, 5).map((v, i) => [String(i), summarize(v.inputs), summarize(v.outputs)])));
    } catch (e) { box.append(errorBox(e)); }
  }
  root.append(tryIt(name + "@" + chosen.version, manifest, vectors));
}

function summarize(tensors) {
  return el("span", {}, Object.entries(tensors || {}).map(([n, t]) => {
    const data = t.data || [];
    const head = data.slice(0, 4).map((x) => typeof x === "number" ? Number(x.toFixed(4)) : x).join(", ");
    return el("div", { class: "mono" }, n + ": " + t.dtype + JSON.stringify(t.shape) + " [" + head + (data.length > 4 ? ", …" : "") + "]");
  }));
}

function tryIt(ref, manifest, vectors) {
  const box = el("div", { class: "card", id: "try-it" });
  if (manifest.format === "gguf") {
    box.append(el("h2", {}, "Try it"), el("p", { class: "muted" }, "LLM versions are served through the OpenAI-compatible routes (/v1/chat/completions)."));
    return box;
  }
  const inputs = el("textarea", { id: "try-inputs", "aria-label": "inputs JSON", spellcheck: "false" });
  inputs.value = tensorsText(vectors && vectors.length ? vectors[0].inputs : {});
  const key = el("input", { type: "text", id: "try-key", class: "wide", placeholder: "API key", value: STATUS && STATUS.dev_mode ? "lucid-dev-key" : "" });
  const mode = el("select", { id: "try-mode" }, ["vanilla", "zkml", "tee"].map((m) => el("option", { value: m }, m)));
  const pick = el("select", { id: "try-vector" }, (vectors || []).map((_, i) => el("option", { value: i }, "test vector " + i)));
  pick.addEventListener("change", () => { inputs.value = tensorsText(vectors[Number(pick.value)].inputs); });
  const run = el("button", { type: "submit", id: "try-run" }, "Run inference");
  const result = el("div", { id: "try-result" });
  const form = el("form", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      result.replaceChildren(el("p", { class: "muted" }, "Running on the node and waiting for the receipt to be included…"));
      run.disabled = true;
      try {
        let body;
        try { body = JSON.parse(inputs.value); } catch (e) { throw new Error("inputs are not JSON: " + e.message); }
        const r = await api("/ui/api/infer", { method: "POST", headers: { Authorization: "Bearer " + key.value.trim() },
          body: { model: ref, inputs: body, mode: mode.value, wait_ms: 15000 } });
        sessionStorage.setItem("lucid.bundle." + strip0x(r.receipt_id), JSON.stringify(r.bundle));
        result.replaceChildren(renderInference(r));
      } catch (e) {
        result.replaceChildren(errorBox(e));
      } finally {
        run.disabled = false;
      }
    },
  }, el("div", { class: "row" }, "Model ", mono(ref), pick),
    inputs, el("div", { class: "row" }, el("label", {}, "API key ", key), el("label", {}, "mode ", mode), run));
  box.append(el("h2", {}, "Try it"),
    el("p", { class: "muted" }, "The node's gateway signs the request for the requester its API key maps to (lucid devnet: lucid-dev-key → dev1), runs it and settles the receipt on chain."),
    form, result);
  return box;
}

// Named tensors as JSON, one tensor per line.
function tensorsText(tensors) {
  const lines = Object.entries(tensors).map(([n, t]) => "  " + JSON.stringify(n) + ": " + JSON.stringify(t));
  return "{\n" + lines.join(",\n") + "\n}";
}

function renderInference(r) {
  const outs = el("div", {});
  for (const [name, t] of Object.entries(r.outputs || {})) {
    const data = t.data || [];
    let best = 0;
    data.forEach((x, i) => { if (x > data[best]) best = i; });
    outs.append(el("div", { class: "mono" }, name + ": " + t.dtype + JSON.stringify(t.shape) + (data.length ? " argmax " + best : "")));
    if (data.length && data.length <= 32 && typeof data[0] === "number") {
      outs.append(table(["index", "value", ""], data.map((x, i) => {
        const bar = el("span", { class: "bar" });
        bar.style.width = Math.max(1, Math.round(Math.abs(x) * 200)) + "px";
        return [String(i), x.toFixed(5), bar];
      })));
    }
  }
  const rc = r.receipt || {};
  return el("div", { class: "card", id: "receipt" },
    el("h2", {}, "Receipt"),
    kv([["receipt id", el("span", { id: "receipt-id", class: "mono" }, strip0x(r.receipt_id))],
      ["verify", link("#/verify/" + strip0x(r.receipt_id), "verify this receipt", "verify-link")],
      ["on chain", r.height ? link("#/receipt/" + strip0x(r.receipt_id), "block " + r.height) : "submitted, not yet included"],
      ["tx", link("#/tx/" + strip0x(r.tx_hash) + (r.height ? "?height=" + r.height : ""), mono(short(r.tx_hash)))],
      ["node", addrLink(rc.node)], ["requester", addrLink(r.requester)], ["mode", rc.mode], ["engine", rc.engine],
      ["fee", String(r.fee)], ["output hash", mono(rc.output_hash)], ["status", r.status || (r.submitted && r.submitted.deliver ? r.submitted.deliver.code_name : r.submitted.check.code_name)]]),
    el("h2", {}, "Outputs"), outs);
}

// ---------------- Explorer ----------------

async function pageExplorer(params) {
  const nonempty = params.get("all") !== "1";
  const before = params.get("before");
  const st = await api("/status");
  const q = new URLSearchParams({ limit: "20" });
  if (nonempty) q.set("nonempty", "1");
  if (before) q.set("before", before);
  const data = await api("/ui/api/blocks?" + q);
  const lookup = el("input", { type: "search", id: "explorer-search", class: "wide", placeholder: "block height, tx hash, receipt id or account address" });
  const form = el("form", { class: "row", onsubmit: (ev) => { ev.preventDefault(); location.hash = routeFor(lookup.value.trim()); } },
    lookup, el("button", { type: "submit" }, "Go"));
  const more = data.next_before > 1 ? link("#/explorer?" + new URLSearchParams(Object.assign({ before: String(data.next_before) }, nonempty ? {} : { all: "1" })), "older →") : "";
  app().replaceChildren(el("h1", {}, "Explorer"), form,
    kv([["chain", st.chain_id], ["height", String(st.height)], ["last block", fmtTime(st.last_time_ms)], ["app hash", mono(st.app_hash)], ["dev mode", String(st.dev_mode)]]),
    el("h2", {}, nonempty ? "Recent blocks with transactions" : "Recent blocks"),
    el("div", { class: "row" }, link(nonempty ? "#/explorer?all=1" : "#/explorer", nonempty ? "show empty blocks too" : "only blocks with transactions"), more),
    table(["height", "hash", "time", "txs", "proposer"], data.blocks.map((b) => [link("#/block/" + b.height, String(b.height)), mono(short(b.hash)), fmtTime(b.time_ms), String(b.tx_count), addrLink(b.proposer)]), { id: "blocks" }),
    el("p", { class: "muted" }, "scanned " + data.scanned + " block(s)"));
}

function routeFor(s) {
  const t = strip0x(s);
  if (/^\d+$/.test(t)) return "#/block/" + t;
  if (/^[0-9a-fA-F]{40}$/.test(t)) return "#/account/" + t;
  if (/^[0-9a-fA-F]{64}$/.test(t)) return "#/lookup/" + t;
  return "#/explorer";
}

async function pageLookup(h) {
  // A 64-hex id: a receipt, else a tx.
  try { await api("/chain/receipts/" + h); location.replace("#/receipt/" + h); return; } catch (_) { /* not a receipt */ }
  location.replace("#/tx/" + h);
}

async function pageBlock(height) {
  const b = await api("/chain/blocks/" + encodeURIComponent(height));
  const h = b.header;
  app().replaceChildren(el("h1", {}, "Block " + h.height),
    el("div", { class: "row" }, h.height > 1 ? link("#/block/" + (h.height - 1), "← " + (h.height - 1)) : "", link("#/block/" + (h.height + 1), (h.height + 1) + " →")),
    kv([["hash", mono(h.hash)], ["time", fmtTime(h.time_ms)], ["chain", h.chain_id], ["previous", h.height > 1 ? link("#/block/" + (h.height - 1), mono(h.prev_hash)) : mono(h.prev_hash)],
      ["txs root", mono(h.txs_root)], ["receipts root", mono(h.receipts_root)], ["app hash", mono(h.app_hash)], ["proposer", addrLink(h.proposer)], ["signature", mono(short(h.signature, 16))]]),
    el("h2", {}, "Transactions (" + b.txs.length + ")"),
    table(["#", "hash", "type", "from", "result", "receipt"], b.txs.map((t, i) => [String(i),
      link("#/tx/" + strip0x(t.hash) + "?height=" + h.height, mono(short(t.hash))), t.type || "?", t.from ? addrLink(t.from) : "",
      t.result ? el("span", { class: t.result.code === 0 ? "ok" : "fail" }, t.result.code_name) : "",
      t.result && t.result.receipt_id ? receiptLink(t.result.receipt_id) : ""]), { id: "block-txs" }));
}

async function pageTx(hash, params) {
  const t = await api("/ui/api/txs/" + encodeURIComponent(hash) + (params.get("height") ? "?height=" + encodeURIComponent(params.get("height")) : ""));
  const pairs = [["hash", mono(t.tx.hash)], ["block", link("#/block/" + t.height, String(t.height))], ["index", String(t.index)], ["type", t.tx.type], ["from", addrLink(t.tx.from)], ["nonce", String(t.tx.nonce)], ["max tx fee", String(t.tx.max_tx_fee)]];
  if (t.result) {
    pairs.push(["result", el("span", { class: t.result.code === 0 ? "ok" : "fail" }, t.result.code_name + (t.result.log ? " — " + t.result.log : ""))]);
    if (t.result.receipt_id) pairs.push(["receipt", receiptLink(t.result.receipt_id)]);
  }
  const body = Object.assign({}, t.tx);
  app().replaceChildren(el("h1", {}, "Transaction"), kv(pairs), el("h2", {}, "Body"), el("pre", {}, el("code", {}, JSON.stringify(body, null, 2))),
    el("h2", {}, "Raw"), el("pre", { class: "mono" }, el("code", {}, t.raw)));
}

async function pageAccount(addr) {
  const a = await api("/chain/accounts/" + encodeURIComponent(addr));
  const rows = [["address", mono(a.address)], ["balance", String(a.balance)], ["tx nonce", String(a.nonce)], ["request nonce", String(a.request_nonce)]];
  const nodes = await api("/chain/nodes");
  const asNode = nodes.nodes.find((n) => strip0x(n.address).toLowerCase() === strip0x(a.address).toLowerCase());
  if (asNode) rows.push(["inference node", link("#/nodes", "modes " + asNode.modes.join(", ") + ", stake " + asNode.stake)]);
  app().replaceChildren(el("h1", {}, "Account"), kv(rows));
}

async function pageReceipt(id) {
  const r = await api("/chain/receipts/" + encodeURIComponent(id));
  const rc = r.receipt, rq = r.request;
  app().replaceChildren(el("h1", {}, "Receipt"),
    el("div", { class: "row" }, link("#/verify/" + strip0x(r.receipt_id), "Verify this receipt →", "verify-link")),
    kv([["receipt id", mono(r.receipt_id)], ["block", link("#/block/" + r.height, String(r.height))], ["index", String(r.index)],
      ["model", mono(rc.model)], ["mode", rc.mode], ["engine", rc.engine], ["node", addrLink(rc.node)], ["requester", addrLink(rq.requester)],
      ["input hash", mono(rc.input_hash)], ["output hash", mono(rc.output_hash)], ["node paid", String(r.node_paid)], ["publisher paid", String(r.publisher_paid)],
      ["request nonce", String(rq.nonce)], ["max fee", String(rq.max_fee)]]),
    el("h2", {}, "Inclusion proof"),
    kv([["leaf index", String(r.proof.leaf_index)], ["tree size", String(r.proof.tree_size)], ["path", el("div", {}, r.proof.path.map((p) => el("div", { class: "mono" }, p)))], ["receipts root", mono(r.header.receipts_root)]]));
}

async function pageNodes() {
  const data = await api("/chain/nodes");
  const rows = [];
  for (const n of data.nodes) {
    let enclave = "—";
    if (n.modes.includes("tee")) {
      try {
        const e = await api("/chain/enclaves/" + strip0x(n.address));
        enclave = el("div", {}, el("div", {}, "PCR0 ", mono(e.pcr0)), el("div", {}, "enclave key ", mono(short(e.enclave_address))),
          el("div", { class: e.pcr0_allowed ? "ok" : "fail" }, e.pcr0_allowed ? "measurement allowed" : "measurement NOT allowed"),
          el("div", { class: "muted" }, "expires " + fmtTime(e.expires_at_ms)));
      } catch (e) { enclave = el("span", { class: "fail" }, e.message); }
    }
    rows.push([addrLink(n.address), n.modes.join(", "), String(n.stake), mono(n.endpoint || ""), link("#/block/" + n.registered_height, String(n.registered_height)), enclave]);
  }
  app().replaceChildren(el("h1", {}, "Inference nodes"), table(["address", "modes", "stake", "endpoint", "registered", "enclave measurement"], rows, { id: "nodes" }));
}

// ---------------- Verify ----------------

async function pageVerify(id) {
  const input = el("input", { type: "text", id: "verify-id", class: "wide", placeholder: "receipt id (64 hex characters)", value: id || "" });
  const bundle = el("textarea", { id: "verify-bundle", placeholder: "optional: a result bundle (JSON with request, receipt, evidence, inputs, outputs) to check against the chain", spellcheck: "false" });
  const saved = id ? sessionStorage.getItem("lucid.bundle." + strip0x(id)) : null;
  if (saved) bundle.value = JSON.stringify(JSON.parse(saved), null, 1);
  const out = el("div", { id: "verify-result" });
  const button = el("button", { type: "submit", id: "verify-run" }, "Verify");
  const form = el("form", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      const rid = strip0x(input.value.trim());
      if (rid !== strip0x(id || "")) { history.replaceState(null, "", "#/verify/" + rid); }
      out.replaceChildren(el("p", { class: "muted" }, "Checking…"));
      button.disabled = true;
      try {
        let report;
        if (bundle.value.trim()) {
          let b;
          try { b = JSON.parse(bundle.value); } catch (e) { throw new Error("the bundle is not JSON: " + e.message); }
          report = await api("/ui/api/verify", { method: "POST", body: { receipt_id: rid, bundle: b } });
        } else {
          report = await api("/ui/api/verify/" + encodeURIComponent(rid));
        }
        out.replaceChildren(renderReport(report));
      } catch (e) {
        out.replaceChildren(el("div", { class: "verdict fail", id: "verdict" }, "INVALID"), errorBox(e));
      } finally {
        button.disabled = false;
      }
    },
  }, el("div", { class: "row" }, input, button), bundle);
  app().replaceChildren(el("h1", {}, "Verify a receipt"),
    el("p", { class: "muted" }, "Runs the checks of `lucid verify` (request signature, receipt fields, node registration, the mode's evidence, inclusion under a validator-signed header) against this node's chain state. For a check that trusts no node, run `lucid verify RECEIPT_ID --replay` yourself."),
    form, out);
  if (id) form.requestSubmit();
}

function renderReport(r) {
  return el("div", {},
    el("div", { class: "verdict " + (r.valid ? "ok" : "fail"), id: "verdict" }, r.valid ? "VALID" : "INVALID"),
    kv([["receipt", r.height ? receiptLink(r.receipt_id) : mono(r.receipt_id)], ["source", r.source]]),
    table(["check", "result", "detail"], r.checks.map((c) => [mono(c.name),
      el("span", { class: c.skipped ? "skip" : c.ok ? "ok" : "fail", "data-check": c.name }, c.skipped ? "SKIP" : c.ok ? "ok" : "FAIL"), c.detail]), { id: "checks" }));
}

// ---------------- Router ----------------

async function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const section = { model: "hub", explorer: "explorer", block: "explorer", tx: "explorer", account: "explorer", receipt: "explorer", lookup: "explorer", nodes: "nodes", verify: "verify" }[parts[0]] || "hub";
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.nav === section);
  try {
    STATUS = await api("/status");
    document.getElementById("chain-status").textContent = STATUS.chain_id + " · height " + STATUS.height + (STATUS.dev_mode ? " · dev mode" : "");
  } catch (_) { /* shown by the page's own call */ }
  try {
    switch (parts[0]) {
      case undefined: return await pageHub(params);
      case "model": return await pageModel(parts[1], parts[2]);
      case "explorer": return await pageExplorer(params);
      case "block": return await pageBlock(parts[1]);
      case "tx": return await pageTx(parts[1], params);
      case "account": return await pageAccount(parts[1]);
      case "receipt": return await pageReceipt(parts[1]);
      case "lookup": return await pageLookup(parts[1]);
      case "nodes": return await pageNodes();
      case "verify": return await pageVerify(parts[1]);
      default: app().replaceChildren(el("h1", {}, "Not found"), el("p", {}, "No page " + hash));
    }
  } catch (e) {
    app().replaceChildren(el("h1", {}, "Error"), errorBox(e));
  }
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", route);
