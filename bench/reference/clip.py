"""CLIPTextModel (transformers 4.x): token + position embeddings, pre-LN causal transformer layers with
quick_gelu (or gelu) MLP, final LayerNorm; returns last_hidden_state. Weight names without 'text_model.'."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import linear


class Layer(nn.Module):
    def __init__(self, sd, p, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        eps = cfg.get("layer_norm_eps", 1e-5)
        self.heads = cfg["num_attention_heads"]
        self.act = cfg.get("hidden_act", "quick_gelu")
        self.layer_norm1 = nn.LayerNorm(d, eps)
        self.layer_norm2 = nn.LayerNorm(d, eps)
        self.self_attn = nn.Module()
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self.self_attn, n, linear(sd, f"{p}.self_attn.{n}"))
        self.mlp = nn.Module()
        self.mlp.fc1 = linear(sd, p + ".mlp.fc1")
        self.mlp.fc2 = linear(sd, p + ".mlp.fc2")

    def forward(self, x, mask):
        b, n, c = x.shape
        a = self.self_attn
        h = self.layer_norm1(x)
        split = lambda t: t.reshape(b, n, self.heads, -1).transpose(1, 2)
        q, k, v = split(a.q_proj(h) * (c // self.heads) ** -0.5), split(a.k_proj(h)), split(a.v_proj(h))
        p = (q @ k.transpose(-1, -2) + mask).softmax(-1)
        x = x + a.out_proj((p @ v).transpose(1, 2).reshape(b, n, c))
        h = self.mlp.fc1(self.layer_norm2(x))
        h = h * torch.sigmoid(1.702 * h) if self.act == "quick_gelu" else F.gelu(h)
        return x + self.mlp.fc2(h)


class CLIPTextModel(nn.Module):
    def __init__(self, cfg, sd):
        super().__init__()
        sd = {k[len("text_model."):] if k.startswith("text_model.") else k: v for k, v in sd.items()}
        sd = {k: v for k, v in sd.items() if not k.startswith("text_projection") and "position_ids" not in k}
        self.embeddings = nn.Module()
        self.embeddings.token_embedding = nn.Embedding(*sd["embeddings.token_embedding.weight"].shape)
        self.embeddings.position_embedding = nn.Embedding(*sd["embeddings.position_embedding.weight"].shape)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList([Layer(sd, f"encoder.layers.{i}", cfg) for i in range(cfg["num_hidden_layers"])])
        self.final_layer_norm = nn.LayerNorm(cfg["hidden_size"], cfg.get("layer_norm_eps", 1e-5))
        self.load_state_dict(sd, strict=True)

    def forward(self, ids):
        n = ids.shape[1]
        x = self.embeddings.token_embedding(ids) + self.embeddings.position_embedding(torch.arange(n))[None]
        mask = torch.full((n, n), float("-inf")).triu(1)
        for layer in self.encoder.layers:
            x = layer(x, mask)
        return self.final_layer_norm(x)
