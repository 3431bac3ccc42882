#include "hub/hub.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tensor/tensor_json.h"

namespace lucid::hub {
namespace {

namespace fs = std::filesystem;
using crypto::Cid;

std::string ReadData(const std::string& name) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/tests/data/hub/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void FlipByteOnDisk(const std::string& path, size_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c ^= 0x20;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = fs::temp_directory_path() / ("lucid-hub-test-" + std::to_string(rd()));
    fs::remove_all(root_);
    blobs_ = std::make_unique<store::BlobStore>(root_.string());
    hub_ = std::make_unique<Hub>(blobs_.get());
    model_text_ = ReadData("tiny_mlp.onnx");
    vectors_text_ = ReadData("tiny_mlp_vectors.json");
    ASSERT_FALSE(model_text_.empty());
    ASSERT_FALSE(vectors_text_.empty());
  }
  void TearDown() override { fs::remove_all(root_); }

  Cid Put(std::string_view bytes) {
    auto cid = hub_->PutFile(AsBytes(bytes));
    EXPECT_TRUE(cid.ok()) << cid.status().ToString();
    return cid.ok() ? *cid : Cid{};
  }

  VersionSpec Spec(std::string name = "tiny-mlp") {
    VersionSpec spec;
    spec.name = std::move(name);
    spec.major = 1;
    spec.minor = 0;
    spec.files = {{"model.onnx", Put(model_text_)}};
    spec.test_vectors = Put(vectors_text_);
    return spec;
  }

  fs::path root_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<Hub> hub_;
  std::string model_text_, vectors_text_;
};

TEST_F(HubTest, PrepareVersionHappyPath) {
  VersionSpec spec = Spec();
  Cid readme = Put("# tiny\n");
  spec.files.push_back({"README.md", readme});
  auto prepared = hub_->PrepareVersion(spec);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  const Manifest& m = prepared->manifest;
  EXPECT_EQ(m.name, "tiny-mlp");
  EXPECT_EQ(m.version(), "1.0");
  EXPECT_EQ(m.model_file, "model.onnx");
  ASSERT_EQ(m.files.size(), 2u);
  EXPECT_EQ(m.files[0].path, "README.md");  // sorted
  EXPECT_EQ(m.files[1].size, model_text_.size());
  EXPECT_EQ(m.files[1].cid, Cid::Of(AsBytes(model_text_)));
  ASSERT_EQ(m.inputs.size(), 1u);
  EXPECT_EQ(m.inputs[0], (TensorSpec{"x", DType::kFloat32, {1, 8}}));
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0], (TensorSpec{"probs", DType::kFloat32, {1, 4}}));
  EXPECT_EQ(m.ops, (std::vector<std::string>{"Gemm", "Relu", "Softmax"}));
  EXPECT_EQ(m.opset, 13);
  EXPECT_EQ(m.engine, onnx::kEngineId);
  ASSERT_TRUE(m.test_vectors.has_value());
  EXPECT_EQ(m.test_vectors->count, 4u);
  EXPECT_EQ(m.test_vectors->output_hashes.size(), 4u);

  // The manifest is stored under its CID, canonical, and the test vectors blob too.
  auto bytes = hub_->GetFile(prepared->manifest_cid);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(prepared->manifest_cid, Cid::Of(*bytes));
  EXPECT_EQ(*SerializeManifest(m), *bytes);
  auto fetched = hub_->GetManifest(prepared->manifest_cid);
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  EXPECT_EQ(*fetched, m);
  auto stored_vectors = hub_->GetFile(m.test_vectors->cid);
  ASSERT_TRUE(stored_vectors.ok());
  EXPECT_EQ(ParseTestVectors(*stored_vectors)->size(), 4u);

  // The recorded hashes are what the engine reproduces, bit for bit.
  EXPECT_TRUE(hub_->CheckTestVectors(prepared->manifest_cid).ok());
  auto model = hub_->LoadModel(prepared->manifest_cid);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto vectors = ParseTestVectors(AsBytes(vectors_text_)).value();
  for (size_t i = 0; i < vectors.size(); ++i) {
    auto out = (*model)->Run(vectors[i].inputs);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(HashTensorMap(*out), m.test_vectors->output_hashes[i]) << i;
  }

  // Preparing the same spec again gives the same CID (deterministic).
  auto again = hub_->PrepareVersion(spec);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->manifest_cid, prepared->manifest_cid);
}

