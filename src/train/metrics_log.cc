#include "shardrec/train/metrics_log.h"

#include <sys/stat.h>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "shardrec/core/error.h"

namespace shardrec {

MetricsLog::MetricsLog(const std::string& path) : path_(path) {
  if (path.empty()) return;
  for (size_t i = 1; i < path.size(); ++i) {
    if (path[i] == '/') ::mkdir(path.substr(0, i).c_str(), 0755);
  }
  file_ = std::fopen(path.c_str(), "a");
  SR_CHECK(file_ != nullptr) << "cannot open metrics log " << path << ": " << std::strerror(errno);
}

MetricsLog::~MetricsLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsLog::Write(const std::string& event, const std::vector<std::pair<std::string, double>>& values) {
  if (file_ == nullptr) return;
  std::fprintf(file_, "{\"event\": \"%s\"", event.c_str());
  for (const auto& [key, v] : values) {
    if (std::isfinite(v)) {
      std::fprintf(file_, ", \"%s\": %.9g", key.c_str(), v);
    } else {
      std::fprintf(file_, ", \"%s\": null", key.c_str());  // JSON has no NaN
    }
  }
  std::fprintf(file_, "}\n");
  std::fflush(file_);
}

}  // namespace shardrec
