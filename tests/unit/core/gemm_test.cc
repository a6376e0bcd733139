// Gemm in every compute type, backend, transpose combination and epilogue
// against a double product, with tolerances derived from each type's unit
// roundoff; the fp32 fallback bit for bit against the Eigen expression; the
// bf16 fallback forced and compared with oneDNN.
#include "shardrec/core/gemm.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "operand_rounding.h"
#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"

namespace shardrec {
namespace {

// Unit roundoff of the operand type: bf16 keeps 8 significant bits, fp16 11.
double UnitRoundoff(ComputeType type) {
  switch (type) {
    case ComputeType::kFp32: return 0.0;  // operands are used as they are
    case ComputeType::kBf16: return std::ldexp(1.0, -8);
    case ComputeType::kFp16: return std::ldexp(1.0, -11);
  }
  return 1.0;
}

// Turns the fallback backends on for one scope.
class ForcedFallback {
 public:
  explicit ForcedFallback(bool on) : on_(on) { ForceGemmFallback(on_); }
  ~ForcedFallback() { ForceGemmFallback(false); }

 private:
  bool on_;
};

bool DnnlAvailable() { return GemmBackend(ComputeType::kBf16) == "oneDNN"; }

// A product's operands, stored with padded leading dimensions (ld = stored
// columns + pad) so that strides are exercised.
struct Problem {
  int64_t m, n, k;
  Trans ta, tb;
  int64_t lda, ldb, ldc;
  std::vector<float> a, b, c0;
  float alpha, beta;
  std::vector<float> bias;  // empty: none
  bool relu = false;

  GemmOptions<float> Epilogue() const { return {bias.empty() ? nullptr : bias.data(), relu}; }

  double OpA(int64_t i, int64_t p) const { return ta == Trans::kYes ? a[p * lda + i] : a[i * lda + p]; }
  double OpB(int64_t p, int64_t j) const { return tb == Trans::kYes ? b[j * ldb + p] : b[p * ldb + j]; }
};

Problem MakeProblem(int64_t m, int64_t n, int64_t k, Trans ta, Trans tb, float alpha, float beta, int64_t pad,
                    uint64_t seed, double scale_a = 1.0, double scale_b = 1.0) {
  Problem p{m, n, k, ta, tb, 0, 0, 0, {}, {}, {}, alpha, beta, {}, false};
  const int64_t a_rows = ta == Trans::kYes ? k : m, a_cols = ta == Trans::kYes ? m : k;
  const int64_t b_rows = tb == Trans::kYes ? n : k, b_cols = tb == Trans::kYes ? k : n;
  p.lda = a_cols + pad;
  p.ldb = b_cols + pad;
  p.ldc = n + pad;
  CounterRng rng(seed, 1, 0);
  auto fill = [&rng](std::vector<float>* v, int64_t size, double scale) {
    v->resize(static_cast<size_t>(size));
    for (float& x : *v) x = static_cast<float>(rng.Uniform(-scale, scale));
  };
  fill(&p.a, a_rows * p.lda, scale_a);
  fill(&p.b, b_rows * p.ldb, scale_b);
  fill(&p.c0, m * p.ldc, 1.0);
  return p;
}

std::vector<float> RunGemm(ComputeType type, const Problem& p) {
  std::vector<float> c = p.c0;
  Gemm(type, p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta, c.data(), p.ldc,
       p.Epilogue());
  return c;
}

// |result - exact| <= (2u + u^2 + (k + 5) 2^-24) (|alpha| sum_p |a_ip b_pj| + |beta c_ij| + |bias_j|):
// rounding each operand perturbs a product by at most (1+u)^2 - 1, and fp32
// accumulation of k terms (plus the alpha, beta and bias steps) by (k + 5) 2^-24.
// A ReLU after them cannot increase the error.
void ExpectWithinTypeTolerance(ComputeType type, const Problem& p, const std::vector<float>& c,
                               const std::string& what) {
  const double u = UnitRoundoff(type);
  const double factor = 2 * u + u * u + (p.k + 5) * std::ldexp(1.0, -24);
  int failures = 0;
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.n; ++j) {
      double exact = 0, magnitude = 0;
      for (int64_t q = 0; q < p.k; ++q) {
        exact += p.OpA(i, q) * p.OpB(q, j);
        magnitude += std::abs(p.OpA(i, q) * p.OpB(q, j));
      }
      const double c0 = p.c0[i * p.ldc + j];
      const double bias = p.bias.empty() ? 0.0 : p.bias[j];
      exact = p.alpha * exact + p.beta * c0 + bias;
      magnitude = std::abs(p.alpha) * magnitude + std::abs(p.beta * c0) + std::abs(bias);
      if (p.relu) exact = std::max(exact, 0.0);
      const double err = std::abs(c[i * p.ldc + j] - exact);
      if (!(err <= factor * magnitude) && failures++ < 5) {
        ADD_FAILURE() << what << " C(" << i << "," << j << ") = " << c[i * p.ldc + j] << ", exact " << exact
                      << ", error " << err << " > bound " << factor * magnitude;
      }
    }
  }
  // Padding between rows is never written.
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = p.n; j < p.ldc; ++j) {
      ASSERT_EQ(c[i * p.ldc + j], p.c0[i * p.ldc + j]) << what << " wrote padding at (" << i << "," << j << ")";
    }
  }
  EXPECT_EQ(failures, 0) << what;
}

