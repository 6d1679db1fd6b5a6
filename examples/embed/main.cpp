// kbindex-embed: a small program built against the *installed* kbindex library, to show what
// an application (a desktop app, a script host) does with it.
//
//   kbindex-embed DATABASE FOLDER QUERY...
//
// Opens (or creates) DATABASE, indexes the notes in FOLDER, searches for QUERY and prints the
// hits, then the stats. With no Chroma URL configured, kbindex starts its managed local Chroma
// server on first use and stops it when the Database is destroyed; set KBINDEX_CHROMA_URL to
// use your own server instead.
//
// The library reports errors as values: every call returns a kbindex::Status or a
// kbindex::Result<T>, and nothing throws. Exit status: 0 ok, 1 an error (printed with its
// Status message), 2 usage.
#include <kbindex/kbindex.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

namespace {

int Fail(const char* what, const kbindex::Status& status) {
  std::fprintf(stderr, "kbindex-embed: %s failed: %s\n", what, status.ToString().c_str());
  return 1;
}

// Progress lines on stderr: one when a phase starts, then at most four a second. The callback
// runs on kbindex's threads (the scan and the sync run concurrently), hence the mutex, and it
// must not call back into the Database.
class ProgressPrinter {
 public:
  void operator()(const kbindex::IndexProgress& p) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (p.phase == phase_ && now - last_ < std::chrono::milliseconds(250)) return;
    phase_ = p.phase;
    last_ = now;
    if (p.phase == "scan") {
      std::fprintf(stderr, "  scanning %s: %lld files, %lld written\n", p.folder.c_str(),
                   static_cast<long long>(p.files), static_cast<long long>(p.written));
    } else {
      std::fprintf(stderr, "  syncing to Chroma: %lld synced, %lld failed\n",
                   static_cast<long long>(p.sync.synced), static_cast<long long>(p.sync.failed));
    }
  }

 private:
  std::mutex mu_;
  std::string phase_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DATABASE FOLDER QUERY...\n", argv[0]);
    return 2;
  }
  std::string query = argv[3];
  for (int i = 4; i < argc; ++i) query += std::string(" ") + argv[i];

  // 1. Options: the defaults (kbindex/options.h), then KBINDEX_* environment variables (say,
  //    KBINDEX_CHROMA_URL), then what this program decides. LoadOptions() would also read the
  //    user's config file, as the kbindex command does.
  kbindex::Options options;
  if (kbindex::Status st = kbindex::ApplyEnvironment(options); !st.ok()) return Fail("reading the environment", st);
  options.db_path = argv[1];

  // 2. Open: creates the database (and its folder) or migrates it. Chroma is not contacted yet.
  kbindex::Result<std::unique_ptr<kbindex::Database>> opened = kbindex::Database::Open(options);
  if (!opened.ok()) return Fail("opening the database", opened.status());
  std::unique_ptr<kbindex::Database> db = std::move(opened).value();
  std::printf("kbindex %s, database %s\n", kbindex::Version(), db->options().db_path.c_str());

  // 3. Index the folder: changed files go to SQLite (keyword-searchable at once), and are synced
  //    to Chroma while the scan runs. A Chroma that cannot be reached is not an error of the
  //    call: the notes wait as pending and the report says why (sync_status).
  std::printf("indexing %s\n", argv[2]);
  ProgressPrinter progress;
  kbindex::IndexRequest request;
  request.folders = {argv[2]};
  request.on_progress = [&progress](const kbindex::IndexProgress& p) { progress(p); };
  kbindex::Result<kbindex::IndexReport> indexed = db->IndexFolders(request);
  if (!indexed.ok()) return Fail("indexing", indexed.status());
  int exit_code = 0;
  for (const kbindex::FolderReport& f : indexed->folders) {
    if (!f.status.ok()) {
      exit_code = Fail(("indexing " + f.folder).c_str(), f.status);
      continue;
    }
    std::printf("indexed %s as source '%s': %lld files, %lld new, %lld changed, %lld removed, %zu skipped\n",
                f.root.c_str(), f.source.c_str(), static_cast<long long>(f.files),
                static_cast<long long>(f.added), static_cast<long long>(f.changed),
                static_cast<long long>(f.removed), f.skipped.size());
  }
  if (indexed->sync) {
    std::printf("synced %lld documents to Chroma (%lld chunks), %lld failed\n",
                static_cast<long long>(indexed->sync->synced), static_cast<long long>(indexed->sync->chunks),
                static_cast<long long>(indexed->sync->failed));
  }
  if (!indexed->sync_status.ok()) exit_code = Fail("syncing to Chroma", indexed->sync_status);

  // 4. Search: hybrid (keyword + semantic, fused) when Chroma answers, keyword otherwise.
  kbindex::SearchRequest search;
  search.query = query;
  search.k = 5;
  kbindex::Result<kbindex::SearchResults> results = db->Search(search);
  if (!results.ok()) return Fail("searching", results.status());
  std::printf("search \"%s\" (%s%s): %zu hits\n", query.c_str(), kbindex::SearchModeName(results->mode),
              results->degraded ? ", degraded: keyword only" : "", results->hits.size());
  int rank = 0;
  for (const kbindex::SearchHit& hit : results->hits) {
    std::printf("  %d. %s  \"%s\"  score %.4f  keyword #%d, semantic #%d\n", ++rank, hit.id.c_str(),
                hit.title.c_str(), hit.score, hit.keyword_rank, hit.semantic_rank);
  }

  // 5. Stats: counts by sync state, the embedder, and whether Chroma answers.
  kbindex::Result<kbindex::Stats> stats = db->GetStats();
  if (!stats.ok()) return Fail("reading the stats", stats.status());
  std::printf("documents: %lld\n", static_cast<long long>(stats->documents));
  std::printf("synced: %lld, pending: %lld, failed: %lld\n", static_cast<long long>(stats->synced),
              static_cast<long long>(stats->pending), static_cast<long long>(stats->failed));
  std::printf("embedder: %s, collection: %s\n", stats->embedder.c_str(), stats->collection.c_str());
  if (stats->chroma && stats->chroma->reachable) {
    std::printf("chroma: reachable at %s, %lld records\n", stats->chroma->url.c_str(),
                static_cast<long long>(stats->chroma->count.value_or(0)));
  } else {
    std::printf("chroma: not reachable%s%s\n", stats->chroma ? ": " : "",
                stats->chroma ? stats->chroma->error.c_str() : "");
  }

  // 6. Destroying the Database stops the managed Chroma server (when this was its last user).
  db.reset();
  return exit_code;
}
