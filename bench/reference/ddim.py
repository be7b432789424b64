"""DDIM (eta 0) with diffusers' DDIMScheduler defaults for SD v1: scaled_linear betas in float32, "leading"
timesteps with steps_offset, set_alpha_to_one False, epsilon prediction."""
import torch


class DDIM:
    def __init__(self, cfg, steps):
        n = cfg.get("num_train_timesteps", 1000)
        betas = torch.linspace(cfg["beta_start"] ** 0.5, cfg["beta_end"] ** 0.5, n, dtype=torch.float32) ** 2
        self.ac = torch.cumprod(1.0 - betas, 0)
        self.final = torch.tensor(1.0) if cfg.get("set_alpha_to_one", True) else self.ac[0]
        self.ratio = n // steps
        self.timesteps = [int(t) + cfg.get("steps_offset", 0) for t in (torch.arange(0, steps) * self.ratio).flip(0)]

    def step(self, eps, t, x):
        prev = t - self.ratio
        a = self.ac[t]
        ap = self.ac[prev] if prev >= 0 else self.final
        x0 = (x - (1 - a) ** 0.5 * eps) / a ** 0.5
        return ap ** 0.5 * x0 + (1 - ap) ** 0.5 * eps
