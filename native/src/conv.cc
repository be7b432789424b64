// Conv2D forward, backward-data and backward-weights in NHWC on oneDNN.
//
// tfjs layouts map straight onto oneDNN format tags, so no user-side copies are made:
//   x, y, dy:  [N, H, W, C]       -> nhwc
//   filter:    [KH, KW, IC, OC]   -> hwio
// oneDNN may want weights in a blocked layout (format_tag::any); we reorder into/out of it per
// call (weights change every training step; the reorder is ~1% of the conv).
//
// Geometry comes in one Int32Array, computed on the JS side by tfjs' own computeConv2DInfo so
// 'same'/'valid'/explicit padding and output sizes agree with tfjs exactly:
//   [N, H, W, C, KH, KW, OC, OH, OW, strideH, strideW, dilH, dilW, padTop, padLeft, padBottom, padRight]
#include <algorithm>
#include <cstring>

#include "dnnl-util.h"
#include "napi-util.h"

namespace detex {
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct Geometry {
  int64_t n, h, w, c, kh, kw, oc, oh, ow, sh, sw, dh, dw, pt, pl, pb, pr;
  explicit Geometry(const std::vector<int64_t>& p) {
    if (p.size() != 17) throw ArgError("conv geometry must have 17 entries");
    n = p[0]; h = p[1]; w = p[2]; c = p[3]; kh = p[4]; kw = p[5]; oc = p[6]; oh = p[7]; ow = p[8];
    sh = p[9]; sw = p[10]; dh = p[11]; dw = p[12]; pt = p[13]; pl = p[14]; pb = p[15]; pr = p[16];
  }
  memory::desc src() const { return {{n, c, h, w}, dt::f32, tag::nhwc}; }
  memory::desc dst() const { return {{n, oc, oh, ow}, dt::f32, tag::nhwc}; }
  memory::desc weightsUser() const { return {{oc, c, kh, kw}, dt::f32, tag::hwio}; }
  memory::desc weightsAny() const { return {{oc, c, kh, kw}, dt::f32, tag::any}; }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dilates() const { return {dh - 1, dw - 1}; }  // oneDNN counts dilation from 0
  memory::dims padL() const { return {pt, pl}; }
  memory::dims padR() const { return {pb, pr}; }
  std::string key() const {
    return keyOf({n, h, w, c, kh, kw, oc, oh, ow, sh, sw, dh, dw, pt, pl, pb, pr});
  }
  size_t srcSize() const { return size_t(n * h * w * c); }
  size_t dstSize() const { return size_t(n * oh * ow * oc); }
  size_t weightsSize() const { return size_t(kh * kw * c * oc); }
};

dnnl::convolution_forward::primitive_desc forwardPd(const Geometry& g, bool bias, int act, float alpha,
                                                    dnnl::prop_kind prop, bool addDst = false) {
  dnnl::post_ops po;
  if (addDst) po.append_sum(1.f);  // y = conv + bias + (what y held: the addend), before the activation
  appendActivation(po, act, alpha);
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  memory::desc biasMd = bias ? memory::desc({g.oc}, dt::f32, tag::x) : memory::desc();
  dnnl::convolution_forward::desc d(prop, dnnl::algorithm::convolution_direct, g.src(), g.weightsAny(),
                                    biasMd, g.dst(), g.strides(), g.dilates(), g.padL(), g.padR());
  return {d, attr, cpuEngine()};
}

struct Forward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  memory::desc weightsMd;
};
struct BackwardData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
};
struct BackwardWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
};
PrimitiveCache<Forward> forwardCache;
PrimitiveCache<BackwardData> backwardDataCache;
PrimitiveCache<BackwardWeights> backwardWeightsCache;

// User-layout weights as the primitive wants them: the user memory itself when layouts agree,
// else a reordered copy.
memory weightsFor(const memory::desc& want, const Geometry& g, float* w) {
  memory user(g.weightsUser(), cpuEngine(), w);
  if (want == user.get_desc()) return user;
  memory m(want, cpuEngine());
  dnnl::reorder(user, m).execute(cpuStream(), user, m);
  return m;
}

void need(size_t got, size_t want, const char* what) {
  if (got != want)
    throw ArgError(std::string(what) + " has " + std::to_string(got) + " elements, expected " +
                   std::to_string(want));
}

}  // namespace

// Copies n floats on the pool when large (the addend of a fused residual is a full-size map).
static void copyFloats(float* dst, const float* src, size_t n) {
  const int64_t chunk = 1 << 16, chunks = int64_t((n + chunk - 1) / chunk);
#pragma omp parallel for schedule(static) if (int64_t(n) > kSmallWork)
  for (int64_t i = 0; i < chunks; i++) {
    const size_t from = size_t(i * chunk), len = std::min(size_t(chunk), n - from);
    std::memcpy(dst + from, src + from, len * sizeof(float));
  }
}

