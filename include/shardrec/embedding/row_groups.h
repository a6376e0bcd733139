// One step's gradient rows for one shard, grouped by table row: what the owner
// de-duplicates before applying the sparse optimizer once per touched row.
//
// Build() takes the (row, gradient) occurrences in the order a single process
// would visit them and sorts them stably by row with an LSD radix sort (11
// bits of row per pass: 2 passes for a 4M-row shard). Equal rows keep their
// visiting order, so a row's gradient sum has the same bits whatever the
// number of ranks; rows come out ascending, so the update walks the table in
// address order; and no per-row scratch the size of the table is needed.
#pragma once

#include <cstdint>
#include <vector>

namespace shardrec {

struct RowGrad {
  int64_t row;
  const float* grad;
};

class RowGroups {
 public:
  // Occurrences are appended between Clear() and Build().
  void Clear() { items_.clear(); }
  void Add(int64_t row, const float* grad) { items_.push_back({row, grad}); }
  bool empty() const { return items_.empty(); }

  // Sorts the occurrences (every row in [0, num_rows)) and groups them.
  void Build(int64_t num_rows);

  // The size() distinct rows, ascending, after Build().
  const int64_t* rows() const { return rows_.data(); }
  int64_t size() const { return groups_; }
  // Group i's occurrences, in visiting order: items()[begin(i) .. begin(i + 1)).
  int64_t begin(int64_t i) const { return begin_[i]; }
  const RowGrad* items() const { return items_.data(); }

  // Marks the group of `row`, if any, as dropped (its update is skipped).
  void Drop(int64_t row);
  bool dropped(int64_t i) const { return dropped_[i] != 0; }

 private:
  std::vector<RowGrad> items_, scratch_;
  std::vector<int64_t> rows_, begin_;
  int64_t groups_ = 0;
  std::vector<char> dropped_;
};

}  // namespace shardrec
