// Batched matrix multiply (tfjs BatchMatMul / _FusedMatMul) on oneDNN's sgemm.
//
// tfjs hands us a:[batchA, M, K] (or [batchA, K, M] when transposeA) and b likewise, already
// flattened to 3-D, with batchA == batchB or one of them 1 (the same broadcasting the JS kernel
// supports). c is [max(batchA, batchB), M, N], row-major.
// Geometry Int32Array: [batchA, batchB, M, N, K, transposeA, transposeB]
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "dnnl-util.h"
#include "napi-util.h"

namespace detex {
namespace {

void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c) {
  dnnl_status_t s = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, a, ta ? m : k, b, tb ? k : n, 0.f,
                               c, n);
  if (s != dnnl_success) throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(int(s)));
}

// y = act(y + bias); bias has n entries (broadcast over rows) or 1 (a scalar).
void biasActivation(float* y, int64_t rows, int64_t n, const float* bias, int64_t biasLen, int act, float alpha) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float* row = y + r * n;
    for (int64_t j = 0; j < n; j++) {
      float v = row[j];
      if (bias) v += bias[biasLen == 1 ? 0 : j];
      switch (act) {
        case kRelu: v = v > 0.f ? v : 0.f; break;
        case kRelu6: v = std::min(std::max(v, 0.f), 6.f); break;
        case kLeakyRelu: v = v > 0.f ? v : alpha * v; break;
        case kSigmoid: v = 1.f / (1.f + std::exp(-v)); break;
        case kElu: v = v > 0.f ? v : std::expm1(v); break;
        default: break;
      }
      row[j] = v;
    }
  }
}

}  // namespace

// batchMatMul(a, b, c, geometry, bias|null, activation, leakyAlpha)
napi_value BatchMatMul(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    SignalScope signals;  // sgemm kernels must not take a signal (signal-guard.h)
    Args args(env, info);
    size_t na, nb, nc, nbias;
    const float* a = args.f32(0, &na);
    const float* b = args.f32(1, &nb);
    float* c = args.f32(2, &nc);
    auto p = args.ints(3);
    const float* bias = args.f32opt(4, &nbias);
    int act = args.i32(5);
    float alpha = float(args.num(6));
    if (p.size() != 7) throw ArgError("matmul geometry must have 7 entries");
    int64_t batchA = p[0], batchB = p[1], m = p[2], n = p[3], k = p[4];
    bool ta = p[5] != 0, tb = p[6] != 0;
    int64_t batch = std::max(batchA, batchB);
    if (!(batchA == batchB || batchA == 1 || batchB == 1)) throw ArgError("batch dims do not broadcast");
    if (na != size_t(batchA * m * k) || nb != size_t(batchB * k * n) || nc != size_t(batch * m * n))
      throw ArgError("matmul buffer sizes do not match geometry");
    if (bias && !(nbias == size_t(n) || nbias == 1)) throw ArgError("bias must have N or 1 entries");

    adviseHugePages(c, nc * sizeof(float));
    SingleThreadIfSmall small(batch * m * n * k);
    if (batchB == 1 && batchA > 1 && !ta) {
      // [B, M, K] x [K, N]: one tall gemm instead of B small ones (linear layers on [B, T, C]).
      sgemm(false, tb, batchA * m, n, k, a, b, c);
    } else if (batch < omp_get_max_threads() || batch * m * n * k < kSmallWork) {
      // Fewer matrices than threads (or tiny ones): let sgemm thread each one if it is worth it.
      for (int64_t i = 0; i < batch; i++)
        sgemm(ta, tb, m, n, k, a + (batchA == 1 ? 0 : i) * m * k, b + (batchB == 1 ? 0 : i) * k * n,
              c + i * m * n);
    } else {
      // One parallel region over the batch (attention heads), each sgemm single-threaded inside it:
      // one fork/join per call instead of one per matrix, which matters most when cores are shared.
      // Exceptions must not leave an OpenMP region, so failures are collected and thrown after.
      int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : failed)
      for (int64_t i = 0; i < batch; i++)
        failed |= dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, a + (batchA == 1 ? 0 : i) * m * k,
                             ta ? m : k, b + (batchB == 1 ? 0 : i) * k * n, tb ? k : n, 0.f, c + i * m * n,
                             n) != dnnl_success;
      if (failed) throw std::runtime_error("dnnl_sgemm failed in a batched call");
    }
    if (bias || act != kLinear) biasActivation(c, batch * m, n, bias, int64_t(nbias), act, alpha);
    return undefined(env);
  });
}

}  // namespace detex