// conv2dForward(x, filter, bias|null, y, geometry, activation, leakyAlpha[, addend|null])
// With an addend (y's shape) the result is conv + bias + addend, then the activation: a residual connection
// added while the output tile is still in cache (oneDNN's sum post-op) instead of in a pass of its own.
napi_value Conv2dForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    SignalScope signals;  // sgemm kernels must not take a signal (signal-guard.h)
    Args a(env, info);
    size_t nx, nw, nb, ny;
    float* x = a.f32(0, &nx);
    float* w = a.f32(1, &nw);
    float* b = a.f32opt(2, &nb);
    float* y = a.f32(3, &ny);
    Geometry g(a.ints(4));
    int act = a.i32(5);
    float alpha = float(a.num(6));
    size_t nadd = 0;
    const float* addend = a.f32opt(7, &nadd);
    need(nx, g.srcSize(), "x");
    need(nw, g.weightsSize(), "filter");
    need(ny, g.dstSize(), "y");
    if (b) need(nb, size_t(g.oc), "bias");
    if (addend) need(nadd, g.dstSize(), "addend");
    auto f = forwardCache.get(g.key() + (b ? "b" : "") + (addend ? "s" : "") + keyOf({act}) + std::to_string(alpha), [&] {
      auto pd = forwardPd(g, b != nullptr, act, alpha, dnnl::prop_kind::forward_inference, addend != nullptr);
      return std::make_shared<Forward>(Forward{pd, dnnl::convolution_forward(pd), pd.weights_desc()});
    });
    adviseHugePages(y, ny * sizeof(float));
    if (addend) copyFloats(y, addend, ny);
    memory xm(g.src(), cpuEngine(), x), ym(g.dst(), cpuEngine(), y);
    memory wm = weightsFor(f->weightsMd, g, w);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}};
    if (b) args.emplace(DNNL_ARG_BIAS, memory({{g.oc}, dt::f32, tag::x}, cpuEngine(), b));
    f->prim.execute(cpuStream(), args);
    cpuStream().wait();
    return undefined(env);
  });
}

// conv2dBackwardData(dy, filter, dx, geometry): dx = dL/dx for y = conv2d(x, filter)
napi_value Conv2dBackwardData(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    SignalScope signals;  // sgemm kernels must not take a signal (signal-guard.h)
    Args a(env, info);
    size_t ndy, nw, ndx;
    float* dy = a.f32(0, &ndy);
    float* w = a.f32(1, &nw);
    float* dx = a.f32(2, &ndx);
    Geometry g(a.ints(3));
    need(ndy, g.dstSize(), "dy");
    need(nw, g.weightsSize(), "filter");
    need(ndx, g.srcSize(), "dx");
    auto p = backwardDataCache.get(g.key(), [&] {
      auto hint = forwardPd(g, false, kLinear, 0.f, dnnl::prop_kind::forward_training);
      dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, g.src(), g.weightsAny(),
                                              g.dst(), g.strides(), g.dilates(), g.padL(), g.padR());
      dnnl::convolution_backward_data::primitive_desc pd(d, cpuEngine(), hint);
      return std::make_shared<BackwardData>(BackwardData{pd, dnnl::convolution_backward_data(pd)});
    });
    adviseHugePages(dx, ndx * sizeof(float));
    memory dym(g.dst(), cpuEngine(), dy), dxm(g.src(), cpuEngine(), dx);
    memory wm = weightsFor(p->pd.weights_desc(), g, w);
    p->prim.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, dxm}});
    cpuStream().wait();
    return undefined(env);
  });
}

// conv2dBackwardFilter(x, dy, dw, geometry): dw = dL/dfilter, written in [KH, KW, IC, OC]
napi_value Conv2dBackwardFilter(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    SignalScope signals;  // sgemm kernels must not take a signal (signal-guard.h)
    Args a(env, info);
    size_t nx, ndy, ndw;
    float* x = a.f32(0, &nx);
    float* dy = a.f32(1, &ndy);
    float* dw = a.f32(2, &ndw);
    Geometry g(a.ints(3));
    need(nx, g.srcSize(), "x");
    need(ndy, g.dstSize(), "dy");
    need(ndw, g.weightsSize(), "dw");
    auto p = backwardWeightsCache.get(g.key(), [&] {
      auto hint = forwardPd(g, false, kLinear, 0.f, dnnl::prop_kind::forward_training);
      dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, g.src(), g.weightsAny(),
                                                 g.dst(), g.strides(), g.dilates(), g.padL(), g.padR());
      dnnl::convolution_backward_weights::primitive_desc pd(d, cpuEngine(), hint);
      return std::make_shared<BackwardWeights>(BackwardWeights{pd, dnnl::convolution_backward_weights(pd)});
    });
    memory xm(g.src(), cpuEngine(), x), dym(g.dst(), cpuEngine(), dy);
    memory user(g.weightsUser(), cpuEngine(), dw);
    bool direct = p->pd.diff_weights_desc() == user.get_desc();
    memory dwm = direct ? user : memory(p->pd.diff_weights_desc(), cpuEngine());
    p->prim.execute(cpuStream(), {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_DIFF_WEIGHTS, dwm}});
    if (!direct) dnnl::reorder(dwm, user).execute(cpuStream(), dwm, user);
    cpuStream().wait();
    return undefined(env);
  });
}

void clearConvCaches() {
  forwardCache.clear();
  backwardDataCache.clear();
  backwardWeightsCache.clear();
}

}  // namespace detex
