// Fused multi-head attention softmax(Q Kᵀ·scale) V on [B, N, heads·d] rows, forward and backward.
// Why: the unfused path materialises all heads' [B·h, Nq, Nk] logits, then the scaled copy, the softmax
// and its output (64 MiB each for a 32×32 latent with 16 batch·heads), every pass memory-bound. Here each
// thread takes one (batch, head, block of 64 query rows), keeps its 64×Nk scores in a private buffer
// that stays in cache, and reads Q/K/V and writes O in place with strides (no head split/merge
// transposes). The backward recomputes the probabilities from the saved log-sum-exp (as FlashAttention
// does) instead of keeping N×N per layer for the whole training step.
#include <omp.h>

#include <cmath>
#include <vector>

#include "dnnl-util.h"
#include "napi-util.h"

namespace detex {
namespace {

constexpr int64_t kRows = 64;

struct Geo {
  int64_t B, Nq, Nk, H, d, dv;
};

Geo geometry(const Args& a, size_t i) {
  auto g = a.ints(i);
  if (g.size() != 6) throw ArgError("attention geometry must be [B, Nq, Nk, heads, d, dv]");
  for (auto x : g)
    if (x < 1) throw ArgError("attention geometry must be positive");
  return {g[0], g[1], g[2], g[3], g[4], g[5]};
}

void need(size_t n, int64_t want, const char* what) {
  if (int64_t(n) != want) throw ArgError(std::string("attention: wrong size for ") + what);
}

// Sequential sgemm on row-major strided blocks (called inside our own parallel loop, so oneDNN runs it in
// the calling thread: nested OpenMP regions are inactive).
void gemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
          int64_t ldb, float beta, float* C, int64_t ldc) {
  if (dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) != dnnl_success) throw ArgError("dnnl_sgemm failed");
}

}  // namespace

// attention(q, k, v, out, lse, geometry, scale): out [B, Nq, h·dv], lse [B, h, Nq] (row log-sum-exp of the
// scaled logits, for the backward).
napi_value Attention(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    SignalScope signals;  // sgemm kernels must not take a signal (signal-guard.h)
    Args a(env, info);
    size_t nq, nk, nv, no, nl;
    const float* q = a.f32(0, &nq);
    const float* k = a.f32(1, &nk);
    const float* v = a.f32(2, &nv);
    float* o = a.f32(3, &no);
    float* lse = a.f32(4, &nl);
    Geo g = geometry(a, 5);
    float scale = float(a.num(6));
    const int64_t C = g.H * g.d, Cv = g.H * g.dv;
    need(nq, g.B * g.Nq * C, "q");
    need(nk, g.B * g.Nk * C, "k");
    need(nv, g.B * g.Nk * Cv, "v");
    need(no, g.B * g.Nq * Cv, "out");
    need(nl, g.B * g.H * g.Nq, "lse");
    const int64_t blocks = (g.Nq + kRows - 1) / kRows, tasks = g.B * g.H * blocks;
    SingleThreadIfSmall small(g.B * g.H * g.Nq * g.Nk * (g.d + g.dv));
#pragma omp parallel
    {
      std::vector<float> s(size_t(kRows * g.Nk));
#pragma omp for schedule(dynamic)
      for (int64_t t = 0; t < tasks; t++) {
        const int64_t b = t / (g.H * blocks), h = (t / blocks) % g.H, r0 = (t % blocks) * kRows;
        const int64_t rows = std::min(kRows, g.Nq - r0);
        const float* qb = q + (b * g.Nq + r0) * C + h * g.d;
        gemm('N', 'T', rows, g.Nk, g.d, scale, qb, C, k + b * g.Nk * C + h * g.d, C, 0.f, s.data(), g.Nk);
        for (int64_t i = 0; i < rows; i++) {
          float* row = s.data() + i * g.Nk;
          float m = row[0];
          for (int64_t j = 1; j < g.Nk; j++) m = std::max(m, row[j]);
          float sum = 0.f;
          for (int64_t j = 0; j < g.Nk; j++) sum += (row[j] = std::exp(row[j] - m));
          const float inv = 1.f / sum;
          for (int64_t j = 0; j < g.Nk; j++) row[j] *= inv;
          lse[(b * g.H + h) * g.Nq + r0 + i] = m + std::log(sum);
        }
        gemm('N', 'N', rows, g.dv, g.Nk, 1.f, s.data(), g.Nk, v + b * g.Nk * Cv + h * g.dv, Cv, 0.f,
             o + (b * g.Nq + r0) * Cv + h * g.dv, Cv);
      }
    }
    return undefined(env);
  });
}

