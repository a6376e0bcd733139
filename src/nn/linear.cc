#include "shardrec/nn/linear.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include "shardrec/core/cpu_dispatch.h"
#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"

namespace shardrec {

namespace {
// Fills m row-major from one generator, so the values depend only on (seed, stream, index)
// and the shape — never on T beyond the final rounding.
template <typename Dense>
void FillNormal(uint64_t seed, uint64_t stream, uint64_t index, double stddev, Dense* m) {
  CounterRng rng(seed, stream, index);
  using T = typename Dense::Scalar;
  T* p = m->data();
  for (Eigen::Index i = 0; i < m->size(); ++i) p[i] = static_cast<T>(stddev * rng.Normal());
}
// The rows of one block of `width` columns (row stride `stride`): masked = dy
// where y > 0 (the ReLU's derivative; the kink at 0 gets 0), or dy itself
// without y, and acc += the column sums, row after row. Branch-free, so it
// vectorises: dy is read unconditionally and selected.
template <typename T>
__attribute__((always_inline)) inline void MaskAndSumBlock(const T* __restrict dy, const T* __restrict y,
                                                           T* __restrict masked, T* __restrict acc, int64_t rows,
                                                           int64_t stride, int64_t width) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* __restrict d = dy + i * stride;
    if (y == nullptr) {
      for (int64_t j = 0; j < width; ++j) acc[j] += d[j];
      continue;
    }
    const T* __restrict out = y + i * stride;
    T* __restrict m = masked + i * stride;
    for (int64_t j = 0; j < width; ++j) {
      const T v = d[j];
      const T kept = out[j] > T(0) ? v : T(0);
      m[j] = kept;
      acc[j] += kept;
    }
  }
}
SHARDREC_ROW_KERNEL void MaskAndSumKernel(const float* dy, const float* y, float* masked, float* acc, int64_t rows,
                                          int64_t stride, int64_t width) {
  MaskAndSumBlock(dy, y, masked, acc, rows, stride, width);
}
SHARDREC_ROW_KERNEL void MaskAndSumKernel(const double* dy, const double* y, double* masked, double* acc, int64_t rows,
                                          int64_t stride, int64_t width) {
  MaskAndSumBlock(dy, y, masked, acc, rows, stride, width);
}

// One pass over dy: *masked = dy through the ReLU whose output is y (no mask
// and no output without y), and *sum = the column sums. Threads take fixed
// chunks of rows (whatever the thread count), each summing its rows in order
// into its own partial row; the partials are then added in chunk order. So the
// sums do not depend on the thread count, and every read and write runs along
// whole rows (blocks of columns walked down the rows were 2-3x slower: strided
// streams through three matrices).
template <typename T>
void MaskAndSumColumns(const Mat<T>& dy, const Mat<T>* y, Mat<T>* masked, RowVec<T>* sum) {
  const int64_t rows = dy.rows(), cols = dy.cols();
  constexpr int64_t kChunkRows = 64;
  const int64_t chunks = (rows + kChunkRows - 1) / kChunkRows;
  std::vector<T> partial(static_cast<size_t>(chunks * cols), T(0));
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 15))
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t r0 = c * kChunkRows, offset = r0 * cols;
    MaskAndSumKernel(dy.data() + offset, y == nullptr ? nullptr : y->data() + offset,
                     masked == nullptr ? nullptr : masked->data() + offset, partial.data() + c * cols,
                     std::min(kChunkRows, rows - r0), cols, cols);
  }
  sum->setZero(cols);
  T* out = sum->data();
  for (int64_t c = 0; c < chunks; ++c) {
    const T* p = partial.data() + c * cols;
    for (int64_t j = 0; j < cols; ++j) out[j] += p[j];
  }
}
}  // namespace

template <typename T>
Linear<T>::Linear(int in, int out, uint64_t seed, uint64_t stream, std::string name, bool relu)
    : name_(std::move(name)),
      weight_(in, out),
      bias_(out),
      weight_grad_(Mat<T>::Zero(in, out)),
      bias_grad_(RowVec<T>::Zero(out)),
      relu_(relu) {
  SR_CHECK(in > 0 && out > 0) << name_ << ": layer widths must be positive, got " << in << " -> " << out;
  FillNormal(seed, stream, 0, std::sqrt(2.0 / (in + out)), &weight_);
  FillNormal(seed, stream, 1, std::sqrt(1.0 / out), &bias_);
}

template <typename T>
void Linear<T>::Forward(const Mat<T>& x, Mat<T>* y) {
  SR_CHECK(x.cols() == weight_.rows()) << name_ << ": input has " << x.cols() << " columns, expected "
                                       << weight_.rows();
  input_ = &x;
  output_ = y;
  MatMul(compute_, x, Trans::kNo, weight_, Trans::kNo, y, T(0), GemmOptions<T>{bias_.data(), relu_, rows_vary_});
}

template <typename T>
void Linear<T>::Backward(const Mat<T>& dy, Mat<T>* dx) {
  SR_CHECK(input_ != nullptr) << name_ << ": Backward before Forward";
  SR_CHECK(dy.rows() == input_->rows() && dy.cols() == weight_.cols())
      << name_ << ": output gradient is " << dy.rows() << "x" << dy.cols() << ", expected " << input_->rows() << "x"
      << weight_.cols();
  const Mat<T>* g = &dy;
  if (relu_) {
    SR_CHECK(output_->rows() == dy.rows() && output_->cols() == dy.cols())
        << name_ << ": the output was resized between Forward and Backward";
    masked_dy_.resize(dy.rows(), dy.cols());
    MaskAndSumColumns(dy, output_, &masked_dy_, &bias_grad_);
    g = &masked_dy_;
  } else {
    MaskAndSumColumns<T>(dy, nullptr, nullptr, &bias_grad_);
  }
  MatMul(compute_, *input_, Trans::kYes, *g, Trans::kNo, &weight_grad_, T(0),
         GemmOptions<T>{nullptr, false, rows_vary_});
  if (dx != nullptr)
    MatMul(compute_, *g, Trans::kNo, weight_, Trans::kYes, dx, T(0), GemmOptions<T>{nullptr, false, rows_vary_});
}

template <typename T>
void Linear<T>::set_compute(ComputeType type) {
  SR_CHECK((std::is_same_v<T, float> || type == ComputeType::kFp32))
      << name_ << ": compute type " << ComputeTypeName(type)
      << " applies to float layers; double layers compute in double";
  compute_ = type;
}

template <typename T>
std::vector<ParamRef<T>> Linear<T>::Params() {
  return {{name_ + ".weight", weight_.data(), weight_grad_.data(), static_cast<size_t>(weight_.size())},
          {name_ + ".bias", bias_.data(), bias_grad_.data(), static_cast<size_t>(bias_.size())}};
}

template class Linear<float>;
template class Linear<double>;

}  // namespace shardrec
