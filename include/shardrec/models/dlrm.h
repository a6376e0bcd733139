// DLRM: a bottom MLP over the dense features, an interaction of its output with the
// embedding lookups, and a top MLP producing one logit per sample.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "config.pb.h"
#include "shardrec/core/gemm.h"
#include "shardrec/core/matrix.h"
#include "shardrec/nn/interaction.h"
#include "shardrec/nn/mlp.h"
#include "shardrec/nn/param.h"

namespace shardrec {

template <typename T>
class Dlrm {
 public:
  // Throws shardrec::Error naming the offending config key (model.dlrm.*) when the shapes
  // do not fit: empty top_mlp or one not ending in 1; for DOT, bottom_mlp not ending in
  // emb_dim. With num_dense == 0 there is no bottom MLP (bottom_mlp is ignored): DOT then
  // interacts the embeddings among themselves and the top MLP sees only their dot
  // products; CONCAT sees only the embeddings. Initial values are a function of seed alone,
  // identical on every rank.
  Dlrm(const config::DlrmConfig& config, int num_dense, int num_sparse, int emb_dim, uint64_t seed);

  // dense: B x num_dense (ignored, may be empty, when num_dense == 0); emb: num_sparse
  // matrices of B x emb_dim. Returns the B logits, valid until the next Forward. Both inputs
  // are copied, so they need not outlive this call.
  const Vec<T>& Forward(const Mat<T>& dense, const std::vector<Mat<T>>& emb);
  // dlogits: B. Overwrites the parameter gradients and sets *d_emb to num_sparse matrices
  // of B x emb_dim, the gradients of the loss with respect to the embedding lookups.
  void Backward(const Vec<T>& dlogits, std::vector<Mat<T>>* d_emb);

  // Bottom MLP first ("bottom_mlp.<i>.weight|bias"), then top ("top_mlp.<i>.weight|bias").
  std::vector<ParamRef<T>> Params();
  size_t NumParams();

  // Compute type of both MLPs' products (precision.compute; see core/gemm.h).
  // The interaction's dot products stay T. Float models take any type, double
  // models only kFp32.
  void set_compute(ComputeType type);
  ComputeType compute() const { return top_->compute(); }

  int interaction_dim() const { return interaction_->output_dim(); }
  int num_dense() const { return num_dense_; }
  int num_sparse() const { return num_sparse_; }
  int emb_dim() const { return emb_dim_; }

 private:
  int num_dense_, num_sparse_, emb_dim_;
  std::optional<Mlp<T>> bottom_;
  std::unique_ptr<Interaction<T>> interaction_;
  std::optional<Mlp<T>> top_;
  Mat<T> dense_;           // owned copy of the dense input: the bottom MLP refers to it
  Mat<T> z_, dz_;          // bottom MLP output and its gradient
  Mat<T> inter_, dinter_;  // interaction output (top MLP input) and its gradient
  Mat<T> top_out_, dtop_;  // B x 1
  Vec<T> logits_;
};

extern template class Dlrm<float>;
extern template class Dlrm<double>;

}  // namespace shardrec
