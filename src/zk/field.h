// Goldilocks prime field Fp (p = 2^64 - 2^32 + 1) and its quadratic extension
// Fp2 = Fp[X]/(X^2 - 7), the arithmetic every zk module is built on.
//
// Semantics:
// - An Fp always holds its canonical representative in [0, p); every operation returns a
//   canonical value, so == is value equality and bytes are unique per value.
// - Signed integers embed as x >= 0 -> x, x < 0 -> p - |x| (FromI64); ToSigned maps back to
//   the representative in (-p/2, p/2) (total: p is odd, so every residue has exactly one).
// - Inverse(0) is defined as 0 (it is 0^(p-2)); BatchInverse keeps zeros as zeros. Callers
//   for which a zero denominator is an error must check for it themselves.
// - Bytes: 8 bytes big-endian (the byte order of src/codec); Fp2 is c0 then c1 (16 bytes).
//   Decoders refuse non-canonical values (>= p): exactly one encoding per value.
// - Multiplicative group generator: 7 (p - 1 = 2^32 * 3 * 5 * 17 * 257 * 65537; tested).
//   The root of unity of order 2^32 is 7^((p-1)/2^32) = 1753635133440165772; RootOfUnity(k)
//   is that root squared 32 - k times, so roots of different orders are consistent:
//   RootOfUnity(k)^2 == RootOfUnity(k - 1).
// - 7 is a quadratic non-residue mod p (tested), so X^2 - 7 is irreducible and Fp2 is a
//   field of ~2^128 elements; challenges are drawn from it.
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "codec/codec.h"

// GCC at -O2 left the Fp2 product out of line inside the sumcheck loops (a call per
// product); the hot operators are forced inline so those loops stay call-free.
#define LUCID_ZK_INLINE __attribute__((always_inline))

namespace lucid::zk {

using u128 = unsigned __int128;

class Fp {
 public:
  static constexpr uint64_t kModulus = 0xFFFF'FFFF'0000'0001ULL;
  // 2^64 mod p = 2^32 - 1: the correction when a 64-bit sum or difference wraps.
  static constexpr uint64_t kEpsilon = 0xFFFF'FFFFULL;
  static constexpr unsigned kTwoAdicity = 32;
  static constexpr uint64_t kGenerator = 7;
  static constexpr size_t kBytes = 8;

  constexpr Fp() = default;
  static constexpr Fp Zero() { return Fp(); }
  static constexpr Fp One() { return Fp(1); }
  // Any 64-bit integer, reduced mod p.
  static constexpr Fp FromU64(uint64_t v) { return Fp(v >= kModulus ? v - kModulus : v); }
  // Signed embedding: negative x becomes p - |x|.
  static constexpr Fp FromI64(int64_t v) {
    if (v >= 0) return FromU64(static_cast<uint64_t>(v));
    // |v| <= 2^63 < p, computed without overflowing int64 for INT64_MIN.
    return Fp(kModulus - (~static_cast<uint64_t>(v) + 1));
  }
  // Any 128-bit integer, reduced mod p.
  static constexpr Fp FromU128(u128 v) { return Fp(Reduce128(v)); }

  constexpr uint64_t value() const { return v_; }
  constexpr bool IsZero() const { return v_ == 0; }
  // The representative in (-p/2, p/2).
  constexpr int64_t ToSigned() const {
    return v_ <= (kModulus - 1) / 2 ? static_cast<int64_t>(v_)
                                    : -static_cast<int64_t>(kModulus - v_);
  }

  LUCID_ZK_INLINE friend constexpr Fp operator+(Fp a, Fp b) {
    uint64_t s = 0;
    const bool carry = __builtin_add_overflow(a.v_, b.v_, &s);
    // On carry the true sum is s + 2^64 = s + eps (mod p) and s + eps < p: no second wrap.
    s += Mask(carry) & kEpsilon;
    return Fp(s >= kModulus ? s - kModulus : s);
  }
  LUCID_ZK_INLINE friend constexpr Fp operator-(Fp a, Fp b) {
    uint64_t d = 0;
    const bool borrow = __builtin_sub_overflow(a.v_, b.v_, &d);
    // On borrow d = a - b + 2^64; a - b + p = d - eps, which stays in [1, p).
    return Fp(d - (Mask(borrow) & kEpsilon));
  }
  constexpr Fp operator-() const { return Fp(v_ == 0 ? 0 : kModulus - v_); }
  LUCID_ZK_INLINE friend constexpr Fp operator*(Fp a, Fp b) {
    return Fp(Reduce128(static_cast<u128>(a.v_) * b.v_));
  }
  constexpr Fp& operator+=(Fp b) { return *this = *this + b; }
  constexpr Fp& operator-=(Fp b) { return *this = *this - b; }
  constexpr Fp& operator*=(Fp b) { return *this = *this * b; }
  friend constexpr bool operator==(Fp a, Fp b) { return a.v_ == b.v_; }

