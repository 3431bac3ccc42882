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

TEST(UrlEncodeTest, KeepsUnreservedAndEscapesTheRest) {
  EXPECT_EQ(UrlEncode("name with spaces"), "name%20with%20spaces");
  EXPECT_EQ(UrlEncode("a-Z_0.9~"), "a-Z_0.9~");
  EXPECT_EQ(UrlEncode("digits@1.0/?&="), "digits%401.0%2F%3F%26%3D");
  EXPECT_EQ(UrlEncode(std::string("\xff\x00", 2)), "%FF%00");
  EXPECT_EQ(UrlEncode(""), "");
}

}  // namespace
}  // namespace lucid
