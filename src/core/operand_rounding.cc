#include "operand_rounding.h"

#include "shardrec/core/error.h"

namespace shardrec::gemm_detail {
namespace {

// The portable build targets baseline x86-64 (SSE2); cloning the row kernels for
// AVX2 and AVX-512, picked when the program loads, widens their vectors 2-4x.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define SHARDREC_ROW_KERNEL __attribute__((target_clones("avx512f", "avx2", "default"))) __attribute__((noinline))
#else
#define SHARDREC_ROW_KERNEL
#endif

SHARDREC_ROW_KERNEL void RowToBf16Bits(const float* in, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Bf16Bits(in[i]);
}

SHARDREC_ROW_KERNEL void RowRoundToBf16(const float* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = RoundToBf16(in[i]);
}

SHARDREC_ROW_KERNEL void RowRoundToFp16(const float* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = RoundToFp16(in[i]);
}

// Below this many values one thread converts: a parallel region costs more.
constexpr int64_t kParallelMin = 1 << 16;

}  // namespace

void ToBf16Bits(const float* in, int64_t rows, int64_t cols, int64_t ld, uint16_t* out) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) RowToBf16Bits(in + r * ld, cols, out + r * cols);
}

void RoundThrough(ComputeType type, const float* in, int64_t rows, int64_t cols, int64_t ld, float* out) {
  SR_CHECK(type == ComputeType::kBf16 || type == ComputeType::kFp16)
      << "gemm: no 16-bit rounding for compute type " << ComputeTypeName(type);
  const auto row = type == ComputeType::kBf16 ? RowRoundToBf16 : RowRoundToFp16;
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) row(in + r * ld, cols, out + r * cols);
}

}  // namespace shardrec::gemm_detail
