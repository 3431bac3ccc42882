// tee: Nitro attestation documents — parsing, every verification check and its refusal, real
// public documents (tests/data/tee/PROVENANCE.md), and the verification time.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.h"
#include "tee/dev_pki.h"
#include "tee/nitro.h"

namespace lucid::tee {
namespace {

constexpr int64_t kT0 = 1780000000;  // 2026-05-28T20:26:40Z: dev PKI notBefore (seconds)
constexpr uint64_t kDocMs = (kT0 + 600) * 1000ull;  // document timestamp
constexpr int64_t kVerifyMs = kDocMs + 1500;

Bytes Pcr(uint8_t fill) { return Bytes(kPcrBytes, fill); }

NitroPayload DevPayload() {
  NitroPayload p;
  p.module_id = "i-0123456789abcdef0-enc0123456789abcdef";
  p.timestamp_ms = kDocMs;
  for (uint32_t i = 0; i < 16; ++i) p.pcrs[i] = Pcr(i < 5 ? static_cast<uint8_t>(0x10 + i) : 0);
  p.user_data = ToBytes("user data");
  p.nonce = ToBytes("nonce-1234");
  p.public_key = Bytes(97, 0x04);
  return p;
}

const DevPki& Pki() {
  static const DevPki pki = [] {
    DevPkiOptions o;
    o.not_before_s = kT0;
    auto r = GenerateDevPki(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.value();
  }();
  return pki;
}

VerifyOptions DevOptions() {
  VerifyOptions o;
  o.time_ms = kVerifyMs;
  o.trusted_root_der = Pki().root_der;
  return o;
}

Bytes Build(const NitroPayload& p, const DevPki& pki = Pki()) {
  auto doc = BuildNitroDocument(pki, p);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? doc.value() : Bytes{};
}

// The first refused check's name, "" if every check passed.
std::string Refused(ByteView doc, const VerifyOptions& o) {
  NitroReport r = CheckNitroDocument(doc, o);
  for (const auto& c : r.checks)
    if (!c.ok) return c.name;
  return "";
}

// ---- a tiny CBOR writer for hand-made payloads ----
void Head(Bytes* out, int major, uint64_t v) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (v < 24) return out->push_back(m | static_cast<uint8_t>(v));
  const int n = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffull ? 4 : 8;
  out->push_back(m | static_cast<uint8_t>(n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
  for (int i = n - 1; i >= 0; --i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
Bytes Txt(std::string_view s) {
  Bytes o;
  Head(&o, 3, s.size());
  o.insert(o.end(), s.begin(), s.end());
  return o;
}
Bytes Bst(ByteView b) {
  Bytes o;
  Head(&o, 2, b.size());
  o.insert(o.end(), b.begin(), b.end());
  return o;
}
Bytes Uint(uint64_t v) {
  Bytes o;
  Head(&o, 0, v);
  return o;
}
using Fields = std::vector<std::pair<std::string, Bytes>>;
Bytes Map(const Fields& f) {
  Bytes o;
  Head(&o, 5, f.size());
  for (const auto& [k, v] : f) {
    Bytes key = Txt(k);
    o.insert(o.end(), key.begin(), key.end());
    o.insert(o.end(), v.begin(), v.end());
  }
  return o;
}
Bytes PcrMap(size_t n, size_t len = kPcrBytes) {
  Bytes o;
  Head(&o, 5, n);
  for (size_t i = 0; i < n; ++i) {
    Head(&o, 0, i);
    Bytes v = Bst(Bytes(len, static_cast<uint8_t>(i + 1)));
    o.insert(o.end(), v.begin(), v.end());
  }
  return o;
}
Fields GoodFields() {
  Bytes bundle;
  Head(&bundle, 4, 2);
  Bytes r = Bst(Pki().root_der), i = Bst(Pki().intermediate_der);
  bundle.insert(bundle.end(), r.begin(), r.end());
  bundle.insert(bundle.end(), i.begin(), i.end());
  return {{"module_id", Txt("i-1-enc2")}, {"digest", Txt("SHA384")}, {"timestamp", Uint(kDocMs)},
          {"pcrs", PcrMap(16)},          {"certificate", Bst(Pki().leaf_der)}, {"cabundle", bundle},
          {"public_key", {0xf6}},        {"user_data", {0xf6}},                {"nonce", {0xf6}}};
}
const Bytes kProtected = {0xa1, 0x01, 0x38, 0x22};
Bytes Signed(const Bytes& payload, const Bytes& prot = kProtected) {
  auto doc = SignCoseSign1(Pki(), prot, payload, false);
  EXPECT_TRUE(doc.ok());
  return doc.value();
}
std::string ParseError(const Bytes& doc) {
  auto r = ParseNitroDocument(doc);
  return r.ok() ? "" : r.status().message();
}
Bytes ReadData(const std::string& name) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/tests/data/tee/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::string s((std::istreambuf_iterator<char>(in)), {});
  auto doc = DecodeDocumentFile(AsBytes(s));
  EXPECT_TRUE(doc.ok()) << name << ": " << doc.status().ToString();
  return doc.ok() ? doc.value() : Bytes{};
}

int64_t NowMs() { return static_cast<int64_t>(std::time(nullptr)) * 1000; }

// ---------------- pinned root ----------------

TEST(Tee, PinnedAwsRootHasTheKnownSha256) {
  EXPECT_EQ(ToHex(crypto::Sha256(AwsNitroRootDer())),
            "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
}

// ---------------- dev documents ----------------

TEST(Tee, DevDocumentParsesAndVerifies) {
  const NitroPayload p = DevPayload();
  const Bytes doc = Build(p);
  auto parsed = ParseNitroDocument(doc);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->module_id, p.module_id);
  EXPECT_EQ(parsed->digest, "SHA384");
  EXPECT_EQ(parsed->timestamp_ms, kDocMs);
  EXPECT_EQ(parsed->pcrs, p.pcrs);
  EXPECT_EQ(parsed->certificate, Pki().leaf_der);
  ASSERT_EQ(parsed->cabundle.size(), 2u);
  EXPECT_EQ(parsed->cabundle[0], Pki().root_der);
  EXPECT_EQ(parsed->user_data, p.user_data);
  EXPECT_EQ(parsed->nonce, p.nonce);
  EXPECT_EQ(parsed->public_key, p.public_key);
  EXPECT_FALSE(parsed->tagged);
  EXPECT_EQ(parsed->signature.size(), 96u);

  auto v = VerifyNitroDocument(doc, DevOptions());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->leaf_public_key.size(), 97u);
  EXPECT_EQ(v->chain.size(), 3u);  // leaf, intermediate, root
  NitroReport r = CheckNitroDocument(doc, DevOptions());
  EXPECT_TRUE(r.ok());
  for (const char* name : {"parse", "certificate chain", "signature", "timestamp in leaf validity", "debug mode",
                           "document age"})
    EXPECT_TRUE(std::any_of(r.checks.begin(), r.checks.end(), [&](const NitroCheck& c) { return c.name == name && c.ok; }))
        << name;
}

TEST(Tee, TaggedDocumentVerifies) {
  NitroPayload p = DevPayload();
  p.tagged = true;
  const Bytes doc = Build(p);
  EXPECT_EQ(doc[0], 0xd2);
  auto v = VerifyNitroDocument(doc, DevOptions());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->document.tagged);
  // Another tag is refused.
  Bytes other = doc;
  other[0] = 0xd1;
  EXPECT_NE(ParseError(other).find("tag 17"), std::string::npos) << ParseError(other);
}

TEST(Tee, IndefiniteLengthMapsAndNullNonce) {
  NitroPayload p = DevPayload();
  p.indefinite_maps = true;
  p.nonce.reset();
  p.public_key.reset();
  const Bytes doc = Build(p);
  auto v = VerifyNitroDocument(doc, DevOptions());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->document.nonce.has_value());
  EXPECT_FALSE(v->document.public_key.has_value());
  EXPECT_EQ(v->document.pcrs.size(), 16u);
  // A nonce asked for but null in the document is refused.
  VerifyOptions o = DevOptions();
  o.expected_nonce = ToBytes("n");
  EXPECT_EQ(Refused(doc, o), "nonce");
}

TEST(Tee, IndefiniteLengthStringsAndArrays) {
  Fields f = GoodFields();
  f[0].second = {0x7f, 0x63, 'i', '-', '1', 0x64, '-', 'e', 'n', 'c', 0x61, '2', 0xff};  // "i-1-enc2" in chunks
  Bytes nonce = {0x5f, 0x42, 0x01, 0x02, 0x41, 0x03, 0xff};                             // h'010203' in chunks
  f[8].second = nonce;
  Bytes bundle = {0x9f};
  Bytes r = Bst(Pki().root_der), i = Bst(Pki().intermediate_der);
  bundle.insert(bundle.end(), r.begin(), r.end());
  bundle.insert(bundle.end(), i.begin(), i.end());
  bundle.push_back(0xff);
  f[5].second = bundle;
  const Bytes doc = Signed(Map(f));
  auto v = VerifyNitroDocument(doc, DevOptions());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->document.module_id, "i-1-enc2");
  EXPECT_EQ(v->document.nonce, (Bytes{1, 2, 3}));
  EXPECT_EQ(v->document.cabundle.size(), 2u);
}

TEST(Tee, FlippedByteAnywhereIsRefused) {
  const Bytes doc = Build(DevPayload());
  ASSERT_TRUE(VerifyNitroDocument(doc, DevOptions()).ok());
  auto parsed = ParseNitroDocument(doc).value();
  // Regions, to check that each kind of byte is covered.
  const size_t payload_at = static_cast<size_t>(
      std::search(doc.begin(), doc.end(), parsed.payload.begin(), parsed.payload.end()) - doc.begin());
  const size_t cert_at = static_cast<size_t>(
      std::search(doc.begin(), doc.end(), parsed.certificate.begin(), parsed.certificate.end()) - doc.begin());
  const size_t sig_at = doc.size() - 96;
  int refused = 0, in_sig = 0, in_cert = 0, in_prot = 0, in_payload = 0;
  for (size_t i = 0; i < doc.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
      if (mask == 0x80 && i % 4 != 0) continue;  // every byte once, every fourth byte twice
      Bytes t = doc;
      t[i] ^= mask;
      auto v = VerifyNitroDocument(t, DevOptions());
      ASSERT_FALSE(v.ok()) << "flip 0x" << std::hex << int(mask) << " at byte " << std::dec << i << " accepted";
      ++refused;
    }
    in_sig += i >= sig_at;
    in_cert += i >= cert_at && i < cert_at + parsed.certificate.size();
    in_prot += i >= 2 && i < 6;
    in_payload += i >= payload_at && i < payload_at + parsed.payload.size();
  }
  EXPECT_EQ(in_sig, 96);
  EXPECT_EQ(in_prot, 4);
  EXPECT_EQ(static_cast<size_t>(in_cert), parsed.certificate.size());
  EXPECT_EQ(static_cast<size_t>(in_payload), parsed.payload.size());
  EXPECT_EQ(static_cast<size_t>(refused), doc.size() + (doc.size() + 3) / 4);
  // Reasons by region.
  Bytes t = doc;
  t[sig_at + 10] ^= 1;
  EXPECT_EQ(Refused(t, DevOptions()), "signature");
  t = doc;
  t[payload_at + 40] ^= 1;  // inside module_id text: still parses, signature breaks
  EXPECT_EQ(Refused(t, DevOptions()), "signature");
  t = doc;
  t[cert_at + parsed.certificate.size() - 20] ^= 1;  // the leaf's own signature
  EXPECT_EQ(Refused(t, DevOptions()), "certificate chain");
  t = doc;
  t[5] ^= 1;  // alg -35 -> -36
  EXPECT_EQ(Refused(t, DevOptions()), "parse");
}

