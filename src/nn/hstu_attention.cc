#include "shardrec/nn/hstu_attention.h"

#include <algorithm>
#include <vector>

#include "common/hstu_bias.h"
#include "shardrec/core/error.h"
#include "shardrec/nn/silu.h"

namespace shardrec {
namespace {

constexpr int kTile = 64;  // query rows per tile: its scores stay in L1/L2

const kernels::HstuBucketTable& BucketTable() {
  static const kernels::HstuBucketTable table = kernels::MakeHstuBucketTable();
  return table;
}

// Keys [begin, end) of a query row whose time bias is time_bias[bucket].
struct BucketRun {
  int begin, end, bucket;
};

// Sum of g[0..n) in an order fixed by n alone (8 interleaved partial sums,
// which the compiler turns into one vector), so a gradient never depends on
// where a buffer happens to sit in memory.
template <typename T>
T FixedOrderSum(const T* g, int n) {
  T lane[8] = {};
  int j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) lane[k] += g[j + k];
  T s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
  for (; j < n; ++j) s += g[j];
  return s;
}

// The bias of one sequence. Attention reads it a query row at a time over the
// row's visible history keys, where the position bias is a contiguous slice of
// w_p (pos(j) = j) and the time bias is constant over runs of keys (timestamps
// in time order make a row's buckets fall step by step): each run is found
// once for value and gradient, and added or summed as a block. operator()
// gives one entry (a candidate's score against itself).
template <typename T>
class SequenceBias {
 public:
  SequenceBias(const HstuAttentionParams<T>& p, const int64_t* times, int history)
      : p_(p), times_(times), history_(history) {}

  T operator()(int i, int j) const {
    T b = 0;
    if (p_.pos_bias) b += p_.pos_bias[kernels::HstuPositionBiasIndex(i, j, history_, p_.max_len)];
    if (p_.time_bias) b += p_.time_bias[Bucket(i, j)];
    return b;
  }
  void AddGrad(int i, int j, T g, T* d_pos, T* d_time) const {
    if (d_pos) d_pos[kernels::HstuPositionBiasIndex(i, j, history_, p_.max_len)] += g;
    if (d_time) d_time[Bucket(i, j)] += g;
  }

  // row[j] += bias(i, j) for the history keys j < m; the time bias's runs go to
  // `runs` for AddGradRow.
  void AddRow(int i, int m, T* row, std::vector<BucketRun>* runs) const {
    if (p_.pos_bias) {
      const T* w = p_.pos_bias + kernels::HstuPositionBiasIndex(i, 0, history_, p_.max_len);
      for (int j = 0; j < m; ++j) row[j] += w[j];
    }
    if (p_.time_bias) {
      FindRuns(i, m, runs);
      for (const BucketRun& run : *runs) {
        const T w = p_.time_bias[run.bucket];
        for (int j = run.begin; j < run.end; ++j) row[j] += w;
      }
    }
  }
  // The gradients of what AddRow(i, m, .., runs) read, given g[j] for j < m.
  void AddGradRow(int i, int m, const T* g, const std::vector<BucketRun>& runs, T* d_pos, T* d_time) const {
    if (d_pos) {
      T* d = d_pos + kernels::HstuPositionBiasIndex(i, 0, history_, p_.max_len);
      for (int j = 0; j < m; ++j) d[j] += g[j];
    }
    if (d_time)
      for (const BucketRun& run : runs) d_time[run.bucket] += FixedOrderSum(g + run.begin, run.end - run.begin);
  }

 private:
  int Bucket(int i, int j) const {
    if (times_ == nullptr) return 0;
    return kernels::HstuTimeBucket(BucketTable(), times_[kernels::HstuQueryTimeIndex(i, history_)] - times_[j]);
  }

  // Splits keys [0, m) of row i into runs of one bucket. Each run costs one
  // bucket lookup; its other keys, two comparisons against the bucket's range.
  // Any timestamp order gives the right buckets; time order gives few runs.
  void FindRuns(int i, int m, std::vector<BucketRun>* runs) const {
    runs->clear();
    if (times_ == nullptr) {  // no times: every pair is 0 seconds apart
      if (m > 0) runs->push_back({0, m, 0});
      return;
    }
    const kernels::HstuBucketTable& table = BucketTable();
    const int64_t tq = times_[kernels::HstuQueryTimeIndex(i, history_)];
    for (int j = 0; j < m;) {
      const int b = kernels::HstuTimeBucket(table, tq - times_[j]);
      const uint64_t lo = table.bounds[b], hi = table.bounds[b + 1];
      int end = j + 1;
      while (end < m) {
        const uint64_t a = kernels::HstuAbsDt(tq - times_[end]);
        if (a < lo || a >= hi) break;
        ++end;
      }
      runs->push_back({j, end, b});
      j = end;
    }
  }

