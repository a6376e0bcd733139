// Criteo-shaped synthetic data with a planted click model, so training quality
// can be judged against the best achievable AUC.
//
// Sample i is a pure function of (seed, i): any rank can make any sample, and
// the train stream (indices [0, num_train)) and the eval stream (indices
// num_train + [0, num_eval)) never share a sample.
//
// Planted model (all hidden parameters are hashes of (seed, ...), no tables):
//   logit = bias
//         + 1/sqrt(F) * sum_f mean_{id in bag f} w_f(id)            w ~ id_weight_scale * N(0,1)
//         + 1/sqrt(D) * sum_d v_d * z_d                             v ~ dense_weight_scale * N(0,1)
//         + kPairScale * id_weight_scale * <a_0(bag 0), a_1(bag 1)> / sqrt(K)   (and features 2, 3)
//         + kPairScale * dense_weight_scale * z_0 * u_4(bag 4)      u ~ N(0,1)
// where z_d is dense feature d roughly standardised and a_f(id) are hidden
// K-dimensional vectors: the pair terms are exactly what DLRM's dot interaction
// can express and a linear model cannot. Terms whose features do not exist
// (fewer than 5 categorical or no dense features) are left out.
// label ~ Bernoulli(sigmoid(logit)).
//
// Drift (drift_after_samples = N > 0): samples with index >= N, i.e. the
// training samples from N on and every eval sample, map Zipf ranks to ids with
// a second set of per-feature scramble keys. The hot ids change; the planted
// parameters stay functions of the id, so a model must re-learn which ids
// matter, not what they mean.
#pragma once

#include <cstdint>
#include <vector>

#include "config.pb.h"
#include "shardrec/core/rng.h"
#include "shardrec/data/slicing.h"
#include "shardrec/data/source.h"

namespace shardrec {

// The schema's default: 10 * 10^(6k/25) for k = 0..25 to two significant
// digits (10 .. 10,000,000, log-uniform like Criteo's).
std::vector<uint64_t> DefaultSyntheticCardinalities();

// Bounded Zipf on ranks {0, .., n-1}: P(k) proportional to (k+1)^-s, by
// rejection-inversion (Hoermann & Derflinger), O(1) per draw and O(1) memory
// for any n. s = 0 is uniform.
class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double s);
  uint64_t Sample(CounterRng* rng) const;
  uint64_t n() const { return n_; }

 private:
  double H(double x) const;     // integral of the hat function x^-s
  double HInv(double y) const;  // its inverse
  double h(double x) const;     // x^-s

  uint64_t n_;
  double s_;
  double h_integral_x1_ = 0;
  double h_integral_n_ = 0;
  double squeeze_ = 0;
};

// Keyed bijection of [0, n): alternating Feistel rounds on the smallest power
// of two >= n, cycle-walked back into range.
class IdScrambler {
 public:
  IdScrambler(uint64_t n, uint64_t key);
  // x must be in [0, n) (throws otherwise).
  uint64_t operator()(uint64_t x) const;

 private:
  uint64_t Permute(uint64_t x) const;

  uint64_t n_;
  int low_bits_ = 0;
  int high_bits_ = 0;
  uint64_t low_mask_ = 0;
  uint64_t high_mask_ = 0;
  uint64_t keys_[4] = {};
};

struct SyntheticSample {
  float label = 0.0f;
  double probability = 0.0;       // true click probability
  std::vector<float> dense;       // num_dense, log1p-transformed
  std::vector<uint32_t> offsets;  // num_sparse + 1: bag f is ids[offsets[f] .. offsets[f+1])
  std::vector<uint64_t> ids;
};

class SyntheticModel {
 public:
  // Validates the config (throws shardrec::Error) and fills in defaults.
  explicit SyntheticModel(const config::SyntheticConfig& config);

  // Sample with global index `index` (train: [0, num_train); eval: num_train + j).
  void Generate(uint64_t index, SyntheticSample* sample) const;
  // The hidden weight of id `id` of feature f (before the 1/sqrt(F) scaling).
  double IdWeight(int feature, uint64_t id) const;

  int num_dense() const { return num_dense_; }
  int num_sparse() const { return static_cast<int>(cardinalities_.size()); }
  const std::vector<uint64_t>& cardinalities() const { return cardinalities_; }
  uint64_t num_train() const { return config_.num_train_samples(); }
  uint64_t num_eval() const { return config_.num_eval_samples(); }
  const config::SyntheticConfig& config() const { return config_; }
  // Whether sample `index` uses the post-drift rank -> id map.
  bool PostDrift(uint64_t index) const;

  static constexpr int kPairDim = 4;
  static constexpr double kPairScale = 0.5;

 private:
  struct DenseShape {
    double mu, sigma, missing, center, scale, weight;
  };
  void HiddenVector(int feature, uint64_t id, double* out) const;

  config::SyntheticConfig config_;
  uint64_t seed_;
  int num_dense_;
  std::vector<uint64_t> cardinalities_;
  std::vector<uint32_t> multi_hot_max_;
  std::vector<ZipfSampler> zipf_;
  std::vector<IdScrambler> scramble_;
  std::vector<IdScrambler> drift_scramble_;  // empty without drift
  std::vector<DenseShape> dense_;
};

// A SampleSource over the train (eval = false) or eval stream. Training wraps
// after num_train samples; evaluation ends after num_eval.
class SyntheticSource : public SampleSource {
 public:
  SyntheticSource(const config::SyntheticConfig& config, const SliceSpec& slice, bool eval);

  bool Next(Batch* out) override;
  int num_dense() const override { return model_.num_dense(); }
  int num_sparse() const override { return model_.num_sparse(); }
  std::vector<uint64_t> cardinalities() const override { return model_.cardinalities(); }
  DataStats stats() const override;
  const SyntheticModel& model() const { return model_; }

 private:
  SyntheticModel model_;
  bool eval_;
  BatchCursor cursor_;
  SyntheticSample sample_;
  uint64_t generated_ = 0;
};

struct PlantedOptimum {
  double auc = 0.0;      // AUC of the true probabilities against the drawn labels
  double logloss = 0.0;  // logloss of the true probabilities
  double positive_rate = 0.0;
  uint64_t samples = 0;
};

// The best any model can do on the eval split: the first min(num_eval,
// max_samples) eval samples (max_samples = 0: all of them).
PlantedOptimum PlantedOptimumMetrics(const config::SyntheticConfig& config, uint64_t max_samples);
double PlantedOptimumAuc(const config::SyntheticConfig& config, uint64_t max_samples);

}  // namespace shardrec
