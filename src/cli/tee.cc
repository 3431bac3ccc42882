// `lucid tee verify`: offline verification of an AWS Nitro attestation document with the same
// code the validators run (tee/nitro.h).
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "tee/nitro.h"

namespace lucid::cli {

namespace {

using nlohmann::json;

Result<Bytes> ReadWholeFile(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unavailable("cannot read " + path);
  std::string s;
  char buf[8192];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    s.append(buf, static_cast<size_t>(in.gcount()));
    if (s.size() > limit) return OutOfRange(path + ": larger than " + std::to_string(limit) + " bytes");
  }
  return ToBytes(s);
}

std::string IsoMs(int64_t ms) {
  const int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  std::time_t t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(ms - s * 1000));
  return out;
}

// Milliseconds since the epoch, or RFC 3339 ("2022-09-15T17:43:28Z", fraction and offset optional).
Result<int64_t> ParseTime(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    if (text.size() > 18) return InvalidArgument("--at: number too large");
    return static_cast<int64_t>(std::stoll(text));
  }
  int y, mo, d, h, mi, sec, n = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n == 0)
    return InvalidArgument("--at: expected milliseconds since the epoch or RFC 3339, got '" + text + "'");
  std::string rest = text.substr(static_cast<size_t>(n));
  int64_t frac_ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    int64_t scale = 100;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) {
      frac_ms += (rest[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == 1) return InvalidArgument("--at: empty fraction");
    rest = rest.substr(i);
  }
  int64_t offset_s = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(rest.c_str() + 1, "%2d:%2d", &oh, &om) != 2) return InvalidArgument("--at: bad offset");
    offset_s = (oh * 3600 + om * 60) * (rest[0] == '+' ? 1 : -1);
  } else {
    return InvalidArgument("--at: RFC 3339 time needs 'Z' or an offset like +02:00");
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return InvalidArgument("--at: date or time out of range");
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return (static_cast<int64_t>(timegm(&tm)) - offset_s) * 1000 + frac_ms;
}

json OptBytesJson(const std::optional<Bytes>& b) {
  if (!b) return nullptr;
  return {{"length", b->size()}, {"hex", ToHex(*b)}};
}

std::string OptLen(const std::optional<Bytes>& b) {
  return b ? std::to_string(b->size()) + " bytes" : std::string("null");
}

bool AllZero(const Bytes& b) {
  for (uint8_t x : b)
    if (x) return false;
  return true;
}

// A bad argument: printed like any failure, exit code 2.
int Usage(const Context& ctx, const Status& s) {
  Fail(ctx, s);
  return kExitUsage;
}

}  // namespace