  const HstuAttentionParams<T>& p_;
  const int64_t* times_;
  int history_;
};

// Of a tile's `keys` history keys, query row i sees a prefix: j <= i for a
// history row (a history tile's keys reach past its rows), the whole history
// for a candidate (whose own key is handled apart) — kernels::HstuVisible.
inline int VisibleKeys(int i, int keys) { return std::min(i + 1, keys); }

// One thread's buffers for a tile: scores, their gradients, one row's time-bias runs,
// and candidates' scores against their own keys.
template <typename T>
struct TileScratch {
  Mat<T> a, ds;
  std::vector<BucketRun> runs;
  std::vector<T> self_s, self_g, self_w;
};

struct WorkItem {
  int64_t seq;
  int head;
};

template <typename T>
void CheckShapes(const SequenceLayout& layout, const Mat<T>& qkv, int q_col, int k_col, int v_col,
                 const HstuAttentionParams<T>& p) {
  SR_CHECK(qkv.rows() == layout.tokens())
      << "HSTU attention: " << qkv.rows() << " token rows, the layout has " << layout.tokens();
  SR_CHECK(q_col + p.heads * p.dqk <= qkv.cols() && k_col + p.heads * p.dqk <= qkv.cols() &&
           v_col + p.heads * p.dv <= qkv.cols())
      << "HSTU attention: Q/K/V columns exceed the " << qkv.cols() << " input columns";
  SR_CHECK(layout.timestamps.empty() || static_cast<int64_t>(layout.timestamps.size()) == layout.tokens())
      << "HSTU attention: " << layout.timestamps.size() << " timestamps for " << layout.tokens() << " tokens";
  for (int64_t b = 0; b < layout.batch(); ++b) {
    SR_CHECK(layout.length(b) <= p.max_len) << "HSTU attention: sequence " << b << " has " << layout.length(b)
                                            << " tokens, more than max_len " << p.max_len;
    SR_CHECK(layout.targets(b) >= 0 && layout.targets(b) <= layout.length(b))
        << "HSTU attention: sequence " << b << " has " << layout.targets(b) << " targets but " << layout.length(b)
        << " tokens";
  }
}

// Sequences x heads, longest first so the dynamic schedule ends balanced.
std::vector<WorkItem> MakeWork(const SequenceLayout& layout, int heads) {
  std::vector<WorkItem> work;
  work.reserve(static_cast<size_t>(layout.batch() * heads));
  for (int64_t b = 0; b < layout.batch(); ++b)
    if (layout.length(b) > 0)
      for (int h = 0; h < heads; ++h) work.push_back({b, h});
  std::stable_sort(work.begin(), work.end(),
                   [&](const WorkItem& a, const WorkItem& c) { return layout.length(a.seq) > layout.length(c.seq); });
  return work;
}

// Outputs of query rows i0 .. i0+n-1 of one sequence and head (rows at or past
// `hist` are candidates, and a tile never mixes the two): attention over the
// visible rows of (k, v) — for history rows keys 0..i, for candidates the whole
// history — plus, for candidates, each row's own key and value (k_self, v_self).
template <typename T, typename Q, typename K, typename V, typename KS, typename VS, typename O>
void ForwardTile(int i0, int n, int hist, const Q& q, const K& k, const V& v, const KS& k_self, const VS& v_self,
                 const SequenceBias<T>& bias, T inv_n, TileScratch<T>* t, O&& o) {
  const int keys = static_cast<int>(k.rows());
  if (keys == 0) {
    o.setZero();
  } else {
    Mat<T>& a = t->a;
    a.resize(n, keys);
    a.noalias() = q * k.transpose();
    for (int r = 0; r < n; ++r) {
      const int i = i0 + r, m = VisibleKeys(i, keys);
      T* row = &a(r, 0);
      bias.AddRow(i, m, row, &t->runs);
      SiluArray(row, m, inv_n, row);
      std::fill(row + m, row + keys, T(0));
    }
    o.noalias() = a * v;
  }
  if (i0 >= hist) {
    t->self_s.resize(n);
    for (int r = 0; r < n; ++r) t->self_s[r] = q.row(r).dot(k_self.row(r)) + bias(i0 + r, i0 + r);
    SiluArray(t->self_s.data(), n, inv_n, t->self_s.data());
    for (int r = 0; r < n; ++r) o.row(r) += t->self_s[r] * v_self.row(r);
  }
}

}  // namespace

