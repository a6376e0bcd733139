// Helpers shared by tests.
#pragma once

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <cstdlib>
#include <string>

#include "shardrec/core/error.h"

namespace shardrec::testing {

// ../shared/data (or $SHARDREC_DATA_DIR), or "" when absent.
inline std::string DataDir() {
  if (const char* env = std::getenv("SHARDREC_DATA_DIR")) return env;
  struct stat st;
  if (stat(SHARDREC_TEST_DATA_DIR, &st) == 0) return SHARDREC_TEST_DATA_DIR;
  return "";
}

inline std::string SourceDir() { return SHARDREC_SOURCE_DIR; }

// The message of the shardrec::Error that fn throws; a test failure (and "")
// when it throws none.
template <typename F>
std::string ErrorOf(F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a shardrec::Error";
  return "";
}

}  // namespace shardrec::testing

// Skips the test with a visible reason when the public datasets are absent.
#define SHARDREC_REQUIRE_DATA(relpath)                                               \
  do {                                                                               \
    std::string sr_dir_ = ::shardrec::testing::DataDir();                            \
    struct stat sr_st_;                                                              \
    if (sr_dir_.empty() || stat((sr_dir_ + "/" + relpath).c_str(), &sr_st_) != 0)    \
      GTEST_SKIP() << "dataset " << relpath << " not found under '" << sr_dir_       \
                   << "' (set SHARDREC_DATA_DIR to the folder holding shared/data)"; \
  } while (0)
