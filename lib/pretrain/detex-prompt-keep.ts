/**
 * Holds the UNet's answer to DETEX's own prompts at a reference UNet's while other terms move it
 * (`unet.js --detex-keep DIR`).
 *
 * Why: every UNet taught to draw the pattern word so far personalised worse (runs 30–35), and run 35 showed the
 * cost is not held by one part: with the cross-attention K/V frozen, the other weights re-created it within 400
 * steps. The pattern terms act on captions that hold a pattern word; DETEX's prompts hold none, only new vectors
 * where the colour and pattern words stood. So this term asks the trained UNet to predict, on the step's noisy
 * latents, the noise the reference UNet (one that personalises well) predicts under DETEX-shaped prompts with
 * random concepts — the concept keeper's two groups, "a photo of a [V] <class> in <background> background" and
 * "… in [B_1] background":
 *
 *   L = mean ‖ε_θ(x_t, t, c) − ε_ref(x_t, t, c)‖²   over KEPT_PER_GROUP prompts of each group
 *
 * The prompt states enter as a constant, so no gradient (and no backward pass) reaches a text encoder whose rows
 * are trained beside the UNet; the reference has no trainable weights, so its pass is not differentiated either.
 *
 * Runs 36–37 (TRAINING.md): at λ 1 and 10 the term stays at 0.004–0.008 while the pattern terms act and DETEX still
 * falls (slower at λ 10): matching the answers at random concepts does not keep what DETEX's gradient finds.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UNet2DConditionModel } from '../models/unet/unet';
import { ConceptEncoder, conceptKeeperGroups } from './concept-keeper';
import { conceptStates } from './concept-spread';

/** Random concepts per group each step (two groups, so twice this many items of the batch are compared). */
export const KEPT_PER_GROUP = 4;

/**
 * The step's DETEX prompts' last_hidden_states [2·perGroup, 77, width] under `text` (vectors drawn around `init`,
 * DETEX's initialiser row, by the step and `seed`, so a resumed run draws the same); a constant the caller owns.
 */
export function detexPromptStates(text: ConceptEncoder, init: Float32Array, step: number, seed: number, perGroup = KEPT_PER_GROUP): tf.Tensor3D {
  if (!Number.isInteger(perGroup) || perGroup < 2) throw new Error(`detexPromptStates: perGroup must be an integer ≥ 2, got ${perGroup}`);
  const groups = conceptKeeperGroups(step, init, seed);
  const states = groups.map((g) => conceptStates(text.tokenizer, text.encoder, g.concepts.slice(0, perGroup), g.template));
  try {
    // a copy through the host has no graph behind it (tfjs has no stop-gradient op that also skips the backward pass)
    return tf.tidy(() => {
      const joined = tf.concat(states, 0);
      return tf.tensor3d(joined.dataSync() as Float32Array, joined.shape as [number, number, number]);
    });
  } finally {
    states.forEach((s) => s.dispose());
  }
}

/**
 * The term on the first `states.shape[0]` items of the step's noisy latents and timesteps; the caller owns the
 * scalar. Gradients reach `trained` only.
 */
export function detexPromptKeep(
  trained: UNet2DConditionModel,
  reference: UNet2DConditionModel,
  noisy: tf.Tensor4D,
  timesteps: readonly number[],
  states: tf.Tensor3D,
): tf.Scalar {
  const k = states.shape[0];
  if (noisy.shape[0] < k || timesteps.length < k) {
    throw new Error(`detexPromptKeep: ${k} prompts need at least ${k} noisy latents and timesteps, got ${noisy.shape[0]} and ${timesteps.length}`);
  }
  return tf.tidy(() => {
    const x = tf.slice(noisy, 0, k) as tf.Tensor4D;
    const t = timesteps.slice(0, k);
    return tf.mean(tf.squaredDifference(trained.forward(x, t, states), reference.forward(x, t, states))) as tf.Scalar;
  });
}
