// LSTM and GRU (forward, reverse, bidirectional; sequence_lens; initial states; layout 0/1).
//
// Canonical order (docs/formats/onnx-semantics.md, "Recurrent nets"): each gate's
// pre-activation is one float32 accumulator starting at +0.0f that adds x[k]·W[g,k] for
// k = 0…I−1, then h[k]·R[g,k] for k = 0…H−1, then Wb[g], then Rb[g] (GRU's hidden gate keeps
// the input and recurrent parts apart, as the ONNX equations do). Activations are
// lucid::math's Sigmoid/Tanh. Threads split the batch only, so a thread never changes a sum.
#include <algorithm>
#include <cmath>

#include "onnx/op_internal.h"
#include "onnx/ops1_common.h"
#include "tensor/math.h"

namespace lucid::onnx::internal {
namespace {

enum class Act : uint8_t { kSigmoid, kTanh, kRelu };

float Apply(Act a, float v) {
  switch (a) {
    case Act::kSigmoid: return math::Sigmoid(v);
    case Act::kTanh: return math::Tanh(v);
    case Act::kRelu: return v < 0.0f ? 0.0f : v;
  }
  return v;
}

Result<Act> ParseAct(const Node& node, const std::string& name) {
  if (name == "Sigmoid") return Act::kSigmoid;
  if (name == "Tanh") return Act::kTanh;
  if (name == "Relu") return Act::kRelu;
  return Unimplemented(node.Describe() + ": activation '" + name + "' is not supported (Sigmoid, Tanh, Relu)");
}

int Directions(const Node& node) { return node.Str("direction", "forward") == "bidirectional" ? 2 : 1; }

// Activations per direction: LSTM f, g, h; GRU f, g.
Result<std::vector<Act>> Activations(const Node& node, size_t per_direction) {
  size_t want = per_direction * static_cast<size_t>(Directions(node));
  auto it = node.attrs.find("activations");
  std::vector<Act> acts;
  if (it == node.attrs.end()) {
    for (size_t i = 0; i < want; ++i) acts.push_back(i % per_direction == 0 ? Act::kSigmoid : Act::kTanh);
    return acts;
  }
  if (it->second.strings.size() != want)
    return InvalidArgument(node.Describe() + ": activations must list " + std::to_string(want) + " functions");
  for (const std::string& s : it->second.strings) {
    ASSIGN_OR_RETURN(Act a, ParseAct(node, s));
    acts.push_back(a);
  }
  return acts;
}

Status ValidateRecurrent(Node& n, size_t per_direction) {
  RETURN_IF_ERROR(ExpectKind(n, "hidden_size", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "direction", Attr::Kind::kString));
  RETURN_IF_ERROR(ExpectKind(n, "clip", Attr::Kind::kFloat));
  RETURN_IF_ERROR(ExpectKind(n, "layout", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "activations", Attr::Kind::kStrings));
  std::string dir = n.Str("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    return InvalidArgument(n.Describe() + ": unknown direction \"" + dir + "\"");
  if (n.Has("hidden_size") && (n.Int("hidden_size", 0) < 1 || n.Int("hidden_size", 0) > (1 << 16)))
    return InvalidArgument(n.Describe() + ": hidden_size must be in [1, 65536]");
  if (n.Has("clip") && !(n.Float("clip", 0) > 0)) return InvalidArgument(n.Describe() + ": clip must be > 0");
  int64_t layout = n.Int("layout", 0);
  if (layout != 0 && layout != 1) return InvalidArgument(n.Describe() + ": layout must be 0 or 1");
  if (n.Has("layout") && n.opset < 14) return InvalidArgument(n.Describe() + ": layout needs opset ≥ 14");
  if (n.Has("activation_alpha") || n.Has("activation_beta"))
    return Unimplemented(n.Describe() + ": activation_alpha/activation_beta are not supported");
  auto acts = Activations(n, per_direction);
  return acts.ok() ? Status::Ok() : acts.status();
}

// Shapes and views shared by LSTM and GRU.
struct Rnn {
  int64_t seq, batch, input, hidden, dirs, layout;
  int gates;
  const float *x, *w, *r, *b = nullptr, *h0 = nullptr, *c0 = nullptr, *p = nullptr;
  const int32_t* lens = nullptr;
  bool clip = false;
  float clip_value = 0;

