#include "util/utf8.h"

#include <gtest/gtest.h>

namespace kb {
namespace {

TEST(Utf8Test, ValidatesPerRfc3629) {
  EXPECT_TRUE(utf8::IsValid(""));
  EXPECT_TRUE(utf8::IsValid("plain ascii text that is longer than eight bytes"));
  EXPECT_TRUE(utf8::IsValid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82"));
  EXPECT_EQ(utf8::FindInvalid("ab\xff"), 2u);
  EXPECT_EQ(utf8::FindInvalid("\xc0\xaf"), 0u);          // overlong
  EXPECT_EQ(utf8::FindInvalid("\xed\xa0\x80"), 0u);      // surrogate
  EXPECT_EQ(utf8::FindInvalid("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(utf8::FindInvalid("abc\xe2\x82"), 3u);       // truncated
}

TEST(Utf8Test, BoundaryNeverSplitsASequence) {
  const std::string s = "a\xe2\x82\xac" "b";  // a € b
  EXPECT_EQ(utf8::BoundaryAtOrBefore(s, 0), 0u);
  EXPECT_EQ(utf8::BoundaryAtOrBefore(s, 1), 1u);
  EXPECT_EQ(utf8::BoundaryAtOrBefore(s, 2), 1u);
  EXPECT_EQ(utf8::BoundaryAtOrBefore(s, 3), 1u);
  EXPECT_EQ(utf8::BoundaryAtOrBefore(s, 4), 4u);
  EXPECT_EQ(utf8::BoundaryAtOrBefore(s, 99), s.size());
}

TEST(Utf8Test, SanitizeReplacesBadBytes) {
  EXPECT_EQ(utf8::Sanitize("a\xff" "b"), "a\xEF\xBF\xBD" "b");
}

}  // namespace
}  // namespace kb
