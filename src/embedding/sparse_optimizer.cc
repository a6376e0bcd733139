#include "shardrec/embedding/sparse_optimizer.h"

#include <cmath>

#include "shardrec/core/error.h"

namespace shardrec {

namespace {
kernels::SparseRule RuleOf(config::SparseOptimizerType type) {
  switch (type) {
    case config::SPARSE_SGD: return kernels::SparseRule::kSgd;
    case config::ROWWISE_ADAGRAD: return kernels::SparseRule::kRowwiseAdagrad;
    case config::SPARSE_ADAM: return kernels::SparseRule::kAdam;
  }
  SR_THROW() << "no sparse optimizer " << config::SparseOptimizerType_Name(type);
}
}  // namespace

SparseOptimizer::SparseOptimizer(const config::SparseOptimizerConfig& cfg) : cfg_(cfg), rule_(RuleOf(cfg.type())) {}

float SparseOptimizer::InitialState() const {
  return cfg_.type() == config::ROWWISE_ADAGRAD ? static_cast<float>(cfg_.initial_accumulator()) : 0.0f;
}

kernels::SparseHyper SparseOptimizer::Hyper(uint64_t step) const {
  kernels::SparseHyper h;
  h.lr = static_cast<float>(cfg_.lr());
  h.eps = static_cast<float>(cfg_.eps());
  h.beta1 = static_cast<float>(cfg_.beta1());
  h.beta2 = static_cast<float>(cfg_.beta2());
  h.bias1 = static_cast<float>(1.0 - std::pow(cfg_.beta1(), static_cast<double>(step + 1)));
  h.bias2 = static_cast<float>(1.0 - std::pow(cfg_.beta2(), static_cast<double>(step + 1)));
  return h;
}

}  // namespace shardrec
