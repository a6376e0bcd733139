// HotSketch throughput on the training hot path, against an exact hash-map counter doing the same work in the
// same binary.
//
//   hot_sketch_bench [ids=10000000] [ops=20000000] [zipf=1.05] [cr=10] [dim=16]
//
// Stream: Zipf(zipf) over `ids` ids (rank -> scattered 64-bit id), v = 1 per arrival. Each op is what a
// training step does per looked-up id: HotRow(id) (forward lookup) then Insert(id, 1) (after backward). The
// sketch is sized by ComputeCafeSizes(ids, dim, cr, h) with T and h from CafeDefaultsFor(cr). The baseline is an
// exact std::unordered_map<uint64_t, float> score table: lookup = find + (score >= T), insert = operator[] += v;
// it has no hot-row pool or decay, so it does strictly less work and needs memory for every distinct id.
// One core; best of 3 runs each. Pre-generating the stream is not timed.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>
#include <vector>

#include "shardrec/core/rng.h"
#include "shardrec/core/timer.h"
#include "shardrec/embedding/cafe_sizing.h"
#include "shardrec/embedding/hot_sketch.h"

using namespace shardrec;

namespace {

std::vector<uint64_t> ZipfStream(uint64_t n_ids, double z, size_t ops) {
  std::vector<double> cdf(n_ids);
  double sum = 0;
  for (uint64_t r = 1; r <= n_ids; ++r) cdf[r - 1] = (sum += std::pow(static_cast<double>(r), -z));
  for (double& c : cdf) c /= sum;
  std::vector<uint64_t> ids(ops);
  CounterRng rng(12345);
  for (size_t i = 0; i < ops; ++i) {
    const uint64_t r =
        std::min<uint64_t>(std::upper_bound(cdf.begin(), cdf.end(), rng.Uniform()) - cdf.begin(), n_ids - 1);
    ids[i] = Mix64(r ^ 0x0123456789ABCDEFull);
  }
  return ids;
}

// Rough heap footprint of an unordered_map: the bucket array plus one malloc'd node per element (next pointer,
// key, value, cached nothing for integer keys; malloc rounds 24 bytes up to a 32-byte chunk).
size_t MapBytes(const std::unordered_map<uint64_t, float>& m) {
  return m.bucket_count() * sizeof(void*) + m.size() * 32;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n_ids = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000000;
  const size_t ops = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20000000;
  const double z = argc > 3 ? std::atof(argv[3]) : 1.05;
  const double cr = argc > 4 ? std::atof(argv[4]) : 10.0;
  const int dim = argc > 5 ? std::atoi(argv[5]) : 16;

  const CafeDefaults def = CafeDefaultsFor(cr);
  const CafeSizes sz = ComputeCafeSizes(n_ids, dim, cr, def.hash_share);
  if (sz.full) {
    std::printf("ids %llu <= 2000*CR: the table stays full, nothing to benchmark\n",
                static_cast<unsigned long long>(n_ids));
    return 0;
  }
  std::printf("hot_sketch_bench: ids %llu, ops %zu, zipf %.2f, CR %g (T %g, h %g): %llu hot rows, %llu buckets\n",
              static_cast<unsigned long long>(n_ids), ops, z, cr, def.threshold, def.hash_share,
              static_cast<unsigned long long>(sz.hot_rows), static_cast<unsigned long long>(sz.sketch_buckets));
  const std::vector<uint64_t> stream = ZipfStream(n_ids, z, ops);

  // --- HotSketch: HotRow then Insert per op.
  double sketch_best = 0, sketch_pf_best = 0;
  size_t sketch_bytes = 0;
  int64_t sink = 0;
  uint64_t promotions = 0, demotions = 0, hot = 0;
  std::vector<HotSketch::Change> promoted, demoted;
  promoted.reserve(1 << 20);
  demoted.reserve(1 << 20);
  for (int prefetch = 0; prefetch < 2; ++prefetch) {
    for (int rep = 0; rep < 3; ++rep) {
      HotSketch sketch(sz.sketch_buckets, sz.hot_rows, def.threshold, 0.99f, 7);
      promoted.clear();
      demoted.clear();
      promotions = demotions = 0;
      Timer t;
      for (size_t i = 0; i < ops; ++i) {
        // A batched caller knows the ids ahead of time; prefetching the bucket 16 ids ahead hides the miss.
        if (prefetch && i + 16 < ops) sketch.Prefetch(stream[i + 16]);
        sink += sketch.HotRow(stream[i]);
        sketch.Insert(stream[i], 1.0f, &promoted, &demoted);
        // Drain the change logs like a training step would, without letting them grow.
        if (promoted.size() > (1 << 19) || demoted.size() > (1 << 19)) {
          promotions += promoted.size();
          demotions += demoted.size();
          promoted.clear();
          demoted.clear();
        }
      }
      const double mops = ops / t.Seconds() / 1e6;
      (prefetch ? sketch_pf_best : sketch_best) = std::max(prefetch ? sketch_pf_best : sketch_best, mops);
      promotions += promoted.size();
      demotions += demoted.size();
      sketch_bytes = sketch.MemoryBytes();
      hot = sketch.num_hot();
    }
  }

  // --- Exact counter: the same lookup + update on a std::unordered_map.
  double map_best = 0;
  size_t map_bytes = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::unordered_map<uint64_t, float> counts;
    Timer t;
    for (size_t i = 0; i < ops; ++i) {
      const auto it = counts.find(stream[i]);
      sink += it != counts.end() && it->second >= def.threshold;
      counts[stream[i]] += 1.0f;
    }
    map_best = std::max(map_best, ops / t.Seconds() / 1e6);
    map_bytes = MapBytes(counts);
  }

  std::printf("  (check: %lld; last sketch run: %llu promotions, %llu demotions, %llu hot at the end)\n",
              static_cast<long long>(sink), static_cast<unsigned long long>(promotions),
              static_cast<unsigned long long>(demotions), static_cast<unsigned long long>(hot));
  std::printf("HotSketch HotRow+Insert:            %8.2f M ops/s   memory %8.2f MB\n", sketch_best, sketch_bytes / 1e6);
  std::printf("HotSketch HotRow+Insert, prefetched: %7.2f M ops/s\n", sketch_pf_best);
  std::printf("unordered_map exact counter:        %8.2f M ops/s   memory %8.2f MB (estimated)\n", map_best,
              map_bytes / 1e6);
  std::printf("ratio sketch/map: %.2fx throughput (%.2fx prefetched), %.3fx memory\n", sketch_best / map_best,
              sketch_pf_best / map_best, static_cast<double>(sketch_bytes) / map_bytes);
  return 0;
}