TEST(Tee, TruncatedAndTrailingBytesAreRefused) {
  const Bytes doc = Build(DevPayload());
  for (size_t n = 0; n < doc.size(); ++n)
    ASSERT_FALSE(ParseNitroDocument(ByteView(doc.data(), n)).ok()) << "prefix of " << n << " bytes parsed";
  Bytes longer = doc;
  longer.push_back(0x00);
  EXPECT_NE(ParseError(longer).find("trailing"), std::string::npos) << ParseError(longer);
}

TEST(Tee, OversizeDocumentIsRefused) {
  Bytes big(kMaxDocumentBytes + 1, 0);
  big[0] = 0x84;
  auto r = ParseNitroDocument(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  // The same through the report.
  NitroReport rep = CheckNitroDocument(big, DevOptions());
  EXPECT_EQ(rep.status().code(), Code::kOutOfRange);
}

TEST(Tee, DeepNestingIsRefused) {
  Bytes deep(5000, 0x81);  // [[[[...
  deep.push_back(0x00);
  EXPECT_NE(ParseError(deep).find("nesting"), std::string::npos) << ParseError(deep);
}

TEST(Tee, StrictFieldsNameTheField) {
  ASSERT_EQ(ParseError(Signed(Map(GoodFields()))), "");
  struct Case {
    std::string field, expect;
    std::function<void(Fields&)> edit;
  };
  const std::vector<Case> cases = {
      {"cabundle", "'cabundle': missing", [](Fields& f) { f.erase(f.begin() + 5); }},
      {"certificate", "'certificate': missing", [](Fields& f) { f.erase(f.begin() + 4); }},
      {"pcrs", "'pcrs': missing", [](Fields& f) { f.erase(f.begin() + 3); }},
      {"timestamp", "'timestamp': expected an unsigned integer", [](Fields& f) { f[2].second = Txt("1"); }},
      {"digest", "'digest': 'SHA256'", [](Fields& f) { f[1].second = Txt("SHA256"); }},
      {"module_id", "'module_id': expected a text string", [](Fields& f) { f[0].second = Bst(ToBytes("x")); }},
      {"pcrs", "'pcrs[0]': 32 bytes", [](Fields& f) { f[3].second = PcrMap(16, 32); }},
      {"pcrs", "'pcrs': 33 entries", [](Fields& f) { f[3].second = PcrMap(33); }},
      {"pcrs", "'pcrs': expected a map", [](Fields& f) { f[3].second = Bst(Pcr(1)); }},
      {"certificate", "'certificate': expected a byte string", [](Fields& f) { f[4].second = Txt("pem"); }},
      {"cabundle", "'cabundle': expected an array", [](Fields& f) { f[5].second = Bst(Pki().root_der); }},
      {"cabundle", "'cabundle': 0 certificates", [](Fields& f) { f[5].second = {0x80}; }},
      {"nonce", "'nonce': expected a byte string", [](Fields& f) { f[8].second = Txt("n"); }},
      {"nonce", "'nonce': 513 bytes", [](Fields& f) { f[8].second = Bst(Bytes(513, 1)); }},
      {"user_data", "'user_data': expected a byte string", [](Fields& f) { f[7].second = Uint(5); }},
      {"public_key", "'public_key': expected a byte string", [](Fields& f) { f[6].second = {0xf5}; }},
      {"extra", "'extra': unknown field", [](Fields& f) { f.push_back({"extra", Uint(1)}); }},
      {"nonce", "'nonce': appears twice", [](Fields& f) { f.push_back({"nonce", {0xf6}}); }},
  };
  for (const auto& c : cases) {
    Fields f = GoodFields();
    c.edit(f);
    const std::string err = ParseError(Signed(Map(f)));
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.field << ": got '" << err << "'";
  }
  // A payload that is not a map; integer map keys.
  EXPECT_NE(ParseError(Signed(Txt("hello"))).find("expected a map"), std::string::npos);
  Bytes int_keys = {0xa1, 0x01, 0x02};
  EXPECT_NE(ParseError(Signed(int_keys)).find("payload key"), std::string::npos);
}

TEST(Tee, CoseEnvelopeIsStrict) {
  const Bytes payload = Map(GoodFields());
  // ES256 (-7) instead of ES384.
  EXPECT_NE(ParseError(Signed(payload, {0xa1, 0x01, 0x26})).find("ES384"), std::string::npos);
  // Extra protected parameter.
  EXPECT_NE(ParseError(Signed(payload, {0xa2, 0x01, 0x38, 0x22, 0x04, 0x41, 0x00})).find("{1: -35}"),
            std::string::npos);
  // Array of 3.
  Bytes doc = Signed(payload);
  doc[0] = 0x83;
  EXPECT_FALSE(ParseNitroDocument(doc).ok());
  // 64-byte signature.
  Bytes short_sig = Signed(payload);
  short_sig.resize(short_sig.size() - 32);
  short_sig[short_sig.size() - 66] = 0x58;  // keep the bstr head consistent: 0x58 0x40
  short_sig[short_sig.size() - 65] = 0x40;
  EXPECT_NE(ParseError(short_sig).find("signature"), std::string::npos) << ParseError(short_sig);
  // Detached (nil) payload.
  Bytes nil = {0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0xf6, 0x58, 0x60};
  nil.resize(nil.size() + 96, 0);
  EXPECT_NE(ParseError(nil).find("payload"), std::string::npos) << ParseError(nil);
}

TEST(Tee, WrongRootIsRefused) {
  const Bytes doc = Build(DevPayload());
  DevPkiOptions o;
  o.not_before_s = kT0;
  o.name = "other";
  DevPki other = GenerateDevPki(o).value();
  VerifyOptions vo = DevOptions();
  vo.trusted_root_der = other.root_der;
  EXPECT_EQ(Refused(doc, vo), "certificate chain");
  // The pinned AWS root (the default) refuses a dev document, although its bundle starts
  // with a self-signed root: trust comes from the pin, never from the bundle.
  vo.trusted_root_der.clear();
  NitroReport r = CheckNitroDocument(doc, vo);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Refused(doc, vo), "certificate chain");
  EXPECT_NE(r.status().message().find("pinned AWS Nitro root"), std::string::npos) << r.status().message();
}

