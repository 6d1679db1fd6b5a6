// Keyword search whose cost is bounded by the query: kb_rank and the snippets on a huge repetitive
// note, the time budget, and readers that do not wait for a long write.
#include "store/fts_functions.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/document_store.h"
#include "store/read_admission.h"
#include "support/temp_dir.h"

namespace kb {
namespace {

TEST(SnippetWindowTest, PrefersTheWindowCoveringTheMostPhrases) {
  // phrase 0 everywhere, phrase 1 once, far away: the window around phrase 1 wins.
  std::vector<PhraseMatch> m;
  for (int i = 0; i < 50; ++i) m.push_back({0, i * 3, 1});
  m.push_back({1, 400, 1});
  m.push_back({0, 405, 1});
  std::sort(m.begin(), m.end(), [](auto& a, auto& b) { return a.offset < b.offset; });
  const int start = ChooseSnippetWindow(m, 24);
  EXPECT_LE(start, 400);
  EXPECT_GT(start + 24, 405);
  EXPECT_EQ(ChooseSnippetWindow({{0, 7, 1}}, 24), 7);
  EXPECT_EQ(ChooseSnippetWindow({}, 24), 0);
}

DocumentInput Note(const std::string& id, const std::string& body) {
  DocumentInput d;
  d.id = id;
  d.source = "api";
  d.title = id;
  d.body = body;
  d.content_hash = id + std::to_string(body.size());
  return d;
}

std::string Repeated(const std::string& word, size_t bytes) {
  std::string s;
  s.reserve(bytes + word.size());
  while (s.size() < bytes) s += word;
  return s;
}

// kb_rank is FTS5's bm25 with the matches per phrase capped and the row length taken from the
// docsize record when given: below the cap, and with every phrase counted in full, the two agree
// to the last digit. Positions past 127 and 16,383 (two- and three-byte varints), column changes
// and a phrase in both columns exercise the in-line reading of the position lists.
TEST(KbRankTest, AgreesWithFts5Bm25BelowTheCapWithOrWithoutTheDocsizeRecord) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  ASSERT_EQ(RegisterFtsFunctions(db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(title, body)", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto filler = [](int words) { return Repeated("filler ", static_cast<size_t>(words) * 7); };
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"quince jelly", "quince " + filler(200) + "jelly quince " + filler(20000) + "quince jelly"},
      {"apple", "jelly " + filler(5) + "apple jelly apple"},
      {"quince", filler(150) + "quince"},
      {"nothing here", filler(40)},
      {"jelly jelly", "jelly " + filler(300) + "quince " + filler(3) + "quince"},
  };
  sqlite3_stmt* ins = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO t(title, body) VALUES (?, ?)", -1, &ins, nullptr), SQLITE_OK);
  for (const auto& [title, body] : rows) {
    sqlite3_bind_text(ins, 1, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, body.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  for (const char* query : {"quince", "jelly", "quince AND jelly", "quince OR apple", "\"apple jelly\""}) {
    sqlite3_stmt* q = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT t.rowid, bm25(t, 5.0, 1.0), kb_rank(t, 5.0, 1.0), "
                                 "kb_rank(t, 5.0, 1.0, 1, 5, z.sz) FROM t JOIN t_docsize z ON z.id = t.rowid "
                                 "WHERE t MATCH ?",
                                 -1, &q, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_bind_text(q, 1, query, -1, SQLITE_STATIC);
    int matched = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
      ++matched;
      const double bm25 = sqlite3_column_double(q, 1);
      EXPECT_NEAR(sqlite3_column_double(q, 2), bm25, 1e-12) << query << " row " << sqlite3_column_int64(q, 0);
      EXPECT_NEAR(sqlite3_column_double(q, 3), bm25, 1e-12) << query << " row " << sqlite3_column_int64(q, 0);
    }
    EXPECT_GT(matched, 0) << query;
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
}

class HugeNoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(DocumentStore::Open(dir_ / "kb.db")).value();
    std::vector<DocumentInput> docs{Note("huge", "# Huge\n" + Repeated("word ", 10u << 20)),
                                    Note("small", "a small note with one word and a quince")};
    ASSERT_TRUE(store_->PutDocuments(docs).ok());
  }
  test::TempDir dir_;
  std::unique_ptr<DocumentStore> store_;
};

TEST_F(HugeNoteTest, KeywordSearchOnATenMegabyteRepetitiveNoteIsFastAndMarked) {
  const auto t0 = std::chrono::steady_clock::now();
  auto hits = store_->KeywordSearch("word", 10);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->size(), 2u);
  for (const auto& h : *hits) {
    EXPECT_NE(h.snippet.find("**word**"), std::string::npos) << h.id << ": " << h.snippet;
    EXPECT_LT(h.snippet.size(), 1000u);
  }
  // FTS5's snippet() took hours here, bm25() alone ~0.4 s. (Figures: tools/bench --api; this
  // bound only catches a return of the super-linear cost.)
  EXPECT_LT(ms, 2000);
  auto small = store_->KeywordSearch("quince", 10);
  ASSERT_TRUE(small.ok());
  ASSERT_EQ(small->size(), 1u);
  EXPECT_EQ((*small)[0].snippet, "a small note with one word and a **quince**");
}

