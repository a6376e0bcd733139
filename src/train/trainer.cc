#include "shardrec/train/trainer.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <thread>

#include "shardrec/config/config.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/core/metrics.h"
#include "shardrec/core/timer.h"
#include "shardrec/data/data_factory.h"
#include "shardrec/data/synthetic.h"
#include "shardrec/embedding/planner.h"
#include "shardrec/embedding/sharded_collection.h"
#include "shardrec/models/compute_type.h"
#include "shardrec/models/dlrm.h"
#include "shardrec/nn/loss.h"
#include "shardrec/optim/dense_optimizer.h"
#include "shardrec/train/checkpoint.h"
#include "shardrec/train/finite_guard.h"
#include "shardrec/train/gradient_sync.h"
#include "shardrec/train/loss_scaler.h"
#include "shardrec/train/metrics_log.h"
#include "shardrec/train/model_state.h"
#include "shardrec/train/run_setup.h"
#include "shardrec/train/stop_request.h"
#include "shardrec/train/watchdog.h"

namespace shardrec {
namespace {

// An empty slice with the right number of features, for a rank whose share
// of the last evaluation batch is empty (it must still join the collectives).
Batch EmptyBatch(int num_dense, int num_sparse) {
  Batch b;
  b.dense.resize(0, num_dense);
  b.sparse.resize(num_sparse);
  return b;
}

}  // namespace

struct Trainer::Impl {
  config::ExperimentConfig cfg;
  Communicator* comm;
  int num_dense = 0, num_sparse = 0, emb_dim = 0;
  std::unique_ptr<ShardedEmbeddingCollection> embedding;
  std::unique_ptr<Dlrm<float>> model;
  std::unique_ptr<DenseOptimizer> optimizer;
  std::unique_ptr<LossScaler> scaler;
  std::unique_ptr<Watchdog> watchdog;
  std::vector<ParamRef<float>> params;
  BceWithLogits<float> loss;
  std::vector<float> allreduce_scratch;
  uint64_t step = 0;  // completed steps

  std::string OutputDir() const { return cfg.train().output_dir(); }
  std::string CheckpointRoot() const { return JoinPath(OutputDir(), cfg.train().checkpoint_dir()); }

  ModelState State() { return {&params, optimizer.get(), embedding.get(), scaler.get()}; }

  void SaveCheckpoint() {
    watchdog->Beat("writing a checkpoint", step);
    last_checkpoint = SaveModelCheckpoint(*comm, CheckpointRoot(), cfg, step, State(), cfg.train().keep_last());
    LogInfo(Str("checkpoint written: ", last_checkpoint));
  }

  void LoadCheckpoint(const std::string& dir) {
    step = LoadModelCheckpoint(*comm, dir, State());
    LogInfo(Str("resumed from ", dir, " at step ", step));
  }

  std::string last_checkpoint;
};

Trainer::Trainer(const config::ExperimentConfig& cfg, Communicator* comm) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.cfg = cfg;
  s.comm = comm;
  const config::TrainConfig& tc = cfg.train();
  SR_CHECK(cfg.model().type() == "dlrm") << "model.type: '" << cfg.model().type() << "' is not a known model (dlrm)";
  SR_CHECK(tc.global_batch_size() % comm->size() == 0)
      << "train.global_batch_size " << tc.global_batch_size() << " does not divide by the " << comm->size() << " ranks";

  s.watchdog = std::make_unique<Watchdog>(tc.hang_timeout_s(), comm->rank());
  const int threads = ConfigureThreads(tc, *comm);

