#include "shardrec/nn/interaction.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <utility>

#include "shardrec/core/cpu_dispatch.h"
#include "shardrec/core/error.h"

namespace shardrec {

namespace {
template <typename T>
Eigen::Index CheckInputs(const char* who, const Mat<T>& z, bool with_dense, int dense_dim,
                         const std::vector<Mat<T>>& emb, const std::vector<int>& emb_dims) {
  SR_CHECK(emb.size() == emb_dims.size())
      << who << ": got " << emb.size() << " embedding matrices, expected " << emb_dims.size();
  SR_CHECK(with_dense || !emb.empty()) << who << ": no inputs";
  const Eigen::Index batch = with_dense ? z.rows() : emb[0].rows();
  if (with_dense) {
    SR_CHECK(z.cols() == dense_dim) << who << ": dense input has " << z.cols() << " columns, expected " << dense_dim;
  }
  for (size_t f = 0; f < emb.size(); ++f) {
    SR_CHECK(emb[f].rows() == batch && emb[f].cols() == emb_dims[f])
        << who << ": embedding " << f << " is " << emb[f].rows() << "x" << emb[f].cols() << ", expected " << batch
        << "x" << emb_dims[f];
  }
  return batch;
}
// The per-sample arithmetic of DotInteraction, on blocks of kRows output rows
// x kLanes values held in GCC vector-extension values: each clone of
// SHARDREC_ROW_KERNEL lowers one to a single AVX-512 register (float), two
// AVX2 or four SSE ones, with kRows independent chains of multiply-adds.
// Eigen's products are compiled for the portable baseline (SSE) and, at 27 x
// 27 x 16, spend more in set-up and horizontal sums than in arithmetic.
constexpr int kLanes = 16;
constexpr int kRows = 4;

template <typename T>
struct LaneBlock {
  typedef T type __attribute__((vector_size(kLanes * sizeof(T))));
};
template <typename T>
using Block = typename LaneBlock<T>::type;

// Through pointers, not by value: a vector value crossing a call is an ABI
// question for the baseline clone (these are always inlined anyway).
template <typename T>
__attribute__((always_inline)) inline void LoadBlock(const T* p, Block<T>* v) {
  std::memcpy(v, p, sizeof(*v));  // one unaligned load
}
template <typename T>
__attribute__((always_inline)) inline void StoreBlock(const Block<T>& v, T* p, int w) {
  if (w == kLanes) {
    std::memcpy(p, &v, sizeof(v));
  } else {
    for (int l = 0; l < w; ++l) p[l] = v[l];
  }
}

// acc[r] = sum over k < depth, in order from zero, of a[r * lda + k] times the
// kLanes values at b + k * ldb: kRows rows of A times a depth x kLanes panel of
// B, the one product both passes are made of (kRows independent chains).
template <typename T>
__attribute__((always_inline)) inline void RowsTimesPanel(const T* __restrict a, int lda, const T* __restrict b,
                                                          int ldb, int depth, Block<T>* acc) {
  static_assert(kRows == 4, "one accumulator per row");
  Block<T> acc0 = {}, acc1 = {}, acc2 = {}, acc3 = {};
  for (int k = 0; k < depth; ++k) {
    Block<T> bk;
    LoadBlock(b + k * ldb, &bk);
    acc0 += a[k] * bk;
    acc1 += a[lda + k] * bk;
    acc2 += a[2 * lda + k] * bk;
    acc3 += a[3 * lda + k] * bk;
  }
  acc[0] = acc0;
  acc[1] = acc1;
  acc[2] = acc2;
  acc[3] = acc3;
}

int RoundUp(int n, int to) { return (n + to - 1) / to * to; }

// Where row i of the lower triangle starts among the pairs.
inline int PairOffset(int i, int self) { return i * (i - 1 + 2 * self) / 2; }

// Samples [b0, b1): gathers sample b's n vectors (vector i at in[i] + b * d)
// into `stacked` row b and writes the lower triangle of their Gram matrix S S^T,
// row by row ((i, j) for j < i + self), to y's row b from column `base` on,
// after copying vector 0 (the dense z) to y's first `base` columns. Each dot
// product sums over k in order from zero. Scratch: sp (RoundUp(n, kRows) x d)
// and st (d x np, np = RoundUp(n, kLanes)); the caller zeroes both once, so
// their padding rows and columns (never written here) only feed lanes that
// are discarded.
template <typename T>
__attribute__((always_inline)) inline void GramLowerBlock(const T* const* in, T* __restrict stacked, int64_t b0,
                                                          int64_t b1, int n, int d, int self, T* __restrict sp,
                                                          T* __restrict st, int np, T* __restrict y, int64_t ldy,
                                                          int base) {
  const int64_t block = static_cast<int64_t>(n) * d;
  for (int64_t b = b0; b < b1; ++b) {
    for (int j = 0; j < n; ++j) {
      const T* __restrict v = in[j] + b * d;
      for (int k = 0; k < d; ++k) {
        sp[j * d + k] = v[k];
        st[k * np + j] = v[k];
      }
    }
    std::memcpy(stacked + b * block, sp, sizeof(T) * block);
    T* __restrict out = y + b * ldy;
    std::memcpy(out, sp, sizeof(T) * base);
    out += base;
    for (int i0 = 0; i0 < n; i0 += kRows) {
      const int widest = std::min(i0 + kRows, n) - 1 + self;  // the block's longest row
      const T* __restrict a = sp + i0 * d;
      for (int j0 = 0; j0 < widest; j0 += kLanes) {
        Block<T> acc[kRows];
        RowsTimesPanel(a, d, st + j0, np, d, acc);
        for (int r = 0; r < kRows && i0 + r < n; ++r) {
          const int i = i0 + r;
          const int w = std::min(kLanes, i + self - j0);
          if (w > 0) StoreBlock(acc[r], out + PairOffset(i, self) + j0, w);
        }
      }
    }
  }
}

// Samples [b0, b1): the gradient of vector i, (G + G^T) S's row i, G holding
// the output gradients (dy's row b from column `base` on) at the pairs'
// positions (a self pair lands twice on the diagonal: the 2 v_i of
// d(v_i . v_i)), written to grad[i] + b * d; vector 0 also gets dy's first
// `base` columns (z passes through to the output). Each row sums over j in
// order from zero. Scratch: sym (RoundUp(n, kRows) x n, padding rows zeroed
// once by the caller) and ds (n x d).
template <typename T>
__attribute__((always_inline)) inline void GramBackwardBlock(const T* __restrict stacked, const T* __restrict dy,
                                                             int64_t lddy, int base, int64_t b0, int64_t b1, int n,
                                                             int d, int self, T* __restrict sym, T* __restrict ds,
                                                             T* const* grad) {
  const int64_t block = static_cast<int64_t>(n) * d;
  for (int64_t b = b0; b < b1; ++b) {
    const T* __restrict s = stacked + b * block;
    const T* __restrict g = dy + b * lddy + base;
    for (int q = 0; q < n * n; ++q) sym[q] = T(0);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < i + self; ++j, ++g) {
        sym[i * n + j] += *g;
        sym[j * n + i] += *g;
      }
    }
    for (int i0 = 0; i0 < n; i0 += kRows) {
      const T* __restrict g0 = sym + i0 * n;
      int k0 = 0;
      for (; k0 + kLanes <= d; k0 += kLanes) {
        Block<T> acc[kRows];
        RowsTimesPanel(g0, n, s + k0, d, n, acc);
        for (int r = 0; r < kRows && i0 + r < n; ++r) StoreBlock(acc[r], ds + (i0 + r) * d + k0, kLanes);
      }
      for (int r = 0; r < kRows && i0 + r < n; ++r) {
        for (int k = k0; k < d; ++k) {  // the last d mod kLanes columns
          T acc = T(0);
          for (int j = 0; j < n; ++j) acc += g0[r * n + j] * s[j * d + k];
          ds[(i0 + r) * d + k] = acc;
        }
      }
    }
    const T* __restrict passed = dy + b * lddy;
    for (int i = 0; i < n; ++i) {
      T* __restrict out = grad[i] + b * d;
      if (i == 0 && base > 0) {
        for (int k = 0; k < d; ++k) out[k] = passed[k] + ds[k];
      } else {
        std::memcpy(out, ds + i * d, sizeof(T) * d);
      }
    }
  }
}

