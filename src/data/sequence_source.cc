#include "shardrec/data/sequence_source.h"

#include <algorithm>
#include <utility>

#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"

namespace shardrec {
namespace {

// Checked before the cursor is built from it: the number of users.
uint64_t CheckDataset(const std::shared_ptr<const SequenceDataset>& dataset, uint32_t max_len, const char* what) {
  if (dataset == nullptr) SR_THROW() << "data: " << what << " source needs a dataset, got none";
  if (dataset->users.empty()) SR_THROW() << "data: " << what << " source needs at least one user, the dataset has none";
  if (max_len < 1) SR_THROW() << "data: " << what << " source: max_len must be at least 1";
  for (const UserHistory& u : dataset->users) {
    if (u.items.size() < kMinLeaveOneOutLength) {
      SR_THROW() << "data: " << what << " source: user " << u.user << " has " << u.items.size()
                 << " items; leave-one-out needs at least " << kMinLeaveOneOutLength
                 << " (training, validation and test items): read the data with min_length >= "
                 << kMinLeaveOneOutLength;
    }
    if (u.timestamps.size() != u.items.size()) {
      SR_THROW() << "data: " << what << " source: user " << u.user << " has " << u.items.size() << " items but "
                 << u.timestamps.size() << " timestamps";
    }
  }
  return dataset->users.size();
}

SliceSpec CheckRepeat(const SliceSpec& spec, bool repeat, const char* what) {
  if (spec.repeat != repeat) {
    SR_THROW() << "data: the " << what << " stream " << (repeat ? "repeats" : "ends")
               << ", but its SliceSpec has repeat = " << (spec.repeat ? "true" : "false");
  }
  return spec;
}

void FillOrder(uint64_t num_users, uint64_t seed, uint64_t epoch, std::vector<uint64_t>* order) {
  order->resize(num_users);
  for (uint64_t i = 0; i < num_users; ++i) (*order)[i] = i;
  CounterRng rng(seed, kSequenceEpochStream, epoch);
  for (uint64_t i = num_users; i > 1; --i) std::swap((*order)[i - 1], (*order)[rng.Below(i)]);
}

void ResetBatch(SequenceBatch* b) {
  b->batch_size = 0;
  b->first_sample = 0;
  b->offsets.clear();
  b->offsets.push_back(0);
  b->items.clear();
  b->timestamps.clear();
  b->targets.clear();
  b->labels.clear();
  b->users.clear();
  b->seen_offsets.clear();
  b->seen_offsets.push_back(0);
  b->seen.clear();
}

}  // namespace

std::vector<uint64_t> SequenceEpochOrder(uint64_t num_users, uint64_t seed, uint64_t epoch) {
  std::vector<uint64_t> order;
  FillOrder(num_users, seed, epoch, &order);
  return order;
}

// ---------------------------------------------------------------------------

SequenceTrainSource::SequenceTrainSource(std::shared_ptr<const SequenceDataset> dataset, uint32_t max_len,
                                         const SliceSpec& spec, uint64_t seed)
    : dataset_(std::move(dataset)),
      max_len_(max_len),
      seed_(seed),
      cursor_(CheckRepeat(spec, true, "training"), CheckDataset(dataset_, max_len, "training")) {}

void SequenceTrainSource::Next(SequenceBatch* out) {
  uint64_t first = 0;
  uint64_t last = 0;
  cursor_.Next(&first, &last);  // a repeating cursor always has a next batch
  ResetBatch(out);
  const uint64_t num_users = dataset_->users.size();
  for (uint64_t p = first; p < last; ++p) {
    const uint64_t epoch = p / num_users;
    if (epoch != order_epoch_) {
      FillOrder(num_users, seed_, epoch, &order_);
      order_epoch_ = epoch;
    }
    const UserHistory& u = dataset_->users[order_[p % num_users]];
    // Keep the last max_len + 1 items of the training sequence: max_len tokens,
    // each with the following item as its target.
    const size_t train_len = u.items.size() - 2;
    const size_t keep = std::min<size_t>(train_len, size_t{max_len_} + 1);
    const size_t begin = train_len - keep;
    if (keep == 1) {
      out->items.push_back(u.items[begin]);
      out->timestamps.push_back(u.timestamps[begin]);
      out->targets.push_back(0);
    } else {
      out->items.insert(out->items.end(), u.items.begin() + begin, u.items.begin() + train_len - 1);
      out->timestamps.insert(out->timestamps.end(), u.timestamps.begin() + begin, u.timestamps.begin() + train_len - 1);
      out->targets.insert(out->targets.end(), u.items.begin() + begin + 1, u.items.begin() + train_len);
    }
    out->offsets.push_back(static_cast<int64_t>(out->items.size()));
    out->users.push_back(u.user);
  }
  out->batch_size = static_cast<int64_t>(last - first);
  out->first_sample = static_cast<int64_t>(first);
}

// ---------------------------------------------------------------------------

SequenceEvalSource::SequenceEvalSource(std::shared_ptr<const SequenceDataset> dataset, SequenceSplit split,
                                       uint32_t max_len, const SliceSpec& spec)
    : dataset_(std::move(dataset)),
      split_(split),
      max_len_(max_len),
      global_batch_(spec.global_batch),
      cursor_(CheckRepeat(spec, false, SequenceSplitName(split)),
              CheckDataset(dataset_, max_len, SequenceSplitName(split))) {}

uint64_t SequenceEvalSource::num_steps() const {
  const uint64_t u = dataset_->users.size();
  return (u + global_batch_ - 1) / global_batch_;
}

bool SequenceEvalSource::Next(SequenceBatch* out) {
  uint64_t first = 0;
  uint64_t last = 0;
  if (!cursor_.Next(&first, &last)) return false;
  ResetBatch(out);
  for (uint64_t p = first; p < last; ++p) {
    const UserHistory& u = dataset_->users[p];
    const size_t history = HistoryLength(u, split_);
    const size_t begin = history - std::min<size_t>(history, max_len_);
    out->items.insert(out->items.end(), u.items.begin() + begin, u.items.begin() + history);
    out->timestamps.insert(out->timestamps.end(), u.timestamps.begin() + begin, u.timestamps.begin() + history);
    out->offsets.push_back(static_cast<int64_t>(out->items.size()));
    out->labels.push_back(u.items[history]);
    out->seen.insert(out->seen.end(), u.items.begin(), u.items.begin() + history);
    out->seen_offsets.push_back(static_cast<int64_t>(out->seen.size()));
    out->users.push_back(u.user);
  }
  out->batch_size = static_cast<int64_t>(last - first);
  out->first_sample = static_cast<int64_t>(first);
  return true;
}

}  // namespace shardrec
