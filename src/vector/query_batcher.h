// QueryBatcher: nearest-neighbour queries that arrive together go to the vector store together.
//
// A Chroma 1.0 query costs the server about 3.5 ms of CPU, and about 1.5 ms of it is the
// request itself (its threads handing the request to each other), not the search. Under
// concurrent searches that overhead is most of what the server does. So at most
// `max_in_flight` requests are out at once, and the queries that arrive meanwhile wait and go
// out as one request (one `QueryMany`) as soon as a request returns. A query that finds a
// request free goes out at once: a lone search waits for nothing.
//
// Queries are grouped only with others for the same collection, number of results and filter.
// A failed request fails every query it carried (each caller then decides about retrying).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "vector/vector_store.h"

namespace kb {

class QueryBatcher {
 public:
  explicit QueryBatcher(VectorStore& store, int max_in_flight = 2, size_t max_batch = 16);
  QueryBatcher(const QueryBatcher&) = delete;
  QueryBatcher& operator=(const QueryBatcher&) = delete;

  // As VectorStore::Query.
  Result<std::vector<QueryHit>> Query(const CollectionRef& c, std::span<const float> embedding, int n_results,
                                      const std::string& where_json = "");

  // Requests sent so far, and the queries they carried (for tests and the benchmark).
  struct Counts {
    int64_t requests = 0;
    int64_t queries = 0;
  };
  Counts counts();
  // Queries waiting to be sent (for tests).
  size_t waiting();

 private:
  struct Waiting;
  // Takes `first` and the waiting queries like it (up to max_batch_), in arrival order.
  std::vector<Waiting*> TakeBatch(Waiting* first);
  void Send(std::vector<Waiting*>& batch);

  VectorStore& store_;
  const int max_in_flight_;
  const size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::list<Waiting*> waiting_;  // not yet sent, oldest first
  int in_flight_ = 0;
  Counts counts_;
};

}  // namespace kb
