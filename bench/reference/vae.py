"""AutoencoderKL decoder (diffusers 0.27): post_quant_conv, conv_in, mid (resnet, single-head attention,
resnet), UpDecoderBlock2D×n, GroupNorm+SiLU, conv_out. decode() takes NCHW latents already divided by
scaling_factor, as diffusers' vae.decode does."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import attention, conv, linear
from .unet import Block, Resnet, count


class VaeAttn(nn.Module):
    def __init__(self, sd, p, groups):
        super().__init__()
        c = sd[p + ".to_q.weight"].shape[0]
        self.group_norm = nn.GroupNorm(groups, c, 1e-6)
        self.to_q, self.to_k, self.to_v = (linear(sd, f"{p}.to_{n}") for n in "qkv")
        self.to_out = nn.ModuleList([linear(sd, p + ".to_out.0")])

    def forward(self, x):
        b, c, h, w = x.shape
        s = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)
        o = self.to_out[0](attention(self.to_q(s), self.to_k(s), self.to_v(s), 1))
        return o.transpose(1, 2).reshape(b, c, h, w) + x


class Decoder(nn.Module):
    def __init__(self, cfg, sd):
        super().__init__()
        g = cfg.get("norm_num_groups", 32)
        self.conv_in = conv(sd, "decoder.conv_in")
        self.mid_block = nn.Module()
        self.mid_block.resnets = nn.ModuleList([Resnet(sd, f"decoder.mid_block.resnets.{i}", g, 1e-6) for i in range(2)])
        self.mid_block.attentions = nn.ModuleList([VaeAttn(sd, "decoder.mid_block.attentions.0", g)])
        self.up_blocks = nn.ModuleList([Block(sd, f"decoder.up_blocks.{i}", "up", 1, g, 1e-6, False)
                                        for i in range(count(sd, "decoder.up_blocks"))])
        self.conv_norm_out = nn.GroupNorm(g, sd["decoder.conv_norm_out.weight"].shape[0], 1e-6)
        self.conv_out = conv(sd, "decoder.conv_out")

    def forward(self, z):
        h = self.conv_in(z)
        m = self.mid_block
        h = m.resnets[1](m.attentions[0](m.resnets[0](h)))
        for blk in self.up_blocks:
            for r in blk.resnets:
                h = r(h)
            if blk.has_sampler:
                h = blk.upsamplers[0](h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class AutoencoderKLDecoder(nn.Module):
    def __init__(self, cfg, sd):
        super().__init__()
        sd = {k: v for k, v in sd.items() if k.startswith("decoder.") or k.startswith("post_quant_conv.")}
        self.cfg = cfg
        self.post_quant_conv = conv(sd, "post_quant_conv", padding=0)
        self.decoder = Decoder(cfg, sd)
        self.load_state_dict(sd, strict=True)

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))
