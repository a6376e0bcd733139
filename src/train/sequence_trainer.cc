#include "shardrec/train/sequence_trainer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <limits>

#include "shardrec/config/config.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/core/rng.h"
#include "shardrec/core/timer.h"
#include "shardrec/data/data_factory.h"
#include "shardrec/data/sequence_source.h"
#include "shardrec/embedding/planner.h"
#include "shardrec/embedding/sharded_collection.h"
#include "shardrec/models/compute_type.h"
#include "shardrec/models/sequence_encoder.h"
#include "shardrec/nn/loss.h"
#include "shardrec/nn/retrieval_loss.h"
#include "shardrec/optim/dense_optimizer.h"
#include "shardrec/train/checkpoint.h"
#include "shardrec/train/finite_guard.h"
#include "shardrec/train/full_ranking.h"
#include "shardrec/train/gradient_sync.h"
#include "shardrec/train/loss_scaler.h"
#include "shardrec/train/metrics_log.h"
#include "shardrec/train/model_state.h"
#include "shardrec/train/run_setup.h"
#include "shardrec/train/stop_request.h"
#include "shardrec/train/watchdog.h"

namespace shardrec {
namespace {

constexpr uint64_t kNegativeStream = 0x4E4547;   // "NEG"
constexpr uint64_t kDropoutStream = 0x44524F;    // "DRO"
constexpr uint64_t kCandidateStream = 0x43414E;  // "CAN"
constexpr uint64_t kEvalCandidateStream = 0x45434E;

// One lookup "bag" per row: unpooled lookups through the pooled machinery.
void SingleIdBag(const std::vector<uint64_t>& ids, JaggedIds* out) {
  out->values = ids;
  out->lengths.assign(ids.size(), 1);
}

size_t KIndex(const std::vector<uint32_t>& ks, uint32_t k) {
  auto it = std::find(ks.begin(), ks.end(), k);
  return it == ks.end() ? 0 : static_cast<size_t>(it - ks.begin());
}

// The protocols an evaluation holds, with short (metrics keys) or long (log) names.
std::vector<std::pair<std::string, const RankingMetrics*>> Protocols(const RetrievalEval& e, bool long_names) {
  if (e.sampled_candidates > 0) {
    return {{long_names ? Str("held-out item among ", e.sampled_candidates, " sampled items") : std::string("sampled"),
             &e.all_items}};
  }
  return {{long_names ? "all items" : "all", &e.all_items},
          {long_names ? "seen items scored 0" : "seen0", &e.seen_zeroed}};
}

std::vector<std::pair<std::string, double>> MetricFields(const std::string& prefix, const RetrievalEval& e) {
  std::vector<std::pair<std::string, double>> f;
  for (const auto& [name, m] : Protocols(e, false)) {
    for (size_t k = 0; k < m->ks.size(); ++k) {
      f.push_back({prefix + name + "_hr@" + std::to_string(m->ks[k]), m->hit_rate[k]});
      f.push_back({prefix + name + "_ndcg@" + std::to_string(m->ks[k]), m->ndcg[k]});
    }
    f.push_back({prefix + name + "_mrr", m->mrr});
  }
  return f;
}

std::string DescribeEval(const RetrievalEval& e) {
  std::string s;
  for (const auto& [name, m] : Protocols(e, true)) {
    s += Str("\n  ", name, ":");
    for (size_t k = 0; k < m->ks.size(); ++k) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), " HR@%u %.4f NDCG@%u %.4f |", m->ks[k], m->hit_rate[k], m->ks[k], m->ndcg[k]);
      s += buf;
    }
    char buf[48];
    std::snprintf(buf, sizeof(buf), " MRR %.4f (%llu users)", m->mrr, static_cast<unsigned long long>(m->users));
    s += buf;
  }
  return s;
}

}  // namespace

struct SequenceTrainer::Impl {
  config::ExperimentConfig cfg;
  Communicator* comm;
  std::shared_ptr<const SequenceDataset> data;
  uint32_t max_len = 0;
  int dim = 0;
  std::vector<uint32_t> ks;
  std::unique_ptr<ShardedEmbeddingCollection> embedding;
  std::unique_ptr<SequenceEncoder<float>> encoder;
  std::unique_ptr<DenseOptimizer> optimizer;
  std::unique_ptr<SampledSoftmaxLoss<float>> loss;
  std::unique_ptr<LossScaler> scaler;
  std::unique_ptr<Watchdog> watchdog;
  std::unique_ptr<SequenceTrainSource> train_src;
  std::vector<ParamRef<float>> params;
  std::vector<float> allreduce_scratch;
  uint64_t step = 0;
  std::string last_checkpoint;

  // Step buffers, reused.
  SequenceBatch sb;
  SequenceLayout layout;
  Batch lookup;
  std::vector<MatF> emb, d_emb;

