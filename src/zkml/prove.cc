#include <algorithm>
#include <chrono>
#include <numeric>

#include "codec/codec.h"
#include "crypto/hash.h"
#include "onnx/model.h"
#include "zk/fraction_sum.h"
#include "zk/multilinear.h"
#include "zk/sumcheck.h"
#include "zk/transcript.h"
#include "zkml/zkml.h"

namespace lucid::zkml {
namespace {

using zk::Fp;
using zk::Fp2;
using zk::pcs::Claim;

constexpr size_t kLimbs = 4;  // limbs of r and of 2^s - 1 - r: 16, 16, 16, 14 bits
constexpr size_t kBlocksPerLayer = 2 + 2 * kLimbs;  // q, y, r limbs, r' limbs

// Power-of-two blocks packed into one vector, largest first, so each is aligned to its size.
struct Blocks {
  std::vector<uint64_t> offset;
  std::vector<unsigned> log_size;
  unsigned num_vars = 1;

  explicit Blocks(std::vector<unsigned> logs) : offset(logs.size()), log_size(std::move(logs)) {
    std::vector<size_t> order(log_size.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return log_size[a] > log_size[b]; });
    uint64_t at = 0;
    for (size_t i : order) {
      offset[i] = at;
      at += uint64_t{1} << log_size[i];
    }
    num_vars = std::max(1u, CeilLog2(at));
  }
  uint64_t size() const { return uint64_t{1} << num_vars; }
  // The point of the whole vector that reads block b at `local`.
  std::vector<Fp2> Point(size_t b, std::span<const Fp2> local) const {
    std::vector<Fp2> p(local.begin(), local.end());
    uint64_t id = offset[b] >> log_size[b];
    for (unsigned i = log_size[b]; i < num_vars; ++i) p.push_back(((id >> (i - log_size[b])) & 1) ? Fp2::One() : Fp2::Zero());
    return p;
  }
  // eq of the block's high bits (the MLE of "x is in block b") at a full point.
  Fp2 Selector(size_t b, std::span<const Fp2> point) const {
    Fp2 s = Fp2::One();
    uint64_t id = offset[b] >> log_size[b];
    for (unsigned i = log_size[b]; i < num_vars; ++i)
      s *= ((id >> (i - log_size[b])) & 1) ? point[i] : Fp2::One() - point[i];
    return s;
  }
};

// Everything both sides derive from the circuit and the batch size.
struct Layout {
  int64_t rows = 0;
  unsigned row_bits = 0;
  std::vector<unsigned> in_bits, out_bits;  // per layer
  Blocks weights{{}}, witness{{}}, lookups{{}};
  unsigned table_bits = 0;
  size_t multiplicity_block = 0;

