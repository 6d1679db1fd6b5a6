#include "sync/sync_engine.h"
#include "store/meta_keys.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "sync/chunk_records.h"
#include "util/http_client.h"
#include "util/utf8.h"

namespace kb {

using json = nlohmann::json;

// ---------------------------------------------------------------- WorkFeed

void WorkFeed::Notify() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

void WorkFeed::Finish() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
}

bool WorkFeed::Done() const {
  std::lock_guard lock(mu_);
  return done_;
}

void WorkFeed::Wait(int ms) {
  std::unique_lock lock(mu_);
  const uint64_t gen = generation_;
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return done_ || generation_ != gen; });
}

// ---------------------------------------------------------------- batches

struct SyncEngine::Item {
  Document doc;
  bool tombstone = false;
  int chunks = 0;                // live: chunk count being sent
  size_t record_begin = 0;       // live: this item's records in Batch::records
  size_t record_end = 0;
  std::vector<std::string> stale_ids;  // chunk ids to delete (shrink, or all for tombstones)
  std::string notice;            // live: what the vector store does not hold of it ("" when all)
  Status status;                 // outcome so far
};

struct SyncEngine::Batch {
  std::vector<Item> items;
  std::vector<VectorRecord> records;
  size_t bytes = 0;
};

class SyncEngine::BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}
  // False when the consumer gave up (stop requested): the batch is dropped unsent.
  bool Push(std::unique_ptr<Batch> b) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < capacity_ || aborted_; });
    if (aborted_) return false;
    q_.push_back(std::move(b));
    not_empty_.notify_one();
    return true;
  }
  // Consumer side: drop queued batches and refuse new ones.
  void Abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    q_.clear();
    not_full_.notify_all();
  }
  bool aborted() {
    std::lock_guard lock(mu_);
    return aborted_;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }
  // True while the sender has nothing to send: the producer should not hold back a partial
  // batch then (Chroma would sit idle).
  bool SenderIdle() {
    std::lock_guard lock(mu_);
    return waiting_ && q_.empty();
  }
  std::unique_ptr<Batch> Pop() {
    std::unique_lock lock(mu_);
    waiting_ = true;
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    waiting_ = false;
    if (q_.empty()) return nullptr;
    auto b = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return b;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<std::unique_ptr<Batch>> q_;
  size_t capacity_;
  bool closed_ = false;
  bool aborted_ = false;
  bool waiting_ = false;
};

// ---------------------------------------------------------------- engine

// What one pass works with. `binding.collection` may be replaced by the sending thread when the
// collection vanished mid-pass; everything else is read-only once the pass starts.
struct SyncEngine::PassState {
  const PassOptions& options;
  int64_t started_ms = 0;
  CollectionBinding binding;
  bool bound = false;  // false: Chroma was unreachable at the start; batches fail fast
  // After Chroma could not be reached, the pass's next batches fail fast for a while instead of
  // each waiting for a timeout. Per pass: the next pass tries again at once. Sending thread only.
  int64_t unreachable_since_ms = 0;
  std::string unreachable_error;
};

SyncEngine::SyncEngine(DocumentStore& store, VectorStore& vectors, Embedder& embedder,
                       SyncOptions options)
    : store_(store), vectors_(vectors), default_embedder_(embedder), options_(std::move(options)) {}

SyncEngine::~SyncEngine() = default;

Status DropRetiredCollection(DocumentStore& store, VectorStore& vectors) {
  KB_ASSIGN_OR_RETURN(auto retired, store.GetMeta(meta::kCollectionToDrop));
  if (!retired) return Status::Ok();
  Status st = vectors.DeleteCollection(*retired);
  if (!st.ok() && st.code() != Status::Code::kNotFound) return st;
  return store.DeleteMeta(meta::kCollectionToDrop);
}

Status SyncEngine::Prepare() {
  std::lock_guard lock(binding_mu_);
  binding_.reset();
  auto b = BindLocked();
  return b.ok() ? Status::Ok() : b.status();
}

Result<CollectionBinding> SyncEngine::Bound() {
  std::lock_guard lock(binding_mu_);
  if (binding_ && !shadow()) {
    // Another process may have switched collections (embedder change) since we bound.
    KB_ASSIGN_OR_RETURN(CollectionMeta m, store_.ReadCollectionMeta());
    if (m.generation != binding_->generation) binding_.reset();
  }
  if (binding_) return *binding_;
  return BindLocked();
}

