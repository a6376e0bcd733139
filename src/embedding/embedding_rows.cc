#include "shardrec/embedding/embedding_rows.h"

#include <cstring>

#include "cpu/embedding_bag.h"
#include "shardrec/core/error.h"

namespace shardrec {

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

void EmbeddingRows::WriteStochastic(int64_t r, const float* in, uint32_t key, uint32_t first_col) {
  NarrowRowStochastic(half(), in, cols_, key, first_col, h16_.data() + r * cols_);
}

void EmbeddingRows::PoolSum(const int64_t* rows, int64_t n, float* out) const {
  switch (dtype_) {
    case config::FP32: kernels::PoolRowsSum(f32_.data(), cols_, rows, n, cols_, out); break;
    case config::BF16: kernels::PoolRowsSum<HalfType::kBf16>(h16_.data(), cols_, rows, n, cols_, out); break;
    case config::FP16: kernels::PoolRowsSum<HalfType::kFp16>(h16_.data(), cols_, rows, n, cols_, out); break;
  }
}

float* EmbeddingRows::Scratch() const {
  thread_local std::vector<float> scratch;
  if (scratch.size() < static_cast<size_t>(cols_)) scratch.resize(cols_);
  return scratch.data();
}

}  // namespace shardrec
