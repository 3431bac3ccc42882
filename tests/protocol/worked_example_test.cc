// The worked example of docs/formats/protocol.md. Each structure is laid out field by
// field here, independently of types.cc, and must concatenate to exactly Encode(); the
// text is compared with tests/data/protocol/worked_example.txt (LUCID_UPDATE_VECTORS=1
// rewrites it).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "codec/codec.h"
#include "samples.h"

namespace lucid::protocol {
namespace {

using namespace testing;  // NOLINT: samples

class Layout {
 public:
  explicit Layout(std::string title) { text_ << "## " << title << "\n"; }
  void Field(std::string_view name, ByteView bytes) {
    text_ << "  " << name << std::string(name.size() < 18 ? 18 - name.size() : 1, ' ') << ToHex(bytes) << "\n";
    all_.insert(all_.end(), bytes.begin(), bytes.end());
  }
  void U8(std::string_view name, uint8_t v) { Field(name, Bytes{v}); }
  void U32(std::string_view name, uint32_t v) { codec::Writer w; w.U32(v); Field(name, w.bytes()); }
  void U64(std::string_view name, uint64_t v) { codec::Writer w; w.U64(v); Field(name, w.bytes()); }
  void Str(std::string_view name, std::string_view s) { codec::Writer w; w.Str(s); Field(name, w.bytes()); }
  void Blob(std::string_view name, ByteView b) { codec::Writer w; w.Blob(b); Field(name, w.bytes()); }
  template <size_t N>
  void Fixed(std::string_view name, const std::array<uint8_t, N>& a) { Field(name, ByteView(a.data(), N)); }
  void Line(std::string_view name, std::string_view value) { text_ << "  " << name << " = " << value << "\n"; }
  const Bytes& bytes() const { return all_; }
  std::string Text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  Bytes all_;
};

std::string BuildExample() {
  std::string out;
  const InferenceRequest q = SampleRequest();
  Layout req("InferenceRequest");
  req.U8("version", 1);
  req.Str("chain_id", q.chain_id);
  req.Fixed("requester", q.requester.bytes);
  req.Fixed("model", q.model.digest);
  req.U8("mode", 1);
  req.Fixed("input_hash", q.input_hash);
  req.Blob("params", q.params);
  req.U64("seed", q.seed);
  req.U64("max_fee", q.max_fee);
  req.U64("nonce", q.nonce);
  req.U64("deadline_height", q.deadline_height);
  req.Fixed("node", q.node.bytes);
  EXPECT_EQ(req.bytes(), q.Encode());
  req.Line("requester key", "sha256(\"requester\") -> " + q.requester.ToHex());
  req.Line("hash (lucid:request:v1)", ToHex(q.Hash()));
  req.Line("signing digest", ToHex(SigningDigest(q.Hash())));
  req.Line("signature", ToHex(SampleSignedRequest().signature));
  out += req.Text() + "\n";

  const Receipt c = SampleReceipt();
  Layout rec("Receipt");
  rec.U8("version", 1);
  rec.Str("chain_id", c.chain_id);
  rec.Fixed("request_hash", c.request_hash);
  rec.Fixed("model", c.model.digest);
  rec.Fixed("input_hash", c.input_hash);
  rec.Fixed("output_hash", c.output_hash);
  rec.U8("mode", 1);
  rec.Fixed("node", c.node.bytes);
  rec.Str("engine", c.engine);
  rec.U64("fee", c.fee);
  EXPECT_EQ(rec.bytes(), c.Encode());
  rec.Line("node key", "sha256(\"node\") -> " + c.node.ToHex());
  rec.Line("id (lucid:receipt:v1)", ToHex(c.Id()));
  out += rec.Text() + "\n";

  const Evidence e = SampleEvidence();
  Layout ev("Evidence (vanilla)");
  ev.U8("version", 1);
  ev.U8("mode", 1);
  ev.Blob("data", e.data);
  EXPECT_EQ(ev.bytes(), e.Encode());
  out += ev.Text() + "\n";

  const SignedTx stx = SignedTx::Sign(SampleTx(SampleBodies()[0]), RequesterKey());
  const auto& transfer = std::get<TransferTx>(stx.tx.body);
  Layout tx("SignedTx (transfer)");
  tx.U8("version", 1);
  tx.Str("chain_id", stx.tx.chain_id);
  tx.Fixed("from", stx.tx.from.bytes);
  tx.U64("nonce", stx.tx.nonce);
  tx.U64("max_tx_fee", stx.tx.max_tx_fee);
  tx.U8("type", 1);
  tx.Fixed("to", transfer.to.bytes);
  tx.U64("amount", transfer.amount);
  EXPECT_EQ(tx.bytes(), stx.tx.EncodeUnsigned());
  tx.Fixed("signature", stx.signature);
  EXPECT_EQ(tx.bytes(), stx.Encode());
  tx.Line("signing hash (lucid:tx:v1)", ToHex(stx.tx.SigningHash()));
  tx.Line("tx id = sha256(encoding)", ToHex(stx.Hash()));
  out += tx.Text() + "\n";

  const SignedHeader sh = SampleSignedHeader();
  Layout hd("SignedHeader");
  hd.U8("version", 1);
  hd.Str("chain_id", sh.header.chain_id);
  hd.U64("height", sh.header.height);
  hd.U64("time_ms", sh.header.time_ms);
  hd.Fixed("prev_hash", sh.header.prev_hash);
  hd.Fixed("txs_root", sh.header.txs_root);
  hd.U32("tx_count", sh.header.tx_count);
  hd.Fixed("receipts_root", sh.header.receipts_root);
  hd.U32("receipt_count", sh.header.receipt_count);
  hd.Fixed("app_hash", sh.header.app_hash);
  hd.Fixed("proposer", sh.header.proposer.bytes);
  EXPECT_EQ(hd.bytes(), sh.header.Encode());
  hd.Fixed("signature", sh.signature);
  EXPECT_EQ(hd.bytes(), sh.Encode());
  hd.Line("hash (lucid:block:v1)", ToHex(sh.header.Hash()));
  out += hd.Text();
  return out;
}

TEST(WorkedExampleTest, MatchesCommittedVector) {
  const std::string path = std::string(LUCID_SOURCE_DIR) + "/tests/data/protocol/worked_example.txt";
  const std::string example = BuildExample();
  if (const char* update = std::getenv("LUCID_UPDATE_VECTORS"); update && std::string(update) == "1") {
    std::ofstream(path) << example;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing " << path << " (run with LUCID_UPDATE_VECTORS=1)";
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_EQ(committed.str(), example);
}

TEST(WorkedExampleTest, DocumentShowsTheCurrentExample) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/docs/formats/protocol.md");
  ASSERT_TRUE(in.good()) << "missing docs/formats/protocol.md";
  std::stringstream doc;
  doc << in.rdbuf();
  EXPECT_NE(doc.str().find(BuildExample()), std::string::npos)
      << "docs/formats/protocol.md's worked example is stale: paste tests/data/protocol/worked_example.txt";
}

}  // namespace
}  // namespace lucid::protocol
