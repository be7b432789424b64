"""Plain-PyTorch reference models for bench/reference.py (Debian has no diffusers/transformers).

Each module mirrors the diffusers 0.27 / transformers 4.x / segment_anything module tree so that the
safetensors names load with a strict load_state_dict; layer shapes are read from the weights, the
structure (block types, heads, groups, eps) from config.json.
"""
