#include "vector/query_batcher.h"

#include <algorithm>
#include <optional>

namespace kb {

struct QueryBatcher::Waiting {
  const CollectionRef* collection;
  std::span<const float> embedding;
  int n_results;
  const std::string* where;
  bool sent = false;
  bool done = false;
  std::optional<Result<std::vector<QueryHit>>> result;

  bool SameRequestAs(const Waiting& o) const {
    return collection->id == o.collection->id && n_results == o.n_results && *where == *o.where;
  }
};

QueryBatcher::QueryBatcher(VectorStore& store, int max_in_flight, size_t max_batch)
    : store_(store), max_in_flight_(std::max(1, max_in_flight)), max_batch_(std::max<size_t>(1, max_batch)) {}

Result<std::vector<QueryHit>> QueryBatcher::Query(const CollectionRef& c, std::span<const float> embedding,
                                                  int n_results, const std::string& where_json) {
  Waiting me{&c, embedding, n_results, &where_json};
  std::unique_lock lock(mu_);
  waiting_.push_back(&me);
  while (!me.done) {
    // Still waiting and a request is free: send it, with whatever waits alongside.
    if (!me.sent && in_flight_ < max_in_flight_) {
      std::vector<Waiting*> batch = TakeBatch(&me);
      ++in_flight_;
      counts_.requests += 1;
      counts_.queries += static_cast<int64_t>(batch.size());
      lock.unlock();
      try {
        Send(batch);  // no lock held across the network call
      } catch (const std::exception& e) {  // every query it carried still gets an answer
        for (Waiting* w : batch) w->result = Status::Internal(std::string("vector query: ") + e.what());
      }
      lock.lock();
      --in_flight_;
      for (Waiting* w : batch) w->done = true;
      cv_.notify_all();  // the queries answered, and the ones that may now go
    } else {
      cv_.wait(lock);
    }
  }
  return std::move(*me.result);
}

std::vector<QueryBatcher::Waiting*> QueryBatcher::TakeBatch(Waiting* first) {
  std::vector<Waiting*> batch{first};
  first->sent = true;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    Waiting* w = *it;
    if (w == first || (batch.size() < max_batch_ && w->SameRequestAs(*first))) {
      if (w != first) batch.push_back(w);
      w->sent = true;
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

void QueryBatcher::Send(std::vector<Waiting*>& batch) {
  Waiting& lead = *batch.front();
  if (batch.size() == 1) {
    lead.result = store_.Query(*lead.collection, lead.embedding, lead.n_results, *lead.where);
    return;
  }
  std::vector<std::span<const float>> embeddings;
  embeddings.reserve(batch.size());
  for (Waiting* w : batch) embeddings.push_back(w->embedding);
  auto lists = store_.QueryMany(*lead.collection, embeddings, lead.n_results, *lead.where);
  if (lists.ok() && lists->size() != batch.size()) {
    lists = Status::RemoteTransient("vector store: " + std::to_string(lists->size()) + " result lists for " +
                                    std::to_string(batch.size()) + " queries");
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!lists.ok()) {
      batch[i]->result = lists.status();
    } else {
      batch[i]->result = std::move((*lists)[i]);
    }
  }
}

QueryBatcher::Counts QueryBatcher::counts() {
  std::lock_guard lock(mu_);
  return counts_;
}

size_t QueryBatcher::waiting() {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

}  // namespace kb