  std::string OutputDir() const { return cfg.train().output_dir(); }
  std::string CheckpointRoot() const { return JoinPath(OutputDir(), cfg.train().checkpoint_dir()); }
  std::string BestRoot() const { return JoinPath(OutputDir(), "best"); }
  ModelState State() { return {&params, optimizer.get(), embedding.get(), scaler.get()}; }

  void MakeTrainSource() {
    SliceSpec spec;
    spec.rank = comm->rank();
    spec.world = comm->size();
    spec.global_batch = cfg.train().global_batch_size();
    spec.start_step = step;
    train_src = std::make_unique<SequenceTrainSource>(data, max_len, spec, cfg.train().seed());
  }

  void FillLayout(const SequenceBatch& b, bool training) {
    layout.offsets = b.offsets;
    if (data->has_timestamps) {
      layout.timestamps = b.timestamps;
    } else {
      layout.timestamps.clear();
    }
    layout.num_targets.clear();
    layout.token_keys.clear();
    if (!training) return;
    // Dropout keys: (step, global sequence index, position) — independent of the rank count.
    layout.token_keys.resize(static_cast<size_t>(b.num_tokens()));
    for (int64_t s = 0; s < b.batch_size; ++s) {
      const uint64_t seq_key =
          Hash3(Hash3(cfg.train().seed(), kDropoutStream, step), static_cast<uint64_t>(b.first_sample + s), 0);
      for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t)
        layout.token_keys[t] = HashCombine(seq_key, static_cast<uint64_t>(t - b.offsets[s]));
    }
  }

  bool RankingObjective() const { return cfg.model().sequence().loss() == config::BCE_CANDIDATES; }
  // Ranking: history tokens kept in front of the training candidates.
  int HistoryKeep() const {
    return static_cast<int>(max_len) - 1 - static_cast<int>(cfg.model().sequence().num_candidates());
  }

  // n items uniform over 1..max_item_id, none equal to `avoid`, from a key.
  std::vector<uint64_t> SampleItems(uint64_t key, uint32_t n, uint64_t avoid) const {
    std::vector<uint64_t> ids;
    CounterRng rng(key);
    while (ids.size() < n) {
      const uint64_t id = 1 + rng.Below(data->max_item_id);
      if (id != avoid || data->max_item_id == 1) ids.push_back(id);
    }
    return ids;
  }

  // out = every sequence of b cut to its last `keep` tokens, then its candidates
  // (cands jagged by cand_offsets), which take the time of the sequence's last
  // token. *num_targets gets the candidate counts.
  static void AppendCandidates(const SequenceBatch& b, int keep, const std::vector<int64_t>& cand_offsets,
                               const std::vector<uint64_t>& cands, SequenceBatch* out,
                               std::vector<int32_t>* num_targets) {
    out->batch_size = b.batch_size;
    out->first_sample = b.first_sample;
    out->offsets.assign(1, 0);
    out->items.clear();
    out->timestamps.clear();
    num_targets->clear();
    for (int64_t s = 0; s < b.batch_size; ++s) {
      const int64_t end = b.offsets[s + 1], begin = std::max(b.offsets[s], end - keep);
      out->items.insert(out->items.end(), b.items.begin() + begin, b.items.begin() + end);
      out->timestamps.insert(out->timestamps.end(), b.timestamps.begin() + begin, b.timestamps.begin() + end);
      const int64_t nc = cand_offsets[s + 1] - cand_offsets[s];
      out->items.insert(out->items.end(), cands.begin() + cand_offsets[s], cands.begin() + cand_offsets[s + 1]);
      out->timestamps.insert(out->timestamps.end(), nc, end > begin ? b.timestamps[end - 1] : 0);
      num_targets->push_back(static_cast<int32_t>(nc));
      out->offsets.push_back(static_cast<int64_t>(out->items.size()));
    }
  }

  double StepCandidates();

  // The end of every step: all-reduce the dense gradients and the loss, stop on
  // a non-finite value (saving the last good state), apply the sparse and dense
  // updates. Returns the global loss.
  double ApplyStep(double local_loss) {
    const size_t bucket = static_cast<size_t>(cfg.train().allreduce_bucket_mb() * 1e6 / sizeof(float));
    AllReduceGradients(*comm, params, bucket, &allreduce_scratch, cfg.precision().gradient_allreduce());
    const double loss = AllReduceScalar<double>(*comm, local_loss, ReduceOp::kSum);
    // FP16: an overflowing step is skipped (nothing applied) and the scale shrinks.
    const bool apply = scaler->Unscale(*comm, loss, params, &d_emb, step);
    if (!scaler->active()) {
      StopIfNonFinite(*comm, loss, params, d_emb, step, [&] {
        return SaveModelCheckpoint(*comm, CheckpointRoot(), cfg, step, State(), cfg.train().keep_last());
      });
    }
    if (apply) {
      embedding->BackwardAndUpdate(d_emb, step);
      optimizer->Step(params, step);
    }
    ++step;
    return apply ? loss : std::numeric_limits<double>::quiet_NaN();
  }
  RetrievalEval EvaluateCandidates(SequenceSplit split);
  std::vector<int64_t> RankCandidates(const SequenceBatch& b, const SequenceBatch& hist,
                                      const SequenceLayout& hist_layout, const SequenceLayout& cand_layout,
                                      const std::vector<uint64_t>& ids, uint32_t m, const MatF& emb);

  // The step's shared negatives: the same on every rank, a function of (seed, step).
  std::vector<uint64_t> Negatives() const {
    const uint32_t n = cfg.model().sequence().num_negatives();
    std::vector<uint64_t> ids(n);
    CounterRng rng(cfg.train().seed(), kNegativeStream, step);
    for (uint32_t i = 0; i < n; ++i) ids[i] = 1 + rng.Below(data->max_item_id);
    return ids;
  }
};

