#include "lightclient/rpc_json.h"

#include <limits>

#include <nlohmann/json.hpp>

namespace lucid::lightclient {

using nlohmann::json;

namespace {

// Strict decimal int64 (optional '-', digits, no overflow).
Result<int64_t> ParseDecimal(std::string_view s) {
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.remove_prefix(1);
  if (s.empty() || s.size() > 19) return InvalidArgument("not a decimal integer");
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return InvalidArgument("not a decimal integer");
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  const uint64_t limit = neg ? uint64_t{1} << 63 : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (v > limit) return OutOfRange("integer out of int64 range");
  return neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

const json* Field(const json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

Result<const json*> Need(const json& obj, const char* name, const std::string& where) {
  const json* f = Field(obj, name);
  if (!f) return InvalidArgument(where + " lacks '" + name + "'");
  return f;
}

// 64-bit integers arrive as strings; 32-bit ones as numbers. Both are accepted.
Result<int64_t> Int(const json& obj, const char* name, const std::string& where) {
  ASSIGN_OR_RETURN(const json* f, Need(obj, name, where));
  if (f->is_string()) {
    auto v = ParseDecimal(f->get_ref<const std::string&>());
    if (!v.ok()) return InvalidArgument(where + "." + name + ": " + v.status().message());
    return *v;
  }
  if (f->is_number_integer()) {
    if (f->is_number_unsigned() && f->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return OutOfRange(where + "." + name + " out of int64 range");
    return f->get<int64_t>();
  }
  return InvalidArgument(where + "." + name + " is not an integer");
}

Result<std::string> Str(const json& obj, const char* name, const std::string& where) {
  ASSIGN_OR_RETURN(const json* f, Need(obj, name, where));
  if (!f->is_string()) return InvalidArgument(where + "." + name + " is not a string");
  return f->get<std::string>();
}

// Upper- or lower-case hex, no prefix; "" and null are empty.
Result<Bytes> HexField(const json& obj, const char* name, const std::string& where) {
  ASSIGN_OR_RETURN(const json* f, Need(obj, name, where));
  if (f->is_null()) return Bytes{};
  if (!f->is_string()) return InvalidArgument(where + "." + name + " is not a hex string");
  const std::string& s = f->get_ref<const std::string&>();
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    return InvalidArgument(where + "." + name + " has a 0x prefix");
  auto b = FromHex(s);
  if (!b.ok()) return InvalidArgument(where + "." + name + ": " + b.status().message());
  return *b;
}

Result<Bytes> Base64Field(const json& obj, const char* name, const std::string& where) {
  ASSIGN_OR_RETURN(const json* f, Need(obj, name, where));
  if (f->is_null()) return Bytes{};
  if (!f->is_string()) return InvalidArgument(where + "." + name + " is not a base64 string");
  auto b = DecodeBase64(f->get_ref<const std::string&>());
  if (!b.ok()) return InvalidArgument(where + "." + name + ": " + b.status().message());
  return *b;
}

Result<Timestamp> TimeField(const json& obj, const char* name, const std::string& where) {
  ASSIGN_OR_RETURN(std::string s, Str(obj, name, where));
  auto t = ParseRfc3339(s);
  if (!t.ok()) return InvalidArgument(where + "." + name + ": " + t.status().message());
  return *t;
}

// The result object of a JSON-RPC answer (or the document itself when it is no envelope).
Result<json> RpcResult(std::string_view text, const char* what) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(std::string(what) + ": not JSON");
  if (!j.is_object()) return InvalidArgument(std::string(what) + ": not a JSON object");
  if (const json* e = Field(j, "error"); e && !e->is_null()) {
    std::string m = e->dump();
    if (m.size() > 300) m.resize(300);
    return Unavailable(std::string(what) + ": the node answered an error: " + m);
  }
  if (const json* r = Field(j, "result")) {
    if (!r->is_object()) return InvalidArgument(std::string(what) + ": result is not an object");
    return *r;
  }
  return j;
}

Result<BlockId> ParseBlockId(const json& obj, const std::string& where) {
  BlockId id;
  ASSIGN_OR_RETURN(id.hash, HexField(obj, "hash", where));
  ASSIGN_OR_RETURN(const json* parts, Need(obj, "parts", where));
  ASSIGN_OR_RETURN(int64_t total, Int(*parts, "total", where + ".parts"));
  if (total < 0 || total > std::numeric_limits<uint32_t>::max())
    return OutOfRange(where + ".parts.total out of uint32 range");
  id.parts.total = static_cast<uint32_t>(total);
  ASSIGN_OR_RETURN(id.parts.hash, HexField(*parts, "hash", where + ".parts"));
  return id;
}

Result<Header> ParseHeader(const json& h) {
  const std::string w = "header";
  Header out;
  ASSIGN_OR_RETURN(const json* version, Need(h, "version", w));
  ASSIGN_OR_RETURN(int64_t block, Int(*version, "block", w + ".version"));
  // app is omitted from the JSON when zero (omitempty).
  int64_t app = 0;
  if (Field(*version, "app")) {
    ASSIGN_OR_RETURN(app, Int(*version, "app", w + ".version"));
  }
  if (block < 0 || app < 0) return InvalidArgument("header.version is negative");
  out.version_block = static_cast<uint64_t>(block);
  out.version_app = static_cast<uint64_t>(app);
  ASSIGN_OR_RETURN(out.chain_id, Str(h, "chain_id", w));
  ASSIGN_OR_RETURN(out.height, Int(h, "height", w));
  ASSIGN_OR_RETURN(out.time, TimeField(h, "time", w));
  ASSIGN_OR_RETURN(const json* last, Need(h, "last_block_id", w));
  ASSIGN_OR_RETURN(out.last_block_id, ParseBlockId(*last, w + ".last_block_id"));
  ASSIGN_OR_RETURN(out.last_commit_hash, HexField(h, "last_commit_hash", w));
  ASSIGN_OR_RETURN(out.data_hash, HexField(h, "data_hash", w));
  ASSIGN_OR_RETURN(out.validators_hash, HexField(h, "validators_hash", w));
  ASSIGN_OR_RETURN(out.next_validators_hash, HexField(h, "next_validators_hash", w));
  ASSIGN_OR_RETURN(out.consensus_hash, HexField(h, "consensus_hash", w));
  ASSIGN_OR_RETURN(out.app_hash, HexField(h, "app_hash", w));
  ASSIGN_OR_RETURN(out.last_results_hash, HexField(h, "last_results_hash", w));
  ASSIGN_OR_RETURN(out.evidence_hash, HexField(h, "evidence_hash", w));
  ASSIGN_OR_RETURN(out.proposer_address, HexField(h, "proposer_address", w));
  return out;
}

Result<Validator> ParseValidator(const json& v, const char* power_field, const std::string& where) {
  Validator out;
  ASSIGN_OR_RETURN(out.address, HexField(v, "address", where));
  ASSIGN_OR_RETURN(const json* pk, Need(v, "pub_key", where));
  ASSIGN_OR_RETURN(std::string type, Str(*pk, "type", where + ".pub_key"));
  if (type != "tendermint/PubKeyEd25519")
    return Unimplemented(where + ": key type '" + type + "' is not supported (ed25519 only)");
  ASSIGN_OR_RETURN(Bytes key, Base64Field(*pk, "value", where + ".pub_key"));
  if (key.size() != kEd25519KeySize)
    return InvalidArgument(where + ": ed25519 key is " + std::to_string(key.size()) + " bytes, not 32");
  std::copy(key.begin(), key.end(), out.pub_key.begin());
  ASSIGN_OR_RETURN(out.voting_power, Int(v, power_field, where));
  return out;
}

}  // namespace

Result<Bytes> DecodeBase64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return InvalidArgument("base64 length is not a multiple of 4");
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    uint32_t acc = 0;
    for (size_t k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        ++pad;
        acc <<= 6;
        continue;
      }
      int d = value(c);
      if (d < 0 || pad) return InvalidArgument("invalid base64");
      acc = acc << 6 | static_cast<uint32_t>(d);
    }
    // Canonical: the bits under the padding are zero.
    if ((pad == 1 && (acc & 0xff)) || (pad == 2 && (acc & 0xffff))) return InvalidArgument("non-canonical base64");
    out.push_back(static_cast<uint8_t>(acc >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(acc >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(acc));
  }
  return out;
}

Result<Timestamp> ParseRfc3339(std::string_view s) {
  auto digits = [&](size_t pos, size_t n) -> int {
    if (pos + n > s.size()) return -1;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const Status bad = InvalidArgument("not an RFC 3339 time: '" + std::string(s.substr(0, 40)) + "'");
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
    return bad;
  int year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  int hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 59)
    return bad;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return bad;
  size_t pos = 19;
  int32_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n == 9) return bad;  // more than nanosecond precision
      nanos = nanos * 10 + (s[pos] - '0');
      ++pos, ++n;
    }
    if (n == 0) return bad;
    for (; n < 9; ++n) nanos *= 10;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (oh < 0 || om < 0 || pos + 6 > s.size() || s[pos + 3] != ':' || oh > 23 || om > 59) return bad;
    offset_s = (s[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return bad;
  }
  if (pos != s.size()) return bad;
  // Days from 1970-01-01 (H. Hinnant's days_from_civil).
  const int64_t y = year - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return Timestamp{days * 86400 + hour * 3600 + minute * 60 + second - offset_s, nanos};
}

Result<SignedHeader> ParseCommitJson(std::string_view text) {
  ASSIGN_OR_RETURN(json r, RpcResult(text, "commit"));
  const json* sh = Field(r, "signed_header");
  if (!sh) sh = &r;  // a bare {"header", "commit"} object
  SignedHeader out;
  ASSIGN_OR_RETURN(const json* header, Need(*sh, "header", "signed_header"));
  ASSIGN_OR_RETURN(out.header, ParseHeader(*header));
  ASSIGN_OR_RETURN(const json* commit, Need(*sh, "commit", "signed_header"));
  const std::string w = "commit";
  ASSIGN_OR_RETURN(out.commit.height, Int(*commit, "height", w));
  ASSIGN_OR_RETURN(int64_t round, Int(*commit, "round", w));
  if (round < 0 || round > std::numeric_limits<int32_t>::max()) return OutOfRange("commit.round out of range");
  out.commit.round = static_cast<int32_t>(round);
  ASSIGN_OR_RETURN(const json* id, Need(*commit, "block_id", w));
  ASSIGN_OR_RETURN(out.commit.block_id, ParseBlockId(*id, w + ".block_id"));
  ASSIGN_OR_RETURN(const json* sigs, Need(*commit, "signatures", w));
  if (!sigs->is_array()) return InvalidArgument("commit.signatures is not an array");
  for (size_t i = 0; i < sigs->size(); ++i) {
    const json& s = (*sigs)[i];
    const std::string at = "commit.signatures[" + std::to_string(i) + "]";
    CommitSig sig;
    ASSIGN_OR_RETURN(int64_t flag, Int(s, "block_id_flag", at));
    if (flag < 1 || flag > 3) return InvalidArgument(at + ": unknown block_id_flag " + std::to_string(flag));
    sig.flag = static_cast<BlockIdFlag>(flag);
    ASSIGN_OR_RETURN(sig.validator_address, HexField(s, "validator_address", at));
    ASSIGN_OR_RETURN(sig.timestamp, TimeField(s, "timestamp", at));
    ASSIGN_OR_RETURN(sig.signature, Base64Field(s, "signature", at));
    out.commit.signatures.push_back(std::move(sig));
  }
  return out;
}

Result<ValidatorsPage> ParseValidatorsJson(std::string_view text) {
  ASSIGN_OR_RETURN(json r, RpcResult(text, "validators"));
  ValidatorsPage page;
  ASSIGN_OR_RETURN(page.block_height, Int(r, "block_height", "validators"));
  ASSIGN_OR_RETURN(page.total, Int(r, "total", "validators"));
  ASSIGN_OR_RETURN(const json* vals, Need(r, "validators", "validators"));
  if (!vals->is_array()) return InvalidArgument("validators.validators is not an array");
  for (size_t i = 0; i < vals->size(); ++i) {
    ASSIGN_OR_RETURN(Validator v,
                     ParseValidator((*vals)[i], "voting_power", "validators[" + std::to_string(i) + "]"));
    page.validators.push_back(std::move(v));
  }
  return page;
}

Result<Genesis> ParseGenesisJson(std::string_view text) {
  ASSIGN_OR_RETURN(json r, RpcResult(text, "genesis"));
  const json* g = Field(r, "genesis");  // GET /genesis wraps it
  if (!g) g = &r;
  Genesis out;
  ASSIGN_OR_RETURN(out.chain_id, Str(*g, "chain_id", "genesis"));
  if (out.chain_id.empty()) return InvalidArgument("genesis chain_id is empty");
  if (Field(*g, "initial_height")) {
    ASSIGN_OR_RETURN(out.initial_height, Int(*g, "initial_height", "genesis"));
    if (out.initial_height < 0) return InvalidArgument("genesis initial_height is negative");
    if (out.initial_height == 0) out.initial_height = 1;
  }
  const json* vals = Field(*g, "validators");
  if (!vals || vals->is_null() || (vals->is_array() && vals->empty()))
    return FailedPrecondition("genesis names no validators (a set given by the app's InitChain cannot be trusted "
                              "from a genesis file)");
  if (!vals->is_array()) return InvalidArgument("genesis.validators is not an array");
  std::vector<Validator> list;
  for (size_t i = 0; i < vals->size(); ++i) {
    ASSIGN_OR_RETURN(Validator v, ParseValidator((*vals)[i], "power", "genesis.validators[" + std::to_string(i) + "]"));
    list.push_back(std::move(v));
  }
  auto set = MakeValidatorSet(std::move(list));
  if (!set.ok()) return set.status().WithContext("genesis validators");
  out.validators = std::move(*set);
  return out;
}

}  // namespace lucid::lightclient
