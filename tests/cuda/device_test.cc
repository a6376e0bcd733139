// Device selection and CUDA errors. These run on every machine: without a GPU
// the answer must be a clear error, with one a usable device.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <string>

#include "cuda_test_util.h"
#include "shardrec/cuda/device.h"
#include "test_util.h"

namespace shardrec::cuda {
namespace {

TEST(CudaDevice, NoGpuIsAClearError) {
  std::string why;
  if (DeviceCount(&why) > 0) GTEST_SKIP() << "this machine has a GPU; CudaDevice.PicksADevice covers it";
  EXPECT_FALSE(why.empty());
  const std::string msg = testing::ErrorOf([] { UseDevice(0); });
  EXPECT_NE(msg.find("no CUDA device visible"), std::string::npos) << msg;
  EXPECT_NE(msg.find(why), std::string::npos) << "the runtime's reason is passed on: " << msg;
}

TEST(CudaDevice, PicksADevice) {
  SHARDREC_REQUIRE_GPU();
  const int n = DeviceCount();
  // Local rank r takes GPU r mod n.
  EXPECT_EQ(UseDevice(n + 1), 1 % n);
  int current = -1;
  ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
  EXPECT_EQ(current, 1 % n);
  EXPECT_NE(DeviceName(current).find("sm_"), std::string::npos) << DeviceName(current);
}

TEST(CudaDevice, FailedCallNamesCallAndPlace) {
  // Fails the same way with or without a GPU: a null output pointer.
  const std::string msg = testing::ErrorOf([] { SR_CUDA_CHECK(cudaGetDeviceCount(nullptr)); });
  EXPECT_NE(msg.find("cudaGetDeviceCount(nullptr)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("device_test.cc:"), std::string::npos) << msg;
}

TEST(CudaDevice, NegativeLocalRankIsRefused) {
  SHARDREC_REQUIRE_GPU();
  const std::string msg = testing::ErrorOf([] { UseDevice(-1); });
  EXPECT_NE(msg.find("local rank -1"), std::string::npos) << msg;
}

}  // namespace
}  // namespace shardrec::cuda
