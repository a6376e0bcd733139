#include "shardrec/embedding/sharded_collection.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <istream>
#include <ostream>

#include "cpu/embedding_bag.h"
#include "shardrec/comm/wire_type.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/core/rng.h"
#include "shardrec/core/timer.h"
#include "shardrec/embedding/planner.h"
#include "shardrec/embedding/row_groups.h"

namespace shardrec {

namespace {
// How many ids ahead lookups and updates prefetch: enough to cover DRAM latency
// at a few ns per row of work.
constexpr int64_t kPrefetchDistance = 64;
}  // namespace

uint64_t MapIdToRow(uint64_t raw_id, uint64_t rows, config::IdTransform transform) {
  return transform == config::MODULO ? raw_id % rows : Mix64(raw_id) % rows;
}

struct ShardedEmbeddingCollection::Saved {
  int64_t batch = 0;
  std::vector<int64_t> src_batch;                     // batch size of every rank
  std::vector<std::vector<int32_t>> lengths_from;     // [src] per my segment, src_batch[src] lengths
  std::vector<std::vector<int64_t>> rows_from;        // [src] local rows in my shards, segment-major
  std::vector<std::vector<int32_t>> feature_lengths;  // [f] bag lengths of the local batch
  // Owner side: what the received ids resolve to. Physical rows per sample
  // and the rows themselves, per source, segment-major like the ids (for FULL
  // tables a copy of the ids; compressed storages may read two rows per id).
  std::vector<std::vector<int32_t>> phys_lengths;
  std::vector<std::vector<int64_t>> phys_rows;
  // Buffers reused every step (clear() keeps capacity), so a step does not allocate.
  std::vector<std::vector<int32_t>> len_send;
  std::vector<std::vector<int64_t>> row_send;
  std::vector<std::vector<float>> float_send, float_recv;
  std::vector<RowGroups> groups;  // [local shard] this step's gradient rows, grouped by row
};

ShardedEmbeddingCollection::ShardedEmbeddingCollection(std::vector<TableSpec> tables, plan::ShardingPlan plan,
                                                       const config::EmbeddingConfig& cfg,
                                                       config::IdTransform transform, uint64_t seed, Communicator* comm)
    : tables_(std::move(tables)),
      plan_(std::move(plan)),
      transform_(transform),
      comm_(comm),
      optimizer_(cfg.optimizer()),
      seed_(seed),
      saved_(std::make_unique<Saved>()) {
  const int world = comm_->size();
  const int me = comm_->rank();
  ValidatePlan(plan_, tables_, world);
  int num_features = 0;
  for (const TableSpec& t : tables_)
    for (int f : t.features) num_features = std::max(num_features, f + 1);
  feature_table_.assign(num_features, -1);
  for (size_t t = 0; t < tables_.size(); ++t)
    for (int f : tables_[t].features) feature_table_[f] = static_cast<int>(t);

  for (const TableSpec& t : tables_) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a of the name: stable across runs and ranks
    for (unsigned char c : t.name) h = (h ^ c) * 1099511628211ull;
    table_salt_.push_back(Mix64(h));
    any_adaptive_ = any_adaptive_ || t.compression.storage() == config::CompressionConfig::CAFE ||
                    t.compression.storage() == config::CompressionConfig::CAFE_MULTILEVEL;
  }
  local_shard_of_.resize(tables_.size());
  for (size_t t = 0; t < tables_.size(); ++t) {
    const plan::TablePlan& tp = plan_.tables(static_cast<int>(t));
    local_shard_of_[t].assign(tp.shards_size(), -1);
    for (int s = 0; s < tp.shards_size(); ++s) {
      const plan::Shard& ps = tp.shards(s);
      if (ps.rank() != me) continue;
      EmbeddingShard sh;
      sh.table = static_cast<int>(t);
      sh.shard_index = s;
      sh.row_begin = ps.row_begin();
      sh.row_end = ps.row_end();
      sh.col_begin = static_cast<int>(ps.col_begin());
      sh.col_end = static_cast<int>(ps.col_end());
      sh.state_per_row = optimizer_.StateFloatsPerRow(sh.cols());
      // Compressed storages get their own salt per shard, so row shards hash independently.
      sh.storage = MakeRowStorage(tables_[t].compression, tables_[t].rows, sh.row_end - sh.row_begin, tables_[t].dim,
                                  transform_, Hash3(seed, TableSalt(static_cast<int>(t)), static_cast<uint64_t>(s)));
      sh.num_rows = sh.storage ? static_cast<int64_t>(sh.storage->physical_rows())
                               : static_cast<int64_t>(sh.row_end - sh.row_begin);
      sh.weights.Allocate(tables_[t].storage_dtype, sh.rows(), sh.cols());
      if (sh.storage) {
        // The budget counts rows: a compression ratio is relative to the full
        // table in the same storage type.
        LogAll(Str("table '", tables_[t].name, "' shard ", s, ": ", sh.storage->Describe(), "; budget ",
                   static_cast<double>(sh.weights.element_bytes()) * tables_[t].dim *
                       static_cast<double>(sh.row_end - sh.row_begin) / tables_[t].compression.compression_ratio() /
                       1e6,
                   " MB, allocated ", static_cast<double>(sh.weights.bytes() + sh.storage->ExtraBytes()) / 1e6,
                   " MB (+ optimizer state ", 4.0 * sh.num_rows * sh.state_per_row / 1e6, " MB)"));
      }
      sh.state.assign(static_cast<size_t>(sh.rows()) * sh.state_per_row, optimizer_.InitialState());
      const float scale = cfg.init_scale() > 0 ? static_cast<float>(cfg.init_scale())
                                               : static_cast<float>(std::sqrt(1.0 / static_cast<double>(tp.rows())));
#pragma omp parallel
      {
        std::vector<float> row(static_cast<size_t>(sh.cols()));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < sh.rows(); ++r) {
          // FULL rows start from their logical row; physical rows of a compressed shard from their index.
          const uint64_t key =
              sh.storage ? Hash3(seed, static_cast<uint64_t>(s), static_cast<uint64_t>(r)) : sh.row_begin + r;
          InitRow(seed, tables_[t].name, key, tables_[t].dim, sh.col_begin, sh.col_end, scale, row.data());
          sh.weights.Write(r, row.data());
        }
      }
      local_shard_of_[t][s] = static_cast<int>(shards_.size());
      shards_.push_back(std::move(sh));
    }
  }

  // Segments: (feature, shard) pairs in feature order, then shard order, grouped by owner.
  segments_to_.assign(world, {});
  for (int f = 0; f < num_features; ++f) {
    const int t = feature_table_[f];
    SR_CHECK(t >= 0) << "categorical feature " << f << " is served by no table";
    if (IsReplicated(t)) continue;
    const plan::TablePlan& tp = plan_.tables(t);
    for (int s = 0; s < tp.shards_size(); ++s) segments_to_[tp.shards(s).rank()].push_back({f, t, s});
  }

  // What the tables cost, in the types they are stored in.
  double local[2] = {0, 0};  // rows, optimizer state
  for (const EmbeddingShard& sh : shards_) {
    local[0] += static_cast<double>(sh.weights.bytes());
    local[1] += 4.0 * static_cast<double>(sh.state.size());
  }
  double total[2] = {local[0], local[1]};
  AllReduceSum(*comm_, total, 2);
  const double largest = AllReduceScalar(*comm_, local[0] + local[1], ReduceOp::kMax);
  std::string types;
  for (const TableSpec& t : tables_) {
    const std::string name = config::DType_Name(t.storage_dtype);
    if (types.find(name) == std::string::npos) types += (types.empty() ? "" : "/") + name;
  }
  LogInfo(Str("embedding tables: ", total[0] / 1e6, " MB of rows (", types, ") + ", total[1] / 1e6,
              " MB of optimizer state (fp32) over ", world, " rank(s); largest rank ", largest / 1e6, " MB"));
}

