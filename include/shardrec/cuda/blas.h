// Matrix products on the device through cuBLAS, with the row-major meaning of
// core's Gemm: C = alpha * op(A) * op(B) + beta * C, each matrix row-major with
// its leading dimension (row stride). fp32 in, fp32 accumulate (no TF32), so
// results agree with the CPU product up to the order of accumulation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "shardrec/core/gemm.h"

struct cublasContext;

namespace shardrec::cuda {

class Blas {
 public:
  // A cuBLAS handle on the current device (cuda::UseDevice first).
  Blas();
  ~Blas();
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;

  // op(A): m x k, op(B): k x n, C: m x n, device pointers. Queued on `stream`.
  void Gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc, cudaStream_t stream);

 private:
  cublasContext* handle_ = nullptr;
};

}  // namespace shardrec::cuda