template <typename T>
void HstuAttentionForward(const SequenceLayout& layout, const Mat<T>& qkv, int q_col, int k_col, int v_col,
                          const HstuAttentionParams<T>& p, Mat<T>* out) {
  CheckShapes(layout, qkv, q_col, k_col, v_col, p);
  out->resize(layout.tokens(), p.heads * p.dv);
  const std::vector<WorkItem> work = MakeWork(layout, p.heads);
  const T inv_n = T(1) / static_cast<T>(p.max_len);
  const int64_t* times = layout.timestamps.empty() ? nullptr : layout.timestamps.data();
#pragma omp parallel
  {
    TileScratch<T> scratch;
#pragma omp for schedule(dynamic, 1)
    for (size_t w = 0; w < work.size(); ++w) {
      const int64_t off = layout.offsets[work[w].seq];
      const int len = layout.length(work[w].seq);
      const int hist = len - layout.targets(work[w].seq);
      const int h = work[w].head;
      const SequenceBias<T> bias(p, times ? times + off : nullptr, hist);
      auto q = qkv.block(off, q_col + h * p.dqk, len, p.dqk);
      auto k = qkv.block(off, k_col + h * p.dqk, len, p.dqk);
      auto v = qkv.block(off, v_col + h * p.dv, len, p.dv);
      auto o = out->block(off, h * p.dv, len, p.dv);
      // History rows see keys 0..i; candidate rows see the history, then themselves.
      for (int i0 = 0; i0 < len; i0 += kTile) {
        const bool candidates = i0 >= hist;
        const int i1 = candidates ? std::min(i0 + kTile, len) : std::min(i0 + kTile, hist);
        const int n = i1 - i0, keys = candidates ? hist : i1;
        ForwardTile(i0, n, hist, q.middleRows(i0, n), k.topRows(keys), v.topRows(keys), k.middleRows(i0, n),
                    v.middleRows(i0, n), bias, inv_n, &scratch, o.middleRows(i0, n));
        if (!candidates && i1 == hist && i1 < len) i0 = hist - kTile;  // next tile starts at the first candidate
      }
    }
  }
}

template <typename T>
void HstuAttentionCandidates(const SequenceLayout& history, const Mat<T>& cached_k, const Mat<T>& cached_v,
                             const SequenceLayout& cand, const Mat<T>& cand_qkv, int q_col, int k_col, int v_col,
                             const HstuAttentionParams<T>& p, Mat<T>* out) {
  SR_CHECK(history.batch() == cand.batch()) << "HSTU cached attention: " << cand.batch() << " candidate groups for "
                                            << history.batch() << " cached histories";
  SR_CHECK(cached_k.rows() == history.tokens() && cached_v.rows() == history.tokens() &&
           cached_k.cols() == p.heads * p.dqk && cached_v.cols() == p.heads * p.dv)
      << "HSTU cached attention: the cache holds " << cached_k.rows() << " keys for " << history.tokens()
      << " history tokens";
  SR_CHECK(cand_qkv.rows() == cand.tokens())
      << "HSTU cached attention: " << cand_qkv.rows() << " candidate rows, the layout has " << cand.tokens();
  const bool timed = !history.timestamps.empty() && !cand.timestamps.empty();
  SR_CHECK(history.timestamps.empty() == cand.timestamps.empty())
      << "HSTU cached attention: histories and candidates must both have timestamps or both not";
  for (int64_t b = 0; b < history.batch(); ++b) {
    SR_CHECK(history.length(b) < p.max_len) << "HSTU cached attention: history " << b << " has " << history.length(b)
                                            << " tokens; candidates need it below max_len " << p.max_len;
  }
  out->resize(cand.tokens(), p.heads * p.dv);
  const T inv_n = T(1) / static_cast<T>(p.max_len);
  const int64_t items = history.batch() * p.heads;
#pragma omp parallel
  {
    TileScratch<T> scratch;
    std::vector<int64_t> times;  // the history's times, then the candidates'
#pragma omp for schedule(dynamic, 1)
    for (int64_t w = 0; w < items; ++w) {
      const int64_t b = w / p.heads;
      const int h = static_cast<int>(w % p.heads);
      const int hist = history.length(b), nc = cand.length(b);
      if (nc == 0) continue;
      const int64_t hoff = history.offsets[b], coff = cand.offsets[b];
      if (timed) {
        times.assign(history.timestamps.begin() + hoff, history.timestamps.begin() + hoff + hist);
        times.insert(times.end(), cand.timestamps.begin() + coff, cand.timestamps.begin() + coff + nc);
      }
      const SequenceBias<T> bias(p, timed ? times.data() : nullptr, hist);
      auto k = cached_k.block(hoff, h * p.dqk, hist, p.dqk);
      auto v = cached_v.block(hoff, h * p.dv, hist, p.dv);
      auto q = cand_qkv.block(coff, q_col + h * p.dqk, nc, p.dqk);
      auto k_self = cand_qkv.block(coff, k_col + h * p.dqk, nc, p.dqk);
      auto v_self = cand_qkv.block(coff, v_col + h * p.dv, nc, p.dv);
      auto o = out->block(coff, h * p.dv, nc, p.dv);
      for (int c0 = 0; c0 < nc; c0 += kTile) {
        const int n = std::min(kTile, nc - c0);
        ForwardTile(hist + c0, n, hist, q.middleRows(c0, n), k, v, k_self.middleRows(c0, n), v_self.middleRows(c0, n),
                    bias, inv_n, &scratch, o.middleRows(c0, n));
      }
    }
  }
}

