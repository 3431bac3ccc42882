#include "llm/tokenizer.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <queue>

namespace lucid::llm {
namespace {

constexpr uint32_t kInvalid = 0xFFFFFFFFu;  // a byte that is not valid UTF-8

struct Unit {       // one code point (or one invalid byte) of the text
  uint32_t start;   // byte offset
  uint32_t len;     // bytes
  uint32_t cp;      // code point, kInvalid for an invalid byte
};

// Decodes UTF-8 strictly (no overlongs, no surrogates, <= U+10FFFF); each invalid byte is
// its own unit.
std::vector<Unit> Units(std::string_view s) {
  std::vector<Unit> out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    uint8_t b = p[i];
    uint32_t cp = kInvalid, len = 1;
    if (b < 0x80) {
      cp = b;
    } else {
      uint32_t need = 0, min = 0;
      if ((b & 0xE0) == 0xC0) need = 1, cp = b & 0x1F, min = 0x80;
      else if ((b & 0xF0) == 0xE0) need = 2, cp = b & 0x0F, min = 0x800;
      else if ((b & 0xF8) == 0xF0) need = 3, cp = b & 0x07, min = 0x10000;
      bool ok = need > 0 && i + need < n;  // all continuation bytes present
      if (ok) {
        for (uint32_t k = 1; k <= need; ++k) {
          if ((p[i + k] & 0xC0) != 0x80) { ok = false; break; }
          cp = (cp << 6) | (p[i + k] & 0x3F);
        }
      }
      if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
      if (ok) len = need + 1;
      else cp = kInvalid;
    }
    out.push_back({static_cast<uint32_t>(i), len, cp});
    i += len;
  }
  return out;
}

struct Flags {
  bool in = false;  // inside the segment
  bool letter = false, number = false, space = false;
};

Flags FlagsOf(uint32_t cp) {
  Flags f;
  f.in = true;
  if (cp == kInvalid) return f;
  int8_t t = u_charType(static_cast<UChar32>(cp));
  f.letter = t == U_UPPERCASE_LETTER || t == U_LOWERCASE_LETTER || t == U_TITLECASE_LETTER ||
             t == U_MODIFIER_LETTER || t == U_OTHER_LETTER;
  f.number = t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
  f.space = u_isUWhiteSpace(static_cast<UChar32>(cp));
  return f;
}

uint32_t Lower(uint32_t cp) {
  return cp == kInvalid ? cp : static_cast<uint32_t>(u_tolower(static_cast<UChar32>(cp)));
}

enum PreKind { kPreGpt2 = 1, kPreSmollm, kPreQwen2, kPreLlama3 };

int PreKindOf(std::string_view pre) {
  if (pre == "gpt2" || pre == "gpt-2" || pre == "phi-2" || pre == "mpt" || pre == "olmo") return kPreGpt2;
  if (pre == "smollm" || pre == "starcoder" || pre == "refact" || pre == "command-r" ||
      pre == "codeshell" || pre == "exaone" || pre == "minerva-7b")
    return kPreSmollm;
  if (pre == "qwen2" || pre == "deepseek-r1-qwen") return kPreQwen2;
  if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3") return kPreLlama3;
  return 0;
}

// One segment [ini, end) of units; appends word boundaries (unit indices) to `cuts`.
class Splitter {
 public:
  Splitter(const std::vector<Unit>& u, const std::vector<Flags>& f, size_t ini, size_t end)
      : u_(u), f_(f), ini_(ini), end_(end) {}
  uint32_t Cp(size_t pos) const { return pos < end_ ? u_[pos].cp : kInvalid - 1; }
  Flags F(size_t pos) const { return pos < end_ ? f_[pos] : Flags{}; }
  static constexpr uint32_t kOut = kInvalid - 1;

