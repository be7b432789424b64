/** Seeded initial weights for models built from scratch (the embedded default, pretraining). */
import { Initializer } from './params';
import { hostTensor } from '../io/host-tensor';
import { Rng } from '../random';

/**
 * PyTorch-like defaults, decided by name and rank: biases 0; 1-D weights (norm scales) 1; other ≥2-D
 * weights N(0, 1/fan_in) with fan_in = prod(shape[1:]); anything else (embeddings, tokens, tables)
 * N(0, 0.02²). Each parameter draws from its own stream forked by name, so values do not depend on the
 * order blocks are built in.
 */
export function seededInitializer(seed: number): Initializer {
  const root = new Rng(seed);
  return (name, shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const leaf = name.slice(name.lastIndexOf('.') + 1);
    if (leaf === 'bias' || leaf.endsWith('_bias')) return hostTensor('float32', [...shape], new Float32Array(n));
    if (leaf === 'weight' && shape.length === 1) return hostTensor('float32', [...shape], new Float32Array(n).fill(1));
    const rng = root.fork(name);
    const isTable = /embedding|embed|token|pos|rel_pos|gaussian_matrix/.test(name) && !/proj|conv/.test(leaf);
    const std = leaf === 'weight' && shape.length >= 2 && !isTable ? 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1)) : 0.02;
    const data = rng.normal(shape);
    for (let i = 0; i < n; i++) data[i] *= std;
    return hostTensor('float32', [...shape], data);
  };
}
