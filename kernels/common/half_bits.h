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

SR_HOST_DEVICE inline uint32_t BitsOf(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

SR_HOST_DEVICE inline float FloatOf(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// ---- bf16: the top half of an fp32 ----

// The bf16 nearest x (ties to even); NaN -> the quiet NaN of its sign.
SR_HOST_DEVICE inline uint16_t Bf16Bits(float x) {
  const uint32_t u = BitsOf(x);
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = ((u >> 16) & 0x8000u) | 0x7FC0u;
  return static_cast<uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u ? nan : rounded);
}

SR_HOST_DEVICE inline float FloatFromBf16(uint16_t h) { return FloatOf(static_cast<uint32_t>(h) << 16); }

// x rounded to bf16 stochastically: up with probability equal to the dropped
// fraction of an ulp, so the rounded value is x in expectation. `random` is 32
// uniform bits (16 are used). Infinities stay; a finite value within an ulp of
// the largest bf16 may round up to inf, as the format's rounding defines.
SR_HOST_DEVICE inline uint16_t Bf16BitsStochastic(float x, uint32_t random) {
  const uint32_t u = BitsOf(x);
  const uint32_t rounded = (u + (random & 0xFFFFu)) >> 16;
  const uint32_t nan = ((u >> 16) & 0x8000u) | 0x7FC0u;
  const uint32_t inf = u >> 16;  // adding to an infinity's zero mantissa would make a NaN
  return static_cast<uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u    ? nan
                               : (u & 0x7FFFFFFFu) == 0x7F800000u ? inf
                                                                  : rounded);
}

// ---- fp16: 5-bit exponent, 10-bit mantissa ----

// An fp32 that is exactly an fp16 value (or inf / NaN) -> its fp16 bits.
SR_HOST_DEVICE inline uint16_t Fp16BitsOfExact(float r) {
  const uint32_t u = BitsOf(r), sign = (u >> 16) & 0x8000u, a = u & 0x7FFFFFFFu;
  // Normal: rebias the exponent (127 -> 15) and keep the top 10 mantissa bits.
  const uint32_t normal = ((a - (112u << 23)) >> 13);
  // Subnormal (below 2^-14): the value in units of 2^-24 is the mantissa.
  const uint32_t subnormal = static_cast<uint32_t>(FloatOf(a) * 16777216.0f);
  uint32_t h = a < 0x38800000u ? subnormal : normal;
  h = a >= 0x7F800000u ? 0x7C00u : h;  // inf
  h = a > 0x7F800000u ? 0x7E00u : h;   // NaN -> quiet NaN
  return static_cast<uint16_t>(h | sign);
}

// x rounded to the nearest fp16 value (ties to even), returned as fp32.
SR_HOST_DEVICE inline float RoundToFp16(float x) {
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

SR_HOST_DEVICE inline uint16_t Fp16Bits(float x) { return Fp16BitsOfExact(RoundToFp16(x)); }

SR_HOST_DEVICE inline float FloatFromFp16(uint16_t h) {
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
SR_HOST_DEVICE inline uint16_t Fp16BitsStochastic(float x, uint32_t random) {
  const uint32_t u = BitsOf(x), sign = u & 0x80000000u, a = u ^ sign;
  // Normals: add 13 random bits below the kept mantissa and truncate.
  uint32_t r = (a + (random & 0x1FFFu)) & 0xFFFFE000u;
  r = r > 0x477FE000u ? 0x7F800000u : r;
  // Subnormals: step 2^-24; up with probability equal to the fraction of a step.
  const float steps = FloatOf(a) * 16777216.0f;  // exact scaling
  const float below = static_cast<float>(static_cast<uint32_t>(steps));
  const float frac = steps - below;  // exact
  const float up = static_cast<float>(random >> 8) * (1.0f / 16777216.0f) < frac ? 1.0f : 0.0f;
  const uint32_t tiny = BitsOf((below + up) * (1.0f / 16777216.0f));
  r = a < 0x38800000u ? tiny : r;
  r = a >= 0x7F800000u ? a : r;           // inf stays inf
  r = a > 0x7F800000u ? 0x7FC00000u : r;  // NaN -> quiet NaN
  return Fp16BitsOfExact(FloatOf(r | sign));
}

SR_HOST_DEVICE inline uint16_t HalfBits(HalfType t, float x) {
  return t == HalfType::kBf16 ? Bf16Bits(x) : Fp16Bits(x);
}
SR_HOST_DEVICE inline float FloatFromHalf(HalfType t, uint16_t h) {
  return t == HalfType::kBf16 ? FloatFromBf16(h) : FloatFromFp16(h);
}

// 32 well-mixed bits from a 32-bit key and an element index (murmur3's
// finaliser): the random source of stochastic rounding. A pure function of its
// inputs, so a row rounds the same on any rank, thread or device.
SR_HOST_DEVICE inline uint32_t RoundingBits(uint32_t key, uint32_t index) {
  uint32_t h = key ^ (index * 0x9E3779B9u);
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

}  // namespace shardrec::kernels