template <typename T>
void HstuAttentionBackward(const SequenceLayout& layout, const Mat<T>& qkv, int q_col, int k_col, int v_col,
                           const HstuAttentionParams<T>& p, const Mat<T>& dout, Mat<T>* dqkv, T* d_pos_bias,
                           T* d_time_bias) {
  CheckShapes(layout, qkv, q_col, k_col, v_col, p);
  SR_CHECK(dout.rows() == layout.tokens() && dout.cols() == p.heads * p.dv)
      << "HSTU attention backward: output gradient is " << dout.rows() << "x" << dout.cols();
  SR_CHECK(dqkv->rows() == qkv.rows() && dqkv->cols() == qkv.cols())
      << "HSTU attention backward: dqkv must be shaped like qkv";
  const std::vector<WorkItem> work = MakeWork(layout, p.heads);
  const T inv_n = T(1) / static_cast<T>(p.max_len);
  const int64_t* times = layout.timestamps.empty() ? nullptr : layout.timestamps.data();
  const int pos_size = 2 * p.max_len - 1;
  // Bias gradients per work item, summed in work order at the end: the result
  // does not depend on which thread ran which item (bitwise reproducible).
  const size_t pos_n = p.pos_bias && d_pos_bias ? pos_size : 0;
  const size_t time_n = p.time_bias && d_time_bias ? kernels::kHstuTimeBuckets : 0;
  std::vector<T> item_grads(work.size() * (pos_n + time_n), T(0));
#pragma omp parallel
  {
    TileScratch<T> scratch;
    Mat<T>& a = scratch.a;
    Mat<T>& ds = scratch.ds;
#pragma omp for schedule(dynamic, 1)
    for (size_t w = 0; w < work.size(); ++w) {
      T* dpos_ptr = pos_n ? item_grads.data() + w * (pos_n + time_n) : nullptr;
      T* dtime_ptr = time_n ? item_grads.data() + w * (pos_n + time_n) + pos_n : nullptr;
      const int64_t off = layout.offsets[work[w].seq];
      const int len = layout.length(work[w].seq);
      const int hist = len - layout.targets(work[w].seq);
      const int h = work[w].head;
      const SequenceBias<T> bias(p, times ? times + off : nullptr, hist);
      auto q = qkv.block(off, q_col + h * p.dqk, len, p.dqk);
      auto k = qkv.block(off, k_col + h * p.dqk, len, p.dqk);
      auto v = qkv.block(off, v_col + h * p.dv, len, p.dv);
      auto dout_s = dout.block(off, h * p.dv, len, p.dv);
      auto dq = dqkv->block(off, q_col + h * p.dqk, len, p.dqk);
      auto dk = dqkv->block(off, k_col + h * p.dqk, len, p.dqk);
      auto dv = dqkv->block(off, v_col + h * p.dv, len, p.dv);
      dk.setZero();
      dv.setZero();
      for (int i0 = 0; i0 < len; i0 += kTile) {
        const bool candidates = i0 >= hist;
        const int i1 = candidates ? std::min(i0 + kTile, len) : std::min(i0 + kTile, hist);
        const int n = i1 - i0, keys = candidates ? hist : i1;
        if (keys == 0) {
          dq.middleRows(i0, n).setZero();
        } else {
          a.resize(n, keys);
          ds.resize(n, keys);
          a.noalias() = q.middleRows(i0, n) * k.topRows(keys).transpose();
          ds.noalias() = dout_s.middleRows(i0, n) * v.topRows(keys).transpose();  // dA
          for (int r = 0; r < n; ++r) {
            const int i = i0 + r, m = VisibleKeys(i, keys);
            T* s = &a(r, 0);
            T* g = &ds(r, 0);
            bias.AddRow(i, m, s, &scratch.runs);
            SiluBackwardArray(s, m, inv_n, g, s);  // weights into a, score gradients into ds
            std::fill(s + m, s + keys, T(0));
            std::fill(g + m, g + keys, T(0));
            bias.AddGradRow(i, m, g, scratch.runs, dpos_ptr, dtime_ptr);
          }
          dv.topRows(keys).noalias() += a.transpose() * dout_s.middleRows(i0, n);
          dq.middleRows(i0, n).noalias() = ds * k.topRows(keys);
          dk.topRows(keys).noalias() += ds.transpose() * q.middleRows(i0, n);
        }
        if (candidates) {
          // Each candidate against its own key.
          scratch.self_s.resize(n);
          scratch.self_g.resize(n);
          scratch.self_w.resize(n);
          for (int i = i0; i < i1; ++i) {
            scratch.self_s[i - i0] = q.row(i).dot(k.row(i)) + bias(i, i);
            scratch.self_g[i - i0] = dout_s.row(i).dot(v.row(i));
          }
          SiluBackwardArray(scratch.self_s.data(), n, inv_n, scratch.self_g.data(), scratch.self_w.data());
          for (int i = i0; i < i1; ++i) {
            const T g = scratch.self_g[i - i0];
            dv.row(i) += scratch.self_w[i - i0] * dout_s.row(i);
            dq.row(i) += g * k.row(i);
            dk.row(i) += g * q.row(i);
            bias.AddGrad(i, i, g, dpos_ptr, dtime_ptr);
          }
        }
        if (!candidates && i1 == hist && i1 < len) i0 = hist - kTile;
      }
    }
  }
  for (size_t w = 0; w < work.size(); ++w) {
    const T* g = item_grads.data() + w * (pos_n + time_n);
    for (size_t i = 0; i < pos_n; ++i) d_pos_bias[i] += g[i];
    for (size_t i = 0; i < time_n; ++i) d_time_bias[i] += g[pos_n + i];
  }
}

