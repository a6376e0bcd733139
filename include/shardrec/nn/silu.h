// SiLU, silu(s) = s * sigmoid(s), and its derivative over arrays of values: the
// one body of this arithmetic for HSTU's projections and attention weights.
//
// The sigmoid is 1 / (1 + exp(-s)), which Eigen evaluates a vector of values at
// a time (a scalar std::exp per attention score was a fifth of HSTU's step).
// It needs no branch for stability: for very negative s, exp(-s) overflows to
// inf and the sigmoid is 0; NaN stays NaN.
#pragma once

#include <cstdint>

namespace shardrec {

// out[k] = scale * silu(s[k]) for k < n. out may be s.
template <typename T>
void SiluArray(const T* s, int64_t n, T scale, T* out);

// grad[k] *= scale * silu'(s[k]), where silu'(s) = g (1 + s (1 - g)) with
// g = sigmoid(s); and, unless out is null, out[k] = scale * silu(s[k]) (out
// may be s).
template <typename T>
void SiluBackwardArray(const T* s, int64_t n, T scale, T* grad, T* out);

}  // namespace shardrec
