// precision.compute from the config as core's ComputeType (core does not
// depend on the protobuf schema).
#pragma once

#include "config.pb.h"
#include "shardrec/core/gemm.h"

namespace shardrec {

// FP32 / BF16 / FP16 -> kFp32 / kBf16 / kFp16; throws naming precision.compute otherwise.
ComputeType ComputeTypeFromConfig(config::DType type);

}  // namespace shardrec
