"""LLM answers end to end on a devnet (docs/llm.md "OpenAI-compatible API", issue 8): GGUF
versions published in the hub (token test vectors reproduced; corrupt and truncated files
refused with the reader's reason), the official `openai` Python client, unmodified, against
the node (models, chat, completions, streams, tools in OpenAI's format, seed reproducibility,
OpenAI-shaped errors), receipts settled and re-verified with `lucid verify --replay`,
`lucid chat`/`lucid infer --prompt`, 8 concurrent streams that all settle, and a server that
keeps serving after bad input. The model: a tiny random-weight llama written by
tests/llm/make_llama_gguf.py; SmolLM2-135M-Instruct too when tests/llm/fetch_smollm2.py
fetched it (skipped otherwise)."""
import json
import threading
from pathlib import Path

import openai
import pytest
import requests

from conftest import REPO, tiny_llm_devnet

KEY = "lucid-dev-key"
SMOLLM2 = REPO / ".cache" / "models" / "smollm2-135m-instruct-q4_1.gguf"


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    d = tiny_llm_devnet(tmp_path_factory.mktemp("llm"), extra_args=["--no-tee"])
    yield d
    d.stop()


def client(net, key=KEY):
    return openai.OpenAI(base_url=net.url + "/v1", api_key=key, max_retries=0, timeout=120)


def lucid_of(obj):
    extra = getattr(obj, "model_extra", None) or {}
    return extra.get("lucid") or getattr(obj, "lucid", None)


def verify_bundle(net, lucid, replay=True):
    path = net.tmp / f"{lucid['receipt_id']}.json"
    path.write_text(json.dumps(lucid))
    # Settled within a few blocks (the node submits at once).
    import time
    deadline = time.time() + 30
    while time.time() < deadline and net.get(f"/chain/receipts/{lucid['receipt_id']}").status_code != 200:
        time.sleep(0.1)
    args = ["verify", lucid["receipt_id"], "--bundle", path] + (["--replay"] if replay else [])
    return net.cli.run(*args, expect=None)


def test_models_and_chat_settles_and_replays(net):
    c = client(net)
    ids = [m.id for m in c.models.list().data]
    assert "tiny@1.0" in ids
    raw = c.chat.completions.with_raw_response.create(
        model="tiny@1.0", messages=[{"role": "user", "content": "hello"}], max_tokens=8, temperature=0)
    resp = raw.parse()
    assert resp.object == "chat.completion"
    assert resp.choices[0].finish_reason in ("stop", "length")
    assert resp.usage.completion_tokens == len(lucid_of(resp)["tokens"]) <= 8
    assert resp.usage.prompt_tokens > 0
    lucid = lucid_of(resp)
    assert raw.headers["x-lucid-receipt"] == lucid["receipt_id"]
    assert lucid["engine"] == "lucid-llm/1"
    p = verify_bundle(net, lucid)
    assert p.returncode == 0, p.stdout + p.stderr
    checks = {c["name"]: c for c in json.loads(p.stdout)["checks"]}
    assert checks["replay"]["ok"] and checks["inclusion"]["ok"] and checks["outputs_hash"]["ok"]


def test_tampered_answer_is_refused(net):
    resp = client(net).chat.completions.create(
        model="tiny@1.0", messages=[{"role": "user", "content": "tamper"}], max_tokens=4, temperature=0)
    lucid = lucid_of(resp)
    bad_tokens = dict(lucid, tokens=[lucid["tokens"][0] ^ 1] + lucid["tokens"][1:])
    p = verify_bundle(net, bad_tokens)
    assert p.returncode != 0
    h = lucid["llm_output"]
    bad_text = dict(lucid, llm_output=h[:-2] + ("01" if h[-2:] == "00" else "00"))
    assert verify_bundle(net, bad_text).returncode != 0
    r = lucid["receipt"]
    bad_receipt = dict(lucid, receipt=r[:-2] + ("01" if r[-2:] == "00" else "00"))
    assert verify_bundle(net, bad_receipt, replay=False).returncode != 0