  // regex: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  void Gpt2(std::vector<size_t>& cuts) const {
    size_t pos = ini_;
    auto add = [&](size_t p) { cuts.push_back(p); return p; };
    while (pos < end_) {
      uint32_t cpt = Cp(pos);
      Flags flags = F(pos);
      if (cpt == '\'' && pos + 1 < end_) {
        uint32_t n1 = Cp(pos + 1);
        if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') { pos = add(pos + 2); continue; }
        if (pos + 2 < end_) {
          uint32_t n2 = Cp(pos + 2);
          if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
            pos = add(pos + 3);
            continue;
          }
        }
      }
      Flags flags2 = cpt == ' ' ? F(pos + 1) : flags;
      if (flags2.letter) {
        pos += cpt == ' ';
        while (F(pos).letter) ++pos;
        add(pos);
        continue;
      }
      if (flags2.number) {
        pos += cpt == ' ';
        while (F(pos).number) ++pos;
        add(pos);
        continue;
      }
      if (!(flags2.space || flags2.letter || flags2.number) && flags2.in) {
        pos += cpt == ' ';
        while (!(flags2.space || flags2.letter || flags2.number) && flags2.in) flags2 = F(++pos);
        add(pos);
        continue;
      }
      size_t nws = 0;
      while (F(pos + nws).space) ++nws;
      if (nws > 1 && pos + nws < end_) { pos = add(pos + nws - 1); continue; }
      if (nws > 0) { pos = add(pos + nws); continue; }
      pos = add(pos + 1);
    }
  }

  // llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
  //   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+     (qwen2: \p{N} instead of \p{N}{1,3})
  void Llama3(std::vector<size_t>& cuts, size_t max_digits) const {
    size_t pos = ini_;
    auto add = [&](size_t p) { cuts.push_back(p); return p; };
    while (pos < end_) {
      uint32_t cpt = Cp(pos);
      Flags flags = F(pos);
      if (cpt == '\'' && pos + 1 < end_) {
        uint32_t n1 = Lower(Cp(pos + 1));
        if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') { pos = add(pos + 2); continue; }
        if (pos + 2 < end_) {
          uint32_t n2 = Lower(Cp(pos + 2));
          if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
            pos = add(pos + 3);
            continue;
          }
        }
      }
      if (!(cpt == '\r' || cpt == '\n' || flags.number)) {
        if (flags.letter || F(pos + 1).letter) {
          ++pos;
          while (F(pos).letter) ++pos;
          add(pos);
          continue;
        }
      }
      if (flags.number) {
        size_t ini = pos;
        while (F(pos).number) {
          if (++pos - ini >= max_digits) { add(pos); ini = pos; }
        }
        if (pos != ini) add(pos);
        continue;
      }
      Flags flags2 = cpt == ' ' ? F(pos + 1) : flags;
      if (!(flags2.space || flags2.letter || flags2.number) && flags.in) {
        pos += cpt == ' ';
        while (!(flags2.space || flags2.letter || flags2.number) && flags2.in) flags2 = F(++pos);
        uint32_t c2 = Cp(pos);
        while (c2 == '\r' || c2 == '\n') c2 = Cp(++pos);
        add(pos);
        continue;
      }
      size_t nws = 0, last_rn = 0;
      while (F(pos + nws).space) {
        uint32_t c2 = Cp(pos + nws);
        if (c2 == '\r' || c2 == '\n') last_rn = pos + nws + 1;
        ++nws;
      }
      if (last_rn > 0) { pos = add(last_rn); continue; }
      if (nws > 1 && pos + nws < end_) { pos = add(pos + nws - 1); continue; }
      if (nws > 0) { pos = add(pos + nws); continue; }
      pos = add(pos + 1);
    }
  }

 private:
  const std::vector<Unit>& u_;
  const std::vector<Flags>& f_;
  size_t ini_, end_;
};

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

struct ByteMaps {
  uint32_t to_cp[256];
  std::unordered_map<uint32_t, uint8_t> to_byte;
  ByteMaps() {
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
      to_byte[to_cp[b]] = static_cast<uint8_t>(b);
    }
  }
};
const ByteMaps& Maps() {
  static const ByteMaps m;
  return m;
}

const std::string kSpmSpace = "\xE2\x96\x81";  // U+2581

}  // namespace

