// One SASRec block (Kang & McAuley 2018) in pre-LayerNorm form, the softmax
// baseline HSTU is compared with:
//   h = x + Dropout(MHA(LN1(x)))           causal softmax attention, scale 1/sqrt(d)
//   y = h + Dropout(FFN(LN2(h)))           FFN = ReLU(z W1 + b1) W2 + b2
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shardrec/core/matrix.h"
#include "shardrec/nn/dropout.h"
#include "shardrec/nn/layer_norm.h"
#include "shardrec/nn/linear.h"
#include "shardrec/nn/param.h"
#include "shardrec/nn/recompute.h"
#include "shardrec/nn/sequence_layout.h"

namespace shardrec {

struct SasRecLayerShape {
  int dim = 0;
  int heads = 1;
  int head_dim = 0;
  int ffn_dim = 0;  // SASRec's point-wise feed-forward width (the paper uses dim)
  double dropout = 0.0;
};

template <typename T>
class SasRecLayer {
 public:
  SasRecLayer(const SasRecLayerShape& shape, uint64_t seed, uint64_t stream, std::string name = "sasrec");

  // kNone or kFull (see recompute.h); with kFull, x must stay alive until Backward.
  void set_recompute(Recompute mode);
  size_t SavedBytes() const;
  size_t last_backward_peak_bytes() const { return backward_peak_bytes_; }

  // Type of the q, k, v, o and feed-forward products (Linear::set_compute);
  // the softmax attention stays T, as HSTU's attention does.
  void set_compute(ComputeType type);
  ComputeType compute() const { return q_.compute(); }

  // `layout` must stay alive until Backward.
  void Forward(const Mat<T>& x, const SequenceLayout& layout, Mat<T>* y);
  void Backward(const Mat<T>& dy, Mat<T>* dx);

  // ln1, q, k, v, o, ln2, ffn1, ffn2 (weight then bias each).
  std::vector<ParamRef<T>> Params();
  const SasRecLayerShape& shape() const { return shape_; }

 private:
  SasRecLayerShape shape_;
  std::string name_;
  AffineLayerNorm<T> ln1_, ln2_;
  Linear<T> q_, k_, v_, o_, ffn1_, ffn2_;
  Dropout<T> attn_dropout_, ffn_dropout_;
  void ReleaseActivations();

  const SequenceLayout* layout_ = nullptr;
  const Mat<T>* input_ = nullptr;
  Recompute recompute_ = Recompute::kNone;
  size_t backward_peak_bytes_ = 0;
  // Activations kept for backward (Linear keeps pointers to its inputs).
  Mat<T> z1_, qm_, km_, vm_, attn_, proj_, h_, z2_, f1_, f2_;
};

extern template class SasRecLayer<float>;
extern template class SasRecLayer<double>;

}  // namespace shardrec
