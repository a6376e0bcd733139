#include "shardrec/train/run_setup.h"

#include <omp.h>
#include <sys/resource.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "shardrec/core/log.h"

namespace shardrec {

std::string JoinPath(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return dir.empty() ? path : dir + "/" + path;
}

std::string FormatDuration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

size_t PeakRssBytes() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<size_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

int ConfigureThreads(const config::TrainConfig& tc, const Communicator& comm) {
  // omp_get_num_procs() counts the CPUs this process may run on (its affinity
  // mask); the node's count tells whether a launcher pinned us to fewer.
  const int usable = omp_get_num_procs();
  const int node_cpus = static_cast<int>(std::thread::hardware_concurrency());
  const int share = node_cpus / std::max(1, comm.local_size());
  int threads = static_cast<int>(tc.threads());
  if (threads == 0) threads = std::max(1, std::min(usable, share));
  if (usable < share) {
    LogWarn(Str("this rank may use ", usable, " of the node's ", node_cpus, " CPUs (the launcher bound it); with ",
                comm.local_size(), " rank(s) per node, pass `--bind-to none` to mpirun to use them all"));
  }
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
  return threads;
}

}  // namespace shardrec
