// HSTU's pointwise attention over a jagged batch, per sequence and head:
//   A = SiLU(Q K^T + rab) / N, masked (causal; candidates see history and themselves),
//   out = A V.
// No softmax and no 1/sqrt(d); N is the padded maximum length, so a token's
// output does not depend on which other sequences share its batch.
//
// Work is done per sequence in row tiles whose keys stop at the tile's last
// visible token: nothing is computed for padding (there is none) and at most
// one tile-width of masked entries per tile. Scores are recomputed in the
// backward pass instead of stored, so memory is O(tokens), not O(L^2).
#pragma once

#include "shardrec/core/matrix.h"
#include "shardrec/nn/sequence_layout.h"

namespace shardrec {

template <typename T>
struct HstuAttentionParams {
  int heads = 1;
  int dqk = 1;      // query/key width per head
  int dv = 1;       // value width per head
  int max_len = 1;  // N: padded length; every sequence must be at most this long
  // Relative attention bias, shared by all heads; nullptr = that part is off.
  const T* pos_bias = nullptr;   // 2N - 1 entries
  const T* time_bias = nullptr;  // kernels::kHstuTimeBuckets entries
};

// qkv holds, per token, Q (heads x dqk) from column q_col, K from k_col and V
// (heads x dv) from v_col, head-major. out: tokens x (heads * dv).
template <typename T>
void HstuAttentionForward(const SequenceLayout& layout, const Mat<T>& qkv, int q_col, int k_col, int v_col,
                          const HstuAttentionParams<T>& p, Mat<T>* out);

// Inference with a KV cache: candidates appended to cached histories. Sequence
// b's candidates are rows cand.offsets[b].. of cand_qkv (timestamps in
// cand.timestamps); its history's keys and values are rows history.offsets[b]..
// of cached_k / cached_v (tokens x heads*d, head-major). Each candidate sees its
// history and itself, with the bias it has as a target appended to that history,
// so out equals the candidate rows of HstuAttentionForward over [history +
// candidates] with num_targets = the candidate count — without recomputing the
// history. Histories must be shorter than max_len; candidates are unlimited.
template <typename T>
void HstuAttentionCandidates(const SequenceLayout& history, const Mat<T>& cached_k, const Mat<T>& cached_v,
                             const SequenceLayout& cand, const Mat<T>& cand_qkv, int q_col, int k_col, int v_col,
                             const HstuAttentionParams<T>& p, Mat<T>* out);

// Writes dQ, dK, dV into the same columns of *dqkv (which must already be
// tokens x qkv.cols(); other columns are left alone) and adds the bias
// gradients into d_pos_bias / d_time_bias (skipped when null).
template <typename T>
void HstuAttentionBackward(const SequenceLayout& layout, const Mat<T>& qkv, int q_col, int k_col, int v_col,
                           const HstuAttentionParams<T>& p, const Mat<T>& dout, Mat<T>* dqkv, T* d_pos_bias,
                           T* d_time_bias);

}  // namespace shardrec
