// zkml soundness: Verify refuses, with a reason, every altered proof of the quantized
// digits MLP (batch 1): random single-byte mutations, truncations, trailing bytes, tampered
// statements (float input, output, integer output with consistent float outputs, statements
// and proofs of two inputs mixed), a proof checked against another model's commitment, and
// a cheating prover's proof: an honest proof re-encoded with one value changed at every
// position the proof layout exposes (lookup leaves, multiplicity, requantization values,
// bias, matrix-product values, sumcheck rounds, fraction-sum trees).
#include <chrono>
#include <map>
#include <set>
#include <random>
#include <thread>

#include "zkml_test_util.h"

namespace lucid::zkml::testing {
namespace {

struct Fixture {
  Bytes model;
  ProvingKey key;
  TensorMap inputs, other_inputs;
  Bytes proof, other_proof;  // two inputs, same model
};

Fixture* BuildFixture(Bytes model) {
  auto* f = new Fixture;
  f->model = std::move(model);
  auto key = zkml::Setup(f->model);
  if (!key.ok()) {
    ADD_FAILURE() << key.status().ToString();
    return f;
  }
  f->key = std::move(*key);
  f->inputs = MlpInput(1, 42);
  f->other_inputs = MlpInput(1, 43);
  auto p = Prove(f->key, f->inputs);
  auto q = Prove(f->key, f->other_inputs);
  if (!p.ok() || !q.ok()) {
    ADD_FAILURE() << "prove failed";
    return f;
  }
  f->proof = p->proof;
  f->other_proof = q->proof;
  return f;
}

const Fixture& Mlp() {
  static const Fixture* f = BuildFixture(QuantizedMlp(1));
  return *f;
}

// The MLP with Sigmoid instead of Relu: a 256-entry table op between the layers.
const Fixture& SigmoidMlp() {
  static const Fixture* f = BuildFixture(QuantizedMlp(1, "Sigmoid"));
  return *f;
}

// Refused, with a non-empty reason; returns the reason.
std::string ExpectRefused(ByteView proof, const std::optional<Hash32>& expected, const std::string& what) {
  try {
    auto v = Verify(proof, expected);
    if (v.ok()) {
      ADD_FAILURE() << what << ": accepted";
      return "";
    }
    EXPECT_FALSE(v.status().message().empty()) << what;
    return v.status().message();
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": Verify threw " << e.what();
    return "exception";
  }
}

TEST(ZkmlSoundness, HonestProofVerifies) {
  const Fixture& f = Mlp();
  auto v = Verify(f.proof, f.key.model_commitment);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ParsedProof p;
  ASSERT_TRUE(ParseProof(f.proof, p));
  std::printf("[zkml] mlp proof %zu bytes: statement %zu, %zu loose Fp2 values, %zu sumchecks, openings %zu + %zu\n",
              f.proof.size(), p.body_begin, p.fp2.size(), p.sumchecks.size(),
              p.weight_opening.end - p.weight_opening.begin, p.witness_opening.end - p.witness_opening.begin);
}

TEST(ZkmlSoundness, ThousandRandomByteMutationsAreRefused) {
  const Fixture& f = Mlp();
  ASSERT_FALSE(f.proof.empty());
  ParsedProof p;
  ASSERT_TRUE(ParseProof(f.proof, p));
  // Where the float inputs lie: the transcript absorbs their hash, so even a change there that
  // quantizes to the same x is refused (were one accepted, it would at least have to be true:
  // the whole model maps the altered inputs to the proven outputs; reported as kind 1).
  size_t inputs_end = 1 + 4 + p.description.size() + p.cw.size() + 4 + p.inputs.size();
  size_t inputs_begin = inputs_end - p.inputs.size();
  constexpr int kMutations = 1000;
  std::vector<std::string> reasons(kMutations);
  std::vector<int> accepted(kMutations, 0);
  auto work = [&](int begin, int step) {
    for (int i = begin; i < kMutations; i += step) {
      std::mt19937_64 rng(0x5eed0000u + static_cast<uint64_t>(i));
      Bytes m = f.proof;
      size_t at = rng() % m.size();
      uint8_t x = static_cast<uint8_t>(1 + rng() % 255);
      m[at] ^= x;
      auto v = Verify(m, f.key.model_commitment);
      if (v.ok()) {
        accepted[i] = at >= inputs_begin && at < inputs_end && RunModel(f.model, v->inputs).ok() &&
                              *RunModel(f.model, v->inputs) == v->outputs
                          ? 1
                          : 2;
      } else {
        std::string why = v.status().message();
        for (char& ch : why)
          if (ch >= '0' && ch <= '9') ch = '#';
        reasons[i] = why.substr(0, 56);
      }
    }
  };
  std::thread t(work, 1, 2);
  work(0, 2);
  t.join();
  std::map<std::string, int> histogram;
  int refused = 0, benign = 0;
  for (int i = 0; i < kMutations; ++i) {
    EXPECT_EQ(accepted[i], 0) << "mutation " << i << " accepted (kind " << accepted[i] << ")";
    if (accepted[i] == 1) ++benign;
    if (!reasons[i].empty()) {
      ++refused;
      ++histogram[reasons[i]];
    }
  }
  std::printf("[zkml] %d of %d mutations refused; %d accepted in the float inputs (same x)\n", refused, kMutations,
              benign);
  for (const auto& [reason, n] : histogram) std::printf("[zkml]   %4d  %s\n", n, reason.c_str());
  EXPECT_EQ(refused + benign, kMutations);
  EXPECT_EQ(benign, 0);
}

TEST(ZkmlSoundness, TruncationsAndTrailingBytesAreRefused) {
  const Fixture& f = Mlp();
  ASSERT_FALSE(f.proof.empty());
  std::set<size_t> lengths;
  for (size_t n = 0; n < 80; ++n) lengths.insert(n);
  for (size_t n = 0; n < f.proof.size(); n += f.proof.size() / 150 + 1) lengths.insert(n);
  for (size_t n = f.proof.size() - 80; n < f.proof.size(); ++n) lengths.insert(n);
  for (size_t n : lengths)
    ExpectRefused(ByteView(f.proof.data(), n), f.key.model_commitment, "truncated to " + std::to_string(n));
  for (size_t extra : {1u, 16u}) {
    Bytes m = f.proof;
    m.insert(m.end(), extra, 0);
    std::string why = ExpectRefused(m, f.key.model_commitment, "trailing bytes");
    EXPECT_NE(why.find("trailing"), std::string::npos) << why;
  }
  std::printf("[zkml] %zu truncations refused\n", lengths.size());
}

TEST(ZkmlSoundness, TamperedStatementsAreRefused) {
  const Fixture& f = Mlp();
  ParsedProof p, q;
  ASSERT_TRUE(ParseProof(f.proof, p));
  ASSERT_TRUE(ParseProof(f.other_proof, q));
  ByteView body(f.proof.data() + p.body_begin, f.proof.size() - p.body_begin);
  ASSERT_EQ(Reassemble(p, body), f.proof);
  const auto& cm = f.key.model_commitment;

  {  // A changed float input: the head no longer gives x.
    ParsedProof t = p;
    TensorMap in = f.inputs;
    in.at("x").data<float>()[5] += 0.5f;
    t.inputs = EncodeTensorMap(in);
    std::string why = ExpectRefused(Reassemble(t, body), cm, "changed input");
    EXPECT_NE(why.find("quantize"), std::string::npos) << why;
  }
  {  // A changed output byte.
    ParsedProof t = p;
    t.outputs.back() ^= 0x01;
    std::string why = ExpectRefused(Reassemble(t, body), cm, "changed output");
    EXPECT_NE(why.find("outputs"), std::string::npos) << why;
  }
  {  // A changed integer output y with the float outputs recomputed from it (consistent ends).
    auto y = Tensor::FromCanonicalBytes(p.y);
    ASSERT_TRUE(y.ok());
    for (uint64_t i : {uint64_t{0}, y->num_elements() - 1}) {
      ParsedProof t = p;
      Tensor y2 = *y;
      y2.mutable_bytes()[i] ^= 0x04;
      auto tail = RunModel(f.key.circuit.tail_model, {{f.key.circuit.y_name, y2}});
      ASSERT_TRUE(tail.ok()) << tail.status().ToString();
      t.y = y2.CanonicalBytes();
      t.outputs = EncodeTensorMap(*tail);
      std::string why = ExpectRefused(Reassemble(t, body), cm, "changed y, consistent outputs");
      std::printf("[zkml] changed y code %llu: %s\n", static_cast<unsigned long long>(i), why.c_str());
    }
  }
  {  // Mix and match: input B's statement with input A's proof, and parts of it.
    ByteView other_body(f.other_proof.data() + q.body_begin, f.other_proof.size() - q.body_begin);
    EXPECT_NE(p.x, q.x);
    ExpectRefused(Reassemble(q, body), cm, "statement B, proof A");
    ExpectRefused(Reassemble(p, other_body), cm, "statement A, proof B");
    ParsedProof t = q;
    t.rx = p.rx;  // B's statement with A's witness commitment and A's proof
    ExpectRefused(Reassemble(t, body), cm, "statement B, witness A, proof A");
    t = p;  // A's inputs and x, B's y and outputs
    t.y = q.y;
    t.outputs = q.outputs;
    if (t.y != p.y) ExpectRefused(Reassemble(t, body), cm, "x of A, y of B");
    t = q;  // B's inputs and x, A's y and outputs: the float ends agree, the proof does not
    t.y = p.y;
    t.outputs = p.outputs;
    ExpectRefused(Reassemble(t, body), cm, "x of B, y of A, proof A");
  }
}

TEST(ZkmlSoundness, AnotherModelsCommitment) {
  // Two synthetic models that differ by one weight code: the same circuit, other weights.
  ModelSpec spec;
  spec.in = 9;
  spec.layers = {{.out = 6}, {.out = 4}};
  ModelSpec nudged = spec;
  nudged.weight_nudge = 1;
  auto a = zkml::Setup(BuildModel(spec));
  auto b = zkml::Setup(BuildModel(nudged));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->circuit_hash, b->circuit_hash);
  EXPECT_NE(a->model_commitment, b->model_commitment);
  TensorMap in = {{"x", RandomImages(2, 9, 5)}};
  auto pa = Prove(*a, in);
  ASSERT_TRUE(pa.ok()) << pa.status().ToString();
  std::string why = ExpectRefused(pa->proof, b->model_commitment, "proof A, model B");
  EXPECT_NE(why.find("another model"), std::string::npos) << why;
  auto free = Verify(pa->proof, std::nullopt);
  ASSERT_TRUE(free.ok()) << free.status().ToString();
  EXPECT_EQ(free->model_commitment, a->model_commitment);
  // Claiming B's weight commitment inside the proof: the openings do not hold.
  ParsedProof p;
  ASSERT_TRUE(ParseProof(pa->proof, p));
  ParsedProof t = p;
  t.cw = b->weights.commitment.Encode();
  ASSERT_EQ(t.cw.size(), p.cw.size());
  Bytes forged = Reassemble(t, ByteView(pa->proof.data() + p.body_begin, pa->proof.size() - p.body_begin));
  why = ExpectRefused(forged, b->model_commitment, "proof A relabelled as model B");
  std::printf("[zkml] proof A with C_W of B: %s\n", why.c_str());
  ExpectRefused(forged, std::nullopt, "proof A relabelled as model B (no expected commitment)");