std::string Describe(const char* backend, const Problem& p) {
  return std::string(backend) + " " + std::to_string(p.m) + "x" + std::to_string(p.k) +
         (p.ta == Trans::kYes ? "^T" : "") + " * " + std::to_string(p.k) + "x" + std::to_string(p.n) +
         (p.tb == Trans::kYes ? "^T" : "") + " alpha=" + std::to_string(p.alpha) + " beta=" + std::to_string(p.beta) +
         (p.bias.empty() ? "" : " +bias") + (p.relu ? " relu" : "");
}

const Trans kTrans[] = {Trans::kNo, Trans::kYes};

TEST(Gemm, EveryTypeAndTransposeWithinTypeTolerance) {
  struct Shape {
    int64_t m, n, k;
  };
  const Shape shapes[] = {{1, 1, 1}, {3, 5, 4}, {17, 9, 33}, {64, 48, 130}, {130, 70, 257}, {6, 5, 3000}};
  const std::pair<float, float> scales[] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.5f, 0.25f}};
  struct Backend {
    const char* name;
    ComputeType type;
    bool force_fallback;
  };
  const Backend backends[] = {{"fp32", ComputeType::kFp32, false},
                              {"fp32-fallback", ComputeType::kFp32, true},
                              {"bf16", ComputeType::kBf16, false},
                              {"bf16-fallback", ComputeType::kBf16, true},
                              {"fp16", ComputeType::kFp16, false}};
  uint64_t seed = 0;
  for (const Backend& be : backends) {
    ForcedFallback forced(be.force_fallback);
    for (const Shape& s : shapes) {
      for (Trans ta : kTrans) {
        for (Trans tb : kTrans) {
          for (auto [alpha, beta] : scales) {
            // Operands of different magnitudes: the bound scales with them.
            Problem p = MakeProblem(s.m, s.n, s.k, ta, tb, alpha, beta, /*pad=*/3, ++seed, 0.01, 300.0);
            // Epilogues in turn (none, bias, bias + ReLU, ReLU); 4 and the 3
            // scales are coprime, so every pairing occurs for every shape.
            if (seed % 4 == 1 || seed % 4 == 2) {
              CounterRng rng(seed, 9, 0);
              for (int64_t j = 0; j < s.n; ++j) p.bias.push_back(static_cast<float>(rng.Uniform(-3, 3)));
            }
            p.relu = seed % 4 >= 2;
            ExpectWithinTypeTolerance(be.type, p, RunGemm(be.type, p), Describe(be.name, p));
          }
        }
      }
    }
  }
}

// The reduced types really round their operands: 1 + 2^-10 survives fp16's 10
// fraction bits but not bf16's 7, and 1 + 2^-12 survives neither.
TEST(Gemm, ReducedTypesRoundTheirOperands) {
  const float a10 = 1.0f + std::ldexp(1.0f, -10), a12 = 1.0f + std::ldexp(1.0f, -12), one = 1.0f;
  auto product = [&](ComputeType type, float a) {
    float c = 0;
    Gemm(type, Trans::kNo, Trans::kNo, 1, 1, 1, 1.0f, &a, 1, &one, 1, 0.0f, &c, 1);
    return c;
  };
  for (bool fallback : {false, true}) {
    ForcedFallback forced(fallback);
    EXPECT_EQ(product(ComputeType::kBf16, a10), 1.0f) << GemmBackend(ComputeType::kBf16);
    EXPECT_EQ(product(ComputeType::kBf16, a12), 1.0f) << GemmBackend(ComputeType::kBf16);
  }
  EXPECT_EQ(product(ComputeType::kFp16, a10), a10);
  EXPECT_EQ(product(ComputeType::kFp16, a12), 1.0f);
  EXPECT_EQ(product(ComputeType::kFp32, a12), a12);
  // fp16 overflows above 65504; bf16 has fp32's range.
  EXPECT_TRUE(std::isinf(product(ComputeType::kFp16, 70000.0f)));
  EXPECT_EQ(product(ComputeType::kBf16, 70000.0f), 70144.0f);  // nearest bf16: 8 significant bits
}

