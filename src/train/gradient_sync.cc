#include "shardrec/train/gradient_sync.h"

#include <algorithm>
#include <cstring>

#include "shardrec/comm/wire_type.h"

namespace shardrec {

void AllReduceGradients(Communicator& comm, const std::vector<ParamRef<float>>& params, size_t bucket_elems,
                        std::vector<float>* scratch, config::DType wire) {
  // One rank has nothing to sum, but a reduced wire type still rounds the
  // gradients, so that the policy means the same thing at any rank count.
  if (comm.size() == 1 && wire == config::FP32) return;
  bucket_elems = std::max<size_t>(bucket_elems, 1);
  scratch->resize(bucket_elems);
  // Walk the parameters as one long virtual array, one bucket at a time.
  size_t p = 0, off = 0;  // current parameter and offset within it
  while (p < params.size()) {
    // Pack.
    size_t filled = 0;
    size_t p_end = p, off_end = off;
    while (p_end < params.size() && filled < bucket_elems) {
      const size_t take = std::min(bucket_elems - filled, params[p_end].size - off_end);
      std::memcpy(scratch->data() + filled, params[p_end].grad + off_end, take * sizeof(float));
      filled += take;
      off_end += take;
      if (off_end == params[p_end].size) {
        ++p_end;
        off_end = 0;
      }
    }
    AllReduceSumFloats(comm, scratch->data(), filled, wire);
    // Unpack.
    size_t used = 0;
    while (used < filled) {
      const size_t take = std::min(filled - used, params[p].size - off);
      std::memcpy(params[p].grad + off, scratch->data() + used, take * sizeof(float));
      used += take;
      off += take;
      if (off == params[p].size) {
        ++p;
        off = 0;
      }
    }
  }
}

}  // namespace shardrec