SequenceTrainer::SequenceTrainer(const config::ExperimentConfig& cfg, Communicator* comm)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.cfg = cfg;
  s.comm = comm;
  const EncoderKind kind = ParseEncoderKind(cfg.model().type());
  SR_CHECK(cfg.data().source() == config::SEQUENCES)
      << "model.type " << cfg.model().type() << " trains on user histories: set data.source: SEQUENCES";
  const config::TrainConfig& tc = cfg.train();
  SR_CHECK(tc.global_batch_size() % comm->size() == 0)
      << "train.global_batch_size " << tc.global_batch_size() << " does not divide by the " << comm->size() << " ranks";
  s.watchdog = std::make_unique<Watchdog>(tc.hang_timeout_s(), comm->rank());
  const int threads = ConfigureThreads(tc, *comm);

  const std::string path = ResolveDataPath(cfg.data().train_path(), cfg.data().data_root());
  SR_CHECK(!cfg.data().train_path().empty()) << "data.train_path: the SEQUENCES source needs a history file";
  Timer t;
  s.data = std::make_shared<const SequenceDataset>(ReadSequenceDataset(
      path, cfg.data().sequence().format(), cfg.data().sequence().min_length(), cfg.data().malformed()));
  LogInfo(Str("data: ", path, ": ", s.data->users.size(), " users, ", s.data->num_items, " items (ids up to ",
              s.data->max_item_id, "), ", s.data->interactions, " interactions",
              s.data->has_timestamps ? ", with timestamps" : ", no timestamps", "; ", s.data->users_dropped,
              " users dropped (< data.sequence.min_length); read in ", t.Seconds(), " s"));
  SR_CHECK(!s.data->users.empty()) << path << ": no user has data.sequence.min_length interactions";
  s.max_len = cfg.data().sequence().max_len();
  s.ks.assign(tc.ranking_ks().begin(), tc.ranking_ks().end());
  if (s.ks.empty()) s.ks = {10, 50, 200};

  // The item table: one feature (the item id), rows = item ids (row 0 unused).
  config::EmbeddingConfig emb_cfg = cfg.embedding();
  if (emb_cfg.tables_size() == 1 && emb_cfg.tables(0).features_size() == 0) emb_cfg.mutable_tables(0)->add_features(0);
  std::vector<TableSpec> tables =
      ResolveTables(emb_cfg, 1, {s.data->max_item_id + 1}, cfg.precision().embedding_storage());
  SR_CHECK(tables.size() == 1) << "embedding.tables: a sequence model has exactly one (item) table, got "
                               << tables.size();
  SR_CHECK(tables[0].rows >= s.data->max_item_id + 1)
      << "embedding.tables[0].rows " << tables[0].rows << " cannot hold item ids up to " << s.data->max_item_id;
  SR_CHECK(!tables[0].compressed()) << "embedding.tables[0]: full-ranking evaluation needs FULL item storage";
  s.dim = tables[0].dim;
  plan::ShardingPlan plan = MakePlan(tables, comm->size(), emb_cfg, {1.0});
  for (const plan::Shard& sh : plan.tables(0).shards()) {
    SR_CHECK(sh.col_begin() == 0 && sh.col_end() == static_cast<uint64_t>(s.dim))
        << "embedding.tables[0]: the item table cannot be COLUMN_WISE: full-ranking evaluation scores whole rows";
  }
  LogInfo(DescribePlan(plan));
  // Item ids are the rows: no hashing.
  s.embedding = std::make_unique<ShardedEmbeddingCollection>(tables, plan, emb_cfg, config::MODULO, tc.seed(), comm);
  s.embedding->set_wire_types(cfg.precision().embedding_forward_comm(), cfg.precision().embedding_backward_comm());
  s.encoder = std::make_unique<SequenceEncoder<float>>(kind, cfg.model().sequence(), s.dim, static_cast<int>(s.max_len),
                                                       tc.seed());
  s.encoder->set_compute(ComputeTypeFromConfig(cfg.precision().compute()));
  LogInfo(DescribeCompute(cfg.precision().compute()));
  s.optimizer = std::make_unique<DenseOptimizer>(cfg.optimizer(), tc.steps());
  s.loss = std::make_unique<SampledSoftmaxLoss<float>>(cfg.model().sequence().temperature());
  s.scaler = std::make_unique<LossScaler>(cfg.precision());
  s.params = s.encoder->Params();
  size_t dense = 0;
  for (const auto& p : s.params) dense += p.size;
  LogInfo(Str("model: ", cfg.model().type(), ", ", cfg.model().sequence().num_blocks(), " block(s), dim ", s.dim,
              ", max_len ", s.max_len, ", ", dense, " dense parameters (replicated); item table ", tables[0].rows,
              " x ", s.dim, "; ", comm->size(), " rank(s) x ", threads, " thread(s)"));
  if (s.RankingObjective()) {
    SR_CHECK(kind == EncoderKind::kHstu)
        << "model.sequence.loss BCE_CANDIDATES needs the target-aware mask of model.type hstu";
    SR_CHECK(s.HistoryKeep() >= 1) << "model.sequence.num_candidates " << cfg.model().sequence().num_candidates()
                                   << " leaves no history within data.sequence.max_len " << s.max_len;
  }
  s.lookup.sparse.resize(1);
  s.MakeTrainSource();
}

