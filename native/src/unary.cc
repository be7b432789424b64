// Elementwise unary ops and softmax. Most are oneDNN eltwise primitives (JIT-vectorised exp,
// logistic, tanh...: the JS kernels call Math.exp per element); erf has no oneDNN eltwise, so it
// is a plain parallel loop over std::erf.
#include <omp.h>

#include <cmath>

#include "dnnl-util.h"
#include "napi-util.h"

namespace detex {
using dnnl::memory;
namespace {

// Codes shared with lib/backend/native-kernels/elementwise.ts.
enum UnaryOp { kExp = 0, kSigmoid, kTanh, kSqrt, kRsqrt, kSquare, kLog, kRelu, kAbs, kErf, kNeg, kNumUnary };

struct Eltwise {
  dnnl::eltwise_forward prim;
};
struct Softmax {
  dnnl::softmax_forward prim;
};
PrimitiveCache<Eltwise> eltwiseCache;
PrimitiveCache<Softmax> softmaxCache;

void eltwiseParams(int op, dnnl::algorithm& alg, float& alpha, float& beta) {
  using A = dnnl::algorithm;
  alpha = 0.f;
  beta = 0.f;
  switch (op) {
    case kExp: alg = A::eltwise_exp; break;
    case kSigmoid: alg = A::eltwise_logistic; break;
    case kTanh: alg = A::eltwise_tanh; break;
    case kSqrt: alg = A::eltwise_sqrt; break;
    case kRsqrt: alg = A::eltwise_pow; alpha = 1.f; beta = -0.5f; break;  // 1 * x^-0.5
    case kSquare: alg = A::eltwise_square; break;
    case kLog: alg = A::eltwise_log; break;
    case kRelu: alg = A::eltwise_relu; break;
    case kAbs: alg = A::eltwise_abs; break;
    case kNeg: alg = A::eltwise_linear; alpha = -1.f; break;  // -1 * x + 0
    default: throw ArgError("unary op " + std::to_string(op) + " is not a oneDNN eltwise");
  }
}

}  // namespace

// unary(op, x, y)
napi_value Unary(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    int op = a.i32(0);
    size_t nx, ny;
    const float* x = a.f32(1, &nx);
    float* y = a.f32(2, &ny);
    if (nx != ny) throw ArgError("unary size mismatch");
    if (nx == 0) return undefined(env);
    adviseHugePages(y, ny * sizeof(float));
    if (op == kErf) {
#pragma omp parallel for schedule(static) if (nx > 32768)
      for (int64_t i = 0; i < int64_t(nx); i++) y[i] = std::erf(x[i]);
      return undefined(env);
    }
    if (op < 0 || op >= kNumUnary) throw ArgError("unknown unary op " + std::to_string(op));
    SingleThreadIfSmall small(int64_t(nx));
    memory::desc md({int64_t(nx)}, memory::data_type::f32, memory::format_tag::a);
    auto e = eltwiseCache.get(keyOf({op, int64_t(nx)}), [&] {
      dnnl::algorithm alg;
      float alpha, beta;
      eltwiseParams(op, alg, alpha, beta);
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, alpha, beta);
      return std::make_shared<Eltwise>(Eltwise{dnnl::eltwise_forward({d, cpuEngine()})});
    });
    memory xm(md, cpuEngine(), const_cast<float*>(x)), ym(md, cpuEngine(), y);
    e->prim.execute(cpuStream(), {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DST, ym}});
    cpuStream().wait();
    return undefined(env);
  });
}

// softmax(x, rows, cols, y): softmax over the last axis of a [rows, cols] view.
napi_value SoftmaxLast(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    size_t nx, ny;
    const float* x = a.f32(0, &nx);
    int64_t rows = a.i32(1), cols = a.i32(2);
    float* y = a.f32(3, &ny);
    if (nx != size_t(rows * cols) || ny != nx) throw ArgError("softmax size mismatch");
    if (nx == 0) return undefined(env);
    adviseHugePages(y, ny * sizeof(float));
    SingleThreadIfSmall small(int64_t(nx));
    memory::desc md({rows, cols}, memory::data_type::f32, memory::format_tag::ab);
    auto s = softmaxCache.get(keyOf({rows, cols}), [&] {
      dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md, 1);
      return std::make_shared<Softmax>(Softmax{dnnl::softmax_forward({d, cpuEngine()})});
    });
    memory xm(md, cpuEngine(), const_cast<float*>(x)), ym(md, cpuEngine(), y);
    s->prim.execute(cpuStream(), {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DST, ym}});
    cpuStream().wait();
    return undefined(env);
  });
}

}  // namespace detex
