/**
 * The CLIP transformer encoder shared by the text and vision towers (transformers `CLIPEncoder`):
 * pre-LN layers, x += self_attn(layer_norm1(x)); x += mlp(layer_norm2(x)), with
 * mlp = fc2(act(fc1(·))) and attention softmax((q·d^-½) kᵀ + bias) v through out_proj.
 * Sequences are [B, N, C].
 */
import * as tf from '@tensorflow/tfjs-core';
import { Activation, activationByName } from '../../nn/activations';
import { scaledDotProductAttention } from '../../nn/attention';
import { EncoderBlockLayers, fusedEncoderBlock } from '../../nn/encoder-block';
import { Linear } from '../../nn/linear';
import { LayerNorm } from '../../nn/norms';
import { ParamStore } from '../../nn/params';

export interface EncoderDims {
  hidden: number;
  intermediate: number;
  heads: number;
  layers: number;
  eps: number;
  act: string;
}

class CLIPAttention {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly out: Linear;

  constructor(store: ParamStore, prefix: string, hidden: number, private readonly heads: number) {
    this.q = new Linear(store, `${prefix}.q_proj`, hidden, hidden);
    this.k = new Linear(store, `${prefix}.k_proj`, hidden, hidden);
    this.v = new Linear(store, `${prefix}.v_proj`, hidden, hidden);
    this.out = new Linear(store, `${prefix}.out_proj`, hidden, hidden);
  }

  /** x [B, N, C]; bias broadcastable to [B, heads, N, N] (causal and padding masks). */
  apply(x: tf.Tensor3D, bias?: tf.Tensor): tf.Tensor3D {
    return tf.tidy(() => {
      const { out } = scaledDotProductAttention(this.q.apply(x), this.k.apply(x), this.v.apply(x), { heads: this.heads, bias });
      return this.out.apply(out);
    });
  }
}

class CLIPEncoderLayer {
  private readonly ln1: LayerNorm;
  private readonly attn: CLIPAttention;
  private readonly ln2: LayerNorm;
  private readonly fc1: Linear;
  private readonly fc2: Linear;
  private readonly act: Activation;
  private readonly fusable: EncoderBlockLayers;

  constructor(store: ParamStore, prefix: string, private readonly d: EncoderDims) {
    this.ln1 = new LayerNorm(store, `${prefix}.layer_norm1`, d.hidden, d.eps);
    this.attn = new CLIPAttention(store, `${prefix}.self_attn`, d.hidden, d.heads);
    this.ln2 = new LayerNorm(store, `${prefix}.layer_norm2`, d.hidden, d.eps);
    this.fc1 = new Linear(store, `${prefix}.mlp.fc1`, d.hidden, d.intermediate);
    this.fc2 = new Linear(store, `${prefix}.mlp.fc2`, d.intermediate, d.hidden);
    this.act = activationByName(d.act);
    const a = this.attn;
    this.fusable = { norm1: this.ln1, qkv: [a.q, a.k, a.v], proj: a.out, norm2: this.ln2, fc1: this.fc1, fc2: this.fc2 };
  }

  apply(x: tf.Tensor3D, bias?: tf.Tensor): tf.Tensor3D {
    // one native kernel at inference (no gradient tape), the ops below otherwise (lib/nn/encoder-block.ts)
    const fused = fusedEncoderBlock(x, this.fusable, { heads: this.d.heads, act: this.d.act, grid: [1, x.shape[1]], mask: bias });
    if (fused) return fused as tf.Tensor3D;
    return tf.tidy(() => {
      const h = tf.add(x, this.attn.apply(this.ln1.apply(x), bias)) as tf.Tensor3D;
      return tf.add(h, this.fc2.apply(this.act(this.fc1.apply(this.ln2.apply(h))))) as tf.Tensor3D;
    });
  }
}

export class CLIPEncoder {
  private readonly layers: CLIPEncoderLayer[] = [];

  /** prefix e.g. `text_model.encoder` → layers at `${prefix}.layers.N`. */
  constructor(store: ParamStore, prefix: string, dims: EncoderDims) {
    for (let i = 0; i < dims.layers; i++) this.layers.push(new CLIPEncoderLayer(store, `${prefix}.layers.${i}`, dims));
  }

  /**
   * Runs every layer. Returns the output and, with `keepHiddenStates`, [input, after layer 1, …, after layer L]
   * (transformers' `hidden_states`; the last entry is the output itself). All returned tensors are fresh.
   */
  apply(x: tf.Tensor3D, bias: tf.Tensor | undefined, keepHiddenStates: boolean): { out: tf.Tensor3D; hiddenStates?: tf.Tensor3D[] } {
    const states: tf.Tensor3D[] = [];
    if (keepHiddenStates) states.push(tf.clone(x));
    let h = x;
    for (const layer of this.layers) {
      const next = layer.apply(h, bias);
      if (h !== x && !keepHiddenStates) h.dispose();
      h = next;
      if (keepHiddenStates) states.push(h);
    }
    if (h === x) h = tf.clone(x);
    if (!keepHiddenStates) return { out: h };
    // The output is also the last hidden state: hand out a separate tensor so each can be disposed alone.
    return { out: tf.clone(h), hiddenStates: states };
  }
}

/** float32 lowest value: transformers fills masked logits with torch.finfo(float32).min. */
export const FLOAT32_MIN = -3.4028234663852886e38;
