// The dev enclave runs LLM (GGUF) requests (tee/enclave.h ExecuteLlm, tee/enclave_llm.h): on a
// tiny random llama written by tests/llm/make_llama_gguf.py, the enclave's answer is bit for bit
// the vanilla engine's (same output hash), signed by the enclave key over a receipt whose output
// hash it computed itself; the model file is taken once, by CID, and refused when its bytes do
// not hash to it; tampered receipts, signatures and outputs are refused by the verifier; the
// HTTP interface uploads the file once and streams the text.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "crypto/hash.h"
#include "hub/manifest.h"
#include "llm/engine.h"
#include "llm/request.h"
#include "tee/enclave.h"
#include "tee/enclave_llm.h"
#include "verify/verify.h"

namespace lucid::tee {
namespace {

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string SourceDir() {
  const char* s = std::getenv("LUCID_SOURCE_DIR");
  return s ? s : LUCID_SOURCE_DIR;
}

const std::string& GgufPath() {
  static const std::string path = [] {
    // A temp folder, not the working directory (the test may be run from the source tree).
    const std::string out = (std::filesystem::temp_directory_path() / "lucid_tee_enclave_llm_testdata").string();
    std::string py = SourceDir() + "/.venv/bin/python";
    if (const char* p = std::getenv("LUCID_PYTHON")) py = p;
    const std::string cmd = py + " " + SourceDir() + "/tests/llm/make_llama_gguf.py " + out;
    const int rc = std::system(cmd.c_str());
    if (rc != 0) ADD_FAILURE() << "generator failed (" << rc << "): " << cmd;
    return out + "/tiny_llama.gguf";
  }();
  return path;
}

Bytes ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A GGUF version's manifest naming the file (what the hub publishes, docs/formats/manifest.md).
Bytes ManifestFor(const Bytes& gguf, const std::string& name = "tiny") {
  hub::Manifest m;
  m.name = name;
  m.major = 1;
  m.minor = 0;
  m.format = "gguf";
  m.engine = std::string(llm::kLlmEngineId);
  m.files = {hub::ManifestFile{"tiny_llama.gguf", crypto::Cid::Of(gguf), gguf.size()}};
  m.model_file = "tiny_llama.gguf";
  m.ops = {"llama"};
  m.opset = 3;
  m.inputs = {hub::TensorSpec{std::string(llm::kRequestTensor), DType::kUint8, {-1}}};
  m.outputs = {hub::TensorSpec{std::string(llm::kOutputTensor), DType::kUint8, {-1}},
               hub::TensorSpec{std::string(llm::kTokensTensor), DType::kInt32, {-1}}};
  auto bytes = hub::SerializeManifest(m);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : Bytes{};
}

llm::LlmRequest ChatRequest(const Bytes& manifest, const std::string& text, uint64_t seed) {
  llm::LlmRequest r;
  r.model = crypto::Cid::Of(manifest).ToString();
  r.messages = {llm::ChatMessage{"user", text, {}, "", ""}};
  r.sampling.temperature = 0.8f;
  r.sampling.seed = seed;
  r.max_tokens = 12;
  return r;
}

protocol::Receipt ReceiptFor(const Bytes& manifest, const TensorMap& inputs) {
  protocol::Receipt r;
  r.chain_id = "lucid-devnet";
  r.request_hash = crypto::Sha256(AsBytes("request"));
  r.model = crypto::Cid::Of(manifest);
  r.input_hash = HashTensorMap(inputs);
  r.mode = protocol::Mode::kTee;
  r.node = crypto::PrivateKey::FromSeed("node").address();
  r.fee = 10;
  return r;
}

class EnclaveLlmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pki = GenerateDevPki();
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = new DevPki(std::move(*pki));
    gguf_ = new Bytes(ReadAll(GgufPath()));
    ASSERT_GT(gguf_->size(), 1000u);
    manifest_ = new Bytes(ManifestFor(*gguf_));
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete gguf_;
    delete manifest_;
  }

