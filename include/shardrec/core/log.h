// Minimal rank-aware logging to stderr. Rank 0 speaks for the job unless a
// message is per-rank (LogAll).
#pragma once

#include <sstream>
#include <string>

namespace shardrec {

void SetLogRank(int rank);
int LogRank();

// Prints "[shardrec] msg" on rank 0 only.
void LogInfo(const std::string& msg);
// Prints "[shardrec rank r] msg" on every rank.
void LogAll(const std::string& msg);
void LogWarn(const std::string& msg);

// Formats anything streamable: Str("a=", 1, " b=", 2.5).
template <typename... Args>
std::string Str(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}

}  // namespace shardrec
