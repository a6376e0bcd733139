#include "shardrec/optim/dense_optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"

namespace shardrec {
namespace {

// Two small parameters with their own storage, and a gradient drawn per step.
struct Params {
  std::vector<float> w0 = std::vector<float>(5), g0 = std::vector<float>(5);
  std::vector<float> w1 = std::vector<float>(3), g1 = std::vector<float>(3);

  Params() {
    CounterRng rng(9, 1, 0);
    for (float& v : w0) v = static_cast<float>(rng.Uniform(-1, 1));
    for (float& v : w1) v = static_cast<float>(rng.Uniform(-1, 1));
  }
  std::vector<ParamRef<float>> Refs() {
    return {{"a.weight", w0.data(), g0.data(), w0.size()}, {"a.bias", w1.data(), g1.data(), w1.size()}};
  }
  void DrawGradients(uint64_t step) {
    CounterRng rng(9, 2, step);
    for (float& v : g0) v = static_cast<float>(rng.Uniform(-1, 1));
    for (float& v : g1) v = static_cast<float>(rng.Uniform(-1, 1));
  }
};

config::DenseOptimizerConfig Config(config::DenseOptimizerType type) {
  config::DenseOptimizerConfig c;
  c.set_type(type);
  c.set_lr(0.05);
  c.set_weight_decay(0.1);
  c.set_warmup_steps(2);
  c.set_decay(config::COSINE);
  c.set_initial_accumulator(0.1);
  c.set_eps(1e-6);
  return c;
}

// The update rules written out per scalar, in double, straight from their definitions.
std::vector<double> Reference(const config::DenseOptimizerConfig& c, const DenseOptimizer& opt, int steps) {
  Params p;
  std::vector<double> w(p.w0.begin(), p.w0.end());
  w.insert(w.end(), p.w1.begin(), p.w1.end());
  const double acc0 = c.type() == config::ADAGRAD ? c.initial_accumulator() : 0.0;
  std::vector<double> m(w.size(), 0.0), v(w.size(), acc0);
  for (int step = 0; step < steps; ++step) {
    p.DrawGradients(step);
    std::vector<double> g(p.g0.begin(), p.g0.end());
    g.insert(g.end(), p.g1.begin(), p.g1.end());
    const double lr = opt.LearningRate(step);
    const double wd = c.weight_decay();
    const int t = step + 1;
    for (size_t i = 0; i < w.size(); ++i) {
      double gi = g[i];
      if (c.type() != config::ADAMW) gi += wd * w[i];
      if (c.type() == config::SGD) {
        w[i] -= lr * gi;
      } else if (c.type() == config::ADAGRAD) {
        v[i] += gi * gi;
        w[i] -= lr * gi / (std::sqrt(v[i]) + c.eps());
      } else {
        m[i] = c.beta1() * m[i] + (1 - c.beta1()) * gi;
        v[i] = c.beta2() * v[i] + (1 - c.beta2()) * gi * gi;
        const double mhat = m[i] / (1 - std::pow(c.beta1(), t));
        const double vhat = v[i] / (1 - std::pow(c.beta2(), t));
        if (c.type() == config::ADAMW) w[i] -= lr * wd * w[i];
        w[i] -= lr * mhat / (std::sqrt(vhat) + c.eps());
      }
    }
  }
  return w;
}

std::vector<float> Flat(const Params& p) {
  std::vector<float> out(p.w0);
  out.insert(out.end(), p.w1.begin(), p.w1.end());
  return out;
}

void RunSteps(DenseOptimizer* opt, Params* p, uint64_t from, uint64_t to) {
  for (uint64_t step = from; step < to; ++step) {
    p->DrawGradients(step);
    opt->Step(p->Refs(), step);
  }
}

class DenseOptimizerTest : public ::testing::TestWithParam<config::DenseOptimizerType> {};

TEST_P(DenseOptimizerTest, MatchesScalarReference) {
  const auto c = Config(GetParam());
  constexpr int kSteps = 6;
  DenseOptimizer opt(c, /*total_steps=*/kSteps);
  Params p;
  const std::vector<float> start = Flat(p);
  RunSteps(&opt, &p, 0, kSteps);
  const std::vector<double> expected = Reference(c, opt, kSteps);
  const std::vector<float> got = Flat(p);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], 2e-6) << "element " << i;
    EXPECT_GT(std::abs(got[i] - start[i]), 1e-4) << "element " << i << " barely moved";
  }
}

