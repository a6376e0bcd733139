// Rounding fp32 GEMM operands to 16-bit compute types, round to nearest even,
// as Eigen::bfloat16 / Eigen::half do (tests check every special case against
// them). Written as branch-free bit arithmetic so the loops vectorise: the
// Eigen types convert one value at a time through branches (and fp16 through a
// software path unless the whole build targets F16C).
#pragma once

#include <cstdint>
#include <cstring>

#include "shardrec/core/gemm.h"

namespace shardrec::gemm_detail {

inline uint32_t BitsOf(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

inline float FloatOf(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// The bf16 bit pattern nearest x (ties to even); NaN -> the quiet NaN of its sign.
inline uint16_t Bf16Bits(float x) {
  const uint32_t u = BitsOf(x);
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = ((u >> 16) & 0x8000u) | 0x7FC0u;
  return static_cast<uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u ? nan : rounded);
}

inline float RoundToBf16(float x) { return FloatOf(static_cast<uint32_t>(Bf16Bits(x)) << 16); }

// x rounded to the nearest fp16 value (ties to even), returned as fp32.
inline float RoundToFp16(float x) {
  const uint32_t u = BitsOf(x), sign = u & 0x80000000u, a = u ^ sign;
  // fp16 normals keep 10 of fp32's 23 mantissa bits; a carry moves the exponent.
  uint32_t r = (a + 0xFFFu + ((a >> 13) & 1u)) & 0xFFFFE000u;
  r = r > 0x477FE000u ? 0x7F800000u : r;  // above 65504: inf
  // Below 2^-14 fp16 is subnormal, with a fixed step of 2^-24. Adding 0.75,
  // whose ulp is 2^-24, rounds to that step (ties to even); subtracting is exact.
  const uint32_t tiny = BitsOf((FloatOf(a) + 0.75f) - 0.75f);
  r = a < 0x38800000u ? tiny : r;
  r = a > 0x7F800000u ? 0x7FC00000u : r;  // NaN -> quiet NaN
  return FloatOf(r | sign);
}

// A rows x cols block with row stride ld -> `out`, contiguous (row stride cols).
// Parallel over rows (OpenMP) for large blocks.
void ToBf16Bits(const float* in, int64_t rows, int64_t cols, int64_t ld, uint16_t* out);
// The same block rounded to `type` (kBf16 or kFp16) and kept as fp32.
void RoundThrough(ComputeType type, const float* in, int64_t rows, int64_t cols, int64_t ld, float* out);

}  // namespace shardrec::gemm_detail
