// Stops training on a non-finite loss or gradient before it reaches any weight.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "shardrec/comm/communicator.h"
#include "shardrec/core/matrix.h"
#include "shardrec/nn/param.h"

namespace shardrec {

// Collective. The first non-finite quantity of a step, in a fixed order —
// the (global) loss, each dense gradient (after the all-reduce, so the same on
// every rank), each embedding-output gradient (local; any rank's counts) — as
// "loss", "gradient of '<param>'" or "gradient of the embedding lookups of
// feature <f>"; "" when every value is finite. Every rank returns the same.
std::string FindNonFinite(Communicator& comm, double loss, const std::vector<ParamRef<float>>& params,
                          const std::vector<MatF>& embedding_grads);

// Collective. When FindNonFinite reports something, calls save_last_good (which
// writes a checkpoint of the parameters as they are: nothing of this step has
// been applied yet) and throws shardrec::Error naming step completed_steps + 1,
// the quantity, and the checkpoint directory.
void StopIfNonFinite(Communicator& comm, double loss, const std::vector<ParamRef<float>>& params,
                     const std::vector<MatF>& embedding_grads, uint64_t completed_steps,
                     const std::function<std::string()>& save_last_good);

}  // namespace shardrec