TEST_P(DenseOptimizerTest, SaveLoadContinueIsBitwiseUninterrupted) {
  const auto c = Config(GetParam());
  DenseOptimizer straight(c, 8);
  Params a;
  RunSteps(&straight, &a, 0, 8);

  DenseOptimizer first(c, 8);
  Params b;
  RunSteps(&first, &b, 0, 3);
  const std::string state = first.SaveState(b.Refs());
  Params resumed = b;  // the checkpointed weights
  DenseOptimizer second(c, 8);
  second.LoadState(state, resumed.Refs());
  RunSteps(&second, &resumed, 3, 8);

  const std::vector<float> x = Flat(a), y = Flat(resumed);
  EXPECT_EQ(std::memcmp(x.data(), y.data(), sizeof(float) * x.size()), 0);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DenseOptimizerTest,
                         ::testing::Values(config::SGD, config::ADAGRAD, config::ADAM, config::ADAMW),
                         [](const auto& info) { return config::DenseOptimizerType_Name(info.param); });

TEST(DenseOptimizer, AdamWDecayIsDecoupled) {
  // Same gradients, same decay: L2-through-the-moments and decoupled decay must differ.
  DenseOptimizer adam(Config(config::ADAM), 6), adamw(Config(config::ADAMW), 6);
  Params a, b;
  RunSteps(&adam, &a, 0, 6);
  RunSteps(&adamw, &b, 0, 6);
  EXPECT_NE(Flat(a), Flat(b));
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DenseOptimizer, RejectsBadState) {
  const auto c = Config(config::ADAM);
  DenseOptimizer opt(c, 10);
  Params p;
  RunSteps(&opt, &p, 0, 2);
  const std::string good = opt.SaveState(p.Refs());

  DenseOptimizer target(c, 10);
  Params q;
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;
  EXPECT_NE(ErrorOf([&] { target.LoadState(flipped, q.Refs()); }).find("corrupt"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { target.LoadState(good.substr(0, good.size() - 9), q.Refs()); }), "");
  EXPECT_NE(ErrorOf([&] { target.LoadState("", q.Refs()); }).find("not a shardrec"), std::string::npos);

  auto refs = q.Refs();
  refs[1].size = 2;
  EXPECT_NE(ErrorOf([&] { target.LoadState(good, refs); }).find("a.bias (3 values)"), std::string::npos);
  refs = q.Refs();
  refs[0].name = "b.weight";
  EXPECT_NE(ErrorOf([&] { target.LoadState(good, refs); }).find("b.weight"), std::string::npos);
  refs = q.Refs();
  refs.pop_back();
  EXPECT_NE(ErrorOf([&] { target.LoadState(good, refs); }), "");

  DenseOptimizer adagrad(Config(config::ADAGRAD), 10);
  EXPECT_NE(ErrorOf([&] { adagrad.LoadState(good, q.Refs()); }).find("saved by ADAM"), std::string::npos);

  // Failed loads leave the optimizer as it was: it still continues like an unloaded one.
  DenseOptimizer untouched(c, 10);
  Params u = q;
  RunSteps(&target, &q, 0, 3);
  RunSteps(&untouched, &u, 0, 3);
  EXPECT_EQ(Flat(q), Flat(u));
}

TEST(DenseOptimizer, RejectsChangedLayoutAndBadConfig) {
  DenseOptimizer opt(Config(config::SGD), 10);
  Params p;
  RunSteps(&opt, &p, 0, 1);
  auto refs = p.Refs();
  refs.pop_back();
  EXPECT_THROW(opt.Step(refs, 1), Error);

  auto c = Config(config::ADAM);
  c.set_beta1(1.0);
  EXPECT_NE(ErrorOf([&] { DenseOptimizer(c, 10); }).find("optimizer.beta1"), std::string::npos);
  c = Config(config::ADAM);
  c.set_weight_decay(-1);
  EXPECT_NE(ErrorOf([&] { DenseOptimizer(c, 10); }).find("optimizer.weight_decay"), std::string::npos);
}

}  // namespace
}  // namespace shardrec