  static size_t Block(size_t layer, size_t j) { return layer * kBlocksPerLayer + j; }
  // Lookup instances per layer: 0 = clamp (q, y), 1.. = range on limb j - 1.
  static size_t Instance(size_t layer, size_t j) { return layer * (1 + 2 * kLimbs) + j; }
  // The block instance j looks up (its first component) and its table tag.
  static size_t InstanceBlock(size_t layer, size_t j) { return Block(layer, j == 0 ? 0 : 1 + j); }
  static uint64_t InstanceTag(size_t layer, size_t j) {
    if (j == 0) return layer + 2;
    return (j - 1) % kLimbs == kLimbs - 1 ? 1 : 0;  // the top limb is 14 bits
  }
};

Layout MakeLayout(const Circuit& c, int64_t rows, size_t table_size) {
  Layout L;
  L.rows = rows;
  L.row_bits = CeilLog2(static_cast<uint64_t>(rows));
  std::vector<unsigned> wlogs, xlogs, llogs;
  for (const FcLayer& l : c.layers) {
    L.in_bits.push_back(l.log_in());
    L.out_bits.push_back(l.log_out());
    wlogs.push_back(l.log_out() + l.log_in());  // W
    wlogs.push_back(l.log_out());               // bias
    for (size_t j = 0; j < kBlocksPerLayer; ++j) xlogs.push_back(L.row_bits + l.log_out());
    for (size_t j = 0; j < 1 + 2 * kLimbs; ++j) llogs.push_back(L.row_bits + l.log_out());
  }
  L.table_bits = std::max(1u, CeilLog2(table_size));
  L.multiplicity_block = xlogs.size();
  xlogs.push_back(L.table_bits);
  L.weights = Blocks(wlogs);
  L.witness = Blocks(xlogs);
  L.lookups = Blocks(llogs);
  return L;
}

Fp FromInt(int64_t v) { return Fp::FromI64(v); }

// sum_{v < count} eq(r, v): the MLE of [index < count].
Result<Fp2> PrefixIndicator(uint64_t count, std::span<const Fp2> r) {
  ASSIGN_OR_RETURN(std::vector<Fp2> eq, zk::EqTable(r));
  Fp2 s = Fp2::Zero();
  for (uint64_t v = 0; v < count && v < eq.size(); ++v) s += eq[v];
  return s;
}

// The MLE of x -> eq(tau, x) [x < count] at r: sum_{v < count} eq(tau, v) eq(r, v).
Result<Fp2> MaskedEq(std::span<const Fp2> tau, std::span<const Fp2> r, uint64_t count) {
  ASSIGN_OR_RETURN(std::vector<Fp2> a, zk::EqTable(tau));
  ASSIGN_OR_RETURN(std::vector<Fp2> b, zk::EqTable(r));
  Fp2 s = Fp2::Zero();
  for (uint64_t v = 0; v < count && v < a.size(); ++v) s += a[v] * b[v];
  return s;
}

// [i < rows][o < out] at a point (o bits low, row bits high).
Result<Fp2> ValidAt(const Layout& L, size_t layer, int64_t out, std::span<const Fp2> point) {
  unsigned ob = L.out_bits[layer];
  ASSIGN_OR_RETURN(Fp2 o, PrefixIndicator(static_cast<uint64_t>(out), point.subspan(0, ob)));
  ASSIGN_OR_RETURN(Fp2 i, PrefixIndicator(static_cast<uint64_t>(L.rows), point.subspan(ob)));
  return o * i;
}

// A per-output-channel vector (zero-padded to 2^ob) evaluated at the o bits of a point.
Result<Fp2> ChannelAt(const std::vector<int64_t>& per_channel, unsigned ob, std::span<const Fp2> point) {
  std::vector<Fp> v(size_t{1} << ob, Fp::Zero());
  for (size_t o = 0; o < per_channel.size(); ++o) v[o] = FromInt(per_channel[o]);
  return zk::EvaluateMultilinear(std::span<const Fp>(v), point.subspan(0, ob));
}

struct ChannelVectors {
  std::vector<int64_t> m, p, h;
};
ChannelVectors Channels(const FcLayer& l) {
  ChannelVectors c;
  for (size_t o = 0; o < l.multiplier.size(); ++o) {
    c.m.push_back(l.multiplier[o]);
    c.p.push_back(int64_t{1} << l.shift[o]);
    c.h.push_back(int64_t{1} << (l.shift[o] - 1));
  }
  return c;
}

// The requantization zero-check of one layer over the multilinears
//   0 eqv, 1 acc, 2 M, 3 q, 4 P = 2^s, 5 H = 2^(s-1), 6..9 r limbs, 10..13 r' limbs:
//   eqv [acc M + H - q P - r] + gamma eqv [r + r' - P + 1],  r = sum_j 2^(16j) limb_j.
zk::VirtualPolynomial RequantPolynomial(unsigned num_vars, Fp2 gamma) {
  zk::VirtualPolynomial poly;
  poly.num_vars = num_vars;
  poly.num_multilinears = 6 + 2 * kLimbs;
  poly.terms.push_back({Fp2::One(), {0, 1, 2}});
  poly.terms.push_back({Fp2::One(), {0, 5}});
  poly.terms.push_back({-Fp2::One(), {0, 3, 4}});
  for (uint32_t j = 0; j < kLimbs; ++j) {
    Fp2 w = Fp2::FromU64(uint64_t{1} << (16 * j));
    poly.terms.push_back({(gamma - Fp2::One()) * w, {0, static_cast<uint32_t>(6 + j)}});
    poly.terms.push_back({gamma * w, {0, static_cast<uint32_t>(6 + kLimbs + j)}});
  }
  poly.terms.push_back({-gamma, {0, 4}});
  poly.terms.push_back({gamma, {0}});
  return poly;
}

// sum_k (A(k) - z) B(k) over the multilinears 0 A, 1 B.
zk::VirtualPolynomial MatmulPolynomial(unsigned num_vars, int64_t in_zero) {
  zk::VirtualPolynomial poly;
  poly.num_vars = num_vars;
  poly.num_multilinears = 2;
  poly.terms.push_back({Fp2::One(), {0, 1}});
  poly.terms.push_back({Fp2::FromI64(-in_zero), {1}});
  return poly;
}

Fp2 TableValue(Fp2 alpha, Fp2 beta, Fp2 a, Fp2 b, Fp2 tag) { return alpha - (a + beta * b + beta * beta * tag); }

double Ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// The weight vector committed as C_W.
std::vector<Fp> WeightVector(const Circuit& c, const Layout& L) {
  std::vector<Fp> v(L.weights.size(), Fp::Zero());
  for (size_t l = 0; l < c.layers.size(); ++l) {
    const FcLayer& layer = c.layers[l];
    uint64_t w_off = L.weights.offset[2 * l], b_off = L.weights.offset[2 * l + 1];
    for (int64_t o = 0; o < layer.out_features; ++o) {
      for (int64_t k = 0; k < layer.in_features; ++k)
        v[w_off + (static_cast<uint64_t>(o) << L.in_bits[l]) + static_cast<uint64_t>(k)] =
            FromInt(layer.weights[static_cast<size_t>(o * layer.in_features + k)]);
      v[b_off + static_cast<uint64_t>(o)] = FromInt(layer.bias[static_cast<size_t>(o)]);
    }
  }
  return v;
}

void WriteStatementTensor(codec::Writer& w, const Tensor& t) { w.Blob(t.CanonicalBytes()); }

// Integer codes of a tensor, zero-padded into a rows x 2^bits layout (row bits high).
std::vector<Fp> PaddedRows(const std::vector<int64_t>& values, int64_t rows, int64_t width, unsigned row_bits,
                           unsigned col_bits) {
  std::vector<Fp> out(size_t{1} << (row_bits + col_bits), Fp::Zero());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t k = 0; k < width; ++k)
      out[(static_cast<size_t>(i) << col_bits) + static_cast<size_t>(k)] = FromInt(values[static_cast<size_t>(i * width + k)]);
  return out;
}

