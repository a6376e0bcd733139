// Per-row sparse optimizer updates: the one body of arithmetic used by the
// CPU embedding shards and (compiled by nvcc) by the CUDA backend. Each
// function updates one embedding row in place given its aggregated gradient.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/half_bits.h"
#include "common/host_device.h"

namespace shardrec::kernels {

struct SparseHyper {
  float lr;
  float eps;
  float beta1;
  float beta2;
  // Adam bias corrections for the current step: 1 - beta^t.
  float bias1;
  float bias2;
};

// The optimizers read and write a row through a row view: element i is
// Get(i) and Set(i, v) as floats. FloatRow is a row stored in fp32;
// HalfRowRef a 16-bit row, widened exactly on read and rounded stochastically
// on write, so one body of arithmetic serves every storage type and a 16-bit
// row is updated in one pass, with no fp32 copy of it.
struct FloatRow {
  float* p;
  SR_HOST_DEVICE SR_FORCE_INLINE float Get(int i) const { return p[i]; }
  SR_HOST_DEVICE SR_FORCE_INLINE void Set(int i, float v) const { p[i] = v; }
};

// A bf16 / fp16 row whose element i rounds with the bits RoundingBits(key,
// first + i): a pure function of the row's key and the logical column, so the
// stored bits do not depend on which rank or thread applies the update.
template <HalfType kType>
struct HalfRowRef {
  uint16_t* p;
  uint32_t key;
  uint32_t first;
  SR_HOST_DEVICE SR_FORCE_INLINE float Get(int i) const {
    return kType == HalfType::kBf16 ? FloatFromBf16(p[i]) : FloatFromFp16(p[i]);
  }
  SR_HOST_DEVICE SR_FORCE_INLINE void Set(int i, float v) const {
    const uint32_t bits = RoundingBits(key, first + static_cast<uint32_t>(i));
    p[i] = kType == HalfType::kBf16 ? Bf16BitsStochastic(v, bits) : Fp16BitsStochastic(v, bits);
  }
};

// w -= lr * g
template <typename Row>
SR_HOST_DEVICE SR_FORCE_INLINE void SgdRow(Row w, const float* g, int dim, const SparseHyper& h) {
  for (int i = 0; i < dim; ++i) w.Set(i, w.Get(i) - h.lr * g[i]);
}

// Row-wise Adagrad: one accumulator per row, fed by the mean squared gradient
// of the row (so the state costs 1 float per row instead of dim).
template <typename Row>
SR_HOST_DEVICE SR_FORCE_INLINE void RowwiseAdagradRow(Row w, float* acc, const float* g, int dim,
                                                      const SparseHyper& h) {
  float sq = 0.0f;
  for (int i = 0; i < dim; ++i) sq += g[i] * g[i];
  *acc += sq / static_cast<float>(dim);
  const float scale = h.lr / (std::sqrt(*acc) + h.eps);
  for (int i = 0; i < dim; ++i) w.Set(i, w.Get(i) - scale * g[i]);
}

// Lazy Adam: moments of a row are updated only when the row receives a
// gradient; bias correction uses the global step.
template <typename Row>
SR_HOST_DEVICE SR_FORCE_INLINE void AdamRow(Row w, float* m, float* v, const float* g, int dim, const SparseHyper& h) {
  for (int i = 0; i < dim; ++i) {
    m[i] = h.beta1 * m[i] + (1.0f - h.beta1) * g[i];
    v[i] = h.beta2 * v[i] + (1.0f - h.beta2) * g[i] * g[i];
    const float mhat = m[i] / h.bias1;
    const float vhat = v[i] / h.bias2;
    w.Set(i, w.Get(i) - h.lr * mhat / (std::sqrt(vhat) + h.eps));
  }
}

// fp32 rows by pointer.
SR_HOST_DEVICE inline void SgdRow(float* w, const float* g, int dim, const SparseHyper& h) {
  SgdRow(FloatRow{w}, g, dim, h);
}
SR_HOST_DEVICE inline void RowwiseAdagradRow(float* w, float* acc, const float* g, int dim, const SparseHyper& h) {
  RowwiseAdagradRow(FloatRow{w}, acc, g, dim, h);
}
SR_HOST_DEVICE inline void AdamRow(float* w, float* m, float* v, const float* g, int dim, const SparseHyper& h) {
  AdamRow(FloatRow{w}, m, v, g, dim, h);
}

// The rules above by name, for callers that pick one at run time: the CPU
// shards through SparseOptimizer, the CUDA kernels through their argument.
// (Declared after the fp32 overloads, which a float* row must find.)
enum class SparseRule { kSgd, kRowwiseAdagrad, kAdam };

// Floats of optimizer state per row of `dim` columns: none for SGD, the
// accumulator for row-wise Adagrad, [m (dim) | v (dim)] for Adam.
SR_HOST_DEVICE constexpr int StateFloatsPerRow(SparseRule rule, int dim) {
  return rule == SparseRule::kSgd ? 0 : rule == SparseRule::kRowwiseAdagrad ? 1 : 2 * dim;
}

// One step of `rule` on row w with its state (laid out as StateFloatsPerRow says).
template <typename Row>
SR_HOST_DEVICE SR_FORCE_INLINE void ApplyRule(SparseRule rule, Row w, float* state, const float* g, int dim,
                                              const SparseHyper& h) {
  switch (rule) {
    case SparseRule::kSgd: SgdRow(w, g, dim, h); break;
    case SparseRule::kRowwiseAdagrad: RowwiseAdagradRow(w, state, g, dim, h); break;
    case SparseRule::kAdam: AdamRow(w, state, state + dim, g, dim, h); break;
  }
}

}  // namespace shardrec::kernels
