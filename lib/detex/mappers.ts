/**
 * The attribute mappers M^P and M^B (DETEX §3): each a 3-layer MLP from the frozen CLIP image encoder's
 * projected embedding to the text-embedding width, `layers.0 → act → layers.2 → act → layers.4` (named as a
 * PyTorch nn.Sequential would be). For SD v1.4 + ViT-L/14 that is 768 → 768 → 768 → 768 with biases,
 * 1,771,776 parameters = 6.76 MiB, the paper's "6.7 MB". Sizes come from the loaded models.
 *
 * Initialisation is PyTorch's nn.Linear default (U(−1/√in, 1/√in) for weight and bias, which is what
 * kaiming_uniform(a=√5) gives), drawn from a seeded Rng so a run reproduces.
 *
 * `outputNorm` (optional): each output row is rescaled to this L2 norm, so [P_i]/[B_i] stay on the scale of the
 * word embeddings they stand beside. Why: an unconstrained MLP of a projected image embedding starts at ~4× a
 * word row's norm and grows (measured on detex-mini: 1.5 after 100 steps at lr 1e-4, 18 at 1e-3, against 0.22–0.42
 * for word rows); such a token swamps every later position of the causal text encoder and, being per photo,
 * soaks up the subject's appearance that [V] should learn.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostTensor, HostTensor } from '../io/host-tensor';
import { Activation, activationByName, Linear, ParamStore } from '../nn';
import { Rng } from '../random';

export interface MapperDims {
  inDim: number;
  hidden: number;
  outDim: number;
}

const LAYERS = ['layers.0', 'layers.2', 'layers.4'];

function activation(name: string): Activation {
  // LeakyReLU(0.01) is the spec's other suggestion; nn/activations does not list it.
  if (name === 'leaky_relu') return (x) => tf.leakyRelu(x, 0.01);
  return activationByName(name);
}

/** Fresh mapper weights in PyTorch layout, keyed `layers.{0,2,4}.{weight,bias}`. */
export function initMapperWeights(dims: MapperDims, rng: Rng): Map<string, HostTensor> {
  const sizes = [dims.inDim, dims.hidden, dims.hidden, dims.outDim];
  const out = new Map<string, HostTensor>();
  LAYERS.forEach((name, i) => {
    const fanIn = sizes[i];
    const bound = 1 / Math.sqrt(fanIn);
    out.set(`${name}.weight`, hostTensor('float32', [sizes[i + 1], fanIn], rng.uniform([sizes[i + 1], fanIn], -bound, bound)));
    out.set(`${name}.bias`, hostTensor('float32', [sizes[i + 1]], rng.uniform([sizes[i + 1]], -bound, bound)));
  });
  return out;
}

export class AttributeMapper {
  readonly store: ParamStore;
  private readonly layers: Linear[];
  private readonly act: Activation;

  /** `weights` in PyTorch layout (from `initMapperWeights` or a concept file); the mapper owns its store. */
  constructor(readonly dims: MapperDims, weights: Map<string, HostTensor>, readonly activationName = 'gelu', readonly outputNorm?: number) {
    if (outputNorm !== undefined && !(outputNorm > 0)) throw new Error(`AttributeMapper: outputNorm must be a positive number, got ${outputNorm}`);
    this.store = ParamStore.fromHost(weights);
    const sizes = [dims.inDim, dims.hidden, dims.hidden, dims.outDim];
    try {
      this.layers = LAYERS.map((name, i) => new Linear(this.store, name, sizes[i], sizes[i + 1]));
      const unused = this.store.unusedKeys();
      if (unused.length) throw new Error(`AttributeMapper: unexpected weights ${unused.join(', ')}`);
    } catch (e) {
      this.store.dispose();
      throw e;
    }
    this.act = activation(activationName);
  }

  /** Parameter names (`layers.0.weight`, …). */
  names(): string[] {
    return LAYERS.flatMap((n) => [`${n}.weight`, `${n}.bias`]);
  }

  /** x [N, inDim] → [N, outDim]. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      if (x.rank !== 2 || x.shape[1] !== this.dims.inDim) {
        throw new Error(`Error in AttributeMapper: input must be [N, ${this.dims.inDim}], got [${x.shape}]`);
      }
      let h = this.layers[0].apply(x);
      h = this.act(h) as tf.Tensor2D;
      h = this.layers[1].apply(h);
      h = this.act(h) as tf.Tensor2D;
      const out = this.layers[2].apply(h);
      if (this.outputNorm === undefined) return out;
      return tf.mul(out, tf.div(this.outputNorm, tf.add(tf.sqrt(tf.sum(tf.square(out), 1, true)), 1e-12))) as tf.Tensor2D;
    });
  }

  /** Weights back in PyTorch layout. */
  toHost(): Map<string, HostTensor> {
    return new Map(this.names().map((n) => [n, this.store.toHost(n)]));
  }

  dispose(): void {
    this.store.dispose();
  }
}