// The kFp32 fallback is the Eigen expression the layers used: the same bits,
// whichever product kernel (coefficient-wise, GEMV, OpenBLAS) the size selects.
TEST(Gemm, Fp32FallbackIsBitwiseTheEigenExpression) {
  ForcedFallback forced(true);
  struct Shape {
    int m, n, k;
  };
  const Shape shapes[] = {{2, 3, 4}, {7, 1, 9}, {1, 13, 8}, {33, 17, 29}, {128, 96, 200}, {300, 1, 64}};
  uint64_t seed = 100;
  for (const Shape& s : shapes) {
    for (Trans ta : kTrans) {
      for (Trans tb : kTrans) {
        CounterRng rng(++seed, 2, 0);
        auto random = [&rng](int rows, int cols) {
          Mat<float> x(rows, cols);
          for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.Normal());
          return x;
        };
        const Mat<float> a = ta == Trans::kYes ? random(s.k, s.m) : random(s.m, s.k);
        const Mat<float> b = tb == Trans::kYes ? random(s.n, s.k) : random(s.k, s.n);
        const Mat<float> c0 = random(s.m, s.n);
        Mat<float> want, want_acc = c0;
        if (ta == Trans::kNo && tb == Trans::kNo) {
          want.noalias() = a * b;
          want_acc.noalias() += a * b;
        } else if (ta == Trans::kNo) {
          want.noalias() = a * b.transpose();
          want_acc.noalias() += a * b.transpose();
        } else if (tb == Trans::kNo) {
          want.noalias() = a.transpose() * b;
          want_acc.noalias() += a.transpose() * b;
        } else {
          want.noalias() = a.transpose() * b.transpose();
          want_acc.noalias() += a.transpose() * b.transpose();
        }
        const std::string what = std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n) +
                                 " ta=" + std::to_string(ta == Trans::kYes) +
                                 " tb=" + std::to_string(tb == Trans::kYes);
        Mat<float> got, got_acc = c0;
        MatMul(ComputeType::kFp32, a, ta, b, tb, &got);
        MatMul(ComputeType::kFp32, a, ta, b, tb, &got_acc, 1.0f);
        EXPECT_TRUE(got == want) << "MatMul " << what;
        EXPECT_TRUE(got_acc == want_acc) << "MatMul += " << what;
        // The pointer form over the same storage.
        Mat<float> ptr(s.m, s.n), ptr_acc = c0;
        Gemm(ComputeType::kFp32, ta, tb, s.m, s.n, s.k, 1.0f, a.data(), a.cols(), b.data(), b.cols(), 0.0f, ptr.data(),
             s.n);
        Gemm(ComputeType::kFp32, ta, tb, s.m, s.n, s.k, 1.0f, a.data(), a.cols(), b.data(), b.cols(), 1.0f,
             ptr_acc.data(), s.n);
        EXPECT_TRUE(ptr == want) << "Gemm " << what;
        EXPECT_TRUE(ptr_acc == want_acc) << "Gemm += " << what;
      }
    }
  }
}

