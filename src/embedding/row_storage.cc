#include "shardrec/embedding/row_storage.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <istream>
#include <ostream>

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/core/rng.h"
#include "shardrec/embedding/cafe_sizing.h"
#include "shardrec/embedding/embedding_shard.h"
#include "shardrec/embedding/sharded_collection.h"

namespace shardrec {
namespace {

// Multiplicative hash into [0, n): multiply by an odd constant and keep the
// high bits via a 128-bit range reduction (no modulo bias, no division).
inline uint64_t MulHash(uint64_t id, uint64_t salt, uint64_t multiplier, uint64_t n) {
  const uint64_t h = (id ^ salt) * multiplier;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * n) >> 64);
}
constexpr uint64_t kMulA = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kMulB = 0xC2B2AE3D27D4EB4Full;

uint64_t CeilDiv(double a, double b) { return static_cast<uint64_t>(std::ceil(a / b)); }

class HashStorage final : public RowStorage {
 public:
  HashStorage(uint64_t n, double cr, uint64_t salt)
      : rows_(std::max<uint64_t>(1, CeilDiv(n, cr))), salt_(salt), n_(n) {}
  uint64_t physical_rows() const override { return rows_; }
  int Resolve(uint64_t id, int64_t* rows) const override {
    rows[0] = static_cast<int64_t>(MulHash(id, salt_, kMulA, rows_));
    return 1;
  }
  std::string Describe() const override { return Str("hash: ", n_, " ids -> ", rows_, " rows"); }

 private:
  uint64_t rows_, salt_, n_;
};

// Quotient-remainder trick with the sum combiner: id -> q-row(id / m) + r-row(id % m).
class QrStorage final : public RowStorage {
 public:
  QrStorage(uint64_t n, double cr, config::IdTransform transform) : n_(n), transform_(transform) {
    const double budget = std::max(2.0, std::ceil(static_cast<double>(n) / cr));
    // Spend the budget: q + m = budget with q = n / m gives m^2 - budget m + n = 0;
    // take the larger root (more remainder rows). The least memory Q-R can use
    // is 2 sqrt(n), at m = sqrt(n); a smaller budget is exceeded (and said).
    const double disc = budget * budget - 4.0 * static_cast<double>(n);
    const double root = disc >= 0 ? (budget + std::sqrt(disc)) / 2 : std::sqrt(static_cast<double>(n));
    m_ = std::min<uint64_t>(std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(root))), n);
    q_ = CeilDiv(n, m_);
    // Rounding up m and q may overshoot by a row or two; trim m while the ids still fit.
    while (disc >= 0 && q_ + m_ > static_cast<uint64_t>(budget) && m_ > 1 && CeilDiv(n, m_ - 1) + m_ - 1 < q_ + m_) {
      --m_;
      q_ = CeilDiv(n, m_);
    }
    over_budget_ = q_ + m_ > budget;
  }
  uint64_t physical_rows() const override { return q_ + m_; }
  int Resolve(uint64_t id, int64_t* rows) const override {
    const uint64_t x = MapIdToRow(id, n_, transform_);
    rows[0] = static_cast<int64_t>(x / m_);
    rows[1] = static_cast<int64_t>(q_ + x % m_);
    return 2;
  }
  std::string Describe() const override {
    return Str("qr: ", n_, " ids -> ", q_, " quotient + ", m_, " remainder rows",
               over_budget_ ? " (over budget: Q-R needs at least 2*sqrt(ids) rows)" : "");
  }

 private:
  uint64_t n_, m_ = 1, q_ = 1;
  config::IdTransform transform_;
  bool over_budget_ = false;
};

