// Feature interactions of DLRM: combine the bottom-MLP output z (B x d) with the
// F embedding lookups (each B x d_f) into the top MLP's input.
#pragma once

#include <vector>

#include "shardrec/core/matrix.h"

namespace shardrec {

// The common face of the interactions, so a model can hold either.
template <typename T>
class Interaction {
 public:
  virtual ~Interaction() = default;
  // z: B x dense width (ignored without a dense part); emb: F matrices of B x d_f.
  virtual void Forward(const Mat<T>& z, const std::vector<Mat<T>>& emb, Mat<T>* y) = 0;
  // dy: B x output_dim(). Writes dz (unless there is no dense part, when it may be null)
  // and resizes *demb to the F embedding gradients.
  virtual void Backward(const Mat<T>& dy, Mat<T>* dz, std::vector<Mat<T>>* demb) = 0;
  virtual int output_dim() const = 0;
};

// Per sample, stacks the vectors v_0 = z, v_1..v_F = embeddings (n = F + 1 of them, all of
// width d) and outputs concat(z, [v_i · v_j for i > j]), adding the i == j terms when
// `self` is set. The pairs are ordered row by row of the lower triangle:
// (1,0), (2,0), (2,1), (3,0), ... (with self: (0,0), (1,0), (1,1), (2,0), ...).
// Without a dense part (with_dense = false) the vectors are the F embeddings only, the
// output is just their dot products, and z is ignored.
template <typename T>
class DotInteraction : public Interaction<T> {
 public:
  DotInteraction(int num_sparse, int dim, bool self, bool with_dense = true);

  // Packs its inputs into an owned buffer, so they need not outlive this call.
  void Forward(const Mat<T>& z, const std::vector<Mat<T>>& emb, Mat<T>* y) override;
  void Backward(const Mat<T>& dy, Mat<T>* dz, std::vector<Mat<T>>* demb) override;

  int num_vectors() const { return n_; }
  int num_pairs() const { return num_pairs_; }
  int output_dim() const override { return (with_dense_ ? dim_ : 0) + num_pairs(); }

 private:
  int num_sparse_;
  int dim_;
  bool self_;
  bool with_dense_;
  int n_;           // vectors per sample
  int num_pairs_;   // n (n - 1) / 2, or n (n + 1) / 2 with self
  Mat<T> stacked_;  // B x (n * dim): sample b's n x dim matrix in row b
};

// Output concat(z, emb_0, ..., emb_{F-1}); widths may differ. Without a dense part z is
// ignored.
template <typename T>
class ConcatInteraction : public Interaction<T> {
 public:
  ConcatInteraction(int dense_dim, std::vector<int> emb_dims, bool with_dense = true);

  void Forward(const Mat<T>& z, const std::vector<Mat<T>>& emb, Mat<T>* y) override;
  void Backward(const Mat<T>& dy, Mat<T>* dz, std::vector<Mat<T>>* demb) override;

  int output_dim() const override { return output_dim_; }

 private:
  int dense_dim_;
  std::vector<int> emb_dims_;
  bool with_dense_;
  int output_dim_;
};

extern template class DotInteraction<float>;
extern template class DotInteraction<double>;
extern template class ConcatInteraction<float>;
extern template class ConcatInteraction<double>;

}  // namespace shardrec