SequenceTrainer::~SequenceTrainer() = default;

double SequenceTrainer::Step() {
  Impl& s = *impl_;
  s.watchdog->Beat("a training step", s.step);
  if (s.RankingObjective()) return s.StepCandidates();
  s.train_src->Next(&s.sb);
  const SequenceBatch& b = s.sb;
  s.FillLayout(b, /*training=*/true);
  const int64_t tokens = b.num_tokens();
  // Queries: tokens with a next item.
  std::vector<int64_t> query_rows;
  std::vector<uint64_t> pos_ids;
  for (int64_t t = 0; t < tokens; ++t) {
    if (b.targets[t] == 0) continue;
    query_rows.push_back(t);
    pos_ids.push_back(b.targets[t]);
  }
  std::vector<uint64_t> neg_ids = s.Negatives();
  if (s.cfg.model().sequence().in_batch_negatives()) {
    // Every query of the global batch also competes with every other query's
    // target: all ranks look up the same global list (its gradient returns to
    // the owners like any lookup's), and a query's own target id is excluded by
    // the id match in the loss.
    const std::vector<uint64_t> global_pos = AllGatherV(*s.comm, pos_ids);
    neg_ids.insert(neg_ids.end(), global_pos.begin(), global_pos.end());
  }
  // One lookup for the history tokens, the positives and the negatives.
  std::vector<uint64_t> ids(b.items);
  ids.insert(ids.end(), pos_ids.begin(), pos_ids.end());
  ids.insert(ids.end(), neg_ids.begin(), neg_ids.end());
  SingleIdBag(ids, &s.lookup.sparse[0]);
  s.lookup.batch_size = static_cast<int64_t>(ids.size());
  s.embedding->Forward(s.lookup, &s.emb, /*training=*/true);
  const MatF& e = s.emb[0];
  const int64_t nq = static_cast<int64_t>(query_rows.size()), nn = static_cast<int64_t>(neg_ids.size());
  const MatF item_emb = e.topRows(tokens);
  const MatF& users = s.encoder->Forward(item_emb, s.layout);
  MatF queries(nq, s.dim), pos, neg;
  for (int64_t q = 0; q < nq; ++q) queries.row(q) = users.row(query_rows[q]);
  Vec<float> pos_inv, neg_inv;
  L2NormalizeRows(MatF(e.middleRows(tokens, nq)), &pos, &pos_inv);
  L2NormalizeRows(MatF(e.bottomRows(nn)), &neg, &neg_inv);
  const double global_queries = static_cast<double>(AllReduceScalar<int64_t>(*s.comm, nq, ReduceOp::kSum));
  const double local_loss = s.loss->Forward(queries, pos, neg, pos_ids, neg_ids, std::max(1.0, global_queries));
  MatF dq, dpos, dneg;
  s.loss->Backward(&dq, &dpos, &dneg);
  if (s.scaler->active()) {  // FP16: scale the loss gradient (undone before any update)
    dq *= s.scaler->scale();
    dpos *= s.scaler->scale();
    dneg *= s.scaler->scale();
  }
  MatF d_users = MatF::Zero(tokens, s.dim), d_items;
  for (int64_t q = 0; q < nq; ++q) d_users.row(query_rows[q]) = dq.row(q);
  s.encoder->Backward(d_users, &d_items);
  L2NormalizeRowsBackward(pos, pos_inv, dpos, &dpos);
  L2NormalizeRowsBackward(neg, neg_inv, dneg, &dneg);
  s.d_emb.resize(1);
  MatF& g = s.d_emb[0];
  g.resize(e.rows(), s.dim);
  g.topRows(tokens) = d_items;
  g.middleRows(tokens, nq) = dpos;
  g.bottomRows(nn) = dneg;
  return s.ApplyStep(local_loss);
}