TEST_F(HugeNoteTest, AQueryOverItsTimeBudgetStopsWithAClearError) {
  // A proximity query over two million positions is real work: with a 1 ms budget it is cut.
  auto r = store_->KeywordSearch("NEAR(word word word, 2)", 10, "", "**", "**", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kTimeout);
  EXPECT_NE(r.status().message().find("took longer than 1 ms"), std::string::npos) << r.status().message();
  // The connection is usable afterwards.
  EXPECT_TRUE(store_->KeywordSearch("quince", 10).ok());
}

TEST_F(HugeNoteTest, ReadersDoNotWaitForALongWrite) {
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    // Indexing another 10 MiB note takes a while (FTS5 postings for 2M tokens).
    std::vector<DocumentInput> docs{Note("second", Repeated("other ", 10u << 20))};
    EXPECT_TRUE(store_->PutDocuments(docs).ok());
    writing = false;
  });
  while (store_->Get("nothing").ok() && !writing) {}  // (the writer may not have started yet)
  int reads_during_write = 0;
  while (writing) {
    ASSERT_TRUE(store_->Ping().ok());
    ASSERT_TRUE(store_->Get("small")->has_value());
    ASSERT_TRUE(store_->KeywordSearch("quince", 5).ok());
    if (writing) ++reads_during_write;
  }
  writer.join();
  // With one connection behind one lock, every read waited for the whole write: none here.
  EXPECT_GT(reads_during_write, 3);
  EXPECT_TRUE(store_->Get("second")->has_value());  // and the write is visible to readers after
}

