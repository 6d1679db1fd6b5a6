// The VectorStore contract (src/vector/vector_store.h) as one test routine, run against the
// in-memory fake in unit tests and against a real Chroma in integration tests.
#pragma once

#include <string>

#include "vector/vector_store.h"

namespace kb::test {

// Uses collections whose names start with `prefix`. Reports through gtest EXPECT/ADD_FAILURE.
void RunVectorStoreContract(VectorStore& store, const std::string& prefix);

}  // namespace kb::test
