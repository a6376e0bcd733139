// The user encoder of a generative recommender: item embeddings of a jagged
// history in, one L2-normalised user embedding per token out.
//   x = emb * sqrt(D) + position_embedding[i]; Dropout(x)
//   x = block_1..block_n(x)          HSTU layers, or SASRec blocks + a final LayerNorm
//   u = x / |x|
// Items are scored by dot products of u with L2-normalised item embeddings
// (SequenceRetrieval does that), as the HSTU paper's retrieval setup does.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config.pb.h"
#include "shardrec/core/gemm.h"
#include "shardrec/core/matrix.h"
#include "shardrec/nn/dropout.h"
#include "shardrec/nn/hstu_layer.h"
#include "shardrec/nn/layer_norm.h"
#include "shardrec/nn/param.h"
#include "shardrec/nn/sasrec_layer.h"
#include "shardrec/nn/sequence_layout.h"

namespace shardrec {

enum class EncoderKind { kHstu, kSasRec };

// "hstu" / "sasrec"; throws naming model.type otherwise.
EncoderKind ParseEncoderKind(const std::string& type);

// Every HSTU layer's K/V of a batch of histories, for scoring candidates later.
template <typename T>
struct SequenceKvCache {
  SequenceLayout history;
  std::vector<HstuLayerCache<T>> layers;
};

template <typename T>
class SequenceEncoder {
 public:
  // dim: the item table's width; max_len: the longest sequence (N). Throws
  // naming the model.sequence key when the shapes do not fit. Initial values
  // are a function of seed alone.
  SequenceEncoder(EncoderKind kind, const config::SequenceModelConfig& cfg, int dim, int max_len, uint64_t seed);

  // item_emb: tokens x dim. Returns tokens x dim unit rows, valid until the next
  // Forward. `layout` must stay alive until Backward; its token_keys drive dropout
  // (empty: no dropout, as in evaluation).
  const Mat<T>& Forward(const Mat<T>& item_emb, const SequenceLayout& layout);
  // d_out: tokens x dim. Overwrites the parameter gradients and *d_item_emb.
  void Backward(const Mat<T>& d_out, Mat<T>* d_item_emb);

  // Inference with a KV cache (HSTU only). EncodeHistory is Forward on
  // histories (no candidates, no dropout) that keeps every layer's K/V;
  // EncodeCandidates then encodes candidate tokens — jagged by candidates.offsets,
  // one group per cached history, with times in candidates.timestamps — each
  // seeing its history and itself: the result equals the candidate rows of
  // Forward over [history + candidates] with num_targets = the group sizes.
  const Mat<T>& EncodeHistory(const Mat<T>& item_emb, const SequenceLayout& history, SequenceKvCache<T>* cache);
  Mat<T> EncodeCandidates(const Mat<T>& cand_emb, const SequenceLayout& candidates,
                          const SequenceKvCache<T>& cache) const;

  // Bytes of activations (block inputs/outputs and what blocks keep for
  // backward) at the most during the last Forward + Backward, given the
  // recompute mode: the forward's end, or a block's rebuilt state in backward.
  size_t peak_activation_bytes() const { return peak_activation_bytes_; }

  // Compute type of every block's projection products (precision.compute;
  // HstuLayer / SasRecLayer::set_compute), training and KV-cached inference
  // alike. Embedding, normalisation and attention stay T. Float encoders take
  // any type, double encoders only kFp32.
  void set_compute(ComputeType type);
  ComputeType compute() const { return compute_; }

  std::vector<ParamRef<T>> Params();
  EncoderKind kind() const { return kind_; }
  int dim() const { return dim_; }
  int max_len() const { return max_len_; }

 private:
  EncoderKind kind_;
  int dim_, max_len_;
  T emb_scale_;
  Mat<T> pos_emb_, g_pos_emb_;  // max_len x dim
  Dropout<T> input_dropout_;
  std::vector<std::unique_ptr<HstuLayer<T>>> hstu_;
  std::vector<std::unique_ptr<SasRecLayer<T>>> sasrec_;
  std::optional<AffineLayerNorm<T>> final_norm_;  // SASRec only
  // emb * sqrt(D) + position embedding (candidates at their history's length).
  void EmbedInput(const Mat<T>& item_emb, const SequenceLayout& layout, Mat<T>* x) const;

  const SequenceLayout* layout_ = nullptr;
  std::vector<Mat<T>> acts_;  // input of every block, then the last block's output
  Mat<T> normed_, out_;
  Vec<T> inv_norm_;
  size_t forward_bytes_ = 0, peak_activation_bytes_ = 0;
  ComputeType compute_ = ComputeType::kFp32;
};

extern template class SequenceEncoder<float>;
extern template class SequenceEncoder<double>;

}  // namespace shardrec
