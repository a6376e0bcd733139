// CUDA launches of the embedding-bag bodies. The per-value arithmetic is in
// kernels/common (shared with the CPU path); this file only decides which
// thread computes what.
#include "common/half_bits.h"
#include "common/sparse_update.h"
#include "shardrec/core/error.h"
#include "shardrec/cuda/device.h"
#include "shardrec/cuda/embedding_kernels.h"

namespace shardrec::cuda {
namespace {

using kernels::HalfType;

template <RowFormat kFormat>
__device__ __forceinline__ float ValueAt(const void* data, int64_t i) {
  if constexpr (kFormat == RowFormat::kFp32) {
    return static_cast<const float*>(data)[i];
  } else if constexpr (kFormat == RowFormat::kBf16) {
    return kernels::FloatFromBf16(static_cast<const uint16_t*>(data)[i]);
  } else {
    return kernels::FloatFromFp16(static_cast<const uint16_t*>(data)[i]);
  }
}

// One block per bag, one thread per column: each thread adds its column of
// every row of the bag in order, as the CPU loop does for each column, and the
// threads of a warp read consecutive values of a row.
template <RowFormat kFormat>
__global__ void PoolBagsKernel(const void* table, int64_t ld, int dim, const int64_t* rows, const int64_t* offsets,
                               float* out) {
  const int64_t b = blockIdx.x;
  const int64_t begin = offsets[b], end = offsets[b + 1];
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    float sum = 0.0f;
    for (int64_t k = begin; k < end; ++k) sum += ValueAt<kFormat>(table, rows[k] * ld + c);
    out[b * dim + c] = sum;
  }
}

// One thread per row, running the shared row body (its loops are serial in
// the column, as on the CPU: row-wise Adagrad's sum of squares must add in
// the same order to give the same bits).
template <RowFormat kFormat>
__global__ void RowUpdatesKernel(void* table, int64_t ld, int dim, kernels::SparseRule rule, kernels::SparseHyper h,
                                 const int64_t* rows, const float* grads, int64_t n, float* state, const uint32_t* keys,
                                 uint32_t first_col) {
  const int64_t u = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (u >= n) return;
  const int64_t r = rows[u];
  float* s = state == nullptr ? nullptr : state + r * kernels::StateFloatsPerRow(rule, dim);
  const float* g = grads + u * dim;
  if constexpr (kFormat == RowFormat::kFp32) {
    kernels::ApplyRule(rule, static_cast<float*>(table) + r * ld, s, g, dim, h);
  } else {
    constexpr HalfType kType = kFormat == RowFormat::kBf16 ? HalfType::kBf16 : HalfType::kFp16;
    const kernels::HalfRowRef<kType> row{static_cast<uint16_t*>(table) + r * ld, keys[u], first_col};
    kernels::ApplyRule(rule, row, s, g, dim, h);
  }
}

}  // namespace

void PoolBags(const DeviceRows& t, const int64_t* rows, const int64_t* offsets, int64_t bags, float* out,
              cudaStream_t stream) {
  if (bags == 0 || t.dim == 0) return;
  SR_CHECK(bags <= 0x7FFFFFFF) << bags << " bags in one launch";
  const int threads = t.dim >= 256 ? 256 : (t.dim + 31) / 32 * 32;
  switch (t.format) {
    case RowFormat::kFp32:
      PoolBagsKernel<RowFormat::kFp32><<<bags, threads, 0, stream>>>(t.data, t.ld, t.dim, rows, offsets, out);
      break;
    case RowFormat::kBf16:
      PoolBagsKernel<RowFormat::kBf16><<<bags, threads, 0, stream>>>(t.data, t.ld, t.dim, rows, offsets, out);
      break;
    case RowFormat::kFp16:
      PoolBagsKernel<RowFormat::kFp16><<<bags, threads, 0, stream>>>(t.data, t.ld, t.dim, rows, offsets, out);
      break;
  }
  SR_CUDA_CHECK(cudaGetLastError());
}

void ApplyRowUpdates(const DeviceRows& t, kernels::SparseRule rule, const kernels::SparseHyper& h, const int64_t* rows,
                     const float* grads, int64_t n, float* state, const uint32_t* keys, uint32_t first_col,
                     cudaStream_t stream) {
  if (n == 0) return;
  SR_CHECK(t.format == RowFormat::kFp32 || keys != nullptr) << "16-bit rows need their rounding keys";
  SR_CHECK(rule == kernels::SparseRule::kSgd || state != nullptr) << "this rule keeps optimizer state";
  constexpr int kThreads = 128;
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  switch (t.format) {
    case RowFormat::kFp32:
      RowUpdatesKernel<RowFormat::kFp32>
          <<<blocks, kThreads, 0, stream>>>(t.data, t.ld, t.dim, rule, h, rows, grads, n, state, keys, first_col);
      break;
    case RowFormat::kBf16:
      RowUpdatesKernel<RowFormat::kBf16>
          <<<blocks, kThreads, 0, stream>>>(t.data, t.ld, t.dim, rule, h, rows, grads, n, state, keys, first_col);
      break;
    case RowFormat::kFp16:
      RowUpdatesKernel<RowFormat::kFp16>
          <<<blocks, kThreads, 0, stream>>>(t.data, t.ld, t.dim, rule, h, rows, grads, n, state, keys, first_col);
      break;
  }
  SR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace shardrec::cuda
