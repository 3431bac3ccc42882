#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <numeric>
#include <tuple>

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

// An activation matrix: rows (pixels) x cols (channels), index (row << col_bits) + col, in
// witness block `block` (kNoBlock: the public x).
constexpr size_t kNoBlock = SIZE_MAX;
struct Act {
  int64_t rows = 0, cols = 0;
  unsigned row_bits = 0, col_bits = 1;
  size_t block = kNoBlock;
  unsigned vars() const { return row_bits + col_bits; }
};

Act MakeAct(int64_t rows, int64_t cols, size_t block) {
  return {rows, cols, CeilLog2(static_cast<uint64_t>(rows)), std::max(1u, CeilLog2(static_cast<uint64_t>(cols))), block};
}

// Everything both sides derive from the circuit and the batch size.
struct Layout {
  int64_t rows = 0;  // the batch N
  std::vector<Circuit::Op> ops;
  std::vector<unsigned> in_bits, out_bits;  // per layer
  std::vector<Act> layer_out, pool_out;     // per layer / pool
  std::vector<size_t> pool_block;           // per pool: block of m; d_t follow
  std::vector<size_t> pool_instance;        // per pool: its first lookup instance
  std::vector<Act> table_out;               // per table op: its output y
  std::vector<size_t> table_block;          // per table op: the block of y
  std::vector<size_t> table_instance;       // per table op: its lookup instance (x, y)
  std::vector<size_t> table_op;             // per table op: its index in ops
  Act x;                                    // the first op's input
  Blocks weights{{}}, witness{{}}, lookups{{}};
  std::vector<unsigned> segment_bits;    // per table segment (TableSegmentBits)
  std::vector<uint64_t> segment_start;   // its first table entry
  size_t multiplicity_block = 0;         // segment s's counts are block multiplicity_block + s

  int limb_bits = kLimbBitsLarge;  // ChooseLimbBits(circuit, rows)
  size_t limbs = LimbCount(kLimbBitsLarge);
  // Witness blocks per layer: q, y, r limbs.
  size_t blocks_per_layer() const { return 2 + limbs; }
  size_t Block(size_t layer, size_t j) const { return layer * blocks_per_layer() + j; }
  // Lookup instances per layer: 0 = clamp (q, y), 1.. = range on limb j - 1.
  size_t instances_per_layer() const { return 1 + limbs; }
  size_t Instance(size_t layer, size_t j) const { return layer * instances_per_layer() + j; }
  // The block instance j looks up (its first component).
  size_t InstanceBlock(size_t layer, size_t j) const { return Block(layer, j == 0 ? 0 : 1 + j); }
  Act Output(const Circuit::Op& op) const {
    return op.table ? table_out[op.index] : op.pool ? pool_out[op.index] : layer_out[op.index];
  }
  Act Source(size_t op_index) const { return op_index == 0 ? x : Output(ops[op_index - 1]); }
};

Layout MakeLayout(const Circuit& c, int64_t rows, int limb_bits, size_t table_size) {
  Layout L;
  L.rows = rows;
  L.limb_bits = limb_bits;
  L.limbs = LimbCount(limb_bits);
  L.ops = c.Ops();
  Circuit::Map xm = c.InputMap(L.ops[0]);
  L.x = MakeAct(rows * xm.h * xm.w, xm.c, kNoBlock);
  std::vector<unsigned> wlogs, xlogs, llogs;
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const FcLayer& l = c.layers[i];
    L.in_bits.push_back(l.log_in());
    L.out_bits.push_back(l.log_out());
    L.layer_out.push_back(MakeAct(rows * l.out_h * l.out_w, l.out_features, L.Block(i, 1)));
    unsigned nv = L.layer_out.back().vars();
    wlogs.push_back(l.log_out() + l.log_in());  // W
    wlogs.push_back(l.log_out());               // bias
    for (size_t j = 0; j < L.blocks_per_layer(); ++j) xlogs.push_back(nv);
    for (size_t j = 0; j < L.instances_per_layer(); ++j) llogs.push_back(nv);
  }
  for (const PoolLayer& p : c.pools) {
    L.pool_block.push_back(xlogs.size());
    L.pool_instance.push_back(llogs.size());
    L.pool_out.push_back(MakeAct(rows * p.out_h * p.out_w, p.c, xlogs.size()));
    unsigned nv = L.pool_out.back().vars();
    for (int64_t t = 0; t <= p.Taps(); ++t) xlogs.push_back(nv);
    for (int64_t t = 0; t < p.Taps(); ++t) llogs.push_back(nv);
  }
  for (const TableLayer& t : c.tables) {
    L.table_block.push_back(xlogs.size());
    L.table_instance.push_back(llogs.size());
    L.table_out.push_back(MakeAct(rows * t.h * t.w, t.c, xlogs.size()));
    xlogs.push_back(L.table_out.back().vars());
    llogs.push_back(L.table_out.back().vars());
  }
  for (size_t i = 0; i < L.ops.size(); ++i)
    if (L.ops[i].table) L.table_op.push_back(i);
  L.segment_bits = TableSegmentBits(table_size);
  L.multiplicity_block = xlogs.size();
  uint64_t start = 0;
  for (unsigned bits : L.segment_bits) {
    L.segment_start.push_back(start);
    start += uint64_t{1} << bits;
    xlogs.push_back(bits);
  }
  L.weights = Blocks(wlogs);
  L.witness = Blocks(xlogs);
  L.lookups = Blocks(llogs);
  return L;
}

// Where table entry e's count lives in W_x.
uint64_t MultiplicitySlot(const Layout& L, uint64_t e) {
  size_t s = L.segment_bits.size() - 1;
  while (s > 0 && e < L.segment_start[s]) --s;
  return L.witness.offset[L.multiplicity_block + s] + (e - L.segment_start[s]);
}

Fp FromInt(int64_t v) { return Fp::FromI64(v); }

// f(src, at) for every valid entry of an activation: src its index in a trace (row-major,
// cols per row), at its index in the activation's padded block.
template <typename F>
void ForEachEntry(const Act& act, F&& f) {
  for (int64_t i = 0; i < act.rows; ++i)
    for (int64_t ch = 0; ch < act.cols; ++ch)
      f(static_cast<size_t>(i * act.cols + ch), (static_cast<uint64_t>(i) << act.col_bits) + static_cast<uint64_t>(ch));
}

// The table tag of each output channel for lookup instance j of layer l: its clamp tag, or
// limb j - 1's width for that channel's shift. Channels past out_features have tag 0 on
// both sides (the tag's MLE is what the verifier evaluates).
std::vector<int64_t> InstanceTags(const Layout& L, const FcLayer& layer, size_t l, size_t j) {
  std::vector<int64_t> tags(static_cast<size_t>(layer.out_features));
  for (size_t o = 0; o < tags.size(); ++o)
    tags[o] = j == 0 ? kClampTag0 + static_cast<int64_t>(l) : LimbWidth(L.limb_bits, layer.shift[o], j - 1);
  return tags;
}

// The pool's random-point check: mu^t for each tap and sum_t mu^t (m~ - d~_t), with
// values = (m~, d~_0, ..., d~_{taps-1}) at the check's point.
std::pair<std::vector<Fp2>, Fp2> PoolCheckClaim(const std::vector<Fp2>& values, Fp2 mu, size_t taps) {
  std::vector<Fp2> mu_pow(taps);
  Fp2 claim = Fp2::Zero(), pw = Fp2::One();
  for (size_t t = 0; t < taps; ++t) {
    mu_pow[t] = pw;
    claim += pw * (values[0] - values[1 + t]);
    pw *= mu;
  }
  return {std::move(mu_pow), claim};
}

