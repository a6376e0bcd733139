// How HSTU layer step time grows with sequence length, and whether padding costs
// anything.
//
//   hstu_layer_bench [tokens=16384] [dim=64] [heads=2] [iters=5]
//
// For L = 200, 1000, 4000 it times forward + backward of one HSTU layer
// (N = L) on batches of `tokens` tokens:
//   full   — every sequence has length L (tokens / L sequences);
//   jagged — the same number of sequences with lengths uniform in [L/10, L]
//            (a real batch: most of a padded [B, L] tensor would be padding).
// Attention work is sum(len^2), the projections' work is sum(len), so the
// jagged/full time ratio should follow the work ratio printed beside it. A
// padded implementation pays the full batch's cost for the jagged one (ratio 1).
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "shardrec/core/rng.h"
#include "shardrec/core/timer.h"
#include "shardrec/nn/hstu_layer.h"

using namespace shardrec;

namespace {

struct Timing {
  double seconds;
  double attention_work;  // sum of len^2
  int64_t tokens;
};

Timing TimeLayer(HstuLayer<float>& layer, const std::vector<int>& lengths, int dim, int iters) {
  SequenceLayout layout;
  double work = 0;
  for (int len : lengths) {
    layout.offsets.push_back(layout.offsets.back() + len);
    work += static_cast<double>(len) * len;
  }
  const int64_t tokens = layout.tokens();
  for (int64_t t = 0; t < tokens; ++t) layout.timestamps.push_back(1000000 + 3600 * t);
  MatF x = MatF::Random(tokens, dim), y, dx;
  const MatF dy = MatF::Random(tokens, dim);
  layer.Forward(x, layout, &y);  // warm-up
  layer.Backward(dy, &dx);
  double best = 1e30;
  for (int i = 0; i < iters; ++i) {
    Timer t;
    layer.Forward(x, layout, &y);
    layer.Backward(dy, &dx);
    best = std::min(best, t.Seconds());
  }
  return {best, work, tokens};
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t tokens = argc > 1 ? std::atoll(argv[1]) : 16384;
  const int dim = argc > 2 ? std::atoi(argv[2]) : 64;
  const int heads = argc > 3 ? std::atoi(argv[3]) : 2;
  const int iters = argc > 4 ? std::atoi(argv[4]) : 5;
  std::printf("HSTU layer forward+backward, %lld tokens per batch, dim %d, %d heads, %d threads (best of %d)\n",
              static_cast<long long>(tokens), dim, heads, omp_get_max_threads(), iters);
  std::printf("%6s %6s | %10s %12s | %10s %12s | %9s %9s\n", "L", "seqs", "full ms", "full tok/s", "jagged ms",
              "jagged tok/s", "time", "work");
  for (int L : {200, 1000, 4000}) {
    HstuLayerShape shape;
    shape.dim = dim;
    shape.heads = heads;
    shape.dqk = shape.dv = dim / heads;
    shape.max_len = L;
    HstuLayer<float> layer(shape, 1, 2);
    const int seqs = static_cast<int>(std::max<int64_t>(1, tokens / L));
    const std::vector<int> full(seqs, L);
    std::vector<int> jagged(seqs);
    CounterRng rng(7, 7, static_cast<uint64_t>(L));
    for (int& len : jagged) len = L / 10 + static_cast<int>(rng.Below(static_cast<uint64_t>(L - L / 10 + 1)));
    const Timing f = TimeLayer(layer, full, dim, iters);
    const Timing j = TimeLayer(layer, jagged, dim, iters);
    std::printf("%6d %6d | %10.1f %12.0f | %10.1f %12.0f | %9.3f %9.3f\n", L, seqs, 1e3 * f.seconds,
                f.tokens / f.seconds, 1e3 * j.seconds, j.tokens / j.seconds, j.seconds / f.seconds,
                j.attention_work / f.attention_work);
  }
  std::printf(
      "time = jagged/full step time; work = jagged/full attention work (sum len^2). A padded kernel has time 1.\n");
  return 0;
}
