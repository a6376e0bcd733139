// Saving and restoring everything a training run has learned — the dense
// (replicated) parameters with their optimizer state, and this rank's
// embedding shards — as one sharded checkpoint (see checkpoint.h). Shared by
// every trainer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.pb.h"
#include "shardrec/comm/communicator.h"
#include "shardrec/embedding/sharded_collection.h"
#include "shardrec/nn/param.h"
#include "shardrec/optim/dense_optimizer.h"
#include "shardrec/train/loss_scaler.h"

namespace shardrec {

struct ModelState {
  const std::vector<ParamRef<float>>* params = nullptr;
  DenseOptimizer* optimizer = nullptr;
  ShardedEmbeddingCollection* embedding = nullptr;
  LossScaler* scaler = nullptr;  // optional: its scale and counters are saved too
};

// Collective. Writes the checkpoint of global step `step` under `root`, keeping
// the newest `keep_last`; returns its directory.
std::string SaveModelCheckpoint(Communicator& comm, const std::string& root, const config::ExperimentConfig& cfg,
                                uint64_t step, const ModelState& state, uint32_t keep_last);

// Collective. Restores `state` from the checkpoint directory `dir`, written by
// any number of ranks (embedding rows are resharded when the plan differs), and
// returns its step. Throws shardrec::Error naming the file when something is
// missing, corrupt, or belongs to a different model.
uint64_t LoadModelCheckpoint(Communicator& comm, const std::string& dir, const ModelState& state);

}  // namespace shardrec
