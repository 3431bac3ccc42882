#!/usr/bin/env python3
"""Golden token ids for Lucid's tokenizer, made by llama.cpp (llama-cpp-python, pinned in
requirements-dev.txt) from SmolLM2-135M-Instruct's GGUF (tests/llm/fetch_smollm2.py), and
chat prompts rendered by Jinja2 from the GGUF's own tokenizer.chat_template.
Writes tests/data/llm/smollm2_tokens.json, and tiny vocabularies written with the gguf
package (tiny_spm.gguf: SentencePiece with byte fallback; tiny_{qwen2,llama3,gpt2}.gguf: the
first 3000 SmolLM2 merges under other pre-tokenizers) with their ids in tiny_tokens.json
(see tests/data/llm/PROVENANCE.md).
Run: .venv/bin/python tests/llm/make_tokenizer_goldens.py"""
import json
import subprocess
import sys
from pathlib import Path

import random

import gguf
import jinja2.sandbox
import llama_cpp

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "llm"
OUT = DATA / "smollm2_tokens.json"

TEXTS = [
    ("ascii", "Hello, world! This is a simple sentence."),
    ("contractions", "I'm sure you'll see they've done it; it's what we'd DO'S 'tis"),
    ("accents", "Café naïve résumé — Ångström, façade, jalapeño, Übermaß"),
    ("combining", "e\u0301 cafe\u0301 n\u0303 a\u030a"),
    ("cjk", "你好，世界！日本語のテキストです。한국어 문장도 있습니다."),
    ("emoji", "I ❤️ LLMs 🤖🚀 family: 👨‍👩‍👧‍👦 flag: 🇫🇷 skin: 👍🏽"),
    ("code", "def f(x):\n    return {'a': x**2, \"b\": [1, 2, 3]}  # comment\n\tif x >= 0 && y != 1 { y++; }\n"),
    ("whitespace", "a  b   c    d\t\te\n\nf\r\n  g   \n\n\n   "),
    ("leading_ws", "   leading and trailing spaces   "),
    ("numbers", "In 2024, 3.14159 × 10^12 = 3141590000000; ½ ⅔ ² ٣ ௫ 1,000,000.50 -42"),
    ("scripts", "Привет мир. مرحبا بالعالم. नमस्ते दुनिया। Γειά σου κόσμε. שלום"),
    ("punctuation", "!!!??? ... --- *** ((()))[[]]{{}} @#$%^&* «quotes» „German“ 'single'"),
    ("special_parsed", "<|im_start|>user\nHi there<|im_end|>\n<|endoftext|>"),
    ("special_as_text", "<|im_start|>user\nHi there<|im_end|>"),
    ("special_partial", "<|im_start|<|im_end|><|im_start><file_sep>x"),
    ("special_unk_tool", "a<unk>b <tool> c<|im_start|> d"),
    ("empty", ""),
    ("single_space", " "),
    ("newlines_only", "\n\n\n"),
    ("long_word", "supercalifragilisticexpialidocious antidisestablishmentarianism"),
    ("url_json", 'See https://example.com/a?b=1&c=2 or {"key": [true, null, -1.5e3]}'),
    ("bos_requested", "with add_special"),
    ("case_contractions", "IT'S 'Re 'VE we'LL I'D 'x"),
    ("digit_runs", "1 12 123 1234 12345678 v2.0.1"),
    ("crlf_runs", "a\r\n\r\nb \n  c\t\n\n(foo)\nbar\n\n  "),
]

CHATS = [
    ("chat_default_system", [{"role": "user", "content": "What is the capital of France?"}]),
    ("chat_with_system", [{"role": "system", "content": "You are terse."},
                          {"role": "user", "content": "Say hi in 3 languages."},
                          {"role": "assistant", "content": "Hi, Hola, Bonjour."},
                          {"role": "user", "content": "Now in Japanese: 日本語で?"}]),
]


