"""The node's web UI (docs/web.md), end to end: a real `lucid devnet`, its pages in headless
Chromium (Debian's /usr/bin/chromium, driven by Playwright; no browser is downloaded): Model
Hub list and search, a model page (rendered markdown, files with CIDs, test vectors), "try it"
running an inference that shows its receipt, the explorer (block, tx, account, receipt,
nodes with their modes and enclave measurement), and the verify page (every check passing
for that receipt; failing for tampered outputs and for an unknown id). Screenshots go to
$LUCID_ARTIFACTS/web, else <build dir>/artifacts/web. Nothing leaves 127.0.0.1: the browser
aborts, and the test fails on, any request elsewhere."""
import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("lucid_e2e_fixtures", REPO / "tests" / "e2e" / "conftest.py")
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
Devnet, free_port, LUCID = _e2e.Devnet, _e2e.free_port, _e2e.LUCID

CHROMIUM = os.environ.get("LUCID_CHROMIUM", "/usr/bin/chromium")
MODELS = REPO / "models" / "digits"


def artifacts_dir() -> Path:
    base = os.environ.get("LUCID_ARTIFACTS")
    # LUCID_BIN is <build dir>/src/cli/lucid.
    d = Path(base) / "web" if base else LUCID.resolve().parents[2] / "artifacts" / "web"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture()
def devnet(tmp_path):
    if not LUCID.exists():
        pytest.skip(f"{LUCID} is not built")
    net = Devnet(tmp_path / "home", free_port())
    net.start()
    yield net
    net.stop()


