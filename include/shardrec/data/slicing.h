// How every source walks its stream: which global batch comes next, which part
// of it belongs to this rank, and which records form the train or the eval part
// of a holdout split. Kept in one place so TSV, binary and synthetic sources
// slice identically (the union of rank slices never depends on the rank count).
#pragma once

#include <cstdint>

namespace shardrec {

struct SliceSpec {
  int rank = 0;
  int world = 1;
  uint64_t global_batch = 1;
  uint64_t start_step = 0;  // global batches to skip before the first Next()
  // Training streams repeat: the stream is the endless concatenation of epochs
  // and a global batch may straddle an epoch boundary. Evaluation streams end;
  // their last, partial global batch of g < global_batch samples is split by the
  // same formula with g in place of global_batch.
  bool repeat = true;
};

// Throws shardrec::Error unless 0 <= rank < world, global_batch >= 1 and
// global_batch divides by world.
void ValidateSliceSpec(const SliceSpec& spec);

// First stream offset of `rank`'s part of a global batch of `g` samples.
inline uint64_t SliceBegin(uint64_t g, int rank, int world) {
  return g * static_cast<uint64_t>(rank) / static_cast<uint64_t>(world);
}

enum class SplitPart { kAll, kTrain, kEval };

// Record i of a file belongs to the eval part when i % every == every - 1, to
// the train part otherwise. "Position" is an index within the part.
struct HoldoutSplit {
  SplitPart part = SplitPart::kAll;
  uint32_t every = 0;  // ignored for kAll; >= 2 otherwise

  bool Contains(uint64_t record) const;
  // Records of the first n that fall in this part.
  uint64_t Size(uint64_t n) const;
  // Record index of the part's position-th record.
  uint64_t RecordIndex(uint64_t position) const;
};

// Throws shardrec::Error if a train/eval split has every < 2.
void ValidateHoldoutSplit(const HoldoutSplit& split);

// Walks the global batches of a stream whose epoch length is known (binary
// files, synthetic data). Stream positions count from the start of epoch 0;
// position p is sample p % epoch_size of the epoch.
class BatchCursor {
 public:
  BatchCursor(const SliceSpec& spec, uint64_t epoch_size);

  // This rank's slice [*first, *last) of the next global batch, in stream
  // positions. Returns false once a non-repeating stream is exhausted; every
  // rank returns true for the same number of steps, possibly with empty slices.
  bool Next(uint64_t* first, uint64_t* last);
  uint64_t step() const { return step_; }

 private:
  SliceSpec spec_;
  uint64_t epoch_size_;
  uint64_t step_;
};

}  // namespace shardrec