  // The digits MLP quantized with two calibration sets.
  const Fixture& f = Mlp();
  auto other = zkml::Setup(QuantizedMlp(2));
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_NE(other->model_commitment, f.key.model_commitment);
  why = ExpectRefused(f.proof, other->model_commitment, "mlp calibration 1 vs 2");
  EXPECT_NE(why.find("another model"), std::string::npos) << why;
  auto v = Verify(f.proof, std::nullopt);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->model_commitment, f.key.model_commitment);
}

void CheckEveryValueRefused(const Fixture& f) {
  ParsedProof p;
  ASSERT_TRUE(ParseProof(f.proof, p));
  const auto& cm = f.key.model_commitment;
  int count = 0;
  std::map<std::string, int> reasons;
  auto refuse = [&](const Bytes& m, const std::string& what) {
    std::string why = ExpectRefused(m, cm, what);
    ++reasons[why.substr(0, 48)];
    ++count;
  };
  // Every loose value: lookup leaves, multiplicity, requant values, bias, matmul values.
  for (const Span& s : p.fp2) {
    codec::Reader r(ByteView(f.proof.data() + s.begin, s.end - s.begin));
    auto v = zk::ReadFp2(r);
    ASSERT_TRUE(v.ok());
    refuse(Splice(f.proof, s, EncodeFp2(Bump(*v))), s.label);
  }
  // Sumcheck rounds: the first and last value of the first and last round.
  for (const Span& s : p.sumchecks) {
    codec::Reader r(ByteView(f.proof.data() + s.begin, s.end - s.begin));
    auto sc = zk::SumcheckProof::ReadFrom(r);
    ASSERT_TRUE(sc.ok());
    if (sc->round_polys.empty()) continue;
    for (size_t round : {size_t{0}, sc->round_polys.size() - 1})
      for (bool last : {false, true}) {
        zk::SumcheckProof m = *sc;
        auto& poly = m.round_polys[round];
        zk::Fp2& v = last ? poly.back() : poly.front();
        v = Bump(v);
        codec::Writer w;
        m.WriteTo(w);
        refuse(Splice(f.proof, s, w.Take()), s.label + " round " + std::to_string(round));
      }
  }
  // Fraction-sum trees: roots, the first and last level's values, a level's sumcheck.
  for (const auto& [s, nv] : p.fraction_sums) {
    codec::Reader r(ByteView(f.proof.data() + s.begin, s.end - s.begin));
    auto fs = zk::FractionSumProof::ReadFrom(r, nv);
    ASSERT_TRUE(fs.ok());
    auto emit = [&](const zk::FractionSumProof& m, const std::string& what) {
      codec::Writer w;
      m.WriteTo(w);
      refuse(Splice(f.proof, s, w.Take()), s.label + " " + what);
    };
    zk::FractionSumProof m = *fs;
    m.root_p = Bump(m.root_p);
    emit(m, "root p");
    m = *fs;
    m.root_q = Bump(m.root_q);
    emit(m, "root q");
    for (size_t level : {size_t{0}, fs->layers.size() - 1})
      for (size_t k = 0; k < 4; ++k) {
        m = *fs;
        m.layers[level][k] = Bump(m.layers[level][k]);
        emit(m, "level " + std::to_string(level) + " value " + std::to_string(k));
      }
    if (!fs->sumchecks.empty() && !fs->sumchecks.back().round_polys.empty()) {
      m = *fs;
      m.sumchecks.back().round_polys[0][0] = Bump(m.sumchecks.back().round_polys[0][0]);
      emit(m, "last level sumcheck");
    }
  }
  // The opening blobs: one byte in the middle of each (inside the blob).
  for (const Span* s : {&p.weight_opening, &p.witness_opening}) {
    Bytes m = f.proof;
    m[(s->begin + 4 + s->end) / 2] ^= 0x10;
    refuse(m, s->label);
  }
  std::printf("[zkml] %d re-encoded cheating proofs refused\n", count);
  for (const auto& [reason, n] : reasons) std::printf("[zkml]   %4d  %s\n", n, reason.c_str());
  // Every loose value, 4 per sumcheck, 11 per fraction sum, 2 openings.
  EXPECT_EQ(count, static_cast<int>(p.fp2.size() + 4 * p.sumchecks.size() + 11 * p.fraction_sums.size() + 2));
}