// Cheat mode only (ProveOptions::cheat): the multiplicities recounted from the altered
// witness, as a cheating prover would, so an altered value still in the table passes the
// lookups and must be caught by another check. Values not in the table are not counted.
void RecountMultiplicities(const Circuit& c, const Layout& L, const LookupTable& table, std::vector<Fp>& wit) {
  std::map<std::tuple<uint64_t, uint64_t, uint64_t>, size_t> index;
  for (size_t e = 0; e < table.a.size(); ++e)
    index[{FromInt(table.a[e]).value(), FromInt(table.b[e]).value(), static_cast<uint64_t>(table.tag[e])}] = e;
  std::vector<uint64_t> mult(table.a.size(), 0);
  auto count = [&](size_t a_block, std::optional<size_t> b_block, const std::vector<int64_t>& tags, const Act& act) {
    for (int64_t i = 0; i < act.rows; ++i)
      for (int64_t o = 0; o < act.cols; ++o) {
        uint64_t at = (static_cast<uint64_t>(i) << act.col_bits) + static_cast<uint64_t>(o);
        uint64_t a = wit[L.witness.offset[a_block] + at].value();
        uint64_t b = b_block ? wit[L.witness.offset[*b_block] + at].value() : 0;
        auto it = index.find({a, b, static_cast<uint64_t>(tags[static_cast<size_t>(o)])});
        if (it != index.end()) ++mult[it->second];
      }
  };
  for (size_t l = 0; l < c.layers.size(); ++l)
    for (size_t j = 0; j < L.instances_per_layer(); ++j)
      count(L.InstanceBlock(l, j), j == 0 ? std::optional<size_t>(L.Block(l, 1)) : std::nullopt,
            InstanceTags(L, c.layers[l], l, j), L.layer_out[l]);
  for (size_t p = 0; p < c.pools.size(); ++p)
    for (int64_t t = 0; t < c.pools[p].Taps(); ++t)
      count(L.pool_block[p] + 1 + static_cast<size_t>(t), std::nullopt,
            std::vector<int64_t>(static_cast<size_t>(c.pools[p].c), 8), L.pool_out[p]);
  for (size_t t = 0; t < c.tables.size(); ++t)
    count(L.Source(L.table_op[t]).block, L.table_block[t],
          std::vector<int64_t>(static_cast<size_t>(c.tables[t].c), TableTag(c, t)), L.table_out[t]);
  for (size_t e = 0; e < mult.size(); ++e) wit[MultiplicitySlot(L, e)] = Fp::FromU64(mult[e]);
}

// W_x's blocks by name, for ProveOptions::cheat (tests).
std::vector<WitnessBlockInfo> DescribeWitness(const Circuit& c, const Layout& L) {
  std::vector<WitnessBlockInfo> out;
  auto add = [&](std::string what, size_t block, const Act& act) {
    out.push_back({std::move(what), L.witness.offset[block], uint64_t{1} << L.witness.log_size[block], act.rows,
                   act.cols, act.col_bits});
  };
  for (size_t l = 0; l < c.layers.size(); ++l) {
    std::string name = "layer " + std::to_string(l) + " ";
    add(name + "q", L.Block(l, 0), L.layer_out[l]);
    add(name + "y", L.Block(l, 1), L.layer_out[l]);
    for (size_t j = 0; j < L.limbs; ++j) add(name + "r" + std::to_string(j), L.Block(l, 2 + j), L.layer_out[l]);
  }
  for (size_t p = 0; p < c.pools.size(); ++p) {
    std::string name = "pool " + std::to_string(p) + " ";
    add(name + "m", L.pool_block[p], L.pool_out[p]);
    for (int64_t t = 0; t < c.pools[p].Taps(); ++t)
      add(name + "d" + std::to_string(t), L.pool_block[p] + 1 + static_cast<size_t>(t), L.pool_out[p]);
  }
  for (size_t t = 0; t < c.tables.size(); ++t)
    add("table " + std::to_string(t) + " y", L.table_block[t], L.table_out[t]);
  for (size_t seg = 0; seg < L.segment_bits.size(); ++seg) {
    Act table{1, int64_t{1} << L.segment_bits[seg], 0, L.segment_bits[seg], kNoBlock};
    add(seg == 0 ? "multiplicities" : "multiplicities " + std::to_string(seg), L.multiplicity_block + seg, table);
  }
  return out;
}

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

// [i < rows][o < cols] of an activation at a point (col bits low, row bits high).
Result<Fp2> ValidAt(const Act& act, std::span<const Fp2> point) {
  ASSIGN_OR_RETURN(Fp2 o, PrefixIndicator(static_cast<uint64_t>(act.cols), point.subspan(0, act.col_bits)));
  ASSIGN_OR_RETURN(Fp2 i, PrefixIndicator(static_cast<uint64_t>(act.rows), point.subspan(act.col_bits)));
  return o * i;
}

// The wiring of one op into its source activation: calls f(p, k, j) for every tap of output
// row p and column k (k = im2col column of a layer; k = t * C + c for a pool's tap t and
// channel c, whose row p is (n, oy, ox) and whose value lies at source index j), with
// j = kNoBlock for a padded tap.
template <typename F>
void ForEachTap(const Circuit& c, const Circuit::Op& op, int64_t N, const Act& src, F&& f) {
  if (op.pool) {
    const PoolLayer& pl = c.pools[op.index];
    for (int64_t b = 0; b < N; ++b)
      for (int64_t oy = 0; oy < pl.out_h; ++oy)
        for (int64_t ox = 0; ox < pl.out_w; ++ox) {
          uint64_t p = static_cast<uint64_t>((b * pl.out_h + oy) * pl.out_w + ox);
          for (int64_t t = 0; t < pl.Taps(); ++t) {
            uint64_t row = static_cast<uint64_t>((b * pl.in_h + oy * pl.stride_h + t / pl.kw) * pl.in_w +
                                                 ox * pl.stride_w + t % pl.kw);
            for (int64_t ch = 0; ch < pl.c; ++ch)
              f(p, static_cast<uint64_t>(t * pl.c + ch), (row << src.col_bits) + static_cast<uint64_t>(ch));
          }
        }
    return;
  }
  const FcLayer& l = c.layers[op.index];
  for (int64_t b = 0; b < N; ++b)
    for (int64_t oy = 0; oy < l.out_h; ++oy)
      for (int64_t ox = 0; ox < l.out_w; ++ox) {
        uint64_t p = static_cast<uint64_t>((b * l.out_h + oy) * l.out_w + ox);
        for (int64_t k = 0; k < l.in_features; ++k) {
          int64_t iy, ix, ic;
          if (LayerTap(l, oy, ox, k, iy, ix, ic)) {
            uint64_t row = static_cast<uint64_t>((b * l.in_h + iy) * l.in_w + ix);
            f(p, static_cast<uint64_t>(k), (row << src.col_bits) + static_cast<uint64_t>(ic));
          } else {
            f(p, static_cast<uint64_t>(k), kNoBlock);
          }
        }
      }
}

// Bounds on what one proof may make a verifier do (checked by Prove and Verify): the witness
// size and the number of wiring taps the verifier sums over (docs/zk.md "Convolutions and
// pooling"); they keep a forged circuit description from costing a verifier more than about
// 1 GiB and a few seconds.
constexpr unsigned kMaxWitnessVars = 26;
constexpr uint64_t kMaxWiringTaps = uint64_t{1} << 27;

