// A view of one trainable tensor and its gradient, owned by a layer. Optimizers,
// gradient all-reduce and checkpoints walk a model's list of these.
#pragma once

#include <cstddef>
#include <string>

namespace shardrec {

template <typename T>
struct ParamRef {
  std::string name;  // e.g. "bottom_mlp.0.weight"
  T* value = nullptr;
  T* grad = nullptr;
  size_t size = 0;  // elements
};

}  // namespace shardrec