ShardedEmbeddingCollection::~ShardedEmbeddingCollection() = default;

int ShardedEmbeddingCollection::LocalShardIndex(int table, int shard) const {
  const int idx = local_shard_of_[table][shard];
  SR_CHECK(idx >= 0) << "table '" << tables_[table].name << "' shard " << shard << " is not on rank " << comm_->rank();
  return idx;
}

void ShardedEmbeddingCollection::MapFeatureRows(const Batch& batch) {
  SR_CHECK(static_cast<int>(batch.sparse.size()) == num_features())
      << "batch has " << batch.sparse.size() << " categorical features, the embedding collection " << num_features();
  feature_rows_.resize(num_features());
  for (int f = 0; f < num_features(); ++f) {
    const JaggedIds& ids = batch.sparse[f];
    SR_CHECK(static_cast<int64_t>(ids.lengths.size()) == batch.batch_size)
        << "feature " << f << ": " << ids.lengths.size() << " bag lengths for a batch of " << batch.batch_size;
    const TableSpec& table = tables_[feature_table_[f]];
    std::vector<int64_t>& out = feature_rows_[f];
    out.resize(ids.values.size());
    if (table.compressed()) {
      // Compressed storages map raw ids themselves, at the owner.
      std::memcpy(out.data(), ids.values.data(), ids.values.size() * sizeof(uint64_t));
      continue;
    }
    const int64_t n = static_cast<int64_t>(ids.values.size());
    const uint64_t* raw = ids.values.data();
    int64_t* rows = out.data();
    const uint64_t table_rows = table.rows;
    const config::IdTransform transform = transform_;
    // A 64-bit modulo per id is ~25 cycles: worth the second core from a few thousand ids.
#pragma omp parallel for schedule(static) if (n >= 8192)
    for (int64_t i = 0; i < n; ++i) rows[i] = static_cast<int64_t>(MapIdToRow(raw[i], table_rows, transform));
  }
}

