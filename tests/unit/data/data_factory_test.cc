#include "shardrec/data/data_factory.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "data_test_util.h"
#include "shardrec/core/error.h"
#include "shardrec/data/binary_format.h"
#include "shardrec/data/criteo_tsv.h"
#include "test_util.h"

namespace shardrec {
namespace {

using testing::ReadSteps;

constexpr char kSample[] = "criteo-sample/criteo_kaggle_sample.tsv";

// Restores an environment variable when the test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

config::DataConfig SyntheticData() {
  config::DataConfig c;
  c.set_source(config::SYNTHETIC);
  auto* s = c.mutable_synthetic();
  s->set_num_train_samples(500);
  s->set_num_eval_samples(90);
  for (uint64_t card : {10u, 100000u, 1000u}) s->add_cardinalities(card);
  s->set_num_dense(3);
  return c;
}

config::DataConfig TsvData() {
  config::DataConfig c;
  c.set_source(config::CRITEO_TSV);
  c.set_data_root(testing::DataDir());
  c.set_train_path(kSample);
  c.set_prefetch_batches(3);
  return c;
}

TEST(DataFactory, GlobalBatchMustDivideByWorld) {
  const auto c = SyntheticData();
  const std::string msg = testing::ErrorOf([&] { MakeTrainSource(c, 0, 3, 64, 0); });
  EXPECT_NE(msg.find("global batch size 64 does not divide by the 3 ranks"), std::string::npos) << msg;
  EXPECT_NE(testing::ErrorOf([&] { MakeEvalSource(c, 1, 3, 100); }).find("does not divide"), std::string::npos);
  EXPECT_NE(testing::ErrorOf([&] { MakeTrainSource(c, 3, 3, 99, 0); }).find("rank 3 is outside 0..2"),
            std::string::npos);
  EXPECT_NO_THROW(MakeTrainSource(c, 2, 3, 99, 0));
}

TEST(DataFactory, ResolvesRelativePaths) {
  {
    ScopedEnv env("SHARDREC_DATA_DIR", "/env/dir");
    EXPECT_EQ(ResolveDataPath("a/b.tsv", "/root"), "/root/a/b.tsv");
    EXPECT_EQ(ResolveDataPath("a/b.tsv", "/root/"), "/root/a/b.tsv");
    EXPECT_EQ(ResolveDataPath("a/b.tsv", ""), "/env/dir/a/b.tsv");
    EXPECT_EQ(ResolveDataPath("/abs/b.tsv", "/root"), "/abs/b.tsv");
  }
  {
    ScopedEnv env("SHARDREC_DATA_DIR", nullptr);
    EXPECT_EQ(ResolveDataPath("a/b.tsv", ""), "a/b.tsv");  // the working directory
  }
}

TEST(DataFactory, FindsFilesThroughDataRootOrEnvironment) {
  SHARDREC_REQUIRE_DATA(kSample);
  auto c = TsvData();
  Batch b;
  ASSERT_TRUE(MakeTrainSource(c, 0, 1, 8, 0)->Next(&b));
  c.clear_data_root();
  {
    ScopedEnv env("SHARDREC_DATA_DIR", testing::DataDir().c_str());
    ASSERT_TRUE(MakeTrainSource(c, 0, 1, 8, 0)->Next(&b));
  }
  ScopedEnv env("SHARDREC_DATA_DIR", "/nonexistent-dir");
  const std::string msg = testing::ErrorOf([&] { MakeTrainSource(c, 0, 1, 8, 0); });
  EXPECT_NE(msg.find("train_path '" + std::string(kSample) + "' (resolved to '/nonexistent-dir/"), std::string::npos)
      << msg;
  c.set_train_path("");
  EXPECT_NE(testing::ErrorOf([&] { MakeEvalSource(c, 0, 1, 8); }).find("train_path is empty"), std::string::npos);
}

void ExpectStartStepMatches(const config::DataConfig& c, uint64_t g, int world, uint64_t start) {
  for (int rank = 0; rank < world; ++rank) {
    auto skipped = MakeTrainSource(c, rank, world, g, start);
    auto read = MakeTrainSource(c, rank, world, g, 0);
    Batch b;
    for (uint64_t i = 0; i < start; ++i) ASSERT_TRUE(read->Next(&b));
    EXPECT_EQ(ReadSteps(skipped.get(), 12), ReadSteps(read.get(), 12))
        << "source " << c.source() << " rank " << rank << " start " << start;
  }
}

TEST(DataFactory, StartStepContinuesOnTheSameBatch) {
  ExpectStartStepMatches(SyntheticData(), 64, 2, 11);  // wraps past 500 samples
  SHARDREC_REQUIRE_DATA(kSample);
  ExpectStartStepMatches(TsvData(), 256, 4, 11);  // wraps past 1,980 train lines
  const std::string bin = testing::TempPath("sample.bin");
  ConvertTsvToBinary(testing::DataDir() + "/" + kSample, bin, config::ERROR);
  auto c = TsvData();
  c.set_source(config::BINARY);
  c.set_train_path(bin);  // absolute: data_root is not applied
  ExpectStartStepMatches(c, 256, 4, 11);
  std::remove(bin.c_str());
}

TEST(DataFactory, EvalIsTheHoldoutOrTheEvalFile) {
  SHARDREC_REQUIRE_DATA(kSample);
  auto c = TsvData();
  c.set_eval_holdout_every(10);
  const auto lines = testing::ReadLines(testing::DataDir() + "/" + kSample);
  auto eval = MakeEvalSource(c, 0, 1, 100);
  std::vector<float> labels;
  Batch b;
  while (eval->Next(&b)) labels.insert(labels.end(), b.labels.begin(), b.labels.end());
  ASSERT_EQ(labels.size(), 219u);
  for (size_t i = 0; i < labels.size(); ++i) EXPECT_EQ(labels[i], lines[10 * i + 9][0] == '1' ? 1.0f : 0.0f);

  // With eval_path, training reads every line of train_path and eval the whole eval file.
  c.set_eval_path(kSample);
  auto train = MakeTrainSource(c, 0, 1, 2199, 0);
  ASSERT_TRUE(train->Next(&b));
  EXPECT_EQ(b.batch_size, 2199);
  auto whole = MakeEvalSource(c, 1, 2, 2000);
  int64_t rows = 0;
  while (whole->Next(&b)) rows += b.batch_size;
  EXPECT_EQ(rows, 1000 + 100);  // rank 1: [1000, 2000) of the first batch, [99, 199) of the last 199
}

TEST(DataFactory, SyntheticReportsCardinalitiesAndEnds) {
  auto c = SyntheticData();
  auto train = MakeTrainSource(c, 0, 1, 100, 0);
  EXPECT_EQ(train->cardinalities(), (std::vector<uint64_t>{10, 100000, 1000}));
  EXPECT_EQ(train->num_dense(), 3);
  auto eval = MakeEvalSource(c, 0, 1, 40);
  Batch b;
  int steps = 0;
  while (eval->Next(&b)) ++steps;
  EXPECT_EQ(steps, 3);  // 40, 40, 10
  EXPECT_EQ(b.batch_size, 10);
}

}  // namespace
}  // namespace shardrec