// CAFE: rows [0, H) are hot rows handed out by the sketch; rows [H, H + A)
// the hashed rows every other id reads; with multi-level, rows [H + A, H + A + B)
// a second hash table that medium ids add to their first hashed row.
class CafeStorage final : public RowStorage {
 public:
  // A shard holding n of the table's table_ids ids gets that share of the table's sizes.
  CafeStorage(const config::CompressionConfig& cfg, uint64_t table_ids, uint64_t n, int dim, uint64_t salt,
              bool multilevel)
      : salt_(salt), multilevel_(multilevel), importance_(cfg.importance()), n_(n) {
    const CafeDefaults defaults = CafeDefaultsFor(cfg.compression_ratio());
    threshold_ = cfg.cafe_threshold() > 0 ? static_cast<float>(cfg.cafe_threshold()) : defaults.threshold;
    const double h = cfg.cafe_hash_share() > 0 ? cfg.cafe_hash_share() : defaults.hash_share;
    sizes_ = ComputeCafeSizes(table_ids, dim, cfg.compression_ratio(), h);
    SR_CHECK(!sizes_.full) << "CAFE storage built for a table small enough to keep full";
    const double share = static_cast<double>(n) / static_cast<double>(std::max<uint64_t>(1, table_ids));
    sizes_.hot_rows = static_cast<uint64_t>(std::floor(sizes_.hot_rows * share));
    sizes_.hash_rows = std::max<uint64_t>(1, static_cast<uint64_t>(std::floor(sizes_.hash_rows * share)));
    sizes_.sketch_buckets = std::max<uint64_t>(1, static_cast<uint64_t>(std::floor(sizes_.sketch_buckets * share)));
    hot_ = sizes_.hot_rows;
    const uint64_t hash_total = std::max<uint64_t>(multilevel ? 2 : 1, sizes_.hash_rows);
    if (multilevel) {
      hash_a_ = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(hash_total * cfg.multilevel_hash_split())));
      hash_b_ = std::max<uint64_t>(1, hash_total - std::min(hash_total - 1, hash_a_));
    } else {
      hash_a_ = hash_total;
    }
    medium_ = static_cast<float>(cfg.medium_threshold_ratio()) * threshold_;
    sketch_ = std::make_unique<HotSketch>(std::max<uint64_t>(1, sizes_.sketch_buckets), hot_, threshold_,
                                          static_cast<float>(cfg.cafe_decay()), salt ^ 0x5ca1ab1eull);
  }
  uint64_t physical_rows() const override { return hot_ + hash_a_ + hash_b_; }
  int Resolve(uint64_t id, int64_t* rows) const override {
    const int64_t hot = sketch_->HotRow(id);
    if (hot >= 0) {
      rows[0] = hot;
      return 1;
    }
    rows[0] = static_cast<int64_t>(hot_ + MulHash(id, salt_, kMulA, hash_a_));
    if (multilevel_ && sketch_->Score(id) >= medium_) {
      rows[1] = static_cast<int64_t>(hot_ + hash_a_ + MulHash(id, salt_, kMulB, hash_b_));
      return 2;
    }
    return 1;
  }
  bool adaptive() const override { return true; }
  config::Importance importance_kind() const override { return importance_; }

  void Observe(const std::vector<uint64_t>& ids, const std::vector<float>& importance, EmbeddingShard* shard,
               std::vector<int64_t>* overwritten) override {
    std::vector<HotSketch::Change> promoted, demoted;
    int64_t before[kMaxRowsPerId];
    std::vector<float> promoted_row(static_cast<size_t>(shard->cols()));
    for (size_t i = 0; i < ids.size(); ++i) {
      // The rows this id reads now (before the insert may promote it).
      const int n_before = Resolve(ids[i], before);
      promoted.clear();
      sketch_->Insert(ids[i], importance[i], &promoted, &demoted);
      for (const HotSketch::Change& p : promoted) {
        // Only the id just inserted can be promoted by its insert.
        SR_CHECK(p.id == ids[i]) << "sketch promoted id " << p.id << " while inserting " << ids[i];
        // The id's current embedding: its hashed row(s), summed in fp32 (a
        // single row is copied exactly in any storage type).
        shard->weights.PoolSum(before, n_before, promoted_row.data());
        shard->weights.Write(p.hot_row, promoted_row.data());
        if (shard->state_per_row > 0) {
          std::memcpy(shard->state.data() + p.hot_row * shard->state_per_row,
                      shard->state.data() + before[0] * shard->state_per_row, sizeof(float) * shard->state_per_row);
        }
        overwritten->push_back(p.hot_row);
        ++promotions_;
      }
    }
    demotions_ += demoted.size();
  }
  size_t ExtraBytes() const override { return sketch_->MemoryBytes(); }
  uint64_t num_hot() const override { return sketch_->num_hot(); }
  void Save(std::ostream& out) const override { sketch_->Save(out); }
  void Load(std::istream& in, const std::string& what) override { sketch_->Load(in, what); }
  std::string Describe() const override {
    return Str(multilevel_ ? "cafe_multilevel" : "cafe", ": ", n_, " ids -> ", hot_, " hot rows (",
               sketch_->num_buckets(), " sketch buckets, T ", threshold_, ") + ",
               multilevel_ ? Str(hash_a_, " + ", hash_b_, " hashed rows (medium from score ", medium_, ")")
                           : Str(hash_a_, " hashed rows"));
  }

 private:
  uint64_t salt_;
  bool multilevel_;
  config::Importance importance_;
  uint64_t n_;
  float threshold_ = 0, medium_ = 0;
  CafeSizes sizes_{};
  uint64_t hot_ = 0, hash_a_ = 0, hash_b_ = 0;
  std::unique_ptr<HotSketch> sketch_;
  uint64_t promotions_ = 0, demotions_ = 0;
};