TEST(ZkmlSoundness, CheatingProverValuesAreRefused) { CheckEveryValueRefused(Mlp()); }

TEST(ZkmlSoundness, CheatingProverValuesAreRefusedWithATableOp) {
  const Fixture& f = SigmoidMlp();
  auto c = CompileCircuit(f.model);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->tables.size(), 1u);
  CheckEveryValueRefused(f);
}

// A proof whose circuit description names an integer input the head model does not produce:
// without an expected commitment anyone can send one. Verify must refuse it (not throw).
TEST(ZkmlSoundness, ForgedCircuitNamesAreRefusedNotThrown) {
  const Fixture& f = Mlp();
  ParsedProof p;
  ASSERT_TRUE(ParseProof(f.proof, p));
  ByteView body(f.proof.data() + p.body_begin, f.proof.size() - p.body_begin);
  auto c = DecodeCircuit(p.description);
  ASSERT_TRUE(c.ok());
  {
    Circuit forged = *c;
    forged.x_name = "not_the_head_output";
    ParsedProof t = p;
    t.description = forged.Describe();
    ExpectRefused(Reassemble(t, body), std::nullopt, "x_name the head does not produce");
  }
  {
    Circuit forged = *c;
    forged.y_name = "not_the_tail_input";
    ParsedProof t = p;
    t.description = forged.Describe();
    ExpectRefused(Reassemble(t, body), std::nullopt, "y_name the tail does not take");
  }
}

}  // namespace
}  // namespace lucid::zkml::testing