SHARDREC_ROW_KERNEL void GramLowerKernel(const float* const* in, float* stacked, int64_t b0, int64_t b1, int n, int d,
                                         int self, float* sp, float* st, int np, float* y, int64_t ldy, int base) {
  GramLowerBlock(in, stacked, b0, b1, n, d, self, sp, st, np, y, ldy, base);
}
SHARDREC_ROW_KERNEL void GramLowerKernel(const double* const* in, double* stacked, int64_t b0, int64_t b1, int n, int d,
                                         int self, double* sp, double* st, int np, double* y, int64_t ldy, int base) {
  GramLowerBlock(in, stacked, b0, b1, n, d, self, sp, st, np, y, ldy, base);
}
SHARDREC_ROW_KERNEL void GramBackwardKernel(const float* stacked, const float* dy, int64_t lddy, int base, int64_t b0,
                                            int64_t b1, int n, int d, int self, float* sym, float* ds,
                                            float* const* grad) {
  GramBackwardBlock(stacked, dy, lddy, base, b0, b1, n, d, self, sym, ds, grad);
}
SHARDREC_ROW_KERNEL void GramBackwardKernel(const double* stacked, const double* dy, int64_t lddy, int base, int64_t b0,
                                            int64_t b1, int n, int d, int self, double* sym, double* ds,
                                            double* const* grad) {
  GramBackwardBlock(stacked, dy, lddy, base, b0, b1, n, d, self, sym, ds, grad);
}