  std::unique_ptr<DevEnclave> Make(uint64_t max_file_bytes = kDefaultMaxModelFileBytes) {
    EnclaveConfig c;
    c.pki = *pki_;
    c.llm = MakeEngineEnclaveLlm(1);
    c.max_model_file_bytes = max_file_bytes;
    auto e = DevEnclave::Create(std::move(c));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(*e) : nullptr;
  }

  // The vanilla path's answer: the engine on the file, llm::RunRequest (as node/llm_backend.cc).
  static TensorMap Vanilla(const llm::LlmRequest& req) {
    auto model = llm::Model::Load(GgufPath());
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    llm::Engine engine(*model, llm::EngineOptions{2, 8, 0});
    auto out = llm::RunRequest(engine, req);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? out->ToOutputs() : TensorMap{};
  }

  static DevPki* pki_;
  static Bytes* gguf_;
  static Bytes* manifest_;
};
DevPki* EnclaveLlmTest::pki_ = nullptr;
Bytes* EnclaveLlmTest::gguf_ = nullptr;
Bytes* EnclaveLlmTest::manifest_ = nullptr;

TEST_F(EnclaveLlmTest, SignsTheVanillaAnswer) {
  auto e = Make();
  ASSERT_TRUE(e);
  const crypto::Cid file = crypto::Cid::Of(*gguf_);
  ASSERT_TRUE(e->PutModelFile(file, *gguf_).ok());
  EXPECT_EQ(e->ModelFileSize(file), gguf_->size());
  const llm::LlmRequest req = ChatRequest(*manifest_, "hello enclave", 5);
  const TensorMap inputs = req.ToInputs();
  std::string streamed;
  auto r = e->ExecuteLlm(*manifest_, inputs, ReceiptFor(*manifest_, inputs), [&](std::string_view piece) {
    streamed += piece;
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->receipt.engine, llm::kLlmEngineId);
  EXPECT_EQ(r->receipt.output_hash, HashTensorMap(r->outputs));
  EXPECT_GT(r->prompt_tokens, 0);
  auto out = llm::LlmOutput::FromOutputs(r->outputs);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_FALSE(out->tokens.empty());
  EXPECT_EQ(streamed, out->text);

  // Bit for bit the vanilla engine's answer: the same output hash.
  const TensorMap vanilla = Vanilla(req);
  EXPECT_EQ(HashTensorMap(vanilla), r->receipt.output_hash);

  // Signed by the enclave key over the receipt id.
  verify::EnclaveView view{e->address(), e->pcr0(), NowMs() + 60'000, true};
  protocol::Evidence ev{protocol::Mode::kTee, Bytes(r->signature.begin(), r->signature.end())};
  EXPECT_TRUE(verify::VerifyEvidence(r->receipt, ev, std::nullopt, view, NowMs()).ok());
  EXPECT_TRUE(verify::VerifyOutputs(r->receipt, r->outputs).ok());

  // Tampering: a flipped signature byte, a receipt claiming another output hash, a flipped
  // output byte (text or token) are all refused.
  protocol::Evidence bad_sig = ev;
  bad_sig.data[7] ^= 1;
  EXPECT_FALSE(verify::VerifyEvidence(r->receipt, bad_sig, std::nullopt, view, NowMs()).ok());
  protocol::Receipt other_output = r->receipt;
  other_output.output_hash[0] ^= 1;
  EXPECT_FALSE(verify::VerifyEvidence(other_output, ev, std::nullopt, view, NowMs()).ok());
  for (const char* name : {"llm_output", "tokens"}) {
    TensorMap bad = r->outputs;
    Tensor& t = bad.at(name);
    Bytes raw(t.bytes().begin(), t.bytes().end());
    raw[raw.size() - 1] ^= 1;
    auto changed = Tensor::FromBytes(t.dtype(), t.shape(), raw);
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
    t = *changed;
    EXPECT_FALSE(verify::VerifyOutputs(r->receipt, bad).ok()) << name;
  }

  // Deterministic: the same request again gives the same receipt id; another seed another answer.
  auto again = e->ExecuteLlm(*manifest_, inputs, ReceiptFor(*manifest_, inputs));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->receipt.Id(), r->receipt.Id());
}

TEST_F(EnclaveLlmTest, RefusesWhatDoesNotMatch) {
  auto e = Make();
  ASSERT_TRUE(e);
  const crypto::Cid file = crypto::Cid::Of(*gguf_);
  const llm::LlmRequest req = ChatRequest(*manifest_, "refusals", 1);
  const TensorMap inputs = req.ToInputs();

  // Not uploaded yet: NOT_FOUND naming the file.
  auto missing = e->ExecuteLlm(*manifest_, inputs, ReceiptFor(*manifest_, inputs));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(file.ToString()), std::string::npos);

  // Bytes that do not hash to the CID they are offered under are refused and not kept.
  Bytes tampered = *gguf_;
  tampered[tampered.size() / 2] ^= 1;
  Status wrong = e->PutModelFile(file, tampered);
  EXPECT_EQ(wrong.code(), Code::kDataLoss) << wrong.ToString();
  EXPECT_FALSE(e->ModelFileSize(file));
  // Above the size limit: OUT_OF_RANGE.
  auto small = Make(1000);
  EXPECT_EQ(small->PutModelFile(file, *gguf_).code(), Code::kOutOfRange);

  ASSERT_TRUE(e->PutModelFile(file, *gguf_).ok());
  // A manifest naming the tampered bytes' CID: that file is not held, so nothing runs.
  const Bytes tampered_manifest = ManifestFor(tampered);
  const llm::LlmRequest treq = ChatRequest(tampered_manifest, "refusals", 1);
  auto t = e->ExecuteLlm(tampered_manifest, treq.ToInputs(), ReceiptFor(tampered_manifest, treq.ToInputs()));
  EXPECT_EQ(t.status().code(), Code::kNotFound) << t.status().ToString();
  // The manifest given must be the one the receipt names.
  const Bytes other_manifest = ManifestFor(*gguf_, "other");
  auto wrong_manifest = e->ExecuteLlm(other_manifest, inputs, ReceiptFor(*manifest_, inputs));
  ASSERT_FALSE(wrong_manifest.ok());
  EXPECT_NE(wrong_manifest.status().message().find("receipt names model"), std::string::npos);
  // The canonical request must name the receipt's model.
  const llm::LlmRequest for_other = ChatRequest(other_manifest, "refusals", 1);
  auto wrong_model = e->ExecuteLlm(*manifest_, for_other.ToInputs(), ReceiptFor(*manifest_, for_other.ToInputs()));
  ASSERT_FALSE(wrong_model.ok());
  EXPECT_NE(wrong_model.status().message().find("names model"), std::string::npos);
  // Mode and input hash.
  protocol::Receipt vanilla = ReceiptFor(*manifest_, inputs);
  vanilla.mode = protocol::Mode::kVanilla;
  EXPECT_FALSE(e->ExecuteLlm(*manifest_, inputs, vanilla).ok());
  protocol::Receipt bad_input = ReceiptFor(*manifest_, inputs);
  bad_input.input_hash[3] ^= 1;
  EXPECT_FALSE(e->ExecuteLlm(*manifest_, inputs, bad_input).ok());
  // An enclave without the engine says so.
  EnclaveConfig c;
  c.pki = *pki_;
  auto plain = DevEnclave::Create(std::move(c));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->ExecuteLlm(*manifest_, inputs, ReceiptFor(*manifest_, inputs)).status().code(),
            Code::kUnimplemented);
  // The one that ran fine still does.
  EXPECT_TRUE(e->ExecuteLlm(*manifest_, inputs, ReceiptFor(*manifest_, inputs)).ok());
}