std::vector<int64_t> TensorCodes(const Tensor& t) {
  std::vector<int64_t> v;
  for (uint64_t i = 0; i < t.num_elements(); ++i)
    v.push_back(t.dtype() == DType::kInt8 ? int64_t{t.data<int8_t>()[i]} : int64_t{t.data<uint8_t>()[i]});
  return v;
}

Result<TensorMap> RunPart(ByteView model_bytes, const TensorMap& inputs, const char* what) {
  auto model = onnx::Model::Load(model_bytes);
  if (!model.ok()) return InvalidArgument(std::string("zkml: the circuit's ") + what + " model: " + model.status().message());
  auto out = (*model)->Run(inputs);
  if (!out.ok()) return InvalidArgument(std::string("zkml: running the ") + what + ": " + out.status().message());
  return out;
}

}  // namespace

Hash32 ModelCommitment(const Hash32& circuit_hash, const zk::pcs::Commitment& weights) {
  Bytes data(circuit_hash.begin(), circuit_hash.end());
  Bytes w = weights.Encode();
  data.insert(data.end(), w.begin(), w.end());
  return crypto::TaggedSha256("lucid:zkml:model:v1", data);
}

Result<ProvingKey> Setup(ByteView quantized_model) {
  ProvingKey key;
  ASSIGN_OR_RETURN(key.circuit, CompileCircuit(quantized_model));
  key.circuit_hash = key.circuit.Hash();
  Layout L = MakeLayout(key.circuit, 1, 2);
  ASSIGN_OR_RETURN(key.weights, zk::pcs::Commit(WeightVector(key.circuit, L)));
  key.model_commitment = ModelCommitment(key.circuit_hash, key.weights.commitment);
  return key;
}