def test_stream_equals_non_stream_and_carries_receipt(net):
    c = client(net)
    args = dict(model="tiny@1.0", messages=[{"role": "user", "content": "stream me"}], max_tokens=10,
                temperature=0.8, seed=11)
    whole = c.chat.completions.create(**args)
    chunks = list(c.chat.completions.create(stream=True, **args))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == whole.choices[0].finish_reason
    lucid = lucid_of(last)
    assert lucid["tokens"] == lucid_of(whole)["tokens"]
    assert lucid["input_hash"] == lucid_of(whole)["input_hash"]  # same request, same input hash
    assert verify_bundle(net, lucid).returncode == 0


def test_seed_reproducibility(net):
    c = client(net)
    def run(seed):
        r = c.chat.completions.create(model="tiny@1.0", messages=[{"role": "user", "content": "seeded"}],
                                      max_tokens=12, temperature=1.0, top_p=0.95, seed=seed)
        return lucid_of(r)["tokens"]
    a, b = run(7), run(7)
    assert a == b
    others = [run(s) for s in (8, 9, 10)]
    assert any(o != a for o in others)


def test_completions_route(net):
    c = client(net)
    r = c.completions.create(model="tiny@1.0", prompt="Once upon a time", max_tokens=6, temperature=0)
    assert r.object == "text_completion"
    assert r.usage.completion_tokens == len(lucid_of(r)["tokens"])
    text = "".join(ch.choices[0].text for ch in
                   c.completions.create(model="tiny@1.0", prompt="Once upon a time", max_tokens=6, temperature=0,
                                        stream=True) if ch.choices)
    assert text == r.choices[0].text


@pytest.fixture(scope="module")
def smollm2(net):
    if not SMOLLM2.exists():
        pytest.skip("SmolLM2 not fetched (tests/llm/fetch_smollm2.py)")
    net.cli.run("hub", "create", "smollm2")
    net.cli.run("hub", "upload", "smollm2", SMOLLM2, "--version", "1.0")
    return "smollm2@1.0"


