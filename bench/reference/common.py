"""Layers shared by the reference models; shapes come from the loaded weights."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(sd, name, stride=1, padding=None):
    w = sd[name + ".weight"]
    o, i, kh, kw = w.shape
    c = nn.Conv2d(i, o, (kh, kw), stride=stride, padding=kh // 2 if padding is None else padding, bias=(name + ".bias") in sd)
    return c


def linear(sd, name):
    o, i = sd[name + ".weight"].shape
    return nn.Linear(i, o, bias=(name + ".bias") in sd)


def attention(q, k, v, heads, scale=None):
    """[B, N, C] multi-head softmax(QKᵀ·scale)V, as diffusers' AttnProcessor (no SDPA in torch 1.13)."""
    b, nq, c = q.shape
    d = c // heads
    split = lambda x: x.reshape(b, x.shape[1], heads, -1).permute(0, 2, 1, 3).reshape(b * heads, x.shape[1], -1)
    qh, kh, vh = split(q), split(k), split(v)
    s = torch.baddbmm(torch.empty(qh.shape[0], nq, kh.shape[1], dtype=q.dtype), qh, kh.transpose(1, 2), beta=0,
                      alpha=scale if scale is not None else d ** -0.5)
    o = torch.bmm(s.softmax(-1), vh)
    return o.reshape(b, heads, nq, -1).permute(0, 2, 1, 3).reshape(b, nq, -1)


def nhwc(x):
    return x.permute(0, 2, 3, 1).contiguous()


def nchw(x):
    return x.permute(0, 3, 1, 2).contiguous()
