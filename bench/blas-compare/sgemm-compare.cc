// dnnl_sgemm (oneDNN, Debian libdnnl-dev) vs cblas_sgemm (OpenBLAS, Debian libopenblas-dev, pthread) on the
// same buffers, in one process, alternating. Standalone: not part of the npm build.
//
// Build: g++ -O2 -std=c++17 -fopenmp bench/blas-compare/sgemm-compare.cc -o /tmp/sgemm-compare \
//          -I/usr/include/x86_64-linux-gnu -ldnnl -lopenblas
// Run:   OPENBLAS_CORETYPE=SkylakeX /tmp/sgemm-compare [--threads N] [--runs 11] [--only dnnl|openblas] [--shapes small]
//
// Per shape: both libraries are checked against each other (max rel. diff), warmed up, then for each of
// `runs` rounds each library is timed once (order alternates each round). A "sample" is a loop of enough
// calls to last >= 20 ms (measured in warm-up), divided by the count, so µs-sized calls are timed too.
// Between library switches the program sleeps 300 ms: OpenBLAS's pthread workers and libgomp's workers
// busy-wait after a call, and on 2 cores the other library's spinners would steal a core.
// Threads: omp_set_num_threads(N) for oneDNN (libgomp build), openblas_set_num_threads(N) for OpenBLAS.
// The "batched" shape (attention scores, 16 × [1024×40]·[40×1024]ᵀ) is run the way native/src/matmul.cc
// runs batches >= threads: an OpenMP loop over the batch with single-threaded gemms inside it (with N=1,
// a plain loop).
#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

struct Shape {
  const char* name;
  int batch;
  int64_t m, n, k;
  bool tb;
  bool small;
};

static const Shape kShapes[] = {
    {"2048^3", 1, 2048, 2048, 2048, false, false},
    {"1024^3", 1, 1024, 1024, 1024, false, false},
    {"512^3", 1, 512, 512, 512, false, false},
    {"linear M=8192 K=320 N=320", 1, 8192, 320, 320, false, false},
    {"linear M=8192 K=320 N=1280", 1, 8192, 1280, 320, false, false},
    {"attn scores 16x[1024x40]x[40x1024]^T", 16, 1024, 1024, 40, true, false},
    {"M=2048 K=64 N=64", 1, 2048, 64, 64, false, true},
    {"M=154 K=32 N=32", 1, 154, 32, 32, false, true},
    {"M=154 K=768 N=768", 1, 154, 768, 768, false, true},
};

enum Lib { kDnnl = 0, kBlas = 1 };
static const char* kLibName[] = {"oneDNN", "OpenBLAS"};

static int gThreads = 2;

