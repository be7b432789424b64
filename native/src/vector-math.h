// Vectorisable float math for the addon's own loops: AVX-512/AVX2/baseline clones of a function
// (VECTOR_CLONES) and exp, sigmoid and erf without libm calls, so loops around them vectorise.
#pragma once
#include <cstdint>
#include <cstring>

namespace detex {

// AVX-512 / AVX2 / baseline copies of a function, picked at load time (the addon is built for any x86-64).
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

// e^x, x clamped to [-87, 88], without a libm call, so loops around it vectorise: x = n·ln2 + r with
// |r| ≤ ln2/2, e^r by its Taylor series to r⁶ (truncation error < 1.3e-7 relative), 2^n through the
// exponent bits.
inline float expFast(float x) {
  x = x < -87.f ? -87.f : x;
  x = x > 88.f ? 88.f : x;
  // round to nearest by the 1.5·2²³ trick: branch-free, so the loop vectorises on any x86-64
  const float fn = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  const int32_t n = int32_t(fn);
  const float r = (x - fn * 0.693145751953125f) - fn * 1.42860682030941723212e-6f;  // ln2 in two parts
  float p = 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  int32_t bits = (n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigmoidFast(float z) { return 1.f / (1.f + expFast(-z)); }

// erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the formula tfjs' own cpu Erf kernel uses.
inline float erfFast(float x) {
  const float ax = x < 0.f ? -x : x;
  const float t = 1.f / (1.f + 0.3275911f * ax);
  const float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float y = 1.f - poly * expFast(-ax * ax);
  return x < 0.f ? -y : y;
}

}  // namespace detex
