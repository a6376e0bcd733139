// Reduced-precision collectives: round trips within the format's error, the
// fp32-accumulated all-reduce against the exact sum and identical on every
// rank, and the all-to-all delivering each value within one rounding.
#include "shardrec/comm/wire_type.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "shardrec/core/rng.h"

namespace shardrec {
namespace {

Communicator& Comm() {
  static std::unique_ptr<Communicator> comm = MakeMpiCommunicator();
  return *comm;
}

// Relative rounding error bound (half an ulp) of each format.
double UnitRoundoff(config::DType t) { return t == config::BF16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11); }

std::vector<float> Values(uint64_t seed, size_t n) {
  std::vector<float> v(n);
  CounterRng rng(seed, 1, 2);
  for (float& x : v) x = static_cast<float>(rng.Normal() * std::pow(10.0, rng.Uniform(-3, 3)));
  return v;
}

TEST(WireType, RoundTripWithinHalfAnUlp) {
  for (config::DType t : {config::BF16, config::FP16}) {
    std::vector<float> v = Values(1, 10000);
    if (t == config::FP16)
      for (float& x : v) x = std::max(-60000.0f, std::min(60000.0f, x));  // fp16's range
    std::vector<uint16_t> wire(v.size());
    std::vector<float> back(v.size());
    NarrowToWire(v.data(), v.size(), t, wire.data());
    WidenFromWire(wire.data(), v.size(), t, back.data());
    for (size_t i = 0; i < v.size(); ++i) {
      // fp16 subnormals below 2^-14 lose relative precision: bound them absolutely.
      const double tol = std::max(UnitRoundoff(t) * std::abs(v[i]), t == config::FP16 ? std::ldexp(1.0, -25) : 0.0);
      ASSERT_LE(std::abs(back[i] - v[i]), tol) << config::DType_Name(t) << " value " << v[i];
    }
  }
  // fp16 overflows to inf beyond 65504; bf16 keeps fp32's range.
  const float big = 1e6f;
  uint16_t w;
  float back;
  NarrowToWire(&big, 1, config::FP16, &w);
  WidenFromWire(&w, 1, config::FP16, &back);
  EXPECT_TRUE(std::isinf(back));
  NarrowToWire(&big, 1, config::BF16, &w);
  WidenFromWire(&w, 1, config::BF16, &back);
  EXPECT_NEAR(back, big, big * UnitRoundoff(config::BF16));
}

TEST(WireType, AllReduceAccumulatesInFp32AndAgreesOnEveryRank) {
  Communicator& c = Comm();
  const int n = c.size();
  for (config::DType t : {config::BF16, config::FP16}) {
    for (size_t len : {size_t{1}, size_t{3}, size_t{1000}}) {  // fewer values than ranks too
      std::vector<float> mine = Values(100 + c.rank(), len);
      std::vector<float> sum = mine;
      AllReduceSumFloats(c, sum.data(), len, t);
      // Exact reference: every rank's inputs, summed in double.
      std::vector<double> want(len, 0.0), abs_sum(len, 0.0);
      for (int r = 0; r < n; ++r) {
        const std::vector<float> v = Values(100 + r, len);
        for (size_t i = 0; i < len; ++i) want[i] += v[i], abs_sum[i] += std::abs(v[i]);
      }
      // Each input rounded once, the fp32 sum rounded once (fp16 subnormals:
      // an absolute half-ulp of 2^-25 per rounding).
      const double u = UnitRoundoff(t), sub = t == config::FP16 ? (n + 1) * std::ldexp(1.0, -25) : 0.0;
      for (size_t i = 0; i < len; ++i) {
        ASSERT_LE(std::abs(sum[i] - want[i]), u * abs_sum[i] + u * std::abs(want[i]) + 1e-6 * abs_sum[i] + sub)
            << config::DType_Name(t) << " [" << i << "]";
      }
      // Bitwise the same on every rank.
      std::vector<float> first = sum;
      c.Broadcast(first.data(), len * sizeof(float), 0);
      ASSERT_TRUE(first == sum) << config::DType_Name(t) << ": ranks disagree";
    }
  }
}

TEST(WireType, AllToAllDeliversWithinOneRounding) {
  Communicator& c = Comm();
  const int n = c.size();
  for (config::DType t : {config::FP32, config::BF16, config::FP16}) {
    std::vector<std::vector<float>> send(n), recv;
    for (int d = 0; d < n; ++d) send[d] = Values(1000 * c.rank() + d, 10 + d);
    AllToAllFloats(c, send, t, &recv);
    ASSERT_EQ(static_cast<int>(recv.size()), n);
    for (int s = 0; s < n; ++s) {
      const std::vector<float> sent = Values(1000 * s + c.rank(), 10 + c.rank());
      ASSERT_EQ(recv[s].size(), sent.size());
      for (size_t i = 0; i < sent.size(); ++i) {
        const double tol = t == config::FP32 ? 0.0 : UnitRoundoff(t) * std::abs(sent[i]) + 1e-7;
        ASSERT_LE(std::abs(recv[s][i] - sent[i]), tol) << config::DType_Name(t) << " from " << s;
      }
    }
  }
}

}  // namespace
}  // namespace shardrec
