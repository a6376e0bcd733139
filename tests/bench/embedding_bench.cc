// Embedding-bag forward+backward throughput, as a fraction of this machine's
// memory bandwidth measured by the same binary (a STREAM-style copy).
//
//   embedding_bench [rows=4000000] [dim=16] [batch=16384] [bag=4] [iters=20] [zipf=0] [rounds=5]
//
// zipf = 0 draws ids uniformly (every lookup a cache miss: the worst case);
// zipf = s > 0 draws Zipf(s) ranks scattered over the table by a hash, the
// skew of real categorical features (hot rows stay in cache). Every step gets
// its own batch, so no step finds the rows of an earlier one in cache.
//
// Bytes counted per step: forward reads every looked-up row once (ids*dim*4);
// backward reads and writes each distinct row of the step once, and its
// optimizer state (SGD: row read+write; row-wise Adagrad adds 8 bytes). Only
// row traffic is counted (not the output gradients), so the ratio is
// conservative; with uniform ids nearly every id is a distinct row, with Zipf
// ids far fewer are.
// Three baselines from the same binary: a STREAM-style copy (the issue's
// yardstick), a random row gather, and bare loops doing one row-wise Adagrad
// step's row traffic on the same number of random ids (what this machine's
// memory allows for this access pattern; the collection is reported against it).
// Rows are also run stored as bf16 and fp16 (precision.embedding_storage):
// half the row bytes, widened on lookup, stochastic rounding on update; the
// step time is reported against fp32 rows in the same run.
//
// The machines this runs on share memory bandwidth with other tenants, which
// moves every figure by up to 2x within minutes. So everything is set up
// first and then runs in `rounds` rounds, each running every baseline once and
// iters/rounds steps of every case; ratios are taken within a round, and each
// figure is the median over rounds with its [min-max] beside it.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/sparse_update.h"
#include "shardrec/comm/communicator.h"
#include "shardrec/core/huge_page_allocator.h"
#include "shardrec/core/rng.h"
#include "shardrec/core/timer.h"
#include "shardrec/data/synthetic.h"
#include "shardrec/embedding/planner.h"
#include "shardrec/embedding/sharded_collection.h"

using namespace shardrec;

namespace {

using HugeFloats = std::vector<float, HugePageAllocator<float>>;

// One figure per round; reported as the median with the range beside it.
struct Series {
  std::vector<double> v;
  void Add(double x) { v.push_back(x); }
  double Median() const {
    std::vector<double> s = v;
    std::sort(s.begin(), s.end());
    return s.size() % 2 ? s[s.size() / 2] : 0.5 * (s[s.size() / 2 - 1] + s[s.size() / 2]);
  }
  // "12.3 [11.0-14.2]" with the given printf format for each number.
  std::string Show(const char* fmt) const {
    char buf[96];
    auto one = [&](double x) {
      std::snprintf(buf, sizeof(buf), fmt, x);
      return std::string(buf);
    };
    return one(Median()) + " [" + one(*std::min_element(v.begin(), v.end())) + "-" +
           one(*std::max_element(v.begin(), v.end())) + "]";
  }
};

// A STREAM-style copy over arrays far larger than cache: bytes read + written.
class CopyLoop {
 public:
  explicit CopyLoop(size_t n) : a_(n, 1.0f), b_(n, 2.0f) {}
  double GBs() {
    Timer t;
    const size_t n = a_.size();
    float* a = a_.data();
    const float* b = b_.data();
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; ++i) a[i] = b[i];
    return 2.0 * n * sizeof(float) / t.Seconds() / 1e9;
  }
  float check() const { return a_[7]; }

 private:
  std::vector<float> a_, b_;
};

