#include "operand_rounding.h"

#include "shardrec/core/error.h"

namespace shardrec::gemm_detail {
namespace {

// The portable build targets baseline x86-64 (SSE2); cloning the row kernels for
// AVX2 and AVX-512, picked when the program loads, widens their vectors 2-4x.
// Sanitizer builds keep one version: the clones' resolvers run before the
// sanitizer runtime is set up.
#if defined(__SANITIZE_ADDRESS__)
#define SHARDREC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define SHARDREC_SANITIZED 1
#endif
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(SHARDREC_SANITIZED)
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

// Rounding is bound by memory bandwidth (one thread: ~0.2 ms per 1M floats on
// the development machine), so more threads buy little, while each parallel
// region wakes the team: microseconds on idle cores, but milliseconds when they
// are oversubscribed (measured 8 ms per region at load 3.6 on 2 cores). Only
// blocks of 4M values and more are split.
constexpr int64_t kParallelMin = int64_t{1} << 22;

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
