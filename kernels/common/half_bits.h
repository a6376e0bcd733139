// The 16-bit floating-point formats as bit arithmetic: fp32 <-> bf16 / fp16,
// round to nearest even (as Eigen::bfloat16 / Eigen::half and the hardware
// convert instructions do) and stochastic rounding. The one body of these
// conversions for the whole project: GEMM operands, wire types of the
// collectives and embedding rows stored in 16 bits, on the CPU and (compiled by
// nvcc) on the GPU. Written branch-free, as selects, so loops over rows
// vectorise: the Eigen types convert one value at a time through branches, and
// fp16 through a software path unless the whole build targets F16C.
#pragma once

#include <cstdint>
#include <cstring>

#include "common/host_device.h"

namespace shardrec::kernels {

enum class HalfType { kBf16, kFp16 };

SR_HOST_DEVICE SR_FORCE_INLINE uint32_t BitsOf(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

SR_HOST_DEVICE SR_FORCE_INLINE float FloatOf(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// ---- bf16: the top half of an fp32 ----

// The bf16 nearest x (ties to even); NaN -> the quiet NaN of its sign.
SR_HOST_DEVICE SR_FORCE_INLINE uint16_t Bf16Bits(float x) {
  const uint32_t u = BitsOf(x);
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = ((u >> 16) & 0x8000u) | 0x7FC0u;
  return static_cast<uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u ? nan : rounded);
}

SR_HOST_DEVICE SR_FORCE_INLINE float FloatFromBf16(uint16_t h) { return FloatOf(static_cast<uint32_t>(h) << 16); }

// x rounded to bf16 stochastically: up with probability equal to the dropped
// fraction of an ulp, so the rounded value is x in expectation. `random` is 32
// uniform bits (16 are used). Infinities stay; a finite value within an ulp of
// the largest bf16 may round up to inf, as the format's rounding defines.
SR_HOST_DEVICE SR_FORCE_INLINE uint16_t Bf16BitsStochastic(float x, uint32_t random) {
  const uint32_t u = BitsOf(x), a = u & 0x7FFFFFFFu;
  // Nothing is added to inf or NaN (an infinity's zero mantissa would become a NaN).
  const uint32_t add = a >= 0x7F800000u ? 0u : (random & 0xFFFFu);
  const uint32_t nan = ((u >> 16) & 0x8000u) | 0x7FC0u;
  return static_cast<uint16_t>(a > 0x7F800000u ? nan : (u + add) >> 16);
}

// ---- fp16: 5-bit exponent, 10-bit mantissa ----

// An fp32 that is exactly an fp16 value (or inf / NaN) -> its fp16 bits.
SR_HOST_DEVICE SR_FORCE_INLINE uint16_t Fp16BitsOfExact(float r) {
  const uint32_t u = BitsOf(r), sign = (u >> 16) & 0x8000u, a = u & 0x7FFFFFFFu;
  // Normal: rebias the exponent (127 -> 15) and keep the top 10 mantissa bits.
  const uint32_t normal = (a - (112u << 23)) >> 13;
  // Subnormal (below 2^-14): the value in units of 2^-24 is the mantissa. 0.75
  // has an ulp of 2^-24, so adding it puts that count in the low bits, exactly
  // (no float-to-int conversion, which keeps the loops vectorisable).
  const float small = a < 0x38800000u ? FloatOf(a) : 0.0f;
  const uint32_t subnormal = BitsOf(small + 0.75f) - 0x3F400000u;
  uint32_t h = a < 0x38800000u ? subnormal : normal;
  h = a >= 0x7F800000u ? 0x7C00u : h;  // inf
  h = a > 0x7F800000u ? 0x7E00u : h;   // NaN -> quiet NaN
  return static_cast<uint16_t>(h | sign);
}

// x rounded to the nearest fp16 value (ties to even), returned as fp32.
SR_HOST_DEVICE SR_FORCE_INLINE float RoundToFp16(float x) {
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

SR_HOST_DEVICE SR_FORCE_INLINE uint16_t Fp16Bits(float x) { return Fp16BitsOfExact(RoundToFp16(x)); }

SR_HOST_DEVICE SR_FORCE_INLINE float FloatFromFp16(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t shifted = static_cast<uint32_t>(h & 0x7FFFu) << 13;  // exponent and mantissa in place
  const uint32_t exp = shifted & 0x0F800000u;
  const uint32_t normal = shifted + (112u << 23);                           // rebias 15 -> 127
  const uint32_t special = shifted + (224u << 23);                          // inf / NaN: exponent 255
  const float sub = FloatOf(shifted + (113u << 23)) - FloatOf(113u << 23);  // mantissa x 2^-24, exact
  uint32_t r = exp == 0x0F800000u ? special : normal;
  r = exp == 0 ? BitsOf(sub) : r;
  return FloatOf(r | sign);
}

// x rounded to fp16 stochastically (see Bf16BitsStochastic). `random` is 32
// uniform bits. Values beyond the largest fp16 round to inf as in RoundToFp16.
SR_HOST_DEVICE SR_FORCE_INLINE uint16_t Fp16BitsStochastic(float x, uint32_t random) {
  const uint32_t u = BitsOf(x), sign = (u >> 16) & 0x8000u, a = u & 0x7FFFFFFFu;
  // Normals: add 13 random bits below the kept mantissa, truncate, rebias.
  const uint32_t r = (a + (random & 0x1FFFu)) & 0xFFFFE000u;
  const uint32_t normal = (r - (112u << 23)) >> 13;
  // Subnormals (step 2^-24): add a uniform fraction of a step less half a step,
  // then round to the step with the 0.75 trick of Fp16BitsOfExact: up with
  // probability equal to the fraction of a step x lies above the one below.
  const float small = a < 0x38800000u ? FloatOf(a) : 0.0f;
  const float noise = static_cast<float>(static_cast<int32_t>(random >> 8)) * 0x1p-48f - 0x1p-25f;
  const uint32_t steps = BitsOf((small + noise) + 0.75f) - 0x3F400000u;
  const uint32_t h = a < 0x38800000u ? steps : normal;
  // inf stays inf, NaN becomes the quiet NaN, and finite values rounded beyond
  // 65504 become inf. (One select for all three: GCC gives up vectorising the
  // loop when the chain of selects is longer.)
  const uint32_t special = a > 0x7F800000u ? 0x7E00u : 0x7C00u;
  const bool beyond = (a >= 0x7F800000u) | (r > 0x477FE000u);
  return static_cast<uint16_t>((beyond ? special : h) | sign);
}

SR_HOST_DEVICE SR_FORCE_INLINE uint16_t HalfBits(HalfType t, float x) {
  return t == HalfType::kBf16 ? Bf16Bits(x) : Fp16Bits(x);
}
SR_HOST_DEVICE SR_FORCE_INLINE float FloatFromHalf(HalfType t, uint16_t h) {
  return t == HalfType::kBf16 ? FloatFromBf16(h) : FloatFromFp16(h);
}

// 32 well-mixed bits from a 32-bit key and an element index (murmur3's
// finaliser): the random source of stochastic rounding. A pure function of its
// inputs, so a row rounds the same on any rank, thread or device.
SR_HOST_DEVICE SR_FORCE_INLINE uint32_t RoundingBits(uint32_t key, uint32_t index) {
  uint32_t h = key ^ (index * 0x9E3779B9u);
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

}  // namespace shardrec::kernels
