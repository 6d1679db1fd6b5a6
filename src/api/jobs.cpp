#include "api/jobs.h"

namespace kb::api {

using json = nlohmann::json;

json JobInfo::ToJson() const {
  return json{{"id", id},
              {"kind", kind},
              {"state", state},
              {"created", FormatIsoTime(created_at)},
              {"started", started_at ? json(FormatIsoTime(*started_at)) : json(nullptr)},
              {"finished", finished_at ? json(FormatIsoTime(*finished_at)) : json(nullptr)},
              {"progress", progress},
              {"result", result},
              {"error", error.empty() ? json(nullptr) : json(error)}};
}

JobManager::JobManager(Clock* clock) : clock_(clock) {
  thread_ = std::thread([this] { Loop(); });
}

JobManager::~JobManager() { Stop(); }

std::string JobManager::Submit(const std::string& kind, const std::string& key, Fn fn) {
  std::lock_guard lock(mu_);
  for (const Queued& q : queue_) {
    if (q.key == key) return q.id;
  }
  const std::string id = "job-" + std::to_string(next_id_++);
  JobInfo info;
  info.id = id;
  info.kind = kind;
  info.state = "queued";
  info.created_at = clock_->NowMs();
  jobs_[id] = info;
  while (jobs_.size() > 200) jobs_.erase(jobs_.begin());
  queue_.push_back(Queued{id, key, std::move(fn)});
  cv_.notify_all();
  return id;
}

std::optional<JobInfo> JobManager::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

void JobManager::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    for (const Queued& q : queue_) {
      jobs_[q.id].state = "failed";
      jobs_[q.id].error = "server shutting down";
    }
    queue_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JobManager::Loop() {
  for (;;) {
    Queued job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      jobs_[job.id].state = "running";
      jobs_[job.id].started_at = clock_->NowMs();
    }
    const std::string& id = job.id;
    auto progress = [&](const json& p) {
      std::lock_guard lock(mu_);
      jobs_[id].progress = p;
    };
    Result<json> r = job.fn(progress);
    std::lock_guard lock(mu_);
    JobInfo& info = jobs_[id];
    info.finished_at = clock_->NowMs();
    if (r.ok()) {
      info.state = "succeeded";
      info.result = *r;
    } else {
      info.state = "failed";
      info.error = r.status().message();
    }
  }
}

}  // namespace kb::api
