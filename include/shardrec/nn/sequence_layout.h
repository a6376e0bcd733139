// What a sequence layer needs to know about a jagged batch besides the token
// features: where each sequence starts, token times, candidate counts, and the
// per-token keys that make dropout a pure function of the token.
#pragma once

#include <cstdint>
#include <vector>

namespace shardrec {

struct SequenceLayout {
  std::vector<int64_t> offsets{0};   // batch + 1 token offsets
  std::vector<int64_t> timestamps;   // per token; empty = the data has no times
  std::vector<int32_t> num_targets;  // per sequence, candidate tokens at its end; empty = none
  // Per token: a key identifying (step, global sequence index, position), from
  // which dropout masks are drawn, so masks do not depend on which rank holds
  // the token or how the batch was sliced. Empty when nothing is dropped.
  std::vector<uint64_t> token_keys;

  int64_t batch() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t tokens() const { return offsets.back(); }
  int length(int64_t b) const { return static_cast<int>(offsets[b + 1] - offsets[b]); }
  int targets(int64_t b) const { return num_targets.empty() ? 0 : num_targets[b]; }
};

}  // namespace shardrec