TEST_F(HubTest, ExactMatchWithEngineOutputs) {
  // Vectors whose expected outputs are the engine's own: "exact" is recorded.
  auto model = onnx::Model::Load(AsBytes(model_text_));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto vectors = ParseTestVectors(AsBytes(vectors_text_)).value();
  nlohmann::json j = nlohmann::json::array();
  for (const TestVector& v : vectors) {
    j.push_back({{"inputs", TensorMapToJson(v.inputs)}, {"outputs", TensorMapToJson((*model)->Run(v.inputs).value())}});
  }
  VersionSpec spec = Spec();
  spec.test_vectors = Put(j.dump());
  spec.exact_match = true;
  auto prepared = hub_->PrepareVersion(spec);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_EQ(prepared->manifest.test_vectors->match, MatchRule::kExact);
  EXPECT_TRUE(prepared->manifest.test_vectors->abs_tolerance.empty());
}

TEST_F(HubTest, QuantizationIsRecordedAndChecked) {
  VersionSpec spec = Spec();
  spec.quantization = std::string(kQuantizationInt8Static);
  spec.quantized_from = QuantizedFrom{Put("source manifest"), "0.0125", "4/4"};
  auto prepared = hub_->PrepareVersion(spec);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_EQ(prepared->manifest.quantization, "int8-static/1");
  EXPECT_EQ(prepared->manifest.quantized_from, spec.quantized_from);
  auto stored = hub_->GetManifest(prepared->manifest_cid);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, prepared->manifest);

  spec.quantization = "int4-magic";
  Status st = hub_->PrepareVersion(spec).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("int4-magic"), std::string::npos) << st.ToString();
  spec.quantization = "none";
  EXPECT_EQ(hub_->PrepareVersion(spec).status().code(), Code::kInvalidArgument);
  spec.quantization = std::string(kQuantizationInt8Static);
  spec.quantized_from->argmax_agreement = "5/4";
  EXPECT_EQ(hub_->PrepareVersion(spec).status().code(), Code::kInvalidArgument);
}