uint64_t WiringTaps(const Circuit& c, int64_t N) {
  uint64_t taps = 0;
  for (const FcLayer& l : c.layers)
    if (l.Wired()) taps += static_cast<uint64_t>(N * l.out_h * l.out_w) * static_cast<uint64_t>(l.in_features);
  for (const PoolLayer& p : c.pools) taps += static_cast<uint64_t>(N * p.out_h * p.out_w * p.c * p.Taps());
  return taps;
}

Status CheckCost(const Circuit& c, const Layout& L) {
  if (L.witness.num_vars > kMaxWitnessVars || L.lookups.num_vars > kMaxWitnessVars)
    return OutOfRange("zkml: the witness would have 2^" + std::to_string(L.witness.num_vars) + " entries (at most 2^" +
                      std::to_string(kMaxWitnessVars) + ")");
  if (WiringTaps(c, L.rows) > kMaxWiringTaps)
    return OutOfRange("zkml: the wirings would have " + std::to_string(WiringTaps(c, L.rows)) + " taps (at most 2^27)");
  return Status::Ok();
}

// sum_j A(j) B(j) over the multilinears 0 A, 1 B.
zk::VirtualPolynomial ProductPolynomial(unsigned num_vars) {
  zk::VirtualPolynomial poly;
  poly.num_vars = num_vars;
  poly.num_multilinears = 2;
  poly.terms.push_back({Fp2::One(), {0, 1}});
  return poly;
}