Result<ProveResult> Prove(const ProvingKey& key, const TensorMap& inputs, const ProveOptions& options) {
  const Circuit& c = key.circuit;
  auto t0 = std::chrono::steady_clock::now();
  ProveResult result;
  ASSIGN_OR_RETURN(TensorMap head_out, RunPart(c.head_model, inputs, "head"));
  auto x_it = head_out.find(c.x_name);
  if (x_it == head_out.end()) return InvalidArgument("zkml: the head model does not produce '" + c.x_name + "'");
  const Tensor& x = x_it->second;
  ASSIGN_OR_RETURN(Trace trace, Evaluate(c, x));
  Bytes y_bytes;
  for (int64_t v : trace.layers.back().y) y_bytes.push_back(static_cast<uint8_t>(v));
  ASSIGN_OR_RETURN(Tensor y, Tensor::FromBytes(c.y_dtype, trace.output_shape, std::move(y_bytes)));
  ASSIGN_OR_RETURN(result.outputs, RunPart(c.tail_model, {{c.y_name, y}}, "tail"));
  result.timings.execute_ms = Ms(t0);

  auto t1 = std::chrono::steady_clock::now();
  LookupTable table = BuildLookupTable(c);
  Layout L = MakeLayout(c, trace.rows, table.a.size());
  const size_t num_layers = c.layers.size();
  // Witness: per layer q, y, r limbs, r' limbs; then the table multiplicities.
  std::vector<Fp> wit(L.witness.size(), Fp::Zero());
  std::vector<uint64_t> mult(table.a.size(), 0);
  for (size_t l = 0; l < num_layers; ++l) {
    const FcLayer& layer = c.layers[l];
    const LayerTrace& t = trace.layers[l];
    unsigned ob = L.out_bits[l];
    for (int64_t i = 0; i < trace.rows; ++i)
      for (int64_t o = 0; o < layer.out_features; ++o) {
        size_t src = static_cast<size_t>(i * layer.out_features + o);
        uint64_t at = (static_cast<uint64_t>(i) << ob) + static_cast<uint64_t>(o);
        int s = layer.shift[static_cast<size_t>(o)];
        uint64_t r = static_cast<uint64_t>(t.r[src]);  // < 2^s <= 2^62
        uint64_t r2 = (uint64_t{1} << s) - 1 - r;
        uint64_t limbs[2 * kLimbs];
        for (size_t j = 0; j < kLimbs; ++j) {
          limbs[j] = (r >> (16 * j)) & 0xffff;
          limbs[kLimbs + j] = (r2 >> (16 * j)) & 0xffff;
        }
        wit[L.witness.offset[Layout::Block(l, 0)] + at] = FromInt(t.q[src]);
        wit[L.witness.offset[Layout::Block(l, 1)] + at] = FromInt(t.y[src]);
        for (size_t j = 0; j < 2 * kLimbs; ++j) {
          wit[L.witness.offset[Layout::Block(l, 2 + j)] + at] = Fp::FromU64(limbs[j]);
          bool top = j % kLimbs == kLimbs - 1;  // the 14-bit section follows the 16-bit one
          ++mult[(top ? size_t{1} << kRangeBits : 0) + limbs[j]];
        }
        ++mult[table.layer_offset[l] + static_cast<size_t>(t.q[src] - layer.q_min)];
      }
  }
  for (size_t e = 0; e < mult.size(); ++e)
    wit[L.witness.offset[L.multiplicity_block] + e] = Fp::FromU64(mult[e]);
  zk::pcs::Params pcs_params;
  pcs_params.threads = options.threads;
  ASSIGN_OR_RETURN(zk::pcs::ProverData witness, zk::pcs::Commit(wit, pcs_params));
  result.timings.commit_ms = Ms(t1);

  auto t2 = std::chrono::steady_clock::now();
  zk::Transcript tr(kTranscriptTag);
  Hash32 hc = key.circuit_hash;
  tr.Absorb("zkml/circuit", ByteView(hc.data(), hc.size()));
  tr.Absorb("zkml/weights", key.weights.commitment.Encode());
  tr.AbsorbU64("zkml/rows", static_cast<uint64_t>(trace.rows));
  tr.Absorb("zkml/input", x.CanonicalBytes());
  tr.Absorb("zkml/output", y.CanonicalBytes());
  tr.Absorb("zkml/witness", witness.commitment.Encode());

  codec::Writer w;
  w.U8(kProofVersion);
  w.Blob(c.Describe());
  w.Raw(key.weights.commitment.Encode());
  w.Blob(EncodeTensorMap(inputs));
  WriteStatementTensor(w, x);
  WriteStatementTensor(w, y);
  w.Blob(EncodeTensorMap(result.outputs));
  w.Raw(witness.commitment.Encode());

  std::vector<Claim> wclaims, xclaims;
  auto witness_claim = [&](size_t block, std::span<const Fp2> local) -> Status {
    auto point = L.witness.Point(block, local);
    ASSIGN_OR_RETURN(Fp2 v, zk::EvaluateMultilinear(std::span<const Fp>(wit), point, options.threads));
    xclaims.push_back({std::move(point), v});
    return Status::Ok();
  };
  auto block_span = [&](size_t block) {
    return std::span<const Fp>(wit).subspan(L.witness.offset[block], size_t{1} << L.witness.log_size[block]);
  };

  // Lookups (logUp): every clamp pair and limb against the table.
  Fp2 alpha = tr.ChallengeFp2("zkml/lookup_alpha"), beta = tr.ChallengeFp2("zkml/lookup_beta");
  {
    std::vector<Fp2> lp(L.lookups.size(), Fp2::Zero()), lq(L.lookups.size(), Fp2::One());
    for (size_t l = 0; l < num_layers; ++l) {
      unsigned ob = L.out_bits[l];
      for (size_t j = 0; j < 1 + 2 * kLimbs; ++j) {
        size_t inst = Layout::Instance(l, j);
        uint64_t off = L.lookups.offset[inst];
        auto a = block_span(Layout::InstanceBlock(l, j));
        auto b = block_span(Layout::Block(l, 1));
        Fp2 tag = Fp2::FromU64(Layout::InstanceTag(l, j));
        for (size_t e = 0; e < a.size(); ++e) {
          int64_t i = static_cast<int64_t>(e >> ob), o = static_cast<int64_t>(e & ((size_t{1} << ob) - 1));
          bool valid = i < trace.rows && o < c.layers[l].out_features;
          lp[off + e] = valid ? Fp2::One() : Fp2::Zero();
          lq[off + e] = TableValue(alpha, beta, Fp2(a[e]), j == 0 ? Fp2(b[e]) : Fp2::Zero(), tag);
        }
      }
    }
    ASSIGN_OR_RETURN(auto lookup, zk::ProveFractionSum(lp, lq, tr, options.threads));
    lookup.proof.WriteTo(w);
    std::vector<Fp2> leaf_values;
    for (size_t l = 0; l < num_layers; ++l)
      for (size_t j = 0; j < 1 + 2 * kLimbs; ++j) {
        size_t inst = Layout::Instance(l, j);
        auto local = std::span<const Fp2>(lookup.claim.point).subspan(0, L.lookups.log_size[inst]);
        RETURN_IF_ERROR(witness_claim(Layout::InstanceBlock(l, j), local));
        leaf_values.push_back(xclaims.back().value);
        if (j == 0) {
          RETURN_IF_ERROR(witness_claim(Layout::Block(l, 1), local));
          leaf_values.push_back(xclaims.back().value);
        }
      }
    tr.AbsorbFp2("zkml/lookup_leaves", leaf_values);
    for (Fp2 v : leaf_values) zk::WriteFp2(w, v);

    size_t tsize = size_t{1} << L.table_bits;
    std::vector<Fp2> tp(tsize, Fp2::Zero()), tq(tsize, alpha);
    for (size_t e = 0; e < table.a.size(); ++e) {
      tp[e] = Fp2::FromU64(mult[e]);
      tq[e] = TableValue(alpha, beta, Fp2::FromI64(table.a[e]), Fp2::FromI64(table.b[e]), Fp2::FromI64(table.tag[e]));
    }
    ASSIGN_OR_RETURN(auto table_proof, zk::ProveFractionSum(tp, tq, tr, options.threads));
    table_proof.proof.WriteTo(w);
    RETURN_IF_ERROR(witness_claim(L.multiplicity_block, table_proof.claim.point));
    tr.AbsorbFp2("zkml/multiplicity", xclaims.back().value);
    zk::WriteFp2(w, xclaims.back().value);
  }

  zk::SumcheckOptions sc_options;
  sc_options.threads = options.threads;
  std::vector<Fp> weights_vec = key.weights.evals;
  for (size_t l = num_layers; l-- > 0;) {
    const FcLayer& layer = c.layers[l];
    unsigned ob = L.out_bits[l], kb = L.in_bits[l], nb = L.row_bits;
    unsigned nv = ob + nb;
    size_t S = size_t{1} << nv, Kp = size_t{1} << kb;
    // The layer's input codes, padded (row bits high).
    std::vector<Fp> a = l == 0 ? PaddedRows(trace.x, trace.rows, layer.in_features, nb, kb)
                               : std::vector<Fp>(block_span(Layout::Block(l - 1, 1)).begin(),
                                                 block_span(Layout::Block(l - 1, 1)).end());
    // acc over the whole padded space, as the matmul sumcheck defines it.
    std::vector<Fp> acc(S), mvec(S), pvec(S), hvec(S);
    ChannelVectors ch = Channels(layer);
    for (size_t i = 0; i < (size_t{1} << nb); ++i)
      for (size_t o = 0; o < (size_t{1} << ob); ++o) {
        Fp sum = Fp::Zero();
        if (o < static_cast<size_t>(layer.out_features)) {
          sum = FromInt(layer.bias[o]);
          for (int64_t k = 0; k < layer.in_features; ++k)
            sum += (a[(i << kb) + static_cast<size_t>(k)] - FromInt(layer.in_zero)) *
                   FromInt(layer.weights[o * static_cast<size_t>(layer.in_features) + static_cast<size_t>(k)]);
          mvec[(i << ob) + o] = FromInt(ch.m[o]);
          pvec[(i << ob) + o] = FromInt(ch.p[o]);
          hvec[(i << ob) + o] = FromInt(ch.h[o]);
        }
        acc[(i << ob) + o] = sum;
      }
    std::vector<Fp2> tau = tr.ChallengeFp2s("zkml/tau", nv);
    Fp2 gamma = tr.ChallengeFp2("zkml/gamma");
    ASSIGN_OR_RETURN(std::vector<Fp2> eqv, zk::EqTable(tau));
    for (size_t e = 0; e < S; ++e) {
      bool valid = static_cast<int64_t>(e >> ob) < trace.rows &&
                   static_cast<int64_t>(e & ((size_t{1} << ob) - 1)) < layer.out_features;
      if (!valid) eqv[e] = Fp2::Zero();
    }
    std::vector<zk::MultilinearRef> tables = {std::span<const Fp2>(eqv), std::span<const Fp>(acc),
                                              std::span<const Fp>(mvec), block_span(Layout::Block(l, 0)),
                                              std::span<const Fp>(pvec), std::span<const Fp>(hvec)};
    for (size_t j = 0; j < 2 * kLimbs; ++j) tables.push_back(block_span(Layout::Block(l, 2 + j)));
    ASSIGN_OR_RETURN(auto zc, zk::ProveSumcheck(RequantPolynomial(nv, gamma), tables, tr, sc_options));
    if (!zc.claimed_sum.IsZero()) return Internal("zkml: layer '" + layer.node + "' requantization does not hold");
    zc.proof.WriteTo(w);
    const std::vector<Fp2>& rho = zc.point;
    std::vector<Fp2> requant = {zc.final_values[1], zc.final_values[3]};
    for (size_t j = 0; j < 2 * kLimbs; ++j) requant.push_back(zc.final_values[6 + j]);
    tr.AbsorbFp2("zkml/requant_values", requant);
    for (Fp2 v : requant) zk::WriteFp2(w, v);
    RETURN_IF_ERROR(witness_claim(Layout::Block(l, 0), rho));
    for (size_t j = 0; j < 2 * kLimbs; ++j) RETURN_IF_ERROR(witness_claim(Layout::Block(l, 2 + j), rho));

    std::span<const Fp2> rho_o = std::span<const Fp2>(rho).subspan(0, ob), rho_i = std::span<const Fp2>(rho).subspan(ob);
    auto b_point = L.weights.Point(2 * l + 1, rho_o);
    ASSIGN_OR_RETURN(Fp2 bias_value, zk::EvaluateMultilinear(std::span<const Fp>(weights_vec), b_point));
    wclaims.push_back({b_point, bias_value});
    tr.AbsorbFp2("zkml/bias", bias_value);
    zk::WriteFp2(w, bias_value);

    // A(k) = a~(rho_i, k), B(k) = W~(rho_o, k).
    ASSIGN_OR_RETURN(std::vector<Fp2> eq_i, zk::EqTable(rho_i));
    ASSIGN_OR_RETURN(std::vector<Fp2> eq_o, zk::EqTable(rho_o));
    std::vector<Fp2> A(Kp, Fp2::Zero()), B(Kp, Fp2::Zero());
    for (size_t i = 0; i < eq_i.size(); ++i)
      for (size_t k = 0; k < Kp; ++k) A[k] += eq_i[i] * a[(i << kb) + k];
    uint64_t w_off = L.weights.offset[2 * l];
    for (size_t o = 0; o < static_cast<size_t>(layer.out_features); ++o)
      for (size_t k = 0; k < Kp; ++k) B[k] += eq_o[o] * weights_vec[w_off + (o << kb) + k];
    std::vector<zk::MultilinearRef> mm_tables = {std::span<const Fp2>(A), std::span<const Fp2>(B)};
    ASSIGN_OR_RETURN(auto mm, zk::ProveSumcheck(MatmulPolynomial(kb, layer.in_zero), mm_tables, tr, sc_options));
    if (!(mm.claimed_sum == requant[0] - bias_value))
      return Internal("zkml: layer '" + layer.node + "' matrix product disagrees with its accumulator");
    mm.proof.WriteTo(w);
    std::vector<Fp2> mm_values = {mm.final_values[0], mm.final_values[1]};
    tr.AbsorbFp2("zkml/matmul_values", mm_values);
    for (Fp2 v : mm_values) zk::WriteFp2(w, v);
    std::vector<Fp2> w_local(mm.point);
    w_local.insert(w_local.end(), rho_o.begin(), rho_o.end());
    auto w_point = L.weights.Point(2 * l, w_local);
    wclaims.push_back({w_point, mm_values[1]});
    if (l > 0) {
      std::vector<Fp2> a_local(mm.point);
      a_local.insert(a_local.end(), rho_i.begin(), rho_i.end());
      RETURN_IF_ERROR(witness_claim(Layout::Block(l - 1, 1), a_local));
    }
  }
  // The public output against the committed last layer.
  unsigned out_vars = L.row_bits + L.out_bits.back();
  std::vector<Fp2> r_out = tr.ChallengeFp2s("zkml/output_point", out_vars);
  RETURN_IF_ERROR(witness_claim(Layout::Block(num_layers - 1, 1), r_out));

  ASSIGN_OR_RETURN(auto wopen, zk::pcs::Open(key.weights, wclaims, tr, pcs_params));
  ASSIGN_OR_RETURN(auto xopen, zk::pcs::Open(witness, xclaims, tr, pcs_params));
  w.Blob(wopen.Encode());
  w.Blob(xopen.Encode());
  result.proof = w.Take();
  result.timings.prove_ms = Ms(t2);
  return result;
}

