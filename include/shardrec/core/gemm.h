// Matrix products of the dense and transformer blocks in a chosen compute type:
//   C = alpha * op(A) * op(B) + beta * C        row-major float, op(X) = X or X^T
// Reduced types round the operands (fp32 master copies, converted per call)
// and accumulate in fp32; C is fp32.
//   kFp32  Eigen's product (OpenBLAS behind it with SHARDREC_BLAS), bit for bit
//          what `c.noalias() = a * b` gives.
//   kBf16  oneDNN's bf16 matmul (AVX512-BF16 / AMX kernels). Where oneDNN was
//          not built in (SHARDREC_DNNL=OFF), has no bf16 kernel for this CPU,
//          or would only emulate bf16 (no AVX512-BF16: slower than fp32), the
//          operands are rounded to bf16 and multiplied in fp32: the same
//          numbers up to the order of the fp32 accumulation (logged once).
//   kFp16  operands rounded to fp16 (Eigen::half), multiplied in fp32: x86 CPUs
//          without AVX512-FP16 have no fp16 arithmetic, so rounding is all the
//          type changes (numerics, not speed). |x| > 65504 rounds to inf.
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

// op(A): m x k, op(B): k x n, C: m x n, each stored row-major with the given
// leading dimension (row stride, >= its stored column count). With beta == 0, C
// is only written (it may hold garbage, NaN included). C must not overlap A or B.
// Throws shardrec::Error on bad shapes or leading dimensions.
void Gemm(ComputeType type, Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Whole-matrix form used by the layers: *c = op(a) op(b) + beta * *c. With
// beta == 0, *c is resized; otherwise it must already be m x n. For kFp32 this
// evaluates exactly the Eigen expression the layers used before compute types
// existed (`c->noalias() = a * b.transpose()` and so on).
void MatMul(ComputeType type, const Mat<float>& a, Trans trans_a, const Mat<float>& b, Trans trans_b, Mat<float>* c,
            float beta = 0.0f);
// Double layers (gradient checks, references) always compute in double: any
// type but kFp32 is refused.
void MatMul(ComputeType type, const Mat<double>& a, Trans trans_a, const Mat<double>& b, Trans trans_b, Mat<double>* c,
            double beta = 0.0);

// How kBf16 products run in this process: "oneDNN", or the fallback and why.
std::string Bf16Backend();
// Tests and benchmarks: route kBf16 through the round-operands fallback even
// where oneDNN could run it (process-wide; not for use while products run).
void ForceBf16Fallback(bool on);
// oneDNN matmul primitives held by the cache (0 without oneDNN).
size_t GemmCachedPrimitives();

}  // namespace shardrec