RetrievalEval SequenceTrainer::Evaluate(SequenceSplit split) {
  Impl& s = *impl_;
  if (s.RankingObjective()) return s.EvaluateCandidates(split);
  SliceSpec spec;
  spec.rank = s.comm->rank();
  spec.world = s.comm->size();
  spec.global_batch = s.cfg.train().global_batch_size();
  spec.repeat = false;
  SequenceEvalSource src(s.data, split, s.max_len, spec);
  const FullRanker ranker(*s.embedding, 0, s.data->max_item_id);
  std::vector<int64_t> all_ranks, zeroed_ranks;
  SequenceBatch b;
  std::vector<MatF> emb;
  while (src.Next(&b)) {
    s.watchdog->Beat("evaluation", s.step);
    s.FillLayout(b, /*training=*/false);
    const int64_t tokens = b.num_tokens();
    std::vector<uint64_t> ids(b.items);
    ids.insert(ids.end(), b.labels.begin(), b.labels.end());
    SingleIdBag(ids, &s.lookup.sparse[0]);
    s.lookup.batch_size = static_cast<int64_t>(ids.size());
    s.embedding->Forward(s.lookup, &emb, /*training=*/false);
    RankQueries q;
    q.users.resize(b.batch_size, s.dim);
    if (b.batch_size > 0) {
      const MatF& users = s.encoder->Forward(emb[0].topRows(tokens), s.layout);
      for (int64_t i = 0; i < b.batch_size; ++i) q.users.row(i) = users.row(b.offsets[i + 1] - 1);  // last token
      MatF label_emb;
      Vec<float> inv;
      L2NormalizeRows(MatF(emb[0].bottomRows(b.batch_size)), &label_emb, &inv);
      q.label_scores.resize(b.batch_size);
      for (int64_t i = 0; i < b.batch_size; ++i) q.label_scores[i] = q.users.row(i).dot(label_emb.row(i));
    }
    q.labels = b.labels;
    q.seen_offsets = b.seen_offsets;
    q.seen = b.seen;
    const FullRanks r = ranker.Rank(*s.comm, q);
    all_ranks.insert(all_ranks.end(), r.all_items.begin(), r.all_items.end());
    zeroed_ranks.insert(zeroed_ranks.end(), r.seen_zeroed.begin(), r.seen_zeroed.end());
  }
  return {RankingFromRanks(all_ranks, s.ks), RankingFromRanks(zeroed_ranks, s.ks)};
}

