#include "support/invariant.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "scan/scanner.h"
#include "sync/verifier.h"

namespace kb::test {

namespace fs = std::filesystem;

::testing::AssertionResult Invariant(DocumentStore& store, VectorStore& vectors,
                                     const std::string& collection, const InvOptions& options) {
  std::ostringstream problems;
  if (Status st = store.CheckIntegrity(); !st.ok()) problems << "integrity: " << st.message() << "\n";

  if (!options.folder.empty()) {
    std::set<std::string> files;
    for (auto it = fs::recursive_directory_iterator(options.folder,
                                                    fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it) {
      const std::string name = it->path().filename().string();
      if (name[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file()) continue;
      const std::string rel = fs::relative(it->path(), options.folder).string();
      for (const auto& p : options.include) {
        if (MatchesGlob(p, rel)) {
          files.insert(rel);
          break;
        }
      }
    }
    auto states = store.LoadFileStates(options.source);
    if (!states.ok()) return ::testing::AssertionFailure() << states.status().ToString();
    std::set<std::string> live;
    for (const auto& s : *states) {
      if (s.live && !live.insert(s.path).second) problems << "duplicate live row: " << s.path << "\n";
    }
    for (const auto& f : files) {
      if (!live.count(f)) problems << "file without a live row: " << f << "\n";
    }
    for (const auto& l : live) {
      if (!files.count(l)) problems << "live row without a file: " << l << "\n";
    }
  }

  auto coll = vectors.GetCollection(collection);
  if (!coll.ok()) return ::testing::AssertionFailure() << "Chroma: " << coll.status().ToString();
  if (!coll->has_value()) return ::testing::AssertionFailure() << "no collection " << collection;
  auto report = Verify(store, vectors, **coll);
  if (!report.ok()) return ::testing::AssertionFailure() << "verify: " << report.status().ToString();
  const VerifyReport& r = *report;
  if (r.unsynced_rows) problems << r.unsynced_rows << " rows not synced\n";
  if (!r.missing.empty()) problems << r.missing.size() << " missing chunks, e.g. " << r.missing[0] << "\n";
  if (!r.stale.empty()) problems << r.stale.size() << " chunks with a stale hash, e.g. " << r.stale[0] << "\n";
  if (!r.orphans.empty()) problems << r.orphans.size() << " orphan chunks, e.g. " << r.orphans[0] << "\n";
  if (r.expected_chunks != r.vector_chunks) {
    problems << "Chroma holds " << r.vector_chunks << " chunks, SQLite expects " << r.expected_chunks << "\n";
  }
  const std::string p = problems.str();
  if (!p.empty()) return ::testing::AssertionFailure() << "INV violated:\n" << p;
  return ::testing::AssertionSuccess();
}

}  // namespace kb::test