int TeeVerify(const Context& ctx, const TeeVerifyOptions& opts) {
  auto file = ReadWholeFile(opts.doc_file, 4 * tee::kMaxDocumentBytes);
  if (!file.ok()) return Fail(ctx, file.status());
  auto doc = tee::DecodeDocumentFile(*file);
  if (!doc.ok()) return Fail(ctx, doc.status());
  const bool base64 = !file->empty() && (*file)[0] != 0x84 && (*file)[0] != 0xd2;

  tee::VerifyOptions vo;
  if (opts.at.empty()) {
    vo.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  } else {
    auto t = ParseTime(opts.at);
    if (!t.ok()) return Usage(ctx, t.status());
    vo.time_ms = *t;
  }
  if (!opts.pcr0_hex.empty()) {
    auto pcr0 = FromHex(opts.pcr0_hex);
    if (!pcr0.ok() || pcr0->size() != tee::kPcrBytes)
      return Usage(ctx, InvalidArgument("--pcr0 must be 48 bytes of hex (SHA-384)"));
    vo.expected_pcr0 = *pcr0;
  }
  if (!opts.nonce_hex.empty()) {
    auto nonce = FromHex(opts.nonce_hex);
    if (!nonce.ok()) return Usage(ctx, InvalidArgument("--nonce must be hex"));
    vo.expected_nonce = *nonce;
  }
  if (!opts.key_hash_hex.empty()) {
    auto h = Hash32FromHex(opts.key_hash_hex);
    if (!h.ok()) return Usage(ctx, InvalidArgument("--key-hash must be 32 bytes of hex"));
    vo.expected_key_hash = *h;
  }
  if (!opts.root_file.empty()) {
    auto root = ReadWholeFile(opts.root_file, 64 * 1024);
    if (!root.ok()) return Fail(ctx, root.status());
    vo.trusted_root_der = *root;
  }
  if (opts.max_age_s) vo.max_age_ms = *opts.max_age_s * 1000;

  const auto t0 = std::chrono::steady_clock::now();
  const tee::NitroReport report = tee::CheckNitroDocument(*doc, vo);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const Status verdict = report.status();

  if (ctx.json_output) {
    json out = {{"valid", verdict.ok()},
                {"file", opts.doc_file},
                {"encoding", base64 ? "base64" : "raw"},
                {"bytes", doc->size()},
                {"verified_at_ms", vo.time_ms},
                {"verified_at", IsoMs(vo.time_ms)},
                {"trusted_root", opts.root_file.empty() ? "pinned AWS Nitro root" : opts.root_file},
                {"verify_ms", ms}};
    if (!verdict.ok()) out["reason"] = verdict.message();
    if (report.document) {
      const tee::NitroDocument& d = *report.document;
      json pcrs = json::object();
      for (const auto& [i, v] : d.pcrs) pcrs[std::to_string(i)] = ToHex(v);
      out["document"] = {{"module_id", d.module_id},
                         {"digest", d.digest},
                         {"timestamp_ms", d.timestamp_ms},
                         {"timestamp", IsoMs(static_cast<int64_t>(d.timestamp_ms))},
                         {"pcrs", pcrs},
                         {"debug_mode", tee::IsDebugMode(d)},
                         {"public_key", OptBytesJson(d.public_key)},
                         {"user_data", OptBytesJson(d.user_data)},
                         {"nonce", OptBytesJson(d.nonce)},
                         {"certificate_bytes", d.certificate.size()},
                         {"cabundle_certificates", d.cabundle.size()},
                         {"tagged", d.tagged}};
    }
    json certs = json::array();
    for (const auto& c : report.chain)
      certs.push_back({{"subject", c.subject},
                       {"not_before", IsoMs(c.not_before_s * 1000)},
                       {"not_after", IsoMs(c.not_after_s * 1000)}});
    out["certificates"] = certs;
    json checks = json::array();
    for (const auto& c : report.checks) checks.push_back({{"check", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    out["checks"] = checks;
    PrintJson(out);
    return verdict.ok() ? kExitOk : kExitFailed;
  }

  std::cout << "document     " << opts.doc_file << " (" << doc->size() << " bytes, "
            << (base64 ? "base64" : "raw CBOR") << ")\n";
  if (report.document) {
    const tee::NitroDocument& d = *report.document;
    std::cout << "module_id    " << d.module_id << "\n"
              << "timestamp    " << d.timestamp_ms << " (" << IsoMs(static_cast<int64_t>(d.timestamp_ms)) << ")\n"
              << "digest       " << d.digest << "\n";
    for (const auto& [i, v] : d.pcrs) {
      if (i <= 2 || i == 8 || !AllZero(v)) {
        std::string label = "pcr" + std::to_string(i);
        label.resize(13, ' ');
        std::cout << label << ToHex(v) << "\n";
      }
    }
    std::cout << "             (" << d.pcrs.size() << " PCRs; shown: 0-2, 8 and any other non-zero)\n"
              << "public_key   " << OptLen(d.public_key) << "\n"
              << "user_data    " << OptLen(d.user_data) << "\n"
              << "nonce        " << OptLen(d.nonce) << "\n";
  }
  if (!report.chain.empty()) {
    std::cout << "certificates (leaf first)\n";
    for (const auto& c : report.chain)
      std::cout << "  " << c.subject << "\n    valid " << IsoMs(c.not_before_s * 1000) << " .. "
                << IsoMs(c.not_after_s * 1000) << "\n";
  }
  std::cout << "verified at  " << IsoMs(vo.time_ms) << " against "
            << (opts.root_file.empty() ? "the pinned AWS Nitro root" : opts.root_file) << "\n"
            << "checks\n";
  for (const auto& c : report.checks) {
    std::string name = c.name;
    name.resize(28, ' ');
    std::cout << "  " << (c.ok ? "ok       " : "REFUSED  ") << name << c.detail << "\n";
  }
  std::printf("verify %.3f ms\n", ms);
  if (!verdict.ok()) {
    std::cout << "REFUSED: " << verdict.message() << "\n";
    return kExitFailed;
  }
  std::cout << "VALID\n";
  return kExitOk;
}

}  // namespace lucid::cli