Result<VerifiedProof> Verify(ByteView proof_bytes, const std::optional<Hash32>& expected_model_commitment) {
  if (proof_bytes.size() > kMaxProofBytes) return InvalidArgument("zkml proof: larger than 64 MiB");
  codec::Reader r(proof_bytes);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kProofVersion) return InvalidArgument("zkml proof: version " + std::to_string(version) + " is not supported");
  ASSIGN_OR_RETURN(Bytes description, r.Blob());
  ASSIGN_OR_RETURN(Circuit c, DecodeCircuit(description));
  ASSIGN_OR_RETURN(Bytes cw_bytes, r.Raw(zk::pcs::Commitment::kEncodedBytes));
  ASSIGN_OR_RETURN(auto cw, zk::pcs::Commitment::Decode(cw_bytes));
  VerifiedProof out;
  out.circuit_hash = c.Hash();
  out.model_commitment = ModelCommitment(out.circuit_hash, cw);
  if (expected_model_commitment && *expected_model_commitment != out.model_commitment)
    return InvalidArgument("zkml proof: it is about another model (model commitment differs)");
  ASSIGN_OR_RETURN(Bytes inputs_bytes, r.Blob());
  ASSIGN_OR_RETURN(out.inputs, DecodeTensorMap(inputs_bytes));
  ASSIGN_OR_RETURN(Bytes x_bytes, r.Blob());
  ASSIGN_OR_RETURN(Tensor x, Tensor::FromCanonicalBytes(x_bytes));
  ASSIGN_OR_RETURN(Bytes y_bytes, r.Blob());
  ASSIGN_OR_RETURN(Tensor y, Tensor::FromCanonicalBytes(y_bytes));
  ASSIGN_OR_RETURN(Bytes outputs_bytes, r.Blob());
  ASSIGN_OR_RETURN(out.outputs, DecodeTensorMap(outputs_bytes));
  ASSIGN_OR_RETURN(Bytes rx_bytes, r.Raw(zk::pcs::Commitment::kEncodedBytes));
  ASSIGN_OR_RETURN(auto rx, zk::pcs::Commitment::Decode(rx_bytes));

  // The float ends, run by the verifier itself.
  if (x.dtype() != c.x_dtype || y.dtype() != c.y_dtype) return InvalidArgument("zkml proof: integer tensor types");
  ASSIGN_OR_RETURN(TensorMap head_out, RunPart(c.head_model, out.inputs, "head"));
  auto x_it = head_out.find(c.x_name);
  if (x_it == head_out.end()) return InvalidArgument("zkml proof: the head model does not produce '" + c.x_name + "'");
  if (!(x_it->second == x)) return InvalidArgument("zkml proof: the input does not quantize to the proven x");
  ASSIGN_OR_RETURN(std::vector<int64_t> y_shape, OutputShape(c, x.shape()));
  if (y.shape() != y_shape) return InvalidArgument("zkml proof: the integer output has the wrong shape");
  ASSIGN_OR_RETURN(TensorMap tail_out, RunPart(c.tail_model, {{c.y_name, y}}, "tail"));
  if (tail_out != out.outputs) return InvalidArgument("zkml proof: the outputs are not what the proven y gives");
  out.rows = x.shape()[0];
  if (out.rows < 1 || out.rows > (int64_t{1} << 16)) return InvalidArgument("zkml proof: batch size out of range");
  if (static_cast<int64_t>(x.num_elements()) != out.rows * c.layers[0].in_features)
    return InvalidArgument("zkml proof: x does not match the first layer");

  LookupTable table = BuildLookupTable(c);
  Layout L = MakeLayout(c, out.rows, table.a.size());
  if (rx.num_vars != L.witness.num_vars) return InvalidArgument("zkml proof: the witness commitment has the wrong size");
  if (cw.num_vars != L.weights.num_vars) return InvalidArgument("zkml proof: the weight commitment has the wrong size");
  const size_t num_layers = c.layers.size();

  zk::Transcript tr(kTranscriptTag);
  tr.Absorb("zkml/circuit", ByteView(out.circuit_hash.data(), out.circuit_hash.size()));
  tr.Absorb("zkml/weights", cw_bytes);
  tr.AbsorbU64("zkml/rows", static_cast<uint64_t>(out.rows));
  tr.Absorb("zkml/input", x.CanonicalBytes());
  tr.Absorb("zkml/output", y.CanonicalBytes());
  tr.Absorb("zkml/witness", rx_bytes);
  std::vector<Claim> wclaims, xclaims;
  auto fail = [](const std::string& what) { return InvalidArgument("zkml proof: " + what); };

  Fp2 alpha = tr.ChallengeFp2("zkml/lookup_alpha"), beta = tr.ChallengeFp2("zkml/lookup_beta");
  ASSIGN_OR_RETURN(auto lookup_proof, zk::FractionSumProof::ReadFrom(r, L.lookups.num_vars));
  auto lookup = zk::VerifyFractionSum(L.lookups.num_vars, lookup_proof, tr);
  if (!lookup.ok()) return fail("lookups: " + lookup.status().message());
  std::vector<Fp2> leaf_values;
  for (size_t i = 0; i < num_layers * (2 + 2 * kLimbs); ++i) {
    ASSIGN_OR_RETURN(Fp2 v, zk::ReadFp2(r));
    leaf_values.push_back(v);
  }
  tr.AbsorbFp2("zkml/lookup_leaves", leaf_values);
  {
    Fp2 p_expect = Fp2::Zero(), q_expect = Fp2::Zero(), covered = Fp2::Zero();
    size_t at = 0;
    for (size_t l = 0; l < num_layers; ++l)
      for (size_t j = 0; j < 1 + 2 * kLimbs; ++j) {
        size_t inst = Layout::Instance(l, j);
        auto local = std::span<const Fp2>(lookup->point).subspan(0, L.lookups.log_size[inst]);
        Fp2 sel = L.lookups.Selector(inst, lookup->point);
        ASSIGN_OR_RETURN(Fp2 valid, ValidAt(L, l, c.layers[l].out_features, local));
        Fp2 a = leaf_values[at++];
        xclaims.push_back({L.witness.Point(Layout::InstanceBlock(l, j), local), a});
        Fp2 b = Fp2::Zero();
        if (j == 0) {
          b = leaf_values[at++];
          xclaims.push_back({L.witness.Point(Layout::Block(l, 1), local), b});
        }
        p_expect += sel * valid;
        q_expect += sel * TableValue(alpha, beta, a, b, Fp2::FromU64(Layout::InstanceTag(l, j)));
        covered += sel;
      }
    q_expect += Fp2::One() - covered;
    if (!(lookup->p_value == p_expect) || !(lookup->q_value == q_expect))
      return fail("lookups: the leaves do not match the committed values");
  }
  ASSIGN_OR_RETURN(auto table_proof, zk::FractionSumProof::ReadFrom(r, L.table_bits));
  auto table_claim = zk::VerifyFractionSum(L.table_bits, table_proof, tr);
  if (!table_claim.ok()) return fail("lookup table: " + table_claim.status().message());
  ASSIGN_OR_RETURN(Fp2 mult_value, zk::ReadFp2(r));
  tr.AbsorbFp2("zkml/multiplicity", mult_value);
  {
    size_t tsize = size_t{1} << L.table_bits;
    std::vector<Fp> ta(tsize, Fp::Zero()), tb(tsize, Fp::Zero()), tt(tsize, Fp::Zero());
    for (size_t e = 0; e < table.a.size(); ++e) {
      ta[e] = FromInt(table.a[e]);
      tb[e] = FromInt(table.b[e]);
      tt[e] = FromInt(table.tag[e]);
    }
    ASSIGN_OR_RETURN(Fp2 a, zk::EvaluateMultilinear(std::span<const Fp>(ta), table_claim->point));
    ASSIGN_OR_RETURN(Fp2 b, zk::EvaluateMultilinear(std::span<const Fp>(tb), table_claim->point));
    ASSIGN_OR_RETURN(Fp2 t, zk::EvaluateMultilinear(std::span<const Fp>(tt), table_claim->point));
    if (!(table_claim->q_value == TableValue(alpha, beta, a, b, t)))
      return fail("lookup table: the table leaves are not the circuit's table");
    if (!(table_claim->p_value == mult_value)) return fail("lookup table: multiplicities");
    xclaims.push_back({L.witness.Point(L.multiplicity_block, table_claim->point), mult_value});
  }
  // sum over lookups of 1/(alpha - v) == sum over the table of m/(alpha - t).
  if (lookup->root_q.IsZero() || table_claim->root_q.IsZero() ||
      !(lookup->root_p * table_claim->root_q == table_claim->root_p * lookup->root_q))
    return fail("lookups: a looked-up value is not in the table (logUp sums differ)");

  for (size_t l = num_layers; l-- > 0;) {
    const FcLayer& layer = c.layers[l];
    unsigned ob = L.out_bits[l], kb = L.in_bits[l], nb = L.row_bits;
    unsigned nv = ob + nb;
    std::string where = "layer '" + layer.node + "': ";
    std::vector<Fp2> tau = tr.ChallengeFp2s("zkml/tau", nv);
    Fp2 gamma = tr.ChallengeFp2("zkml/gamma");
    ASSIGN_OR_RETURN(zk::SumcheckProof zc_proof, zk::SumcheckProof::ReadFrom(r));
    zk::VirtualPolynomial poly = RequantPolynomial(nv, gamma);
    auto zc = zk::VerifySumcheck(nv, poly.Degree(), Fp2::Zero(), zc_proof, tr);
    if (!zc.ok()) return fail(where + "requantization sumcheck: " + zc.status().message());
    std::vector<Fp2> requant;
    for (size_t j = 0; j < 2 + 2 * kLimbs; ++j) {
      ASSIGN_OR_RETURN(Fp2 v, zk::ReadFp2(r));
      requant.push_back(v);
    }
    const std::vector<Fp2>& rho = zc->point;
    ChannelVectors ch = Channels(layer);
    // eqv = eq(tau, x) [x valid] factors into its o part and its row part.
    std::span<const Fp2> tau_s(tau), rho_s(rho);
    ASSIGN_OR_RETURN(Fp2 eqv_o, MaskedEq(tau_s.subspan(0, ob), rho_s.subspan(0, ob), static_cast<uint64_t>(layer.out_features)));
    ASSIGN_OR_RETURN(Fp2 eqv_i, MaskedEq(tau_s.subspan(ob), rho_s.subspan(ob), static_cast<uint64_t>(out.rows)));
    ASSIGN_OR_RETURN(Fp2 m, ChannelAt(ch.m, ob, rho));
    ASSIGN_OR_RETURN(Fp2 p, ChannelAt(ch.p, ob, rho));
    ASSIGN_OR_RETURN(Fp2 h, ChannelAt(ch.h, ob, rho));
    std::vector<Fp2> values = {eqv_o * eqv_i, requant[0], m, requant[1], p, h};
    for (size_t j = 0; j < 2 * kLimbs; ++j) values.push_back(requant[2 + j]);
    if (!zc->CheckFinal(poly, values).ok()) return fail(where + "requantization does not hold");
    tr.AbsorbFp2("zkml/requant_values", requant);
    xclaims.push_back({L.witness.Point(Layout::Block(l, 0), rho), requant[1]});
    for (size_t j = 0; j < 2 * kLimbs; ++j) xclaims.push_back({L.witness.Point(Layout::Block(l, 2 + j), rho), requant[2 + j]});

    std::span<const Fp2> rho_o = std::span<const Fp2>(rho).subspan(0, ob), rho_i = std::span<const Fp2>(rho).subspan(ob);
    ASSIGN_OR_RETURN(Fp2 bias_value, zk::ReadFp2(r));
    wclaims.push_back({L.weights.Point(2 * l + 1, rho_o), bias_value});
    tr.AbsorbFp2("zkml/bias", bias_value);
    ASSIGN_OR_RETURN(zk::SumcheckProof mm_proof, zk::SumcheckProof::ReadFrom(r));
    zk::VirtualPolynomial mm_poly = MatmulPolynomial(kb, layer.in_zero);
    auto mm = zk::VerifySumcheck(kb, 2, requant[0] - bias_value, mm_proof, tr);
    if (!mm.ok()) return fail(where + "matrix-product sumcheck: " + mm.status().message());
    std::vector<Fp2> mm_values;
    for (int j = 0; j < 2; ++j) {
      ASSIGN_OR_RETURN(Fp2 v, zk::ReadFp2(r));
      mm_values.push_back(v);
    }
    if (!mm->CheckFinal(mm_poly, mm_values).ok()) return fail(where + "matrix product does not hold");
    tr.AbsorbFp2("zkml/matmul_values", mm_values);
    std::vector<Fp2> w_local(mm->point);
    w_local.insert(w_local.end(), rho_o.begin(), rho_o.end());
    wclaims.push_back({L.weights.Point(2 * l, w_local), mm_values[1]});
    std::vector<Fp2> a_local(mm->point);
    a_local.insert(a_local.end(), rho_i.begin(), rho_i.end());
    if (l > 0) {
      xclaims.push_back({L.witness.Point(Layout::Block(l - 1, 1), a_local), mm_values[0]});
    } else {
      std::vector<Fp> xp = PaddedRows(TensorCodes(x), out.rows, layer.in_features, nb, kb);
      ASSIGN_OR_RETURN(Fp2 xv, zk::EvaluateMultilinear(std::span<const Fp>(xp), a_local));
      if (!(xv == mm_values[0])) return fail("the first layer's input is not the proven x");
    }
  }
  unsigned out_vars = L.row_bits + L.out_bits.back();
  std::vector<Fp2> r_out = tr.ChallengeFp2s("zkml/output_point", out_vars);
  {
    std::vector<Fp> yp = PaddedRows(TensorCodes(y), out.rows, c.layers.back().out_features, L.row_bits, L.out_bits.back());
    ASSIGN_OR_RETURN(Fp2 yv, zk::EvaluateMultilinear(std::span<const Fp>(yp), r_out));
    xclaims.push_back({L.witness.Point(Layout::Block(num_layers - 1, 1), r_out), yv});
  }
  ASSIGN_OR_RETURN(Bytes wopen_bytes, r.Blob());
  ASSIGN_OR_RETURN(Bytes xopen_bytes, r.Blob());
  if (r.remaining() != 0) return fail("trailing bytes");
  ASSIGN_OR_RETURN(auto wopen, zk::pcs::OpeningProof::Decode(wopen_bytes, cw));
  ASSIGN_OR_RETURN(auto xopen, zk::pcs::OpeningProof::Decode(xopen_bytes, rx));
  Status ws = zk::pcs::Verify(cw, wclaims, wopen, tr);
  if (!ws.ok()) return fail("weight opening: " + ws.message());
  Status xs = zk::pcs::Verify(rx, xclaims, xopen, tr);
  if (!xs.ok()) return fail("witness opening: " + xs.message());
  return out;
}

}  // namespace lucid::zkml
