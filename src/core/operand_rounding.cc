#include "operand_rounding.h"

#include "shardrec/core/error.h"
#include "shardrec/core/half_rows.h"

namespace shardrec::gemm_detail {
namespace {

// Rounding is bound by memory bandwidth (one thread: ~0.2 ms per 1M floats on
// the development machine), so more threads buy little, while each parallel
// region wakes the team: microseconds on idle cores, but milliseconds when they
// are oversubscribed (measured 8 ms per region at load 3.6 on 2 cores). Only
// blocks of 4M values and more are split.
constexpr int64_t kParallelMin = int64_t{1} << 22;

}  // namespace

void ToBf16Bits(const float* in, int64_t rows, int64_t cols, int64_t ld, uint16_t* out) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) NarrowRow(HalfType::kBf16, in + r * ld, cols, out + r * cols);
}

void RoundThrough(ComputeType type, const float* in, int64_t rows, int64_t cols, int64_t ld, float* out) {
  SR_CHECK(type == ComputeType::kBf16 || type == ComputeType::kFp16)
      << "gemm: no 16-bit rounding for compute type " << ComputeTypeName(type);
  const HalfType half = type == ComputeType::kBf16 ? HalfType::kBf16 : HalfType::kFp16;
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) RoundRow(half, in + r * ld, cols, out + r * cols);
}

}  // namespace shardrec::gemm_detail
