#include "shardrec/train/stop_request.h"

#include <csignal>

namespace shardrec {
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void OnStopSignal(int signal_number) { g_stop_signal = signal_number; }
}  // namespace

void InstallStopSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a blocking read in the data pipeline just resumes
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

void RequestStop(int signal_number) { g_stop_signal = signal_number; }

int StopRequested() { return g_stop_signal; }

}  // namespace shardrec
