// One HSTU layer (Zhai et al. 2024) over a jagged batch of tokens x D:
//   x_hat          = LayerNorm(x)                       no affine, eps 1e-6
//   [U | V | Q | K] = SiLU(x_hat W_uvqk)                  W_uvqk: D x (2 H dv + 2 H dqk), no bias
//   O              = HstuAttention(Q, K, V; rab)         see hstu_attention.h
//   y              = x + Dropout(U * LayerNorm(O)) W_o + b_o
// Column layout of W_uvqk: [U | V | Q | K], each part head-major.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shardrec/core/gemm.h"
#include "shardrec/core/matrix.h"
#include "shardrec/nn/dropout.h"
#include "shardrec/nn/hstu_attention.h"
#include "shardrec/nn/param.h"
#include "shardrec/nn/recompute.h"
#include "shardrec/nn/sequence_layout.h"

namespace shardrec {

struct HstuLayerShape {
  int dim = 0;
  int heads = 1;
  int dqk = 0;
  int dv = 0;
  int max_len = 0;            // N
  bool relative_bias = true;  // rab on or off
  double dropout = 0.0;
};

// A layer's KV cache: K and V (after SiLU) of every cached history token,
// tokens x (heads * d), in the histories' jagged order.
template <typename T>
struct HstuLayerCache {
  Mat<T> k, v;
};

template <typename T>
class HstuLayer {
 public:
  // Initialisation as the paper's code: W_uvqk ~ N(0, 0.02), W_o Xavier-uniform,
  // b_o = 0, both bias vectors ~ N(0, 0.02); from CounterRng(seed, stream, *).
  HstuLayer(const HstuLayerShape& shape, uint64_t seed, uint64_t stream, std::string name = "hstu");

  // What Forward keeps for Backward (see recompute.h). With kSelective or kFull,
  // x must stay alive and unchanged until Backward.
  void set_recompute(Recompute mode) { recompute_ = mode; }
  // Bytes of activations held now, and the most held during the last Backward
  // (which rebuilds what Forward dropped).
  size_t SavedBytes() const;
  size_t last_backward_peak_bytes() const { return backward_peak_bytes_; }

  // Type of the projection products (see core/gemm.h): x_hat W_uvqk and
  // gated W_o, and in Backward their weight and input gradients. The attention
  // itself stays T: its per-tile products are small blocks inside the jagged
  // kernel (hstu_attention.h), where conversion would cost more than the
  // products, and its scores feed the relative bias and SiLU directly.
  // Float layers take any type, double layers only kFp32.
  void set_compute(ComputeType type);
  ComputeType compute() const { return compute_; }

  // x: tokens x dim. `layout` must stay alive and unchanged until Backward.
  void Forward(const Mat<T>& x, const SequenceLayout& layout, Mat<T>* y);
  // Overwrites the parameter gradients; dx may not alias dy.
  void Backward(const Mat<T>& dy, Mat<T>* dx);

  // Inference (no dropout, no Backward after these). ForwardAndCache is Forward
  // on histories that also keeps every token's K and V; ForwardCandidates then
  // computes only the candidates' rows, each seeing its sequence's cached history
  // and itself — equal to the candidate rows of Forward over [history +
  // candidates] with num_targets = the candidate count.
  void ForwardAndCache(const Mat<T>& x, const SequenceLayout& history, Mat<T>* y, HstuLayerCache<T>* cache);
  void ForwardCandidates(const Mat<T>& x, const SequenceLayout& history, const HstuLayerCache<T>& cache,
                         const SequenceLayout& candidates, Mat<T>* y) const;

  std::vector<ParamRef<T>> Params();
  const HstuLayerShape& shape() const { return shape_; }
  Mat<T>& w_uvqk() { return w_uvqk_; }
  Mat<T>& w_o() { return w_o_; }
  RowVec<T>& b_o() { return b_o_; }
  Vec<T>& pos_bias() { return pos_bias_; }
  Vec<T>& time_bias() { return time_bias_; }

 private:
  // What Forward keeps for Backward; inference fills a local one.
  struct Activations {
    Mat<T> x_hat, pre, uvqk, attn, attn_hat, gated;
    Vec<T> x_rstd, attn_rstd;
  };
  HstuAttentionParams<T> AttentionParams() const;
  // x -> x_hat, pre = x_hat W_uvqk, uvqk = SiLU(pre).
  void ProjectIn(const Mat<T>& x, Activations* a) const;
  // uvqk = SiLU(pre): also what selective recomputation redoes.
  static void UvqkFromPre(Activations* a);
  // a->attn -> attn_hat, gated = U * attn_hat (dropped out when `dropout` is given).
  void Gate(Activations* a, Dropout<T>* dropout, const std::vector<uint64_t>& keys) const;
  // y = x + gated W_o + b_o.
  void ProjectOut(const Mat<T>& x, const Activations& a, Mat<T>* y) const;
  // Drops what the recompute mode does not keep.
  void ReleaseActivations();
  int UCol() const { return 0; }
  int VCol() const { return shape_.heads * shape_.dv; }
  int QCol() const { return 2 * shape_.heads * shape_.dv; }
  int KCol() const { return 2 * shape_.heads * shape_.dv + shape_.heads * shape_.dqk; }

  HstuLayerShape shape_;
  std::string name_;
  Mat<T> w_uvqk_, w_o_;
  RowVec<T> b_o_;
  Vec<T> pos_bias_, time_bias_;
  Mat<T> g_uvqk_, g_o_;
  RowVec<T> g_b_o_;
  Vec<T> g_pos_, g_time_;
  Dropout<T> dropout_;

  // Saved by Forward for Backward.
  const SequenceLayout* layout_ = nullptr;
  const Mat<T>* input_ = nullptr;
  Activations act_;
  Recompute recompute_ = Recompute::kNone;
  ComputeType compute_ = ComputeType::kFp32;
  size_t backward_peak_bytes_ = 0;
};

extern template class HstuLayer<float>;
extern template class HstuLayer<double>;

}  // namespace shardrec
