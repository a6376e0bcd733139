// Sharded checkpoints. A checkpoint is a directory
//   <root>/step_<NNNNNNNNNN>/manifest.pb      protobuf Manifest (config, plan, step, files + CRC32)
//                            manifest.txt     the same in text form, for people
//                            dense.bin        rank 0: dense parameters + dense optimizer state
//                            embedding_rank<R>.bin   each rank: its embedding shards + optimizer state
// Writes go to step_<N>.tmp first; every file is fsync'ed, then rank 0 writes
// the manifest and renames the directory into place, so a crash mid-save
// never leaves a directory that looks complete, and never touches older ones.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "checkpoint.pb.h"
#include "shardrec/comm/communicator.h"

namespace shardrec {

struct CheckpointWriters {
  std::function<void(std::ostream&)> dense;   // called on rank 0 only
  std::function<void(std::ostream&)> shards;  // called on every rank
};

// Collective. Writes step `manifest.step()` under `root`, keeps the newest
// `keep_last` complete checkpoints, and returns the final directory.
std::string SaveCheckpoint(Communicator& comm, const std::string& root, checkpoint::Manifest manifest,
                           const CheckpointWriters& writers, uint32_t keep_last);

// The newest complete checkpoint directory under root (one with a manifest), if any.
std::optional<std::string> FindLatestCheckpoint(const std::string& root);

// Reads and checks a checkpoint's manifest and the files this rank of a job
// of `world` ranks will read (sizes and CRC32): its own files when the
// checkpoint was saved with as many ranks, else all. Throws shardrec::Error
// naming the file and the problem.
checkpoint::Manifest ReadCheckpointManifest(const std::string& dir, int rank, int world);

std::string DenseFileName();
std::string ShardFileName(int rank);

}  // namespace shardrec
