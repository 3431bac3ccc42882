// Cheating provers (docs/zk.md, ZK notes): change one committed intermediate value — an
// activation, a quotient, a rounding-remainder limb, a pool maximum or difference, a lookup
// multiplicity — let the prover recompute everything it can from it (ProveOptions::cheat:
// accumulators, wirings, lookups and openings follow the altered witness) and show the
// verifier refuses every such proof.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "zkml/zkml.h"
#include "zkml_test_util.h"

namespace lucid::zkml {
namespace {

using zk::Fp;
using namespace lucid::zkml::testing;

// An entry the circuit constrains: row 0, column min(col, valid_cols - 1).
uint64_t ValidEntry(const WitnessBlockInfo& b, int64_t col = 0) {
  int64_t c = std::min(col, b.valid_cols - 1);
  return b.offset + static_cast<uint64_t>(c);
}

struct Cheat {
  std::string name;
  std::function<void(std::vector<Fp>&, const std::vector<WitnessBlockInfo>&)> apply;
};

const WitnessBlockInfo* Find(const std::vector<WitnessBlockInfo>& blocks, const std::string& what) {
  for (const auto& b : blocks)
    if (b.what == what) return &b;
  return nullptr;
}

// Adds delta to one valid entry of the named block.
Cheat Bump(const std::string& what, int64_t delta = 1, int64_t col = 0) {
  return {what + (delta > 0 ? " +" : " ") + std::to_string(delta),
          [=](std::vector<Fp>& w, const std::vector<WitnessBlockInfo>& blocks) {
            const WitnessBlockInfo* b = Find(blocks, what);
            ASSERT_NE(b, nullptr) << what;
            w[ValidEntry(*b, col)] += Fp::FromI64(delta);
          }};
}

// Moves one count between two table entries: the sum of multiplicities stays the same.
Cheat MoveMultiplicity() {
  return {"multiplicity moved", [](std::vector<Fp>& w, const std::vector<WitnessBlockInfo>& blocks) {
            const WitnessBlockInfo* b = Find(blocks, "multiplicities");
            ASSERT_NE(b, nullptr);
            for (uint64_t e = b->offset; e + 1 < b->offset + b->size; ++e)
              if (!w[e].IsZero()) {
                w[e] -= Fp::One();
                w[e + 1] += Fp::One();
                return;
              }
            FAIL() << "no multiplicity";
          }};
}

// q and y of the same output moved together (the clamp pair stays in the table).
Cheat QAndY(size_t layer) {
  std::string name = "layer " + std::to_string(layer);
  return {name + " q and y +1", [=](std::vector<Fp>& w, const std::vector<WitnessBlockInfo>& blocks) {
            for (const char* part : {" q", " y"}) {
              const WitnessBlockInfo* b = Find(blocks, name + part);
              ASSERT_NE(b, nullptr);
              w[ValidEntry(*b)] += Fp::One();
            }
          }};
}

// The rounding attack: q - 1 with r + 2^s keeps acc M + 2^(s-1) = q 2^s + r true and y the
// clamp of the new q, so only the remainder's range check (its limbs' widths) can catch it.
Cheat RemainderOverflow(const Bytes& model) {
  return {"q - 1, r + 2^s", [model](std::vector<Fp>& w, const std::vector<WitnessBlockInfo>& blocks) {
            auto circuit = CompileCircuit(model);
            ASSERT_TRUE(circuit.ok());
            const FcLayer& layer = circuit->layers[0];
            const int s = layer.shift[0];
            uint64_t q_at = ValidEntry(*Find(blocks, "layer 0 q")), y_at = ValidEntry(*Find(blocks, "layer 0 y"));
            int64_t q = w[q_at].ToSigned() - 1;
            w[q_at] = Fp::FromI64(q);
            w[y_at] = Fp::FromI64(std::clamp(layer.out_zero + q, layer.lo, layer.hi));
            // The proof's limbs: as many blocks as "layer 0 r<j>" names, of the width that count implies.
            size_t limbs = 0;
            while (Find(blocks, "layer 0 r" + std::to_string(limbs))) ++limbs;
            const int bits = LimbCount(kLimbBitsSmall) == limbs ? kLimbBitsSmall : kLimbBitsLarge;
            ASSERT_EQ(LimbCount(bits), limbs);
            unsigned __int128 r = 0;
            for (size_t j = 0; j < limbs; ++j)
              r += static_cast<unsigned __int128>(w[ValidEntry(*Find(blocks, "layer 0 r" + std::to_string(j)))].value())
                   << (bits * j);
            r += static_cast<unsigned __int128>(1) << s;
            for (size_t j = 0; j < limbs; ++j) {
              const uint64_t mask = (uint64_t{1} << bits) - 1;
              uint64_t limb = j + 1 < limbs ? static_cast<uint64_t>((r >> (bits * j)) & mask)
                                            : static_cast<uint64_t>(r >> (bits * j));
              w[ValidEntry(*Find(blocks, "layer 0 r" + std::to_string(j)))] = Fp::FromU64(limb);
            }
          }};
}

void ExpectEveryCheatRefused(const Bytes& model, const TensorMap& input, const std::vector<Cheat>& cheats) {
  auto key = Setup(model);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto honest = Prove(*key, input);
  ASSERT_TRUE(honest.ok()) << honest.status().ToString();
  ASSERT_TRUE(Verify(honest->proof, key->model_commitment).ok());
  for (const Cheat& cheat : cheats) {
    ProveOptions options;
    options.cheat = cheat.apply;
    auto proof = Prove(*key, input, options);
    ASSERT_TRUE(proof.ok()) << cheat.name << ": " << proof.status().ToString();
    EXPECT_NE(proof->proof, honest->proof) << cheat.name << " changed nothing";
    auto v = Verify(proof->proof, key->model_commitment);
    EXPECT_FALSE(v.ok()) << cheat.name << " was accepted";
    if (!v.ok()) std::printf("[zkml cheat] %-22s -> %s\n", cheat.name.c_str(), v.status().message().c_str());
  }
}

// Every block of every layer, for the limb width the proof of `rows` inputs uses.
std::vector<Cheat> EveryLayerBlock(const Bytes& model, int64_t rows) {
  auto circuit = CompileCircuit(model);
  EXPECT_TRUE(circuit.ok());
  if (!circuit.ok()) return {};
  const size_t limbs = LimbCount(ChooseLimbBits(*circuit, rows));
  std::vector<Cheat> cheats;
  for (size_t l = 0; l < circuit->layers.size(); ++l) {
    std::string name = "layer " + std::to_string(l) + " ";
    cheats.push_back(Bump(name + "q"));
    cheats.push_back(Bump(name + "y"));
    for (size_t j = 0; j < limbs; ++j) cheats.push_back(Bump(name + "r" + std::to_string(j)));
    cheats.push_back(QAndY(l));
  }
  return cheats;
}

TEST(ZkmlCheatingProver, MlpEveryWitnessBlock) {
  Bytes model = QuantizedMlp(3);
  std::vector<Cheat> cheats = EveryLayerBlock(model, 2);
  cheats.push_back(Bump("layer 0 y", -1, 5));
  cheats.push_back(MoveMultiplicity());
  cheats.push_back(RemainderOverflow(model));
  ExpectEveryCheatRefused(model, MlpInput(2, 77), cheats);
}

// A table op's output moved to another code (still in the table's output range, and the next
// layer recomputed from it by the cheating prover's recount): the (x, y) lookup catches it.
TEST(ZkmlCheatingProver, TableOutputBlock) {
  for (const char* activation : {"Sigmoid", "Tanh"}) {
    Bytes model = QuantizedMlp(3, activation);
    ExpectEveryCheatRefused(model, MlpInput(2, 79),
                            {Bump("table 0 y"), Bump("table 0 y", -1), Bump("layer 0 y"), MoveMultiplicity()});
  }
}

// A batch large enough for 16-bit limbs (4 limb blocks, the 2^16 range table): the same
// cheats are caught in that layout too.
TEST(ZkmlCheatingProver, MlpLargeBatchSixteenBitLimbs) {
  Bytes model = QuantizedMlp(3);
  auto circuit = CompileCircuit(model);
  ASSERT_TRUE(circuit.ok());
  ASSERT_EQ(ChooseLimbBits(*circuit, 1), kLimbBitsSmall);
  ASSERT_EQ(ChooseLimbBits(*circuit, 512), kLimbBitsLarge);
  std::vector<Cheat> cheats = EveryLayerBlock(model, 512);
  cheats.push_back(MoveMultiplicity());
  cheats.push_back(RemainderOverflow(model));
  ExpectEveryCheatRefused(model, MlpInput(512, 78), cheats);
}

TEST(ZkmlCheatingProver, CnnConvolutionAndPoolBlocks) {
  std::vector<Cheat> cheats = {Bump("layer 0 y"), Bump("layer 1 q"), Bump("layer 0 r0"), Bump("layer 2 y"),
                               Bump("pool 0 m"),  Bump("pool 0 d0"), Bump("pool 1 d3"),  Bump("pool 1 m", -1),
                               MoveMultiplicity()};
  // A pool maximum and all its differences moved together: m - e_t - d_t stays 0, so only the
  // max-attained check (some d_t = 0) catches it.
  cheats.push_back({"pool 0 m and every d +1", [](std::vector<Fp>& w, const std::vector<WitnessBlockInfo>& blocks) {
                      for (const char* part : {"pool 0 m", "pool 0 d0", "pool 0 d1", "pool 0 d2", "pool 0 d3"}) {
                        const WitnessBlockInfo* b = Find(blocks, part);
                        ASSERT_NE(b, nullptr) << part;
                        w[ValidEntry(*b)] += Fp::One();
                      }
                    }});
  ExpectEveryCheatRefused(QuantizedCnn(), CnnInput(1, 31), cheats);
}

}  // namespace
}  // namespace lucid::zkml
