#include "tensor/tensor.h"

#include <gtest/gtest.h>

#include <cstring>

namespace lucid {
namespace {

Tensor Floats(std::vector<int64_t> shape, std::vector<float> values) {
  Bytes b(values.size() * 4);
  std::memcpy(b.data(), values.data(), b.size());
  return *Tensor::FromBytes(DType::kFloat32, std::move(shape), std::move(b));
}

TEST(TensorTest, MakeValidatesShape) {
  EXPECT_TRUE(Tensor::Make(DType::kFloat32, {2, 3}).ok());
  EXPECT_EQ(Tensor::Make(DType::kFloat32, {2, 3})->bytes().size(), 24u);
  EXPECT_EQ(Tensor::Make(DType::kFloat32, {})->num_elements(), 1u);
  EXPECT_EQ(Tensor::Make(DType::kInt64, {0, 5})->bytes().size(), 0u);
  auto neg = Tensor::Make(DType::kFloat32, {2, -1});
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.status().message().find("negative"), std::string::npos);
  EXPECT_EQ(Tensor::Make(DType::kFloat32, {1, 1, 1, 1, 1, 1, 1, 1, 1}).status().code(), Code::kOutOfRange);
  EXPECT_EQ(Tensor::Make(DType::kFloat32, {1 << 20, 1 << 20}).status().code(), Code::kOutOfRange);
  // A product that would overflow 64 bits is refused, not wrapped.
  EXPECT_FALSE(Tensor::Make(DType::kFloat32, {1ll << 40, 1ll << 40, 0}).ok());
  EXPECT_FALSE(Tensor::Make(static_cast<DType>(4), {1}).ok());
}

TEST(TensorTest, FromBytesChecksSizeAndBools) {
  EXPECT_FALSE(Tensor::FromBytes(DType::kFloat32, {2}, Bytes(7)).ok());
  EXPECT_TRUE(Tensor::FromBytes(DType::kFloat32, {2}, Bytes(8)).ok());
  EXPECT_TRUE(Tensor::FromBytes(DType::kBool, {2}, Bytes{0, 1}).ok());
  EXPECT_FALSE(Tensor::FromBytes(DType::kBool, {2}, Bytes{0, 2}).ok());
}

TEST(TensorTest, CanonicalBytesLayout) {
  Tensor t = Floats({1, 2}, {1.0f, -2.0f});
  EXPECT_EQ(ToHex(t.CanonicalBytes()),
            "01"                  // version
            "01"                  // float32
            "02"                  // rank
            "0000000000000001"    // dim 0, big-endian
            "0000000000000002"    // dim 1
            "0000803f" "000000c0" // 1.0f, -2.0f little-endian
  );
  // sha256 of the bytes above (checked with Python's hashlib).
  EXPECT_EQ(ToHex(t.Hash()), "8895e9a6da68ebdf2893185c29a9c0aa2b9647e951bdfa1fb4caccef5c783e8a");
}

TEST(TensorTest, CanonicalRoundTripAndRefusals) {
  Tensor t = Floats({3}, {0.5f, 1.5f, -0.0f});
  Bytes c = t.CanonicalBytes();
  auto back = Tensor::FromCanonicalBytes(c);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, t);

  Bytes trailing = c;
  trailing.push_back(0);
  EXPECT_FALSE(Tensor::FromCanonicalBytes(trailing).ok());
  Bytes short_data(c.begin(), c.end() - 1);
  EXPECT_FALSE(Tensor::FromCanonicalBytes(short_data).ok());
  Bytes bad_version = c;
  bad_version[0] = 2;
  EXPECT_FALSE(Tensor::FromCanonicalBytes(bad_version).ok());
  Bytes bad_dtype = c;
  bad_dtype[1] = 4;
  EXPECT_FALSE(Tensor::FromCanonicalBytes(bad_dtype).ok());
  Bytes bad_rank = c;
  bad_rank[2] = 9;
  EXPECT_FALSE(Tensor::FromCanonicalBytes(bad_rank).ok());
  Bytes huge_dim = c;
  huge_dim[3] = 0x80;  // dim with the top bit set
  EXPECT_FALSE(Tensor::FromCanonicalBytes(huge_dim).ok());

  Tensor flags = *Tensor::FromBytes(DType::kBool, {2}, Bytes{1, 0});
  Bytes fc = flags.CanonicalBytes();
  EXPECT_TRUE(Tensor::FromCanonicalBytes(fc).ok());
  fc.back() = 2;
  EXPECT_FALSE(Tensor::FromCanonicalBytes(fc).ok());
}

TEST(TensorTest, HashChangesWithAnyByte) {
  Tensor t = Floats({2}, {1.0f, 2.0f});
  Tensor u = t;
  u.mutable_bytes()[0] ^= 1;
  EXPECT_NE(t.Hash(), u.Hash());
  Tensor reshaped = Floats({2, 1}, {1.0f, 2.0f});
  EXPECT_NE(t.Hash(), reshaped.Hash());
}

TEST(TensorTest, TensorMapEncodeDecode) {
  TensorMap m;
  m["b"] = Floats({1}, {2.0f});
  m["a"] = *Tensor::FromBytes(DType::kInt64, {1}, Bytes(8, 0));
  Bytes enc = EncodeTensorMap(m);
  // Version, count 2, then "a" first (name order).
  EXPECT_EQ(ToHex(ByteView(enc).first(10)), "01" "00000002" "00000001" "61");
  auto back = DecodeTensorMap(enc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, m);
  EXPECT_EQ(HashTensorMap(m), HashTensorMap(*back));

  TensorMap m2 = m;
  m2["b"].mutable_bytes()[3] ^= 0x80;
  EXPECT_NE(HashTensorMap(m), HashTensorMap(m2));

  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeTensorMap(trailing).ok());
  Bytes truncated(enc.begin(), enc.end() - 1);
  EXPECT_FALSE(DecodeTensorMap(truncated).ok());
}

TEST(TensorTest, TensorMapDecodeRefusesUnsortedAndDuplicates) {
  auto encode_names = [](std::vector<std::string> names) {
    Bytes out = {1, 0, 0, 0, static_cast<uint8_t>(names.size())};
    Bytes t = Tensor::Scalar(1.0f).CanonicalBytes();
    for (const auto& n : names) {
      Bytes len = {0, 0, 0, static_cast<uint8_t>(n.size())};
      out.insert(out.end(), len.begin(), len.end());
      out.insert(out.end(), n.begin(), n.end());
      Bytes tlen = {0, 0, 0, static_cast<uint8_t>(t.size())};
      out.insert(out.end(), tlen.begin(), tlen.end());
      out.insert(out.end(), t.begin(), t.end());
    }
    return out;
  };
  EXPECT_TRUE(DecodeTensorMap(encode_names({"a", "b"})).ok());
  auto unsorted = DecodeTensorMap(encode_names({"b", "a"}));
  ASSERT_FALSE(unsorted.ok());
  EXPECT_NE(unsorted.status().message().find("sorted"), std::string::npos);
  EXPECT_FALSE(DecodeTensorMap(encode_names({"a", "a"})).ok());
}

TEST(TensorTest, DTypeNames) {
  for (const char* n : {"float32", "int64", "int32", "int8", "uint8", "bool"}) {
    auto t = DTypeFromName(n);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(DTypeName(*t), n);
  }
  EXPECT_FALSE(DTypeFromName("float64").ok());
  EXPECT_EQ(*DTypeFromOnnx(7), DType::kInt64);
  EXPECT_EQ(DTypeFromOnnx(11).status().code(), Code::kUnimplemented);  // double
}

}  // namespace
}  // namespace lucid
