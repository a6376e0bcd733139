// precision.compute from the config as core's ComputeType (core does not
// depend on the protobuf schema).
#pragma once

#include <string>

#include "config.pb.h"
#include "shardrec/core/gemm.h"

namespace shardrec {

// FP32 / BF16 / FP16 -> kFp32 / kBf16 / kFp16; throws naming precision.compute otherwise.
ComputeType ComputeTypeFromConfig(config::DType type);

// The start-up log line for precision.compute: the type and what runs it, e.g.
// "precision: matrix products in BF16 on oneDNN, fp32 accumulation and master weights".
std::string DescribeCompute(config::DType type);

}  // namespace shardrec
