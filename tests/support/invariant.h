// INV, the invariant every reliability scenario ends with:
//   exactly one live row per source file; every row synced; Chroma holds exactly the expected
//   chunk ids, each with its row's content_hash, and nothing else; PRAGMA integrity_check and
//   the FTS5 integrity-check pass.
// Built on kb::Verify (the same check as `kbindex verify`) plus a walk of the folder.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/document_store.h"
#include "vector/vector_store.h"

namespace kb::test {

struct InvOptions {
  std::string folder;   // when set: live rows of `source` must match the files here
  std::string source = "notes";
  std::vector<std::string> include = {"*.md", "*.markdown", "*.txt"};
};

::testing::AssertionResult Invariant(DocumentStore& store, VectorStore& vectors,
                                     const std::string& collection, const InvOptions& options = {});

}  // namespace kb::test
