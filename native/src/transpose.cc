// N-d transpose (tfjs Transpose). Attention's split/merge heads ([B,N,H,D] <-> [B,H,N,D]) is the
// hot case: after merging dims the inner run is D contiguous floats, copied row by row in parallel.
#include <omp.h>

#include "napi-util.h"

namespace detex {

// transpose(x, shape, perm, y)
napi_value Transpose(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    size_t nx, ny;
    const float* x = a.f32(0, &nx);
    auto shape = a.ints(1);
    auto perm = a.ints(2);
    float* y = a.f32(3, &ny);
    size_t r = shape.size();
    if (perm.size() != r || nx != size_t(product(shape)) || ny != nx) throw ArgError("transpose size mismatch");
    std::vector<int64_t> inStride(r);
    for (size_t i = r, s = 1; i-- > 0;) {
      inStride[i] = int64_t(s);
      s *= size_t(shape[i]);
    }
    // Output dims with their input strides, dropping 1s and merging runs contiguous in both.
    std::vector<int64_t> dims, strides;
    for (size_t i = 0; i < r; i++) {
      if (perm[i] < 0 || size_t(perm[i]) >= r) throw ArgError("bad permutation");
      int64_t d = shape[size_t(perm[i])], s = inStride[size_t(perm[i])];
      if (d == 1) continue;
      if (!dims.empty() && strides.back() == s * d) {
        dims.back() *= d;
        strides.back() = s;
        continue;
      }
      dims.push_back(d);
      strides.push_back(s);
    }
    if (dims.empty()) {
      if (nx) y[0] = x[0];
      return undefined(env);
    }
    adviseHugePages(y, ny * sizeof(float));
    size_t k = dims.size();
    int64_t inner = dims[k - 1], is = strides[k - 1], rows = int64_t(nx) / inner;
#pragma omp parallel for schedule(static) if (nx > 32768)
    for (int64_t row = 0; row < rows; row++) {
      int64_t off = 0, rem = row;
      for (size_t i = k - 1; i-- > 0;) {
        off += (rem % dims[i]) * strides[i];
        rem /= dims[i];
      }
      const float* px = x + off;
      float* py = y + row * inner;
      if (is == 1)
        for (int64_t j = 0; j < inner; j++) py[j] = px[j];
      else
        for (int64_t j = 0; j < inner; j++) py[j] = px[j * is];
    }
    return undefined(env);
  });
}

}  // namespace detex
