// Causal scaled-dot-product softmax attention over a jagged batch (the
// SASRec / GPT baseline): per sequence and head, P = softmax_j<=i(Q K^T / sqrt(d)),
// out = P V. Tiled like HstuAttention: no padding, scores recomputed in backward.
#pragma once

#include "shardrec/core/matrix.h"
#include "shardrec/nn/sequence_layout.h"

namespace shardrec {

// q, k, v: tokens x (heads * d) each, head-major. out: tokens x (heads * d).
template <typename T>
void CausalSoftmaxAttentionForward(const SequenceLayout& layout, const Mat<T>& q, const Mat<T>& k, const Mat<T>& v,
                                   int heads, Mat<T>* out);

// Overwrites dq, dk, dv (resized to the inputs' shapes).
template <typename T>
void CausalSoftmaxAttentionBackward(const SequenceLayout& layout, const Mat<T>& q, const Mat<T>& k, const Mat<T>& v,
                                    int heads, const Mat<T>& dout, Mat<T>* dq, Mat<T>* dk, Mat<T>* dv);

}  // namespace shardrec
