// Rows of values converted between fp32 and a 16-bit format (bf16 / fp16),
// vectorised for the CPU the program runs on. The arithmetic of each value is
// kernels/common/half_bits.h; these are the loops over it that every user of
// 16-bit data shares (GEMM operands, collective wire types, embedding rows).
#pragma once

#include <cstdint>

#include "common/half_bits.h"

namespace shardrec {

using kernels::HalfType;

// out[i] = nearest 16-bit value of in[i] (ties to even).
void NarrowRow(HalfType type, const float* in, int64_t n, uint16_t* out);
// out[i] = in[i] widened to fp32 (exact).
void WidenRow(HalfType type, const uint16_t* in, int64_t n, float* out);
// out[i] = in[i] rounded to the 16-bit format and back (kept as fp32).
void RoundRow(HalfType type, const float* in, int64_t n, float* out);
// Stochastic rounding: element i rounds with random bits RoundingBits(key, first + i),
// so a row's rounding depends on its key and columns, not on who rounds it.
void NarrowRowStochastic(HalfType type, const float* in, int64_t n, uint32_t key, uint32_t first, uint16_t* out);

}  // namespace shardrec