namespace lucid::zkml::testing {
namespace {

// A proof of a few KiB whose circuit description (no expected commitment to stop it early)
// declares 62 layers with 2^20-entry clamp tables: 2^26 table entries that Verify would build
// before reading the rest of the proof. DecodeCircuit must refuse it (the table cap), cheaply.
TEST(ZkmlSoundness, ForgedHugeTableIsRefusedCheaply) {
  const Fixture& f = Mlp();
  ParsedProof p;
  ASSERT_TRUE(ParseProof(f.proof, p));
  auto c = DecodeCircuit(p.description);
  ASSERT_TRUE(c.ok());
  Circuit forged = *c;
  forged.layers.clear();
  forged.steps.clear();
  size_t extra = 60;
  for (size_t s = 0; s < c->steps.size(); ++s) {
    forged.steps.push_back(c->steps[s]);
    bool layer = c->steps[s].kind == ChainStep::Kind::kLayer || c->steps[s].kind == ChainStep::Kind::kLayerNchw;
    if (layer && forged.layers.empty()) {
      forged.layers.push_back(c->layers[0]);
      for (size_t e = 0; e < extra; ++e) {
        forged.steps.push_back(c->steps[s]);
        FcLayer l = c->layers[0];
        l.in_features = l.out_features;
        forged.layers.push_back(l);
      }
    } else if (layer) {
      forged.layers.push_back(c->layers[1]);
    }
  }
  for (FcLayer& l : forged.layers) {
    l.q_min = -(int64_t{1} << 19);
    l.q_max = (int64_t{1} << 19) - 1;
  }
  ParsedProof t = p;
  t.description = forged.Describe();
  auto decoded = DecodeCircuit(t.description);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("too large"), std::string::npos) << decoded.status().message();
  Bytes proof = Reassemble(t, ByteView(f.proof.data() + p.body_begin, 64));
  auto t0 = std::chrono::steady_clock::now();
  std::string why = ExpectRefused(proof, std::nullopt, "forged huge table");
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[zkml] %zu-byte forged proof (%zu layers, 2^20-entry tables): refused in %.1f ms: %s\n", proof.size(),
              forged.layers.size(), ms, why.c_str());
  EXPECT_LT(ms, 2000.0);
}

}  // namespace
}  // namespace lucid::zkml::testing