// attentionBackward(q, k, v, out, lse, dout, dq, dk, dv, geometry, scale). One task per (batch, head), so
// dK and dV accumulate without atomics; query rows go by blocks inside it.
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    SignalScope signals;  // sgemm kernels must not take a signal (signal-guard.h)
    Args a(env, info);
    size_t n[9];
    const float* q = a.f32(0, &n[0]);
    const float* k = a.f32(1, &n[1]);
    const float* v = a.f32(2, &n[2]);
    const float* o = a.f32(3, &n[3]);
    const float* lse = a.f32(4, &n[4]);
    const float* dout = a.f32(5, &n[5]);
    float* dq = a.f32(6, &n[6]);
    float* dk = a.f32(7, &n[7]);
    float* dv = a.f32(8, &n[8]);
    Geo g = geometry(a, 9);
    float scale = float(a.num(10));
    const int64_t C = g.H * g.d, Cv = g.H * g.dv;
    need(n[0], g.B * g.Nq * C, "q");
    need(n[1], g.B * g.Nk * C, "k");
    need(n[2], g.B * g.Nk * Cv, "v");
    need(n[3], g.B * g.Nq * Cv, "out");
    need(n[4], g.B * g.H * g.Nq, "lse");
    need(n[5], g.B * g.Nq * Cv, "dout");
    need(n[6], g.B * g.Nq * C, "dq");
    need(n[7], g.B * g.Nk * C, "dk");
    need(n[8], g.B * g.Nk * Cv, "dv");
    const int64_t tasks = g.B * g.H;
    SingleThreadIfSmall small(2 * g.B * g.H * g.Nq * g.Nk * (g.d + g.dv));
#pragma omp parallel
    {
      std::vector<float> p(size_t(kRows * g.Nk)), dp(size_t(kRows * g.Nk)), D(static_cast<size_t>(kRows), 0.f);
#pragma omp for schedule(dynamic)
      for (int64_t t = 0; t < tasks; t++) {
        const int64_t b = t / g.H, h = t % g.H;
        const float* kb = k + b * g.Nk * C + h * g.d;
        const float* vb = v + b * g.Nk * Cv + h * g.dv;
        float* dkb = dk + b * g.Nk * C + h * g.d;
        float* dvb = dv + b * g.Nk * Cv + h * g.dv;
        for (int64_t r0 = 0; r0 < g.Nq; r0 += kRows) {
          const int64_t rows = std::min(kRows, g.Nq - r0);
          const float* qb = q + (b * g.Nq + r0) * C + h * g.d;
          const float* ob = o + (b * g.Nq + r0) * Cv + h * g.dv;
          const float* dob = dout + (b * g.Nq + r0) * Cv + h * g.dv;
          const float* lb = lse + (b * g.H + h) * g.Nq + r0;
          const float beta = r0 == 0 ? 0.f : 1.f;  // first block initialises dK, dV
          // P = exp(S − lse), recomputed
          gemm('N', 'T', rows, g.Nk, g.d, scale, qb, C, kb, C, 0.f, p.data(), g.Nk);
          for (int64_t i = 0; i < rows; i++) {
            float* row = p.data() + i * g.Nk;
            for (int64_t j = 0; j < g.Nk; j++) row[j] = std::exp(row[j] - lb[i]);
            float s = 0.f;  // D_i = dO_i · O_i = Σ_j P_ij dP_ij
            for (int64_t c = 0; c < g.dv; c++) s += dob[i * Cv + c] * ob[i * Cv + c];
            D[size_t(i)] = s;
          }
          gemm('T', 'N', g.Nk, g.dv, rows, 1.f, p.data(), g.Nk, dob, Cv, beta, dvb, Cv);  // dV += Pᵀ dO
          gemm('N', 'T', rows, g.Nk, g.dv, 1.f, dob, Cv, vb, Cv, 0.f, dp.data(), g.Nk);   // dP = dO Vᵀ
          for (int64_t i = 0; i < rows; i++) {  // dS = P ∘ (dP − D)
            float* pr = p.data() + i * g.Nk;
            const float* dpr = dp.data() + i * g.Nk;
            for (int64_t j = 0; j < g.Nk; j++) pr[j] *= dpr[j] - D[size_t(i)];
          }
          gemm('N', 'N', rows, g.d, g.Nk, scale, p.data(), g.Nk, kb, C, 0.f, dq + (b * g.Nq + r0) * C + h * g.d, C);  // dQ = s·dS K
          gemm('T', 'N', g.Nk, g.d, rows, scale, p.data(), g.Nk, qb, C, beta, dkb, C);  // dK += s·dSᵀ Q
        }
      }
    }
    return undefined(env);
  });
}

}  // namespace detex
