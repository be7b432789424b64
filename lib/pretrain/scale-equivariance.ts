/**
 * Scale-equivariance regularisation of an autoencoder (Skorokhodov et al. 2025, "Improving the Diffusability of
 * Autoencoders"): the latent downsampled 2× must decode to the image downsampled 2×. A latent that codes an image
 * with extra high-frequency content cannot satisfy it, so the term pulls the latent spectrum towards the image's
 * (lib/pretrain/latent-spectrum.ts measures it), which is what a diffusion model in that latent space has to draw.
 *
 * Both downsamplings are 2×2 average pools; the loss is the VAE's own reconstruction loss (vae-loss.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { reconstructionLoss } from './vae-loss';

/** `x` the images [B, H, W, 3] in [−1, 1], `z` their latents [B, H/f, W/f, C] as the decoder takes them. */
export function scaleEquivarianceLoss(decode: (z: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D, z: tf.Tensor4D): tf.Scalar {
  const [, zh, zw] = z.shape;
  if (zh % 2 !== 0 || zw % 2 !== 0) throw new Error(`scale-equivariance: latent grid ${zh}×${zw} must have even sides to halve`);
  return tf.tidy(() => {
    const small = decode(tf.avgPool(z, 2, 2, 'valid') as tf.Tensor4D);
    const target = tf.avgPool(x, 2, 2, 'valid') as tf.Tensor4D;
    if (small.shape[1] !== target.shape[1] || small.shape[2] !== target.shape[2]) {
      throw new Error(`scale-equivariance: the halved latent decodes to ${small.shape[1]}×${small.shape[2]}, the halved image is ${target.shape[1]}×${target.shape[2]}`);
    }
    return reconstructionLoss(target, small).loss;
  });
}