TEST_F(HubTest, WrongExpectedOutputIsRefusedNamingTheVector) {
  nlohmann::json j = nlohmann::json::parse(vectors_text_);
  j[2]["outputs"]["probs"]["data"][1] = j[2]["outputs"]["probs"]["data"][1].get<double>() + 0.01;
  VersionSpec spec = Spec();
  spec.test_vectors = Put(j.dump());
  auto prepared = hub_->PrepareVersion(spec);
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().code(), Code::kInvalidArgument);
  const std::string& msg = prepared.status().message();
  EXPECT_NE(msg.find("test vector 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"probs\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("element 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("largest difference 0.0"), std::string::npos) << msg;

  // Exact match demanded but onnxruntime's floats are not the engine's bits: refused or
  // exact, never silently "tolerance".
  VersionSpec exact = Spec();
  exact.exact_match = true;
  auto r = hub_->PrepareVersion(exact);
  if (r.ok()) {
    EXPECT_EQ(r->manifest.test_vectors->match, MatchRule::kExact);
  }
}

TEST_F(HubTest, VectorWithWrongInputIsRefused) {
  nlohmann::json j = nlohmann::json::parse(vectors_text_);
  j[1]["inputs"]["x"]["shape"] = {1, 4};
  j[1]["inputs"]["x"]["data"] = {1, 2, 3, 4};
  VersionSpec spec = Spec();
  spec.test_vectors = Put(j.dump());
  auto prepared = hub_->PrepareVersion(spec);
  ASSERT_FALSE(prepared.ok());
  EXPECT_NE(prepared.status().message().find("test vector 1"), std::string::npos) << prepared.status().ToString();
}

TEST_F(HubTest, CorruptBlobIsDataLoss) {
  VersionSpec spec = Spec();
  FlipByteOnDisk(blobs_->PathOf(spec.files[0].cid), 100);
  auto prepared = hub_->PrepareVersion(spec);
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().code(), Code::kDataLoss) << prepared.status().ToString();
  EXPECT_NE(prepared.status().message().find("model.onnx"), std::string::npos);
  EXPECT_EQ(hub_->GetFile(spec.files[0].cid).status().code(), Code::kDataLoss);
}

TEST_F(HubTest, CorruptionAfterPublishIsCaughtOnLoad) {
  auto prepared = hub_->PrepareVersion(Spec());
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  Cid model_cid = prepared->manifest.FindFile("model.onnx")->cid;
  FlipByteOnDisk(blobs_->PathOf(model_cid), 200);
  Hub fresh(blobs_.get());  // no cached model
  auto loaded = fresh.LoadModel(prepared->manifest_cid);
  EXPECT_EQ(loaded.status().code(), Code::kDataLoss) << loaded.status().ToString();
  EXPECT_EQ(fresh.cached_models(), 0u);
}

TEST_F(HubTest, CorruptManifestIsDataLoss) {
  auto prepared = hub_->PrepareVersion(Spec());
  ASSERT_TRUE(prepared.ok());
  FlipByteOnDisk(blobs_->PathOf(prepared->manifest_cid), 30);
  EXPECT_EQ(hub_->GetManifest(prepared->manifest_cid).status().code(), Code::kDataLoss);
  Hub fresh(blobs_.get());
  EXPECT_EQ(fresh.LoadModel(prepared->manifest_cid).status().code(), Code::kDataLoss);
}

TEST_F(HubTest, ManifestSizeMismatchIsDataLoss) {
  auto prepared = hub_->PrepareVersion(Spec());
  ASSERT_TRUE(prepared.ok());
  Manifest lying = prepared->manifest;
  lying.files[0].size += 1;
  Cid cid = blobs_->Put(SerializeManifest(lying).value()).value();
  auto loaded = hub_->LoadModel(cid);
  EXPECT_EQ(loaded.status().code(), Code::kDataLoss) << loaded.status().ToString();
  EXPECT_NE(loaded.status().message().find("model.onnx"), std::string::npos);
}

TEST_F(HubTest, UnknownCidIsNotFound) {
  VersionSpec spec = Spec();
  spec.files[0].cid = Cid::Of(AsBytes("never stored"));
  auto prepared = hub_->PrepareVersion(spec);
  EXPECT_EQ(prepared.status().code(), Code::kNotFound) << prepared.status().ToString();
  EXPECT_NE(prepared.status().message().find("model.onnx"), std::string::npos);

  spec = Spec();
  spec.test_vectors = Cid::Of(AsBytes("no vectors"));
  EXPECT_EQ(hub_->PrepareVersion(spec).status().code(), Code::kNotFound);

  EXPECT_EQ(hub_->GetManifest(Cid::Of(AsBytes("none"))).status().code(), Code::kNotFound);
  EXPECT_EQ(hub_->LoadModel(Cid::Of(AsBytes("none"))).status().code(), Code::kNotFound);
  EXPECT_EQ(hub_->GetFile(Cid::Of(AsBytes("none"))).status().code(), Code::kNotFound);
}

TEST_F(HubTest, NonOnnxFileIsRefused) {
  VersionSpec spec = Spec();
  spec.files[0].cid = Put("this is not a protobuf model");
  auto prepared = hub_->PrepareVersion(spec);
  ASSERT_FALSE(prepared.ok());
  EXPECT_NE(prepared.status().code(), Code::kOk);
  EXPECT_NE(prepared.status().message().find("model.onnx"), std::string::npos) << prepared.status().ToString();

  // No .onnx at all, or two of them.
  spec = Spec();
  spec.files[0].path = "model.bin";
  Status st = hub_->PrepareVersion(spec).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("exactly one .onnx"), std::string::npos) << st.ToString();
  spec = Spec();
  spec.files.push_back({"copy.onnx", spec.files[0].cid});
  st = hub_->PrepareVersion(spec).status();
  EXPECT_NE(st.message().find("exactly one .onnx"), std::string::npos) << st.ToString();
}