Result<std::vector<float>> SyncEngine::EnsureProbe() {
  KB_ASSIGN_OR_RETURN(CollectionBinding b, Bound());
  GetRequest get;
  get.ids = {kProbeId};
  get.include_embeddings = true;
  KB_ASSIGN_OR_RETURN(GetResult got, vectors_.Get(b.collection, get));
  const size_t dims = static_cast<size_t>(std::max(b.embedder->Dimensions(), 0));
  if (!got.ids.empty() && !got.embeddings.empty() && (dims == 0 || got.embeddings[0].size() == dims)) {
    return std::move(got.embeddings[0]);
  }
  const std::string_view text = kProbeText;
  KB_ASSIGN_OR_RETURN(Embeddings e, b.embedder->Embed(std::span<const std::string_view>(&text, 1)));
  VectorRecord probe;
  probe.id = kProbeId;
  const auto row = e.row(0);
  probe.embedding.assign(row.begin(), row.end());
  probe.metadata_json = R"({"kbindex_probe":true})";
  KB_RETURN_IF_ERROR(vectors_.Upsert(b.collection, std::span<const VectorRecord>(&probe, 1)));
  return std::move(probe.embedding);
}

Result<CollectionBinding> SyncEngine::BindLocked() {
  if (shadow()) {
    KB_ASSIGN_OR_RETURN(CollectionRef ref, vectors_.GetOrCreateCollection(options_.shadow_collection));
    binding_ = CollectionBinding{ref, &default_embedder_, 0};
    return *binding_;
  }
  // Read, resolve the collection over the network (no transaction open), then record in one
  // transaction that re-checks what was read; an embedder switch in between makes us start over.
  for (int attempt = 0;; ++attempt) {
    KB_ASSIGN_OR_RETURN(CollectionMeta m, store_.ReadCollectionMeta());
    Embedder* embedder = &default_embedder_;
    if (m.embedder && *m.embedder != embedder->Id()) {
      if (!options_.resolve_embedder) {
        return Status::Conflict("this database holds vectors from embedder '" + *m.embedder + "', not '" +
                                embedder->Id() +
                                "'; mixing them would corrupt semantic search. Use the same embedder, or "
                                "switch without downtime: kbindex reindex --embedder ...");
      }
      KB_ASSIGN_OR_RETURN(embedder, options_.resolve_embedder(*m.embedder));
      spdlog::info("the database uses embedder {}; following it", *m.embedder);
    }
    if (m.collection_base && *m.collection_base != options_.collection) {
      return Status::Conflict("this database syncs to Chroma collection '" + *m.collection_base + "', not '" +
                              options_.collection + "'; pass --collection " + *m.collection_base +
                              " or use a separate database (--db) for another collection");
    }
    const std::string name = m.collection.value_or(options_.collection);
    KB_ASSIGN_OR_RETURN(CollectionRef ref, vectors_.GetOrCreateCollection(name));
    CollectionBindingRecord rec;
    rec.expected_generation = m.generation;
    rec.collection = name;
    rec.collection_id = ref.id;
    rec.collection_base = options_.collection;
    rec.embedder = embedder->Id();
    rec.embedder_dims = embedder->Dimensions();
    auto forgot = store_.RecordCollectionBinding(rec);
    if (!forgot.ok() && forgot.status().code() == Status::Code::kConflict && attempt < 3) continue;
    if (!forgot.ok()) return forgot.status();
    if (*forgot) {
      spdlog::warn("Chroma collection '{}' was deleted or recreated behind kbindex's back "
                   "(its id is now {}); re-syncing every document", name, ref.id);
    }
    binding_ = CollectionBinding{ref, embedder, m.generation};
    // A collection retired by an embedder switch that could not be dropped then: try again.
    if (Status st = DropRetiredCollection(store_, vectors_); !st.ok()) {
      spdlog::debug("old collection not dropped yet: {}", st.message());
    }
    return *binding_;
  }
}

