// "did you mean" for mistyped keys.
#pragma once

#include <string>
#include <vector>

namespace shardrec::config::internal {

// The candidate closest to `typo` (optimal-string-alignment distance, so a
// swapped pair of letters costs 1), or "" when none is close enough to be a
// plausible typo: within a third of the longer name, or one name containing
// the other (batch_size -> global_batch_size).
std::string ClosestName(const std::string& typo, const std::vector<std::string>& candidates);

}  // namespace shardrec::config::internal
