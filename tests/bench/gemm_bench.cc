// Matrix-product speed per compute type on the shapes of HSTU's projections
// (M = tokens of a batch) and DLRM's MLP layers (M = batch size):
//   fp32           oneDNN's fp32 matmul (the default backend)
//   fp32-fallback  Eigen (OpenBLAS sgemm behind it), the backend without oneDNN
//   bf16           oneDNN's bf16 matmul, operand conversion included
//   bf16-fallback  operands rounded to bf16, then the fp32 sgemm
//   fp16           operands rounded to fp16, then the fp32 sgemm (the only fp16 path)
//
//   gemm_bench [threads=OMP default] [min_seconds=1]
//
// Each entry is the best of repeated runs, the variants taking turns for
// min_seconds in all, so a busy machine shows up as noise, not as a bias
// between them; the load average is printed.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "random_matrix.h"
#include "shardrec/core/gemm.h"
#include "shardrec/core/timer.h"

using namespace shardrec;

namespace {

struct Case {
  const char* model;
  const char* what;
  int64_t m, n, k;
  Trans ta, tb;
};

// The variants compared, in the order of the table's columns.
struct Variant {
  ComputeType type;
  bool force_fallback;
};
const Variant kVariants[] = {{ComputeType::kFp32, false},
                             {ComputeType::kFp32, true},
                             {ComputeType::kBf16, false},
                             {ComputeType::kBf16, true},
                             {ComputeType::kFp16, false}};
constexpr int kNumVariants = 5;

void RunOnce(const Variant& v, const Case& c, const Mat<float>& a, const Mat<float>& b, Mat<float>* out) {
  ForceGemmFallback(v.force_fallback);
  MatMul(v.type, a, c.ta, b, c.tb, out);
  ForceGemmFallback(false);
}

// Best seconds of each variant. Rounds run every variant once, in turn, until
// min_seconds have passed (and at least 3 rounds), so a change in the
// machine's load hits all of them alike.
std::vector<double> TimeVariants(const Case& c, const Mat<float>& a, const Mat<float>& b, double min_seconds) {
  Mat<float> out;
  for (const Variant& v : kVariants) RunOnce(v, c, a, b, &out);  // warm-up: primitives, buffers, page faults
  std::vector<double> best(kNumVariants, 1e30);
  double total = 0;
  for (int round = 0; round < 3 || total < min_seconds; ++round) {
    for (int i = 0; i < kNumVariants; ++i) {
      Timer t;
      RunOnce(kVariants[i], c, a, b, &out);
      const double s = t.Seconds();
      best[i] = std::min(best[i], s);
      total += s;
    }
  }
  return best;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string one, five, fifteen;
  f >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) omp_set_num_threads(std::atoi(argv[1]));
  const double min_seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  const Trans N = Trans::kNo, T = Trans::kYes;
  // HSTU: x_hat W_uvqk over 25600 tokens (W_uvqk: D x 2H(dv + dqk)) and the two
  // backward products of the 128x512 one; DLRM: the Criteo MLP layers of
  // docs/performance.md at batch 2048, and one wide layer.
  // One product per line.
  // clang-format off
  const std::vector<Case> cases = {
      {"hstu", "x W        64x256", 25600, 256, 64, N, N},
      {"hstu", "x W        128x512", 25600, 512, 128, N, N},
      {"hstu", "x W        256x512", 25600, 512, 256, N, N},
      {"hstu", "dy W^T     128x512", 25600, 128, 512, N, T},
      {"hstu", "x^T dy     128x512", 128, 512, 25600, T, N},
      {"dlrm", "x W        13x512", 2048, 512, 13, N, N},
      {"dlrm", "x W        512x256", 2048, 256, 512, N, N},
      {"dlrm", "x W        256x64", 2048, 64, 256, N, N},
      {"dlrm", "x W        367x512", 2048, 512, 367, N, N},
      {"dlrm", "dy W^T     512x256", 2048, 512, 256, N, T},
      {"dlrm", "x^T dy     512x256", 512, 256, 2048, T, N},
      {"dlrm", "x W        1024x1024", 2048, 1024, 1024, N, N},
  };
  // clang-format on
  std::printf("GEMM speed by compute type, %d threads; fp32 runs %s, bf16 %s; load average %s\n", omp_get_max_threads(),
              GemmBackend(ComputeType::kFp32).c_str(), GemmBackend(ComputeType::kBf16).c_str(), LoadAverage().c_str());
  std::printf("%-5s %-20s %6s %5s %6s | %9s %9s %9s %9s %9s | %9s %9s %9s\n", "model", "product", "M", "N", "K",
              "fp32 GF/s", "fp32-fb", "bf16", "bf16-fb", "fp16", "fp32/fb", "bf16/fp32", "fp16/fp32");
  for (const Case& c : cases) {
    const Mat<float> a = c.ta == T ? bench::RandomMatrix(c.k, c.m, 1) : bench::RandomMatrix(c.m, c.k, 1);
    const Mat<float> b = c.tb == T ? bench::RandomMatrix(c.n, c.k, 2) : bench::RandomMatrix(c.k, c.n, 2);
    const double flop = 2.0 * c.m * c.n * c.k;
    const std::vector<double> t = TimeVariants(c, a, b, min_seconds);
    const double fp32 = t[0], fp32_fb = t[1], bf16 = t[2], bf16_fb = t[3], fp16 = t[4];
    std::printf("%-5s %-20s %6lld %5lld %6lld | %9.1f %9.1f %9.1f %9.1f %9.1f | %8.2fx %8.2fx %8.2fx\n", c.model,
                c.what, static_cast<long long>(c.m), static_cast<long long>(c.n), static_cast<long long>(c.k),
                flop / fp32 * 1e-9, flop / fp32_fb * 1e-9, flop / bf16 * 1e-9, flop / bf16_fb * 1e-9,
                flop / fp16 * 1e-9, fp32_fb / fp32, fp32 / bf16, fp32 / fp16);
  }
  std::printf(
      "GF/s = 2MNK / best time (operand conversion included); ratios are speed-ups (fp32/fb: oneDNN over OpenBLAS).\n");
  std::printf("load average after: %s\n", LoadAverage().c_str());
  return 0;
}
