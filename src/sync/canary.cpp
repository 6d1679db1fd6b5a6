#include "sync/canary.h"

#include <chrono>
#include <random>

#include "sync/chunk_records.h"
#include "util/clock.h"

namespace kb {
namespace {

// Distances at or below this are the same vector (float round-off in the index).
constexpr double kSameVector = 1e-4;

enum class Answer { kSelf, kMiss, kEmpty };

Result<Answer> AskSelf(VectorStore& vectors, const CollectionRef& c, const std::string& id,
                       std::span<const float> vector, int neighbours) {
  KB_ASSIGN_OR_RETURN(std::vector<QueryHit> hits, vectors.Query(c, vector, neighbours));
  if (hits.empty()) return Answer::kEmpty;
  // An identical record of another note (the same text) may legitimately come first.
  if (hits[0].id == id || hits[0].distance <= kSameVector) return Answer::kSelf;
  return Answer::kMiss;
}

}  // namespace

Result<CanaryReport> CheckIndex(SyncEngine& engine, VectorStore& vectors, const CanaryOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  CanaryReport report;
  report.checked_at_ms = Clock::Real()->NowMs();
  KB_ASSIGN_OR_RETURN(CollectionBinding bound, engine.Bound());
  const CollectionRef& c = bound.collection;
  report.collection = c.name;
  KB_ASSIGN_OR_RETURN(std::vector<float> probe, engine.EnsureProbe());
  KB_ASSIGN_OR_RETURN(report.records, vectors.Count(c));

  auto tally = [&](Answer a) {
    ++report.checked;
    if (a == Answer::kMiss) ++report.self_misses;
    if (a == Answer::kEmpty) ++report.empty_answers;
  };
  KB_ASSIGN_OR_RETURN(Answer probe_answer, AskSelf(vectors, c, kProbeId, probe, options.neighbours));
  report.probe_found = probe_answer == Answer::kSelf;
  tally(probe_answer);

  if (report.records > 1 && options.samples > 0) {
    std::mt19937_64 rng(std::random_device{}());
    std::uniform_int_distribution<int64_t> pick(0, report.records - 1);
    for (int i = 0; i < options.samples; ++i) {
      GetRequest get;
      get.limit = 1;
      get.offset = static_cast<int>(pick(rng));
      get.include_embeddings = true;
      KB_ASSIGN_OR_RETURN(GetResult got, vectors.Get(c, get));
      if (got.ids.empty() || got.embeddings.empty() || got.ids[0] == kProbeId) continue;
      KB_ASSIGN_OR_RETURN(Answer a, AskSelf(vectors, c, got.ids[0], got.embeddings[0], options.neighbours));
      tally(a);
    }
  }

  // HNSW is approximate: on near-identical notes (a template's daily notes) a healthy, freshly
  // built index misses up to a quarter of exact self-queries, and a rebuild would not change
  // that. An empty answer never happens on a healthy index; nor does a majority of misses.
  report.ok = report.empty_answers == 0 && report.self_misses * 2 <= report.checked;
  if (!report.ok) {
    report.reason = "the vector index of '" + c.name + "' does not answer: " + std::to_string(report.empty_answers) +
                    " of " + std::to_string(report.checked) + " self-queries came back empty, " +
                    std::to_string(report.self_misses) + " did not find the record itself" +
                    (report.probe_found ? "" : " (the probe record included)") +
                    "; rebuild it: kbindex reindex --rebuild (or verify --repair)";
  }
  report.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  return report;
}

}  // namespace kb
