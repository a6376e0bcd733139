#include "shardrec/models/compute_type.h"

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"

namespace shardrec {

ComputeType ComputeTypeFromConfig(config::DType type) {
  switch (type) {
    case config::FP32: return ComputeType::kFp32;
    case config::BF16: return ComputeType::kBf16;
    case config::FP16: return ComputeType::kFp16;
    default: break;
  }
  SR_THROW() << "precision.compute: no compute type for DType " << static_cast<int>(type);
  return ComputeType::kFp32;  // not reached: SR_THROW throws
}

std::string DescribeCompute(config::DType type) {
  return Str("precision: matrix products in ", config::DType_Name(type), " on ",
             GemmBackend(ComputeTypeFromConfig(type)), ", fp32 accumulation and master weights");
}

}  // namespace shardrec
