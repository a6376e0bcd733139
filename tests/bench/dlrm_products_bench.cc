// The floor that matrix products put under one DLRM training step on this
// machine: every product of a step of the Criteo Kaggle model (bottom
// 13-512-256-64-16, dot interaction of 27 vectors, top 367-512-256-1) timed
// alone through shardrec's Gemm (forward, weight gradient, input gradient; the
// first layer's input gradient is never computed), against the machine's fp32
// multiply-add peak measured by the same binary.
//
//   dlrm_products_bench [threads=2] [batch=2048] [reps=30]
//
// The peak: each thread runs independent chains of 16-lane fp32 multiply-adds
// (12 chains, enough to cover the latency of every x86-64 FMA unit we know) in
// the widest vector code this CPU runs (SHARDREC_ROW_KERNEL's clones). A
// product at "100% of peak" would keep every FMA unit busy every cycle.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "random_matrix.h"
#include "shardrec/core/cpu_dispatch.h"
#include "shardrec/core/gemm.h"
#include "shardrec/core/timer.h"

using namespace shardrec;

namespace {

typedef float Lanes16 __attribute__((vector_size(64)));
constexpr int kChains = 12;

// 2 * 16 * kChains * iters flops; the result is returned so nothing is dead.
SHARDREC_ROW_KERNEL float FmaChains(int64_t iters, float seed) {
  Lanes16 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = Lanes16{} + seed * static_cast<float>(c);
  const Lanes16 mul = Lanes16{} + 0.999999f, add = Lanes16{} + 1e-7f;
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * mul + add;
  }
  float sum = 0;
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < 16; ++l) sum += acc[c][l];
  return sum;
}

// Best GF/s over a few runs of all threads at once.
double PeakGflops(int threads) {
  constexpr int64_t kIters = 20'000'000;
  double best = 0;
  float sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    Timer t;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += FmaChains(kIters, 1e-3f * omp_get_thread_num());
    best = std::max(best, 2.0 * 16 * kChains * kIters * threads / t.Seconds() * 1e-9);
  }
  if (sink == 12345.f) std::printf(" ");
  return best;
}

struct Product {
  std::string what;
  int64_t m, n, k;
  Trans ta, tb;
};

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 2048;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 30;
  omp_set_num_threads(threads);
  const Trans N = Trans::kNo, T = Trans::kYes;
  std::vector<Product> products;
  auto add_mlp = [&](const char* name, const std::vector<int>& widths, bool first_dx) {
    for (size_t i = 0; i + 1 < widths.size(); ++i) {
      const int in = widths[i], out = widths[i + 1];
      const std::string layer = std::string(name) + " " + std::to_string(in) + "x" + std::to_string(out);
      products.push_back({layer + " x W", batch, out, in, N, N});
      products.push_back({layer + " x^T dy", in, out, batch, T, N});
      if (i > 0 || first_dx) products.push_back({layer + " dy W^T", batch, in, out, N, T});
    }
  };
  add_mlp("bottom", {13, 512, 256, 64, 16}, false);
  add_mlp("top", {367, 512, 256, 1}, true);

  const double peak = PeakGflops(threads);
  std::printf("dlrm_products_bench: batch %lld, %d thread(s), fp32 products on %s\n", static_cast<long long>(batch),
              threads, GemmBackend(ComputeType::kFp32).c_str());
  std::printf("fp32 multiply-add peak (%d chains of 16 lanes per thread): %.1f GF/s\n", kChains, peak);
  std::printf("%-28s %6s %5s %6s | %8s %8s | %7s %7s\n", "product", "M", "N", "K", "best ms", "mean ms", "GF/s",
              "% peak");
  double best_total = 0, mean_total = 0, flops = 0;
  for (const Product& p : products) {
    const Mat<float> a = p.ta == T ? bench::RandomMatrix(p.k, p.m, 1) : bench::RandomMatrix(p.m, p.k, 1);
    const Mat<float> b = p.tb == T ? bench::RandomMatrix(p.n, p.k, 2) : bench::RandomMatrix(p.k, p.n, 2);
    Mat<float> c;
    MatMul(ComputeType::kFp32, a, p.ta, b, p.tb, &c);  // warm-up: primitive, buffers
    double best = 1e30, sum = 0;
    for (int r = 0; r < reps; ++r) {
      Timer t;
      MatMul(ComputeType::kFp32, a, p.ta, b, p.tb, &c);
      const double s = t.Seconds();
      best = std::min(best, s);
      sum += s;
    }
    const double f = 2.0 * p.m * p.n * p.k;
    best_total += best;
    mean_total += sum / reps;
    flops += f;
    std::printf("%-28s %6lld %5lld %6lld | %8.3f %8.3f | %7.1f %6.1f%%\n", p.what.c_str(), static_cast<long long>(p.m),
                static_cast<long long>(p.n), static_cast<long long>(p.k), best * 1e3, sum / reps * 1e3, f / best * 1e-9,
                100 * f / best * 1e-9 / peak);
  }
  std::printf("one step's %zu products: %.2f GFLOP; best %.2f ms (%.1f GF/s = %.0f%% of peak), mean %.2f ms\n",
              products.size(), flops * 1e-9, best_total * 1e3, flops / best_total * 1e-9,
              100 * flops / best_total * 1e-9 / peak, mean_total * 1e3);
  std::printf("at the peak itself they would take %.2f ms\n", flops / (peak * 1e9) * 1e3);
  return 0;
}
