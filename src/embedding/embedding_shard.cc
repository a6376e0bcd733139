#include "shardrec/embedding/embedding_shard.h"

#include <functional>

#include "shardrec/core/rng.h"

namespace shardrec {

void InitRow(uint64_t seed, const std::string& table, uint64_t global_row, int dim, int col_begin, int col_end,
             float scale, float* out) {
  uint64_t name_hash = 1469598103934665603ull;  // FNV-1a: stable across runs, unlike std::hash
  for (unsigned char c : table) name_hash = (name_hash ^ c) * 1099511628211ull;
  CounterRng rng(seed, name_hash, global_row);
  for (int c = 0; c < dim; ++c) {
    const float v = static_cast<float>(rng.Uniform(-scale, scale));
    if (c >= col_begin && c < col_end) out[c - col_begin] = v;
  }
}

}  // namespace shardrec
