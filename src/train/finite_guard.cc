#include "shardrec/train/finite_guard.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"

namespace shardrec {

std::string FindNonFinite(Communicator& comm, double loss, const std::vector<ParamRef<float>>& params,
                          const std::vector<MatF>& embedding_grads) {
  // Code of the first bad quantity: 0 loss, 1 + i dense parameter i, 1 + P + f feature f.
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  int64_t code = kNone;
  if (!std::isfinite(loss)) code = 0;
  for (size_t i = 0; code == kNone && i < params.size(); ++i) {
    if (!ConstMatMap<float>(params[i].grad, 1, static_cast<Eigen::Index>(params[i].size)).allFinite()) {
      code = 1 + static_cast<int64_t>(i);
    }
  }
  for (size_t f = 0; code == kNone && f < embedding_grads.size(); ++f) {
    if (!embedding_grads[f].allFinite()) code = 1 + static_cast<int64_t>(params.size() + f);
  }
  code = AllReduceScalar<int64_t>(comm, code, ReduceOp::kMin);
  if (code == kNone) return "";
  if (code == 0) return "loss";
  if (code <= static_cast<int64_t>(params.size())) return Str("gradient of '", params[code - 1].name, "'");
  return Str("gradient of the embedding lookups of feature ", code - 1 - static_cast<int64_t>(params.size()));
}

void StopIfNonFinite(Communicator& comm, double loss, const std::vector<ParamRef<float>>& params,
                     const std::vector<MatF>& embedding_grads, uint64_t completed_steps,
                     const std::function<std::string()>& save_last_good) {
  const std::string bad = FindNonFinite(comm, loss, params, embedding_grads);
  if (bad.empty()) return;
  const std::string dir = save_last_good();
  SR_THROW() << "step " << completed_steps + 1 << ": non-finite " << bad
             << " (nothing of this step was applied); the last good state, step " << completed_steps << ", is saved in "
             << dir;
}

}  // namespace shardrec
