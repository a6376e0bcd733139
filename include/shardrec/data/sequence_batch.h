// Jagged batches of user histories for sequence models (HSTU, SASRec).
//
// A batch holds B sequences back to back: sequence b owns tokens
// [offsets[b], offsets[b+1]). offsets.size() == B + 1 always, also for an
// empty batch, so the batch size is never ambiguous. Nothing is padded.
#pragma once

#include <cstdint>
#include <vector>

namespace shardrec {

struct SequenceBatch {
  int64_t batch_size = 0;           // sequences in this rank's slice
  int64_t first_sample = 0;         // global index of the first sequence in its stream
  std::vector<int64_t> offsets{0};  // batch_size + 1 token offsets
  std::vector<uint64_t> items;      // item id of every token (1-based ids; 0 is never a real item)
  std::vector<int64_t> timestamps;  // per token, seconds (all 0 when the data has no times)
  // Training: the next item after every token (the label of the token's query), 0 where
  // there is none. Evaluation: empty; `labels` holds one held-out item per sequence.
  std::vector<uint64_t> targets;
  std::vector<uint64_t> labels;  // evaluation: held-out item per sequence
  std::vector<uint64_t> users;   // user id per sequence
  // Evaluation: every item the user interacted with before the held-out one (not
  // truncated to the model's max_len), jagged like the tokens: sequence b's seen
  // items are seen[seen_offsets[b] .. seen_offsets[b+1]). Used by the protocol that
  // scores seen items 0 before ranking. Empty (seen_offsets == {0}) in training.
  std::vector<int64_t> seen_offsets{0};
  std::vector<uint64_t> seen;

  int64_t num_tokens() const { return offsets.back(); }
  int64_t length(int64_t b) const { return offsets[b + 1] - offsets[b]; }
};

}  // namespace shardrec
