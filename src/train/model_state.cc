#include "shardrec/train/model_state.h"

#include <fstream>

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/train/checkpoint.h"

namespace shardrec {
namespace {

// dense.bin: count, then per parameter (name, size, values), then the optimizer state.
void WriteDense(std::ostream& out, const ModelState& s) {
  const std::vector<ParamRef<float>>& params = *s.params;
  const uint64_t n = params.size();
  out.write(reinterpret_cast<const char*>(&n), sizeof(n));
  for (const ParamRef<float>& p : params) {
    const uint64_t len = p.name.size(), size = p.size;
    out.write(reinterpret_cast<const char*>(&len), sizeof(len));
    out.write(p.name.data(), static_cast<std::streamsize>(len));
    out.write(reinterpret_cast<const char*>(&size), sizeof(size));
    out.write(reinterpret_cast<const char*>(p.value), static_cast<std::streamsize>(size * sizeof(float)));
  }
  const std::string state = s.optimizer->SaveState(params);
  const uint64_t slen = state.size();
  out.write(reinterpret_cast<const char*>(&slen), sizeof(slen));
  out.write(state.data(), static_cast<std::streamsize>(slen));
}

void ReadDense(const std::string& path, const ModelState& s) {
  const std::vector<ParamRef<float>>& params = *s.params;
  std::ifstream in(path, std::ios::binary);
  SR_CHECK(in.good()) << "cannot open " << path;
  auto read = [&](void* dst, size_t bytes) {
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(bytes));
    SR_CHECK(in.good()) << path << ": truncated";
  };
  uint64_t n = 0;
  read(&n, sizeof(n));
  SR_CHECK(n == params.size()) << path << ": " << n << " dense parameters, the model has " << params.size();
  for (const ParamRef<float>& p : params) {
    uint64_t len = 0, size = 0;
    read(&len, sizeof(len));
    SR_CHECK(len < 4096) << path << ": corrupt parameter name";
    std::string name(len, '\0');
    read(name.data(), len);
    read(&size, sizeof(size));
    SR_CHECK(name == p.name && size == p.size) << path << ": parameter '" << name << "' (" << size
                                               << ") where the model has '" << p.name << "' (" << p.size << ")";
    read(p.value, size * sizeof(float));
  }
  uint64_t slen = 0;
  read(&slen, sizeof(slen));
  SR_CHECK(slen < (1ull << 40)) << path << ": corrupt optimizer state length";
  std::string state(slen, '\0');
  read(state.data(), slen);
  s.optimizer->LoadState(state, params);
}

}  // namespace

std::string SaveModelCheckpoint(Communicator& comm, const std::string& root, const config::ExperimentConfig& cfg,
                                uint64_t step, const ModelState& state, uint32_t keep_last) {
  checkpoint::Manifest m;
  m.set_step(step);
  m.set_samples_seen(step * cfg.train().global_batch_size());
  *m.mutable_config() = cfg;
  *m.mutable_plan() = state.embedding->plan();
  m.set_rng_seed(cfg.train().seed());
  m.set_dense_optimizer_step(step);
  m.set_sparse_optimizer_step(step);
  if (state.scaler != nullptr) {
    m.set_loss_scale(state.scaler->raw_scale());
    m.set_loss_scale_good_steps(state.scaler->good_steps());
    m.set_skipped_steps(state.scaler->skipped_steps());
  }
  CheckpointWriters w;
  w.dense = [&](std::ostream& out) { WriteDense(out, state); };
  w.shards = [&](std::ostream& out) { state.embedding->SaveShards(out); };
  return SaveCheckpoint(comm, root, m, w, keep_last);
}

uint64_t LoadModelCheckpoint(Communicator& comm, const std::string& dir, const ModelState& state) {
  const checkpoint::Manifest m = ReadCheckpointManifest(dir, comm.rank(), comm.size());
  // Rows are stored by logical coordinates, so any plan over the same tables can load them.
  const plan::ShardingPlan& mine = state.embedding->plan();
  SR_CHECK(m.plan().tables_size() == mine.tables_size())
      << dir << ": " << m.plan().tables_size() << " embedding tables, this run has " << mine.tables_size();
  for (int t = 0; t < mine.tables_size(); ++t) {
    const plan::TablePlan &a = m.plan().tables(t), &b = mine.tables(t);
    SR_CHECK(a.name() == b.name() && a.rows() == b.rows() && a.dim() == b.dim())
        << dir << ": table " << t << " is '" << a.name() << "' " << a.rows() << "x" << a.dim() << ", this run's '"
        << b.name() << "' " << b.rows() << "x" << b.dim();
  }
  const bool same_plan = m.plan().SerializeAsString() == mine.SerializeAsString();
  if (!same_plan) {
    LogInfo(Str("resharding: the checkpoint was saved by ", m.world_size(), " rank(s), this run has ", comm.size()));
  }
  if (comm.rank() == 0) ReadDense(dir + "/" + DenseFileName(), state);
  // Every rank needs the dense parameters and optimizer state: broadcast them from rank 0.
  for (const ParamRef<float>& p : *state.params) comm.Broadcast(p.value, p.size * sizeof(float), 0);
  std::string opt = comm.rank() == 0 ? state.optimizer->SaveState(*state.params) : std::string();
  uint64_t slen = opt.size();
  comm.Broadcast(&slen, sizeof(slen), 0);
  opt.resize(slen);
  comm.Broadcast(opt.data(), slen, 0);
  if (comm.rank() != 0) state.optimizer->LoadState(opt, *state.params);
  std::vector<std::string> shard_files;
  if (same_plan) {
    shard_files.push_back(dir + "/" + ShardFileName(comm.rank()));
  } else {
    for (int r = 0; r < m.world_size(); ++r) shard_files.push_back(dir + "/" + ShardFileName(r));
  }
  state.embedding->LoadShards(shard_files);
  if (state.scaler != nullptr && m.has_loss_scale()) {
    state.scaler->Restore(m.loss_scale(), m.loss_scale_good_steps(), m.skipped_steps());
  }
  return m.step();
}

}  // namespace shardrec