Status SyncEngine::RecoverCollection(PassState& ps) {
  if (shadow()) {
    // The collection being built vanished: nothing recorded in shadow_sync is there any more.
    KB_RETURN_IF_ERROR(store_.ClearShadow());
    KB_ASSIGN_OR_RETURN(ps.binding.collection, vectors_.GetOrCreateCollection(options_.shadow_collection));
  } else {
    KB_ASSIGN_OR_RETURN(CollectionRef ref, vectors_.GetOrCreateCollection(ps.binding.collection.name));
    if (ref.id == ps.binding.collection.id) return Status::Ok();
    spdlog::warn("Chroma collection '{}' disappeared during sync; recreated it and re-syncing every document",
                 ref.name);
    CollectionBindingRecord rec;
    rec.expected_generation = ps.binding.generation;
    rec.collection = ref.name;
    rec.collection_id = ref.id;
    rec.collection_base = options_.collection;
    rec.embedder = ps.binding.embedder->Id();
    rec.embedder_dims = ps.binding.embedder->Dimensions();
    KB_ASSIGN_OR_RETURN(bool forgot, store_.RecordCollectionBinding(rec));
    (void)forgot;
    ps.binding.collection = ref;
  }
  std::lock_guard lock(binding_mu_);
  binding_ = ps.binding;
  return Status::Ok();
}

void SyncEngine::BuildItems(Embedder& embedder, std::vector<Document>& docs, std::vector<Item>& items,
                            std::vector<std::vector<VectorRecord>>& records_of,
                            std::vector<SyncOutcome>& failed) {
  struct Pending {
    size_t item;
    std::vector<PlannedChunk> chunks;
  };
  std::vector<Pending> live;
  std::vector<std::string> texts;  // embedding inputs, in order
  for (Document& d : docs) {
    Item item;
    const int known = std::max(d.chunks_hwm, d.synced_chunks);
    if (!d.live()) {
      item.tombstone = true;
      for (int n = 0; n < known; ++n) item.stale_ids.push_back(ChunkId(d.id, n));
      item.doc = std::move(d);
      items.push_back(std::move(item));
      records_of.emplace_back();
      continue;
    }
    // Never send text Chroma would reject for the whole batch.
    std::optional<size_t> bad;
    for (const std::string* field : {&d.id, &d.title, &d.body, &d.metadata_json}) {
      if (!bad) bad = utf8::FindInvalid(*field);
    }
    if (bad) {
      failed.push_back({SyncOutcome::Kind::kFailed, d.key, d.content_hash, 0, std::nullopt,
                        "document is not valid UTF-8 (byte " + std::to_string(*bad) +
                            "); fix the text and save it again"});
      continue;
    }
    {
      Pending p;
      p.item = items.size();
      ChunkPlan plan = PlanChunks(d, options_.chunker);
      item.notice = ChunkPlanNotice(plan, options_.chunker);
      p.chunks = std::move(plan.chunks);
      item.chunks = static_cast<int>(p.chunks.size());
      for (int n = item.chunks; n < known; ++n) item.stale_ids.push_back(ChunkId(d.id, n));
      for (const PlannedChunk& c : p.chunks) texts.push_back(EmbeddingInput(d, c.chunk));
      item.doc = std::move(d);
      items.push_back(std::move(item));
      records_of.emplace_back();
      live.push_back(std::move(p));
    }
  }
  if (live.empty()) return;

  std::vector<std::string_view> views(texts.begin(), texts.end());
  auto embeddings = embedder.Embed(views);
  std::vector<std::optional<Status>> embed_error(live.size());
  std::vector<Embeddings> per_doc;
  if (!embeddings.ok() && embeddings.status().code() == Status::Code::kRemotePermanent && live.size() > 1) {
    // One text may be what the embedding server rejects: embed document by document.
    per_doc.resize(live.size());
    size_t t = 0;
    for (size_t i = 0; i < live.size(); ++i) {
      const size_t n = live[i].chunks.size();
      auto e = embedder.Embed(std::span<const std::string_view>(views).subspan(t, n));
      if (e.ok()) {
        per_doc[i] = std::move(e).value();
      } else {
        embed_error[i] = e.status();
      }
      t += n;
    }
  } else if (!embeddings.ok()) {
    for (auto& e : embed_error) e = embeddings.status();
  }
  size_t t = 0;
  for (size_t i = 0; i < live.size(); ++i) {
    Item& item = items[live[i].item];
    const size_t n = live[i].chunks.size();
    if (embed_error[i]) {
      item.status = embed_error[i]->WithContext("embedding");
      t += n;
      continue;
    }
    const std::string fm = FrontmatterFragment(item.doc.metadata_json);
    std::vector<VectorRecord>& records = records_of[live[i].item];
    records.reserve(n);
    for (size_t c = 0; c < n; ++c, ++t) {
      VectorRecord r;
      r.id = ChunkId(item.doc.id, static_cast<int>(c));
      const std::span<const float> row = per_doc.empty() ? embeddings->row(t) : per_doc[i].row(c);
      r.embedding.assign(row.begin(), row.end());
      for (float x : r.embedding) {
        if (!std::isfinite(x)) {
          item.status = Status::RemotePermanent("embedder returned a non-finite value");
          break;
        }
      }
      PlannedChunk& pc = live[i].chunks[c];
      if (options_.store_text) r.document = std::move(pc.chunk.text);
      r.metadata_json = ChunkMetadata(item.doc, pc.chunk, pc.position, fm, pc.copies);
      records.push_back(std::move(r));
    }
    if (!item.status.ok()) records.clear();
    item.doc.body.clear();  // the records hold what is needed now
    item.doc.body.shrink_to_fit();
  }
}

SyncReport SyncEngine::Run(const PassOptions& pass) {
  std::lock_guard run_lock(run_mu_);
  SyncReport report;
  PassState ps{pass, store_.clock()->NowMs()};
  if (auto id = store_.BeginSyncRun(pass.kind); id.ok()) {
    report.run_id = *id;
  } else {
    report.error = id.status();
    return report;
  }
  if (auto b = Bound(); b.ok()) {
    ps.binding = *b;
    ps.bound = true;
  } else if (b.status().IsTransient()) {
    // Documents still get their attempt recorded, failing fast with this error.
    ps.unreachable_since_ms = store_.clock()->NowMs();
    ps.unreachable_error = b.status().message();
    ps.binding.embedder = &default_embedder_;
    if (auto m = store_.ReadCollectionMeta(); m.ok()) ps.binding.generation = m->generation;
  } else {
    report.error = b.status();
    SyncRun run{report.run_id, pass.kind, ps.started_ms, std::nullopt, 0, 0, 0, 0, 0, b.status().message()};
    (void)store_.FinishSyncRun(run);
    return report;
  }

  if (!shadow()) {
    // Documents claimed by a pass that crashed are free again.
    if (auto n = store_.ReleaseDeadLeases(); n.ok() && *n > 0) {
      spdlog::info("released {} documents claimed by a process that no longer runs", *n);
    }
  }
  BatchQueue queue(1);  // one batch built ahead while one is sent
  std::mutex report_mu;
  std::thread producer([&] { Produce(ps, queue, report, report_mu); });
  while (auto batch = queue.Pop()) {
    SyncReport delta;
    Send(ps, *batch, delta);  // no lock held during network calls
    {
      std::lock_guard lock(report_mu);
      report.attempted += delta.attempted;
      report.synced += delta.synced;
      report.failed += delta.failed;
      report.deleted += delta.deleted;
      report.superseded += delta.superseded;
      report.batches += delta.batches;
      report.chunks += delta.chunks;
      report.max_batch_docs = std::max(report.max_batch_docs, delta.max_batch_docs);
      if (report.error.ok()) report.error = delta.error;
      if (pass.on_progress) pass.on_progress(report);
    }
    if (pass.stop && pass.stop->load()) {
      // Finish the batch in hand only; claimed-but-unsent rows stay pending for the next pass.
      queue.Abort();
      break;
    }
  }
  producer.join();
  if (pass.stop && pass.stop->load()) report.stopped = true;

  SyncRun run;
  run.id = report.run_id;
  run.kind = pass.kind;
  run.started_at = ps.started_ms;
  run.attempted = report.attempted;
  run.synced = report.synced;
  run.failed = report.failed;
  run.deleted = report.deleted;
  run.batches = report.batches;
  if (!report.error.ok()) run.error = report.error.message();
  if (Status st = store_.FinishSyncRun(run); !st.ok()) {
    spdlog::error("could not record the sync run: {}", st.message());
  }
  return report;
}

