// Internals of llm/engine.cc exposed for tests: the own double-precision sin/cos/log used
// for RoPE, the RoPE angle table, and the sampler (docs/llm.md, "Forward pass", "Sampling").
#pragma once

#include <cstdint>
#include <vector>

#include "llm/engine.h"

namespace lucid::llm::internal {

// Fixed range reduction (Cody-Waite, pi/2 in three parts) and fdlibm's kernel polynomials
// evaluated in a fixed order without FMA: the same bits on every machine. |x| < 2^20.
double SinDouble(double x);
double CosDouble(double x);
double LogDouble(double x);  // x > 0, finite

// ggml's RoPE angles for one position: theta_i = pos · theta_scale^i (float, multiplied in
// order as ggml_rope_cache_init does), theta_scale = freq_base^(-2/n_rot) rounded to float,
// divided by freq_factors[i] when given (rope_freqs.weight), times freq_scale; cos/sin
// rounded to float. Writes n_rot/2 pairs (cos, sin).
float RopeThetaScale(float freq_base, int32_t n_rot);
void RopeAngles(int32_t pos, float theta_scale, float freq_scale, int32_t n_rot, float* cos_sin,
                const float* freq_factors = nullptr);

// xoshiro256** seeded by splitmix64 (Vigna); Uniform() = top 24 bits / 2^24, in [0, 1).
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  float Uniform();

 private:
  uint64_t s_[4];
};

// One token from logits (modified in place) as SamplingParams ask, in llama.cpp's order:
// repetition penalty over `history` (the last repeat_last_n ids), then greedy argmax
// (temperature 0; lowest id on ties) or top-k, top-p, min-p, temperature and a draw.
int32_t SampleToken(std::vector<float>& logits, const SamplingParams& params, const std::vector<int32_t>& history,
                    Rng& rng);

}  // namespace lucid::llm::internal
