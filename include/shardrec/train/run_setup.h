// Small pieces every trainer's start-up and logging share.
#pragma once

#include <cstddef>
#include <string>

#include "config.pb.h"
#include "shardrec/comm/communicator.h"

namespace shardrec {

// dir/path, or path unchanged when it is absolute (or dir is empty).
std::string JoinPath(const std::string& dir, const std::string& path);

// h:mm:ss
std::string FormatDuration(double seconds);

// The process's peak resident set size so far (getrusage), bytes.
size_t PeakRssBytes();

// Sets the OpenMP and Eigen thread counts: train.threads, else this node's
// cores shared among its ranks; warns when the launcher bound the rank to
// fewer CPUs than its share. Returns the count.
int ConfigureThreads(const config::TrainConfig& tc, const Communicator& comm);

}  // namespace shardrec
