// Ends a rank that is alive but makes no progress. A rank waiting in a
// collective for a peer that is stopped, deadlocked or stuck on a hung
// filesystem would wait forever (MPI has no timeouts); the launcher only ends
// a job when a process exits. So: the trainer reports progress (Beat) at every
// step, evaluation batch and checkpoint; when no report arrives for
// `timeout_s`, a background thread prints what this rank was doing and since
// when, and exits the process with kExitHung. mpirun / srun then end the whole
// job, as for a rank that died, and the last complete checkpoint stays usable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace shardrec {

inline constexpr int kExitHung = 3;

class Watchdog {
 public:
  // timeout_s <= 0: off (Beat does nothing, no thread).
  Watchdog(double timeout_s, int rank);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Progress: `phase` must be a string literal (it is kept by pointer).
  void Beat(const char* phase, uint64_t step);

 private:
  void Run();

  double timeout_s_;
  int rank_;
  std::atomic<int64_t> last_beat_ns_{0};
  std::atomic<const char*> phase_{"start-up"};
  std::atomic<uint64_t> step_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace shardrec
