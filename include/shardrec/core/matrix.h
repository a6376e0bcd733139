// Dense storage shared by every layer: row-major Eigen matrices (a batch is
// rows x features), and non-owning maps over flat parameter arenas.
#pragma once

#include <Eigen/Core>

namespace shardrec {

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T>
using RowVec = Eigen::Matrix<T, 1, Eigen::Dynamic>;
template <typename T>
using MatMap = Eigen::Map<Mat<T>>;
template <typename T>
using ConstMatMap = Eigen::Map<const Mat<T>>;
template <typename T>
using VecMap = Eigen::Map<Vec<T>>;

using MatF = Mat<float>;
using VecF = Vec<float>;

}  // namespace shardrec
