// Shared helpers of the zkml tests: the quantized digits MLP, running models, and a reader
// of the proof layout (the same order Verify reads it, duplicated here so tests can locate
// and re-encode individual values of an honest proof).
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "onnx/model.h"
#include "onnx/quantize.h"
#include "zkml_models.h"
#include "zk/field.h"
#include "zk/fraction_sum.h"
#include "zk/pcs.h"
#include "zk/sumcheck.h"
#include "zkml/zkml.h"

namespace lucid::zkml::testing {

inline std::string SourcePath(const std::string& rel) {
  const char* env = std::getenv("LUCID_SOURCE_DIR");
  std::string root = env != nullptr && *env != 0 ? env : LUCID_SOURCE_DIR;
  return root + "/" + rel;
}

inline Bytes ReadFileBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline TensorMap MlpInput(int64_t rows, uint64_t seed) { return {{"x", RandomImages(rows, 64, seed)}}; }

// The digits MLP with a symbolic batch dim (the file has [1, 64]), quantized with 20 pseudo-random calibration images from `calibration_seed`.
// `activation` replaces its Relu (e.g. "Sigmoid", "Tanh": the quantizer makes those 256-entry tables).
inline Bytes QuantizedMlp(uint64_t calibration_seed, const std::string& activation = "Relu") {
  ::onnx::ModelProto proto;
  Bytes file = ReadFileBytes(SourcePath("models/digits/mlp.onnx"));
  if (!proto.ParseFromArray(file.data(), static_cast<int>(file.size()))) {
    ADD_FAILURE() << "models/digits/mlp.onnx does not parse";
    return {};
  }
  for (auto* v : {proto.mutable_graph()->mutable_input(0), proto.mutable_graph()->mutable_output(0)})
    v->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("batch");
  for (auto& n : *proto.mutable_graph()->mutable_node())
    if (n.op_type() == "Relu") n.set_op_type(activation);
  Bytes float_model = Serialize(proto);
  std::vector<TensorMap> calibration;
  for (uint64_t i = 0; i < 20; ++i) calibration.push_back(MlpInput(1, calibration_seed * 1000 + i));
  auto q = onnx::QuantizeStatic(float_model, calibration);
  if (!q.ok()) {
    ADD_FAILURE() << q.status().ToString();
    return {};
  }
  return q->model;
}

// The digits CNN with a symbolic batch dim, quantized with 20 pseudo-random calibration images.

inline TensorMap CnnInput(int64_t rows, uint64_t seed) {
  Tensor x = RandomImages(rows, 64, seed);
  return {{"x", *Tensor::FromBytes(DType::kFloat32, {rows, 1, 8, 8}, Bytes(x.bytes().begin(), x.bytes().end()))}};
}

inline Bytes QuantizedCnn() {
  ::onnx::ModelProto proto;
  Bytes file = ReadFileBytes(SourcePath("models/digits/cnn.onnx"));
  if (!proto.ParseFromArray(file.data(), static_cast<int>(file.size()))) {
    ADD_FAILURE() << "models/digits/cnn.onnx does not parse";
    return {};
  }
  for (auto* v : {proto.mutable_graph()->mutable_input(0), proto.mutable_graph()->mutable_output(0)})
    v->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("batch");
  std::vector<TensorMap> calibration;
  for (uint64_t i = 0; i < 20; ++i) calibration.push_back(CnnInput(1, 500 + i));
  auto q = onnx::QuantizeStatic(Serialize(proto), calibration);
  if (!q.ok()) {
    ADD_FAILURE() << q.status().ToString();
    return {};
  }
  return q->model;
}

inline Result<TensorMap> RunModel(ByteView model, const TensorMap& inputs) {
  ASSIGN_OR_RETURN(auto m, onnx::Model::Load(model));
  return m->Run(inputs);
}

// The model with `value` (an integer tensor of `type`) as an extra graph output.
inline Bytes WithExtraOutput(ByteView model, const std::string& value, DType type, size_t rank) {
  ::onnx::ModelProto m;
  m.ParseFromArray(model.data(), static_cast<int>(model.size()));
  auto* out = m.mutable_graph()->add_output();
  out->set_name(value);
  out->mutable_type()->mutable_tensor_type()->set_elem_type(type == DType::kInt8 ? ::onnx::TensorProto::INT8
                                                                                 : ::onnx::TensorProto::UINT8);
  auto* shape = out->mutable_type()->mutable_tensor_type()->mutable_shape();
  for (size_t i = 0; i < rank; ++i) shape->add_dim()->set_dim_param("d" + std::to_string(i));
  return Serialize(m);
}

inline std::vector<int64_t> Codes(const Tensor& t) {
  std::vector<int64_t> v;
  for (uint64_t i = 0; i < t.num_elements(); ++i)
    v.push_back(t.dtype() == DType::kInt8 ? int64_t{t.data<int8_t>()[i]} : int64_t{t.data<uint8_t>()[i]});
  return v;
}

// ---- The proof layout ----

struct Span {
  size_t begin = 0, end = 0;
  std::string label;
};

struct ParsedProof {
  Bytes description, cw, inputs, x, y, outputs, rx;
  size_t body_begin = 0;                 // first byte after the statement (the lookup proof)
  std::vector<Span> fp2;                 // every loose Fp2 value (16 bytes each)
  std::vector<Span> sumchecks;           // SumcheckProof::WriteTo encodings
  std::vector<std::pair<Span, unsigned>> fraction_sums;  // FractionSumProof encodings, num_vars
  Span weight_opening, witness_opening;  // the two opening blobs (with their length prefix)
};

inline unsigned ActVars(int64_t rows, int64_t cols) {
  return CeilLog2(static_cast<uint64_t>(rows)) + std::max(1u, CeilLog2(static_cast<uint64_t>(cols)));
}

inline unsigned LookupVars(const Circuit& c, int64_t rows) {
  uint64_t total = 0;
  const size_t limbs = LimbCount(ChooseLimbBits(c, rows));
  for (const FcLayer& l : c.layers) total += (1 + limbs) * (uint64_t{1} << ActVars(rows * l.out_h * l.out_w, l.out_features));
  for (const PoolLayer& p : c.pools)
    total += static_cast<uint64_t>(p.Taps()) * (uint64_t{1} << ActVars(rows * p.out_h * p.out_w, p.c));
  for (const TableLayer& t : c.tables) total += uint64_t{1} << ActVars(rows * t.h * t.w, t.c);
  return std::max(1u, CeilLog2(total));
}


// Reads the proof in Verify's order; fails the test (and returns false) on any mismatch.
inline bool ParseProof(ByteView proof, ParsedProof& p) {
  codec::Reader r(proof);
  auto pos = [&] { return proof.size() - r.remaining(); };
#define ZKT_READ(var, expr)                                        \
  auto var##_r = (expr);                                           \
  if (!var##_r.ok()) {                                             \
    ADD_FAILURE() << "parse " #var ": " << var##_r.status().ToString(); \
    return false;                                                  \
  }                                                                \
  auto var = std::move(*var##_r);
  ZKT_READ(version, r.U8());
  if (version != kProofVersion) return false;
  ZKT_READ(desc, r.Blob());
  p.description = desc;
  ZKT_READ(cw, r.Raw(zk::pcs::Commitment::kEncodedBytes));
  p.cw = cw;
  ZKT_READ(inputs, r.Blob());
  p.inputs = inputs;
  ZKT_READ(x, r.Blob());
  p.x = x;
  ZKT_READ(y, r.Blob());
  p.y = y;
  ZKT_READ(outputs, r.Blob());
  p.outputs = outputs;
  ZKT_READ(rx, r.Raw(zk::pcs::Commitment::kEncodedBytes));
  p.rx = rx;
  p.body_begin = pos();
  ZKT_READ(circuit, DecodeCircuit(desc));
  ZKT_READ(xt, Tensor::FromCanonicalBytes(x));
  const int64_t rows = xt.shape()[0];
  const size_t layers = circuit.layers.size();
  auto fraction = [&](unsigned nv, const std::string& label) -> bool {
    size_t b = pos();
    auto f = zk::FractionSumProof::ReadFrom(r, nv);
    if (!f.ok()) {
      ADD_FAILURE() << label << ": " << f.status().ToString();
      return false;
    }
    p.fraction_sums.push_back({{b, pos(), label}, nv});
    return true;
  };
  auto fp2 = [&](const std::string& label) -> bool {
    size_t b = pos();
    auto v = zk::ReadFp2(r);
    if (!v.ok()) {
      ADD_FAILURE() << label << ": " << v.status().ToString();
      return false;
    }
    p.fp2.push_back({b, pos(), label});
    return true;
  };
  auto sumcheck = [&](const std::string& label) -> bool {
    size_t b = pos();
    auto s = zk::SumcheckProof::ReadFrom(r);
    if (!s.ok()) {
      ADD_FAILURE() << label << ": " << s.status().ToString();
      return false;
    }
    p.sumchecks.push_back({b, pos(), label});
    return true;
  };
  const int limb_bits = ChooseLimbBits(circuit, rows);
  const size_t limbs = LimbCount(limb_bits);
  if (!fraction(LookupVars(circuit, rows), "lookup fraction sum")) return false;
  for (size_t l = 0; l < layers; ++l)
    for (size_t j = 0; j < 2 + limbs; ++j)
      if (!fp2("lookup leaf l" + std::to_string(l) + "." + std::to_string(j))) return false;
  for (size_t i = 0; i < circuit.pools.size(); ++i)
    for (int64_t t = 0; t < circuit.pools[i].Taps(); ++t)
      if (!fp2("lookup leaf pool" + std::to_string(i) + "." + std::to_string(t))) return false;
  for (size_t t = 0; t < circuit.tables.size(); ++t)
    for (const char* part : {".x", ".y"})
      if (!fp2("lookup leaf table" + std::to_string(t) + part)) return false;
  {
    std::vector<unsigned> segments = TableSegmentBits(BuildLookupTable(circuit, limb_bits).a.size());
    for (size_t s = 0; s < segments.size(); ++s) {
      std::string seg = segments.size() == 1 ? "" : " " + std::to_string(s);
      if (!fraction(segments[s], "table fraction sum" + seg)) return false;
      if (!fp2("multiplicity" + seg)) return false;
    }
  }
  auto ops = circuit.Ops();
  (void)layers;
  for (size_t i = ops.size(); i-- > 0;) {
    if (ops[i].table) continue;
    if (ops[i].pool) {
      const PoolLayer& pl = circuit.pools[ops[i].index];
      std::string P = "pool " + std::to_string(ops[i].index) + " ";
      for (int64_t t = 0; t <= pl.Taps(); ++t)
        if (!fp2(P + "value " + std::to_string(t))) return false;
      if (!sumcheck(P + "wiring sumcheck") || !fp2(P + "wiring value")) return false;
      if (!sumcheck(P + "max-attained sumcheck")) return false;
      for (int64_t t = 0; t < pl.Taps(); ++t)
        if (!fp2(P + "product value " + std::to_string(t))) return false;
      continue;
    }
    size_t l = ops[i].index;
    std::string L = "layer " + std::to_string(l) + " ";
    if (!sumcheck(L + "requant sumcheck")) return false;
    for (size_t j = 0; j < 2 + limbs; ++j)
      if (!fp2(L + "requant value " + std::to_string(j))) return false;
    if (!fp2(L + "bias value")) return false;
    if (!sumcheck(L + "matmul sumcheck")) return false;
    if (!fp2(L + "matmul value A") || !fp2(L + "matmul value B")) return false;
    if (circuit.layers[l].Wired() && (!sumcheck(L + "wiring sumcheck") || !fp2(L + "wiring value"))) return false;
  }
  size_t b = pos();
  ZKT_READ(wopen, r.Blob());
  p.weight_opening = {b, pos(), "weight opening"};
  b = pos();
  ZKT_READ(xopen, r.Blob());
  p.witness_opening = {b, pos(), "witness opening"};
  (void)wopen;
  (void)xopen;
#undef ZKT_READ
  if (r.remaining() != 0) {
    ADD_FAILURE() << "parse: trailing bytes";
    return false;
  }
  return true;
}

inline Bytes Splice(ByteView proof, const Span& s, ByteView replacement) {
  Bytes out(proof.begin(), proof.begin() + static_cast<std::ptrdiff_t>(s.begin));
  out.insert(out.end(), replacement.begin(), replacement.end());
  out.insert(out.end(), proof.begin() + static_cast<std::ptrdiff_t>(s.end), proof.end());
  return out;
}

// A proof with the given statement parts and the body (everything after the statement) of
// another proof.
inline Bytes Reassemble(const ParsedProof& st, ByteView body) {
  codec::Writer w;
  w.U8(kProofVersion);
  w.Blob(st.description);
  w.Raw(st.cw);
  w.Blob(st.inputs);
  w.Blob(st.x);
  w.Blob(st.y);
  w.Blob(st.outputs);
  w.Raw(st.rx);
  Bytes out = w.Take();
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline zk::Fp2 Bump(zk::Fp2 v) { return v + zk::Fp2::One(); }

inline Bytes EncodeFp2(zk::Fp2 v) {
  codec::Writer w;
  zk::WriteFp2(w, v);
  return w.Take();
}

}  // namespace lucid::zkml::testing
