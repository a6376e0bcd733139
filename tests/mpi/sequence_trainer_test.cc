// SequenceTrainer (HSTU, SASRec) under 1, 2 and 4 ranks against the same
// trainer run in this process on a local (single-rank) communicator:
//  - at step 0 the leave-one-out metrics are identical: initialisation is
//    counter-based, so both start from bitwise the same parameters, and each
//    sequence's encoding does not depend on which rank's batch holds it;
//  - over five training steps (dropout on, sampled negatives, sharded item
//    table) the losses and every parameter agree to rounding, and so do the
//    metrics after training.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "shardrec/comm/communicator.h"
#include "shardrec/config/config.h"
#include "shardrec/core/rng.h"
#include "shardrec/train/sequence_trainer.h"
#include "test_util.h"

namespace shardrec {
namespace {

Communicator& Comm() {
  static std::unique_ptr<Communicator> comm = MakeMpiCommunicator();
  return *comm;
}

constexpr int kUsers = 40;
constexpr uint64_t kItems = 60;

// One temporary directory for the whole job: rank 0 creates it and tells the
// others. Removed after the last test.
const std::string& SharedDir() {
  static const std::string dir = [] {
    char path[512] = {0};
    if (Comm().rank() == 0) {
      const char* tmp = std::getenv("TMPDIR");
      std::string tmpl = std::string(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp") + "/shardrec-seqtrain.XXXXXX";
      std::vector<char> buf(tmpl.begin(), tmpl.end());
      buf.push_back('\0');
      if (mkdtemp(buf.data()) != nullptr) std::strncpy(path, buf.data(), sizeof(path) - 1);
    }
    Comm().Broadcast(path, sizeof(path), 0);
    return std::string(path);
  }();
  return dir;
}

class RemoveSharedDir : public ::testing::Environment {
 public:
  void TearDown() override {
    Comm().Barrier();  // nobody reads the data any more
    if (Comm().rank() == 0 && !SharedDir().empty()) std::filesystem::remove_all(SharedDir());
  }
};
::testing::Environment* const kCleanup = ::testing::AddGlobalTestEnvironment(new RemoveSharedDir);

// ITEM_LINES histories of 40 users over items 1..60, 3..20 items each: mostly
// a walk with small steps (something to learn), sometimes a jump or a repeat
// (so seen lists hold duplicates). Item 60 appears, so the table has 61 rows.
// Written by rank 0; every rank reads it after the barrier.
const std::string& DataFile() {
  static const std::string path = [] {
    const std::string p = SharedDir() + "/histories.txt";
    if (Comm().rank() == 0) {
      std::ofstream out(p);
      for (int u = 1; u <= kUsers; ++u) {
        CounterRng rng(2024, 1, static_cast<uint64_t>(u));
        const int len = 3 + static_cast<int>(rng.Below(18));
        uint64_t item = u == 1 ? kItems : 1 + rng.Below(kItems);
        out << u;
        for (int k = 0; k < len; ++k) {
          out << ' ' << item;
          const uint64_t r = rng.Below(10);
          if (r < 7) {
            item = 1 + (item + rng.Below(3)) % kItems;  // step 1..3 forward
          } else if (r < 9) {
            item = 1 + rng.Below(kItems);
          }  // else: the same item again
        }
        out << '\n';
      }
    }
    Comm().Barrier();
    return p;
  }();
  return path;
}

struct Case {
  std::string label;
  std::string model;                    // hstu or sasrec
  std::string sharding;                 // the item table's sharding; "" = the planner's choice
  std::vector<std::string> extra = {};  // more --set overrides
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.label; }

config::ExperimentConfig MakeConfig(const Case& cs, const std::string& output_dir) {
  std::string yaml = R"(
name: sequence_trainer_test
data:
  source: SEQUENCES
  sequence: {format: ITEM_LINES, max_len: 12}
embedding:
  default_dim: 8
  optimizer: {type: SPARSE_ADAM, lr: 0.01}
model:
  sequence: {num_blocks: 2, num_heads: 2, dropout: 0.3, num_negatives: 16, temperature: 0.1}
optimizer: {type: SGD, lr: 0.2}
train:
  global_batch_size: 8
  steps: 100
  threads: 1
  ranking_ks: [1, 5, 10, 20]
)";
  std::vector<std::string> overrides = {"data.train_path=" + DataFile(), "model.type=" + cs.model,
                                        "train.output_dir=" + output_dir};
  overrides.insert(overrides.end(), cs.extra.begin(), cs.extra.end());
  if (!cs.sharding.empty()) {
    overrides.push_back("embedding.tables.0.name=items");
    overrides.push_back("embedding.tables.0.sharding=" + cs.sharding);
  }
  return config::LoadConfigFromString(yaml, "sequence_trainer_test", overrides);
}

// Rank 0 makes the run's output directory; the others wait for it.
std::string OutputDir(const std::string& name) {
  const std::string dir = SharedDir() + "/" + name;
  if (Comm().rank() == 0) std::filesystem::create_directories(dir);
  Comm().Barrier();
  return dir;
}

void ExpectSameMetrics(const RankingMetrics& a, const RankingMetrics& b, const std::string& what) {
  EXPECT_EQ(a.users, b.users) << what;
  EXPECT_EQ(a.ks, b.ks) << what;
  EXPECT_EQ(a.hit_rate, b.hit_rate) << what;
  EXPECT_EQ(a.ndcg, b.ndcg) << what;
  EXPECT_EQ(a.mrr, b.mrr) << what;
}

// Within what one held-out item changing places with one competitor can move:
// 1/users for HR@K, less for NDCG@K (1 - 1/log2 3 per user) and MRR (1/2).
void ExpectCloseMetrics(const RankingMetrics& a, const RankingMetrics& b, const std::string& what) {
  ASSERT_EQ(a.users, b.users) << what;
  ASSERT_EQ(a.ks, b.ks) << what;
  const double tol = 1.0 / static_cast<double>(b.users) + 1e-12;
  for (size_t k = 0; k < a.ks.size(); ++k) {
    EXPECT_NEAR(a.hit_rate[k], b.hit_rate[k], tol) << what << " HR@" << a.ks[k];
    EXPECT_NEAR(a.ndcg[k], b.ndcg[k], tol) << what << " NDCG@" << a.ks[k];
  }
  EXPECT_NEAR(a.mrr, b.mrr, tol) << what << " MRR";
}

class SequenceTrainerTest : public ::testing::TestWithParam<Case> {};

TEST_P(SequenceTrainerTest, Step0EvaluationEqualsOneProcess) {
  const Case& cs = GetParam();
  Communicator& comm = Comm();
  std::unique_ptr<Communicator> local = MakeLocalCommunicator();
  SequenceTrainer sharded(MakeConfig(cs, OutputDir(cs.label + "_eval_mpi")), &comm);
  SequenceTrainer one(MakeConfig(cs, OutputDir(cs.label + "_eval_local_rank" + std::to_string(comm.rank()))),
                      local.get());
  ASSERT_EQ(sharded.GatherAllParameters(), one.GatherAllParameters()) << "initial parameters differ";
  for (SequenceSplit split : {SequenceSplit::kValidation, SequenceSplit::kTest}) {
    const RetrievalEval got = sharded.Evaluate(split);
    const RetrievalEval want = one.Evaluate(split);
    const std::string what = cs.label + " " + SequenceSplitName(split);
    EXPECT_EQ(want.all_items.users, static_cast<uint64_t>(kUsers)) << what;
    ExpectSameMetrics(got.all_items, want.all_items, what + " (all items)");
    ExpectSameMetrics(got.seen_zeroed, want.seen_zeroed, what + " (seen items scored 0)");
  }
}

TEST_P(SequenceTrainerTest, TrainingStepsAgreeWithOneProcess) {
  const Case& cs = GetParam();
  Communicator& comm = Comm();
  std::unique_ptr<Communicator> local = MakeLocalCommunicator();
  SequenceTrainer sharded(MakeConfig(cs, OutputDir(cs.label + "_train_mpi")), &comm);
  SequenceTrainer one(MakeConfig(cs, OutputDir(cs.label + "_train_local_rank" + std::to_string(comm.rank()))),
                      local.get());
  const std::vector<float> initial = one.GatherAllParameters();
  // The runs differ only in the order of float sums: each rank sums its own
  // tokens' gradients before the all-reduce adds the ranks', and an item row's
  // gradient pieces reach its owner in rank order. That perturbs the last bits
  // (~1e-7 relative) each step; five steps stay inside 1e-5 (measured: under
  // 2e-6). A real mismatch (a sequence or negative sampled differently, a
  // dropout mask keyed by rank, a lost gradient) is orders of magnitude larger:
  // one more negative, or dropout 0.31 instead of 0.3, fails this test.
  // The dense optimizer is SGD because Adam would make the comparison
  // meaningless for a parameter whose gradient is 0 in exact arithmetic, like
  // SASRec's key bias (softmax ignores a shift shared by all of a query's
  // keys): Adam divides the rounding noise by its own size and takes lr-sized
  // steps on it, different noise in each run. The item table keeps SPARSE_ADAM
  // (every touched row has a real gradient).
  constexpr double kRel = 1e-5;
  double max_loss_rel = 0;
  for (int step = 0; step < 5; ++step) {
    const double a = sharded.Step(), b = one.Step();
    ASSERT_TRUE(std::isfinite(b)) << cs.label << " step " << step;
    EXPECT_NEAR(a, b, kRel * std::abs(b)) << cs.label << " loss at step " << step;
    max_loss_rel = std::max(max_loss_rel, std::abs(a - b) / std::abs(b));
  }
  const std::vector<float> got = sharded.GatherAllParameters(), want = one.GatherAllParameters();
  ASSERT_EQ(got.size(), want.size());
  // Differences are judged against the parameters' typical size (their RMS)
  // where a parameter is smaller: rounding is relative to the terms that were
  // summed, not to a result that happens to cancel to near 0.
  double sq = 0;
  for (float w : want) sq += static_cast<double>(w) * w;
  const double typical = std::sqrt(sq / static_cast<double>(want.size()));
  double max_change = 0, max_rel = 0;
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_change = std::max(max_change, static_cast<double>(std::abs(want[i] - initial[i])));
    const double scale = std::max(typical, static_cast<double>(std::abs(want[i])));
    const double rel = std::abs(static_cast<double>(got[i]) - want[i]) / scale;
    max_rel = std::max(max_rel, rel);
    if (rel > kRel && bad++ < 5) {
      ADD_FAILURE() << cs.label << ": parameter " << i << " of " << want.size() << ": " << got[i] << " (" << comm.size()
                    << " ranks) vs " << want[i] << " (one process)";
    }
  }
  EXPECT_EQ(bad, 0u) << cs.label << ": parameters differing by more than " << kRel << " (max " << max_rel << ")";
  // Training must have moved the parameters, or agreeing proves nothing.
  EXPECT_GT(max_change, 1e-3) << cs.label;
  if (comm.rank() == 0)
    std::printf("[ %s ] %d ranks: max relative difference: loss %.3g, parameters %.3g (RMS %.3g, max change %.3g)\n",
                cs.label.c_str(), comm.size(), max_loss_rel, max_rel, typical, max_change);

