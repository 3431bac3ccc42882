// The zkml circuit of a quantized ONNX model (docs/zk.md "zkml circuit"): the integer part
// of the model, compiled from the QLinear graph the quantizer writes, evaluated exactly as
// docs/formats/integer-semantics.md specifies, plus the two float ends the verifier runs
// itself: the head (graph input -> QuantizeLinear, giving the integer input x) and the tail
// (DequantizeLinear onwards, giving the user-visible output from the integer output y).
//
// Version 2 covers a chain of QLinearConv layers (any kernel, strides, pads; group 1,
// dilation 1), QLinearMatMul with a constant [K, O] B, MaxPool (no padding, no ceil mode)
// and Reshape/Flatten between them, on uint8 or int8 activations with a fused ReLU or none.
// Every activation is stored as a matrix of pixel rows (n, y, x) x channels
// (docs/zk.md "Convolutions and pooling"); a layer reads the im2col matrix of its input
// through a wiring (a fully-connected layer after a Flatten is a convolution whose kernel
// covers the whole map). Anything else in the integer part is refused at compile time
// naming the op (CompileCircuit).
// Thread-safety: a Circuit is immutable after CompileCircuit / DecodeCircuit.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "tensor/tensor.h"
#include "zk/field.h"

namespace lucid::zkml {

inline constexpr std::string_view kCircuitVersion = "lucid-zkml-circuit/2";
// The spec's largest shift.
inline constexpr int kMaxShift = 62;
// Most entries of one layer's clamp table (q_max - q_min + 1).
inline constexpr int64_t kMaxClampEntries = int64_t{1} << 20;
// Most entries of the whole lookup table (ranges and every layer's clamp).
inline constexpr int64_t kMaxTableEntries = int64_t{1} << 22;
// A remainder r < 2^s (s <= 62) is committed as LimbCount(b) limbs of b bits, limb j
// range-checked to its width min(b, max(0, s - b j)): so r < 2^s exactly, no complement.
// b (the proof's limb width, 12 or 16) is chosen per proof from the circuit and the batch
// size (ChooseLimbBits): the range table has 2^b entries, which is most of a small model's
// proof, while a large model pays per output for every extra limb.
inline constexpr int kLimbBitsSmall = 12, kLimbBitsLarge = 16;
inline constexpr size_t kMaxRemainderLimbs = (kMaxShift + kLimbBitsSmall - 1) / kLimbBitsSmall;  // 6
inline size_t LimbCount(int limb_bits) { return static_cast<size_t>((kMaxShift + limb_bits - 1) / limb_bits); }
inline int LimbWidth(int limb_bits, int shift, size_t limb) {
  int w = shift - limb_bits * static_cast<int>(limb);
  return w < 0 ? 0 : (w > limb_bits ? limb_bits : w);
}
// Table tags: w = 0..16 the range [0, 2^w) (present when the circuit uses it), kClampTag0 + l
// layer l's clamp pairs. Pool differences use the 8-bit range.
inline constexpr int64_t kClampTag0 = 17;

// One fully-connected requantizing layer:
//   acc[i,o] = sum_k (a[i,k] - in_zero) w[o,k] + bias[o]
//   y[i,o]   = clamp(out_zero + ((acc M_o + 2^(s_o - 1)) >> s_o), lo, hi)
struct FcLayer {
  std::string node;            // the ONNX node it came from (error messages)
  int64_t in_features = 0;     // K
  int64_t out_features = 0;    // O
  int64_t in_zero = 0;
  int64_t out_zero = 0;
  int64_t lo = 0, hi = 0;      // the output dtype's range
  std::vector<int64_t> multiplier;  // M_o in [2^30, 2^31)
  std::vector<int> shift;           // s_o in [1, kMaxShift]
  int64_t q_min = 0, q_max = 0;     // bounds of (acc M + 2^(s-1)) >> s over all inputs
  // Geometry: the input is an [in_c, in_h, in_w] map; the kernel kh x kw (ONNX weight order
  // [O, in_c, kh, kw] = k), pads top/left (bottom/right follow from out_h/out_w).
  // K = in_c kh kw. A layer with a 1 x 1 map and kernel reads its input directly.
  int64_t in_c = 0, in_h = 1, in_w = 1, kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_t = 0, pad_l = 0;
  int64_t out_h = 1, out_w = 1;
  bool Wired() const { return !(in_h == 1 && in_w == 1 && kh == 1 && kw == 1 && out_h == 1 && out_w == 1); }
  // Weights, not part of the circuit description (they are committed: weights.h).
  std::vector<int64_t> weights;  // [O][K], w - w_zero
  std::vector<int64_t> bias;     // [O]

