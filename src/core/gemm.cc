#include "shardrec/core/gemm.h"

#include <atomic>
#include <mutex>
#include <vector>

#include "operand_rounding.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#ifdef SHARDREC_HAVE_DNNL
#include "dnnl_gemm.h"
#endif

namespace shardrec {
namespace {

std::atomic<bool> g_force_fallback{false};

// *c = op(a) op(b) + beta *c as one Eigen expression per case, written as the
// layers wrote theirs, so the fp32 path evaluates the same product kernels
// (OpenBLAS or Eigen's own, by size) and gives the same bits.
template <typename Dst, typename A, typename B, typename S>
void EigenProduct(const A& a, Trans ta, const B& b, Trans tb, S alpha, S beta, Dst& c) {
  auto run = [&](const auto& lhs, const auto& rhs) {
    if (beta == S(0)) {
      if (alpha == S(1)) {
        c.noalias() = lhs * rhs;
      } else {
        c.noalias() = alpha * lhs * rhs;
      }
      return;
    }
    if (beta != S(1)) c *= beta;
    if (alpha == S(1)) {
      c.noalias() += lhs * rhs;
    } else {
      c.noalias() += alpha * lhs * rhs;
    }
  };
  if (ta == Trans::kNo && tb == Trans::kNo) {
    run(a, b);
  } else if (ta == Trans::kNo) {
    run(a, b.transpose());
  } else if (tb == Trans::kNo) {
    run(a.transpose(), b);
  } else {
    run(a.transpose(), b.transpose());
  }
}

using ConstStrided = Eigen::Map<const Mat<float>, Eigen::Unaligned, Eigen::OuterStride<>>;
using Strided = Eigen::Map<Mat<float>, Eigen::Unaligned, Eigen::OuterStride<>>;

// Rounds both operands (as stored) to `type` and multiplies them in fp32: the
// numerics of a 16-bit-operand GEMM with fp32 accumulation, on any CPU.
void RoundedOperandsGemm(ComputeType type, Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const int64_t a_rows = ta == Trans::kYes ? k : m, a_cols = ta == Trans::kYes ? m : k;
  const int64_t b_rows = tb == Trans::kYes ? n : k, b_cols = tb == Trans::kYes ? k : n;
  thread_local Mat<float> a_round, b_round;  // reused: see DnnlGemm's buffers
  a_round.resize(a_rows, a_cols);
  b_round.resize(b_rows, b_cols);
  gemm_detail::RoundThrough(type, a, a_rows, a_cols, lda, a_round.data());
  gemm_detail::RoundThrough(type, b, b_rows, b_cols, ldb, b_round.data());
  Strided cm(c, m, n, Eigen::OuterStride<>(ldc));
  EigenProduct(a_round, ta, b_round, tb, alpha, beta, cm);
}

// Eigen's product (OpenBLAS for large sizes); the epilogue is the caller's.
void EigenGemm(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const int64_t a_rows = ta == Trans::kYes ? k : m, a_cols = ta == Trans::kYes ? m : k;
  const int64_t b_rows = tb == Trans::kYes ? n : k, b_cols = tb == Trans::kYes ? k : n;
  ConstStrided am(a, a_rows, a_cols, Eigen::OuterStride<>(lda));
  ConstStrided bm(b, b_rows, b_cols, Eigen::OuterStride<>(ldb));
  Strided cm(c, m, n, Eigen::OuterStride<>(ldc));
  EigenProduct(am, ta, bm, tb, alpha, beta, cm);
}

// Runs the product on oneDNN where it can (fp32 or bf16), else on `fallback`
// (logged once per type, with the reason), then the epilogue as a pass where
// oneDNN did not fuse it.
template <typename Fallback>
void RunProduct(ComputeType type, Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                const GemmOptions<float>& options, Fallback fallback) {
  if (!g_force_fallback.load(std::memory_order_relaxed)) {
    std::string why_not = "built without oneDNN (SHARDREC_DNNL=OFF)";
#ifdef SHARDREC_HAVE_DNNL
    // oneDNN applies its output scale before or after the bias depending on the
    // version; with alpha != 1 the bias runs as a pass instead.
    const bool fuse = alpha == 1.0f || options.bias == nullptr;
    const GemmOptions<float> fused = fuse ? options : GemmOptions<float>{nullptr, false, options.rows_vary};
    if (gemm_detail::DnnlGemm(type, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, fused, &why_not)) {
      if (!fuse) ApplyEpilogue(m, n, c, ldc, options);
      return;
    }
#endif
    static std::once_flag logged[2];
    std::call_once(logged[type == ComputeType::kBf16], [&] {
      if (type == ComputeType::kBf16) {
        LogWarn(
            Str("bf16 matrix products round their operands to bf16 and multiply in fp32 (same numbers, fp32 "
                "speed): ",
                why_not));
      } else {
        LogInfo(Str("fp32 matrix products run on Eigen/OpenBLAS: ", why_not));
      }
    });
  }
  fallback();
  ApplyEpilogue(m, n, c, ldc, options);
}

void CheckOperand(const char* name, Trans t, int64_t rows, int64_t cols, const float* p, int64_t ld) {
  // Stored shape: op(X) = X^T is kept as cols x rows.
  const int64_t stored_cols = t == Trans::kYes ? rows : cols;
  if (rows == 0 || cols == 0) return;  // never read or written
  SR_CHECK(p != nullptr) << "gemm: " << name << " is null";
  SR_CHECK(ld >= stored_cols) << "gemm: leading dimension of " << name << " is " << ld << ", below its " << stored_cols
                              << " stored columns";
}

}  // namespace

const char* ComputeTypeName(ComputeType type) {
  switch (type) {
    case ComputeType::kFp32: return "fp32";
    case ComputeType::kBf16: return "bf16";
    case ComputeType::kFp16: return "fp16";
  }
  return "unknown";
}

template <typename T>
void ApplyEpilogue(int64_t m, int64_t n, T* c, int64_t ldc, const GemmOptions<T>& options) {
  if (options.bias == nullptr && !options.relu) return;
  // One pass, row by row; the inner loops vectorise.
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (options.bias != nullptr) {
      for (int64_t j = 0; j < n; ++j) row[j] += options.bias[j];
    }
    if (options.relu) {
      for (int64_t j = 0; j < n; ++j) row[j] = row[j] > T(0) ? row[j] : T(0);
    }
  }
}
template void ApplyEpilogue(int64_t, int64_t, float*, int64_t, const GemmOptions<float>&);
template void ApplyEpilogue(int64_t, int64_t, double*, int64_t, const GemmOptions<double>&);

