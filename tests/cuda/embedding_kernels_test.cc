// The CUDA embedding kernels against the CPU bodies they share their
// arithmetic with (kernels/cpu/embedding_bag.h, kernels/common/sparse_update.h,
// here compiled for the baseline CPU): pooled sums and optimizer steps must
// match bit for bit, for fp32, bf16 and fp16 rows and every update rule.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "common/half_bits.h"
#include "common/sparse_update.h"
#include "cpu/embedding_bag.h"
#include "cuda_test_util.h"
#include "shardrec/cuda/device_buffer.h"
#include "shardrec/cuda/embedding_kernels.h"

namespace shardrec::cuda {
namespace {

using kernels::HalfType;
using kernels::SparseRule;

constexpr int64_t kRows = 1000;

struct Case {
  RowFormat format;
  int dim;
};

// A table's values in its storage type, as raw words (fp32 bits or 16-bit patterns).
struct HostTable {
  RowFormat format;
  int dim;
  std::vector<float> f32;
  std::vector<uint16_t> h16;
};

HostTable RandomTable(RowFormat format, int dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.1f);
  HostTable t{format, dim, {}, {}};
  const size_t count = static_cast<size_t>(kRows) * dim;
  if (format == RowFormat::kFp32) {
    t.f32.resize(count);
    for (float& v : t.f32) v = n(rng);
  } else {
    const HalfType type = format == RowFormat::kBf16 ? HalfType::kBf16 : HalfType::kFp16;
    t.h16.resize(count);
    for (uint16_t& v : t.h16) v = kernels::HalfBits(type, n(rng));
  }
  return t;
}

std::vector<int64_t> RandomRows(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> u(0, kRows - 1);
  std::vector<int64_t> rows(n);
  for (int64_t& r : rows) r = u(rng);
  return rows;
}

class CudaEmbeddingKernels : public ::testing::TestWithParam<Case> {};

TEST_P(CudaEmbeddingKernels, PoolBagsMatchesCpu) {
  SHARDREC_REQUIRE_GPU();
  const Case c = GetParam();
  const HostTable t = RandomTable(c.format, c.dim, 1);
  // Bags of 0 to 9 rows, repeats included.
  std::vector<int64_t> offsets{0};
  for (int b = 0; b < 300; ++b) offsets.push_back(offsets.back() + b % 10);
  const int64_t bags = static_cast<int64_t>(offsets.size()) - 1;
  const std::vector<int64_t> rows = RandomRows(offsets.back(), 2);

  std::vector<float> want(static_cast<size_t>(bags) * c.dim);
  for (int64_t b = 0; b < bags; ++b) {
    const int64_t* r = rows.data() + offsets[b];
    const int64_t n = offsets[b + 1] - offsets[b];
    float* out = want.data() + b * c.dim;
    switch (c.format) {
      case RowFormat::kFp32: kernels::PoolRowsSum(t.f32.data(), c.dim, r, n, c.dim, out); break;
      case RowFormat::kBf16: kernels::PoolRowsSum<HalfType::kBf16>(t.h16.data(), c.dim, r, n, c.dim, out); break;
      case RowFormat::kFp16: kernels::PoolRowsSum<HalfType::kFp16>(t.h16.data(), c.dim, r, n, c.dim, out); break;
    }
  }

  DeviceBuffer<float> f32(t.f32);
  DeviceBuffer<uint16_t> h16(t.h16);
  DeviceBuffer<int64_t> d_rows(rows), d_offsets(offsets);
  DeviceBuffer<float> d_out(want.size());
  const DeviceRows table{c.format == RowFormat::kFp32 ? static_cast<void*>(f32.data()) : h16.data(), c.format, c.dim,
                         c.dim};
  PoolBags(table, d_rows.data(), d_offsets.data(), bags, d_out.data(), nullptr);
  const std::vector<float> got = d_out.ToHost();
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), sizeof(float) * want.size()), 0) << "pooled sums differ";
}

