// Matrix products of the dense and transformer blocks in a chosen compute type:
//   C = act(alpha * op(A) * op(B) + beta * C + bias)   row-major float, op(X) = X or X^T
// The bias row and the activation (the epilogue) are optional; where the
// backend can, they are applied while the product's tile is still in registers
// instead of in further passes over C. Reduced types round the operands (fp32
// master copies, converted per call) and accumulate in fp32; C is fp32.
//   kFp32  oneDNN's fp32 matmul (its AVX-512/AVX2 brgemm and jit kernels) where
//          oneDNN is built in (SHARDREC_DNNL) and has a real kernel for this
//          CPU; otherwise Eigen's product (OpenBLAS behind it with
//          SHARDREC_BLAS), bit for bit what `c.noalias() = a * b` gives. The two
//          differ only in the order of fp32 accumulation. Measured on the DLRM
//          shapes, oneDNN runs at ~2x OpenBLAS 0.3.21 (docs/performance.md).
//   kBf16  oneDNN's bf16 matmul (AVX512-BF16 / AMX kernels). Where oneDNN was
//          not built in (SHARDREC_DNNL=OFF), has no bf16 kernel for this CPU,
//          or would only emulate bf16 (no AVX512-BF16: slower than fp32), the
//          operands are rounded to bf16 and multiplied in fp32: the same
//          numbers up to the order of the fp32 accumulation (logged once).
//   kFp16  operands rounded to fp16 (Eigen::half), multiplied in fp32: x86 CPUs
//          without AVX512-FP16 have no fp16 arithmetic, so rounding is all the
//          type changes (numerics, not speed). |x| > 65504 rounds to inf.
// Products are deterministic for a given shape, backend and thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "shardrec/core/matrix.h"

namespace shardrec {

// Mirrors config::DType of precision.compute; core does not depend on the proto.
enum class ComputeType { kFp32, kBf16, kFp16 };
const char* ComputeTypeName(ComputeType type);  // "fp32", "bf16", "fp16"

enum class Trans { kNo, kYes };

// Options of one product. The epilogue, applied to each element of C after the
// product and the beta term: c += bias[column], then the activation (default:
// nothing). rows_vary says that A's stored rows are a count that changes from
// call to call at this call site (the tokens of jagged batches: M of x W and
// dy W^T, K of x^T dy); the product is then planned once for any count instead
// of once per count. Like the shape, it may change the order of the fp32
// accumulation, so a call site must pass it the same way every time.
template <typename T>
struct GemmOptions {
  const T* bias = nullptr;  // n values, or null
  bool relu = false;        // c = max(c, 0), after the bias
  bool rows_vary = false;

  static GemmOptions VaryingRows() {
    GemmOptions o;
    o.rows_vary = true;
    return o;
  }
};

// op(A): m x k, op(B): k x n, C: m x n, each stored row-major with the given
// leading dimension (row stride, >= its stored column count). With beta == 0, C
// is only written (it may hold garbage, NaN included). C must not overlap A, B
// or the bias. Throws shardrec::Error on bad shapes or leading dimensions.
void Gemm(ComputeType type, Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
          const GemmOptions<float>& options = {});

// Whole-matrix form used by the layers: *c = act(op(a) op(b) + beta * *c + bias).
// With beta == 0, *c is resized; otherwise it must already be m x n.
void MatMul(ComputeType type, const Mat<float>& a, Trans trans_a, const Mat<float>& b, Trans trans_b, Mat<float>* c,
            float beta = 0.0f, const GemmOptions<float>& options = {});
// Double layers (gradient checks, references) always compute in double, with
// Eigen: any type but kFp32 is refused.
void MatMul(ComputeType type, const Mat<double>& a, Trans trans_a, const Mat<double>& b, Trans trans_b, Mat<double>* c,
            double beta = 0.0, const GemmOptions<double>& options = {});

// The epilogue of `options` as a separate pass over an m x n block with row
// stride ldc: what backends without a fused epilogue run after the product.
template <typename T>
void ApplyEpilogue(int64_t m, int64_t n, T* c, int64_t ldc, const GemmOptions<T>& options);

// How products of `type` run in this process: "oneDNN", or the fallback and
// why ("Eigen/OpenBLAS (...)", "round-operands fallback (...)").
std::string GemmBackend(ComputeType type);
// Tests and benchmarks: run every product on its fallback (Eigen for fp32, the
// rounded operands for bf16) even where oneDNN could run it (process-wide; not
// for use while products run).
void ForceGemmFallback(bool on);
// oneDNN matmul primitives held by the cache (0 without oneDNN).
size_t GemmCachedPrimitives();

}  // namespace shardrec
