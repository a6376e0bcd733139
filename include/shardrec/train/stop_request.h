// Asynchronous stop requests (preemption). A signal handler may only set a
// flag; the trainer reads it at step boundaries and all ranks agree on it with
// one all-reduce, so every rank stops after the same step.
#pragma once

namespace shardrec {

// Installs handlers for SIGTERM and SIGUSR1 (what Slurm sends before a
// preemption or time limit, e.g. `sbatch --signal=USR1@120`) that request a stop.
void InstallStopSignalHandlers();
// Async-signal-safe: records the signal number.
void RequestStop(int signal_number);
// The signal that requested a stop, 0 if none.
int StopRequested();

// Exit status of a run that stopped for a stop request after writing its
// checkpoint: a batch script turns it into a requeue (EX_TEMPFAIL).
inline constexpr int kExitPreempted = 75;

}  // namespace shardrec
