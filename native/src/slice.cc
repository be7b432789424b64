// Slice (and so SplitV, which is several slices): a strided block copy. The JS Slice/SplitV kernels
// copy element by element through index arrays unless the slice is a contiguous run; GEGLU's split
// of [B, N, 2F] along the last axis is the hot case.
#include <omp.h>

#include <cstring>

#include "napi-util.h"

namespace detex {

// slice(x, shape, begin, size, y)
napi_value Slice(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    size_t nx, ny;
    const float* x = a.f32(0, &nx);
    auto shape = a.ints(1), begin = a.ints(2), size = a.ints(3);
    float* y = a.f32(4, &ny);
    size_t r = shape.size();
    if (begin.size() != r || size.size() != r || nx != size_t(product(shape)) || ny != size_t(product(size)))
      throw ArgError("slice size mismatch");
    for (size_t i = 0; i < r; i++)
      if (begin[i] < 0 || size[i] < 0 || begin[i] + size[i] > shape[i]) throw ArgError("slice out of range");
    if (ny == 0) return undefined(env);
    adviseHugePages(y, ny * sizeof(float));
    // Merge trailing dims that are taken whole into one contiguous run.
    size_t k = r;
    int64_t run = 1;
    while (k > 0 && begin[k - 1] == 0 && size[k - 1] == shape[k - 1]) run *= shape[--k];
    int64_t inner = k > 0 ? size[k - 1] * run : run;  // copied per row
    std::vector<int64_t> stride(r + 1, 1);
    for (size_t i = r; i-- > 0;) stride[i] = stride[i + 1] * shape[i];
    int64_t rows = int64_t(ny) / inner;
#pragma omp parallel for schedule(static) if (ny > 65536)
    for (int64_t row = 0; row < rows; row++) {
      int64_t off = k > 0 ? begin[k - 1] * stride[k] : 0, rem = row;
      for (size_t i = k - 1; k > 0 && i-- > 0;) {
        off += (begin[i] + rem % size[i]) * stride[i + 1];
        rem /= size[i];
      }
      std::memcpy(y + row * inner, x + off, size_t(inner) * sizeof(float));
    }
    return undefined(env);
  });
}

}  // namespace detex
