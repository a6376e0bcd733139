#include "shardrec/comm/wire_type.h"

#include <algorithm>
#include <cstring>

#include "shardrec/core/error.h"
#include "shardrec/core/half_rows.h"

namespace shardrec {

namespace {
HalfType HalfOf(config::DType type) {
  SR_CHECK(type == config::BF16 || type == config::FP16) << "no 16-bit wire type " << config::DType_Name(type);
  return type == config::BF16 ? HalfType::kBf16 : HalfType::kFp16;
}
}  // namespace

void NarrowToWire(const float* in, size_t n, config::DType type, uint16_t* out) {
  NarrowRow(HalfOf(type), in, static_cast<int64_t>(n), out);
}

void WidenFromWire(const uint16_t* in, size_t n, config::DType type, float* out) {
  WidenRow(HalfOf(type), in, static_cast<int64_t>(n), out);
}

void AllToAllFloats(Communicator& comm, const std::vector<std::vector<float>>& send, config::DType type,
                    std::vector<std::vector<float>>* recv) {
  if (type == config::FP32) {
    AllToAll(comm, send, recv);
    return;
  }
  thread_local std::vector<std::vector<uint16_t>> narrow_send, narrow_recv;
  narrow_send.resize(send.size());
  for (size_t d = 0; d < send.size(); ++d) {
    narrow_send[d].resize(send[d].size());
    NarrowToWire(send[d].data(), send[d].size(), type, narrow_send[d].data());
  }
  AllToAll(comm, narrow_send, &narrow_recv);
  recv->resize(narrow_recv.size());
  for (size_t s = 0; s < narrow_recv.size(); ++s) {
    (*recv)[s].resize(narrow_recv[s].size());
    WidenFromWire(narrow_recv[s].data(), narrow_recv[s].size(), type, (*recv)[s].data());
  }
}

void AllToAllFloatsFrom(Communicator& comm, std::vector<std::vector<float>>* send, config::DType type,
                        std::vector<std::vector<float>>* recv) {
  if (type == config::FP32) {
    AllToAllFrom(comm, send, recv);
  } else {
    AllToAllFloats(comm, *send, type, recv);  // narrowed into a buffer of its own anyway
  }
}

void AllReduceSumFloats(Communicator& comm, float* data, size_t n, config::DType type) {
  if (type == config::FP32) {
    AllReduceSum(comm, data, n);
    return;
  }
  const int world = comm.size();
  const int me = comm.rank();
  // Chunk r of the array is reduced by rank r.
  auto begin = [&](int r) { return n * static_cast<size_t>(r) / static_cast<size_t>(world); };
  std::vector<std::vector<uint16_t>> chunks(world), received;
  for (int r = 0; r < world; ++r) {
    chunks[r].resize(begin(r + 1) - begin(r));
    NarrowToWire(data + begin(r), chunks[r].size(), type, chunks[r].data());
  }
  AllToAll(comm, chunks, &received);
  const size_t mine = begin(me + 1) - begin(me);
  std::vector<float> sum(mine, 0.0f), widened(mine);
  for (int s = 0; s < world; ++s) {  // rank order: the same sum on any schedule
    SR_CHECK(received[s].size() == mine) << "all-reduce: rank " << s << " sent " << received[s].size()
                                         << " values for a chunk of " << mine;
    WidenFromWire(received[s].data(), mine, type, widened.data());
    for (size_t i = 0; i < mine; ++i) sum[i] += widened[i];
  }
  std::vector<uint16_t> reduced(mine);
  NarrowToWire(sum.data(), mine, type, reduced.data());
  const std::vector<uint16_t> all = AllGatherV(comm, reduced);
  SR_CHECK(all.size() == n) << "all-reduce: gathered " << all.size() << " values, expected " << n;
  WidenFromWire(all.data(), n, type, data);
}

}  // namespace shardrec
