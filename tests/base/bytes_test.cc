#include "base/bytes.h"

#include <gtest/gtest.h>

namespace lucid {
namespace {

TEST(BytesTest, HexRoundTrip) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(ToHex(b), "0001abff");
  EXPECT_EQ(*FromHex("0x0001ABff"), b);
  EXPECT_FALSE(FromHex("abc").ok());
  EXPECT_FALSE(FromHex("zz").ok());
  EXPECT_FALSE(Hash32FromHex("00").ok());
}

}  // namespace
}  // namespace lucid