SequenceTrainResult SequenceTrainer::Run(bool resume) {
  Impl& s = *impl_;
  const config::TrainConfig& tc = s.cfg.train();
  const int rank = s.comm->rank();
  SequenceTrainResult result;
  // Best validation score so far (NDCG@10 over all items) and its step, kept beside the best checkpoint.
  const std::string best_file = JoinPath(s.OutputDir(), "best_validation.txt");
  double best_score = -1.0;
  uint64_t best_step = 0;
  if (resume) {
    if (auto dir = FindLatestCheckpoint(s.CheckpointRoot())) {
      s.step = LoadModelCheckpoint(*s.comm, *dir, s.State());
      LogInfo(Str("resumed from ", *dir, " at step ", s.step));
      s.MakeTrainSource();
      std::ifstream in(best_file);
      if (!(in >> best_step >> best_score)) best_score = -1.0, best_step = 0;
    } else {
      LogInfo(Str("--resume: no checkpoint under ", s.CheckpointRoot(), "; starting from step 0"));
    }
  }
  MetricsLog metrics(rank == 0 ? JoinPath(s.OutputDir(), tc.metrics_file()) : "");
  result.metrics_path = JoinPath(s.OutputDir(), tc.metrics_file());
  if (rank == 0 && s.step == 0) std::ofstream(JoinPath(s.OutputDir(), "config.yaml")) << config::ToYaml(s.cfg);
  const size_t k10 = KIndex(s.ks, 10);

  auto validate = [&]() {
    const RetrievalEval v = Evaluate(SequenceSplit::kValidation);
    LogInfo(Str("validation at step ", s.step, ":", DescribeEval(v)));
    auto fields = MetricFields("", v);
    fields.insert(fields.begin(), {"step", static_cast<double>(s.step)});
    metrics.Write("validation", fields);
    const double score = v.all_items.ndcg[k10];
    if (score > best_score) {
      best_score = score;
      best_step = s.step;
      result.best_validation = v;
      s.watchdog->Beat("writing a checkpoint", s.step);
      SaveModelCheckpoint(*s.comm, s.BestRoot(), s.cfg, s.step, s.State(), 1);
      if (rank == 0) std::ofstream(best_file) << best_step << " " << std::setprecision(17) << best_score << "\n";
      LogInfo(Str("new best validation NDCG@", s.ks[k10], " ", score, " at step ", s.step));
    }
  };

  const uint64_t first_step = s.step;
  const uint64_t last_step =
      tc.stop_after_steps() > 0 ? std::min<uint64_t>(tc.steps(), first_step + tc.stop_after_steps()) : tc.steps();
  Timer run_timer, interval_timer;
  double interval_loss = 0, train_secs = 0;
  uint64_t interval_steps = 0, interval_applied = 0, interval_tokens = 0, run_tokens = 0;
  while (s.step < last_step) {
    Timer step_timer;
    const double loss = Step();
    train_secs += step_timer.Seconds();
    result.peak_activation_bytes = std::max(result.peak_activation_bytes, s.encoder->peak_activation_bytes());
    const uint64_t tokens = static_cast<uint64_t>(AllReduceScalar<int64_t>(*s.comm, s.sb.num_tokens(), ReduceOp::kSum));
    interval_tokens += tokens;
    run_tokens += tokens;
    if (!std::isnan(loss)) {  // NaN: skipped for fp16 overflow
      interval_loss += loss;
      ++interval_applied;
    }
    ++interval_steps;
    if (s.step % tc.log_every() == 0 || s.step == last_step) {
      const double secs = std::max(interval_timer.Seconds(), 1e-9);
      const double mean_loss = interval_loss / static_cast<double>(std::max<uint64_t>(1, interval_applied));
      const double sps = interval_steps * static_cast<double>(tc.global_batch_size()) / secs;
      char line[256];
      std::snprintf(line, sizeof(line), "step %llu/%llu | loss %.5f | %.0f sequences/s | %.0f tokens/s | lr %.3g",
                    static_cast<unsigned long long>(s.step), static_cast<unsigned long long>(tc.steps()), mean_loss,
                    sps, interval_tokens / secs, s.optimizer->LearningRate(s.step - 1));
      LogInfo(s.scaler->active() ? Str(line, " | loss scale ", s.scaler->raw_scale(), ", ", s.scaler->skipped_steps(),
                                       " step(s) skipped")
                                 : std::string(line));
      metrics.Write("train", {{"step", static_cast<double>(s.step)},
                              {"loss", mean_loss},
                              {"sequences_per_sec", sps},
                              {"tokens_per_sec", interval_tokens / secs},
                              {"elapsed_s", run_timer.Seconds()}});
      result.last_loss = mean_loss;
      interval_loss = 0;
      interval_steps = interval_applied = interval_tokens = 0;
      interval_timer.Reset();
    }
    if (tc.eval_every() > 0 && s.step % tc.eval_every() == 0 && s.step < tc.steps()) {
      validate();
      interval_timer.Reset();  // throughput lines count training time only
    }
    if (tc.checkpoint_every() > 0 && s.step % tc.checkpoint_every() == 0 && s.step < last_step) {
      s.watchdog->Beat("writing a checkpoint", s.step);
      s.last_checkpoint = SaveModelCheckpoint(*s.comm, s.CheckpointRoot(), s.cfg, s.step, s.State(), tc.keep_last());
    }
    result.stop_signal = static_cast<int>(AllReduceScalar<int64_t>(*s.comm, StopRequested(), ReduceOp::kMax));
    if (result.stop_signal != 0) {
      LogInfo(Str("signal ", result.stop_signal, " received: stopping after step ", s.step));
      break;
    }
  }
  result.steps = s.step;
  result.sequences_per_sec =
      (s.step - first_step) * static_cast<double>(tc.global_batch_size()) / std::max(train_secs, 1e-9);
  result.tokens_per_sec = run_tokens / std::max(train_secs, 1e-9);
  result.peak_rss_bytes = PeakRssBytes();
  LogInfo(Str("memory (rank ", rank, "): peak activations ", result.peak_activation_bytes / 1e6,
              " MB per step (recompute ", config::RecomputeMode_Name(s.cfg.model().sequence().recompute()),
              "), peak RSS ", result.peak_rss_bytes / 1e6, " MB"));
  s.watchdog->Beat("writing a checkpoint", s.step);
  s.last_checkpoint = SaveModelCheckpoint(*s.comm, s.CheckpointRoot(), s.cfg, s.step, s.State(), tc.keep_last());
  LogInfo(Str("checkpoint written: ", s.last_checkpoint));
  result.checkpoint_dir = s.last_checkpoint;
  if (s.step < tc.steps()) {
    LogInfo(Str("stopped at step ", s.step, " of ", tc.steps(), "; continue with --resume"));
    result.stopped_early = true;
    return result;
  }
  validate();
  // Test the best checkpoint by validation NDCG@10.
  if (auto best = FindLatestCheckpoint(s.BestRoot()); best && best_step != s.step) {
    LoadModelCheckpoint(*s.comm, *best, s.State());
    LogInfo(Str("testing the best checkpoint by validation (step ", best_step, "): ", *best));
  }
  if (result.best_validation.all_items.users == 0) result.best_validation = Evaluate(SequenceSplit::kValidation);
  result.best_step = best_step;
  result.test = Evaluate(SequenceSplit::kTest);
  LogInfo(Str("test (checkpoint of step ", best_step, "):", DescribeEval(result.test)));
  auto fields = MetricFields("test_", result.test);
  auto vfields = MetricFields("valid_", result.best_validation);
  fields.insert(fields.end(), vfields.begin(), vfields.end());
  fields.insert(fields.begin(), {{"step", static_cast<double>(s.step)},
                                 {"best_step", static_cast<double>(best_step)},
                                 {"sequences_per_sec", result.sequences_per_sec},
                                 {"tokens_per_sec", result.tokens_per_sec},
                                 {"peak_activation_bytes", static_cast<double>(result.peak_activation_bytes)},
                                 {"peak_rss_bytes", static_cast<double>(result.peak_rss_bytes)},
                                 {"skipped_steps", static_cast<double>(s.scaler->skipped_steps())}});
  metrics.Write("final", fields);
  return result;
}

