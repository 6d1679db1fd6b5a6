// The front-ends are one use-case layer: `kbindex index DIR` and `POST /v1/index` (serve) on the
// same folder produce the same rows in SQLite and the same records in Chroma.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "sync/chunk_records.h"
#include "store/document_store.h"
#include "support/process.h"
#include "support/serve_client.h"
#include "support/temp_dir.h"
#include "support/test_chroma.h"
#include "vector/local_chroma.h"

namespace kb {
namespace {

using json = nlohmann::json;

// What a database says about each document, minus times: id -> "source|path|title|hash|status|chunks".
std::map<std::string, std::string> Rows(const std::string& db_path) {
  std::map<std::string, std::string> out;
  auto store = DocumentStore::Open(db_path);
  EXPECT_TRUE(store.ok());
  if (!store.ok()) return out;
  auto rows = (*store)->ListVectorExpectations();
  EXPECT_TRUE(rows.ok());
  for (const auto& r : *rows) {
    auto d = (*store)->Get(r.id);
    EXPECT_TRUE(d.ok() && d->has_value());
    const Document& doc = **d;
    out[r.id] = doc.source + "|" + doc.path.value_or("") + "|" + doc.title + "|" + doc.content_hash + "|" +
                SyncStatusName(doc.sync_status) + "|" + std::to_string(doc.synced_chunks) + "|" + doc.body +
                "|" + doc.metadata_json;
  }
  return out;
}

// Every record of a collection: id -> metadata + embedding.
std::map<std::string, std::string> Records(ChromaClient& chroma, const std::string& collection) {
  std::map<std::string, std::string> out;
  auto c = chroma.GetCollection(collection);
  EXPECT_TRUE(c.ok() && c->has_value()) << collection;
  if (!c.ok() || !c->has_value()) return out;
  GetRequest req;
  req.include_metadatas = true;
  req.include_embeddings = true;
  auto got = chroma.Get(**c, req);
  EXPECT_TRUE(got.ok());
  for (size_t i = 0; i < got->ids.size(); ++i) {
    if (got->ids[i] == kProbeId) continue;  // the index canary's, written when stats runs it
    std::string v = got->metadatas_json[i] + "|";
    for (float x : got->embeddings[i]) v += std::to_string(x) + ",";
    out[got->ids[i]] = v;
  }
  return out;
}

TEST(FrontEndsTest, CliIndexAndApiIndexProduceTheSameRowsAndTheSameChromaState) {
  test::TempDir dir;
  test::TestChroma chroma;
  ASSERT_TRUE(chroma.ok());
  std::filesystem::copy(std::string(KBINDEX_SOURCE_DIR) + "/examples/notes", dir / "notes",
                        std::filesystem::copy_options::recursive);

  // The CLI.
  const std::string cli_db = dir / "cli/kb.db";
  auto idx = test::Kbindex({"index", dir / "notes", "--collection", "via-cli", "--json"},
                           {{"KBINDEX_DB", cli_db}, {"KBINDEX_CHROMA_URL", chroma.url()}});
  ASSERT_EQ(idx.exit_code, 0) << idx.err;

  // The HTTP API.
  const std::string api_db = dir / "api/kb.db";
  const int port = LocalChroma::FreePort();
  const pid_t pid = test::Spawn({KBINDEX_BINARY, "serve", "--port", std::to_string(port), "--folder", dir / "notes",
                                 "--collection", "via-api", "--no-worker"},
                                {{"KBINDEX_DB", api_db}, {"KBINDEX_CHROMA_URL", chroma.url()}}, dir / "serve.log");
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(30));
  ASSERT_FALSE(test::ConnectToServe(client, dir / "api/api-token", dir / "serve.log").empty());
  auto posted = client.Post("/v1/index", "", "application/json");
  ASSERT_TRUE(posted && posted->status == 202) << (posted ? posted->body : "no answer");
  const std::string job = json::parse(posted->body)["job"];
  json state;
  for (int i = 0; i < 800; ++i) {
    state = json::parse(client.Get("/v1/jobs/" + job)->body);
    if (state["state"] == "succeeded" || state["state"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(state["state"], "succeeded") << state.dump();

  // Both report the same scan (the CLI's JSON and the job's result are one shape).
  json cli = json::parse(idx.out);
  json api = state["result"];
  for (const char* field : {"source", "files", "added", "changed", "removed", "skipped"}) {
    EXPECT_EQ(cli["scans"][0][field], api["scans"][0][field]) << field;
  }
  EXPECT_EQ(cli["sync"]["synced"], api["sync"]["synced"]);

  const auto cli_rows = Rows(cli_db), api_rows = Rows(api_db);
  EXPECT_GE(cli_rows.size(), 20u);
  EXPECT_EQ(cli_rows, api_rows);
  auto direct = chroma.Client();
  const auto cli_records = Records(*direct, "via-cli"), api_records = Records(*direct, "via-api");
  EXPECT_GE(cli_records.size(), cli_rows.size());
  EXPECT_EQ(cli_records, api_records);
}

}  // namespace
}  // namespace kb
