// The CUDA devices a rank can use, and CUDA errors as shardrec::Error. Only in a
// build configured with -DSHARDREC_WITH_CUDA=ON. A machine without a GPU (or
// without the NVIDIA driver) is a clear error here, never a crash later.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

namespace shardrec::cuda {

// Devices visible to this process. 0 when there is no GPU or no usable driver;
// then *why (if given) gets the runtime's own words for it.
int DeviceCount(std::string* why = nullptr);

// Makes device (local_rank mod DeviceCount()) current on the calling thread
// and returns its index: with one GPU per rank, local rank r gets GPU r.
// Throws Error saying why when there is no device.
int UseDevice(int local_rank);

// "NVIDIA H200 (sm_90, 139.8 GiB)": for start-up logs.
std::string DeviceName(int device);

// Throws Error naming the call, file:line and the runtime's message when
// `status` is not cudaSuccess (through SR_CUDA_CHECK).
void CheckStatus(cudaError_t status, const char* call, const char* file, int line);

}  // namespace shardrec::cuda

#define SR_CUDA_CHECK(call) ::shardrec::cuda::CheckStatus((call), #call, __FILE__, __LINE__)
