/**
 * Is the latent grid what keeps pattern out of generated images? The world attribute classifier's pattern
 * accuracy on renders and on their round trips through a VAE, in bins of the subject's area (equal counts,
 * smallest first). If small subjects lost their pattern in the latents and large ones kept it, a larger grid
 * would be the fix; session 9 found every size keeps it well above chance (0.52–0.77), pointing at the UNet.
 */
import { HostTensor } from '../io/host-tensor';
import { WorldAttributeClassifier } from '../metrics/world-attributes';
import { WorldBatch } from './world-data';

export interface PatternSizeBin {
  /** subject area in pixels, smallest and largest in the bin */
  minArea: number;
  maxArea: number;
  n: number;
  /** pattern accuracy on the renders */
  render: number;
  /** pattern accuracy after the round trip */
  roundTrip: number;
}

/** `roundTrip`: renders (uint8 [S, S, 3]) → images to read, e.g. `(x) => vaeRoundTrip(vae, x)`. */
export function patternBySize(
  classifier: WorldAttributeClassifier,
  set: WorldBatch,
  roundTrip: (images: readonly HostTensor[]) => HostTensor[],
  bins = 4,
): PatternSizeBin[] {
  const n = set.scenes.length;
  if (!(Number.isInteger(bins) && bins >= 1 && bins <= n)) throw new Error(`patternBySize: bins must be an integer in 1..${n} (the set's size), got ${bins}`);
  const images = set.scenes.map((s) => s.image);
  const onRender = classifier.predict(images);
  const onTrip = classifier.predict(roundTrip(images));
  const rows = set.scenes.map((s, i) => ({
    area: s.area,
    truth: s.attributes.pattern,
    render: onRender[i].pattern.label,
    trip: onTrip[i].pattern.label,
  }));
  rows.sort((a, b) => a.area - b.area);
  return Array.from({ length: bins }, (_, k) => {
    const part = rows.slice(Math.floor((k * n) / bins), Math.floor(((k + 1) * n) / bins));
    const acc = (key: 'render' | 'trip') => part.filter((r) => r[key] === r.truth).length / part.length;
    return { minArea: part[0].area, maxArea: part[part.length - 1].area, n: part.length, render: acc('render'), roundTrip: acc('trip') };
  });
}
