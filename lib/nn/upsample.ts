/**
 * Nearest ×2 upsampling of NHWC as one native kernel at inference. The VAE and UNet upsamplers keep their own
 * composed, differentiable forms (reshape + broadcast multiply) for training and for backends without the
 * kernel; this returns null in those cases, and the caller runs its composed ops. The kernel only copies, so
 * both give the same values (test/backend/native-upsample.test.ts compares them).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Registered by lib/backend/native-kernels on 'cpu' (forward only). */
const UPSAMPLE_NEAREST_2X = 'DetexUpsampleNearest2x';

/** [B, H, W, C] → [B, 2H, 2W, C] natively, or null when a gradient tape records or the backend lacks the kernel. */
export function nativeUpsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D | null {
  if (x.dtype !== 'float32' || tf.engine().isTapeOn() || !tf.getKernel(UPSAMPLE_NEAREST_2X, tf.getBackend())) return null;
  return tf.engine().runKernel(UPSAMPLE_NEAREST_2X, { x }) as tf.Tensor4D;
}
