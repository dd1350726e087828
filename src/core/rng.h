// Seeded random numbers. The generator's whole state is two 64-bit words so
// it can be saved in a checkpoint and restored exactly.
#pragma once
#include <cmath>
#include <cstdint>

namespace peft {

// xoshiro128-style generator built on splitmix64 seeding: fast, good enough
// for initialisation, dropout and sampling, and fully reproducible.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed) {
    uint64_t z = seed;
    s0_ = splitmix(z);
    s1_ = splitmix(z);
    if (s0_ == 0 && s1_ == 0) s1_ = 1;
  }
  // xorshift128+ step.
  uint64_t next_u64() {
    uint64_t a = s0_, b = s1_;
    s0_ = b;
    a ^= a << 23;
    s1_ = a ^ b ^ (a >> 17) ^ (b >> 26);
    return s1_ + b;
  }
  // Uniform in [0, 1) with 24 random bits (exact in float).
  float uniform() { return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f); }
  double uniform_double() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal by Box-Muller (one value per call; the pair's second is dropped
  // so the state advance per call is fixed).
  float normal() {
    double u1 = uniform_double(), u2 = uniform_double();
    if (u1 < 1e-300) u1 = 1e-300;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  uint64_t below(uint64_t n) { return next_u64() % n; }

  uint64_t state0() const { return s0_; }
  uint64_t state1() const { return s1_; }
  void set_state(uint64_t a, uint64_t b) { s0_ = a; s1_ = b; }

 private:
  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t s0_ = 0, s1_ = 0;
};

}  // namespace peft
