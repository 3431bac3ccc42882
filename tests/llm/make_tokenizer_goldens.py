#!/usr/bin/env python3
"""Golden token ids for Lucid's tokenizer, made by llama.cpp (llama-cpp-python, pinned in
requirements-dev.txt) from SmolLM2-135M-Instruct's GGUF (tests/llm/fetch_smollm2.py), and
chat prompts rendered by Jinja2 from the GGUF's own tokenizer.chat_template.
Writes tests/data/llm/smollm2_tokens.json (see tests/data/llm/PROVENANCE.md).
Run: .venv/bin/python tests/llm/make_tokenizer_goldens.py"""
import json
import subprocess
import sys
from pathlib import Path

import jinja2.sandbox
import llama_cpp

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "data" / "llm" / "smollm2_tokens.json"

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
    ("empty", ""),
    ("single_space", " "),
    ("newlines_only", "\n\n\n"),
    ("long_word", "supercalifragilisticexpialidocious antidisestablishmentarianism"),
    ("url_json", 'See https://example.com/a?b=1&c=2 or {"key": [true, null, -1.5e3]}'),
    ("bos_requested", "with add_special"),
]

CHATS = [
    ("chat_default_system", [{"role": "user", "content": "What is the capital of France?"}]),
    ("chat_with_system", [{"role": "system", "content": "You are terse."},
                          {"role": "user", "content": "Say hi in 3 languages."},
                          {"role": "assistant", "content": "Hi, Hola, Bonjour."},
                          {"role": "user", "content": "Now in Japanese: 日本語で?"}]),
]


def main():
    model = subprocess.run([sys.executable, str(REPO / "tests/llm/fetch_smollm2.py")], check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    llm = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
    cases = []
    for name, text in TEXTS:
        add_special = name == "bos_requested"
        parse_special = name not in ("special_as_text",)
        ids = llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=parse_special)
        detok = llm.detokenize(ids, special=True).decode("utf-8")
        cases.append({"name": name, "text": text, "add_special": add_special, "parse_special": parse_special,
                      "ids": ids, "detok": detok})
    template = llm.metadata["tokenizer.chat_template"]
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    chats = []
    for name, messages in CHATS:
        prompt = env.from_string(template).render(messages=messages, add_generation_prompt=True,
                                                  bos_token="<|im_start|>", eos_token="<|im_end|>")
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        chats.append({"name": name, "messages": messages, "prompt": prompt, "ids": ids})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {"model": Path(model).name, "llama_cpp_python": llama_cpp.__version__,
           "jinja2": jinja2.__version__, "cases": cases, "chats": chats}
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(REPO)}: {len(cases)} texts, {len(chats)} chats, "
          f"{sum(len(c['ids']) for c in cases + chats)} token ids")


if __name__ == "__main__":
    main()
