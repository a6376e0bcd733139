#include "dnnl_gemm.h"

#include <omp.h>

#include <algorithm>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

#include "operand_rounding.h"
#include "shardrec/core/error.h"
#include "shardrec/core/half_rows.h"
#include "shardrec/core/log.h"

// oneDNN sizes its thread team when a primitive is created and runs it on its
// threading runtime; with OpenMP (Debian's build) that team is
// omp_get_max_threads(), so omp_set_num_threads / train.threads bound it.
#if DNNL_CPU_THREADING_RUNTIME != DNNL_RUNTIME_OMP
#warning "oneDNN is not built on OpenMP: omp_set_num_threads will not bound its matmul threads"
#endif

namespace shardrec::gemm_detail {
using kernels::BitsOf;
using kernels::FloatOf;
namespace {

// One cached product: everything a matmul primitive is specialised for. The
// thread count is part of it because oneDNN plans its work split per primitive.
// bf16 operands are converted to contiguous blocks, so their lda/ldb are 0 here.
// A dimension that changes from call to call (GemmOptions::rows_vary: the token
// count of jagged batches) is left to run time, kRuntime here, so that one
// primitive serves every size: creating one costs ~0.25 ms, as much as a small
// product, and a primitive per size would cost that every step.
constexpr int64_t kRuntime = DNNL_RUNTIME_DIM_VAL;
struct Key {
  int64_t m, n, k, lda, ldb, ldc;
  bool bf16, trans_a, trans_b, bias, relu;
  uint32_t alpha_bits, beta_bits;
  int threads;

  bool operator==(const Key& o) const {
    return m == o.m && n == o.n && k == o.k && lda == o.lda && ldb == o.ldb && ldc == o.ldc && bf16 == o.bf16 &&
           trans_a == o.trans_a && trans_b == o.trans_b && bias == o.bias && relu == o.relu &&
           alpha_bits == o.alpha_bits && beta_bits == o.beta_bits && threads == o.threads;
  }
};

struct KeyHash {
  size_t operator()(const Key& key) const {
    size_t h = 0;
    auto mix = [&h](uint64_t v) { h ^= std::hash<uint64_t>()(v) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2); };
    for (int64_t v : {key.m, key.n, key.k, key.lda, key.ldb, key.ldc}) mix(static_cast<uint64_t>(v));
    mix((uint64_t{key.bf16} << 4) | (uint64_t{key.trans_a} << 3) | (uint64_t{key.trans_b} << 2) |
        (uint64_t{key.bias} << 1) | uint64_t{key.relu});
    mix((uint64_t{key.alpha_bits} << 32) | key.beta_bits);
    mix(static_cast<uint64_t>(key.threads));
    return h;
  }
};

struct Descs {
  dnnl::memory::desc a, b, bias, c;
};

// The memory descriptors of a product; m and k (and so the strides of
// contiguous bf16 operands that follow from them) may be kRuntime.
Descs MakeDescs(const Key& key, int64_t m, int64_t k) {
  using dims = dnnl::memory::dims;
  using dt = dnnl::memory::data_type;
  const dt operand = key.bf16 ? dt::bf16 : dt::f32;
  // A transpose is only a choice of strides; oneDNN's kernels take either layout.
  const int64_t lda = key.bf16 ? (key.trans_a ? m : k) : key.lda;
  const int64_t ldb = key.bf16 ? (key.trans_b ? k : key.n) : key.ldb;
  Descs d;
  d.a = dnnl::memory::desc({m, k}, operand, key.trans_a ? dims{1, lda} : dims{lda, 1});
  d.b = dnnl::memory::desc({k, key.n}, operand, key.trans_b ? dims{1, ldb} : dims{ldb, 1});
  if (key.bias) d.bias = dnnl::memory::desc({1, key.n}, dt::f32, dims{key.n, 1});
  d.c = dnnl::memory::desc({m, key.n}, dt::f32, dims{key.ldc, 1});
  return d;
}

struct Matmul {
  dnnl::matmul primitive;
};

// Never destroyed: oneDNN's own globals may be gone by the time static
// destructors run, and the process is ending anyway.
dnnl::engine& Engine() {
  static auto* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

// Null (with *why_not set) when oneDNN has no real kernel for the product.
std::shared_ptr<const Matmul> Create(const Key& key, std::string* why_not) {
  const char* type_name = key.bf16 ? "bf16" : "fp32";
  if (key.bf16) {
    // Without AVX512-BF16 (or AMX) oneDNN still runs bf16 on AVX-512 CPUs by
    // emulating the instructions (Skylake-SP, Cascade Lake): measured here with
    // ONEDNN_MAX_CPU_ISA=AVX512_CORE at 0.4-0.5x fp32, slower than the fallback.
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto native_bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    if ((isa & native_bf16) != native_bf16) {
      *why_not = "the CPU has no AVX512-BF16, which oneDNN would emulate more slowly than fp32";
      return nullptr;
    }
  }
  const Descs d = MakeDescs(key, key.m, key.k);
  dnnl::primitive_attr attr;
  const float alpha = FloatOf(key.alpha_bits), beta = FloatOf(key.beta_bits);
  // The caller fuses a bias only with alpha == 1, where oneDNN's order of
  // output scale and bias cannot matter.
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  dnnl::post_ops ops;
  if (beta != 0.0f) ops.append_sum(beta);
  if (key.relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  attr.set_post_ops(ops);
  try {
    const dnnl::matmul::primitive_desc pd(
        key.bias ? dnnl::matmul::desc(d.a, d.b, d.bias, d.c) : dnnl::matmul::desc(d.a, d.b, d.c), attr, Engine());
    const std::string impl = pd.impl_info_str();
    // A reference kernel is a plain loop nest, far slower than the fallback.
    if (impl.rfind("ref", 0) == 0) {
      *why_not = Str("oneDNN has only its reference ", type_name, " matmul (", impl, ") on this CPU");
      return nullptr;
    }
    return std::make_shared<const Matmul>(Matmul{dnnl::matmul(pd)});
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented) {
      *why_not = Str("oneDNN has no ", type_name, " matmul kernel for this CPU");
      return nullptr;
    }
    SR_THROW() << "gemm: creating oneDNN's " << type_name << " matmul for " << key.m << "x" << key.k << " * " << key.k
               << "x" << key.n << " failed: " << e.what();
  }
  return nullptr;  // not reached: SR_THROW throws
}

// Primitives by product, least recently used dropped beyond kCapacity.
class PrimitiveCache {
 public:
  std::shared_ptr<const Matmul> Get(const Key& key, std::string* why_not) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.pos);
      *why_not = it->second.why_not;
      return it->second.matmul;
    }
    Entry entry;
    entry.matmul = Create(key, &entry.why_not);
    *why_not = entry.why_not;
    if (map_.size() >= kCapacity) {
      map_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(key);
    entry.pos = lru_.begin();
    return map_.emplace(key, std::move(entry)).first->second.matmul;
  }

