// Module entry: exports the kernels and a few facts for `detex info`.
// Threads: oneDNN and our own loops share one OpenMP pool (libdnnl is built with OpenMP), so one
// setThreads() call governs everything; no second pool competes for the cores.
#include <omp.h>

#include "dnnl-util.h"
#include "napi-util.h"

namespace detex {
napi_value Conv2dForward(napi_env, napi_callback_info);
napi_value Conv2dBackwardData(napi_env, napi_callback_info);
napi_value Conv2dBackwardFilter(napi_env, napi_callback_info);
napi_value BatchMatMul(napi_env, napi_callback_info);
napi_value Binary(napi_env, napi_callback_info);
napi_value Reduce(napi_env, napi_callback_info);
napi_value Transpose(napi_env, napi_callback_info);
napi_value Unary(napi_env, napi_callback_info);
napi_value SoftmaxLast(napi_env, napi_callback_info);
napi_value Slice(napi_env, napi_callback_info);
napi_value Attention(napi_env, napi_callback_info);
napi_value AttentionBackward(napi_env, napi_callback_info);
napi_value GroupNorm(napi_env, napi_callback_info);
napi_value GroupNormBackward(napi_env, napi_callback_info);
napi_value LayerNorm(napi_env, napi_callback_info);
napi_value LayerNormBackward(napi_env, napi_callback_info);
napi_value EncoderBlock(napi_env, napi_callback_info);
napi_value UpsampleNearest2x(napi_env, napi_callback_info);
napi_value AdamW(napi_env, napi_callback_info);

namespace {

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info);
    int n = a.i32(0);
    if (n < 1) throw ArgError("threads must be >= 1");
    omp_set_num_threads(n);
    quietPool(true);  // a larger pool has new threads (signal-guard.h)
    return undefined(env);
  });
}

napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value o, v;
    check(napi_create_object(env, &o), "object");
    const dnnl_version_t* ver = dnnl_version();
    std::string s = std::to_string(ver->major) + "." + std::to_string(ver->minor) + "." + std::to_string(ver->patch);
    check(napi_create_string_utf8(env, s.c_str(), s.size(), &v), "string");
    check(napi_set_named_property(env, o, "onednn", v), "set");
    check(napi_create_int32(env, omp_get_max_threads(), &v), "int");
    check(napi_set_named_property(env, o, "threads", v), "set");
    std::string isa;
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
      case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
      case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
      case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
      case dnnl::cpu_isa::avx2: isa = "avx2"; break;
      case dnnl::cpu_isa::avx: isa = "avx"; break;
      case dnnl::cpu_isa::sse41: isa = "sse41"; break;
      default: isa = "other"; break;
    }
    check(napi_create_string_utf8(env, isa.c_str(), isa.size(), &v), "string");
    check(napi_set_named_property(env, o, "isa", v), "set");
    return o;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  struct {
    const char* name;
    napi_callback fn;
  } fns[] = {
      {"conv2dForward", Conv2dForward}, {"conv2dBackwardData", Conv2dBackwardData},
      {"conv2dBackwardFilter", Conv2dBackwardFilter}, {"batchMatMul", BatchMatMul},
      {"binary", Binary}, {"reduce", Reduce}, {"transpose", Transpose}, {"unary", Unary},
      {"softmax", SoftmaxLast}, {"slice", Slice}, {"attention", Attention},
      {"attentionBackward", AttentionBackward}, {"groupNorm", GroupNorm}, {"groupNormBackward", GroupNormBackward},
      {"layerNorm", LayerNorm}, {"layerNormBackward", LayerNormBackward}, {"encoderBlock", EncoderBlock},
      {"upsampleNearest2x", UpsampleNearest2x}, {"adamW", AdamW},
      {"setThreads", SetThreads}, {"info", Info},
  };
  for (auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}

}  // namespace
}  // namespace detex

NAPI_MODULE(NODE_GYP_MODULE_NAME, detex::Init)