void ShardedEmbeddingCollection::Forward(const Batch& batch, std::vector<MatF>* out, bool training) {
  const int world = comm_->size();
  const int me = comm_->rank();
  const int64_t B = batch.batch_size;
  MapFeatureRows(batch);
  Saved& sv = *saved_;
  sv.batch = B;
  sv.src_batch.resize(world);
  {
    ScopedSeconds in_comm(&exchange_s_);
    comm_->AllGather(&B, sizeof(int64_t), sv.src_batch.data());
  }
  sv.feature_lengths.resize(num_features());
  for (int f = 0; f < num_features(); ++f) sv.feature_lengths[f] = batch.sparse[f].lengths;

  // 1. Bucket ids by owning shard: per destination, per segment, B lengths then the rows.
  std::vector<std::vector<int32_t>>& len_send = sv.len_send;
  std::vector<std::vector<int64_t>>& row_send = sv.row_send;
  len_send.resize(world);
  row_send.resize(world);
  for (int d = 0; d < world; ++d) {
    len_send[d].clear();
    row_send[d].clear();
  }
  for (int d = 0; d < world; ++d) {
    for (const Segment& seg : segments_to_[d]) {
      const plan::Shard& ps = plan_.tables(seg.table).shards(seg.shard);
      const int64_t r0 = static_cast<int64_t>(ps.row_begin()), r1 = static_cast<int64_t>(ps.row_end());
      const std::vector<int32_t>& lengths = batch.sparse[seg.feature].lengths;
      const std::vector<int64_t>& rows = feature_rows_[seg.feature];
      if (r0 == 0 && static_cast<uint64_t>(r1) == tables_[seg.table].rows) {
        // The shard holds every row (table- and column-wise): the bag goes as it is.
        len_send[d].insert(len_send[d].end(), lengths.begin(), lengths.end());
        row_send[d].insert(row_send[d].end(), rows.begin(), rows.end());
        continue;
      }
      const bool by_hash = tables_[seg.table].compressed();
      const uint64_t num_shards = static_cast<uint64_t>(plan_.tables(seg.table).shards_size());
      const uint64_t salt = TableSalt(seg.table);
      size_t k = 0;
      for (int64_t b = 0; b < B; ++b) {
        int32_t n = 0;
        for (int32_t j = 0; j < lengths[b]; ++j, ++k) {
          if (by_hash) {
            // Row shards of a compressed table partition the ids by hash; each
            // shard's storage maps its ids to its own rows.
            if (Mix64(static_cast<uint64_t>(rows[k]) ^ salt) % num_shards == static_cast<uint64_t>(seg.shard)) {
              row_send[d].push_back(rows[k]);
              ++n;
            }
          } else if (rows[k] >= r0 && rows[k] < r1) {
            row_send[d].push_back(rows[k] - r0);
            ++n;
          }
        }
        len_send[d].push_back(n);
      }
    }
  }
  // 2. Exchange.
  // Received straight into the step state: backward reads them again.
  std::vector<std::vector<int32_t>>& len_recv = sv.lengths_from;
  std::vector<std::vector<int64_t>>& row_recv = sv.rows_from;
  last_fwd_bytes_ = 0;
  for (int d = 0; d < world; ++d) last_fwd_bytes_ += len_send[d].size() * 4 + row_send[d].size() * 8;
  {
    ScopedSeconds in_comm(&exchange_s_);
    AllToAllFrom(*comm_, &len_send, &len_recv);
    AllToAllFrom(*comm_, &row_send, &row_recv);
  }

  // 3. Owners resolve ids to physical rows and pool them per (source sample, segment).
  ResolveReceived();
  std::vector<std::vector<float>>& pooled_send = sv.float_send;
  pooled_send.resize(world);
  const std::vector<Segment>& mine = segments_to_[me];
  for (int s = 0; s < world; ++s) {
    const int64_t Bs = sv.src_batch[s];
    size_t total = 0;
    for (const Segment& seg : mine)
      total += static_cast<size_t>(Bs) * shards_[LocalShardIndex(seg.table, seg.shard)].cols();
    pooled_send[s].resize(total);
    size_t len_off = 0, row_off = 0, out_off = 0;
    for (const Segment& seg : mine) {
      const EmbeddingShard& sh = shards_[LocalShardIndex(seg.table, seg.shard)];
      const int cols = sh.cols();
      const int row_bytes = cols * static_cast<int>(sh.weights.element_bytes());
      const int32_t* lengths = sv.phys_lengths[s].data() + len_off;
      std::vector<size_t> starts(Bs + 1, 0);
      for (int64_t b = 0; b < Bs; ++b) starts[b + 1] = starts[b] + lengths[b];
      const int64_t* rows = sv.phys_rows[s].data() + row_off;
      float* dst = pooled_send[s].data() + out_off;
      const int64_t n_ids = static_cast<int64_t>(starts[Bs]);
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < Bs; ++b) {
        const int64_t ahead = static_cast<int64_t>(starts[b]) + kPrefetchDistance;
        for (int64_t k = ahead; k < ahead + lengths[b] && k < n_ids; ++k)
          kernels::PrefetchRow(sh.weights.address(rows[k]), row_bytes);
        sh.weights.PoolSum(rows + starts[b], lengths[b], dst + b * cols);
      }
      len_off += Bs;
      row_off += starts[Bs];
      out_off += static_cast<size_t>(Bs) * cols;
    }
  }

  // 4. Partial sums back to the requesters.
  std::vector<std::vector<float>>& pooled_recv = sv.float_recv;
  for (int s = 0; s < world; ++s) last_fwd_bytes_ += pooled_send[s].size() * (forward_wire_ == config::FP32 ? 4 : 2);
  {
    ScopedSeconds in_comm(&exchange_s_);
    AllToAllFloatsFrom(*comm_, &pooled_send, forward_wire_, &pooled_recv);
  }

  // 5. Requesters add each shard's partial sum into its columns. The first
  //    sum to reach a column block is copied rather than added to zeros (the
  //    same bits: 0 + x = x), which saves a pass over the outputs.
  out->resize(num_features());
  std::vector<std::vector<char>> written(num_features());
  for (int f = 0; f < num_features(); ++f) {
    (*out)[f].resize(B, feature_dim(f));
    written[f].assign(feature_dim(f), 0);
  }
  for (int d = 0; d < world; ++d) {
    size_t off = 0;
    for (const Segment& seg : segments_to_[d]) {
      const plan::Shard& ps = plan_.tables(seg.table).shards(seg.shard);
      const int c0 = static_cast<int>(ps.col_begin()), cols = static_cast<int>(ps.col_end() - ps.col_begin());
      SR_CHECK(off + static_cast<size_t>(B) * cols <= pooled_recv[d].size()) << "rank " << d << " sent too few rows";
      ConstMatMap<float> part(pooled_recv[d].data() + off, B, cols);
      std::vector<char>& w = written[seg.feature];
      const int already = static_cast<int>(std::count(w.begin() + c0, w.begin() + c0 + cols, 1));
      if (already == 0) {
        (*out)[seg.feature].middleCols(c0, cols) = part;
      } else {
        // Shards of a plan are rectangles, so a block is all new or all seen;
        // zeroing any new columns keeps this right for any layout.
        for (int c = c0; c < c0 + cols; ++c)
          if (!w[c]) (*out)[seg.feature].col(c).setZero();
        (*out)[seg.feature].middleCols(c0, cols) += part;
      }
      std::fill(w.begin() + c0, w.begin() + c0 + cols, 1);
      off += static_cast<size_t>(B) * cols;
    }
  }
  for (int f = 0; f < num_features(); ++f) {  // replicated tables' features; columns no shard covers
    const std::vector<char>& w = written[f];
    if (std::count(w.begin(), w.end(), 1) == 0) {
      (*out)[f].setZero();
    } else {
      for (int c = 0; c < feature_dim(f); ++c)
        if (!w[c]) (*out)[f].col(c).setZero();
    }
  }
  ReplicatedForward(batch, out);

  for (int f = 0; f < num_features(); ++f) {
    if (tables_[feature_table_[f]].pooling != config::MEAN) continue;
    const std::vector<int32_t>& lengths = batch.sparse[f].lengths;
    for (int64_t b = 0; b < B; ++b)
      if (lengths[b] > 0) (*out)[f].row(b) /= static_cast<float>(lengths[b]);
  }
}