TEST(Tee, ForgedBundleAndSelfSignedLeafAreRefused) {
  // The real AWS root copied into the bundle in front of a dev intermediate: the intermediate is
  // not signed by AWS, so the chain to the pin fails.
  Fields f = GoodFields();
  Bytes bundle;
  Head(&bundle, 4, 2);
  Bytes r = Bst(AwsNitroRootDer()), i = Bst(Pki().intermediate_der);
  bundle.insert(bundle.end(), r.begin(), r.end());
  bundle.insert(bundle.end(), i.begin(), i.end());
  f[5].second = bundle;
  VerifyOptions pinned;
  pinned.time_ms = kVerifyMs;
  const Bytes forged = Signed(Map(f));
  ASSERT_EQ(ParseError(forged), "");
  EXPECT_EQ(Refused(forged, pinned), "certificate chain");
  // A self-signed leaf (here the dev root itself), alone in its bundle.
  Fields s = GoodFields();
  s[4].second = Bst(Pki().root_der);
  Bytes one;
  Head(&one, 4, 1);
  Bytes rr = Bst(Pki().root_der);
  one.insert(one.end(), rr.begin(), rr.end());
  s[5].second = one;
  const Bytes self_signed = Signed(Map(s));
  NitroReport rep = CheckNitroDocument(self_signed, pinned);
  EXPECT_EQ(Refused(self_signed, pinned), "certificate chain");
  EXPECT_NE(rep.status().message().find("self-signed"), std::string::npos) << rep.status().message();
}

