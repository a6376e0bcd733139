// The weight rows of one embedding shard in their storage type: fp32, or bf16 /
// fp16 for half the bytes. 16-bit rows are read widened to fp32 (pooling
// accumulates in fp32) and written back after an update with stochastic
// rounding; there is no fp32 master copy, which would cost more than the fp32
// rows it replaces (see docs/mixed_precision.md for why stochastic rounding).
#pragma once

#include <cstdint>
#include <vector>

#include "config.pb.h"
#include "shardrec/core/half_rows.h"
#include "shardrec/core/huge_page_allocator.h"
#include "shardrec/embedding/sparse_optimizer.h"

namespace shardrec {

class EmbeddingRows {
 public:
  void Allocate(config::DType dtype, int64_t rows, int cols);

  config::DType dtype() const { return dtype_; }
  int64_t rows() const { return rows_; }
  int cols() const { return cols_; }
  size_t element_bytes() const { return dtype_ == config::FP32 ? 4 : 2; }
  size_t bytes() const { return static_cast<size_t>(rows_) * cols_ * element_bytes(); }
  // Start of row r's stored bytes (for prefetching and raw I/O).
  const void* address(int64_t r) const;
  void* raw() { return dtype_ == config::FP32 ? static_cast<void*>(f32_.data()) : static_cast<void*>(h16_.data()); }
  const void* raw() const { return const_cast<EmbeddingRows*>(this)->raw(); }

  // out[0..cols) = row r in fp32 (exact).
  void Read(int64_t r, float* out) const;
  // Row r = in, rounded to the nearest stored value (initialisation, copies).
  void Write(int64_t r, const float* in);
  // out[0..cols) = sum of rows[0..n), accumulated in fp32.
  void PoolSum(const int64_t* rows, int64_t n, float* out) const;

  // Applies the sparse optimizer to row r, with the row's state and gradient.
  // FP32 rows are updated in place; 16-bit rows are widened, updated and
  // stored with stochastic rounding element by element in one vectorised pass
  // (kernels::HalfRowRef), the random bits a pure function of (key, first_col
  // + column), so the result does not depend on the rank or thread that
  // applies it.
  void ApplyOptimizer(const SparseOptimizer& opt, const kernels::SparseHyper& h, int64_t r, float* state,
                      const float* grad, uint32_t key, uint32_t first_col);

 private:
  HalfType half() const { return dtype_ == config::BF16 ? HalfType::kBf16 : HalfType::kFp16; }

  config::DType dtype_ = config::FP32;
  int64_t rows_ = 0;
  int cols_ = 0;
  std::vector<float, HugePageAllocator<float>> f32_;        // FP32 storage
  std::vector<uint16_t, HugePageAllocator<uint16_t>> h16_;  // BF16 / FP16 storage
};

}  // namespace shardrec