template void HstuAttentionForward<float>(const SequenceLayout&, const Mat<float>&, int, int, int,
                                          const HstuAttentionParams<float>&, Mat<float>*);
template void HstuAttentionForward<double>(const SequenceLayout&, const Mat<double>&, int, int, int,
                                           const HstuAttentionParams<double>&, Mat<double>*);
template void HstuAttentionCandidates<float>(const SequenceLayout&, const Mat<float>&, const Mat<float>&,
                                             const SequenceLayout&, const Mat<float>&, int, int, int,
                                             const HstuAttentionParams<float>&, Mat<float>*);
template void HstuAttentionCandidates<double>(const SequenceLayout&, const Mat<double>&, const Mat<double>&,
                                              const SequenceLayout&, const Mat<double>&, int, int, int,
                                              const HstuAttentionParams<double>&, Mat<double>*);
template void HstuAttentionBackward<float>(const SequenceLayout&, const Mat<float>&, int, int, int,
                                           const HstuAttentionParams<float>&, const Mat<float>&, Mat<float>*, float*,
                                           float*);
template void HstuAttentionBackward<double>(const SequenceLayout&, const Mat<double>&, int, int, int,
                                            const HstuAttentionParams<double>&, const Mat<double>&, Mat<double>*,
                                            double*, double*);

}  // namespace shardrec