  size_t Size() {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& [key, entry] : map_) n += entry.matmul != nullptr;
    return n;
  }

 private:
  static constexpr size_t kCapacity = 256;
  struct Entry {
    std::shared_ptr<const Matmul> matmul;  // null: no kernel, fall back
    std::string why_not;
    std::list<Key>::iterator pos;
  };
  std::mutex mu_;
  std::list<Key> lru_;  // most recently used first
  std::unordered_map<Key, Entry, KeyHash> map_;
};

PrimitiveCache& Cache() {
  static auto* cache = new PrimitiveCache();  // never destroyed, as Engine()
  return *cache;
}

}  // namespace

bool DnnlGemm(ComputeType type, Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
              const GemmOptions<float>& options, std::string* why_not) {
  SR_CHECK(type == ComputeType::kFp32 || type == ComputeType::kBf16)
      << "gemm: oneDNN runs fp32 and bf16 products, not " << ComputeTypeName(type);
  const bool bf16 = type == ComputeType::kBf16, ta = trans_a == Trans::kYes, tb = trans_b == Trans::kYes;
  // A's stored rows are M, or K when A is transposed.
  const bool runtime_m = options.rows_vary && !ta, runtime_k = options.rows_vary && ta;
  const Key key{runtime_m ? kRuntime : m,
                n,
                runtime_k ? kRuntime : k,
                bf16 ? 0 : lda,
                bf16 ? 0 : ldb,
                ldc,
                bf16,
                ta,
                tb,
                options.bias != nullptr,
                options.relu,
                BitsOf(alpha),
                BitsOf(beta),
                omp_get_max_threads()};
  const std::shared_ptr<const Matmul> mm = Cache().Get(key, why_not);
  if (mm == nullptr) return false;
  const void* a_data = a;
  const void* b_data = b;
  if (bf16) {
    // Per-thread buffers, kept at their largest size: a fresh allocation of
    // tens of MB per product would cost a page fault per 4 KiB.
    thread_local std::vector<uint16_t> a16, b16;
    const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
    const int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
    a16.resize(static_cast<size_t>(a_rows * a_cols));
    b16.resize(static_cast<size_t>(b_rows * b_cols));
    ToBf16Bits(a, a_rows, a_cols, lda, a16.data());
    ToBf16Bits(b, b_rows, b_cols, ldb, b16.data());
    a_data = a16.data();
    b_data = b16.data();
  }
  // Memory descriptors with the actual sizes; they match the primitive's,
  // which may leave m and k to run time. oneDNN's memory objects take
  // non-const handles; it does not write inputs.
  const Descs d = MakeDescs(key, m, k);
  dnnl::memory am(d.a, Engine(), const_cast<void*>(a_data));
  dnnl::memory bm(d.b, Engine(), const_cast<void*>(b_data));
  dnnl::memory cm(d.c, Engine(), c);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
  if (options.bias != nullptr) {
    args.emplace(DNNL_ARG_BIAS, dnnl::memory(d.bias, Engine(), const_cast<float*>(options.bias)));
  }
  try {
    dnnl::stream stream(Engine());
    mm->primitive.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    SR_THROW() << "gemm: oneDNN's " << ComputeTypeName(type) << " matmul for " << m << "x" << k << " * " << k << "x"
               << n << " failed: " << e.what();
  }
  return true;
}

size_t DnnlCachedPrimitives() { return Cache().Size(); }

}  // namespace shardrec::gemm_detail
