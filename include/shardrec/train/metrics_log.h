// Machine-readable metrics: one JSON object per line, appended (rank 0 only).
#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace shardrec {

class MetricsLog {
 public:
  // Opens `path` for appending (creating parent directories); empty path = disabled.
  explicit MetricsLog(const std::string& path);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Writes {"event": event, k: v, ...} and flushes, so a killed run keeps its log.
  void Write(const std::string& event, const std::vector<std::pair<std::string, double>>& values);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace shardrec
