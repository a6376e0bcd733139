#include "shardrec/nn/softmax_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "shardrec/core/error.h"

namespace shardrec {
namespace {

constexpr int kTile = 64;

template <typename T>
void CheckShapes(const SequenceLayout& layout, const Mat<T>& q, const Mat<T>& k, const Mat<T>& v, int heads) {
  SR_CHECK(q.rows() == layout.tokens() && k.rows() == q.rows() && v.rows() == q.rows())
      << "softmax attention: Q/K/V have " << q.rows() << "/" << k.rows() << "/" << v.rows() << " rows, the layout "
      << layout.tokens() << " tokens";
  SR_CHECK(heads > 0 && q.cols() % heads == 0 && k.cols() == q.cols() && v.cols() % heads == 0)
      << "softmax attention: widths " << q.cols() << "/" << k.cols() << "/" << v.cols() << " do not split into "
      << heads << " heads";
}

// Row-wise causal softmax of one tile of scaled scores, rows i0.., keys 0..keys-1.
template <typename Tile>
void CausalSoftmaxRows(int i0, Tile* s) {
  using T = typename Tile::Scalar;
  for (Eigen::Index r = 0; r < s->rows(); ++r) {
    const int last = i0 + static_cast<int>(r);  // keys 0..last are visible
    T mx = -std::numeric_limits<T>::infinity();
    for (int j = 0; j <= last; ++j) mx = std::max(mx, (*s)(r, j));
    T sum = 0;
    for (int j = 0; j <= last; ++j) sum += ((*s)(r, j) = std::exp((*s)(r, j) - mx));
    const T inv = T(1) / sum;
    for (int j = 0; j <= last; ++j) (*s)(r, j) *= inv;
    for (Eigen::Index j = last + 1; j < s->cols(); ++j) (*s)(r, j) = T(0);
  }
}

}  // namespace

template <typename T>
void CausalSoftmaxAttentionForward(const SequenceLayout& layout, const Mat<T>& q, const Mat<T>& k, const Mat<T>& v,
                                   int heads, Mat<T>* out) {
  CheckShapes(layout, q, k, v, heads);
  const int d = static_cast<int>(q.cols()) / heads, dv = static_cast<int>(v.cols()) / heads;
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  out->resize(q.rows(), v.cols());
  const int64_t items = layout.batch() * heads;
#pragma omp parallel
  {
    Mat<T> p;
#pragma omp for schedule(dynamic, 1)
    for (int64_t w = 0; w < items; ++w) {
      const int64_t b = w / heads;
      const int h = static_cast<int>(w % heads);
      const int64_t off = layout.offsets[b];
      const int len = layout.length(b);
      for (int i0 = 0; i0 < len; i0 += kTile) {
        const int n = std::min(kTile, len - i0), keys = i0 + n;
        p.resize(n, keys);
        p.noalias() = scale * (q.block(off + i0, h * d, n, d) * k.block(off, h * d, keys, d).transpose());
        CausalSoftmaxRows(i0, &p);
        out->block(off + i0, h * dv, n, dv).noalias() = p * v.block(off, h * dv, keys, dv);
      }
    }
  }
}

template <typename T>
void CausalSoftmaxAttentionBackward(const SequenceLayout& layout, const Mat<T>& q, const Mat<T>& k, const Mat<T>& v,
                                    int heads, const Mat<T>& dout, Mat<T>* dq, Mat<T>* dk, Mat<T>* dv_out) {
  CheckShapes(layout, q, k, v, heads);
  SR_CHECK(dout.rows() == v.rows() && dout.cols() == v.cols()) << "softmax attention backward: gradient shape";
  const int d = static_cast<int>(q.cols()) / heads, dv = static_cast<int>(v.cols()) / heads;
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  dq->resize(q.rows(), q.cols());
  dk->setZero(k.rows(), k.cols());
  dv_out->setZero(v.rows(), v.cols());
  const int64_t items = layout.batch() * heads;
#pragma omp parallel
  {
    Mat<T> p, dp;
#pragma omp for schedule(dynamic, 1)
    for (int64_t w = 0; w < items; ++w) {
      const int64_t b = w / heads;
      const int h = static_cast<int>(w % heads);
      const int64_t off = layout.offsets[b];
      const int len = layout.length(b);
      for (int i0 = 0; i0 < len; i0 += kTile) {
        const int n = std::min(kTile, len - i0), keys = i0 + n;
        auto qt = q.block(off + i0, h * d, n, d);
        auto kt = k.block(off, h * d, keys, d);
        auto vt = v.block(off, h * dv, keys, dv);
        auto dot = dout.block(off + i0, h * dv, n, dv);
        p.resize(n, keys);
        p.noalias() = scale * (qt * kt.transpose());
        CausalSoftmaxRows(i0, &p);
        dp.resize(n, keys);
        dp.noalias() = dot * vt.transpose();
        // Softmax backward: dS = P .* (dP - rowsum(dP .* P)), then the 1/sqrt(d) scale.
        for (int r = 0; r < n; ++r) {
          const T c = p.row(r).dot(dp.row(r));
          dp.row(r) = (p.row(r).array() * (dp.row(r).array() - c) * scale).matrix();
        }
        dv_out->block(off, h * dv, keys, dv).noalias() += p.transpose() * dot;
        dq->block(off + i0, h * d, n, d).noalias() = dp * kt;
        dk->block(off, h * d, keys, d).noalias() += dp.transpose() * qt;
      }
    }
  }
}

template void CausalSoftmaxAttentionForward<float>(const SequenceLayout&, const Mat<float>&, const Mat<float>&,
                                                   const Mat<float>&, int, Mat<float>*);
template void CausalSoftmaxAttentionForward<double>(const SequenceLayout&, const Mat<double>&, const Mat<double>&,
                                                    const Mat<double>&, int, Mat<double>*);
template void CausalSoftmaxAttentionBackward<float>(const SequenceLayout&, const Mat<float>&, const Mat<float>&,
                                                    const Mat<float>&, int, const Mat<float>&, Mat<float>*, Mat<float>*,
                                                    Mat<float>*);
template void CausalSoftmaxAttentionBackward<double>(const SequenceLayout&, const Mat<double>&, const Mat<double>&,
                                                     const Mat<double>&, int, const Mat<double>&, Mat<double>*,
                                                     Mat<double>*, Mat<double>*);

}  // namespace shardrec