// eqv * prod_t d_t over the multilinears 0 eqv, 1..taps d_t.
zk::VirtualPolynomial MaxAttainedPolynomial(unsigned num_vars, size_t taps) {
  zk::VirtualPolynomial poly;
  poly.num_vars = num_vars;
  poly.num_multilinears = 1 + taps;
  zk::ProductTerm term{Fp2::One(), {0}};
  for (size_t t = 0; t < taps; ++t) term.factors.push_back(static_cast<uint32_t>(1 + t));
  poly.terms.push_back(term);
  return poly;
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
//   0 eqv, 1 acc, 2 M, 3 q, 4 P = 2^s, 5 H = 2^(s-1), 6..9 r limbs:
//   eqv [acc M + H - q P - r],  r = sum_j 2^(b j) limb_j (b = L.limb_bits; each limb range-checked to its width).
zk::VirtualPolynomial RequantPolynomial(unsigned num_vars, const Layout& L) {
  zk::VirtualPolynomial poly;
  poly.num_vars = num_vars;
  poly.num_multilinears = static_cast<uint32_t>(6 + L.limbs);
  poly.terms.push_back({Fp2::One(), {0, 1, 2}});
  poly.terms.push_back({Fp2::One(), {0, 5}});
  poly.terms.push_back({-Fp2::One(), {0, 3, 4}});
  for (uint32_t j = 0; j < L.limbs; ++j)
    poly.terms.push_back({-Fp2::FromU64(uint64_t{1} << (L.limb_bits * j)), {0, static_cast<uint32_t>(6 + j)}});
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
  ASSIGN_OR_RETURN(Circuit circuit, CompileCircuit(quantized_model));
  return Setup(std::move(circuit));
}

Result<ProvingKey> Setup(Circuit circuit) {
  if (!circuit.has_weights) return InvalidArgument("zkml: setup needs a circuit with its weights");
  ProvingKey key;
  key.circuit = std::move(circuit);
  key.circuit_hash = key.circuit.Hash();
  Layout L = MakeLayout(key.circuit, 1, kLimbBitsLarge, 2);  // the weights' blocks only
  ASSIGN_OR_RETURN(key.weights, zk::pcs::Commit(WeightVector(key.circuit, L)));
  key.model_commitment = ModelCommitment(key.circuit_hash, key.weights.commitment);
  return key;
}

Result<ProveResult> Prove(const ProvingKey& key, const TensorMap& inputs, const ProveOptions& options) {
  const Circuit& c = key.circuit;
  auto phase = [&](std::string_view name) {
    if (options.on_phase) options.on_phase(name);
  };
  phase("execute");
  auto t0 = std::chrono::steady_clock::now();
  ProveResult result;
  ASSIGN_OR_RETURN(TensorMap head_out, RunPart(c.head_model, inputs, "head"));
  auto x_it = head_out.find(c.x_name);
  if (x_it == head_out.end()) return InvalidArgument("zkml: the head model does not produce '" + c.x_name + "'");
  const Tensor& x = x_it->second;
  ASSIGN_OR_RETURN(Trace trace, Evaluate(c, x));
  Bytes y_bytes;
  for (int64_t v : trace.y) y_bytes.push_back(static_cast<uint8_t>(v));
  ASSIGN_OR_RETURN(Tensor y, Tensor::FromBytes(c.y_dtype, trace.output_shape, std::move(y_bytes)));
  ASSIGN_OR_RETURN(result.outputs, RunPart(c.tail_model, {{c.y_name, y}}, "tail"));
  result.timings.execute_ms = Ms(t0);

  phase("commit");
  auto t1 = std::chrono::steady_clock::now();
  const int limb_bits = ChooseLimbBits(c, trace.rows);
  LookupTable table = BuildLookupTable(c, limb_bits);
  Layout L = MakeLayout(c, trace.rows, limb_bits, table.a.size());
  RETURN_IF_ERROR(CheckCost(c, L));
  const size_t num_layers = c.layers.size();
  // Witness: per layer q, y, r limbs; per pool m, d_t; then the table multiplicities.
  std::vector<Fp> wit(L.witness.size(), Fp::Zero());
  std::vector<uint64_t> mult(table.a.size(), 0);
  for (size_t l = 0; l < num_layers; ++l) {
    const FcLayer& layer = c.layers[l];
    const LayerTrace& t = trace.layers[l];
    const Act& act = L.layer_out[l];
    unsigned ob = L.out_bits[l];
    for (int64_t i = 0; i < act.rows; ++i)
      for (int64_t o = 0; o < layer.out_features; ++o) {
        size_t src = static_cast<size_t>(i * layer.out_features + o);
        uint64_t at = (static_cast<uint64_t>(i) << ob) + static_cast<uint64_t>(o);
        int s = layer.shift[static_cast<size_t>(o)];
        uint64_t r = static_cast<uint64_t>(t.r[src]);  // < 2^s <= 2^62
        wit[L.witness.offset[L.Block(l, 0)] + at] = FromInt(t.q[src]);
        wit[L.witness.offset[L.Block(l, 1)] + at] = FromInt(t.y[src]);
        for (size_t j = 0; j < L.limbs; ++j) {
          uint64_t limb = (r >> (L.limb_bits * j)) & ((uint64_t{1} << L.limb_bits) - 1);
          int width = LimbWidth(L.limb_bits, s, j);
          if (limb >= (uint64_t{1} << width)) return Internal("zkml: a remainder exceeds its shift (prover bug)");
          wit[L.witness.offset[L.Block(l, 2 + j)] + at] = Fp::FromU64(limb);
          ++mult[static_cast<size_t>(table.width_offset[static_cast<size_t>(width)]) + limb];
        }
        ++mult[table.layer_offset[l] + static_cast<size_t>(t.q[src] - layer.q_min)];
      }
  }
  for (size_t pi = 0; pi < c.pools.size(); ++pi) {
    const PoolTrace& t = trace.pools[pi];
    bool in_range = true;
    ForEachEntry(L.pool_out[pi], [&](size_t src, uint64_t at) {
      wit[L.witness.offset[L.pool_block[pi]] + at] = FromInt(t.m[src]);
      for (size_t tap = 0; tap < t.d.size(); ++tap) {
        int64_t d = t.d[tap][src];
        wit[L.witness.offset[L.pool_block[pi] + 1 + tap] + at] = FromInt(d);
        if (d < 0 || d > 255) {
          in_range = false;
          continue;
        }
        ++mult[static_cast<size_t>(table.width_offset[8]) + static_cast<size_t>(d)];
      }
    });
    if (!in_range) return Internal("zkml: pool '" + c.pools[pi].node + "' difference out of range");
  }
  for (size_t ti = 0; ti < c.tables.size(); ++ti) {
    const TableTrace& t = trace.tables[ti];
    ForEachEntry(L.table_out[ti], [&](size_t src, uint64_t at) {
      wit[L.witness.offset[L.table_block[ti]] + at] = FromInt(t.y[src]);
      ++mult[table.table_offset[ti] + static_cast<size_t>(t.x[src] - c.tables[ti].in_min)];
    });
  }
  for (size_t e = 0; e < mult.size(); ++e) wit[MultiplicitySlot(L, e)] = Fp::FromU64(mult[e]);
  zk::pcs::Params pcs_params;
  pcs_params.threads = options.threads;
  const bool honest = !options.cheat;
  if (options.cheat) {
    // A test's cheating prover: alter, then recount what depends on the altered values. A
    // cheat on the multiplicities themselves is kept as it is.
    std::vector<Fp> before = wit;
    options.cheat(wit, DescribeWitness(c, L));
    bool touched_multiplicities = false;
    for (size_t seg = 0; seg < L.segment_bits.size(); ++seg) {
      const uint64_t m_off = L.witness.offset[L.multiplicity_block + seg], m_end = m_off + (uint64_t{1} << L.segment_bits[seg]);
      touched_multiplicities = touched_multiplicities ||
                               !std::equal(wit.begin() + static_cast<std::ptrdiff_t>(m_off),
                                           wit.begin() + static_cast<std::ptrdiff_t>(m_end),
                                           before.begin() + static_cast<std::ptrdiff_t>(m_off));
    }
    if (!touched_multiplicities) RecountMultiplicities(c, L, table, wit);
  }
  ASSIGN_OR_RETURN(zk::pcs::ProverData witness, zk::pcs::Commit(wit, pcs_params));
  result.timings.commit_ms = Ms(t1);

  phase("prove");
  auto t2 = std::chrono::steady_clock::now();
  zk::Transcript tr(kTranscriptTag);
  Hash32 hc = key.circuit_hash;
  tr.Absorb("zkml/circuit", ByteView(hc.data(), hc.size()));
  tr.Absorb("zkml/weights", key.weights.commitment.Encode());
  tr.AbsorbU64("zkml/rows", static_cast<uint64_t>(trace.rows));
  tr.Absorb("zkml/input", x.CanonicalBytes());
  tr.Absorb("zkml/output", y.CanonicalBytes());
  // The float ends too, so a proof is about exactly these inputs and outputs (not malleable
  // into other inputs that quantize to the same x).
  Hash32 io[2] = {HashTensorMap(inputs), HashTensorMap(result.outputs)};
  tr.Absorb("zkml/input_hash", ByteView(io[0].data(), io[0].size()));
  tr.Absorb("zkml/output_hash", ByteView(io[1].data(), io[1].size()));
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

  // Lookups (logUp): every clamp pair, limb and pool difference against the table.
  Fp2 alpha = tr.ChallengeFp2("zkml/lookup_alpha"), beta = tr.ChallengeFp2("zkml/lookup_beta");
  {
    std::vector<Fp2> lp(L.lookups.size(), Fp2::Zero()), lq(L.lookups.size(), Fp2::One());
    // tags[o]: the table tag of channel o (0 past the channels, as the verifier's MLE has it).
    auto fill = [&](size_t inst, const Act& act, std::span<const Fp> a, std::span<const Fp> b,
                    const std::vector<int64_t>& tags) {
      uint64_t off = L.lookups.offset[inst];
      for (size_t e = 0; e < a.size(); ++e) {
        int64_t i = static_cast<int64_t>(e >> act.col_bits), o = static_cast<int64_t>(e & ((size_t{1} << act.col_bits) - 1));
        bool valid = i < act.rows && o < act.cols;
        Fp2 tag = o < static_cast<int64_t>(tags.size()) ? Fp2::FromI64(tags[static_cast<size_t>(o)]) : Fp2::Zero();
        lp[off + e] = valid ? Fp2::One() : Fp2::Zero();
        lq[off + e] = TableValue(alpha, beta, Fp2(a[e]), b.empty() ? Fp2::Zero() : Fp2(b[e]), tag);
      }
    };
    for (size_t l = 0; l < num_layers; ++l)
      for (size_t j = 0; j < L.instances_per_layer(); ++j)
        fill(L.Instance(l, j), L.layer_out[l], block_span(L.InstanceBlock(l, j)),
             j == 0 ? block_span(L.Block(l, 1)) : std::span<const Fp>(), InstanceTags(L, c.layers[l], l, j));
    for (size_t pi = 0; pi < c.pools.size(); ++pi)
      for (int64_t t = 0; t < c.pools[pi].Taps(); ++t)
        fill(L.pool_instance[pi] + static_cast<size_t>(t), L.pool_out[pi],
             block_span(L.pool_block[pi] + 1 + static_cast<size_t>(t)), {},
             std::vector<int64_t>(static_cast<size_t>(c.pools[pi].c), 8));
    for (size_t t = 0; t < c.tables.size(); ++t)
      fill(L.table_instance[t], L.table_out[t], block_span(L.Source(L.table_op[t]).block), block_span(L.table_block[t]),
           std::vector<int64_t>(static_cast<size_t>(c.tables[t].c), TableTag(c, t)));
    ASSIGN_OR_RETURN(auto lookup, zk::ProveFractionSum(lp, lq, tr, options.threads));
    lookup.proof.WriteTo(w);
    std::vector<Fp2> leaf_values;
    for (size_t l = 0; l < num_layers; ++l)
      for (size_t j = 0; j < L.instances_per_layer(); ++j) {
        size_t inst = L.Instance(l, j);
        auto local = std::span<const Fp2>(lookup.claim.point).subspan(0, L.lookups.log_size[inst]);
        RETURN_IF_ERROR(witness_claim(L.InstanceBlock(l, j), local));
        leaf_values.push_back(xclaims.back().value);
        if (j == 0) {
          RETURN_IF_ERROR(witness_claim(L.Block(l, 1), local));
          leaf_values.push_back(xclaims.back().value);
        }
      }
    for (size_t pi = 0; pi < c.pools.size(); ++pi)
      for (int64_t t = 0; t < c.pools[pi].Taps(); ++t) {
        size_t inst = L.pool_instance[pi] + static_cast<size_t>(t);
        auto local = std::span<const Fp2>(lookup.claim.point).subspan(0, L.lookups.log_size[inst]);
        RETURN_IF_ERROR(witness_claim(L.pool_block[pi] + 1 + static_cast<size_t>(t), local));
        leaf_values.push_back(xclaims.back().value);
      }
    for (size_t t = 0; t < c.tables.size(); ++t) {
      auto local = std::span<const Fp2>(lookup.claim.point).subspan(0, L.lookups.log_size[L.table_instance[t]]);
      RETURN_IF_ERROR(witness_claim(L.Source(L.table_op[t]).block, local));
      leaf_values.push_back(xclaims.back().value);
      RETURN_IF_ERROR(witness_claim(L.table_block[t], local));
      leaf_values.push_back(xclaims.back().value);
    }
    tr.AbsorbFp2("zkml/lookup_leaves", leaf_values);
    for (Fp2 v : leaf_values) zk::WriteFp2(w, v);

    // The table side, one fraction sum per segment.
    for (size_t seg = 0; seg < L.segment_bits.size(); ++seg) {
      const size_t tsize = size_t{1} << L.segment_bits[seg], start = L.segment_start[seg];
      const uint64_t m_off = L.witness.offset[L.multiplicity_block + seg];
      std::vector<Fp2> tp(tsize, Fp2::Zero()), tq(tsize, alpha);
      for (size_t e = 0; e < tsize && start + e < table.a.size(); ++e) {
        tp[e] = Fp2(wit[m_off + e]);  // the committed counts
        const size_t t = start + e;
        tq[e] = TableValue(alpha, beta, Fp2::FromI64(table.a[t]), Fp2::FromI64(table.b[t]), Fp2::FromI64(table.tag[t]));
      }
      ASSIGN_OR_RETURN(auto table_proof, zk::ProveFractionSum(tp, tq, tr, options.threads));
      table_proof.proof.WriteTo(w);
      RETURN_IF_ERROR(witness_claim(L.multiplicity_block + seg, table_proof.claim.point));
      tr.AbsorbFp2("zkml/multiplicity", xclaims.back().value);
      zk::WriteFp2(w, xclaims.back().value);
    }
  }

  zk::SumcheckOptions sc_options;
  sc_options.threads = options.threads;
  std::vector<Fp> weights_vec = key.weights.evals;
  const std::vector<Fp> x_padded = PaddedRows(trace.x, L.x.rows, L.x.cols, L.x.row_bits, L.x.col_bits);
  // The source activation of op i as a padded table.
  auto source_span = [&](size_t op_index) -> std::span<const Fp> {
    Act src = L.Source(op_index);
    return src.block == kNoBlock ? std::span<const Fp>(x_padded) : block_span(src.block);
  };
  // The wiring sumcheck: sum_j a(j) Wt(j) = claim over op i's source; ends in a claim on it.
  auto prove_wiring = [&](size_t op_index, const std::vector<Fp2>& wt, Fp2 claim, const std::string& what) -> Status {
    Act src = L.Source(op_index);
    std::vector<zk::MultilinearRef> tables = {source_span(op_index), std::span<const Fp2>(wt)};
    ASSIGN_OR_RETURN(auto ws, zk::ProveSumcheck(ProductPolynomial(src.vars()), tables, tr, sc_options));
    if (honest && !(ws.claimed_sum == claim)) return Internal("zkml: " + what + " wiring disagrees with its input");
    ws.proof.WriteTo(w);
    tr.AbsorbFp2("zkml/wiring_value", ws.final_values[0]);
    zk::WriteFp2(w, ws.final_values[0]);
    if (src.block != kNoBlock) RETURN_IF_ERROR(witness_claim(src.block, ws.point));
    return Status::Ok();
  };
  for (size_t op_index = L.ops.size(); op_index-- > 0;) {
    const Circuit::Op& op = L.ops[op_index];
    Act src = L.Source(op_index);
    if (op.table) continue;  // its lookup (x, y) already ties its committed input and output
    if (op.pool) {
      const PoolLayer& pl = c.pools[op.index];
      const Act& act = L.pool_out[op.index];
      size_t taps = static_cast<size_t>(pl.Taps());
      unsigned nv = act.vars();
      // d_t = m - e_t everywhere (e_t = 0 off the valid entries), at a random point.
      std::vector<Fp2> rho = tr.ChallengeFp2s("zkml/pool_point", nv);
      Fp2 mu = tr.ChallengeFp2("zkml/pool_mu");
      std::vector<Fp2> values;
      RETURN_IF_ERROR(witness_claim(L.pool_block[op.index], rho));
      values.push_back(xclaims.back().value);
      for (size_t t = 0; t < taps; ++t) {
        RETURN_IF_ERROR(witness_claim(L.pool_block[op.index] + 1 + t, rho));
        values.push_back(xclaims.back().value);
      }
      tr.AbsorbFp2("zkml/pool_values", values);
      for (Fp2 v : values) zk::WriteFp2(w, v);
      // Not a structured binding: lambdas below capture mu_pow (clang 14 refuses those).
      std::pair<std::vector<Fp2>, Fp2> pool_claim = PoolCheckClaim(values, mu, taps);
      const std::vector<Fp2>& mu_pow = pool_claim.first;
      const Fp2 claim = pool_claim.second;
      ASSIGN_OR_RETURN(std::vector<Fp2> eq_r, zk::EqTable(rho));
      std::vector<Fp2> wt(size_t{1} << src.vars(), Fp2::Zero());
      ForEachTap(c, op, L.rows, src, [&](uint64_t p, uint64_t k, uint64_t j) {
        uint64_t t = k / static_cast<uint64_t>(pl.c), ch = k % static_cast<uint64_t>(pl.c);
        wt[j] += mu_pow[t] * eq_r[(p << act.col_bits) + ch];
      });
      RETURN_IF_ERROR(prove_wiring(op_index, wt, claim, "pool '" + pl.node + "'"));
      // prod_t d_t = 0 on the valid entries (the maximum is one of the taps).
      std::vector<Fp2> tau = tr.ChallengeFp2s("zkml/pool_tau", nv);
      ASSIGN_OR_RETURN(std::vector<Fp2> eqv, zk::EqTable(tau));
      for (size_t e = 0; e < eqv.size(); ++e)
        if (static_cast<int64_t>(e >> act.col_bits) >= act.rows ||
            static_cast<int64_t>(e & ((size_t{1} << act.col_bits) - 1)) >= act.cols)
          eqv[e] = Fp2::Zero();
      std::vector<zk::MultilinearRef> tables = {std::span<const Fp2>(eqv)};
      for (size_t t = 0; t < taps; ++t) tables.push_back(block_span(L.pool_block[op.index] + 1 + t));
      ASSIGN_OR_RETURN(auto zc, zk::ProveSumcheck(MaxAttainedPolynomial(nv, taps), tables, tr, sc_options));
      if (honest && !zc.claimed_sum.IsZero()) return Internal("zkml: pool '" + pl.node + "' maximum is not attained");
      zc.proof.WriteTo(w);
      std::vector<Fp2> dvals(zc.final_values.begin() + 1, zc.final_values.end());
      tr.AbsorbFp2("zkml/pool_product_values", dvals);
      for (Fp2 v : dvals) zk::WriteFp2(w, v);
      for (size_t t = 0; t < taps; ++t) RETURN_IF_ERROR(witness_claim(L.pool_block[op.index] + 1 + t, zc.point));
      continue;
    }
    const size_t l = op.index;
    const FcLayer& layer = c.layers[l];
    const Act& act = L.layer_out[l];
    unsigned ob = L.out_bits[l], kb = L.in_bits[l], nb = act.row_bits;
    unsigned nv = ob + nb;
    size_t S = size_t{1} << nv, Kp = size_t{1} << kb;
    // The layer's input matrix X (rows x 2^kb, row bits high): the source itself, or its
    // im2col (z in the padded taps, 0 outside the valid rows and columns).
    std::vector<Fp> a;
    if (!layer.Wired()) {
      auto sp = source_span(op_index);
      a.assign(sp.begin(), sp.end());
    } else {
      auto sp = source_span(op_index);
      a.assign(size_t{1} << (nb + kb), Fp::Zero());
      Fp z = FromInt(layer.in_zero);
      ForEachTap(c, op, L.rows, src, [&](uint64_t p, uint64_t k, uint64_t j) {
        a[(p << kb) + k] = j == kNoBlock ? z : sp[j];
      });
    }
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
    ASSIGN_OR_RETURN(std::vector<Fp2> eqv, zk::EqTable(tau));
    for (size_t e = 0; e < S; ++e) {
      bool valid = static_cast<int64_t>(e >> ob) < act.rows &&
                   static_cast<int64_t>(e & ((size_t{1} << ob) - 1)) < layer.out_features;
      if (!valid) eqv[e] = Fp2::Zero();
    }
    std::vector<zk::MultilinearRef> tables = {std::span<const Fp2>(eqv), std::span<const Fp>(acc),
                                              std::span<const Fp>(mvec), block_span(L.Block(l, 0)),
                                              std::span<const Fp>(pvec), std::span<const Fp>(hvec)};
    for (size_t j = 0; j < L.limbs; ++j) tables.push_back(block_span(L.Block(l, 2 + j)));
    ASSIGN_OR_RETURN(auto zc, zk::ProveSumcheck(RequantPolynomial(nv, L), tables, tr, sc_options));
    if (honest && !zc.claimed_sum.IsZero()) return Internal("zkml: layer '" + layer.node + "' requantization does not hold");
    zc.proof.WriteTo(w);
    const std::vector<Fp2>& rho = zc.point;
    std::vector<Fp2> requant = {zc.final_values[1], zc.final_values[3]};
    for (size_t j = 0; j < L.limbs; ++j) requant.push_back(zc.final_values[6 + j]);
    tr.AbsorbFp2("zkml/requant_values", requant);
    for (Fp2 v : requant) zk::WriteFp2(w, v);
    RETURN_IF_ERROR(witness_claim(L.Block(l, 0), rho));
    for (size_t j = 0; j < L.limbs; ++j) RETURN_IF_ERROR(witness_claim(L.Block(l, 2 + j), rho));

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
    if (honest && !(mm.claimed_sum == requant[0] - bias_value))
      return Internal("zkml: layer '" + layer.node + "' matrix product disagrees with its accumulator");
    mm.proof.WriteTo(w);
    std::vector<Fp2> mm_values = {mm.final_values[0], mm.final_values[1]};
    tr.AbsorbFp2("zkml/matmul_values", mm_values);
    for (Fp2 v : mm_values) zk::WriteFp2(w, v);
    std::vector<Fp2> w_local(mm.point);
    w_local.insert(w_local.end(), rho_o.begin(), rho_o.end());
    auto w_point = L.weights.Point(2 * l, w_local);
    wclaims.push_back({w_point, mm_values[1]});
    if (!layer.Wired()) {
      if (src.block != kNoBlock) {
        std::vector<Fp2> a_local(mm.point);
        a_local.insert(a_local.end(), rho_i.begin(), rho_i.end());
        RETURN_IF_ERROR(witness_claim(src.block, a_local));
      }
    } else {
      // X~(rho_i, kappa) = sum_j a(j) Wt(j) + z PadMass.
      ASSIGN_OR_RETURN(std::vector<Fp2> eq_p, zk::EqTable(rho_i));
      ASSIGN_OR_RETURN(std::vector<Fp2> eq_k, zk::EqTable(mm.point));
      std::vector<Fp2> wt(size_t{1} << src.vars(), Fp2::Zero());
      Fp2 pad = Fp2::Zero();
      ForEachTap(c, op, L.rows, src, [&](uint64_t p, uint64_t k, uint64_t j) {
        Fp2 e = eq_p[p] * eq_k[k];
        if (j == kNoBlock) {
          pad += e;
        } else {
          wt[j] += e;
        }
      });
      RETURN_IF_ERROR(prove_wiring(op_index, wt, mm_values[0] - Fp2::FromI64(layer.in_zero) * pad,
                                   "layer '" + layer.node + "'"));
    }
  }
  // The public output against the committed last op.
  Act last = L.Output(L.ops.back());
  std::vector<Fp2> r_out = tr.ChallengeFp2s("zkml/output_point", last.vars());
  RETURN_IF_ERROR(witness_claim(last.block, r_out));

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
  auto fail = [](const std::string& what) { return InvalidArgument("zkml proof: " + what); };
  const int limb_bits = ChooseLimbBits(c, out.rows);
  LookupTable table = BuildLookupTable(c, limb_bits);
  Layout L = MakeLayout(c, out.rows, limb_bits, table.a.size());
  if (static_cast<int64_t>(x.num_elements()) != L.x.rows * L.x.cols)
    return InvalidArgument("zkml proof: x does not match the first op's input");
  if (rx.num_vars != L.witness.num_vars) return InvalidArgument("zkml proof: the witness commitment has the wrong size");
  if (cw.num_vars != L.weights.num_vars) return InvalidArgument("zkml proof: the weight commitment has the wrong size");
  if (Status cost = CheckCost(c, L); !cost.ok()) return fail(cost.message());
  const size_t num_layers = c.layers.size();

  zk::Transcript tr(kTranscriptTag);
  tr.Absorb("zkml/circuit", ByteView(out.circuit_hash.data(), out.circuit_hash.size()));
  tr.Absorb("zkml/weights", cw_bytes);
  tr.AbsorbU64("zkml/rows", static_cast<uint64_t>(out.rows));
  tr.Absorb("zkml/input", x.CanonicalBytes());
  tr.Absorb("zkml/output", y.CanonicalBytes());
  Hash32 io[2] = {HashTensorMap(out.inputs), HashTensorMap(out.outputs)};
  tr.Absorb("zkml/input_hash", ByteView(io[0].data(), io[0].size()));
  tr.Absorb("zkml/output_hash", ByteView(io[1].data(), io[1].size()));
  tr.Absorb("zkml/witness", rx_bytes);
  std::vector<Claim> wclaims, xclaims;

  Fp2 alpha = tr.ChallengeFp2("zkml/lookup_alpha"), beta = tr.ChallengeFp2("zkml/lookup_beta");
  ASSIGN_OR_RETURN(auto lookup_proof, zk::FractionSumProof::ReadFrom(r, L.lookups.num_vars));
  auto lookup = zk::VerifyFractionSum(L.lookups.num_vars, lookup_proof, tr);
  if (!lookup.ok()) return fail("lookups: " + lookup.status().message());
  std::vector<Fp2> leaf_values;
  size_t num_leaves = num_layers * (1 + L.instances_per_layer());
  for (const PoolLayer& p : c.pools) num_leaves += static_cast<size_t>(p.Taps());
  num_leaves += 2 * c.tables.size();
  for (size_t i = 0; i < num_leaves; ++i) {
    ASSIGN_OR_RETURN(Fp2 v, zk::ReadFp2(r));
    leaf_values.push_back(v);
  }
  tr.AbsorbFp2("zkml/lookup_leaves", leaf_values);
  {
    Fp2 p_expect = Fp2::Zero(), q_expect = Fp2::Zero(), covered = Fp2::Zero();
    size_t at = 0;
    auto instance = [&](size_t inst, const Act& act, size_t block, bool pair, size_t pair_block,
                        const std::vector<int64_t>& tags) -> Status {
      auto local = std::span<const Fp2>(lookup->point).subspan(0, L.lookups.log_size[inst]);
      Fp2 sel = L.lookups.Selector(inst, lookup->point);
      ASSIGN_OR_RETURN(Fp2 valid, ValidAt(act, local));
      Fp2 a = leaf_values[at++];
      xclaims.push_back({L.witness.Point(block, local), a});
      Fp2 b = Fp2::Zero();
      if (pair) {
        b = leaf_values[at++];
        xclaims.push_back({L.witness.Point(pair_block, local), b});
      }
      // The tag depends on the channel only: its MLE is over the channel bits.
      ASSIGN_OR_RETURN(Fp2 tag, ChannelAt(tags, act.col_bits, local));
      p_expect += sel * valid;
      q_expect += sel * TableValue(alpha, beta, a, b, tag);
      covered += sel;
      return Status::Ok();
    };
    for (size_t l = 0; l < num_layers; ++l)
      for (size_t j = 0; j < L.instances_per_layer(); ++j)
        RETURN_IF_ERROR(instance(L.Instance(l, j), L.layer_out[l], L.InstanceBlock(l, j), j == 0,
                                 L.Block(l, 1), InstanceTags(L, c.layers[l], l, j)));
    for (size_t pi = 0; pi < c.pools.size(); ++pi)
      for (int64_t t = 0; t < c.pools[pi].Taps(); ++t)
        RETURN_IF_ERROR(instance(L.pool_instance[pi] + static_cast<size_t>(t), L.pool_out[pi],
                                 L.pool_block[pi] + 1 + static_cast<size_t>(t), false, 0,
                                 std::vector<int64_t>(static_cast<size_t>(c.pools[pi].c), 8)));
    for (size_t t = 0; t < c.tables.size(); ++t)
      RETURN_IF_ERROR(instance(L.table_instance[t], L.table_out[t], L.Source(L.table_op[t]).block, true,
                               L.table_block[t], std::vector<int64_t>(static_cast<size_t>(c.tables[t].c), TableTag(c, t))));
    q_expect += Fp2::One() - covered;
    if (!(lookup->p_value == p_expect) || !(lookup->q_value == q_expect))
      return fail("lookups: the leaves do not match the committed values");
  }
  // The table side, one fraction sum per segment; their sum must equal the lookups' sum.
  Fp2 table_p = Fp2::Zero(), table_q = Fp2::One();
  for (size_t seg = 0; seg < L.segment_bits.size(); ++seg) {
    const std::string what = "lookup table segment " + std::to_string(seg);
    const unsigned bits = L.segment_bits[seg];
    ASSIGN_OR_RETURN(auto table_proof, zk::FractionSumProof::ReadFrom(r, bits));
    auto table_claim = zk::VerifyFractionSum(bits, table_proof, tr);
    if (!table_claim.ok()) return fail(what + ": " + table_claim.status().message());
    ASSIGN_OR_RETURN(Fp2 mult_value, zk::ReadFp2(r));
    tr.AbsorbFp2("zkml/multiplicity", mult_value);
    const size_t tsize = size_t{1} << bits, start = L.segment_start[seg];
    std::vector<Fp> ta(tsize, Fp::Zero()), tb(tsize, Fp::Zero()), tt(tsize, Fp::Zero());
    for (size_t e = 0; e < tsize && start + e < table.a.size(); ++e) {
      ta[e] = FromInt(table.a[start + e]);
      tb[e] = FromInt(table.b[start + e]);
      tt[e] = FromInt(table.tag[start + e]);
    }
    ASSIGN_OR_RETURN(Fp2 a, zk::EvaluateMultilinear(std::span<const Fp>(ta), table_claim->point));
    ASSIGN_OR_RETURN(Fp2 b, zk::EvaluateMultilinear(std::span<const Fp>(tb), table_claim->point));
    ASSIGN_OR_RETURN(Fp2 t, zk::EvaluateMultilinear(std::span<const Fp>(tt), table_claim->point));
    if (!(table_claim->q_value == TableValue(alpha, beta, a, b, t)))
      return fail(what + ": the table leaves are not the circuit's table");
    if (!(table_claim->p_value == mult_value)) return fail(what + ": multiplicities");
    if (table_claim->root_q.IsZero()) return fail(what + ": zero denominator");
    xclaims.push_back({L.witness.Point(L.multiplicity_block + seg, table_claim->point), mult_value});
    table_p = table_p * table_claim->root_q + table_claim->root_p * table_q;
    table_q = table_q * table_claim->root_q;
  }
  // sum over lookups of 1/(alpha - v) == sum over the table of m/(alpha - t).
  if (lookup->root_q.IsZero() || !(lookup->root_p * table_q == table_p * lookup->root_q))
    return fail("lookups: a looked-up value is not in the table (logUp sums differ)");

  // x re-laid out as pixel rows x channels, evaluated by the verifier.
  const std::vector<Fp> x_padded =
      PaddedRows(NchwToRows(TensorCodes(x), out.rows, c.InputMap(L.ops[0])), L.x.rows, L.x.cols, L.x.row_bits,
                 L.x.col_bits);
  // A claim a~(point) = v on op i's source: an opening claim, or x evaluated here.
  auto source_claim = [&](size_t op_index, std::vector<Fp2> point, Fp2 v) -> Status {
    Act src = L.Source(op_index);
    if (src.block != kNoBlock) {
      xclaims.push_back({L.witness.Point(src.block, point), v});
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(Fp2 xv, zk::EvaluateMultilinear(std::span<const Fp>(x_padded), point));
    if (!(xv == v)) return fail("the first op's input is not the proven x");
    return Status::Ok();
  };
  // The wiring sumcheck of op i: sum_j a(j) Wt(j) = claim; wt_at(rho_j) computes Wt~(rho_j).
  auto verify_wiring = [&](size_t op_index, Fp2 claim, const std::string& where,
                           const std::function<Fp2(const std::vector<Fp2>&)>& wt_at) -> Status {
    Act src = L.Source(op_index);
    ASSIGN_OR_RETURN(zk::SumcheckProof ws_proof, zk::SumcheckProof::ReadFrom(r));
    auto ws = zk::VerifySumcheck(src.vars(), 2, claim, ws_proof, tr);
    if (!ws.ok()) return fail(where + "wiring sumcheck: " + ws.status().message());
    ASSIGN_OR_RETURN(Fp2 a_value, zk::ReadFp2(r));
    std::vector<Fp2> values = {a_value, wt_at(ws->point)};
    if (!ws->CheckFinal(ProductPolynomial(src.vars()), values).ok()) return fail(where + "wiring does not hold");
    tr.AbsorbFp2("zkml/wiring_value", a_value);
    return source_claim(op_index, ws->point, a_value);
  };

  for (size_t op_index = L.ops.size(); op_index-- > 0;) {
    const Circuit::Op& op = L.ops[op_index];
    Act src = L.Source(op_index);
    if (op.table) continue;  // proved by its lookup (x, y) above
    if (op.pool) {
      const PoolLayer& pl = c.pools[op.index];
      const Act& act = L.pool_out[op.index];
      std::string where = "pool '" + pl.node + "': ";
      size_t taps = static_cast<size_t>(pl.Taps());
      unsigned nv = act.vars();
      std::vector<Fp2> rho = tr.ChallengeFp2s("zkml/pool_point", nv);
      Fp2 mu = tr.ChallengeFp2("zkml/pool_mu");
      std::vector<Fp2> values;
      for (size_t t = 0; t <= taps; ++t) {
        ASSIGN_OR_RETURN(Fp2 v, zk::ReadFp2(r));
        values.push_back(v);
        xclaims.push_back({L.witness.Point(L.pool_block[op.index] + t, rho), v});
      }
      tr.AbsorbFp2("zkml/pool_values", values);
      // Not a structured binding: lambdas below capture mu_pow (clang 14 refuses those).
      std::pair<std::vector<Fp2>, Fp2> pool_claim = PoolCheckClaim(values, mu, taps);
      const std::vector<Fp2>& mu_pow = pool_claim.first;
      const Fp2 claim = pool_claim.second;
      ASSIGN_OR_RETURN(std::vector<Fp2> eq_r, zk::EqTable(rho));
      RETURN_IF_ERROR(verify_wiring(op_index, claim, where, [&](const std::vector<Fp2>& rho_j) {
        std::vector<Fp2> eq_j = *zk::EqTable(rho_j);
        Fp2 sum = Fp2::Zero();
        ForEachTap(c, op, L.rows, src, [&](uint64_t p, uint64_t k, uint64_t j) {
          uint64_t t = k / static_cast<uint64_t>(pl.c), ch = k % static_cast<uint64_t>(pl.c);
          sum += mu_pow[t] * eq_r[(p << act.col_bits) + ch] * eq_j[j];
        });
        return sum;
      }));
      std::vector<Fp2> tau = tr.ChallengeFp2s("zkml/pool_tau", nv);
      ASSIGN_OR_RETURN(zk::SumcheckProof zc_proof, zk::SumcheckProof::ReadFrom(r));
      zk::VirtualPolynomial poly = MaxAttainedPolynomial(nv, taps);
      auto zc = zk::VerifySumcheck(nv, poly.Degree(), Fp2::Zero(), zc_proof, tr);
      if (!zc.ok()) return fail(where + "max-attained sumcheck: " + zc.status().message());
      std::span<const Fp2> tau_s(tau), rho_s(zc->point);
      unsigned cb = act.col_bits;
      ASSIGN_OR_RETURN(Fp2 eqv_c, MaskedEq(tau_s.subspan(0, cb), rho_s.subspan(0, cb), static_cast<uint64_t>(act.cols)));
      ASSIGN_OR_RETURN(Fp2 eqv_r, MaskedEq(tau_s.subspan(cb), rho_s.subspan(cb), static_cast<uint64_t>(act.rows)));
      std::vector<Fp2> dvals, final_values = {eqv_c * eqv_r};
      for (size_t t = 0; t < taps; ++t) {
        ASSIGN_OR_RETURN(Fp2 v, zk::ReadFp2(r));
        dvals.push_back(v);
        final_values.push_back(v);
      }
      if (!zc->CheckFinal(poly, final_values).ok()) return fail(where + "the maximum is not attained");
      tr.AbsorbFp2("zkml/pool_product_values", dvals);
      for (size_t t = 0; t < taps; ++t)
        xclaims.push_back({L.witness.Point(L.pool_block[op.index] + 1 + t, zc->point), dvals[t]});
      continue;
    }
    const size_t l = op.index;
    const FcLayer& layer = c.layers[l];
    const Act& act = L.layer_out[l];
    unsigned ob = L.out_bits[l], kb = L.in_bits[l], nb = act.row_bits;
    unsigned nv = ob + nb;
    std::string where = "layer '" + layer.node + "': ";
    std::vector<Fp2> tau = tr.ChallengeFp2s("zkml/tau", nv);
    ASSIGN_OR_RETURN(zk::SumcheckProof zc_proof, zk::SumcheckProof::ReadFrom(r));
    zk::VirtualPolynomial poly = RequantPolynomial(nv, L);
    auto zc = zk::VerifySumcheck(nv, poly.Degree(), Fp2::Zero(), zc_proof, tr);
    if (!zc.ok()) return fail(where + "requantization sumcheck: " + zc.status().message());
    std::vector<Fp2> requant;
    for (size_t j = 0; j < 2 + L.limbs; ++j) {
      ASSIGN_OR_RETURN(Fp2 v, zk::ReadFp2(r));
      requant.push_back(v);
    }
    const std::vector<Fp2>& rho = zc->point;
    ChannelVectors ch = Channels(layer);
    // eqv = eq(tau, x) [x valid] factors into its o part and its row part.
    std::span<const Fp2> tau_s(tau), rho_s(rho);
    ASSIGN_OR_RETURN(Fp2 eqv_o, MaskedEq(tau_s.subspan(0, ob), rho_s.subspan(0, ob), static_cast<uint64_t>(layer.out_features)));
    ASSIGN_OR_RETURN(Fp2 eqv_i, MaskedEq(tau_s.subspan(ob), rho_s.subspan(ob), static_cast<uint64_t>(act.rows)));
    ASSIGN_OR_RETURN(Fp2 m, ChannelAt(ch.m, ob, rho));
    ASSIGN_OR_RETURN(Fp2 p, ChannelAt(ch.p, ob, rho));
    ASSIGN_OR_RETURN(Fp2 h, ChannelAt(ch.h, ob, rho));
    std::vector<Fp2> values = {eqv_o * eqv_i, requant[0], m, requant[1], p, h};
    for (size_t j = 0; j < L.limbs; ++j) values.push_back(requant[2 + j]);
    if (!zc->CheckFinal(poly, values).ok()) return fail(where + "requantization does not hold");
    tr.AbsorbFp2("zkml/requant_values", requant);
    xclaims.push_back({L.witness.Point(L.Block(l, 0), rho), requant[1]});
    for (size_t j = 0; j < L.limbs; ++j) xclaims.push_back({L.witness.Point(L.Block(l, 2 + j), rho), requant[2 + j]});

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
    if (!layer.Wired()) {
      std::vector<Fp2> a_local(mm->point);
      a_local.insert(a_local.end(), rho_i.begin(), rho_i.end());
      RETURN_IF_ERROR(source_claim(op_index, a_local, mm_values[0]));
    } else {
      ASSIGN_OR_RETURN(std::vector<Fp2> eq_p, zk::EqTable(rho_i));
      ASSIGN_OR_RETURN(std::vector<Fp2> eq_k, zk::EqTable(mm->point));
      Fp2 pad = Fp2::Zero();
      ForEachTap(c, op, L.rows, src, [&](uint64_t pp, uint64_t k, uint64_t j) {
        if (j == kNoBlock) pad += eq_p[pp] * eq_k[k];
      });
      RETURN_IF_ERROR(verify_wiring(op_index, mm_values[0] - Fp2::FromI64(layer.in_zero) * pad, where,
                                    [&](const std::vector<Fp2>& rho_j) {
                                      std::vector<Fp2> eq_j = *zk::EqTable(rho_j);
                                      Fp2 sum = Fp2::Zero();
                                      ForEachTap(c, op, L.rows, src, [&](uint64_t pp, uint64_t k, uint64_t j) {
                                        if (j != kNoBlock) sum += eq_p[pp] * eq_k[k] * eq_j[j];
                                      });
                                      return sum;
                                    }));
    }
  }
  Act last = L.Output(L.ops.back());
  std::vector<Fp2> r_out = tr.ChallengeFp2s("zkml/output_point", last.vars());
  {
    std::vector<Fp> yp = PaddedRows(NchwToRows(TensorCodes(y), out.rows, c.OutputMap(L.ops.back())), last.rows,
                                    last.cols, last.row_bits, last.col_bits);
    ASSIGN_OR_RETURN(Fp2 yv, zk::EvaluateMultilinear(std::span<const Fp>(yp), r_out));
    xclaims.push_back({L.witness.Point(last.block, r_out), yv});
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