  const float* X(int64_t t, int64_t n) const { return x + (layout == 0 ? (t * batch + n) : (n * seq + t)) * input; }
  // Y, Y_h, Y_c, initial_h, initial_c offsets.
  int64_t YIndex(int64_t t, int64_t d, int64_t n) const {
    return (layout == 0 ? ((t * dirs + d) * batch + n) : ((n * seq + t) * dirs + d)) * hidden;
  }
  int64_t StateIndex(int64_t d, int64_t n) const { return (layout == 0 ? d * batch + n : n * dirs + d) * hidden; }
  float Clip(float v) const { return clip ? std::clamp(v, -clip_value, clip_value) : v; }
};

Status Expect(const Node& node, const Tensor* t, std::string_view what, std::vector<int64_t> shape, DType dtype) {
  if (t == nullptr) return Status::Ok();
  if (t->dtype() != dtype)
    return Unimplemented(node.Describe() + ": " + std::string(what) + " has dtype " + std::string(DTypeName(t->dtype())) +
                         ", expected " + std::string(DTypeName(dtype)));
  if (t->shape() != shape)
    return InvalidArgument(node.Describe() + ": " + std::string(what) + " has shape " + ShapeString(t->shape()) +
                           ", expected " + ShapeString(shape));
  return Status::Ok();
}

const Tensor* Optional(KernelInputs in, size_t i) { return in.size() > i ? in[i] : nullptr; }

Result<Rnn> Plan(const Node& node, KernelInputs in, int gates) {
  const Tensor& x = *in[0];
  const Tensor& w = *in[1];
  const Tensor& r = *in[2];
  Rnn p{};
  p.gates = gates;
  p.layout = node.Int("layout", 0);
  p.dirs = Directions(node);
  if (x.dtype() != DType::kFloat32) return Unimplemented(node.Describe() + ": X must be float32");
  if (x.rank() != 3) return InvalidArgument(node.Describe() + ": X must have rank 3, got " + ShapeString(x.shape()));
  p.seq = x.shape()[p.layout == 0 ? 0 : 1];
  p.batch = x.shape()[p.layout == 0 ? 1 : 0];
  p.input = x.shape()[2];
  if (w.rank() != 3 || w.shape()[1] % gates != 0)
    return InvalidArgument(node.Describe() + ": W has shape " + ShapeString(w.shape()));
  p.hidden = w.shape()[1] / gates;
  if (node.Has("hidden_size") && node.Int("hidden_size", 0) != p.hidden)
    return InvalidArgument(node.Describe() + ": hidden_size " + std::to_string(node.Int("hidden_size", 0)) +
                           " does not match W " + ShapeString(w.shape()));
  int64_t H = p.hidden, G = gates;
  RETURN_IF_ERROR(Expect(node, &w, "W", {p.dirs, G * H, p.input}, DType::kFloat32));
  RETURN_IF_ERROR(Expect(node, &r, "R", {p.dirs, G * H, H}, DType::kFloat32));
  const Tensor* b = Optional(in, 3);
  const Tensor* lens = Optional(in, 4);
  const Tensor* h0 = Optional(in, 5);
  const Tensor* c0 = gates == 4 ? Optional(in, 6) : nullptr;
  const Tensor* peep = gates == 4 ? Optional(in, 7) : nullptr;
  std::vector<int64_t> state = p.layout == 0 ? std::vector<int64_t>{p.dirs, p.batch, H} : std::vector<int64_t>{p.batch, p.dirs, H};
  RETURN_IF_ERROR(Expect(node, b, "B", {p.dirs, 2 * G * H}, DType::kFloat32));
  RETURN_IF_ERROR(Expect(node, lens, "sequence_lens", {p.batch}, DType::kInt32));
  RETURN_IF_ERROR(Expect(node, h0, "initial_h", state, DType::kFloat32));
  RETURN_IF_ERROR(Expect(node, c0, "initial_c", state, DType::kFloat32));
  RETURN_IF_ERROR(Expect(node, peep, "P", {p.dirs, 3 * H}, DType::kFloat32));
  if (lens)
    for (int64_t n = 0; n < p.batch; ++n)
      if (lens->data<int32_t>()[n] < 0 || lens->data<int32_t>()[n] > p.seq)
        return InvalidArgument(node.Describe() + ": sequence_lens[" + std::to_string(n) + "] = " +
                               std::to_string(lens->data<int32_t>()[n]) + " is outside [0, " + std::to_string(p.seq) + "]");
  p.x = x.data<float>();
  p.w = w.data<float>();
  p.r = r.data<float>();
  p.b = b ? b->data<float>() : nullptr;
  p.lens = lens ? lens->data<int32_t>() : nullptr;
  p.h0 = h0 ? h0->data<float>() : nullptr;
  p.c0 = c0 ? c0->data<float>() : nullptr;
  p.p = peep ? peep->data<float>() : nullptr;
  p.clip = node.Has("clip");
  p.clip_value = node.Float("clip", 0);
  return p;
}

// Σ_k v[k]·row[k] added onto acc in increasing k.
inline float Dot(float acc, const float* v, const float* row, int64_t n) {
  for (int64_t k = 0; k < n; ++k) acc = acc + v[k] * row[k];
  return acc;
}

Result<std::vector<Tensor>> MakeOutputs(const Rnn& p, int count) {
  std::vector<Tensor> outs;
  std::vector<int64_t> y = p.layout == 0 ? std::vector<int64_t>{p.seq, p.dirs, p.batch, p.hidden}
                                         : std::vector<int64_t>{p.batch, p.seq, p.dirs, p.hidden};
  std::vector<int64_t> state = p.layout == 0 ? std::vector<int64_t>{p.dirs, p.batch, p.hidden}
                                             : std::vector<int64_t>{p.batch, p.dirs, p.hidden};
  ASSIGN_OR_RETURN(Tensor t, Tensor::Make(DType::kFloat32, y));
  outs.push_back(std::move(t));
  for (int i = 1; i < count; ++i) {
    ASSIGN_OR_RETURN(Tensor s, Tensor::Make(DType::kFloat32, state));
    outs.push_back(std::move(s));
  }
  return outs;
}

}  // namespace

Status ValidateLSTM(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "input_forget", Attr::Kind::kInt));
  if (n.Int("input_forget", 0) != 0) return Unimplemented(n.Describe() + ": input_forget=1 is not supported");
  return ValidateRecurrent(n, 3);
}

