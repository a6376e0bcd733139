#include "shardrec/train/watchdog.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace shardrec {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Watchdog::Watchdog(double timeout_s, int rank) : timeout_s_(timeout_s), rank_(rank) {
  last_beat_ns_ = NowNs();
  if (timeout_s_ > 0) thread_ = std::thread([this] { Run(); });
}

Watchdog::~Watchdog() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Watchdog::Beat(const char* phase, uint64_t step) {
  if (timeout_s_ <= 0) return;
  phase_.store(phase, std::memory_order_relaxed);
  step_.store(step, std::memory_order_relaxed);
  last_beat_ns_.store(NowNs(), std::memory_order_release);
}

void Watchdog::Run() {
  // Check a few times per timeout, at most once a second.
  const auto period = std::chrono::duration<double>(std::min(1.0, timeout_s_ / 4));
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
    const double idle = (NowNs() - last_beat_ns_.load(std::memory_order_acquire)) * 1e-9;
    if (idle < timeout_s_) continue;
    std::fprintf(stderr,
                 "shardrec-train: error: rank %d made no progress for %.0f s (train.hang_timeout_s %.0f), last in "
                 "%s at step %llu: a peer rank is probably stopped or stuck; exiting (status %d) so the launcher ends "
                 "the job instead of letting it hang. The last complete checkpoint can be resumed.\n",
                 rank_, idle, timeout_s_, phase_.load(), static_cast<unsigned long long>(step_.load()), kExitHung);
    std::fflush(stderr);
    // _Exit: no destructors (another thread is blocked inside MPI), no atexit.
    std::_Exit(kExitHung);
  }
}

}  // namespace shardrec
