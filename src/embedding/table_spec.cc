#include "shardrec/embedding/table_spec.h"

#include <algorithm>
#include <set>

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"

namespace shardrec {

std::vector<TableSpec> ResolveTables(const config::EmbeddingConfig& cfg, int num_sparse,
                                     const std::vector<uint64_t>& cardinalities, config::DType default_storage) {
  // A full table is capped at max_rows; a compressed one keeps the true id
  // count, which sets its budget (ids / compression ratio).
  auto auto_rows = [&](int feature, bool compressed) -> uint64_t {
    const uint64_t card = feature < static_cast<int>(cardinalities.size()) ? cardinalities[feature] : 0;
    const uint64_t n = card > 0 ? card : cfg.default_rows();
    return compressed ? n : std::min<uint64_t>(n, cfg.max_rows());
  };
  std::vector<TableSpec> tables;
  if (cfg.tables_size() == 0) {
    for (int f = 0; f < num_sparse; ++f) {
      TableSpec t;
      t.name = "t" + std::to_string(f);
      t.dim = static_cast<int>(cfg.default_dim());
      t.features = {f};
      t.compression = cfg.default_compression();
      t.storage_dtype = default_storage;
      t.rows = auto_rows(f, t.compressed());
      tables.push_back(t);
    }
    return tables;
  }
  std::vector<int> owner(num_sparse, -1);
  std::set<std::string> names;
  for (int i = 0; i < cfg.tables_size(); ++i) {
    const config::TableConfig& tc = cfg.tables(i);
    const std::string key = "embedding.tables." + std::to_string(i);
    SR_CHECK(names.insert(tc.name()).second) << key << ".name: table name '" << tc.name() << "' is used twice";
    SR_CHECK(tc.features_size() > 0) << key << ".features: table '" << tc.name() << "' serves no feature";
    TableSpec t;
    t.name = tc.name();
    t.dim = static_cast<int>(tc.dim() > 0 ? tc.dim() : cfg.default_dim());
    t.pooling = tc.pooling();
    t.sharding = tc.sharding();
    t.column_shards = static_cast<int>(tc.column_shards());
    t.pinned_rank = tc.rank();
    t.row_shards = static_cast<int>(tc.row_shards());
    t.compression = tc.compression();
    switch (tc.dtype()) {
      case config::TableConfig::DEFAULT: t.storage_dtype = default_storage; break;
      case config::TableConfig::FP32: t.storage_dtype = config::FP32; break;
      case config::TableConfig::BF16: t.storage_dtype = config::BF16; break;
      case config::TableConfig::FP16: t.storage_dtype = config::FP16; break;
    }
    if (t.compressed()) {
      SR_CHECK(t.sharding != config::COLUMN_WISE && t.sharding != config::DATA_PARALLEL)
          << key << ".sharding: a " << config::CompressionConfig::Storage_Name(t.compression.storage())
          << " table is sharded TABLE_WISE or ROW_WISE (its ids map to whole physical rows)";
    }
    uint64_t max_card_rows = 0;
    for (uint32_t f : tc.features()) {
      SR_CHECK(static_cast<int>(f) < num_sparse)
          << key << ".features: feature " << f << " does not exist (the data has " << num_sparse
          << " categorical features)";
      SR_CHECK(owner[f] < 0) << key << ".features: feature " << f << " is already served by table '"
                             << cfg.tables(owner[f]).name() << "'";
      owner[f] = i;
      t.features.push_back(static_cast<int>(f));
      max_card_rows = std::max(max_card_rows, auto_rows(static_cast<int>(f), t.compressed()));
    }
    t.rows = tc.rows() > 0 ? tc.rows() : max_card_rows;
    if (t.column_shards > 0) {
      SR_CHECK(t.dim % t.column_shards == 0)
          << key << ".column_shards: " << t.column_shards << " does not divide dim " << t.dim;
    }
    tables.push_back(t);
  }
  for (int f = 0; f < num_sparse; ++f) {
    SR_CHECK(owner[f] >= 0) << "embedding.tables: categorical feature " << f << " is served by no table";
  }
  return tables;
}

}  // namespace shardrec
