// Reads the golden tensors written by scripts/reference/*.py: a sequence of
// `name rows cols` headers, each followed by rows*cols row-major values;
// lines starting with '#' are comments.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "shardrec/core/error.h"
#include "shardrec/core/matrix.h"

namespace shardrec::testing {

class GoldenFile {
 public:
  explicit GoldenFile(const std::string& path) : path_(path) {
    std::ifstream in(path);
    SR_CHECK(in.good()) << "cannot open golden file " << path;
    std::string name;
    while (in >> name) {
      if (name[0] == '#') {
        std::string rest;
        std::getline(in, rest);
        continue;
      }
      Eigen::Index rows = 0, cols = 0;
      in >> rows >> cols;
      Mat<double> m(rows, cols);
      for (Eigen::Index i = 0; i < m.size(); ++i) in >> m.data()[i];
      SR_CHECK(!in.fail()) << path << ": tensor '" << name << "' is truncated";
      tensors_[name] = m;
    }
  }

  const Mat<double>& operator[](const std::string& name) const {
    auto it = tensors_.find(name);
    SR_CHECK(it != tensors_.end()) << path_ << " has no tensor '" << name << "'";
    return it->second;
  }
  int Int(const std::string& name) const { return static_cast<int>((*this)[name](0, 0)); }
  template <typename I>
  std::vector<I> Ints(const std::string& name) const {
    const Mat<double>& m = (*this)[name];
    std::vector<I> v(static_cast<size_t>(m.size()));
    for (Eigen::Index i = 0; i < m.size(); ++i) v[i] = static_cast<I>(std::llround(m.data()[i]));
    return v;
  }
  // A tensor as a rows x cols matrix of T (1-D tensors fill a row or column vector).
  template <typename M>
  void Load(const std::string& name, M* out) const {
    const Mat<double>& m = (*this)[name];
    SR_CHECK(out->size() == m.size()) << path_ << ": '" << name << "' has " << m.size() << " values, expected "
                                      << out->size();
    for (Eigen::Index i = 0; i < m.size(); ++i) out->data()[i] = static_cast<typename M::Scalar>(m.data()[i]);
  }

 private:
  std::string path_;
  std::map<std::string, Mat<double>> tensors_;
};

// max |a - b| <= tol * max(1, max |b|), element by element over the flat data.
template <typename T>
void ExpectClose(const std::string& what, const T* actual, const Mat<double>& expected, double tol) {
  double scale = 1.0;
  for (Eigen::Index i = 0; i < expected.size(); ++i) scale = std::max(scale, std::abs(expected.data()[i]));
  double worst = 0;
  Eigen::Index at = 0;
  for (Eigen::Index i = 0; i < expected.size(); ++i) {
    const double d = std::abs(static_cast<double>(actual[i]) - expected.data()[i]);
    if (d > worst) worst = d, at = i;
  }
  EXPECT_LE(worst, tol * scale) << what << ": worst difference " << worst << " at flat index " << at << " (got "
                                << static_cast<double>(actual[at]) << ", want " << expected.data()[at] << ")";
}

}  // namespace shardrec::testing
