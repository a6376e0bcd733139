#include "shardrec/nn/dropout.h"

#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"

namespace shardrec {

template <typename T>
Dropout<T>::Dropout(double rate, uint64_t stream) : rate_(rate), stream_(stream) {
  SR_CHECK(rate >= 0 && rate < 1) << "dropout rate must be in [0, 1), got " << rate;
}

template <typename T>
void Dropout<T>::Forward(const std::vector<uint64_t>& token_keys, Mat<T>* x) {
  active_ = rate_ > 0 && !token_keys.empty();
  if (!active_) return;
  SR_CHECK(static_cast<Eigen::Index>(token_keys.size()) == x->rows())
      << "dropout: " << token_keys.size() << " token keys for " << x->rows() << " tokens";
  const Eigen::Index rows = x->rows(), cols = x->cols();
  scale_.resize(rows, cols);
  const T keep_scale = static_cast<T>(1.0 / (1.0 - rate_));
  // Keep when the top 53 bits, as a fraction, are >= rate.
  const uint64_t cut = static_cast<uint64_t>(rate_ * 9007199254740992.0);
#pragma omp parallel for schedule(static) if (rows * cols > 32768)
  for (Eigen::Index r = 0; r < rows; ++r) {
    const uint64_t base = HashCombine(token_keys[r], stream_);
    for (Eigen::Index c = 0; c < cols; ++c) {
      const bool keep = (Mix64(base + static_cast<uint64_t>(c)) >> 11) >= cut;
      scale_(r, c) = keep ? keep_scale : T(0);
    }
  }
  x->array() *= scale_.array();
}

template <typename T>
void Dropout<T>::Backward(Mat<T>* dy) const {
  if (!active_) return;
  SR_CHECK(dy->rows() == scale_.rows() && dy->cols() == scale_.cols()) << "dropout backward: shape changed";
  dy->array() *= scale_.array();
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace shardrec
