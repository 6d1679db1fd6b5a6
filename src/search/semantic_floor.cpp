#include "search/semantic_floor.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

namespace kb {
namespace {

// One query and one passage per topic; the topics share no subject matter. Queries are phrased
// as people type them (short), passages as notes are written (a few sentences).
struct Topic {
  const char* query;
  const char* passage;
};
constexpr Topic kTopics[] = {
    {"sourdough starter feeding schedule",
     "Feed the starter twice a day with equal weights of flour and water. A lively culture doubles within six "
     "hours at room temperature; a layer of grey liquid on top means it is hungry."},
    {"kubernetes pod keeps restarting",
     "CrashLoopBackOff means the container exits soon after it starts. Check the previous logs with kubectl, "
     "look at the exit code, and raise the memory limit if the process was OOMKilled."},
    {"tomato leaves turning yellow",
     "Early blight starts as brown rings on the lowest leaves. Remove the infected foliage, water at the base "
     "of the plant in the morning and rotate the bed every season."},
    {"how to change a bicycle inner tube",
     "Release the brake, open the quick release and lever one side of the tyre off the rim. Find the puncture, "
     "patch or replace the tube and pump it to the pressure printed on the sidewall."},
    {"mortgage interest rate fixed or variable",
     "A fixed rate keeps the monthly repayment the same for the term of the deal; a tracker follows the central "
     "bank rate. Compare the arrangement fees and the early repayment charges."},
    {"python asyncio gather tasks",
     "Coroutines run concurrently on one event loop. Create tasks for the requests and await them together; "
     "a semaphore limits how many connections are open at once."},
    {"symptoms of dehydration in children",
     "Watch for a dry mouth, fewer wet nappies, sunken eyes and unusual sleepiness. Offer small sips of an oral "
     "rehydration solution often and call a doctor if the child cannot keep fluids down."},
    {"packing list for a winter hiking trip",
     "Layer a merino base, a fleece and a waterproof shell. Bring spare gloves, a head torch, a map and compass, "
     "crampons for icy paths and a flask of something hot."},
    {"git undo last commit",
     "Reset the branch to the parent commit and keep the changes in the working tree, or revert it with a new "
     "commit when the history has already been pushed to others."},
    {"renaissance painting techniques",
     "Painters built up thin glazes of oil over a monochrome underpainting. Linear perspective, a single "
     "vanishing point and chiaroscuro gave the panels their depth."},
    {"home wifi keeps dropping",
     "Move the router away from the microwave, pick a less crowded channel, update the firmware and split the "
     "2.4 GHz and 5 GHz networks so devices stop roaming between them."},
    {"learning japanese kanji",
     "Study radicals first, then characters by frequency. Spaced repetition flashcards with example words help "
     "more than writing each character a hundred times."},
    {"car battery dead in the cold",
     "Low temperatures slow the chemical reaction in a lead-acid battery. Jump start it with cables, drive for "
     "half an hour, and test the alternator output if it keeps going flat."},
    {"meeting notes quarterly budget review",
     "Finance presented the spend against forecast. Travel was over by twelve percent; the team agreed to "
     "freeze hiring until the next review and to renegotiate the cloud contract."},
    {"roman empire fall causes",
     "Historians point to overextended frontiers, currency debasement, plague, civil wars between generals and "
     "pressure from migrating peoples along the Rhine and Danube."},
    {"guitar chord progressions for beginners",
     "Start with G, C and D in open position. Practise switching between two chords slowly with a metronome, "
     "then strum the whole progression in steady quarter notes."},
};
constexpr double kMargin = 0.02;

double Cosine(std::span<const float> a, std::span<const float> b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0;
}

}  // namespace

Result<FloorCalibration> CalibrateFloor(Embedder& embedder) {
  constexpr size_t n = std::size(kTopics);
  std::vector<std::string_view> texts;
  for (const Topic& t : kTopics) texts.emplace_back(t.query);
  for (const Topic& t : kTopics) texts.emplace_back(t.passage);
  KB_ASSIGN_OR_RETURN(Embeddings e, embedder.Embed(texts));
  FloorCalibration c;
  c.embedder = embedder.Id();
  c.unrelated_max = -1;
  std::vector<double> related;
  for (size_t q = 0; q < n; ++q) {
    for (size_t p = 0; p < n; ++p) {
      const double sim = Cosine(e.row(q), e.row(n + p));
      if (p == q) {
        related.push_back(sim);
      } else {
        c.unrelated_max = std::max(c.unrelated_max, sim);
        ++c.pairs;
      }
    }
  }
  std::sort(related.begin(), related.end());
  c.related_median = related[related.size() / 2];
  c.floor = std::clamp(c.unrelated_max + kMargin, 0.0, 0.95);
  return c;
}

std::string FloorToJson(const FloorCalibration& c) {
  return nlohmann::json{{"embedder", c.embedder},
                        {"floor", c.floor},
                        {"unrelated_max", c.unrelated_max},
                        {"related_median", c.related_median},
                        {"pairs", c.pairs}}
      .dump();
}

std::optional<FloorCalibration> FloorFromJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("embedder") || !j["embedder"].is_string() || !j.contains("floor") ||
      !j["floor"].is_number()) {
    return std::nullopt;
  }
  FloorCalibration c;
  c.embedder = j["embedder"].get<std::string>();
  c.floor = j["floor"].get<double>();
  c.unrelated_max = j.value("unrelated_max", 0.0);
  c.related_median = j.value("related_median", 0.0);
  c.pairs = j.value("pairs", 0);
  return c;
}

}  // namespace kb
