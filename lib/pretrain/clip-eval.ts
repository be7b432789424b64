/**
 * Zero-shot accuracy of detex-mini's image encoder per attribute: for each held-out render, the attribute
 * value whose prompt (`attributePrompt`) has the highest cosine with the image embedding wins. Held-out
 * identities are class+colour+pattern combinations never seen in pretraining, so this measures how well
 * the attributes are understood separately.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RenderedScene } from '../world';
import { ATTRIBUTES, Attribute, attributePrompt, attributeValues, normalizePixels } from './clip-data';
import { MiniClip } from './clip-model';

export type ZeroShotResult = Record<Attribute, number> & { n: number };

/** The true value of an attribute for a scene. */
export function attributeOf(s: RenderedScene, attr: Attribute): string {
  const a = s.attributes;
  return { class: a.class, colour: a.colour, pattern: a.pattern, background: a.background }[attr];
}

/** Accuracy in [0, 1] per attribute over `scenes` (images encoded in chunks of `chunk`). */
export function zeroShotAccuracy(clip: MiniClip, scenes: readonly RenderedScene[], chunk = 64): ZeroShotResult {
  const size = scenes[0].image.shape[0];
  const imgs: Float32Array[] = [];
  for (let i = 0; i < scenes.length; i += chunk) {
    const part = scenes.slice(i, i + chunk);
    const e = tf.tidy(() => clip.encodeImage(tf.tensor4d(normalizePixels(part), [part.length, size, size, 3])));
    imgs.push(e.dataSync() as Float32Array);
    e.dispose();
  }
  const d = imgs[0].length / Math.min(chunk, scenes.length);
  const all = new Float32Array(scenes.length * d);
  let off = 0;
  for (const a of imgs) {
    all.set(a, off);
    off += a.length;
  }
  const result = { n: scenes.length } as ZeroShotResult;
  for (const attr of ATTRIBUTES) {
    const values = attributeValues(attr);
    const t = clip.encodeText(clip.tokenize(values.map((v) => attributePrompt(attr, v))));
    const txt = t.dataSync();
    t.dispose();
    let correct = 0;
    scenes.forEach((s, i) => {
      let best = -Infinity;
      let arg = 0;
      for (let k = 0; k < values.length; k++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += all[i * d + j] * txt[k * d + j];
        if (dot > best) [best, arg] = [dot, k];
      }
      if (values[arg] === attributeOf(s, attr)) correct++;
    });
    result[attr] = correct / scenes.length;
  }
  return result;
}
