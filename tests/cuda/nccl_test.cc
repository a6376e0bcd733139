// NCCL collectives on device memory under mpiexec (-n 1 and 2; each rank
// takes GPU local_rank mod the GPUs visible): sums and all-to-all(v) agree with
// what the host Communicator computes for the same inputs.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "cuda_test_util.h"
#include "shardrec/comm/communicator.h"
#include "shardrec/cuda/device_buffer.h"
#include "shardrec/cuda/nccl_collectives.h"

namespace shardrec::cuda {
namespace {

TEST(CudaNccl, AllReduceAndAllToAllMatchHost) {
  std::string why;
  if (DeviceCount(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
  auto host = MakeMpiCommunicator();
  // NCCL puts one rank on each GPU (two ranks on one device is an error).
  if (DeviceCount() < host->local_size())
    GTEST_SKIP() << "needs a GPU per rank: " << host->local_size() << " ranks, " << DeviceCount() << " GPU(s)";
  UseDevice(host->local_rank());
  NcclCollectives nccl(*host);
  const int r = host->rank(), p = host->size();
  ASSERT_EQ(nccl.rank(), r);
  ASSERT_EQ(nccl.size(), p);

  std::vector<float> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>((r + 1) * 1000 + i) * 0.25f;
  DeviceBuffer<float> d(values);
  nccl.AllReduceSum(d.data(), values.size(), nullptr);
  AllReduceSum(*host, values.data(), values.size());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(d.ToHost(), values);

  // Rank r sends r + d + 1 floats to rank d, each float naming (source, destination, index).
  std::vector<std::vector<float>> send(p), want;
  std::vector<float> flat;
  std::vector<size_t> send_bytes(p), recv_bytes(p);
  for (int dst = 0; dst < p; ++dst) {
    for (int i = 0; i < r + dst + 1; ++i) send[dst].push_back(static_cast<float>(r * 10000 + dst * 100 + i));
    flat.insert(flat.end(), send[dst].begin(), send[dst].end());
    send_bytes[dst] = send[dst].size() * sizeof(float);
    recv_bytes[dst] = static_cast<size_t>(dst + r + 1) * sizeof(float);
  }
  AllToAll(*host, send, &want);
  DeviceBuffer<float> d_send(flat);
  DeviceBuffer<float> d_recv(std::accumulate(recv_bytes.begin(), recv_bytes.end(), size_t{0}) / sizeof(float));
  nccl.AllToAllV(d_send.data(), send_bytes, d_recv.data(), recv_bytes, nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<float> want_flat;
  for (const auto& w : want) want_flat.insert(want_flat.end(), w.begin(), w.end());
  EXPECT_EQ(d_recv.ToHost(), want_flat);
}

}  // namespace
}  // namespace shardrec::cuda