  for (SequenceSplit split : {SequenceSplit::kValidation, SequenceSplit::kTest}) {
    const RetrievalEval a = sharded.Evaluate(split), b = one.Evaluate(split);
    const std::string what = cs.label + " after 5 steps, " + SequenceSplitName(split);
    ExpectCloseMetrics(a.all_items, b.all_items, what + " (all items)");
    ExpectCloseMetrics(a.seen_zeroed, b.seen_zeroed, what + " (seen items scored 0)");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, SequenceTrainerTest,
    ::testing::Values(Case{"hstu_row_wise", "hstu", "ROW_WISE"}, Case{"sasrec_row_wise", "sasrec", "ROW_WISE"},
                      // 61 rows: the planner replicates the table.
                      Case{"hstu_planner_default", "hstu", ""},
                      // Every target of the global batch is also a negative.
                      Case{"hstu_in_batch_negatives", "hstu", "ROW_WISE", {"model.sequence.in_batch_negatives=true"}},
                      // Ranking: candidates under the target-aware mask, KV-cached evaluation.
                      Case{"hstu_bce_candidates",
                           "hstu",
                           "ROW_WISE",
                           {"model.sequence.loss=BCE_CANDIDATES", "model.sequence.num_candidates=3",
                            "model.sequence.eval_candidates=20"}}),
    [](const auto& info) { return info.param.label; });

}  // namespace
}  // namespace shardrec
