// The collection's whole-table views and persistence: gathering a table from
// every rank, counting hot ids, and writing / reading this rank's shards.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <istream>
#include <ostream>
#include <sstream>

#include "shardrec/core/error.h"
#include "shardrec/core/half_rows.h"
#include "shardrec/embedding/sharded_collection.h"

namespace shardrec {

MatF ShardedEmbeddingCollection::GatherTable(int table) {
  const TableSpec& ts = tables_[table];
  // Each rank contributes its shards of the table as [shard, r0, r1, c0, c1,
  // physical rows, data...]; a replicated table is contributed by rank 0 only.
  constexpr int kHeader = 6;
  std::vector<float> mine;
  for (const EmbeddingShard& sh : shards_) {
    if (sh.table != table) continue;
    if (IsReplicated(table) && comm_->rank() != 0) continue;
    const double hdr[kHeader] = {static_cast<double>(sh.shard_index), static_cast<double>(sh.row_begin),
                                 static_cast<double>(sh.row_end),     static_cast<double>(sh.col_begin),
                                 static_cast<double>(sh.col_end),     static_cast<double>(sh.num_rows)};
    const float* hf = reinterpret_cast<const float*>(hdr);
    mine.insert(mine.end(), hf, hf + 2 * kHeader);
    const size_t at = mine.size();
    mine.resize(at + static_cast<size_t>(sh.num_rows) * sh.cols());
    for (int64_t r = 0; r < sh.num_rows; ++r) sh.weights.Read(r, mine.data() + at + static_cast<size_t>(r) * sh.cols());
  }
  const std::vector<float> all = AllGatherV(*comm_, mine);
  struct Block {
    int shard;
    int64_t r0, r1, physical;
    int c0, c1;
    const float* data;
  };
  std::vector<Block> blocks;
  for (size_t off = 0; off < all.size();) {
    double hdr[kHeader];
    std::memcpy(hdr, all.data() + off, sizeof(hdr));
    off += 2 * kHeader;
    Block b{static_cast<int>(hdr[0]),
            static_cast<int64_t>(hdr[1]),
            static_cast<int64_t>(hdr[2]),
            static_cast<int64_t>(hdr[5]),
            static_cast<int>(hdr[3]),
            static_cast<int>(hdr[4]),
            all.data() + off};
    blocks.push_back(b);
    off += static_cast<size_t>(b.physical) * (b.c1 - b.c0);
  }
  if (!ts.compressed()) {
    MatF full = MatF::Zero(static_cast<int64_t>(ts.rows), ts.dim);
    for (const Block& b : blocks)
      full.block(b.r0, b.c0, b.r1 - b.r0, b.c1 - b.c0) = ConstMatMap<float>(b.data, b.r1 - b.r0, b.c1 - b.c0);
    return full;
  }
  // Compressed: the shards' physical rows stacked in shard order.
  std::sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) { return a.shard < b.shard; });
  int64_t rows = 0;
  for (const Block& b : blocks) rows += b.physical;
  MatF stacked(rows, ts.dim);
  rows = 0;
  for (const Block& b : blocks) {
    stacked.middleRows(rows, b.physical) = ConstMatMap<float>(b.data, b.physical, ts.dim);
    rows += b.physical;
  }
  return stacked;
}

std::vector<ShardedEmbeddingCollection::RowBlock> ShardedEmbeddingCollection::OwnedRowBlocks(int table) const {
  const TableSpec& ts = tables_[table];
  SR_CHECK(!ts.compressed()) << "table '" << ts.name << "': a pass over every row needs FULL storage";
  // Decided from the plan, so every rank throws alike (not only those holding a column shard).
  for (const plan::Shard& ps : plan_.tables(table).shards()) {
    SR_CHECK(ps.col_begin() == 0 && ps.col_end() == static_cast<uint64_t>(ts.dim))
        << "table '" << ts.name << "' is column-wise sharded; a pass over every row needs whole rows";
  }
  std::vector<RowBlock> blocks;
  for (const EmbeddingShard& sh : shards_) {
    if (sh.table != table) continue;
    uint64_t r0 = sh.row_begin, r1 = sh.row_end;
    if (IsReplicated(table)) {  // every rank holds it: take this rank's slice
      const uint64_t n = r1 - r0, w = static_cast<uint64_t>(comm_->size()), me = static_cast<uint64_t>(comm_->rank());
      r0 = sh.row_begin + n * me / w;
      r1 = sh.row_begin + n * (me + 1) / w;
    }
    if (r1 > r0) {
      blocks.push_back({r0, static_cast<int64_t>(r1 - r0), &sh.weights, static_cast<int64_t>(r0 - sh.row_begin)});
    }
  }
  return blocks;
}

