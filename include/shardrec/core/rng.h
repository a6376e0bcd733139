// Counter-based randomness. Every random quantity in shardrec is a pure
// function of (seed, stream, index): an embedding row's initial value does not
// depend on which rank owns it, and sample i of a synthetic stream is the same
// whichever rank generates it. That is what makes -n 1 and -n N runs, and
// resumed runs, produce the same numbers.
#pragma once

#include <cmath>
#include <cstdint>

namespace shardrec {

// SplitMix64 finaliser: a bijective 64-bit mix with good avalanche.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline uint64_t HashCombine(uint64_t a, uint64_t b) { return Mix64(a ^ Mix64(b)); }

inline uint64_t Hash3(uint64_t a, uint64_t b, uint64_t c) { return HashCombine(HashCombine(a, b), c); }

// A small sequential generator seeded from a key; use one per (seed, stream, index).
class CounterRng {
 public:
  explicit CounterRng(uint64_t key) : key_(key) {}
  CounterRng(uint64_t seed, uint64_t stream, uint64_t index) : key_(Hash3(seed, stream, index)) {}

  uint64_t NextU64() { return Mix64(key_ + 0xD1B54A32D192ED03ull * (++counter_)); }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(NextU64() >> 11) * (1.0 / 9007199254740992.0); }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Standard normal (Box-Muller; uses two draws).
  double Normal() {
    double u1 = Uniform();
    double u2 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : NextU64() % n; }

 private:
  uint64_t key_;
  uint64_t counter_ = 0;
};

}  // namespace shardrec
