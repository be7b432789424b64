"""safetensors reader in numpy only (the `safetensors` package may be missing): 8-byte little-endian
header length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw little-endian data."""
import json
import struct

import numpy as np
import torch

_DT = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I32": "<i4", "I64": "<i8", "U8": "u1", "BOOL": "?"}


def read(path, prefix=None):
    """{name: float32 torch tensor}; BF16 is widened by hand (numpy has no bfloat16)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    base = 8 + n
    mm = np.memmap(path, dtype="u1", mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or (prefix and not name.startswith(prefix)):
            continue
        a, b = info["data_offsets"]
        raw = mm[base + a: base + b]
        if info["dtype"] == "BF16":
            arr = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, _DT[info["dtype"]])
        arr = arr.reshape(info["shape"])
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        out[name[len(prefix):] if prefix else name] = torch.from_numpy(np.array(arr))
    return out
