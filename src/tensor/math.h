// Lucid's own float32 transcendental functions: the canonical exp, log, tanh, erf and
// sigmoid used by every float kernel. Each is computed in IEEE double with a fixed range
// reduction and a fixed polynomial evaluated in a fixed order (no FMA, no libm calls),
// then rounded once to float32, so the bits are the same on every conforming machine.
// Measured accuracy against std:: double versions: see tests/tensor/math_test.cc and
// docs/formats/onnx-semantics.md (at most 1 ulp). Thread-safety: pure functions.
#pragma once

#include <cstddef>

namespace lucid::math {

float Exp(float x);      // e^x; +inf above ~88.72, +0 below ~-103.97
float Log(float x);      // natural log; -inf at ±0, NaN below 0
float Tanh(float x);     // odd; ±1 beyond |x| ≥ 10
float Erf(float x);      // odd; ±1 beyond |x| ≥ 4
float Sigmoid(float x);  // 1 / (1 + e^-x)

// values[i] = Exp(values[i]) for every i, bit for bit, vectorised where the CPU allows.
void ExpArray(float* values, size_t count);
void ExpArrayScalar(float* values, size_t count);  // the reference ExpArray must match (tests)

// Double-precision building blocks (same determinism rules), exposed for tests.
double ExpDouble(double x);    // valid for |x| ≤ 708
double Expm1Double(double x);  // e^x - 1 without cancellation near 0; |x| ≤ 708

}  // namespace lucid::math
