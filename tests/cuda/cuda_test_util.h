// Shared by the CUDA tests: skip with the runtime's reason where no GPU is
// visible (every machine that builds this project in CI), run where one is.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "shardrec/cuda/device.h"

#define SHARDREC_REQUIRE_GPU()                                                                       \
  do {                                                                                               \
    std::string sr_why_;                                                                             \
    if (::shardrec::cuda::DeviceCount(&sr_why_) == 0) GTEST_SKIP() << "no CUDA device: " << sr_why_; \
    ::shardrec::cuda::UseDevice(0);                                                                  \
  } while (0)