void ShardedEmbeddingCollection::ResolveReceived() {
  Saved& sv = *saved_;
  const int world = comm_->size();
  const std::vector<Segment>& mine = segments_to_[comm_->rank()];
  sv.phys_lengths.resize(world);
  sv.phys_rows.resize(world);
  int64_t resolved[RowStorage::kMaxRowsPerId];
  for (int s = 0; s < world; ++s) {
    const int64_t Bs = sv.src_batch[s];
    SR_CHECK(sv.lengths_from[s].size() == mine.size() * static_cast<size_t>(Bs))
        << "rank " << s << " sent " << sv.lengths_from[s].size() << " bag lengths, expected " << mine.size() * Bs;
    std::vector<int32_t>& pl = sv.phys_lengths[s];
    std::vector<int64_t>& pr = sv.phys_rows[s];
    pl.clear();
    pr.clear();
    size_t lo = 0, ro = 0;
    for (const Segment& seg : mine) {
      const EmbeddingShard& sh = shards_[LocalShardIndex(seg.table, seg.shard)];
      const int32_t* lengths = sv.lengths_from[s].data() + lo;
      size_t n_ids = 0;
      for (int64_t b = 0; b < Bs; ++b) n_ids += static_cast<size_t>(lengths[b]);
      SR_CHECK(ro + n_ids <= sv.rows_from[s].size()) << "rank " << s << " sent too few ids";
      const int64_t* ids = sv.rows_from[s].data() + ro;
      if (sh.storage == nullptr) {
        pl.insert(pl.end(), lengths, lengths + Bs);
        pr.insert(pr.end(), ids, ids + n_ids);
      } else {
        size_t k = 0;
        for (int64_t b = 0; b < Bs; ++b) {
          int32_t n = 0;
          for (int32_t j = 0; j < lengths[b]; ++j, ++k) {
            const int m = sh.storage->Resolve(static_cast<uint64_t>(ids[k]), resolved);
            pr.insert(pr.end(), resolved, resolved + m);
            n += m;
          }
          pl.push_back(n);
        }
      }
      lo += static_cast<size_t>(Bs);
      ro += n_ids;
    }
  }
}

