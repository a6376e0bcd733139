// Single-process communicator: every collective is the identity (or a copy).
#include <cstring>

#include "shardrec/comm/communicator.h"
#include "shardrec/core/error.h"

namespace shardrec {
namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string name() const override { return "local"; }
  void AllReduce(void*, size_t, ReduceType, ReduceOp) override {}
  void Broadcast(void*, size_t, int root) override {
    SR_CHECK(root == 0) << "broadcast root " << root << " with 1 rank";
  }
  void AllGather(const void* in, size_t bytes, void* out) override {
    if (bytes > 0) std::memcpy(out, in, bytes);
  }
  void AllGatherV(const void* in, size_t bytes, std::vector<char>* out, std::vector<size_t>* per_rank) override {
    out->assign(static_cast<const char*>(in), static_cast<const char*>(in) + bytes);
    per_rank->assign(1, bytes);
  }
  void AllToAllV(const void* send, const std::vector<size_t>& send_bytes, std::vector<char>* recv,
                 std::vector<size_t>* recv_bytes) override {
    SR_CHECK(send_bytes.size() == 1) << "all-to-all with " << send_bytes.size() << " destinations on 1 rank";
    recv->assign(static_cast<const char*>(send), static_cast<const char*>(send) + send_bytes[0]);
    recv_bytes->assign(1, send_bytes[0]);
  }
  void Barrier() override {}
  void Abort(int code) override { std::exit(code); }
};

}  // namespace

std::unique_ptr<Communicator> MakeLocalCommunicator() { return std::make_unique<LocalCommunicator>(); }

}  // namespace shardrec
