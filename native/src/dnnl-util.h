// One oneDNN CPU engine + stream for the process, and a keyed cache of built primitives.
// Building a oneDNN primitive JIT-compiles code (0.1–10 ms), so each distinct shape/attribute
// combination is built once and reused; a training loop sees the same few shapes every step.
#pragma once
#include <dnnl.hpp>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace detex {

inline dnnl::engine& cpuEngine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
inline dnnl::stream& cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
}

// Bounded so a program that sweeps many shapes cannot grow without limit; dropping everything
// when full is crude but rebuilding is cheap compared to leaking.
template <typename V>
class PrimitiveCache {
 public:
  std::shared_ptr<V> get(const std::string& key, const std::function<std::shared_ptr<V>()>& make) {
    auto it = map_.find(key);
    if (it != map_.end()) return it->second;
    if (map_.size() >= 256) map_.clear();
    auto v = make();
    map_.emplace(key, v);
    return v;
  }
  void clear() { map_.clear(); }

 private:
  std::unordered_map<std::string, std::shared_ptr<V>> map_;
};

inline std::string keyOf(std::initializer_list<int64_t> xs) {
  std::string k;
  for (auto x : xs) {
    k += std::to_string(x);
    k += ',';
  }
  return k;
}

// tfjs fused activations, in the order lib/backend/native-kernels/activation.ts encodes them.
enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kSigmoid = 4, kElu = 5 };

// Appends the activation as a oneDNN post-op (so it runs on data still in cache).
inline void appendActivation(dnnl::post_ops& po, int act, float alpha) {
  using A = dnnl::algorithm;
  switch (act) {
    case kLinear: break;
    case kRelu: po.append_eltwise(1.f, A::eltwise_relu, 0.f, 0.f); break;
    case kRelu6: po.append_eltwise(1.f, A::eltwise_clip, 0.f, 6.f); break;
    case kLeakyRelu: po.append_eltwise(1.f, A::eltwise_relu, alpha, 0.f); break;
    case kSigmoid: po.append_eltwise(1.f, A::eltwise_logistic, 0.f, 0.f); break;
    case kElu: po.append_eltwise(1.f, A::eltwise_elu, 1.f, 0.f); break;
    default: throw std::runtime_error("unknown activation code " + std::to_string(act));
  }
}

}  // namespace detex