void ShardedEmbeddingCollection::ReplicatedForward(const Batch& batch, std::vector<MatF>* out) {
  for (int f = 0; f < num_features(); ++f) {
    const int t = feature_table_[f];
    if (!IsReplicated(t)) continue;
    const EmbeddingShard& sh = shards_[LocalShardIndex(t, comm_->rank())];
    const std::vector<int32_t>& lengths = batch.sparse[f].lengths;
    const int64_t B = batch.batch_size;
    std::vector<size_t> starts(B + 1, 0);
    for (int64_t b = 0; b < B; ++b) starts[b + 1] = starts[b] + lengths[b];
    MatF& o = (*out)[f];
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      sh.weights.PoolSum(feature_rows_[f].data() + starts[b], lengths[b], o.row(b).data());
    }
  }
}

void ShardedEmbeddingCollection::BackwardAndUpdate(const std::vector<MatF>& grads_in, uint64_t step) {
  const int world = comm_->size();
  const int me = comm_->rank();
  Saved& sv = *saved_;
  const int64_t B = sv.batch;
  SR_CHECK(static_cast<int>(grads_in.size()) == num_features())
      << grads_in.size() << " gradients for " << num_features() << " features";
  // MEAN pooling divided the output by the bag length; so does its gradient.
  std::vector<MatF> mean_scaled;
  std::vector<const MatF*> grads(num_features());
  mean_scaled.resize(num_features());
  for (int f = 0; f < num_features(); ++f) {
    SR_CHECK(grads_in[f].rows() == B && grads_in[f].cols() == feature_dim(f))
        << "feature " << f << ": gradient is " << grads_in[f].rows() << "x" << grads_in[f].cols() << ", expected " << B
        << "x" << feature_dim(f);
    grads[f] = &grads_in[f];
    if (tables_[feature_table_[f]].pooling == config::MEAN) {
      mean_scaled[f] = grads_in[f];
      for (int64_t b = 0; b < B; ++b)
        if (sv.feature_lengths[f][b] > 0) mean_scaled[f].row(b) /= static_cast<float>(sv.feature_lengths[f][b]);
      grads[f] = &mean_scaled[f];
    }
  }
  const kernels::SparseHyper h = optimizer_.Hyper(step);

  // 1. Output gradients to the owners, in the same segment order as forward.
  std::vector<std::vector<float>>& grad_send = sv.float_send;
  grad_send.resize(world);
  for (auto& g : grad_send) g.clear();
  for (int d = 0; d < world; ++d) {
    for (const Segment& seg : segments_to_[d]) {
      const plan::Shard& ps = plan_.tables(seg.table).shards(seg.shard);
      const int c0 = static_cast<int>(ps.col_begin()), cols = static_cast<int>(ps.col_end() - ps.col_begin());
      const size_t off = grad_send[d].size();
      grad_send[d].resize(off + static_cast<size_t>(B) * cols);
      MatMap<float>(grad_send[d].data() + off, B, cols) = grads[seg.feature]->middleCols(c0, cols);
    }
  }
  std::vector<std::vector<float>>& grad_recv = sv.float_recv;
  last_bwd_bytes_ = 0;
  for (int d = 0; d < world; ++d) last_bwd_bytes_ += grad_send[d].size() * (backward_wire_ == config::FP32 ? 4 : 2);
  {
    ScopedSeconds in_comm(&exchange_s_);
    AllToAllFloatsFrom(*comm_, &grad_send, backward_wire_, &grad_recv);
  }

  // 2. Owners sum gradients per row. Loop order (segment, source rank, sample,
  //    position in bag) is the order a single process would use, so the sums
  //    are bitwise independent of the number of ranks.
  const std::vector<Segment>& mine = segments_to_[me];
  // Offsets of each (source, segment) block in the received buffers.
  // Lengths are per sample; ids index rows_from, rows index phys_rows.
  std::vector<std::vector<size_t>> len_off(world), id_off(world), row_off(world), grad_off(world);
  for (int s = 0; s < world; ++s) {
    size_t lo = 0, io = 0, ro = 0, go = 0;
    for (const Segment& seg : mine) {
      len_off[s].push_back(lo);
      id_off[s].push_back(io);
      row_off[s].push_back(ro);
      grad_off[s].push_back(go);
      const int64_t Bs = sv.src_batch[s];
      for (int64_t b = 0; b < Bs; ++b) {
        io += sv.lengths_from[s][lo + b];
        ro += sv.phys_lengths[s][lo + b];
      }
      lo += Bs;
      go += static_cast<size_t>(Bs) * shards_[LocalShardIndex(seg.table, seg.shard)].cols();
    }
    SR_CHECK(go == grad_recv[s].size()) << "rank " << s << " sent " << grad_recv[s].size()
                                        << " gradient floats, expected " << go;
  }
  std::vector<RowGroups>& groups = sv.groups;
  groups.resize(shards_.size());
  for (RowGroups& g : groups) g.Clear();
  for (size_t i = 0; i < mine.size(); ++i) {
    const Segment& seg = mine[i];
    const int local = LocalShardIndex(seg.table, seg.shard);
    const int cols = shards_[local].cols();
    for (int s = 0; s < world; ++s) {
      const int32_t* lengths = sv.phys_lengths[s].data() + len_off[s][i];
      const int64_t* rows = sv.phys_rows[s].data() + row_off[s][i];
      const float* g = grad_recv[s].data() + grad_off[s][i];
      size_t k = 0;
      for (int64_t b = 0; b < sv.src_batch[s]; ++b)
        for (int32_t j = 0; j < lengths[b]; ++j, ++k) groups[local].Add(rows[k], g + b * cols);
    }
  }
  for (size_t local = 0; local < shards_.size(); ++local)
    if (!groups[local].empty()) groups[local].Build(shards_[local].rows());
  if (any_adaptive_) ObserveAdaptive(grad_recv, len_off, id_off, grad_off);
  for (size_t local = 0; local < shards_.size(); ++local)
    if (groups[local].size() > 0) ApplyDeduplicated(shards_[local], groups[local], h, step);
  ReplicatedBackward(grads_in, h, step);
}

