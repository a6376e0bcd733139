// One rectangular piece of one table held by this rank: rows
// [row_begin, row_end) x columns [col_begin, col_end), with its optimizer
// state. A table-wise table is one shard with all rows and columns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shardrec/core/huge_page_allocator.h"
#include "shardrec/embedding/embedding_rows.h"
#include "shardrec/embedding/row_storage.h"

namespace shardrec {

struct EmbeddingShard {
  int table = 0;        // index into the collection's tables
  int shard_index = 0;  // index into the plan's shard list of that table
  uint64_t row_begin = 0, row_end = 0;
  int col_begin = 0, col_end = 0;
  int state_per_row = 0;
  // Compressed tables: maps ids to physical rows (nullptr for FULL, whose
  // physical rows are the logical rows [row_begin, row_end)).
  std::unique_ptr<RowStorage> storage;
  int64_t num_rows = 0;                                // physical rows held
  EmbeddingRows weights;                               // num_rows x cols, in the table's storage type
  std::vector<float, HugePageAllocator<float>> state;  // num_rows x state_per_row, fp32

  int64_t rows() const { return num_rows; }
  int cols() const { return col_end - col_begin; }
};

// Initial value of a table's rows: uniform in [-scale, scale], a pure function
// of (seed, table name, global row), so a row starts the same on any rank and
// under any sharding. Fills `out` with columns [col_begin, col_end).
void InitRow(uint64_t seed, const std::string& table, uint64_t global_row, int dim, int col_begin, int col_end,
             float scale, float* out);

}  // namespace shardrec
