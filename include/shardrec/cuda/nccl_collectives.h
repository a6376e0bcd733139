// Collectives on device memory over NCCL, for the CUDA backend: the job's
// ranks (one GPU each) form an NCCL communicator whose id is shared through
// the host Communicator (MPI), so the same mpirun/srun launch serves both.
// Mirrors the host Communicator's all-reduce and all-to-all(v) semantics.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <vector>

#include "shardrec/comm/communicator.h"

struct ncclComm;

namespace shardrec::cuda {

class NcclCollectives {
 public:
  // Collective over `host`'s ranks: every rank calls it, with its device current
  // (cuda::UseDevice). Throws Error naming NCCL's reason on failure.
  explicit NcclCollectives(Communicator& host);
  ~NcclCollectives();
  NcclCollectives(const NcclCollectives&) = delete;
  NcclCollectives& operator=(const NcclCollectives&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // In-place sum of n floats over all ranks.
  void AllReduceSum(float* data, size_t n, cudaStream_t stream);
  // send_bytes[d] bytes go to rank d, back to back in `send`; recv gets what
  // every rank sent here, in source-rank order, recv_bytes[s] from rank s (the
  // caller knows the sizes, e.g. from a host all-to-all of the counts).
  void AllToAllV(const void* send, const std::vector<size_t>& send_bytes, void* recv,
                 const std::vector<size_t>& recv_bytes, cudaStream_t stream);

 private:
  ncclComm* comm_ = nullptr;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace shardrec::cuda
