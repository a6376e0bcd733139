// Inverted dropout with counter-based masks: entry (token, column) is kept
// when a hash of (token key, stream, column) says so, and scaled by 1/(1-rate).
// The same token gets the same mask on any rank and after a resume.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "shardrec/core/matrix.h"

namespace shardrec {

template <typename T>
class Dropout {
 public:
  Dropout(double rate, uint64_t stream);

  // In place on x (tokens x cols). Does nothing (and Backward passes the
  // gradient through) when rate is 0 or token_keys is empty.
  void Forward(const std::vector<uint64_t>& token_keys, Mat<T>* x);
  // In place on dy.
  void Backward(Mat<T>* dy) const;

  double rate() const { return rate_; }
  // Frees the mask (a later Forward with the same keys rebuilds it exactly).
  void Release() { Mat<T>().swap(scale_); }
  size_t SavedBytes() const { return static_cast<size_t>(scale_.size()) * sizeof(T); }

 private:
  double rate_;
  uint64_t stream_;
  bool active_ = false;
  Mat<T> scale_;  // 0 or 1/(1-rate) per entry of the last Forward
};

extern template class Dropout<float>;
extern template class Dropout<double>;

}  // namespace shardrec