TEST(Tee, ExpiredAndNotYetValidLeafAreRefused) {
  const Bytes doc = Build(DevPayload());
  VerifyOptions o = DevOptions();
  o.max_age_ms = UINT64_MAX / 2;
  o.time_ms = (kT0 + 3 * 3600) * 1000;  // the leaf's notAfter
  NitroReport r = CheckNitroDocument(doc, o);
  EXPECT_EQ(Refused(doc, o), "certificate chain");
  EXPECT_NE(r.status().message().find("expired"), std::string::npos) << r.status().message();
  o.time_ms = (kT0 + 3 * 3600 - 1) * 1000;  // the last valid second (OpenSSL: notAfter itself is expired)
  EXPECT_EQ(Refused(doc, o), "");
  o.time_ms = (kT0 - 1) * 1000;
  o.max_future_ms = UINT64_MAX / 2;
  r = CheckNitroDocument(doc, o);
  EXPECT_EQ(Refused(doc, o), "certificate chain");
  EXPECT_NE(r.status().message().find("not yet valid"), std::string::npos) << r.status().message();
}

TEST(Tee, TimestampOutsideLeafValidityIsRefused) {
  NitroPayload p = DevPayload();
  p.timestamp_ms = (kT0 - 10) * 1000;  // before the leaf's notBefore
  const Bytes doc = Build(p);
  VerifyOptions o = DevOptions();
  o.time_ms = (kT0 + 5) * 1000;
  EXPECT_EQ(Refused(doc, o), "timestamp in leaf validity");
}

