#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "shardrec/core/rng.h"
#include "shardrec/core/timer.h"
#include "shardrec/models/dlrm.h"
#include "shardrec/nn/loss.h"

using namespace shardrec;

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int iters = argc > 2 ? std::atoi(argv[2]) : 20;
  omp_set_num_threads(threads);
  config::DlrmConfig c;
  for (int w : {512, 256, 64, 16}) c.add_bottom_mlp(w);
  for (int w : {512, 256, 1}) c.add_top_mlp(w);
  const int B = argc > 3 ? std::atoi(argv[3]) : 1024, F = 26, D = 16;
  Dlrm<float> model(c, 13, F, D, 1);
  CounterRng rng(1, 2, 3);
  Mat<float> dense(B, 13);
  for (int i = 0; i < dense.size(); ++i) dense.data()[i] = rng.Uniform();
  std::vector<Mat<float>> emb(F, Mat<float>(B, D));
  for (auto& e : emb)
    for (int i = 0; i < e.size(); ++i) e.data()[i] = rng.Uniform(-0.1, 0.1);
  Vec<float> labels(B);
  for (int i = 0; i < B; ++i) labels[i] = rng.Uniform() < 0.25;
  BceWithLogits<float> bce;
  Vec<float> dl;
  std::vector<Mat<float>> d_emb;
  double tf = 0, tb = 0;
  for (int it = -3; it < iters; ++it) {
    Timer t;
    bce.Forward(model.Forward(dense, emb), labels, B);
    double f = t.Seconds();
    bce.Backward(&dl);
    model.Backward(dl, &d_emb);
    double all = t.Seconds();
    if (it >= 0) {
      tf += f;
      tb += all - f;
    }
  }
  std::printf("threads=%d eigen=%d fwd %.2f ms bwd %.2f ms total %.2f ms/step\n", threads, Eigen::nbThreads(),
              1e3 * tf / iters, 1e3 * tb / iters, 1e3 * (tf + tb) / iters);
}