TEST_F(HubTest, UnsupportedOpIsNamed) {
  VersionSpec spec = Spec();
  spec.files[0].cid = Put(ReadData("unsupported_op.onnx"));
  spec.test_vectors.reset();
  auto prepared = hub_->PrepareVersion(spec);
  ASSERT_FALSE(prepared.ok());
  EXPECT_NE(prepared.status().message().find("NoSuchOp"), std::string::npos) << prepared.status().ToString();
}

TEST_F(HubTest, RefusesBadSpecs) {
  VersionSpec spec = Spec();
  spec.name = "Bad Name";
  EXPECT_EQ(hub_->PrepareVersion(spec).status().code(), Code::kInvalidArgument);

  spec = Spec();
  spec.files[0].path = "dir/model.onnx";
  EXPECT_EQ(hub_->PrepareVersion(spec).status().code(), Code::kInvalidArgument);
  spec.files[0].path = "../model.onnx";
  EXPECT_EQ(hub_->PrepareVersion(spec).status().code(), Code::kInvalidArgument);

  spec = Spec();
  spec.files.push_back({"model.onnx", Put("x")});
  Status st = hub_->PrepareVersion(spec).status();
  EXPECT_NE(st.message().find("twice"), std::string::npos) << st.ToString();

  spec = Spec();
  spec.files.clear();
  EXPECT_EQ(hub_->PrepareVersion(spec).status().code(), Code::kInvalidArgument);
}

TEST_F(HubTest, Limits) {
  VersionSpec spec = Spec();
  for (int i = 0; i < 16; ++i) spec.files.push_back({"extra" + std::to_string(i) + ".txt", Put("x")});
  EXPECT_EQ(hub_->PrepareVersion(spec).status().code(), Code::kOutOfRange);  // 17 files
  spec.files.pop_back();
  EXPECT_TRUE(hub_->PrepareVersion(spec).ok());  // 16 files

  nlohmann::json one = nlohmann::json::parse(vectors_text_)[0];
  nlohmann::json many = nlohmann::json::array();
  for (int i = 0; i < 65; ++i) many.push_back(one);
  spec = Spec();
  spec.test_vectors = Put(many.dump());
  Status st = hub_->PrepareVersion(spec).status();
  EXPECT_EQ(st.code(), Code::kOutOfRange) << st.ToString();
  many.erase(many.size() - 1);
  spec.test_vectors = Put(many.dump());
  EXPECT_TRUE(hub_->PrepareVersion(spec).ok());

  HubOptions small;
  small.max_file_bytes = 64;
  Hub limited(blobs_.get(), small);
  EXPECT_EQ(limited.PutFile(AsBytes(std::string(65, 'a'))).status().code(), Code::kOutOfRange);
  EXPECT_TRUE(limited.PutFile(AsBytes(std::string(64, 'a'))).ok());
}

