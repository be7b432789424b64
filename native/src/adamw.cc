// One AdamW step for one variable in one pass (lib/detex/adamw.ts): reads θ, g, m, v once and writes θ', m', v'.
//
// Why: composed from tfjs ops the step is ~14 kernel calls per variable, each a full pass with its own output
// buffer; a DETEX step spent more dispatch than arithmetic on them. The arithmetic is the composed path's, op
// by op in float32 (no FMA: the build targets baseline x86-64, without -mfma/-march), with the scalars rounded to
// float32 by the caller as tfjs' scalar tensors are. Each op is then correctly rounded on both paths (a JS kernel
// computes in double and rounds once on store, which gives the same float for + − × ÷ √), so they agree:
//   θ ← θ·decay                              (decay = 1 − lr·λ; skipped when λ = 0, as the composed path skips it)
//   m ← m·β1 + g·(1 − β1)
//   v ← v·β2 + g²·(1 − β2)
//   θ ← θ − (m / (√v / √bc2 + ε))·(lr / bc1)
#include <omp.h>

#include "napi-util.h"

#include <cmath>

namespace detex {

// adamW(param, grad, m, v, paramOut, mOut, vOut, scalars [decay, beta1, 1−beta1, beta2, 1−beta2, bc2Sqrt, eps, stepSize],
//       applyDecay)
napi_value AdamW(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    size_t n, ng, nm, nv, np1, nm1, nv1, ns;
    const float* p = a.f32(0, &n);
    const float* g = a.f32(1, &ng);
    const float* m = a.f32(2, &nm);
    const float* v = a.f32(3, &nv);
    float* p1 = a.f32(4, &np1);
    float* m1 = a.f32(5, &nm1);
    float* v1 = a.f32(6, &nv1);
    const float* s = a.f32(7, &ns);
    const bool applyDecay = a.i32(8) != 0;
    if (ns != 8) throw ArgError("adamW scalars must be [decay, beta1, 1-beta1, beta2, 1-beta2, bc2Sqrt, eps, stepSize]");
    if (ng != n || nm != n || nv != n || np1 != n || nm1 != n || nv1 != n) throw ArgError("adamW buffers differ in size");
    const float decay = s[0], b1 = s[1], c1 = s[2], b2 = s[3], c2 = s[4], bc2Sqrt = s[5], eps = s[6], stepSize = s[7];
    // Same threshold as the other memory-bound loops (binary.cc, unary.cc): small variables stay on this thread.
#pragma omp parallel for schedule(static) if (int64_t(n) > kSmallWork)
    for (int64_t i = 0; i < int64_t(n); i++) {
      const float gi = g[i];
      const float theta = applyDecay ? p[i] * decay : p[i];
      const float mi = m[i] * b1 + gi * c1;
      const float vi = v[i] * b2 + (gi * gi) * c2;
      const float denom = std::sqrt(vi) / bc2Sqrt + eps;
      p1[i] = theta - (mi / denom) * stepSize;
      m1[i] = mi;
      v1[i] = vi;
    }
    return undefined(env);
  });
}

}  // namespace detex
