// MPI implementation of Communicator (CPU buffers).
#include <mpi.h>

#include <cstdlib>
#include <cstring>
#include <limits>

#include "shardrec/comm/communicator.h"
#include "shardrec/core/error.h"

#define SR_MPI_CHECK(call)                                                                                             \
  do {                                                                                                                 \
    int sr_mpi_rc_ = (call);                                                                                           \
    if (sr_mpi_rc_ != MPI_SUCCESS) {                                                                                   \
      char sr_mpi_msg_[MPI_MAX_ERROR_STRING];                                                                          \
      int sr_mpi_len_ = 0;                                                                                             \
      MPI_Error_string(sr_mpi_rc_, sr_mpi_msg_, &sr_mpi_len_);                                                         \
      SR_THROW() << "MPI call failed: " #call ": " << std::string(sr_mpi_msg_, sr_mpi_len_) << " [" << __FILE__ << ":" \
                 << __LINE__ << "]";                                                                                   \
    }                                                                                                                  \
  } while (0)

namespace shardrec {
namespace {

MPI_Datatype ToMpi(ReduceType t) {
  switch (t) {
    case ReduceType::kFloat32: return MPI_FLOAT;
    case ReduceType::kFloat64: return MPI_DOUBLE;
    case ReduceType::kInt64: return MPI_INT64_T;
    case ReduceType::kUInt8: return MPI_UINT8_T;
  }
  return MPI_BYTE;
}

MPI_Op ToMpi(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kMin: return MPI_MIN;
  }
  return MPI_SUM;
}

int ToCount(size_t n, const char* what) {
  SR_CHECK(n <= static_cast<size_t>(std::numeric_limits<int>::max()))
      << what << ": " << n << " elements exceed MPI's int count";
  return static_cast<int>(n);
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      SR_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
      owns_mpi_ = true;
    }
    // Errors come back as return codes so they become shardrec::Error with context.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    SR_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_));
    MPI_Comm_rank(node_, &local_rank_);
    MPI_Comm_size(node_, &local_size_);
  }
  ~MpiCommunicator() override {
    // A test main may finalize MPI before a static communicator dies.
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    MPI_Comm_free(&node_);
    if (owns_mpi_) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string name() const override { return "mpi"; }

  void AllReduce(void* data, size_t count, ReduceType type, ReduceOp op) override {
    SR_MPI_CHECK(
        MPI_Allreduce(MPI_IN_PLACE, data, ToCount(count, "allreduce"), ToMpi(type), ToMpi(op), MPI_COMM_WORLD));
  }
  void Broadcast(void* data, size_t bytes, int root) override {
    SR_MPI_CHECK(MPI_Bcast(data, ToCount(bytes, "broadcast"), MPI_BYTE, root, MPI_COMM_WORLD));
  }
  void AllGather(const void* in, size_t bytes, void* out) override {
    int n = ToCount(bytes, "allgather");
    SR_MPI_CHECK(MPI_Allgather(in, n, MPI_BYTE, out, n, MPI_BYTE, MPI_COMM_WORLD));
  }
  void AllGatherV(const void* in, size_t bytes, std::vector<char>* out, std::vector<size_t>* per_rank) override {
    std::vector<int> counts(size_), displs(size_);
    int mine = ToCount(bytes, "allgatherv");
    SR_MPI_CHECK(MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD));
    size_t total = 0;
    per_rank->resize(size_);
    for (int r = 0; r < size_; ++r) {
      displs[r] = ToCount(total, "allgatherv displacement");
      total += static_cast<size_t>(counts[r]);
      (*per_rank)[r] = static_cast<size_t>(counts[r]);
    }
    out->resize(total);
    SR_MPI_CHECK(
        MPI_Allgatherv(in, mine, MPI_BYTE, out->data(), counts.data(), displs.data(), MPI_BYTE, MPI_COMM_WORLD));
  }
  void AllToAllV(const void* send, const std::vector<size_t>& send_bytes, std::vector<char>* recv,
                 std::vector<size_t>* recv_bytes) override {
    SR_CHECK(static_cast<int>(send_bytes.size()) == size_)
        << "all-to-all given " << send_bytes.size() << " destinations for " << size_ << " ranks";
    std::vector<int> scounts(size_), sdispls(size_), rcounts(size_), rdispls(size_);
    size_t off = 0;
    for (int r = 0; r < size_; ++r) {
      scounts[r] = ToCount(send_bytes[r], "alltoallv");
      sdispls[r] = ToCount(off, "alltoallv displacement");
      off += send_bytes[r];
    }
    SR_MPI_CHECK(MPI_Alltoall(scounts.data(), 1, MPI_INT, rcounts.data(), 1, MPI_INT, MPI_COMM_WORLD));
    size_t total = 0;
    recv_bytes->resize(size_);
    for (int r = 0; r < size_; ++r) {
      rdispls[r] = ToCount(total, "alltoallv displacement");
      total += static_cast<size_t>(rcounts[r]);
      (*recv_bytes)[r] = static_cast<size_t>(rcounts[r]);
    }
    recv->resize(total);
    SR_MPI_CHECK(MPI_Alltoallv(send, scounts.data(), sdispls.data(), MPI_BYTE, recv->data(), rcounts.data(),
                               rdispls.data(), MPI_BYTE, MPI_COMM_WORLD));
  }
  void Barrier() override { SR_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); }
  void Abort(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  bool owns_mpi_ = false;
  MPI_Comm node_ = MPI_COMM_NULL;
};

}  // namespace

std::unique_ptr<Communicator> MakeMpiCommunicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace shardrec
