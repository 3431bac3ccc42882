#include "codec/codec.h"

#include <gtest/gtest.h>

namespace lucid::codec {
namespace {

TEST(CodecTest, RoundTripAndBigEndian) {
  Writer w;
  w.U8(1);
  w.U32(0x01020304);
  w.U64(5);
  w.Str("ab");
  w.Bool(true);
  EXPECT_EQ(ToHex(w.bytes()), "01010203040000000000000005000000026162" "01");
  Reader r(w.bytes());
  EXPECT_EQ(*r.U8(), 1);
  EXPECT_EQ(*r.U32(), 0x01020304u);
  EXPECT_EQ(*r.U64(), 5u);
  EXPECT_EQ(*r.Str(), "ab");
  EXPECT_TRUE(*r.Bool());
  EXPECT_TRUE(r.Finish().ok());
}

TEST(CodecTest, RefusesTruncatedTrailingAndHugeCounts) {
  Bytes two = {0, 0};
  Reader r(two);
  EXPECT_FALSE(r.U32().ok());
  Bytes extra = {7, 9};
  Reader r2(extra);
  ASSERT_TRUE(r2.U8().ok());
  EXPECT_FALSE(r2.Finish().ok());
  Bytes huge = {0xff, 0xff, 0xff, 0xff};
  Reader r3(huge);
  EXPECT_FALSE(r3.Count(1).ok());
  Reader r4(huge);
  EXPECT_FALSE(r4.Blob().ok());
  Bytes badbool = {2};
  Reader r5(badbool);
  EXPECT_FALSE(r5.Bool().ok());
}

}  // namespace
}  // namespace lucid::codec
