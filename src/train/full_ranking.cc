#include "shardrec/train/full_ranking.h"

#include <algorithm>

#include "shardrec/core/error.h"
#include "shardrec/core/ranking_metrics.h"
#include "shardrec/nn/retrieval_loss.h"

namespace shardrec {
namespace {
// Item rows scored per GEMM: bounds the score matrix to queries x this.
constexpr int64_t kChunkRows = 8192;
}  // namespace

FullRanker::FullRanker(const ShardedEmbeddingCollection& embedding, int table, uint64_t max_item_id)
    : max_item_id_(max_item_id), dim_(embedding.tables()[table].dim) {
  for (const ShardedEmbeddingCollection::RowBlock& b : embedding.OwnedRowBlocks(table)) {
    Block blk{b.first_row, MatF()};
    Vec<float> inv;
    L2NormalizeRows(b.Read(), &blk.rows, &inv);
    blocks_.push_back(std::move(blk));
  }
}

FullRanks FullRanker::Rank(Communicator& comm, const RankQueries& mine) const {
  const size_t b = mine.labels.size();
  SR_CHECK(static_cast<size_t>(mine.users.rows()) == b && mine.label_scores.size() == b &&
           mine.seen_offsets.size() == b + 1)
      << "full ranking: " << mine.users.rows() << " users, " << mine.label_scores.size() << " scores, " << b
      << " labels, " << mine.seen_offsets.size() << " seen offsets";
  SR_CHECK(b == 0 || mine.users.cols() == dim_)
      << "full ranking: users have " << mine.users.cols() << " columns, the item table " << dim_;
  // Every rank needs every query: its rows may hold any query's competitors.
  std::vector<float> user_flat(mine.users.data(), mine.users.data() + mine.users.size());
  std::vector<float> zeroed(b);
  std::vector<int64_t> seen_len(b);
  for (size_t q = 0; q < b; ++q) {
    const auto first = mine.seen.begin() + mine.seen_offsets[q], last = mine.seen.begin() + mine.seen_offsets[q + 1];
    zeroed[q] = std::find(first, last, mine.labels[q]) != last ? 0.0f : mine.label_scores[q];
    seen_len[q] = mine.seen_offsets[q + 1] - mine.seen_offsets[q];
  }
  const std::vector<float> users_all = AllGatherV(comm, user_flat);
  const std::vector<float> t_all = AllGatherV(comm, mine.label_scores);
  const std::vector<float> tz_all = AllGatherV(comm, zeroed);
  const std::vector<uint64_t> labels = AllGatherV(comm, mine.labels);
  const std::vector<int64_t> seen_len_all = AllGatherV(comm, seen_len);
  const std::vector<uint64_t> seen_all = AllGatherV(comm, mine.seen);
  const int64_t nq = static_cast<int64_t>(labels.size());
  // Per query, its seen items sorted and unique (a repeat purchase counts once).
  std::vector<std::vector<uint64_t>> seen_sets(nq);
  for (int64_t q = 0, off = 0; q < nq; off += seen_len_all[q], ++q) {
    seen_sets[q].assign(seen_all.begin() + off, seen_all.begin() + off + seen_len_all[q]);
    std::sort(seen_sets[q].begin(), seen_sets[q].end());
    seen_sets[q].erase(std::unique(seen_sets[q].begin(), seen_sets[q].end()), seen_sets[q].end());
  }
  const ConstMatMap<float> users(users_all.data(), nq, nq == 0 ? 0 : dim_);
  std::vector<int64_t> ahead(2 * nq, 0);  // [all_items..., seen_zeroed...]
  MatF scores;
  for (const Block& blk : blocks_) {
    for (int64_t c0 = 0; c0 < blk.rows.rows() && nq > 0; c0 += kChunkRows) {
      const int64_t cn = std::min(kChunkRows, blk.rows.rows() - c0);
      const uint64_t first_id = blk.first_row + static_cast<uint64_t>(c0);
      scores.resize(nq, cn);
      scores.noalias() = users * blk.rows.middleRows(c0, cn).transpose();
#pragma omp parallel for schedule(static)
      for (int64_t q = 0; q < nq; ++q) {
        const float t = t_all[q], tz = tz_all[q];
        const uint64_t label = labels[q];
        const float* s = scores.data() + q * cn;
        int64_t a = 0, z = 0;
        for (int64_t j = 0; j < cn; ++j) {
          const uint64_t id = first_id + static_cast<uint64_t>(j);
          if (id == 0 || id > max_item_id_ || id == label) continue;
          a += RanksAhead(s[j], id, t, label);
          z += RanksAhead(s[j], id, tz, label);
        }
        // Seen items compete with score 0 in the second protocol.
        auto lo = std::lower_bound(seen_sets[q].begin(), seen_sets[q].end(), first_id);
        for (; lo != seen_sets[q].end() && *lo < first_id + static_cast<uint64_t>(cn); ++lo) {
          const uint64_t id = *lo;
          if (id == 0 || id > max_item_id_ || id == label) continue;
          z += static_cast<int64_t>(RanksAhead(0.0f, id, tz, label)) -
               static_cast<int64_t>(RanksAhead(s[id - first_id], id, tz, label));
        }
        ahead[q] += a;
        ahead[nq + q] += z;
      }
    }
  }
  AllReduceSum(comm, ahead.data(), ahead.size());
  FullRanks r;
  r.all_items.resize(nq);
  r.seen_zeroed.resize(nq);
  for (int64_t q = 0; q < nq; ++q) {
    r.all_items[q] = 1 + ahead[q];
    r.seen_zeroed[q] = 1 + ahead[nq + q];
  }
  return r;
}

}  // namespace shardrec
