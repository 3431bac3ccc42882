#include "zk/field.h"

#include <vector>

namespace lucid::zk {
namespace {

// 7^((p-1)/2^32): a primitive 2^32-th root of unity, since 7 generates Fp^*.
constexpr Fp kRootOfUnity32 = Fp::FromU64(Fp::kGenerator).Pow((Fp::kModulus - 1) >> 32);
static_assert(kRootOfUnity32.value() == 1753635133440165772ULL);

void PutU64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint64_t GetU64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | in[i];
  return v;
}

template <typename F>
void BatchInverseImpl(std::span<F> values) {
  // prefix[i] = product of the non-zero values before i.
  std::vector<F> prefix(values.size());
  F acc = F::One();
  for (size_t i = 0; i < values.size(); ++i) {
    prefix[i] = acc;
    if (!values[i].IsZero()) acc *= values[i];
  }
  F inv = acc.Inverse();  // acc is a product of non-zero values: never zero
  for (size_t i = values.size(); i-- > 0;) {
    if (values[i].IsZero()) continue;
    const F v = values[i];
    values[i] = inv * prefix[i];
    inv *= v;
  }
}

}  // namespace

Fp RootOfUnity(unsigned log_order) {
  if (log_order > Fp::kTwoAdicity) return Fp::Zero();
  Fp root = kRootOfUnity32;
  for (unsigned i = log_order; i < Fp::kTwoAdicity; ++i) root = root.Square();
  return root;
}

std::array<uint8_t, Fp::kBytes> Fp::ToBytes() const {
  std::array<uint8_t, kBytes> out;
  PutU64(v_, out.data());
  return out;
}

Result<Fp> Fp::FromBytes(ByteView bytes) {
  if (bytes.size() != kBytes)
    return InvalidArgument("field element needs 8 bytes, got " + std::to_string(bytes.size()));
  const uint64_t v = GetU64(bytes.data());
  if (v >= kModulus) return InvalidArgument("non-canonical field element (>= p)");
  return Fp(v);
}

std::array<uint8_t, Fp2::kBytes> Fp2::ToBytes() const {
  std::array<uint8_t, kBytes> out;
  PutU64(c0_.value(), out.data());
  PutU64(c1_.value(), out.data() + 8);
  return out;
}

Result<Fp2> Fp2::FromBytes(ByteView bytes) {
  if (bytes.size() != kBytes)
    return InvalidArgument("extension element needs 16 bytes, got " +
                           std::to_string(bytes.size()));
  ASSIGN_OR_RETURN(Fp c0, Fp::FromBytes(bytes.subspan(0, 8)));
  ASSIGN_OR_RETURN(Fp c1, Fp::FromBytes(bytes.subspan(8, 8)));
  return Fp2(c0, c1);
}

void BatchInverse(std::span<Fp> values) { BatchInverseImpl(values); }
void BatchInverse(std::span<Fp2> values) { BatchInverseImpl(values); }

void WriteFp(codec::Writer& w, Fp x) { w.U64(x.value()); }
void WriteFp2(codec::Writer& w, Fp2 x) {
  w.U64(x.c0().value());
  w.U64(x.c1().value());
}
Result<Fp> ReadFp(codec::Reader& r) {
  ASSIGN_OR_RETURN(uint64_t v, r.U64());
  if (v >= Fp::kModulus) return InvalidArgument("non-canonical field element (>= p)");
  return Fp::FromU64(v);
}
Result<Fp2> ReadFp2(codec::Reader& r) {
  ASSIGN_OR_RETURN(Fp c0, ReadFp(r));
  ASSIGN_OR_RETURN(Fp c1, ReadFp(r));
  return Fp2(c0, c1);
}

std::string ToString(Fp x) { return std::to_string(x.value()); }
std::string ToString(Fp2 x) { return ToString(x.c0()) + " + " + ToString(x.c1()) + "*X"; }

}  // namespace lucid::zk