void ShardedEmbeddingCollection::ObserveAdaptive(const std::vector<std::vector<float>>& grad_recv,
                                                 const std::vector<std::vector<size_t>>& len_off,
                                                 const std::vector<std::vector<size_t>>& id_off,
                                                 const std::vector<std::vector<size_t>>& grad_off) {
  Saved& sv = *saved_;
  const int world = comm_->size();
  const std::vector<Segment>& mine = segments_to_[comm_->rank()];
  auto adaptive = [&](const Segment& seg) {
    const EmbeddingShard& sh = shards_[LocalShardIndex(seg.table, seg.shard)];
    return sh.storage != nullptr && sh.storage->adaptive();
  };
  // An occurrence's importance is its gradient row's L2 norm (or 1), scaled
  // so its mean over the feature's occurrences in the global batch is 1. The
  // sums are all-reduced, so every rank joins, adaptive shards or not.
  std::vector<double> stats(2 * static_cast<size_t>(num_features()), 0.0);
  std::vector<std::vector<std::vector<float>>> norm(mine.size(), std::vector<std::vector<float>>(world));
  for (size_t i = 0; i < mine.size(); ++i) {
    if (!adaptive(mine[i])) continue;
    const EmbeddingShard& sh = shards_[LocalShardIndex(mine[i].table, mine[i].shard)];
    const bool by_norm = sh.storage->importance_kind() == config::GRADIENT_NORM;
    const int cols = sh.cols();
    for (int s = 0; s < world; ++s) {
      const int32_t* lengths = sv.lengths_from[s].data() + len_off[s][i];
      const float* g = grad_recv[s].data() + grad_off[s][i];
      std::vector<float>& n = norm[i][s];
      n.resize(static_cast<size_t>(sv.src_batch[s]));
      for (int64_t b = 0; b < sv.src_batch[s]; ++b) {
        n[b] = by_norm ? ConstMatMap<float>(g + b * cols, 1, cols).norm() : 1.0f;
        stats[2 * mine[i].feature] += static_cast<double>(n[b]) * lengths[b];
        stats[2 * mine[i].feature + 1] += lengths[b];
      }
    }
  }
  {
    ScopedSeconds in_comm(&exchange_s_);
    AllReduceSum(*comm_, stats.data(), stats.size());
  }

  std::vector<uint64_t> ids;
  std::vector<float> importance;
  std::vector<int64_t> overwritten;
  for (size_t local = 0; local < shards_.size(); ++local) {
    EmbeddingShard& sh = shards_[local];
    if (sh.storage == nullptr || !sh.storage->adaptive()) continue;
    ids.clear();
    importance.clear();
    // Occurrences in the rank-independent order (segment, source, sample, position).
    for (size_t i = 0; i < mine.size(); ++i) {
      if (LocalShardIndex(mine[i].table, mine[i].shard) != static_cast<int>(local)) continue;
      const double sum = stats[2 * mine[i].feature], count = stats[2 * mine[i].feature + 1];
      const double scale = sum > 0 ? count / sum : 1.0;
      for (int s = 0; s < world; ++s) {
        const int32_t* lengths = sv.lengths_from[s].data() + len_off[s][i];
        const int64_t* keys = sv.rows_from[s].data() + id_off[s][i];
        size_t k = 0;
        for (int64_t b = 0; b < sv.src_batch[s]; ++b) {
          for (int32_t j = 0; j < lengths[b]; ++j, ++k) {
            ids.push_back(static_cast<uint64_t>(keys[k]));
            importance.push_back(static_cast<float>(norm[i][s][b] * scale));
          }
        }
      }
    }
    overwritten.clear();
    sh.storage->Observe(ids, importance, &sh, &overwritten);
    // A row handed to a newly promoted id may have collected gradient this
    // step for the id it served before; that update is dropped.
    for (int64_t r : overwritten) sv.groups[local].Drop(r);
  }
}

