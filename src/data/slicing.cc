#include "shardrec/data/slicing.h"

#include <algorithm>

#include "shardrec/core/error.h"

namespace shardrec {

void ValidateSliceSpec(const SliceSpec& spec) {
  if (spec.world < 1) SR_THROW() << "data: world size must be at least 1, got " << spec.world;
  if (spec.rank < 0 || spec.rank >= spec.world)
    SR_THROW() << "data: rank " << spec.rank << " is outside 0.." << spec.world - 1;
  if (spec.global_batch < 1) SR_THROW() << "data: global batch size must be at least 1";
  if (spec.global_batch % static_cast<uint64_t>(spec.world) != 0)
    SR_THROW() << "data: global batch size " << spec.global_batch << " does not divide by the " << spec.world
               << " ranks (each rank must get the same share)";
}

void ValidateHoldoutSplit(const HoldoutSplit& split) {
  if (split.part != SplitPart::kAll && split.every < 2)
    SR_THROW() << "data: eval_holdout_every must be at least 2, got " << split.every;
}

bool HoldoutSplit::Contains(uint64_t record) const {
  if (part == SplitPart::kAll) return true;
  const bool is_eval = record % every == every - 1;
  return (part == SplitPart::kEval) == is_eval;
}

uint64_t HoldoutSplit::Size(uint64_t n) const {
  switch (part) {
    case SplitPart::kAll: return n;
    case SplitPart::kEval: return n / every;
    case SplitPart::kTrain: return n - n / every;
  }
  return n;
}

uint64_t HoldoutSplit::RecordIndex(uint64_t position) const {
  switch (part) {
    case SplitPart::kAll: return position;
    case SplitPart::kEval: return position * every + every - 1;
    case SplitPart::kTrain:
      // Each run of `every` records holds every-1 train records.
      return position + position / (every - 1);
  }
  return position;
}

BatchCursor::BatchCursor(const SliceSpec& spec, uint64_t epoch_size)
    : spec_(spec), epoch_size_(epoch_size), step_(spec.start_step) {
  ValidateSliceSpec(spec);
}

bool BatchCursor::Next(uint64_t* first, uint64_t* last) {
  const uint64_t g_full = spec_.global_batch;
  const uint64_t start = step_ * g_full;
  uint64_t g = g_full;
  if (!spec_.repeat) {
    if (start >= epoch_size_) return false;
    g = std::min(g_full, epoch_size_ - start);
  }
  *first = start + SliceBegin(g, spec_.rank, spec_.world);
  *last = start + SliceBegin(g, spec_.rank + 1, spec_.world);
  ++step_;
  return true;
}

}  // namespace shardrec
