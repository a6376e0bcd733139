#include "shardrec/models/dlrm.h"

#include <string>

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"

namespace shardrec {

namespace {

// Independent initialisation streams of the two MLPs.
constexpr uint64_t kBottomStream = 1;
constexpr uint64_t kTopStream = 2;

std::vector<int> Widths(const google::protobuf::RepeatedField<uint32_t>& field, const char* key) {
  std::vector<int> widths;
  for (int i = 0; i < field.size(); ++i) {
    if (field[i] == 0 || field[i] > (1u << 24)) {
      SR_THROW() << "model.dlrm." << key << " has width " << field[i] << " at position " << i
                 << "; widths must be between 1 and 16777216";
    }
    widths.push_back(static_cast<int>(field[i]));
  }
  return widths;
}

std::string Join(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

}  // namespace

template <typename T>
Dlrm<T>::Dlrm(const config::DlrmConfig& config, int num_dense, int num_sparse, int emb_dim, uint64_t seed)
    : num_dense_(num_dense), num_sparse_(num_sparse), emb_dim_(emb_dim) {
  if (num_dense < 0 || num_sparse < 0)
    SR_THROW() << "DLRM: negative feature count (" << num_dense << " dense, " << num_sparse << " sparse)";
  if (num_dense == 0 && num_sparse == 0) SR_THROW() << "DLRM: the data has neither dense nor sparse features";
  if (num_sparse > 0 && emb_dim <= 0) SR_THROW() << "DLRM: the embedding dim must be positive, got " << emb_dim;
  const bool dot = config.interaction() == config::DOT;
  const bool with_dense = num_dense > 0;

  const std::vector<int> top = Widths(config.top_mlp(), "top_mlp");
  if (top.empty()) SR_THROW() << "model.dlrm.top_mlp is empty; it needs at least one layer, ending in 1 (the logit)";
  if (top.back() != 1) {
    SR_THROW() << "model.dlrm.top_mlp ends in " << top.back() << " but must end in 1 (the logit); got [" << Join(top)
               << "]";
  }

  int z_dim = 0;
  if (with_dense) {
    const std::vector<int> bottom = Widths(config.bottom_mlp(), "bottom_mlp");
    if (bottom.empty()) {
      SR_THROW() << "model.dlrm.bottom_mlp is empty but the data has " << num_dense
                 << " dense features; give at least one width" << (dot ? " (the last equal to the embedding dim)" : "");
    }
    if (dot && num_sparse > 0 && bottom.back() != emb_dim) {
      SR_THROW() << "model.dlrm.bottom_mlp ends in " << bottom.back() << " but the embedding dim is " << emb_dim
                 << " (the DOT interaction needs them equal)";
    }
    z_dim = bottom.back();
    // DLRM keeps the ReLU on the bottom MLP's last layer: z enters the interaction rectified.
    bottom_.emplace(num_dense, bottom, /*relu_last=*/true, seed, kBottomStream, "bottom_mlp");
  }

  if (dot) {
    const int dim = num_sparse > 0 ? emb_dim : z_dim;
    auto inter = std::make_unique<DotInteraction<T>>(num_sparse, dim, config.interaction_self(), with_dense);
    if (inter->output_dim() == 0) {
      SR_THROW() << "model.dlrm.interaction DOT over a single embedding without dense features has no pairs; set "
                    "model.dlrm.interaction_self or use CONCAT";
    }
    interaction_ = std::move(inter);
  } else {
    interaction_ = std::make_unique<ConcatInteraction<T>>(z_dim, std::vector<int>(num_sparse, emb_dim), with_dense);
  }
  top_.emplace(interaction_->output_dim(), top, /*relu_last=*/false, seed, kTopStream, "top_mlp");
}

template <typename T>
const Vec<T>& Dlrm<T>::Forward(const Mat<T>& dense, const std::vector<Mat<T>>& emb) {
  SR_CHECK(static_cast<int>(emb.size()) == num_sparse_)
      << "DLRM: got " << emb.size() << " embedding matrices for " << num_sparse_ << " features";
  if (bottom_) {
    SR_CHECK(dense.cols() == num_dense_) << "DLRM: dense input has " << dense.cols() << " columns, expected "
                                         << num_dense_;
    dense_ = dense;
    bottom_->Forward(dense_, &z_);
  }
  interaction_->Forward(z_, emb, &inter_);
  top_->Forward(inter_, &top_out_);
  logits_ = top_out_.col(0);
  return logits_;
}

template <typename T>
void Dlrm<T>::Backward(const Vec<T>& dlogits, std::vector<Mat<T>>* d_emb) {
  SR_CHECK(dlogits.size() == top_out_.rows())
      << "DLRM: " << dlogits.size() << " logit gradients for a batch of " << top_out_.rows();
  dtop_ = dlogits;
  top_->Backward(dtop_, &dinter_);
  interaction_->Backward(dinter_, bottom_ ? &dz_ : nullptr, d_emb);
  // The dense input needs no gradient, which skips the first layer's input product.
  if (bottom_) bottom_->Backward(dz_, nullptr);
}

template <typename T>
void Dlrm<T>::set_compute(ComputeType type) {
  if (bottom_) bottom_->set_compute(type);
  top_->set_compute(type);
}

template <typename T>
std::vector<ParamRef<T>> Dlrm<T>::Params() {
  std::vector<ParamRef<T>> params;
  if (bottom_) params = bottom_->Params();
  for (auto& p : top_->Params()) params.push_back(std::move(p));
  return params;
}

template <typename T>
size_t Dlrm<T>::NumParams() {
  size_t n = 0;
  for (const auto& p : Params()) n += p.size;
  return n;
}

template class Dlrm<float>;
template class Dlrm<double>;

}  // namespace shardrec