static void gemm(Lib lib, const Shape& s, const float* a, const float* b, float* c) {
  const int64_t sa = s.m * s.k, sb = s.k * s.n, sc = s.m * s.n;
  const int64_t ldb = s.tb ? s.k : s.n;
  if (s.batch == 1) {
    if (lib == kDnnl) {
      if (dnnl_sgemm('N', s.tb ? 'T' : 'N', s.m, s.n, s.k, 1.f, a, s.k, b, ldb, 0.f, c, s.n) != dnnl_success) abort();
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, s.m, s.n, s.k, 1.f, a, s.k, b,
                  ldb, 0.f, c, s.n);
    }
    return;
  }
  // Batched: parallel over the batch, each gemm on one thread (as matmul.cc does for batch >= threads).
  if (lib == kDnnl) {
    omp_set_num_threads(1);  // what oneDNN asks inside the region is omp_get_max_threads() of the thread
  } else {
    openblas_set_num_threads(1);
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(gThreads)
  for (int i = 0; i < s.batch; i++) {
    if (lib == kDnnl)
      dnnl_sgemm('N', s.tb ? 'T' : 'N', s.m, s.n, s.k, 1.f, a + i * sa, s.k, b + i * sb, ldb, 0.f, c + i * sc, s.n);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, s.m, s.n, s.k, 1.f, a + i * sa,
                  s.k, b + i * sb, ldb, 0.f, c + i * sc, s.n);
  }
  omp_set_num_threads(gThreads);
  openblas_set_num_threads(gThreads);
}

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds per call, timing `iters` back-to-back calls.
static double timeCalls(Lib lib, const Shape& s, const float* a, const float* b, float* c, int iters) {
  double t0 = now();
  for (int i = 0; i < iters; i++) gemm(lib, s, a, b, c);
  return (now() - t0) / iters;
}

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char** argv) {
  int runs = 11;
  int only = -1;
  bool smallOnly = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) gThreads = atoi(argv[++i]);
    else if (a == "--runs" && i + 1 < argc) runs = atoi(argv[++i]);
    else if (a == "--only" && i + 1 < argc) only = std::string(argv[++i]) == "dnnl" ? kDnnl : kBlas;
    else if (a == "--shapes" && i + 1 < argc) smallOnly = std::string(argv[++i]) == "small";
    else {
      fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  omp_set_num_threads(gThreads);
  openblas_set_num_threads(gThreads);
  const dnnl_version_t* v = dnnl_version();
  printf("# oneDNN %d.%d.%d (cpu runtime %s, effective ISA enum %d); OpenBLAS config: %s; core: %s\n", v->major,
         v->minor, v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OMP" : "other", int(dnnl_get_effective_cpu_isa()),
         openblas_get_config(), openblas_get_corename());
  printf("# threads: omp_get_max_threads()=%d openblas_get_num_threads()=%d; runs=%d\n", omp_get_max_threads(),
         openblas_get_num_threads(), runs);
  printf("| shape | threads | oneDNN ms | OpenBLAS ms | oneDNN GFLOP/s | OpenBLAS GFLOP/s | oneDNN time / OpenBLAS time | "
         "max rel diff | min ms oneDNN / OpenBLAS |\n|---|---|---|---|---|---|---|---|---|\n");
  fflush(stdout);

  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (const Shape& s : kShapes) {
    if (smallOnly && !s.small) continue;
    const size_t na = size_t(s.batch) * s.m * s.k, nb = size_t(s.batch) * s.k * s.n, nc = size_t(s.batch) * s.m * s.n;
    std::vector<float> A(na), B(nb), C0(nc), C1(nc);
    for (auto& x : A) x = dist(rng);
    for (auto& x : B) x = dist(rng);
    // Agreement check: both libraries on the same input.
    gemm(kDnnl, s, A.data(), B.data(), C0.data());
    gemm(kBlas, s, A.data(), B.data(), C1.data());
    double maxDiff = 0, maxRef = 0;
    for (size_t i = 0; i < nc; i++) {
      maxDiff = std::max(maxDiff, double(std::fabs(C0[i] - C1[i])));
      maxRef = std::max(maxRef, double(std::fabs(C1[i])));
    }
    const double flops = 2.0 * s.batch * s.m * s.n * s.k;
    // Warm-up and iteration count: enough calls for >= 20 ms per sample (at least 1).
    int iters[2] = {1, 1};
    for (int l = 0; l < 2; l++) {
      if (only >= 0 && l != only) continue;
      double t = 0;
      for (int w = 0; w < 3; w++) t = timeCalls(Lib(l), s, A.data(), B.data(), C0.data(), 1);
      iters[l] = std::max(1, int(0.02 / std::max(t, 1e-7)));
      timeCalls(Lib(l), s, A.data(), B.data(), C0.data(), iters[l]);
      usleep(300000);
    }
    iters[0] = iters[1] = std::max(iters[0], iters[1]);  // same call count for both
    std::vector<double> t[2];
    for (int r = 0; r < runs; r++) {
      for (int j = 0; j < 2; j++) {
        int l = (r % 2) ? 1 - j : j;  // alternate which library goes first
        if (only >= 0 && l != only) continue;
        t[l].push_back(timeCalls(Lib(l), s, A.data(), B.data(), C0.data(), iters[l]));
        usleep(300000);
      }
    }
    double md = t[0].empty() ? NAN : median(t[0]), mb = t[1].empty() ? NAN : median(t[1]);
    double nd = t[0].empty() ? NAN : *std::min_element(t[0].begin(), t[0].end());
    double nbl = t[1].empty() ? NAN : *std::min_element(t[1].begin(), t[1].end());
    printf("| %s | %d | %.4g | %.4g | %.0f | %.0f | %.2fx | %.1e | %.4g / %.4g |\n", s.name, gThreads, md * 1e3,
           mb * 1e3, flops / md * 1e-9, flops / mb * 1e-9, md / mb, maxDiff / maxRef, nd * 1e3, nbl * 1e3);
    fflush(stdout);
  }
  return 0;
}
