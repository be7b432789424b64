// Broadcasting elementwise binary ops (Add, Sub, Mul, Div, SquaredDifference, Maximum, Minimum).
//
// The pure-JS cpu backend maps every output index back to both inputs through index arrays when
// shapes differ, which is what makes group norm (x - mean[B,1,G,1]) * rstd ... so slow there.
// Here both inputs get per-dimension strides (0 where broadcast), adjacent dimensions with the
// same broadcast pattern are merged, and the innermost run is a plain loop.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "napi-util.h"

namespace detex {
namespace {

enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kSquaredDiff = 4, kMax = 5, kMin = 6 };

template <int OP>
inline float apply(float x, float y) {
  if (OP == kAdd) return x + y;
  if (OP == kSub) return x - y;
  if (OP == kMul) return x * y;
  if (OP == kDiv) return x / y;
  if (OP == kSquaredDiff) return (x - y) * (x - y);
  if (OP == kMax) return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y);
  return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y);
}

struct Plan {
  std::vector<int64_t> dims, sa, sb;  // merged output dims and input strides (0 = broadcast)
};

// Aligns both shapes to the output rank, gives broadcast dims stride 0, then merges neighbours
// that are contiguous in all three arrays.
Plan plan(std::vector<int64_t> a, std::vector<int64_t> b, const std::vector<int64_t>& out) {
  size_t r = out.size();
  a.insert(a.begin(), r - a.size(), 1);
  b.insert(b.begin(), r - b.size(), 1);
  std::vector<int64_t> sa(r), sb(r);
  int64_t pa = 1, pb = 1;
  for (size_t i = r; i-- > 0;) {
    if ((a[i] != out[i] && a[i] != 1) || (b[i] != out[i] && b[i] != 1))
      throw ArgError("shapes do not broadcast to the output shape");
    sa[i] = a[i] == 1 && out[i] != 1 ? 0 : pa;
    sb[i] = b[i] == 1 && out[i] != 1 ? 0 : pb;
    pa *= a[i];
    pb *= b[i];
  }
  Plan p;
  for (size_t i = 0; i < r; i++) {
    if (out[i] == 1) continue;
    if (!p.dims.empty()) {
      size_t j = p.dims.size() - 1;
      // Merge when dim i continues dim j in both inputs (or both are broadcast in it).
      bool aOk = (sa[i] == 0 && p.sa[j] == 0) || (sa[i] != 0 && p.sa[j] == sa[i] * out[i]);
      bool bOk = (sb[i] == 0 && p.sb[j] == 0) || (sb[i] != 0 && p.sb[j] == sb[i] * out[i]);
      if (aOk && bOk) {
        p.dims[j] *= out[i];
        p.sa[j] = sa[i];
        p.sb[j] = sb[i];
        continue;
      }
    }
    p.dims.push_back(out[i]);
    p.sa.push_back(sa[i]);
    p.sb.push_back(sb[i]);
  }
  if (p.dims.empty()) {
    p.dims = {1};
    p.sa = {1};
    p.sb = {1};
  }
  return p;
}

template <int OP>
void run(const Plan& p, const float* a, const float* b, float* y) {
  size_t r = p.dims.size();
  int64_t inner = p.dims[r - 1], ia = p.sa[r - 1], ib = p.sb[r - 1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < r; i++) rows *= p.dims[i];
  // Work items are (row, chunk of the row), so a long innermost run (x * scalar) is split too.
  const int64_t chunk = 16384, perRow = (inner + chunk - 1) / chunk, items = rows * perRow;
#pragma omp parallel for schedule(static) if (rows * inner > 32768)
  for (int64_t item = 0; item < items; item++) {
    int64_t row = item / perRow, j0 = (item % perRow) * chunk, j1 = std::min(inner, j0 + chunk);
    int64_t offA = 0, offB = 0, rem = row;
    for (size_t i = r - 1; i-- > 0;) {
      int64_t c = rem % p.dims[i];
      rem /= p.dims[i];
      offA += c * p.sa[i];
      offB += c * p.sb[i];
    }
    const float* pa = a + offA;
    const float* pb = b + offB;
    float* py = y + row * inner;
    // Separate loops per stride pattern so the compiler vectorises each.
    if (ia == 1 && ib == 1)
      for (int64_t j = j0; j < j1; j++) py[j] = apply<OP>(pa[j], pb[j]);
    else if (ia == 1)
      for (int64_t j = j0; j < j1; j++) py[j] = apply<OP>(pa[j], pb[0]);
    else if (ib == 1)
      for (int64_t j = j0; j < j1; j++) py[j] = apply<OP>(pa[0], pb[j]);
    else
      for (int64_t j = j0; j < j1; j++) py[j] = apply<OP>(pa[0], pb[0]);
  }
}

}  // namespace

// binary(op, a, aShape, b, bShape, y, yShape)
napi_value Binary(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args args(env, info);
    int op = args.i32(0);
    size_t na, nb, ny;
    const float* a = args.f32(1, &na);
    auto aShape = args.ints(2);
    const float* b = args.f32(3, &nb);
    auto bShape = args.ints(4);
    float* y = args.f32(5, &ny);
    auto yShape = args.ints(6);
    if (na != size_t(product(aShape)) || nb != size_t(product(bShape)) || ny != size_t(product(yShape)))
      throw ArgError("binary buffer sizes do not match shapes");
    if (aShape.size() > yShape.size() || bShape.size() > yShape.size()) throw ArgError("input rank above output rank");
    if (ny == 0) return undefined(env);
    adviseHugePages(y, ny * sizeof(float));
    Plan p = plan(aShape, bShape, yShape);
    switch (op) {
      case kAdd: run<kAdd>(p, a, b, y); break;
      case kSub: run<kSub>(p, a, b, y); break;
      case kMul: run<kMul>(p, a, b, y); break;
      case kDiv: run<kDiv>(p, a, b, y); break;
      case kSquaredDiff: run<kSquaredDiff>(p, a, b, y); break;
      case kMax: run<kMax>(p, a, b, y); break;
      case kMin: run<kMin>(p, a, b, y); break;
      default: throw ArgError("unknown binary op " + std::to_string(op));
    }
    return undefined(env);
  });
}

}  // namespace detex
