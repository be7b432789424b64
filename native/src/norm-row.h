// One LayerNorm row, shared by the LayerNorm kernel (norm.cc) and the fused encoder block
// (encoder-block.cc), so the block normalises exactly as the separate kernel does.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "vector-math.h"

namespace detex {

// Statistics in double from one pass (sum and sum of squares). Static: each file that includes this gets
// its own clones (target_clones functions cannot be inline).
VECTOR_CLONES
static void layerNormRow(const float* px, int64_t C, const float* gamma, const float* beta, double eps, float* py,
                         float* mean, float* rstd) {
  double s = 0, q = 0;
  for (int64_t c = 0; c < C; c++) {
    const double v = px[c];
    s += v;
    q += v * v;
  }
  const double m = s / double(C), var = std::max(q / double(C) - m * m, 0.0);
  const float r = float(1.0 / std::sqrt(var + eps)), mf = float(m);
  *mean = mf;
  *rstd = r;
  for (int64_t c = 0; c < C; c++) py[c] = (px[c] - mf) * r * gamma[c] + beta[c];
}

}  // namespace detex
