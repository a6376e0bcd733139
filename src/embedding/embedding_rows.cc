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

float* EmbeddingRows::Scratch() const {
  thread_local std::vector<float> scratch;
  if (scratch.size() < static_cast<size_t>(cols_)) scratch.resize(cols_);
  return scratch.data();
}

}  // namespace shardrec
