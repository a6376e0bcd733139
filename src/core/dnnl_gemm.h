// The oneDNN side of Gemm's kFp32 and kBf16 paths (compiled only with SHARDREC_DNNL).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "shardrec/core/gemm.h"

namespace shardrec::gemm_detail {

// C = act(alpha op(A) op(B) + beta C + bias) on a oneDNN matmul with fp32
// accumulation and fp32 C; `type` is kFp32 (the operands as they are) or kBf16
// (the operands rounded to bf16 first). The epilogue runs inside the kernel;
// with options.rows_vary the primitive leaves M (or K, if A is transposed) to run time.
// Returns false, touching nothing, when oneDNN has no real kernel of that type
// for this product on this CPU, and sets *why_not; the caller then falls back.
// Shapes are checked by the caller.
bool DnnlGemm(ComputeType type, Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
              const GemmOptions<float>& options, std::string* why_not);

size_t DnnlCachedPrimitives();

}  // namespace shardrec::gemm_detail