def test_tool_round_trip_is_accepted(net, smollm2):
    # The tools' system prompt is longer than the tiny model's 256-token context: SmolLM2.
    c = client(net)
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                               "parameters": {"type": "object",
                                                              "properties": {"city": {"type": "string"}}}}}]
    messages = [{"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None,
                 "tool_calls": [{"id": "call_1", "type": "function",
                                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"}]
    r = c.chat.completions.create(model=smollm2, messages=messages, tools=tools, max_tokens=24, temperature=0)
    assert r.choices[0].finish_reason in ("stop", "length", "tool_calls")
    assert r.choices[0].message.content
    assert verify_bundle(net, lucid_of(r)).returncode == 0
    # The tools are part of the hashed request: without them the input hash differs.
    r2 = c.chat.completions.create(model=smollm2, messages=messages[:1], tools=tools, max_tokens=5, temperature=0)
    r3 = c.chat.completions.create(model=smollm2, messages=messages[:1], max_tokens=5, temperature=0)
    assert lucid_of(r2)["input_hash"] != lucid_of(r3)["input_hash"]


def test_errors_in_openai_shape_and_server_keeps_serving(net):
    c = client(net)
    good = dict(model="tiny@1.0", messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    with pytest.raises(openai.NotFoundError) as e:
        c.chat.completions.create(**dict(good, model="nope@1.0"))
    assert e.value.body["code"] == "model_not_found" and e.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(**dict(good, temperature=-1))
    assert e.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(**dict(good, top_p=0))
    assert e.value.body["param"] == "top_p"
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(**dict(good, tools=[{"type": "function", "function": {"name": "f",
                                                                                        "parameters": "nope"}}]))
    assert e.value.body["param"] == "tools[0].function.parameters"
    with pytest.raises(openai.BadRequestError) as e:  # context is 256 tokens
        c.chat.completions.create(**dict(good, messages=[{"role": "user", "content": "word " * 400}]))
    assert e.value.body["code"] == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(**dict(good, max_tokens=100000))
    assert e.value.body["code"] == "context_length_exceeded" and e.value.body["param"] == "max_tokens"
    with pytest.raises(openai.AuthenticationError):
        client(net, key="wrong").chat.completions.create(**good)
    # Malformed JSON and wrong types through plain HTTP: 400 with OpenAI's error object.
    for body in (b"{not json", b"[]", b'{"model": 5}', b'{"model":"tiny@1.0","messages":"x"}'):
        r = requests.post(net.url + "/v1/chat/completions", data=body,
                          headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
        assert r.status_code == 400, (body, r.text)
        err = r.json()["error"]
        assert set(err) == {"message", "type", "param", "code"}
    # Still serving.
    assert c.chat.completions.create(**good).choices[0].finish_reason in ("stop", "length")


def test_client_going_away_mid_stream(net):
    # A client that closes its stream after the first event: the node stops generating (no
    # receipt for an answer nobody got), and serves the next request.
    r = requests.post(net.url + "/v1/chat/completions", stream=True, timeout=60,
                      headers={"Authorization": "Bearer " + KEY},
                      json={"model": "tiny@1.0", "stream": True, "max_tokens": 200, "temperature": 0.5,
                            "messages": [{"role": "user", "content": "long"}]})
    assert r.status_code == 200
    next(r.iter_lines())
    r.close()
    ok = client(net).chat.completions.create(model="tiny@1.0", messages=[{"role": "user", "content": "x"}],
                                             max_tokens=2)
    assert ok.choices[0].finish_reason in ("stop", "length")
    assert net.get("/status").status_code == 200


def test_cli_chat_and_infer(net):
    p = net.cli.run("chat", "tiny@1.0", "--prompt", "hi", "--max-tokens", "4", json_output=False)
    assert "receipt" in p.stderr
    rid = p.stderr.split("receipt ")[1].split(",")[0].split()[0]
    import time
    time.sleep(1)
    v = net.cli.run("verify", rid, "--replay", expect=None)
    assert v.returncode == 0, v.stdout
    j = net.cli.json("infer", "tiny@1.0", "--prompt", "hi", "--max-tokens", "3")
    assert set(j["outputs"]) == {"llm_output", "tokens"}
    assert net.cli.run("verify", j["receipt_id"], "--replay", expect=None).returncode == 0


def test_hub_gguf_versions(net):
    cli = net.cli
    gguf = net.tmp / "tiny_llama.gguf"
    # Token test vectors: reproduced at publication, a wrong one refused with the first difference.
    r = client(net).chat.completions.create(model="tiny@1.0", messages=[{"role": "user", "content": "v"}],
                                           max_tokens=5, temperature=0)
    tokens = lucid_of(r)["tokens"]
    vectors = net.tmp / "vectors.json"
    vectors.write_text(json.dumps([{"messages": [{"role": "user", "content": "v"}], "max_tokens": 5,
                                    "temperature": 0, "expected_tokens": tokens},
                                   {"prompt": "abc", "max_tokens": 3, "temperature": 0.7, "seed": 3,
                                    "expected_tokens": None}]))
    # The second vector's tokens: ask the completion route with the same request.
    r2 = client(net).completions.create(model="tiny@1.0", prompt="abc", max_tokens=3, temperature=0.7, seed=3)
    v = json.loads(vectors.read_text())
    v[1]["expected_tokens"] = lucid_of(r2)["tokens"]
    vectors.write_text(json.dumps(v))
    out = cli.json("hub", "upload", "tiny", gguf, "--version", "1.1", "--test-vectors", vectors)
    assert out["manifest"]["format"] == "gguf"
    assert out["manifest"]["test_vectors"]["count"] == 2
    v[0]["expected_tokens"] = tokens[:-1] + [tokens[-1] ^ 1]
    vectors.write_text(json.dumps(v))
    p = cli.run("hub", "upload", "tiny", gguf, "--version", "1.2", "--test-vectors", vectors, expect=None)
    assert p.returncode != 0 and f"first difference at token {len(tokens) - 1}" in p.stdout + p.stderr
    # Corrupt and truncated files: the GGUF reader's reason.
    data = gguf.read_bytes()
    trunc = net.tmp / "trunc.gguf"
    trunc.write_bytes(data[: len(data) // 2])
    p = cli.run("hub", "upload", "tiny", trunc, "--version", "1.3", expect=None)
    assert p.returncode != 0 and "gguf:" in (p.stdout + p.stderr) and "trunc.gguf" in (p.stdout + p.stderr)
    bad = net.tmp / "bad.gguf"
    bad.write_bytes(b"GGUX" + data[4:])
    p = cli.run("hub", "upload", "tiny", bad, "--version", "1.3", expect=None)
    assert p.returncode != 0 and "magic" in (p.stdout + p.stderr)
    # Still serving the published versions.
    assert client(net).chat.completions.create(model="tiny@1.1", messages=[{"role": "user", "content": "v"}],
                                               max_tokens=5, temperature=0).model_extra["lucid"]["tokens"] == tokens


def test_eight_concurrent_streams_all_settle(net):
    c = client(net)
    results, errors = [None] * 8, []

    def one(i):
        try:
            chunks = list(c.chat.completions.create(model="tiny@1.0", stream=True, max_tokens=16, temperature=0.9,
                                                    seed=i, messages=[{"role": "user", "content": f"client {i}"}]))
            results[i] = lucid_of(chunks[-1])
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    # The gateway signs in nonce order at submission, so every receipt settles.
    nonces = sorted(r["request_nonce"] for r in results)
    assert len(set(nonces)) == 8
    for r in results:
        assert verify_bundle(net, r, replay=False).returncode == 0


def test_smollm2_chat_stream_and_replay(net, smollm2):
    c = client(net)
    r = c.chat.completions.create(model="smollm2@1.0", max_tokens=24, temperature=0,
                                  messages=[{"role": "user", "content": "What is the capital of France? Answer in one word."}])
    assert "Paris" in r.choices[0].message.content
    assert r.choices[0].finish_reason == "stop"
    chunks = list(c.chat.completions.create(model="smollm2@1.0", max_tokens=24, temperature=0, stream=True,
                                            messages=[{"role": "user", "content": "What is the capital of France? Answer in one word."}]))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == r.choices[0].message.content
    assert verify_bundle(net, lucid_of(r)).returncode == 0
    # A stop string: the text ends before it, finish "stop", streamed the same, replays.
    text = r.choices[0].message.content
    cut = text.index("Paris")
    args = dict(model="smollm2@1.0", max_tokens=24, temperature=0, stop=["Paris"],
                messages=[{"role": "user", "content": "What is the capital of France? Answer in one word."}])
    s = c.chat.completions.create(**args)
    assert s.choices[0].message.content == text[:cut]
    assert s.choices[0].finish_reason == "stop"
    streamed = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(stream=True, **args)
                       if ch.choices)
    assert streamed == text[:cut]
    assert verify_bundle(net, lucid_of(s)).returncode == 0


def test_smollm2_seed_reproducibility(net, smollm2):
    c = client(net)
    args = dict(model=smollm2, max_tokens=24, temperature=0.9, top_p=0.95, extra_body={"top_k": 40},
                messages=[{"role": "user", "content": "Tell me something about the sea."}])
    a = lucid_of(c.chat.completions.create(seed=5, **args))
    b = lucid_of(c.chat.completions.create(seed=5, **args))
    d = lucid_of(c.chat.completions.create(seed=6, **args))
    assert a["tokens"] == b["tokens"] and a["output_hash"] == b["output_hash"]
    assert d["tokens"] != a["tokens"]