TEST_F(HubTest, LoadModelCacheIsBoundedLru) {
  HubOptions options;
  options.model_cache_entries = 2;
  Hub hub(blobs_.get(), options);
  Cid a = hub.PrepareVersion(Spec("model-a")).value().manifest_cid;
  Cid b = hub.PrepareVersion(Spec("model-b")).value().manifest_cid;
  Cid c = hub.PrepareVersion(Spec("model-c")).value().manifest_cid;
  EXPECT_EQ(hub.cached_models(), 0u);

  auto a1 = hub.LoadModel(a).value();
  auto a2 = hub.LoadModel(a).value();
  EXPECT_EQ(a1.get(), a2.get());  // cached
  auto b1 = hub.LoadModel(b).value();
  EXPECT_EQ(hub.cached_models(), 2u);
  EXPECT_EQ(hub.LoadModel(a).value().get(), a1.get());  // a is now most recent
  auto c1 = hub.LoadModel(c).value();                   // evicts b
  EXPECT_EQ(hub.cached_models(), 2u);
  EXPECT_EQ(hub.LoadModel(a).value().get(), a1.get());
  EXPECT_NE(hub.LoadModel(b).value().get(), b1.get());  // reloaded
  EXPECT_EQ(hub.cached_models(), 2u);

  // A cached model is served without re-reading the files; a fresh hub re-checks them.
  Cid model_cid = Cid::Of(AsBytes(model_text_));
  FlipByteOnDisk(blobs_->PathOf(model_cid), 50);
  EXPECT_TRUE(hub.LoadModel(a).ok());
  Hub fresh(blobs_.get(), options);
  EXPECT_EQ(fresh.LoadModel(a).status().code(), Code::kDataLoss);
}

TEST_F(HubTest, ConcurrentLoadsShareOneModel) {
  Cid a = hub_->PrepareVersion(Spec()).value().manifest_cid;
  std::vector<std::shared_ptr<const onnx::Model>> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] { got[i] = hub_->LoadModel(a).value(); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(hub_->cached_models(), 1u);
  auto cached = hub_->LoadModel(a).value();
  // Threads that lost the race get the cached copy, never a second one.
  for (const auto& m : got) EXPECT_EQ(m.get(), cached.get());
}

// A standalone node's hub fetches what it lacks from a peer hub; the peer can withhold a
// file but never substitute one.
TEST_F(HubTest, FetchMissingChecksTheCidBeforeKeeping) {
  const Cid published = Spec().files[0].cid;  // stored in hub_ (the "peer")
  fs::path own_root = root_ / "own";
  store::BlobStore own_blobs(own_root.string());
  std::string served;  // what the peer answers, per test step
  int calls = 0;
  HubOptions options;
  options.fetch_missing = [&](const Cid& cid) -> Result<Bytes> {
    ++calls;
    if (served == "withhold") return NotFound("peer has no " + cid.ToString());
    if (served == "honest") return hub_->GetFile(cid);
    return ToBytes(served);
  };
  Hub own(&own_blobs, options);

  served = "not the model";  // substituted bytes: refused, not kept
  auto bad = own.GetFile(published);
  EXPECT_EQ(bad.status().code(), Code::kDataLoss) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find(published.ToString()), std::string::npos);
  EXPECT_FALSE(own_blobs.Has(published));

  served = "withhold";
  EXPECT_EQ(own.GetFile(published).status().code(), Code::kNotFound);
  EXPECT_FALSE(own_blobs.Has(published));

  served = "honest";
  auto good = own.GetFile(published);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(AsString(*good), model_text_);
  EXPECT_TRUE(own_blobs.Has(published));
  const int before = calls;
  ASSERT_TRUE(own.GetFile(published).ok());  // kept: no second fetch
  EXPECT_EQ(calls, before);
}

TEST_F(HubTest, FetchMissingRefusesOversizedAnswers) {
  HubOptions options;
  options.max_file_bytes = 8;
  options.fetch_missing = [](const Cid&) -> Result<Bytes> { return Bytes(9, 0x41); };
  store::BlobStore own_blobs((root_ / "own").string());
  Hub own(&own_blobs, options);
  const Cid cid = Cid::Of(Bytes(9, 0x41));
  EXPECT_EQ(own.GetFile(cid).status().code(), Code::kOutOfRange);
  EXPECT_FALSE(own_blobs.Has(cid));
}

}  // namespace
}  // namespace lucid::hub