TEST(Tee, DocumentAgeIsChecked) {
  const Bytes doc = Build(DevPayload());
  VerifyOptions o = DevOptions();
  o.max_age_ms = 60 * 1000;
  o.time_ms = kDocMs + 61 * 1000;
  EXPECT_EQ(Refused(doc, o), "document age");
  o.time_ms = kDocMs + 60 * 1000;
  EXPECT_EQ(Refused(doc, o), "");
  o.time_ms = kDocMs - 5 * 60 * 1000 - 1;  // timestamp too far in the verifier's future
  EXPECT_EQ(Refused(doc, o), "document age");
}

TEST(Tee, KeyBindingForKeyAIsRefusedForKeyB) {
  const Bytes key_a = ToBytes("receipt key A (secp256k1 public key bytes)");
  const Bytes key_b = ToBytes("receipt key B (secp256k1 public key bytes)");
  const Hash32 ha = crypto::Sha256(key_a), hb = crypto::Sha256(key_b);
  // Bound through user_data (with a prefix) and through public_key (exactly).
  NitroPayload in_user = DevPayload();
  in_user.user_data = Concat({AsBytes("lucid:enclave-key:v1"), ha});
  NitroPayload in_key = DevPayload();
  in_key.public_key = Bytes(ha.begin(), ha.end());
  for (const NitroPayload& p : {in_user, in_key}) {
    const Bytes doc = Build(p);
    VerifyOptions o = DevOptions();
    o.expected_key_hash = ha;
    EXPECT_EQ(Refused(doc, o), "");
    o.expected_key_hash = hb;
    EXPECT_EQ(Refused(doc, o), "key binding");
  }
}