void ShardedEmbeddingCollection::ApplyDeduplicated(EmbeddingShard& sh, const RowGroups& groups,
                                                   const kernels::SparseHyper& h, uint64_t step) {
  const int cols = sh.cols();
  const int row_bytes = cols * static_cast<int>(sh.weights.element_bytes());
  const int64_t n = groups.size();
  const int64_t* rows = groups.rows();
  const RowGrad* items = groups.items();
  // fp32 rows are updated in place by the optimizer's kernel, straight from
  // this loop (EmbeddingRows::ApplyOptimizer's FP32 case, inlined): it runs
  // once per touched row and is bound by two cache misses (the row and its
  // state), so it carries no call or storage-type switch.
  float* const f32 = sh.weights.dtype() == config::FP32 ? static_cast<float*>(sh.weights.raw()) : nullptr;
#pragma omp parallel
  {
    std::vector<float> sum(cols);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      if (i + kPrefetchDistance < n) {
        const int64_t ahead = rows[i + kPrefetchDistance];
        kernels::PrefetchRow(sh.weights.address(ahead), row_bytes);
        if (sh.state_per_row > 0)
          kernels::PrefetchRow(sh.state.data() + ahead * sh.state_per_row, 4 * sh.state_per_row);
        kernels::PrefetchRow(items[groups.begin(i + kPrefetchDistance)].grad, 4 * cols);
      }
      // A row handed to a newly promoted id this step: its gradient belonged to the old id.
      if (groups.dropped(i)) continue;
      // Summed from zero in visiting order: the bits a single process gets.
      // A single occurrence is used as it is: 0 + g has g's bits except for
      // g = -0, where at most the sign of a zero weight can differ; every
      // rank count takes the same path, so runs still agree bit for bit.
      const int64_t first = groups.begin(i), end = groups.begin(i + 1);
      const float* grad = items[first].grad;
      if (end - first > 1) {
        std::fill(sum.begin(), sum.end(), 0.0f);
        for (int64_t k = first; k < end; ++k) kernels::AddRow(sum.data(), items[k].grad, cols);
        grad = sum.data();
      }
      if (f32 != nullptr) {
        optimizer_.Apply(h, f32 + rows[i] * cols, sh.state.data() + rows[i] * sh.state_per_row, grad, cols);
      } else {
        UpdateRow(sh, rows[i], grad, h, step);
      }
    }
  }
}

