#include "shardrec/embedding/embedding_rows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "shardrec/core/rng.h"

namespace shardrec {
namespace {

// The one-pass update of a 16-bit row (a row view inside the optimizer, in
// the CPU's widest vector code) against the three steps it replaces, run here
// as plain calls: widen the row, update it in fp32, round it stochastically
// with NarrowRowStochastic's bits. The two may differ only where a fused
// multiply-add rounds the fp32 value differently (the run-time clones use FMA,
// this reference may not), which moves a stochastic rounding by at most one
// step of the stored type; everything else (which bits, which column, which
// optimizer state) has to agree exactly.
TEST(EmbeddingRows, HalfRowUpdateMatchesWidenUpdateNarrow) {
  constexpr int kRows = 40, kCols = 37;  // odd width: vector bodies and their tails
  constexpr uint32_t kFirstCol = 5;      // a column shard's offset into the logical row
  for (config::DType dtype : {config::BF16, config::FP16}) {
    const HalfType half = dtype == config::BF16 ? HalfType::kBf16 : HalfType::kFp16;
    // A step of the type at the values used (|w| < 1): bf16 keeps 8 bits, fp16 11.
    const double step = dtype == config::BF16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
    for (config::SparseOptimizerType type : {config::SPARSE_SGD, config::ROWWISE_ADAGRAD, config::SPARSE_ADAM}) {
      SCOPED_TRACE(config::DType_Name(dtype) + " " + config::SparseOptimizerType_Name(type));
      config::SparseOptimizerConfig cfg;
      cfg.set_type(type);
      cfg.set_lr(0.05);
      const SparseOptimizer opt(cfg);
      const kernels::SparseHyper h = opt.Hyper(3);
      const int state_floats = opt.StateFloatsPerRow(kCols);
      EmbeddingRows rows;
      rows.Allocate(dtype, kRows, kCols);
      CounterRng rng(7, 8, 9);
      std::vector<float> init(kCols);
      for (int r = 0; r < kRows; ++r) {
        for (float& v : init) v = static_cast<float>(rng.Uniform(-0.9, 0.9));
        rows.Write(r, init.data());
      }
      std::vector<float> state(static_cast<size_t>(kRows) * state_floats), grad(static_cast<size_t>(kRows) * kCols);
      for (float& s : state) s = static_cast<float>(rng.Uniform(0.01, 0.2));
      for (float& g : grad) g = static_cast<float>(rng.Uniform(-1, 1));
      std::vector<float> ref_state = state;

      int exact = 0;
      for (int r = 0; r < kRows; ++r) {
        const uint32_t key = static_cast<uint32_t>(Mix64(r));
        std::vector<float> want(kCols), got(kCols);
        rows.Read(r, want.data());
        opt.Apply(h, want.data(), ref_state.data() + r * state_floats, grad.data() + r * kCols, kCols);
        std::vector<uint16_t> bits(kCols);
        NarrowRowStochastic(half, want.data(), kCols, key, kFirstCol, bits.data());
        WidenRow(half, bits.data(), kCols, want.data());

        rows.ApplyOptimizer(opt, h, r, state.data() + r * state_floats, grad.data() + r * kCols, key, kFirstCol);
        rows.Read(r, got.data());
        for (int s = 0; s < state_floats; ++s)
          ASSERT_NEAR(
              state[r * state_floats + s], ref_state[r * state_floats + s],
              1e-7 + 1e-5 * std::abs(ref_state[r * state_floats + s]))  // a few ulps of the operands: FMA or not
              << "row " << r << " state " << s;
        for (int c = 0; c < kCols; ++c) {
          ASSERT_LE(std::abs(got[c] - want[c]), step) << "row " << r << " col " << c;
          exact += got[c] == want[c];
        }
      }
      // Nearly every value agrees bit for bit: a wrong key or column offset
      // would round about half of them the other way.
      EXPECT_GE(exact, kRows * kCols * 95 / 100);
    }
  }
}

}  // namespace
}  // namespace shardrec