constexpr int64_t kSamplesPerTask = 32;
}  // namespace

template <typename T>
DotInteraction<T>::DotInteraction(int num_sparse, int dim, bool self, bool with_dense)
    : num_sparse_(num_sparse),
      dim_(dim),
      self_(self),
      with_dense_(with_dense),
      n_(num_sparse + (with_dense ? 1 : 0)),
      num_pairs_(self ? n_ * (n_ + 1) / 2 : n_ * (n_ - 1) / 2) {
  SR_CHECK(num_sparse >= 0 && dim > 0) << "DotInteraction: bad shape " << num_sparse << " features of dim " << dim;
  SR_CHECK(n_ > 0) << "DotInteraction: no vectors to interact";
}

template <typename T>
void DotInteraction<T>::Forward(const Mat<T>& z, const std::vector<Mat<T>>& emb, Mat<T>* y) {
  const Eigen::Index batch =
      CheckInputs("DotInteraction", z, with_dense_, dim_, emb, std::vector<int>(num_sparse_, dim_));
  const int d = dim_;
  std::vector<const T*> in;
  if (with_dense_) in.push_back(z.data());
  for (const Mat<T>& e : emb) in.push_back(e.data());
  stacked_.resize(batch, static_cast<Eigen::Index>(n_) * d);
  y->resize(batch, output_dim());
  const int np = RoundUp(n_, kLanes);
  const int64_t tasks = (batch + kSamplesPerTask - 1) / kSamplesPerTask;
#pragma omp parallel if (tasks > 1)
  {
    std::vector<T> sp(static_cast<size_t>(RoundUp(n_, kRows)) * d, T(0));
    std::vector<T> st(static_cast<size_t>(d) * np, T(0));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t b0 = t * kSamplesPerTask, b1 = std::min<int64_t>(batch, b0 + kSamplesPerTask);
      GramLowerKernel(in.data(), stacked_.data(), b0, b1, n_, d, self_ ? 1 : 0, sp.data(), st.data(), np, y->data(),
                      y->cols(), with_dense_ ? d : 0);
    }
  }
}

