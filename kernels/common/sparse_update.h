// Per-row sparse optimizer updates: the one body of arithmetic used by the
// CPU embedding shards and (compiled by nvcc) by the CUDA backend. Each
// function updates one embedding row in place given its aggregated gradient.
#pragma once

#include <cmath>
#include <cstdint>

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

// w -= lr * g
SR_HOST_DEVICE inline void SgdRow(float* w, const float* g, int dim, const SparseHyper& h) {
  for (int i = 0; i < dim; ++i) w[i] -= h.lr * g[i];
}

// Row-wise Adagrad: one accumulator per row, fed by the mean squared gradient
// of the row (so the state costs 1 float per row instead of dim).
SR_HOST_DEVICE inline void RowwiseAdagradRow(float* w, float* acc, const float* g, int dim, const SparseHyper& h) {
  float sq = 0.0f;
  for (int i = 0; i < dim; ++i) sq += g[i] * g[i];
  *acc += sq / static_cast<float>(dim);
  const float scale = h.lr / (std::sqrt(*acc) + h.eps);
  for (int i = 0; i < dim; ++i) w[i] -= scale * g[i];
}

// Lazy Adam: moments of a row are updated only when the row receives a
// gradient; bias correction uses the global step.
SR_HOST_DEVICE inline void AdamRow(float* w, float* m, float* v, const float* g, int dim, const SparseHyper& h) {
  for (int i = 0; i < dim; ++i) {
    m[i] = h.beta1 * m[i] + (1.0f - h.beta1) * g[i];
    v[i] = h.beta2 * v[i] + (1.0f - h.beta2) * g[i] * g[i];
    const float mhat = m[i] / h.bias1;
    const float vhat = v[i] / h.bias2;
    w[i] -= h.lr * mhat / (std::sqrt(vhat) + h.eps);
  }
}

}  // namespace shardrec::kernels