void SyncEngine::Produce(PassState& ps, BatchQueue& queue, SyncReport& report, std::mutex& report_mu) {
  const PassOptions& pass = ps.options;
  DueQuery q;
  q.limit = options_.page_docs;
  q.max_attempts = options_.max_attempts;
  q.include_failed = pass.include_failed;
  q.respect_backoff = pass.respect_backoff;
  q.backoff_base_ms = options_.backoff_base_ms;
  q.backoff_max_ms = options_.backoff_max_ms;
  q.attempted_before = ps.started_ms;
  const size_t max_records = options_.max_batch_records ? options_.max_batch_records
                                                        : std::max<size_t>(1, vectors_.MaxBatchSize());
  const size_t max_request = vectors_.MaxRequestBytes();
  const size_t max_bytes = std::min(options_.max_batch_bytes, max_request);
  const size_t max_docs = pass.batch_docs > 0 ? static_cast<size_t>(pass.batch_docs) : SIZE_MAX;

  auto batch = std::make_unique<Batch>();
  auto flush = [&] {
    if (batch->items.empty()) return;
    queue.Push(std::move(batch));
    batch = std::make_unique<Batch>();
  };
  auto stopping = [&] { return (pass.stop && pass.stop->load()) || queue.aborted(); };
  // `why`: the first outcome's error with its code.
  auto fail_now = [&](std::vector<SyncOutcome>& outcomes, const Status& why) {
    if (outcomes.empty()) return;
    // In shadow mode the documents' own sync state belongs to the active collection.
    auto r = shadow() ? Result<SyncApplyResult>(SyncApplyResult{static_cast<int>(0), static_cast<int>(outcomes.size())})
                      : store_.ApplySyncOutcomes(outcomes, ps.binding.generation);
    std::lock_guard lock(report_mu);
    report.attempted += static_cast<int64_t>(outcomes.size());
    if (r.ok()) report.failed += r->failed;
    if (report.error.ok()) report.error = why;
    outcomes.clear();
  };

  int64_t shadow_cursor = 0;  // shadow mode: one ascending sweep per pass
  for (;;) {
    if (stopping()) break;
    const bool feed_done_before = pass.follow == nullptr || pass.follow->Done();
    auto docs = shadow() ? store_.ShadowBehind(shadow_cursor, options_.page_docs) : store_.DueForSync(q);
    if (shadow() && docs.ok() && !docs->empty()) shadow_cursor = docs->back().key;
    if (!docs.ok()) {
      std::lock_guard lock(report_mu);
      if (report.error.ok()) report.error = docs.status();
      break;
    }
    if (docs->empty()) {
      if (feed_done_before) break;
      flush();  // do not sit on work while waiting for the scanner
      pass.follow->Wait(200);
      continue;
    }
    std::vector<Item> items;
    std::vector<std::vector<VectorRecord>> records_of;
    std::vector<SyncOutcome> invalid;
    BuildItems(*ps.binding.embedder, *docs, items, records_of, invalid);
    if (!invalid.empty()) fail_now(invalid, Status::InvalidArgument(invalid.front().error));

    // Claim the page in one short transaction before the next read, so no row is taken twice.
    std::vector<SendClaim> claims;
    claims.reserve(items.size());
    for (const Item& it : items) {
      claims.push_back(SendClaim{it.doc.key, it.doc.content_hash, it.chunks,
                                 it.tombstone ? it.doc.deleted_at : std::nullopt});
    }
    auto confirmed = shadow() ? Result<std::vector<bool>>(std::vector<bool>(claims.size(), true))
                              : store_.ClaimForSend(claims, store_.clock()->NowMs() + options_.lease_ms);
    if (!confirmed.ok()) {
      std::lock_guard lock(report_mu);
      if (report.error.ok()) report.error = confirmed.status();
      break;
    }
    std::vector<SyncOutcome> embed_failed;
    Status first_failure;
    for (size_t i = 0; i < items.size(); ++i) {
      Item& it = items[i];
      if (!(*confirmed)[i]) {  // changed since read: the next pass takes the new version
        std::lock_guard lock(report_mu);
        ++report.superseded;
        continue;
      }
      if (!it.status.ok()) {
        embed_failed.push_back({SyncOutcome::Kind::kFailed, it.doc.key, it.doc.content_hash, 0,
                                std::nullopt, it.status.message()});
        if (first_failure.ok()) first_failure = it.status;
        continue;
      }
      size_t bytes = 256;
      size_t largest = 0;
      for (const auto& r : records_of[i]) {
        const size_t b = vectors_.EstimateRecordBytes(r);
        bytes += b;
        largest = std::max(largest, b);
      }
      if (largest + 1024 > max_request) {
        // One record can never fit one request: say so rather than let the server cut us off.
        embed_failed.push_back(
            {SyncOutcome::Kind::kFailed, it.doc.key, it.doc.content_hash, 0, std::nullopt,
             "a chunk of this document is " + std::to_string(largest >> 20) +
                 " MiB, more than Chroma accepts in one request (" + std::to_string(max_request >> 20) +
                 " MiB); use --chunking markdown, a smaller --chunk-size, or no --store-text"});
        if (first_failure.ok()) first_failure = Status::InvalidArgument(embed_failed.back().error);
        continue;
      }
      for (const auto& id : it.stale_ids) bytes += id.size() + 4;
      if (!batch->items.empty() &&
          (batch->items.size() + 1 > max_docs ||
           batch->records.size() + records_of[i].size() > max_records ||
           batch->bytes + bytes > max_bytes)) {
        flush();
      }
      it.record_begin = batch->records.size();
      for (auto& r : records_of[i]) batch->records.push_back(std::move(r));
      it.record_end = batch->records.size();
      batch->bytes += bytes;
      batch->items.push_back(std::move(it));
    }
    if (!embed_failed.empty()) fail_now(embed_failed, first_failure);
    // Drained for now, or the sender is idle: send what we have rather than keep Chroma
    // waiting for a full batch (after the first page it is busy and batches fill up).
    if (docs->size() < static_cast<size_t>(options_.page_docs) || queue.SenderIdle()) flush();
  }
  if (!stopping()) flush();
  queue.Close();
}