uint32_t ByteToCodepoint(uint8_t b) { return Maps().to_cp[b]; }

bool PreTokenize(std::string_view pre, std::string_view text, std::vector<std::string_view>& words) {
  int kind = PreKindOf(pre);
  if (kind == 0) return false;
  std::vector<Unit> u = Units(text);
  std::vector<Flags> f(u.size());
  for (size_t i = 0; i < u.size(); ++i) f[i] = FlagsOf(u[i].cp);
  // Segments: smollm first splits every \p{N} code point off on its own (llama.cpp's
  // regex list {"\p{N}", gpt2}); the second expression then runs inside each segment.
  std::vector<std::pair<size_t, size_t>> segs;
  if (kind == kPreSmollm) {
    size_t start = 0;
    for (size_t i = 0; i < u.size(); ++i) {
      if (f[i].number) {
        if (i > start) segs.push_back({start, i});
        segs.push_back({i, i + 1});
        start = i + 1;
      }
    }
    if (start < u.size()) segs.push_back({start, u.size()});
  } else if (!u.empty()) {
    segs.push_back({0, u.size()});
  }
  std::vector<size_t> cuts;
  for (auto [ini, end] : segs) {
    Splitter s(u, f, ini, end);
    size_t first = cuts.size();
    if (kind == kPreQwen2) s.Llama3(cuts, 1);
    else if (kind == kPreLlama3) s.Llama3(cuts, 3);
    else s.Gpt2(cuts);
    size_t prev = ini;
    for (size_t k = first; k < cuts.size(); ++k) {
      size_t c = cuts[k];
      if (c > prev) {
        size_t b0 = u[prev].start, b1 = c < u.size() ? u[c].start : text.size();
        words.push_back(text.substr(b0, b1 - b0));
      }
      prev = c;
    }
  }
  return true;
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::Create(Vocabulary vocab) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->vocab_ = std::move(vocab);
  RETURN_IF_ERROR(t->Init().WithContext("tokenizer"));
  return t;
}

int32_t Tokenizer::TokenType(int32_t id) const {
  if (vocab_.token_types.empty()) return static_cast<int32_t>(TokenType::kNormal);
  return vocab_.token_types[static_cast<size_t>(id)];
}

Status Tokenizer::Init() {
  const Vocabulary& v = vocab_;
  const size_t n = v.tokens.size();
  if (n == 0) return InvalidArgument("no tokens");
  if (n > (1u << 30)) return OutOfRange("too many tokens: " + std::to_string(n));
  if (!v.token_types.empty() && v.token_types.size() != n)
    return InvalidArgument("token_type has " + std::to_string(v.token_types.size()) + " entries for " +
                           std::to_string(n) + " tokens");
  if (!v.scores.empty() && v.scores.size() != n)
    return InvalidArgument("scores has " + std::to_string(v.scores.size()) + " entries for " +
                           std::to_string(n) + " tokens");
  for (int32_t id : {v.bos_id, v.eos_id, v.unk_id, v.pad_id, v.eot_id})
    if (id < -1 || id >= static_cast<int64_t>(n))
      return InvalidArgument("special token id " + std::to_string(id) + " out of range [0, " + std::to_string(n) + ")");
  if (v.model == "gpt2") {
    gpt2_ = true;
    pre_kind_ = PreKindOf(v.pre);
    if (pre_kind_ == 0)
      return Unimplemented("pre-tokenizer '" + v.pre +
                           "' (supported: gpt-2, smollm (starcoder, refact, ...), qwen2, llama-bpe)");
    ignore_merges_ = pre_kind_ == kPreLlama3;
    add_bos_ = v.add_bos >= 0 ? v.add_bos == 1 : pre_kind_ == kPreLlama3;
    add_space_prefix_ = v.add_space_prefix == 1;
  } else if (v.model == "llama") {
    if (v.scores.empty()) return InvalidArgument("llama (SentencePiece) vocabulary without scores");
    add_bos_ = v.add_bos != 0;
    add_space_prefix_ = v.add_space_prefix != 0;
  } else {
    return Unimplemented("tokenizer model '" + v.model + "' (supported: gpt2, llama)");
  }
  add_eos_ = v.add_eos == 1;
  if (add_bos_ && v.bos_id < 0) return InvalidArgument("add_bos without a bos token id");
  if (add_eos_ && v.eos_id < 0) return InvalidArgument("add_eos without an eos token id");
  index_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    int32_t type = TokenType(static_cast<int32_t>(i));
    if (type < 0 || type > 6) return InvalidArgument("token " + std::to_string(i) + ": bad type " + std::to_string(type));
    index_.emplace(v.tokens[i], static_cast<int32_t>(i));  // first wins on duplicates
    if ((type == static_cast<int32_t>(TokenType::kControl) || type == static_cast<int32_t>(TokenType::kUserDefined) ||
         type == static_cast<int32_t>(TokenType::kUnknown)) &&
        !v.tokens[i].empty())
      specials_.push_back(static_cast<int32_t>(i));
  }
  std::stable_sort(specials_.begin(), specials_.end(), [&](int32_t a, int32_t b) {
    return v.tokens[static_cast<size_t>(a)].size() > v.tokens[static_cast<size_t>(b)].size();
  });
  merge_rank_.reserve(v.merges.size());
  for (size_t r = 0; r < v.merges.size(); ++r) {
    const std::string& m = v.merges[r];
    size_t sp = m.find(' ', 1);
    if (sp == std::string::npos || sp == 0 || sp + 1 >= m.size())
      return InvalidArgument("merge " + std::to_string(r) + " is not 'left right'");
    merge_rank_.emplace(m, static_cast<int32_t>(r));
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = index_.find(name);
    byte_tokens_[b] = it == index_.end() ? -1 : it->second;
  }
  return Status::Ok();
}

