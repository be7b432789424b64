// Fused GroupNorm (+ optional SiLU) and LayerNorm, forward and backward, on channels-last data.
//
// Why: composed from tfjs ops a group norm is ~10 kernels (moments = mean, sub, square, mean; then sub,
// add eps, sqrt, div, mul γ, add β) and SiLU two more (sigmoid, mul): a dozen full passes over memory plus
// tfjs' per-op cost, 9× PyTorch on (2,64,64,320). Here: one pass for statistics, one to write the output
// (SiLU applied in registers), and for the gradient one pass that also keeps dL/dz and one that finishes dx.
//
// GroupNorm: x [B, P, C] (P = H·W pixels), G groups of C/G consecutive channels; statistics per (b, g)
// over P·C/G values; biased variance (PyTorch's). Saved for the backward: mean, rstd [B, G].
//   z = (x − mean)·rstd·γ + β,  y = z (silu = 0) or z·σ(z) (silu = 1)
// LayerNorm: x [R, C], statistics per row over C; saved mean, rstd [R].
//
// Work is split over (batch, block of pixels) items; per-item partial sums are combined in double, so
// the result does not depend on the thread count. Small inputs run on the calling thread only.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "napi-util.h"
#include "norm-row.h"

namespace detex {
namespace {

constexpr int64_t kPixelBlock = 64;
constexpr int64_t kParallelMin = 32768;  // elements; below this no thread pool is woken


struct GnGeo {
  int64_t B, P, C, G;
  int64_t cg() const { return C / G; }
  int64_t blocks() const { return (P + kPixelBlock - 1) / kPixelBlock; }
  int64_t items() const { return B * blocks(); }
  int64_t size() const { return B * P * C; }
};

GnGeo gnGeometry(const Args& a, size_t i) {
  auto g = a.ints(i);
  if (g.size() != 4) throw ArgError("group norm geometry must be [B, pixels, C, groups]");
  GnGeo r{g[0], g[1], g[2], g[3]};
  if (r.B < 1 || r.P < 1 || r.C < 1 || r.G < 1 || r.C % r.G != 0) throw ArgError("bad group norm geometry");
  return r;
}

void need(size_t n, int64_t want, const char* what) {
  if (int64_t(n) != want) throw ArgError(std::string("norm: wrong size for ") + what);
}

// Per-channel sums of x and x² over pixels [p0, p1) of batch b: s[0..C), s[C..2C).
// (The per-item bodies carry target_clones, not the OpenMP loops: GCC outlines a parallel region into a
// function of its own before it makes the AVX2/AVX-512 clones, so the clones must sit inside.)
VECTOR_CLONES
void channelSumsItem(const float* x, const GnGeo& g, int64_t b, int64_t p0, int64_t p1, double* s) {
  const int64_t C = g.C;
  double* q = s + C;
  std::fill(s, s + 2 * C, 0.0);
  for (int64_t p = p0; p < p1; p++) {
    const float* px = x + (b * g.P + p) * C;
    for (int64_t c = 0; c < C; c++) {
      const double v = px[c];
      s[c] += v;
      q[c] += v * v;
    }
  }
}

// Runs f(b, p0, p1, item) over all (batch, pixel block) items, on the pool when the input is large.
template <typename F>
void forItems(const GnGeo& g, F&& f) {
  const int64_t blocks = g.blocks();
#pragma omp parallel for schedule(static) if (g.size() > kParallelMin)
  for (int64_t it = 0; it < g.items(); it++) {
    const int64_t b = it / blocks, p0 = (it % blocks) * kPixelBlock;
    f(b, p0, std::min(g.P, p0 + kPixelBlock), it);
  }
}

// y = x·a[c] + s[c] (then SiLU) with per-(b, c) coefficients coef[b][0..C) = a, [C..2C) = s.
VECTOR_CLONES
void affineItem(const float* x, const GnGeo& g, const float* coef, bool silu, float* y, int64_t b, int64_t p0, int64_t p1) {
  const int64_t C = g.C;
  const float* a = coef + b * 2 * C;
  const float* s = a + C;
  for (int64_t p = p0; p < p1; p++) {
    const float* px = x + (b * g.P + p) * C;
    float* py = y + (b * g.P + p) * C;
    if (silu)
      for (int64_t c = 0; c < C; c++) {
        const float z = px[c] * a[c] + s[c];
        py[c] = z * sigmoidFast(z);
      }
    else
      for (int64_t c = 0; c < C; c++) py[c] = px[c] * a[c] + s[c];
  }
}

// Backward pass 1: dz = dL/dz into dz (SiLU's derivative from z recomputed), and per-channel sums of dz
// and dz·x̂ over the item's pixels: sd[0..C), [C..2C). coef as in affineItem plus [2C..3C) = rstd,
// [3C..4C) = −mean·rstd (so x̂ = x·rstd − mean·rstd).
VECTOR_CLONES
void backwardSumsItem(const float* x, const float* dy, const GnGeo& g, const float* coef, bool silu, float* dz, double* sd,
                      int64_t b, int64_t p0, int64_t p1) {
  const int64_t C = g.C;
  const float* a = coef + b * 4 * C;
  const float* s = a + C;
  const float* r = a + 2 * C;
  const float* t = a + 3 * C;
  double* sdx = sd + C;
  std::fill(sd, sd + 2 * C, 0.0);
  for (int64_t p = p0; p < p1; p++) {
    const int64_t off = (b * g.P + p) * C;
    const float* px = x + off;
    const float* pdy = dy + off;
    float* pdz = dz + off;
    for (int64_t c = 0; c < C; c++) {
      float d = pdy[c];
      if (silu) {
        const float z = px[c] * a[c] + s[c];
        const float sg = sigmoidFast(z);
        d *= sg * (1.f + z * (1.f - sg));
      }
      pdz[c] = d;
      const float xh = px[c] * r[c] + t[c];
      sd[c] += double(d);
      sdx[c] += double(d) * double(xh);
    }
  }
}

// Backward pass 2, in place on dz: dx = dz·k1[c] + x·k2[c] + k3[c] (coefficients per (b, c)).
VECTOR_CLONES
void backwardFinishItem(const float* x, const GnGeo& g, const float* k, float* dx, int64_t b, int64_t p0, int64_t p1) {
  const int64_t C = g.C;
  const float* k1 = k + b * 3 * C;
  const float* k2 = k1 + C;
  const float* k3 = k2 + C;
  for (int64_t p = p0; p < p1; p++) {
    const int64_t off = (b * g.P + p) * C;
    const float* px = x + off;
    float* pd = dx + off;
    for (int64_t c = 0; c < C; c++) pd[c] = pd[c] * k1[c] + px[c] * k2[c] + k3[c];
  }
}

// Sums part[item][j] over the items of batch b, for j in [0, width).
void sumItems(const double* part, const GnGeo& g, int64_t width, int64_t b, double* out) {
  std::fill(out, out + width, 0.0);
  for (int64_t it = b * g.blocks(); it < (b + 1) * g.blocks(); it++)
    for (int64_t j = 0; j < width; j++) out[j] += part[it * width + j];
}

}  // namespace

// groupNorm(x, gamma|null, beta|null, y, mean, rstd, geometry [B, P, C, G], eps, silu)
napi_value GroupNorm(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    size_t nx, ng, nb, ny, nm, nr;
    const float* x = a.f32(0, &nx);
    const float* gamma = a.f32opt(1, &ng);
    const float* beta = a.f32opt(2, &nb);
    float* y = a.f32(3, &ny);
    float* mean = a.f32(4, &nm);
    float* rstd = a.f32(5, &nr);
    GnGeo g = gnGeometry(a, 6);
    const double eps = a.num(7);
    const bool silu = a.i32(8) != 0;
    need(nx, g.size(), "x");
    need(ny, g.size(), "y");
    need(nm, g.B * g.G, "mean");
    need(nr, g.B * g.G, "rstd");
    if (gamma) need(ng, g.C, "gamma");
    if (beta) need(nb, g.C, "beta");
    adviseHugePages(y, ny * sizeof(float));
    const int64_t C = g.C, cg = g.cg();
    std::vector<double> part(size_t(g.items() * 2 * C)), tot(size_t(2 * C));
    forItems(g, [&](int64_t b, int64_t p0, int64_t p1, int64_t it) { channelSumsItem(x, g, b, p0, p1, part.data() + it * 2 * C); });
    std::vector<float> coef(size_t(g.B * 2 * C));
    const double n = double(g.P * cg);
    for (int64_t b = 0; b < g.B; b++) {
      sumItems(part.data(), g, 2 * C, b, tot.data());
      for (int64_t gi = 0; gi < g.G; gi++) {
        double s = 0, q = 0;
        for (int64_t c = gi * cg; c < (gi + 1) * cg; c++) {
          s += tot[size_t(c)];
          q += tot[size_t(C + c)];
        }
        const double m = s / n, var = std::max(q / n - m * m, 0.0), r = 1.0 / std::sqrt(var + eps);
        mean[b * g.G + gi] = float(m);
        rstd[b * g.G + gi] = float(r);
        for (int64_t c = gi * cg; c < (gi + 1) * cg; c++) {
          const double ac = r * (gamma ? gamma[c] : 1.f);
          coef[size_t(b * 2 * C + c)] = float(ac);
          coef[size_t(b * 2 * C + C + c)] = float((beta ? beta[c] : 0.f) - m * ac);
        }
      }
    }
    forItems(g, [&](int64_t b, int64_t p0, int64_t p1, int64_t) { affineItem(x, g, coef.data(), silu, y, b, p0, p1); });
    return undefined(env);
  });
}

// groupNormBackward(x, gamma|null, beta|null, mean, rstd, dy, dx, dgamma|null, dbeta|null, geometry, silu)
napi_value GroupNormBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    size_t n[9];
    const float* x = a.f32(0, &n[0]);
    const float* gamma = a.f32opt(1, &n[1]);
    const float* beta = a.f32opt(2, &n[2]);
    const float* mean = a.f32(3, &n[3]);
    const float* rstd = a.f32(4, &n[4]);
    const float* dy = a.f32(5, &n[5]);
    float* dx = a.f32(6, &n[6]);
    float* dgamma = a.f32opt(7, &n[7]);
    float* dbeta = a.f32opt(8, &n[8]);
    GnGeo g = gnGeometry(a, 9);
    const bool silu = a.i32(10) != 0;
    need(n[0], g.size(), "x");
    if (gamma) need(n[1], g.C, "gamma");
    if (beta) need(n[2], g.C, "beta");
    need(n[3], g.B * g.G, "mean");
    need(n[4], g.B * g.G, "rstd");
    need(n[5], g.size(), "dy");
    need(n[6], g.size(), "dx");
    if (dgamma) need(n[7], g.C, "dgamma");
    if (dbeta) need(n[8], g.C, "dbeta");
    adviseHugePages(dx, n[6] * sizeof(float));
    const int64_t C = g.C, cg = g.cg();
    std::vector<float> coef(size_t(g.B * 4 * C));
    for (int64_t b = 0; b < g.B; b++)
      for (int64_t c = 0; c < C; c++) {
        const float m = mean[b * g.G + c / cg], r = rstd[b * g.G + c / cg];
        const float ac = r * (gamma ? gamma[c] : 1.f);
        float* cb = coef.data() + b * 4 * C;
        cb[c] = ac;
        cb[C + c] = (beta ? beta[c] : 0.f) - m * ac;
        cb[2 * C + c] = r;
        cb[3 * C + c] = -m * r;
      }
    std::vector<double> part(size_t(g.items() * 2 * C)), tot(size_t(2 * C)), dg(size_t(C), 0.0), db(size_t(C), 0.0);
    forItems(g, [&](int64_t b, int64_t p0, int64_t p1, int64_t it) {
      backwardSumsItem(x, dy, g, coef.data(), silu, dx, part.data() + it * 2 * C, b, p0, p1);
    });
    std::vector<float> k(size_t(g.B * 3 * C));
    const double cnt = double(g.P * cg);
    for (int64_t b = 0; b < g.B; b++) {
      sumItems(part.data(), g, 2 * C, b, tot.data());  // tot[c] = Σ dz, tot[C + c] = Σ dz·x̂ over pixels
      for (int64_t c = 0; c < C; c++) {
        db[size_t(c)] += tot[size_t(c)];
        dg[size_t(c)] += tot[size_t(C + c)];
      }
      for (int64_t gi = 0; gi < g.G; gi++) {
        double s1 = 0, s2 = 0;  // Σ dx̂ and Σ dx̂·x̂ over the group, dx̂ = dz·γ
        for (int64_t c = gi * cg; c < (gi + 1) * cg; c++) {
          const double gc = gamma ? gamma[c] : 1.f;
          s1 += gc * tot[size_t(c)];
          s2 += gc * tot[size_t(C + c)];
        }
        const double m = mean[b * g.G + gi], r = rstd[b * g.G + gi];
        const double u = s1 / cnt, w = s2 / cnt;
        // dx = r·(dz·γ − u − x̂·w), x̂ = (x − m)·r
        for (int64_t c = gi * cg; c < (gi + 1) * cg; c++) {
          float* kb = k.data() + b * 3 * C;
          kb[c] = float(r * (gamma ? gamma[c] : 1.f));
          kb[C + c] = float(-r * r * w);
          kb[2 * C + c] = float(-r * u + r * r * w * m);
        }
      }
    }
    forItems(g, [&](int64_t b, int64_t p0, int64_t p1, int64_t) { backwardFinishItem(x, g, k.data(), dx, b, p0, p1); });
    if (dgamma)
      for (int64_t c = 0; c < C; c++) dgamma[c] = float(dg[size_t(c)]);
    if (dbeta)
      for (int64_t c = 0; c < C; c++) dbeta[c] = float(db[size_t(c)]);
    return undefined(env);
  });
}

namespace {

// dx for one row; adds the row's dγ, dβ terms to pg, pb.
VECTOR_CLONES
void layerNormBackwardRow(const float* px, const float* pdy, int64_t C, const float* gamma, float m, float r, float* pdx,
                          double* pg, double* pb) {
  double s1 = 0, s2 = 0;
  for (int64_t c = 0; c < C; c++) {
    const float xh = (px[c] - m) * r;
    const float d = pdy[c] * gamma[c];
    s1 += d;
    s2 += double(d) * xh;
    pg[c] += double(pdy[c]) * xh;
    pb[c] += pdy[c];
  }
  const float u = float(s1 / double(C)), w = float(s2 / double(C));
  for (int64_t c = 0; c < C; c++) pdx[c] = r * (pdy[c] * gamma[c] - u - (px[c] - m) * r * w);
}

}  // namespace

// layerNorm(x, gamma, beta, y, mean, rstd, rows, cols, eps)
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    size_t nx, ng, nb, ny, nm, nr;
    const float* x = a.f32(0, &nx);
    const float* gamma = a.f32(1, &ng);
    const float* beta = a.f32(2, &nb);
    float* y = a.f32(3, &ny);
    float* mean = a.f32(4, &nm);
    float* rstd = a.f32(5, &nr);
    const int64_t R = a.i32(6), C = a.i32(7);
    const double eps = a.num(8);
    if (R < 1 || C < 1) throw ArgError("layer norm: rows and cols must be positive");
    need(nx, R * C, "x");
    need(ny, R * C, "y");
    need(ng, C, "gamma");
    need(nb, C, "beta");
    need(nm, R, "mean");
    need(nr, R, "rstd");
    adviseHugePages(y, ny * sizeof(float));