  const DataShape shape = DescribeData(cfg.data());
  s.num_dense = shape.num_dense;
  s.num_sparse = shape.num_sparse;
  std::vector<TableSpec> tables =
      ResolveTables(cfg.embedding(), s.num_sparse, shape.cardinalities, cfg.precision().embedding_storage());
  s.emb_dim = tables.empty() ? 0 : tables[0].dim;
  for (const TableSpec& t : tables) {
    SR_CHECK(t.dim == s.emb_dim) << "embedding.tables: DLRM needs one embedding width, table '" << t.name << "' has "
                                 << t.dim << " and '" << tables[0].name << "' " << s.emb_dim;
  }
  std::vector<double> avg_ids(s.num_sparse, 1.0);
  if (cfg.data().source() == config::SYNTHETIC) {
    const auto& mh = cfg.data().synthetic().multi_hot_max();
    for (int f = 0; f < s.num_sparse && f < mh.size(); ++f) avg_ids[f] = (1.0 + std::max<uint32_t>(1, mh[f])) / 2.0;
  }
  plan::ShardingPlan plan = MakePlan(tables, comm->size(), cfg.embedding(), avg_ids);
  LogInfo(DescribePlan(plan));
  s.embedding = std::make_unique<ShardedEmbeddingCollection>(tables, plan, cfg.embedding(), cfg.data().id_transform(),
                                                             tc.seed(), comm);
  s.embedding->set_wire_types(cfg.precision().embedding_forward_comm(), cfg.precision().embedding_backward_comm());
  s.model = std::make_unique<Dlrm<float>>(cfg.model().dlrm(), s.num_dense, s.num_sparse, s.emb_dim, tc.seed());
  s.model->set_compute(ComputeTypeFromConfig(cfg.precision().compute()));
  LogInfo(DescribeCompute(cfg.precision().compute()));
  s.optimizer = std::make_unique<DenseOptimizer>(cfg.optimizer(), tc.steps());
  s.scaler = std::make_unique<LossScaler>(cfg.precision());
  s.params = s.model->Params();
  size_t dense_params = 0;
  for (const auto& p : s.params) dense_params += p.size;
  LogInfo(Str("model: DLRM, ", dense_params, " dense parameters (replicated), ", s.num_sparse,
              " embedding features of dim ", s.emb_dim, "; ", comm->size(), " rank(s) x ", threads, " thread(s)"));
}

Trainer::~Trainer() = default;

EvalResult Trainer::Evaluate() {
  Impl& s = *impl_;
  const config::TrainConfig& tc = s.cfg.train();
  std::unique_ptr<SampleSource> src =
      MakeEvalSource(s.cfg.data(), s.comm->rank(), s.comm->size(), tc.global_batch_size());
  std::vector<float> probs, labels;
  uint64_t seen = 0;
  std::vector<MatF> emb;
  while (tc.eval_samples() == 0 || seen < tc.eval_samples()) {
    s.watchdog->Beat("evaluation", s.step);
    Batch b;
    const bool got = src->Next(&b);
    if (!got) b = EmptyBatch(s.num_dense, s.num_sparse);
    if (AllReduceScalar<int64_t>(*s.comm, got ? 1 : 0, ReduceOp::kMax) == 0) break;
    s.embedding->Forward(b, &emb, /*training=*/false);
    const Vec<float>& logits = s.model->Forward(b.dense, emb);
    for (int64_t i = 0; i < b.batch_size; ++i) {
      // Exactly the first eval_samples samples of the split, so the planted
      // optimum and repeated evaluations score the same samples.
      if (tc.eval_samples() > 0 && static_cast<uint64_t>(b.first_sample + i) >= tc.eval_samples()) break;
      probs.push_back(1.0f / (1.0f + std::exp(-logits[i])));
      labels.push_back(b.labels[i]);
    }
    seen += static_cast<uint64_t>(AllReduceScalar<int64_t>(*s.comm, b.batch_size, ReduceOp::kSum));
  }
  // Exact metrics over every rank's predictions.
  const std::vector<float> all_probs = AllGatherV(*s.comm, probs);
  const std::vector<float> all_labels = AllGatherV(*s.comm, labels);
  EvalResult r;
  r.samples = all_probs.size();
  r.auc = BinaryAuc(all_probs, all_labels);
  r.logloss = LogLoss(all_probs, all_labels);
  return r;
}

