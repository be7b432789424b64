// Reductions over any set of axes (Sum, Mean, Max, Min) without the transpose the JS kernels do
// first. Dimensions are merged into alternating kept/reduced groups; input is read once in order
// and accumulated in double (as the JS kernels' plain-number sums do) into per-thread buffers.
#include <omp.h>

#include <cmath>
#include <limits>

#include "napi-util.h"

namespace detex {
namespace {

enum ReduceOp { kSum = 0, kMean = 1, kRMax = 2, kRMin = 3 };

struct Group {
  int64_t size;
  bool reduced;
  int64_t outStride;  // stride in the output for kept groups
};

std::vector<Group> groups(const std::vector<int64_t>& shape, const std::vector<int64_t>& axes) {
  std::vector<bool> red(shape.size(), false);
  for (auto ax : axes) {
    if (ax < 0 || size_t(ax) >= shape.size()) throw ArgError("reduction axis out of range");
    red[size_t(ax)] = true;
  }
  std::vector<Group> g;
  for (size_t i = 0; i < shape.size(); i++) {
    if (shape[i] == 1) continue;
    if (!g.empty() && g.back().reduced == red[i]) g.back().size *= shape[i];
    else g.push_back({shape[i], red[i], 0});
  }
  if (g.empty()) g.push_back({1, false, 0});
  int64_t s = 1;
  for (size_t i = g.size(); i-- > 0;)
    if (!g[i].reduced) {
      g[i].outStride = s;
      s *= g[i].size;
    }
  return g;
}

template <int OP>
inline void combine(double& acc, double v) {
  if (OP == kSum || OP == kMean) acc += v;
  else if (OP == kRMax) { if (v > acc || std::isnan(v)) acc = std::isnan(acc) ? acc : v; }
  else { if (v < acc || std::isnan(v)) acc = std::isnan(acc) ? acc : v; }
}

template <int OP>
void reduce(const std::vector<Group>& g, const float* x, int64_t total, float* y, int64_t outSize) {
  double init = OP == kRMax ? -std::numeric_limits<double>::infinity()
              : OP == kRMin ? std::numeric_limits<double>::infinity() : 0.0;
  const Group& last = g.back();
  int64_t inner = last.size, rows = total / inner;
  int threads = omp_get_max_threads();
  if (total < 65536) threads = 1;
  std::vector<double> acc(size_t(threads) * size_t(outSize), init);
#pragma omp parallel num_threads(threads)
  {
    double* mine = acc.data() + size_t(omp_get_thread_num()) * size_t(outSize);
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; row++) {
      int64_t off = 0, rem = row;
      for (size_t i = g.size() - 1; i-- > 0;) {
        int64_t c = rem % g[i].size;
        rem /= g[i].size;
        if (!g[i].reduced) off += c * g[i].outStride;
      }
      const float* px = x + row * inner;
      if (last.reduced) {
        double a = init;
        for (int64_t j = 0; j < inner; j++) combine<OP>(a, px[j]);
        combine<OP>(mine[off], a);
      } else {
        for (int64_t j = 0; j < inner; j++) combine<OP>(mine[off + j], px[j]);
      }
    }
  }
  double count = double(total) / double(outSize);
  for (int64_t o = 0; o < outSize; o++) {
    double a = acc[size_t(o)];
    for (int t = 1; t < threads; t++) combine<OP>(a, acc[size_t(t) * size_t(outSize) + size_t(o)]);
    y[o] = float(OP == kMean ? a / count : a);
  }
}

}  // namespace

// reduce(op, x, shape, axes, y)
napi_value Reduce(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    int op = a.i32(0);
    size_t nx, ny;
    const float* x = a.f32(1, &nx);
    auto shape = a.ints(2);
    auto axes = a.ints(3);
    float* y = a.f32(4, &ny);
    if (nx != size_t(product(shape))) throw ArgError("reduce buffer size does not match shape");
    auto g = groups(shape, axes);
    int64_t outSize = 1;
    for (auto& gr : g)
      if (!gr.reduced) outSize *= gr.size;
    if (ny != size_t(outSize)) throw ArgError("reduce output size mismatch");
    if (nx == 0) throw ArgError("empty reduction");
    switch (op) {
      case kSum: reduce<kSum>(g, x, int64_t(nx), y, outSize); break;
      case kMean: reduce<kMean>(g, x, int64_t(nx), y, outSize); break;
      case kRMax: reduce<kRMax>(g, x, int64_t(nx), y, outSize); break;
      case kRMin: reduce<kRMin>(g, x, int64_t(nx), y, outSize); break;
      default: throw ArgError("unknown reduce op " + std::to_string(op));
    }
    return undefined(env);
  });
}

}  // namespace detex