TEST_P(CudaEmbeddingKernels, RowUpdatesMatchCpu) {
  SHARDREC_REQUIRE_GPU();
  const Case c = GetParam();
  for (SparseRule rule : {SparseRule::kSgd, SparseRule::kRowwiseAdagrad, SparseRule::kAdam}) {
    SCOPED_TRACE(static_cast<int>(rule));
    HostTable t = RandomTable(c.format, c.dim, 3);
    const int per_row = kernels::StateFloatsPerRow(rule, c.dim);
    std::vector<float> state(static_cast<size_t>(kRows) * per_row, rule == SparseRule::kRowwiseAdagrad ? 0.1f : 0.0f);
    // Distinct rows (as the owner's de-duplication leaves them), their gradients and rounding keys.
    std::vector<int64_t> rows;
    for (int64_t r = 0; r < kRows; r += 3) rows.push_back((r * 7919) % kRows);
    const int64_t n = static_cast<int64_t>(rows.size());
    std::mt19937 rng(4);
    std::normal_distribution<float> gd(0.0f, 0.05f);
    std::vector<float> grads(static_cast<size_t>(n) * c.dim);
    for (float& g : grads) g = gd(rng);
    std::vector<uint32_t> keys(n);
    for (uint32_t& k : keys) k = rng();
    kernels::SparseHyper h{0.05f, 1e-8f, 0.9f, 0.999f, 0.1f, 0.001f};

    DeviceBuffer<float> f32(t.f32), d_state(state), d_grads(grads);
    DeviceBuffer<uint16_t> h16(t.h16);
    DeviceBuffer<int64_t> d_rows(rows);
    DeviceBuffer<uint32_t> d_keys(keys);
    const DeviceRows table{c.format == RowFormat::kFp32 ? static_cast<void*>(f32.data()) : h16.data(), c.format, c.dim,
                           c.dim};
    // Two steps, so the second starts from updated state.
    for (int step = 0; step < 2; ++step) {
      ApplyRowUpdates(table, rule, h, d_rows.data(), d_grads.data(), n, per_row > 0 ? d_state.data() : nullptr,
                      d_keys.data(), 16, nullptr);
      for (int64_t u = 0; u < n; ++u) {
        const int64_t r = rows[u];
        float* s = state.data() + r * per_row;
        const float* g = grads.data() + u * c.dim;
        switch (c.format) {
          case RowFormat::kFp32: kernels::ApplyRule(rule, t.f32.data() + r * c.dim, s, g, c.dim, h); break;
          case RowFormat::kBf16:
            kernels::ApplyRule(rule, kernels::HalfRowRef<HalfType::kBf16>{t.h16.data() + r * c.dim, keys[u], 16}, s, g,
                               c.dim, h);
            break;
          case RowFormat::kFp16:
            kernels::ApplyRule(rule, kernels::HalfRowRef<HalfType::kFp16>{t.h16.data() + r * c.dim, keys[u], 16}, s, g,
                               c.dim, h);
            break;
        }
      }
    }
    if (c.format == RowFormat::kFp32) {
      const std::vector<float> got = f32.ToHost();
      EXPECT_EQ(std::memcmp(got.data(), t.f32.data(), sizeof(float) * got.size()), 0) << "fp32 rows differ";
    } else {
      EXPECT_EQ(h16.ToHost(), t.h16) << "16-bit rows differ";
    }
    const std::vector<float> got_state = d_state.ToHost();
    EXPECT_EQ(std::memcmp(got_state.data(), state.data(), sizeof(float) * state.size()), 0) << "state differs";
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, CudaEmbeddingKernels,
                         ::testing::Values(Case{RowFormat::kFp32, 16}, Case{RowFormat::kFp32, 300},
                                           Case{RowFormat::kBf16, 16}, Case{RowFormat::kFp16, 64}));

TEST(CudaEmbeddingKernelsArgs, SixteenBitRowsNeedKeys) {
  SHARDREC_REQUIRE_GPU();
  DeviceBuffer<uint16_t> rows16(16);
  const DeviceRows table{rows16.data(), RowFormat::kBf16, 16, 16};
  const kernels::SparseHyper h{};
  EXPECT_THROW(ApplyRowUpdates(table, SparseRule::kSgd, h, nullptr, nullptr, 1, nullptr, nullptr, 0, nullptr), Error);
}

}  // namespace
}  // namespace shardrec::cuda
