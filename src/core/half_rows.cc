#include "shardrec/core/half_rows.h"

#include "shardrec/core/cpu_dispatch.h"

namespace shardrec {
namespace {

using namespace kernels;  // NOLINT: the bit arithmetic of half_bits.h

SHARDREC_ROW_KERNEL void NarrowBf16(const float* in, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Bf16Bits(in[i]);
}
SHARDREC_ROW_KERNEL void NarrowFp16(const float* in, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Fp16Bits(in[i]);
}
SHARDREC_ROW_KERNEL void WidenBf16(const uint16_t* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = FloatFromBf16(in[i]);
}
SHARDREC_ROW_KERNEL void WidenFp16(const uint16_t* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = FloatFromFp16(in[i]);
}
SHARDREC_ROW_KERNEL void RoundBf16(const float* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = FloatFromBf16(Bf16Bits(in[i]));
}
SHARDREC_ROW_KERNEL void RoundFp16(const float* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = RoundToFp16(in[i]);
}
SHARDREC_ROW_KERNEL void StochasticBf16(const float* in, int64_t n, uint32_t key, uint32_t first, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Bf16BitsStochastic(in[i], RoundingBits(key, first + static_cast<uint32_t>(i)));
}
SHARDREC_ROW_KERNEL void StochasticFp16(const float* in, int64_t n, uint32_t key, uint32_t first, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Fp16BitsStochastic(in[i], RoundingBits(key, first + static_cast<uint32_t>(i)));
}

}  // namespace

void NarrowRow(HalfType type, const float* in, int64_t n, uint16_t* out) {
  type == HalfType::kBf16 ? NarrowBf16(in, n, out) : NarrowFp16(in, n, out);
}
void WidenRow(HalfType type, const uint16_t* in, int64_t n, float* out) {
  type == HalfType::kBf16 ? WidenBf16(in, n, out) : WidenFp16(in, n, out);
}
void RoundRow(HalfType type, const float* in, int64_t n, float* out) {
  type == HalfType::kBf16 ? RoundBf16(in, n, out) : RoundFp16(in, n, out);
}
void NarrowRowStochastic(HalfType type, const float* in, int64_t n, uint32_t key, uint32_t first, uint16_t* out) {
  type == HalfType::kBf16 ? StochasticBf16(in, n, key, first, out) : StochasticFp16(in, n, key, first, out);
}

}  // namespace shardrec