TEST(Tee, NonceIsChecked) {
  const Bytes doc = Build(DevPayload());
  VerifyOptions o = DevOptions();
  o.expected_nonce = ToBytes("nonce-1234");
  EXPECT_EQ(Refused(doc, o), "");
  o.expected_nonce = ToBytes("nonce-1235");
  EXPECT_EQ(Refused(doc, o), "nonce");
}

TEST(Tee, DebugModeIsRefused) {
  NitroPayload p = DevPayload();
  for (uint32_t i = 0; i < 3; ++i) p.pcrs[i] = Pcr(0);
  EXPECT_EQ(Refused(Build(p), DevOptions()), "debug mode");
  p.pcrs[2] = Pcr(1);  // any of PCR0-2 non-zero: not debug mode
  EXPECT_EQ(Refused(Build(p), DevOptions()), "");
}

TEST(Tee, ExpectedPcr0IsChecked) {
  const Bytes doc = Build(DevPayload());
  VerifyOptions o = DevOptions();
  o.expected_pcr0 = Pcr(0x10);
  EXPECT_EQ(Refused(doc, o), "");
  o.expected_pcr0 = Pcr(0x11);
  EXPECT_EQ(Refused(doc, o), "pcr0");
}

TEST(Tee, DocumentFileDecoding) {
  const Bytes doc = Build(DevPayload());
  EXPECT_EQ(DecodeDocumentFile(doc).value(), doc);
  // base64 with and without padding, with line breaks, URL-safe.
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t len : {doc.size(), doc.size() - 1, doc.size() - 2}) {
    std::string b64;
    for (size_t i = 0; i < len; i += 3) {
      uint32_t v = uint32_t(doc[i]) << 16 | (i + 1 < len ? uint32_t(doc[i + 1]) << 8 : 0) | (i + 2 < len ? doc[i + 2] : 0);
      const size_t chars = std::min<size_t>(4, (len - i) * 4 / 3 + ((len - i) < 3 ? 1 : 0));
      for (size_t k = 0; k < 4; ++k) b64 += k < chars ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=';
      if (i % 57 == 54) b64 += '\n';
    }
    auto back = DecodeDocumentFile(AsBytes(b64));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back.value(), Bytes(doc.begin(), doc.begin() + len));
    std::string unpadded = b64;
    unpadded.erase(std::remove(unpadded.begin(), unpadded.end(), '='), unpadded.end());
    EXPECT_EQ(DecodeDocumentFile(AsBytes(unpadded)).value(), Bytes(doc.begin(), doc.begin() + len));
  }
  EXPECT_FALSE(DecodeDocumentFile(AsBytes("hEShA*")).ok());
  EXPECT_FALSE(DecodeDocumentFile(AsBytes("")).ok());
}

// ---------------- real documents (tests/data/tee/PROVENANCE.md) ----------------

struct RealDoc {
  const char* file;
  uint64_t timestamp_ms;
  const char* module_prefix;
  bool indefinite;
};
const RealDoc kReal[] = {
    {"cape_2022-09-15.b64", 1663263808848ull, "i-0697c9729fa547b20-enc", false},
    {"epsilon_2026-02-06.b64", 1770366258452ull, "i-0761a4cbcc7632aef-enc", true},
};