namespace shardrec {
namespace {

// Counts the rows an evaluation over `path` yields.
int64_t EvalRows(const std::string& path) {
  config::DataConfig c;
  c.set_source(config::CRITEO_TSV);
  c.set_train_path(path);
  c.set_eval_path(path);
  auto src = MakeEvalSource(c, 0, 1, 256);
  Batch b;
  int64_t rows = 0;
  while (src->Next(&b)) rows += b.batch_size;
  return rows;
}

TEST(DataFactory, ReadsTheConvertedBinaryWhenPresentNewerAndComplete) {
  SHARDREC_REQUIRE_DATA(kSample);
  const auto lines = testing::ReadLines(testing::DataDir() + "/" + kSample);
  const std::string tsv = testing::TempPath("auto_bin.tsv");
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  testing::WriteFile(tsv, text);
  ::unlink((tsv + ".bin").c_str());
  EXPECT_EQ(EvalRows(tsv), 2199);
  // A .bin made from only the first 50 lines: reading 50 rows proves the binary was used.
  const std::string head = testing::TempPath("auto_bin_head.tsv");
  std::string head_text;
  for (int i = 0; i < 50; ++i) head_text += lines[i] + "\n";
  testing::WriteFile(head, head_text);
  ConvertTsvToBinary(head, tsv + ".bin", config::ERROR);
  EXPECT_EQ(EvalRows(tsv), 50);
  // Older than the TSV: ignored.
  struct timespec times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (tsv + ".bin").c_str(), times, 0), 0);
  EXPECT_EQ(EvalRows(tsv), 2199);
}

}  // namespace
}  // namespace shardrec