// A compressed table small enough to stay full (CAFE keeps fields with at most
// 2000 x CR ids whole): ids are folded into the rows by the data's transform.
class MappedFullStorage final : public RowStorage {
 public:
  MappedFullStorage(uint64_t n, config::IdTransform transform) : n_(n), transform_(transform) {}
  uint64_t physical_rows() const override { return n_; }
  int Resolve(uint64_t id, int64_t* rows) const override {
    rows[0] = static_cast<int64_t>(MapIdToRow(id, n_, transform_));
    return 1;
  }
  std::string Describe() const override { return Str("full (small enough for the budget): ", n_, " rows"); }

 private:
  uint64_t n_;
  config::IdTransform transform_;
};

}  // namespace

bool CafeKeepsFull(const config::CompressionConfig& cfg, uint64_t table_ids, int dim) {
  const CafeDefaults d = CafeDefaultsFor(cfg.compression_ratio());
  const double h = cfg.cafe_hash_share() > 0 ? cfg.cafe_hash_share() : d.hash_share;
  return ComputeCafeSizes(std::max<uint64_t>(1, table_ids), dim, cfg.compression_ratio(), h).full;
}

std::unique_ptr<RowStorage> MakeRowStorage(const config::CompressionConfig& cfg, uint64_t table_ids, uint64_t shard_ids,
                                           int dim, config::IdTransform transform, uint64_t salt) {
  const uint64_t n = std::max<uint64_t>(1, shard_ids);
  switch (cfg.storage()) {
    case config::CompressionConfig::FULL: return nullptr;
    case config::CompressionConfig::HASH: return std::make_unique<HashStorage>(n, cfg.compression_ratio(), salt);
    case config::CompressionConfig::QR: return std::make_unique<QrStorage>(n, cfg.compression_ratio(), transform);
    case config::CompressionConfig::CAFE:
    case config::CompressionConfig::CAFE_MULTILEVEL: {
      if (CafeKeepsFull(cfg, table_ids, dim)) return std::make_unique<MappedFullStorage>(n, transform);
      return std::make_unique<CafeStorage>(cfg, std::max<uint64_t>(n, table_ids), n, dim, salt,
                                           cfg.storage() == config::CompressionConfig::CAFE_MULTILEVEL);
    }
  }
  SR_THROW() << "unknown table storage " << static_cast<int>(cfg.storage());
  return nullptr;
}

}  // namespace shardrec
