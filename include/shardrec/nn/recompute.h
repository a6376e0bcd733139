// Activation recomputation: what a block keeps between its forward and
// backward passes.
//   kNone       every intermediate is kept;
//   kSelective  only the matrix-product outputs are kept; normalisations,
//               activations, gating and dropout masks are recomputed (cheap,
//               elementwise) in backward;
//   kFull       nothing but the block's input (owned by the caller) is kept; the
//               whole forward is recomputed in backward.
// Recomputed values are bitwise the forward's (same code, same inputs, dropout
// masks are a pure function of the token keys), so gradients are unchanged.
#pragma once

#include <cstddef>

#include "shardrec/core/matrix.h"

namespace shardrec {

enum class Recompute { kNone, kSelective, kFull };

template <typename M>
size_t BytesOf(const M& m) {
  return static_cast<size_t>(m.size()) * sizeof(typename M::Scalar);
}

// Frees a matrix's storage (resize(0, 0) may keep it).
template <typename M>
void Free(M* m) {
  M().swap(*m);
}

}  // namespace shardrec
