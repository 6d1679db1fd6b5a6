// The similarity floor of hybrid search: how similar a semantic-only hit (one keyword search did
// not find) must be to the query to be shown at all. Nearest neighbours always exist, related or
// not; without a floor hybrid search appends notes that share nothing with the query.
//
// The floor depends on the embedder (a lexical hash embedder and a neural model put unrelated
// texts at very different similarities), so it is calibrated per embedder, on a fixed set of
// short queries and passages on unrelated topics shipped with kbindex: the floor is the highest
// similarity any query reaches with a passage on another topic, plus a small margin. It is
// stored in the meta table with the embedder's id and recalibrated when the embedder changes.
#pragma once

#include <string>

#include "embed/embedder.h"

namespace kb {

struct FloorCalibration {
  std::string embedder;       // Embedder::Id()
  double floor = 0;           // the floor: unrelated_max + margin
  double unrelated_max = 0;   // highest query ↔ other-topic passage similarity
  double related_median = 0;  // median query ↔ own-topic passage similarity (for the record)
  int pairs = 0;              // unrelated pairs measured
};

// Embeds the calibration set with `embedder` and measures it.
Result<FloorCalibration> CalibrateFloor(Embedder& embedder);

std::string FloorToJson(const FloorCalibration& c);
// nullopt when `json` is not a calibration record.
std::optional<FloorCalibration> FloorFromJson(const std::string& json);

}  // namespace kb