  unsigned log_in() const;   // ceil(log2 K), at least 1
  unsigned log_out() const;  // ceil(log2 O), at least 1
};

// MaxPool over a [c, in_h, in_w] map (no padding): m = max over the kh x kw window.
struct PoolLayer {
  std::string node;
  int64_t c = 0, in_h = 0, in_w = 0, kh = 1, kw = 1, stride_h = 1, stride_w = 1, out_h = 0, out_w = 0;
  int64_t Taps() const { return kh * kw; }
};
inline constexpr int64_t kMaxPoolTaps = 15;  // the max-attained zero-check has degree taps + 1 <= 16

// A 256-entry table nonlinearity on a [c, h, w] map: the quantizer's Sigmoid/Tanh (spec §5),
// Cast(x, int32) then Gather from a uint8[256] or int8[256] initializer T:
// y = T[(x - in_min)] for x in [in_min, in_min + 255] (Gather's negative indices wrap, so an
// int8 code x reads T[x mod 256], which is the same entry).
struct TableLayer {
  std::string node;            // the Gather
  int64_t c = 0, h = 1, w = 1;
  int64_t in_min = 0;          // 0 for uint8 input codes, -128 for int8
  DType out_dtype = DType::kUint8;
  std::vector<int64_t> values;  // 256 output codes, for x = in_min … in_min + 255
};

// How the integer tensor's shape changes along the chain (for the tail's input shape).
struct ChainStep {
  enum class Kind : uint8_t { kReshape = 1, kFlatten = 2, kLayer = 3, kLayerNchw = 4, kMaxPool = 5, kTable = 6 };
  Kind kind = Kind::kReshape;
  std::vector<int64_t> shape;  // kReshape: the target (0 copies, -1 infers)
  int64_t axis = 1;            // kFlatten
};

struct Circuit {
  Bytes head_model;   // ONNX: the model's inputs -> the integer input x
  Bytes tail_model;   // ONNX: the integer output y -> the model's outputs
  std::string x_name, y_name;
  DType x_dtype = DType::kUint8, y_dtype = DType::kUint8;
  std::vector<ChainStep> steps;
  std::vector<FcLayer> layers;
  std::vector<PoolLayer> pools;
  std::vector<TableLayer> tables;
  bool has_weights = false;  // false when decoded from a proof

  // Canonical description (everything but weights and biases).
  Bytes Describe() const;
  // SHA-256 of Describe(), tagged: H_C.
  Hash32 Hash() const;

