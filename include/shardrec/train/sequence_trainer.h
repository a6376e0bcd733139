// The synchronous training loop of next-item retrieval models (HSTU, SASRec):
// the item table is model-parallel (sharded by the planner, looked up by
// all-to-all, unpooled: one row per token), the encoder is data-parallel.
// Leave-one-out evaluation ranks every held-out item against all items; the
// best checkpoint by validation NDCG@10 is kept and evaluated on the test split.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config.pb.h"
#include "shardrec/comm/communicator.h"
#include "shardrec/core/ranking_metrics.h"
#include "shardrec/data/sequence_data.h"

namespace shardrec {

struct RetrievalEval {
  RankingMetrics all_items;    // every item competes
  RankingMetrics seen_zeroed;  // the user's earlier items scored 0 (ICLRec's protocol)
  // Ranking models (loss BCE_CANDIDATES) are evaluated differently: the held-out
  // item among `candidates` sampled items, each scored as a target through the
  // KV cache. Then all_items holds those numbers and seen_zeroed is empty.
  uint32_t sampled_candidates = 0;
};

struct SequenceTrainResult {
  uint64_t steps = 0;
  double last_loss = 0.0;
  double sequences_per_sec = 0.0;  // over this run's steps
  double tokens_per_sec = 0.0;
  uint64_t best_step = 0;         // the checkpoint the test numbers come from
  RetrievalEval best_validation;  // its validation numbers
  RetrievalEval test;
  size_t peak_activation_bytes = 0;  // most activation bytes any step of this run held (this rank)
  size_t peak_rss_bytes = 0;         // process peak resident set size (this rank)
  bool stopped_early = false;
  int stop_signal = 0;
  std::string checkpoint_dir, metrics_path;
};

class SequenceTrainer {
 public:
  SequenceTrainer(const config::ExperimentConfig& cfg, Communicator* comm);
  ~SequenceTrainer();

  SequenceTrainResult Run(bool resume);
  // Collective: the current model on a split.
  RetrievalEval Evaluate(SequenceSplit split);
  // One training step on the next global batch; returns the global mean loss,
  // or NaN when FP16 loss scaling skipped the step for overflow.
  double Step();
  // Dense parameters, then the item table, gathered on every rank. Collective.
  std::vector<float> GatherAllParameters();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardrec
