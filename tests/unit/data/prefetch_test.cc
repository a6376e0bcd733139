#include "shardrec/data/prefetch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "data_test_util.h"
#include "shardrec/core/error.h"
#include "shardrec/data/synthetic.h"

namespace shardrec {
namespace {

using testing::ReadSteps;

config::SyntheticConfig Small() {
  config::SyntheticConfig c;
  c.set_num_train_samples(300);
  c.set_num_eval_samples(77);
  for (uint64_t card : {20u, 5000u, 3u}) c.add_cardinalities(card);
  for (uint32_t m : {2u, 1u, 3u}) c.add_multi_hot_max(m);
  c.set_num_dense(4);
  return c;
}

std::unique_ptr<SampleSource> Synth(bool eval, uint64_t g = 8) {
  SliceSpec s;
  s.global_batch = g;
  s.repeat = !eval;
  return std::make_unique<SyntheticSource>(Small(), s, eval);
}

// Yields `good` batches of one sample, then throws.
class FailingSource : public SampleSource {
 public:
  explicit FailingSource(int good) : good_(good) {}
  bool Next(Batch* out) override {
    if (produced_ == good_) SR_THROW() << "boom at batch " << produced_;
    out->batch_size = 1;
    out->first_sample = produced_++;
    out->dense.resize(1, 0);
    out->labels = {1.0f};
    out->sparse.clear();
    return true;
  }
  int num_dense() const override { return 0; }
  int num_sparse() const override { return 0; }
  std::vector<uint64_t> cardinalities() const override { return {}; }
  DataStats stats() const override {
    DataStats s;
    s.lines_read = static_cast<uint64_t>(produced_);
    return s;
  }

 private:
  int good_;
  int produced_ = 0;
};

TEST(Prefetch, YieldsTheSameBatchesAsTheRawSource) {
  for (size_t depth : {size_t{1}, size_t{3}, size_t{64}}) {
    PrefetchSource pre(Synth(true), depth);
    auto raw = Synth(true);
    const auto want = ReadSteps(raw.get(), 1000);
    const auto got = ReadSteps(&pre, 1000);
    ASSERT_EQ(want.size(), 10u);  // 77 samples in batches of 8
    EXPECT_EQ(got, want) << "depth " << depth;
    Batch b;
    EXPECT_FALSE(pre.Next(&b));  // stays ended
    EXPECT_EQ(pre.stats().lines_read, 77u);
    EXPECT_EQ(pre.num_dense(), 4);
    EXPECT_EQ(pre.num_sparse(), 3);
    EXPECT_EQ(pre.cardinalities(), (std::vector<uint64_t>{20, 5000, 3}));
  }
  PrefetchSource pre(Synth(false), 2);
  auto raw = Synth(false);
  EXPECT_EQ(ReadSteps(&pre, 100), ReadSteps(raw.get(), 100));
}

TEST(Prefetch, RethrowsTheWorkersErrorAfterTheGoodBatches) {
  PrefetchSource pre(std::make_unique<FailingSource>(3), 2);
  Batch b;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pre.Next(&b));
    EXPECT_EQ(b.first_sample, i);
  }
  for (int again = 0; again < 2; ++again) {
    try {
      pre.Next(&b);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "boom at batch 3");
    }
  }
}

TEST(Prefetch, DestructorStopsABlockedWorker) {
  // An endless source with a full queue: the worker waits, the destructor must not hang.
  for (int consumed : {0, 1, 5}) {
    auto pre = std::make_unique<PrefetchSource>(Synth(false, 4), 2);
    Batch b;
    for (int i = 0; i < consumed; ++i) ASSERT_TRUE(pre->Next(&b));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    pre.reset();
  }
}

}  // namespace
}  // namespace shardrec