// Ranking objective: each sequence's true next item and num_candidates sampled
// items are appended as targets (target-aware mask: each sees the history and
// itself); logit = cosine(candidate's output, its item embedding) / temperature;
// binary cross-entropy, 1 for the true item, 0 for the sampled ones.
double SequenceTrainer::Impl::StepCandidates() {
  train_src->Next(&sb);
  const uint32_t m = cfg.model().sequence().num_candidates();
  std::vector<int64_t> cand_offsets{0};
  std::vector<uint64_t> cands;
  std::vector<float> labels;
  for (int64_t q = 0; q < sb.batch_size; ++q) {
    const uint64_t next = sb.length(q) > 0 ? sb.targets[sb.offsets[q + 1] - 1] : 0;
    if (next != 0) {
      cands.push_back(next);
      labels.push_back(1.0f);
      const std::vector<uint64_t> neg = SampleItems(
          Hash3(Hash3(cfg.train().seed(), kCandidateStream, step), static_cast<uint64_t>(sb.first_sample + q), 0), m,
          next);
      cands.insert(cands.end(), neg.begin(), neg.end());
      labels.insert(labels.end(), m, 0.0f);
    }
    cand_offsets.push_back(static_cast<int64_t>(cands.size()));
  }
  SequenceBatch ext;
  std::vector<int32_t> num_targets;
  AppendCandidates(sb, HistoryKeep(), cand_offsets, cands, &ext, &num_targets);
  FillLayout(ext, /*training=*/true);
  layout.num_targets = num_targets;
  SingleIdBag(ext.items, &lookup.sparse[0]);
  lookup.batch_size = static_cast<int64_t>(ext.items.size());
  embedding->Forward(lookup, &emb, /*training=*/true);
  const MatF& e = emb[0];
  const MatF& users = encoder->Forward(e, layout);
  std::vector<int64_t> rows;  // candidate token rows, in cands order
  for (int64_t q = 0; q < ext.batch_size; ++q)
    for (int64_t t = ext.offsets[q + 1] - num_targets[q]; t < ext.offsets[q + 1]; ++t) rows.push_back(t);
  const int64_t nc = static_cast<int64_t>(rows.size());
  MatF cand_emb(nc, dim), cand_hat, cand_users(nc, dim);
  for (int64_t c = 0; c < nc; ++c) {
    cand_emb.row(c) = e.row(rows[c]);
    cand_users.row(c) = users.row(rows[c]);
  }
  Vec<float> inv;
  L2NormalizeRows(cand_emb, &cand_hat, &inv);
  const float inv_temp = static_cast<float>(1.0 / cfg.model().sequence().temperature());
  const Vec<float> logits = cand_users.cwiseProduct(cand_hat).rowwise().sum() * inv_temp;
  const double global = static_cast<double>(AllReduceScalar<int64_t>(*comm, nc, ReduceOp::kSum));
  BceWithLogits<float> bce;
  const double local_loss = bce.Forward(logits, Eigen::Map<const Vec<float>>(labels.data(), nc), std::max(1.0, global));
  Vec<float> dlogits;
  bce.Backward(&dlogits);
  dlogits *= inv_temp * scaler->scale();  // scale is 1 unless FP16 loss scaling is on
  MatF d_users = MatF::Zero(e.rows(), dim), d_items;
  MatF d_hat = dlogits.asDiagonal() * cand_users;
  const MatF du = dlogits.asDiagonal() * cand_hat;
  for (int64_t c = 0; c < nc; ++c) d_users.row(rows[c]) = du.row(c);
  encoder->Backward(d_users, &d_items);
  L2NormalizeRowsBackward(cand_hat, inv, d_hat, &d_hat);
  for (int64_t c = 0; c < nc; ++c) d_items.row(rows[c]) += d_hat.row(c);
  d_emb.assign(1, std::move(d_items));
  return ApplyStep(local_loss);
}