// The fallback is exactly the fp32 product of bf16-rounded operands, and
// oneDNN's bf16 kernel differs from it only in the order of fp32 accumulation.
TEST(Gemm, Bf16FallbackIsTheProductOfRoundedOperands) {
  auto round_bf16 = [](const Mat<float>& x) {
    return Mat<float>(x.unaryExpr([](float v) { return static_cast<float>(Eigen::bfloat16(v)); }));
  };
  CounterRng rng(7, 3, 0);
  auto random = [&rng](int rows, int cols) {
    Mat<float> x(rows, cols);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.Normal());
    return x;
  };
  const int m = 150, n = 70, k = 300;
  for (Trans ta : kTrans) {
    for (Trans tb : kTrans) {
      const Mat<float> a = ta == Trans::kYes ? random(k, m) : random(m, k);
      const Mat<float> b = tb == Trans::kYes ? random(n, k) : random(k, n);
      Mat<float> fallback, native, want;
      {
        ForcedFallback forced(true);
        EXPECT_EQ(GemmBackend(ComputeType::kBf16), "round-operands fallback (forced)");
        MatMul(ComputeType::kBf16, a, ta, b, tb, &fallback);
        MatMul(ComputeType::kFp32, round_bf16(a), ta, round_bf16(b), tb, &want);  // Eigen's fp32 product
      }
      EXPECT_TRUE(fallback == want) << "ta=" << (ta == Trans::kYes) << " tb=" << (tb == Trans::kYes);
      if (!DnnlAvailable()) continue;
      MatMul(ComputeType::kBf16, a, ta, b, tb, &native);
      // Both sum the same k exact products of bf16 values in fp32.
      const Mat<float> ra = round_bf16(a), rb = round_bf16(b);
      const Mat<float> magnitude = (ta == Trans::kYes ? Mat<float>(ra.transpose()) : ra).cwiseAbs() *
                                   (tb == Trans::kYes ? Mat<float>(rb.transpose()) : rb).cwiseAbs();
      const float bound = 2.0f * (k + 2) * std::ldexp(1.0f, -24);
      EXPECT_TRUE(((native - fallback).cwiseAbs().array() <= bound * magnitude.array()).all())
          << "oneDNN vs fallback, ta=" << (ta == Trans::kYes) << " tb=" << (tb == Trans::kYes) << ": max difference "
          << (native - fallback).cwiseAbs().maxCoeff();
    }
  }
}

TEST(Gemm, OneDnnPrimitivesAreCachedByShapeAndThreads) {
  if (!DnnlAvailable()) GTEST_SKIP() << "bf16 runs " << GemmBackend(ComputeType::kBf16);
  const Mat<float> a = Mat<float>::Ones(40, 24), b = Mat<float>::Ones(24, 16);
  Mat<float> c;
  MatMul(ComputeType::kBf16, a, Trans::kNo, b, Trans::kNo, &c);
  const size_t first = GemmCachedPrimitives();
  MatMul(ComputeType::kBf16, a, Trans::kNo, b, Trans::kNo, &c);
  EXPECT_EQ(GemmCachedPrimitives(), first) << "the same product reuses its primitive";
  EXPECT_TRUE((c.array() == 24.0f).all());
  const Mat<float> a2 = Mat<float>::Ones(41, 24);
  MatMul(ComputeType::kBf16, a2, Trans::kNo, b, Trans::kNo, &c);
  EXPECT_EQ(GemmCachedPrimitives(), first + 1) << "another M is another primitive";
  // oneDNN plans its work split for a thread count: a new count, a new primitive.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(threads + 1);
  MatMul(ComputeType::kBf16, a, Trans::kNo, b, Trans::kNo, &c);
  omp_set_num_threads(threads);
  EXPECT_EQ(GemmCachedPrimitives(), first + 2);
  EXPECT_TRUE((c.array() == 24.0f).all());
}

// Jagged batches change M (the token count) of the forward product and K of the
// weight gradient every step: with rows_vary the product runs on one primitive
// sized at run time, every size still gets the right numbers, and a size gives
// the same bits whether it comes first or after others.
TEST(Gemm, VaryingRowsShareOneRunTimePrimitive) {
  for (ComputeType type : {ComputeType::kFp32, ComputeType::kBf16}) {
    if (GemmBackend(type) != "oneDNN") continue;
    for (bool weight_grad : {false, true}) {
      auto problem = [&](int64_t tokens) {
        // forward: tokens x 24 * 24 x 40 (+ bias, ReLU); weight gradient: (tokens x 24)^T * tokens x 40
        Problem p = weight_grad ? MakeProblem(24, 40, tokens, Trans::kYes, Trans::kNo, 1.0f, 0.0f, 0, tokens, 1, 1)
                                : MakeProblem(tokens, 40, 24, Trans::kNo, Trans::kNo, 1.0f, 0.0f, 0, tokens, 1, 1);
        if (!weight_grad) {
          p.bias.assign(40, 0.25f);
          p.relu = true;
        }
        return p;
      };
      auto run = [&](const Problem& p) {
        std::vector<float> c = p.c0;
        GemmOptions<float> options = p.Epilogue();
        options.rows_vary = true;
        Gemm(type, p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta, c.data(), p.ldc,
             options);
        return c;
      };
      const std::string what = std::string(ComputeTypeName(type)) + (weight_grad ? " weight gradient" : " forward");
      const size_t before = GemmCachedPrimitives();
      const std::vector<float> first = run(problem(61));
      for (int64_t tokens = 50; tokens < 62; ++tokens) {
        const Problem p = problem(tokens);
        ExpectWithinTypeTolerance(type, p, run(p), Describe(what.c_str(), p));
      }
      EXPECT_EQ(GemmCachedPrimitives(), before + 1) << what << ": one primitive for every size";
      EXPECT_TRUE(run(problem(61)) == first) << what << ": the history changed the result";
    }
  }
}

