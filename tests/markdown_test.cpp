#include "scan/markdown.h"

#include <gtest/gtest.h>

namespace kb {
namespace {

TEST(MarkdownTest, TitlePrecedence) {
  EXPECT_EQ(ParseNote("---\ntitle: From FM\n---\n# H1\n", "x.md", true).title, "From FM");
  EXPECT_EQ(ParseNote("intro\n## Second level\ntext", "x.md", true).title, "Second level");
  EXPECT_EQ(ParseNote("no heading here", "my note.md", true).title, "my note");
  EXPECT_EQ(ParseNote("# looks like heading", "plain.txt", false).title, "plain");
}

TEST(MarkdownTest, MarkdownIsDecidedByExtension) {
  EXPECT_TRUE(IsMarkdownPath("a/b/Note.MD"));
  EXPECT_TRUE(IsMarkdownPath("x.markdown"));
  EXPECT_TRUE(IsMarkdownPath("x.mdx"));
  EXPECT_FALSE(IsMarkdownPath("x.txt"));
  EXPECT_FALSE(IsMarkdownPath("x.org"));
  EXPECT_FALSE(IsMarkdownPath("md"));
  EXPECT_FALSE(IsMarkdownPath("notes.md/readme"));
}

TEST(MarkdownTest, HeadingsInsideCodeFencesAreIgnored) {
  EXPECT_EQ(FirstHeading("```\n# not a heading\n```\n# Real ##\n"), "Real");
  EXPECT_EQ(FirstHeading("#hashtag\n    # indented code\n"), "");
}

TEST(MarkdownTest, FrontmatterBecomesJsonMetadata) {
  auto n = ParseNote("---\ntags: [a, b]\ndraft: true\nrating: 4.5\ncount: 7\nquoted: \"7\"\n"
                     "nested: {k: v}\n---\nbody\n",
                     "x.md", true);
  EXPECT_EQ(n.body, "body\n");
  EXPECT_TRUE(n.frontmatter_error.empty());
  EXPECT_NE(n.metadata_json.find("\"tags\":[\"a\",\"b\"]"), std::string::npos) << n.metadata_json;
  EXPECT_NE(n.metadata_json.find("\"draft\":true"), std::string::npos);
  EXPECT_NE(n.metadata_json.find("\"rating\":4.5"), std::string::npos);
  EXPECT_NE(n.metadata_json.find("\"count\":7"), std::string::npos);
  EXPECT_NE(n.metadata_json.find("\"quoted\":\"7\""), std::string::npos);
}

TEST(MarkdownTest, BrokenFrontmatterKeepsWholeTextSearchable) {
  auto n = ParseNote("---\ntitle: [unclosed\n---\nbody words\n", "x.md", true);
  EXPECT_FALSE(n.frontmatter_error.empty());
  EXPECT_NE(n.body.find("body words"), std::string::npos);
  EXPECT_EQ(n.metadata_json, "{}");
  // Unterminated block: not frontmatter at all.
  auto u = ParseNote("---\ntitle: x\nno end", "y.md", true);
  EXPECT_EQ(u.title, "y");
  EXPECT_TRUE(u.frontmatter_error.empty());
}

}  // namespace
}  // namespace kb
