"""UNet2DConditionModel (diffusers 0.27) for the block types SD v1.x uses: CrossAttnDownBlock2D, DownBlock2D,
UNetMidBlock2DCrossAttn, UpBlock2D, CrossAttnUpBlock2D; positional timesteps, no class/addition embeddings.
attention_head_dim is the number of heads, as in diffusers for SD v1 configs."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import attention, conv, linear


class Resnet(nn.Module):
    def __init__(self, sd, p, groups, eps):
        super().__init__()
        cin = sd[p + ".conv1.weight"].shape[1]
        cout = sd[p + ".conv1.weight"].shape[0]
        self.norm1 = nn.GroupNorm(groups, cin, eps)
        self.conv1 = conv(sd, p + ".conv1")
        self.has_t = (p + ".time_emb_proj.weight") in sd
        if self.has_t:
            self.time_emb_proj = linear(sd, p + ".time_emb_proj")
        self.norm2 = nn.GroupNorm(groups, cout, eps)
        self.conv2 = conv(sd, p + ".conv2")
        self.has_sc = (p + ".conv_shortcut.weight") in sd
        if self.has_sc:
            self.conv_shortcut = conv(sd, p + ".conv_shortcut", padding=0)

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.has_t and temb is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.has_sc else x) + h


class Attn(nn.Module):
    def __init__(self, sd, p, heads):
        super().__init__()
        self.heads = heads
        self.to_q, self.to_k, self.to_v = (linear(sd, f"{p}.to_{n}") for n in "qkv")
        self.to_out = nn.ModuleList([linear(sd, p + ".to_out.0")])

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        return self.to_out[0](attention(self.to_q(x), self.to_k(ctx), self.to_v(ctx), self.heads))


class GEGLU(nn.Module):
    def __init__(self, sd, p):
        super().__init__()
        self.proj = linear(sd, p + ".proj")

    def forward(self, x):
        h, g = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(g)


class FeedForward(nn.Module):
    def __init__(self, sd, p):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(sd, p + ".net.0"), nn.Dropout(0.0), linear(sd, p + ".net.2")])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, sd, p, dim, heads):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(dim, eps=1e-5) for _ in range(3))
        self.attn1 = Attn(sd, p + ".attn1", heads)
        self.attn2 = Attn(sd, p + ".attn2", heads)
        self.ff = FeedForward(sd, p + ".ff")

    def forward(self, x, ctx):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), ctx) + x
        return self.ff(self.norm3(x)) + x


class Transformer2D(nn.Module):
    def __init__(self, sd, p, heads, groups, linear_proj):
        super().__init__()
        dim = sd[p + ".proj_in.weight"].shape[0]
        cin = sd[p + ".norm.weight"].shape[0]
        self.linear_proj = linear_proj
        self.norm = nn.GroupNorm(groups, cin, 1e-6)
        self.proj_in = linear(sd, p + ".proj_in") if linear_proj else conv(sd, p + ".proj_in", padding=0)
        self.proj_out = linear(sd, p + ".proj_out") if linear_proj else conv(sd, p + ".proj_out", padding=0)
        n = 0
        while f"{p}.transformer_blocks.{n}.norm1.weight" in sd:
            n += 1
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(sd, f"{p}.transformer_blocks.{i}", dim, heads) for i in range(n)])

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        r = x
        x = self.norm(x)
        if not self.linear_proj:
            x = self.proj_in(x)
        x = x.permute(0, 2, 3, 1).reshape(b, h * w, -1)
        if self.linear_proj:
            x = self.proj_in(x)
        for blk in self.transformer_blocks:
            x = blk(x, ctx)
        if self.linear_proj:
            x = self.proj_out(x)
        x = x.reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()
        if not self.linear_proj:
            x = self.proj_out(x)
        return x + r


class Sampler(nn.Module):
    def __init__(self, sd, p, up):
        super().__init__()
        self.up = up
        self.conv = conv(sd, p + ".conv", stride=1 if up else 2, padding=1)

    def forward(self, x):
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x)


def count(sd, prefix):
    n = 0
    while any(k.startswith(f"{prefix}.{n}.") for k in sd):
        n += 1
    return n


class Block(nn.Module):
    """A down/mid/up block: resnets (and attentions), with its sampler."""

    def __init__(self, sd, p, kind, heads, groups, eps, linear_proj):
        super().__init__()
        self.kind = kind
        nr = count(sd, p + ".resnets")
        self.resnets = nn.ModuleList([Resnet(sd, f"{p}.resnets.{i}", groups, eps) for i in range(nr)])
        na = count(sd, p + ".attentions")
        self.attentions = nn.ModuleList([Transformer2D(sd, f"{p}.attentions.{i}", heads, groups, linear_proj) for i in range(na)])
        key = "downsamplers" if kind == "down" else "upsamplers"
        self.has_sampler = f"{p}.{key}.0.conv.weight" in sd
        if self.has_sampler:
            setattr(self, key, nn.ModuleList([Sampler(sd, f"{p}.{key}.0", kind == "up")]))
        self.key = key


class UNet2DConditionModel(nn.Module):
    def __init__(self, cfg, sd):
        super().__init__()
        self.cfg = cfg
        heads = cfg.get("num_attention_heads") or cfg["attention_head_dim"]
        groups, eps, lp = cfg.get("norm_num_groups", 32), cfg.get("norm_eps", 1e-5), cfg.get("use_linear_projection", False)
        self.conv_in = conv(sd, "conv_in")
        self.time_embedding = nn.Module()
        self.time_embedding.linear_1 = linear(sd, "time_embedding.linear_1")
        self.time_embedding.linear_2 = linear(sd, "time_embedding.linear_2")
        self.down_blocks = nn.ModuleList([Block(sd, f"down_blocks.{i}", "down", heads, groups, eps, lp) for i in range(len(cfg["down_block_types"]))])
        self.mid_block = Block(sd, "mid_block", "mid", heads, groups, eps, lp)
        self.up_blocks = nn.ModuleList([Block(sd, f"up_blocks.{i}", "up", heads, groups, eps, lp) for i in range(len(cfg["up_block_types"]))])
        self.conv_norm_out = nn.GroupNorm(groups, sd["conv_norm_out.weight"].shape[0], eps)
        self.conv_out = conv(sd, "conv_out")
        self.load_state_dict(sd, strict=True)

    def time_proj(self, t):
        dim = self.conv_in.out_channels
        half = dim // 2
        shift = self.cfg.get("freq_shift", 0)
        exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32) / (half - shift)
        emb = t[:, None].float() * torch.exp(exponent)[None, :]
        emb = torch.cat([torch.sin(emb), torch.cos(emb)], -1)
        if self.cfg.get("flip_sin_to_cos", True):
            emb = torch.cat([emb[:, half:], emb[:, :half]], -1)
        return emb

    def forward(self, x, t, ctx):
        """x NCHW, t [B] timesteps, ctx [B, N, D]; returns NCHW noise prediction."""
        temb = self.time_embedding.linear_2(F.silu(self.time_embedding.linear_1(self.time_proj(t))))
        h = self.conv_in(x)
        skips = [h]
        for blk in self.down_blocks:
            for i, r in enumerate(blk.resnets):
                h = r(h, temb)
                if len(blk.attentions):
                    h = blk.attentions[i](h, ctx)
                skips.append(h)
            if blk.has_sampler:
                h = blk.downsamplers[0](h)
                skips.append(h)
        m = self.mid_block
        h = m.resnets[0](h, temb)
        for a, r in zip(m.attentions, m.resnets[1:]):
            h = r(a(h, ctx), temb)
        for blk in self.up_blocks:
            for i, r in enumerate(blk.resnets):
                h = r(torch.cat([h, skips.pop()], 1), temb)
                if len(blk.attentions):
                    h = blk.attentions[i](h, ctx)
            if blk.has_sampler:
                h = blk.upsamplers[0](h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))
