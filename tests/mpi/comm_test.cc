// Every collective against exactly known values. Inputs are small integers
// (exact in float), so the expected result is exact whatever the reduction
// order; pass/fail is agreed across ranks by the test main.
#include <gtest/gtest.h>

#include <numeric>

#include "shardrec/comm/communicator.h"

namespace shardrec {
namespace {

Communicator& Comm() {
  static std::unique_ptr<Communicator> comm = MakeMpiCommunicator();
  return *comm;
}

TEST(Comm, AllReduceSumMaxMin) {
  Communicator& c = Comm();
  const int n = c.size(), r = c.rank();
  std::vector<float> f(1001);
  std::vector<double> d(7);
  std::vector<int64_t> i(5);
  for (size_t k = 0; k < f.size(); ++k) f[k] = static_cast<float>((r + 1) * (k % 17));
  for (size_t k = 0; k < d.size(); ++k) d[k] = (r + 1) * 0.5 * k;
  for (size_t k = 0; k < i.size(); ++k) i[k] = (int64_t{1} << 40) * r + k;
  AllReduceSum(c, f.data(), f.size());
  AllReduceSum(c, d.data(), d.size());
  AllReduceSum(c, i.data(), i.size());
  const double tri = n * (n + 1) / 2.0;  // sum of (r+1)
  for (size_t k = 0; k < f.size(); ++k) ASSERT_EQ(f[k], static_cast<float>(tri * (k % 17))) << k;
  for (size_t k = 0; k < d.size(); ++k) ASSERT_EQ(d[k], tri * 0.5 * k);
  for (size_t k = 0; k < i.size(); ++k)
    ASSERT_EQ(i[k], (int64_t{1} << 40) * (n * (n - 1) / 2) + n * static_cast<int64_t>(k));
  EXPECT_EQ(AllReduceScalar<int64_t>(c, r, ReduceOp::kMax), n - 1);
  EXPECT_EQ(AllReduceScalar<int64_t>(c, r, ReduceOp::kMin), 0);
  EXPECT_EQ(AllReduceScalar<double>(c, -r, ReduceOp::kMin), -(n - 1));
}

TEST(Comm, BroadcastFromEveryRoot) {
  Communicator& c = Comm();
  for (int root = 0; root < c.size(); ++root) {
    std::vector<int32_t> v(13, c.rank() == root ? 1000 + root : -1);
    c.Broadcast(v.data(), v.size() * sizeof(int32_t), root);
    for (int32_t x : v) ASSERT_EQ(x, 1000 + root);
  }
}

TEST(Comm, AllGatherAndAllGatherV) {
  Communicator& c = Comm();
  const int n = c.size(), r = c.rank();
  int64_t mine = 10 * r + 3;
  std::vector<int64_t> all(n);
  c.AllGather(&mine, sizeof(mine), all.data());
  for (int k = 0; k < n; ++k) EXPECT_EQ(all[k], 10 * k + 3);
  // Rank r contributes r+1 copies of r (rank 0 one, ...); an empty contribution is allowed too.
  std::vector<int32_t> v(r == 1 ? 0 : r + 1, r);
  std::vector<size_t> counts;
  std::vector<int32_t> got = AllGatherV(c, v, &counts);
  std::vector<int32_t> want;
  for (int k = 0; k < n; ++k) want.insert(want.end(), k == 1 ? 0 : k + 1, k);
  EXPECT_EQ(got, want);
  ASSERT_EQ(static_cast<int>(counts.size()), n);
  for (int k = 0; k < n; ++k) EXPECT_EQ(counts[k], static_cast<size_t>(k == 1 ? 0 : k + 1));
}

TEST(Comm, AllToAllVariableSizes) {
  Communicator& c = Comm();
  const int n = c.size(), r = c.rank();
  // Rank r sends to d: (r + d) % 3 values, each encoding (source, dest, index).
  std::vector<std::vector<int64_t>> send(n);
  for (int d = 0; d < n; ++d)
    for (int k = 0; k < (r + d) % 3; ++k) send[d].push_back(1000000 * r + 1000 * d + k);
  std::vector<std::vector<int64_t>> recv = AllToAll(c, send);
  ASSERT_EQ(static_cast<int>(recv.size()), n);
  for (int s = 0; s < n; ++s) {
    ASSERT_EQ(static_cast<int>(recv[s].size()), (s + r) % 3) << "from " << s;
    for (int k = 0; k < (s + r) % 3; ++k) EXPECT_EQ(recv[s][k], 1000000 * s + 1000 * r + k);
  }
}

TEST(Comm, ReportsLocalNode) {
  Communicator& c = Comm();
  EXPECT_EQ(c.local_size(), c.size());  // all ranks of a test run share this node
  EXPECT_GE(c.local_rank(), 0);
  EXPECT_LT(c.local_rank(), c.local_size());
}

}  // namespace
}  // namespace shardrec
