#include "shardrec/nn/interaction.h"

#include <numeric>
#include <utility>

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
}  // namespace

template <typename T>
DotInteraction<T>::DotInteraction(int num_sparse, int dim, bool self, bool with_dense)
    : num_sparse_(num_sparse), dim_(dim), self_(self), with_dense_(with_dense), n_(num_sparse + (with_dense ? 1 : 0)) {
  SR_CHECK(num_sparse >= 0 && dim > 0) << "DotInteraction: bad shape " << num_sparse << " features of dim " << dim;
  SR_CHECK(n_ > 0) << "DotInteraction: no vectors to interact";
  for (int i = 0; i < n_; ++i) {
    for (int j = 0; j < (self ? i + 1 : i); ++j) pairs_.emplace_back(i, j);
  }
}

template <typename T>
void DotInteraction<T>::Forward(const Mat<T>& z, const std::vector<Mat<T>>& emb, Mat<T>* y) {
  const Eigen::Index batch =
      CheckInputs("DotInteraction", z, with_dense_, dim_, emb, std::vector<int>(num_sparse_, dim_));
  const int d = dim_;
  const int first_emb = with_dense_ ? 1 : 0;
  stacked_.resize(batch, static_cast<Eigen::Index>(n_) * d);
  if (with_dense_) stacked_.leftCols(d) = z;
  for (int f = 0; f < num_sparse_; ++f) stacked_.middleCols(static_cast<Eigen::Index>(f + first_emb) * d, d) = emb[f];

  y->resize(batch, output_dim());
  if (with_dense_) y->leftCols(d) = z;
  const int base = with_dense_ ? d : 0;
  const int self = self_ ? 1 : 0;
  // Row i of the lower triangle is one small product, v_i against v_0..v_{i-1} (or v_i),
  // written straight into the output; cheaper than a full Gram matrix and a gather.
#pragma omp parallel for schedule(static)
  for (Eigen::Index b = 0; b < batch; ++b) {
    ConstMatMap<T> s(stacked_.row(b).data(), n_, d);
    T* out = y->row(b).data() + base;
    for (int i = 0; i < n_; ++i) {
      const int len = i + self;
      Eigen::Map<RowVec<T>>(out, len).noalias() = s.row(i).lazyProduct(s.topRows(len).transpose());
      out += len;
    }
  }
}

template <typename T>
void DotInteraction<T>::Backward(const Mat<T>& dy, Mat<T>* dz, std::vector<Mat<T>>* demb) {
  const Eigen::Index batch = stacked_.rows();
  SR_CHECK(dy.rows() == batch && dy.cols() == output_dim())
      << "DotInteraction: output gradient is " << dy.rows() << "x" << dy.cols() << ", expected " << batch << "x"
      << output_dim();
  const int d = dim_;
  const int base = with_dense_ ? d : 0;
  const int num_pairs = this->num_pairs();
  stacked_grad_.resize(batch, static_cast<Eigen::Index>(n_) * d);
#pragma omp parallel
  {
    // d(v_i·v_j) = v_j dv_i + v_i dv_j, so the stacked gradient is (G + G^T) S with G holding
    // the output gradients at the pairs' positions; a self pair lands twice on the diagonal,
    // which is the 2 v_i of d(v_i·v_i).
    Mat<T> sym(n_, n_);
#pragma omp for schedule(static)
    for (Eigen::Index b = 0; b < batch; ++b) {
      sym.setZero();
      const T* g = dy.row(b).data() + base;
      for (int p = 0; p < num_pairs; ++p) {
        sym(pairs_[p].first, pairs_[p].second) += g[p];
        sym(pairs_[p].second, pairs_[p].first) += g[p];
      }
      ConstMatMap<T> s(stacked_.row(b).data(), n_, d);
      MatMap<T> ds(stacked_grad_.row(b).data(), n_, d);
      // lazyProduct: a GEMM call per sample (what EIGEN_USE_BLAS makes of a
      // plain product this size) costs more in set-up than the 27x27x16 product.
      ds.noalias() = sym.lazyProduct(s);
    }
  }
  if (with_dense_) {
    SR_CHECK(dz != nullptr) << "DotInteraction: dz is required with a dense input";
    *dz = dy.leftCols(d) + stacked_grad_.leftCols(d);
  }
  const int first_emb = with_dense_ ? 1 : 0;
  demb->resize(num_sparse_);
  for (int f = 0; f < num_sparse_; ++f) {
    (*demb)[f] = stacked_grad_.middleCols(static_cast<Eigen::Index>(f + first_emb) * d, d);
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
