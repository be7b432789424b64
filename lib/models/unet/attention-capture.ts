/**
 * Capturing cross-attention maps (attn2 softmax, averaged over heads) from a UNet forward pass, for the
 * DETEX attention loss. The maps stay ordinary tensors of the same pass (no data() round-trip), so a loss
 * built on them backpropagates through the UNet.
 */
import * as tf from '@tensorflow/tfjs-core';

/** attn2 module path (e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn2`) → [B, h, w, tokens] */
export type AttentionMaps = { [path: string]: tf.Tensor4D };

export interface CrossAttentionLayerInfo {
  /** attn2 module path, diffusers' naming */
  path: string;
  /** spatial size of the map */
  h: number;
  w: number;
  /** spatial size of the UNet input (the latent) */
  latentH: number;
  latentW: number;
  /** 2^(downsamplers passed before this layer): 1 at latent size, 2 at latent/2, … */
  downscale: number;
}

export interface CaptureAttentionOptions {
  /** module paths, or a predicate; every attn2 when omitted */
  layers?: readonly string[] | ((layer: CrossAttentionLayerInfo) => boolean);
  /** token columns to keep (indices into the 77), in this order; all when omitted */
  tokens?: readonly number[];
}

/** Selects the layers `factor` times smaller than the latent, e.g. `atDownscale(2)`. */
export function atDownscale(factor: number): (layer: CrossAttentionLayerInfo) => boolean {
  return (layer) => layer.downscale === factor;
}

/** The layers whose spatial size is latent/2. */
export const atHalfLatent = atDownscale(2);

/** One forward pass' capture request, handed down to every Transformer2DModel. */
export class AttentionCapture {
  constructor(
    private readonly opts: CaptureAttentionOptions,
    readonly latentH: number,
    readonly latentW: number,
  ) {}

  wants(path: string, h: number, w: number, downscale: number): boolean {
    const { layers } = this.opts;
    if (layers === undefined) return true;
    if (typeof layers === 'function') {
      return layers({ path, h, w, latentH: this.latentH, latentW: this.latentW, downscale });
    }
    return layers.includes(path);
  }

  /** head-mean probabilities [B, h·w, Nk] → [B, h, w, tokens] (row-major h·w, as diffusers flattens). */
  toMap(probs: tf.Tensor3D, h: number, w: number): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, n, nk] = probs.shape;
      if (n !== h * w) throw new Error(`Error in AttentionCapture: ${n} queries do not form a ${h}×${w} map`);
      const map = tf.reshape(probs, [b, h, w, nk]) as tf.Tensor4D;
      const { tokens } = this.opts;
      if (tokens === undefined) return map;
      for (const t of tokens) {
        if (!Number.isInteger(t) || t < 0 || t >= nk) throw new Error(`Error in AttentionCapture: token ${t} is outside 0..${nk - 1}`);
      }
      // slices + concat rather than gather: gather's gradient needs UnsortedSegmentSum, which WASM lacks
      return tf.concat(tokens.map((t) => tf.slice(map, [0, 0, 0, t], [-1, -1, -1, 1])), 3) as tf.Tensor4D;
    });
  }
}