// ctest runs this binary a second time as gemm_test_without_bf16_isa, with
// ONEDNN_MAX_CPU_ISA=AVX512_CORE: oneDNN then sees a CPU without AVX512-BF16,
// and bf16 must notice and fall back (every other test passes that way too).
TEST(Gemm, FallsBackOnCpusWithoutBf16) {
  const char* isa = std::getenv("ONEDNN_MAX_CPU_ISA");
  if (isa == nullptr || std::string(isa) != "AVX512_CORE") {
    GTEST_SKIP() << "runs under ONEDNN_MAX_CPU_ISA=AVX512_CORE (ctest gemm_test_without_bf16_isa)";
  }
  EXPECT_EQ(GemmBackend(ComputeType::kBf16).rfind("round-operands fallback (", 0), 0u)
      << GemmBackend(ComputeType::kBf16);
  // A bf16 product of a new shape creates no primitive.
  const size_t before = GemmCachedPrimitives();
  const Mat<float> a = Mat<float>::Ones(43, 24), b = Mat<float>::Ones(24, 16);
  Mat<float> c;
  MatMul(ComputeType::kBf16, a, Trans::kNo, b, Trans::kNo, &c);
  EXPECT_TRUE((c.array() == 24.0f).all());
  EXPECT_EQ(GemmCachedPrimitives(), before);
}

TEST(Gemm, EmptyInnerDimensionScalesC) {
  for (ComputeType type : {ComputeType::kFp32, ComputeType::kBf16, ComputeType::kFp16}) {
    std::vector<float> c(6, std::numeric_limits<float>::quiet_NaN());
    const float dummy = 0;
    Gemm(type, Trans::kNo, Trans::kNo, 2, 3, 0, 1.0f, &dummy, 1, &dummy, 3, 0.0f, c.data(), 3);
    for (float v : c) EXPECT_EQ(v, 0.0f) << ComputeTypeName(type) << ": beta = 0 never reads C";
    c.assign(6, 2.0f);
    Gemm(type, Trans::kNo, Trans::kNo, 2, 3, 0, 1.0f, &dummy, 1, &dummy, 3, 0.5f, c.data(), 3);
    for (float v : c) EXPECT_EQ(v, 1.0f) << ComputeTypeName(type);
  }
}

TEST(Gemm, RejectsBadShapesNamingThem) {
  std::vector<float> buf(64, 1.0f), c(64);
  try {
    Gemm(ComputeType::kBf16, Trans::kNo, Trans::kNo, 4, 4, 8, 1.0f, buf.data(), 7, buf.data(), 4, 0.0f, c.data(), 4);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("leading dimension of A is 7, below its 8 stored columns"), std::string::npos)
        << e.what();
  }
  const Mat<float> a(3, 4), b(5, 2);
  Mat<float> out;
  EXPECT_THROW(MatMul(ComputeType::kFp32, a, Trans::kNo, b, Trans::kNo, &out), Error);
  const Mat<double> ad = Mat<double>::Ones(2, 2);
  Mat<double> outd;
  try {
    MatMul(ComputeType::kBf16, ad, Trans::kNo, ad, Trans::kNo, &outd);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("applies to float layers only"), std::string::npos) << e.what();
  }
  MatMul(ComputeType::kFp32, ad, Trans::kNo, ad, Trans::kYes, &outd);
  EXPECT_TRUE((outd.array() == 2.0).all());
}

}  // namespace
}  // namespace shardrec
