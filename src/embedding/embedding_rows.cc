#include "shardrec/embedding/embedding_rows.h"

#include <cstring>

#include "cpu/embedding_bag.h"
#include "shardrec/core/cpu_dispatch.h"
#include "shardrec/core/error.h"

namespace shardrec {
namespace {

// One bag of 16-bit rows, vectorised for the CPU at hand (the widening is
// integer and select arithmetic that baseline SSE2 does 4 values at a time).
SHARDREC_ROW_KERNEL void PoolBf16(const uint16_t* table, int64_t ld, const int64_t* rows, int64_t n, int cols,
                                  float* out) {
  kernels::PoolRowsSum<HalfType::kBf16>(table, ld, rows, n, cols, out);
}
SHARDREC_ROW_KERNEL void PoolFp16(const uint16_t* table, int64_t ld, const int64_t* rows, int64_t n, int cols,
                                  float* out) {
  kernels::PoolRowsSum<HalfType::kFp16>(table, ld, rows, n, cols, out);
}

// One optimizer step on one 16-bit row, in a single pass (see ApplyOptimizer).
SHARDREC_ROW_KERNEL void UpdateBf16Row(const SparseOptimizer& opt, const kernels::SparseHyper& h, uint16_t* row,
                                       int cols, float* state, const float* grad, uint32_t key, uint32_t first) {
  opt.Apply(h, kernels::HalfRowRef<HalfType::kBf16>{row, key, first}, state, grad, cols);
}
SHARDREC_ROW_KERNEL void UpdateFp16Row(const SparseOptimizer& opt, const kernels::SparseHyper& h, uint16_t* row,
                                       int cols, float* state, const float* grad, uint32_t key, uint32_t first) {
  opt.Apply(h, kernels::HalfRowRef<HalfType::kFp16>{row, key, first}, state, grad, cols);
}

}  // namespace

void EmbeddingRows::Allocate(config::DType dtype, int64_t rows, int cols) {
  dtype_ = dtype;
  rows_ = rows;
  cols_ = cols;
  const size_t n = static_cast<size_t>(rows) * cols;
  f32_.clear();
  h16_.clear();
  if (dtype == config::FP32) {
    f32_.assign(n, 0.0f);
  } else {
    SR_CHECK(dtype == config::BF16 || dtype == config::FP16)
        << "no embedding storage type " << config::DType_Name(dtype);
    h16_.assign(n, 0);
  }
}

const void* EmbeddingRows::address(int64_t r) const {
  return dtype_ == config::FP32 ? static_cast<const void*>(f32_.data() + r * cols_)
                                : static_cast<const void*>(h16_.data() + r * cols_);
}

void EmbeddingRows::Read(int64_t r, float* out) const {
  if (dtype_ == config::FP32) {
    std::memcpy(out, f32_.data() + r * cols_, sizeof(float) * cols_);
  } else {
    WidenRow(half(), h16_.data() + r * cols_, cols_, out);
  }
}

void EmbeddingRows::Write(int64_t r, const float* in) {
  if (dtype_ == config::FP32) {
    std::memcpy(f32_.data() + r * cols_, in, sizeof(float) * cols_);
  } else {
    NarrowRow(half(), in, cols_, h16_.data() + r * cols_);
  }
}

void EmbeddingRows::PoolSum(const int64_t* rows, int64_t n, float* out) const {
  switch (dtype_) {
    case config::FP32: kernels::PoolRowsSum(f32_.data(), cols_, rows, n, cols_, out); break;
    case config::BF16: PoolBf16(h16_.data(), cols_, rows, n, cols_, out); break;
    case config::FP16: PoolFp16(h16_.data(), cols_, rows, n, cols_, out); break;
  }
}

void EmbeddingRows::ApplyOptimizer(const SparseOptimizer& opt, const kernels::SparseHyper& h, int64_t r, float* state,
                                   const float* grad, uint32_t key, uint32_t first_col) {
  switch (dtype_) {
    case config::FP32: opt.Apply(h, f32_.data() + r * cols_, state, grad, cols_); break;
    case config::BF16: UpdateBf16Row(opt, h, h16_.data() + r * cols_, cols_, state, grad, key, first_col); break;
    case config::FP16: UpdateFp16Row(opt, h, h16_.data() + r * cols_, cols_, state, grad, key, first_col); break;
  }
}

}  // namespace shardrec
