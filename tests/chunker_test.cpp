#include "scan/chunker.h"

#include <gtest/gtest.h>

#include "sync/chunk_records.h"
#include "util/utf8.h"

namespace kb {
namespace {

ChunkerOptions Max(size_t n) {
  ChunkerOptions o;
  o.max_bytes = n;
  return o;
}

TEST(ChunkerTest, SplitsAtHeadingsAndKeepsTheHeadingPath) {
  std::string body(50, 'i');
  body += "\n# Setup\n";
  body.append(90, 'a');
  body += "\n## Network\n";
  body.append(90, 'b');
  body += "\n# Usage\n";
  body.append(90, 'c');
  body += "\n";
  auto chunks = ChunkDocument(body, true, Max(120));
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[0].heading, "");
  EXPECT_EQ(chunks[1].heading, "Setup");
  EXPECT_EQ(chunks[2].heading, "Setup > Network");
  EXPECT_EQ(chunks[3].heading, "Usage");
}

TEST(ChunkerTest, PacksSmallSectionsTogether) {
  auto chunks = ChunkDocument("# A\nx\n# B\ny\n# C\nz\n", true, Max(1000));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].heading, "A");
}

TEST(ChunkerTest, IgnoresHeadingsInCodeFences) {
  auto chunks = ChunkDocument("# Real\n```sh\n# comment\n" + std::string(100, 'x') + "\n```\n", true, Max(60));
  for (const auto& c : chunks) EXPECT_EQ(c.heading, "Real");
}

TEST(ChunkerTest, EveryChunkFitsAndIsValidUtf8) {
  std::string body;
  for (int i = 0; i < 300; ++i) body += "naïve café 京都 ";  // multi-byte everywhere
  body += "\n\n" + std::string(500, 'z');               // no break opportunity at all
  for (size_t max : {16, 17, 18, 50, 333}) {
    auto chunks = ChunkDocument(body, true, Max(max));
    size_t total = 0;
    for (const auto& c : chunks) {
      EXPECT_LE(c.text.size(), max);
      EXPECT_TRUE(utf8::IsValid(c.text)) << "max " << max;
      total += c.text.size();
    }
    EXPECT_GT(total, body.size() * 9 / 10) << "text lost at max " << max;
  }
}

TEST(ChunkerTest, EmptyBodyStillYieldsOneChunk) {
  EXPECT_EQ(ChunkDocument("", true, Max(100)).size(), 1u);
  EXPECT_EQ(ChunkDocument("\n\n  \n", false, Max(100)).size(), 1u);
}

TEST(ChunkerTest, NoneModeIsOneChunk) {
  ChunkerOptions o;
  o.mode = ChunkerOptions::Mode::kNone;
  auto chunks = ChunkDocument(std::string(10000, 'a'), true, o);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text.size(), 10000u);
}

TEST(ChunkIdTest, SplitsWhatChunkIdMakesAndNothingElse) {
  const std::string id = ChunkId("notes:a#b/c.md", 12);
  EXPECT_EQ(id, "notes:a#b/c.md#12");
  auto parts = SplitChunkId(id);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->first, "notes:a#b/c.md");
  EXPECT_EQ(parts->second, 12);
  for (const char* bad : {"no-hash", "x#", "x#1a", "x#-1", "x#99999999999"}) {
    EXPECT_FALSE(SplitChunkId(bad).has_value()) << bad;
  }
}

TEST(ChunkerTest, PlainTextSplitsByParagraph) {
  const std::string a(80, 'a'), b(80, 'b'), c(80, 'c');
  const std::string body = a + "\n\n" + b + "\n\n" + c;
  auto chunks = ChunkDocument(body, false, Max(100));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[1].text.substr(0, 80), b);
}

}  // namespace
}  // namespace kb
