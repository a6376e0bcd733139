// The synchronous training loop for DLRM: data-parallel dense model,
// model-parallel embedding collection, periodic evaluation, checkpoints.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config.pb.h"
#include "shardrec/comm/communicator.h"

namespace shardrec {

struct EvalResult {
  double auc = 0.0;
  double logloss = 0.0;
  uint64_t samples = 0;
};

struct TrainResult {
  uint64_t steps = 0;            // completed steps (including those before a resume)
  double last_loss = 0.0;        // mean loss of the last logging interval
  double samples_per_sec = 0.0;  // over this run's steps
  EvalResult eval;               // final evaluation
  std::string checkpoint_dir;    // the last checkpoint written ("" if none)
  std::string metrics_path;
  bool stopped_early = false;  // train.stop_after_steps or a stop signal ended the run before train.steps
  int stop_signal = 0;         // the signal that stopped it (0: train.stop_after_steps or not stopped)
  // Step-time breakdown of this run, seconds summed over steps.
  double data_s = 0, embedding_s = 0, dense_s = 0, allreduce_s = 0, optimizer_s = 0;
  // The part of embedding_s spent inside the embedding collectives (all-to-alls).
  double embedding_exchange_s = 0;
};

class Trainer {
 public:
  Trainer(const config::ExperimentConfig& cfg, Communicator* comm);
  ~Trainer();

  // Trains until train.steps, starting from the newest checkpoint under the
  // output directory when `resume` is set (and one exists).
  TrainResult Run(bool resume);
  // Evaluates on the held-out split: exact AUC and logloss over all ranks' predictions.
  EvalResult Evaluate();

  // Every dense parameter followed by every embedding table, gathered on all
  // ranks (tests compare runs with this). Collective.
  std::vector<float> GatherAllParameters();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardrec
