// A whole pre-LN transformer encoder block in one call, forward only (inference):
//   h = x + proj(attention(qkv(LN1(x))))          attention per head, optionally in windows,
//   y = h + fc2(act(fc1(LN2(h))))                 with an additive mask and/or decomposed rel-pos bias
// It serves CLIP's encoder layers (text and vision: causal/padding mask, separate q/k/v projections) and
// segment-anything's image-encoder blocks (fused qkv, windowed or global attention, decomposed relative
// position bias from the unscaled query).
//
// Why: on the tiny models the composed block is ~45 (CLIP) to ~100 (SAM) tfjs kernels of a few µs of work
// each, and tfjs' per-op cost (kernel lookup, tensor bookkeeping, a fresh typed array per result) is what
// the time goes to — 8× PyTorch. Here the intermediates live in scratch buffers and the block is one call.
// There is no backward: lib/nn/encoder-block.ts uses it only when no gradient tape is recording.
//
// Layout: x, y [B, H, W, C] row-major (CLIP: H = 1, W = tokens). With window ws > 0 the token grid is
// zero-padded at the bottom/right to multiples of ws after LN1 (as segment-anything's window_partition),
// so padded tokens are keys with k = v = bias; their outputs are dropped. Attention groups are then the
// windows (B·⌈H/ws⌉·⌈W/ws⌉ of ws² tokens), else the B images (H·W tokens each).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "dnnl-util.h"
#include "napi-util.h"
#include "norm-row.h"
#include "vector-math.h"

namespace detex {
namespace {

constexpr int64_t kRows = 64;  // query rows per attention task: their scores stay in cache
// Multiply-adds below which a step of the block (a projection, the attention loop) stays on the calling
// thread. Higher than kSmallWork: inside one call the steps are short, so a woken thread has little to take
// before the next fork (measured, 2 threads vs 1 under load: SAM-tiny's blocks, all steps < 2.7e5 MACs,
// 82-89 vs 65-71 µs CPU and no faster; CLIP-tiny's attention, 7.6e5 MACs in 16 tasks, 163-186 vs 203-233 µs
// wall).
constexpr int64_t kBlockParallelWork = int64_t(1) << 19;

// Codes shared with lib/backend/native-kernels/encoder-block.ts.
enum BlockAct { kGelu = 1, kGeluTanh = 2, kQuickGelu = 3, kReluAct = 4, kSilu = 5 };

struct BlockGeo {
  int64_t B, H, W, C, heads, F, window, act, fusedQkv;
  bool windowed() const { return window > 0; }
  int64_t d() const { return C / heads; }
  int64_t nh() const { return windowed() ? (H + window - 1) / window : 1; }
  int64_t nw() const { return windowed() ? (W + window - 1) / window : 1; }
  int64_t sideH() const { return windowed() ? window : H; }
  int64_t sideW() const { return windowed() ? window : W; }
  int64_t tokens() const { return sideH() * sideW(); }  // per attention group
  int64_t groups() const { return B * nh() * nw(); }
  int64_t padded() const { return groups() * tokens(); }
  int64_t rows() const { return B * H * W; }
  // Row of x for token t of group g, or −1 for a padding token.
  int64_t source(int64_t g, int64_t t) const {
    const int64_t b = g / (nh() * nw()), wy = (g / nw()) % nh(), wx = g % nw();
    const int64_t y = wy * sideH() + t / sideW(), x = wx * sideW() + t % sideW();
    return y < H && x < W ? (b * H + y) * W + x : -1;
  }
};

BlockGeo blockGeometry(const Args& a, size_t i) {
  auto g = a.ints(i);
  if (g.size() != 9) throw ArgError("encoder block geometry must be [B, H, W, C, heads, F, window, act, fusedQkv]");
  BlockGeo r{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8]};
  if (r.B < 1 || r.H < 1 || r.W < 1 || r.C < 1 || r.heads < 1 || r.F < 1 || r.window < 0 || r.C % r.heads != 0)
    throw ArgError("bad encoder block geometry");
  if (r.act < kGelu || r.act > kSilu) throw ArgError("encoder block: unknown activation code " + std::to_string(r.act));
  return r;
}

void need(size_t n, int64_t want, const char* what) {
  if (int64_t(n) != want) throw ArgError(std::string("encoder block: wrong size for ") + what);
}

void gemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
          int64_t ldb, float beta, float* C, int64_t ldc) {
  if (dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) != dnnl_success) throw ArgError("dnnl_sgemm failed");
}

// y[r, 0..out) = x[r] · w + bias, rows of y ldy apart (so q, k and v can land side by side). Like tfjs'
// matMul then add (lib/nn/linear.ts): the bias is added after the product.
void linear(const float* x, int64_t rows, int64_t in, const float* w, int64_t out, const float* bias, float* y, int64_t ldy) {
  {
    SingleThreadIfSmall small(rows * in * out, kBlockParallelWork);
    gemm('N', 'N', rows, out, in, 1.f, x, in, w, out, 0.f, y, ldy);
  }
  if (!bias) return;
#pragma omp parallel for schedule(static) if (rows * out > kSmallWork)
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < out; j++) y[r * ldy + j] += bias[j];
}

// The activation in place over n values, as lib/nn/activations.ts composes it (same order of float operations;
// exp and erf by the vectorisable approximations of vector-math.h, within 1.5e-7 of libm's). One loop per
// activation, so each vectorises.
VECTOR_CLONES
void activate(int act, float* v, int64_t n) {
  switch (act) {
    case kGelu:
      for (int64_t i = 0; i < n; i++) v[i] = (v[i] * 0.5f) * (1.f + erfFast(v[i] * float(M_SQRT1_2)));
      break;
    case kGeluTanh:
      for (int64_t i = 0; i < n; i++) {
        const float x = v[i], inner = float(std::sqrt(2.0 / M_PI)) * (x + 0.044715f * (x * x * x));
        v[i] = (x * 0.5f) * (1.f + (2.f / (1.f + expFast(-2.f * inner)) - 1.f));  // tanh(u) = 2σ(2u) − 1
      }
      break;
    case kQuickGelu:
      for (int64_t i = 0; i < n; i++) v[i] = v[i] * sigmoidFast(v[i] * 1.702f);
      break;
    case kReluAct:
      for (int64_t i = 0; i < n; i++) v[i] = v[i] > 0.f ? v[i] : 0.f;
      break;
    default:  // kSilu
      for (int64_t i = 0; i < n; i++) v[i] = v[i] * sigmoidFast(v[i]);
  }
}

// Softmax of one row of n floats in place, n a multiple of 16 (score rows are padded: paddedRow), in
// 16-lane blocks so each loop is whole vectors with no scalar tail. Terms below e^−70 of the largest are
// exact zeros: they cannot change a float sum led by 1, and left as tiny values (e.g. masked logits) they
// would turn into denormals after the division, which slow the following P·V product by ~8× (measured on
// CLIP's causal mask).
VECTOR_CLONES
void softmaxRow(float* row, int64_t n) {
  constexpr int L = 16;
  float m[L], s[L];
  for (int k = 0; k < L; k++) m[k] = row[k];
  for (int64_t j = L; j < n; j += L)
    for (int k = 0; k < L; k++) m[k] = row[j + k] > m[k] ? row[j + k] : m[k];
  float mx = m[0];
  for (int k = 1; k < L; k++) mx = m[k] > mx ? m[k] : mx;
  for (int k = 0; k < L; k++) s[k] = 0.f;
  for (int64_t j = 0; j < n; j += L)
    for (int k = 0; k < L; k++) {
      const float z = row[j + k] - mx, e = z < -70.f ? 0.f : expFast(z);
      row[j + k] = e;
      s[k] += e;
    }
  float sum = 0.f;
  for (int k = 0; k < L; k++) sum += s[k];
  const float inv = 1.f / sum;
  for (int64_t j = 0; j < n; j++) row[j] *= inv;
}

struct BlockWeights {
  const float *ln1g, *ln1b, *wq, *wk, *wv, *bq, *bk, *bv, *wo, *bo, *ln2g, *ln2b, *w1, *b1, *w2, *b2;
  const float* mask;  // additive [maskB, T, T] or null
  int64_t maskB;
  const float *relH, *relW;  // [2·sideH − 1, d], [2·sideW − 1, d] or null
};

// Score rows are padded to a multiple of 16 floats with exact zeros after the softmax, so its loops run
// whole AVX-512 vectors: with 77 keys (CLIP) the 13-element scalar tails took most of the softmax time.
int64_t paddedRow(int64_t T) { return (T + 15) / 16 * 16; }

// Scores of one block of query rows against all keys of the group, biased, softmaxed in place, then
// o = P·V. qkv rows are [q | k | v] (3C wide); o rows C wide; s holds kRows score rows of paddedRow(T).
void attendRows(const BlockGeo& g, const BlockWeights& w, const float* qkv, float* o, int64_t grp, int64_t h, int64_t r0,
                float scale, float* s, float* rh, float* rw) {
  const int64_t T = g.tokens(), Tp = paddedRow(T), C = g.C, C3 = 3 * C, d = g.d(), rows = std::min(kRows, T - r0);
  const float* base = qkv + grp * T * C3;
  const float* qb = base + r0 * C3 + h * d;
  gemm('N', 'T', rows, T, d, scale, qb, C3, base + C + h * d, C3, 0.f, s, Tp);
  const int64_t sh = g.sideH(), sw = g.sideW();
  for (int64_t i = 0; i < rows; i++) {
    float* row = s + i * Tp;
    std::fill(row + T, row + Tp, -std::numeric_limits<float>::max());
    const int64_t tq = r0 + i;
    if (w.mask) {
      const float* m = w.mask + ((w.maskB == 1 ? 0 : grp) * T + tq) * T;
      for (int64_t j = 0; j < T; j++) row[j] += m[j];
    }
    if (w.relH) {
      // q(y,x)·Rh[y − ky + sh − 1] + q(y,x)·Rw[x − kx + sw − 1], unscaled q (segment-anything add_decomposed_rel_pos)
      const float* q = qb + i * C3;
      const int64_t ty = tq / sw, tx = tq % sw;
      for (int64_t ky = 0; ky < sh; ky++) {
        const float* r = w.relH + (ty - ky + sh - 1) * d;
        float acc = 0.f;
        for (int64_t c = 0; c < d; c++) acc += q[c] * r[c];
        rh[ky] = acc;
      }
      for (int64_t kx = 0; kx < sw; kx++) {
        const float* r = w.relW + (tx - kx + sw - 1) * d;
        float acc = 0.f;
        for (int64_t c = 0; c < d; c++) acc += q[c] * r[c];
        rw[kx] = acc;
      }
      for (int64_t ky = 0; ky < sh; ky++)
        for (int64_t kx = 0; kx < sw; kx++) row[ky * sw + kx] += rh[ky] + rw[kx];
    }
    softmaxRow(row, Tp);
  }
  gemm('N', 'N', rows, d, T, 1.f, s, Tp, base + 2 * C + h * d, C3, 0.f, o + (grp * T + r0) * C + h * d, C);
}

void blockForward(const BlockGeo& g, const BlockWeights& w, const float* x, float* y, double eps, float scale) {
  const int64_t C = g.C, C3 = 3 * C, T = g.tokens(), G = g.groups(), P = g.padded(), R = g.rows(), F = g.F;
  std::vector<float> a(size_t(P * C)), qkv(size_t(P * C3)), o(size_t(P * C));
  float stat[2];
  // 1. LN1 into group order; padding tokens stay zero
  for (int64_t grp = 0; grp < G; grp++)
    for (int64_t t = 0; t < T; t++) {
      const int64_t src = g.source(grp, t);
      if (src >= 0) layerNormRow(x + src * C, C, w.ln1g, w.ln1b, eps, a.data() + (grp * T + t) * C, stat, stat + 1);
    }
  // 2. q, k, v side by side in each row
  if (g.fusedQkv) {
    linear(a.data(), P, C, w.wq, C3, w.bq, qkv.data(), C3);
  } else {
    linear(a.data(), P, C, w.wq, C, w.bq, qkv.data(), C3);
    linear(a.data(), P, C, w.wk, C, w.bk, qkv.data() + C, C3);
    linear(a.data(), P, C, w.wv, C, w.bv, qkv.data() + 2 * C, C3);
  }
  // 3. attention, one task per (group, head, block of query rows); failures collected, since exceptions
  // must not leave an OpenMP region
  const int64_t blocks = (T + kRows - 1) / kRows, tasks = G * g.heads * blocks;
  int failed = 0;
  {
    // Not `parallel if (...)`: in an inactive region omp_get_max_threads() is still the pool size, so each sgemm
    // inside would open a pool of its own (measured: CLIP-tiny's block 3.6 ms wall instead of 0.2 under load).
    // Scoped: the projections after it decide their threads for themselves.
    SingleThreadIfSmall small(G * T * T * C * 2, kBlockParallelWork);
#pragma omp parallel reduction(| : failed)
    {
      std::vector<float> s(size_t(std::min(kRows, T) * paddedRow(T))), rh(size_t(g.sideH())), rw(size_t(g.sideW()));
#pragma omp for schedule(dynamic)
      for (int64_t k = 0; k < tasks; k++) {
        try {
          attendRows(g, w, qkv.data(), o.data(), k / (g.heads * blocks), (k / blocks) % g.heads, (k % blocks) * kRows,
                     scale, s.data(), rh.data(), rw.data());
        } catch (...) {
          failed = 1;
        }
      }
    }
  }
  if (failed) throw ArgError("encoder block: attention failed");
  // 4. h = x + proj(o), back in x's order (padding dropped); proj reuses a
  linear(o.data(), P, C, w.wo, C, w.bo, a.data(), C);
  for (int64_t grp = 0; grp < G; grp++)
    for (int64_t t = 0; t < T; t++) {
      const int64_t src = g.source(grp, t);
      if (src < 0) continue;
      const float* xr = x + src * C;
      const float* pr = a.data() + (grp * T + t) * C;
      float* yr = y + src * C;
      for (int64_t c = 0; c < C; c++) yr[c] = xr[c] + pr[c];
    }
  // 5. y = h + fc2(act(fc1(LN2(h))))
  std::vector<float> n2(size_t(R * C)), m(size_t(R * F));
  for (int64_t r = 0; r < R; r++) layerNormRow(y + r * C, C, w.ln2g, w.ln2b, eps, n2.data() + r * C, stat, stat + 1);
  linear(n2.data(), R, C, w.w1, F, w.b1, m.data(), F);
  activate(int(g.act), m.data(), R * F);
  linear(m.data(), R, F, w.w2, C, w.b2, n2.data(), C);
  for (int64_t i = 0; i < R * C; i++) y[i] += n2[size_t(i)];
}

}  // namespace

// encoderBlock(x, y, ln1γ, ln1β, wq, wk|null, wv|null, bq|null, bk|null, bv|null, wo, bo, ln2γ, ln2β, w1, b1, w2, b2,
//              mask|null, relH|null, relW|null, geometry [B, H, W, C, heads, F, window, act, fusedQkv], eps, scale)
// Weights are [in, out]. fusedQkv: wq is [C, 3C] (q, k, v columns) and bq [3C]; wk, wv, bk, bv null.
// mask: additive [1|B, T, T] (not with windows). relH/relW: tables of exactly 2·side − 1 rows.
napi_value EncoderBlock(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    SignalScope signals;  // sgemm kernels must not take a signal (signal-guard.h)
    Args a(env, info);
    BlockGeo g = blockGeometry(a, 21);
    const double eps = a.num(22);
    const float scale = float(a.num(23));
    const int64_t C = g.C, F = g.F, T = g.tokens(), d = g.d(), qkvCols = g.fusedQkv ? 3 * C : C;
    size_t n;
    const float* x = a.f32(0, &n);
    need(n, g.rows() * C, "x");
    float* y = a.f32(1, &n);
    need(n, g.rows() * C, "y");
    auto vec = [&](size_t i, int64_t want, const char* what) {
      const float* p = a.f32(i, &n);
      need(n, want, what);
      return p;
    };
    auto opt = [&](size_t i, int64_t want, const char* what) -> const float* {
      const float* p = a.f32opt(i, &n);
      if (p) need(n, want, what);
      return p;
    };
    BlockWeights w{};
    w.ln1g = vec(2, C, "ln1 gamma");
    w.ln1b = vec(3, C, "ln1 beta");
    w.wq = vec(4, C * qkvCols, "q weight");
    w.wk = g.fusedQkv ? nullptr : vec(5, C * C, "k weight");
    w.wv = g.fusedQkv ? nullptr : vec(6, C * C, "v weight");
    w.bq = opt(7, qkvCols, "q bias");
    w.bk = g.fusedQkv ? nullptr : opt(8, C, "k bias");
    w.bv = g.fusedQkv ? nullptr : opt(9, C, "v bias");
    w.wo = vec(10, C * C, "out weight");
    w.bo = opt(11, C, "out bias");
    w.ln2g = vec(12, C, "ln2 gamma");
    w.ln2b = vec(13, C, "ln2 beta");
    w.w1 = vec(14, C * F, "fc1 weight");
    w.b1 = opt(15, F, "fc1 bias");
    w.w2 = vec(16, F * C, "fc2 weight");
    w.b2 = opt(17, C, "fc2 bias");
    w.mask = a.f32opt(18, &n);
    if (w.mask) {
      if (g.windowed()) throw ArgError("encoder block: a mask with windowed attention is not supported");
      if (int64_t(n) != T * T && int64_t(n) != g.B * T * T) throw ArgError("encoder block: mask must be [1|B, T, T]");
      w.maskB = int64_t(n) / (T * T);
    }
    w.relH = opt(19, (2 * g.sideH() - 1) * d, "rel_pos_h");
    w.relW = opt(20, (2 * g.sideW() - 1) * d, "rel_pos_w");
    if (!w.relH != !w.relW) throw ArgError("encoder block: rel_pos_h and rel_pos_w come together");
    blockForward(g, w, x, y, eps, scale);
    return undefined(env);
  });
}

}  // namespace detex