#pragma omp parallel for schedule(static) if (R * C > kParallelMin)
    for (int64_t i = 0; i < R; i++) layerNormRow(x + i * C, C, gamma, beta, eps, y + i * C, mean + i, rstd + i);
    return undefined(env);
  });
}

// layerNormBackward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, cols)
napi_value LayerNormBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    size_t n[8];
    const float* x = a.f32(0, &n[0]);
    const float* gamma = a.f32(1, &n[1]);
    const float* mean = a.f32(2, &n[2]);
    const float* rstd = a.f32(3, &n[3]);
    const float* dy = a.f32(4, &n[4]);
    float* dx = a.f32(5, &n[5]);
    float* dgamma = a.f32(6, &n[6]);
    float* dbeta = a.f32(7, &n[7]);
    const int64_t R = a.i32(8), C = a.i32(9);
    if (R < 1 || C < 1) throw ArgError("layer norm: rows and cols must be positive");
    need(n[0], R * C, "x");
    need(n[1], C, "gamma");
    need(n[2], R, "mean");
    need(n[3], R, "rstd");
    need(n[4], R * C, "dy");
    need(n[5], R * C, "dx");
    need(n[6], C, "dgamma");
    need(n[7], C, "dbeta");
    const int threads = R * C > kParallelMin ? omp_get_max_threads() : 1;
    std::vector<double> part(size_t(threads) * 2 * size_t(C), 0.0);
#pragma omp parallel num_threads(threads)
    {
      double* pg = part.data() + size_t(omp_get_thread_num()) * 2 * size_t(C);
#pragma omp for schedule(static)
      for (int64_t i = 0; i < R; i++) layerNormBackwardRow(x + i * C, dy + i * C, C, gamma, mean[i], rstd[i], dx + i * C, pg, pg + C);
    }
    for (int64_t c = 0; c < C; c++) {
      double sg = 0, sb = 0;
      for (int t = 0; t < threads; t++) {
        sg += part[size_t(t) * 2 * size_t(C) + size_t(c)];
        sb += part[size_t(t) * 2 * size_t(C) + size_t(C + c)];
      }
      dgamma[c] = float(sg);
      dbeta[c] = float(sb);
    }
    return undefined(env);
  });
}

}  // namespace detex