TrainResult Trainer::Run(bool resume) {
  Impl& s = *impl_;
  const config::TrainConfig& tc = s.cfg.train();
  const int rank = s.comm->rank();
  TrainResult result;
  if (resume) {
    if (auto dir = FindLatestCheckpoint(s.CheckpointRoot())) {
      s.LoadCheckpoint(*dir);
    } else {
      LogInfo(Str("--resume: no checkpoint under ", s.CheckpointRoot(), "; starting from step 0"));
    }
  }
  MetricsLog metrics(rank == 0 ? JoinPath(s.OutputDir(), tc.metrics_file()) : "");
  result.metrics_path = JoinPath(s.OutputDir(), tc.metrics_file());
  if (rank == 0 && s.step == 0) {
    std::ofstream(JoinPath(s.OutputDir(), "config.yaml")) << config::ToYaml(s.cfg);
  }
  if (s.cfg.data().source() == config::SYNTHETIC && s.step == 0) {
    const PlantedOptimum opt = PlantedOptimumMetrics(s.cfg.data().synthetic(), tc.eval_samples());
    LogInfo(Str("planted click model: best achievable eval AUC ", opt.auc, ", logloss ", opt.logloss, ", click rate ",
                opt.positive_rate, " (over ", opt.samples, " eval samples)"));
    metrics.Write("planted_optimum",
                  {{"auc", opt.auc}, {"logloss", opt.logloss}, {"positive_rate", opt.positive_rate}});
  }

  std::unique_ptr<SampleSource> src =
      MakeTrainSource(s.cfg.data(), rank, s.comm->size(), tc.global_batch_size(), s.step);
  const double G = static_cast<double>(tc.global_batch_size());
  const size_t bucket = static_cast<size_t>(tc.allreduce_bucket_mb() * 1e6 / sizeof(float));
  const uint64_t first_step = s.step;
  Timer run_timer, interval_timer;
  double interval_loss = 0.0;
  uint64_t interval_steps = 0, interval_applied = 0;  // applied: not skipped for fp16 overflow
  Batch batch;
  std::vector<MatF> emb, d_emb;
  Vec<float> dlogits;

  const uint64_t last_step =
      tc.stop_after_steps() > 0 ? std::min<uint64_t>(tc.steps(), first_step + tc.stop_after_steps()) : tc.steps();
  while (s.step < last_step) {
    s.watchdog->Beat("a training step", s.step);
    const double exchange_before = s.embedding->exchange_seconds();
    Timer t;
    SR_CHECK(src->Next(&batch)) << "the training data ended unexpectedly";
    result.data_s += t.Seconds();
    t.Reset();
    s.embedding->Forward(batch, &emb, /*training=*/true);
    result.embedding_s += t.Seconds();
    t.Reset();
    const Vec<float>& logits = s.model->Forward(batch.dense, emb);
    const double local_loss =
        s.loss.Forward(logits, Eigen::Map<const Vec<float>>(batch.labels.data(), batch.batch_size), G);
    s.loss.Backward(&dlogits);
    if (s.scaler->active()) dlogits *= s.scaler->scale();
    s.model->Backward(dlogits, &d_emb);
    result.dense_s += t.Seconds();
    t.Reset();
    AllReduceGradients(*s.comm, s.params, bucket, &s.allreduce_scratch, s.cfg.precision().gradient_allreduce());
    const double loss = AllReduceScalar<double>(*s.comm, local_loss, ReduceOp::kSum);
    // FP16: an overflowing step is skipped (nothing applied) and the scale shrinks.
    const bool apply = s.scaler->Unscale(*s.comm, loss, s.params, &d_emb, s.step);
    if (!s.scaler->active()) {
      StopIfNonFinite(*s.comm, loss, s.params, d_emb, s.step, [&] {
        s.SaveCheckpoint();
        return s.last_checkpoint;
      });
    }
    result.allreduce_s += t.Seconds();
    t.Reset();
    if (apply) {
      s.embedding->BackwardAndUpdate(d_emb, s.step);
      result.embedding_s += t.Seconds();
      t.Reset();
      s.optimizer->Step(s.params, s.step);
      result.optimizer_s += t.Seconds();
    }
    result.embedding_exchange_s += s.embedding->exchange_seconds() - exchange_before;
    ++s.step;
    if (apply) {
      interval_loss += loss;
      ++interval_applied;
    }
    ++interval_steps;

    if (s.step % tc.log_every() == 0 || s.step == last_step) {
      const double secs = interval_timer.Seconds();
      const double sps = interval_steps * G / std::max(secs, 1e-9);
      const double per_step = run_timer.Seconds() / static_cast<double>(s.step - first_step);
      const double mean_loss = interval_loss / static_cast<double>(std::max<uint64_t>(1, interval_applied));
      char line[256];
      std::snprintf(line, sizeof(line), "step %llu/%llu | loss %.5f | %.0f samples/s | lr %.3g | eta %s",
                    static_cast<unsigned long long>(s.step), static_cast<unsigned long long>(tc.steps()), mean_loss,
                    sps, s.optimizer->LearningRate(s.step - 1),
                    FormatDuration(per_step * (tc.steps() - s.step)).c_str());
      LogInfo(s.scaler->active() ? Str(line, " | loss scale ", s.scaler->raw_scale(), ", ", s.scaler->skipped_steps(),
                                       " step(s) skipped")
                                 : std::string(line));
      metrics.Write("train", {{"step", static_cast<double>(s.step)},
                              {"loss", mean_loss},
                              {"samples_per_sec", sps},
                              {"lr", s.optimizer->LearningRate(s.step - 1)},
                              {"elapsed_s", run_timer.Seconds()}});
      result.last_loss = mean_loss;
      interval_loss = 0.0;
      interval_steps = interval_applied = 0;
      interval_timer.Reset();
    }
    if (tc.eval_every() > 0 && s.step % tc.eval_every() == 0 && s.step < tc.steps()) {
      const EvalResult e = Evaluate();
      LogInfo(Str("eval at step ", s.step, ": AUC ", e.auc, ", logloss ", e.logloss, " (", e.samples, " samples)"));
      metrics.Write("eval", {{"step", static_cast<double>(s.step)},
                             {"auc", e.auc},
                             {"logloss", e.logloss},
                             {"samples", static_cast<double>(e.samples)}});
    }
    if (tc.checkpoint_every() > 0 && s.step % tc.checkpoint_every() == 0 && s.step < last_step) {
      s.SaveCheckpoint();
    }
    // A stop signal on any rank stops every rank after this same step.
    result.stop_signal = static_cast<int>(AllReduceScalar<int64_t>(*s.comm, StopRequested(), ReduceOp::kMax));
    if (result.stop_signal != 0) {
      LogInfo(Str("signal ", result.stop_signal, " received: stopping after step ", s.step));
      break;
    }
  }
  const double train_secs = run_timer.Seconds();
  result.steps = s.step;
  result.samples_per_sec = (s.step - first_step) * G / std::max(train_secs, 1e-9);
  s.SaveCheckpoint();
  result.checkpoint_dir = s.last_checkpoint;
  if (s.step < tc.steps()) {
    LogInfo(Str("stopped after ", s.step - first_step, " steps (",
                result.stop_signal != 0 ? "stop signal" : "train.stop_after_steps", ") at step ", s.step, " of ",
                tc.steps(), "; continue with --resume"));
    result.stopped_early = true;
    return result;
  }
  result.eval = Evaluate();
  for (size_t t = 0; t < s.embedding->tables().size(); ++t) {
    const TableSpec& ts = s.embedding->tables()[t];
    if (ts.compression.storage() != config::CompressionConfig::CAFE &&
        ts.compression.storage() != config::CompressionConfig::CAFE_MULTILEVEL)
      continue;
    const int64_t hot = s.embedding->HotIds(static_cast<int>(t));  // collective: every rank asks
    LogInfo(Str("table '", ts.name, "': ", hot, " ids hold hot rows"));
  }
  const DataStats ds = src->stats();
  if (ds.malformed_skipped > 0) LogInfo(Str("data: ", ds.malformed_skipped, " malformed lines skipped"));
  for (const auto& [reason, count] : ds.malformed_by_reason) LogInfo(Str("  ", count, " x ", reason));
  // Bytes this rank sent per step: the embedding all-to-alls (last step) and the
  // dense-gradient all-reduce (2(N-1)/N of the gradients, ring-equivalent).
  const double wire_bytes = s.cfg.precision().gradient_allreduce() == config::FP32 ? 4.0 : 2.0;
  size_t dense_elems = 0;
  for (const auto& p : s.params) dense_elems += p.size;
  const double a2a_bytes = static_cast<double>(s.embedding->last_forward_bytes() + s.embedding->last_backward_bytes());
  const double ar_bytes = 2.0 * (s.comm->size() - 1) / s.comm->size() * dense_elems * wire_bytes;
  LogInfo(Str("bytes sent per step (rank ", rank, "): embedding all-to-all ", a2a_bytes / 1e6,
              " MB, gradient all-reduce ", ar_bytes / 1e6, " MB"));
  const double run_steps = std::max<double>(1.0, static_cast<double>(s.step - first_step));
  metrics.Write("final", {{"step", static_cast<double>(s.step)},
                          {"alltoall_bytes_per_step", a2a_bytes},
                          {"skipped_steps", static_cast<double>(s.scaler->skipped_steps())},
                          {"allreduce_bytes_per_step", ar_bytes},
                          {"auc", result.eval.auc},
                          {"logloss", result.eval.logloss},
                          {"samples_per_sec", result.samples_per_sec},
                          {"malformed_skipped", static_cast<double>(ds.malformed_skipped)},
                          // Where this run's steps went, ms per step on this rank.
                          {"data_ms", 1e3 * result.data_s / run_steps},
                          {"embedding_ms", 1e3 * result.embedding_s / run_steps},
                          {"embedding_alltoall_ms", 1e3 * result.embedding_exchange_s / run_steps},
                          {"dense_ms", 1e3 * result.dense_s / run_steps},
                          {"allreduce_ms", 1e3 * result.allreduce_s / run_steps},
                          {"optimizer_ms", 1e3 * result.optimizer_s / run_steps}});
  return result;
}

std::vector<float> Trainer::GatherAllParameters() {
  Impl& s = *impl_;
  std::vector<float> out;
  for (const ParamRef<float>& p : s.params) out.insert(out.end(), p.value, p.value + p.size);
  for (size_t t = 0; t < s.embedding->tables().size(); ++t) {
    const MatF table = s.embedding->GatherTable(static_cast<int>(t));
    out.insert(out.end(), table.data(), table.data() + table.size());
  }
  return out;
}

}  // namespace shardrec