void SyncEngine::UpsertItems(PassState& ps, Batch& batch, size_t begin, size_t end) {
  // Only live items with records take part.
  size_t rec_begin = SIZE_MAX, rec_end = 0;
  for (size_t i = begin; i < end; ++i) {
    const Item& it = batch.items[i];
    if (it.tombstone || !it.status.ok() || it.record_begin == it.record_end) continue;
    rec_begin = std::min(rec_begin, it.record_begin);
    rec_end = std::max(rec_end, it.record_end);
  }
  if (rec_begin == SIZE_MAX) return;
  std::span<const VectorRecord> records(batch.records.data() + rec_begin, rec_end - rec_begin);
  const auto t0 = std::chrono::steady_clock::now();
  Status st = vectors_.Upsert(ps.binding.collection, records);
  spdlog::debug("upsert of {} records: {} ms ({})", records.size(),
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count(),
                st.ok() ? "ok" : st.message());
  if (st.code() == Status::Code::kNotFound) {
    Status rec = RecoverCollection(ps);
    st = rec.ok() ? vectors_.Upsert(ps.binding.collection, records) : rec;
  }
  if (st.ok()) return;
  if (st.code() == Status::Code::kRemotePermanent && end - begin > 1) {
    // The server rejected the batch as a whole: find the document(s) it objects to.
    const size_t mid = begin + (end - begin) / 2;
    UpsertItems(ps, batch, begin, mid);
    UpsertItems(ps, batch, mid, end);
    return;
  }
  if (st.IsUnreachable()) {
    ps.unreachable_since_ms = store_.clock()->NowMs();
    ps.unreachable_error = st.message();
  }
  for (size_t i = begin; i < end; ++i) {
    Item& it = batch.items[i];
    if (!it.tombstone && it.status.ok()) it.status = st;
  }
}

