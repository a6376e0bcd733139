// Optimizers of the dense (data-parallel) parameters: SGD, Adagrad, Adam, AdamW.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.pb.h"
#include "shardrec/core/matrix.h"
#include "shardrec/nn/param.h"
#include "shardrec/optim/lr_schedule.h"

namespace shardrec {

// Per element, with g the gradient, w the value, lr = LearningRate(step), t = step + 1:
//   SGD:     g += wd w;  w -= lr g
//   Adagrad: g += wd w;  a += g^2 (a starts at initial_accumulator);  w -= lr g / (sqrt(a) + eps)
//   Adam:    g += wd w;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//            w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//   AdamW:   Adam without the L2 term, and w -= lr wd w first (decoupled decay).
// The step number is the global one, so the bias correction survives a restart. Updates
// are elementwise and single-threaded per element: the result is deterministic.
class DenseOptimizer {
 public:
  // Throws shardrec::Error naming the optimizer.* key on invalid values.
  DenseOptimizer(const config::DenseOptimizerConfig& config, uint64_t total_steps);

  // Applies one update from the gradients in params. The first call (or LoadState) binds the
  // optimizer to the list's names and sizes; later calls must pass the same layout.
  void Step(const std::vector<ParamRef<float>>& params, uint64_t step);
  double LearningRate(uint64_t step) const { return schedule_.LearningRate(step); }

  // The per-parameter state (moments, accumulators) with the layout it belongs to, as
  // bytes for a checkpoint. Binds to params first if no step has run yet.
  std::string SaveState(const std::vector<ParamRef<float>>& params);
  // Restores SaveState's bytes. Throws shardrec::Error, leaving the current state untouched,
  // when they are truncated or corrupt, come from another optimizer type, or describe
  // parameters whose names or sizes differ from params.
  void LoadState(const std::string& bytes, const std::vector<ParamRef<float>>& params);

  config::DenseOptimizerType type() const { return type_; }

 private:
  void Bind(const std::vector<ParamRef<float>>& params);
  int NumSlots() const;

  config::DenseOptimizerType type_;
  double beta1_, beta2_, eps_, weight_decay_, initial_accumulator_;
  LrSchedule schedule_;
  bool bound_ = false;
  std::vector<std::string> names_;
  std::vector<size_t> sizes_;
  // slots_[k][i]: state k of parameter i (Adagrad: accumulator; Adam/AdamW: m, v).
  std::vector<std::vector<Vec<float>>> slots_;
};

}  // namespace shardrec
