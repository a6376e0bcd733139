// The collection's whole-table views and persistence: gathering a table from
// every rank, counting hot ids, and writing / reading this rank's shards.
#include <algorithm>
#include <cstring>
#include <istream>
#include <ostream>

#include "shardrec/core/error.h"
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
    mine.insert(mine.end(), sh.weights.begin(), sh.weights.end());
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

int64_t ShardedEmbeddingCollection::HotIds(int table) {
  int64_t hot = 0;
  for (const EmbeddingShard& sh : shards_)
    if (sh.table == table && sh.storage) hot += static_cast<int64_t>(sh.storage->num_hot());
  return AllReduceScalar<int64_t>(*comm_, hot, ReduceOp::kSum);
}

size_t ShardedEmbeddingCollection::LocalBytes() const {
  size_t bytes = 0;
  for (const EmbeddingShard& sh : shards_) bytes += (sh.weights.size() + sh.state.size()) * sizeof(float);
  return bytes;
}

namespace {
constexpr uint64_t kShardMagic = 0x5352534841524431ull;  // "SRSHARD1"

template <typename T>
void WritePod(std::ostream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T>
void ReadPod(std::istream& in, T* v, const std::string& what) {
  in.read(reinterpret_cast<char*>(v), sizeof(T));
  SR_CHECK(in.good()) << what << ": truncated shard file";
}
}  // namespace

void ShardedEmbeddingCollection::SaveShards(std::ostream& out) const {
  WritePod(out, kShardMagic);
  WritePod(out, static_cast<uint64_t>(shards_.size()));
  for (const EmbeddingShard& sh : shards_) {
    WritePod(out, static_cast<int32_t>(sh.table));
    WritePod(out, static_cast<int32_t>(sh.shard_index));
    WritePod(out, sh.row_begin);
    WritePod(out, sh.row_end);
    WritePod(out, static_cast<int32_t>(sh.col_begin));
    WritePod(out, static_cast<int32_t>(sh.col_end));
    WritePod(out, static_cast<int32_t>(sh.state_per_row));
    WritePod(out, sh.num_rows);
    out.write(reinterpret_cast<const char*>(sh.weights.data()), sh.weights.size() * sizeof(float));
    out.write(reinterpret_cast<const char*>(sh.state.data()), sh.state.size() * sizeof(float));
    if (sh.storage) sh.storage->Save(out);  // e.g. the CAFE sketch: which ids own which rows
  }
}

void ShardedEmbeddingCollection::LoadShards(std::istream& in, const std::string& what) {
  uint64_t magic = 0, count = 0;
  ReadPod(in, &magic, what);
  SR_CHECK(magic == kShardMagic) << what << ": not an embedding shard file (bad magic)";
  ReadPod(in, &count, what);
  SR_CHECK(count == shards_.size()) << what << ": holds " << count << " shards, this rank's plan has "
                                    << shards_.size();
  for (EmbeddingShard& sh : shards_) {
    int32_t table, shard, c0, c1, spr;
    uint64_t r0, r1;
    int64_t physical;
    ReadPod(in, &table, what);
    ReadPod(in, &shard, what);
    ReadPod(in, &r0, what);
    ReadPod(in, &r1, what);
    ReadPod(in, &c0, what);
    ReadPod(in, &c1, what);
    ReadPod(in, &spr, what);
    ReadPod(in, &physical, what);
    SR_CHECK(table == sh.table && shard == sh.shard_index && r0 == sh.row_begin && r1 == sh.row_end &&
             c0 == sh.col_begin && c1 == sh.col_end && spr == sh.state_per_row && physical == sh.num_rows)
        << what << ": shard of table " << table << " rows " << r0 << "-" << r1
        << " does not match the plan's shard of '" << tables_[sh.table].name << "' rows " << sh.row_begin << "-"
        << sh.row_end;
    in.read(reinterpret_cast<char*>(sh.weights.data()), sh.weights.size() * sizeof(float));
    in.read(reinterpret_cast<char*>(sh.state.data()), sh.state.size() * sizeof(float));
    SR_CHECK(in.good()) << what << ": truncated in the rows of table '" << tables_[sh.table].name << "'";
    if (sh.storage) sh.storage->Load(in, what + " (table '" + tables_[sh.table].name + "')");
  }
}

}  // namespace shardrec