int32_t Tokenizer::Find(std::string_view text) const {
  auto it = index_.find(std::string(text));
  return it == index_.end() ? -1 : it->second;
}

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  if (id < 0 || id >= size()) return false;
  if (id == vocab_.eos_id || id == vocab_.eot_id) return true;
  if (TokenType(id) != static_cast<int32_t>(TokenType::kControl)) return false;
  const std::string& t = vocab_.tokens[static_cast<size_t>(id)];
  return t == "<|im_end|>" || t == "<|eot_id|>" || t == "<|end|>" || t == "<|endoftext|>" ||
         t == "<end_of_turn>" || t == "<|eom_id|>";
}

void Tokenizer::EncodeBpeWord(std::string_view word, std::vector<int32_t>& out) const {
  // The word's bytes as GPT-2 code points, one symbol per byte.
  std::string mapped;
  std::vector<std::string> sym;
  sym.reserve(word.size());
  for (unsigned char b : word) {
    std::string s;
    AppendUtf8(Maps().to_cp[b], s);
    mapped += s;
    sym.push_back(std::move(s));
  }
  if (ignore_merges_) {
    auto it = index_.find(mapped);
    if (it != index_.end()) { out.push_back(it->second); return; }
  }
  // Lowest rank first; ties go to the leftmost pair. Linked list over symbols.
  const int n = static_cast<int>(sym.size());
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  struct Pair {
    int32_t rank;
    int left, right;
    size_t size;  // combined text length at push time (stale check)
  };
  auto cmp = [](const Pair& a, const Pair& b) { return a.rank > b.rank || (a.rank == b.rank && a.left > b.left); };
  std::priority_queue<Pair, std::vector<Pair>, decltype(cmp)> q(cmp);
  auto try_add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    std::string key;
    key.reserve(sym[l].size() + 1 + sym[r].size());
    key += sym[l];
    key += ' ';
    key += sym[r];
    auto it = merge_rank_.find(key);
    if (it == merge_rank_.end()) return;
    q.push({it->second, l, r, sym[l].size() + sym[r].size()});
  };
  for (int i = 0; i + 1 < n; ++i) try_add(i, i + 1);
  while (!q.empty()) {
    Pair p = q.top();
    q.pop();
    if (sym[p.left].empty() || sym[p.right].empty() || next[p.left] != p.right ||
        sym[p.left].size() + sym[p.right].size() != p.size)
      continue;
    sym[p.left] += sym[p.right];
    sym[p.right].clear();
    next[p.left] = next[p.right];
    if (next[p.right] >= 0) prev[next[p.right]] = p.left;
    try_add(prev[p.left], p.left);
    try_add(p.left, next[p.left]);
  }
  for (int i = 0; i >= 0 && i < n; i = next[i]) {
    auto it = index_.find(sym[i]);
    if (it != index_.end()) {
      out.push_back(it->second);
      continue;
    }
    // Not in the vocabulary (a vocabulary without some byte's symbol): per mapped byte,
    // as llama.cpp does; unknown otherwise.
    for (char c : sym[i]) {
      auto jt = index_.find(std::string(1, c));
      if (jt != index_.end()) out.push_back(jt->second);
      else if (vocab_.unk_id >= 0) out.push_back(vocab_.unk_id);
    }
  }
}

