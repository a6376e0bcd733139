// The oneDNN side of Gemm's kBf16 path (compiled only with SHARDREC_DNNL).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "shardrec/core/gemm.h"

namespace shardrec::gemm_detail {

// C = alpha op(A) op(B) + beta C with the operands rounded to bf16 and a
// oneDNN bf16 matmul (fp32 accumulation, fp32 C). Returns false, touching
// nothing, when oneDNN has no bf16 kernel for this product on this CPU, and
// sets *why_not; the caller then falls back. Shapes are checked by the caller.
bool DnnlBf16Gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, std::string* why_not);

size_t DnnlCachedPrimitives();

}  // namespace shardrec::gemm_detail
