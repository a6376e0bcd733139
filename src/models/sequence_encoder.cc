#include "shardrec/models/sequence_encoder.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"
#include "shardrec/nn/retrieval_loss.h"

namespace shardrec {

namespace {
Recompute ToRecompute(config::RecomputeMode m) {
  return m == config::FULL ? Recompute::kFull : m == config::SELECTIVE ? Recompute::kSelective : Recompute::kNone;
}
}  // namespace

EncoderKind ParseEncoderKind(const std::string& type) {
  if (type == "hstu") return EncoderKind::kHstu;
  if (type == "sasrec") return EncoderKind::kSasRec;
  SR_THROW() << "model.type: '" << type << "' is not a sequence model (hstu, sasrec)";
  return EncoderKind::kHstu;  // not reached: SR_THROW throws
}

template <typename T>
SequenceEncoder<T>::SequenceEncoder(EncoderKind kind, const config::SequenceModelConfig& cfg, int dim, int max_len,
                                    uint64_t seed)
    : kind_(kind),
      dim_(dim),
      max_len_(max_len),
      emb_scale_(static_cast<T>(std::sqrt(static_cast<double>(dim)))),
      input_dropout_(cfg.dropout(), Hash3(seed, 0x5E0, 0)) {
  SR_CHECK(cfg.dropout() < 1.0) << "model.sequence.dropout must be below 1, got " << cfg.dropout();
  const int heads = static_cast<int>(cfg.num_heads());
  int head_dim = static_cast<int>(cfg.head_dim());
  if (head_dim == 0) {
    SR_CHECK(dim % heads == 0) << "model.sequence.head_dim is 0 (dim / num_heads) but the item dim " << dim
                               << " does not divide by num_heads " << heads;
    head_dim = dim / heads;
  }
  // Absolute positions: truncated normal, std sqrt(1/D), cut at 2 std.
  pos_emb_.resize(max_len, dim);
  CounterRng rng(seed, 0x5E1, 0);
  const double std = std::sqrt(1.0 / dim);
  for (Eigen::Index i = 0; i < pos_emb_.size(); ++i) {
    double v;
    do v = rng.Normal();
    while (std::abs(v) > 2.0);
    pos_emb_.data()[i] = static_cast<T>(v * std);
  }
  g_pos_emb_ = Mat<T>::Zero(max_len, dim);
  for (uint32_t b = 0; b < cfg.num_blocks(); ++b) {
    const uint64_t stream = Hash3(0x5E2, b, 0);
    if (kind == EncoderKind::kHstu) {
      HstuLayerShape s;
      s.dim = dim;
      s.heads = heads;
      s.dqk = s.dv = head_dim;
      s.max_len = max_len;
      s.relative_bias = cfg.relative_bias();
      s.dropout = cfg.dropout();
      hstu_.push_back(std::make_unique<HstuLayer<T>>(s, seed, stream, "hstu." + std::to_string(b)));
      hstu_.back()->set_recompute(ToRecompute(cfg.recompute()));
    } else {
      SasRecLayerShape s{dim, heads, head_dim, dim, cfg.dropout()};
      sasrec_.push_back(std::make_unique<SasRecLayer<T>>(s, seed, stream, "sasrec." + std::to_string(b)));
      SR_CHECK(cfg.recompute() != config::SELECTIVE)
          << "model.sequence.recompute: SELECTIVE is implemented for HSTU blocks; SASRec takes NONE or FULL";
      sasrec_.back()->set_recompute(ToRecompute(cfg.recompute()));
    }
  }
  if (kind == EncoderKind::kSasRec) final_norm_.emplace(dim, 1e-8, "final_norm");
}

template <typename T>
void SequenceEncoder<T>::set_compute(ComputeType type) {
  SR_CHECK((std::is_same_v<T, float> || type == ComputeType::kFp32))
      << "sequence encoder: compute type " << ComputeTypeName(type)
      << " applies to float models; double models compute in double";
  for (auto& l : hstu_) l->set_compute(type);
  for (auto& l : sasrec_) l->set_compute(type);
  compute_ = type;
}

template <typename T>
void SequenceEncoder<T>::EmbedInput(const Mat<T>& item_emb, const SequenceLayout& layout, Mat<T>* x) const {
  SR_CHECK(item_emb.cols() == dim_ && item_emb.rows() == layout.tokens())
      << "sequence encoder: item embeddings are " << item_emb.rows() << "x" << item_emb.cols() << ", expected "
      << layout.tokens() << "x" << dim_;
  *x = item_emb * emb_scale_;
  for (int64_t b = 0; b < layout.batch(); ++b) {
    const int len = layout.length(b), hist = len - layout.targets(b);
    SR_CHECK(len <= max_len_) << "sequence encoder: a sequence of " << len << " tokens exceeds max_len " << max_len_;
    x->middleRows(layout.offsets[b], hist) += pos_emb_.topRows(hist);
    // Candidates share the position after the history, as in the attention bias.
    for (int i = hist; i < len; ++i) x->row(layout.offsets[b] + i) += pos_emb_.row(hist);
  }
}

template <typename T>
const Mat<T>& SequenceEncoder<T>::Forward(const Mat<T>& item_emb, const SequenceLayout& layout) {
  layout_ = &layout;
  const size_t blocks = hstu_.size() + sasrec_.size();
  acts_.resize(blocks + 1);
  EmbedInput(item_emb, layout, &acts_[0]);
  input_dropout_.Forward(layout.token_keys, &acts_[0]);
  for (size_t i = 0; i < blocks; ++i) {
    if (!hstu_.empty()) {
      hstu_[i]->Forward(acts_[i], layout, &acts_[i + 1]);
    } else {
      sasrec_[i]->Forward(acts_[i], layout, &acts_[i + 1]);
    }
  }
  const Mat<T>* last = &acts_[blocks];
  if (final_norm_) {
    final_norm_->Forward(*last, &normed_);
    last = &normed_;
  }
  L2NormalizeRows(*last, &out_, &inv_norm_);
  forward_bytes_ =
      BytesOf(out_) + BytesOf(normed_) + (final_norm_ ? final_norm_->SavedBytes() : 0) + input_dropout_.SavedBytes();
  for (const Mat<T>& a : acts_) forward_bytes_ += BytesOf(a);
  for (const auto& l : hstu_) forward_bytes_ += l->SavedBytes();
  for (const auto& l : sasrec_) forward_bytes_ += l->SavedBytes();
  peak_activation_bytes_ = forward_bytes_;
  return out_;
}

template <typename T>
const Mat<T>& SequenceEncoder<T>::EncodeHistory(const Mat<T>& item_emb, const SequenceLayout& history,
                                                SequenceKvCache<T>* cache) {
  SR_CHECK(kind_ == EncoderKind::kHstu) << "sequence encoder: the KV cache is implemented for HSTU";
  SR_CHECK(history.num_targets.empty()) << "sequence encoder: cached histories have no candidates";
  cache->history = history;
  cache->history.token_keys.clear();
  cache->layers.resize(hstu_.size());
  Mat<T> x, y;
  EmbedInput(item_emb, history, &x);
  for (size_t i = 0; i < hstu_.size(); ++i) {
    hstu_[i]->ForwardAndCache(x, cache->history, &y, &cache->layers[i]);
    x.swap(y);
  }
  L2NormalizeRows(x, &out_, &inv_norm_);
  return out_;
}

template <typename T>
Mat<T> SequenceEncoder<T>::EncodeCandidates(const Mat<T>& cand_emb, const SequenceLayout& candidates,
                                            const SequenceKvCache<T>& cache) const {
  SR_CHECK(cache.layers.size() == hstu_.size() && kind_ == EncoderKind::kHstu)
      << "sequence encoder: EncodeCandidates needs a cache from EncodeHistory";
  SR_CHECK(candidates.batch() == cache.history.batch())
      << "sequence encoder: " << candidates.batch() << " candidate groups for " << cache.history.batch()
      << " cached histories";
  SR_CHECK(cand_emb.rows() == candidates.tokens() && cand_emb.cols() == dim_)
      << "sequence encoder: candidate embeddings are " << cand_emb.rows() << "x" << cand_emb.cols();
  // Input: candidates sit at the position right after their history.
  Mat<T> x = cand_emb * emb_scale_, y;
  for (int64_t b = 0; b < candidates.batch(); ++b) {
    const int hist = cache.history.length(b);
    SR_CHECK(hist < max_len_) << "sequence encoder: history " << b << " has " << hist
                              << " tokens; candidates need it below max_len " << max_len_;
    for (int64_t t = candidates.offsets[b]; t < candidates.offsets[b + 1]; ++t) x.row(t) += pos_emb_.row(hist);
  }
  for (size_t i = 0; i < hstu_.size(); ++i) {
    hstu_[i]->ForwardCandidates(x, cache.history, cache.layers[i], candidates, &y);
    x.swap(y);
  }
  Vec<T> inv;
  L2NormalizeRows(x, &y, &inv);
  return y;
}

template <typename T>
void SequenceEncoder<T>::Backward(const Mat<T>& d_out, Mat<T>* d_item_emb) {
  SR_CHECK(layout_ != nullptr) << "sequence encoder: Backward before Forward";
  Mat<T> g, g_in;
  L2NormalizeRowsBackward(out_, inv_norm_, d_out, &g);
  if (final_norm_) final_norm_->Backward(g, &g);
  const size_t blocks = hstu_.size() + sasrec_.size();
  for (size_t i = blocks; i-- > 0;) {
    // While block i runs its backward it holds its rebuilt activations on top
    // of what it kept after the forward.
    if (!hstu_.empty()) {
      const size_t kept = hstu_[i]->SavedBytes();
      hstu_[i]->Backward(g, &g_in);
      peak_activation_bytes_ =
          std::max(peak_activation_bytes_, forward_bytes_ - kept + hstu_[i]->last_backward_peak_bytes());
    } else {
      const size_t kept = sasrec_[i]->SavedBytes();
      sasrec_[i]->Backward(g, &g_in);
      peak_activation_bytes_ =
          std::max(peak_activation_bytes_, forward_bytes_ - kept + sasrec_[i]->last_backward_peak_bytes());
    }
    g.swap(g_in);
  }
  input_dropout_.Backward(&g);
  g_pos_emb_.setZero();
  for (int64_t b = 0; b < layout_->batch(); ++b) {
    const int len = layout_->length(b);
    g_pos_emb_.topRows(len) += g.middleRows(layout_->offsets[b], len);
  }
  *d_item_emb = g * emb_scale_;
}

template <typename T>
std::vector<ParamRef<T>> SequenceEncoder<T>::Params() {
  std::vector<ParamRef<T>> all = {
      {"position_embedding", pos_emb_.data(), g_pos_emb_.data(), static_cast<size_t>(pos_emb_.size())}};
  for (auto& l : hstu_) {
    auto p = l->Params();
    all.insert(all.end(), p.begin(), p.end());
  }
  for (auto& l : sasrec_) {
    auto p = l->Params();
    all.insert(all.end(), p.begin(), p.end());
  }
  if (final_norm_) {
    auto p = final_norm_->Params();
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}

template class SequenceEncoder<float>;
template class SequenceEncoder<double>;

}  // namespace shardrec
