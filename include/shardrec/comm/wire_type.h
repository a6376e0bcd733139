// Reduced-precision wire formats for collectives: fp32 values travel as 16-bit
// bf16 or fp16 (round to nearest even) and are widened back to fp32 on arrival.
// Half the bytes; the receiver's arithmetic stays fp32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "config.pb.h"
#include "shardrec/comm/communicator.h"

namespace shardrec {

// n floats -> n 16-bit values of `type` (BF16 or FP16). FP16 saturates nothing:
// |x| > 65504 becomes inf, as the format defines.
void NarrowToWire(const float* in, size_t n, config::DType type, uint16_t* out);
void WidenFromWire(const uint16_t* in, size_t n, config::DType type, float* out);

// Typed all-to-all of float vectors sent as `type` (FP32: unchanged).
void AllToAllFloats(Communicator& comm, const std::vector<std::vector<float>>& send, config::DType type,
                    std::vector<std::vector<float>>* recv);
// The same for send buffers the caller refills every step: *send is left
// unspecified (see AllToAllFrom: FP32 on one rank swaps instead of copying).
void AllToAllFloatsFrom(Communicator& comm, std::vector<std::vector<float>>* send, config::DType type,
                        std::vector<std::vector<float>>* recv);

// In-place sum over all ranks of n floats sent as `type`. FP32 is the
// communicator's all-reduce. BF16/FP16: a reduce-scatter by all-to-all (each
// rank sums its chunk of every rank's narrowed values in fp32, in rank order,
// and rounds once), then an all-gather of the narrowed sums — 2(N-1)/N x 2
// bytes per value, half of an fp32 ring all-reduce, and identical on every rank.
void AllReduceSumFloats(Communicator& comm, float* data, size_t n, config::DType type);

}  // namespace shardrec
