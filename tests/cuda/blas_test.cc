// cuBLAS products with core Gemm's row-major meaning: every transpose
// combination, leading dimensions wider than the matrices, and beta, against
// the CPU product (fp32; the two differ only in accumulation order).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cuda_test_util.h"
#include "shardrec/core/gemm.h"
#include "shardrec/cuda/blas.h"
#include "shardrec/cuda/device_buffer.h"

namespace shardrec::cuda {
namespace {

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

TEST(CudaBlas, GemmMatchesCpuRowMajor) {
  SHARDREC_REQUIRE_GPU();
  Blas blas;
  const int64_t m = 37, n = 29, k = 53, pad = 3;
  for (Trans ta : {Trans::kNo, Trans::kYes}) {
    for (Trans tb : {Trans::kNo, Trans::kYes}) {
      for (float beta : {0.0f, 0.5f}) {
        SCOPED_TRACE(::testing::Message()
                     << "ta " << (ta == Trans::kYes) << " tb " << (tb == Trans::kYes) << " beta " << beta);
        const int64_t a_rows = ta == Trans::kNo ? m : k, a_cols = ta == Trans::kNo ? k : m;
        const int64_t b_rows = tb == Trans::kNo ? k : n, b_cols = tb == Trans::kNo ? n : k;
        const int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
        const std::vector<float> a = Random(a_rows * lda, 1), b = Random(b_rows * ldb, 2);
        std::vector<float> want = Random(m * ldc, 3);
        DeviceBuffer<float> da(a), db(b), dc(want);
        blas.Gemm(ta, tb, m, n, k, 1.5f, da.data(), lda, db.data(), ldb, beta, dc.data(), ldc, nullptr);
        Gemm(ComputeType::kFp32, ta, tb, m, n, k, 1.5f, a.data(), lda, b.data(), ldb, beta, want.data(), ldc);
        const std::vector<float> got = dc.ToHost();
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < ldc; ++j) {
            // Padding columns are not touched; products agree to fp32 rounding of a k-term sum.
            ASSERT_NEAR(got[i * ldc + j], want[i * ldc + j], 1e-4f) << "C(" << i << ", " << j << ")";
          }
        }
      }
    }
  }
}

TEST(CudaBlas, BadLeadingDimensionIsAnError) {
  SHARDREC_REQUIRE_GPU();
  Blas blas;
  EXPECT_THROW(blas.Gemm(Trans::kNo, Trans::kNo, 4, 4, 4, 1.0f, nullptr, 3, nullptr, 4, 0.0f, nullptr, 4, nullptr),
               Error);
}

}  // namespace
}  // namespace shardrec::cuda