  // The operations in chain order: a layer (index into layers), a pool (into pools) or a
  // table (into tables).
  struct Op {
    bool pool = false;
    size_t index = 0;
    bool table = false;
  };
  std::vector<Op> Ops() const;
  // Input / output map of an op: channels, height, width.
  struct Map {
    int64_t c = 0, h = 1, w = 1;
    bool operator==(const Map&) const = default;
  };
  Map InputMap(const Op& op) const;
  Map OutputMap(const Op& op) const;
};

// Wiring of a wired layer: the input pixel (iy, ix) and channel a tap (output pixel
// (oy, ox), k) reads, or false for a padded tap.
bool LayerTap(const FcLayer& l, int64_t oy, int64_t ox, int64_t k, int64_t& iy, int64_t& ix, int64_t& ic);

// Compiles a quantized model. FailedPrecondition for a float model (no QuantizeLinear);
// InvalidArgument / Unimplemented naming the node and op for anything the circuit does not
// prove, OutOfRange for a bound that would let a value wrap modulo p.
Result<Circuit> CompileCircuit(ByteView onnx_model);
// Parses Describe() output (strict); has_weights = false.
Result<Circuit> DecodeCircuit(ByteView description);

// Values of one layer for P*O outputs, P = N out_h out_w pixel rows (n, y, x), index
// p O + o, as the spec computes them.
struct LayerTrace {
  std::vector<int64_t> acc, q, r, y;
};
// A pool's maxima m (index p c_count + c) and differences d[t] = m - e_t per tap t.
struct PoolTrace {
  std::vector<int64_t> m;
  std::vector<std::vector<int64_t>> d;
};

// A table op's input and output codes (index p c_count + c).
struct TableTrace {
  std::vector<int64_t> x, y;
};

struct Trace {
  int64_t rows = 0;
  std::vector<int64_t> x;            // integer input codes, pixel rows x channels
  std::vector<LayerTrace> layers;
  std::vector<PoolTrace> pools;
  std::vector<TableTrace> tables;
  std::vector<int64_t> y;            // the chain's output codes in tensor (NCHW) order
  std::vector<int64_t> output_shape; // the shape of y at the chain's end
};

// x: the head's output tensor (rows = its first dim). Requires has_weights. Also checks
// every q against the layer's [q_min, q_max] (a failure is a compiler bug).
Result<Trace> Evaluate(const Circuit& circuit, const Tensor& x);
// The shape of the chain's output for a head output of shape x_shape.
Result<std::vector<int64_t>> OutputShape(const Circuit& circuit, const std::vector<int64_t>& x_shape);

// Table of (a, b, tag) entries the lookups draw from: for each width w in RangeWidths
// (ascending), tag w = the range [0, 2^w) (b = 0); then tag kClampTag0 + l = layer l's clamp
// (t, clamp(out_zero + t, lo, hi)), t = q_min..q_max; then tag TableTag(circuit, t) = table
// op t's pairs (x, T[x - in_min]).
struct LookupTable {
  std::vector<int64_t> a, b, tag;
  std::vector<size_t> layer_offset;  // index of layer l's first clamp entry
  std::vector<size_t> table_offset;  // index of table op t's first entry
  std::array<int64_t, 17> width_offset;  // index of range [0, 2^w)'s first entry, -1 if absent
};
inline int64_t TableTag(const Circuit& c, size_t t) {
  return kClampTag0 + static_cast<int64_t>(c.layers.size() + t);
}
// The range widths a circuit looks up with limbs of limb_bits: limb_bits and the widths of
// its remainder limbs, 8 with pools.
std::vector<int> RangeWidths(const Circuit& circuit, int limb_bits);
// Entries of BuildLookupTable(circuit, limb_bits), computed without building it.
int64_t LookupTableSize(const Circuit& circuit, int limb_bits);
// NCHW codes of an [n, map] tensor <-> pixel rows x channels (index p c + ch).
std::vector<int64_t> NchwToRows(const std::vector<int64_t>& nchw, int64_t n, const Circuit::Map& map);
std::vector<int64_t> RowsToNchw(const std::vector<int64_t>& rows, int64_t n, const Circuit::Map& map);
LookupTable BuildLookupTable(const Circuit& circuit, int limb_bits);
// The limb width of a proof of `rows` inputs: the one with the smaller table + limb cost
// (both sides derive it; deterministic).
int ChooseLimbBits(const Circuit& circuit, int64_t rows);

// The table is proved in at most two power-of-two segments (each its own fraction sum and
// multiplicity block): the largest power of two that fits, then the rest padded to a power
// of two. A table just over 2^k (the 2^16 range plus a few clamp entries) then costs
// 2^k + a little instead of 2^(k+1). Returns each segment's log2 size; they cover entries
// [0, size) in order.
std::vector<unsigned> TableSegmentBits(uint64_t table_size);

unsigned CeilLog2(uint64_t v);  // 0 for v <= 1

}  // namespace lucid::zkml
