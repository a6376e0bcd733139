// Finite-difference gradient checks shared by the nn and models tests (double only).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "shardrec/core/matrix.h"
#include "shardrec/core/rng.h"

namespace shardrec::testing {

// Uniform in [-1, 1), kept away from 0 by `gap` so that ReLU kinks are not straddled by a
// finite-difference step.
inline Mat<double> RandomMat(int rows, int cols, uint64_t seed, double gap = 0.0) {
  Mat<double> m(rows, cols);
  CounterRng rng(seed, 77, 0);
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    double v = rng.Uniform(-1.0, 1.0);
    if (std::abs(v) < gap) v = v < 0 ? v - gap : v + gap;
    m.data()[i] = v;
  }
  return m;
}

// Compares analytic[k] with the central difference of loss() in x[k], for k < n. x is
// perturbed in place and restored. The analytic values are copied first, because loss()
// may overwrite buffers they live in.
inline void ExpectGradMatches(const std::string& what, double* x, const double* analytic, size_t n,
                              const std::function<double()>& loss, double tol = 1e-6, double h = 1e-5) {
  const std::vector<double> expected(analytic, analytic + n);
  int failures = 0;
  for (size_t k = 0; k < n; ++k) {
    const double saved = x[k];
    x[k] = saved + h;
    const double up = loss();
    x[k] = saved - h;
    const double down = loss();
    x[k] = saved;
    const double numeric = (up - down) / (2 * h);
    const double scale = std::max({1.0, std::abs(numeric), std::abs(expected[k])});
    if (std::abs(numeric - expected[k]) > tol * scale && failures++ < 5) {
      ADD_FAILURE() << what << "[" << k << "]: analytic " << expected[k] << " vs numeric " << numeric;
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << n << " gradient entries differ";
}

inline void ExpectGradMatches(const std::string& what, Mat<double>* x, const Mat<double>& analytic,
                              const std::function<double()>& loss, double tol = 1e-6) {
  ASSERT_EQ(x->rows(), analytic.rows()) << what;
  ASSERT_EQ(x->cols(), analytic.cols()) << what;
  ExpectGradMatches(what, x->data(), analytic.data(), static_cast<size_t>(x->size()), loss, tol);
}

// A fixed linear functional of an output, sum(r .* y), whose gradient with respect to y is r.
inline double Project(const Mat<double>& r, const Mat<double>& y) { return r.cwiseProduct(y).sum(); }

}  // namespace shardrec::testing