def test_ui_http_routes(devnet):
    """Static files, caching, content types and the /ui/api errors (no browser needed)."""
    url = devnet.url
    r = requests.get(url + "/", timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "/ui/app.js" in r.text and "://" not in r.text  # nothing fetched from elsewhere
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    for path, ctype in (("/ui/app.js", "text/javascript"), ("/ui/app.css", "text/css"),
                        ("/ui/markdown.js", "text/javascript"), ("/ui/favicon.svg", "image/svg+xml")):
        r = requests.get(url + path, timeout=30)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(ctype), path
        assert r.headers["Cache-Control"] == "no-cache" and r.headers["ETag"]
        again = requests.get(url + path, headers={"If-None-Match": r.headers["ETag"]}, timeout=30)
        assert again.status_code == 304 and again.content == b""
        assert (REPO / "web" / path[len("/ui/"):]).read_bytes() == r.content  # the files as compiled in
    assert requests.get(url + "/ui/nosuch.js", timeout=30).status_code == 404
    # The JSON API is untouched by the UI routes.
    assert requests.get(url + "/status", timeout=30).json()["dev_mode"] is True
    assert requests.get(url + "/hub/repos", timeout=30).headers["Content-Type"] == "application/json"
    # Clear 4xx JSON errors.
    for path, code, status in (("/ui/api/verify/xyz", "INVALID_ARGUMENT", 400), ("/ui/api/verify/" + "ab" * 32, "NOT_FOUND", 404),
                               ("/ui/api/txs/" + "cd" * 32 + "?height=1", "NOT_FOUND", 404),
                               ("/ui/api/blocks?limit=x", "INVALID_ARGUMENT", 400), ("/ui/api/nothing", "NOT_FOUND", 404)):
        r = requests.get(url + path, timeout=30)
        assert r.status_code == status and r.json()["error"]["code"] == code, (path, r.text)
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    body = {"model": "digits-mlp@1.0", "inputs": vectors[0]["inputs"]}
    assert requests.post(url + "/ui/api/infer", json=body, timeout=30).status_code == 403  # no API key
    r = requests.post(url + "/ui/api/infer", json=body, headers={"Authorization": "Bearer wrong"}, timeout=30)
    assert r.status_code == 403 and "unknown API key" in r.json()["error"]["message"]
    r = requests.post(url + "/ui/api/infer", json=dict(body, model="nosuch@1.0"),
                      headers={"Authorization": "Bearer lucid-dev-key"}, timeout=30)
    assert r.status_code == 404
    blocks = requests.get(url + "/ui/api/blocks?limit=5", timeout=30).json()
    assert len(blocks["blocks"]) == 5 and blocks["blocks"][0]["height"] > blocks["blocks"][1]["height"]


def test_web_ui_in_chromium(devnet):
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (requirements-dev.txt; scripts/setup)")
    if not (Path(CHROMIUM).exists() and shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package 'chromium'; scripts/setup)")
    shots = artifacts_dir()
    url = devnet.url
    models = {m["ref"].split("@")[0]: m["manifest_cid"] for m in devnet.info["demo_models"]}
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    want_class = max(range(10), key=lambda i: vectors[0]["outputs"]["probs"]["data"][i])
    elsewhere, console_errors = [], []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                          # Nothing but loopback: other hosts go to a dead proxy
                                          # and do not resolve; no background fetches.
                                          "--proxy-server=http://127.0.0.1:9",
                                          "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                                          "--disable-background-networking", "--disable-component-update",
                                          "--disable-sync", "--no-first-run", "--disable-default-apps"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)

        def only_local(route):
            if route.request.url.startswith(url + "/"):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()
        page.route("**/*", only_local)
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

        def shot(name):
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        # --- Model Hub: list, search ---
        page.goto(url + "/")
        expect(page.locator(".model-card")).to_have_count(len(models))
        for name in models:
            expect(page.locator(f'.model-card[data-model="{name}"]')).to_be_visible()
        expect(page.locator("#chain-status")).to_contain_text("dev mode")
        shot("01-hub")
        page.fill("#hub-search", "cnn")
        page.click("#hub-search-button")
        expect(page.locator(".model-card")).to_have_count(1)
        expect(page.locator('.model-card[data-model="digits-cnn"]')).to_be_visible()
        shot("02-hub-search")
        page.fill("#hub-search", "no-such-model-zzz")
        page.click("#hub-search-button")
        expect(page.locator("#model-list")).to_contain_text("No model matches")

        # --- model page: markdown, files with CIDs, test vectors ---
        page.goto(url + "/#/")
        page.click('.model-card[data-model="digits-mlp"] h2 a')
        md = page.locator("#model-description")
        expect(md.locator("h1")).to_have_text("digits-mlp")
        expect(md.locator("h2").first).to_have_text("Architecture")
        expect(md.locator("table tbody tr")).to_have_count(4)
        expect(md.locator("strong")).to_contain_text("97.11%")
        expect(md.locator("pre code")).to_contain_text("train.py")
        assert "##" not in md.inner_text() and "**" not in md.inner_text()
        manifest = requests.get(f"{url}/hub/manifests/{models['digits-mlp']}", timeout=30).json()
        files = page.locator("#files tbody tr")
        expect(files).to_have_count(len(manifest["files"]))
        for f in manifest["files"]:
            row = page.locator("#files tbody tr", has_text=f["path"])
            expect(row).to_contain_text(f["cid"])
            expect(row).to_contain_text(f"{f['size']} bytes")
        expect(page.locator("#versions")).to_contain_text(models["digits-mlp"])
        expect(page.locator("#test-vectors")).to_contain_text(manifest["test_vectors"]["cid"])
        # Replication as the chain records it: this devnet runs without IPFS, so no hub pins it.
        expect(page.locator("#replication-summary")).to_have_text("pinned by 0 of R=1 hub(s) — under-replicated")
        expect(page.locator("#replication tbody tr")).to_have_count(0)
        shot("03-model")

        # --- try it: an inference from the form, its receipt shown ---
        expect(page.locator("#try-key")).to_have_value("lucid-dev-key")
        page.click("#try-run")
        receipt_el = page.locator("#receipt-id")
        expect(receipt_el).to_have_text(lambda_re_hex64(), timeout=60_000)
        receipt_id = receipt_el.inner_text().strip()
        expect(page.locator("#receipt")).to_contain_text(f"argmax {want_class}")
        on_chain = requests.get(f"{url}/chain/receipts/{receipt_id}", timeout=30)
        assert on_chain.status_code == 200, on_chain.text
        height = on_chain.json()["height"]
        requester = on_chain.json()["request"]["requester"]
        shot("04-try-it-receipt")

        # --- explorer: block list, block, tx, account, receipt, nodes ---
        page.click("header nav a[data-nav=explorer]")
        expect(page.locator("#blocks tbody tr").first).to_be_visible()
        expect(page.locator("#blocks")).to_contain_text(str(height))
        shot("05-explorer")
        page.click(f'#blocks a[href="#/block/{height}"]')
        expect(page.locator("h1")).to_have_text(f"Block {height}")
        tx_row = page.locator("#block-txs tbody tr", has_text="submit_result")
        expect(tx_row).to_contain_text("OK")
        shot("06-block")
        tx_row.locator('a[href^="#/tx/"]').click()
        expect(page.locator("h1")).to_have_text("Transaction")
        expect(page.locator("main")).to_contain_text("submit_result")
        shot("07-tx")
        page.locator('main a[href^="#/receipt/"]').first.click()
        expect(page.locator("h1")).to_have_text("Receipt")
        expect(page.locator("main")).to_contain_text(receipt_id)
        expect(page.locator("main")).to_contain_text(manifest_cid_of(models, "digits-mlp"))
        shot("08-receipt")
        page.goto(f"{url}/#/account/{requester[2:] if requester.startswith('0x') else requester}")
        expect(page.locator("h1")).to_have_text("Account")
        balance = requests.get(f"{url}/chain/accounts/{requester}", timeout=30).json()["balance"]
        expect(page.locator("main")).to_contain_text(str(balance))
        shot("09-account")
        page.click("header nav a[data-nav=nodes]")
        node = devnet.info["node"]
        node_row = page.locator("#nodes tbody tr", has_text=node[2:12])
        expect(node_row).to_contain_text("vanilla")
        if devnet.info.get("enclave_pcr0"):
            expect(node_row).to_contain_text(devnet.info["enclave_pcr0"])
            expect(node_row).to_contain_text("measurement allowed")
        shot("10-nodes")

        # --- verify: every check passes for that receipt (outputs and inputs from try-it) ---
        page.goto(f"{url}/#/receipt/{receipt_id}")
        page.click("a.verify-link")
        expect(page.locator("#verdict")).to_have_text("VALID", timeout=30_000)
        checks = page.locator("#checks [data-check]")
        names = {checks.nth(i).get_attribute("data-check"): checks.nth(i).inner_text() for i in range(checks.count())}
        for name in ("bundle_decodes", "receipt_id", "request_signature", "receipt_matches_request", "node_registered",
                     "evidence", "inputs_hash", "outputs_hash", "inclusion", "header_signer", "chain_agrees"):
            assert names.get(name) == "ok", (name, names)
        assert all(v == "ok" for v in names.values()), names
        shot("11-verify-valid")

        # tampered outputs: outputs_hash fails
        bundle = json.loads(page.locator("#verify-bundle").input_value())
        bundle["outputs"]["probs"]["data"][0] += 0.25
        page.fill("#verify-bundle", json.dumps(bundle))
        page.click("#verify-run")
        expect(page.locator("#verdict")).to_have_text("INVALID")
        expect(page.locator('#checks [data-check="outputs_hash"]')).to_have_text("FAIL")
        expect(page.locator('#checks [data-check="request_signature"]')).to_have_text("ok")
        shot("12-verify-tampered-outputs")

        # tampered receipt bytes: the receipt no longer hashes to the id, the chain disagrees
        raw = bytearray.fromhex(bundle["receipt"])
        raw[-9] ^= 0x01
        bundle["receipt"] = raw.hex()
        page.fill("#verify-bundle", json.dumps(bundle))
        page.click("#verify-run")
        expect(page.locator("#verdict")).to_have_text("INVALID")
        expect(page.locator('#checks [data-check="receipt_id"]')).to_have_text("FAIL")
        shot("13-verify-tampered-receipt")

        # an unknown (one hex digit changed) id: refused with the API's 404
        bad = receipt_id[:-1] + ("0" if receipt_id[-1] != "0" else "1")
        page.goto(f"{url}/#/verify/{bad}")
        expect(page.locator("#verdict")).to_have_text("INVALID")
        expect(page.locator("#verify-result .error")).to_contain_text("NOT_FOUND")
        shot("14-verify-unknown")

        # --- a hostile description renders as text: no element, handler or script URL from it ---
        probe = devnet.home.parent / "probe.md"
        probe.write_text("# Probe <script>window.__xss = 1</script>\n\n"
                         '<img src=x onerror="window.__xss = 2"> [click](javascript:window.__xss=3) '
                         '[ok](https://example.invalid/x) **bold <b>tag</b>**\n\n'
                         "| a | b |\n|---|---|\n| <i>x</i> | `<svg onload=1>` |\n")
        _e2e.Cli(devnet).json("hub", "create", "xss-probe", "--description", probe, "--task", "test",
                              "--license", "MIT", "--tags", "probe", key="dev0")
        page.goto(f"{url}/#/model/xss-probe")
        md = page.locator("#model-description")
        expect(md.locator("h1")).to_contain_text("Probe <script>window.__xss = 1</script>")
        expect(md).to_contain_text('<img src=x onerror="window.__xss = 2">')
        assert md.locator("script, img, b, i, svg, [onerror], [onload]").count() == 0
        assert md.locator('a[href^="javascript"]').count() == 0
        expect(md).to_contain_text("[click](javascript:window.__xss=3)")
        expect(md.locator('a[href="https://example.invalid/x"]')).to_have_attribute("rel", "noopener noreferrer")
        expect(md.locator("strong")).to_have_text("bold <b>tag</b>")
        expect(md.locator("table code")).to_have_text("<svg onload=1>")
        assert page.evaluate("window.__xss") is None
        shot("15-markdown-escaped")

        browser.close()

    assert not elsewhere, f"the UI requested non-local URLs: {elsewhere}"
    # Only the expected failed lookups (404s the pages handle) may log errors.
    unexpected = [e for e in console_errors if "404" not in e and "Failed to load resource" not in e]
    assert not unexpected, unexpected
    saved = sorted(p.name for p in shots.glob("*.png"))
    assert len(saved) >= 15, saved
    print(f"screenshots: {shots} ({len(saved)} files)")


def lambda_re_hex64():
    import re
    return re.compile(r"^[0-9a-f]{64}$")


def manifest_cid_of(models, name):
    return models[name]
