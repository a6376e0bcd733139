#include "shardrec/cuda/device.h"

#include <cstdio>

#include "shardrec/core/error.h"

namespace shardrec::cuda {

void CheckStatus(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  // Clear the sticky "last error" so a caller that handles this one starts clean.
  cudaGetLastError();
  throw Error(std::string(file) + ":" + std::to_string(line) + ": CUDA call " + call +
              " failed: " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

int DeviceCount(std::string* why) {
  int n = 0;
  const cudaError_t status = cudaGetDeviceCount(&n);
  if (status != cudaSuccess) {
    cudaGetLastError();
    if (why != nullptr) *why = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
    return 0;
  }
  if (n == 0 && why != nullptr) *why = "the CUDA runtime reports 0 devices";
  return n;
}

int UseDevice(int local_rank) {
  std::string why;
  const int n = DeviceCount(&why);
  if (n == 0) {
    throw Error("no CUDA device visible to this process (" + why +
                "); this needs a GPU and the NVIDIA driver (check nvidia-smi and CUDA_VISIBLE_DEVICES)");
  }
  SR_CHECK(local_rank >= 0) << "local rank " << local_rank;
  const int device = local_rank % n;
  SR_CUDA_CHECK(cudaSetDevice(device));
  return device;
}

std::string DeviceName(int device) {
  cudaDeviceProp prop{};
  SR_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  char text[320];
  std::snprintf(text, sizeof text, "%s (sm_%d%d, %.1f GiB)", prop.name, prop.major, prop.minor,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return text;
}

}  // namespace shardrec::cuda