// Ranks of each sequence's held-out item (candidate 0 of its group) among its
// sampled candidates: history encoded once with its K/V cached, then only the
// candidates pass through the layers.
std::vector<int64_t> SequenceTrainer::Impl::RankCandidates(const SequenceBatch& b, const SequenceBatch& hist,
                                                           const SequenceLayout& hist_layout,
                                                           const SequenceLayout& cand_layout,
                                                           const std::vector<uint64_t>& ids, uint32_t m,
                                                           const MatF& emb) {
  std::vector<int64_t> batch_ranks;
  const int64_t nh = hist.num_tokens();
  SequenceKvCache<float> cache;
  encoder->EncodeHistory(emb.topRows(nh), hist_layout, &cache);
  const MatF cand_emb = emb.bottomRows(emb.rows() - nh);
  const MatF users = encoder->EncodeCandidates(cand_emb, cand_layout, cache);
  MatF cand_hat;
  Vec<float> inv;
  L2NormalizeRows(cand_emb, &cand_hat, &inv);
  const Vec<float> scores = users.cwiseProduct(cand_hat).rowwise().sum();
  for (int64_t q = 0; q < b.batch_size; ++q) {
    const int64_t c0 = cand_layout.offsets[q];
    int64_t ahead = 0;
    for (uint32_t j = 1; j <= m; ++j) ahead += RanksAhead(scores[c0 + j], ids[nh + c0 + j], scores[c0], b.labels[q]);
    batch_ranks.push_back(1 + ahead);
  }
  return batch_ranks;
}

// Ranking evaluation: the held-out item and eval_candidates sampled items are
// scored as targets of the user's history. The history is encoded once and its
// K/V cached; only the candidates pass through the layers.
RetrievalEval SequenceTrainer::Impl::EvaluateCandidates(SequenceSplit split) {
  SliceSpec spec;
  spec.rank = comm->rank();
  spec.world = comm->size();
  spec.global_batch = cfg.train().global_batch_size();
  spec.repeat = false;
  SequenceEvalSource src(data, split, max_len, spec);
  const uint32_t m = cfg.model().sequence().eval_candidates();
  std::vector<int64_t> ranks;  // every rank's, batch by batch: the global user order at any rank count
  SequenceBatch b, hist;
  std::vector<int32_t> none;
  std::vector<MatF> out;
  const std::vector<int64_t> no_cands;
  while (src.Next(&b)) {
    watchdog->Beat("evaluation", step);
    AppendCandidates(b, HistoryKeep(), std::vector<int64_t>(b.batch_size + 1, 0), {}, &hist, &none);
    SequenceLayout hist_layout, cand_layout;
    hist_layout.offsets = hist.offsets;
    cand_layout.offsets = {0};
    std::vector<uint64_t> ids = hist.items;
    for (int64_t q = 0; q < b.batch_size; ++q) {
      ids.push_back(b.labels[q]);
      const std::vector<uint64_t> neg =
          SampleItems(Hash3(cfg.train().seed(), kEvalCandidateStream, b.users[q]), m, b.labels[q]);
      ids.insert(ids.end(), neg.begin(), neg.end());
      cand_layout.offsets.push_back(cand_layout.offsets.back() + 1 + m);
      if (data->has_timestamps) {
        const int64_t t = hist.length(q) > 0 ? hist.timestamps[hist.offsets[q + 1] - 1] : 0;
        cand_layout.timestamps.insert(cand_layout.timestamps.end(), 1 + m, t);
      }
    }
    if (data->has_timestamps) hist_layout.timestamps = hist.timestamps;
    SingleIdBag(ids, &lookup.sparse[0]);
    lookup.batch_size = static_cast<int64_t>(ids.size());
    embedding->Forward(lookup, &out, /*training=*/false);
    std::vector<int64_t> batch_ranks;
    if (b.batch_size > 0) batch_ranks = RankCandidates(b, hist, hist_layout, cand_layout, ids, m, out[0]);
    const std::vector<int64_t> all = AllGatherV(*comm, batch_ranks);
    ranks.insert(ranks.end(), all.begin(), all.end());
  }
  RetrievalEval r;
  r.sampled_candidates = m;
  r.all_items = RankingFromRanks(ranks, ks);
  r.seen_zeroed = RankingFromRanks({}, ks);
  return r;
}

std::vector<float> SequenceTrainer::GatherAllParameters() {
  Impl& s = *impl_;
  std::vector<float> out;
  for (const ParamRef<float>& p : s.params) out.insert(out.end(), p.value, p.value + p.size);
  const MatF table = s.embedding->GatherTable(0);
  out.insert(out.end(), table.data(), table.data() + table.size());
  return out;
}

}  // namespace shardrec