void Gemm(ComputeType type, Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
          const GemmOptions<float>& options) {
  SR_CHECK(m >= 0 && n >= 0 && k >= 0) << "gemm: negative size " << m << "x" << k << " * " << k << "x" << n;
  CheckOperand("A", trans_a, m, k, a, lda);
  CheckOperand("B", trans_b, k, n, b, ldb);
  CheckOperand("C", Trans::kNo, m, n, c, ldc);
  if (m == 0 || n == 0) return;
  if (k == 0) {  // op(A) op(B) is all zeros
    Strided cm(c, m, n, Eigen::OuterStride<>(ldc));
    if (beta == 0.0f) {
      cm.setZero();
    } else {
      cm *= beta;
    }
    ApplyEpilogue(m, n, c, ldc, options);
    return;
  }
  switch (type) {
    case ComputeType::kFp32:
      RunProduct(type, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, options,
                 [&] { EigenGemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); });
      return;
    case ComputeType::kBf16:
      RunProduct(type, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, options, [&] {
        RoundedOperandsGemm(ComputeType::kBf16, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      });
      return;
    case ComputeType::kFp16:
      RoundedOperandsGemm(ComputeType::kFp16, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      ApplyEpilogue(m, n, c, ldc, options);
      return;
  }
  SR_THROW() << "gemm: unknown compute type " << static_cast<int>(type);
}

namespace {
template <typename T>
void CheckMatMulShapes(const Mat<T>& a, Trans ta, const Mat<T>& b, Trans tb, const Mat<T>* c, T beta, int64_t* m,
                       int64_t* n, int64_t* k) {
  *m = ta == Trans::kYes ? a.cols() : a.rows();
  *k = ta == Trans::kYes ? a.rows() : a.cols();
  const int64_t kb = tb == Trans::kYes ? b.cols() : b.rows();
  *n = tb == Trans::kYes ? b.rows() : b.cols();
  SR_CHECK(*k == kb) << "matmul: op(A) is " << *m << "x" << *k << " but op(B) is " << kb << "x" << *n;
  SR_CHECK(c != &a && c != &b) << "matmul: the output may not be an operand";
  SR_CHECK(beta == T(0) || (c->rows() == *m && c->cols() == *n))
      << "matmul: accumulating into a " << c->rows() << "x" << c->cols() << " output, expected " << *m << "x" << *n;
}
}  // namespace

void MatMul(ComputeType type, const Mat<float>& a, Trans trans_a, const Mat<float>& b, Trans trans_b, Mat<float>* c,
            float beta, const GemmOptions<float>& options) {
  int64_t m, n, k;
  CheckMatMulShapes(a, trans_a, b, trans_b, c, beta, &m, &n, &k);
  if (beta == 0.0f) c->resize(m, n);
  Gemm(type, trans_a, trans_b, m, n, k, 1.0f, a.data(), a.cols(), b.data(), b.cols(), beta, c->data(), n, options);
}

void MatMul(ComputeType type, const Mat<double>& a, Trans trans_a, const Mat<double>& b, Trans trans_b, Mat<double>* c,
            double beta, const GemmOptions<double>& options) {
  SR_CHECK(type == ComputeType::kFp32) << "matmul: double matrices compute in double; compute type "
                                       << ComputeTypeName(type) << " applies to float layers only";
  int64_t m, n, k;
  CheckMatMulShapes(a, trans_a, b, trans_b, c, beta, &m, &n, &k);
  EigenProduct(a, trans_a, b, trans_b, 1.0, beta, *c);
  ApplyEpilogue(m, n, c->data(), n, options);
}

std::string GemmBackend(ComputeType type) {
  if (type == ComputeType::kFp16) return "operands rounded to fp16, fp32 multiply";
  const bool bf16 = type == ComputeType::kBf16;
  const std::string fallback = bf16 ? "round-operands fallback" : "Eigen/OpenBLAS";
  if (g_force_fallback.load()) return fallback + " (forced)";
#ifdef SHARDREC_HAVE_DNNL
  // Probe with a small product; the answer is a property of the CPU.
  auto probe = [&] {
    constexpr int64_t kN = 64;
    std::vector<float> a(kN * kN, 1.0f), b(kN * kN, 1.0f), c(kN * kN);
    std::string why_not;
    if (gemm_detail::DnnlGemm(type, Trans::kNo, Trans::kNo, kN, kN, kN, 1.0f, a.data(), kN, b.data(), kN, 0.0f,
                              c.data(), kN, {}, &why_not)) {
      return std::string("oneDNN");
    }
    return fallback + " (" + why_not + ")";
  };
  return probe();
#else
  return fallback + " (built without oneDNN: SHARDREC_DNNL=OFF)";
#endif
}

void ForceGemmFallback(bool on) { g_force_fallback.store(on); }

size_t GemmCachedPrimitives() {
#ifdef SHARDREC_HAVE_DNNL
  return gemm_detail::DnnlCachedPrimitives();
#else
  return 0;
#endif
}

}  // namespace shardrec