void Tokenizer::EncodeSpm(std::string_view text, std::vector<int32_t>& out) const {
  // Symbols: UTF-8 code points (invalid bytes alone); merge the pair whose joined text is a
  // token with the highest score (ties: leftmost).
  std::vector<Unit> u = Units(text);
  const int n = static_cast<int>(u.size());
  if (n == 0) return;
  std::vector<uint32_t> start(n), len(n);
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    start[i] = u[i].start, len[i] = u[i].len;
    prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Pair {
    float score;
    int left, right;
    uint32_t size;
  };
  auto cmp = [](const Pair& a, const Pair& b) { return a.score < b.score || (a.score == b.score && a.left > b.left); };
  std::priority_queue<Pair, std::vector<Pair>, decltype(cmp)> q(cmp);
  auto try_add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    auto it = index_.find(std::string(text.substr(start[l], len[l] + len[r])));
    if (it == index_.end()) return;
    q.push({vocab_.scores[static_cast<size_t>(it->second)], l, r, len[l] + len[r]});
  };
  for (int i = 0; i + 1 < n; ++i) try_add(i, i + 1);
  while (!q.empty()) {
    Pair p = q.top();
    q.pop();
    if (len[p.left] == 0 || len[p.right] == 0 || next[p.left] != p.right || len[p.left] + len[p.right] != p.size)
      continue;
    len[p.left] += len[p.right];
    len[p.right] = 0;
    next[p.left] = next[p.right];
    if (next[p.right] >= 0) prev[next[p.right]] = p.left;
    try_add(prev[p.left], p.left);
    try_add(p.left, next[p.left]);
  }
  for (int i = 0; i >= 0; i = next[i]) {
    std::string_view s = text.substr(start[i], len[i]);
    auto it = index_.find(std::string(s));
    if (it != index_.end()) {
      out.push_back(it->second);
      continue;
    }
    for (unsigned char b : s) {
      if (byte_tokens_[b] >= 0) out.push_back(byte_tokens_[b]);
      else if (vocab_.unk_id >= 0) out.push_back(vocab_.unk_id);
    }
  }
}