TEST(TeeReal, VerifyAtTheirOwnTimeAndFailToday) {
  for (const RealDoc& rd : kReal) {
    SCOPED_TRACE(rd.file);
    const Bytes doc = ReadData(rd.file);
    auto parsed = ParseNitroDocument(doc);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->timestamp_ms, rd.timestamp_ms);
    EXPECT_EQ(parsed->module_id.rfind(rd.module_prefix, 0), 0u) << parsed->module_id;
    EXPECT_EQ(parsed->pcrs.size(), 16u);
    EXPECT_EQ(parsed->cabundle.size(), 4u);
    EXPECT_EQ(parsed->cabundle[0], Bytes(AwsNitroRootDer().begin(), AwsNitroRootDer().end()));
    EXPECT_EQ(doc[10] == 0xbf, rd.indefinite);  // payload map head: indefinite (0xbf) or 9 entries (0xa9)
    EXPECT_FALSE(IsDebugMode(*parsed));

    VerifyOptions at_own;  // the pinned AWS root
    at_own.time_ms = static_cast<int64_t>(rd.timestamp_ms);
    auto v = VerifyNitroDocument(doc, at_own);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->chain.size(), 5u);  // leaf, instance, zonal, regional, root
    EXPECT_EQ(v->chain.back().subject, "/C=US/O=Amazon/OU=AWS/CN=aws.nitro-enclaves");

    // With its own PCR0 pinned: valid; with another: refused.
    at_own.expected_pcr0 = parsed->pcrs.at(0);
    EXPECT_TRUE(VerifyNitroDocument(doc, at_own).ok());
    at_own.expected_pcr0 = Pcr(0x42);
    EXPECT_EQ(Refused(doc, at_own), "pcr0");

    // Today: the leaf (three hours) and the intermediates have long expired.
    VerifyOptions today;
    today.time_ms = NowMs();
    today.max_age_ms = UINT64_MAX / 2;
    NitroReport r = CheckNitroDocument(doc, today);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(Refused(doc, today), "certificate chain");
    EXPECT_NE(r.status().message().find("expired"), std::string::npos) << r.status().message();
    // ... and by default also too old.
    today.max_age_ms = VerifyOptions{}.max_age_ms;
    EXPECT_FALSE(VerifyNitroDocument(doc, today).ok());

    // Verified against a dev root: refused.
    VerifyOptions dev = at_own;
    dev.expected_pcr0.reset();
    dev.trusted_root_der = Pki().root_der;
    EXPECT_EQ(Refused(doc, dev), "certificate chain");

    // Flipped bytes in the real document: refused.
    VerifyOptions ok_opts;
    ok_opts.time_ms = static_cast<int64_t>(rd.timestamp_ms);
    for (size_t i = 0; i < doc.size(); i += 11) {
      Bytes t = doc;
      t[i] ^= 0x04;
      ASSERT_FALSE(VerifyNitroDocument(t, ok_opts).ok()) << "flip at " << i << " accepted";
    }
  }
}

TEST(TeeReal, DebugModeDocumentIsRefusedForDebugModeOnly) {
  const Bytes doc = ReadData("eternis_debug_2024-09-09.b64");
  auto parsed = ParseNitroDocument(doc);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(IsDebugMode(*parsed));
  VerifyOptions o;
  o.time_ms = static_cast<int64_t>(parsed->timestamp_ms);
  NitroReport r = CheckNitroDocument(doc, o);
  std::vector<std::string> refused;
  for (const auto& c : r.checks)
    if (!c.ok) refused.push_back(c.name);
  // Signed by AWS (chain and signature hold), refused because PCR0-2 are zero.
  EXPECT_EQ(refused, std::vector<std::string>{"debug mode"});
  EXPECT_FALSE(VerifyNitroDocument(doc, o).ok());
}

// ---------------- verification time ----------------

