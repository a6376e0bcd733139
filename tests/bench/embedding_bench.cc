// Embedding-bag forward+backward throughput, as a fraction of this machine's
// memory bandwidth measured by the same binary (a STREAM-style copy).
//
//   embedding_bench [rows=4000000] [dim=16] [batch=16384] [bag=4] [iters=20] [zipf=0]
//
// zipf = 0 draws ids uniformly (every lookup a cache miss: the worst case);
// zipf = s > 0 draws Zipf(s) ranks scattered over the table by a hash, the
// skew of real categorical features (hot rows stay in cache).
//
// Bytes counted per step: forward reads every looked-up row once (ids*dim*4);
// backward reads the row and its optimizer state and writes both (SGD: row
// read+write; row-wise Adagrad adds 8 bytes per unique row), plus the output
// gradient read. Only row traffic is counted, so the ratio is conservative.
// Three baselines from the same binary: a STREAM-style copy (the issue's
// yardstick), a random row gather, and bare loops doing one row-wise Adagrad
// step's row traffic on the same number of random ids (what this machine's
// memory allows for this access pattern; the collection is reported against it).
// Rows are also run stored as bf16 and fp16 (precision.embedding_storage):
// half the row bytes, widened on lookup, stochastic rounding on update; the
// step time is reported against fp32 rows in the same run.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
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

// Best-of-5 copy bandwidth over arrays far larger than cache (bytes read + written).
double StreamCopyGBs(size_t n) {
  std::vector<float> a(n, 1.0f), b(n, 2.0f);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    Timer t;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; ++i) a[i] = b[i];
    const double s = t.Seconds();
    best = std::max(best, 2.0 * n * sizeof(float) / s / 1e9);
  }
  std::printf("  (copy check: a[7]=%g)\n", a[7]);
  return best;
}

// Best bandwidth of a plain random gather of `dim`-float rows from a table of
// `rows` rows in 2 MiB pages (as the collection's tables are), summed into a
// per-thread accumulator, over several prefetch distances (best of 3 each):
// the ceiling for random row access on this machine, a second baseline beside
// the sequential copy. With 4 KiB pages or a short prefetch distance this loop
// is latency-bound at a fraction of what the memory system can deliver.
double RandomGatherGBs(uint64_t rows, int dim, size_t n_ids) {
  std::vector<float, HugePageAllocator<float>> table(rows * dim, 1.0f);
  std::vector<uint64_t> ids(n_ids);
  CounterRng rng(9, 9, 9);
  for (auto& id : ids) id = rng.Below(rows);
  double best = 0, sink = 0;
  for (const size_t distance : {16, 64, 128}) {
    double best_here = 0;
    for (int rep = 0; rep < 3; ++rep) {
      Timer t;
      double total = 0;
#pragma omp parallel reduction(+ : total)
      {
        std::vector<float> acc(dim, 0.0f);
#pragma omp for schedule(static)
        for (size_t i = 0; i < n_ids; ++i) {
          if (i + distance < n_ids) __builtin_prefetch(table.data() + ids[i + distance] * dim);
          const float* r = table.data() + ids[i] * dim;
          for (int c = 0; c < dim; ++c) acc[c] += r[c];
        }
        for (float a : acc) total += a;
      }
      sink += total;
      best_here = std::max(best_here, 4.0 * dim * n_ids / t.Seconds() / 1e9);
    }
    std::printf("  random gather, prefetch %zu ahead: %.2f GB/s\n", distance, best_here);
    best = std::max(best, best_here);
  }
  std::printf("  (gather check: %g)\n", sink);
  return best;
}

// The work of one row-wise Adagrad step on `n_ids` distinct uniformly random
// rows, done by bare loops with nothing around them (no id mapping, exchange,
// pooling bookkeeping or de-duplication): a prefetched gather of each row
// (forward), then the optimizer kernel on each row in ascending order with the
// row and its accumulator prefetched (backward). Best of 5 at prefetch
// distances 64 and 128. Bytes as counted for the collection, so the ratio of
// the two is how close the collection gets to what this machine's memory
// allows for this access pattern.
double BareAdagradStepGBs(uint64_t rows, int dim, size_t n_ids) {
  std::vector<float, HugePageAllocator<float>> table(rows * dim, 0.5f), acc(rows, 0.1f);
  std::vector<float> grad(dim, 1e-3f), out(n_ids / 4 * dim + dim);
  CounterRng rng(11, 11, 11);
  std::vector<uint64_t> ids(n_ids);
  double best = 0, sink = 0;
  const kernels::SparseHyper h{0.01f, 1e-8f, 0.9f, 0.999f, 1.0f, 1.0f};
  for (const size_t distance : {64, 128}) {
    for (int rep = 0; rep < 5; ++rep) {
      for (auto& id : ids) id = rng.Below(rows);
      std::vector<uint64_t> sorted = ids;
      std::sort(sorted.begin(), sorted.end());  // the de-duplicated order the owner updates in
      Timer t;
#pragma omp parallel for schedule(static)
      for (size_t i = 0; i < n_ids; ++i) {  // bags of 4, pooled into out
        if (i + distance < n_ids) __builtin_prefetch(table.data() + ids[i + distance] * dim);
        const float* r = table.data() + ids[i] * dim;
        float* o = out.data() + i / 4 * dim;
        for (int c = 0; c < dim; ++c) o[c] = (i % 4 == 0 ? 0.0f : o[c]) + r[c];
      }
#pragma omp parallel for schedule(static)
      for (size_t i = 0; i < n_ids; ++i) {
        if (i + distance < n_ids) {
          __builtin_prefetch(table.data() + sorted[i + distance] * dim, 1);
          __builtin_prefetch(acc.data() + sorted[i + distance], 1);
        }
        kernels::RowwiseAdagradRow(table.data() + sorted[i] * dim, acc.data() + sorted[i], grad.data(), dim, h);
      }
      const double secs = t.Seconds();
      sink += out[dim];
      best = std::max(best, static_cast<double>(n_ids) * (4.0 * dim + 2 * 4.0 * dim + 8.0) / secs / 1e9);
    }
  }
  std::printf("  (bare step check: %g)\n", sink);
  return best;
}

