#include "shardrec/core/log.h"

#include <cstdio>

namespace shardrec {
namespace {
int g_rank = 0;
}

void SetLogRank(int rank) { g_rank = rank; }
int LogRank() { return g_rank; }

void LogInfo(const std::string& msg) {
  if (g_rank == 0) std::fprintf(stderr, "[shardrec] %s\n", msg.c_str());
}

void LogAll(const std::string& msg) { std::fprintf(stderr, "[shardrec rank %d] %s\n", g_rank, msg.c_str()); }

void LogWarn(const std::string& msg) { std::fprintf(stderr, "[shardrec rank %d] warning: %s\n", g_rank, msg.c_str()); }

}  // namespace shardrec