MatF ShardedEmbeddingCollection::RowBlock::Read() const {
  MatF out(rows, source->cols());
  for (int64_t r = 0; r < rows; ++r) source->Read(first_source_row + r, out.row(r).data());
  return out;
}

int64_t ShardedEmbeddingCollection::HotIds(int table) {
  int64_t hot = 0;
  for (const EmbeddingShard& sh : shards_)
    if (sh.table == table && sh.storage) hot += static_cast<int64_t>(sh.storage->num_hot());
  return AllReduceScalar<int64_t>(*comm_, hot, ReduceOp::kSum);
}

size_t ShardedEmbeddingCollection::LocalBytes() const {
  size_t bytes = 0;
  for (const EmbeddingShard& sh : shards_) bytes += sh.weights.bytes() + sh.state.size() * sizeof(float);
  return bytes;
}

namespace {
// Shard file: magic, shard count, then per shard a header (table, shard index,
// logical rows and columns, state floats per row, physical rows, storage type
// of the weights), the weights as stored, the fp32 optimizer state, and the
// storage's own bytes (length-prefixed, so readers can skip what they do not
// need). Version 2 files (before 16-bit storage) hold fp32 weights and no type.
constexpr uint64_t kShardMagic2 = 0x5352534841524432ull;  // "SRSHARD2"
constexpr uint64_t kShardMagic = 0x5352534841524433ull;   // "SRSHARD3"

template <typename T>
void WritePod(std::ostream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T>
void ReadPod(std::istream& in, T* v, const std::string& what) {
  in.read(reinterpret_cast<char*>(v), sizeof(T));
  SR_CHECK(in.good()) << what << ": truncated shard file";
}

struct SavedShardHeader {
  int32_t table, shard, col_begin, col_end, state_per_row;
  uint64_t row_begin, row_end;
  int64_t physical;
  uint64_t storage_bytes;
  int32_t dtype = config::FP32;
  int cols() const { return col_end - col_begin; }
  size_t element_bytes() const { return dtype == config::FP32 ? 4 : 2; }
};

// Saved row `r` of a block of `cols`-wide rows stored as `dtype` -> fp32.
void WidenSavedRow(const std::vector<char>& raw, config::DType dtype, int64_t r, int cols, float* out) {
  if (dtype == config::FP32) {
    std::memcpy(out, raw.data() + static_cast<size_t>(r) * cols * 4, sizeof(float) * cols);
  } else {
    std::vector<uint16_t> bits(static_cast<size_t>(cols));
    std::memcpy(bits.data(), raw.data() + static_cast<size_t>(r) * cols * 2, 2 * static_cast<size_t>(cols));
    WidenRow(dtype == config::BF16 ? HalfType::kBf16 : HalfType::kFp16, bits.data(), cols, out);
  }
}
}  // namespace

void ShardedEmbeddingCollection::SaveShards(std::ostream& out) const {
  WritePod(out, kShardMagic);
  WritePod(out, static_cast<uint64_t>(shards_.size()));
  for (const EmbeddingShard& sh : shards_) {
    std::ostringstream storage;
    if (sh.storage) sh.storage->Save(storage);  // e.g. the CAFE sketch: which ids own which rows
    const std::string blob = storage.str();
    WritePod(out, static_cast<int32_t>(sh.table));
    WritePod(out, static_cast<int32_t>(sh.shard_index));
    WritePod(out, static_cast<int32_t>(sh.col_begin));
    WritePod(out, static_cast<int32_t>(sh.col_end));
    WritePod(out, static_cast<int32_t>(sh.state_per_row));
    WritePod(out, sh.row_begin);
    WritePod(out, sh.row_end);
    WritePod(out, sh.num_rows);
    WritePod(out, static_cast<uint64_t>(blob.size()));
    WritePod(out, static_cast<int32_t>(sh.weights.dtype()));
    out.write(static_cast<const char*>(sh.weights.raw()), static_cast<std::streamsize>(sh.weights.bytes()));
    out.write(reinterpret_cast<const char*>(sh.state.data()), sh.state.size() * sizeof(float));
    out.write(blob.data(), static_cast<std::streamsize>(blob.size()));
  }
}

void ShardedEmbeddingCollection::LoadShards(const std::vector<std::string>& files) {
  // Every local cell must be written exactly once from the files.
  std::vector<uint64_t> filled(shards_.size(), 0);
  std::vector<char> weights;  // as saved
  std::vector<float> state, src_row, dst_row;
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    SR_CHECK(in.good()) << "cannot open " << path;
    uint64_t magic = 0, count = 0;
    ReadPod(in, &magic, path);
    SR_CHECK(magic == kShardMagic || magic == kShardMagic2)
        << path << ": not an embedding shard file of a known version (bad magic)";
    ReadPod(in, &count, path);
    for (uint64_t k = 0; k < count; ++k) {
      SavedShardHeader h;
      ReadPod(in, &h.table, path);
      ReadPod(in, &h.shard, path);
      ReadPod(in, &h.col_begin, path);
      ReadPod(in, &h.col_end, path);
      ReadPod(in, &h.state_per_row, path);
      ReadPod(in, &h.row_begin, path);
      ReadPod(in, &h.row_end, path);
      ReadPod(in, &h.physical, path);
      ReadPod(in, &h.storage_bytes, path);
      if (magic == kShardMagic) ReadPod(in, &h.dtype, path);
      SR_CHECK(h.table >= 0 && h.table < static_cast<int32_t>(tables_.size()) && h.col_begin >= 0 &&
               h.col_end > h.col_begin && h.physical >= 0 && h.state_per_row >= 0 && config::DType_IsValid(h.dtype))
          << path << ": corrupt shard header";
      const config::DType dtype = static_cast<config::DType>(h.dtype);
      const size_t n_weights = static_cast<size_t>(h.physical) * h.cols();
      const size_t n_state = static_cast<size_t>(h.physical) * h.state_per_row;
      const std::streamoff block =
          static_cast<std::streamoff>(n_weights * h.element_bytes() + n_state * sizeof(float) + h.storage_bytes);
      // Which local shards does this saved block feed?
      const TableSpec& ts = tables_[h.table];
      std::vector<int> targets;
      for (size_t i = 0; i < shards_.size(); ++i) {
        const EmbeddingShard& sh = shards_[i];
        if (sh.table != h.table) continue;
        if (ts.compressed()) {
          // Physical rows only mean something within the same id partition and sizes.
          if (h.shard == sh.shard_index) {
            SR_CHECK(h.physical == sh.num_rows && h.col_begin == sh.col_begin && h.col_end == sh.col_end)
                << path << ": table '" << ts.name << "' shard " << h.shard << " has " << h.physical
                << " rows, this plan's " << sh.num_rows << " (compressed tables resume only with the same row shards)";
            targets.push_back(static_cast<int>(i));
          }
        } else if (h.row_begin < sh.row_end && sh.row_begin < h.row_end && h.col_begin < sh.col_end &&
                   sh.col_begin < h.col_end) {
          targets.push_back(static_cast<int>(i));
        }
      }
      if (targets.empty()) {
        in.seekg(block, std::ios::cur);
        SR_CHECK(in.good()) << path << ": truncated shard file";
        continue;
      }
      weights.resize(n_weights * h.element_bytes());
      state.resize(n_state);
      in.read(weights.data(), static_cast<std::streamsize>(weights.size()));
      in.read(reinterpret_cast<char*>(state.data()), static_cast<std::streamsize>(n_state * sizeof(float)));
      std::string blob(h.storage_bytes, '\0');
      in.read(blob.data(), static_cast<std::streamsize>(blob.size()));
      SR_CHECK(in.good()) << path << ": truncated in the rows of table '" << ts.name << "'";
      for (int i : targets) {
        EmbeddingShard& sh = shards_[i];
        // Rows are widened from the saved type and stored in this run's: exact
        // when the types agree, and a checkpoint may change the storage type.
        src_row.resize(static_cast<size_t>(h.cols()));
        dst_row.resize(static_cast<size_t>(sh.cols()));
        if (ts.compressed()) {
          for (int64_t r = 0; r < sh.num_rows; ++r) {
            WidenSavedRow(weights, dtype, r, h.cols(), dst_row.data());
            sh.weights.Write(r, dst_row.data());
          }
          std::copy(state.begin(), state.end(), sh.state.begin());
          std::istringstream blob_in(blob);
          sh.storage->Load(blob_in, path + " (table '" + ts.name + "')");
          filled[i] += static_cast<uint64_t>(sh.num_rows) * sh.cols();
          continue;
        }
        // Logical rows x columns: copy the overlap. Per-element state (Adam)
        // follows its columns; a per-row state (row-wise Adagrad) belongs to a
        // column range and moves only to the same range.
        const uint64_t r0 = std::max(h.row_begin, sh.row_begin), r1 = std::min(h.row_end, sh.row_end);
        const int c0 = std::max(h.col_begin, sh.col_begin), c1 = std::min(h.col_end, sh.col_end);
        SR_CHECK(sh.state_per_row == 0 || sh.state_per_row == 2 * sh.cols() ||
                 (h.col_begin == sh.col_begin && h.col_end == sh.col_end))
            << path << ": table '" << ts.name << "': row-wise Adagrad state of columns " << h.col_begin << "-"
            << h.col_end << " cannot move to a shard of columns " << sh.col_begin << "-" << sh.col_end;
        for (uint64_t r = r0; r < r1; ++r) {
          const int64_t src = static_cast<int64_t>(r - h.row_begin), dst = static_cast<int64_t>(r - sh.row_begin);
          WidenSavedRow(weights, dtype, src, h.cols(), src_row.data());
          sh.weights.Read(dst, dst_row.data());
          for (int c = c0; c < c1; ++c) dst_row[c - sh.col_begin] = src_row[c - h.col_begin];
          sh.weights.Write(dst, dst_row.data());
          float* dst_state = sh.state.data() + dst * sh.state_per_row;
          const float* src_state = state.data() + src * h.state_per_row;
          if (sh.state_per_row == 2 * sh.cols() && h.state_per_row == 2 * h.cols()) {  // Adam: m then v
            for (int c = c0; c < c1; ++c) {
              dst_state[c - sh.col_begin] = src_state[c - h.col_begin];
              dst_state[sh.cols() + c - sh.col_begin] = src_state[h.cols() + c - h.col_begin];
            }
          } else if (sh.state_per_row > 0) {
            SR_CHECK(h.state_per_row == sh.state_per_row)
                << path << ": table '" << ts.name << "': optimizer state differs";
            std::copy(src_state, src_state + sh.state_per_row, dst_state);
          }
        }
        filled[i] += (r1 - r0) * static_cast<uint64_t>(c1 - c0);
      }
    }
  }
  for (size_t i = 0; i < shards_.size(); ++i) {
    const EmbeddingShard& sh = shards_[i];
    // Replicated tables are saved by every rank: any one copy fills the replica.
    const uint64_t want = static_cast<uint64_t>(sh.num_rows) * sh.cols();
    SR_CHECK(filled[i] == want || (IsReplicated(sh.table) && filled[i] > 0 && filled[i] % want == 0))
        << "checkpoint covers " << filled[i] << " of " << want << " cells of table '" << tables_[sh.table].name
        << "' rows " << sh.row_begin << "-" << sh.row_end << " on rank " << comm_->rank();
  }
}

}  // namespace shardrec
