#include "shardrec/data/prefetch.h"

#include <utility>

#include "shardrec/core/error.h"

namespace shardrec {

PrefetchSource::PrefetchSource(std::unique_ptr<SampleSource> inner, size_t depth)
    : inner_(std::move(inner)),
      depth_(depth),
      num_dense_(inner_ ? inner_->num_dense() : 0),
      num_sparse_(inner_ ? inner_->num_sparse() : 0),
      cardinalities_(inner_ ? inner_->cardinalities() : std::vector<uint64_t>()) {
  SR_CHECK(inner_ != nullptr) << "PrefetchSource needs a source";
  SR_CHECK(depth_ >= 1) << "prefetch depth must be at least 1";
  stats_ = inner_->stats();
  worker_ = std::thread([this] { Run(); });
}

PrefetchSource::~PrefetchSource() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  can_produce_.notify_all();
  worker_.join();
}

void PrefetchSource::Run() {
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      can_produce_.wait(lock, [this] { return stop_ || ready_.size() < depth_; });
      if (stop_) return;
      if (!spare_.empty()) {
        item.batch = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    bool done = false;
    try {
      item.end = !inner_->Next(&item.batch);
    } catch (...) {
      item.error = std::current_exception();
    }
    done = item.end || item.error != nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_ = inner_->stats();
      ready_.push_back(std::move(item));
    }
    can_consume_.notify_one();
    if (done) return;
  }
}

bool PrefetchSource::Next(Batch* out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (finished_) {
    if (last_.error) std::rethrow_exception(last_.error);
    return false;
  }
  can_consume_.wait(lock, [this] { return !ready_.empty(); });
  Item item = std::move(ready_.front());
  ready_.pop_front();
  if (item.end || item.error) {
    finished_ = true;
    last_.end = item.end;
    last_.error = item.error;
    if (item.error) std::rethrow_exception(item.error);
    return false;
  }
  std::swap(*out, item.batch);
  spare_.push_back(std::move(item.batch));
  lock.unlock();
  can_produce_.notify_one();
  return true;
}

DataStats PrefetchSource::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace shardrec