def write_vocab(path, model, pre, tokens, types, scores=None, merges=None, bos=None, eos=None, unk=None,
                add_bos=None):
    w = gguf.GGUFWriter(str(path), arch="llama")
    # Hyperparameters llama.cpp reads before the vocabulary (no tensors: vocab_only).
    w.add_block_count(1)
    w.add_context_length(256)
    w.add_embedding_length(64)
    w.add_feed_forward_length(128)
    w.add_head_count(4)
    w.add_head_count_kv(4)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model(model)
    if pre:
        w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    if scores is not None:
        w.add_token_scores(scores)
    if merges is not None:
        w.add_token_merges(merges)
    if bos is not None:
        w.add_bos_token_id(bos)
    if eos is not None:
        w.add_eos_token_id(eos)
    if unk is not None:
        w.add_unk_token_id(unk)
    if add_bos is not None:
        w.add_add_bos_token(add_bos)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tiny_spm(path):
    """SentencePiece: <unk> <s> </s>, 256 <0xNN>, two special tokens, and every substring (up
    to 5 code points) of the words of a small corpus, scores drawn with a fixed seed."""
    corpus = ("the quick brown fox jumps over the lazy dog hello world naïve café "
              "tokenizers merge pieces by score it's what they do 123 456 日本語")
    pieces = []
    for word in corpus.split(" "):
        w = "\u2581" + word
        for i in range(len(w)):
            for j in range(i + 1, min(len(w), i + 5) + 1):
                if w[i:j] not in pieces:
                    pieces.append(w[i:j])
    rng = random.Random(20261202)
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + ["<|im_start|>", "<tool>"] + pieces
    types = [2, 3, 3] + [6] * 256 + [3, 4] + [1] * len(pieces)
    scores = [0.0] * (261) + [-round(rng.uniform(1, 20), 3) for _ in pieces]
    write_vocab(path, "llama", None, tokens, types, scores=scores, bos=1, eos=2, unk=0)


def tiny_bpe(path, pre, smollm):
    """Byte-level BPE: SmolLM2's first 3000 merges (closed: each side is a byte symbol or an
    earlier merge's result) and its special tokens, under another pre-tokenizer."""
    r = gguf.GGUFReader(smollm)
    field = r.fields["tokenizer.ggml.merges"]
    merges = [bytes(field.parts[i]).decode("utf-8") for i in field.data[:3000]]
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    byte_map = bytes_to_unicode()
    tokens += [byte_map[b] for b in range(256)]
    for m in merges:
        t = m.replace(" ", "", 1)
        if t not in tokens:
            tokens.append(t)
    types = [3, 3, 3] + [1] * (len(tokens) - 3)
    write_vocab(path, "gpt2", pre, tokens, types, merges=merges, bos=0, eos=2, add_bos=False)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def golden_cases(llm, texts):
    cases = []
    for name, text in texts:
        add_special = name == "bos_requested"
        parse_special = name not in ("special_as_text",)
        ids = llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=parse_special)
        detok = llm.detokenize(ids, special=True).decode("utf-8")
        cases.append({"name": name, "text": text, "add_special": add_special, "parse_special": parse_special,
                      "ids": ids, "detok": detok})
    return cases