template <typename T>
void DotInteraction<T>::Backward(const Mat<T>& dy, Mat<T>* dz, std::vector<Mat<T>>* demb) {
  const Eigen::Index batch = stacked_.rows();
  SR_CHECK(dy.rows() == batch && dy.cols() == output_dim())
      << "DotInteraction: output gradient is " << dy.rows() << "x" << dy.cols() << ", expected " << batch << "x"
      << output_dim();
  SR_CHECK(!with_dense_ || dz != nullptr) << "DotInteraction: dz is required with a dense input";
  const int d = dim_;
  std::vector<T*> grad;
  if (with_dense_) {
    dz->resize(batch, d);
    grad.push_back(dz->data());
  }
  demb->resize(num_sparse_);
  for (Mat<T>& g : *demb) {
    g.resize(batch, d);
    grad.push_back(g.data());
  }
  const int64_t tasks = (batch + kSamplesPerTask - 1) / kSamplesPerTask;
#pragma omp parallel if (tasks > 1)
  {
    std::vector<T> sym(static_cast<size_t>(RoundUp(n_, kRows)) * n_, T(0));
    std::vector<T> ds(static_cast<size_t>(n_) * d);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t b0 = t * kSamplesPerTask, b1 = std::min<int64_t>(batch, b0 + kSamplesPerTask);
      GramBackwardKernel(stacked_.data(), dy.data(), dy.cols(), with_dense_ ? d : 0, b0, b1, n_, d, self_ ? 1 : 0,
                         sym.data(), ds.data(), grad.data());
    }
  }
}

template <typename T>
ConcatInteraction<T>::ConcatInteraction(int dense_dim, std::vector<int> emb_dims, bool with_dense)
    : dense_dim_(with_dense ? dense_dim : 0), emb_dims_(std::move(emb_dims)), with_dense_(with_dense) {
  SR_CHECK(!with_dense || dense_dim > 0) << "ConcatInteraction: dense width must be positive";
  for (int w : emb_dims_) SR_CHECK(w > 0) << "ConcatInteraction: embedding widths must be positive";
  output_dim_ = dense_dim_ + std::accumulate(emb_dims_.begin(), emb_dims_.end(), 0);
  SR_CHECK(output_dim_ > 0) << "ConcatInteraction: no inputs";
}

template <typename T>
void ConcatInteraction<T>::Forward(const Mat<T>& z, const std::vector<Mat<T>>& emb, Mat<T>* y) {
  const Eigen::Index batch = CheckInputs("ConcatInteraction", z, with_dense_, dense_dim_, emb, emb_dims_);
  y->resize(batch, output_dim_);
  Eigen::Index col = 0;
  if (with_dense_) {
    y->leftCols(dense_dim_) = z;
    col = dense_dim_;
  }
  for (size_t f = 0; f < emb.size(); ++f) {
    y->middleCols(col, emb_dims_[f]) = emb[f];
    col += emb_dims_[f];
  }
}

template <typename T>
void ConcatInteraction<T>::Backward(const Mat<T>& dy, Mat<T>* dz, std::vector<Mat<T>>* demb) {
  SR_CHECK(dy.cols() == output_dim_) << "ConcatInteraction: output gradient has " << dy.cols() << " columns, expected "
                                     << output_dim_;
  Eigen::Index col = 0;
  if (with_dense_) {
    SR_CHECK(dz != nullptr) << "ConcatInteraction: dz is required with a dense input";
    *dz = dy.leftCols(dense_dim_);
    col = dense_dim_;
  }
  demb->resize(emb_dims_.size());
  for (size_t f = 0; f < emb_dims_.size(); ++f) {
    (*demb)[f] = dy.middleCols(col, emb_dims_[f]);
    col += emb_dims_[f];
  }
}

template class DotInteraction<float>;
template class DotInteraction<double>;
template class ConcatInteraction<float>;
template class ConcatInteraction<double>;

}  // namespace shardrec