void SyncEngine::Send(PassState& ps, Batch& batch, SyncReport& report) {
  std::vector<int64_t> keys;
  keys.reserve(batch.items.size());
  for (const Item& it : batch.items) keys.push_back(it.doc.key);
  if (options_.before_send) options_.before_send(keys);

  // Fail fast while the server is known to be unreachable; try again after a short while.
  std::optional<Status> fail_fast;
  {
    if (ps.unreachable_since_ms &&
        store_.clock()->NowMs() - ps.unreachable_since_ms < options_.unreachable_retry_ms) {
      fail_fast = Status::Unavailable(ps.unreachable_error);
    }
  }
  if (!fail_fast && !ps.bound) {
    if (auto b = Bound(); b.ok()) {
      ps.binding.collection = b->collection;
      ps.bound = b->generation == ps.binding.generation && b->embedder == ps.binding.embedder;
      if (!ps.bound) fail_fast = Status::Conflict("the active collection changed during this pass");
    } else {
      fail_fast = b.status();
    }
  }
  if (fail_fast) {
    for (Item& it : batch.items) it.status = *fail_fast;
  } else {
    UpsertItems(ps, batch, 0, batch.items.size());
    // Shrunk documents: drop chunks past the new count (after the upsert, so a document
    // never has zero chunks in the index).
    std::vector<std::string> stale;
    std::vector<size_t> stale_owner;
    for (size_t i = 0; i < batch.items.size(); ++i) {
      const Item& it = batch.items[i];
      if (it.tombstone || !it.status.ok()) continue;
      for (const auto& id : it.stale_ids) stale.push_back(id);
      if (!it.stale_ids.empty()) stale_owner.push_back(i);
    }
    std::vector<std::string> dead;
    for (const Item& it : batch.items) {
      if (it.tombstone) dead.insert(dead.end(), it.stale_ids.begin(), it.stale_ids.end());
    }
    if (!stale.empty()) {
      Status st = vectors_.Delete(ps.binding.collection, stale);
      if (!st.ok() && st.code() != Status::Code::kNotFound) {
        for (size_t i : stale_owner) batch.items[i].status = st.WithContext("deleting stale chunks");
      }
    }
    if (!dead.empty()) {
      Status st = vectors_.Delete(ps.binding.collection, dead);
      if (!st.ok() && st.code() != Status::Code::kNotFound) {
        for (Item& it : batch.items) {
          if (it.tombstone) it.status = st.WithContext("deleting chunks of a removed document");
        }
      }
    }
  }
  if (options_.before_mark) options_.before_mark(keys);

  std::vector<SyncOutcome> outcomes;
  outcomes.reserve(batch.items.size());
  int64_t chunks = 0;
  for (const Item& it : batch.items) {
    SyncOutcome o;
    o.key = it.doc.key;
    o.sent_hash = it.doc.content_hash;
    if (!it.status.ok()) {
      o.kind = SyncOutcome::Kind::kFailed;
      o.error = it.status.message();
      o.deleted_at = it.tombstone ? it.doc.deleted_at : std::nullopt;
    } else if (it.tombstone) {
      o.kind = SyncOutcome::Kind::kPurged;
      o.deleted_at = it.doc.deleted_at;
    } else {
      o.kind = SyncOutcome::Kind::kSynced;
      o.chunks = it.chunks;
      o.notice = it.notice;
      chunks += it.chunks;
    }
    outcomes.push_back(std::move(o));
  }
  Result<SyncApplyResult> applied = SyncApplyResult{};
  if (shadow()) {
    std::vector<SendClaim> sent;
    for (const SyncOutcome& o : outcomes) {
      if (o.kind == SyncOutcome::Kind::kSynced) sent.push_back({o.key, o.sent_hash, o.chunks, std::nullopt});
      if (o.kind == SyncOutcome::Kind::kFailed) ++applied->failed;
    }
    Status st = store_.RecordShadow(sent);
    if (st.ok()) {
      applied->synced = static_cast<int>(sent.size());
    } else {
      applied = st;
    }
  } else {
    applied = store_.ApplySyncOutcomes(outcomes, ps.binding.generation);
  }
  report.batches += 1;
  report.attempted += static_cast<int64_t>(batch.items.size());
  report.max_batch_docs = std::max(report.max_batch_docs, static_cast<int>(batch.items.size()));
  if (!applied.ok()) {
    // The vector store has the data; SQLite could not record it. The rows stay claimed and
    // are retried by a later pass (idempotent upserts make that safe).
    if (report.error.ok()) report.error = applied.status();
    spdlog::error("could not record sync results: {}", applied.status().message());
    return;
  }
  if (options_.after_mark) options_.after_mark(keys);
  report.synced += applied->synced;
  report.failed += applied->failed;
  report.deleted += applied->purged;
  report.superseded += applied->superseded;
  report.chunks += chunks;
  for (const Item& it : batch.items) {
    if (!it.status.ok()) {
      if (report.error.ok()) report.error = it.status;
      break;
    }
  }
}

}  // namespace kb
