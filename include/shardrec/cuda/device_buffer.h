// An owned array in device memory (cudaMalloc / cudaFree), with copies to and
// from host vectors. Move-only.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "shardrec/core/error.h"
#include "shardrec/cuda/device.h"

namespace shardrec::cuda {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : n_(n) {
    if (n > 0) SR_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)));
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { CopyFrom(host); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (p_ != nullptr) cudaFree(p_);  // no throw from a destructor; a failed free leaks
  }

  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }

  // Synchronous copies of the whole buffer (host.size() must equal size()).
  void CopyFrom(const std::vector<T>& host) {
    SR_CHECK(host.size() == n_) << "copying " << host.size() << " values into a device buffer of " << n_;
    if (n_ > 0) SR_CUDA_CHECK(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> ToHost() const {
    std::vector<T> host(n_);
    if (n_ > 0) SR_CUDA_CHECK(cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace shardrec::cuda