  // a b + c d with one reduction: the 129-bit sum's carry is 2^128 = -2^32 (mod p).
  LUCID_ZK_INLINE static constexpr Fp SumOfProducts(Fp a, Fp b, Fp c, Fp d) {
    const u128 x = static_cast<u128>(a.v_) * b.v_;
    const u128 sum = x + static_cast<u128>(c.v_) * d.v_;
    const bool carry = sum < x;
    return Fp(Reduce128(sum)) - Fp(Mask(carry) & (uint64_t{1} << 32));
  }
  // x k for a small constant k < 2^32: the product's high word is < 2^32.
  LUCID_ZK_INLINE static constexpr Fp MulSmall(Fp x, uint32_t k) {
    const u128 v = static_cast<u128>(x.v_) * k;
    const uint64_t hi = static_cast<uint64_t>(v >> 64);
    uint64_t t = 0;
    const bool carry = __builtin_add_overflow(static_cast<uint64_t>(v), (hi << 32) - hi, &t);
    t += Mask(carry) & kEpsilon;
    return Fp(t >= kModulus ? t - kModulus : t);
  }

  constexpr Fp Square() const { return *this * *this; }
  constexpr Fp Double() const { return *this + *this; }
  constexpr Fp Pow(uint64_t e) const {
    Fp base = *this, acc = One();
    while (e != 0) {
      if (e & 1) acc *= base;
      base = base.Square();
      e >>= 1;
    }
    return acc;
  }
  // x^(p-2): the inverse for x != 0, and 0 for x == 0.
  constexpr Fp Inverse() const { return Pow(kModulus - 2); }

  std::array<uint8_t, kBytes> ToBytes() const;
  // Exactly 8 bytes; refuses values >= p.
  static Result<Fp> FromBytes(ByteView bytes);

  // Reduction of a 128-bit integer x = lo + 2^64 (hi_lo + 2^32 hi_hi), using
  // 2^64 = 2^32 - 1 and 2^96 = -1 (mod p): x = lo - hi_hi + hi_lo (2^32 - 1).
  LUCID_ZK_INLINE static constexpr uint64_t Reduce128(u128 x) {
    const uint64_t lo = static_cast<uint64_t>(x);
    const uint64_t hi = static_cast<uint64_t>(x >> 64);
    const uint64_t hi_hi = hi >> 32;
    const uint64_t hi_lo = hi & kEpsilon;
    uint64_t t0 = 0;
    const bool borrow = __builtin_sub_overflow(lo, hi_hi, &t0);
    t0 -= Mask(borrow) & kEpsilon;  // t0 >= 2^64 - 2^32 + 1 on borrow: no underflow
    const uint64_t t1 = (hi_lo << 32) - hi_lo;  // hi_lo (2^32 - 1) < 2^64
    uint64_t t2 = 0;
    const bool carry = __builtin_add_overflow(t0, t1, &t2);
    t2 += Mask(carry) & kEpsilon;  // wrapped t2 < 2^64 - 2^33 + 2: no second wrap
    return t2 >= kModulus ? t2 - kModulus : t2;
  }

 private:
  // All ones when b: the carry corrections are data-dependent and ~50% likely on random
  // values, so they must not become branches.
  static constexpr uint64_t Mask(bool b) { return 0 - static_cast<uint64_t>(b); }

 public:

 private:
  explicit constexpr Fp(uint64_t canonical) : v_(canonical) {}
  uint64_t v_ = 0;
};

// Primitive root of unity of order 2^log_order (RootOfUnity(0) == 1). No such root exists
// for log_order > 32; it then returns 0, which no caller can mistake for a root.
Fp RootOfUnity(unsigned log_order);

// Quadratic extension element c0 + c1 X with X^2 = 7.
class Fp2 {
 public:
  static constexpr uint64_t kNonResidue = 7;
  static constexpr size_t kBytes = 16;

