"""The model rows of bench/reference.py. Each builder returns (step, result): step() is timed, result(out)
turns the last step's output into the NHWC float32 array bench/run.ts compares with ours."""
import json
import os

import numpy as np
import torch

from . import st
from .clip import CLIPTextModel
from .common import nchw, nhwc
from .ddim import DDIM
from .sam import ImageEncoderViT
from .unet import UNet2DConditionModel
from .vae import AutoencoderKLDecoder


def _cfg(d):
    with open(os.path.join(d, "config.json")) as f:
        return json.load(f)


def _weights(d, names=("diffusion_pytorch_model.safetensors", "model.safetensors")):
    for n in names:
        if os.path.exists(os.path.join(d, n)):
            return st.read(os.path.join(d, n))
    raise FileNotFoundError(f"no safetensors in {d}")


def fixtures():
    return os.environ["DETEX_FIXTURES"]


def tiny_model():
    return os.environ["DETEX_TINY_MODEL"]


def default_model():
    return os.environ["DETEX_DEFAULT_MODEL"]


def unet(d):
    return UNet2DConditionModel(_cfg(d), _weights(d)).eval()


def clip_ids():
    """The same token ids bench/cases.ts feeds ours."""
    return torch.tensor([[0 if i == 0 else 2 if i == 76 else (r * 131 + i * 17) % 1000 + 3 for i in range(77)] for r in range(2)])


def model_rows(load):
    """load(name, shape) reads a bench input (NHWC as written)."""

    def unet_fwd():
        m = unet(os.path.join(fixtures(), "sd-tiny", "unet"))
        x, ctx = nchw(load("unet_x", (2, 32, 32, 4))), load("unet_ctx", (2, 77, 32))
        t = torch.tensor([500, 500])

        def step():
            with torch.no_grad():
                return m(x, t, ctx)
        return step, lambda o: nhwc(o)

    def unet_train(pattern):
        def build():
            m = unet(os.path.join(fixtures(), "sd-tiny", "unet"))
            params = [p for n, p in sorted(m.named_parameters()) if pattern(n)]
            for n, p in m.named_parameters():
                p.requires_grad_(pattern(n))
            x, ctx = nchw(load("unet_x", (2, 32, 32, 4))), load("unet_ctx", (2, 77, 32))
            target = nchw(load("unet_target", (2, 32, 32, 4)))
            t = torch.tensor([500, 500])

            def step():
                loss = torch.mean((m(x, t, ctx) - target) ** 2)
                grads = torch.autograd.grad(loss, params)
                return loss, grads
            # loss and the total squared gradient norm: layout-free, so comparable with ours
            return step, lambda o: torch.stack([o[0].detach(), sum((g.double() ** 2).sum() for g in o[1]).float()])
        return build

    kv = lambda n: n.endswith("attn2.to_k.weight") or n.endswith("attn2.to_v.weight")

    def vae_decode():
        d = os.path.join(fixtures(), "sd-tiny", "vae")
        m = AutoencoderKLDecoder(_cfg(d), _weights(d)).eval()
        z = nchw(load("vae_z", (1, 32, 32, 4)))

        def step():
            with torch.no_grad():
                return m.decode(z)
        return step, nhwc

    def clip_text():
        d = os.path.join(fixtures(), "clip-text-tiny")
        m = CLIPTextModel(_cfg(d), _weights(d)).eval()
        ids = clip_ids()

        def step():
            with torch.no_grad():
                return m(ids)
        return step, lambda o: o

    def sam_encoder():
        d = os.path.join(fixtures(), "sam-tiny")
        m = ImageEncoderViT(_cfg(d), _weights(d)).eval()
        img = nchw(load("sam_img", (1, 128, 128, 3)))

        def step():
            with torch.no_grad():
                return m(img)
        return step, nhwc

    def sample():
        d = default_model()
        u = unet(os.path.join(d, "unet"))
        vcfg = _cfg(os.path.join(d, "vae"))
        v = AutoencoderKLDecoder(vcfg, _weights(os.path.join(d, "vae"))).eval()
        with open(os.path.join(d, "scheduler", "scheduler_config.json")) as f:
            sched = DDIM(json.load(f), 50)
        hw, dim = u.cfg["sample_size"], u.cfg["cross_attention_dim"]
        z0 = nchw(load("sample_z", (1, hw, hw, 4)))
        ctx = torch.cat([load("sample_neg", (1, 77, dim)), load("sample_ctx", (1, 77, dim))], 0)

        def step():
            with torch.no_grad():
                x = z0.clone()  # init_noise_sigma is 1 for DDIM
                for t in sched.timesteps:
                    eu, ec = u(torch.cat([x, x], 0), torch.tensor([t, t]), ctx).chunk(2)
                    x = sched.step(eu + 7.5 * (ec - eu), t, x)
                return v.decode(x / vcfg.get("scaling_factor", 0.18215))
        return step, lambda o: nhwc((o / 2 + 0.5).clamp(0, 1))

    def detex_step():
        # The DETEX step trains attn2 K/V plus the word embeddings that feed the context; the closest plain
        # PyTorch step: K/V trainable and the context itself as a leaf (the embedding's gradient).
        d = tiny_model()
        m = unet(os.path.join(d, "unet"))
        hw, dim = m.cfg["sample_size"], m.cfg["cross_attention_dim"]
        params = [p for n, p in sorted(m.named_parameters()) if kv(n)]
        for n, p in m.named_parameters():
            p.requires_grad_(kv(n))
        x, target = nchw(load("detex_x", (2, hw, hw, 4))), nchw(load("detex_target", (2, hw, hw, 4)))
        ctx = load("detex_ctx", (2, 77, dim)).requires_grad_()
        t = torch.tensor([500, 500])

        def step():
            loss = torch.mean((m(x, t, ctx) - target) ** 2)
            return loss, torch.autograd.grad(loss, params + [ctx])
        return step, None

    def sd15():
        d = os.environ["DETEX_SD15_DIR"]
        m = unet(d)
        x, ctx = nchw(load("sd15_x", (1, 64, 64, 4))), load("sd15_ctx", (1, 77, 768))
        t = torch.tensor([500])

        def step():
            with torch.no_grad():
                return m(x, t, ctx)
        return step, nhwc

    return {
        "UNet forward sd-tiny, latent 2×32×32×4, ctx 2×77×32": unet_fwd,
        "UNet training step sd-tiny (attn2 K/V trainable), latent 2×32×32×4": unet_train(kv),
        "UNet training step sd-tiny (full UNet, as pretraining), latent 2×32×32×4": unet_train(lambda n: True),
        "VAE decode sd-tiny, latent 1×32×32×4": vae_decode,
        "CLIP text clip-text-tiny, 2×77 tokens": clip_text,
        "SAM image encoder sam-tiny, 1×128×128×3": sam_encoder,
        "sample detex-mini (embedded default), 50 DDIM steps, guidance 7.5": sample,
        "DETEX training step detex-tiny (torch: K/V + context step)": detex_step,
        "UNet forward SD v1.5 config (random weights), latent 1×64×64×4": sd15,
    }
