// Small helpers over the plain C N-API (node_api.h ships with Node's headers), so the addon
// needs no npm package to build. Every JS-facing function throws a JS Error on bad arguments
// instead of crashing the process.
#pragma once
#include <node_api.h>
#include <omp.h>
#include <sys/mman.h>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "signal-guard.h"

namespace detex {

// Thrown inside a kernel; converted to a JS exception at the N-API boundary (see wrap()).
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void check(napi_status s, const char* what) {
  if (s != napi_ok) throw ArgError(std::string("N-API call failed: ") + what);
}

struct Args {
  napi_env env;
  std::vector<napi_value> v;
  Args(napi_env e, napi_callback_info info) : env(e) {
    size_t argc = 32;  // the fused encoder block takes 24
    v.resize(argc);
    check(napi_get_cb_info(e, info, &argc, v.data(), nullptr, nullptr), "get_cb_info");
    v.resize(argc);
  }
  size_t size() const { return v.size(); }
  bool isNull(size_t i) const {
    if (i >= v.size()) return true;
    napi_valuetype t;
    check(napi_typeof(env, v[i], &t), "typeof");
    return t == napi_null || t == napi_undefined;
  }
  // A view on a typed array's memory (no copy: tfjs cpu tensors are plain typed arrays).
  template <typename T>
  T* typed(size_t i, napi_typedarray_type want, size_t* len = nullptr) const {
    if (i >= v.size()) throw ArgError("missing argument " + std::to_string(i));
    bool is = false;
    check(napi_is_typedarray(env, v[i], &is), "is_typedarray");
    if (!is) throw ArgError("argument " + std::to_string(i) + " must be a typed array");
    napi_typedarray_type t;
    size_t n;
    void* data;
    napi_value ab;
    size_t off;
    check(napi_get_typedarray_info(env, v[i], &t, &n, &data, &ab, &off), "typedarray_info");
    if (t != want) throw ArgError("argument " + std::to_string(i) + " has the wrong element type");
    if (len) *len = n;
    return static_cast<T*>(data);
  }
  float* f32(size_t i, size_t* len = nullptr) const {
    return typed<float>(i, napi_float32_array, len);
  }
  // Optional float32 array: nullptr for null/undefined.
  float* f32opt(size_t i, size_t* len = nullptr) const {
    if (isNull(i)) {
      if (len) *len = 0;
      return nullptr;
    }
    return f32(i, len);
  }
  std::vector<int64_t> ints(size_t i) const {
    size_t n;
    int32_t* p = typed<int32_t>(i, napi_int32_array, &n);
    return std::vector<int64_t>(p, p + n);
  }
  int32_t i32(size_t i) const {
    int32_t x;
    check(napi_get_value_int32(env, v.at(i), &x), "int32");
    return x;
  }
  double num(size_t i) const {
    double x;
    check(napi_get_value_double(env, v.at(i), &x), "double");
    return x;
  }
};

inline napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// Runs a kernel body and turns C++ exceptions into JS errors. The first call on a thread makes its
// OpenMP pool block signals (signal-guard.h).
template <typename F>
napi_value guarded(napi_env env, F&& body) {
  quietPool();
  try {
    return body();
  } catch (const std::exception& e) {
    napi_throw_error(env, "EDETEXNATIVE", e.what());
    return nullptr;
  }
}

// Output buffers arrive freshly allocated by V8 and untouched, so writing them page-faults once per
// 4 KiB page (measured: ~9 ms of a 14 ms softmax over 32 MiB). Asking for transparent huge pages
// before the first write turns that into one fault per 2 MiB where THP is in 'madvise' mode.
inline void adviseHugePages(void* p, size_t bytes) {
  static const bool enabled = [] {
    const char* v = getenv("DETEX_NATIVE_HUGEPAGES");
    return !(v && v[0] == '0');
  }();
  const uintptr_t huge = 2u << 20;
  if (!enabled || bytes < 2 * huge) return;
  uintptr_t start = (reinterpret_cast<uintptr_t>(p) + huge - 1) & ~(huge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(huge - 1);
  if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);  // advice only
}

// Below this many elements (or multiply-adds) a kernel runs on the calling thread alone: waking the OpenMP
// pool costs more than the work, and when other processes share the cores the woken thread may not run for
// milliseconds (measured: sigmoid of 4928 floats 24–95 µs wall for 12–45 µs of CPU).
constexpr int64_t kSmallWork = 32768;

// Runs oneDNN calls in its scope on one thread (omp_get_max_threads() is what oneDNN asks) when the work is
// small. The choice depends on the size alone, so a cached primitive is always created and run with the same
// thread count (some size scratchpads by it).
class SingleThreadIfSmall {
 public:
  explicit SingleThreadIfSmall(int64_t work, int64_t threshold = kSmallWork) : saved_(work < threshold ? omp_get_max_threads() : 0) {
    if (saved_) omp_set_num_threads(1);
  }
  ~SingleThreadIfSmall() {
    if (saved_) omp_set_num_threads(saved_);
  }
  SingleThreadIfSmall(const SingleThreadIfSmall&) = delete;
  SingleThreadIfSmall& operator=(const SingleThreadIfSmall&) = delete;

 private:
  int saved_;
};

inline int64_t product(const std::vector<int64_t>& s, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < s.size() && i < to; i++) p *= s[i];
  return p;
}

}  // namespace detex