  constexpr Fp2() = default;
  constexpr Fp2(Fp c0, Fp c1) : c0_(c0), c1_(c1) {}
  // The embedding Fp -> Fp2.
  constexpr explicit Fp2(Fp c0) : c0_(c0) {}
  static constexpr Fp2 Zero() { return Fp2(); }
  static constexpr Fp2 One() { return Fp2(Fp::One()); }
  static constexpr Fp2 FromU64(uint64_t v) { return Fp2(Fp::FromU64(v)); }
  static constexpr Fp2 FromI64(int64_t v) { return Fp2(Fp::FromI64(v)); }

  constexpr Fp c0() const { return c0_; }
  constexpr Fp c1() const { return c1_; }
  constexpr bool IsZero() const { return c0_.IsZero() && c1_.IsZero(); }
  // True when the element lies in the base field (c1 == 0).
  constexpr bool IsBase() const { return c1_.IsZero(); }

  LUCID_ZK_INLINE friend constexpr Fp2 operator+(Fp2 a, Fp2 b) { return {a.c0_ + b.c0_, a.c1_ + b.c1_}; }
  LUCID_ZK_INLINE friend constexpr Fp2 operator-(Fp2 a, Fp2 b) { return {a.c0_ - b.c0_, a.c1_ - b.c1_}; }
  constexpr Fp2 operator-() const { return {-c0_, -c1_}; }
  // Schoolbook with the cross term reduced once (measured faster than Karatsuba here: a
  // reduction costs about as much as a 64x64 multiplication).
  LUCID_ZK_INLINE friend constexpr Fp2 operator*(Fp2 a, Fp2 b) {
    return {a.c0_ * b.c0_ + MulByNonResidue(a.c1_ * b.c1_),
            Fp::SumOfProducts(a.c0_, b.c1_, a.c1_, b.c0_)};
  }
  LUCID_ZK_INLINE friend constexpr Fp2 operator*(Fp2 a, Fp b) { return {a.c0_ * b, a.c1_ * b}; }
  friend constexpr Fp2 operator*(Fp a, Fp2 b) { return b * a; }
  constexpr Fp2& operator+=(Fp2 b) { return *this = *this + b; }
  constexpr Fp2& operator-=(Fp2 b) { return *this = *this - b; }
  constexpr Fp2& operator*=(Fp2 b) { return *this = *this * b; }
  constexpr Fp2& operator*=(Fp b) { return *this = *this * b; }
  friend constexpr bool operator==(Fp2 a, Fp2 b) { return a.c0_ == b.c0_ && a.c1_ == b.c1_; }

  constexpr Fp2 Square() const {
    // (c0 + c1 X)^2 = c0^2 + 7 c1^2 + 2 c0 c1 X
    const Fp cross = c0_ * c1_;
    return {c0_.Square() + MulByNonResidue(c1_.Square()), cross.Double()};
  }
  constexpr Fp2 Pow(uint64_t e) const {
    Fp2 base = *this, acc = One();
    while (e != 0) {
      if (e & 1) acc *= base;
      base = base.Square();
      e >>= 1;
    }
    return acc;
  }
  // Norm c0^2 - 7 c1^2 (in Fp); zero only for zero.
  constexpr Fp Norm() const { return c0_.Square() - MulByNonResidue(c1_.Square()); }
  // (c0 - c1 X) / Norm; Inverse(0) == 0.
  constexpr Fp2 Inverse() const {
    const Fp n_inv = Norm().Inverse();
    return {c0_ * n_inv, -(c1_ * n_inv)};
  }

  std::array<uint8_t, kBytes> ToBytes() const;
  // Exactly 16 bytes; refuses a non-canonical coordinate.
  static Result<Fp2> FromBytes(ByteView bytes);

 private:
  LUCID_ZK_INLINE static constexpr Fp MulByNonResidue(Fp x) { return Fp::MulSmall(x, kNonResidue); }
  Fp c0_, c1_;
};

// Montgomery batch inversion in place: one field inversion plus 3 multiplications per
// element. Zeros stay zero (consistent with Inverse()).
void BatchInverse(std::span<Fp> values);
void BatchInverse(std::span<Fp2> values);

// Canonical codec helpers (8 / 16 bytes, big-endian); readers refuse values >= p.
void WriteFp(codec::Writer& w, Fp x);
void WriteFp2(codec::Writer& w, Fp2 x);
Result<Fp> ReadFp(codec::Reader& r);
Result<Fp2> ReadFp2(codec::Reader& r);

std::string ToString(Fp x);   // decimal canonical value
std::string ToString(Fp2 x);  // "c0 + c1*X"

}  // namespace lucid::zk
