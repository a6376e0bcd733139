#include "shardrec/data/synthetic.h"

#include <algorithm>
#include <cmath>

#include "batch_fill.h"
#include "shardrec/core/error.h"
#include "shardrec/core/metrics.h"
#include "shardrec/data/criteo_tsv.h"

namespace shardrec {
namespace {

// Stream tags keep the independent random quantities apart.
constexpr uint64_t kSampleStream = 0x53414d504c45ull;  // per-sample draws
constexpr uint64_t kIdWeightSalt = 0x57454947ull;
constexpr uint64_t kPairSalt = 0x50414952ull;
constexpr uint64_t kCrossSalt = 0x43524f53ull;
constexpr uint64_t kDenseShapeSalt = 0x44454e53ull;
constexpr uint64_t kScrambleSalt = 0x5343524dull;
constexpr uint64_t kDriftScrambleSalt = 0x4452494654ull;  // post-drift rank -> id keys
constexpr int kDenseCalibrationDraws = 4096;

// (e^t - 1) / t and log(1 + t) / t, accurate near t = 0 where the Zipf
// integrals for s close to 1 would otherwise cancel.
double ExpM1OverT(double t) { return std::abs(t) > 1e-8 ? std::expm1(t) / t : 1.0 + 0.5 * t; }
double Log1pOverT(double t) { return std::abs(t) > 1e-8 ? std::log1p(t) / t : 1.0 - 0.5 * t; }

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

std::vector<uint64_t> DefaultSyntheticCardinalities() {
  // 10 * 10^(6k/25), k = 0..25, to two significant digits: the schema's
  // documented default (and the config layer's), log-uniform like Criteo's.
  std::vector<uint64_t> out;
  for (int k = 0; k < 26; ++k) {
    const double v = 10.0 * std::pow(10.0, 6.0 * k / 25.0);
    const double unit = std::pow(10.0, std::floor(std::log10(v) + 1e-9) - 1.0);
    out.push_back(static_cast<uint64_t>(std::llround(std::round(v / unit) * unit)));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Zipf by rejection-inversion. Ranks are 1-based inside (k = 1..n) and
// returned 0-based. The hat is the continuous density x^-s; the sample is
// x = H^-1(u) rounded, accepted when u lies in rank k's slice of width h(k)
// just below H(k + 1/2), or when it is close enough to k that it must.

ZipfSampler::ZipfSampler(uint64_t n, double s) : n_(n), s_(s) {
  SR_CHECK(n >= 1) << "Zipf over an empty range";
  SR_CHECK(s >= 0.0 && std::isfinite(s)) << "Zipf exponent " << s;
  if (s_ == 0.0) return;
  h_integral_x1_ = H(1.5) - 1.0;
  h_integral_n_ = H(static_cast<double>(n_) + 0.5);
  squeeze_ = 2.0 - HInv(H(2.5) - h(2.0));
}

double ZipfSampler::h(double x) const { return std::exp(-s_ * std::log(x)); }

double ZipfSampler::H(double x) const {
  const double lx = std::log(x);
  return ExpM1OverT((1.0 - s_) * lx) * lx;
}

double ZipfSampler::HInv(double y) const {
  const double t = std::max((1.0 - s_) * y, -1.0 + 1e-15);
  return std::exp(Log1pOverT(t) * y);
}

uint64_t ZipfSampler::Sample(CounterRng* rng) const {
  if (s_ == 0.0 || n_ == 1) return rng->Below(n_);
  for (;;) {
    const double u = h_integral_n_ + rng->Uniform() * (h_integral_x1_ - h_integral_n_);
    const double x = HInv(u);
    double kd = std::floor(x + 0.5);
    kd = std::min(std::max(kd, 1.0), static_cast<double>(n_));
    if (kd - x <= squeeze_ || u >= H(kd + 0.5) - h(kd)) return static_cast<uint64_t>(kd) - 1;
  }
}

// ---------------------------------------------------------------------------

IdScrambler::IdScrambler(uint64_t n, uint64_t key) : n_(n) {
  if (n_ <= 1) return;
  int bits = 0;
  while (bits < 64 && (uint64_t{1} << bits) < n_) ++bits;
  // Domain 2^bits < 2n, so cycle-walking takes fewer than 2 steps on average.
  low_bits_ = bits / 2;
  high_bits_ = bits - low_bits_;
  low_mask_ = (uint64_t{1} << low_bits_) - 1;
  high_mask_ = (uint64_t{1} << high_bits_) - 1;
  for (int i = 0; i < 4; ++i) keys_[i] = Hash3(key, kScrambleSalt, static_cast<uint64_t>(i));
}

// Alternating Feistel rounds on the two (possibly unequal) halves: each round
// XORs one half with a keyed function of the other, so each is invertible.
uint64_t IdScrambler::Permute(uint64_t x) const {
  uint64_t high = x >> low_bits_;
  uint64_t low = x & low_mask_;
  high ^= Mix64(low ^ keys_[0]) & high_mask_;
  low ^= Mix64(high ^ keys_[1]) & low_mask_;
  high ^= Mix64(low ^ keys_[2]) & high_mask_;
  low ^= Mix64(high ^ keys_[3]) & low_mask_;
  return (high << low_bits_) | low;
}

uint64_t IdScrambler::operator()(uint64_t x) const {
  // Outside [0, n) a cycle may never come back below n: refuse rather than spin.
  SR_CHECK(x < n_ || n_ == 0) << "id " << x << " outside the scrambled range [0, " << n_ << ")";
  if (n_ <= 1) return x;
  // The permutation's cycle through x < n returns below n; walking it keeps bijectivity.
  uint64_t y = Permute(x);
  while (y >= n_) y = Permute(y);
  return y;
}

// ---------------------------------------------------------------------------

SyntheticModel::SyntheticModel(const config::SyntheticConfig& config) : config_(config) {
  if (config_.cardinalities_size() == 0) {
    for (uint64_t c : DefaultSyntheticCardinalities()) config_.add_cardinalities(c);
  }
  const int f_count = config_.cardinalities_size();
  if (config_.num_train_samples() < 1) SR_THROW() << "synthetic: num_train_samples must be at least 1";
  if (config_.num_eval_samples() < 1) SR_THROW() << "synthetic: num_eval_samples must be at least 1";
  if (config_.num_dense() > 4096) SR_THROW() << "synthetic: num_dense " << config_.num_dense() << " exceeds 4096";
  if (!(config_.zipf_exponent() >= 0.0) || !std::isfinite(config_.zipf_exponent()))
    SR_THROW() << "synthetic: zipf_exponent must be finite and >= 0, got " << config_.zipf_exponent();
  if (config_.multi_hot_max_size() != 0 && config_.multi_hot_max_size() != f_count) {
    SR_THROW() << "synthetic: multi_hot_max has " << config_.multi_hot_max_size() << " entries but there are "
               << f_count << " categorical features (give one per feature, or none)";
  }
  if (config_.drift_after_samples() >= config_.num_train_samples()) {
    SR_THROW() << "synthetic: drift_after_samples (" << config_.drift_after_samples()
               << ") must be less than num_train_samples (" << config_.num_train_samples()
               << "); 0 turns the drift off";
  }
  seed_ = config_.seed();
  num_dense_ = static_cast<int>(config_.num_dense());
  for (int f = 0; f < f_count; ++f) {
    const uint64_t c = config_.cardinalities(f);
    if (c < 1 || c > (uint64_t{1} << 62)) SR_THROW() << "synthetic: cardinality of feature " << f << " is " << c;
    const uint32_t m = config_.multi_hot_max_size() == 0 ? 1 : config_.multi_hot_max(f);
    if (m < 1 || m > 4096) SR_THROW() << "synthetic: multi_hot_max of feature " << f << " is " << m << " (1..4096)";
    cardinalities_.push_back(c);
    multi_hot_max_.push_back(m);
    zipf_.emplace_back(c, config_.zipf_exponent());
    scramble_.emplace_back(c, Hash3(seed_, kScrambleSalt, static_cast<uint64_t>(f)));
    if (config_.drift_after_samples() > 0) {
      drift_scramble_.emplace_back(c, Hash3(seed_, kDriftScrambleSalt, static_cast<uint64_t>(f)));
    }
  }
  // Dense features: counts with a lognormal body, a per-feature missing rate,
  // and a fixed standardisation measured once so z_d has mean ~0 and std ~1.
  for (int d = 0; d < num_dense_; ++d) {
    CounterRng r(seed_, kDenseShapeSalt, static_cast<uint64_t>(d));
    DenseShape s{};
    s.mu = r.Uniform(0.5, 5.0);
    s.sigma = r.Uniform(0.7, 1.8);
    s.missing = r.Uniform(0.0, 0.4);
    s.weight = config_.dense_weight_scale() * r.Normal();
    double sum = 0.0, sum2 = 0.0;
    CounterRng cal(seed_, kDenseShapeSalt + 1, static_cast<uint64_t>(d));
    for (int i = 0; i < kDenseCalibrationDraws; ++i) {
      double v = 0.0;
      if (cal.Uniform() >= s.missing) {
        const double raw = std::floor(std::exp(s.mu + s.sigma * cal.Normal()));
        v = CriteoDenseTransform(static_cast<int64_t>(std::min(raw, 1e15)));
      }
      sum += v;
      sum2 += v * v;
    }
    s.center = sum / kDenseCalibrationDraws;
    s.scale = std::sqrt(std::max(sum2 / kDenseCalibrationDraws - s.center * s.center, 1e-6));
    dense_.push_back(s);
  }
}

double SyntheticModel::IdWeight(int feature, uint64_t id) const {
  CounterRng r(Hash3(seed_ ^ kIdWeightSalt, static_cast<uint64_t>(feature), id));
  return config_.id_weight_scale() * r.Normal();
}

void SyntheticModel::HiddenVector(int feature, uint64_t id, double* out) const {
  CounterRng r(Hash3(seed_ ^ kPairSalt, static_cast<uint64_t>(feature), id));
  for (int k = 0; k < kPairDim; ++k) out[k] = r.Normal();
}

bool SyntheticModel::PostDrift(uint64_t index) const {
  const uint64_t drift = config_.drift_after_samples();
  return drift > 0 && index >= drift;  // eval indices start at num_train > drift
}

void SyntheticModel::Generate(uint64_t index, SyntheticSample* sample) const {
  CounterRng rng(seed_, kSampleStream, index);
  const int f_count = num_sparse();
  // Only the rank -> id map changes at the drift; the draws and the planted
  // per-id parameters do not.
  const std::vector<IdScrambler>& scramble = PostDrift(index) ? drift_scramble_ : scramble_;
  sample->offsets.resize(static_cast<size_t>(f_count) + 1);
  sample->ids.clear();
  sample->offsets[0] = 0;
  for (int f = 0; f < f_count; ++f) {
    const uint32_t len = multi_hot_max_[f] > 1 ? 1 + static_cast<uint32_t>(rng.Below(multi_hot_max_[f])) : 1;
    for (uint32_t j = 0; j < len; ++j) sample->ids.push_back(scramble[f](zipf_[f].Sample(&rng)));
    sample->offsets[f + 1] = static_cast<uint32_t>(sample->ids.size());
  }
  sample->dense.resize(static_cast<size_t>(num_dense_));
  for (int d = 0; d < num_dense_; ++d) {
    const DenseShape& s = dense_[d];
    float v = 0.0f;
    if (rng.Uniform() >= s.missing) {
      const double raw = std::floor(std::exp(s.mu + s.sigma * rng.Normal()));
      v = CriteoDenseTransform(static_cast<int64_t>(std::min(raw, 1e15)));
    }
    sample->dense[d] = v;
  }

  // Planted logit.
  auto bag = [&](int f) { return std::pair<uint32_t, uint32_t>(sample->offsets[f], sample->offsets[f + 1]); };
  auto z = [&](int d) { return (sample->dense[d] - dense_[d].center) / dense_[d].scale; };
  double logit = config_.bias();
  if (f_count > 0) {
    double sum = 0.0;
    for (int f = 0; f < f_count; ++f) {
      const auto [b, e] = bag(f);
      double w = 0.0;
      for (uint32_t j = b; j < e; ++j) w += IdWeight(f, sample->ids[j]);
      sum += w / (e - b);
    }
    logit += sum / std::sqrt(static_cast<double>(f_count));
  }
  if (num_dense_ > 0) {
    double sum = 0.0;
    for (int d = 0; d < num_dense_; ++d) sum += dense_[d].weight * z(d);
    logit += sum / std::sqrt(static_cast<double>(num_dense_));
  }
  auto pooled_vector = [&](int f, double* out) {
    std::fill(out, out + kPairDim, 0.0);
    double v[kPairDim];
    const auto [b, e] = bag(f);
    for (uint32_t j = b; j < e; ++j) {
      HiddenVector(f, sample->ids[j], v);
      for (int k = 0; k < kPairDim; ++k) out[k] += v[k] / (e - b);
    }
  };
  for (int pair = 0; pair < 2 && 2 * pair + 1 < f_count; ++pair) {
    double a[kPairDim], b[kPairDim];
    pooled_vector(2 * pair, a);
    pooled_vector(2 * pair + 1, b);
    double dot = 0.0;
    for (int k = 0; k < kPairDim; ++k) dot += a[k] * b[k];
    logit += kPairScale * config_.id_weight_scale() * dot / std::sqrt(static_cast<double>(kPairDim));
  }
  if (num_dense_ > 0 && f_count > 4) {
    const auto [b, e] = bag(4);
    double u = 0.0;
    for (uint32_t j = b; j < e; ++j) {
      CounterRng r(Hash3(seed_ ^ kCrossSalt, 4, sample->ids[j]));
      u += r.Normal() / (e - b);
    }
    logit += kPairScale * config_.dense_weight_scale() * z(0) * u;
  }
  sample->probability = Sigmoid(logit);
  sample->label = rng.Uniform() < sample->probability ? 1.0f : 0.0f;
}

// ---------------------------------------------------------------------------

SyntheticSource::SyntheticSource(const config::SyntheticConfig& config, const SliceSpec& slice, bool eval)
    : model_(config), eval_(eval), cursor_(slice, eval ? model_.num_eval() : model_.num_train()) {}

bool SyntheticSource::Next(Batch* out) {
  uint64_t first, last;
  if (!cursor_.Next(&first, &last)) return false;
  const int64_t rows = static_cast<int64_t>(last - first);
  const int f_count = model_.num_sparse();
  const int d_count = model_.num_dense();
  data_internal::ResetBatch(out, rows, d_count, f_count);
  int64_t row = 0;
  for (uint64_t p = first; p < last; ++p, ++row) {
    const uint64_t index = eval_ ? model_.num_train() + p : p % model_.num_train();
    model_.Generate(index, &sample_);
    out->labels.push_back(sample_.label);
    for (int d = 0; d < d_count; ++d) out->dense(row, d) = sample_.dense[d];
    for (int f = 0; f < f_count; ++f) {
      JaggedIds& jag = out->sparse[f];
      const uint32_t b = sample_.offsets[f], e = sample_.offsets[f + 1];
      jag.lengths.push_back(static_cast<int32_t>(e - b));
      jag.values.insert(jag.values.end(), sample_.ids.begin() + b, sample_.ids.begin() + e);
    }
  }
  generated_ += static_cast<uint64_t>(rows);
  data_internal::FinishBatch(out, rows, static_cast<int64_t>(first));
  return true;
}

DataStats SyntheticSource::stats() const {
  DataStats s;
  s.lines_read = generated_;
  return s;
}

// ---------------------------------------------------------------------------

PlantedOptimum PlantedOptimumMetrics(const config::SyntheticConfig& config, uint64_t max_samples) {
  const SyntheticModel model(config);
  const uint64_t n = max_samples == 0 ? model.num_eval() : std::min(model.num_eval(), max_samples);
  std::vector<float> probs(n), labels(n);
  SyntheticSample s;
  double positives = 0.0;
  for (uint64_t j = 0; j < n; ++j) {
    model.Generate(model.num_train() + j, &s);
    probs[j] = static_cast<float>(s.probability);
    labels[j] = s.label;
    positives += s.label;
  }
  PlantedOptimum out;
  out.samples = n;
  out.auc = BinaryAuc(probs, labels);
  out.logloss = LogLoss(probs, labels);
  out.positive_rate = n == 0 ? 0.0 : positives / static_cast<double>(n);
  return out;
}

double PlantedOptimumAuc(const config::SyntheticConfig& config, uint64_t max_samples) {
  return PlantedOptimumMetrics(config, max_samples).auc;
}

}  // namespace shardrec