Status ValidateGRU(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "linear_before_reset", Attr::Kind::kInt));
  int64_t lbr = n.Int("linear_before_reset", 0);
  if (lbr != 0 && lbr != 1) return InvalidArgument(n.Describe() + ": linear_before_reset must be 0 or 1");
  return ValidateRecurrent(n, 2);
}

Status RunLSTM(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  ASSIGN_OR_RETURN(Rnn p, Plan(node, in, 4));
  ASSIGN_OR_RETURN(std::vector<Act> acts, Activations(node, 3));
  ASSIGN_OR_RETURN(std::vector<Tensor> outs, MakeOutputs(p, 3));
  float* y = outs[0].data<float>();
  float* yh = outs[1].data<float>();
  float* yc = outs[2].data<float>();
  const int64_t H = p.hidden, I = p.input;
  bool reverse_only = node.Str("direction", "forward") == "reverse";
  ParallelFor(p.batch, ctx.threads, [&](int64_t begin, int64_t end) {
    std::vector<float> h(H), c(H), pre(4 * H);
    for (int64_t n = begin; n < end; ++n) {
      int64_t len = p.lens ? p.lens[n] : p.seq;
      for (int64_t d = 0; d < p.dirs; ++d) {
        bool reverse = d == 1 || reverse_only;
        Act f = acts[d * 3], g = acts[d * 3 + 1], hact = acts[d * 3 + 2];
        const float* w = p.w + d * 4 * H * I;
        const float* r = p.r + d * 4 * H * H;
        const float* wb = p.b ? p.b + d * 8 * H : nullptr;
        const float* rb = p.b ? wb + 4 * H : nullptr;
        const float* peep = p.p ? p.p + d * 3 * H : nullptr;  // [Pi, Po, Pf]
        for (int64_t j = 0; j < H; ++j) {
          h[j] = p.h0 ? p.h0[p.StateIndex(d, n) + j] : 0.0f;
          c[j] = p.c0 ? p.c0[p.StateIndex(d, n) + j] : 0.0f;
        }
        for (int64_t step = 0; step < len; ++step) {
          int64_t t = reverse ? len - 1 - step : step;
          const float* xt = p.X(t, n);
          for (int64_t gj = 0; gj < 4 * H; ++gj) {  // gates i, o, f, c
            float acc = Dot(0.0f, xt, w + gj * I, I);
            acc = Dot(acc, h.data(), r + gj * H, H);
            if (wb) acc = (acc + wb[gj]) + rb[gj];
            pre[gj] = acc;
          }
          float* yt = y + p.YIndex(t, d, n);
          for (int64_t j = 0; j < H; ++j) {
            float pi = pre[j], po = pre[H + j], pf = pre[2 * H + j], pc = pre[3 * H + j];
            if (peep) {
              pi = pi + peep[j] * c[j];
              pf = pf + peep[2 * H + j] * c[j];
            }
            float ig = Apply(f, p.Clip(pi)), fg = Apply(f, p.Clip(pf)), cg = Apply(g, p.Clip(pc));
            float cn = fg * c[j] + ig * cg;
            if (peep) po = po + peep[H + j] * cn;
            float og = Apply(f, p.Clip(po));
            c[j] = cn;
            h[j] = og * Apply(hact, cn);
            yt[j] = h[j];
          }
        }
        // Steps past this sequence's length stay zero in Y (Tensor::Make zero-fills).
        std::copy(h.begin(), h.end(), yh + p.StateIndex(d, n));
        std::copy(c.begin(), c.end(), yc + p.StateIndex(d, n));
      }
    }
  });
  for (size_t i = 0; i < out.size() && i < outs.size(); ++i) {
    CanonicalizeNans(outs[i]);
    out[i] = std::move(outs[i]);
  }
  return Status::Ok();
}

