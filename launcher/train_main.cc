// shardrec-train: trains a model described by a YAML experiment, as a single
// process or under mpirun / srun.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "shardrec/comm/communicator.h"
#include "shardrec/config/config.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/train/sequence_trainer.h"
#include "shardrec/train/stop_request.h"
#include "shardrec/train/trainer.h"

namespace {

// What the launch environment says about this process, for the start-up report.
std::string DescribeLaunch() {
  auto env = [](const char* k) -> std::string {
    const char* v = std::getenv(k);
    return v != nullptr ? v : "";
  };
  if (!env("SLURM_JOB_ID").empty() && !env("SLURM_PROCID").empty()) {
    return "Slurm job " + env("SLURM_JOB_ID") + " (SLURM_PROCID " + env("SLURM_PROCID") + ", SLURM_NTASKS " +
           env("SLURM_NTASKS") + ", SLURM_LOCALID " + env("SLURM_LOCALID") + ")";
  }
  if (!env("OMPI_COMM_WORLD_RANK").empty()) {
    return "Open MPI launcher (OMPI_COMM_WORLD_RANK " + env("OMPI_COMM_WORLD_RANK") + ", OMPI_COMM_WORLD_SIZE " +
           env("OMPI_COMM_WORLD_SIZE") + ", OMPI_COMM_WORLD_LOCAL_RANK " + env("OMPI_COMM_WORLD_LOCAL_RANK") + ")";
  }
  if (!env("PMI_RANK").empty()) return "PMI launcher (PMI_RANK " + env("PMI_RANK") + ")";
  return "no launcher (single process)";
}

// Next-item retrieval (HSTU, SASRec): trains, then reports the best
// validation checkpoint's test metrics.
int RunSequenceModel(const shardrec::config::ExperimentConfig& cfg, shardrec::Communicator* comm, bool resume) {
  shardrec::SequenceTrainer trainer(cfg, comm);
  const shardrec::SequenceTrainResult r = trainer.Run(resume);
  if (r.stopped_early) return r.stop_signal != 0 ? shardrec::kExitPreempted : 0;
  std::string table =
      "done: " + std::to_string(r.steps) + " steps | " + std::to_string(std::lround(r.sequences_per_sec)) +
      " sequences/s, " + std::to_string(std::lround(r.tokens_per_sec)) + " tokens/s (" + std::to_string(comm->size()) +
      " rank(s))\n  test metrics of the best validation checkpoint (step " + std::to_string(r.best_step) + "):\n";
  std::vector<std::pair<std::string, const shardrec::RankingMetrics*>> rows;
  if (r.test.sampled_candidates > 0) {
    rows.push_back({"among " + std::to_string(r.test.sampled_candidates) + " sampled", &r.test.all_items});
  } else {
    rows = {{"all items         ", &r.test.all_items}, {"seen items score 0", &r.test.seen_zeroed}};
  }
  for (const auto& [name, m] : rows) {
    table += std::string("    ") + name;
    for (size_t k = 0; k < m->ks.size(); ++k) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), " HR@%u %.4f  NDCG@%u %.4f ", m->ks[k], m->hit_rate[k], m->ks[k], m->ndcg[k]);
      table += buf;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), " MRR %.4f\n", m->mrr);
    table += buf;
  }
  table += "  checkpoint: " + r.checkpoint_dir + "\n  metrics:    " + r.metrics_path;
  shardrec::LogInfo(table);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shardrec-train: train a recommendation model from a YAML experiment"};
  std::string config_path;
  std::vector<std::string> overrides;
  bool dump_config = false, describe_config = false, resume = false;
  app.add_option("-c,--config", config_path, "experiment YAML (e.g. configs/dlrm_synthetic.yaml)");
  app.add_option("--set", overrides, "override a key: --set train.steps=100 (repeatable)")->take_all();
  app.add_flag("--dump-config", dump_config, "print the effective config as YAML and exit");
  app.add_flag("--describe-config", describe_config, "print the reference of every config key (Markdown) and exit");
  app.add_flag("--resume", resume, "continue from the newest checkpoint in the output directory");
  CLI11_PARSE(app, argc, argv);

  if (describe_config) {
    std::cout << shardrec::config::DescribeSchemaMarkdown();
    return 0;
  }
  std::unique_ptr<shardrec::Communicator> comm;
  try {
    const shardrec::config::ExperimentConfig cfg = shardrec::config::LoadConfig(config_path, overrides);
    if (dump_config) {
      std::cout << shardrec::config::ToYaml(cfg);
      return 0;
    }
    comm = shardrec::MakeMpiCommunicator();
    shardrec::InstallStopSignalHandlers();
    shardrec::SetLogRank(comm->rank());
    shardrec::LogInfo("shardrec-train: " + std::string(config_path.empty() ? "(defaults)" : config_path) + ", " +
                      std::to_string(comm->size()) + " rank(s) via " + comm->name() + "; launched by " +
                      DescribeLaunch());
    if (cfg.model().type() == "hstu" || cfg.model().type() == "sasrec")
      return RunSequenceModel(cfg, comm.get(), resume);
    shardrec::Trainer trainer(cfg, comm.get());
    const shardrec::TrainResult r = trainer.Run(resume);
    // Stopped by a signal after writing the checkpoint: tell the batch script to requeue.
    if (r.stopped_early) return r.stop_signal != 0 ? shardrec::kExitPreempted : 0;
    const double total = std::max(1e-9, r.data_s + r.embedding_s + r.dense_s + r.allreduce_s + r.optimizer_s);
    char line[1024];
    std::snprintf(line, sizeof(line),
                  "done: %llu steps | eval AUC %.5f | logloss %.5f | %.0f samples/s (%d rank(s))\n"
                  "  step time: data %.1f%%, embedding %.1f%% (all-to-all %.1f%%), dense %.1f%%, all-reduce %.1f%%, "
                  "optimizer %.1f%%\n"
                  "  checkpoint: %s\n  metrics:    %s",
                  static_cast<unsigned long long>(r.steps), r.eval.auc, r.eval.logloss, r.samples_per_sec, comm->size(),
                  100 * r.data_s / total, 100 * r.embedding_s / total, 100 * r.embedding_exchange_s / total,
                  100 * r.dense_s / total, 100 * r.allreduce_s / total, 100 * r.optimizer_s / total,
                  r.checkpoint_dir.c_str(), r.metrics_path.c_str());
    shardrec::LogInfo(line);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shardrec-train: error: %s\n", e.what());
    // Other ranks may be waiting in a collective: take the whole job down
    // rather than leave it hanging.
    if (comm && comm->size() > 1) comm->Abort(2);
    return 2;
  }
  return 0;
}