def tiny(smollm):
    vocabs = []
    for name, make in [("tiny_spm.gguf", lambda p: tiny_spm(p)),
                       ("tiny_qwen2.gguf", lambda p: tiny_bpe(p, "qwen2", smollm)),
                       ("tiny_llama3.gguf", lambda p: tiny_bpe(p, "llama-bpe", smollm)),
                       ("tiny_gpt2.gguf", lambda p: tiny_bpe(p, "gpt-2", smollm))]:
        make(DATA / name)
        llm = llama_cpp.Llama(model_path=str(DATA / name), vocab_only=True, verbose=False)
        vocabs.append({"file": name, "cases": golden_cases(llm, TEXTS)})
        del llm
    (DATA / "tiny_tokens.json").write_text(json.dumps({"llama_cpp_python": llama_cpp.__version__, "vocabs": vocabs},
                                                      ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"tests/data/llm/tiny_tokens.json: {len(vocabs)} vocabularies x {len(TEXTS)} texts, "
          f"{sum(len(c['ids']) for v in vocabs for c in v['cases'])} token ids")


# Meta's Llama-3 Instruct chat template (tokenizer_config.json of Meta-Llama-3-8B-Instruct).
LLAMA3_TEMPLATE = ("{% set loop_messages = messages %}{% for message in loop_messages %}"
                   "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
                   "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
                   "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
                   "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")


def template_renders():
    """Prompts Jinja2 renders from the Llama-3 template (no tools), for ChatTemplate."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    out = []
    for name, messages in CHATS + [("chat_llama3_trim", [{"role": "system", "content": "  Be brief.\n"},
                                                          {"role": "user", "content": "\tHi there \n\n"}])]:
        prompt = env.from_string(LLAMA3_TEMPLATE).render(messages=messages, add_generation_prompt=True,
                                                         bos_token="<|begin_of_text|>")
        out.append({"name": name, "messages": messages, "prompt": prompt})
    return {"llama3": {"jinja": LLAMA3_TEMPLATE, "renders": out}}


def random_texts(n=300, seed=20261202):
    """Seeded random strings mixing the character classes the pre-tokenizers tell apart."""
    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~",
        " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "'", "'s", "'LL", "'ve",
        "éèàüößñçøÅÉ", "\u0301\u0308", "日本語中文字한국어", "😀🤖🚀❤️👍🏽", "\u200d", "مرحبا", "नमस्ते",
        "½²٣௫Ⅻ", "<|im_start|>", "<|im_end|>", "<unk>", "<tool>", "\u2581",
    ]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            pool = rng.choice(pools)
            if len(pool) > 3 and not pool.startswith("<"):
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
            else:
                parts.append(pool)
        out.append("".join(parts))
    return out


def random_goldens(smollm):
    texts = random_texts()
    ids = {}
    for name, path in [("smollm2", smollm)] + [(f, str(DATA / f)) for f in
                                                ("tiny_spm.gguf", "tiny_qwen2.gguf", "tiny_llama3.gguf", "tiny_gpt2.gguf")]:
        llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        ids[name] = [llm.tokenize(t.encode("utf-8"), add_bos=False, special=True) for t in texts]
        del llm
    (DATA / "random_tokens.json").write_text(json.dumps({"llama_cpp_python": llama_cpp.__version__, "texts": texts,
                                                         "ids": ids}, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"tests/data/llm/random_tokens.json: {len(texts)} random texts x {len(ids)} vocabularies")


def main():
    model = subprocess.run([sys.executable, str(REPO / "tests/llm/fetch_smollm2.py")], check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    llm = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
    cases = golden_cases(llm, TEXTS)
    template = llm.metadata["tokenizer.chat_template"]
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    chats = []
    for name, messages in CHATS:
        prompt = env.from_string(template).render(messages=messages, add_generation_prompt=True,
                                                  bos_token="<|im_start|>", eos_token="<|im_end|>")
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        chats.append({"name": name, "messages": messages, "prompt": prompt, "ids": ids})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    (DATA / "chat_templates.json").write_text(json.dumps(template_renders(), ensure_ascii=False, indent=1) + "\n",
                                              encoding="utf-8")
    doc = {"model": Path(model).name, "llama_cpp_python": llama_cpp.__version__,
           "jinja2": jinja2.__version__, "cases": cases, "chats": chats}
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(REPO)}: {len(cases)} texts, {len(chats)} chats, "
          f"{sum(len(c['ids']) for c in cases + chats)} token ids")
    tiny(model)
    random_goldens(model)


if __name__ == "__main__":
    main()
