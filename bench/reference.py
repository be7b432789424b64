#!/usr/bin/env python3
"""PyTorch CPU reference for bench/run.ts: the same rows on the same input files (raw float32, NHWC as
written by bench/inputs.ts; converted to NCHW before timing). One row per process so ru_maxrss is that
row's peak. Prints `RESULT {json}`.

    python3 bench/reference.py <row name> <inputs dir> <runs> <warmup> <threads> [<output file>]

With an output file, the last step's result (NHWC float32, raw) is written there so bench/run.ts can compare
it with ours. Model rows (bench/reference/) read DETEX_FIXTURES / DETEX_TINY_MODEL / DETEX_SD15_DIR.

Debian's python3-torch: install libopenblas0-pthread too (bench/setup.sh), else matmul uses the
reference BLAS. Convolutions go through oneDNN (mkldnn) either way.
"""
import ctypes
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference.rows import model_rows  # noqa: E402


def load(d, name, shape):
    return torch.from_numpy(np.fromfile(os.path.join(d, name + ".f32"), dtype="<f4").reshape(shape).copy())


def nchw(x):
    return x.permute(0, 3, 1, 2).contiguous()


def hwio_to_oihw(w):
    return w.permute(3, 2, 0, 1).contiguous()


def rows(d):
    conv_x = lambda: nchw(load(d, "conv_x", (2, 64, 64, 320)))
    conv_w = lambda: hwio_to_oihw(load(d, "conv_w", (3, 3, 320, 320)))

    def mm(n, a, b):
        A, B = load(d, a, (n, n)), load(d, b, (n, n))
        return lambda: torch.mm(A, B)

    def conv_fwd():
        x, w = conv_x(), conv_w()
        return lambda: F.conv2d(x, w, padding=1)

    def conv_fwd_bwd():
        x, w = conv_x().requires_grad_(), conv_w().requires_grad_()

        def step():
            gx, gw = torch.autograd.grad(F.conv2d(x, w, padding=1).sum(), (x, w))
            return gx
        return step

    def attention():
        q, k, v = (load(d, n, (16, 1024, 40)) for n in ("q", "k", "v"))
        return lambda: torch.bmm(torch.softmax(torch.bmm(q, k.transpose(1, 2)) * (1 / 40 ** 0.5), dim=-1), v)

    def group_norm():
        x = nchw(load(d, "gn_x", (2, 64, 64, 320)))
        g, b = load(d, "gn_g", (320,)), load(d, "gn_b", (320,))
        return lambda: F.silu(F.group_norm(x, 32, g, b, 1e-5))

    table = {
        "matmul 2048³ (peak sgemm)": lambda: mm(2048, "mm2048_a", "mm2048_b"),
        "matmul 1024³": lambda: mm(1024, "mm_a", "mm_b"),
        "conv 3×3 (2,64,64,320)→320": conv_fwd,
        "conv 3×3 (2,64,64,320)→320 fwd+bwd": conv_fwd_bwd,
        "self-attention 16×1024×40": attention,
        "group norm 32 + SiLU (2,64,64,320)": group_norm,
    }
    # kernel rows return a step only (4-D results are NCHW: compared as NHWC); model rows return (step, to_nhwc or None)
    table = {k: (lambda f: lambda: (f(), lambda o: o.permute(0, 2, 3, 1) if o.dim() == 4 else o))(f) for k, f in table.items()}
    table.update(model_rows(lambda n, s: load(d, n, s)))
    return table


def main():
    name, d, runs, warmup, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    table = rows(d)
    if name not in table:
        print("RESULT " + json.dumps({"error": "no PyTorch reference for this row"}))
        return
    step, result = table[name]()
    for _ in range(warmup):
        step()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = step()
        ms.append((time.perf_counter() - t0) * 1000)
    if len(sys.argv) > 6 and result is not None:
        r = result(out)
        r = r[0] if isinstance(r, (list, tuple)) else r
        r.detach().float().contiguous().numpy().astype("<f4").tofile(sys.argv[6])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"ms": ms, "peak_mib": round(peak), "torch": torch.__version__,
                                  "threads": torch.get_num_threads(), "blas": blas_core(),
                                  "matmul_check": matmul_check()}))


def blas_core():
    """Which BLAS torch loaded and, for OpenBLAS, which kernel it picked (Prescott = generic SSE3: CPU not
    recognised; then OPENBLAS_CORETYPE decides)."""
    libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.split()[-1]})
    for lib in libs:
        try:
            f = ctypes.CDLL(lib).openblas_get_corename
            f.restype = ctypes.c_char_p
            return "openblas " + f().decode() + " (" + lib + ")"
        except (OSError, AttributeError):
            continue
    return ",".join(libs) or "unknown"


def matmul_check():
    """The BLAS kernel computes right: a float32 product against float64 (max relative error)."""
    a, b = torch.rand(257, 300), torch.rand(300, 129)
    ref = a.double() @ b.double()
    return float(((a @ b).double() - ref).abs().max() / ref.abs().max())


if __name__ == "__main__":
    main()
