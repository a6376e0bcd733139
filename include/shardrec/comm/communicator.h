// Collectives behind one interface. A single-process implementation and an
// MPI one share the same semantics; the typed helpers at the bottom are the
// API the rest of the library uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "shardrec/core/error.h"

namespace shardrec {

enum class ReduceType { kFloat32, kFloat64, kInt64, kUInt8 };
enum class ReduceOp { kSum, kMax, kMin };

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank within this node and ranks on this node (for thread budgeting).
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  virtual std::string name() const = 0;

  // In-place reduction of `count` elements over all ranks.
  virtual void AllReduce(void* data, size_t count, ReduceType type, ReduceOp op) = 0;
  virtual void Broadcast(void* data, size_t bytes, int root) = 0;
  // Every rank contributes `bytes`; out receives size()*bytes in rank order.
  virtual void AllGather(const void* in, size_t bytes, void* out) = 0;
  // Variable-size all-gather: out is resized to the concatenation in rank order.
  virtual void AllGatherV(const void* in, size_t bytes, std::vector<char>* out,
                          std::vector<size_t>* bytes_per_rank) = 0;
  // send_bytes[d] bytes go to rank d, laid out back to back in `send`.
  // recv gets what every rank sent here, in source-rank order; recv_bytes[s]
  // says how much came from s.
  virtual void AllToAllV(const void* send, const std::vector<size_t>& send_bytes, std::vector<char>* recv,
                         std::vector<size_t>* recv_bytes) = 0;
  virtual void Barrier() = 0;
  // Terminates every rank of the job (used after an unrecoverable error on one rank).
  virtual void Abort(int code) = 0;
};

// The job's communicator: MPI when launched under mpirun/srun (or as an MPI
// singleton), otherwise single-process. Initialises MPI on first use.
std::unique_ptr<Communicator> MakeMpiCommunicator();
std::unique_ptr<Communicator> MakeLocalCommunicator();

// --- typed helpers -------------------------------------------------------
template <typename T>
struct ReduceTypeOf;
template <>
struct ReduceTypeOf<float> {
  static constexpr ReduceType value = ReduceType::kFloat32;
};
template <>
struct ReduceTypeOf<double> {
  static constexpr ReduceType value = ReduceType::kFloat64;
};
template <>
struct ReduceTypeOf<int64_t> {
  static constexpr ReduceType value = ReduceType::kInt64;
};

template <typename T>
void AllReduceSum(Communicator& c, T* data, size_t n) {
  c.AllReduce(data, n, ReduceTypeOf<T>::value, ReduceOp::kSum);
}
template <typename T>
T AllReduceScalar(Communicator& c, T v, ReduceOp op) {
  c.AllReduce(&v, 1, ReduceTypeOf<T>::value, op);
  return v;
}

// Typed all-to-all: send[d] goes to rank d; (*recv)[s] receives what rank s
// sent here. Reuses the capacity of *recv and of per-thread staging buffers,
// so a training loop that calls it every step does not allocate.
template <typename T>
void AllToAll(Communicator& c, const std::vector<std::vector<T>>& send, std::vector<std::vector<T>>* recv) {
  if (c.size() == 1) {  // a single rank sends to itself: one copy instead of flatten, exchange, unflatten
    SR_CHECK(send.size() == 1) << "all-to-all with " << send.size() << " destinations on 1 rank";
    recv->resize(1);
    (*recv)[0].assign(send[0].begin(), send[0].end());
    return;
  }
  thread_local std::vector<char> flat, staged;
  thread_local std::vector<size_t> send_bytes, recv_bytes;
  send_bytes.resize(send.size());
  size_t total = 0;
  for (size_t d = 0; d < send.size(); ++d) total += send[d].size() * sizeof(T);
  flat.resize(total);
  size_t off = 0;
  for (size_t d = 0; d < send.size(); ++d) {
    send_bytes[d] = send[d].size() * sizeof(T);
    if (send_bytes[d] > 0) std::memcpy(flat.data() + off, send[d].data(), send_bytes[d]);
    off += send_bytes[d];
  }
  c.AllToAllV(flat.data(), send_bytes, &staged, &recv_bytes);
  recv->resize(recv_bytes.size());
  off = 0;
  for (size_t s = 0; s < recv_bytes.size(); ++s) {
    (*recv)[s].resize(recv_bytes[s] / sizeof(T));
    if (recv_bytes[s] > 0) std::memcpy((*recv)[s].data(), staged.data() + off, recv_bytes[s]);
    off += recv_bytes[s];
  }
}

// The same exchange for send buffers the caller refills every step: *send is
// left unspecified. On one rank its buffer is swapped into *recv instead of
// copied, and *send gets the storage *recv had, for the caller's next fill.
template <typename T>
void AllToAllFrom(Communicator& c, std::vector<std::vector<T>>* send, std::vector<std::vector<T>>* recv) {
  if (c.size() == 1) {
    SR_CHECK(send->size() == 1) << "all-to-all with " << send->size() << " destinations on 1 rank";
    recv->resize(1);
    (*recv)[0].swap((*send)[0]);
    return;
  }
  AllToAll(c, *send, recv);
}

template <typename T>
std::vector<std::vector<T>> AllToAll(Communicator& c, const std::vector<std::vector<T>>& send) {
  std::vector<std::vector<T>> recv;
  AllToAll(c, send, &recv);
  return recv;
}

// Typed variable all-gather: the concatenation of every rank's vector, in rank order.
template <typename T>
std::vector<T> AllGatherV(Communicator& c, const std::vector<T>& mine, std::vector<size_t>* counts = nullptr) {
  std::vector<char> out;
  std::vector<size_t> bytes;
  c.AllGatherV(mine.data(), mine.size() * sizeof(T), &out, &bytes);
  std::vector<T> result(out.size() / sizeof(T));
  if (!out.empty()) std::memcpy(result.data(), out.data(), out.size());
  if (counts != nullptr) {
    counts->resize(bytes.size());
    for (size_t i = 0; i < bytes.size(); ++i) (*counts)[i] = bytes[i] / sizeof(T);
  }
  return result;
}

}  // namespace shardrec