// A plain random gather of `dim`-float rows from a table of `rows` rows in
// 2 MiB pages (as the collection's tables are), summed into a per-thread
// accumulator: the ceiling for random row access on this machine, a second
// baseline beside the sequential copy. With 4 KiB pages or a short prefetch
// distance this loop is latency-bound at a fraction of what the memory system
// can deliver, so it runs at several distances and the best counts.
class GatherLoop {
 public:
  GatherLoop(uint64_t rows, int dim, size_t n_ids) : dim_(dim), table_(rows * dim, 1.0f), ids_(n_ids) {
    CounterRng rng(9, 9, 9);
    for (auto& id : ids_) id = rng.Below(rows);
  }
  double GBs(size_t distance) {
    const size_t n = ids_.size();
    const int dim = dim_;
    Timer t;
    double total = 0;
#pragma omp parallel reduction(+ : total)
    {
      std::vector<float> acc(dim, 0.0f);
#pragma omp for schedule(static)
      for (size_t i = 0; i < n; ++i) {
        if (i + distance < n) __builtin_prefetch(table_.data() + ids_[i + distance] * dim);
        const float* r = table_.data() + ids_[i] * dim;
        for (int c = 0; c < dim; ++c) acc[c] += r[c];
      }
      for (float a : acc) total += a;
    }
    const double gbs = 4.0 * dim * n / t.Seconds() / 1e9;
    sink_ += total;
    return gbs;
  }
  double check() const { return sink_; }

 private:
  int dim_;
  HugeFloats table_;
  std::vector<uint64_t> ids_;
  double sink_ = 0;
};

// The work of one row-wise Adagrad step on `n_ids` uniformly random rows (fresh
// ones each run), done by bare loops with nothing around them (no id mapping,
// exchange, pooling bookkeeping or de-duplication): a prefetched gather of each
// row into bags of 4 (forward), then the optimizer kernel on each row in
// ascending order with the row and its accumulator prefetched (backward).
// Bytes as counted for the collection, so the ratio of the two is how close
// the collection gets to what this machine's memory allows for this access
// pattern.
class BareAdagradStep {
 public:
  BareAdagradStep(uint64_t rows, int dim, size_t n_ids)
      : rows_(rows),
        dim_(dim),
        table_(rows * dim, 0.5f),
        acc_(rows, 0.1f),
        grad_(dim, 1e-3f),
        out_(n_ids / 4 * dim + dim),
        ids_(n_ids),
        sorted_(n_ids),
        rng_(11, 11, 11) {}
  double GBs(size_t distance) {
    for (auto& id : ids_) id = rng_.Below(rows_);
    sorted_ = ids_;
    std::sort(sorted_.begin(), sorted_.end());  // the de-duplicated order the owner updates in
    const kernels::SparseHyper h{0.01f, 1e-8f, 0.9f, 0.999f, 1.0f, 1.0f};
    const size_t n = ids_.size();
    const int dim = dim_;
    Timer t;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; ++i) {  // bags of 4, pooled into out
      if (i + distance < n) __builtin_prefetch(table_.data() + ids_[i + distance] * dim);
      const float* r = table_.data() + ids_[i] * dim;
      float* o = out_.data() + i / 4 * dim;
      for (int c = 0; c < dim; ++c) o[c] = (i % 4 == 0 ? 0.0f : o[c]) + r[c];
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; ++i) {
      if (i + distance < n) {
        __builtin_prefetch(table_.data() + sorted_[i + distance] * dim, 1);
        __builtin_prefetch(acc_.data() + sorted_[i + distance], 1);
      }
      kernels::RowwiseAdagradRow(table_.data() + sorted_[i] * dim, acc_.data() + sorted_[i], grad_.data(), dim, h);
    }
    const double secs = t.Seconds();
    sink_ += out_[dim];
    return static_cast<double>(n) * (4.0 * dim + 2 * 4.0 * dim + 8.0) / secs / 1e9;
  }
  double check() const { return sink_; }

 private:
  uint64_t rows_;
  int dim_;
  HugeFloats table_, acc_;
  std::vector<float> grad_, out_;
  std::vector<uint64_t> ids_, sorted_;
  CounterRng rng_;
  double sink_ = 0;
};

// One collection (one table, one optimizer, one storage type) and its steps.
struct CollectionCase {
  config::SparseOptimizerType opt;
  config::DType dtype;
  std::unique_ptr<ShardedEmbeddingCollection> coll;
  std::vector<MatF> out;
  double fwd_bytes_per_step = 0, bwd_bytes_per_row = 0;
  Series fwd_gbs, bwd_gbs, total_gbs, step_ms, of_copy, of_gather, of_bare, vs_fp32;

