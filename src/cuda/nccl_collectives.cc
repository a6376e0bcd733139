#include "shardrec/cuda/nccl_collectives.h"

#include <nccl.h>

#include <string>

#include "shardrec/core/error.h"

namespace shardrec::cuda {
namespace {

void CheckNccl(ncclResult_t r, const char* call) {
  if (r == ncclSuccess) return;
  throw Error(std::string("NCCL call ") + call + " failed: " + ncclGetErrorString(r) + " (" +
              ncclGetLastError(nullptr) + ")");
}
#define SR_NCCL_CHECK(call) CheckNccl((call), #call)

}  // namespace

NcclCollectives::NcclCollectives(Communicator& host) : rank_(host.rank()), size_(host.size()) {
  ncclUniqueId id{};
  if (rank_ == 0) SR_NCCL_CHECK(ncclGetUniqueId(&id));
  host.Broadcast(&id, sizeof id, 0);
  SR_NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank_));
}

NcclCollectives::~NcclCollectives() {
  if (comm_ != nullptr) ncclCommDestroy(comm_);
}

void NcclCollectives::AllReduceSum(float* data, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  SR_NCCL_CHECK(ncclAllReduce(data, data, n, ncclFloat32, ncclSum, comm_, stream));
}

void NcclCollectives::AllToAllV(const void* send, const std::vector<size_t>& send_bytes, void* recv,
                                const std::vector<size_t>& recv_bytes, cudaStream_t stream) {
  SR_CHECK(send_bytes.size() == static_cast<size_t>(size_) && recv_bytes.size() == static_cast<size_t>(size_))
      << "all-to-all with " << send_bytes.size() << " send and " << recv_bytes.size() << " receive sizes on " << size_
      << " ranks";
  const char* s = static_cast<const char*>(send);
  char* d = static_cast<char*>(recv);
  // Sends and receives in one group, so NCCL runs them concurrently (a
  // sequence of blocking pairs would deadlock once the buffers fill).
  SR_NCCL_CHECK(ncclGroupStart());
  for (int peer = 0; peer < size_; ++peer) {
    if (send_bytes[peer] > 0) SR_NCCL_CHECK(ncclSend(s, send_bytes[peer], ncclChar, peer, comm_, stream));
    if (recv_bytes[peer] > 0) SR_NCCL_CHECK(ncclRecv(d, recv_bytes[peer], ncclChar, peer, comm_, stream));
    s += send_bytes[peer];
    d += recv_bytes[peer];
  }
  SR_NCCL_CHECK(ncclGroupEnd());
}

}  // namespace shardrec::cuda