TEST_F(HugeNoteTest, ASlowSearchGivesUpItsTurnSoShortReadsRunBesideIt) {
  // One read at a time: a short read gets in only because the slow search's turn lapsed (much
  // of this search is FTS5 evaluating the proximity inside one step, where no progress
  // handler runs).
  StoreOptions one_at_a_time;
  one_at_a_time.concurrent_reads = 1;
  auto store = std::move(DocumentStore::Open(dir_ / "kb.db", one_at_a_time)).value();
  std::atomic<bool> searching{true};
  std::thread slow([&] {
    // A proximity query over two million positions: a few hundred milliseconds of work.
    (void)store->KeywordSearch("NEAR(word word word word word, 4)", 10, "", "**", "**", 3000);
    searching = false;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // the search is under way
  int reads_during_search = 0;
  while (searching) {
    ASSERT_TRUE(store->Get("small")->has_value());
    if (searching) ++reads_during_search;
  }
  slow.join();
  // Had it kept its turn, every read would have waited for the whole search: none here.
  EXPECT_GT(reads_during_search, 3);
}

// A phrase matched in the title and again in the body: the body's token offsets start again
// at 0 (the position list changes column), so the snippet marks the body's match, not the
// token as far along as the title's match was.
TEST(KeywordSnippetTest, MarksTheBodysMatchWhenTheTitleMatchesToo) {
  auto store = std::move(DocumentStore::Open(":memory:")).value();
  DocumentInput d = Note("n", "the orchard quince tree bears fruit");
  d.title = "Jelly and quince";
  std::vector<DocumentInput> docs{d};
  ASSERT_TRUE(store->PutDocuments(docs).ok());
  auto hits = store->KeywordSearch("quince", 5);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ(hits->at(0).snippet, "the orchard **quince** tree bears fruit");
}

// A read on another thread: waits for a turn, says it got one, hands it back.
std::thread ReadInTurn(ReadAdmission& admission, std::atomic<bool>& got_in) {
  return std::thread([&admission, &got_in] {
    const uint64_t id = admission.Enter();
    got_in = true;
    admission.Leave(id);
  });
}

TEST(ReadAdmissionTest, AReadWaitsForATurnAndGetsTheOneGivenBack) {
  ReadAdmission admission(1, std::chrono::hours(1));
  const uint64_t first = admission.Enter();
  std::atomic<bool> second_in{false};
  std::thread second = ReadInTurn(admission, second_in);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(second_in) << "two reads ran at once with one turn";
  admission.Leave(first);
  second.join();
  EXPECT_TRUE(second_in);
  // Two turns: two reads at once, without waiting.
  ReadAdmission two(2, std::chrono::hours(1));
  const uint64_t a = two.Enter();
  const uint64_t b = two.Enter();
  two.Leave(a);
  two.Leave(b);
}

TEST(ReadAdmissionTest, ATurnLapsesAfterItsHoldWhereverTheReadIs) {
  ReadAdmission admission(1, std::chrono::milliseconds(20));
  const uint64_t slow = admission.Enter();  // and never handed back in time
  std::atomic<bool> second_in{false};
  std::thread second = ReadInTurn(admission, second_in);
  second.join();  // would hang if the turn never lapsed
  EXPECT_TRUE(second_in);
  admission.Leave(slow);  // late: nothing to hand back, and no second slot appears
  ReadAdmission one(1, std::chrono::hours(1));
  const uint64_t held = one.Enter();
  one.Leave(held + 1000);  // an id that holds nothing frees nothing
  std::atomic<bool> third_in{false};
  std::thread third = ReadInTurn(one, third_in);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_in);
  one.Leave(held);
  third.join();
  EXPECT_TRUE(third_in);
}

TEST(ReadAdmissionTest, AGivenBackTurnGoesToTheLongestWaiterNotToANewcomer) {
  ReadAdmission admission(1, std::chrono::hours(1));
  uint64_t holder = admission.Enter();
  std::mutex mu;
  std::vector<std::string> order;
  std::thread waiter([&] {
    const uint64_t id = admission.Enter();
    {
      std::lock_guard lock(mu);
      order.push_back("waiter");
    }
    admission.Leave(id);
  });
  for (int i = 0; i < 500 && admission.Waiting() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(admission.Waiting(), 1);
  // The holder hands its turn back and asks again at once: it queues behind the waiter.
  admission.Leave(holder);
  holder = admission.Enter();
  {
    std::lock_guard lock(mu);
    order.push_back("newcomer");
  }
  admission.Leave(holder);
  waiter.join();
  EXPECT_EQ(order, (std::vector<std::string>{"waiter", "newcomer"}));
  EXPECT_EQ(admission.Waiting(), 0);
}

TEST(ReadOnlyStoreTest, AWriteProtectedDatabaseIsSearchableAndRefusesWritesClearly) {
  test::TempDir dir;
  {
    auto s = DocumentStore::Open(dir / "kb.db");
    ASSERT_TRUE(s.ok());
    std::vector<DocumentInput> docs{Note("n", "quince jelly")};
    ASSERT_TRUE((*s)->PutDocuments(docs).ok());
  }
  // Open it read-only at the SQLite level (root ignores file permissions; the CLI test covers
  // permissions as an unprivileged user).
  auto ro = DocumentStore::Open("file:" + (dir / "kb.db") + "?mode=ro");
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  auto hits = (*ro)->KeywordSearch("quince", 5);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  EXPECT_EQ(hits->size(), 1u);
  std::vector<DocumentInput> docs{Note("m", "more")};
  auto w = (*ro)->PutDocuments(docs);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("read-only"), std::string::npos) << w.status().message();
}

TEST(DocumentFrequencyTest, CountedBelowTheSampleAndEstimatedFromHowFarTheSampleReached) {
  // Fewer notes than the sample: the count is exact.
  EXPECT_DOUBLE_EQ(EstimateDocumentFrequency(17, 900, 1, 1000, 1000), 17.0);
  // The sample filled up by a quarter of the rowid range: four times the sample.
  const double est = EstimateDocumentFrequency(kIdfSampleRows, 250 * 1000, 1, 1000 * 1000, 1000 * 1000);
  EXPECT_NEAR(est, 4.0 * static_cast<double>(kIdfSampleRows), 1.0);
  // Never more notes than there are rows.
  EXPECT_DOUBLE_EQ(EstimateDocumentFrequency(kIdfSampleRows, kIdfSampleRows, 1, 1000 * 1000, 3000), 3000.0);
}

// Many notes share every word of a query: only the newest kMaxRankedMatches are ranked, so the
// cost does not grow with the collection, and a rarer word brings the full ranking back.
class ManyMatchesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(DocumentStore::Open(dir_ / "kb.db")).value();
    std::vector<DocumentInput> docs;
    // The oldest note is by far the best match for "common words" (in its title, repeated),
    // and the only one holding "zanzibar".
    DocumentInput best = Note("best", "common words common words common words zanzibar");
    best.title = "common words";
    docs.push_back(best);
    for (int i = 0; i < kNotes; ++i) {
      docs.push_back(Note("n" + std::to_string(i), "filler text with common and words, number " + std::to_string(i) +
                                                         " of many, and a lot more text around them"));
    }
    ASSERT_TRUE(store_->PutDocuments(docs).ok());
  }
  static constexpr int kNotes = DocumentStore::kMaxRankedMatches + 200;
  test::TempDir dir_;
  std::unique_ptr<DocumentStore> store_;
};

