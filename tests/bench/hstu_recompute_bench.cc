// Activation recomputation on an 8-block HSTU encoder: step time (forward +
// backward) and peak activation bytes per mode, at sequence lengths 200 and 1000.
//
//   hstu_recompute_bench [tokens=16384] [dim=64] [blocks=8] [rounds=3] [compute=fp32|bf16]
//
// Every sequence has the full length L (tokens / L of them), dropout 0.2 on.
// The modes take turns, one step each per round; a mode's time is the median
// over rounds, and its ratio to mode none is taken within each round and
// reported as the median with the [min-max] over rounds (this machine's
// speed moves by more than the differences measured).
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

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
  std::printf("HSTU encoder, %d blocks, dim %d, 2 heads, %lld tokens per batch, %d threads (%d rounds), %s products\n",
              blocks, dim, static_cast<long long>(tokens), omp_get_max_threads(), iters, ComputeTypeName(compute));
  std::printf("%6s %10s | %10s %20s | %14s %8s\n", "L", "recompute", "step ms", "x none [min-max]", "activations MB",
              "x none");
  for (int L : {200, 1000}) {
    SequenceLayout layout;
    const int64_t seqs = std::max<int64_t>(1, tokens / L);
    for (int64_t s = 0; s < seqs; ++s) layout.offsets.push_back(layout.offsets.back() + L);
    for (int64_t t = 0; t < layout.tokens(); ++t) {
      layout.timestamps.push_back(1000000 + 600 * t);
      layout.token_keys.push_back(Hash3(1, 2, static_cast<uint64_t>(t)));
    }
    const MatF emb = MatF::Random(layout.tokens(), dim), r = MatF::Random(layout.tokens(), dim);
    // Modes take turns, one step each per round, so that a slow spell of this
    // shared machine hits all of them rather than whichever ran then.
    const config::RecomputeMode modes[] = {config::NONE, config::SELECTIVE, config::FULL};
    std::vector<std::unique_ptr<SequenceEncoder<float>>> encoders;
    for (config::RecomputeMode mode : modes) {
      config::SequenceModelConfig c;
      c.set_num_blocks(blocks);
      c.set_num_heads(2);
      c.set_dropout(0.2);
      c.set_recompute(mode);
      encoders.push_back(std::make_unique<SequenceEncoder<float>>(EncoderKind::kHstu, c, dim, L, 7));
      encoders.back()->set_compute(compute);
    }
    std::vector<std::vector<double>> ms(encoders.size()), ratio(encoders.size());
    MatF d;
    for (int round = 0; round <= iters; ++round) {  // round 0 warms up
      std::vector<double> here(encoders.size());
      for (size_t m = 0; m < encoders.size(); ++m) {
        Timer t;
        encoders[m]->Forward(emb, layout);
        encoders[m]->Backward(r, &d);
        here[m] = 1e3 * t.Seconds();
      }
      if (round == 0) continue;
      for (size_t m = 0; m < encoders.size(); ++m) {
        ms[m].push_back(here[m]);
        ratio[m].push_back(here[m] / here[0]);
      }
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
    };
    const double base_mb = encoders[0]->peak_activation_bytes() / 1e6;
    for (size_t m = 0; m < encoders.size(); ++m) {
      const double mb = encoders[m]->peak_activation_bytes() / 1e6;
      std::printf("%6d %10s | %10.1f %8.2f [%.2f-%.2f] | %14.1f %8.2f\n", L,
                  config::RecomputeMode_Name(modes[m]).c_str(), median(ms[m]), median(ratio[m]),
                  *std::min_element(ratio[m].begin(), ratio[m].end()),
                  *std::max_element(ratio[m].begin(), ratio[m].end()), mb, mb / base_mb);
    }
  }
  return 0;
}
