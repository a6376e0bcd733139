// Rounding fp32 GEMM operand blocks to 16-bit compute types (round to nearest
// even), in parallel for large blocks. Values are converted by the shared row
// kernels of shardrec/core/half_rows.h.
#pragma once

#include <cstdint>

#include "shardrec/core/gemm.h"

namespace shardrec::gemm_detail {

// A rows x cols block with row stride ld -> `out`, contiguous (row stride cols).
// Parallel over rows (OpenMP) for large blocks.
void ToBf16Bits(const float* in, int64_t rows, int64_t cols, int64_t ld, uint16_t* out);
// The same block rounded to `type` (kBf16 or kFp16) and kept as fp32.
void RoundThrough(ComputeType type, const float* in, int64_t rows, int64_t cols, int64_t ld, float* out);

}  // namespace shardrec::gemm_detail
