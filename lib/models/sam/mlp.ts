/** The two small MLPs of segment-anything. */
import * as tf from '@tensorflow/tfjs-core';
import { Linear, ParamStore } from '../../nn';
import { Activation } from '../../nn/activations';

/** common.py `MLPBlock`: lin1 → act → lin2 (the transformer MLPs; GELU in the encoder, ReLU in the decoder). */
export class MLPBlock {
  readonly lin1: Linear;
  readonly lin2: Linear;

  constructor(store: ParamStore, prefix: string, embeddingDim: number, mlpDim: number, private readonly act: Activation) {
    this.lin1 = new Linear(store, `${prefix}.lin1`, embeddingDim, mlpDim);
    this.lin2 = new Linear(store, `${prefix}.lin2`, mlpDim, embeddingDim);
  }

  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => this.lin2.apply(this.act(this.lin1.apply(x))) as T);
  }
}

/**
 * mask_decoder.py `MLP`: `numLayers` Linear layers `layers.0…`, ReLU between them (not after the last):
 * the hypernetwork MLPs and the IoU head.
 */
export class MLP {
  private readonly layers: Linear[] = [];

  constructor(
    store: ParamStore,
    prefix: string,
    inputDim: number,
    hiddenDim: number,
    outputDim: number,
    numLayers: number,
    private readonly sigmoidOutput = false,
  ) {
    for (let i = 0; i < numLayers; i++) {
      const inF = i === 0 ? inputDim : hiddenDim;
      const outF = i === numLayers - 1 ? outputDim : hiddenDim;
      this.layers.push(new Linear(store, `${prefix}.layers.${i}`, inF, outF));
    }
  }

  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      let y: tf.Tensor = x;
      this.layers.forEach((layer, i) => {
        y = layer.apply(y);
        if (i < this.layers.length - 1) y = tf.relu(y);
      });
      return (this.sigmoidOutput ? tf.sigmoid(y) : y) as T;
    });
  }
}
