// Activation recomputation on an 8-block HSTU encoder: step time (forward +
// backward) and peak activation bytes per mode, at sequence lengths 200 and 1000.
//
//   hstu_recompute_bench [tokens=16384] [dim=64] [blocks=8] [iters=3] [compute=fp32|bf16]
//
// Every sequence has the full length L (tokens / L of them), dropout 0.2 on.
// Ratios are against mode none in the same run.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "shardrec/core/rng.h"
#include "shardrec/core/timer.h"
#include "shardrec/models/sequence_encoder.h"

using namespace shardrec;

int main(int argc, char** argv) {
  const int64_t tokens = argc > 1 ? std::atoll(argv[1]) : 16384;
  const int dim = argc > 2 ? std::atoi(argv[2]) : 64;
  const int blocks = argc > 3 ? std::atoi(argv[3]) : 8;
  const int iters = argc > 4 ? std::atoi(argv[4]) : 3;
  const std::string compute_name = argc > 5 ? argv[5] : "fp32";
  const ComputeType compute = compute_name == "bf16" ? ComputeType::kBf16 : ComputeType::kFp32;
  std::printf("HSTU encoder, %d blocks, dim %d, 2 heads, %lld tokens per batch, %d threads (best of %d), %s products\n",
              blocks, dim, static_cast<long long>(tokens), omp_get_max_threads(), iters, ComputeTypeName(compute));
  std::printf("%6s %10s | %10s %8s | %14s %8s\n", "L", "recompute", "step ms", "x none", "activations MB", "x none");
  for (int L : {200, 1000}) {
    SequenceLayout layout;
    const int64_t seqs = std::max<int64_t>(1, tokens / L);
    for (int64_t s = 0; s < seqs; ++s) layout.offsets.push_back(layout.offsets.back() + L);
    for (int64_t t = 0; t < layout.tokens(); ++t) {
      layout.timestamps.push_back(1000000 + 600 * t);
      layout.token_keys.push_back(Hash3(1, 2, static_cast<uint64_t>(t)));
    }
    const MatF emb = MatF::Random(layout.tokens(), dim), r = MatF::Random(layout.tokens(), dim);
    double base_ms = 0, base_mb = 0;
    for (config::RecomputeMode mode : {config::NONE, config::SELECTIVE, config::FULL}) {
      config::SequenceModelConfig c;
      c.set_num_blocks(blocks);
      c.set_num_heads(2);
      c.set_dropout(0.2);
      c.set_recompute(mode);
      SequenceEncoder<float> enc(EncoderKind::kHstu, c, dim, L, 7);
      enc.set_compute(compute);
      MatF d;
      enc.Forward(emb, layout);  // warm-up
      enc.Backward(r, &d);
      double best = 1e30;
      for (int i = 0; i < iters; ++i) {
        Timer t;
        enc.Forward(emb, layout);
        enc.Backward(r, &d);
        best = std::min(best, t.Seconds());
      }
      const double ms = 1e3 * best, mb = enc.peak_activation_bytes() / 1e6;
      if (mode == config::NONE) base_ms = ms, base_mb = mb;
      std::printf("%6d %10s | %10.1f %8.2f | %14.1f %8.2f\n", L, config::RecomputeMode_Name(mode).c_str(), ms,
                  ms / base_ms, mb, mb / base_mb);
    }
  }
  return 0;
}