  // Runs batches [first, first + n) and returns {forward, backward} seconds.
  std::pair<double, double> Steps(const std::vector<Batch>& batches, size_t first, size_t n,
                                  const std::vector<MatF>& grads) {
    double fwd = 0, bwd = 0;
    for (size_t k = first; k < first + n; ++k) {
      Timer t;
      coll->Forward(batches[k], &out, true);
      fwd += t.Seconds();
      t.Reset();
      coll->BackwardAndUpdate(grads, k);
      bwd += t.Seconds();
    }
    return {fwd, bwd};
  }
  std::string Name() const {
    return std::string(opt == config::SPARSE_SGD ? "SGD             " : "row-wise Adagrad") + " " +
           config::DType_Name(dtype);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const uint64_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 4000000;
  const int dim = argc > 2 ? std::atoi(argv[2]) : 16;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 16384;
  const int bag = argc > 4 ? std::atoi(argv[4]) : 4;
  const int iters = argc > 5 ? std::atoi(argv[5]) : 20;
  const double zipf = argc > 6 ? std::atof(argv[6]) : 0.0;
  const int rounds = std::max(1, std::min(iters, argc > 7 ? std::atoi(argv[7]) : 5));
  const int steps_per_round = iters / rounds;
  std::printf(
      "embedding_bench: rows %llu dim %d batch %d bag %d, ids %s, %d thread(s); %d rounds of %d steps per "
      "case, medians over rounds [min-max]\n",
      static_cast<unsigned long long>(rows), dim, batch, bag,
      zipf > 0 ? ("Zipf(" + std::to_string(zipf) + ")").c_str() : "uniform", omp_get_max_threads(), rounds,
      steps_per_round);

  // Set-up: every buffer and table first touched here, outside any timing.
  const size_t ids_per_step = static_cast<size_t>(batch) * bag;
  CopyLoop copy(size_t{1} << 27);  // 512 MB per array
  GatherLoop gather(rows, dim, size_t{1} << 24);
  BareAdagradStep bare(rows, dim, ids_per_step);
  const size_t kDistances[] = {16, 64, 128};
  constexpr int kWarmup = 2;
  const ZipfSampler sampler(rows, zipf > 0 ? zipf : 1.0);
  std::vector<Batch> batches(static_cast<size_t>(kWarmup + rounds * steps_per_round));
  for (size_t k = 0; k < batches.size(); ++k) {
    Batch& b = batches[k];
    b.batch_size = batch;
    b.sparse.resize(1);
    CounterRng rng(5, k, 0);
    for (int i = 0; i < batch; ++i) {
      b.sparse[0].lengths.push_back(bag);
      for (int j = 0; j < bag; ++j)
        b.sparse[0].values.push_back(zipf > 0 ? Mix64(sampler.Sample(&rng)) % rows : rng.Below(rows));
    }
  }
  // Distinct rows per batch: what a step's backward reads and writes.
  std::vector<double> distinct(batches.size());
  for (size_t k = 0; k < batches.size(); ++k) {
    std::vector<uint64_t> ids = batches[k].sparse[0].values;
    std::sort(ids.begin(), ids.end());
    distinct[k] = static_cast<double>(std::unique(ids.begin(), ids.end()) - ids.begin());
  }
  const std::vector<MatF> grads(1, MatF::Constant(batch, dim, 1e-3f));
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  std::vector<CollectionCase> cases;
  for (auto [opt, dtype] :
       {std::pair{config::SPARSE_SGD, config::FP32}, std::pair{config::ROWWISE_ADAGRAD, config::FP32},
        std::pair{config::ROWWISE_ADAGRAD, config::BF16}, std::pair{config::ROWWISE_ADAGRAD, config::FP16}}) {
    config::EmbeddingConfig cfg;
    cfg.mutable_optimizer()->set_type(opt);
    std::vector<TableSpec> tables(1);
    tables[0].name = "t";
    tables[0].rows = rows;
    tables[0].dim = dim;
    tables[0].features = {0};
    tables[0].storage_dtype = dtype;
    CollectionCase c;
    c.opt = opt;
    c.dtype = dtype;
    c.coll = std::make_unique<ShardedEmbeddingCollection>(tables, MakePlan(tables, 1, cfg, {1.0 * bag}), cfg,
                                                          config::MODULO, 1, comm.get());
    const double row_bytes = (dtype == config::FP32 ? 4.0 : 2.0) * dim;
    const double state_bytes = opt == config::ROWWISE_ADAGRAD ? 4.0 : 0.0;
    c.fwd_bytes_per_step = ids_per_step * row_bytes;
    c.bwd_bytes_per_row = 2 * row_bytes + 2 * state_bytes;
    c.Steps(batches, 0, kWarmup, grads);  // warm-up: step buffers, plans
    cases.push_back(std::move(c));
  }

  Series copy_gbs, gather_gbs, bare_gbs, gather_of_copy, bare_of_copy;
  std::vector<Series> gather_at(std::size(kDistances));
  for (int r = 0; r < rounds; ++r) {
    const double cp = copy.GBs();
    copy_gbs.Add(cp);
    double g = 0;
    for (size_t i = 0; i < std::size(kDistances); ++i) {
      const double at = gather.GBs(kDistances[i]);
      gather_at[i].Add(at);
      g = std::max(g, at);
    }
    gather_gbs.Add(g);
    gather_of_copy.Add(100 * g / cp);
    const double br = std::max(bare.GBs(64), bare.GBs(128));
    bare_gbs.Add(br);
    bare_of_copy.Add(100 * br / cp);
    double fp32_adagrad_ms = 0;
    const size_t first = kWarmup + static_cast<size_t>(r) * steps_per_round;
    double rows_touched = 0;  // distinct rows over this round's steps
    for (size_t k = first; k < first + steps_per_round; ++k) rows_touched += distinct[k];
    for (CollectionCase& c : cases) {
      const auto [fwd, bwd] = c.Steps(batches, first, steps_per_round, grads);
      const double bwd_bytes = rows_touched * c.bwd_bytes_per_row;
      const double total = (c.fwd_bytes_per_step * steps_per_round + bwd_bytes) / (fwd + bwd) / 1e9;
      const double ms = (fwd + bwd) / steps_per_round * 1e3;
      c.fwd_gbs.Add(c.fwd_bytes_per_step * steps_per_round / fwd / 1e9);
      c.bwd_gbs.Add(bwd_bytes / bwd / 1e9);
      c.total_gbs.Add(total);
      c.step_ms.Add(ms);
      c.of_copy.Add(100 * total / cp);
      c.of_gather.Add(100 * c.fwd_bytes_per_step * steps_per_round / fwd / 1e9 / g);
      if (c.opt == config::ROWWISE_ADAGRAD && c.dtype == config::FP32) {
        if (zipf == 0) c.of_bare.Add(100 * total / br);  // the bare loops draw uniform ids only
        fp32_adagrad_ms = ms;
      } else if (c.dtype != config::FP32) {
        c.vs_fp32.Add(ms / fp32_adagrad_ms);
      }
    }
  }

  std::printf("  (checks: copy %g, gather %g, bare %g)\n", copy.check(), gather.check(), bare.check());
  std::printf("STREAM-style copy: %s GB/s\n", copy_gbs.Show("%.2f").c_str());
  for (size_t i = 0; i < std::size(kDistances); ++i)
    std::printf("  random gather, prefetch %zu ahead: %s GB/s\n", kDistances[i], gather_at[i].Show("%.2f").c_str());
  std::printf("random row gather, best (same table size, 2 MiB pages): %s GB/s = %s%% of copy\n",
              gather_gbs.Show("%.2f").c_str(), gather_of_copy.Show("%.0f").c_str());
  std::printf(
      "bare loops, one row-wise Adagrad step on as many uniformly random ids (gather, then update in row order): %s "
      "GB/s = %s%% of copy%s\n",
      bare_gbs.Show("%.2f").c_str(), bare_of_copy.Show("%.0f").c_str(),
      zipf > 0 ? " (uniform ids: not compared with the Zipf cases)" : "");
  for (const CollectionCase& c : cases) {
    std::printf(
        "%s rows: forward %s GB/s (%s%% of random gather), backward+update %s GB/s, total %s GB/s = %s%% of "
        "copy; step %s ms",
        c.Name().c_str(), c.fwd_gbs.Show("%.2f").c_str(), c.of_gather.Show("%.0f").c_str(),
        c.bwd_gbs.Show("%.2f").c_str(), c.total_gbs.Show("%.2f").c_str(), c.of_copy.Show("%.0f").c_str(),
        c.step_ms.Show("%.2f").c_str());
    if (!c.of_bare.v.empty()) std::printf(" = %s%% of the bare loops", c.of_bare.Show("%.0f").c_str());
    if (!c.vs_fp32.v.empty()) std::printf(" = %sx the fp32-row step", c.vs_fp32.Show("%.2f").c_str());
    std::printf("\n");
  }
  return 0;
}