TEST_F(EnclaveLlmTest, HttpUploadsOnceAndStreams) {
  auto e = Make();
  ASSERT_TRUE(e);
  EnclaveHttp http(e.get());
  auto port = http.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  std::thread server([&] { http.Serve(); });
  EnclaveClient client("127.0.0.1:" + std::to_string(*port));
  const crypto::Cid file = crypto::Cid::Of(*gguf_);

  auto has = client.HasModelFile(file);
  ASSERT_TRUE(has.ok()) << has.status().ToString();
  EXPECT_FALSE(*has);
  // Bytes under a CID they do not hash to: refused with the reason.
  Bytes tampered = *gguf_;
  tampered[100] ^= 1;
  Status up = client.UploadModelFile(file, tampered);
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.ToString().find("DATA_LOSS"), std::string::npos) << up.ToString();
  EXPECT_FALSE(*client.HasModelFile(file));

  int uploads = 0;
  auto model_file = [&]() -> Result<Bytes> {
    ++uploads;
    return *gguf_;
  };
  const llm::LlmRequest req = ChatRequest(*manifest_, "over http", 9);
  const TensorMap inputs = req.ToInputs();
  std::string streamed;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client.ExecuteLlm(*manifest_, model_file, inputs, ReceiptFor(*manifest_, inputs), [&](std::string_view p) {
    streamed += p;
    return true;
  });
  const double first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(uploads, 1);
  EXPECT_TRUE(*client.HasModelFile(file));
  auto out = llm::LlmOutput::FromOutputs(r->outputs);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(streamed, out->text);
  EXPECT_EQ(HashTensorMap(Vanilla(req)), r->receipt.output_hash);
  verify::EnclaveView view{e->address(), e->pcr0(), NowMs() + 60'000, true};
  protocol::Evidence ev{protocol::Mode::kTee, Bytes(r->signature.begin(), r->signature.end())};
  EXPECT_TRUE(verify::VerifyEvidence(r->receipt, ev, std::nullopt, view, NowMs()).ok());

  // The second request does not send the file again.
  const auto t1 = std::chrono::steady_clock::now();
  auto r2 = client.ExecuteLlm(*manifest_, model_file, inputs, ReceiptFor(*manifest_, inputs));
  const double second_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(uploads, 1);
  EXPECT_EQ(r2->receipt.Id(), r->receipt.Id());
  std::printf("tee llm over http: %zu-byte GGUF; first request (upload + load + run) %.1f ms, second %.1f ms\n",
              gguf_->size(), first_ms, second_ms);

  // A caller that stops reading cancels; the enclave keeps serving.
  auto cancelled = client.ExecuteLlm(*manifest_, model_file, inputs, ReceiptFor(*manifest_, inputs),
                                     [](std::string_view) { return false; });
  EXPECT_FALSE(cancelled.ok());
  // Errors come back with their reason (vanilla receipt).
  protocol::Receipt vanilla = ReceiptFor(*manifest_, inputs);
  vanilla.mode = protocol::Mode::kVanilla;
  auto refused = client.ExecuteLlm(*manifest_, model_file, inputs, vanilla);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().ToString().find("not tee"), std::string::npos) << refused.status().ToString();
  // Bytes at hand that are not the file the enclave asks for are not sent.
  auto fresh = Make();
  EnclaveHttp http2(fresh.get());
  auto port2 = http2.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port2.ok());
  std::thread server2([&] { http2.Serve(); });
  EnclaveClient client2("127.0.0.1:" + std::to_string(*port2));
  auto wrong = client2.ExecuteLlm(*manifest_, [&]() -> Result<Bytes> { return tampered; }, inputs,
                                  ReceiptFor(*manifest_, inputs));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kDataLoss) << wrong.status().ToString();
  // A fresh (restarted) enclave asks for the file again and gets it once.
  const int before = uploads;
  auto fresh_run = client2.ExecuteLlm(*manifest_, model_file, inputs, ReceiptFor(*manifest_, inputs));
  ASSERT_TRUE(fresh_run.ok()) << fresh_run.status().ToString();
  EXPECT_EQ(uploads, before + 1);
  EXPECT_EQ(fresh_run->receipt.output_hash, r->receipt.output_hash);
  EXPECT_NE(fresh_run->signature, r->signature);  // another enclave key
  http2.Stop();
  server2.join();

  auto still = client.ExecuteLlm(*manifest_, model_file, inputs, ReceiptFor(*manifest_, inputs));
  ASSERT_TRUE(still.ok()) << still.status().ToString();
  EXPECT_EQ(still->receipt.Id(), r->receipt.Id());
  http.Stop();
  server.join();
}

}  // namespace
}  // namespace lucid::tee
