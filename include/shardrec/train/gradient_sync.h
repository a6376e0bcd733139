// Keeps data-parallel replicas identical: dense gradients are summed over all
// ranks (each rank's loss is already divided by the global batch size).
#pragma once

#include <vector>

#include "config.pb.h"
#include "shardrec/comm/communicator.h"
#include "shardrec/nn/param.h"

namespace shardrec {

// Sums every gradient over all ranks, packing parameters into buckets of at
// most `bucket_elems` floats so each collective moves a large contiguous
// buffer (few latency-bound calls, bounded scratch memory).
// `wire` is the type the values travel as (see comm/wire_type.h).
void AllReduceGradients(Communicator& comm, const std::vector<ParamRef<float>>& params, size_t bucket_elems,
                        std::vector<float>* scratch, config::DType wire = config::FP32);

}  // namespace shardrec