TEST_F(ManyMatchesTest, OnlyTheNewestMatchesAreRankedWhenEveryWordIsCommon) {
  auto hits = store_->KeywordSearch("\"common\" \"words\"", 10);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->size(), 10u);
  for (const auto& h : *hits) {
    ASSERT_NE(h.id, "best");  // older than the newest kMaxRankedMatches matches
    const int n = std::stoi(h.id.substr(1));
    EXPECT_GE(n, kNotes - DocumentStore::kMaxRankedMatches) << h.id;
    EXPECT_NE(h.snippet.find("**common**"), std::string::npos) << h.snippet;
  }
  // Ranked best first, each with its own snippet.
  for (size_t i = 1; i < hits->size(); ++i) EXPECT_GE((*hits)[i - 1].score, (*hits)[i].score);
}

TEST_F(ManyMatchesTest, ARareWordRanksEveryMatchAndFindsTheOldNote) {
  auto hits = store_->KeywordSearch("\"common\" \"words\" \"zanzibar\"", 10);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].id, "best");
  EXPECT_NE((*hits)[0].snippet.find("**zanzibar**"), std::string::npos) << (*hits)[0].snippet;
  // Either word alone: still the newest matches only, but the snippets stay in rank order.
  auto any = store_->KeywordSearch("\"zanzibar\" OR \"filler\"", 5);
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->size(), 5u);
}

}  // namespace
}  // namespace kb
