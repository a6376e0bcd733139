// How the ids of a shard become stored rows. A FULL table stores one row per
// logical row and needs no mapping; the compressed storages (hash, Q-R, CAFE,
// multi-level CAFE) map a raw 64-bit id to one or two physical rows of the
// shard's weight matrix, whose embeddings are summed. Pooling, gradient
// de-duplication and the sparse optimizers then work on physical rows and do
// not know which storage they serve.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "config.pb.h"
#include "shardrec/embedding/hot_sketch.h"

namespace shardrec {

struct EmbeddingShard;
class SparseOptimizer;

class RowStorage {
 public:
  static constexpr int kMaxRowsPerId = 2;
  virtual ~RowStorage() = default;
  // Physical rows the shard must allocate.
  virtual uint64_t physical_rows() const = 0;
  // Writes the physical rows of `id` to rows[0..n) and returns n (1 or 2).
  virtual int Resolve(uint64_t id, int64_t* rows) const = 0;
  // Adaptive storages (CAFE) learn from each step's occurrences, after
  // backward and before the optimizer step. `ids[i]` occurred with importance
  // `importance[i]` (already normalised), in a rank-independent order.
  // Promotions initialise the new row from the id's current embedding (and
  // its optimizer state from the first row it was read from); the physical
  // rows they overwrite are returned so this step's update can skip them.
  virtual bool adaptive() const { return false; }
  virtual void Observe(const std::vector<uint64_t>& ids, const std::vector<float>& importance, EmbeddingShard* shard,
                       std::vector<int64_t>* overwritten) {}
  virtual config::Importance importance_kind() const { return config::FREQUENCY; }
  // Ids holding a row of their own now (CAFE's hot ids); 0 for static storages.
  virtual uint64_t num_hot() const { return 0; }
  // Bytes beyond the weight rows (sketches).
  virtual size_t ExtraBytes() const { return 0; }
  virtual void Save(std::ostream& out) const {}
  virtual void Load(std::istream& in, const std::string& what) {}
  // One line for the start-up log: sizes chosen.
  virtual std::string Describe() const = 0;
};

// The storage of one shard holding `shard_ids` of a table's `table_ids` ids,
// with width `dim` (the table's column count, for the budget), or nullptr for
// FULL (identity). Whether CAFE keeps the table full (at most 2000 x CR ids)
// is decided for the whole table, so it does not depend on the rank count; the
// sizes then scale with the shard's share. `salt` decorrelates the hashes.
std::unique_ptr<RowStorage> MakeRowStorage(const config::CompressionConfig& cfg, uint64_t table_ids, uint64_t shard_ids,
                                           int dim, config::IdTransform transform, uint64_t salt);

// True when a CAFE table of `table_ids` ids stays uncompressed (the paper keeps
// fields with at most 2000 x CR ids whole).
bool CafeKeepsFull(const config::CompressionConfig& cfg, uint64_t table_ids, int dim);

}  // namespace shardrec