Status RunGRU(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  ASSIGN_OR_RETURN(Rnn p, Plan(node, in, 3));
  ASSIGN_OR_RETURN(std::vector<Act> acts, Activations(node, 2));
  ASSIGN_OR_RETURN(std::vector<Tensor> outs, MakeOutputs(p, 2));
  float* y = outs[0].data<float>();
  float* yh = outs[1].data<float>();
  const int64_t H = p.hidden, I = p.input;
  bool reverse_only = node.Str("direction", "forward") == "reverse";
  bool linear_before_reset = node.Int("linear_before_reset", 0) != 0;
  ParallelFor(p.batch, ctx.threads, [&](int64_t begin, int64_t end) {
    std::vector<float> h(H), z(H), rg(H), rh(H);
    for (int64_t n = begin; n < end; ++n) {
      int64_t len = p.lens ? p.lens[n] : p.seq;
      for (int64_t d = 0; d < p.dirs; ++d) {
        bool reverse = d == 1 || reverse_only;
        Act f = acts[d * 2], g = acts[d * 2 + 1];
        const float* w = p.w + d * 3 * H * I;  // gates z, r, h
        const float* r = p.r + d * 3 * H * H;
        const float* wb = p.b ? p.b + d * 6 * H : nullptr;
        const float* rb = p.b ? wb + 3 * H : nullptr;
        for (int64_t j = 0; j < H; ++j) h[j] = p.h0 ? p.h0[p.StateIndex(d, n) + j] : 0.0f;
        for (int64_t step = 0; step < len; ++step) {
          int64_t t = reverse ? len - 1 - step : step;
          const float* xt = p.X(t, n);
          for (int64_t j = 0; j < 2 * H; ++j) {  // z then r
            float acc = Dot(0.0f, xt, w + j * I, I);
            acc = Dot(acc, h.data(), r + j * H, H);
            if (wb) acc = (acc + wb[j]) + rb[j];
            (j < H ? z[j] : rg[j - H]) = Apply(f, p.Clip(acc));
          }
          for (int64_t j = 0; j < H; ++j) rh[j] = rg[j] * h[j];  // r ⊙ h
          float* yt = y + p.YIndex(t, d, n);
          std::vector<float> hn(H);
          for (int64_t j = 0; j < H; ++j) {
            int64_t gj = 2 * H + j;
            float xpart = Dot(0.0f, xt, w + gj * I, I);
            if (wb) xpart = xpart + wb[gj];
            float pre;
            if (linear_before_reset) {
              float hpart = Dot(0.0f, h.data(), r + gj * H, H);
              if (rb) hpart = hpart + rb[gj];
              pre = xpart + rg[j] * hpart;
            } else {
              float hpart = Dot(0.0f, rh.data(), r + gj * H, H);
              if (rb) hpart = hpart + rb[gj];
              pre = xpart + hpart;
            }
            float cand = Apply(g, p.Clip(pre));
            hn[j] = (1.0f - z[j]) * cand + z[j] * h[j];
          }
          h = hn;
          std::copy(h.begin(), h.end(), yt);
        }
        std::copy(h.begin(), h.end(), yh + p.StateIndex(d, n));
      }
    }
  });
  for (size_t i = 0; i < out.size() && i < outs.size(); ++i) {
    CanonicalizeNans(outs[i]);
    out[i] = std::move(outs[i]);
  }
  return Status::Ok();
}

}  // namespace lucid::onnx::internal