int main(int argc, char** argv) {
  const uint64_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 4000000;
  const int dim = argc > 2 ? std::atoi(argv[2]) : 16;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 16384;
  const int bag = argc > 4 ? std::atoi(argv[4]) : 4;
  const int iters = argc > 5 ? std::atoi(argv[5]) : 20;
  const double zipf = argc > 6 ? std::atof(argv[6]) : 0.0;
  std::printf("embedding_bench: rows %llu dim %d batch %d bag %d, ids %s, %d thread(s)\n",
              static_cast<unsigned long long>(rows), dim, batch, bag,
              zipf > 0 ? ("Zipf(" + std::to_string(zipf) + ")").c_str() : "uniform", omp_get_max_threads());
  const ZipfSampler sampler(rows, zipf > 0 ? zipf : 1.0);

  const double stream = StreamCopyGBs(size_t{1} << 27);  // 512 MB per array
  std::printf("STREAM-style copy: %.2f GB/s\n", stream);
  const double gather = RandomGatherGBs(rows, dim, size_t{1} << 24);
  std::printf("random row gather, best (same table size, 2 MiB pages): %.2f GB/s = %.0f%% of copy\n", gather,
              100 * gather / stream);

  const double bare = BareAdagradStepGBs(rows, dim, static_cast<size_t>(batch) * bag);
  std::printf(
      "bare loops, one row-wise Adagrad step on the same ids (gather, then update in row order): %.2f GB/s = "
      "%.0f%% of copy\n",
      bare, 100 * bare / stream);

  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  const std::pair<config::SparseOptimizerType, config::DType> cases[] = {{config::SPARSE_SGD, config::FP32},
                                                                         {config::ROWWISE_ADAGRAD, config::FP32},
                                                                         {config::ROWWISE_ADAGRAD, config::BF16},
                                                                         {config::ROWWISE_ADAGRAD, config::FP16}};
  double fp32_step = 0;
  for (auto [opt, dtype] : cases) {
    config::EmbeddingConfig cfg;
    cfg.mutable_optimizer()->set_type(opt);
    std::vector<TableSpec> tables(1);
    tables[0].name = "t";
    tables[0].rows = rows;
    tables[0].dim = dim;
    tables[0].features = {0};
    tables[0].storage_dtype = dtype;
    ShardedEmbeddingCollection coll(tables, MakePlan(tables, 1, cfg, {1.0 * bag}), cfg, config::MODULO, 1, comm.get());
    // Uniform ids: every lookup a cache miss on a table much larger than cache.
    std::vector<Batch> batches(4);
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
    std::vector<MatF> out;
    std::vector<MatF> grads(1, MatF::Constant(batch, dim, 1e-3f));
    double fwd = 0, bwd = 0;
    for (int it = -2; it < iters; ++it) {  // two warm-up steps
      const Batch& b = batches[(it + 2) % batches.size()];
      Timer t;
      coll.Forward(b, &out, true);
      const double f = t.Seconds();
      t.Reset();
      coll.BackwardAndUpdate(grads, static_cast<uint64_t>(it + 2));
      if (it >= 0) {
        fwd += f;
        bwd += t.Seconds();
      }
    }
    const double ids = static_cast<double>(batch) * bag * iters;
    const double row_bytes = (dtype == config::FP32 ? 4.0 : 2.0) * dim;
    const double state_bytes = opt == config::ROWWISE_ADAGRAD ? 4.0 : 0.0;
    const double fwd_bytes = ids * row_bytes;
    const double bwd_bytes = ids * (2 * row_bytes + 2 * state_bytes);
    const double gbs = (fwd_bytes + bwd_bytes) / (fwd + bwd) / 1e9;
    const double step_ms = (fwd + bwd) / iters * 1e3;
    if (opt == config::ROWWISE_ADAGRAD && dtype == config::FP32) fp32_step = step_ms;
    std::printf(
        "%-16s %s rows (%.0f MB): forward %.2f GB/s (%.1f M ids/s, %.0f%% of random gather), backward+update "
        "%.2f GB/s, total %.2f GB/s = %.0f%% of copy; step %.2f ms",
        opt == config::SPARSE_SGD ? "SGD" : "row-wise Adagrad", config::DType_Name(dtype).c_str(),
        rows * row_bytes / 1e6, fwd_bytes / fwd / 1e9, ids / fwd / 1e6, 100.0 * fwd_bytes / fwd / 1e9 / gather,
        bwd_bytes / bwd / 1e9, gbs, 100.0 * gbs / stream, step_ms);
    if (opt == config::ROWWISE_ADAGRAD && dtype == config::FP32)
      std::printf(" = %.0f%% of the bare loops", 100.0 * gbs / bare);
    if (dtype != config::FP32) std::printf(" = %.2fx the fp32-row step", step_ms / fp32_step);
    std::printf("\n");
  }
  return 0;
}