double MedianVerifyMicros(const Bytes& doc, const VerifyOptions& o, int n) {
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto v = VerifyNitroDocument(doc, o);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    EXPECT_TRUE(v.ok());
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

TEST(TeeBench, VerificationTime) {
  const int n = 200;
  for (const RealDoc& rd : kReal) {
    const Bytes real = ReadData(rd.file);
    VerifyOptions ro;
    ro.time_ms = static_cast<int64_t>(rd.timestamp_ms);
    ro.ca_cache = false;
    const double cold_us = MedianVerifyMicros(real, ro, n);
    ro.ca_cache = true;
    const double warm_us = MedianVerifyMicros(real, ro, n);
    std::printf("attestation verification, %s (%zu bytes, 5-certificate chain), median of %d: %.0f us with every "
                "signature checked (5 P-384 verifications); %.0f us with the host's CA bundle already seen "
                "and root parsed (leaf + COSE: 2 verifications); target <= 2000 us\n",
                rd.file, real.size(), n, cold_us, warm_us);
    EXPECT_LT(cold_us, 50000.0);
    EXPECT_LT(warm_us, 50000.0);
  }
  VerifyOptions dev = DevOptions();
  dev.ca_cache = false;
  const double dev_us = MedianVerifyMicros(Build(DevPayload()), dev, n);
  std::printf("attestation verification, dev document (3-certificate chain), median of %d: %.0f us uncached\n", n,
              dev_us);
}

TEST(Tee, ConcurrentVerificationsShareTheCaches) {
  ClearCaCaches();
  std::vector<Bytes> docs;
  std::vector<int64_t> times;
  for (const RealDoc& rd : kReal) {
    docs.push_back(ReadData(rd.file));
    times.push_back(static_cast<int64_t>(rd.timestamp_ms));
  }
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const size_t k = static_cast<size_t>(t + i) % docs.size();
        VerifyOptions o;
        o.time_ms = times[k];
        ok[static_cast<size_t>(t)] += VerifyNitroDocument(docs[k], o).ok();
        o.time_ms = NowMs();  // and refused, concurrently
        ok[static_cast<size_t>(t)] += !VerifyNitroDocument(docs[k], o).ok();
      }
    });
  for (auto& th : threads) th.join();
  for (int n : ok) EXPECT_EQ(n, 40);
}

TEST(Tee, CaSignatureCacheChangesNoVerdict) {
  ClearCaCaches();
  const Bytes real = ReadData(kReal[0].file);
  const int64_t ts = static_cast<int64_t>(kReal[0].timestamp_ms);
  VerifyOptions o;
  o.time_ms = ts;
  ASSERT_TRUE(VerifyNitroDocument(real, o).ok());
  EXPECT_EQ(CaSignatureCacheSize(), 3u);  // regional <- root, zonal <- regional, instance <- zonal
  // The same checks and details with and without the cache, at times inside and outside the
  // validity of each certificate, and for tampered documents.
  Bytes tampered_leaf = real;
  auto parsed = ParseNitroDocument(real).value();
  const size_t cert_at = static_cast<size_t>(
      std::search(real.begin(), real.end(), parsed.certificate.begin(), parsed.certificate.end()) - real.begin());
  tampered_leaf[cert_at + parsed.certificate.size() - 10] ^= 1;
  for (const Bytes& doc : {real, tampered_leaf}) {
    for (int64_t t : std::vector<int64_t>{ts, ts - 3600 * 1000, ts + 4 * 3600 * 1000, ts + 30ll * 24 * 3600 * 1000, NowMs()}) {
      VerifyOptions a;
      a.time_ms = t;
      a.max_age_ms = UINT64_MAX / 2;
      a.max_future_ms = UINT64_MAX / 2;
      VerifyOptions b = a;
      b.ca_cache = false;
      NitroReport ra = CheckNitroDocument(doc, a), rb = CheckNitroDocument(doc, b);
      ASSERT_EQ(ra.checks.size(), rb.checks.size());
      for (size_t i = 0; i < ra.checks.size(); ++i) {
        EXPECT_EQ(ra.checks[i].ok, rb.checks[i].ok) << ra.checks[i].name << " at " << t;
        EXPECT_EQ(ra.checks[i].detail, rb.checks[i].detail) << ra.checks[i].name << " at " << t;
      }
    }
  }
  // A cached CA link does not rescue a bundle certificate that was changed.
  Bytes tampered_bundle = real;
  const Bytes& zonal = parsed.cabundle[2];
  const size_t zonal_at = static_cast<size_t>(
      std::search(real.begin(), real.end(), zonal.begin(), zonal.end()) - real.begin());
  tampered_bundle[zonal_at + zonal.size() - 10] ^= 1;  // inside the zonal certificate's signature
  NitroReport r = CheckNitroDocument(tampered_bundle, o);
  EXPECT_FALSE(r.checks[1].ok) << r.checks[1].detail;  // certificate chain
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace lucid::tee