void Tokenizer::EncodeText(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<std::string_view> words;
  PreTokenize(vocab_.pre, text, words);
  for (std::string_view w : words) EncodeBpeWord(w, out);
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special, bool parse_special) const {
  // Fragments: special tokens (longest text first, leftmost occurrence) and raw text.
  struct Frag {
    int32_t token;  // -1: raw text
    size_t off, len;
  };
  std::vector<Frag> frags{{-1, 0, text.size()}};
  for (int32_t id : specials_) {
    bool user_defined = TokenType(id) == static_cast<int32_t>(TokenType::kUserDefined);
    if (!user_defined && !parse_special) continue;  // control and unknown: only when parsing specials
    const std::string& st = vocab_.tokens[static_cast<size_t>(id)];
    std::vector<Frag> next;
    next.reserve(frags.size());
    for (const Frag& f : frags) {
      if (f.token >= 0) { next.push_back(f); continue; }
      std::string_view raw = text.substr(f.off, f.len);
      size_t pos = 0;
      while (true) {
        size_t hit = raw.find(st, pos);
        if (hit == std::string_view::npos) break;
        if (hit > pos) next.push_back({-1, f.off + pos, hit - pos});
        next.push_back({id, 0, 0});
        pos = hit + st.size();
      }
      if (pos < raw.size()) next.push_back({-1, f.off + pos, raw.size() - pos});
    }
    frags.swap(next);
  }
  std::vector<int32_t> out;
  if (add_special && add_bos_) out.push_back(vocab_.bos_id);
  bool prev_special = true;
  for (const Frag& f : frags) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    if (f.len == 0) continue;
    std::string_view raw = text.substr(f.off, f.len);
    if (gpt2_) {
      EncodeText(raw, out);
    } else {
      std::string s;
      if (add_space_prefix_ && prev_special) s += kSpmSpace;
      for (char c : raw) {
        if (c == ' ') s += kSpmSpace;
        else s += c;
      }
      EncodeSpm(s, out);
    }
    prev_special = false;
  }
  if (add_special && add_eos_) out.push_back(vocab_.eos_id);
  return out;
}

std::string Tokenizer::TokenBytes(int32_t id, bool render_special) const {
  if (id < 0 || id >= size()) return {};
  const std::string& t = vocab_.tokens[static_cast<size_t>(id)];
  auto type = static_cast<enum TokenType>(TokenType(id));
  switch (type) {
    case TokenType::kControl:
    case TokenType::kUnknown:  // as llama.cpp: the text, only when specials are rendered
      return render_special ? t : std::string();
    case TokenType::kUserDefined:
      return t;
    case TokenType::kUnused:
      return {};
    default:
      break;
  }
  std::string out;
  if (gpt2_) {
    for (const Unit& un : Units(t)) {
      auto it = un.cp == kInvalid ? Maps().to_byte.end() : Maps().to_byte.find(un.cp);
      if (it != Maps().to_byte.end()) out += static_cast<char>(it->second);
      else out.append(t, un.start, un.len);
    }
    return out;
  }
  if (type == TokenType::kByte && t.size() == 6 && t.compare(0, 3, "<0x") == 0) {
    return std::string(1, static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
  }
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, 3, kSpmSpace) == 0) out += ' ', i += 3;
    else out += t[i++];
  }
  return out;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids, bool render_special) const {
  std::string out;
  StreamDecoder d(this, render_special);
  for (int32_t id : ids) out += d.Push(id);
  out += d.Flush();
  return out;
}

std::string StreamDecoder::Push(int32_t id) {
  std::string piece = tok_->TokenBytes(id, render_special_);
  int32_t type = id >= 0 && id < tok_->size() && !tok_->vocab().token_types.empty()
                     ? tok_->vocab().token_types[static_cast<size_t>(id)]
                     : static_cast<int32_t>(TokenType::kNormal);
  bool special = type == static_cast<int32_t>(TokenType::kControl) ||
                 type == static_cast<int32_t>(TokenType::kUserDefined) ||
                 type == static_cast<int32_t>(TokenType::kUnknown);
  // SentencePiece: the space Encode added in front of the text after the start or a special
  // token is removed again.
  if (special) {
    first_ = true;
  } else if (!piece.empty()) {
    if (!tok_->is_gpt2() && tok_->vocab().add_space_prefix != 0 && first_ && piece[0] == ' ') piece.erase(0, 1);
    first_ = false;
  }
  return PushBytes(piece);
}

std::string StreamDecoder::PushBytes(std::string_view bytes) {
  pending_ += bytes;
  // Hold back a trailing lead byte plus continuation bytes that could still complete.
  size_t n = pending_.size(), keep = 0;
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    auto b = static_cast<uint8_t>(pending_[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation: look further back
    size_t need = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (need > back) keep = back;
    break;
  }
  std::string out = pending_.substr(0, n - keep);
  pending_.erase(0, n - keep);
  return out;
}

std::string StreamDecoder::Flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace lucid::llm
