"""SAM ViT image encoder (segment_anything.modeling.image_encoder): patch embedding, absolute positions,
windowed / global blocks with decomposed relative positions, conv neck with LayerNorm2d. NCHW in, NCHW out."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import conv, linear


def get_rel_pos(q_size, k_size, rel_pos):
    # rel_pos tables are stored at their final length here (no interpolation needed for matching configs)
    q = torch.arange(q_size)[:, None] * max(k_size / q_size, 1.0)
    k = torch.arange(k_size)[None, :] * max(q_size / k_size, 1.0)
    rel = (q - k) + (k_size - 1) * max(q_size / k_size, 1.0)
    return rel_pos[rel.long()]


class Attention(nn.Module):
    def __init__(self, sd, p, heads):
        super().__init__()
        self.heads = heads
        self.qkv = linear(sd, p + ".qkv")
        self.proj = linear(sd, p + ".proj")
        self.use_rel = (p + ".rel_pos_h") in sd
        if self.use_rel:
            self.rel_pos_h = nn.Parameter(torch.zeros(sd[p + ".rel_pos_h"].shape))
            self.rel_pos_w = nn.Parameter(torch.zeros(sd[p + ".rel_pos_w"].shape))

    def forward(self, x):
        b, h, w, _ = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, b * self.heads, h * w, -1).unbind(0)
        d = q.shape[-1]
        attn = (q * d ** -0.5) @ k.transpose(-2, -1)
        if self.use_rel:
            rh, rw = get_rel_pos(h, h, self.rel_pos_h), get_rel_pos(w, w, self.rel_pos_w)
            rq = q.reshape(-1, h, w, d)
            rel_h = torch.einsum("bhwc,hkc->bhwk", rq, rh)
            rel_w = torch.einsum("bhwc,wkc->bhwk", rq, rw)
            attn = (attn.view(-1, h, w, h, w) + rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]).view(-1, h * w, h * w)
        x = (attn.softmax(-1) @ v).view(b, self.heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
        return self.proj(x)


def window_partition(x, ws):
    b, h, w, c = x.shape
    ph, pw = (ws - h % ws) % ws, (ws - w % ws) % ws
    if ph or pw:
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
    hp, wp = h + ph, w + pw
    x = x.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, c)
    return x, (hp, wp)


def window_unpartition(x, ws, pad_hw, hw):
    hp, wp = pad_hw
    h, w = hw
    b = x.shape[0] // (hp * wp // ws // ws)
    x = x.view(b, hp // ws, wp // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w, :].contiguous()


class Block(nn.Module):
    def __init__(self, sd, p, heads, ws, eps):
        super().__init__()
        d = sd[p + ".norm1.weight"].shape[0]
        self.ws = ws
        self.norm1, self.norm2 = nn.LayerNorm(d, eps), nn.LayerNorm(d, eps)
        self.attn = Attention(sd, p + ".attn", heads)
        self.mlp = nn.Module()
        self.mlp.lin1, self.mlp.lin2 = linear(sd, p + ".mlp.lin1"), linear(sd, p + ".mlp.lin2")

    def forward(self, x):
        s = x
        x = self.norm1(x)
        if self.ws > 0:
            h, w = x.shape[1], x.shape[2]
            x, pad = window_partition(x, self.ws)
            x = window_unpartition(self.attn(x), self.ws, pad, (h, w))
        else:
            x = self.attn(x)
        x = s + x
        return x + self.mlp.lin2(F.gelu(self.mlp.lin1(self.norm2(x))))


class LayerNorm2d(nn.Module):
    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight, self.bias, self.eps = nn.Parameter(torch.ones(c)), nn.Parameter(torch.zeros(c)), eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        return self.weight[:, None, None] * ((x - u) / torch.sqrt(s + self.eps)) + self.bias[:, None, None]


class ImageEncoderViT(nn.Module):
    def __init__(self, cfg, sd):
        super().__init__()
        sd = {k[len("image_encoder."):]: v for k, v in sd.items() if k.startswith("image_encoder.")}
        self.patch_embed = nn.Module()
        ps = cfg["vit_patch_size"]
        self.patch_embed.proj = conv(sd, "patch_embed.proj", stride=ps, padding=0)
        self.pos_embed = nn.Parameter(torch.zeros(sd["pos_embed"].shape))
        glob = set(cfg["encoder_global_attn_indexes"])
        eps = cfg.get("encoder_layer_norm_eps", 1e-6)
        self.blocks = nn.ModuleList([Block(sd, f"blocks.{i}", cfg["encoder_num_heads"], 0 if i in glob else cfg["window_size"], eps)
                                     for i in range(cfg["encoder_depth"])])
        out = sd["neck.0.weight"].shape[0]
        self.neck = nn.Sequential(conv(sd, "neck.0", padding=0), LayerNorm2d(out), conv(sd, "neck.2", padding=1), LayerNorm2d(out))
        self.load_state_dict(sd, strict=True)

    def forward(self, x):
        x = self.patch_embed.proj(x).permute(0, 2, 3, 1) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        return self.neck(x.permute(0, 3, 1, 2))
