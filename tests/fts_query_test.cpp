#include "search/fts_query.h"

#include <gtest/gtest.h>

#include "search/searcher.h"
#include "store/document_store.h"

namespace kb {
namespace {

TEST(FtsQueryTest, QuotesEveryWord) {
  EXPECT_EQ(*BuildFtsQuery("hello world"), "\"hello\" \"world\"");
  EXPECT_EQ(*BuildFtsQuery("hello world", FtsJoin::kAny), "\"hello\" OR \"world\"");
  EXPECT_EQ(*BuildFtsQuery("say \"hi\""), "\"say\" \"\"\"hi\"\"\"");
  EXPECT_EQ(*BuildFtsQuery("pre*"), "\"pre\"*");
  EXPECT_EQ(*BuildFtsQuery("  "), "");
  EXPECT_EQ(*BuildFtsQuery("\" - * ( )"), "");
}

TEST(FtsQueryTest, RejectsInvalidUtf8) {
  auto r = BuildFtsQuery("caf\xe9");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

// An in-memory store holding one API note.
std::unique_ptr<DocumentStore> StoreWithNote(const std::string& title, const std::string& body) {
  auto store = DocumentStore::Open(":memory:");
  EXPECT_TRUE(store.ok());
  DocumentInput d;
  d.id = "api:x";
  d.source = "api";
  d.title = title;
  d.body = body;
  d.content_hash = "h";
  std::vector<DocumentInput> docs{d};
  EXPECT_TRUE((*store)->PutDocuments(docs).ok());
  return std::move(store).value();
}

class HostileQueryTest : public ::testing::TestWithParam<const char*> {};

// Every hostile query runs against a real FTS5 table without a syntax error.
TEST_P(HostileQueryTest, NeverRaisesFtsSyntaxError) {
  auto store = StoreWithNote("NEAR the AND operator",
                             "quotes \"inside\" text, minus-signs and stars* (parens) col:on ^caret");
  Searcher searcher(*store, nullptr);
  SearchRequest req;
  req.query = GetParam();
  auto r = searcher.Search(req);
  ASSERT_TRUE(r.ok()) << GetParam() << ": " << r.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, HostileQueryTest,
    ::testing::Values("\"unbalanced", "unbalanced\"", "\"\"\"", "-minus", "minus-signs", "*",
                      "star*", "**", "NEAR", "NEAR(a b)", "NEAR/3", "AND", "OR NOT", "a AND",
                      "(parens", "parens)", "col:on", "title:NEAR", "^caret", "{a b}", "a + b",
                      "\\", "'", "%", "\t\n", "éé ünïcödé", "🙂", "a\"b\"c", "x*y", "\"*\"",
                      "- * \" ( ) : ^"));

// Found by fts_query_fuzz: FTS5 stops reading a string at NUL, so a NUL inside a word left a
// quote unterminated ("unterminated string" reached the user).
TEST(FtsQueryTest, ControlCharactersSeparateWordsAndNeverBreakQuoting) {
  auto store = StoreWithNote("caret", "title b");
  const std::string hostile("title:\0\0\0\0/3 ^caret \1\0 b}", 25);
  auto q = BuildFtsQuery(hostile);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->find('\0'), std::string::npos);
  Searcher searcher(*store, nullptr);
  SearchRequest req;
  req.query = hostile;
  auto r = searcher.Search(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->hits.size(), 1u);
}

TEST(FtsQueryTest, FindsTextWithPunctuationAndFallsBackToAnyWord) {
  auto store = StoreWithNote("Rust notes", "the borrow-checker explained");
  Searcher searcher(*store, nullptr);
  SearchRequest req;
  req.query = "borrow-checker";
  EXPECT_EQ(searcher.Search(req)->hits.size(), 1u);
  req.query = "borrow zebra";  // no document has both words
  EXPECT_EQ(searcher.Search(req)->hits.size(), 1u);
  req.query = "borr*";
  EXPECT_EQ(searcher.Search(req)->hits.size(), 1u);
  req.query = "\"unbalanced";
  req.raw = true;
  auto r = searcher.Search(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace kb
