// The model-parallel embedding collection: every categorical feature's bag of
// ids is looked up and pooled in the table that serves it, wherever the plan
// put that table's rows and columns.
//
// Forward:  map raw ids to rows -> bucket by owning shard -> all-to-all ->
//           owners pool their rows per (sample, feature) -> all-to-all back ->
//           requesters add the partial sums into their column ranges.
// Backward: pooled-output gradients -> all-to-all to the owners -> owners
//           de-duplicate rows and apply the sparse optimizer, in the same step.
// Replicated (DATA_PARALLEL) tables look up locally and all-reduce gradients.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "config.pb.h"
#include "plan.pb.h"
#include "shardrec/comm/communicator.h"
#include "shardrec/core/matrix.h"
#include "shardrec/data/batch.h"
#include "shardrec/embedding/embedding_shard.h"
#include "shardrec/embedding/sparse_optimizer.h"
#include "shardrec/embedding/table_spec.h"

namespace shardrec {

// Maps a raw 64-bit id into [0, rows).
uint64_t MapIdToRow(uint64_t raw_id, uint64_t rows, config::IdTransform transform);

class RowGroups;

class ShardedEmbeddingCollection {
 public:
  ShardedEmbeddingCollection(std::vector<TableSpec> tables, plan::ShardingPlan plan, const config::EmbeddingConfig& cfg,
                             config::IdTransform transform, uint64_t seed, Communicator* comm);
  ~ShardedEmbeddingCollection();

  // Pools every feature of this rank's batch: out[f] is batch_size x dim of f's table.
  // `training` marks a lookup that BackwardAndUpdate will follow (evaluation passes
  // false); the step state is kept either way. Collective.
  void Forward(const Batch& batch, std::vector<MatF>* out, bool training);

  // grads[f] = dLoss/d out[f] from the last training Forward. Sends gradients to
  // the owners, which apply the sparse optimizer for global step `step`. Collective.
  void BackwardAndUpdate(const std::vector<MatF>& grads, uint64_t step);

  // The whole table assembled from every rank's shards, on every rank (tests
  // and small tables only): logical rows for FULL tables, the physical rows of
  // each shard stacked in shard order for compressed ones. Collective.
  MatF GatherTable(int table);

  // Whole rows of a FULL table that this rank covers in a pass over every row
  // (full-ranking evaluation): each logical row is covered by exactly one rank —
  // row- and table-wise shards by their owner, a replicated table in 1/world
  // slices. Throws, naming the table, for column-wise shards or compressed storage.
  struct RowBlock {
    uint64_t first_row;
    int64_t rows;
    const EmbeddingRows* source;  // the shard's rows, in their storage type
    int64_t first_source_row;
    MatF Read() const;  // rows x dim in fp32
  };
  std::vector<RowBlock> OwnedRowBlocks(int table) const;

  // Ids of `table` that hold a row of their own (CAFE hot ids), over all shards. Collective.
  int64_t HotIds(int table);

  // This rank's shards (weights, optimizer state, storage state such as CAFE
  // sketches), keyed by logical rows and columns.
  void SaveShards(std::ostream& out) const;
  // Fills this rank's shards from shard files written by SaveShards under any
  // plan over the same tables (any number of ranks): full tables by logical
  // rows and columns, compressed tables by identical row shards. Throws,
  // naming the file, when something is missing, corrupt or incompatible.
  void LoadShards(const std::vector<std::string>& files);

  // Wire types of the forward (pooled rows) and backward (gradients) all-to-alls.
  void set_wire_types(config::DType forward, config::DType backward) {
    forward_wire_ = forward;
    backward_wire_ = backward;
  }

  const plan::ShardingPlan& plan() const { return plan_; }
  const std::vector<TableSpec>& tables() const { return tables_; }
  int num_features() const { return static_cast<int>(feature_table_.size()); }
  int feature_dim(int f) const { return tables_[feature_table_[f]].dim; }
  // Bytes of weights + optimizer state held by this rank.
  size_t LocalBytes() const;
  // Bytes this rank sent in the last Forward and BackwardAndUpdate (all-to-all payloads).
  size_t last_forward_bytes() const { return last_fwd_bytes_; }
  size_t last_backward_bytes() const { return last_bwd_bytes_; }
  // Seconds spent inside this collection's collectives since it was made:
  // the all-to-alls of ids, pooled sums and gradients, the batch-size
  // all-gather, and the all-reduces of data-parallel tables and adaptive
  // statistics. Waiting there for a slower rank counts, as it does for any
  // collective; on one rank the exchanges are buffer swaps and cost ~0.
  double exchange_seconds() const { return exchange_s_; }

 private:
  // A (feature, shard) pair whose shard lives on one rank; every rank derives
  // the same ordered lists from the plan, so buffers need no headers.
  struct Segment {
    int feature;
    int table;
    int shard;  // index into plan_.tables(table).shards()
  };
  struct Saved;  // what backward needs from forward

  bool IsReplicated(int table) const { return plan_.tables(table).type() == config::DATA_PARALLEL; }
  int LocalShardIndex(int table, int shard) const;
  void MapFeatureRows(const Batch& batch);
  void ResolveReceived();
  void ObserveAdaptive(const std::vector<std::vector<float>>& grad_recv,
                       const std::vector<std::vector<size_t>>& len_off, const std::vector<std::vector<size_t>>& id_off,
                       const std::vector<std::vector<size_t>>& grad_off);
  uint64_t TableSalt(int table) const { return table_salt_[table]; }
  void ReplicatedForward(const Batch& batch, std::vector<MatF>* out);
  void ReplicatedBackward(const std::vector<MatF>& grads, const kernels::SparseHyper& h, uint64_t step);
  // Sums each touched row's gradients and applies the sparse optimizer once per row.
  void ApplyDeduplicated(EmbeddingShard& shard, const RowGroups& groups, const kernels::SparseHyper& h, uint64_t step);
  // The sparse optimizer's update of physical row r of `shard` at `step`.
  // 16-bit rows round stochastically with bits keyed by (table, logical row,
  // step) for FULL tables, so every sharding and rank count rounds alike.
  void UpdateRow(EmbeddingShard& shard, int64_t r, const float* grad, const kernels::SparseHyper& h, uint64_t step);

  std::vector<TableSpec> tables_;
  plan::ShardingPlan plan_;
  config::IdTransform transform_;
  Communicator* comm_;
  SparseOptimizer optimizer_;
  std::vector<int> feature_table_;
  std::vector<EmbeddingShard> shards_;             // this rank's shards
  std::vector<std::vector<int>> local_shard_of_;   // [table][shard] -> index in shards_ or -1
  std::vector<std::vector<Segment>> segments_to_;  // [rank] -> segments owned by that rank
  std::vector<uint64_t> table_salt_;               // [table] hash salt derived from its name
  uint64_t seed_;
  bool any_adaptive_ = false;  // some table's storage learns (CAFE): same on all ranks
  config::DType forward_wire_ = config::FP32, backward_wire_ = config::FP32;

  // Per-step state.
  std::vector<std::vector<int64_t>> feature_rows_;  // [f] mapped row of every id in the local batch
  std::unique_ptr<Saved> saved_;
  size_t last_fwd_bytes_ = 0, last_bwd_bytes_ = 0;
  double exchange_s_ = 0;
};

}  // namespace shardrec
