#include "shardrec/cuda/blas.h"

#include <cublas_v2.h>

#include <climits>
#include <string>

#include "shardrec/core/error.h"

namespace shardrec::cuda {
namespace {

void CheckCublas(cublasStatus_t s, const char* call) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  throw Error(std::string("cuBLAS call ") + call + " failed: " + cublasGetStatusName(s) + " (" +
              cublasGetStatusString(s) + ")");
}
#define SR_CUBLAS_CHECK(call) CheckCublas((call), #call)

int ToInt(int64_t v, const char* what) {
  SR_CHECK(v >= 0 && v <= INT_MAX) << what << " " << v << " does not fit cuBLAS's 32-bit sizes";
  return static_cast<int>(v);
}

}  // namespace

Blas::Blas() {
  SR_CUBLAS_CHECK(cublasCreate(&handle_));
  // Plain fp32 products: no TF32 tensor-core rounding of the operands.
  SR_CUBLAS_CHECK(cublasSetMathMode(handle_, CUBLAS_PEDANTIC_MATH));
}

Blas::~Blas() {
  if (handle_ != nullptr) cublasDestroy(handle_);
}

void Blas::Gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc, cudaStream_t stream) {
  // Stored rows of each operand, and the leading dimensions they need.
  const int64_t a_cols = trans_a == Trans::kNo ? k : m, b_cols = trans_b == Trans::kNo ? n : k;
  SR_CHECK(lda >= a_cols && ldb >= b_cols && ldc >= n) << "leading dimensions " << lda << ", " << ldb << ", " << ldc
                                                       << " for a " << m << "x" << n << "x" << k << " product";
  if (m == 0 || n == 0) return;
  SR_CUBLAS_CHECK(cublasSetStream(handle_, stream));
  // A row-major matrix is its transpose in column-major order, so row-major
  // C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  const cublasOperation_t ta = trans_a == Trans::kNo ? CUBLAS_OP_N : CUBLAS_OP_T;
  const cublasOperation_t tb = trans_b == Trans::kNo ? CUBLAS_OP_N : CUBLAS_OP_T;
  SR_CUBLAS_CHECK(cublasSgemm(handle_, tb, ta, ToInt(n, "n"), ToInt(m, "m"), ToInt(k, "k"), &alpha, b,
                              ToInt(ldb, "ldb"), a, ToInt(lda, "lda"), &beta, c, ToInt(ldc, "ldc")));
}

}  // namespace shardrec::cuda