void ShardedEmbeddingCollection::UpdateRow(EmbeddingShard& sh, int64_t r, const float* grad,
                                           const kernels::SparseHyper& h, uint64_t step) {
  uint32_t key = 0;  // stochastic-rounding bits: only 16-bit rows use them
  if (sh.weights.dtype() != config::FP32) {
    const uint64_t row = sh.storage ? Hash3(static_cast<uint64_t>(sh.shard_index), static_cast<uint64_t>(r), 0)
                                    : sh.row_begin + static_cast<uint64_t>(r);
    key = static_cast<uint32_t>(Hash3(seed_ ^ TableSalt(sh.table), step, row));
  }
  sh.weights.ApplyOptimizer(optimizer_, h, r, sh.state.data() + r * sh.state_per_row, grad, key,
                            static_cast<uint32_t>(sh.col_begin));
}

void ShardedEmbeddingCollection::ReplicatedBackward(const std::vector<MatF>& grads, const kernels::SparseHyper& h,
                                                    uint64_t step) {
  const Saved& sv = *saved_;
  for (size_t t = 0; t < tables_.size(); ++t) {
    if (!IsReplicated(static_cast<int>(t))) continue;
    EmbeddingShard& sh = shards_[LocalShardIndex(static_cast<int>(t), comm_->rank())];
    const int cols = sh.cols();
    const int64_t rows = sh.rows();
    // Dense gradient of the (small) replicated table plus a touch count per row,
    // all-reduced in one buffer; rows no rank touched are left alone, as a
    // single process would.
    std::vector<float> buf(static_cast<size_t>(rows) * (cols + 1), 0.0f);
    float* count = buf.data() + static_cast<size_t>(rows) * cols;
    for (int f : tables_[t].features) {
      MatF g = grads[f];
      if (tables_[t].pooling == config::MEAN) {
        for (int64_t b = 0; b < sv.batch; ++b)
          if (sv.feature_lengths[f][b] > 0) g.row(b) /= static_cast<float>(sv.feature_lengths[f][b]);
      }
      size_t k = 0;
      for (int64_t b = 0; b < sv.batch; ++b) {
        for (int32_t j = 0; j < sv.feature_lengths[f][b]; ++j, ++k) {
          const int64_t r = feature_rows_[f][k];
          kernels::AddRow(buf.data() + r * cols, g.row(b).data(), cols);
          count[r] += 1.0f;
        }
      }
    }
    {
      ScopedSeconds in_comm(&exchange_s_);
      AllReduceSum(*comm_, buf.data(), buf.size());
    }
    for (int64_t r = 0; r < rows; ++r) {
      if (count[r] > 0.0f) UpdateRow(sh, r, buf.data() + r * cols, h, step);
    }
  }
}

}  // namespace shardrec
