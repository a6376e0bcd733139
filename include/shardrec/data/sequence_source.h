// Batches of user histories for training and leave-one-out evaluation of
// sequence models, sliced over ranks like every other source (slicing.h): the
// union over ranks of one step is the same global batch whatever the rank
// count, and a run resumed at step k sees exactly the batches it would have.
//
// Both sources need every user to have at least kMinLeaveOneOutLength items
// (read the dataset with min_length >= 3); they throw otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "shardrec/data/sequence_batch.h"
#include "shardrec/data/sequence_data.h"
#include "shardrec/data/slicing.h"

namespace shardrec {

// Stream tag of the training order's shuffles (CounterRng(seed, tag, epoch)).
inline constexpr uint64_t kSequenceEpochStream = 0x5345514550ull;  // "SEQEP"

// The order in which epoch `epoch` of the training stream visits the users
// (indices into SequenceDataset::users): a Fisher-Yates shuffle of
// 0..num_users-1 drawn with CounterRng(seed, kSequenceEpochStream, epoch), so
// any rank can compute any epoch's order on its own.
std::vector<uint64_t> SequenceEpochOrder(uint64_t num_users, uint64_t seed, uint64_t epoch);

// The training stream: the endless concatenation of epochs, each visiting
// every user once in SequenceEpochOrder. Stream position p is user
// order(p / U)[p % U]; global batch k is positions [kG, (k+1)G), crossing epoch
// boundaries without a seam, and this rank gets [kG + SliceBegin(G, r, N),
// kG + SliceBegin(G, r+1, N)).
//
// A user's sample is its leave-one-out training sequence tr = s[0..n-2),
// truncated to its last max_len + 1 items; the tokens are all but the last of
// those and targets[i] is the item after token i, so every token has a next
// item to predict and the batch holds at most max_len tokens per sequence.
// When tr has a single item, the sequence is that one token with target 0
// ("no label"). Timestamps follow the tokens; labels and seen stay empty.
class SequenceTrainSource {
 public:
  // spec.repeat must be true (the stream never ends); spec.start_step skips
  // that many global batches.
  SequenceTrainSource(std::shared_ptr<const SequenceDataset> dataset, uint32_t max_len, const SliceSpec& spec,
                      uint64_t seed);

  // Fills `out` with this rank's slice of the next global batch, reusing its
  // buffers.
  void Next(SequenceBatch* out);
  // Global batches consumed so far, counting spec.start_step.
  uint64_t step() const { return cursor_.step(); }
  uint64_t epoch_size() const { return dataset_->users.size(); }
  const SequenceDataset& dataset() const { return *dataset_; }

 private:
  std::shared_ptr<const SequenceDataset> dataset_;
  uint32_t max_len_;
  uint64_t seed_;
  BatchCursor cursor_;
  uint64_t order_epoch_ = ~uint64_t{0};  // the epoch `order_` holds; none yet
  std::vector<uint64_t> order_;
};

// One pass over every user in dataset order for the validation or the test
// split. Global batch k is users [kG, min((k+1)G, U)); the last, partial batch
// of g users is sliced by SliceBegin(g, r, N), so every rank returns true for
// the same number of steps (some slices may be empty) and then false.
//
// A sequence's tokens are the split's history truncated to its last max_len
// items (with timestamps); labels holds the held-out item; seen/seen_offsets
// hold the full, untruncated history (every item before the held-out one),
// for the protocol that excludes seen items from the ranking. targets is empty.
class SequenceEvalSource {
 public:
  // spec.repeat must be false (the pass ends); spec.start_step skips that many
  // global batches.
  SequenceEvalSource(std::shared_ptr<const SequenceDataset> dataset, SequenceSplit split, uint32_t max_len,
                     const SliceSpec& spec);

  // Fills `out` with this rank's slice of the next global batch, reusing its
  // buffers; returns false (and leaves `out` alone) once every user was served.
  bool Next(SequenceBatch* out);
  // Global batches in the whole pass: ceil(U / G), counting skipped ones.
  uint64_t num_steps() const;
  uint64_t step() const { return cursor_.step(); }
  const SequenceDataset& dataset() const { return *dataset_; }

 private:
  std::shared_ptr<const SequenceDataset> dataset_;
  SequenceSplit split_;
  uint32_t max_len_;
  uint64_t global_batch_;
  BatchCursor cursor_;
};

}  // namespace shardrec
