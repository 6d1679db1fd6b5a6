// Every sync path against a real Chroma server.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "integration/harness.h"
#include "search/searcher.h"
#include "support/vector_store_contract.h"

namespace kb {
namespace {

using json = nlohmann::json;
using test::FaultProxy;
using test::Harness;

TEST(ChromaContractTest, RealChromaHonoursTheVectorStoreContract) {
  test::TestChroma chroma;
  ASSERT_TRUE(chroma.ok());
  auto client = chroma.Client();
  test::RunVectorStoreContract(*client, "real");
  auto version = client->Version();
  ASSERT_TRUE(version.ok());
  EXPECT_FALSE(version->empty());
}

TEST(SyncIntegrationTest, IndexFolderSyncsEveryDocumentAndChunk) {
  Harness h;
  ASSERT_TRUE(h.ready());
  h.options.store_text = true;
  h.WriteNotes(30, 3);
  h.Write("tagged.md", "---\ntitle: Tagged\ntags: [x, y]\nrating: 5\n---\nSome text about lanterns.\n");
  h.Scan();
  SyncReport r = h.Sync();
  EXPECT_EQ(r.synced, 31);
  EXPECT_EQ(r.failed, 0);
  int64_t expected = 0;
  for (int i = 0; i < 30; ++i) expected += h.Get("n" + std::to_string(i) + ".md").synced_chunks;
  expected += h.Get("tagged.md").synced_chunks;
  EXPECT_EQ(h.Get("n0.md").synced_chunks, 3);
  EXPECT_EQ(h.ChromaCount(), expected);
  // One chunk read back: its text and metadata.
  GetRequest get;
  get.ids = {"notes:tagged.md#0"};
  get.include_documents = true;
  get.include_metadatas = true;
  auto got = h.direct->Get(h.Collection(), get);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->ids.size(), 1u);
  EXPECT_NE(got->documents[0].value_or("").find("lanterns"), std::string::npos);
  auto meta = json::parse(got->metadatas_json[0]);
  EXPECT_EQ(meta["doc_id"], "notes:tagged.md");
  EXPECT_EQ(meta["title"], "Tagged");
  EXPECT_EQ(meta["tags"], "x, y");
  EXPECT_EQ(meta["rating"], 5);
  EXPECT_EQ(meta["content_hash"], h.Get("tagged.md").content_hash);
  EXPECT_TRUE(h.Inv());
}

TEST(SyncIntegrationTest, EditShrinkDeleteAndUnchangedRerun) {
  Harness h(/*with_proxy=*/true);
  ASSERT_TRUE(h.ready());
  h.WriteNotes(5, 4);
  h.Scan();
  ASSERT_EQ(h.Sync().synced, 5);
  ASSERT_EQ(h.ChromaCount(), 20);

  // Edit: chunks carry the new hash.
  h.Write("n1.md", Harness::Note("Note 1", 4, "edited"));
  h.Scan();
  ASSERT_EQ(h.Sync().synced, 1);
  GetRequest get;
  get.where_json = R"({"doc_id":"notes:n1.md"})";
  get.include_metadatas = true;
  auto got = h.direct->Get(h.Collection(), get);
  ASSERT_EQ(got->ids.size(), static_cast<size_t>(h.Get("n1.md").synced_chunks));
  for (const auto& m : got->metadatas_json) EXPECT_EQ(json::parse(m)["content_hash"], h.Get("n1.md").content_hash);

  // Shrink: stale chunks are gone.
  h.Write("n2.md", Harness::Note("Note 2", 1));
  h.Scan();
  h.Sync();
  get.where_json = R"({"doc_id":"notes:n2.md"})";
  EXPECT_EQ(h.direct->Get(h.Collection(), get)->ids.size(), 1u);

  // Delete: chunks gone, row purged.
  std::filesystem::remove(h.notes + "/n3.md");
  h.Scan();
  SyncReport del = h.Sync();
  EXPECT_EQ(del.deleted, 1);
  get.where_json = R"({"doc_id":"notes:n3.md"})";
  EXPECT_TRUE(h.direct->Get(h.Collection(), get)->ids.empty());
  EXPECT_FALSE(h.store->Get("notes:n3.md")->has_value());
  EXPECT_TRUE(h.Inv());

  // Unchanged re-run: not one request reaches Chroma.
  const int before = h.proxy->Requests();
  h.Scan();
  SyncReport again = h.Sync();
  EXPECT_EQ(again.attempted, 0);
  EXPECT_EQ(h.proxy->Requests(), before);
}

TEST(SyncIntegrationTest, ChromaNotRunningFailsReadablyAndSyncsLater) {
  Harness h;
  ASSERT_TRUE(h.ready());
  h.chroma.server().Stop();
  h.WriteNotes(20, 2);
  h.Scan();
  SyncReport r = h.Sync();
  EXPECT_EQ(r.failed, 20);
  EXPECT_EQ(r.synced, 0);
  Document d = h.Get("n7.md");
  EXPECT_EQ(d.sync_status, SyncStatus::kFailed);
  EXPECT_EQ(d.sync_attempts, 1);
  EXPECT_NE(d.sync_error.value_or("").find("not reachable"), std::string::npos) << d.sync_error.value_or("");
  // Keyword search still works; nothing was lost.
  Searcher searcher(*h.store, nullptr);
  SearchRequest req;
  req.query = "Note 7";
  auto found = searcher.Search(req);
  ASSERT_TRUE(found.ok());
  ASSERT_FALSE(found->hits.empty());
  EXPECT_EQ(found->hits[0].id, "notes:n7.md");
  EXPECT_EQ(h.store->Stats(3)->live, 20);

  ASSERT_TRUE(h.chroma.server().Restart().ok());
  h.ResetEngine();
  SyncReport later = h.Sync();
  EXPECT_EQ(later.synced, 20);
  EXPECT_TRUE(h.Inv());
}

TEST(SyncIntegrationTest, ChromaStoppedMidRunFailsTheRestAndRecovers) {
  Harness h;
  ASSERT_TRUE(h.ready());
  h.options.max_batch_records = 10;
  h.WriteNotes(60, 1);
  h.Scan();
  int batches = 0;
  h.options.before_send = [&](const std::vector<int64_t>&) {
    if (++batches == 3) h.chroma.server().Kill();  // kill -9 in the middle of the run
  };
  SyncReport r = h.Sync();
  EXPECT_EQ(r.synced, 20);
  EXPECT_EQ(r.failed, 40);
  EXPECT_EQ(h.store->Stats(3)->failed, 40);
  ASSERT_TRUE(h.chroma.server().Restart().ok());
  h.options.before_send = nullptr;
  h.ResetEngine();
  SyncReport later = h.Sync();
  EXPECT_EQ(later.synced, 40);
  EXPECT_TRUE(h.Inv());
}

TEST(SyncIntegrationTest, DocumentEditedBetweenEmbedAndMarkIsNotMarkedWithTheOldHash) {
  Harness h;
  ASSERT_TRUE(h.ready());
  h.WriteNotes(3, 2);
  h.Scan();
  const std::string sent_hash = h.Get("n1.md").content_hash;
  bool edited = false;
  h.options.before_mark = [&](const std::vector<int64_t>&) {
    if (edited) return;
    edited = true;
    // The reply is in; before kbindex records it, the user saves a new version.
    h.Write("n1.md", Harness::Note("Note 1", 2, "racing-edit"));
    h.Scan();
  };
  SyncReport r = h.Sync();
  EXPECT_EQ(r.superseded, 1);
  Document d = h.Get("n1.md");
  EXPECT_NE(d.content_hash, sent_hash);
  EXPECT_NE(d.body.find("racing-edit"), std::string::npos);
  if (d.sync_status == SyncStatus::kSynced) {
    EXPECT_EQ(d.synced_hash.value_or(""), d.content_hash);
  }
  h.options.before_mark = nullptr;
  h.ResetEngine();
  h.Sync();
  EXPECT_EQ(h.Get("n1.md").sync_status, SyncStatus::kSynced);
  EXPECT_TRUE(h.Inv());
}

TEST(SyncIntegrationTest, A500OrADroppedConnectionFailsOnlyThatBatch) {
  for (FaultProxy::Fault fault : {FaultProxy::Fault::kReturn500, FaultProxy::Fault::kReset}) {
    Harness h(/*with_proxy=*/true);
    ASSERT_TRUE(h.ready());
    h.options.max_batch_records = 10;
    h.WriteNotes(40, 1);
    h.Scan();
    ASSERT_TRUE(h.Engine().Prepare().ok());
    h.proxy->Inject(fault, 1, "/upsert");
    SyncReport r = h.Sync();
    EXPECT_EQ(h.proxy->FaultsApplied(), 1);
    EXPECT_EQ(r.batches, 4);
    EXPECT_EQ(r.failed, 10) << "fault " << static_cast<int>(fault);
    EXPECT_EQ(r.synced, 30);
    auto failures = h.store->ListFailed(100);
    ASSERT_EQ(failures->size(), 10u);
    const std::string err = (*failures)[0].sync_error.value_or("");
    if (fault == FaultProxy::Fault::kReturn500) {
      EXPECT_NE(err.find("HTTP 500"), std::string::npos) << err;
      EXPECT_NE(err.find("injected 500"), std::string::npos) << err;  // the server's own message
    } else {
      EXPECT_NE(err.find("connection"), std::string::npos) << err;
    }
    h.ResetEngine();
    EXPECT_EQ(h.Sync().synced, 10);
    EXPECT_TRUE(h.Inv());
  }
}

TEST(SyncIntegrationTest, HostileDocumentsInABatchOfFiftyFailAloneWithAReason) {
  Harness h;
  ASSERT_TRUE(h.ready());
  h.options.store_text = true;
  h.options.chunker.mode = ChunkerOptions::Mode::kNone;  // one chunk per document
  h.WriteNotes(48, 1);
  h.Scan();
  // Rows that only a buggy client or a damaged file could produce: not valid UTF-8, and one
  // chunk larger than Chroma's 40 MiB request limit.
  DocumentInput bad;
  bad.id = "api:not-utf8";
  bad.source = "api";
  bad.title = "bad";
  bad.body = std::string("broken \xc3\x28 text");
  bad.content_hash = "bad-1";
  DocumentInput huge;
  huge.id = "api:huge";
  huge.source = "api";
  huge.title = "huge";
  huge.body.assign(45u << 20, 'x');
  huge.content_hash = "huge-1";
  std::vector<DocumentInput> v{bad, huge};
  ASSERT_TRUE(h.store->PutDocuments(v).ok());
  PassOptions pass;
  pass.batch_docs = 50;
  SyncReport r = h.Sync(pass);
  EXPECT_EQ(r.synced, 48);
  EXPECT_EQ(r.failed, 2);
  auto b = **h.store->Get("api:not-utf8");
  EXPECT_EQ(b.sync_status, SyncStatus::kFailed);
  EXPECT_NE(b.sync_error.value_or("").find("UTF-8"), std::string::npos);
  auto g = **h.store->Get("api:huge");
  EXPECT_EQ(g.sync_status, SyncStatus::kFailed);
  EXPECT_NE(g.sync_error.value_or("").find("more than Chroma accepts"), std::string::npos)
      << g.sync_error.value_or("");
  EXPECT_EQ(h.ChromaCount(), 48);
}

}  // namespace
}  // namespace kb
