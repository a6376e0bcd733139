#include "shardrec/optim/dense_optimizer.h"

#include <cmath>
#include <cstring>
#include <type_traits>

#include "shardrec/core/error.h"

namespace shardrec {

namespace {

// Byte layout of the saved state (native byte order, which every supported host shares):
//   "SRDOPT01" | u32 type | u64 num_params | per param: u32 name length, name, u64 size |
//   u32 num_slots | slot-major float data | u64 FNV-1a of everything before it.
constexpr char kMagic[8] = {'S', 'R', 'D', 'O', 'P', 'T', '0', '1'};

uint64_t Fnv1a(const char* data, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(data[i])) * 1099511628211ull;
  return h;
}

class Writer {
 public:
  template <typename P>
  void Pod(const P& v) {
    static_assert(std::is_trivially_copyable_v<P>);
    Bytes(&v, sizeof(v));
  }
  void Bytes(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string Finish() {
    Pod(Fnv1a(out_.data(), out_.size()));
    return std::move(out_);
  }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(const std::string& in) : in_(in) {}
  template <typename P>
  P Pod(const char* what) {
    P v;
    Bytes(&v, sizeof(v), what);
    return v;
  }
  void Bytes(void* p, size_t n, const char* what) {
    if (in_.size() - pos_ < n) {
      SR_THROW() << "optimizer state is truncated: " << what << " needs " << n << " bytes at offset " << pos_
                 << " but only " << in_.size() - pos_ << " remain";
    }
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
  }
  size_t pos() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  const std::string& in_;
  size_t pos_ = 0;
};

void CheckUnit(double v, const char* key) {
  if (!(v >= 0 && v < 1)) SR_THROW() << "optimizer." << key << " must be in [0, 1), got " << v;
}

}  // namespace

DenseOptimizer::DenseOptimizer(const config::DenseOptimizerConfig& config, uint64_t total_steps)
    : type_(config.type()),
      beta1_(config.beta1()),
      beta2_(config.beta2()),
      eps_(config.eps()),
      weight_decay_(config.weight_decay()),
      initial_accumulator_(config.initial_accumulator()),
      schedule_(config, total_steps) {
  if (!config::DenseOptimizerType_IsValid(type_)) SR_THROW() << "optimizer.type " << int(type_) << " is unknown";
  CheckUnit(beta1_, "beta1");
  CheckUnit(beta2_, "beta2");
  if (!(eps_ >= 0)) SR_THROW() << "optimizer.eps must be >= 0, got " << eps_;
  if (!(weight_decay_ >= 0)) SR_THROW() << "optimizer.weight_decay must be >= 0, got " << weight_decay_;
  if (!(initial_accumulator_ >= 0)) {
    SR_THROW() << "optimizer.initial_accumulator must be >= 0, got " << initial_accumulator_;
  }
  if (type_ == config::ADAGRAD && eps_ == 0 && initial_accumulator_ == 0) {
    SR_THROW() << "optimizer.eps and optimizer.initial_accumulator are both 0: Adagrad's first step would divide "
                  "by zero wherever a gradient is 0";
  }
}

int DenseOptimizer::NumSlots() const {
  switch (type_) {
    case config::ADAGRAD: return 1;
    case config::ADAM:
    case config::ADAMW: return 2;
    default: return 0;
  }
}

void DenseOptimizer::Bind(const std::vector<ParamRef<float>>& params) {
  if (bound_) {
    SR_CHECK(params.size() == names_.size())
        << "the optimizer was bound to " << names_.size() << " parameters but got " << params.size();
    for (size_t i = 0; i < params.size(); ++i) {
      SR_CHECK(params[i].name == names_[i] && params[i].size == sizes_[i])
          << "parameter " << i << " is " << params[i].name << " (" << params[i].size << " values) but the optimizer "
          << "was bound to " << names_[i] << " (" << sizes_[i] << " values)";
    }
    return;
  }
  names_.clear();
  sizes_.clear();
  for (const auto& p : params) {
    names_.push_back(p.name);
    sizes_.push_back(p.size);
  }
  slots_.assign(NumSlots(), {});
  for (int k = 0; k < NumSlots(); ++k) {
    const float init = (type_ == config::ADAGRAD) ? static_cast<float>(initial_accumulator_) : 0.f;
    for (size_t n : sizes_) slots_[k].push_back(Vec<float>::Constant(static_cast<Eigen::Index>(n), init));
  }
  bound_ = true;
}

void DenseOptimizer::Step(const std::vector<ParamRef<float>>& params, uint64_t step) {
  Bind(params);
  const double lr = LearningRate(step);
  const float flr = static_cast<float>(lr);
  const float eps = static_cast<float>(eps_);
  // AdamW's decay is applied to the weights directly, never through the gradient.
  const float l2 = static_cast<float>(type_ == config::ADAMW ? 0.0 : weight_decay_);
  const double t = static_cast<double>(step) + 1;
  const float b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
  const float adam_step = static_cast<float>(lr / (1 - std::pow(beta1_, t)));
  const float inv_sqrt_bc2 = static_cast<float>(1 / std::sqrt(1 - std::pow(beta2_, t)));
  const float decoupled = static_cast<float>(1 - lr * weight_decay_);

  for (size_t i = 0; i < params.size(); ++i) {
    SR_CHECK(params[i].value != nullptr && params[i].grad != nullptr) << params[i].name << " has no storage";
    const auto n = static_cast<Eigen::Index>(params[i].size);
    auto w = VecMap<float>(params[i].value, n).array();
    const auto g = Eigen::Map<const Vec<float>>(params[i].grad, n).array() + l2 * w;
    switch (type_) {
      case config::SGD: w -= flr * g; break;
      case config::ADAGRAD: {
        auto acc = slots_[0][i].array();
        acc += g.square();
        w -= flr * g / (acc.sqrt() + eps);
        break;
      }
      case config::ADAM:
      case config::ADAMW: {
        auto m = slots_[0][i].array();
        auto v = slots_[1][i].array();
        m = b1 * m + (1 - b1) * g;
        v = b2 * v + (1 - b2) * g.square();
        if (type_ == config::ADAMW) w *= decoupled;
        w -= adam_step * m / (v.sqrt() * inv_sqrt_bc2 + eps);
        break;
      }
      default: SR_THROW() << "unhandled optimizer type " << int(type_);
    }
  }
}

std::string DenseOptimizer::SaveState(const std::vector<ParamRef<float>>& params) {
  Bind(params);
  Writer out;
  out.Bytes(kMagic, sizeof(kMagic));
  out.Pod(static_cast<uint32_t>(type_));
  out.Pod(static_cast<uint64_t>(names_.size()));
  for (size_t i = 0; i < names_.size(); ++i) {
    out.Pod(static_cast<uint32_t>(names_[i].size()));
    out.Bytes(names_[i].data(), names_[i].size());
    out.Pod(static_cast<uint64_t>(sizes_[i]));
  }
  out.Pod(static_cast<uint32_t>(slots_.size()));
  for (const auto& slot : slots_) {
    for (const auto& s : slot) out.Bytes(s.data(), sizeof(float) * s.size());
  }
  return out.Finish();
}

void DenseOptimizer::LoadState(const std::string& bytes, const std::vector<ParamRef<float>>& params) {
  // The checksum first, so that corruption anywhere is reported as such rather than as
  // whatever inconsistency it happens to cause.
  if (bytes.size() < sizeof(kMagic) + sizeof(uint64_t) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    SR_THROW() << "not a shardrec dense-optimizer state (" << bytes.size() << " bytes, bad header)";
  }
  const size_t body = bytes.size() - sizeof(uint64_t);
  uint64_t stored_sum;
  std::memcpy(&stored_sum, bytes.data() + body, sizeof(stored_sum));
  if (Fnv1a(bytes.data(), body) != stored_sum) SR_THROW() << "dense-optimizer state is corrupt (checksum mismatch)";

  Reader in(bytes);
  char magic[sizeof(kMagic)];
  in.Bytes(magic, sizeof(magic), "header");
  const auto type = static_cast<config::DenseOptimizerType>(in.Pod<uint32_t>("optimizer type"));
  if (type != type_) {
    SR_THROW() << "dense-optimizer state was saved by " << config::DenseOptimizerType_Name(type)
               << " but this run's optimizer.type is " << config::DenseOptimizerType_Name(type_);
  }
  const auto count = in.Pod<uint64_t>("parameter count");
  if (count != params.size()) {
    SR_THROW() << "dense-optimizer state holds " << count << " parameters but the model has " << params.size();
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const auto len = in.Pod<uint32_t>("name length");
    if (len > in.remaining()) SR_THROW() << "optimizer state is truncated inside parameter " << i << "'s name";
    std::string name(len, '\0');
    in.Bytes(name.data(), len, "name");
    const auto size = in.Pod<uint64_t>("parameter size");
    if (name != params[i].name || size != params[i].size) {
      SR_THROW() << "dense-optimizer state parameter " << i << " is " << name << " (" << size
                 << " values) but the model's is " << params[i].name << " (" << params[i].size << " values)";
    }
  }
  const auto num_slots = in.Pod<uint32_t>("slot count");
  if (static_cast<int>(num_slots) != NumSlots()) {
    SR_THROW() << "dense-optimizer state has " << num_slots << " state slots, expected " << NumSlots();
  }
  std::vector<std::vector<Vec<float>>> slots(num_slots);
  for (auto& slot : slots) {
    for (const auto& p : params) {
      slot.emplace_back(static_cast<Eigen::Index>(p.size));
      in.Bytes(slot.back().data(), sizeof(float) * p.size, "state values");
    }
  }
  if (in.pos() != body) {
    SR_THROW() << "dense-optimizer state has " << body - in.pos() << " unexpected trailing bytes";
  }
  bound_ = false;
  Bind(params);
  slots_ = std::move(slots);
}

}  // namespace shardrec
